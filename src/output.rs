//! What the emit phase hands to the write phase: generated files, with the crates their code
//! uses. Its own module so that neither phase depends on the other's internals.

use std::path::PathBuf;

use crate::ir::{Scalar, TypeRef};

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
/// [`crate::emit::crate_files`] lists as dependencies.
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
    /// The runtime's form bodies and files (its `forms` feature, part of both HTTP halves).
    pub forms: bool,
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
            forms,
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
            forms: self.forms || forms,
        }
    }

    /// Note the crates a type expression needs (named types are emitted, and noted, themselves).
    pub fn note_type(&mut self, ty: &TypeRef) {
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
