//! The build-script front end: [`Builder`] runs the library pipeline from a `build.rs`, writes
//! one file per spec into `OUT_DIR`, and speaks cargo's build-script protocol (rerun triggers,
//! warnings, rendered diagnostics on failure).
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     wiregen::Builder::new().spec("api/petstore.openapi.yaml").generate()?;
//!     Ok(())
//! }
//! ```
//!
//! and in the crate, one `include!` per spec (the file is named after the spec's module,
//! `petstore.openapi.yaml` → `petstore_openapi.rs`):
//!
//! ```ignore
//! pub mod petstore {
//!     include!(concat!(env!("OUT_DIR"), "/petstore_openapi.rs"));
//! }
//! ```
//!
//! Generated files have no crate-level inner attributes or `//!` docs, so they work through
//! `include!` (anywhere an item can go) as well as as module files.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::diag::{self, Diagnostic, Kind, Severity};
use crate::emit::{self, Uses};
use crate::ir::Role;
use crate::{Failure, Generated, Lang, Settings, WriteMode, write_files};

/// Generates Rust from OpenAPI and AsyncAPI documents in a build script.
///
/// Every setter takes and returns the builder by value. [`Builder::generate`] does the work:
///
/// - it prints `cargo:rerun-if-changed=<file>` for every file it read, `$ref`'d files included
///   (also when the specs have errors, so fixing any of them reruns the build script);
/// - on success it writes `<out_dir>/<module>.rs` per spec (only files whose bytes changed) and
///   prints each warning as a `cargo:warning=` line;
/// - on failure it prints the rendered, rustc-style diagnostics to stderr (cargo shows them
///   under `--- stderr`) and returns a [`BuildError`], which a build script returns from
///   `main() -> Result<(), Box<dyn Error>>` with `?`: the build fails with a one-line message
///   and no panic or backtrace.
#[derive(Clone, Debug)]
pub struct Builder {
    specs: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
    settings: Settings,
    cargo_output: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// No specs yet; every part emitted; output into `OUT_DIR`; cargo directives printed.
    pub fn new() -> Self {
        Builder {
            specs: Vec::new(),
            out_dir: None,
            settings: Settings::default(),
            cargo_output: true,
        }
    }

    /// Add a spec (OpenAPI or AsyncAPI, YAML or JSON). A relative path is relative to the
    /// directory cargo runs the build script in: the package's root (where `Cargo.toml` is).
    pub fn spec(mut self, path: impl Into<PathBuf>) -> Self {
        self.specs.push(path.into());
        self
    }

    /// Add several specs.
    pub fn specs<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.specs.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Write into this directory instead of the `OUT_DIR` cargo gives build scripts.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Emit the server part (axum trait and router); default `true`. The payload types are
    /// always emitted: both other parts use them.
    pub fn server(mut self, yes: bool) -> Self {
        self.settings.parts.server = yes;
        self
    }

    /// Emit the client part (typed, reconnecting client); default `true`.
    pub fn client(mut self, yes: bool) -> Self {
        self.settings.parts.client = yes;
        self
    }

    /// Read AsyncAPI documents from this side, overriding their root `x-wiregen-role` (default:
    /// the document's own role, else the server's).
    pub fn role(mut self, role: Role) -> Self {
        self.settings.role = Some(role);
        self
    }

    /// Give each WebSocket message enum a side receives an `Unknown(serde_json::Value)` variant
    /// that frames with an unknown tag decode into, overriding the document's root
    /// `x-wiregen-unknown-messages` (default: the document's, else off).
    pub fn unknown_messages(mut self, yes: bool) -> Self {
        self.settings.unknown_messages = Some(yes);
        self
    }

    /// How generated code names the runtime crate (default `::wiregen_runtime`), for a crate
    /// that renames the dependency or re-exports it (`crate::rt`).
    pub fn runtime_path(mut self, path: impl Into<String>) -> Self {
        self.settings.runtime_path = path.into();
        self
    }

    /// Also derive this trait on every generated type (a path such as `Eq` or
    /// `schemars::JsonSchema`); call once per derive.
    pub fn derive(mut self, path: impl Into<String>) -> Self {
        self.settings.extra_derives.push(path.into());
        self
    }

    /// Print cargo's build-script directives and diagnostics (default `true`). Turn it off to
    /// run the builder outside a build script, for example in a test; [`BuildOutput::directives`]
    /// and [`BuildError::directives`] still say what would have been printed.
    pub fn cargo_output(mut self, yes: bool) -> Self {
        self.cargo_output = yes;
        self
    }

    /// Generate this language (default [`Lang::Rust`]); [`Lang::TypeScript`] writes
    /// `<module>.ts` per spec and `wiregen-runtime.ts`.
    pub fn lang(mut self, lang: Lang) -> Self {
        self.settings.lang = lang;
        self
    }

    /// Load, check and generate every spec, then write the files (see [`Builder`]).
    pub fn generate(&self) -> Result<BuildOutput, BuildError> {
        let result = self.run();
        if self.cargo_output {
            match &result {
                Ok(output) => {
                    print_stdout(&output.directives());
                }
                Err(error) => {
                    print_stdout(&error.directives());
                    if !error.diagnostics.is_empty() {
                        let _ = std::io::stderr()
                            .lock()
                            .write_all(diag::render(&error.diagnostics).as_bytes());
                    }
                }
            }
        }
        result
    }

    /// The pipeline, without printing anything.
    fn run(&self) -> Result<BuildOutput, BuildError> {
        let Builder {
            specs,
            out_dir,
            settings,
            cargo_output: _,
        } = self;
        let fail = |diagnostics: Vec<Diagnostic>, inputs: Vec<PathBuf>| BuildError {
            diagnostics,
            inputs,
        };
        if specs.is_empty() {
            return Err(fail(
                vec![
                    Diagnostic::error(Kind::Invalid, "wiregen::Builder was given no spec")
                        .help("add one with `.spec(\"path/to/api.yaml\")`"),
                ],
                Vec::new(),
            ));
        }
        if let Err(diagnostic) = emit::check_settings(settings) {
            return Err(fail(vec![diagnostic], Vec::new()));
        }
        let out_dir = match out_dir {
            Some(dir) => dir.clone(),
            None => match std::env::var_os("OUT_DIR") {
                Some(dir) => PathBuf::from(dir),
                None => {
                    return Err(fail(
                        vec![
                            Diagnostic::error(
                                Kind::Invalid,
                                "OUT_DIR is not set: wiregen::Builder is not running in a build script",
                            )
                            .help("call `.out_dir(...)` to say where the files go"),
                        ],
                        Vec::new(),
                    ));
                }
            },
        };
        let Generated {
            files,
            apis: _,
            diagnostics,
            inputs,
        } = crate::generate(specs, settings).map_err(
            |Failure {
                 diagnostics,
                 inputs,
             }| fail(diagnostics, inputs),
        )?;
        let report = match write_files(&out_dir, &files, WriteMode::Write) {
            Ok(report) => report,
            Err(diagnostic) => return Err(fail(vec![diagnostic], inputs)),
        };
        let uses = files
            .iter()
            .fold(Uses::default(), |all, file| all.union(file.uses));
        let files = files.iter().map(|file| out_dir.join(&file.path)).collect();
        Ok(BuildOutput {
            files,
            written: report.written,
            inputs,
            warnings: diagnostics,
            uses,
        })
    }
}

fn print_stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `cargo:rerun-if-changed=` lines for `inputs`, without duplicates, in order.
fn rerun_lines(inputs: &[PathBuf]) -> String {
    let mut seen: Vec<&Path> = Vec::new();
    let mut out = String::new();
    for input in inputs {
        if seen.contains(&input.as_path()) {
            continue;
        }
        seen.push(input);
        // A path with a line break cannot be said in the protocol; cargo would misread it.
        let shown = input.display().to_string();
        if !shown.contains(['\n', '\r']) {
            out.push_str(&format!("cargo:rerun-if-changed={shown}\n"));
        }
    }
    out
}

/// One `cargo:warning=` line (cargo shows only one line per directive).
fn warning_line(diagnostic: &Diagnostic) -> String {
    let place = diagnostic
        .location
        .as_ref()
        .map(|l| format!("{}:{}:{}: ", l.file, l.line, l.column))
        .unwrap_or_default();
    let label = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    };
    let text = format!("wiregen {label}: {place}{}", diagnostic.message);
    format!("cargo:warning={}\n", text.replace(['\n', '\r'], " "))
}

/// What a successful [`Builder::generate`] did.
#[derive(Clone, Debug)]
pub struct BuildOutput {
    /// Every generated file (`<out_dir>/<module>.rs`), in the order of the specs.
    pub files: Vec<PathBuf>,
    /// The files among them that were written because their bytes changed.
    pub written: Vec<PathBuf>,
    /// Every file read, `$ref`'d files included.
    pub inputs: Vec<PathBuf>,
    /// Warnings and notes about the specs (code was generated anyway).
    pub warnings: Vec<Diagnostic>,
    /// What the generated code needs besides `serde`: the crate's `[dependencies]` must have
    /// `wiregen-runtime` (with its `sse-server`/`sse-client`/`chrono`/`uuid` features as
    /// these say), `serde_json`, `chrono` and `uuid` where set.
    pub uses: Uses,
}

impl BuildOutput {
    /// What [`Builder::generate`] prints on stdout: a `cargo:rerun-if-changed` line per input,
    /// then a `cargo:warning` line per warning (notes are left out).
    pub fn directives(&self) -> String {
        let mut out = rerun_lines(&self.inputs);
        for warning in &self.warnings {
            if warning.severity == Severity::Warning {
                out.push_str(&warning_line(warning));
            }
        }
        out
    }
}

/// Why [`Builder::generate`] failed: the specs have errors, a setting is invalid, or a file
/// could not be written. The diagnostics were printed to stderr already (unless
/// [`Builder::cargo_output`] is off); `Display` and `Debug` both give one line, which is what
/// cargo shows after `Error:` when a build script's `main` returns this error.
pub struct BuildError {
    diagnostics: Vec<Diagnostic>,
    inputs: Vec<PathBuf>,
}

impl BuildError {
    /// Every diagnostic, errors first by place, as rendered to stderr.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Every file read before stopping.
    pub fn inputs(&self) -> &[PathBuf] {
        &self.inputs
    }

    /// The diagnostics, rendered rustc-style with source lines, as printed to stderr.
    pub fn rendered(&self) -> String {
        diag::render(&self.diagnostics)
    }

    /// What [`Builder::generate`] prints on stdout for a failure: the rerun lines, so that
    /// fixing any file read reruns the build script.
    pub fn directives(&self) -> String {
        rerun_lines(&self.inputs)
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<&Diagnostic> = self.diagnostics.iter().filter(|d| d.is_error()).collect();
        match errors.as_slice() {
            [] => write!(f, "wiregen failed"),
            [only] => {
                write!(f, "wiregen: {}", only.message)?;
                if let Some(l) = &only.location {
                    write!(f, " ({}:{}:{})", l.file, l.line, l.column)?;
                }
                Ok(())
            }
            [first, ..] => {
                write!(
                    f,
                    "wiregen: {} errors in the specs, the first: {}",
                    errors.len(),
                    first.message
                )?;
                if let Some(l) = &first.location {
                    write!(f, " ({}:{}:{})", l.file, l.line, l.column)?;
                }
                Ok(())
            }
        }
    }
}

/// The same one line as `Display`: `main` prints a returned error with `Debug`.
impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}; see the diagnostics above")
    }
}

impl std::error::Error for BuildError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rerun_lines_are_deduplicated_and_ordered() {
        let lines = rerun_lines(&[
            PathBuf::from("api.yaml"),
            PathBuf::from("common/schemas.yaml"),
            PathBuf::from("api.yaml"),
            PathBuf::from("bad\nname.yaml"),
        ]);
        assert_eq!(
            lines,
            "cargo:rerun-if-changed=api.yaml\ncargo:rerun-if-changed=common/schemas.yaml\n"
        );
    }

    #[test]
    fn warnings_are_one_line_each() {
        let w = Diagnostic::warning(Kind::UnknownKeyword, "unknown keyword\n`x`").at(Some(
            diag::Location {
                file: "a.yaml".into(),
                line: 3,
                column: 5,
                source_line: "  x: 1".into(),
                source_offset: 0,
            },
        ));
        assert_eq!(
            warning_line(&w),
            "cargo:warning=wiregen warning: a.yaml:3:5: unknown keyword `x`\n"
        );
    }

    #[test]
    fn no_spec_and_bad_settings_are_errors() {
        let error = Builder::new()
            .cargo_output(false)
            .out_dir("unused")
            .generate()
            .expect_err("no spec");
        assert!(error.to_string().contains("no spec"), "{error}");
        let error = Builder::new()
            .cargo_output(false)
            .spec("unused.yaml")
            .derive("not a path")
            .out_dir("unused")
            .generate()
            .expect_err("bad derive");
        assert_eq!(error.diagnostics()[0].kind, Kind::Invalid);
        assert!(
            format!("{error:?}").contains("not a Rust path"),
            "{error:?}"
        );
    }
}
