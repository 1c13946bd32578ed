//! wiregen: typed Rust for real-time APIs, generated from OpenAPI (Server-Sent Events) and
//! AsyncAPI (WebSocket) documents.
//!
//! The pipeline has phase barriers, each reporting every problem it finds before the next starts:
//!
//! ```text
//! load   → spec::Document   text + parsed value + source map, every $ref'd file loaded
//! lower  → ir::Api          protocol-neutral operations, channels, messages and a type space,
//!                           every identifier claimed: the IR is final
//! check  → ir::Api          route conflicts, module names, the IR's invariants (check.rs)
//! emit   → token streams    `quote!` from the IR only: `<module>::{types, server, client}`
//! format → emit::OutputFile syn + prettyplease, with the `@generated` header
//! write  → disk             written only if changed, or `--check` drift
//! ```
//!
//! Every generated file has the same layout, whatever the protocol: `types` (every data type:
//! payloads, event and message enums, request structs, connection parameters), a private
//! `wire` module (how they travel: the runtime traits they implement), `server` (the traits to
//! implement and the axum routers) and `client` (the typed clients).
//!
//! [`lower_all`] runs load → check for a set of specs (what `wiregen check` does), [`generate`]
//! load → format; [`write`] does the last phase. [`Builder`] runs the whole pipeline from a
//! `build.rs`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
pub mod check;
pub mod diag;
pub mod emit;
pub mod format;
pub mod ir;
pub mod lower;
pub mod names;
pub mod output;
pub mod spec;
pub mod write;

use std::path::{Path, PathBuf};

pub use builder::{BuildError, BuildOutput, Builder};
use diag::{Diagnostic, Diagnostics};

/// Which parts of the code to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// Payload types (always needed by the other two).
    pub types: bool,
    /// Server handlers (axum).
    pub server: bool,
    /// Client stubs.
    pub client: bool,
}

impl Default for Parts {
    fn default() -> Self {
        Parts {
            types: true,
            server: true,
            client: true,
        }
    }
}

/// The language generated code is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Rust: types, axum servers and clients (`<module>.rs`).
    #[default]
    Rust,
    /// TypeScript: types and clients as ES modules (`<module>.ts`, plus `wiregen-runtime.ts`).
    TypeScript,
}

/// Settings shared by every front end (CLI, build.rs, tests).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Read AsyncAPI documents from this side, overriding the document's `x-wiregen-role`
    /// (default: the server's).
    pub role: Option<ir::Role>,
    /// Which parts to emit.
    pub parts: Parts,
    /// The path generated code uses to reach the runtime crate (default `::wiregen_runtime`).
    pub runtime_path: String,
    /// Extra derives added to every generated type (e.g. `Eq`, `Hash`, `schemars::JsonSchema`).
    pub extra_derives: Vec<String>,
    /// Give each WebSocket message enum a side receives (client → server with the server part,
    /// server → client with the client part) an `Unknown(serde_json::Value)` variant that a
    /// frame with an unknown tag decodes into, overriding the document's
    /// `x-wiregen-unknown-messages` (default: the document's, else off: unknown tags are errors).
    pub unknown_messages: Option<bool>,
    /// The language to generate (default Rust). TypeScript output is client code and types
    /// only: [`Parts::server`] does not apply to it.
    pub lang: Lang,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            role: None,
            parts: Parts::default(),
            runtime_path: "::wiregen_runtime".to_owned(),
            extra_derives: Vec::new(),
            unknown_messages: None,
            lang: Lang::Rust,
        }
    }
}

/// The result of a successful [`generate`].
#[derive(Debug)]
pub struct Generated {
    /// One file per spec, formatted, with its `@generated` header.
    pub files: Vec<emit::OutputFile>,
    /// The lowered APIs, in the order of the specs.
    pub apis: Vec<ir::Api>,
    /// Warnings and notes (no errors).
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read, including `$ref`'d ones (for `cargo:rerun-if-changed`).
    pub inputs: Vec<PathBuf>,
}

/// What [`lower_all`] produced.
#[derive(Debug)]
pub struct LoweredSpecs {
    /// The lowered APIs, in the order of the specs.
    pub apis: Vec<ir::Api>,
    /// Warnings and notes (no errors).
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read, including `$ref`'d ones.
    pub inputs: Vec<PathBuf>,
}

/// Why [`lower_all`] or [`generate`] stopped.
#[derive(Debug)]
pub struct Failure {
    /// Every diagnostic, at least one of them an error, sorted by place.
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read before stopping (a build script still wants to rerun when they change).
    pub inputs: Vec<PathBuf>,
}

/// Load, lower and check specs, reporting every problem: what `wiregen check` does.
pub fn lower_all(specs: &[PathBuf], settings: &Settings) -> Result<LoweredSpecs, Failure> {
    // load → lower, one spec at a time; errors of all specs are collected before stopping.
    let mut diags = Diagnostics::new();
    let mut apis = Vec::new();
    let mut inputs = Vec::new();
    for path in specs {
        let Some(document) = spec::load(path, &mut diags) else {
            inputs.push(path.clone());
            continue;
        };
        inputs.extend(document.sources.paths().map(Path::to_path_buf));
        if let Some(api) = lower::lower(&document, settings, &mut diags) {
            apis.push(api);
        }
    }
    let lowered = match diags.finish() {
        Ok(diagnostics) => diagnostics,
        Err(diagnostics) => {
            return Err(Failure {
                diagnostics,
                inputs,
            });
        }
    };
    // check, over every API.
    let mut diags = Diagnostics::new();
    check::check(&mut apis, &mut diags);
    diags.extend(lowered);
    match diags.finish() {
        Ok(diagnostics) => Ok(LoweredSpecs {
            apis,
            diagnostics,
            inputs,
        }),
        Err(diagnostics) => Err(Failure {
            diagnostics,
            inputs,
        }),
    }
}

/// Run load → lower → check → emit → format for a set of specs.
pub fn generate(specs: &[PathBuf], settings: &Settings) -> Result<Generated, Failure> {
    let LoweredSpecs {
        apis,
        diagnostics,
        inputs,
    } = lower_all(specs, settings)?;
    // emit → format, for every API before stopping.
    let mut diags = Diagnostics::new();
    let mut files = Vec::new();
    for api in &apis {
        let file = match settings.lang {
            Lang::Rust => emit::emit(api, settings),
            Lang::TypeScript => emit::typescript::emit(api),
        };
        match file {
            Ok(file) => files.push(file),
            Err(d) => diags.push(d),
        }
    }
    if settings.lang == Lang::TypeScript {
        files.push(emit::typescript::runtime_file());
    }
    diags.extend(diagnostics);
    match diags.finish() {
        Ok(diagnostics) => Ok(Generated {
            files,
            apis,
            diagnostics,
            inputs,
        }),
        Err(diagnostics) => Err(Failure {
            diagnostics,
            inputs,
        }),
    }
}

/// The write phase: see [`mod@write`].
pub use write::{WriteMode, WriteReport, write_files};
