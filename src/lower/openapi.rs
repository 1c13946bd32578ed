//! Lowering OpenAPI 3.0–3.2: every operation, with its parameters (in every `style`), request
//! body (JSON, forms, multipart, text, bytes; several media types), security and responses.
//! An operation whose success response is a `text/event-stream` is a stream; any other is a
//! plain call answering with one of its declared responses.
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
    Body, BodyContent, Call, ContentDef, Docs, EventStream, FormDef, FormField, FormValue,
    HttpMethod, JsonAlternative, MediaFormat, Operation, OperationKind, OperationSecurity, Param,
    ParamField, ParamIn, ParamsDef, ParamsOf, Payload, ResponseBody, ResponseCase, ResponsesDef,
    Scalar, Security, SseEvent, SseFraming, StatusMatch, TypeDef, TypeId, TypeKind, TypeRef,
    UnionDef, UnionRepr, UnionVariant,
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

/// The operations of an OpenAPI document, in document order: streams and plain calls.
pub fn lower(
    root: &Loc,
    types: &mut SchemaLowerer<'_>,
    names: &mut ModuleNames,
    diags: &mut Diagnostics,
) -> Vec<Operation> {
    let sources = types.sources();
    let mut out = Vec::new();
    if sources
        .get(&root.child("webhooks"))
        .and_then(Value::as_object)
        .is_some_and(|hooks| !hooks.is_empty())
    {
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                "webhooks (requests the API sends to its clients) are not generated",
            )
            .at(sources.locate(&root.child("webhooks"))),
        );
    }
    let paths_loc = root.child("paths");
    let Some(Value::Object(paths)) = sources.get(&paths_loc) else {
        return out;
    };
    let mut schemes = SchemeCache::default();
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
            if op
                .get("callbacks")
                .and_then(Value::as_object)
                .is_some_and(|callbacks| !callbacks.is_empty())
            {
                diags.push(
                    Diagnostic::warning(
                        Kind::Unsupported,
                        format!(
                            "the callbacks of `{}` (requests the API sends back) are not generated",
                            name.wire
                        ),
                    )
                    .at(sources.locate(&op_loc.child("callbacks"))),
                );
            }
            let security = operation_security(types, root, &op_loc, &mut schemes, diags);
            let ctx = OperationContext {
                path,
                method: *method,
                item_loc: &item_loc,
                op_loc: &op_loc,
                op,
                name,
                docs,
                security,
            };
            let operation = match event_stream(types, names, &ctx, diags) {
                Some(operation) => operation,
                None => call(types, names, &ctx, diags),
            };
            out.push(operation);
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
    security: OperationSecurity,
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
        security: ctx.security.clone(),
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
            style: object.get("style").and_then(Value::as_str),
            explode: object.get("explode").and_then(Value::as_bool),
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
        ty: ty.clone(),
        required: body.get("required") == Some(&Value::Bool(true)),
        docs: docs_of(body),
        field: ident(BODY, Case::Snake),
        contents: vec![BodyContent {
            media_type: media.clone(),
            format: MediaFormat::Json,
            ty,
            variant: None,
        }],
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

/// The security schemes of `components.securitySchemes`, read once each.
#[derive(Default)]
struct SchemeCache {
    read: std::collections::BTreeMap<String, Option<Security>>,
}

/// Who may call an operation: its `security` (or the document's), each requirement's schemes
/// in order, optional when a requirement is empty (`{}`).
fn operation_security(
    types: &SchemaLowerer<'_>,
    root: &Loc,
    op_loc: &Loc,
    cache: &mut SchemeCache,
    diags: &mut Diagnostics,
) -> OperationSecurity {
    let sources = types.sources();
    let list_loc = match sources.get(&op_loc.child("security")) {
        Some(_) => op_loc.child("security"),
        None => root.child("security"),
    };
    let Some(Value::Array(list)) = sources.get(&list_loc) else {
        return OperationSecurity::default();
    };
    let mut out = OperationSecurity::default();
    if list.is_empty() {
        return out;
    }
    for (i, requirement) in list.iter().enumerate() {
        let Value::Object(requirement) = requirement else {
            continue;
        };
        if requirement.is_empty() {
            out.optional = true;
            continue;
        }
        if requirement.len() > 1 {
            let names: Vec<String> = requirement.keys().map(|k| format!("`{k}`")).collect();
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!(
                        "this security requirement needs {} together; the generated server passes `authenticate` the first credential it finds of them, so check the others there",
                        names.join(" and ")
                    ),
                )
                .at(sources.locate(&list_loc.index(i))),
            );
        }
        for name in requirement.keys() {
            let scheme = match cache.read.get(name) {
                Some(known) => known.clone(),
                None => {
                    let read =
                        security_scheme(types, root, name, &list_loc.index(i).child(name), diags);
                    cache.read.insert(name.clone(), read.clone());
                    read
                }
            };
            if let Some(scheme) = scheme
                && !out.schemes.contains(&scheme)
            {
                out.schemes.push(scheme);
            }
        }
    }
    if out.schemes.is_empty() {
        // Nothing applicable was found (warned about): anyone may call.
        out.optional = true;
    }
    out
}

/// One scheme of `components.securitySchemes`, as the runtime checks it: HTTP bearer and basic,
/// API keys, and OAuth 2 / OpenID Connect access tokens (bearer tokens). Others are warned
/// about once.
fn security_scheme(
    types: &SchemaLowerer<'_>,
    root: &Loc,
    name: &str,
    used_at: &Loc,
    diags: &mut Diagnostics,
) -> Option<Security> {
    let sources = types.sources();
    let scheme_loc = root
        .child("components")
        .child("securitySchemes")
        .child(name);
    let scheme_loc = match sources.deref(&scheme_loc) {
        Ok(l) if sources.get(&l).is_some() => l,
        _ => {
            diags.push(
                Diagnostic::warning(
                    Kind::Reference,
                    format!("the security requirement `{name}` names no scheme of `components.securitySchemes`, so it is not applied"),
                )
                .at(sources.locate(used_at)),
            );
            return None;
        }
    };
    let scheme = sources.get(&scheme_loc)?.as_object()?;
    let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
    let found = match kind {
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
        "apiKey" => {
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
        "oauth2" | "openIdConnect" => Some(Security::Bearer),
        _ => None,
    };
    if found.is_none() {
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                format!("security scheme `{name}` (type `{kind}`) is not checked by the generated server nor presented by the client"),
            )
            .at(sources.locate(&scheme_loc))
            .help("supported: http bearer and basic, apiKey in a query parameter, header or cookie, oauth2 and openIdConnect (as bearer tokens)"),
        );
    }
    found
}

/// A plain operation: its request (parameters and body of any media type) and its responses.
fn call(
    types: &mut SchemaLowerer<'_>,
    names: &mut ModuleNames,
    ctx: &OperationContext<'_>,
    diags: &mut Diagnostics,
) -> Operation {
    let sources = types.sources();
    let at = sources.locate(ctx.op_loc);
    let base = ctx.name.rust.unraw().to_owned();
    let mut fields = Namespace::with_reserved([BODY]);
    let (mut params, _) = parameters(types, &mut fields, ctx, &base, diags);
    // A `Last-Event-ID` header of a plain operation is an ordinary header.
    if let Some(Value::Array(_)) = ctx.op.get("parameters")
        && ctx.op.get("parameters").is_some_and(|p| {
            p.as_array().is_some_and(|list| {
                list.iter().any(|p| {
                    p.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case("last-event-id"))
                })
            })
        })
    {
        diags.push(
            Diagnostic::note(
                Kind::Conversion,
                "the `Last-Event-ID` header of an operation that does not stream is left to the request",
            )
            .at(at.clone()),
        );
    }
    params.retain(|p| {
        !(p.location == ParamIn::Header && p.name.wire.eq_ignore_ascii_case("last-event-id"))
    });
    let body = call_body(types, ctx, &base, diags);
    let responses = responses(types, ctx, &base, diags);
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
                last_event_id: None,
                of: ParamsOf::Request,
            }),
            examples: Vec::new(),
            location: at.clone(),
        },
        format!("{base}Request"),
    );
    Operation {
        name: ctx.name.clone(),
        docs: ctx.docs.clone(),
        method: ctx.method,
        route,
        request,
        security: ctx.security.clone(),
        handler: names.server.claim_joined(&["handle", &base], Case::Snake),
        kind: OperationKind::Call(Call {
            responses,
            endpoint: names
                .server
                .claim_joined(&[&base, "Operation"], Case::Camel),
        }),
        location: at,
    }
}

/// How a body of this media type travels.
fn media_format(media: &str) -> MediaFormat {
    let essence = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if is_json(&essence) {
        MediaFormat::Json
    } else if essence == "application/x-www-form-urlencoded" {
        MediaFormat::Form
    } else if essence.starts_with("multipart/") {
        MediaFormat::Multipart
    } else if essence.starts_with("text/") {
        MediaFormat::Text
    } else {
        MediaFormat::Bytes
    }
}

fn is_xml(media: &str) -> bool {
    let essence = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.ends_with("/xml") || essence.ends_with("+xml")
}

/// A plain operation's request body: every media type of its `content`, each read and written
/// its own way; several make an enum.
fn call_body(
    types: &mut SchemaLowerer<'_>,
    ctx: &OperationContext<'_>,
    base: &str,
    diags: &mut Diagnostics,
) -> Option<Body> {
    let sources = types.sources();
    let body_loc = match sources.deref(&ctx.op_loc.child("requestBody")) {
        Ok(l) => l,
        Err(d) => {
            if sources.get(&ctx.op_loc.child("requestBody")).is_some() {
                diags.push(d);
            }
            return None;
        }
    };
    let body = sources.get(&body_loc)?.as_object()?;
    let content_loc = body_loc.child("content");
    let content = body.get("content")?.as_object()?;
    let mut contents = Vec::new();
    let several = content.len() > 1;
    for media in content.keys() {
        let format = media_format(media);
        let media_loc = content_loc.child(media);
        let schema = media_loc.child("schema");
        let has_schema = sources.get(&schema).is_some();
        if is_xml(media) {
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!("XML bodies are not parsed: a `{media}` body is carried as its text"),
                )
                .at(sources.locate(&media_loc)),
            );
        }
        let hint = if several {
            format!("{base}{}Body", format_word(format))
        } else {
            format!("{base}Body")
        };
        let ty = match format {
            MediaFormat::Json if has_schema => types.lower(&schema, &hint, diags).folded(),
            MediaFormat::Json => TypeRef::Json,
            MediaFormat::Form | MediaFormat::Multipart => {
                match form_def(types, &media_loc, format, &hint, diags) {
                    Some(id) => TypeRef::Named(id),
                    None => TypeRef::Scalar(Scalar::Bytes),
                }
            }
            MediaFormat::Text if is_xml(media) => TypeRef::Scalar(Scalar::String),
            MediaFormat::Text => TypeRef::Scalar(Scalar::String),
            MediaFormat::Bytes if is_xml(media) => TypeRef::Scalar(Scalar::String),
            MediaFormat::Bytes => TypeRef::Scalar(Scalar::Bytes),
        };
        // An XML body travels as text whatever its media type says.
        let format = match (format, is_xml(media)) {
            (MediaFormat::Bytes, true) => MediaFormat::Text,
            (format, _) => format,
        };
        // A form that could not be described as fields travels as bytes.
        let format = match (format, &ty) {
            (MediaFormat::Form | MediaFormat::Multipart, TypeRef::Scalar(Scalar::Bytes)) => {
                MediaFormat::Bytes
            }
            (format, _) => format,
        };
        contents.push(BodyContent {
            media_type: media.clone(),
            format,
            ty,
            variant: None,
        });
    }
    if contents.is_empty() {
        return None;
    }
    let ty = if let [one] = contents.as_slice() {
        one.ty.clone()
    } else {
        let mut variants = Namespace::new();
        for content in &mut contents {
            let word = format_word(content.format);
            let name = if variants.is_taken(word) {
                variants
                    .claim(ident(&content.media_type, Case::Camel), Case::Camel)
                    .0
            } else {
                variants.claim(ident(word, Case::Camel), Case::Camel).0
            };
            content.variant = Some(name);
        }
        let name = types.claim_type_name(&format!("{base}Body"));
        let id = types.add_type(TypeDef {
            name,
            docs: Docs::from_text(&format!(
                "The body of `{} {}`, in one of the media types it accepts.",
                ctx.method.as_str(),
                ctx.path
            )),
            kind: TypeKind::Content(ContentDef {
                variants: contents.clone(),
            }),
            examples: Vec::new(),
            location: sources.locate(&content_loc),
        });
        TypeRef::Named(id)
    };
    Some(Body {
        ty,
        required: body.get("required") == Some(&Value::Bool(true)),
        docs: docs_of(body),
        field: ident(BODY, Case::Snake),
        contents,
    })
}

/// The word a body's format is named by (its variant, its type's name).
fn format_word(format: MediaFormat) -> &'static str {
    match format {
        MediaFormat::Json => "Json",
        MediaFormat::Form => "Form",
        MediaFormat::Multipart => "Multipart",
        MediaFormat::Text => "Text",
        MediaFormat::Bytes => "Bytes",
    }
}

/// A form body's fields, from its object schema (and its `encoding`): scalars and string enums
/// as text, objects and arrays of objects as JSON, binary strings as files (multipart).
/// `None` (with a warning) when the schema is not an object with properties.
fn form_def(
    types: &mut SchemaLowerer<'_>,
    media_loc: &Loc,
    format: MediaFormat,
    hint: &str,
    diags: &mut Diagnostics,
) -> Option<TypeId> {
    let sources = types.sources();
    let schema_loc = sources.deref(&media_loc.child("schema")).ok();
    let object = schema_loc
        .as_ref()
        .and_then(|l| sources.get(l))
        .and_then(Value::as_object);
    let properties = object
        .and_then(|o| o.get("properties"))
        .and_then(Value::as_object);
    let (Some(schema_loc), Some(object), Some(properties)) = (schema_loc, object, properties)
    else {
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                "a form body whose schema is not an object with properties is carried as its bytes",
            )
            .at(sources.locate(media_loc)),
        );
        return None;
    };
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let encoding = sources
        .get(&media_loc.child("encoding"))
        .and_then(Value::as_object);
    let name_hint = component_name(&schema_loc)
        .map(|n| format!("{n}{}", format_word(format)))
        .unwrap_or_else(|| hint.to_owned());
    let mut names = Namespace::new();
    let mut fields = Vec::new();
    for key in properties.keys() {
        let prop_loc = schema_loc.child("properties").child(key);
        let target = sources.deref(&prop_loc).ok();
        let prop = target
            .as_ref()
            .and_then(|l| sources.get(l))
            .and_then(Value::as_object);
        let docs = prop.map(docs_of).unwrap_or_default();
        let is_array = prop.and_then(|p| p.get("type")).and_then(Value::as_str) == Some("array");
        let item = if is_array {
            target
                .as_ref()
                .and_then(|t| sources.deref(&t.child("items")).ok())
        } else {
            target.clone()
        };
        let item_obj = item
            .as_ref()
            .and_then(|l| sources.get(l))
            .and_then(Value::as_object);
        let binary = item_obj.is_some_and(|o| {
            o.get("format").and_then(Value::as_str) == Some("binary")
                || o.get("contentMediaType").is_some_and(|m| {
                    m.as_str()
                        .is_some_and(|m| !m.starts_with("text/") && !is_json(m))
                })
                || o.get("contentEncoding").and_then(Value::as_str) == Some("binary")
        });
        let encoded_json = encoding
            .and_then(|e| e.get(key))
            .and_then(|e| e.get("contentType"))
            .and_then(Value::as_str)
            .is_some_and(is_json);
        let field_hint = joined(&name_hint, key);
        let lowered = types.lower(&prop_loc, &field_hint, diags).folded();
        let scalar_of =
            |ty: &TypeRef| -> bool { matches!(ty, TypeRef::Scalar(s) if *s != Scalar::Bytes) };
        let item_ty = match &lowered {
            TypeRef::Vec(inner) => (**inner).clone(),
            other => other.clone(),
        };
        let is_enum = |types: &SchemaLowerer<'_>, ty: &TypeRef| match ty {
            TypeRef::Named(id) => matches!(types.def(*id).kind, TypeKind::Enum(_)),
            _ => false,
        };
        let value = if binary && format == MediaFormat::Multipart {
            FormValue::File
        } else if !encoded_json && (scalar_of(&item_ty) || is_enum(types, &item_ty)) {
            if let TypeRef::Named(id) = &item_ty {
                types.mark_param_enum(*id);
            }
            FormValue::Text(item_ty.clone())
        } else if binary {
            FormValue::Text(TypeRef::Scalar(Scalar::String))
        } else {
            FormValue::Json(if is_array && !encoded_json {
                item_ty.clone()
            } else {
                lowered.clone()
            })
        };
        // An array is a repeated field, unless its `encoding` sends it whole as JSON.
        let list = is_array && !(encoded_json && matches!(value, FormValue::Json(_)));
        let shape = if list {
            ParamField::List
        } else if required.contains(&key.as_str()) {
            ParamField::Plain
        } else {
            ParamField::Optional
        };
        fields.push(FormField {
            name: names.claim_name(key, Case::Snake).0,
            docs,
            value,
            shape,
        });
    }
    let name = types.claim_type_name(&name_hint);
    Some(types.add_type(TypeDef {
        name,
        docs: docs_of(object),
        kind: TypeKind::Form(FormDef { fields }),
        examples: Vec::new(),
        location: sources.locate(&schema_loc),
    }))
}

/// A plain operation's responses: a case per declared status (`default` last), each with its
/// body (JSON preferred, then text, then bytes) and headers; their enum in `types`.
fn responses(
    types: &mut SchemaLowerer<'_>,
    ctx: &OperationContext<'_>,
    base: &str,
    diags: &mut Diagnostics,
) -> TypeId {
    let sources = types.sources();
    let responses_loc = ctx.op_loc.child("responses");
    let keys: Vec<String> = sources
        .get(&responses_loc)
        .and_then(Value::as_object)
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    let mut ordered: Vec<(String, StatusMatch)> = Vec::new();
    let mut default = None;
    for key in keys {
        match status_match(&key) {
            Some(StatusMatch::Default) => default = Some(key),
            Some(status) => ordered.push((key, status)),
            None => diags.push(
                Diagnostic::warning(
                    Kind::Invalid,
                    format!("`{key}` is not a status code, a range such as `4XX`, or `default`, so this response is left out"),
                )
                .at(sources.locate(&responses_loc.child(&key))),
            ),
        }
    }
    if let Some(key) = default {
        ordered.push((key, StatusMatch::Default));
    }
    let mut variants = Namespace::new();
    let mut cases = Vec::new();
    for (key, status) in ordered {
        let response_loc = match sources.deref(&responses_loc.child(&key)) {
            Ok(l) => l,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let Some(Value::Object(response)) = sources.get(&response_loc) else {
            continue;
        };
        let name = variants
            .claim(ident(&status_word(status), Case::Camel), Case::Camel)
            .0;
        let mut fields = Namespace::with_reserved(["body", "status"]);
        let body = response_body(
            types,
            &response_loc,
            response,
            &format!("{base}{}", name.unraw()),
            diags,
        );
        let mut headers = Vec::new();
        if let Some(Value::Object(declared)) = response.get("headers") {
            for header in declared.keys() {
                if header.eq_ignore_ascii_case("content-type") {
                    continue; // OpenAPI: ignored.
                }
                let header_loc = match sources.deref(&response_loc.child("headers").child(header)) {
                    Ok(l) => l,
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                };
                let Some(Value::Object(object)) = sources.get(&header_loc) else {
                    continue;
                };
                if http_token(header).is_none() {
                    diags.push(
                        Diagnostic::warning(
                            Kind::Invalid,
                            format!("`{header}` is not a valid header name, so this response header is left out"),
                        )
                        .at(sources.locate(&header_loc)),
                    );
                    continue;
                }
                let ty = if object.contains_key("schema") {
                    types
                        .lower(
                            &header_loc.child("schema"),
                            &joined(&format!("{base}{}", name.unraw()), header),
                            diags,
                        )
                        .ty
                } else {
                    TypeRef::Scalar(Scalar::String)
                };
                let raw = RawParam {
                    wire: header,
                    location: ParamIn::Header,
                    ty,
                    required: object.get("required") == Some(&Value::Bool(true)),
                    docs: docs_of(object),
                    style: None,
                    explode: None,
                };
                let param = param(types, &mut fields, raw, &sources.locate(&header_loc), diags);
                if !param.object {
                    headers.push(param);
                }
            }
        }
        let status_field =
            (!matches!(status, StatusMatch::Code(_))).then(|| ident("status", Case::Snake));
        cases.push(ResponseCase {
            name,
            status,
            docs: docs_of(response),
            body,
            headers,
            status_field,
        });
    }
    if cases.is_empty() {
        diags.push(
            Diagnostic::warning(
                Kind::Invalid,
                format!(
                    "`{}` declares no response, so it answers with any status and no body",
                    ctx.name.wire
                ),
            )
            .at(sources.locate(&responses_loc)),
        );
        cases.push(ResponseCase {
            name: ident("Default", Case::Camel),
            status: StatusMatch::Default,
            docs: Docs::default(),
            body: None,
            headers: Vec::new(),
            status_field: Some(ident("status", Case::Snake)),
        });
    }
    let name = types.claim_type_name(&format!("{base}Response"));
    types.add_type(TypeDef {
        name,
        docs: Docs::from_text(&format!(
            "What `{} {}` answers: one variant per declared response.",
            ctx.method.as_str(),
            ctx.path
        )),
        kind: TypeKind::Responses(ResponsesDef { cases }),
        examples: Vec::new(),
        location: sources.locate(&responses_loc),
    })
}

/// A header name that is an RFC 9110 token (what `http` accepts), lower-cased.
fn http_token(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    ok.then(|| name.to_ascii_lowercase())
}

/// `200` → a code, `2XX` → a class, `default`.
fn status_match(key: &str) -> Option<StatusMatch> {
    if key == "default" {
        return Some(StatusMatch::Default);
    }
    let bytes = key.as_bytes();
    if bytes.len() != 3 || !(b'1'..=b'5').contains(&bytes[0]) {
        return None;
    }
    if key[1..].eq_ignore_ascii_case("xx") {
        return Some(StatusMatch::Class(u16::from(bytes[0] - b'0')));
    }
    key.parse::<u16>().ok().map(StatusMatch::Code)
}

/// The variant name of a status: its reason phrase (`404` → `NotFound`), the class of a range.
fn status_word(status: StatusMatch) -> String {
    match status {
        StatusMatch::Default => "Default".to_owned(),
        StatusMatch::Class(class) => match class {
            1 => "Informational",
            2 => "Success",
            3 => "Redirection",
            4 => "ClientError",
            _ => "ServerError",
        }
        .to_owned(),
        StatusMatch::Code(code) => match reason(code) {
            Some(reason) => reason.to_owned(),
            None => format!("Status{code}"),
        },
    }
}

/// The reason phrases of RFC 9110 and the codes APIs commonly use.
fn reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi Status",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "Im A Teapot",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => return None,
    })
}

/// A response's body: JSON if it offers it, else text, else bytes (XML as text, with a
/// warning); `None` when it has no content.
fn response_body(
    types: &mut SchemaLowerer<'_>,
    response_loc: &Loc,
    response: &Map<String, Value>,
    hint: &str,
    diags: &mut Diagnostics,
) -> Option<ResponseBody> {
    let sources = types.sources();
    let content = response.get("content")?.as_object()?;
    let pick = content
        .keys()
        .find(|m| media_format(m) == MediaFormat::Json)
        .or_else(|| {
            content
                .keys()
                .find(|m| media_format(m) == MediaFormat::Text)
        })
        .or_else(|| content.keys().next())?
        .clone();
    let media_loc = response_loc.child("content").child(&pick);
    let schema = media_loc.child("schema");
    let format = match media_format(&pick) {
        MediaFormat::Json => MediaFormat::Json,
        MediaFormat::Text => MediaFormat::Text,
        _ if is_xml(&pick) => MediaFormat::Text,
        _ => MediaFormat::Bytes,
    };
    if is_xml(&pick) {
        diags.push(
            Diagnostic::warning(
                Kind::Unsupported,
                format!("XML bodies are not parsed: a `{pick}` response is carried as its text"),
            )
            .at(sources.locate(&media_loc)),
        );
    }
    let ty = match format {
        MediaFormat::Json if sources.get(&schema).is_some() => {
            types.lower(&schema, &format!("{hint}Body"), diags).folded()
        }
        MediaFormat::Json => TypeRef::Json,
        MediaFormat::Text => TypeRef::Scalar(Scalar::String),
        _ => TypeRef::Scalar(Scalar::Bytes),
    };
    Some(ResponseBody {
        media_type: pick,
        format,
        ty,
        field: ident("body", Case::Snake),
    })
}
