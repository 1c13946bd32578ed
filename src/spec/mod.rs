//! The load phase: read spec files (YAML or JSON), keep a source map from JSON pointers to
//! line:column, load every file a `$ref` reaches, and recognise (or convert) the spec version.
//!
//! Later phases never see text: they see [`serde_json::Value`]s addressed by [`Loc`] (a file and a
//! JSON pointer), and ask [`Sources::locate`] for a [`Location`] when they report a diagnostic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diag::{Diagnostic, Diagnostics, Kind, Location};

mod asyncapi2;
mod json;
mod load;
mod refs;
mod source_map;
#[cfg(test)]
mod tests;
mod yaml;

use source_map::{LineIndex, Pos, SourceMap};

/// Index of a loaded file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A node in a loaded document: which file, and the JSON pointer (RFC 6901, `""` for the root).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    /// The file the node is in.
    pub file: FileId,
    /// JSON pointer from the file's root, with `~0`/`~1` escapes.
    pub pointer: String,
}

impl Loc {
    /// The location of a child: `key` is an object key or an array index, unescaped.
    pub fn child(&self, key: &str) -> Loc {
        let mut pointer = String::with_capacity(self.pointer.len() + key.len() + 1);
        pointer.push_str(&self.pointer);
        pointer.push('/');
        push_escaped(&mut pointer, key);
        Loc {
            file: self.file,
            pointer,
        }
    }

    /// The location of an array element.
    pub fn index(&self, i: usize) -> Loc {
        self.child(&i.to_string())
    }

    /// The last pointer segment, unescaped (`""` for the root).
    pub fn last_segment(&self) -> String {
        match self.pointer.rfind('/') {
            Some(i) => unescape(&self.pointer[i + 1..]),
            None => String::new(),
        }
    }
}

/// The value a JSON pointer names (RFC 6901), as `serde_json::Value::pointer` finds it but
/// without allocating for segments that hold no escape: lowering looks up deep pointers often.
fn pointer_get<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let rest = pointer.strip_prefix('/')?;
    let mut current = value;
    for segment in rest.split('/') {
        let key: std::borrow::Cow<'_, str> = if segment.contains('~') {
            std::borrow::Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
        } else {
            std::borrow::Cow::Borrowed(segment)
        };
        current = match current {
            Value::Object(map) => map.get(key.as_ref())?,
            Value::Array(items) => {
                // RFC 6901: no leading zeros, no sign.
                if key.len() > 1 && key.starts_with('0') || key.starts_with('+') {
                    return None;
                }
                items.get(key.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(current)
}

/// Append `key` to a JSON pointer being built, escaping `~` and `/`.
pub fn push_escaped(pointer: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Unescape one JSON pointer segment.
pub fn unescape(segment: &str) -> String {
    if segment.contains('~') {
        segment.replace("~1", "/").replace("~0", "~")
    } else {
        segment.to_owned()
    }
}

/// Which specification a root document follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecKind {
    /// OpenAPI 3.x; `minor` is 0, 1 or 2.
    OpenApi {
        /// The `openapi` field as written.
        version: String,
        /// 0, 1 or 2.
        minor: u8,
    },
    /// AsyncAPI 3.x, or 2.x converted to the 3.x shape on load.
    AsyncApi {
        /// The `asyncapi` field as written.
        version: String,
        /// True when the document was written as 2.x and converted.
        converted_from_2: bool,
    },
}

/// Everything the load phase produced for one root spec file.
#[derive(Debug)]
pub struct Document {
    /// The root file.
    pub root: FileId,
    /// What it is.
    pub kind: SpecKind,
    /// The root file and every file its `$ref`s reach.
    pub sources: Sources,
}

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as named to wiregen (relative paths stay relative), used in diagnostics.
    pub display: String,
    /// The path used to read it and to resolve relative `$ref`s.
    pub path: PathBuf,
    /// The file text.
    pub text: String,
    /// The parsed value (object key order preserved). For a converted AsyncAPI 2.x root this is the
    /// converted 3.x value.
    pub value: Value,
    // Implementation details (the source map, the 2.x pointer remap) are private to this module.
    map: SourceMap,
    lines: LineIndex,
    /// For a converted AsyncAPI 2.x root: converted pointers ↔ pointers into the original text.
    remap: Option<asyncapi2::Remap>,
}

impl SourceFile {
    /// A diagnostic location at a position in this file.
    fn location_at(&self, pos: Pos) -> Location {
        let (source_line, source_offset) =
            self.lines
                .excerpt(&self.text, pos.line as usize, pos.column as usize);
        Location {
            file: self.display.clone(),
            line: pos.line,
            column: pos.column,
            source_line,
            source_offset,
        }
    }

    /// Locate a pointer into [`SourceFile::value`]; `at_key` prefers the key naming the node.
    fn locate_pointer(&self, pointer: &str, at_key: bool) -> Option<Location> {
        match &self.remap {
            Some(remap) => {
                let (original, remapped_at_key) = remap.original(pointer);
                self.locate_original(&original, at_key || remapped_at_key)
            }
            None => self.locate_original(pointer, at_key),
        }
    }

    /// Locate a pointer into the value as written in the text (before any conversion).
    fn locate_original(&self, pointer: &str, at_key: bool) -> Option<Location> {
        let (entry, exact) = self.map.nearest(pointer)?;
        let pos = match (at_key && exact, entry.key) {
            (true, Some(key)) => key,
            _ => entry.value,
        };
        Some(self.location_at(pos))
    }
}

/// All files loaded for a document.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
    /// Canonical path → file, so that each file is loaded once.
    by_path: BTreeMap<PathBuf, FileId>,
    /// The file part of each `$ref` seen at load time, per referring file → the file it names.
    links: BTreeMap<FileId, BTreeMap<String, FileId>>,
}

/// How deeply walks through `$ref`s ([`Sources::through_refs`]) may nest.
const MAX_THROUGH_DEPTH: usize = 8;

/// Longest `$ref` chain [`Sources::deref`] follows.
const MAX_REF_CHAIN: usize = 1000;

/// How a `$ref` was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// The pointer names a node.
    Exact,
    /// The pointer names a node of an AsyncAPI 2.x document that moved in the conversion.
    Moved,
    /// Only by reading unescaped `/`s as part of keys.
    Lenient,
}

/// Why [`Sources::deref`] failed.
enum DerefError {
    Loop(Diagnostic),
    Other(Diagnostic),
}

impl Sources {
    /// The file behind an id.
    ///
    /// Ids come from this `Sources` (a [`Loc`] it returned, or [`Document::root`]); an id made up
    /// elsewhere that is out of range panics.
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    fn try_file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(usize::try_from(id.0).ok()?)
    }

    /// Every loaded file's path, in load order (for `cargo:rerun-if-changed`).
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|f| f.path.as_path())
    }

    /// The value at a location, if the pointer resolves.
    pub fn get(&self, loc: &Loc) -> Option<&Value> {
        pointer_get(&self.try_file(loc.file)?.value, &loc.pointer)
    }

    /// The source position of a location: the exact node if the source map has it, else its
    /// nearest ancestor that it has.
    pub fn locate(&self, loc: &Loc) -> Option<Location> {
        self.try_file(loc.file)?.locate_pointer(&loc.pointer, false)
    }

    /// Like [`Sources::locate`], but for an object member the position of its key (where an
    /// "unknown keyword" or "misspelt name" diagnostic belongs); other nodes as `locate`.
    pub fn locate_key(&self, loc: &Loc) -> Option<Location> {
        self.try_file(loc.file)?.locate_pointer(&loc.pointer, true)
    }

    /// Resolve a `$ref` string found at `from` (the location of the object holding the `$ref`) to
    /// the location it points at. Relative file parts are resolved against `from`'s file.
    pub fn resolve_ref(&self, from: &Loc, reference: &str) -> Result<Loc, Diagnostic> {
        self.resolve(from, reference).map(|(loc, _)| loc)
    }

    fn resolve(&self, from: &Loc, reference: &str) -> Result<(Loc, How), Diagnostic> {
        let at = || self.locate(&from.child("$ref"));
        let (file_part, fragment) = match refs::split(reference) {
            refs::RefParts::Remote => {
                return Err(Diagnostic::error(
                    Kind::Unsupported,
                    format!("remote `$ref`s are not supported: `{reference}`"),
                )
                .at(at())
                .help("wiregen follows `$ref`s within the document and to local files by relative path; download the referenced document and refer to it by path"));
            }
            refs::RefParts::Local { file, fragment } => (file, fragment),
        };
        let file = if file_part.is_empty() {
            from.file
        } else {
            self.linked_file(from.file, file_part).ok_or_else(|| {
                Diagnostic::error(
                    Kind::Reference,
                    format!("`$ref` names a file that was not loaded: `{reference}`"),
                )
                .at(at())
                .help("the file does not exist or could not be read or parsed")
            })?
        };
        let Some((pointer, segments)) = refs::fragment_pointer(fragment.unwrap_or("")) else {
            return Err(Diagnostic::error(
                Kind::Unsupported,
                format!("`$ref` fragment is not a JSON pointer: `{reference}`"),
            )
            .at(at())
            .help("write the fragment as a JSON pointer such as `#/components/schemas/Name`; anchors (`$anchor`, `$id`) are not supported"));
        };
        let Some(target) = self.try_file(file) else {
            return Err(
                Diagnostic::error(Kind::Internal, "`$ref` resolved to an unknown file").at(at()),
            );
        };
        if target.value.pointer(&pointer).is_some() {
            return Ok((Loc { file, pointer }, How::Exact));
        }
        if let Some(moved) = target.remap.as_ref().and_then(|r| r.converted(&pointer))
            && target.value.pointer(&moved).is_some()
        {
            return Ok((
                Loc {
                    file,
                    pointer: moved,
                },
                How::Moved,
            ));
        }
        if let Some(through) = self.through_refs(file, &segments) {
            return Ok((through, How::Exact));
        }
        let matches = refs::lenient_matches(&target.value, &segments);
        if let [only] = matches.as_slice() {
            return Ok((
                Loc {
                    file,
                    pointer: only.clone(),
                },
                How::Lenient,
            ));
        }
        let mut error = Diagnostic::error(
            Kind::Reference,
            format!("`$ref` does not resolve: `{reference}`"),
        )
        .at(at())
        .help(dangling_help(target, &segments, file != from.file));
        if matches.len() > 1 {
            error = error.help("reading an unescaped `/` as part of a key gives more than one match; escape `/` in keys as `~1`");
        }
        Err(error)
    }

    /// Follow `segments` from the root of `file`, going through the `$ref`s met on the way
    /// (`#/channels/echo/messages/ping` when `#/channels/echo` is a `$ref` to
    /// `#/components/channels/echo`), as the AsyncAPI parser does. `None` when a segment is
    /// missing, or when the way goes through more than 64 `$ref`s (a loop). A `$ref` met on the
    /// way may itself need this walk (`#/a/b` where `#/a` is `{$ref: '#/a/b'}`): such nesting is
    /// cut at [`MAX_THROUGH_DEPTH`], so a loop through it ends as "does not resolve".
    fn through_refs(&self, file: FileId, segments: &[String]) -> Option<Loc> {
        thread_local! {
            static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
        }
        /// Leaves one level of nesting when the walk returns, however it returns.
        struct Nested;
        impl Drop for Nested {
            fn drop(&mut self) {
                DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
            }
        }
        if DEPTH.with(|depth| depth.replace(depth.get() + 1)) >= MAX_THROUGH_DEPTH {
            DEPTH.with(|depth| depth.set(depth.get() - 1));
            return None;
        }
        let _nested = Nested;
        let mut current = Loc {
            file,
            pointer: String::new(),
        };
        let mut refs_followed = 0;
        for segment in segments {
            let value = self.get(&current)?;
            let has_child = match value {
                Value::Object(map) => map.contains_key(segment),
                Value::Array(items) => segment.parse::<usize>().is_ok_and(|i| i < items.len()),
                _ => false,
            };
            if !has_child {
                if value.get("$ref").is_none() || refs_followed >= 64 {
                    return None;
                }
                refs_followed += 1;
                current = self.deref(&current).ok()?;
            }
            current = current.child(segment);
        }
        self.get(&current).is_some().then_some(current)
    }

    /// The file a `$ref`'s file part names, relative to the referring file.
    fn linked_file(&self, from: FileId, file_part: &str) -> Option<FileId> {
        if let Some(id) = self.links.get(&from).and_then(|links| links.get(file_part)) {
            return Some(*id);
        }
        let referrer = self.try_file(from)?;
        let decoded = refs::percent_decode(file_part);
        let joined = refs::base_dir(&referrer.path).join(decoded.as_ref());
        let canonical = std::fs::canonicalize(joined).ok()?;
        self.by_path.get(&canonical).copied()
    }

    /// Follow `$ref`s starting at `loc` until a node that is not a pure `$ref` object; a chain that
    /// loops with nothing in between is an error.
    pub fn deref(&self, loc: &Loc) -> Result<Loc, Diagnostic> {
        self.deref_inner(loc).map_err(|error| match error {
            DerefError::Loop(d) | DerefError::Other(d) => d,
        })
    }

    fn deref_inner(&self, loc: &Loc) -> Result<Loc, DerefError> {
        let mut chain = vec![loc.clone()];
        let mut current = loc.clone();
        loop {
            let Some(value) = self.get(&current) else {
                let name = self.describe(&current, None);
                return Err(DerefError::Other(
                    Diagnostic::error(Kind::Reference, format!("nothing at `{name}`"))
                        .at(self.locate(&current)),
                ));
            };
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok(current);
            };
            let next = self
                .resolve_ref(&current, reference)
                .map_err(DerefError::Other)?;
            if let Some(start) = chain.iter().position(|seen| *seen == next) {
                let cycle = chain.get(start..).unwrap_or_default();
                return Err(DerefError::Loop(self.loop_error(cycle)));
            }
            if chain.len() >= MAX_REF_CHAIN {
                return Err(DerefError::Other(
                    Diagnostic::error(
                        Kind::Reference,
                        format!("`$ref` chain longer than {MAX_REF_CHAIN} steps"),
                    )
                    .at(self.locate(&loc.child("$ref"))),
                ));
            }
            chain.push(next.clone());
            current = next;
        }
    }

    /// The error for `$ref`s that only point at each other, located at the one that comes first
    /// in the text (so every way into the loop reports the same diagnostic).
    fn loop_error(&self, cycle: &[Loc]) -> Diagnostic {
        let place = |loc: &Loc| {
            let location = self.locate(&loc.child("$ref"));
            (loc.file, location.map(|l| (l.line, l.column)))
        };
        let first = (0..cycle.len())
            .min_by_key(|&i| cycle.get(i).map(place))
            .unwrap_or(0);
        let (head, tail) = cycle.split_at(first.min(cycle.len()));
        let ordered: Vec<&Loc> = tail.iter().chain(head).collect();
        let Some(&start) = ordered.first() else {
            return Diagnostic::error(Kind::Reference, "`$ref` loop with nothing in between");
        };
        let mut names: Vec<String> = ordered
            .iter()
            .map(|loc| self.describe(loc, Some(start.file)))
            .collect();
        names.push(self.describe(start, Some(start.file)));
        Diagnostic::error(Kind::Reference, "`$ref` loop with nothing in between")
            .at(self.locate(&start.child("$ref")))
            .help(format!(
                "these `$ref`s only point at each other: {}",
                names.join(" → ")
            ))
            .help("one of them has to be a schema (or other object) of its own")
    }

    /// `#/pointer`, with the file's display path in front when it is not `home`.
    fn describe(&self, loc: &Loc, home: Option<FileId>) -> String {
        match self.try_file(loc.file) {
            Some(file) if home != Some(loc.file) => format!("{}#{}", file.display, loc.pointer),
            _ => format!("#{}", loc.pointer),
        }
    }
}

/// What exists of a dangling pointer: the deepest prefix that resolves. The file is named
/// when it is not the one holding the `$ref`.
fn dangling_help(file: &SourceFile, segments: &[String], name_file: bool) -> String {
    let in_file = if name_file {
        format!(" in `{}`", file.display)
    } else {
        String::new()
    };
    let mut node = &file.value;
    let mut pointer = String::new();
    for segment in segments {
        let child = match node {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        let Some(child) = child else {
            let at = if pointer.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `#{pointer}`")
            };
            return format!("there is nothing named `{segment}` {at}{in_file}");
        };
        node = child;
        pointer.push('/');
        push_escaped(&mut pointer, segment);
    }
    format!("there is nothing at `#{pointer}`{in_file}")
}

/// Load a root spec file and every file its `$ref`s reach. Problems are reported into `diags`;
/// `None` means nothing usable was loaded.
pub fn load(path: &Path, diags: &mut Diagnostics) -> Option<Document> {
    load::load(path, diags)
}
