//! What the fixtures lower to, for the parts of the IR the `.rs` snapshots do not show yet:
//! SSE framing, parameters, `Last-Event-ID`, request bodies, sentinels, JSON alternatives,
//! channel handshake parameters, security, message directions and tags, request/reply pairs.

use std::path::PathBuf;

use wiregen::Settings;
use wiregen::ir::{
    Api, Body, Channel, HttpMethod, Initiator, Message, Param, ParamIn, Payload, Presence, Role,
    Scalar, Security, SseEvent, SseFraming, TypeDef, TypeKind, TypeRef, UnionRepr,
};

fn lower(fixture: &str) -> Api {
    let path = PathBuf::from("tests/fixtures").join(fixture);
    let mut lowered = wiregen::lower_all(&[path], &Settings::default())
        .unwrap_or_else(|f| panic!("{fixture}:\n{}", wiregen::diag::render(&f.diagnostics)));
    assert_eq!(lowered.apis.len(), 1);
    lowered.apis.remove(0)
}

/// An operation answering with an event stream, with its request's parts at hand.
struct Endpoint<'a> {
    method: HttpMethod,
    path: &'a str,
    resumable: bool,
    framing: SseFraming,
    events: &'a [SseEvent],
    params: &'a [Param],
    body: Option<&'a Body>,
    sentinel: Option<&'a String>,
    json_alternative: Option<&'a TypeRef>,
}

fn endpoint<'a>(api: &'a Api, operation: &str) -> Endpoint<'a> {
    let (op, stream) = api
        .streams()
        .find(|(op, _)| op.name.wire == operation)
        .unwrap_or_else(|| {
            let names: Vec<_> = api.operations.iter().map(|o| &o.name.wire).collect();
            panic!("no SSE endpoint `{operation}` among {names:?}")
        });
    let request = api.types.params(op.request).expect("a request struct");
    Endpoint {
        method: op.method,
        path: &op.route.path,
        resumable: request.resumable(),
        framing: stream.framing,
        events: &stream.events,
        params: &request.params,
        body: request.body.as_ref(),
        sentinel: stream.sentinel.as_ref(),
        json_alternative: stream.json_alternative.as_ref().map(|j| &j.ty),
    }
}

fn type_def<'a>(api: &'a Api, wire: &str) -> &'a TypeDef {
    api.types
        .defs
        .iter()
        .find(|d| d.name.wire == wire)
        .unwrap_or_else(|| panic!("no type `{wire}`"))
}

fn named(api: &Api, ty: &TypeRef) -> String {
    match ty {
        TypeRef::Named(id) => api.types.get(*id).name.wire.clone(),
        other => panic!("expected a named type, got {other:?}"),
    }
}

/// (wire name, location, required, value type) of every parameter.
fn params(params: &[Param]) -> Vec<(&str, ParamIn, bool, &TypeRef)> {
    params
        .iter()
        .map(|p| (p.name.wire.as_str(), p.location, p.required, &p.value))
        .collect()
}

fn events<'a>(endpoint: &Endpoint<'a>) -> Vec<&'a str> {
    endpoint
        .events
        .iter()
        .map(|e| e.name.wire.as_str())
        .collect()
}

fn field_presence(def: &TypeDef, wire: &str) -> (Presence, TypeRef) {
    let TypeKind::Struct(s) = &def.kind else {
        panic!("`{}` is not a struct", def.name.wire)
    };
    let field = s
        .fields
        .iter()
        .find(|f| f.name.wire == wire)
        .unwrap_or_else(|| panic!("`{}` has no field `{wire}`", def.name.wire));
    (field.presence, field.ty.clone())
}

fn union_of(def: &TypeDef) -> (&UnionRepr, Vec<&str>) {
    let TypeKind::Union(u) = &def.kind else {
        panic!("`{}` is not a union", def.name.wire)
    };
    (
        &u.repr,
        u.variants.iter().map(|v| v.name.wire.as_str()).collect(),
    )
}

const STRING: TypeRef = TypeRef::Scalar(Scalar::String);

#[test]
fn openapi_3_0() {
    let api = lower("openapi30.yaml");
    let quotes = endpoint(&api, "streamQuotes");
    assert_eq!(
        (quotes.method, quotes.path),
        (HttpMethod::Get, "/v1/venues/{venueId}/quotes")
    );
    assert!(
        quotes.resumable,
        "a Last-Event-ID header makes the stream resumable"
    );
    assert_eq!(quotes.framing, SseFraming::Named);
    assert_eq!(events(&quotes), ["quote", "trade", "heartbeat"]);
    assert!(
        matches!(quotes.events[2].payload, Payload::Empty),
        "a heartbeat has no data"
    );
    let p = params(quotes.params);
    assert_eq!(p.len(), 4, "Last-Event-ID is not a parameter: {p:?}");
    assert_eq!(
        p[0],
        (
            "venueId",
            ParamIn::Path,
            true,
            &TypeRef::Scalar(Scalar::Uuid)
        )
    );
    assert_eq!(
        (p[1].0, p[1].1, p[1].2),
        ("interval", ParamIn::Query, false)
    );
    assert_eq!(named(&api, p[1].3), "Interval");
    assert_eq!(
        p[2],
        ("depth", ParamIn::Query, true, &TypeRef::Scalar(Scalar::I32))
    );
    assert_eq!(p[3], ("X-Client-Tag", ParamIn::Header, false, &STRING));
    assert!(
        quotes.body.is_none() && quotes.sentinel.is_none() && quotes.json_alternative.is_none()
    );
    assert_eq!(quotes.path, "/v1/venues/{venueId}/quotes");

    let watch = endpoint(&api, "watchOrders");
    assert_eq!(watch.method, HttpMethod::Post);
    let body = watch.body.expect("a JSON body");
    assert!(body.required);
    assert_eq!(named(&api, &body.ty), "WatchRequest");
    assert_eq!(watch.framing, SseFraming::Payload);
    assert!(!watch.resumable);
    assert_eq!(events(&watch), ["message"]);
    let Payload::Json(payload) = &watch.events[0].payload else {
        panic!("JSON data")
    };
    assert_eq!(named(&api, payload), "OrderUpdate");
    assert_eq!(
        union_of(type_def(&api, "OrderUpdate")),
        (
            &UnionRepr::Internal {
                tag: "status".into()
            },
            vec!["filled", "cancelled"]
        )
    );

    let TypeKind::Enum(interval) = &type_def(&api, "Interval").kind else {
        panic!("an enum")
    };
    let variants: Vec<(&str, &str)> = interval
        .variants
        .iter()
        .map(|v| (v.name.wire.as_str(), v.name.rust.as_str()))
        .collect();
    assert_eq!(
        variants,
        [
            ("1m", "V1m"),
            ("BATS-Y", "BatsY"),
            ("", "Empty"),
            ("null", "Null"),
            ("1EXCH", "V1Exch")
        ]
    );

    let quote = type_def(&api, "Quote");
    for (field, scalar) in [
        ("bid", Scalar::F64),
        ("ask", Scalar::F32),
        ("size", Scalar::I32),
        ("sequence", Scalar::I64),
        ("at", Scalar::DateTime),
        ("tradingDay", Scalar::Date),
        ("quoteId", Scalar::Uuid),
    ] {
        assert_eq!(
            field_presence(quote, field),
            (Presence::Required, TypeRef::Scalar(scalar)),
            "{field}"
        );
    }
    assert_eq!(
        field_presence(quote, "venueNote").0,
        Presence::OptionalNullable
    );
    assert_eq!(
        field_presence(quote, "halted").0,
        Presence::OptionalNullable
    );
    assert_eq!(field_presence(quote, "interval").0, Presence::Optional);
    let trade = type_def(&api, "Trade");
    assert_eq!(
        field_presence(trade, "lastPrice").0,
        Presence::RequiredNullable
    );
    assert_eq!(
        field_presence(trade, "at").0,
        Presence::Required,
        "allOf merges the base's required list"
    );

    let TypeKind::Struct(labels) = &type_def(&api, "Labels").kind else {
        panic!("a struct")
    };
    assert_eq!(labels.additional.as_ref().map(|a| &a.value), Some(&STRING));

    let node = type_def(&api, "AccountNode");
    let (presence, parent) = field_presence(node, "parent");
    assert_eq!(presence, Presence::Optional);
    let TypeRef::Box(inner) = parent else {
        panic!("a direct self reference is boxed: {parent:?}")
    };
    assert_eq!(named(&api, &inner), "AccountNode");
    let (_, children) = field_presence(node, "children");
    let TypeRef::Vec(inner) = children else {
        panic!("children is a Vec: {children:?}")
    };
    assert_eq!(named(&api, &inner), "AccountNode", "a Vec needs no Box");
}

#[test]
fn openapi_3_1() {
    let api = lower("openapi31.yaml");
    let shapes = endpoint(&api, "streamShapes");
    assert_eq!(shapes.framing, SseFraming::Payload);
    let (repr, variants) = union_of(type_def(&api, "Shape"));
    assert_eq!(
        repr,
        &UnionRepr::Internal { tag: "kind".into() },
        "tagged by const alone"
    );
    assert_eq!(variants, ["circle", "square", "empty"]);

    let log = endpoint(&api, "tailLog");
    assert_eq!(log.framing, SseFraming::Raw);
    assert!(matches!(log.events[0].payload, Payload::Text));

    let completion = endpoint(&api, "createCompletion");
    assert_eq!(completion.sentinel.map(String::as_str), Some("[DONE]"));
    let alternative = completion
        .json_alternative
        .expect("the application/json response");
    assert_eq!(named(&api, alternative), "Completion");
    assert_eq!(
        named(&api, &completion.body.expect("a body").ty),
        "CompletionRequest"
    );
    assert_eq!(
        field_presence(type_def(&api, "CompletionRequest"), "stop").0,
        Presence::OptionalNullable
    );
    assert_eq!(
        field_presence(type_def(&api, "Completion"), "finishedAt"),
        (
            Presence::RequiredNullable,
            TypeRef::Scalar(Scalar::DateTime)
        )
    );

    let (repr, variants) = union_of(type_def(&api, "Notification"));
    assert_eq!(
        repr,
        &UnionRepr::Internal {
            tag: "channel".into()
        }
    );
    assert_eq!(
        variants,
        ["Email", "Sms"],
        "implicit mapping: the component names"
    );
}

#[test]
fn openapi_3_2_item_schema() {
    let api = lower("openapi32.yaml");
    let build = endpoint(&api, "followBuild");
    assert!(build.resumable);
    assert_eq!(build.framing, SseFraming::Named);
    assert_eq!(events(&build), ["step-started", "step-finished", "log"]);
    let payloads: Vec<String> = build
        .events
        .iter()
        .map(|e| match &e.payload {
            Payload::Json(ty) => named(&api, ty),
            Payload::Text => "text".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        payloads,
        ["StepStarted", "StepFinished", "text"],
        "contentSchema is the payload"
    );
    assert_eq!(
        params(build.params),
        [(
            "buildId",
            ParamIn::Path,
            true,
            &TypeRef::Scalar(Scalar::I64)
        )]
    );

    let prices = endpoint(&api, "followPrices");
    assert_eq!(prices.framing, SseFraming::Named);
    assert_eq!(events(&prices), ["price", "correction"]);
    for event in prices.events {
        let Payload::Json(ty) = &event.payload else {
            panic!("JSON data")
        };
        assert_eq!(named(&api, ty), "Price");
    }

    let ticks = endpoint(&api, "followTicks");
    assert_eq!(ticks.framing, SseFraming::Payload);
    let Payload::Json(ty) = &ticks.events[0].payload else {
        panic!("JSON data")
    };
    assert_eq!(named(&api, ty), "Tick");
}

fn channel<'a>(api: &'a Api, wire: &str) -> &'a Channel {
    api.channels
        .iter()
        .find(|c| c.name.wire == wire)
        .unwrap_or_else(|| panic!("no channel `{wire}`"))
}

/// The messages of one direction of a channel (none when it has none that way).
fn direction(channel: &Channel, to_server: bool) -> &[Message] {
    channel
        .direction(to_server)
        .map_or(&[][..], |set| set.messages.as_slice())
}

fn messages(list: &[Message]) -> Vec<(&str, Option<&str>)> {
    list.iter()
        .map(|m| (m.name.wire.as_str(), m.tag.as_deref()))
        .collect()
}

/// A WebSocket channel's connection parameters.
fn channel_params<'a>(api: &'a Api, channel: &Channel) -> &'a [Param] {
    let ws = channel.websocket().expect("a WebSocket channel");
    &api.types
        .params(ws.params)
        .expect("a parameters struct")
        .params
}

/// Where a WebSocket channel is served and connected to.
fn path(channel: &Channel) -> &str {
    &channel.websocket().expect("a WebSocket channel").route.path
}

#[test]
fn asyncapi_3_0() {
    let api = lower("asyncapi30.yaml");
    assert_eq!(api.role, Role::Server);
    let lobby = channel(&api, "lobby");
    assert_eq!(lobby.address, "/lobby/{lobbyId}");
    assert_eq!(path(lobby), "/ws/lobby/{lobbyId}");
    let p = params(channel_params(&api, lobby));
    assert_eq!(p[0], ("lobbyId", ParamIn::Path, true, &STRING));
    assert_eq!(p[1], ("nickname", ParamIn::Query, true, &STRING));
    assert_eq!(
        p[2],
        (
            "spectate",
            ParamIn::Query,
            false,
            &TypeRef::Scalar(Scalar::Bool)
        )
    );
    assert_eq!(p[3], ("X-Client-Version", ParamIn::Header, false, &STRING));
    assert_eq!(
        lobby.websocket().expect("WebSocket").security,
        [
            Security::ApiKey {
                location: ParamIn::Header,
                name: "X-Api-Key".into()
            },
            Security::Bearer
        ]
    );
    assert_eq!(
        messages(direction(lobby, true)),
        [
            ("chatIn", Some("chat")),
            ("ready", Some("ready")),
            ("listPlayers", Some("list-players"))
        ]
    );
    assert_eq!(
        messages(direction(lobby, false)),
        [
            ("chatOut", Some("chat")),
            ("kicked", Some("kicked")),
            ("players", Some("players"))
        ]
    );
    let to_server = api.types.get(
        lobby
            .to_server
            .as_ref()
            .expect("a client → server enum")
            .enum_id,
    );
    assert_eq!(
        union_of(to_server).0,
        &UnionRepr::Internal { tag: "type".into() }
    );
    let payload = |m: &Message| match &m.payload {
        Payload::Json(ty) => ty.clone(),
        other => panic!("JSON payload, got {other:?}"),
    };
    assert_ne!(
        payload(&direction(lobby, true)[0]),
        payload(&direction(lobby, false)[0]),
        "`chat` both ways, with different payload types"
    );
    // The request id is a uuid, not a string the generated code can read and set: no typed
    // request/reply method (a warning says so); the messages stay in their directions.
    assert!(lobby.replies.is_empty());
    assert!(direction(lobby, true)[2].correlation.is_none());
}

#[test]
fn request_reply_is_indexed_with_its_correlation_field() {
    let api = lower("../../specs/petstore.asyncapi.yaml");
    let chat = channel(&api, "supportChat");
    let [reply] = chat.replies.as_slice() else {
        panic!("one request/reply operation: {:?}", chat.replies)
    };
    assert_eq!(reply.initiator, Initiator::Client);
    let request = &direction(chat, true)[reply.request];
    let answers: Vec<&str> = reply
        .replies
        .iter()
        .map(|&i| direction(chat, false)[i].name.wire.as_str())
        .collect();
    assert_eq!(
        (request.name.wire.as_str(), answers),
        ("historyRequest", vec!["historyReply"])
    );
    let correlation = request.correlation.as_ref().expect("a correlation id");
    assert_eq!(correlation.pointer, ["requestId"]);
    assert_eq!(correlation.field.as_str(), "request_id");
}

#[test]
fn asyncapi_2_6_is_converted() {
    let api = lower("asyncapi26.yaml");
    assert!(api.source.spec.contains("2.6.0"), "{}", api.source.spec);
    assert_eq!(api.role, Role::Server);
    assert_eq!(api.channels.len(), 1);
    let rooms = &api.channels[0];
    assert_eq!(rooms.address, "/rooms/{roomId}");
    assert!(rooms.websocket().is_some());
    assert_eq!(
        params(channel_params(&api, rooms)),
        [("roomId", ParamIn::Path, true, &TypeRef::Scalar(Scalar::I32))]
    );
    assert_eq!(
        messages(direction(rooms, true))
            .iter()
            .map(|m| m.1)
            .collect::<Vec<_>>(),
        [Some("set-target")],
        "publish: what the server receives"
    );
    assert_eq!(
        messages(direction(rooms, false))
            .iter()
            .map(|m| m.1)
            .collect::<Vec<_>>(),
        [Some("reading"), Some("alarm")],
        "subscribe (a oneOf): what the server sends"
    );
}

#[test]
fn asyncapi_3_1_multi_file() {
    let api = lower("asyncapi31_multi.yaml");
    let presence = channel(&api, "presence");
    assert!(
        presence.websocket().is_some(),
        "the protocol of the $ref'd server"
    );
    assert_eq!(
        messages(direction(presence, true)),
        [("join", Some("join")), ("leave", Some("leave"))]
    );
    assert_eq!(messages(direction(presence, false)), [("roster", None)]);
    let roster = &direction(presence, false)[0].payload;
    let Payload::Json(TypeRef::Vec(user)) = roster else {
        panic!("the roster is an array: {roster:?}")
    };
    assert_eq!(named(&api, user), "User");
}

#[test]
fn asyncapi_frames_from_the_client_side() {
    let api = lower("asyncapi30_frames.yml");
    assert_eq!(api.role, Role::Client, "x-wiregen-role: client");
    let channel = channel(&api, "transcribe");
    let kinds: Vec<&str> = direction(channel, true)
        .iter()
        .map(|m| match m.payload {
            Payload::Binary => "binary",
            Payload::Text => "text",
            Payload::Json(_) => "json",
            Payload::Empty => "empty",
        })
        .collect();
    assert_eq!(
        kinds,
        ["binary", "text"],
        "the client sends audio and commands"
    );
    assert_eq!(
        messages(direction(channel, false)),
        [("partial", None), ("final", None)]
    );
    let to_client = channel.to_client.as_ref().expect("an enum");
    assert_eq!(
        union_of(api.types.get(to_client.enum_id)).0,
        &UnionRepr::Untagged
    );
    // Binary frames carry the audio, text frames the command: told apart by the frame.
    let to_server = channel.to_server.as_ref().expect("messages to the server");
    assert_eq!(to_server.binary, Some(0));
}

#[test]
fn role_setting_overrides_the_document() {
    let path = PathBuf::from("tests/fixtures/asyncapi30.yaml");
    let settings = Settings {
        role: Some(Role::Client),
        ..Settings::default()
    };
    let lowered = wiregen::lower_all(&[path], &settings)
        .unwrap_or_else(|f| panic!("{}", wiregen::diag::render(&f.diagnostics)));
    let api = &lowered.apis[0];
    assert_eq!(api.role, Role::Client);
    let lobby = channel(api, "lobby");
    // Read from the client's side, `send` is what reaches the server.
    assert_eq!(
        messages(direction(lobby, true)),
        [
            ("chatOut", Some("chat")),
            ("kicked", Some("kicked")),
            ("players", Some("players"))
        ]
    );
    assert_eq!(
        messages(direction(lobby, false))[0],
        ("chatIn", Some("chat"))
    );
}

/// The identifiers of the `Unknown` catch-alls of a channel's (client → server, server →
/// client) enums.
fn catch_alls(api: &Api, channel: &Channel) -> (Option<String>, Option<String>) {
    let unknown = |to_server: bool| {
        let set = channel.direction(to_server)?;
        let TypeKind::Union(union) = &api.types.get(set.enum_id).kind else {
            return None;
        };
        let from_set = set.unknown.as_ref().map(|u| u.as_str().to_owned());
        assert_eq!(
            from_set,
            union.unknown.as_ref().map(|u| u.as_str().to_owned())
        );
        from_set
    };
    (unknown(true), unknown(false))
}

#[test]
fn unknown_messages_from_the_document_and_the_setting() {
    let path = PathBuf::from("tests/fixtures/asyncapi30_unknown.yaml");
    let lower_with = |settings: &Settings| {
        wiregen::lower_all(std::slice::from_ref(&path), settings)
            .unwrap_or_else(|f| panic!("{}", wiregen::diag::render(&f.diagnostics)))
            .apis
            .remove(0)
    };
    // The document's `x-wiregen-unknown-messages: true`: every tagged received enum.
    let api = lower_with(&Settings::default());
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        catch_alls(&api, channel(&api, "game")),
        (some("Unknown"), some("Unknown"))
    );
    // A message already named `unknown` keeps its name; wrappers get the catch-all too.
    assert_eq!(
        catch_alls(&api, channel(&api, "rules")),
        (some("Unknown2"), None)
    );
    // Untagged: no catch-all (and a warning).
    assert_eq!(catch_alls(&api, channel(&api, "notes")), (None, None));

    // The setting overrides the document.
    let off = lower_with(&Settings {
        unknown_messages: Some(false),
        ..Settings::default()
    });
    assert_eq!(catch_alls(&off, channel(&off, "game")), (None, None));
    // The IR does not depend on which parts are emitted: every tagged enum gets it.
    let mut server_only = Settings::default();
    server_only.parts.client = false;
    let api = lower_with(&server_only);
    assert_eq!(
        catch_alls(&api, channel(&api, "game")),
        (some("Unknown"), some("Unknown"))
    );
    // Off by default.
    let api = lower("asyncapi30.yaml");
    for c in &api.channels {
        assert_eq!(catch_alls(&api, c), (None, None), "{}", c.name.wire);
    }
    let on = wiregen::lower_all(
        &[PathBuf::from("tests/fixtures/asyncapi30.yaml")],
        &Settings {
            unknown_messages: Some(true),
            ..Settings::default()
        },
    )
    .unwrap_or_else(|f| panic!("{}", wiregen::diag::render(&f.diagnostics)))
    .apis
    .remove(0);
    assert!(
        on.channels
            .iter()
            .any(|c| catch_alls(&on, c) != (None, None))
    );
}

#[test]
fn server_pathnames_prefix_websocket_channels() {
    let api = lower("asyncapi30_pathnames.yaml");
    let served = |wire: &str| {
        let channel = channel(&api, wire);
        (path(channel).to_owned(), channel.address.clone())
    };
    // `a`'s `/api/{version}/` with the default `v2`, normalised; `b`'s `api/v2` agrees.
    let (shared, address) = served("shared");
    assert_eq!(shared, format!("/api/v2{address}"));
    // `a` and `c` disagree; `d`'s variable has no default: no prefix (both warned about).
    for wire in ["split", "tenant"] {
        let (unprefixed, address) = served(wire);
        assert_eq!(unprefixed, address, "{wire}");
    }
    // Only WebSocket servers count.
    let (mixed, address) = served("mixed");
    assert_eq!(mixed, format!("/api/v2{address}"));
    // AsyncAPI 2.x `url`, converted to `host` + `pathname`.
    let api = lower("asyncapi26.yaml");
    assert!(
        api.channels
            .iter()
            .all(|c| path(c).starts_with("/thermostat/"))
    );
    // No pathname at all.
    let api = lower("asyncapi30_ws_edges.yaml");
    assert!(
        api.channels
            .iter()
            .all(|c| path(c) == format!("/{}", c.address.trim_start_matches('/')))
    );
}
