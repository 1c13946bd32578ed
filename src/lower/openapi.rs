//! Lowering OpenAPI 3.0–3.2: operations whose response is a `text/event-stream`, in every way
//! real specs describe event streams, and plain operations recorded for later.
//!
//! Event streams are recognised from (in order): OpenAPI 3.2 `itemSchema`, else `schema`:
//! - an envelope (an object whose properties are within `event`, `data`, `id`, `retry`), or a
//!   `oneOf` of envelopes, each naming its event with a `const`/`enum` on `event` (or through a
//!   discriminator mapping); `data` is a JSON payload (an object schema, or a string carrying JSON
//!   through `contentMediaType`/`contentSchema`) or plain text;
//! - a schema that is the `data` payload itself (every event is `message`);
//! - an opaque string, or no schema at all: raw text events.

use serde_json::{Map, Value};

use super::ModuleNames;
use super::params::{RawParam, param};
use super::routes::route;
use super::schema::{SchemaLowerer, component_name, docs_of, joined};
use crate::diag::{Diagnostic, Diagnostics, Kind};
use crate::ir::{
    Body, Docs, EventStream, HttpMethod, JsonAlternative, Operation, OperationKind, Param, ParamIn,
    ParamsDef, ParamsOf, Payload, PlainOperation, Scalar, SseEvent, SseFraming, TypeDef, TypeKind,
    TypeRef, UnionDef, UnionRepr, UnionVariant,
};
use crate::names::{Case, Name, Namespace, ident};
use crate::spec::Loc;

const METHODS: &[(&str, HttpMethod)] = &[
    ("get", HttpMethod::Get),
    ("put", HttpMethod::Put),
    ("post", HttpMethod::Post),
    ("delete", HttpMethod::Delete),
    ("options", HttpMethod::Options),
    ("head", HttpMethod::Head),
    ("patch", HttpMethod::Patch),
    ("trace", HttpMethod::Trace),
    ("query", HttpMethod::Query),
];

/// The operations of an OpenAPI document.
pub struct OpenApiLowered {
    /// Operations answering with an event stream.
    pub streams: Vec<Operation>,
    /// Everything else, recorded.
    pub plain: Vec<PlainOperation>,
}

/// Walk `paths` in document order. Every operation claims its method name (so names stay the
/// same when more kinds of operation get code).
pub fn lower(
    root: &Loc,
    types: &mut SchemaLowerer<'_>,
    names: &mut ModuleNames,
    diags: &mut Diagnostics,
) -> OpenApiLowered {
    let sources = types.sources();
    let mut out = OpenApiLowered {
        streams: Vec::new(),
        plain: Vec::new(),
    };
    let paths_loc = root.child("paths");
    let Some(Value::Object(paths)) = sources.get(&paths_loc) else {
        return out;
    };
    for path in paths.keys() {
        let item_loc = match sources.deref(&paths_loc.child(path)) {
            Ok(l) => l,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let Some(Value::Object(item)) = sources.get(&item_loc) else {
            continue;
        };
        for (key, method) in METHODS {
            if !item.contains_key(*key) {
                continue;
            }
            let op_loc = item_loc.child(key);
            let Some(Value::Object(op)) = sources.get(&op_loc) else {
                continue;
            };
            let wire = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{} {path}", method.as_str().to_ascii_lowercase()));
            let name = names.methods.claim_name(&wire, Case::Snake).0;
            let mut docs = Docs::default();
            for k in ["summary", "description"] {
                if let Some(Value::String(text)) = op.get(k) {
                    docs.push_paragraph(Docs::from_text(text));
                }
            }
            let ctx = OperationContext {
                path,
                method: *method,
                item_loc: &item_loc,
                op_loc: &op_loc,
                op,
                name,
                docs,
            };
            match event_stream(types, names, &ctx, diags) {
                Some(operation) => out.streams.push(operation),
                None => out.plain.push(PlainOperation {
                    name: ctx.name,
                    method: ctx.method,
                    path: ctx.path.to_owned(),
                    docs: ctx.docs,
                    location: sources.locate(ctx.op_loc),
                }),
            }
        }
    }
    out
}

struct OperationContext<'c> {
    path: &'c str,
    method: HttpMethod,
    item_loc: &'c Loc,
    op_loc: &'c Loc,
    op: &'c Map<String, Value>,
    name: Name,
    docs: Docs,
}

fn is_event_stream(media: &str) -> bool {
    media
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
}

fn is_json(media: &str) -> bool {
    let m = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
}

/// The operation, if its success response is a `text/event-stream`.
fn event_stream(
    types: &mut SchemaLowerer<'_>,
    names: &mut ModuleNames,
    ctx: &OperationContext<'_>,
    diags: &mut Diagnostics,
) -> Option<Operation> {
    let sources = types.sources();
    let (content_loc, content, media) = stream_media(types, ctx)?;
    let media_loc = match sources.deref(&content_loc.child(&media)) {
        Ok(l) => l,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let media_obj = sources
        .get(&media_loc)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let at = sources.locate(ctx.op_loc);
    let base = ctx.name.rust.unraw().to_owned();

    // The request struct's fields: the parameters, then `body` and `last_event_id`.
    let mut fields = Namespace::with_reserved([BODY, LAST_EVENT_ID]);
    let (params, resumable) = parameters(types, &mut fields, ctx, &base, diags);
    let body = request_body(types, ctx, &base, diags);
    let json_alternative = content
        .keys()
        .find(|m| is_json(m))
        .map(|m| content_loc.child(m).child("schema"))
        .filter(|l| sources.get(l).is_some())
        .map(|schema| JsonAlternative {
            ty: types
                .lower(&schema, &format!("{base}Response"), diags)
                .folded(),
            method: names.methods.claim_joined(&[&base, "json"], Case::Snake),
        });
    let sentinel = media_obj
        .get("x-speakeasy-sse-sentinel")
        .or_else(|| ctx.op.get("x-speakeasy-sse-sentinel"))
        .or_else(|| ctx.op.get("x-wiregen-sse-sentinel"))
        .and_then(Value::as_str)
        .map(str::to_owned);

    let (framing, mut events, member_sentinel) =
        events_of(types, &media_loc, &media_obj, &base, diags);
    let sentinel = sentinel.or(member_sentinel);
    let enum_name = types.claim_type_name(&format!("{base}Event"));
    let mut variant_names = Namespace::new();
    for event in &mut events {
        event.name.rust = variant_names
            .claim_name(&event.name.wire, Case::Camel)
            .0
            .rust;
    }
    let variants = events
        .iter()
        .map(|e| UnionVariant {
            name: e.name.clone(),
            docs: e.docs.clone(),
            ty: match &e.payload {
                Payload::Json(ty) => Some(ty.clone()),
                Payload::Text | Payload::Binary => Some(TypeRef::Scalar(Scalar::String)),
                Payload::Empty => None,
            },
            skip: false,
        })
        .collect();
    let enum_docs = Docs::from_text(&format!(
        "The events of `{} {}`, told apart by the SSE `event:` field.",
        ctx.method.as_str(),
        ctx.path
    ))
    .with_paragraph(ctx.docs.clone());
    let event_enum = types.add_type(TypeDef {
        name: enum_name,
        docs: enum_docs,
        kind: TypeKind::Union(UnionDef {
            repr: UnionRepr::Adjacent {
                tag: "event".to_owned(),
                content: "data".to_owned(),
            },
            variants,
            unknown: None,
        }),
        examples: Vec::new(),
        location: sources.locate(&media_loc),
    });
    let route = route(
        ctx.path,
        &params,
        ctx.method,
        &format!("`{} {}`", ctx.method.as_str(), ctx.path),
        &at,
        diags,
    );
    let request = types.add_type_named_later(
        TypeDef {
            name: ctx.name.clone(),
            docs: Docs::from_text(&format!(
                "Everything `{} {}` takes.",
                ctx.method.as_str(),
                ctx.path
            )),
            kind: TypeKind::Params(ParamsDef {
                params,
                body,
                last_event_id: resumable.then(|| ident(LAST_EVENT_ID, Case::Snake)),
                of: ParamsOf::Request,
            }),
            examples: Vec::new(),
            location: at.clone(),
        },
        format!("{base}Request"),
    );
    Some(Operation {
        name: ctx.name.clone(),
        docs: ctx.docs.clone(),
        method: ctx.method,
        route,
        request,
        handler: names.server.claim_joined(&["handle", &base], Case::Snake),
        kind: OperationKind::Stream(EventStream {
            events,
            event_enum,
            framing,
            sentinel,
            json_alternative,
        }),
        location: at,
    })
}

/// The request struct's field for a JSON body.
const BODY: &str = "body";
/// The request struct's field for `Last-Event-ID`.
const LAST_EVENT_ID: &str = "last_event_id";

/// The success response's content and its `text/event-stream` media type, if it has one: the
/// first 2xx response (in document order), else `default`.
fn stream_media<'s>(
    types: &SchemaLowerer<'s>,
    ctx: &OperationContext<'_>,
) -> Option<(Loc, &'s Map<String, Value>, String)> {
    let sources = types.sources();
    let responses_loc = ctx.op_loc.child("responses");
    let responses = sources.get(&responses_loc)?.as_object()?;
    let status = responses
        .keys()
        .find(|k| k.starts_with('2'))
        .or_else(|| responses.keys().find(|k| *k == "default"))?;
    let response_loc = sources.deref(&responses_loc.child(status)).ok()?;
    let content_loc = response_loc.child("content");
    let content = sources.get(&content_loc)?.as_object()?;
    let media = content.keys().find(|m| is_event_stream(m))?.clone();
    Some((content_loc, content, media))
}

/// The parameters of the path item and the operation (the operation's override the path
/// item's with the same name and location), and whether a `Last-Event-ID` header makes the
/// stream resumable.
fn parameters(
    types: &mut SchemaLowerer<'_>,
    fields: &mut Namespace,
    ctx: &OperationContext<'_>,
    base: &str,
    diags: &mut Diagnostics,
) -> (Vec<Param>, bool) {
    let sources = types.sources();
    // (wire, location, where) of every parameter, the operation's replacing the path item's.
    let mut found: Vec<(String, ParamIn, Loc)> = Vec::new();
    for list_loc in [
        ctx.item_loc.child("parameters"),
        ctx.op_loc.child("parameters"),
    ] {
        let Some(Value::Array(list)) = sources.get(&list_loc) else {
            continue;
        };
        for i in 0..list.len() {
            let param_loc = match sources.deref(&list_loc.index(i)) {
                Ok(l) => l,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let Some(Value::Object(param)) = sources.get(&param_loc) else {
                continue;
            };
            let Some(wire) = param.get("name").and_then(Value::as_str) else {
                diags.push(
                    Diagnostic::error(Kind::Invalid, "a parameter needs a `name`")
                        .at(sources.locate(&param_loc)),
                );
                continue;
            };
            let location = match param.get("in").and_then(Value::as_str) {
                Some("path") => ParamIn::Path,
                Some("query") => ParamIn::Query,
                Some("header") => ParamIn::Header,
                Some("cookie") => ParamIn::Cookie,
                other => {
                    diags.push(
                        Diagnostic::error(
                            Kind::Invalid,
                            format!(
                                "parameter `{wire}` has `in: {}`; expected path, query, header or cookie",
                                other.unwrap_or("(missing)")
                            ),
                        )
                        .at(sources.locate(&param_loc.child("in"))),
                    );
                    continue;
                }
            };
            found.retain(|(w, l, _)| !(w == wire && *l == location));
            found.push((wire.to_owned(), location, param_loc));
        }
    }
    let mut params = Vec::new();
    let mut resumable = false;
    for (wire, location, param_loc) in found {
        if location == ParamIn::Header && wire.eq_ignore_ascii_case("last-event-id") {
            resumable = true;
            continue;
        }
        let Some(Value::Object(object)) = sources.get(&param_loc) else {
            continue;
        };
        let schema_loc = if object.contains_key("schema") {
            Some(param_loc.child("schema"))
        } else {
            object
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.keys().next())
                .map(|m| param_loc.child("content").child(m).child("schema"))
        };
        let ty = match schema_loc {
            Some(schema) => types.lower(&schema, &joined(base, &wire), diags).ty,
            None => TypeRef::Scalar(Scalar::String),
        };
        let raw = RawParam {
            wire: &wire,
            location,
            ty,
            required: object.get("required") == Some(&Value::Bool(true)),
            docs: docs_of(object),
        };
        params.push(param(
            types,
            fields,
            raw,
            &sources.locate(&param_loc),
            diags,
        ));
    }
    (params, resumable)
}

fn request_body(
    types: &mut SchemaLowerer<'_>,
    ctx: &OperationContext<'_>,
    base: &str,
    diags: &mut Diagnostics,
) -> Option<Body> {
    let sources = types.sources();
    let body_loc = sources.deref(&ctx.op_loc.child("requestBody")).ok()?;
    let body = sources.get(&body_loc)?.as_object()?;
    let content = body.get("content")?.as_object()?;
    let Some(media) = content.keys().find(|m| is_json(m)) else {
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                "only JSON request bodies are supported for event streams; this body is ignored",
            )
            .at(sources.locate(&body_loc.child("content"))),
        );
        return None;
    };
    let schema = body_loc.child("content").child(media).child("schema");
    let ty = if sources.get(&schema).is_some() {
        types.lower(&schema, &format!("{base}Body"), diags).folded()
    } else {
        TypeRef::Json
    };
    Some(Body {
        ty,
        required: body.get("required") == Some(&Value::Bool(true)),
        docs: docs_of(body),
        field: ident(BODY, Case::Snake),
    })
}

/// The events a media type describes, how they are framed, and an end-of-stream sentinel
/// written as one of them (a member whose `data` is a single string value and that names no
/// event: `{data: {type: string, enum: ['[DONE]']}}`).
fn events_of(
    types: &mut SchemaLowerer<'_>,
    media_loc: &Loc,
    media: &Map<String, Value>,
    type_base: &str,
    diags: &mut Diagnostics,
) -> (SseFraming, Vec<SseEvent>, Option<String>) {
    let sources = types.sources();
    let schema_key = if media.contains_key("itemSchema") {
        "itemSchema"
    } else {
        "schema"
    };
    let raw = || {
        (
            SseFraming::Raw,
            vec![SseEvent {
                name: crate::names::name("message", Case::Camel),
                docs: Docs::default(),
                payload: Payload::Text,
            }],
            None,
        )
    };
    let Ok(schema_loc) = sources.deref(&media_loc.child(schema_key)) else {
        return raw();
    };
    let Some(Value::Object(schema)) = sources.get(&schema_loc) else {
        return raw();
    };
    let framing_of = |events: &[SseEvent]| {
        if events.iter().any(|e| e.name.wire != "message") {
            SseFraming::Named
        } else {
            SseFraming::Payload
        }
    };
    // A union of envelopes.
    for keyword in ["oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = schema.get(keyword) {
            let member_locs: Vec<Loc> = (0..members.len())
                .filter_map(|i| sources.deref(&schema_loc.child(keyword).index(i)).ok())
                .collect();
            let kinds: Vec<Envelope> = member_locs
                .iter()
                .map(|m| envelope_kind(sources.get(m)))
                .collect();
            if !member_locs.is_empty() && kinds.iter().all(|k| *k != Envelope::Payload) {
                let mapping = mapping_names(types, &schema_loc, schema);
                let mut events = Vec::new();
                let mut sentinel = None;
                for (member, kind) in member_locs.iter().zip(&kinds) {
                    if *kind == Envelope::Ambiguous {
                        warn_ambiguous(types, member, diags);
                    }
                    if let Some(value) = sentinel_member(types, member) {
                        sentinel.get_or_insert(value);
                        continue;
                    }
                    let names = mapping
                        .iter()
                        .filter(|(_, t)| t == member)
                        .map(|(k, _)| k.clone())
                        .collect::<Vec<_>>();
                    events.extend(envelope_events(types, member, names, type_base, diags));
                }
                let events = dedupe(events, types, &schema_loc, diags);
                return (framing_of(&events), events, sentinel);
            }
        }
    }
    match envelope_kind(Some(&Value::Object(schema.clone()))) {
        Envelope::Fields => {
            let events = envelope_events(types, &schema_loc, Vec::new(), type_base, diags);
            let events = dedupe(events, types, &schema_loc, diags);
            return (framing_of(&events), events, None);
        }
        Envelope::Ambiguous => warn_ambiguous(types, &schema_loc, diags),
        Envelope::Payload => {}
    }
    if schema.get("type").and_then(Value::as_str) == Some("string")
        && !schema.contains_key("contentSchema")
    {
        return raw();
    }
    // The schema is the payload of every (unnamed) event.
    let payload = types
        .lower(
            &media_loc.child(schema_key),
            &format!("{type_base}Data"),
            diags,
        )
        .folded();
    (
        SseFraming::Payload,
        vec![SseEvent {
            name: crate::names::name("message", Case::Camel),
            docs: Docs::default(),
            payload: Payload::Json(payload),
        }],
        None,
    )
}

/// Whether a schema describes an SSE event's fields rather than its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Envelope {
    /// Its properties are SSE fields (`event`, `data`, `id`, `retry`), with `data` or `event`; or
    /// also the fields server frameworks add (Spring's `comment`; Micronaut's `name`, the event
    /// name) beside `data` and an SSE field (`id`, `retry`, `event`, `comment`).
    Fields,
    /// Only `data` and `name`: Micronaut's `Event` or a payload with those properties. Read as the
    /// payload, with a warning.
    Ambiguous,
    /// A payload.
    Payload,
}

fn envelope_kind(value: Option<&Value>) -> Envelope {
    let Some(Value::Object(obj)) = value else {
        return Envelope::Payload;
    };
    let Some(Value::Object(props)) = obj.get("properties") else {
        return Envelope::Payload;
    };
    let has = |key: &str| props.contains_key(key);
    if props.is_empty() || !(has("data") || has("event")) {
        return Envelope::Payload;
    }
    if props
        .keys()
        .all(|k| matches!(k.as_str(), "event" | "data" | "id" | "retry"))
    {
        return Envelope::Fields;
    }
    let framework = props.keys().all(|k| {
        matches!(
            k.as_str(),
            "event" | "data" | "id" | "retry" | "comment" | "name"
        )
    });
    match framework {
        true if has("data") && ["id", "retry", "event", "comment"].iter().any(|k| has(k)) => {
            Envelope::Fields
        }
        true if has("data") => Envelope::Ambiguous,
        _ => Envelope::Payload,
    }
}

fn warn_ambiguous(types: &SchemaLowerer<'_>, at: &Loc, diags: &mut Diagnostics) {
    diags.push(
        Diagnostic::warning(
            Kind::Invalid,
            "a schema with only `data` and `name` may be an event envelope (Micronaut's `Event`, whose `name` is the event name) or a payload: it is read as the payload",
        )
        .at(types.sources().locate(at))
        .help("add `id`, `retry` or `event` to the envelope's properties to have it read as an envelope"),
    );
}

/// An envelope that only carries a fixed string as its `data` and names no event of its own:
/// the end-of-stream marker, and its value.
fn sentinel_member(types: &SchemaLowerer<'_>, envelope: &Loc) -> Option<String> {
    let sources = types.sources();
    let props = envelope.child("properties");
    let names_event = ["event", "name"].iter().any(|key| {
        sources
            .deref(&props.child(key))
            .ok()
            .and_then(|l| sources.get(&l))
            .and_then(Value::as_object)
            .is_some_and(|e| e.contains_key("const") || e.contains_key("enum"))
    });
    if names_event {
        return None;
    }
    let data = sources.deref(&props.child("data")).ok()?;
    let data = sources.get(&data)?.as_object()?;
    match (data.get("const"), data.get("enum")) {
        (Some(Value::String(value)), _) => Some(value.clone()),
        (None, Some(Value::Array(values))) => match values.as_slice() {
            [Value::String(value)] => Some(value.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Discriminator mapping of a union of envelopes: event name → member location.
fn mapping_names(
    types: &SchemaLowerer<'_>,
    union_loc: &Loc,
    union: &Map<String, Value>,
) -> Vec<(String, Loc)> {
    let sources = types.sources();
    let Some(Value::Object(mapping)) = union.get("discriminator").and_then(|d| d.get("mapping"))
    else {
        return Vec::new();
    };
    mapping
        .iter()
        .filter_map(|(name, target)| {
            let target = target.as_str()?;
            let reference = if target.contains('#') || target.contains('/') {
                target.to_owned()
            } else {
                format!("#/components/schemas/{target}")
            };
            let loc = sources.resolve_ref(union_loc, &reference).ok()?;
            Some((name.clone(), sources.deref(&loc).ok()?))
        })
        .collect()
}

/// The events one envelope schema describes (several if `event` is an `enum`).
fn envelope_events(
    types: &mut SchemaLowerer<'_>,
    envelope_loc: &Loc,
    mapped_names: Vec<String>,
    type_base: &str,
    diags: &mut Diagnostics,
) -> Vec<SseEvent> {
    let sources = types.sources();
    let Some(Value::Object(envelope)) = sources.get(envelope_loc) else {
        return Vec::new();
    };
    let props_loc = envelope_loc.child("properties");
    // The event name: `event`, or Micronaut's `name`.
    let event_loc = sources
        .deref(&props_loc.child("event"))
        .ok()
        .filter(|l| sources.get(l).is_some())
        .or_else(|| sources.deref(&props_loc.child("name")).ok());
    let event_schema = event_loc
        .as_ref()
        .and_then(|l| sources.get(l))
        .and_then(Value::as_object);
    let mut names = mapped_names;
    if names.is_empty()
        && let Some(event) = event_schema
    {
        {
            if let Some(Value::String(c)) = event.get("const") {
                names.push(c.clone());
            } else if let Some(Value::Array(values)) = event.get("enum") {
                names.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
            } else if let Some(Value::String(d)) = event.get("default") {
                names.push(d.clone());
            }
        }
    }
    if names.is_empty() {
        names.push("message".to_owned());
    }
    let docs = docs_of(envelope);
    let data_loc = props_loc.child("data");
    let hint_base = component_name(envelope_loc).unwrap_or_else(|| joined(type_base, &names[0]));
    let payload = match sources
        .deref(&data_loc)
        .ok()
        .and_then(|l| sources.get(&l).cloned().map(|v| (l, v)))
    {
        None => Payload::Empty,
        Some((data_target, Value::Object(data))) => {
            let is_string = data.get("type").and_then(Value::as_str) == Some("string");
            let json_media = data
                .get("contentMediaType")
                .and_then(Value::as_str)
                .is_none_or(is_json);
            if is_string && data.contains_key("contentSchema") && json_media {
                let hint = format!("{hint_base}Data");
                Payload::Json(
                    types
                        .lower(&data_target.child("contentSchema"), &hint, diags)
                        .folded(),
                )
            } else if is_string {
                Payload::Text
            } else {
                Payload::Json(
                    types
                        .lower(&data_loc, &format!("{hint_base}Data"), diags)
                        .folded(),
                )
            }
        }
        Some(_) => Payload::Json(
            types
                .lower(&data_loc, &format!("{hint_base}Data"), diags)
                .folded(),
        ),
    };
    names
        .into_iter()
        .map(|wire| SseEvent {
            name: crate::names::name(&wire, Case::Camel),
            docs: docs.clone(),
            payload: payload.clone(),
        })
        .collect()
}

/// Keep the first of events that share a name, with a warning.
fn dedupe(
    events: Vec<SseEvent>,
    types: &SchemaLowerer<'_>,
    at: &Loc,
    diags: &mut Diagnostics,
) -> Vec<SseEvent> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for event in events {
        if seen.insert(event.name.wire.clone()) {
            out.push(event);
        } else {
            diags.push(
                Diagnostic::warning(
                    Kind::Invalid,
                    format!(
                        "event `{}` is described twice; the first description is used",
                        event.name.wire
                    ),
                )
                .at(types.sources().locate(at)),
            );
        }
    }
    out
}
