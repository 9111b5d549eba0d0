//! Build script: the blake3 digests of the texts compiled into aidc (the
//! stdlib modules, the Containerfile template, the helper scripts images
//! run), so that a run looks them up instead of hashing them again for
//! the manifest, the embedded stdlib parse and the scripts' mounts
//! (docs/performance.md, "Stop 21").

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut texts: Vec<PathBuf> = Vec::new();
    for (dir, ext) in [("stdlib", "aid"), ("compiler/emit/templates", "j2"), ("compiler/plan/scripts", "sh")] {
        let dir = root.join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("the embedded texts' directory")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        found.sort();
        texts.extend(found);
    }
    let mut out = String::from(
        "/// Every text compiled into aidc and its blake3 digest, computed when aidc was built.\n\
         pub static EMBEDDED: &[(&str, [u8; 32])] = &[\n",
    );
    for path in &texts {
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = std::fs::read(path).expect("an embedded text");
        let digest = blake3::hash(&bytes);
        writeln!(out, "    (include_str!({:?}), {:?}),", path.display().to_string(), digest.as_bytes())
            .expect("write to a String");
    }
    out.push_str("];\n");
    let to = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_digests.rs");
    std::fs::write(to, out).expect("write embedded_digests.rs");
}
