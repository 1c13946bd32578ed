//! The lower phase: from a loaded spec to the protocol-neutral [`crate::ir::Api`].
//!
//! OpenAPI documents contribute operations (event streams and plain calls);
//! AsyncAPI documents contribute channels with messages by direction, and the sockets channels
//! share. Both share one [`schema::SchemaLowerer`], which builds the type space and keeps the
//! `types` namespace; [`ModuleNames`] keeps the others. Every identifier the emitters print is
//! claimed here: the IR is final.

mod params;
pub(crate) mod routes;

mod asyncapi;
mod openapi;
pub mod schema;

use serde_json::Value;

use crate::Settings;
use crate::diag::{Diagnostic, Diagnostics, Kind};
use crate::ir::{Api, Docs, ModuleItems, Role, SourceInfo};
use crate::names::{Case, Name, Namespace, ident, name};
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
    let mut names = ModuleNames::new();
    let service_wire = if title.trim().is_empty() {
        module.wire.clone()
    } else {
        title.clone()
    };
    let service = names.server.claim_name(&service_wire, Case::Camel).0;
    let role = settings
        .role
        .unwrap_or_else(|| document_role(document, &root, diags));
    let unknown = match &document.kind {
        SpecKind::AsyncApi { .. } => settings
            .unknown_messages
            .unwrap_or_else(|| document_unknown_messages(document, &root, diags)),
        SpecKind::OpenApi { .. } => false,
    };
    let mut types = schema::SchemaLowerer::new(sources);
    let (operations, channels, sockets) = match &document.kind {
        SpecKind::OpenApi { .. } => (
            openapi::lower(&root, &mut types, &mut names, diags),
            Vec::new(),
            Vec::new(),
        ),
        SpecKind::AsyncApi { .. } => {
            let lowered = asyncapi::lower(&root, role, unknown, &mut types, &mut names, diags);
            (Vec::new(), lowered.channels, lowered.sockets)
        }
    };
    if operations.is_empty() && channels.is_empty() {
        let what = match &document.kind {
            SpecKind::OpenApi { .. } => "the document has no operation",
            SpecKind::AsyncApi { .. } => "no operation sends or receives a message",
        };
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                format!("no server or client to generate: {what}"),
            )
            .at(sources.locate(&root)),
        );
    }
    let items = names.items(service);
    Some(Api {
        module,
        source: SourceInfo {
            file: file.display.replace('\\', "/"),
            spec,
            title,
            version,
        },
        docs,
        role,
        items,
        operations,
        channels,
        sockets,
        types: types.finish(),
    })
}

/// The namespaces of one API's generated modules besides `types` (whose namespace the
/// [`schema::SchemaLowerer`] keeps): every identifier of `server` and `client` is claimed here,
/// the fixed ones first.
pub(crate) struct ModuleNames {
    /// Items of the `server` module: traits, endpoint types, routers, handler functions.
    pub server: Namespace,
    /// Items of the `client` module: client structs.
    pub client: Namespace,
    /// Methods of the service trait and of `Client`: one per operation (and its JSON form).
    pub methods: Namespace,
}

/// Fixed items of `server` and `client`.
const ROUTER: &str = "router";
const ROUTER_WITH_CONFIG: &str = "router_with_config";
const SERVER_CONFIG: &str = "ServerConfig";
const CLIENT: &str = "Client";
const CLIENT_CONFIG: &str = "ClientConfig";
/// Fixed items of the service trait and `Client`.
const AUTH: &str = "Auth";
const AUTHENTICATE: &str = "authenticate";
const WITH_CREDENTIAL: &str = "with_credential";

impl ModuleNames {
    fn new() -> Self {
        ModuleNames {
            server: Namespace::with_reserved([ROUTER, ROUTER_WITH_CONFIG, SERVER_CONFIG]),
            client: Namespace::with_reserved([CLIENT, CLIENT_CONFIG]),
            // `Client::new`, `with_config` and `with_credential` are the client's own, and
            // `authenticate` the service trait's.
            methods: Namespace::with_reserved([
                "new",
                "with_config",
                WITH_CREDENTIAL,
                AUTHENTICATE,
            ]),
        }
    }

    fn items(&self, service: Name) -> ModuleItems {
        ModuleItems {
            service,
            router: ident(ROUTER, Case::Snake),
            router_with_config: ident(ROUTER_WITH_CONFIG, Case::Snake),
            server_config: ident(SERVER_CONFIG, Case::Camel),
            client: ident(CLIENT, Case::Camel),
            client_config: ident(CLIENT_CONFIG, Case::Camel),
            auth: ident(AUTH, Case::Camel),
            authenticate: ident(AUTHENTICATE, Case::Snake),
        }
    }
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
