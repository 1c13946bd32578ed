//! What the fixtures lower to, for the parts of the IR the `.rs` snapshots do not show yet:
//! SSE framing, parameters, `Last-Event-ID`, request bodies, sentinels, JSON alternatives,
//! channel handshake parameters, security, message directions and tags, request/reply pairs.

use std::path::PathBuf;

use wiregen::Settings;
use wiregen::ir::{
    Api, Channel, ChannelProtocol, HttpMethod, Message, ParamIn, Payload, Presence, Role, Scalar,
    Security, SseEndpoint, SseFraming, TypeDef, TypeKind, TypeRef, UnionRepr,
};

fn lower(fixture: &str) -> Api {
    let path = PathBuf::from("tests/fixtures").join(fixture);
    let mut lowered = wiregen::lower_all(&[path], &Settings::default())
        .unwrap_or_else(|f| panic!("{fixture}:\n{}", wiregen::diag::render(&f.diagnostics)));
    assert_eq!(lowered.apis.len(), 1);
    lowered.apis.remove(0)
}

fn endpoint<'a>(api: &'a Api, operation: &str) -> &'a SseEndpoint {
    api.sse_endpoints
        .iter()
        .find(|e| e.name.wire == operation)
        .unwrap_or_else(|| {
            let names: Vec<_> = api.sse_endpoints.iter().map(|e| &e.name.wire).collect();
            panic!("no SSE endpoint `{operation}` among {names:?}")
        })
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

/// (wire name, location, required, type) of every parameter.
fn params(params: &[wiregen::ir::Param]) -> Vec<(&str, ParamIn, bool, &TypeRef)> {
    params
        .iter()
        .map(|p| (p.name.wire.as_str(), p.location, p.required, &p.ty))
        .collect()
}

fn events(endpoint: &SseEndpoint) -> Vec<&str> {
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
        (quotes.method, quotes.path.as_str()),
        (HttpMethod::Get, "/v1/venues/{venueId}/quotes")
    );
    assert!(
        quotes.resumable,
        "a Last-Event-ID header makes the stream resumable"
    );
    assert_eq!(quotes.framing, SseFraming::Named);
    assert_eq!(events(quotes), ["quote", "trade", "heartbeat"]);
    assert!(
        matches!(quotes.events[2].payload, Payload::Empty),
        "a heartbeat has no data"
    );
    let p = params(&quotes.params);
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

    let watch = endpoint(&api, "watchOrders");
    assert_eq!(watch.method, HttpMethod::Post);
    let body = watch.body.as_ref().expect("a JSON body");
    assert!(body.required);
    assert_eq!(named(&api, &body.ty), "WatchRequest");
    assert_eq!(watch.framing, SseFraming::Payload);
    assert!(!watch.resumable);
    assert_eq!(events(watch), ["message"]);
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
    assert_eq!(completion.sentinel.as_deref(), Some("[DONE]"));
    let alternative = completion
        .json_alternative
        .as_ref()
        .expect("the application/json response");
    assert_eq!(named(&api, alternative), "Completion");
    assert_eq!(
        named(&api, &completion.body.as_ref().expect("a body").ty),
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
    assert_eq!(events(build), ["step-started", "step-finished", "log"]);
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
        params(&build.params),
        [(
            "buildId",
            ParamIn::Path,
            true,
            &TypeRef::Scalar(Scalar::I64)
        )]
    );

    let prices = endpoint(&api, "followPrices");
    assert_eq!(prices.framing, SseFraming::Named);
    assert_eq!(events(prices), ["price", "correction"]);
    for event in &prices.events {
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

fn messages(list: &[Message]) -> Vec<(&str, Option<&str>)> {
    list.iter()
        .map(|m| (m.name.wire.as_str(), m.tag.as_deref()))
        .collect()
}

#[test]
fn asyncapi_3_0() {
    let api = lower("asyncapi30.yaml");
    assert_eq!(api.role, Role::Server);
    let lobby = channel(&api, "lobby");
    assert_eq!(lobby.address, "/lobby/{lobbyId}");
    assert_eq!(lobby.protocol, ChannelProtocol::WebSocket);
    let p = params(&lobby.params);
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
        lobby.security,
        [
            Security::ApiKey {
                location: ParamIn::Header,
                name: "X-Api-Key".into()
            },
            Security::Bearer
        ]
    );
    assert_eq!(
        messages(&lobby.to_server),
        [
            ("chatIn", Some("chat")),
            ("ready", Some("ready")),
            ("listPlayers", Some("list-players"))
        ]
    );
    assert_eq!(
        messages(&lobby.to_client),
        [
            ("chatOut", Some("chat")),
            ("kicked", Some("kicked")),
            ("players", Some("players"))
        ]
    );
    let to_server = api
        .types
        .get(lobby.to_server_enum.expect("a client → server enum"));
    assert_eq!(
        union_of(to_server).0,
        &UnionRepr::Internal { tag: "type".into() }
    );
    let payload = |m: &Message| match &m.payload {
        Payload::Json(ty) => ty.clone(),
        other => panic!("JSON payload, got {other:?}"),
    };
    assert_ne!(
        payload(&lobby.to_server[0]),
        payload(&lobby.to_client[0]),
        "`chat` both ways, with different payload types"
    );
    assert_eq!(lobby.replies.len(), 1);
    let reply = &lobby.replies[0];
    assert_eq!(reply.name.wire, "answerPlayerList");
    assert_eq!(reply.request, "listPlayers");
    assert_eq!(reply.replies, ["players"]);
    assert_eq!(reply.correlation.as_deref(), Some("/requestId"));
    assert_eq!(
        lobby.to_server[2].correlation.as_deref(),
        Some("/requestId")
    );
}

#[test]
fn asyncapi_2_6_is_converted() {
    let api = lower("asyncapi26.yaml");
    assert!(api.source.spec.contains("2.6.0"), "{}", api.source.spec);
    assert_eq!(api.role, Role::Server);
    assert_eq!(api.channels.len(), 1);
    let rooms = &api.channels[0];
    assert_eq!(rooms.address, "/rooms/{roomId}");
    assert_eq!(rooms.protocol, ChannelProtocol::WebSocket);
    assert_eq!(
        params(&rooms.params),
        [("roomId", ParamIn::Path, true, &TypeRef::Scalar(Scalar::I32))]
    );
    assert_eq!(
        messages(&rooms.to_server)
            .iter()
            .map(|m| m.1)
            .collect::<Vec<_>>(),
        [Some("set-target")],
        "publish: what the server receives"
    );
    assert_eq!(
        messages(&rooms.to_client)
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
    assert_eq!(
        presence.protocol,
        ChannelProtocol::WebSocket,
        "the protocol of the $ref'd server"
    );
    assert_eq!(
        messages(&presence.to_server),
        [("join", Some("join")), ("leave", Some("leave"))]
    );
    assert_eq!(messages(&presence.to_client), [("roster", None)]);
    let Payload::Json(TypeRef::Vec(user)) = &presence.to_client[0].payload else {
        panic!(
            "the roster is an array: {:?}",
            presence.to_client[0].payload
        )
    };
    assert_eq!(named(&api, user), "User");
}

#[test]
fn asyncapi_frames_from_the_client_side() {
    let api = lower("asyncapi30_frames.yml");
    assert_eq!(api.role, Role::Client, "x-wiregen-role: client");
    let channel = channel(&api, "transcribe");
    let kinds: Vec<&str> = channel
        .to_server
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
        messages(&channel.to_client),
        [("partial", None), ("final", None)]
    );
    let to_client = api.types.get(channel.to_client_enum.expect("an enum"));
    assert_eq!(union_of(to_client).0, &UnionRepr::Untagged);
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
        messages(&lobby.to_server),
        [
            ("chatOut", Some("chat")),
            ("kicked", Some("kicked")),
            ("players", Some("players"))
        ]
    );
    assert_eq!(messages(&lobby.to_client)[0], ("chatIn", Some("chat")));
}

/// The identifiers of the `Unknown` catch-alls of a channel's (client → server, server →
/// client) enums.
fn catch_alls(api: &Api, channel: &Channel) -> (Option<String>, Option<String>) {
    let unknown = |id: Option<wiregen::ir::TypeId>| match id.map(|id| &api.types.get(id).kind) {
        Some(TypeKind::Union(union)) => union.unknown.as_ref().map(|u| u.as_str().to_owned()),
        _ => None,
    };
    (
        unknown(channel.to_server_enum),
        unknown(channel.to_client_enum),
    )
}

#[test]
fn unknown_messages_from_the_document_the_setting_and_the_parts() {
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
    // Only the enums a generated part receives.
    let mut server_only = Settings::default();
    server_only.parts.client = false;
    let api = lower_with(&server_only);
    assert_eq!(
        catch_alls(&api, channel(&api, "game")),
        (some("Unknown"), None)
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
    let pathname = |wire: &str| channel(&api, wire).pathname.clone();
    // `a`'s `/api/{version}/` with the default `v2`, normalised; `b`'s `api/v2` agrees.
    assert_eq!(pathname("shared"), "/api/v2");
    // `a` and `c` disagree; `d`'s variable has no default: no prefix (both warned about).
    assert_eq!(pathname("split"), "");
    assert_eq!(pathname("tenant"), "");
    // Only WebSocket servers count.
    assert_eq!(pathname("mixed"), "/api/v2");
    // AsyncAPI 2.x `url`, converted to `host` + `pathname`.
    let api = lower("asyncapi26.yaml");
    assert!(api.channels.iter().all(|c| c.pathname == "/thermostat"));
    let api = lower("asyncapi30.yaml");
    assert_eq!(channel(&api, "lobby").pathname, "/ws");
    // No pathname at all.
    let api = lower("asyncapi30_ws_edges.yaml");
    assert!(api.channels.iter().all(|c| c.pathname.is_empty()));
}
