//! The WebSocket parts: `pub mod ws` (each channel's connection parameters and the wire encoding
//! of its message enums), with `ws::server` (a trait per channel and an axum router) and
//! `ws::client` (a typed client per channel).
//!
//! As in the other parts, every identifier, literal and type expression the templates print is
//! computed here. Generated code reaches axum, http and the WebSocket machinery only through the
//! runtime (`<runtime>::ws`, `<runtime>::params`, `<runtime>::http`, `<runtime>::codegen`).

use askama::Template;

use super::Uses;
use super::tokens::{TypeExpr, doc_literals, docs_literals, param_doc_literals, string_literal};
use crate::diag::Diagnostic;
use crate::ir::{
    Api, Channel, ChannelProtocol, Message, Param, ParamIn, Payload, Presence, Security, TypeId,
    TypeKind, TypeRef, UnionRepr,
};
use crate::names::{Case, Name, ident};

/// `templates/ws.rs.askama`.
#[derive(Template)]
#[template(path = "ws.rs.askama", escape = "none")]
struct WsModule {
    rt: String,
    params: Vec<ParamsItem>,
    sets: Vec<SetItem>,
    /// The combined message enums of the sockets several channels share.
    combined: Vec<CombinedItem>,
    param_enums: Vec<String>,
    server: Option<String>,
    client: Option<String>,
}

/// `templates/ws_server.rs.askama`.
#[derive(Template)]
#[template(path = "ws_server.rs.askama", escape = "none")]
struct ServerModule {
    rt: String,
    channels: Vec<ServerChannel>,
    /// The combined router's bound (`S: A + B`) and its per-channel routes.
    bound: String,
    routes: Vec<String>,
    sockets: Vec<ServerSocket>,
}

/// `templates/ws_client.rs.askama`.
#[derive(Template)]
#[template(path = "ws_client.rs.askama", escape = "none")]
struct ClientModule {
    rt: String,
    channels: Vec<ClientChannel>,
    sockets: Vec<ClientSocket>,
}

/// A socket several channels share: its channels, in document order (the first leads it).
struct Socket<'a> {
    name: &'a Name,
    members: Vec<&'a Channel>,
}

/// The channels sharing a socket, grouped by [`Channel::socket`].
fn sockets<'a>(channels: &[&'a Channel]) -> Vec<Socket<'a>> {
    let mut out: Vec<Socket<'a>> = Vec::new();
    for channel in channels {
        let Some(name) = &channel.socket else {
            continue;
        };
        match out.iter_mut().find(|s| s.name == name) {
            Some(socket) => socket.members.push(channel),
            None => out.push(Socket {
                name,
                members: vec![channel],
            }),
        }
    }
    out
}

/// The enum of one direction of a shared socket: a variant per channel with messages that way.
struct CombinedItem {
    docs: Vec<String>,
    ident: String,
    /// (docs, variant, the channel's enum)
    variants: Vec<(Vec<String>, String, String)>,
}

struct ServerSocket {
    docs: Vec<String>,
    router_fn: String,
    upgrade_fn: String,
    handler_ident: String,
    bound: String,
    route: String,
    in_ty: String,
    out_ty: String,
    /// `None` when no channel of the socket receives messages.
    in_enum: Option<String>,
    has_path: bool,
    needs_uri: bool,
    needs_headers: bool,
    members: Vec<SocketMember>,
}

struct SocketMember {
    /// The field of the socket's handler, and the local holding it.
    field: String,
    local: String,
    handler_ident: String,
    accept_fn: String,
    /// The arguments after `&state`.
    args: String,
    /// The locals of the channels accepted before it.
    earlier: Vec<String>,
    /// Its variant of the inbound enum, if it receives messages.
    variant: Option<String>,
}

struct ClientSocket {
    docs: Vec<String>,
    ident: String,
    in_ty: String,
    out_ty: String,
}

struct ParamsItem {
    docs: Vec<String>,
    ident: String,
    derive_default: bool,
    fields: Vec<FieldItem>,
}

struct FieldItem {
    docs: Vec<String>,
    ident: String,
    ty: String,
}

struct SetItem {
    ty: String,
    /// The body of `encode`.
    encode: Vec<String>,
    /// The body of `decode_text`.
    decode_text: Vec<String>,
    /// The body of `decode_binary`, when binary frames carry a message.
    decode_binary: Option<Vec<String>>,
    /// `match` arms of `correlation_id` and `set_correlation_id`.
    correlation: Vec<(String, String)>,
}

struct ServerChannel {
    docs: Vec<String>,
    trait_ident: String,
    handler_ident: String,
    upgrade_fn: String,
    accept_fn: String,
    router_fn: String,
    route: Option<String>,
    params_ty: String,
    in_ty: String,
    out_ty: String,
    has_in: bool,
    secured: bool,
    schemes: String,
    has_path: bool,
    needs_uri: bool,
    needs_headers: bool,
    extract: Vec<(String, String)>,
    replies: Vec<ReplyItem>,
}

struct ReplyItem {
    docs: Vec<String>,
    ident: String,
    request_variant: String,
    request_ty: String,
    /// The reply's payload type, or the whole outbound enum when several messages may answer.
    reply_ty: String,
    /// The outbound variant wrapping the reply; `None` when `reply_ty` is the enum itself.
    reply_variant: Option<String>,
}

struct ClientChannel {
    docs: Vec<String>,
    ident: String,
    params_ty: String,
    in_ty: String,
    out_ty: String,
    secured: bool,
    /// Does building the request read `params`?
    reads_params: bool,
    url: Vec<String>,
    headers: Vec<String>,
    credential: Vec<String>,
    /// Do `headers` or `credential` lines report a parameter error (through `invalid`)?
    uses_invalid: bool,
    /// Do they add headers?
    mut_headers: bool,
    replies: Vec<ReplyItem>,
}

/// Which modules to render.
pub(crate) struct Parts {
    pub server: bool,
    pub client: bool,
}

/// Render the WebSocket module of an API (nothing if it has no WebSocket channels).
pub(crate) fn render(
    api: &Api,
    rt: &str,
    parts: Parts,
    uses: &mut Uses,
) -> Result<Vec<String>, Diagnostic> {
    let channels: Vec<&Channel> = api
        .channels
        .iter()
        .filter(|c| c.protocol == ChannelProtocol::WebSocket)
        .collect();
    if channels.is_empty() || !(parts.server || parts.client) {
        return Ok(Vec::new());
    }
    uses.runtime = true;
    let outer = TypeExpr {
        space: &api.types,
        prefix: "super::types::",
    };
    let inner = TypeExpr {
        space: &api.types,
        prefix: "super::super::types::",
    };
    let mut params = Vec::new();
    let mut sets = Vec::new();
    let mut param_enums: Vec<TypeId> = Vec::new();
    for channel in &channels {
        params.push(params_item(api, channel, &outer, uses, &mut param_enums)?);
        for (messages, id) in [
            (&channel.to_server, channel.to_server_enum),
            (&channel.to_client, channel.to_client_enum),
        ] {
            if let Some(id) = id {
                sets.push(set_item(api, messages, id, &outer, rt)?);
            }
        }
    }
    let mut combined = Vec::new();
    for socket in sockets(&channels) {
        for to_server in [true, false] {
            if let Some((item, set)) = combined_item(api, &socket, to_server, &outer, rt)? {
                combined.push(item);
                sets.push(set);
            }
        }
    }
    let param_enums = param_enums
        .iter()
        .map(|id| outer.render(&TypeRef::Named(*id)))
        .collect::<Result<_, _>>()?;
    let server = if parts.server {
        uses.ws_server = true;
        Some(server_module(api, rt, &channels, &inner)?)
    } else {
        None
    };
    let client = if parts.client {
        uses.ws_client = true;
        Some(client_module(api, rt, &channels, &inner)?)
    } else {
        None
    };
    Ok(vec![super::render_template(
        &WsModule {
            rt: rt.to_owned(),
            params,
            sets,
            combined,
            param_enums,
            server,
            client,
        },
        "ws",
    )?])
}

/// The combined enum of one direction of a shared socket: `<Socket>ClientMessage` (client →
/// server) or `<Socket>ServerMessage`, in the `ws` module.
fn combined_ident(socket: &Name, to_server: bool) -> String {
    let suffix = if to_server {
        "ClientMessage"
    } else {
        "ServerMessage"
    };
    format!("{}{suffix}", socket.rust.unraw())
}

/// A channel's direction enum, if it has messages that way.
fn direction_enum(channel: &Channel, to_server: bool) -> Option<TypeId> {
    if to_server {
        channel.to_server_enum
    } else {
        channel.to_client_enum
    }
}

/// The combined enum of one direction of a shared socket and its wire encoding: each variant
/// wraps one channel's enum; decoding tries each channel (their tags are distinct, lowering
/// made sure), a known message winning over a catch-all one. `None` when no channel of the
/// socket has messages that way.
fn combined_item(
    api: &Api,
    socket: &Socket<'_>,
    to_server: bool,
    outer: &TypeExpr<'_>,
    rt: &str,
) -> Result<Option<(CombinedItem, SetItem)>, Diagnostic> {
    let ident = combined_ident(socket.name, to_server);
    let mut variants = Vec::new();
    let mut encode = vec!["match self {".to_owned()];
    let mut decode = vec![format!("let mut attempts = {rt}::ws::Attempts::new();")];
    let mut correlation = Vec::new();
    for channel in &socket.members {
        let Some(id) = direction_enum(channel, to_server) else {
            continue;
        };
        let v = channel.name.rust.unraw();
        let ty = outer.render(&TypeRef::Named(id))?;
        encode.push(format!("Self::{v}(m) => {rt}::ws::MessageSet::encode(m),"));
        decode.push(format!(
            "match <{ty} as {rt}::ws::MessageSet>::decode_text(text) {{"
        ));
        if let TypeKind::Union(union) = &api.types.get(id).kind
            && let Some(unknown) = &union.unknown
        {
            decode.push(format!(
                "::std::result::Result::Ok({ty}::{unknown}(value)) => attempts.unknown(Self::{v}({ty}::{unknown}(value))),"
            ));
        }
        decode.push(format!(
            "::std::result::Result::Ok(message) => return ::std::result::Result::Ok(Self::{v}(message)),"
        ));
        decode.push("::std::result::Result::Err(error) => attempts.failed(error),".to_owned());
        decode.push("}".to_owned());
        correlation.push((
            format!("Self::{v}(m) => {rt}::ws::MessageSet::correlation_id(m),"),
            format!("Self::{v}(m) => {rt}::ws::MessageSet::set_correlation_id(m, id),"),
        ));
        variants.push((
            doc_literals([format!("A message of the `{}` channel.", channel.name.wire).as_str()]),
            v.to_owned(),
            ty,
        ));
    }
    if variants.is_empty() {
        return Ok(None);
    }
    encode.push("}".to_owned());
    decode.push("attempts.finish()".to_owned());
    let names: Vec<String> = socket
        .members
        .iter()
        .filter(|c| direction_enum(c, to_server).is_some())
        .map(|c| format!("`{}`", c.name.wire))
        .collect();
    let direction = if to_server {
        "client → server"
    } else {
        "server → client"
    };
    let docs = doc_literals([
        format!(
            "Every {direction} message of the socket at `{}`, which the channels {} share: one",
            socket.name.wire,
            names.join(", ")
        )
        .as_str(),
        "variant per channel, told apart on the wire by the messages' tags.",
    ]);
    Ok(Some((
        CombinedItem {
            docs,
            ident: ident.clone(),
            variants,
        },
        SetItem {
            ty: ident,
            encode,
            decode_text: decode,
            decode_binary: None,
            correlation,
        },
    )))
}

fn params_ident(channel: &Channel) -> String {
    format!("{}Params", channel.name.rust.unraw())
}

/// The Rust type of a parameter, when the runtime can read and write it as parameter text
/// (scalars, string enums, lists of those); anything else travels as its raw text.
fn param_type(api: &Api, ty: &TypeRef, outer: &TypeExpr<'_>) -> Result<Option<String>, Diagnostic> {
    Ok(match ty {
        TypeRef::Scalar(_) => Some(outer.render(ty)?),
        TypeRef::Named(id) => match &api.types.get(*id).kind {
            TypeKind::Enum(_) => Some(outer.render(ty)?),
            _ => None,
        },
        TypeRef::Vec(inner) => {
            param_type(api, inner, outer)?.map(|t| format!("::std::vec::Vec<{t}>"))
        }
        _ => None,
    })
}

fn params_item(
    api: &Api,
    channel: &Channel,
    outer: &TypeExpr<'_>,
    uses: &mut Uses,
    enums: &mut Vec<TypeId>,
) -> Result<ParamsItem, Diagnostic> {
    let mut fields = Vec::new();
    let mut all_optional = true;
    for param in &channel.params {
        let Param {
            name,
            location,
            ty,
            required,
            docs,
        } = param;
        let rendered = match param_type(api, ty, outer)? {
            Some(rendered) => {
                uses.note_type(ty);
                collect_enums(api, ty, enums);
                rendered
            }
            None => "::std::string::String".to_owned(),
        };
        let list = matches!(ty, TypeRef::Vec(_)) && rendered.starts_with("::std::vec::Vec");
        let optional = !*required && !list;
        all_optional &= optional || list;
        let lines = param_doc_literals(docs, &name.wire, *location, " of the upgrade request");
        fields.push(FieldItem {
            docs: lines,
            ident: name.rust.as_str().to_owned(),
            ty: if optional {
                format!("::std::option::Option<{rendered}>")
            } else {
                rendered
            },
        });
    }
    Ok(ParamsItem {
        docs: doc_literals([format!(
            "What a connection to `{}` carries in its URL and upgrade request.",
            channel.address
        )
        .as_str()]),
        ident: params_ident(channel),
        derive_default: all_optional,
        fields,
    })
}

fn collect_enums(api: &Api, ty: &TypeRef, out: &mut Vec<TypeId>) {
    match ty {
        TypeRef::Named(id)
            if matches!(api.types.get(*id).kind, TypeKind::Enum(_)) && !out.contains(id) =>
        {
            out.push(*id);
        }
        TypeRef::Vec(inner) => collect_enums(api, inner, out),
        _ => {}
    }
}

/// The variant type of a message in its direction enum (`None` for a unit variant).
fn variant_type(api: &Api, set: TypeId, message: &Message) -> Option<TypeRef> {
    match &api.types.get(set).kind {
        TypeKind::Union(union) => union
            .variants
            .iter()
            .find(|v| v.name.rust == message.name.rust)
            .and_then(|v| v.ty.clone()),
        _ => None,
    }
}

/// How a message's correlation id is read and set: `(get expression, set statement)` for a
/// variant binding named `m`, when the pointer names a string field of the payload struct.
fn correlation_access(api: &Api, ty: &TypeRef, pointer: &str) -> Option<(String, String)> {
    let property = pointer.strip_prefix('/')?;
    if property.contains('/') {
        return None;
    }
    let property = property.replace("~1", "/").replace("~0", "~");
    let TypeRef::Named(id) = ty else {
        return None;
    };
    let TypeKind::Struct(def) = &api.types.get(*id).kind else {
        return None;
    };
    let field = def.fields.iter().find(|f| f.name.wire == property)?;
    if field.ty != TypeRef::Scalar(crate::ir::Scalar::String) {
        return None;
    }
    let f = field.name.rust.as_str();
    match field.presence {
        Presence::Required => Some((
            format!("::std::option::Option::Some(m.{f}.as_str())"),
            format!("m.{f} = ::std::string::String::from(id);"),
        )),
        Presence::Optional | Presence::RequiredNullable => Some((
            format!("m.{f}.as_deref()"),
            format!("m.{f} = ::std::option::Option::Some(::std::string::String::from(id));"),
        )),
        Presence::OptionalNullable => None,
    }
}

fn set_item(
    api: &Api,
    messages: &[Message],
    id: TypeId,
    outer: &TypeExpr<'_>,
    rt: &str,
) -> Result<SetItem, Diagnostic> {
    let item = set_item_with_placeholder(api, messages, id, outer)?;
    // The bodies name the runtime as `RT`; spell it out.
    let fill = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| l.replace("RT::", &format!("{rt}::")))
            .collect()
    };
    Ok(SetItem {
        ty: item.ty,
        encode: fill(item.encode),
        decode_text: fill(item.decode_text),
        decode_binary: item.decode_binary.map(fill),
        correlation: item.correlation,
    })
}

fn set_item_with_placeholder(
    api: &Api,
    messages: &[Message],
    id: TypeId,
    outer: &TypeExpr<'_>,
) -> Result<SetItem, Diagnostic> {
    let ty = outer.render(&TypeRef::Named(id))?;
    let (repr, unknown) = match &api.types.get(id).kind {
        TypeKind::Union(union) => (union.repr.clone(), union.unknown.clone()),
        _ => (UnionRepr::Untagged, None),
    };
    let all_json = messages
        .iter()
        .all(|m| matches!(m.payload, Payload::Json(_)));
    let mut correlation = Vec::new();
    for message in messages {
        let (Some(pointer), Some(vty)) = (&message.correlation, variant_type(api, id, message))
        else {
            continue;
        };
        if let Some((get, set)) = correlation_access(api, &vty, pointer) {
            correlation.push((
                format!("Self::{}(m) => {get},", message.name.rust),
                format!("Self::{}(m) => {{ {set} true }}", message.name.rust),
            ));
        }
    }
    if all_json {
        let known = api_union_wires(api, id).join(", ");
        let decode = match (&repr, &unknown) {
            (UnionRepr::Internal { tag }, None) => vec![format!(
                "RT::ws::decode_tagged_json(text, {}, &[{known}])",
                string_literal(tag),
            )],
            (UnionRepr::Internal { tag }, Some(v)) => vec![format!(
                "RT::ws::decode_tagged_json_or(text, {}, &[{known}], Self::{v})",
                string_literal(tag),
            )],
            (UnionRepr::External, Some(v)) => vec![format!(
                "RT::ws::decode_wrapped_json_or(text, &[{known}], Self::{v})"
            )],
            _ => vec!["RT::ws::decode_json(text)".to_owned()],
        };
        // The catch-all is skipped by serde: its value is sent as it came.
        let encode = match &unknown {
            Some(v) => vec![
                "match self {".to_owned(),
                format!("Self::{v}(value) => RT::ws::encode_json(value),"),
                "_ => RT::ws::encode_json(self),".to_owned(),
                "}".to_owned(),
            ],
            None => vec!["RT::ws::encode_json(self)".to_owned()],
        };
        return Ok(SetItem {
            ty,
            encode,
            decode_text: decode,
            decode_binary: None,
            correlation,
        });
    }
    // Mixed payloads: each variant encodes and decodes by its own kind.
    let mut encode = vec!["match self {".to_owned()];
    let mut json_tries = Vec::new();
    let mut text_variant = None;
    let mut empty_variant = None;
    let mut binary_variant = None;
    for message in messages {
        let v = message.name.rust.as_str();
        let vty = variant_type(api, id, message);
        match (&message.payload, &vty) {
            (Payload::Json(_), Some(t)) => {
                encode.push(format!("Self::{v}(m) => RT::ws::encode_json(m),"));
                json_tries.push((v.to_owned(), outer.render(t)?));
            }
            (Payload::Text, Some(_)) => {
                encode.push(format!(
                    "Self::{v}(m) => ::std::result::Result::Ok(RT::ws::Frame::text(m.as_str())),"
                ));
                text_variant.get_or_insert_with(|| v.to_owned());
            }
            (Payload::Binary, Some(_)) => {
                encode.push(format!(
                    "Self::{v}(m) => ::std::result::Result::Ok(RT::ws::Frame::binary(m.as_slice())),"
                ));
                binary_variant.get_or_insert_with(|| v.to_owned());
            }
            (_, None) => {
                encode.push(format!(
                    "Self::{v} => ::std::result::Result::Ok(RT::ws::Frame::text(\"\")),"
                ));
                empty_variant.get_or_insert_with(|| v.to_owned());
            }
            (Payload::Empty, Some(t)) => {
                encode.push(format!("Self::{v}(m) => RT::ws::encode_json(m),"));
                json_tries.push((v.to_owned(), outer.render(t)?));
            }
        }
    }
    encode.push("}".to_owned());
    let mut decode = Vec::new();
    let mut first_error = false;
    for (i, (v, t)) in json_tries.iter().enumerate() {
        if i == 0 && text_variant.is_none() {
            decode.push(format!(
                "let error = match RT::ws::decode_json::<{t}>(text) {{ ::std::result::Result::Ok(m) => return ::std::result::Result::Ok(Self::{v}(m)), ::std::result::Result::Err(error) => error }};"
            ));
            first_error = true;
        } else {
            decode.push(format!(
                "if let ::std::result::Result::Ok(m) = RT::ws::decode_json::<{t}>(text) {{ return ::std::result::Result::Ok(Self::{v}(m)); }}"
            ));
        }
    }
    if let Some(v) = &empty_variant {
        decode.push(format!(
            "if text.trim().is_empty() {{ return ::std::result::Result::Ok(Self::{v}); }}"
        ));
    }
    if let Some(v) = &text_variant {
        decode.push(format!(
            "::std::result::Result::Ok(Self::{v}(::std::string::String::from(text)))"
        ));
    } else if first_error {
        decode.push("::std::result::Result::Err(error)".to_owned());
    } else {
        if empty_variant.is_none() {
            decode.push("let _ = text;".to_owned());
        }
        decode.push("::std::result::Result::Err(RT::ws::DecodeError::UnexpectedText)".to_owned());
    }
    let decode_binary = binary_variant.map(|v| {
        vec![format!(
            "::std::result::Result::Ok(Self::{v}(data.to_vec()))"
        )]
    });
    Ok(SetItem {
        ty,
        encode,
        decode_text: decode,
        decode_binary,
        correlation,
    })
}

/// The wire names (tag values) of a tagged union's variants, as string literals.
fn api_union_wires(api: &Api, id: TypeId) -> Vec<String> {
    match &api.types.get(id).kind {
        TypeKind::Union(union) => union
            .variants
            .iter()
            .map(|v| string_literal(&v.name.wire))
            .collect(),
        _ => Vec::new(),
    }
}

/// A piece of a channel address.
enum Piece<'a> {
    Literal(&'a str),
    Param(&'a str),
}

fn address_pieces(address: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = address;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            out.push(Piece::Literal(&rest[..open]));
        }
        out.push(Piece::Param(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest));
    }
    out
}

/// The axum route of an address, if axum can route it: it starts with `/`, every parameter is a
/// whole segment with a plain name, and the literal text has no routing syntax.
fn server_route(address: &str) -> Option<String> {
    if !address.starts_with('/') {
        return None;
    }
    for segment in address.split('/') {
        let plain_param = segment.len() > 2
            && segment.starts_with('{')
            && segment.ends_with('}')
            && segment[1..segment.len() - 1]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if !plain_param && segment.contains(['{', '}', '*', ':']) {
            return None;
        }
    }
    Some(address.to_owned())
}

/// The channel's address under its servers' pathname (`/v1` + `/auctions/{id}`); an address
/// that does not start with `/` (which axum cannot route) is left as written.
fn full_address(channel: &Channel) -> String {
    if channel.address.starts_with('/') {
        format!("{}{}", channel.pathname, channel.address)
    } else {
        channel.address.clone()
    }
}

/// The route with its parameter names blanked: two routes with the same shape conflict in axum.
fn route_shape(route: &str) -> String {
    route
        .split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn scheme_expr(security: &[Security], rt: &str) -> String {
    let items: Vec<String> = security
        .iter()
        .map(|s| match s {
            Security::Bearer => format!("{rt}::ws::server::Scheme::Bearer"),
            Security::Basic => format!("{rt}::ws::server::Scheme::Basic"),
            Security::ApiKey { location, name } => {
                let kind = match location {
                    ParamIn::Query => "ApiKeyQuery",
                    ParamIn::Cookie => "ApiKeyCookie",
                    ParamIn::Header | ParamIn::Path => "ApiKeyHeader",
                };
                format!("{rt}::ws::server::Scheme::{kind}({})", string_literal(name))
            }
        })
        .collect();
    format!("&[{}]", items.join(", "))
}

/// The request/reply operations a channel's server answers and its client calls: the request
/// travels client → server, one or more replies come back.
fn replies(
    api: &Api,
    channel: &Channel,
    inner: &TypeExpr<'_>,
) -> Result<Vec<ReplyItem>, Diagnostic> {
    let (Some(in_id), Some(out_id)) = (channel.to_server_enum, channel.to_client_enum) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for reply in &channel.replies {
        let Some(request) = channel
            .to_server
            .iter()
            .find(|m| m.name.wire == reply.request)
        else {
            continue;
        };
        let answers: Vec<&Message> = reply
            .replies
            .iter()
            .filter_map(|r| channel.to_client.iter().find(|m| &m.name.wire == r))
            .collect();
        let Some(request_ty) = variant_type(api, in_id, request) else {
            continue;
        };
        if answers.is_empty() || answers.len() != reply.replies.len() {
            continue;
        }
        let (reply_ty, reply_variant) = match answers.as_slice() {
            [one] => match variant_type(api, out_id, one) {
                Some(t) => (inner.render(&t)?, Some(one.name.rust.as_str().to_owned())),
                None => (inner.render(&TypeRef::Named(out_id))?, None),
            },
            _ => (inner.render(&TypeRef::Named(out_id))?, None),
        };
        let mut docs = docs_literals(&request.docs);
        if !docs.is_empty() {
            docs.push(string_literal(""));
        }
        docs.push(string_literal(&format!(
            " Request/reply `{}`: answers a `{}` request; the reply's correlation id is set to the request's.",
            reply.name.wire, request.name.wire
        )));
        // The generated traits and clients have methods of their own.
        const TAKEN: &[&str] = &[
            "authenticate",
            "on_connect",
            "on_message",
            "on_invalid",
            "on_disconnect",
            "connect",
            "request",
            "send",
            "close",
            "sender",
        ];
        let mut method = reply.name.rust.as_str().to_owned();
        if TAKEN.contains(&method.as_str()) {
            method.push_str("_call");
        }
        out.push(ReplyItem {
            docs,
            ident: method,
            request_variant: request.name.rust.as_str().to_owned(),
            request_ty: inner.render(&request_ty)?,
            reply_ty,
            reply_variant,
        });
    }
    Ok(out)
}

fn server_module(
    api: &Api,
    rt: &str,
    channels: &[&Channel],
    inner: &TypeExpr<'_>,
) -> Result<String, Diagnostic> {
    let mut items = Vec::new();
    let mut routes = Vec::new();
    let mut shapes: Vec<String> = Vec::new();
    for channel in channels {
        let base = channel.name.rust.unraw();
        let snake = ident(&channel.name.wire, Case::Snake);
        let snake = snake.unraw();
        let mut extract = Vec::new();
        let mut needs_uri = false;
        let mut needs_headers = false;
        let mut has_path = false;
        for param in &channel.params {
            let name = string_literal(&param.name.wire);
            let list = param_type(api, &param.ty, inner)?
                .is_some_and(|t| t.starts_with("::std::vec::Vec"));
            let need = if param.required {
                "required"
            } else {
                "optional"
            };
            let expr = match (param.location, list) {
                (ParamIn::Path, _) => {
                    has_path = true;
                    format!("path.{need}({name})")
                }
                (ParamIn::Query, true) => {
                    needs_uri = true;
                    format!("{rt}::params::query_list(uri, {name}, {})", param.required)
                }
                (ParamIn::Query, false) => {
                    needs_uri = true;
                    format!("{rt}::params::query_{need}(uri, {name})")
                }
                (ParamIn::Header, true) => {
                    needs_headers = true;
                    format!(
                        "{rt}::params::header_list(headers, {name}, {})",
                        param.required
                    )
                }
                (ParamIn::Header, false) => {
                    needs_headers = true;
                    format!("{rt}::params::header_{need}(headers, {name})")
                }
                (ParamIn::Cookie, _) => {
                    needs_headers = true;
                    format!("{rt}::params::cookie_{need}(headers, {name})")
                }
            };
            extract.push((param.name.rust.as_str().to_owned(), expr));
        }
        let secured = !channel.security.is_empty();
        if secured {
            needs_uri = true;
            needs_headers = true;
        }
        let route = server_route(&full_address(channel));
        if let Some(route) = &route {
            let shape = route_shape(route);
            if !shapes.contains(&shape) {
                shapes.push(shape);
                // A shared socket's first channel routes it for all of them.
                let router_fn = match &channel.socket {
                    Some(socket) => format!("{}_router", ident(socket.rust.unraw(), Case::Snake)),
                    None => format!("{snake}_router"),
                };
                routes.push(format!(
                    ".merge({router_fn}(service.clone(), config.clone()))"
                ));
            }
        }
        let mut docs = docs_literals(&channel.docs);
        if !docs.is_empty() {
            docs.push(string_literal(""));
        }
        docs.push(string_literal(&format!(
            " The `{}` channel at `{}`: implement this trait and serve [`router`] (or [`{}_router`]).",
            channel.name.wire, full_address(channel), snake
        )));
        if route.is_none() {
            docs.push(string_literal(
                " Its address is not one axum can route, so the router does not serve it.",
            ));
        }
        items.push(ServerChannel {
            docs,
            trait_ident: format!("{base}Channel"),
            handler_ident: format!("{base}Handler"),
            upgrade_fn: format!("{snake}_upgrade"),
            accept_fn: format!("{snake}_accept"),
            router_fn: format!("{snake}_router"),
            route: route.map(|r| string_literal(&r)),
            params_ty: format!("super::{}", params_ident(channel)),
            in_ty: set_type(channel.to_server_enum, inner, rt)?,
            out_ty: set_type(channel.to_client_enum, inner, rt)?,
            has_in: channel.to_server_enum.is_some(),
            secured,
            schemes: scheme_expr(&channel.security, rt),
            has_path,
            needs_uri,
            needs_headers,
            extract,
            replies: replies(api, channel, inner)?,
        });
    }
    let mut server_sockets = Vec::new();
    for socket in sockets(channels) {
        let Some(route) = socket
            .members
            .first()
            .and_then(|c| server_route(&full_address(c)))
        else {
            continue;
        };
        let stem = ident(socket.name.rust.unraw(), Case::Snake);
        let stem = stem.unraw();
        let mut members = Vec::new();
        let (mut has_path, mut needs_uri, mut needs_headers) = (false, false, false);
        let mut bound = Vec::new();
        for channel in &socket.members {
            let Some(item) = items
                .iter()
                .find(|i| i.trait_ident == format!("{}Channel", channel.name.rust.unraw()))
            else {
                continue;
            };
            has_path |= item.has_path;
            needs_uri |= item.needs_uri;
            needs_headers |= item.needs_headers;
            let mut args = String::new();
            for (needed, arg) in [
                (item.has_path, ", &path"),
                (item.needs_uri, ", &uri"),
                (item.needs_headers, ", &headers"),
            ] {
                if needed {
                    args.push_str(arg);
                }
            }
            let field = ident(channel.name.rust.unraw(), Case::Snake);
            let earlier = members
                .iter()
                .map(|m: &SocketMember| m.local.clone())
                .collect();
            members.push(SocketMember {
                earlier,
                local: format!("{}_handler", field.unraw()),
                field: field.as_str().to_owned(),
                handler_ident: item.handler_ident.clone(),
                accept_fn: item.accept_fn.clone(),
                args,
                variant: channel
                    .to_server_enum
                    .map(|_| channel.name.rust.unraw().to_owned()),
            });
            bound.push(item.trait_ident.clone());
        }
        let names: Vec<String> = socket
            .members
            .iter()
            .map(|c| format!("`{}`", c.name.wire))
            .collect();
        let first = socket
            .members
            .first()
            .map(|c| c.name.wire.as_str())
            .unwrap_or_default();
        let in_enum = socket
            .members
            .iter()
            .any(|c| c.to_server_enum.is_some())
            .then(|| format!("super::{}", combined_ident(socket.name, true)));
        let out_ty = if socket.members.iter().any(|c| c.to_client_enum.is_some()) {
            format!("super::{}", combined_ident(socket.name, false))
        } else {
            format!("{rt}::ws::NoMessages")
        };
        server_sockets.push(ServerSocket {
            docs: doc_literals([
                format!("An axum router serving the socket at `{}`, which the channels {} share: one connection", socket.name.wire, names.join(", ")).as_str(),
                "per client, each of its messages handed to the channel it belongs to, every channel's messages",
                "to the client queued on one outbound queue. Every channel's `on_connect` runs on the upgrade",
                "request, in the order above; if one refuses it, those already accepted get `on_disconnect`",
                format!("with [`Disconnect::Dropped`]({rt}::ws::server::Disconnect::Dropped). A frame no channel decodes").as_str(),
                format!("goes to `{first}`'s `on_invalid`.").as_str(),
            ]),
            router_fn: format!("{stem}_router"),
            upgrade_fn: format!("{stem}_upgrade"),
            handler_ident: format!("{}Handler", socket.name.rust.unraw()),
            bound: bound.join(" + "),
            route: string_literal(&route),
            in_ty: in_enum.clone().unwrap_or_else(|| format!("{rt}::ws::NoMessages")),
            out_ty,
            in_enum,
            has_path,
            needs_uri,
            needs_headers,
            members,
        });
    }
    let bound = items
        .iter()
        .map(|c| c.trait_ident.clone())
        .collect::<Vec<_>>()
        .join(" + ");
    super::render_template(
        &ServerModule {
            rt: rt.to_owned(),
            channels: items,
            bound,
            routes,
            sockets: server_sockets,
        },
        "ws server",
    )
}

fn set_type(id: Option<TypeId>, inner: &TypeExpr<'_>, rt: &str) -> Result<String, Diagnostic> {
    match id {
        Some(id) => inner.render(&TypeRef::Named(id)),
        None => Ok(format!("{rt}::ws::NoMessages")),
    }
}

fn client_module(
    api: &Api,
    rt: &str,
    channels: &[&Channel],
    inner: &TypeExpr<'_>,
) -> Result<String, Diagnostic> {
    let mut items = Vec::new();
    for channel in channels {
        let mut url = Vec::new();
        let mut reads_params = false;
        let address = if channel.address.starts_with('/') {
            full_address(channel)
        } else {
            format!("{}/{}", channel.pathname, channel.address)
        };
        for piece in address_pieces(&address) {
            match piece {
                Piece::Literal(text) => url.push(format!("url.literal({});", string_literal(text))),
                Piece::Param(name) => {
                    match channel
                        .params
                        .iter()
                        .find(|p| p.location == ParamIn::Path && p.name.wire == name)
                    {
                        Some(p) if p.required => {
                            reads_params = true;
                            url.push(format!("url.path(&params.{});", p.name.rust));
                        }
                        Some(p) => {
                            reads_params = true;
                            url.push(format!(
                                "if let ::std::option::Option::Some(value) = &params.{} {{ url.path(value); }}",
                                p.name.rust
                            ));
                        }
                        None => url.push(format!(
                            "url.literal({});",
                            string_literal(&format!("{{{name}}}"))
                        )),
                    }
                }
            }
        }
        let mut headers = Vec::new();
        for p in &channel.params {
            let name = string_literal(&p.name.wire);
            let field = p.name.rust.as_str();
            let list =
                param_type(api, &p.ty, inner)?.is_some_and(|t| t.starts_with("::std::vec::Vec"));
            let (target, line) = match (p.location, p.required || list) {
                (ParamIn::Query, true) if list => (
                    &mut url,
                    format!("url.query_list({name}, &params.{field});"),
                ),
                (ParamIn::Query, true) => {
                    (&mut url, format!("url.query({name}, &params.{field});"))
                }
                (ParamIn::Query, false) => (
                    &mut url,
                    format!(
                        "if let ::std::option::Option::Some(value) = &params.{field} {{ url.query({name}, value); }}"
                    ),
                ),
                (ParamIn::Header, true) => (
                    &mut headers,
                    format!(
                        "{rt}::params::set_header(&mut headers, {name}, &params.{field}).map_err(invalid)?;"
                    ),
                ),
                (ParamIn::Header, false) => (
                    &mut headers,
                    format!(
                        "if let ::std::option::Option::Some(value) = &params.{field} {{ {rt}::params::set_header(&mut headers, {name}, value).map_err(invalid)?; }}"
                    ),
                ),
                (ParamIn::Cookie, true) => (
                    &mut headers,
                    format!(
                        "{rt}::params::add_cookie(&mut headers, {name}, &params.{field}).map_err(invalid)?;"
                    ),
                ),
                (ParamIn::Cookie, false) => (
                    &mut headers,
                    format!(
                        "if let ::std::option::Option::Some(value) = &params.{field} {{ {rt}::params::add_cookie(&mut headers, {name}, value).map_err(invalid)?; }}"
                    ),
                ),
                (ParamIn::Path, _) => continue,
            };
            reads_params = true;
            target.push(line);
        }
        // The first API-key scheme says where a key goes; bearer and basic use `Authorization`.
        let mut credential = Vec::new();
        if let Some(Security::ApiKey { location, name }) = channel
            .security
            .iter()
            .find(|s| matches!(s, Security::ApiKey { .. }))
        {
            let name = string_literal(name);
            credential.push(match location {
                ParamIn::Query => format!(
                    "if let ::std::option::Option::Some({rt}::ws::Credential::ApiKey(key)) = credential {{ url.query({name}, key); }}"
                ),
                ParamIn::Cookie => format!(
                    "if let ::std::option::Option::Some({rt}::ws::Credential::ApiKey(key)) = credential {{ {rt}::params::add_cookie(&mut headers, {name}, key).map_err(invalid)?; }}"
                ),
                ParamIn::Header | ParamIn::Path => format!(
                    "if let ::std::option::Option::Some({rt}::ws::Credential::ApiKey(key)) = credential {{ {rt}::params::set_header(&mut headers, {name}, key).map_err(invalid)?; }}"
                ),
            });
        }
        let mut docs = docs_literals(&channel.docs);
        if !docs.is_empty() {
            docs.push(string_literal(""));
        }
        docs.push(string_literal(&format!(
            " A typed client of the `{}` channel at `{}`.",
            channel.name.wire,
            full_address(channel)
        )));
        let lines = headers.iter().chain(&credential);
        let uses_invalid = lines.clone().any(|l| l.contains("map_err(invalid)"));
        let mut_headers = lines.clone().any(|l| l.contains("&mut headers"));
        items.push(ClientChannel {
            uses_invalid,
            mut_headers,
            docs,
            ident: format!("{}Client", channel.name.rust.unraw()),
            params_ty: format!("super::{}", params_ident(channel)),
            in_ty: set_type(channel.to_client_enum, inner, rt)?,
            out_ty: set_type(channel.to_server_enum, inner, rt)?,
            secured: !channel.security.is_empty(),
            reads_params,
            url,
            headers,
            credential,
            replies: replies(api, channel, inner)?,
        });
    }
    let mut client_sockets = Vec::new();
    for socket in sockets(channels) {
        let names: Vec<String> = socket
            .members
            .iter()
            .map(|c| format!("`{}`", c.name.wire))
            .collect();
        let first = socket
            .members
            .first()
            .map(|c| format!("{}Client", c.name.rust.unraw()))
            .unwrap_or_default();
        let ty = |to_server: bool| {
            if socket
                .members
                .iter()
                .any(|c| direction_enum(c, to_server).is_some())
            {
                format!("super::{}", combined_ident(socket.name, to_server))
            } else {
                format!("{rt}::ws::NoMessages")
            }
        };
        client_sockets.push(ClientSocket {
            docs: doc_literals([
                format!(
                    "A typed client of the socket at `{}`, which the channels {} share: one connection",
                    socket.name.wire,
                    names.join(", ")
                )
                .as_str(),
                "sends the messages of every channel, and its receiver yields what the server sends on any",
                "of them.",
                "",
                format!("[`connect`](Self::connect) takes the request a channel's client builds (for example with [`{first}::request`]);").as_str(),
                "when the channels declare different query or header parameters, add the others' to it.",
            ]),
            ident: format!("{}Client", socket.name.rust.unraw()),
            in_ty: ty(false),
            out_ty: ty(true),
        });
    }
    super::render_template(
        &ClientModule {
            rt: rt.to_owned(),
            channels: items,
            sockets: client_sockets,
        },
        "ws client",
    )
}
