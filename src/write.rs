//! The write phase: write generated files only if their bytes changed, or report drift.
//!
//! Writing an unchanged file would bump its mtime and make cargo rebuild everything that
//! includes it, so files are compared first. [`WriteMode::Check`] writes nothing and returns a
//! unified diff for every file a fresh generation would change (`wiregen generate --check`).
//!
//! A generated file whose last line is [`KEEP_BELOW_MARKER`] (the `Cargo.toml` of `--crate`
//! output) keeps whatever follows that line in the file on disk: the place for a crate's own
//! binaries, dependencies and settings. What is kept is never drift.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::diag::{Diagnostic, Kind};
use crate::output::OutputFile;

/// The last line of a generated file whose hand-written continuation is kept (see the module
/// docs). A comment in TOML, so it ends a `Cargo.toml`; what follows it can add tables with
/// headers such as `[[bin]]` or `[dependencies.tokio]`.
pub const KEEP_BELOW_MARKER: &str =
    "# ---- wiregen keeps everything below this line when it regenerates this file ----";

/// `fresh` followed by what follows the marker line in `existing`, when `fresh` ends with the
/// marker line and `existing` has one; otherwise `fresh` as it is.
fn with_kept_tail<'a>(fresh: &'a str, existing: Option<&[u8]>) -> Cow<'a, str> {
    let marker_line = format!("{KEEP_BELOW_MARKER}\n");
    let Some(head) = fresh.strip_suffix(&marker_line) else {
        return Cow::Borrowed(fresh);
    };
    if !(head.is_empty() || head.ends_with('\n')) {
        return Cow::Borrowed(fresh);
    }
    let Some(existing) = existing.and_then(|bytes| std::str::from_utf8(bytes).ok()) else {
        return Cow::Borrowed(fresh);
    };
    // The first line that is exactly the marker (with LF or CRLF, or at the very end).
    let mut start = 0;
    let tail = loop {
        let end = existing[start..].find('\n').map(|i| start + i + 1);
        let line = &existing[start..end.unwrap_or(existing.len())];
        if line.trim_end_matches(['\n', '\r']) == KEEP_BELOW_MARKER {
            break end.map_or("", |end| &existing[end..]);
        }
        match end {
            Some(end) if end < existing.len() => start = end,
            _ => break "",
        }
    };
    if tail.is_empty() {
        Cow::Borrowed(fresh)
    } else {
        Cow::Owned(format!("{fresh}{tail}"))
    }
}

/// Write or check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Write changed files.
    Write,
    /// Write nothing; report differences.
    Check,
}

/// What the write phase did (or, in [`WriteMode::Check`], would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files written because they were missing or different (always empty in check mode).
    pub written: Vec<PathBuf>,
    /// Files already up to date.
    pub unchanged: Vec<PathBuf>,
    /// Files missing or different in check mode, with their diffs (always empty in write mode).
    pub drifted: Vec<Drift>,
}

/// A file that differs from a fresh generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// The file, as `out_dir` joined with its relative path.
    pub path: PathBuf,
    /// Whether it does not exist at all.
    pub missing: bool,
    /// Unified diff from the file on disk to the fresh contents (`a/<path>`, `b/<path>`, three
    /// lines of context).
    pub diff: String,
}

impl WriteReport {
    /// Did check mode find any difference?
    pub fn has_drift(&self) -> bool {
        !self.drifted.is_empty()
    }

    /// The drift as one [`Kind::Drift`] error per file, for tools that collect diagnostics.
    pub fn drift_diagnostics(&self) -> Vec<Diagnostic> {
        self.drifted
            .iter()
            .map(|drift| {
                let what = if drift.missing {
                    "is missing"
                } else {
                    "differs from a fresh generation"
                };
                Diagnostic::error(Kind::Drift, format!("`{}` {what}", drift.path.display()))
                    .help("run wiregen without --check to update it")
            })
            .collect()
    }
}

/// Write `files` under `out_dir` (creating directories), each only if its bytes differ from
/// what is on disk; or, in [`WriteMode::Check`], write nothing and report every file that is
/// missing or different.
///
/// Errors: a path that is not relative or leaves `out_dir`, or two files with the same path
/// ([`Kind::Invalid`]); any I/O failure ([`Kind::Io`], naming the path). In write mode the files
/// before the failing one have been written.
pub fn write_files(
    out_dir: &Path,
    files: &[OutputFile],
    mode: WriteMode,
) -> Result<WriteReport, Diagnostic> {
    let mut seen = BTreeSet::new();
    for file in files {
        let stays_inside = file
            .path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if file.path.as_os_str().is_empty() || !stays_inside {
            return Err(Diagnostic::error(
                Kind::Invalid,
                format!(
                    "refusing to write `{}`: not a relative path inside the output directory",
                    file.path.display()
                ),
            ));
        }
        if !seen.insert(file.path.as_path()) {
            return Err(Diagnostic::error(
                Kind::Invalid,
                format!(
                    "two generated files would both be `{}`",
                    out_dir.join(&file.path).display()
                ),
            )
            .help("two specs produce the same module name; rename one of the spec files"));
        }
    }

    let mut report = WriteReport::default();
    for file in files {
        let path = out_dir.join(&file.path);
        let existing = match fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("read", &path, &e)),
        };
        let contents = with_kept_tail(&file.contents, existing.as_deref());
        if existing.as_deref() == Some(contents.as_bytes()) {
            report.unchanged.push(path);
            continue;
        }
        match mode {
            WriteMode::Check => {
                let old = existing
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                let diff = unified_diff(&old, &contents, &path);
                report.drifted.push(Drift {
                    path,
                    missing: existing.is_none(),
                    diff,
                });
            }
            WriteMode::Write => {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)
                        .map_err(|e| io_error("create directory", parent, &e))?;
                }
                fs::write(&path, contents.as_bytes()).map_err(|e| io_error("write", &path, &e))?;
                report.written.push(path);
            }
        }
    }
    Ok(report)
}

fn io_error(action: &str, path: &Path, error: &io::Error) -> Diagnostic {
    Diagnostic::error(
        Kind::Io,
        format!("cannot {action} `{}`: {error}", path.display()),
    )
}

/// `a/<path>` → `b/<path>`, three lines of context.
fn unified_diff(old: &str, new: &str, path: &Path) -> String {
    let shown = path.to_string_lossy().replace('\\', "/");
    let shown = shown.trim_start_matches('/');
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::Uses;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wiregen-write-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn file(path: &str, contents: &str) -> OutputFile {
        OutputFile {
            path: PathBuf::from(path),
            contents: contents.to_owned(),
            uses: Uses::default(),
        }
    }

    #[test]
    fn writes_once_then_unchanged_then_reports_drift() {
        let dir = temp_dir("cycle");
        let files = [
            file("src/a.rs", "line 1\nline 2\nline 3\n"),
            file("Cargo.toml", "[package]\n"),
        ];

        let first = write_files(&dir, &files, WriteMode::Write).expect("first write");
        assert_eq!(
            first.written,
            [dir.join("src/a.rs"), dir.join("Cargo.toml")]
        );
        assert!(first.unchanged.is_empty() && first.drifted.is_empty());
        let modified = fs::metadata(dir.join("src/a.rs"))
            .and_then(|m| m.modified())
            .expect("mtime");

        let second = write_files(&dir, &files, WriteMode::Write).expect("second write");
        assert!(second.written.is_empty());
        assert_eq!(second.unchanged.len(), 2);
        let again = fs::metadata(dir.join("src/a.rs"))
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(modified, again, "an unchanged file is not rewritten");

        let clean = write_files(&dir, &files, WriteMode::Check).expect("check");
        assert!(!clean.has_drift());

        fs::write(dir.join("src/a.rs"), "line 1\nhand edit\nline 3\n").expect("hand edit");
        fs::remove_file(dir.join("Cargo.toml")).expect("remove");
        let check = write_files(&dir, &files, WriteMode::Check).expect("check");
        assert!(check.written.is_empty());
        assert_eq!(check.drifted.len(), 2);
        let shown = dir.join("src/a.rs").to_string_lossy().replace('\\', "/");
        let shown = shown.trim_start_matches('/');
        let diff = &check.drifted[0].diff;
        assert!(
            diff.starts_with(&format!("--- a/{shown}\n+++ b/{shown}\n@@ -1,3 +1,3 @@\n")),
            "{diff}"
        );
        assert!(diff.contains("-hand edit\n+line 2\n"), "{diff}");
        assert!(check.drifted[1].missing);
        assert_eq!(check.drift_diagnostics().len(), 2);
        // Check mode wrote nothing.
        assert!(!dir.join("Cargo.toml").exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_follows_the_marker_is_kept() {
        let dir = temp_dir("keep");
        let fresh = |deps: &str| {
            file(
                "Cargo.toml",
                &format!("[package]\n\n[dependencies]\n{deps}\n\n{KEEP_BELOW_MARKER}\n"),
            )
        };
        let tail = "\n[[bin]]\nname = \"demo\"\npath = \"demo/main.rs\"\n\n[dependencies.tokio]\nversion = \"1\"\n";
        write_files(&dir, &[fresh("serde = \"1\"")], WriteMode::Write).expect("first");
        let path = dir.join("Cargo.toml");
        let generated = fs::read_to_string(&path).expect("read");
        fs::write(&path, format!("{generated}{tail}")).expect("hand addition");

        // The hand-written tail is not drift, and an unchanged head is not rewritten.
        let check = write_files(&dir, &[fresh("serde = \"1\"")], WriteMode::Check).expect("check");
        assert!(!check.has_drift(), "{:?}", check.drifted);
        let again = write_files(&dir, &[fresh("serde = \"1\"")], WriteMode::Write).expect("write");
        assert_eq!(again.unchanged, std::slice::from_ref(&path));

        // A new head keeps the tail.
        let report = write_files(
            &dir,
            &[fresh("serde = \"1\"\nuuid = \"1\"")],
            WriteMode::Write,
        )
        .expect("write");
        assert_eq!(report.written, std::slice::from_ref(&path));
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            format!(
                "[package]\n\n[dependencies]\nserde = \"1\"\nuuid = \"1\"\n\n{KEEP_BELOW_MARKER}\n{tail}"
            )
        );

        // A hand edit above the marker is drift, and the diff leaves the tail alone.
        fs::write(&path, text.replace("uuid", "chrono")).expect("hand edit");
        let check = write_files(
            &dir,
            &[fresh("serde = \"1\"\nuuid = \"1\"")],
            WriteMode::Check,
        )
        .expect("check");
        assert_eq!(check.drifted.len(), 1);
        let diff = &check.drifted[0].diff;
        assert!(diff.contains("-chrono = \"1\"\n+uuid = \"1\"\n"), "{diff}");
        assert!(!diff.contains("[[bin]]"), "{diff}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn kept_tails_need_the_marker_on_a_line_of_its_own() {
        let marker_line = format!("{KEEP_BELOW_MARKER}\n");
        let fresh = format!("a\n{marker_line}");
        let keep = |existing: &str| with_kept_tail(&fresh, Some(existing.as_bytes())).into_owned();
        // CRLF and a marker that ends the file without a newline.
        assert_eq!(
            keep(&format!("old\r\n{KEEP_BELOW_MARKER}\r\nx = 1\r\n")),
            format!("{fresh}x = 1\r\n")
        );
        assert_eq!(keep(&format!("old\n{KEEP_BELOW_MARKER}")), fresh);
        // No marker line: nothing to keep.
        assert_eq!(keep(&format!("old # {KEEP_BELOW_MARKER}\nx = 1\n")), fresh);
        assert_eq!(keep("old\n"), fresh);
        // The first marker line counts; later ones are part of the tail.
        assert_eq!(
            keep(&format!("{marker_line}x\n{marker_line}y\n")),
            format!("{fresh}x\n{marker_line}y\n")
        );
        // Files that do not end with the marker are never merged.
        assert_eq!(
            with_kept_tail("a\n", Some(format!("{marker_line}x\n").as_bytes())),
            "a\n"
        );
        assert_eq!(
            with_kept_tail(
                &format!("a{marker_line}"),
                Some(format!("{marker_line}x\n").as_bytes())
            ),
            format!("a{marker_line}")
        );
    }

    #[test]
    fn refuses_paths_outside_and_duplicates() {
        let dir = temp_dir("refuse");
        for bad in ["../x.rs", "/abs.rs", ""] {
            let d = write_files(&dir, &[file(bad, "")], WriteMode::Write).expect_err(bad);
            assert_eq!(d.kind, Kind::Invalid);
        }
        let d = write_files(
            &dir,
            &[file("a.rs", "1"), file("a.rs", "2")],
            WriteMode::Write,
        )
        .expect_err("dup");
        assert_eq!(d.kind, Kind::Invalid);
        assert!(!dir.exists());
    }

    #[test]
    fn io_errors_name_the_path() {
        let dir = temp_dir("io");
        fs::create_dir_all(&dir).expect("dir");
        // A directory where a file should be.
        fs::create_dir_all(dir.join("a.rs")).expect("dir");
        let d = write_files(&dir, &[file("a.rs", "x")], WriteMode::Write).expect_err("io");
        assert_eq!(d.kind, Kind::Io);
        assert!(d.message.contains("a.rs"), "{}", d.message);
        let _ = fs::remove_dir_all(&dir);
    }
}
