//! Where the nodes of a parsed file came from: JSON pointer → line:column, and the text of each line.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use crate::diag::Diagnostic;

/// A 1-based line and a 1-based column counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    /// The start of a file.
    pub const START: Pos = Pos { line: 1, column: 1 };

    /// A position from `usize` line and column (saturating, never panicking).
    pub fn new(line: usize, column: usize) -> Pos {
        Pos {
            line: u32::try_from(line.max(1)).unwrap_or(u32::MAX),
            column: u32::try_from(column.max(1)).unwrap_or(u32::MAX),
        }
    }
}

/// Where one node is: its value, and the key naming it when it is an object member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub value: Pos,
    pub key: Option<Pos>,
}

/// JSON pointer (escaped, `""` for the root) → [`Entry`]. Only looked up, never iterated, so a
/// `HashMap` cannot make anything nondeterministic.
#[derive(Default)]
pub(crate) struct SourceMap {
    entries: HashMap<Box<str>, Entry>,
}

impl fmt::Debug for SourceMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceMap({} pointers)", self.entries.len())
    }
}

impl SourceMap {
    pub fn insert(&mut self, pointer: &str, value: Pos, key: Option<Pos>) {
        self.entries.insert(pointer.into(), Entry { value, key });
    }

    pub fn get(&self, pointer: &str) -> Option<&Entry> {
        self.entries.get(pointer)
    }

    /// The entry for `pointer` or for its nearest ancestor that has one; the flag says whether
    /// the entry is for `pointer` itself.
    pub fn nearest(&self, pointer: &str) -> Option<(&Entry, bool)> {
        let mut current = pointer;
        loop {
            if let Some(entry) = self.entries.get(current) {
                return Some((entry, current.len() == pointer.len()));
            }
            let cut = current.rfind('/')?;
            current = current.get(..cut)?;
        }
    }
}

/// Byte offsets of the line starts of a text (lines end at `\n`; a `\r` before it is not part of
/// the line's text).
#[derive(Debug, Default)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
    /// Is the whole text ASCII (so character columns are byte columns)?
    ascii: bool,
}

/// Lines longer than this (in bytes) are shown as an excerpt around the column: a minified
/// JSON document is one line, and every location would otherwise copy all of it.
const EXCERPT_LIMIT: usize = 240;

/// Characters of an excerpt before and after the column.
const EXCERPT_BEFORE: usize = 80;
const EXCERPT_AFTER: usize = 120;

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            ascii: text.is_ascii(),
        }
    }

    /// The text to show for a 1-based line at a 1-based character column: the whole line, or
    /// for a long line an excerpt around the column with `…` at the cut ends. Returns the text
    /// and how many characters of the line come before it (the caret goes at
    /// `column - 1 - offset` in the text). Costs O(excerpt) for ASCII text, so locating many
    /// nodes of a one-line document stays linear.
    pub fn excerpt(&self, text: &str, line: usize, column: usize) -> (String, u32) {
        let line_text = self.line(text, line);
        if line_text.len() <= EXCERPT_LIMIT {
            return (line_text.to_owned(), 0);
        }
        let col = column.saturating_sub(1);
        let first = col.saturating_sub(EXCERPT_BEFORE);
        let last = col + EXCERPT_AFTER;
        let (start, end, total) = if self.ascii {
            (
                first.min(line_text.len()),
                last.min(line_text.len()),
                line_text.len(),
            )
        } else {
            let mut indices = line_text.char_indices().map(|(i, _)| i);
            let start = indices.nth(first).unwrap_or(line_text.len());
            let end = indices
                .nth(last.saturating_sub(first).saturating_sub(1))
                .unwrap_or(line_text.len());
            (start, end, usize::MAX)
        };
        let mut shown = String::with_capacity(end - start + 8);
        let mut offset = first;
        if first > 0 {
            shown.push('…');
            offset -= 1;
        }
        shown.push_str(line_text.get(start..end).unwrap_or(""));
        if end < line_text.len() && last < total {
            shown.push('…');
        }
        (shown, u32::try_from(offset).unwrap_or(u32::MAX))
    }

    /// The text of a 1-based line without its line ending; empty if there is no such line.
    pub fn line<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.starts.get(i)) else {
            return "";
        };
        let end = self
            .starts
            .get(line)
            .map_or(text.len(), |next| next.saturating_sub(1));
        let raw = text.get(start..end).unwrap_or("");
        raw.strip_suffix('\r').unwrap_or(raw)
    }

    /// The 1-based character column of a 1-based byte column on a line (serde_json reports bytes).
    pub fn char_column(&self, text: &str, line: usize, byte_column: usize) -> usize {
        let line_text = self.line(text, line);
        let mut bytes = byte_column.saturating_sub(1).min(line_text.len());
        while bytes > 0 && !line_text.is_char_boundary(bytes) {
            bytes -= 1;
        }
        line_text.get(..bytes).map_or(0, |s| s.chars().count()) + 1
    }
}

/// A diagnostic found while parsing, before it has a file to be located in.
#[derive(Debug)]
pub(crate) struct Problem {
    pub pos: Pos,
    pub diagnostic: Diagnostic,
}

/// A parsed file: its value, its source map, and any warnings found on the way.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub value: Value,
    pub map: SourceMap,
    pub problems: Vec<Problem>,
}
