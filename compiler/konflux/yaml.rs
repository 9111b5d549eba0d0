//! YAML text from typed structures. Keys come out in struct field order and
//! maps are `BTreeMap`s, so the text is the same on every run.

use serde::Serialize;

/// One YAML document.
pub fn document<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of strings, lists and maps cannot fail.
    yaml_serde::to_string(value).expect("Konflux structures serialize to YAML")
}

/// Several documents in one file, `---` between them.
pub fn documents(docs: &[String]) -> String {
    docs.join("---\n")
}
