//! Lowering AsyncAPI 3.x (and 2.x, converted to the 3.x shape on load): channels, their
//! handshake parameters, their messages by direction, request/reply pairs and handshake security.
//!
//! Direction is always stated from the server's side in the IR (`to_server`, `to_client`). A
//! document written from the server's side (the common case) maps `receive` to `to_server`; one
//! written from a client's side (`--role client`, or `x-wiregen-role: client`) maps `send` there.

use serde_json::{Map, Value};

use super::schema::{SchemaLowerer, Variant, common_const_property, docs_of, joined, wrapper_keys};
use crate::diag::{Diagnostic, Diagnostics, Kind, Location};
use crate::ir::{
    Channel, ChannelProtocol, Docs, Message, Param, ParamIn, Payload, RequestReply, Role, Scalar,
    Security, TypeDef, TypeId, TypeKind, TypeRef, UnionDef, UnionRepr, UnionVariant,
};
use crate::names::{Case, Name, Namespace};
use crate::spec::{Loc, Sources};

/// A message read from the spec, and where its JSON payload schema is (lowered later).
type PendingMessage = (Message, Option<Loc>);

/// A channel's messages as written, before directions are known.
struct ChannelMessages {
    /// (key in `messages`, where the entry is written, where it points after `$ref`s)
    entries: Vec<(String, Loc, Loc)>,
}

/// Which received message enums get the opt-in `Unknown(serde_json::Value)` variant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fallback {
    /// The client → server enum (received by the generated server).
    pub to_server: bool,
    /// The server → client enum (received by the generated client).
    pub to_client: bool,
}

/// Lower every channel that an operation uses (channels no operation mentions carry no traffic
/// this document describes, and are skipped with a note).
pub fn lower(
    root: &Loc,
    role: Role,
    fallback: Fallback,
    types: &mut SchemaLowerer<'_>,
    diags: &mut Diagnostics,
) -> Vec<Channel> {
    let sources = types.sources();
    let Some(Value::Object(doc)) = sources.get(root) else {
        return Vec::new();
    };
    let default_content_type = doc
        .get("defaultContentType")
        .and_then(Value::as_str)
        .unwrap_or("application/json")
        .to_owned();
    let servers = server_protocols(sources, root);
    let pathnames = server_pathnames(sources, &servers, diags);
    let channels_loc = root.child("channels");
    let channel_keys: Vec<String> = match sources.get(&channels_loc) {
        Some(Value::Object(c)) => c.keys().cloned().collect(),
        _ => Vec::new(),
    };
    // Channel locations (the map entry, and after `$ref`s) so operations can find theirs.
    let mut channel_locs = Vec::new();
    for key in &channel_keys {
        let entry = channels_loc.child(key);
        match sources.deref(&entry) {
            // Only objects are channels; keeping the others would shift the indices operations
            // find their channels by.
            Ok(target) if matches!(sources.get(&target), Some(Value::Object(_))) => {
                channel_locs.push((key.clone(), entry, target));
            }
            Ok(_) => diags.push(
                Diagnostic::error(Kind::Invalid, format!("channel `{key}` must be an object"))
                    .at(sources.locate(&entry)),
            ),
            Err(d) => diags.push(d),
        }
    }
    let mut channel_names = Namespace::new();
    let mut out: Vec<(Channel, ChannelMessages, usize)> = Vec::new();
    for (key, entry, target) in &channel_locs {
        let Some(Value::Object(channel)) = sources.get(target) else {
            continue; // never: `channel_locs` holds objects only
        };
        let name = channel_names.claim_name(key, Case::Camel).0;
        let address = channel
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_owned();
        let protocol = channel_protocol(sources, target, channel, &servers, diags);
        let pathname = match protocol {
            ChannelProtocol::WebSocket => {
                channel_pathname(sources, key, entry, target, channel, &pathnames, diags)
            }
            ChannelProtocol::Other(_) => String::new(),
        };
        let params = channel_params(types, target, channel, &address, name.rust.unraw(), diags);
        let security = channel_security(sources, target, channel, &servers, diags);
        let messages = channel_messages(sources, target, diags);
        let mut docs = Docs::default();
        for k in ["title", "summary", "description"] {
            if let Some(Value::String(text)) = channel.get(k) {
                docs.push_paragraph(Docs::from_text(text));
            }
        }
        let channel_ir = Channel {
            name,
            docs,
            address,
            pathname,
            protocol,
            params,
            to_server: Vec::new(),
            to_client: Vec::new(),
            to_server_enum: None,
            to_client_enum: None,
            replies: Vec::new(),
            security,
            location: sources.locate(entry),
            socket: None,
        };
        out.push((channel_ir, messages, 0));
    }

    // Operations decide which messages go which way.
    let ops_loc = root.child("operations");
    let op_keys: Vec<String> = match sources.get(&ops_loc) {
        Some(Value::Object(o)) => o.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let mut assigned: Vec<(usize, bool, String, Loc)> = Vec::new(); // (channel, to_server, key, msg loc)
    let mut reply_names = Namespace::new();
    for key in &op_keys {
        let Ok(op_loc) = sources.deref(&ops_loc.child(key)) else {
            continue;
        };
        let Some(Value::Object(op)) = sources.get(&op_loc) else {
            continue;
        };
        let action = op.get("action").and_then(Value::as_str);
        let to_server = match (action, role) {
            (Some("receive"), Role::Server) | (Some("send"), Role::Client) => true,
            (Some("send"), Role::Server) | (Some("receive"), Role::Client) => false,
            _ => {
                diags.push(
                    Diagnostic::error(
                        Kind::Invalid,
                        format!("operation `{key}` needs `action: send` or `action: receive`"),
                    )
                    .at(sources.locate(&op_loc)),
                );
                continue;
            }
        };
        let Some(channel_index) =
            find_channel(sources, &op_loc.child("channel"), &channel_locs, diags)
        else {
            continue;
        };
        let request = op_messages(sources, &op_loc, &out[channel_index].1, diags);
        for (msg_key, msg_loc) in &request {
            assigned.push((channel_index, to_server, msg_key.clone(), msg_loc.clone()));
        }
        out[channel_index].2 += 1;
        // `reply`: the answering messages travel the other way, on the reply's channel (or this one).
        let reply_loc = match sources.deref(&op_loc.child("reply")) {
            Ok(l) if sources.get(&l).is_some() => l,
            _ => continue,
        };
        let reply_channel = if sources.get(&reply_loc.child("channel")).is_some() {
            find_channel(sources, &reply_loc.child("channel"), &channel_locs, diags)
                .unwrap_or(channel_index)
        } else {
            channel_index
        };
        let replies = op_messages(sources, &reply_loc, &out[reply_channel].1, diags);
        for (msg_key, msg_loc) in &replies {
            assigned.push((reply_channel, !to_server, msg_key.clone(), msg_loc.clone()));
        }
        out[reply_channel].2 += 1;
        let correlation = request
            .iter()
            .chain(&replies)
            .find_map(|(_, m)| correlation_pointer(sources, m));
        out[channel_index].0.replies.push(RequestReply {
            name: reply_names.claim_name(key, Case::Snake).0,
            request: request.first().map(|(k, _)| k.clone()).unwrap_or_default(),
            replies: replies.iter().map(|(k, _)| k.clone()).collect(),
            correlation,
        });
    }

    // Per channel and direction: (message, where its JSON payload schema is).
    let mut pending: Vec<[Vec<PendingMessage>; 2]> =
        out.iter().map(|_| [Vec::new(), Vec::new()]).collect();
    for (index, to_server, key, msg_loc) in assigned {
        let list = &mut pending[index][usize::from(to_server)];
        if list.iter().any(|(m, _)| m.name.wire == key) {
            continue;
        }
        list.push(read_message(sources, &msg_loc, &key, &default_content_type));
    }

    let mut channels = Vec::new();
    for (index, (mut channel, _, operations)) in out.into_iter().enumerate() {
        if operations == 0 {
            diags.push(
                Diagnostic::note(
                    Kind::Conversion,
                    format!(
                        "channel `{}` is used by no operation, so nothing is generated for it",
                        channel.name.wire
                    ),
                )
                .at(channel.location.clone()),
            );
            continue;
        }
        let base = channel.name.rust.unraw().to_owned();
        let [to_client, to_server] = std::mem::take(&mut pending[index]);
        (channel.to_server, channel.to_server_enum) = direction_enum(
            types,
            to_server,
            &base,
            Direction {
                suffix: "ClientMessage",
                label: "client → server",
                unknown: fallback.to_server,
            },
            channel.location.clone(),
            diags,
        );
        (channel.to_client, channel.to_client_enum) = direction_enum(
            types,
            to_client,
            &base,
            Direction {
                suffix: "ServerMessage",
                label: "server → client",
                unknown: fallback.to_client,
            },
            channel.location.clone(),
            diags,
        );
        channels.push(channel);
    }
    shared_sockets(&mut channels, types, &mut channel_names, diags);
    channels
}

/// Several WebSocket channels on one address share one socket: every frame in either direction
/// must tell which channel it belongs to. A channel joins the socket of the first channel on its
/// address when, in each direction, its messages are JSON told apart the same way (the same tag
/// property, or one-key wrappers) and none of its tags is already taken by a channel of that
/// socket. Any other channel on a taken address is left out of the router, with a warning.
fn shared_sockets(
    channels: &mut [Channel],
    types: &SchemaLowerer<'_>,
    names: &mut Namespace,
    diags: &mut Diagnostics,
) {
    let shape = |channel: &Channel| -> String {
        format!("{}{}", channel.pathname, channel.address)
            .split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    };
    let full = |channel: &Channel| format!("{}{}", channel.pathname, channel.address);
    let ws: Vec<usize> = (0..channels.len())
        .filter(|&i| channels[i].protocol == ChannelProtocol::WebSocket)
        .collect();
    // Per leader: the members so far and, per direction, (how frames are told apart, tags taken).
    let mut sockets: Vec<(usize, Vec<usize>, [SocketSide; 2])> = Vec::new();
    for (n, &i) in ws.iter().enumerate() {
        let Some(&first) = ws[..n]
            .iter()
            .find(|&&j| shape(&channels[j]) == shape(&channels[i]))
        else {
            continue;
        };
        let leader = match sockets.iter().position(|(l, ..)| *l == first) {
            Some(at) => at,
            None => {
                let sides = [
                    side(
                        types,
                        channels[first].to_server_enum,
                        &channels[first].to_server,
                    ),
                    side(
                        types,
                        channels[first].to_client_enum,
                        &channels[first].to_client,
                    ),
                ];
                sockets.push((first, vec![first], sides));
                sockets.len() - 1
            }
        };
        let reason = if !channels[i].address.starts_with('/') {
            Some("its address is not a path".to_owned())
        } else if full(&channels[i]) != full(&channels[first]) {
            Some("its path parameters are named differently".to_owned())
        } else {
            let joined = [
                join(
                    &sockets[leader].2[0],
                    &side(types, channels[i].to_server_enum, &channels[i].to_server),
                ),
                join(
                    &sockets[leader].2[1],
                    &side(types, channels[i].to_client_enum, &channels[i].to_client),
                ),
            ];
            match joined {
                [Ok(to_server), Ok(to_client)] => {
                    sockets[leader].1.push(i);
                    sockets[leader].2 = [to_server, to_client];
                    None
                }
                [Err(e), _] => Some(format!("its client → server messages {e}")),
                [_, Err(e)] => Some(format!("its server → client messages {e}")),
            }
        };
        if let Some(reason) = reason {
            let (channel, first) = (&channels[i], &channels[first]);
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!(
                        "channel `{}` has the same address as `{}` (`{}`) but cannot share its socket ({reason}): the generated router serves that address without `{}`",
                        channel.name.wire, first.name.wire, channel.address, channel.name.wire
                    ),
                )
                .at(channel.location.clone())
                .help("channels on one address share one socket when their messages are JSON with the same tag property (or one-key wrappers) and distinct tags; its client is still generated"),
            );
        }
    }
    for (_, members, _) in sockets {
        if members.len() < 2 {
            continue;
        }
        let wire = full(&channels[members[0]]);
        let name = Name {
            wire: wire.clone(),
            rust: names
                .claim_name(&format!("{wire} socket"), Case::Camel)
                .0
                .rust,
        };
        for i in members {
            channels[i].socket = Some(name.clone());
        }
    }
}

/// How the frames of one direction of a shared socket are told apart.
#[derive(Clone, Debug, PartialEq)]
enum SocketSide {
    /// No channel has messages this way yet.
    Empty,
    /// JSON told apart by `repr` (internally tagged, or one-key wrappers), with the tags taken.
    Tagged(UnionRepr, Vec<String>),
    /// Something that cannot be told apart from another channel's messages.
    Opaque,
}

fn side(types: &SchemaLowerer<'_>, id: Option<TypeId>, messages: &[Message]) -> SocketSide {
    let Some(id) = id else {
        return SocketSide::Empty;
    };
    if !messages
        .iter()
        .all(|m| matches!(m.payload, Payload::Json(_)))
    {
        return SocketSide::Opaque;
    }
    match &types.def(id).kind {
        TypeKind::Union(union)
            if matches!(union.repr, UnionRepr::Internal { .. } | UnionRepr::External) =>
        {
            SocketSide::Tagged(
                union.repr.clone(),
                union.variants.iter().map(|v| v.name.wire.clone()).collect(),
            )
        }
        _ => SocketSide::Opaque,
    }
}

/// The socket's side with a channel's messages added, or why they cannot be.
fn join(socket: &SocketSide, channel: &SocketSide) -> Result<SocketSide, String> {
    match (socket, channel) {
        (s, SocketSide::Empty) => Ok(s.clone()),
        (SocketSide::Empty, c @ SocketSide::Tagged(..)) => Ok(c.clone()),
        (SocketSide::Tagged(repr, taken), SocketSide::Tagged(theirs, tags)) => {
            if repr != theirs {
                return Err("are told apart differently (another tag property)".to_owned());
            }
            if let Some(tag) = tags.iter().find(|t| taken.contains(t)) {
                return Err(format!("reuse the tag `{tag}`"));
            }
            Ok(SocketSide::Tagged(
                repr.clone(),
                taken.iter().chain(tags).cloned().collect(),
            ))
        }
        _ => Err("have no tag to tell them apart".to_owned()),
    }
}

/// The pathname of each `ws`/`wss` server: (server, its pathname with variables substituted
/// by their defaults, normalised to `/a/b` or empty). `None` when it cannot be used (a variable
/// without a default, or routing syntax), with a warning.
fn server_pathnames(
    sources: &Sources,
    servers: &[(String, Loc, String)],
    diags: &mut Diagnostics,
) -> Vec<(Loc, String, Option<String>)> {
    let mut out = Vec::new();
    for (name, loc, protocol) in servers {
        if protocol != "ws" && protocol != "wss" {
            continue;
        }
        let at = loc.child("pathname");
        let raw = match sources.get(&at) {
            None => String::new(),
            Some(Value::String(text)) => text.clone(),
            Some(_) => {
                diags.push(
                    Diagnostic::warning(Kind::Invalid, "a server's `pathname` must be a string")
                        .at(sources.locate(&at)),
                );
                out.push((loc.clone(), name.clone(), None));
                continue;
            }
        };
        let mut text = String::new();
        let mut rest = raw.as_str();
        let mut usable = true;
        while let Some(open) = rest.find('{') {
            let Some(len) = rest[open..].find('}') else {
                break;
            };
            text.push_str(&rest[..open]);
            let variable = &rest[open + 1..open + len];
            let default = sources
                .deref(&loc.child("variables").child(variable))
                .ok()
                .and_then(|v| sources.get(&v.child("default")))
                .and_then(Value::as_str);
            match default {
                Some(value) => text.push_str(value),
                None => {
                    diags.push(
                        Diagnostic::warning(
                            Kind::Unsupported,
                            format!(
                                "server `{name}`'s pathname uses the variable `{variable}`, which has no `default`"
                            ),
                        )
                        .at(sources.locate(&at))
                        .help("its channels are routed and connected to without the pathname; give the variable a `default`"),
                    );
                    usable = false;
                    break;
                }
            }
            rest = &rest[open + len + 1..];
        }
        if !usable {
            out.push((loc.clone(), name.clone(), None));
            continue;
        }
        text.push_str(rest);
        let trimmed = text.trim().trim_end_matches('/');
        let pathname = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_owned()
        } else {
            format!("/{trimmed}")
        };
        // A pathname is literal text in a route and a URL: no routing syntax, nothing that
        // changes what the URL means.
        if pathname.contains(['{', '}', '*', ':', '?', '#', '%', ' ']) || pathname.contains("//") {
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!(
                        "server `{name}`'s pathname `{pathname}` cannot be used as a route prefix"
                    ),
                )
                .at(sources.locate(&at))
                .help("its channels are routed and connected to without the pathname"),
            );
            out.push((loc.clone(), name.clone(), None));
            continue;
        }
        out.push((loc.clone(), name.clone(), Some(pathname)));
    }
    out
}

/// The pathname a WebSocket channel is served under: that of its `ws`/`wss` servers (its own
/// list, else every server of the document) when they all agree; empty otherwise, with a
/// warning when they disagree.
fn channel_pathname(
    sources: &Sources,
    key: &str,
    entry: &Loc,
    channel_loc: &Loc,
    channel: &Map<String, Value>,
    pathnames: &[(Loc, String, Option<String>)],
    diags: &mut Diagnostics,
) -> String {
    let mine: Vec<&(Loc, String, Option<String>)> = match channel.get("servers") {
        Some(Value::Array(list)) => (0..list.len())
            .filter_map(|i| sources.deref(&channel_loc.child("servers").index(i)).ok())
            .filter_map(|server| pathnames.iter().find(|(l, _, _)| *l == server))
            .collect(),
        _ => pathnames.iter().collect(),
    };
    let Some((_, first_name, first)) = mine.first() else {
        return String::new();
    };
    // A server whose pathname cannot be used was warned about already.
    let Some(first) = first else {
        return String::new();
    };
    for (_, name, pathname) in &mine[1..] {
        match pathname {
            Some(p) if p == first => {}
            Some(p) => {
                let shown = |p: &str| {
                    if p.is_empty() {
                        "/".to_owned()
                    } else {
                        p.to_owned()
                    }
                };
                diags.push(
                    Diagnostic::warning(
                        Kind::Unsupported,
                        format!(
                            "the servers of channel `{key}` disagree on the pathname (`{first_name}`: `{}`, `{name}`: `{}`), so it is served and connected to without one",
                            shown(first),
                            shown(p)
                        ),
                    )
                    .at(sources.locate(entry))
                    .help("give the channel's servers the same pathname, or list one server in the channel's `servers`"),
                );
                return String::new();
            }
            None => return String::new(),
        }
    }
    first.clone()
}

/// `servers`: name → protocol.
fn server_protocols(sources: &Sources, root: &Loc) -> Vec<(String, Loc, String)> {
    let servers_loc = root.child("servers");
    let Some(Value::Object(servers)) = sources.get(&servers_loc) else {
        return Vec::new();
    };
    servers
        .keys()
        .filter_map(|name| {
            let loc = sources.deref(&servers_loc.child(name)).ok()?;
            let protocol = sources
                .get(&loc)?
                .get("protocol")?
                .as_str()?
                .to_ascii_lowercase();
            Some((name.clone(), loc, protocol))
        })
        .collect()
}

fn channel_protocol(
    sources: &Sources,
    channel_loc: &Loc,
    channel: &Map<String, Value>,
    servers: &[(String, Loc, String)],
    diags: &mut Diagnostics,
) -> ChannelProtocol {
    // The channel's own server list, else every server of the document.
    let mut protocols: Vec<String> = Vec::new();
    if let Some(Value::Array(list)) = channel.get("servers") {
        for i in 0..list.len() {
            if let Ok(server) = sources.deref(&channel_loc.child("servers").index(i))
                && let Some((_, _, protocol)) = servers.iter().find(|(_, l, _)| *l == server)
            {
                protocols.push(protocol.clone());
            }
        }
    } else {
        protocols.extend(servers.iter().map(|(_, _, p)| p.clone()));
    }
    let has_ws_binding = channel.get("bindings").and_then(|b| b.get("ws")).is_some();
    if protocols.iter().any(|p| p == "ws" || p == "wss") || has_ws_binding {
        return ChannelProtocol::WebSocket;
    }
    if protocols.is_empty() {
        diags.push(
            Diagnostic::note(
                Kind::Conversion,
                "no server names a protocol for this channel; WebSocket is assumed",
            )
            .at(sources.locate(channel_loc)),
        );
        return ChannelProtocol::WebSocket;
    }
    ChannelProtocol::Other(protocols.swap_remove(0))
}

/// Address parameters (path), then the `ws` binding's `query` and `headers` schemas.
fn channel_params(
    types: &mut SchemaLowerer<'_>,
    channel_loc: &Loc,
    channel: &Map<String, Value>,
    address: &str,
    base: &str,
    diags: &mut Diagnostics,
) -> Vec<Param> {
    let sources = types.sources();
    let mut names = Namespace::new();
    let mut params = Vec::new();
    for wire in address_params(address) {
        let param_loc = sources
            .deref(&channel_loc.child("parameters").child(&wire))
            .ok();
        let param = param_loc
            .as_ref()
            .and_then(|l| sources.get(l))
            .and_then(Value::as_object);
        if param.is_none() && channel.contains_key("parameters") {
            diags.push(
                Diagnostic::warning(
                    Kind::Invalid,
                    format!("address parameter `{wire}` is not described in `parameters`"),
                )
                .at(sources.locate(&channel_loc.child("address"))),
            );
        }
        // 2.x parameters have a `schema`; 3.x parameters are strings (with an optional `enum`).
        let ty = match (param, &param_loc) {
            (Some(p), Some(l)) if p.contains_key("schema") => types
                .lower(&l.child("schema"), &joined(base, &wire), diags)
                .folded(),
            _ => TypeRef::Scalar(Scalar::String),
        };
        params.push(Param {
            name: names.claim_name(&wire, Case::Snake).0,
            location: ParamIn::Path,
            ty,
            required: true,
            docs: param.map(docs_of).unwrap_or_default(),
        });
    }
    let binding_loc = channel_loc.child("bindings").child("ws");
    if let Some(method) = sources
        .get(&binding_loc.child("method"))
        .and_then(Value::as_str)
        && !method.eq_ignore_ascii_case("GET")
    {
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                format!(
                    "the ws binding's method is `{method}`, but a WebSocket upgrade is always a GET"
                ),
            )
            .at(sources.locate(&binding_loc.child("method")))
            .help("the generated server and client use GET"),
        );
    }
    for (key, location) in [("query", ParamIn::Query), ("headers", ParamIn::Header)] {
        let Ok(schema_loc) = sources.deref(&binding_loc.child(key)) else {
            continue;
        };
        let Some(Value::Object(schema)) = sources.get(&schema_loc) else {
            continue;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(Value::Object(props)) = schema.get("properties") else {
            continue;
        };
        for wire in props.keys() {
            let prop_loc = schema_loc.child("properties").child(wire);
            let lowered = types.lower(&prop_loc, &joined(base, wire), diags);
            let docs = sources
                .get(&prop_loc)
                .and_then(Value::as_object)
                .map(docs_of)
                .unwrap_or_default();
            params.push(Param {
                name: names.claim_name(wire, Case::Snake).0,
                location,
                ty: lowered.ty,
                required: required.contains(&wire.as_str()),
                docs,
            });
        }
    }
    params
}

/// `{name}` segments of an address, in order.
fn address_params(address: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = address;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
        rest = &rest[start + len + 1..];
    }
    out
}

fn channel_security(
    sources: &Sources,
    channel_loc: &Loc,
    channel: &Map<String, Value>,
    servers: &[(String, Loc, String)],
    diags: &mut Diagnostics,
) -> Vec<Security> {
    let mut server_locs: Vec<Loc> = Vec::new();
    if let Some(Value::Array(list)) = channel.get("servers") {
        for i in 0..list.len() {
            if let Ok(l) = sources.deref(&channel_loc.child("servers").index(i)) {
                server_locs.push(l);
            }
        }
    } else {
        server_locs.extend(servers.iter().map(|(_, l, _)| l.clone()));
    }
    let mut out = Vec::new();
    for server in server_locs {
        let list_loc = server.child("security");
        let Some(Value::Array(list)) = sources.get(&list_loc) else {
            continue;
        };
        for i in 0..list.len() {
            let Ok(scheme_loc) = sources.deref(&list_loc.index(i)) else {
                continue;
            };
            let Some(Value::Object(scheme)) = sources.get(&scheme_loc) else {
                continue;
            };
            let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
            let security = match kind {
                "http" => match scheme
                    .get("scheme")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("bearer") => Some(Security::Bearer),
                    Some("basic") => Some(Security::Basic),
                    _ => None,
                },
                "httpApiKey" => {
                    let location = match scheme.get("in").and_then(Value::as_str) {
                        Some("query") => Some(ParamIn::Query),
                        Some("header") => Some(ParamIn::Header),
                        Some("cookie") => Some(ParamIn::Cookie),
                        _ => None,
                    };
                    match (location, scheme.get("name").and_then(Value::as_str)) {
                        (Some(location), Some(name)) => Some(Security::ApiKey {
                            location,
                            name: name.to_owned(),
                        }),
                        _ => None,
                    }
                }
                _ => None,
            };
            match security {
                Some(s) if !out.contains(&s) => out.push(s),
                Some(_) => {}
                None => diags.push(
                    Diagnostic::warning(
                        Kind::Unsupported,
                        format!("security scheme type `{kind}` is not applied to the WebSocket handshake"),
                    )
                    .at(sources.locate(&scheme_loc)),
                ),
            }
        }
    }
    out
}

fn channel_messages(
    sources: &Sources,
    channel_loc: &Loc,
    diags: &mut Diagnostics,
) -> ChannelMessages {
    let messages_loc = channel_loc.child("messages");
    let mut entries = Vec::new();
    if let Some(Value::Object(messages)) = sources.get(&messages_loc) {
        for key in messages.keys() {
            let entry = messages_loc.child(key);
            match sources.deref(&entry) {
                Ok(target) => entries.push((key.clone(), entry, target)),
                Err(d) => diags.push(d),
            }
        }
    }
    ChannelMessages { entries }
}

/// Which channel an operation's `channel` reference names.
fn find_channel(
    sources: &Sources,
    reference_loc: &Loc,
    channels: &[(String, Loc, Loc)],
    diags: &mut Diagnostics,
) -> Option<usize> {
    let target = match sources.deref(reference_loc) {
        Ok(t) => t,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let found = channels
        .iter()
        .position(|(_, entry, t)| *entry == target || *t == target);
    if found.is_none() {
        diags.push(
            Diagnostic::error(
                Kind::Reference,
                "this operation's `channel` is not one of the document's channels",
            )
            .at(sources.locate(reference_loc)),
        );
    }
    found
}

/// The messages an operation (or reply) lists, as (channel message key, message location); all
/// of the channel's messages if it lists none.
fn op_messages(
    sources: &Sources,
    op_loc: &Loc,
    channel: &ChannelMessages,
    diags: &mut Diagnostics,
) -> Vec<(String, Loc)> {
    let list_loc = op_loc.child("messages");
    let Some(Value::Array(list)) = sources.get(&list_loc) else {
        return channel
            .entries
            .iter()
            .map(|(k, _, t)| (k.clone(), t.clone()))
            .collect();
    };
    let mut out = Vec::new();
    for i in 0..list.len() {
        let item = list_loc.index(i);
        let reference = sources
            .get(&item)
            .and_then(|v| v.get("$ref"))
            .and_then(Value::as_str);
        let entry = reference.and_then(|r| sources.resolve_ref(&item, r).ok());
        let target = match sources.deref(&item) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let found = channel
            .entries
            .iter()
            .find(|(_, e, t)| Some(e) == entry.as_ref() || *t == target)
            .map(|(k, _, _)| k.clone());
        let key = found.unwrap_or_else(|| {
            sources
                .get(&target)
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| target.last_segment())
        });
        out.push((key, target));
    }
    out
}

/// `correlationId.location` such as `$message.payload#/requestId` → `/requestId`.
fn correlation_pointer(sources: &Sources, message_loc: &Loc) -> Option<String> {
    let corr = sources.deref(&message_loc.child("correlationId")).ok()?;
    let location = sources.get(&corr)?.get("location")?.as_str()?;
    let pointer = location.strip_prefix("$message.payload#")?;
    Some(pointer.to_owned())
}

/// Read a message: everything but its payload type, which [`direction_enum`] lowers once the
/// direction's tag is known. Returns the location of a JSON payload schema.
fn read_message(
    sources: &Sources,
    loc: &Loc,
    key: &str,
    default_content_type: &str,
) -> (Message, Option<Loc>) {
    let obj = sources
        .get(loc)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut docs = Docs::default();
    for k in ["title", "summary", "description"] {
        if let Some(Value::String(text)) = obj.get(k) {
            docs.push_paragraph(Docs::from_text(text));
        }
    }
    let content_type = obj
        .get("contentType")
        .and_then(Value::as_str)
        .unwrap_or(default_content_type)
        .to_owned();
    let main_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // A 3.x multi-format schema object wraps the schema in `schema`.
    let mut payload_loc = loc.child("payload");
    if let Some(Value::Object(p)) = sources.get(&payload_loc)
        && p.contains_key("schemaFormat")
        && p.contains_key("schema")
    {
        payload_loc = payload_loc.child("schema");
    }
    let payload_schema = sources
        .deref(&payload_loc)
        .ok()
        .and_then(|l| sources.get(&l));
    let is_binary_schema = payload_schema.is_some_and(|s| {
        s.get("type").and_then(Value::as_str) == Some("string")
            && matches!(
                s.get("format").and_then(Value::as_str),
                Some("binary" | "byte")
            )
    });
    let (payload, json_loc) = if payload_schema.is_none() {
        (Payload::Empty, None)
    } else if main_type == "application/octet-stream" || is_binary_schema {
        (Payload::Binary, None)
    } else if main_type.starts_with("text/") && main_type != "text/json" {
        (Payload::Text, None)
    } else {
        (Payload::Json(TypeRef::Json), Some(payload_loc))
    };
    let examples = match obj.get("examples") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|e| e.get("payload").cloned())
            .collect(),
        _ => Vec::new(),
    };
    let message = Message {
        name: crate::names::name(key, Case::Camel),
        docs,
        payload,
        tag: None,
        content_type,
        correlation: correlation_pointer(sources, loc),
        examples,
    };
    (message, json_loc)
}

/// One direction of a channel, as [`direction_enum`] names and builds its enum.
struct Direction {
    /// Appended to the channel's name: `ClientMessage`, `ServerMessage`.
    suffix: &'static str,
    /// For docs and warnings: `client → server`.
    label: &'static str,
    /// Add the `Unknown(serde_json::Value)` catch-all.
    unknown: bool,
}

/// The enum of one direction's messages, and the messages with their payload types. It is
/// internally tagged by a property every JSON payload pins to a distinct `const` (the variant
/// structs then leave that property out), else untagged with a warning.
fn direction_enum(
    types: &mut SchemaLowerer<'_>,
    pending: Vec<(Message, Option<Loc>)>,
    base: &str,
    direction: Direction,
    location: Option<Location>,
    diags: &mut Diagnostics,
) -> (Vec<Message>, Option<TypeId>) {
    let Direction {
        suffix,
        label: direction,
        unknown,
    } = direction;
    if pending.is_empty() {
        return (Vec::new(), None);
    }
    let sources = types.sources();
    let all_json = pending.iter().all(|(_, loc)| loc.is_some());
    let candidates: Vec<Variant> = pending
        .iter()
        .filter_map(|(_, loc)| loc.as_ref())
        .map(|loc| Variant::inspect(sources, loc, diags))
        .collect();
    let tag = if all_json {
        common_const_property(&candidates)
    } else {
        None
    };
    // No tag property: maybe each payload is a one-key wrapper (`{"add_rule": {...}}`).
    let external = match (&tag, all_json) {
        (None, true) => wrapper_keys(&candidates),
        _ => None,
    };
    let mut variant_names = Namespace::new();
    let mut messages = Vec::new();
    let mut variants = Vec::new();
    let mut candidates = candidates.into_iter();
    for (mut message, json_loc) in pending {
        message.name.rust = variant_names
            .claim_name(&message.name.wire, Case::Camel)
            .0
            .rust;
        let hint = joined(base, &message.name.wire);
        let candidate = json_loc.as_ref().and_then(|_| candidates.next());
        let mut wire = message.name.wire.clone();
        if let (Some(loc), Some(candidate)) = (&json_loc, &candidate) {
            let strip = tag.as_deref();
            if let Some(tag) = strip
                && let Some(value) = candidate.const_values.get(tag).and_then(|v| v.first())
            {
                message.tag = Some(value.clone());
                wire = value.clone();
            }
            let name_hint = candidate.name.clone().unwrap_or(hint);
            if let (Some(keys), Some(inner)) = (&external, &candidate.wrapped) {
                let key = keys[variants.len()].clone();
                let lowered = types.lower(inner, &name_hint, diags).folded();
                message.tag = Some(key.clone());
                // The payload carried is the wrapped value; the wrapper is the enum itself.
                message.payload = Payload::Json(lowered.clone());
                variants.push(UnionVariant {
                    name: Name {
                        wire: key,
                        rust: message.name.rust.clone(),
                    },
                    docs: message.docs.clone(),
                    ty: Some(lowered),
                });
                messages.push(message);
                continue;
            }
            let only_tag = strip.is_some()
                && candidate
                    .property_names
                    .iter()
                    .all(|p| Some(p.as_str()) == strip);
            let lowered = types.lower_stripped(loc, &name_hint, strip, diags).folded();
            message.payload = Payload::Json(lowered.clone());
            variants.push(UnionVariant {
                name: Name {
                    wire,
                    rust: message.name.rust.clone(),
                },
                docs: message.docs.clone(),
                ty: if only_tag { None } else { Some(lowered) },
            });
        } else {
            let ty = match &message.payload {
                Payload::Text => Some(TypeRef::Scalar(Scalar::String)),
                Payload::Binary => Some(TypeRef::Scalar(Scalar::Bytes)),
                _ => None,
            };
            variants.push(UnionVariant {
                name: Name {
                    wire,
                    rust: message.name.rust.clone(),
                },
                docs: message.docs.clone(),
                ty,
            });
        }
        messages.push(message);
    }
    let enum_name = types.claim_type_name(&format!("{base}{suffix}"));
    if tag.is_none() && external.is_none() && messages.len() > 1 {
        diags.push(
            Diagnostic::warning(
                Kind::Untagged,
                format!(
                    "the {direction} messages of channel `{base}` share no property with a distinct `const` \
                     in every payload, so they are decoded by trying each in turn"
                ),
            )
            .at(location.clone())
            .help("give every payload a property (e.g. `type`) with a distinct `const`"),
        );
    }
    let repr = match (tag, external) {
        (Some(tag), _) => UnionRepr::Internal { tag },
        (None, Some(_)) => UnionRepr::External,
        (None, None) => UnionRepr::Untagged,
    };
    // The catch-all needs a tag to tell an unknown message from a known one that is malformed.
    let unknown = match (&repr, unknown) {
        (UnionRepr::Internal { .. } | UnionRepr::External, true) => {
            Some(variant_names.claim_name("Unknown", Case::Camel).0.rust)
        }
        (_, true) => {
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!(
                        "the {direction} messages of channel `{base}` have no tag, so they get no `Unknown` variant"
                    ),
                )
                .at(location.clone())
                .help("the unknown-message fallback needs a tag property (or one-key wrappers) to tell an unknown message from a malformed one"),
            );
            None
        }
        (_, false) => None,
    };
    let id = types.add_type(TypeDef {
        name: enum_name,
        docs: Docs::from_text(&format!("Every {direction} message of this channel.")),
        kind: TypeKind::Union(UnionDef {
            repr,
            variants,
            unknown,
        }),
        examples: Vec::new(),
        location,
    });
    (messages, Some(id))
}
