//! Source files, their ids and byte spans: what every diagnostic points into.

use std::sync::Arc;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SourceId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Span {
    pub source: SourceId,
    pub start: u32,
    pub end: u32,
}

thread_local! {
    /// The file whose spans are being decoded ([`decoding_spans_of`]).
    static DECODING: std::cell::Cell<Option<SourceId>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with every [`Span`] it decodes placed in `source`: an embedded
/// parse (`stdlib.rs`) is encoded once and decoded into whichever file id
/// the loader gives it.
pub fn decoding_spans_of<T>(source: SourceId, f: impl FnOnce() -> T) -> T {
    let previous = DECODING.with(|d| d.replace(Some(source)));
    let result = f();
    DECODING.with(|d| d.set(previous));
    result
}

/// A span as encoded: the file id it was encoded with is ignored.
#[derive(serde::Deserialize)]
struct EncodedSpan {
    _source: u32,
    start: u32,
    end: u32,
}

impl<'de> serde::Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let e = EncodedSpan::deserialize(d)?;
        let source = DECODING
            .with(|d| d.get())
            .ok_or_else(|| serde::de::Error::custom("a span decoded outside `decoding_spans_of`"))?;
        Ok(Span { source, start: e.start, end: e.end })
    }
}

impl Span {
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        Span { source, start: start as u32, end: end as u32 }
    }

    /// The smallest span covering both (same file assumed; `self` wins otherwise).
    pub fn to(self, other: Span) -> Span {
        if self.source != other.source {
            return self;
        }
        Span { source: self.source, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// Whether `other` lies inside this span (in the same file).
    pub fn contains(&self, other: Span) -> bool {
        self.source == other.source && self.start <= other.start && other.end <= self.end
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// Where a module comes from; decides how its name is shown and how its
/// relative imports resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A recipe or library file on disk; `name` is the path as shown to users.
    File,
    /// A module of the standard library embedded in the binary.
    Std,
}

/// One loaded file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics: a path relative to where the user
    /// pointed aidc, or `std/<module>.aid` for the embedded stdlib.
    pub name: String,
    pub origin: Origin,
    pub text: Arc<str>,
    /// Byte offsets of line starts, for line/column conversion.
    line_starts: Vec<u32>,
    /// Whether a `\r` not followed by `\n` is in the text (some renderers
    /// count it as a line break).
    lone_cr: bool,
}

impl SourceFile {
    pub fn new(name: String, origin: Origin, text: Arc<str>) -> SourceFile {
        // memchr: a byte-at-a-time scan was 3% of the flagship's `compile`.
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i as u32 + 1));
        let lone_cr = memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n'));
        SourceFile { name, origin, text, line_starts, lone_cr }
    }

    /// Whether a `\r` not followed by `\n` is in the text.
    pub fn has_lone_cr(&self) -> bool {
        self.lone_cr
    }

    /// Byte offsets of the starts of lines (after each `\n`), the first 0.
    pub fn line_starts(&self) -> &[u32] {
        &self.line_starts
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: u32) -> (usize, usize) {
        let offset = offset.min(self.text.len() as u32);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let mut end = offset as usize;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let column = self.text[start..end].chars().count() + 1;
        (line + 1, column)
    }
}

/// Every file of one compilation, indexed by [`SourceId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, file: SourceFile) -> SourceId {
        self.files.push(file);
        SourceId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, span: Span) -> &str {
        let file = self.get(span.source);
        file.text.get(span.start as usize..span.end as usize).unwrap_or("")
    }

    pub fn files(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (SourceId(i as u32), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}
