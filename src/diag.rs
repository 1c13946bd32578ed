//! Located diagnostics: what every phase reports instead of panicking, and how they are rendered.
//!
//! A [`Diagnostic`] carries a severity, a kind, a message and (almost always) a [`Location`] that
//! names the file, line and column and keeps the offending source line, so it can be rendered
//! rustc-style without going back to the sources. Phases collect diagnostics in a [`Diagnostics`]
//! accumulator and the pipeline stops at a phase barrier if any of them is an error.

use std::fmt::{self, Write as _};

/// How bad a diagnostic is. Errors stop the pipeline at the next phase barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The spec cannot be turned into code as written.
    Error,
    /// Code is generated, but something in the spec was ignored or approximated.
    Warning,
    /// Information about what wiregen did (for example an AsyncAPI 2.x conversion).
    Note,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// What kind of problem a diagnostic reports; stable enough to match on in tests and tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A file could not be read or written.
    Io,
    /// The file is not valid YAML or JSON.
    Syntax,
    /// The document is not an OpenAPI 3.0–3.2 or AsyncAPI 2.x–3.1 document.
    UnknownFormat,
    /// A `$ref` that does not resolve, or that loops back to itself.
    Reference,
    /// A value has the wrong shape for the specification (for example a string where an object is required).
    Invalid,
    /// A construct wiregen understands but does not support yet.
    Unsupported,
    /// A keyword wiregen does not know; it is ignored.
    UnknownKeyword,
    /// A union that could only be generated as an untagged enum.
    Untagged,
    /// Something was converted or assumed (AsyncAPI 2.x conversion, defaults).
    Conversion,
    /// Two names collided after sanitising and one was renamed.
    Renamed,
    /// Generated output differs from the files on disk (`--check`).
    Drift,
    /// A bug in wiregen itself (for example a template that rendered invalid Rust).
    Internal,
}

/// A place in a source file: 1-based line and column, plus the text of that line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file as it was named to wiregen (relative paths stay relative).
    pub file: String,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// The source line, without its line ending: the whole line, or for a very long line
    /// (a minified document) an excerpt around the column with `…` where it was cut.
    pub source_line: String,
    /// How many characters of the line come before `source_line` (0 for a whole line): the
    /// caret is at `column - 1 - source_offset` in `source_line`.
    pub source_offset: u32,
}

/// One problem (or note) found in a spec, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// What kind of problem it is.
    pub kind: Kind,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where it is; `None` only for problems that have no place (an unreadable file has its path in the message).
    pub location: Option<Location>,
    /// Extra lines: why, and what to do about it.
    pub help: Vec<String>,
}

impl Diagnostic {
    /// An error of the given kind.
    pub fn error(kind: Kind, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, kind, message)
    }

    /// A warning of the given kind.
    pub fn warning(kind: Kind, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, kind, message)
    }

    /// A note of the given kind.
    pub fn note(kind: Kind, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, kind, message)
    }

    fn new(severity: Severity, kind: Kind, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            kind,
            message: message.into(),
            location: None,
            help: Vec::new(),
        }
    }

    /// Attach a location.
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Add a help line.
    pub fn help(mut self, line: impl Into<String>) -> Self {
        self.help.push(line.into());
        self
    }

    /// Is this an error?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// Renders rustc-style:
    ///
    /// ```text
    /// error: `$ref` does not resolve: `#/components/schemas/Nope`
    ///   --> specs/bad.yaml:12:9
    ///    |
    /// 12 |         $ref: '#/components/schemas/Nope'
    ///    |         ^
    ///    = help: ...
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.severity.label(), self.message)?;
        let gutter = match &self.location {
            Some(loc) => loc.line.to_string().len(),
            None => 1,
        };
        let pad = " ".repeat(gutter);
        if let Some(loc) = &self.location {
            writeln!(f, "{pad}--> {}:{}:{}", loc.file, loc.line, loc.column)?;
            writeln!(f, "{pad} |")?;
            let shown = printable_line(&loc.source_line);
            writeln!(f, "{} | {}", loc.line, shown)?;
            let caret_pad: String = shown
                .chars()
                .take(loc.column.saturating_sub(1 + loc.source_offset) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{pad} | {caret_pad}^")?;
        }
        for line in &self.help {
            writeln!(f, "{pad} = help: {line}")?;
        }
        Ok(())
    }
}

/// Control characters other than tab would garble a terminal; show them escaped.
fn printable_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c.is_control() && c != '\t' {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// The accumulator every phase reports into.
///
/// It cannot be forgotten: dropping it while it still holds errors that nobody took out with
/// [`Diagnostics::finish`] or [`Diagnostics::into_vec`] is a bug in wiregen, caught in debug builds.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Record several.
    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(diagnostics);
    }

    /// Has any error been recorded?
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// The phase barrier: `Err` with every diagnostic if any is an error, else `Ok` with the
    /// warnings and notes, sorted by file, line and column.
    pub fn finish(mut self) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
        let failed = self.has_errors();
        let items = sorted(std::mem::take(&mut self.items));
        if failed { Err(items) } else { Ok(items) }
    }

    /// Take everything out, sorted, whatever the severities.
    pub fn into_vec(mut self) -> Vec<Diagnostic> {
        sorted(std::mem::take(&mut self.items))
    }
}

impl Drop for Diagnostics {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.has_errors() {
            debug_assert!(
                false,
                "wiregen bug: errors were collected and then dropped unreported"
            );
        }
    }
}

/// Sort by place (diagnostics without a place first), then severity, then message; the order is
/// stable and independent of the order phases found them in. Exact duplicates are removed.
fn sorted(mut items: Vec<Diagnostic>) -> Vec<Diagnostic> {
    items.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column))
                .unwrap_or_default()
        };
        key(a)
            .cmp(&key(b))
            .then(a.severity.cmp(&b.severity))
            .then_with(|| a.message.cmp(&b.message))
    });
    items.dedup();
    items
}

/// Render a list of diagnostics followed by a one-line summary, as the CLI and build scripts print them.
pub fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let _ = writeln!(out, "{d}");
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    if errors + warnings > 0 {
        let _ = writeln!(
            out,
            "{} error{}, {} warning{}",
            errors,
            if errors == 1 { "" } else { "s" },
            warnings,
            if warnings == 1 { "" } else { "s" }
        );
    }
    out
}
