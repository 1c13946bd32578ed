//! The lower phase: from a loaded spec to the protocol-neutral [`crate::ir::Api`].
//!
//! OpenAPI documents contribute Server-Sent Events endpoints (and plain operations, recorded);
//! AsyncAPI documents contribute channels with messages by direction. Both share one
//! [`schema::SchemaLowerer`], which builds the type space.

mod asyncapi;
mod openapi;
pub mod schema;

use serde_json::Value;

use crate::Settings;
use crate::diag::{Diagnostic, Diagnostics, Kind};
use crate::ir::{Api, Docs, Role, SourceInfo};
use crate::names::{Case, Namespace, name};
use crate::spec::{Document, Loc, SpecKind};

/// Lower one loaded document. Problems go to `diags`; `None` if nothing could be lowered.
pub fn lower(document: &Document, settings: &Settings, diags: &mut Diagnostics) -> Option<Api> {
    let sources = &document.sources;
    let root = Loc {
        file: document.root,
        pointer: String::new(),
    };
    let file = sources.file(document.root);
    let info = sources.get(&root.child("info")).and_then(Value::as_object);
    let text = |key: &str| {
        info.and_then(|i| i.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (title, version) = (text("title"), text("version"));
    let docs = Docs::from_text(&text("description"));
    let spec = match &document.kind {
        SpecKind::OpenApi { version, .. } => format!("OpenAPI {version}"),
        SpecKind::AsyncApi {
            version,
            converted_from_2: false,
        } => format!("AsyncAPI {version}"),
        SpecKind::AsyncApi {
            version,
            converted_from_2: true,
        } => {
            format!("AsyncAPI {version}, converted to 3.0")
        }
    };
    let module = name(&module_wire_name(&file.display), Case::Snake);
    // The server trait is named after the title; the generated modules also hold `Client`,
    // `ServerConfig` and `ServiceState`, which it must not collide with.
    let mut module_names = Namespace::with_reserved(["Client", "ServiceState", "ServerConfig"]);
    let service_wire = if title.trim().is_empty() {
        module.wire.clone()
    } else {
        title.clone()
    };
    let service = module_names.claim_name(&service_wire, Case::Camel).0;
    let role = settings
        .role
        .unwrap_or_else(|| document_role(document, &root, diags));
    let unknown = match &document.kind {
        SpecKind::AsyncApi { .. } => settings
            .unknown_messages
            .unwrap_or_else(|| document_unknown_messages(document, &root, diags)),
        SpecKind::OpenApi { .. } => false,
    };
    let fallback = asyncapi::Fallback {
        to_server: unknown && settings.parts.server,
        to_client: unknown && settings.parts.client,
    };
    let mut types = schema::SchemaLowerer::new(sources);
    let (sse_endpoints, operations, channels) = match &document.kind {
        SpecKind::OpenApi { .. } => {
            let lowered = openapi::lower(&root, &mut types, diags);
            (lowered.sse, lowered.operations, Vec::new())
        }
        SpecKind::AsyncApi { .. } => (
            Vec::new(),
            Vec::new(),
            asyncapi::lower(&root, role, fallback, &mut types, diags),
        ),
    };
    if sse_endpoints.is_empty() && channels.is_empty() {
        let what = match &document.kind {
            SpecKind::OpenApi { .. } => "no operation has a `text/event-stream` response",
            SpecKind::AsyncApi { .. } => "no operation sends or receives a message",
        };
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                format!("nothing real-time to generate: {what}"),
            )
            .at(sources.locate(&root)),
        );
    }
    Some(Api {
        module,
        service,
        source: SourceInfo {
            file: file.display.replace('\\', "/"),
            spec,
            title,
            version,
        },
        docs,
        role,
        sse_endpoints,
        channels,
        operations,
        types: types.finish(),
    })
}

/// `specs/petstore.openapi.yaml` → `petstore_openapi`; `social-media/backend/asyncapi.yaml` →
/// `backend_asyncapi` (a file named only after its spec takes its folder's name too).
fn module_wire_name(display: &str) -> String {
    let path = std::path::Path::new(display);
    let file_name = path.file_name().and_then(|f| f.to_str()).unwrap_or("api");
    let stem = file_name
        .strip_suffix(".yaml")
        .or_else(|| file_name.strip_suffix(".yml"))
        .or_else(|| file_name.strip_suffix(".json"))
        .unwrap_or(file_name);
    let generic = [
        "openapi",
        "asyncapi",
        "spec",
        "api",
        "schema",
        "in.openapi",
        "realtime",
    ];
    if generic.contains(&stem.to_ascii_lowercase().as_str())
        && let Some(parent) = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|p| p.to_str())
    {
        return format!("{parent}_{stem}");
    }
    stem.to_owned()
}

/// `x-wiregen-role: server|client` at the document root; the server's side by default.
fn document_role(document: &Document, root: &Loc, diags: &mut Diagnostics) -> Role {
    let at = root.child("x-wiregen-role");
    match document.sources.get(&at) {
        None => Role::Server,
        Some(Value::String(s)) if s == "server" => Role::Server,
        Some(Value::String(s)) if s == "client" => Role::Client,
        Some(_) => {
            diags.push(
                Diagnostic::error(
                    Kind::Invalid,
                    "`x-wiregen-role` must be `server` or `client`",
                )
                .at(document.sources.locate(&at)),
            );
            Role::Server
        }
    }
}

/// `x-wiregen-unknown-messages: true|false` at the document root; off by default.
fn document_unknown_messages(document: &Document, root: &Loc, diags: &mut Diagnostics) -> bool {
    let at = root.child("x-wiregen-unknown-messages");
    match document.sources.get(&at) {
        None => false,
        Some(Value::Bool(on)) => *on,
        Some(_) => {
            diags.push(
                Diagnostic::error(
                    Kind::Invalid,
                    "`x-wiregen-unknown-messages` must be `true` or `false`",
                )
                .at(document.sources.locate(&at)),
            );
            false
        }
    }
}
