//! Transparent huge pages (compiler/cli/pages.rs): even a large recipe's
//! compile faults its memory in 4 KiB pages, and programs aidc starts get
//! the user's setting back, not the small pages aidc runs with.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::fast_parse::scale;

/// `THP_enabled` of a process's status: 1 when it may get huge pages.
fn thp_enabled(status: &str) -> Option<u8> {
    status.lines().find_map(|l| l.strip_prefix("THP_enabled:")).and_then(|v| v.trim().parse().ok())
}

/// Whether the kernel gives huge pages to memory marked for them.
fn huge_pages_on_request() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|s| s.contains("[always]") || s.contains("[madvise]"))
}

#[test]
fn programs_aidc_starts_get_the_users_huge_page_setting() {
    let ours = thp_enabled(&std::fs::read_to_string("/proc/self/status").expect("status"));
    if ours.is_none() {
        eprintln!("skipped: this kernel does not report THP_enabled");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (bin, ctx) = (tmp.path().join("bin"), tmp.path().join("ctx"));
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::create_dir_all(ctx.join(".git")).expect("ctx");
    std::fs::write(ctx.join("image.aid"), "image small {\n  from \"localhost/base:1\"\n  packages [\"htop\"]\n}\n")
        .expect("recipe");
    // A `podman` that records what it was given: its status, as it starts.
    let record = tmp.path().join("status");
    let engine = bin.join("podman");
    std::fs::write(&engine, format!("#!/bin/sh\ncat /proc/self/status > '{}'\n", record.display())).expect("engine");
    std::fs::set_permissions(&engine, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(env!("CARGO_BIN_EXE_aidc"))
        .args(["build", "small", "image.aid"])
        .current_dir(&ctx)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .expect("aidc runs");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{log}");
    let theirs = thp_enabled(&std::fs::read_to_string(&record).expect("the engine ran"));
    assert_eq!(theirs, ours, "the engine's huge-page setting is not the one aidc was started with");
}

/// Runs `aidc ARGS` in `dir`: its minor page faults and its largest
/// resident size in KiB, from `wait4`.
#[allow(clippy::zombie_processes, reason = "wait4 reaps the child, which clippy cannot see")]
fn faults(dir: &Path, args: &[&str]) -> (i64, i64) {
    let child = Command::new(env!("CARGO_BIN_EXE_aidc"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aidc starts");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: our child, not yet reaped; status and usage are valid out-pointers.
    let r = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(r, child.id() as libc::pid_t, "wait4: {}", std::io::Error::last_os_error());
    assert_eq!(std::process::ExitStatus::from_raw(status).code(), Some(0), "aidc {args:?} failed");
    (usage.ru_minflt, usage.ru_maxrss)
}

use std::os::unix::process::ExitStatusExt;

#[test]
fn a_large_recipe_is_compiled_in_small_pages() {
    if !huge_pages_on_request() {
        eprintln!("skipped: this kernel gives no transparent huge pages");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("keys")).expect("keys");
    std::fs::write(dir.join("keys/gen.der"), b"certificate").expect("cert");
    let recipe = scale::recipe(400);
    assert!(recipe.len() as u64 >= 256 * 1024, "the recipe is large: {} bytes", recipe.len());
    std::fs::write(dir.join("image.aid"), recipe).expect("recipe");
    let (minor, max_rss_kib) = faults(dir, &["check", "image.aid"]);
    // In 4 KiB pages nearly every page of the resident set is one fault
    // (the binary's own pages need none until touched, and some are
    // shared); in huge pages, as stop 26 compiled a recipe of 256 KiB and
    // more, 900 faults were enough for 24,000 pages. A third of the
    // resident pages leaves room for pages mapped without a fault.
    let small_pages = max_rss_kib / 4;
    assert!(
        minor * 3 > small_pages,
        "{minor} page faults for {max_rss_kib} KiB resident: in huge pages (4 KiB pages would take {small_pages})"
    );
}
