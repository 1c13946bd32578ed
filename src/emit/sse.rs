//! The Server-Sent Events parts: `pub mod sse` (each endpoint's request struct and the wire
//! encoding of its event enum), `pub mod server` (a trait to implement and an axum router) and
//! `pub mod client` (a typed, reconnecting client).
//!
//! As in the types part, every identifier, literal and type expression the templates print is
//! computed here. Generated code reaches axum, http and the SSE machinery only through the
//! runtime (`<runtime>::sse`, `<runtime>::params`, `<runtime>::http`, `<runtime>::codegen`).

use askama::Template;

use super::Uses;
use super::tokens::{TypeExpr, docs_literals, param_doc_literals, string_literal};
use crate::diag::Diagnostic;
use crate::ir::{
    Api, Body, HttpMethod, Param, ParamIn, PathSegment, Payload, SseEndpoint, SseEvent, SseFraming,
    TypeId, TypeKind, TypeRef,
};
use crate::names::{Case, ident};

/// `templates/sse.rs.askama`.
#[derive(Template)]
#[template(path = "sse.rs.askama", escape = "none")]
struct SseModule {
    rt: String,
    requests: Vec<RequestItem>,
    event_sets: Vec<EventSetItem>,
    param_enums: Vec<ParamEnumItem>,
}

/// `templates/server.rs.askama`.
#[derive(Template)]
#[template(path = "server.rs.askama", escape = "none")]
struct ServerModule {
    rt: String,
    trait_docs: Vec<String>,
    service: String,
    methods: Vec<ServerMethod>,
    routes: Vec<RouteItem>,
}

/// `templates/client.rs.askama`.
#[derive(Template)]
#[template(path = "client.rs.askama", escape = "none")]
struct ClientModule {
    rt: String,
    client_docs: Vec<String>,
    methods: Vec<ClientMethod>,
}

struct RequestItem {
    docs: Vec<String>,
    ident: String,
    derive_default: bool,
    fields: Vec<RequestField>,
}

struct RequestField {
    docs: Vec<String>,
    ident: String,
    ty: String,
}

struct EventSetItem {
    ty: String,
    /// `true` when every event is the default `message` and the `event:` field is not read.
    any_name: bool,
    arms: Vec<EventArm>,
}

struct EventArm {
    variant: String,
    /// The event name as a string literal.
    wire: String,
    /// How `data` is carried.
    data: DataKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DataKind {
    Json,
    Text,
    Empty,
}

struct ParamEnumItem {
    ty: String,
}

struct ServerMethod {
    docs: Vec<String>,
    ident: String,
    json_ident: Option<String>,
    /// The JSON alternative's type (empty without one).
    json_ty: String,
    request: String,
    event: String,
    /// `None` when the server does not route it.
    handler: Option<Handler>,
}

struct Handler {
    ident: String,
    extract: Vec<Extract>,
    body: Option<BodyExtract>,
    has_path: bool,
    resumable: bool,
    /// The end-of-stream sentinel the handler appends, as a string literal.
    sentinel: Option<String>,
    /// Does anything read the request head (query, headers, `Accept`)?
    uses_parts: bool,
}

struct Extract {
    field: String,
    /// The whole expression producing the field's value, `?`-terminated where it can fail.
    expr: String,
}

struct BodyExtract {
    ty: String,
    required: bool,
}

struct RouteItem {
    path: String,
    methods: Vec<(String, String)>,
}

struct ClientMethod {
    docs: Vec<String>,
    ident: String,
    json_ident: Option<String>,
    /// The JSON alternative's type (empty without one).
    json_ty: String,
    resumable: bool,
    request: String,
    /// The request builder's parameter: `_request` when the request struct has no fields.
    request_arg: &'static str,
    event: String,
    method: String,
    url: Vec<String>,
    headers: Vec<String>,
    body: Option<bool>,
    sentinel: Option<String>,
}

/// Which of the three modules to render.
pub(crate) struct Parts {
    pub server: bool,
    pub client: bool,
}

/// Render the SSE modules of an API (none if it has no SSE endpoints).
pub(crate) fn render(
    api: &Api,
    rt: &str,
    parts: Parts,
    uses: &mut Uses,
) -> Result<Vec<String>, Diagnostic> {
    if api.sse_endpoints.is_empty() || !(parts.server || parts.client) {
        return Ok(Vec::new());
    }
    uses.runtime = true;
    let outer = TypeExpr {
        space: &api.types,
        prefix: "super::types::",
    };
    let mut requests = Vec::new();
    let mut event_sets = Vec::new();
    let mut param_enum_ids: Vec<TypeId> = Vec::new();
    for endpoint in &api.sse_endpoints {
        requests.push(request_item(endpoint, &outer, uses)?);
        event_sets.push(event_set_item(api, endpoint, &outer)?);
        for param in &endpoint.params {
            collect_enums(api, &param.ty, &mut param_enum_ids);
        }
    }
    let param_enums = param_enum_ids
        .iter()
        .map(|id| {
            Ok(ParamEnumItem {
                ty: outer.render(&TypeRef::Named(*id))?,
            })
        })
        .collect::<Result<_, Diagnostic>>()?;
    let mut out = vec![super::render_template(
        &SseModule {
            rt: rt.to_owned(),
            requests,
            event_sets,
            param_enums,
        },
        "sse",
    )?];
    if parts.server {
        uses.server = true;
        out.push(server_module(api, rt, &outer)?);
    }
    if parts.client {
        uses.client = true;
        out.push(client_module(api, rt, &outer)?);
    }
    Ok(out)
}

fn request_ident(endpoint: &SseEndpoint) -> String {
    format!("{}Request", ident(&endpoint.name.wire, Case::Camel).unraw())
}

fn request_item(
    endpoint: &SseEndpoint,
    outer: &TypeExpr<'_>,
    uses: &mut Uses,
) -> Result<RequestItem, Diagnostic> {
    let mut fields = Vec::new();
    let mut all_optional = true;
    for param in &endpoint.params {
        let Param {
            name,
            location,
            ty,
            required,
            docs,
        } = param;
        uses.note_type(ty);
        let rendered = outer.render(ty)?;
        let optional = !*required && !matches!(ty, TypeRef::Vec(_));
        all_optional &= optional || matches!(ty, TypeRef::Vec(_));
        let lines = param_doc_literals(docs, &name.wire, *location, "");
        fields.push(RequestField {
            docs: lines,
            ident: name.rust.as_str().to_owned(),
            ty: if optional {
                format!("::std::option::Option<{rendered}>")
            } else {
                rendered
            },
        });
    }
    if let Some(Body { ty, required, docs }) = &endpoint.body {
        uses.note_type(ty);
        let rendered = outer.render(ty)?;
        all_optional &= !*required;
        let mut lines = docs_literals(docs);
        if lines.is_empty() {
            lines.push(string_literal(" The JSON request body."));
        }
        fields.push(RequestField {
            docs: lines,
            ident: "body".to_owned(),
            ty: if *required {
                rendered
            } else {
                format!("::std::option::Option<{rendered}>")
            },
        });
    }
    if endpoint.resumable {
        fields.push(RequestField {
            docs: vec![string_literal(
                " Resume after this event id: the `Last-Event-ID` header. The client fills it in by itself when it reconnects.",
            )],
            ident: "last_event_id".to_owned(),
            ty: "::std::option::Option<::std::string::String>".to_owned(),
        });
    }
    let docs = vec![string_literal(&format!(
        " Everything `{} {}` takes.",
        endpoint.method.as_str(),
        endpoint.path
    ))];
    Ok(RequestItem {
        docs,
        ident: request_ident(endpoint),
        derive_default: all_optional,
        fields,
    })
}

fn event_set_item(
    api: &Api,
    endpoint: &SseEndpoint,
    outer: &TypeExpr<'_>,
) -> Result<EventSetItem, Diagnostic> {
    let arms = endpoint
        .events
        .iter()
        .map(
            |SseEvent {
                 name,
                 docs: _,
                 payload,
             }| EventArm {
                variant: name.rust.as_str().to_owned(),
                wire: string_literal(&name.wire),
                data: match payload {
                    Payload::Json(_) => DataKind::Json,
                    Payload::Text | Payload::Binary => DataKind::Text,
                    Payload::Empty => DataKind::Empty,
                },
            },
        )
        .collect();
    let _ = api;
    Ok(EventSetItem {
        ty: outer.render(&TypeRef::Named(endpoint.event_enum))?,
        any_name: endpoint.framing != SseFraming::Named,
        arms,
    })
}

/// String enums used as parameters need `ParamValue` impls.
fn collect_enums(api: &Api, ty: &TypeRef, out: &mut Vec<TypeId>) {
    match ty {
        TypeRef::Named(id) => match &api.types.get(*id).kind {
            TypeKind::Enum(_) if !out.contains(id) => out.push(*id),
            TypeKind::Alias(inner) => collect_enums(api, inner, out),
            _ => {}
        },
        TypeRef::Vec(inner) | TypeRef::Option(inner) => collect_enums(api, inner, out),
        _ => {}
    }
}

fn json_alternative(
    endpoint: &SseEndpoint,
    outer: &TypeExpr<'_>,
) -> Result<(Option<String>, Option<String>), Diagnostic> {
    match &endpoint.json_alternative {
        Some(ty) => Ok((
            Some(format!("{}_json", endpoint.name.rust.unraw())),
            Some(outer.render(ty)?),
        )),
        None => Ok((None, None)),
    }
}

fn server_module(api: &Api, rt: &str, outer: &TypeExpr<'_>) -> Result<String, Diagnostic> {
    let mut methods = Vec::new();
    let mut routes: Vec<RouteItem> = Vec::new();
    for endpoint in &api.sse_endpoints {
        let (json_ident, json_ty) = json_alternative(endpoint, outer)?;
        let handler = match &endpoint.server_route {
            Some(route) => {
                let handler_ident = format!("handle_{}", endpoint.name.rust.unraw());
                let method = method_fn(endpoint.method).to_owned();
                match routes.iter_mut().find(|r| r.path == string_literal(route)) {
                    Some(existing) => existing.methods.push((method, handler_ident.clone())),
                    None => routes.push(RouteItem {
                        path: string_literal(route),
                        methods: vec![(method, handler_ident.clone())],
                    }),
                }
                let reads_head = endpoint.params.iter().any(|p| p.location != ParamIn::Path);
                Some(Handler {
                    ident: handler_ident,
                    extract: endpoint.params.iter().map(|p| extract(p, rt)).collect(),
                    body: match &endpoint.body {
                        Some(b) => Some(BodyExtract {
                            ty: outer.render(&b.ty)?,
                            required: b.required,
                        }),
                        None => None,
                    },
                    has_path: endpoint.params.iter().any(|p| p.location == ParamIn::Path),
                    resumable: endpoint.resumable,
                    sentinel: endpoint.sentinel.as_deref().map(string_literal),
                    uses_parts: reads_head
                        || endpoint.resumable
                        || endpoint.json_alternative.is_some(),
                })
            }
            None => None,
        };
        let mut docs = docs_literals(&endpoint.docs);
        if !docs.is_empty() {
            docs.push(string_literal(""));
        }
        docs.push(string_literal(&format!(
            " Serves `{} {}` as a stream of events.",
            endpoint.method.as_str(),
            endpoint.path
        )));
        if let Some(sentinel) = &endpoint.sentinel {
            docs.push(string_literal(&format!(
                " When the stream ends, the router sends the end marker `{}` as a last event's data.",
                sentinel.escape_debug()
            )));
        }
        methods.push(ServerMethod {
            docs,
            ident: endpoint.name.rust.as_str().to_owned(),
            json_ident,
            json_ty: json_ty.unwrap_or_default(),
            request: format!("super::sse::{}", request_ident(endpoint)),
            event: outer.render(&TypeRef::Named(endpoint.event_enum))?,
            handler,
        });
    }
    let mut trait_docs = docs_literals(&api.docs);
    if !trait_docs.is_empty() {
        trait_docs.push(string_literal(""));
    }
    trait_docs.push(string_literal(&format!(
        " The `{}` API, served over Server-Sent Events: implement this trait and serve [`router`].",
        api.source.title
    )));
    super::render_template(
        &ServerModule {
            rt: rt.to_owned(),
            trait_docs,
            service: api.service.rust.as_str().to_owned(),
            methods,
            routes,
        },
        "server",
    )
}

fn method_fn(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Patch => "patch",
        HttpMethod::Delete => "delete",
        HttpMethod::Head => "head",
        HttpMethod::Options => "options",
        HttpMethod::Trace => "trace",
        HttpMethod::Query => "get",
    }
}

/// How the server reads one parameter into the request struct.
fn extract(param: &Param, rt: &str) -> Extract {
    let name = string_literal(&param.name.wire);
    let list = matches!(param.ty, TypeRef::Vec(_));
    let need = if param.required {
        "required"
    } else {
        "optional"
    };
    let expr = match (param.location, list) {
        (ParamIn::Path, _) => format!("path.{need}({name})"),
        (ParamIn::Query, true) => format!(
            "{rt}::params::query_list(&parts.uri, {name}, {})",
            param.required
        ),
        (ParamIn::Query, false) => format!("{rt}::params::query_{need}(&parts.uri, {name})"),
        (ParamIn::Header, true) => format!(
            "{rt}::params::header_list(&parts.headers, {name}, {})",
            param.required
        ),
        (ParamIn::Header, false) => format!("{rt}::params::header_{need}(&parts.headers, {name})"),
        (ParamIn::Cookie, _) => format!("{rt}::params::cookie_{need}(&parts.headers, {name})"),
    };
    Extract {
        field: param.name.rust.as_str().to_owned(),
        expr,
    }
}

fn client_module(api: &Api, rt: &str, outer: &TypeExpr<'_>) -> Result<String, Diagnostic> {
    let mut methods = Vec::new();
    for endpoint in &api.sse_endpoints {
        let (json_ident, json_ty) = json_alternative(endpoint, outer)?;
        let mut url = Vec::new();
        for segment in &endpoint.segments {
            match segment {
                PathSegment::Literal(text) => {
                    url.push(format!("url.literal({});", string_literal(text)))
                }
                PathSegment::Param(wire) => {
                    match endpoint
                        .params
                        .iter()
                        .find(|p| p.location == ParamIn::Path && &p.name.wire == wire)
                    {
                        Some(p) => url.push(format!("url.path(&request.{});", p.name.rust)),
                        // A `{name}` the spec does not declare stays as written.
                        None => url.push(format!(
                            "url.literal({});",
                            string_literal(&format!("{{{wire}}}"))
                        )),
                    }
                }
            }
        }
        let mut headers = Vec::new();
        for p in &endpoint.params {
            let name = string_literal(&p.name.wire);
            let field = p.name.rust.as_str();
            let list = matches!(p.ty, TypeRef::Vec(_));
            match (p.location, p.required || list) {
                (ParamIn::Query, true) if list => url.push(format!("url.query_list({name}, &request.{field});")),
                (ParamIn::Query, true) => url.push(format!("url.query({name}, &request.{field});")),
                (ParamIn::Query, false) => url.push(format!(
                    "if let ::std::option::Option::Some(value) = &request.{field} {{ url.query({name}, value); }}"
                )),
                (ParamIn::Header, true) => headers.push(format!(
                    "{rt}::params::set_header(&mut headers, {name}, &request.{field})?;"
                )),
                (ParamIn::Header, false) => headers.push(format!(
                    "if let ::std::option::Option::Some(value) = &request.{field} {{ {rt}::params::set_header(&mut headers, {name}, value)?; }}"
                )),
                (ParamIn::Cookie, true) => headers.push(format!(
                    "{rt}::params::add_cookie(&mut headers, {name}, &request.{field})?;"
                )),
                (ParamIn::Cookie, false) => headers.push(format!(
                    "if let ::std::option::Option::Some(value) = &request.{field} {{ {rt}::params::add_cookie(&mut headers, {name}, value)?; }}"
                )),
                (ParamIn::Path, _) => {}
            }
        }
        let mut docs = docs_literals(&endpoint.docs);
        if !docs.is_empty() {
            docs.push(string_literal(""));
        }
        docs.push(string_literal(&format!(
            " Subscribes to `{} {}`: a stream of typed events that reconnects and resumes by itself.",
            endpoint.method.as_str(),
            endpoint.path
        )));
        methods.push(ClientMethod {
            docs,
            ident: endpoint.name.rust.as_str().to_owned(),
            json_ident,
            json_ty: json_ty.unwrap_or_default(),
            resumable: endpoint.resumable,
            request: format!("super::sse::{}", request_ident(endpoint)),
            request_arg: if endpoint.params.is_empty()
                && endpoint.body.is_none()
                && !endpoint.resumable
            {
                "_request"
            } else {
                "request"
            },
            event: outer.render(&TypeRef::Named(endpoint.event_enum))?,
            method: match endpoint.method {
                HttpMethod::Query => format!("{rt}::params::extension_method(\"QUERY\")"),
                other => format!("{rt}::codegen::http::Method::{}", other.as_str()),
            },
            url,
            headers,
            body: endpoint.body.as_ref().map(|b| b.required),
            sentinel: endpoint.sentinel.as_deref().map(string_literal),
        });
    }
    super::render_template(
        &ClientModule {
            rt: rt.to_owned(),
            client_docs: super::tokens::doc_literals([
                format!(
                    "A client of the `{}` API: every stream it opens reconnects with",
                    api.source.title
                )
                .as_str(),
                "backoff and resumes with `Last-Event-ID` by itself.",
            ]),
            methods,
        },
        "client",
    )
}
