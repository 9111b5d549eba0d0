//! The standard library, written in `.aid` and embedded in the binary.
//! `import "std/NAME"` reads `stdlib/NAME.aid`; `--stdlib DIR` reads
//! `DIR/NAME.aid` instead, for work on the stdlib itself.

/// Every embedded module: (name after `std/`, source text).
pub const MODULES: &[(&str, &str)] = &[
    ("cuda", include_str!("../stdlib/cuda.aid")),
    ("fedora", include_str!("../stdlib/fedora.aid")),
    ("kernel", include_str!("../stdlib/kernel.aid")),
    ("nvidia", include_str!("../stdlib/nvidia.aid")),
    ("tools", include_str!("../stdlib/tools.aid")),
];

/// The embedded text of `std/<name>`.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}
