//! The emit phase: Rust source text for each API, rendered by askama templates from the IR.
//!
//! One file per API (`<module>.rs`), made of parts: `pub mod types` today, `server` and
//! `client` later, each with its own template in `templates/`. Templates only print values made
//! safe here first (in `tokens`); the rendered text goes through [`crate::format`], and the
//! `@generated` header is put in front after formatting (prettyplease drops comments).
//! [`crate_files`] wraps emitted files into a standalone crate (`wiregen generate --crate`).

mod cargo;
mod lints;
mod sse;
mod tokens;
mod types;
mod ws;

use std::path::PathBuf;

use askama::Template;

use crate::Settings;
use crate::diag::{Diagnostic, Kind};
use crate::ir::{Api, Scalar, SourceInfo, TypeRef};

pub use cargo::{RuntimeDep, crate_files, validate_crate_name};

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    /// Relative to the output directory (`petstore_openapi.rs`).
    pub path: PathBuf,
    /// The complete, formatted text, starting with the `@generated` header.
    pub contents: String,
    /// The crates the code in this file uses (empty for non-Rust files).
    pub uses: Uses,
}

/// Which crates generated code needs besides `serde`, as found while emitting it: what
/// [`crate_files`] lists as dependencies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Uses {
    /// `serde_json` (any-JSON values).
    pub serde_json: bool,
    /// `chrono` (dates and date-times).
    pub chrono: bool,
    /// `uuid`.
    pub uuid: bool,
    /// `wiregen-runtime` (optional nullable fields, servers, clients).
    pub runtime: bool,
    /// The runtime's SSE server (its `sse-server` feature).
    pub server: bool,
    /// The runtime's SSE client (its `sse-client` feature).
    pub client: bool,
    /// The runtime's WebSocket server (its `ws-server` feature).
    pub ws_server: bool,
    /// The runtime's WebSocket client (its `ws-client` feature).
    pub ws_client: bool,
}

impl Uses {
    /// Everything either uses.
    pub fn union(self, other: Uses) -> Uses {
        let Uses {
            serde_json,
            chrono,
            uuid,
            runtime,
            server,
            client,
            ws_server,
            ws_client,
        } = other;
        Uses {
            serde_json: self.serde_json || serde_json,
            chrono: self.chrono || chrono,
            uuid: self.uuid || uuid,
            runtime: self.runtime || runtime,
            server: self.server || server,
            client: self.client || client,
            ws_server: self.ws_server || ws_server,
            ws_client: self.ws_client || ws_client,
        }
    }

    /// Note the crates a type expression needs (named types are emitted, and noted, themselves).
    pub(crate) fn note_type(&mut self, ty: &TypeRef) {
        match ty {
            TypeRef::Named(_) => {}
            TypeRef::Scalar(Scalar::DateTime | Scalar::Date) => self.chrono = true,
            TypeRef::Scalar(Scalar::Uuid) => self.uuid = true,
            TypeRef::Scalar(_) => {}
            TypeRef::Json => self.serde_json = true,
            TypeRef::Vec(inner)
            | TypeRef::Map(inner)
            | TypeRef::Option(inner)
            | TypeRef::Box(inner) => self.note_type(inner),
        }
    }
}

/// `templates/api.rs.askama`: the parts of one file, in order.
#[derive(Template)]
#[template(path = "api.rs.askama", escape = "none")]
struct ApiFile {
    parts: Vec<String>,
}

/// Emit one API as one formatted file.
///
/// Errors are settings wiregen cannot use (an `extra_derives` entry or a `runtime_path` that is
/// not a Rust path: [`Kind::Invalid`]) or wiregen bugs ([`Kind::Internal`]).
pub fn emit(api: &Api, settings: &Settings) -> Result<OutputFile, Diagnostic> {
    let options = types_options(settings)?;
    let mut uses = Uses::default();
    // Types are always emitted: the server and client parts need them.
    let mut parts = vec![types::render(api, &options, &mut uses)?];
    parts.extend(sse::render(
        api,
        &options.runtime_path,
        sse::Parts {
            server: settings.parts.server,
            client: settings.parts.client,
        },
        &mut uses,
    )?);
    parts.extend(ws::render(
        api,
        &options.runtime_path,
        ws::Parts {
            server: settings.parts.server,
            client: settings.parts.client,
        },
        &mut uses,
    )?);
    let file_name = format!("{}.rs", api.module.rust.unraw());
    let rendered = render_template(&ApiFile { parts }, "api")?;
    let formatted = crate::format::format(&rendered, &format!("{file_name} (as rendered)"))?;
    let contents = format!("{}\n{}", header(&api.source), formatted);
    Ok(OutputFile {
        path: PathBuf::from(file_name),
        contents,
        uses,
    })
}

/// Check the settings [`emit`] uses, before any spec is read: front ends report a problem here
/// as a usage error. The same [`Kind::Invalid`] errors [`emit`] would return.
pub fn check_settings(settings: &Settings) -> Result<(), Diagnostic> {
    types_options(settings).map(|_| ())
}

fn types_options(settings: &Settings) -> Result<types::TypesOptions, Diagnostic> {
    let Settings {
        role: _,
        parts: _,
        runtime_path,
        extra_derives,
        unknown_messages: _,
    } = settings;
    Ok(types::TypesOptions {
        extra_derives: extra_derives
            .iter()
            .map(|d| {
                tokens::plain_path(d).ok_or_else(|| {
                    Diagnostic::error(Kind::Invalid, format!("extra derive `{d}` is not a Rust path"))
                        .help("give a path such as `Eq` or `schemars::JsonSchema`, without generic arguments")
                })
            })
            .collect::<Result<_, _>>()?,
        runtime_path: tokens::plain_path(runtime_path).ok_or_else(|| {
            Diagnostic::error(Kind::Invalid, format!("runtime path `{runtime_path}` is not a Rust path"))
                .help("give a path such as `::wiregen_runtime` or `crate::runtime`")
        })?,
    })
}

/// `// @generated by wiregen <version> from <file> (<spec>). Do not edit.`
fn header(source: &SourceInfo) -> String {
    let SourceInfo {
        file,
        spec,
        title: _,
        version: _,
    } = source;
    format!(
        "// @generated by wiregen {} from {} ({}). Do not edit.",
        env!("CARGO_PKG_VERSION"),
        tokens::comment_text(file),
        tokens::comment_text(spec)
    )
}

/// Render a template; askama only fails on a formatting error, which would be a wiregen bug.
pub(crate) fn render_template(template: &impl Template, what: &str) -> Result<String, Diagnostic> {
    template
        .render()
        .map_err(|e| internal(format!("the {what} template failed to render: {e}")))
}

/// A [`Kind::Internal`] error.
pub(crate) fn internal(message: String) -> Diagnostic {
    Diagnostic::error(Kind::Internal, format!("wiregen bug: {message}"))
        .help("please report this, with the spec that triggered it")
}

#[cfg(test)]
mod tests;
