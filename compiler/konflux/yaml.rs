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
//! with data) is written by `yaml_serde` whole. The text is written while
//! the value is serialized, with no tree in between (building and dropping
//! one was a third of the Konflux stage). Debug builds compare every
//! document with `yaml_serde`'s, so the whole test suite is the oracle.

use crate::maps::HashMap;
use std::cell::RefCell;
use std::fmt::Write as _;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// One YAML document.
pub fn document<T: Serialize>(value: &T) -> String {
    document_with(value, None)
}

/// One YAML document whose field marked [`spliced`] is copied from
/// `splice`: that field's value as [`document`] wrote it on its own. The
/// six PipelineRuns of a recipe of three variants share one `pipelineSpec`
/// of about 500 lines, and writing it again was half of the Konflux stage.
/// The copy is checked like everything else: debug builds compare the whole
/// document with `yaml_serde`'s, which writes the field itself.
pub fn document_spliced<T: Serialize>(value: &T, splice: &Splice) -> String {
    document_with(value, Some(splice))
}

/// A value's text for [`document_spliced`]: written once, indented once.
pub struct Splice {
    /// The value as a document of its own.
    text: String,
    /// Whether the text may be copied (see [`Splice::fits`]).
    fits: bool,
    /// The text indented for the first place it went: the same in every document.
    indented: std::cell::OnceCell<(usize, String)>,
}

impl Splice {
    pub fn new<T: Serialize>(value: &T) -> Splice {
        let text = document(value);
        let fits = Splice::fits(&text);
        Splice { text, fits, indented: std::cell::OnceCell::new() }
    }

    /// Whether `text` is a block mapping that reads the same with every
    /// line indented: no blank line (a literal block's empty lines carry
    /// no indentation) and a key first.
    fn fits(text: &str) -> bool {
        text.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && text.ends_with('\n')
            && memchr::memmem::find(text.as_bytes(), b"\n\n").is_none()
    }

    /// Writes the text with every line indented by `indent`.
    fn write(&self, out: &mut String, indent: usize) {
        let (at, text) = self.indented.get_or_init(|| (indent, indent_lines(&self.text, indent)));
        if *at == indent {
            out.push_str(text);
        } else {
            out.push_str(&indent_lines(&self.text, indent));
        }
    }
}

fn indent_lines(text: &str, indent: usize) -> String {
    let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    let mut out = String::with_capacity(text.len() + lines * indent);
    for line in text.split_inclusive('\n') {
        pad(&mut out, indent);
        out.push_str(line);
    }
    out
}

fn document_with<T: Serialize>(value: &T, splice: Option<&Splice>) -> String {
    let mut out = String::with_capacity(8192);
    let text = match value.serialize(Emit { out: &mut out, at: At::Top, splice }) {
        Ok(()) => {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out
        }
        // What the emitter does not take: `yaml_serde` writes the whole document.
        Err(Unsupported) => reference(value),
    };
    debug_assert_eq!(text, reference(value), "the YAML emitter disagrees with yaml_serde");
    text
}

/// Several documents in one file, `---` between them.
pub fn documents(docs: &[String]) -> String {
    docs.join("---\n")
}

/// `yaml_serde`'s text: the reference, and the way for what `Emit` does not take.
fn reference<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain structs of strings, lists and maps cannot fail.
    yaml_serde::to_string(value).expect("Konflux structures serialize to YAML")
}

/// The newtype name [`spliced`] gives a field: `Emit` copies the splice
/// there, `yaml_serde` (like any serializer) writes the value inside.
const SPLICE: &str = "$aidc::konflux::yaml::Splice";

/// Marks a field whose text [`document_spliced`] copies
/// (`#[serde(serialize_with = "yaml::spliced")]`, one field per document).
pub fn spliced<T: Serialize, S: ser::Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_newtype_struct(SPLICE, value)
}

thread_local! {
    /// How `yaml_serde` writes each string that is not plainly plain: the
    /// same descriptions and parameters recur in every document of a run.
    static STYLED: RefCell<HashMap<String, String>> = RefCell::new(HashMap::default());
}

/// Where a value is written, as libyaml lays out block style (indent 2,
/// sequences in a mapping not indented, `[]`/`{}` for empty collections).
#[derive(Clone, Copy)]
enum At {
    /// The document start. A literal block here is indented unlike one in
    /// a collection, so it goes to `yaml_serde`.
    Top,
    /// After `- `, in a sequence whose items sit at `indent` less 2; the
    /// lines that follow the first sit at `indent`.
    Item { indent: usize },
    /// After `key:`, in a mapping whose keys sit at `indent`.
    Value { indent: usize },
}

impl At {
    /// The indent of the entries of a collection written here and whether
    /// its first entry goes on a line of its own; a sequence in a mapping
    /// sits at the key's indent, a mapping two further.
    fn entries(self, is_map: bool) -> (usize, bool) {
        match self {
            At::Top => (0, false),
            At::Item { indent } => (indent, false),
            At::Value { indent } => (indent + if is_map { 2 } else { 0 }, true),
        }
    }
}

/// Serializes a value as YAML text onto `out`, at `at`.
struct Emit<'a> {
    out: &'a mut String,
    at: At,
    /// The text of the field marked [`spliced`], if any.
    splice: Option<&'a Splice>,
}

impl<'a> Emit<'a> {
    /// A scalar written by `write`, then the end of its line.
    fn leaf(self, write: impl FnOnce(&mut String)) -> Result<(), Unsupported> {
        if let At::Value { .. } = self.at {
            self.out.push(' ');
        }
        write(self.out);
        self.out.push('\n');
        Ok(())
    }

    /// A collection's writer: nothing is written until its first entry, so
    /// an empty one can still be `[]` or `{}`.
    fn collection(self, is_map: bool) -> Collection<'a> {
        let (indent, lead) = self.at.entries(is_map);
        Collection { out: self.out, at: self.at, splice: self.splice, indent, lead, first: true, is_map }
    }
}

/// A sequence or mapping being written.
struct Collection<'a> {
    out: &'a mut String,
    /// Where the collection itself is written.
    at: At,
    splice: Option<&'a Splice>,
    /// The indent of its entries.
    indent: usize,
    /// Whether the first entry starts a new line (a collection after `key:`).
    lead: bool,
    first: bool,
    is_map: bool,
}

impl Collection<'_> {
    /// Starts an entry's line.
    fn entry(&mut self) {
        if self.first {
            self.first = false;
            if self.lead {
                self.out.push('\n');
                pad(self.out, self.indent);
            }
        } else {
            pad(self.out, self.indent);
        }
    }

    /// A sequence item.
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.entry();
        self.out.push_str("- ");
        value.serialize(Emit { out: &mut *self.out, at: At::Item { indent: self.indent + 2 }, splice: self.splice })
    }

    /// A mapping entry's key, up to its `:`.
    fn key(&mut self, key: &str) {
        self.entry();
        string(self.out, key);
        self.out.push(':');
    }

    /// A mapping entry's value, after its key.
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(Emit { out: &mut *self.out, at: At::Value { indent: self.indent }, splice: self.splice })
    }

    fn end(self) -> Result<(), Unsupported> {
        if self.first {
            let empty = if self.is_map { "{}" } else { "[]" };
            Emit { out: self.out, at: self.at, splice: None }.leaf(|out| out.push_str(empty))?;
        }
        Ok(())
    }
}

/// Spaces for [`pad`] to copy from.
const SPACES: &str = "                                                                ";

fn pad(out: &mut String, indent: usize) {
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

/// A single-line string: as it is when plainly plain, else as `yaml_serde`
/// writes it (remembered per string).
fn string(out: &mut String, s: &str) {
    if plainly_plain(s) {
        out.push_str(s);
    } else {
        styled(out, s);
    }
}

/// A single-line string as `yaml_serde` writes it, remembered per string.
fn styled(out: &mut String, s: &str) {
    STYLED.with_borrow_mut(|styled| {
        if let Some(text) = styled.get(s) {
            out.push_str(text);
        } else {
            let mut text = reference(s);
            text.truncate(text.trim_end_matches('\n').len());
            out.push_str(&text);
            styled.insert(s.to_owned(), text);
        }
    });
}

/// A literal block (`|`, or `|-` without a final line break) whose lines
/// sit at `indent`; empty lines stay empty.
fn literal(out: &mut String, text: &str, indent: usize) {
    let body = text.strip_suffix('\n');
    out.push_str(if body.is_some() { "|\n" } else { "|-\n" });
    for line in body.unwrap_or(text).split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// What a byte is to [`plainly_plain`].
#[derive(Clone, Copy, PartialEq)]
enum Class {
    /// Never in a plainly plain string.
    No,
    /// Anywhere.
    Yes,
    /// A space: not after another one.
    Space,
    /// A `:`: not before a space or at the end.
    Colon,
    /// A `#`: not after a space.
    Hash,
}

/// [`Class`] by byte.
static CLASS: [Class; 256] = {
    let mut class = [Class::No; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => Class::Yes,
            b'/' | b'.' | b'_' | b'-' | b'$' | b'(' | b')' | b'{' | b'}' | b'=' | b'@' | b'+' | b',' | b'%' => {
                Class::Yes
            }
            b'~' | b'*' | b'&' | b'!' | b'<' | b'>' => Class::Yes,
            b' ' => Class::Space,
            b':' => Class::Colon,
            b'#' => Class::Hash,
            _ => Class::No,
        };
        b += 1;
    }
    class
};

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
        let ok = match CLASS[usize::from(b)] {
            Class::Yes => true,
            Class::Space | Class::Hash => previous != b' ',
            Class::Colon => bytes.get(i + 1).is_some_and(|n| *n != b' '),
            Class::No => false,
        };
        if !ok {
            return false;
        }
        previous = b;
    }
    // The words are at most 8 bytes long.
    bytes.len() > 8
        || !["null", "true", "false", "inf", "infinity", "nan", "y", "n", "yes", "no", "on", "off"]
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

/// What `Emit` does not take: `document` falls back to `yaml_serde`.
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

type Done = Result<(), Unsupported>;

impl<'a> ser::Serializer for Emit<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Collection<'a>;
    type SerializeTuple = Collection<'a>;
    type SerializeTupleStruct = Collection<'a>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Collection<'a>;
    type SerializeStruct = Collection<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Done {
        self.leaf(|out| out.push_str(if v { "true" } else { "false" }))
    }
    fn serialize_i8(self, v: i8) -> Done {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Done {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Done {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Done {
        // Writing into a String cannot fail.
        self.leaf(|out| {
            let _ = write!(out, "{v}");
        })
    }
    fn serialize_u8(self, v: u8) -> Done {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Done {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Done {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Done {
        self.leaf(|out| {
            let _ = write!(out, "{v}");
        })
    }
    fn serialize_f32(self, _: f32) -> Done {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Done {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Done {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Done {
        if plainly_plain(v) {
            self.leaf(|out| out.push_str(v))
        } else if memchr::memchr2(b'\n', b'\r', v.as_bytes()).is_none() {
            self.leaf(|out| styled(out, v))
        } else if memchr::memchr(b'\n', v.as_bytes()).is_some() && plainly_literal(v) {
            match self.at {
                At::Top => Err(Unsupported),
                At::Item { indent } => {
                    literal(self.out, v, indent);
                    Ok(())
                }
                At::Value { indent } => {
                    self.out.push(' ');
                    literal(self.out, v, indent + 2);
                    Ok(())
                }
            }
        } else {
            Err(Unsupported)
        }
    }
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Done {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        self.leaf(|out| out.push_str("null"))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Done {
        match (name == SPLICE, self.splice, self.at) {
            (true, Some(splice), At::Value { indent }) if splice.fits => {
                // A mapping after `key:` starts on the next line, its keys two further in.
                self.out.push('\n');
                splice.write(self.out, indent + 2);
                Ok(())
            }
            _ => value.serialize(self),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Done {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Collection<'a>, Unsupported> {
        Ok(self.collection(false))
    }
    fn serialize_tuple(self, len: usize) -> Result<Collection<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Collection<'a>, Unsupported> {
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
    fn serialize_map(self, _: Option<usize>) -> Result<Collection<'a>, Unsupported> {
        Ok(self.collection(true))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Collection<'a>, Unsupported> {
        Ok(self.collection(true))
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

impl ser::SerializeSeq for Collection<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.item(value)
    }
    fn end(self) -> Done {
        Collection::end(self)
    }
}

impl ser::SerializeTuple for Collection<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.item(value)
    }
    fn end(self) -> Done {
        Collection::end(self)
    }
}

impl ser::SerializeTupleStruct for Collection<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.item(value)
    }
    fn end(self) -> Done {
        Collection::end(self)
    }
}

impl ser::SerializeMap for Collection<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        // Keys are strings on one line in Konflux files; anything else is yaml_serde's.
        let key = key.serialize(Key)?;
        self.key(&key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.value(value)
    }
    fn end(self) -> Done {
        Collection::end(self)
    }
}

impl ser::SerializeStruct for Collection<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        self.key(key);
        self.value(value)
    }
    fn end(self) -> Done {
        Collection::end(self)
    }
}

/// A mapping key: a string on one line (or what serializes as one).
struct Key;

type KeyText = Result<String, Unsupported>;

impl ser::Serializer for Key {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = Impossible<String, Unsupported>;
    type SerializeTuple = Impossible<String, Unsupported>;
    type SerializeTupleStruct = Impossible<String, Unsupported>;
    type SerializeTupleVariant = Impossible<String, Unsupported>;
    type SerializeMap = Impossible<String, Unsupported>;
    type SerializeStruct = Impossible<String, Unsupported>;
    type SerializeStructVariant = Impossible<String, Unsupported>;

    fn serialize_bool(self, _: bool) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_i8(self, _: i8) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_i16(self, _: i16) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_i32(self, _: i32) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_i64(self, _: i64) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_u8(self, _: u8) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_u16(self, _: u16) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_u32(self, _: u32) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_u64(self, _: u64) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_f32(self, _: f32) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> KeyText {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> KeyText {
        if v.contains(['\n', '\r']) { Err(Unsupported) } else { Ok(v.to_owned()) }
    }
    fn serialize_bytes(self, _: &[u8]) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_none(self) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> KeyText {
        value.serialize(self)
    }
    fn serialize_unit(self) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> KeyText {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> KeyText {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> KeyText {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
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
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Unsupported> {
        Err(Unsupported)
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

        /// A field copied from its own document (a map of one-line and
        /// multi-line strings, lists, empty ones) reads as `yaml_serde`
        /// writes the whole, at every depth: copied when its text fits,
        /// written in place when it does not (a blank line in a literal).
        #[test]
        fn spliced_fields_agree(inner in proptest::collection::btree_map(tricky(), (lines(), proptest::collection::vec(tricky(), 0..3)), 0..4), name in tricky()) {
            #[derive(serde::Serialize)]
            struct Outer<'a> { name: &'a str, spec: Spec<'a>, nested: Vec<Spec<'a>> }
            #[derive(serde::Serialize)]
            struct Spec<'a> {
                first: &'a str,
                #[serde(serialize_with = "super::spliced")]
                inner: &'a std::collections::BTreeMap<String, (String, Vec<String>)>,
                after: bool,
            }
            let spec = || Spec { first: &name, inner: &inner, after: true };
            let outer = Outer { name: &name, spec: spec(), nested: vec![spec()] };
            let splice = super::Splice::new(&inner);
            prop_assert_eq!(super::document_spliced(&outer, &splice), reference(&outer));
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
