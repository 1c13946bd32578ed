//! Lowering AsyncAPI 3.x (and 2.x, converted to the 3.x shape on load): channels, their
//! handshake parameters, their messages by direction, request/reply pairs, handshake security,
//! and the sockets WebSocket channels on one address share.
//!
//! Direction is always stated from the server's side in the IR (`to_server`, `to_client`). A
//! document written from the server's side (the common case) maps `receive` to `to_server`; one
//! written from a client's side (`--role client`, or `x-wiregen-role: client`) maps `send` there.

use serde_json::{Map, Value};

use super::ModuleNames;
use super::params::{RawParam, param};
use super::routes::{join_pathname, route};
use super::schema::{SchemaLowerer, Variant, common_const_property, docs_of, joined, wrapper_keys};
use crate::diag::{Diagnostic, Diagnostics, Kind, Location};
use crate::ir::{
    Channel, ChannelItems, ChannelProtocol, Correlation, Docs, HttpMethod, Initiator, Message,
    MessageSet, Param, ParamIn, ParamsDef, ParamsOf, Payload, Presence, RequestReply, Role, Scalar,
    Security, Socket, SocketEnum, SocketId, TextDecoding, TypeDef, TypeKind, TypeRef, UnionDef,
    UnionRepr, UnionVariant, WebSocketChannel,
};
use crate::names::{Case, Name, Namespace, has_words};
use crate::spec::{Loc, Sources};

/// A message read from the spec, before its direction's enum is built.
struct PendingMessage {
    /// Everything but its payload type and correlation.
    message: Message,
    /// Where its JSON payload schema is (lowered with its direction).
    json: Option<Loc>,
    /// Its `correlationId.location` pointer into the payload, as written (`/requestId`).
    correlation: Option<String>,
    /// Where its correlation id is described (or the message, without one).
    at: Option<Location>,
}

/// A channel's messages as written, before directions are known.
struct ChannelMessages {
    /// (key in `messages`, where the entry is written, where it points after `$ref`s)
    entries: Vec<(String, Loc, Loc)>,
}

/// The channels and sockets of an AsyncAPI document.
pub struct AsyncApiLowered {
    /// Channels used by an operation, in document order.
    pub channels: Vec<Channel>,
    /// The sockets WebSocket channels share.
    pub sockets: Vec<Socket>,
}

/// The methods a channel's server trait and client have of their own, which request/reply
/// methods must not take.
const CHANNEL_METHODS: &[&str] = &[
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

/// An operation as read: which channel, which way, which messages.
struct OperationRef {
    key: String,
    loc: Loc,
    to_server: bool,
    channel: usize,
}

/// A request/reply operation before its messages are indexed.
struct ReplyDraft {
    key: String,
    /// The channel of the request.
    channel: usize,
    /// The channel of the replies (the same, unless the reply names another).
    reply_channel: usize,
    /// Does the request travel client → server?
    client_asks: bool,
    request: Option<String>,
    replies: Vec<String>,
    at: Option<Location>,
}

/// A channel as read, before its messages are lowered.
struct ChannelDraft<'s> {
    object: &'s Map<String, Value>,
    name: Name,
    docs: Docs,
    address: String,
    transport: Transport,
    entry: Loc,
    target: Loc,
    messages: ChannelMessages,
    operations: usize,
}

/// The protocol of a channel's servers.
enum Transport {
    WebSocket,
    Other(String),
}

/// Lower every channel that an operation uses (channels no operation mentions carry no traffic
/// this document describes, and are skipped with a note). With `unknown`, every message enum
/// gets the `Unknown(serde_json::Value)` catch-all (each is received by one side).
pub fn lower(
    root: &Loc,
    role: Role,
    unknown: bool,
    types: &mut SchemaLowerer<'_>,
    names: &mut ModuleNames,
    diags: &mut Diagnostics,
) -> AsyncApiLowered {
    let sources = types.sources();
    let mut out = AsyncApiLowered {
        channels: Vec::new(),
        sockets: Vec::new(),
    };
    let Some(Value::Object(doc)) = sources.get(root) else {
        return out;
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
    let operations = read_operations(sources, root, role, &channel_locs, diags);

    let mut channel_names = Namespace::new();
    let mut drafts: Vec<ChannelDraft> = Vec::new();
    for (index, (key, entry, target)) in channel_locs.iter().enumerate() {
        let Some(Value::Object(channel)) = sources.get(target) else {
            continue; // never: `channel_locs` holds objects only
        };
        let address = channel
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or(key)
            .to_owned();
        // A key such as `/` has nothing to name items after: its title, an operation on it
        // or its address do.
        let first_operation = operations.iter().find(|op| op.channel == index);
        let stem = [
            Some(key.as_str()),
            channel.get("title").and_then(Value::as_str),
            first_operation.map(|op| op.key.as_str()),
            Some(address.as_str()),
        ]
        .into_iter()
        .flatten()
        .find(|text| has_words(text))
        .unwrap_or("root");
        let name = Name {
            wire: key.clone(),
            rust: channel_names.claim_name(stem, Case::Camel).0.rust,
        };
        let mut docs = Docs::default();
        for k in ["title", "summary", "description"] {
            if let Some(Value::String(text)) = channel.get(k) {
                docs.push_paragraph(Docs::from_text(text));
            }
        }
        drafts.push(ChannelDraft {
            object: channel,
            name,
            docs,
            address,
            transport: channel_transport(sources, target, channel, &servers, diags),
            entry: entry.clone(),
            target: target.clone(),
            messages: channel_messages(sources, target, diags),
            operations: 0,
        });
    }

    // Operations decide which messages go which way.
    let mut assigned: Vec<(usize, bool, String, Loc)> = Vec::new(); // (channel, to_server, key, msg loc)
    let mut reply_drafts = Vec::new();
    for op in &operations {
        let request = op_messages(sources, &op.loc, &drafts[op.channel].messages, diags);
        for (msg_key, msg_loc) in &request {
            assigned.push((op.channel, op.to_server, msg_key.clone(), msg_loc.clone()));
        }
        drafts[op.channel].operations += 1;
        // `reply`: the answering messages travel the other way, on the reply's channel (or this one).
        let reply_loc = match sources.deref(&op.loc.child("reply")) {
            Ok(l) if sources.get(&l).is_some() => l,
            _ => continue,
        };
        let reply_channel = if sources.get(&reply_loc.child("channel")).is_some() {
            find_channel(sources, &reply_loc.child("channel"), &channel_locs, diags)
                .unwrap_or(op.channel)
        } else {
            op.channel
        };
        let replies = op_messages(sources, &reply_loc, &drafts[reply_channel].messages, diags);
        for (msg_key, msg_loc) in &replies {
            assigned.push((
                reply_channel,
                !op.to_server,
                msg_key.clone(),
                msg_loc.clone(),
            ));
        }
        drafts[reply_channel].operations += 1;
        reply_drafts.push(ReplyDraft {
            key: op.key.clone(),
            channel: op.channel,
            reply_channel,
            client_asks: op.to_server,
            request: request.first().map(|(k, _)| k.clone()),
            replies: replies.into_iter().map(|(k, _)| k).collect(),
            at: sources.locate(&op.loc),
        });
    }

    // Per channel and direction ([to_client, to_server]): the messages, each once.
    let mut pending: Vec<[Vec<PendingMessage>; 2]> =
        drafts.iter().map(|_| [Vec::new(), Vec::new()]).collect();
    for (index, to_server, key, msg_loc) in assigned {
        let list = &mut pending[index][usize::from(to_server)];
        if list.iter().any(|p| p.message.name.wire == key) {
            continue;
        }
        list.push(read_message(sources, &msg_loc, &key, &default_content_type));
    }

    // The channels an operation uses, with their messages lowered.
    let mut index_of: Vec<Option<usize>> = vec![None; drafts.len()];
    for (index, draft) in drafts.into_iter().enumerate() {
        let location = sources.locate(&draft.entry);
        if draft.operations == 0 {
            diags.push(
                Diagnostic::note(
                    Kind::Conversion,
                    format!(
                        "channel `{}` is used by no operation, so nothing is generated for it",
                        draft.name.wire
                    ),
                )
                .at(location),
            );
            continue;
        }
        let base = draft.name.rust.unraw().to_owned();
        let [to_client, to_server] = std::mem::take(&mut pending[index]);
        let to_server = direction(
            types,
            to_server,
            &base,
            Direction {
                suffix: "ClientMessage",
                label: "client → server",
                unknown,
            },
            &location,
            diags,
        );
        let to_client = direction(
            types,
            to_client,
            &base,
            Direction {
                suffix: "ServerMessage",
                label: "server → client",
                unknown,
            },
            &location,
            diags,
        );
        let protocol = match &draft.transport {
            Transport::WebSocket => {
                let document = DocumentServers {
                    root,
                    servers: &servers,
                    pathnames: &pathnames,
                };
                ChannelProtocol::WebSocket(Box::new(websocket_channel(
                    types, names, &document, &draft, &location, diags,
                )))
            }
            Transport::Other(name) => ChannelProtocol::Other(name.clone()),
        };
        index_of[index] = Some(out.channels.len());
        out.channels.push(Channel {
            name: draft.name,
            docs: draft.docs,
            address: draft.address,
            protocol,
            to_server,
            to_client,
            replies: Vec::new(),
            location,
        });
    }
    for draft in reply_drafts {
        request_reply(&mut out.channels, &index_of, draft, diags);
    }
    out.sockets = shared_sockets(&mut out.channels, types, names, &mut channel_names, diags);
    out
}

/// Every operation with an `action` and a channel, in document order.
fn read_operations(
    sources: &Sources,
    root: &Loc,
    role: Role,
    channel_locs: &[(String, Loc, Loc)],
    diags: &mut Diagnostics,
) -> Vec<OperationRef> {
    let ops_loc = root.child("operations");
    let Some(Value::Object(ops)) = sources.get(&ops_loc) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in ops.keys() {
        let Ok(loc) = sources.deref(&ops_loc.child(key)) else {
            continue;
        };
        let Some(Value::Object(op)) = sources.get(&loc) else {
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
                    .at(sources.locate(&loc)),
                );
                continue;
            }
        };
        let Some(channel) = find_channel(sources, &loc.child("channel"), channel_locs, diags)
        else {
            continue;
        };
        out.push(OperationRef {
            key: key.clone(),
            loc,
            to_server,
            channel,
        });
    }
    out
}

/// The document's root and servers, as a WebSocket channel's route and security need them.
#[derive(Clone, Copy)]
struct DocumentServers<'a> {
    root: &'a Loc,
    /// `servers`: (name, where, protocol).
    servers: &'a [(String, Loc, String)],
    /// The pathname of each `ws`/`wss` server.
    pathnames: &'a [(Loc, String, Option<String>)],
}

/// What a WebSocket channel has besides its messages: its route, connection parameters,
/// handshake security and the identifiers of its items.
fn websocket_channel(
    types: &mut SchemaLowerer<'_>,
    names: &mut ModuleNames,
    document: &DocumentServers<'_>,
    draft: &ChannelDraft<'_>,
    location: &Option<Location>,
    diags: &mut Diagnostics,
) -> WebSocketChannel {
    let DocumentServers {
        root,
        servers,
        pathnames,
    } = *document;
    let sources = types.sources();
    let channel = draft.object;
    let stem = draft.name.rust.unraw().to_owned();
    let pathname = channel_pathname(
        sources,
        &draft.name.wire,
        &draft.entry,
        &draft.target,
        channel,
        pathnames,
        diags,
    );
    let path = join_pathname(&pathname, &draft.address, &draft.name.wire, location, diags);
    let params = channel_params(types, &draft.target, channel, &draft.address, &stem, diags);
    let route = route(
        &path,
        &params,
        HttpMethod::Get,
        &format!("channel `{}`", draft.name.wire),
        location,
        diags,
    );
    let params = types.add_type_named_later(
        TypeDef {
            name: draft.name.clone(),
            docs: Docs::from_text(&format!(
                "What a connection to `{path}` carries in its URL and upgrade request."
            )),
            kind: TypeKind::Params(ParamsDef {
                params,
                body: None,
                last_event_id: None,
                of: ParamsOf::Connection,
            }),
            examples: Vec::new(),
            location: location.clone(),
        },
        format!("{stem}Params"),
    );
    WebSocketChannel {
        route,
        params,
        security: channel_security(sources, root, &draft.target, channel, servers, diags),
        socket: None,
        items: ChannelItems {
            server_trait: names.server.claim_joined(&[&stem, "Channel"], Case::Camel),
            endpoint: names.server.claim_joined(&[&stem, "Endpoint"], Case::Camel),
            router: names.server.claim_joined(&[&stem, "router"], Case::Snake),
            client: names.client.claim_joined(&[&stem, "Client"], Case::Camel),
            calls: names.server.claim_joined(&[&stem, "Calls"], Case::Camel),
        },
    }
}

/// Add a request/reply operation to its channel, with its messages as indices, when the
/// generated code can carry it: the request and every reply on one channel, each with a
/// correlation id it can read and set. Anything else is said in a warning (its messages are
/// still generated, in their directions).
fn request_reply(
    channels: &mut [Channel],
    index_of: &[Option<usize>],
    draft: ReplyDraft,
    diags: &mut Diagnostics,
) {
    let ReplyDraft {
        key,
        channel,
        reply_channel,
        client_asks,
        request,
        replies,
        at,
    } = draft;
    let (Some(channel), Some(reply_channel)) = (index_of[channel], index_of[reply_channel]) else {
        return;
    };
    let plain = |why: String| {
        Diagnostic::warning(
            Kind::Unsupported,
            format!("request/reply operation `{key}` gets no typed method: {why}"),
        )
        .at(at.clone())
        .help("its messages are generated in their directions; match replies to requests by hand")
    };
    if reply_channel != channel {
        let why = format!(
            "its replies travel on channel `{}`, not on its own channel `{}`",
            channels[reply_channel].name.wire, channels[channel].name.wire
        );
        diags.push(plain(why));
        return;
    }
    let target = &channels[channel];
    let (Some(asks), Some(answers)) = (
        target.direction(client_asks),
        target.direction(!client_asks),
    ) else {
        return;
    };
    let position =
        |set: &MessageSet, wire: &str| set.messages.iter().position(|m| m.name.wire == wire);
    let Some(request) = request.as_deref().and_then(|r| position(asks, r)) else {
        diags.push(plain("it names no request message".to_owned()));
        return;
    };
    let reply_indices: Vec<usize> = replies
        .iter()
        .filter_map(|r| position(answers, r))
        .collect();
    if reply_indices.is_empty() {
        diags.push(plain("it names no reply message".to_owned()));
        return;
    }
    let uncorrelated = std::iter::once(&asks.messages[request])
        .chain(reply_indices.iter().map(|&i| &answers.messages[i]))
        .find(|m| m.correlation.is_none());
    if let Some(message) = uncorrelated {
        diags.push(plain(format!(
            "message `{}` has no correlation id that is a top-level string property of its payload (`correlationId.location: $message.payload#/<property>`)",
            message.name.wire
        )));
        return;
    }
    // When the client asks, one name serves the method answering it (server trait) and the
    // one calling it (client). When the server asks, the call is a method of the channel's
    // calls trait and the client answers with `answer_<name>`.
    let channel_ref = &mut channels[channel];
    let mut methods = Namespace::with_reserved(CHANNEL_METHODS.iter().copied());
    for existing in &channel_ref.replies {
        methods.claim(existing.name.rust.clone(), Case::Snake);
        methods.claim(existing.answer.clone(), Case::Snake);
    }
    let name = methods.claim_name(&key, Case::Snake).0;
    let (initiator, answer) = if client_asks {
        (Initiator::Client, name.rust.clone())
    } else {
        (
            Initiator::Server,
            methods.claim_joined(&["answer", &key], Case::Snake),
        )
    };
    channel_ref.replies.push(RequestReply {
        name,
        answer,
        initiator,
        request,
        replies: reply_indices,
    });
}

/// Several WebSocket channels on one address share one socket: every frame in either direction
/// must tell which channel it belongs to. A channel joins the socket of the first channel on its
/// address when, in each direction, its messages are JSON told apart the same way (the same tag
/// property, or one-key wrappers) and none of its tags is already taken by a channel of that
/// socket. Any other channel on a taken address is not served, with a warning.
fn shared_sockets(
    channels: &mut [Channel],
    types: &mut SchemaLowerer<'_>,
    names: &mut ModuleNames,
    stems: &mut Namespace,
    diags: &mut Diagnostics,
) -> Vec<Socket> {
    let served = |channel: &Channel| -> Option<String> {
        channel
            .websocket()
            .and_then(|ws| ws.route.served().map(str::to_owned))
    };
    let shape = |channel: &Channel| served(channel).map(|s| super::routes::shape(&s));
    let ws: Vec<usize> = (0..channels.len())
        .filter(|&i| served(&channels[i]).is_some())
        .collect();
    // Per leader: the members so far and, per direction, (how frames are told apart, tags taken).
    let mut groups: Vec<(usize, Vec<usize>, [SocketSide; 2])> = Vec::new();
    for (n, &i) in ws.iter().enumerate() {
        let Some(&first) = ws[..n]
            .iter()
            .find(|&&j| shape(&channels[j]) == shape(&channels[i]))
        else {
            continue;
        };
        let leader = match groups.iter().position(|(l, ..)| *l == first) {
            Some(at) => at,
            None => {
                let sides = [side(&channels[first], true), side(&channels[first], false)];
                groups.push((first, vec![first], sides));
                groups.len() - 1
            }
        };
        let reason = if served(&channels[i]) != served(&channels[first]) {
            Some("its path parameters are named differently".to_owned())
        } else {
            let joined = [
                join(&groups[leader].2[0], &side(&channels[i], true)),
                join(&groups[leader].2[1], &side(&channels[i], false)),
            ];
            match joined {
                [Ok(to_server), Ok(to_client)] => {
                    groups[leader].1.push(i);
                    groups[leader].2 = [to_server, to_client];
                    None
                }
                [Err(e), _] => Some(format!("its client → server messages {e}")),
                [_, Err(e)] => Some(format!("its server → client messages {e}")),
            }
        };
        if let Some(reason) = reason {
            let (first_name, first_path) = (
                channels[first].name.wire.clone(),
                served(&channels[first]).unwrap_or_default(),
            );
            let channel = &mut channels[i];
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!(
                        "channel `{}` has the same route as `{first_name}` (`{first_path}`) but cannot share its socket ({reason}): the generated router serves that route without `{}`",
                        channel.name.wire, channel.name.wire
                    ),
                )
                .at(channel.location.clone())
                .help("channels on one address share one socket when their messages are JSON with the same tag property (or one-key wrappers) and distinct tags; its client is still generated"),
            );
            if let ChannelProtocol::WebSocket(ws) = &mut channel.protocol {
                ws.route.in_router = false;
            }
        }
    }
    let mut sockets = Vec::new();
    for (_, members, _) in groups {
        if members.len() < 2 {
            continue;
        }
        let wire = served(&channels[members[0]]).unwrap_or_default();
        // A stem among the channels' own, so the socket's items cannot take a channel's names.
        let stem = stems
            .claim_name(&format!("{wire} socket"), Case::Camel)
            .0
            .rust;
        let stem = stem.unraw().to_owned();
        let id = SocketId(sockets.len());
        for &i in &members {
            if let ChannelProtocol::WebSocket(ws) = &mut channels[i].protocol {
                ws.socket = Some(id);
            }
        }
        let socket_enum = |to_server: bool, types: &mut SchemaLowerer<'_>| {
            let variants: Vec<(usize, crate::names::RustIdent)> = members
                .iter()
                .filter(|&&i| channels[i].direction(to_server).is_some())
                .map(|&i| (i, channels[i].name.rust.clone()))
                .collect();
            (!variants.is_empty()).then(|| SocketEnum {
                ident: types
                    .claim_type_name(&format!(
                        "{stem}{}",
                        if to_server {
                            "ClientMessage"
                        } else {
                            "ServerMessage"
                        }
                    ))
                    .rust,
                variants,
            })
        };
        let to_server = socket_enum(true, types);
        let to_client = socket_enum(false, types);
        sockets.push(Socket {
            name: Name {
                wire,
                rust: crate::names::ident(&stem, Case::Camel),
            },
            members,
            to_server,
            to_client,
            endpoint: names.server.claim_joined(&[&stem, "Endpoint"], Case::Camel),
            router: names.server.claim_joined(&[&stem, "router"], Case::Snake),
            client: names.client.claim_joined(&[&stem, "Client"], Case::Camel),
        });
    }
    sockets
}

/// How the frames of one direction of a shared socket are told apart: text frames by their
/// tags, binary frames by being binary (so at most one channel may carry binary messages).
#[derive(Clone, Debug, PartialEq)]
struct SocketSide {
    text: TextSide,
    binary: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum TextSide {
    /// No channel has text messages this way yet.
    Empty,
    /// JSON told apart by a tag property (or one-key wrappers: `None`), with the tags taken.
    Tagged(Option<String>, Vec<String>),
    /// Something that cannot be told apart from another channel's messages.
    Opaque,
}

fn side(channel: &Channel, to_server: bool) -> SocketSide {
    let Some(set) = channel.direction(to_server) else {
        return SocketSide {
            text: TextSide::Empty,
            binary: false,
        };
    };
    let tags = || set.messages.iter().filter_map(|m| m.tag.clone()).collect();
    let text = match &set.text {
        TextDecoding::None => TextSide::Empty,
        TextDecoding::Tagged { tag } => TextSide::Tagged(Some(tag.clone()), tags()),
        TextDecoding::Wrapped => TextSide::Tagged(None, tags()),
        TextDecoding::TryEach => TextSide::Opaque,
    };
    SocketSide {
        text,
        binary: set.binary.is_some(),
    }
}

/// The socket's side with a channel's messages added, or why they cannot be.
fn join(socket: &SocketSide, channel: &SocketSide) -> Result<SocketSide, String> {
    if socket.binary && channel.binary {
        return Err("carry binary frames, as another channel of the socket does".to_owned());
    }
    let text = match (&socket.text, &channel.text) {
        (s, TextSide::Empty) => s.clone(),
        (TextSide::Empty, c @ TextSide::Tagged(..)) => c.clone(),
        (TextSide::Tagged(repr, taken), TextSide::Tagged(theirs, tags)) => {
            if repr != theirs {
                return Err("are told apart differently (another tag property)".to_owned());
            }
            if let Some(tag) = tags.iter().find(|t| taken.contains(t)) {
                return Err(format!("reuse the tag `{tag}`"));
            }
            TextSide::Tagged(repr.clone(), taken.iter().chain(tags).cloned().collect())
        }
        _ => return Err("have no tag to tell them apart".to_owned()),
    };
    Ok(SocketSide {
        text,
        binary: socket.binary || channel.binary,
    })
}

/// The protocol of a channel's servers (its own list, else every server of the document).
fn channel_transport(
    sources: &Sources,
    channel_loc: &Loc,
    channel: &Map<String, Value>,
    servers: &[(String, Loc, String)],
    diags: &mut Diagnostics,
) -> Transport {
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
        return Transport::WebSocket;
    }
    if protocols.is_empty() {
        diags.push(
            Diagnostic::note(
                Kind::Conversion,
                "no server names a protocol for this channel; WebSocket is assumed",
            )
            .at(sources.locate(channel_loc)),
        );
        return Transport::WebSocket;
    }
    Transport::Other(protocols.swap_remove(0))
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
    let mut fields = Namespace::new();
    let mut params = Vec::new();
    for wire in address_params(address) {
        let param_loc = sources
            .deref(&channel_loc.child("parameters").child(&wire))
            .ok();
        let described = param_loc
            .as_ref()
            .and_then(|l| sources.get(l))
            .and_then(Value::as_object);
        if described.is_none() && channel.contains_key("parameters") {
            diags.push(
                Diagnostic::warning(
                    Kind::Invalid,
                    format!("address parameter `{wire}` is not described in `parameters`"),
                )
                .at(sources.locate(&channel_loc.child("address"))),
            );
        }
        // 2.x parameters have a `schema`; 3.x parameters are strings (with an optional `enum`).
        let ty = match (described, &param_loc) {
            (Some(p), Some(l)) if p.contains_key("schema") => types
                .lower(&l.child("schema"), &joined(base, &wire), diags)
                .folded(),
            _ => TypeRef::Scalar(Scalar::String),
        };
        let at = param_loc.as_ref().and_then(|l| sources.locate(l));
        let raw = RawParam {
            wire: &wire,
            location: ParamIn::Path,
            ty,
            required: true,
            docs: described.map(docs_of).unwrap_or_default(),
            style: None,
            explode: None,
        };
        params.push(param(types, &mut fields, raw, &at, diags));
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
            let raw = RawParam {
                wire,
                location,
                ty: lowered.ty,
                required: required.contains(&wire.as_str()),
                docs,
                style: None,
                explode: None,
            };
            params.push(param(
                types,
                &mut fields,
                raw,
                &sources.locate(&prop_loc),
                diags,
            ));
        }
    }
    params
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
    root: &Loc,
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
        let mut scheme_locs = Vec::new();
        for i in 0..list.len() {
            let Ok(entry_loc) = sources.deref(&list_loc.index(i)) else {
                continue;
            };
            let Some(Value::Object(entry)) = sources.get(&entry_loc) else {
                continue;
            };
            if entry.contains_key("type") {
                scheme_locs.push(entry_loc);
                continue;
            }
            // A security requirement by name (AsyncAPI 2.x, and OpenAPI's style):
            // `{token: []}` names `components.securitySchemes.token`.
            for name in entry.keys() {
                let named = root
                    .child("components")
                    .child("securitySchemes")
                    .child(name);
                match sources.deref(&named) {
                    Ok(loc) if sources.get(&loc).is_some() => scheme_locs.push(loc),
                    _ => diags.push(
                        Diagnostic::warning(
                            Kind::Reference,
                            format!("the security requirement `{name}` names no scheme of `components.securitySchemes`, so it is not applied"),
                        )
                        .at(sources.locate(&entry_loc.child(name))),
                    ),
                }
            }
        }
        for scheme_loc in scheme_locs {
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

/// Read a message: everything but its payload type, which [`direction`] lowers once the
/// direction's tag is known. Returns the location of a JSON payload schema.
fn read_message(
    sources: &Sources,
    loc: &Loc,
    key: &str,
    default_content_type: &str,
) -> PendingMessage {
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
        correlation: None,
        examples,
    };
    PendingMessage {
        message,
        json: json_loc,
        correlation: correlation_pointer(sources, loc),
        at: sources.locate(&loc.child("correlationId")),
    }
}

/// One direction of a channel, as [`direction`] names and builds its enum.
struct Direction {
    /// Appended to the channel's name: `ClientMessage`, `ServerMessage`.
    suffix: &'static str,
    /// For docs and warnings: `client → server`.
    label: &'static str,
    /// Add the `Unknown(serde_json::Value)` catch-all.
    unknown: bool,
}

/// The messages of one direction and their enum. Binary frames and text frames are told apart
/// by the frame first: messages carrying binary data are decoded from binary frames (and left
/// out of the serde representation), the others from text frames. The text messages are told
/// apart by a property every JSON payload pins to a distinct `const` (the variant structs then
/// leave it out), else by one-key wrappers, else by trying each in turn (with a warning).
fn direction(
    types: &mut SchemaLowerer<'_>,
    pending: Vec<PendingMessage>,
    base: &str,
    direction: Direction,
    location: &Option<Location>,
    diags: &mut Diagnostics,
) -> Option<MessageSet> {
    let Direction {
        suffix,
        label,
        unknown,
    } = direction;
    if pending.is_empty() {
        return None;
    }
    let sources = types.sources();
    // Text-frame messages: JSON ones (with a schema to look at), plain text, and empty ones.
    let text_messages = pending
        .iter()
        .filter(|p| !matches!(p.message.payload, Payload::Binary))
        .count();
    let json: Vec<&Loc> = pending.iter().filter_map(|p| p.json.as_ref()).collect();
    let all_text_json = !json.is_empty() && json.len() == text_messages;
    let candidates: Vec<Variant> = json
        .iter()
        .map(|loc| Variant::inspect(sources, loc, diags))
        .collect();
    let tag = if all_text_json {
        common_const_property(&candidates)
    } else {
        None
    };
    // No tag property: maybe each payload is a one-key wrapper (`{"add_rule": {...}}`).
    let wrapped = match (&tag, all_text_json) {
        (None, true) => wrapper_keys(&candidates),
        _ => None,
    };
    let text = match (&tag, &wrapped) {
        (_, _) if text_messages == 0 => TextDecoding::None,
        (Some(tag), _) => TextDecoding::Tagged { tag: tag.clone() },
        (None, Some(_)) => TextDecoding::Wrapped,
        (None, None) => TextDecoding::TryEach,
    };
    let mut variant_names = Namespace::new();
    let mut messages = Vec::new();
    let mut variants = Vec::new();
    let mut correlations = Vec::new();
    let mut binary = None;
    let mut candidates = candidates.into_iter();
    for PendingMessage {
        mut message,
        json,
        correlation,
        at,
    } in pending
    {
        message.name.rust = variant_names
            .claim_name(&message.name.wire, Case::Camel)
            .0
            .rust;
        let hint = joined(base, &message.name.wire);
        let mut wire = message.name.wire.clone();
        let mut skip = false;
        let ty = match (&json, json.as_ref().and_then(|_| candidates.next())) {
            (Some(loc), Some(candidate)) => {
                let name_hint = candidate.name.clone().unwrap_or(hint);
                if let (Some(keys), Some(inner)) = (&wrapped, &candidate.wrapped) {
                    let key = keys[json_index(&messages)].clone();
                    let lowered = types.lower(inner, &name_hint, diags).folded();
                    message.tag = Some(key.clone());
                    wire = key;
                    // The payload carried is the wrapped value; the wrapper is the enum itself.
                    message.payload = Payload::Json(lowered.clone());
                    Some(lowered)
                } else {
                    if let Some(tag) = tag.as_deref()
                        && let Some(value) = candidate.const_values.get(tag).and_then(|v| v.first())
                    {
                        message.tag = Some(value.clone());
                        wire = value.clone();
                    }
                    let only_tag = tag.is_some()
                        && candidate
                            .property_names
                            .iter()
                            .all(|p| Some(p.as_str()) == tag.as_deref());
                    let lowered = types
                        .lower_stripped(loc, &name_hint, tag.as_deref(), diags)
                        .folded();
                    message.payload = Payload::Json(lowered.clone());
                    (!only_tag).then_some(lowered)
                }
            }
            _ => match &message.payload {
                Payload::Text => Some(TypeRef::Scalar(Scalar::String)),
                Payload::Binary => {
                    skip = true;
                    if binary.is_some() {
                        diags.push(
                            Diagnostic::warning(
                                Kind::Unsupported,
                                format!(
                                    "the {label} messages of channel `{base}` have more than one binary message: every binary frame is decoded as the first, `{}`",
                                    messages
                                        .iter()
                                        .find(|m: &&Message| matches!(m.payload, Payload::Binary))
                                        .map_or("", |m| m.name.wire.as_str())
                                ),
                            )
                            .at(at.clone())
                            .help("binary frames carry no tag to tell binary messages apart"),
                        );
                    } else {
                        binary = Some(messages.len());
                    }
                    Some(TypeRef::Scalar(Scalar::Bytes))
                }
                _ => None,
            },
        };
        // A text message beside tagged JSON is not part of the serde representation either.
        if matches!(message.payload, Payload::Text | Payload::Empty)
            && matches!(text, TextDecoding::Tagged { .. } | TextDecoding::Wrapped)
        {
            skip = true;
        }
        correlations.push((correlation, at));
        variants.push(UnionVariant {
            name: Name {
                wire,
                rust: message.name.rust.clone(),
            },
            docs: message.docs.clone(),
            ty,
            skip,
        });
        messages.push(message);
    }
    let enum_name = types.claim_type_name(&format!("{base}{suffix}"));
    if text == TextDecoding::TryEach && text_messages > 1 {
        diags.push(
            Diagnostic::warning(
                Kind::Untagged,
                format!(
                    "the {label} text messages of channel `{base}` share no property with a distinct `const` \
                     in every payload, so they are decoded by trying each in turn"
                ),
            )
            .at(location.clone())
            .help("give every payload a property (e.g. `type`) with a distinct `const`"),
        );
    }
    let repr = match &text {
        TextDecoding::Tagged { tag } => UnionRepr::Internal { tag: tag.clone() },
        TextDecoding::Wrapped => UnionRepr::External,
        TextDecoding::TryEach | TextDecoding::None => UnionRepr::Untagged,
    };
    // The catch-all needs a tag to tell an unknown message from a known one that is malformed.
    let unknown = match (&text, unknown) {
        (TextDecoding::Tagged { .. } | TextDecoding::Wrapped, true) => {
            Some(variant_names.claim_name("Unknown", Case::Camel).0.rust)
        }
        (_, true) => {
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!(
                        "the {label} messages of channel `{base}` have no tag, so they get no `Unknown` variant"
                    ),
                )
                .at(location.clone())
                .help("the unknown-message fallback needs a tag property (or one-key wrappers) to tell an unknown message from a malformed one"),
            );
            None
        }
        (_, false) => None,
    };
    let enum_id = types.add_type(TypeDef {
        name: enum_name,
        docs: Docs::from_text(&format!("Every {label} message of this channel.")),
        kind: TypeKind::Union(UnionDef {
            repr,
            variants,
            unknown: unknown.clone(),
        }),
        examples: Vec::new(),
        location: location.clone(),
    });
    // Correlation ids, now that the payload types are known.
    for (message, (pointer, at)) in messages.iter_mut().zip(correlations) {
        let Some(pointer) = pointer else {
            continue;
        };
        message.correlation = correlation(types, &message.payload, &pointer);
        if message.correlation.is_none() {
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!(
                        "the correlation id of message `{}` (`{pointer}`) is not a top-level string property of its payload, so it is not read or set",
                        message.name.wire
                    ),
                )
                .at(at),
            );
        }
    }
    Some(MessageSet {
        messages,
        enum_id,
        text,
        binary,
        unknown,
    })
}

/// How many JSON messages come before the next one.
fn json_index(messages: &[Message]) -> usize {
    messages
        .iter()
        .filter(|m| matches!(m.payload, Payload::Json(_)))
        .count()
}

/// A correlation id at `pointer` (`/requestId`) in a JSON payload: a string field of the
/// payload struct, required or optional (not nullable-and-optional).
fn correlation(types: &SchemaLowerer<'_>, payload: &Payload, pointer: &str) -> Option<Correlation> {
    let segments: Vec<String> = pointer
        .strip_prefix('/')?
        .split('/')
        .map(crate::spec::unescape)
        .collect();
    let [property] = segments.as_slice() else {
        return None;
    };
    let Payload::Json(TypeRef::Named(id)) = payload else {
        return None;
    };
    let TypeKind::Struct(def) = &types.def(*id).kind else {
        return None;
    };
    let field = def.fields.iter().find(|f| &f.name.wire == property)?;
    if field.ty != TypeRef::Scalar(Scalar::String) {
        return None;
    }
    let optional = match field.presence {
        Presence::Required => false,
        Presence::Optional | Presence::RequiredNullable => true,
        Presence::OptionalNullable => return None,
    };
    Some(Correlation {
        pointer: segments.clone(),
        field: field.name.rust.clone(),
        optional,
    })
}
