//! Determinism: the same project gives byte-identical outputs (`out/`, and
//! `.tekton/` and `konflux/` when it has a pipeline block) whatever the
//! directory it lives in, the locale, the environment, `TMPDIR`, the working
//! directory aidc is run from and the way the recipe is named, and from one
//! run to the next (each run has new hash seeds, so hash-order iteration
//! reaching the output would show).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::root;

/// The projects: every example and the e2e fixture.
fn projects() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("image.aid").is_file())
        .collect();
    out.push(root().join("tests/golden/fixture-e2e"));
    out.sort();
    out
}

/// Copies a project without its generated files.
fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let name = e.file_name();
        if ["out", ".tekton", "konflux"].iter().any(|n| name == *n) {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            copy_project(&p, &to.join(&name));
        } else {
            std::fs::copy(&p, to.join(&name)).expect("copy");
        }
    }
}

/// Everything under `dir` (relative path -> bytes).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name() == ".aidc-digests" {
                // The digest cache is not an output: it holds this machine's inode numbers and times.
                continue;
            } else {
                out.insert(
                    p.strip_prefix(dir).expect("inside").to_string_lossy().into_owned(),
                    std::fs::read(&p).expect("read"),
                );
            }
        }
    }
    out
}

/// How one compile is run.
struct Run<'a> {
    /// Where the project is copied.
    project_dir: PathBuf,
    /// The working directory, relative to the project's parent (or absolute).
    cwd: PathBuf,
    /// The recipe argument as given.
    recipe_arg: String,
    env: Vec<(&'a str, String)>,
}

/// Compiles `project` as `run` says; returns what it wrote (the whole project
/// directory after the compile) and aidc's standard output. The other
/// projects are copied beside it (one example imports another).
fn compile(project: &Path, run: &Run) -> (BTreeMap<String, Vec<u8>>, String) {
    let parent = run.project_dir.parent().expect("parent");
    // The projects lie in one repository: examples import each other
    // (`../ai-desktop`), and imports stay inside the repository.
    std::fs::create_dir_all(parent.join(".git")).expect("a repository");
    for p in projects() {
        let to = parent.join(p.file_name().expect("name"));
        let _ = std::fs::remove_dir_all(&to);
        copy_project(&p, &to);
    }
    let _ = std::fs::remove_dir_all(&run.project_dir);
    copy_project(project, &run.project_dir);
    let mut c = Command::new(env!("CARGO_BIN_EXE_aidc"));
    c.arg("compile").arg(&run.recipe_arg).current_dir(&run.cwd).env_clear();
    c.env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("NO_COLOR", "1");
    for (k, v) in &run.env {
        c.env(k, v);
    }
    let out = c.output().expect("aidc runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{} in {}: {}",
        run.recipe_arg,
        run.cwd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (snapshot(&run.project_dir), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Locales to try: C and C.UTF-8 always; en_US.UTF-8 and tr_TR.UTF-8 (dotted
/// and dotless i) when installed or when `localedef` can make them in
/// `locales` (used through `LOCPATH`).
fn locales(locales: &Path) -> (Vec<String>, Option<PathBuf>) {
    let mut out = vec!["C".to_string(), "C.UTF-8".to_string()];
    let installed =
        Command::new("locale").arg("-a").output().map(|o| String::from_utf8_lossy(&o.stdout).to_lowercase());
    let mut locpath = None;
    std::fs::create_dir_all(locales).expect("mkdir");
    for (name, input) in [("en_US.UTF-8", "en_US"), ("tr_TR.UTF-8", "tr_TR"), ("de_DE.UTF-8", "de_DE")] {
        let short = name.to_lowercase().replace("utf-8", "utf8");
        if installed.as_ref().is_ok_and(|l| l.lines().any(|x| x == short)) {
            out.push(name.to_string());
            continue;
        }
        let made = Command::new("localedef")
            .args(["-i", input, "-f", "UTF-8"])
            .arg(locales.join(name))
            .output()
            .is_ok_and(|o| o.status.success() || locales.join(name).join("LC_CTYPE").exists());
        // glibc takes it: `locale` says nothing about it on standard error.
        let usable = made
            && Command::new("locale")
                .env_clear()
                .env("LOCPATH", locales)
                .env("LC_ALL", name)
                .output()
                .is_ok_and(|o| o.status.success() && o.stderr.is_empty());
        if usable {
            out.push(name.to_string());
            locpath = Some(locales.to_path_buf());
        } else {
            eprintln!("note: locale {name} is not available and localedef cannot make it; not tested");
        }
    }
    (out, locpath)
}

fn diff(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    let mut lines = Vec::new();
    for k in a.keys().chain(b.keys()).collect::<std::collections::BTreeSet<_>>() {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => {
                let (x, y) = (String::from_utf8_lossy(x), String::from_utf8_lossy(y));
                let first = x.lines().zip(y.lines()).find(|(l, r)| l != r);
                lines.push(format!("{k}: differs, first at {first:?}"));
            }
            (Some(_), None) => lines.push(format!("{k}: only in the first")),
            (None, _) => lines.push(format!("{k}: only in the second")),
        }
    }
    lines.join("\n")
}

#[test]
fn the_same_project_gives_the_same_bytes_everywhere() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (locale_names, locpath) = locales(&tmp.path().join("locales"));
    for project in projects() {
        let name = project.file_name().expect("name").to_string_lossy().into_owned();
        let base_dir = tmp.path().join("a").join(&name);
        let baseline =
            Run { project_dir: base_dir.clone(), cwd: base_dir.clone(), recipe_arg: "image.aid".into(), env: vec![] };
        let (want, _) = compile(&project, &baseline);
        assert!(want.keys().any(|k| k.ends_with("Containerfile")), "{name}: no Containerfile");

        let deep = tmp.path().join("b/some where/deeper ünïcode dir").join(&name);
        let parent = deep.parent().expect("parent").to_path_buf();
        let other_tmp = tmp.path().join("other tmp");
        std::fs::create_dir_all(&other_tmp).expect("mkdir");
        let mut runs: Vec<(String, Run)> = vec![
            (
                "another directory, named by path from its parent".into(),
                Run {
                    project_dir: deep.clone(),
                    cwd: parent.clone(),
                    recipe_arg: format!("{name}/image.aid"),
                    env: vec![],
                },
            ),
            (
                "by absolute path from /".into(),
                Run {
                    project_dir: deep.clone(),
                    cwd: PathBuf::from("/"),
                    recipe_arg: deep.join("image.aid").display().to_string(),
                    env: vec![],
                },
            ),
            (
                "as ./image.aid".into(),
                Run { project_dir: deep.clone(), cwd: deep.clone(), recipe_arg: "./image.aid".into(), env: vec![] },
            ),
            (
                "through `..`".into(),
                Run {
                    project_dir: deep.clone(),
                    cwd: deep.clone(),
                    recipe_arg: format!("../{name}/./image.aid"),
                    env: vec![],
                },
            ),
            (
                "with another TMPDIR, HOME, TZ, user and terminal".into(),
                Run {
                    project_dir: deep.clone(),
                    cwd: deep.clone(),
                    recipe_arg: "image.aid".into(),
                    env: vec![
                        ("TMPDIR", other_tmp.display().to_string()),
                        ("HOME", "/nonexistent".into()),
                        ("TZ", "Pacific/Kiritimati".into()),
                        ("USER", "someone-else".into()),
                        ("LOGNAME", "someone-else".into()),
                        ("HOSTNAME", "elsewhere".into()),
                        ("TERM", "xterm-256color".into()),
                        ("COLUMNS", "37".into()),
                        ("CLICOLOR_FORCE", "1".into()),
                        ("SOURCE_DATE_EPOCH", "1".into()),
                        ("RUST_BACKTRACE", "1".into()),
                        ("RUST_LOG", "trace".into()),
                        ("AID_PATH", other_tmp.display().to_string()),
                        ("PWD", "/somewhere/else".into()),
                        ("UNRELATED", "$(touch /tmp/x) ${HOME}".into()),
                    ],
                },
            ),
        ];
        for l in &locale_names {
            let mut env = vec![("LC_ALL", l.clone()), ("LANG", l.clone()), ("LANGUAGE", l.clone())];
            if let Some(p) = &locpath {
                env.push(("LOCPATH", p.display().to_string()));
            }
            runs.push((
                format!("LC_ALL={l}"),
                Run { project_dir: deep.clone(), cwd: deep.clone(), recipe_arg: "image.aid".into(), env },
            ));
        }
        let mut failures = Vec::new();
        for (what, run) in &runs {
            let (got, _) = compile(&project, run);
            if got != want {
                failures.push(format!("{name}, {what}:\n{}", diff(&want, &got)));
            }
        }
        assert!(failures.is_empty(), "outputs differ:\n{}", failures.join("\n\n"));
    }
}

#[test]
fn five_runs_in_a_row_give_the_same_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for project in projects() {
        let name = project.file_name().expect("name").to_string_lossy().into_owned();
        let dir = tmp.path().join(&name);
        let run = Run { project_dir: dir.clone(), cwd: dir.clone(), recipe_arg: "image.aid".into(), env: vec![] };
        let (first, first_stdout) = compile(&project, &run);
        for i in 2..=5 {
            let (again, stdout) = compile(&project, &run);
            assert!(again == first, "{name}, run {i}:\n{}", diff(&first, &again));
            assert_eq!(stdout, first_stdout, "{name}, run {i}: the printed build commands differ");
        }
        // And in place, over its own outputs: nothing changes.
        let out = Command::new(env!("CARGO_BIN_EXE_aidc"))
            .args(["compile", "image.aid"])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("aidc");
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(snapshot(&dir), first, "{name}: a compile over its own outputs changed them");
    }
}

/// The same compile, many times in one process (new hash seeds for every
/// map), gives the same outputs.
#[test]
fn in_memory_compiles_agree_with_each_other() {
    let mut files = BTreeMap::new();
    for project in projects() {
        let name = project.file_name().expect("name").to_owned();
        for (rel, bytes) in snapshot(&project) {
            if ["out/", ".tekton/", "konflux/"].iter().any(|g| rel.starts_with(g)) {
                continue;
            }
            files.insert(Path::new("/repo").join(&name).join(rel), bytes);
        }
    }
    let repo = aidc::resolve::MemLoader(files);
    for project in projects() {
        let dir = Path::new("/repo").join(project.file_name().expect("name"));
        let compile = || {
            let hash = aidc::driver::hash_with_loader(&repo, dir.clone());
            let c = aidc::driver::compile(
                &dir.join("image.aid"),
                &repo,
                &aidc::resolve::SearchPath::default(),
                "out",
                &hash,
            )
            .expect("entry");
            let codes: Vec<&str> = c.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.as_str()).collect();
            (codes.join(" "), c.outputs)
        };
        let first = compile();
        for _ in 0..4 {
            assert!(compile() == first, "{}: in-memory outputs differ between calls", dir.display());
        }
    }
}
