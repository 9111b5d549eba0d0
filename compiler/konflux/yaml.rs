//! YAML text from typed structures. Keys come out in struct field order and
//! maps are `BTreeMap`s, so the text is the same on every run.
//!
//! The text is exactly what `yaml_serde` (libyaml's emitter) writes, but
//! made here for the shapes Konflux files have: block mappings and
//! sequences of single-line strings, booleans and integers. libyaml decides
//! the style of every scalar by analysing it and `yaml_serde` by parsing it
//! as a plain scalar first; for a PipelineRun that was two thirds of a whole
//! `aidc compile` (docs/performance.md). Strings that are plainly plain are
//! written as they are, multi-line strings that are plainly literal (the
//! Tekton scripts) as literal blocks; every other single-line string is
//! styled by `yaml_serde` itself, once per distinct string in a process; a
//! document holding anything else (other multi-line strings, floats, enums
//! with data) is written by `yaml_serde` whole. Debug builds compare every document with
//! `yaml_serde`'s, so the whole test suite is the oracle.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// One YAML document.
pub fn document<T: Serialize>(value: &T) -> String {
    let text = match value.serialize(Tree) {
        // A literal block at the top is indented unlike one in a collection.
        Ok(Node::Text(_)) | Err(Unsupported) => reference(value),
        Ok(node) => Writer::default().document(&node),
    };
    debug_assert_eq!(text, reference(value), "the YAML emitter disagrees with yaml_serde");
    text
}

/// Several documents in one file, `---` between them.
pub fn documents(docs: &[String]) -> String {
    docs.join("---\n")
}

/// `yaml_serde`'s text: the reference, and the way for what `Tree` does not take.
fn reference<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain structs of strings, lists and maps cannot fail.
    yaml_serde::to_string(value).expect("Konflux structures serialize to YAML")
}

/// A value as the emitter sees it.
enum Node {
    Null,
    Bool(bool),
    Int(String),
    /// A string on one line; struct field names are borrowed, not copied
    /// (half the strings of a PipelineRun).
    Str(Cow<'static, str>),
    /// A string of several lines that is [`plainly_literal`].
    Text(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// Writes block-style YAML as libyaml does (indent 2, sequences in a
/// mapping not indented, `[]`/`{}` for empty collections).
#[derive(Default)]
struct Writer {
    out: String,
}

thread_local! {
    /// How `yaml_serde` writes each string that is not plainly plain: the
    /// same descriptions and parameters recur in every document of a run.
    static STYLED: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

impl Writer {
    fn document(mut self, node: &Node) -> String {
        self.node(node, 0, false);
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out
    }

    /// Writes `node` whose first line is already started (after `- ` or at
    /// the document start) at `indent`; `in_map_value` says it follows `key:`.
    fn node(&mut self, node: &Node, indent: usize, in_map_value: bool) {
        match node {
            Node::Seq(items) if !items.is_empty() => {
                if in_map_value {
                    self.out.push('\n');
                    self.pad(indent);
                }
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.pad(indent);
                    }
                    self.out.push_str("- ");
                    self.node(item, indent + 2, false);
                }
            }
            Node::Map(entries) if !entries.is_empty() => {
                if in_map_value {
                    self.out.push('\n');
                    self.pad(indent);
                }
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.pad(indent);
                    }
                    self.scalar(key);
                    self.out.push(':');
                    match value {
                        // A sequence in a mapping sits at the key's indent.
                        Node::Seq(items) if !items.is_empty() => self.node(value, indent, true),
                        Node::Map(entries) if !entries.is_empty() => self.node(value, indent + 2, true),
                        Node::Text(text) => {
                            self.out.push(' ');
                            self.literal(text, indent + 2);
                        }
                        _ => {
                            self.out.push(' ');
                            self.scalar(value);
                            self.out.push('\n');
                        }
                    }
                }
            }
            // A sequence item (`document` keeps a top-level one from here).
            Node::Text(text) => self.literal(text, indent),
            _ => {
                if in_map_value {
                    self.out.push(' ');
                }
                self.scalar(node);
                self.out.push('\n');
            }
        }
    }

    /// A literal block (`|`, or `|-` without a final line break) whose
    /// lines sit at `indent`; empty lines stay empty.
    fn literal(&mut self, text: &str, indent: usize) {
        let body = text.strip_suffix('\n');
        self.out.push_str(if body.is_some() { "|\n" } else { "|-\n" });
        for line in body.unwrap_or(text).split('\n') {
            if !line.is_empty() {
                self.pad(indent);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
    }

    fn pad(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    fn scalar(&mut self, node: &Node) {
        match node {
            Node::Null => self.out.push_str("null"),
            Node::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Node::Int(i) => self.out.push_str(i),
            Node::Str(s) if plainly_plain(s) => self.out.push_str(s),
            Node::Str(s) => STYLED.with_borrow_mut(|styled| {
                if let Some(text) = styled.get(s.as_ref()) {
                    self.out.push_str(text);
                } else {
                    let mut text = reference(s.as_ref());
                    text.truncate(text.trim_end_matches('\n').len());
                    self.out.push_str(&text);
                    styled.insert(s.to_string(), text);
                }
            }),
            // Keys are never `Text` (`MapTree` refuses them) and values are
            // written by `node`.
            Node::Text(text) => self.literal(text, 0),
            Node::Seq(_) => self.out.push_str("[]"),
            Node::Map(_) => self.out.push_str("{}"),
        }
    }
}

/// Whether libyaml writes `s` plain and `yaml_serde` lets it: it starts
/// with a letter, `/` or `$` (no indicator, no number), holds only
/// letters, digits, spaces and `/._-$(){}=@+,%~*&!<>` with no `: `, ` #` or
/// trailing `:`, does not end with a space, and is not a word YAML reads as
/// something else. Conservative: a string it refuses is styled by
/// `yaml_serde`.
fn plainly_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else { return false };
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'$') || bytes[bytes.len() - 1] == b' ' {
        return false;
    }
    let mut previous = b' ';
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => true,
            b'/' | b'.' | b'_' | b'-' | b'$' | b'(' | b')' | b'{' | b'}' | b'=' | b'@' | b'+' | b',' | b'%' => true,
            b'~' | b'*' | b'&' | b'!' | b'<' | b'>' => true,
            b' ' => previous != b' ',
            b':' => bytes.get(i + 1).is_some_and(|n| *n != b' '),
            b'#' => previous != b' ',
            _ => false,
        };
        if !ok {
            return false;
        }
        previous = b;
    }
    !["null", "true", "false", "inf", "infinity", "nan", "y", "n", "yes", "no", "on", "off"]
        .iter()
        .any(|word| s.eq_ignore_ascii_case(word))
}

/// Whether libyaml writes the multi-line `s` as `yaml_serde` asks, a literal
/// block, with no indentation or `+` hint: printable ASCII and line breaks
/// only (a tab or a `\r` makes it double-quoted), no space or break first,
/// no space before a break or at the end, at most one break at the end
/// (libyaml's `yaml_emitter_analyze_scalar` and
/// `yaml_emitter_write_block_scalar_hints`). Conservative: a string it
/// refuses sends the document to `yaml_serde`.
fn plainly_literal(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else { return false };
    let body = s.strip_suffix('\n').unwrap_or(s).as_bytes();
    bytes.iter().all(|b| *b == b'\n' || (b' '..=b'~').contains(b))
        && first != b' '
        && first != b'\n'
        && last != b' '
        && !body.ends_with(b"\n")
        && !body.ends_with(b" ")
        && !s.contains(" \n")
}

/// What `Tree` does not take: `document` falls back to `yaml_serde`.
#[derive(Debug)]
struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a shape the YAML emitter writes")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// Serializes a value into a `Node`.
struct Tree;

/// A sequence or tuple being collected.
struct SeqTree(Vec<Node>);

/// A map or struct being collected.
struct MapTree {
    entries: Vec<(Node, Node)>,
    key: Option<Node>,
}

type Built = Result<Node, Unsupported>;

impl ser::Serializer for Tree {
    type Ok = Node;
    type Error = Unsupported;
    type SerializeSeq = SeqTree;
    type SerializeTuple = SeqTree;
    type SerializeTupleStruct = SeqTree;
    type SerializeTupleVariant = Impossible<Node, Unsupported>;
    type SerializeMap = MapTree;
    type SerializeStruct = MapTree;
    type SerializeStructVariant = Impossible<Node, Unsupported>;

    fn serialize_bool(self, v: bool) -> Built {
        Ok(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Built {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Built {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Built {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Built {
        Ok(Node::Int(v.to_string()))
    }
    fn serialize_u8(self, v: u8) -> Built {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Built {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Built {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Built {
        Ok(Node::Int(v.to_string()))
    }
    fn serialize_f32(self, _: f32) -> Built {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Built {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Built {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Built {
        if !v.contains(['\n', '\r']) {
            Ok(Node::Str(Cow::Owned(v.to_owned())))
        } else if v.contains('\n') && plainly_literal(v) {
            Ok(Node::Text(v.to_owned()))
        } else {
            Err(Unsupported)
        }
    }
    fn serialize_bytes(self, _: &[u8]) -> Built {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Built {
        Ok(Node::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Built {
        value.serialize(Tree)
    }
    fn serialize_unit(self) -> Built {
        Ok(Node::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Built {
        Ok(Node::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Built {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Built {
        value.serialize(Tree)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Built {
        Err(Unsupported)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqTree, Unsupported> {
        Ok(SeqTree(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqTree, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqTree, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapTree, Unsupported> {
        Ok(MapTree { entries: Vec::with_capacity(len.unwrap_or(0)), key: None })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapTree, Unsupported> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

impl ser::SerializeSeq for SeqTree {
    type Ok = Node;
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.0.push(value.serialize(Tree)?);
        Ok(())
    }
    fn end(self) -> Built {
        Ok(Node::Seq(self.0))
    }
}

impl ser::SerializeTuple for SeqTree {
    type Ok = Node;
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Built {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqTree {
    type Ok = Node;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Built {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for MapTree {
    type Ok = Node;
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        // Keys are strings in Konflux files; anything else is yaml_serde's.
        match key.serialize(Tree)? {
            key @ Node::Str(_) => self.key = Some(key),
            _ => return Err(Unsupported),
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        let key = self.key.take().ok_or(Unsupported)?;
        self.entries.push((key, value.serialize(Tree)?));
        Ok(())
    }
    fn end(self) -> Built {
        Ok(Node::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapTree {
    type Ok = Node;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
        self.entries.push((Node::Str(Cow::Borrowed(key)), value.serialize(Tree)?));
        Ok(())
    }
    fn end(self) -> Built {
        Ok(Node::Map(self.entries))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{document, reference};

    /// Strings from the characters that decide a scalar's style.
    fn tricky() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-zA-Z0-9 :#'\"{}\\[\\],&*!|>%@`?$/._=+~<-]{0,12}").expect("regex")
    }

    /// Strings of several lines, with the characters that decide whether
    /// a literal block is allowed and which hints it takes.
    fn lines() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ab :#|\t\r\n-]{0,14}").expect("regex")
    }

    proptest! {
        /// Multi-line strings in maps, in lists, and in lists in maps.
        #[test]
        fn multi_line_strings_agree(entries in proptest::collection::btree_map(tricky(), (lines(), proptest::collection::vec(lines(), 0..3)), 0..4)) {
            prop_assert_eq!(document(&entries), reference(&entries));
        }

        /// Maps of lists of maps of arbitrary one-line strings come out as
        /// `yaml_serde` writes them.
        #[test]
        fn agrees_with_yaml_serde(entries in proptest::collection::btree_map(tricky(), (proptest::collection::vec(proptest::collection::btree_map(tricky(), tricky(), 0..3), 0..3), any::<bool>(), any::<i64>()), 0..4)) {
            prop_assert_eq!(document(&entries), reference(&entries));
        }

        /// Lists of lists, empty collections and absent values too.
        #[test]
        fn nested_and_empty_agree(items in proptest::collection::vec((proptest::collection::vec(proptest::collection::vec(tricky(), 0..3), 0..3), proptest::option::of(tricky()), proptest::collection::btree_map(tricky(), proptest::collection::vec(tricky(), 0..2), 0..2)), 0..3)) {
            prop_assert_eq!(document(&items), reference(&items));
        }
    }

    #[test]
    fn words_yaml_reads_as_other_types_are_quoted() {
        for word in
            ["true", "False", "null", "~", "", "1", "0x1F", "1e5", ".inf", "0755", "-1", "yes", "on", "{{revision}}"]
        {
            assert_eq!(document(&vec![word]), reference(&vec![word]), "{word:?}");
        }
    }
}
