//! Lowering OpenAPI 3.0–3.2: Server-Sent Events endpoints from `text/event-stream` responses, in
//! every way real specs describe them, and plain operations recorded for later.
//!
//! Event streams are recognised from (in order): OpenAPI 3.2 `itemSchema`, else `schema`:
//! - an envelope (an object whose properties are within `event`, `data`, `id`, `retry`), or a
//!   `oneOf` of envelopes, each naming its event with a `const`/`enum` on `event` (or through a
//!   discriminator mapping); `data` is a JSON payload (an object schema, or a string carrying JSON
//!   through `contentMediaType`/`contentSchema`) or plain text;
//! - a schema that is the `data` payload itself (every event is `message`);
//! - an opaque string, or no schema at all: raw text events.

use serde_json::{Map, Value};

use super::schema::{SchemaLowerer, component_name, docs_of, joined};
use crate::diag::{Diagnostic, Diagnostics, Kind};
use crate::ir::{
    Body, Docs, HttpMethod, HttpOperation, Param, ParamIn, PathSegment, Payload, Scalar,
    SseEndpoint, SseEvent, SseFraming, TypeDef, TypeKind, TypeRef, UnionDef, UnionRepr,
    UnionVariant,
};
use crate::names::{Case, Namespace};
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

/// SSE endpoints and plain operations of an OpenAPI document.
pub struct OpenApiLowered {
    /// Event-stream endpoints.
    pub sse: Vec<SseEndpoint>,
    /// Everything else.
    pub operations: Vec<HttpOperation>,
}

/// Walk `paths` in document order.
pub fn lower(root: &Loc, types: &mut SchemaLowerer<'_>, diags: &mut Diagnostics) -> OpenApiLowered {
    let sources = types.sources();
    let mut out = OpenApiLowered {
        sse: Vec::new(),
        operations: Vec::new(),
    };
    let mut method_names = Namespace::new();
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
            let name = method_names.claim_name(&wire, Case::Snake).0;
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
                name: name.clone(),
                docs: docs.clone(),
            };
            match find_event_stream(types, &ctx, diags) {
                Some(endpoint) => out.sse.push(endpoint),
                None => out.operations.push(HttpOperation {
                    name,
                    method: *method,
                    path: path.clone(),
                    docs,
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
    name: crate::names::Name,
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

/// The success response's `text/event-stream` media type, if the operation has one.
fn find_event_stream(
    types: &mut SchemaLowerer<'_>,
    ctx: &OperationContext<'_>,
    diags: &mut Diagnostics,
) -> Option<SseEndpoint> {
    let sources = types.sources();
    let responses_loc = ctx.op_loc.child("responses");
    let responses = sources.get(&responses_loc)?.as_object()?;
    // The first 2xx response (in document order), else `default`.
    let status = responses
        .keys()
        .find(|k| k.starts_with('2'))
        .or_else(|| responses.keys().find(|k| *k == "default"))?;
    let response_loc = sources.deref(&responses_loc.child(status)).ok()?;
    let content_loc = response_loc.child("content");
    let content = sources.get(&content_loc)?.as_object()?;
    let media = content.keys().find(|m| is_event_stream(m))?.clone();
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

    let type_base = ctx.name.rust.unraw().to_owned();
    let mut params = Vec::new();
    let mut resumable = false;
    // The request struct also has `last_event_id` and `body` fields.
    let mut param_names = Namespace::with_reserved(["last_event_id", "body"]);
    for list_loc in [
        ctx.item_loc.child("parameters"),
        ctx.op_loc.child("parameters"),
    ] {
        let Some(Value::Array(list)) = sources.get(&list_loc) else {
            continue;
        };
        for i in 0..list.len() {
            let Ok(param_loc) = sources.deref(&list_loc.index(i)) else {
                continue;
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
                            format!("parameter `{wire}` has `in: {}`; expected path, query, header or cookie", other.unwrap_or("(missing)")),
                        )
                        .at(sources.locate(&param_loc.child("in"))),
                    );
                    continue;
                }
            };
            if location == ParamIn::Header && wire.eq_ignore_ascii_case("last-event-id") {
                resumable = true;
                continue;
            }
            // Operation parameters override path-item ones with the same name and location.
            params.retain(|p: &Param| !(p.name.wire == wire && p.location == location));
            let schema_loc = if param.contains_key("schema") {
                Some(param_loc.child("schema"))
            } else {
                param
                    .get("content")
                    .and_then(Value::as_object)
                    .and_then(|c| c.keys().next())
                    .map(|m| param_loc.child("content").child(m).child("schema"))
            };
            let ty = match schema_loc {
                Some(schema) => types.lower(&schema, &joined(&type_base, wire), diags).ty,
                None => TypeRef::Scalar(Scalar::String),
            };
            let ty = if param_type_ok(types, &ty, location) {
                ty
            } else {
                diags.push(
                    Diagnostic::warning(
                        Kind::Unsupported,
                        format!(
                            "parameter `{wire}` has a structured type; it is passed as its raw text"
                        ),
                    )
                    .at(sources.locate(&param_loc))
                    .help("parameters may be strings, numbers, booleans, dates, uuids, string enums, or arrays of those"),
                );
                TypeRef::Scalar(Scalar::String)
            };
            let required =
                location == ParamIn::Path || param.get("required") == Some(&Value::Bool(true));
            params.push(Param {
                name: param_names.claim_name(wire, Case::Snake).0,
                location,
                ty,
                required,
                docs: docs_of(param),
            });
        }
    }

    let body = request_body(types, ctx, &type_base, diags);
    let json_alternative = content
        .keys()
        .find(|m| is_json(m))
        .map(|m| content_loc.child(m).child("schema"))
        .filter(|l| sources.get(l).is_some())
        .map(|schema| {
            types
                .lower(&schema, &format!("{type_base}Response"), diags)
                .folded()
        });

    let sentinel = media_obj
        .get("x-speakeasy-sse-sentinel")
        .or_else(|| ctx.op.get("x-speakeasy-sse-sentinel"))
        .or_else(|| ctx.op.get("x-wiregen-sse-sentinel"))
        .and_then(Value::as_str)
        .map(str::to_owned);

    let (framing, mut events) = events_of(types, &media_loc, &media_obj, &type_base, diags);
    let enum_name = types.claim_type_name(&format!("{type_base}Event"));
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
        })
        .collect();
    let mut enum_docs = Docs::from_text(&format!(
        "The events of `{} {}`, told apart by the SSE `event:` field.",
        ctx.method.as_str(),
        ctx.path
    ));
    if !ctx.docs.is_empty() {
        enum_docs.push_paragraph(ctx.docs.clone());
    }
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
    Some(SseEndpoint {
        name: ctx.name.clone(),
        docs: ctx.docs.clone(),
        method: ctx.method,
        path: ctx.path.to_owned(),
        segments: path_segments(ctx.path),
        server_route: server_route(ctx.path, ctx.method, &sources.locate(ctx.op_loc), diags),
        params,
        body,
        events,
        event_enum,
        framing,
        sentinel,
        json_alternative,
        resumable,
        location: sources.locate(ctx.op_loc),
    })
}

/// Can a value of this type travel as a path, query or header parameter?
fn param_type_ok(types: &SchemaLowerer<'_>, ty: &TypeRef, location: ParamIn) -> bool {
    match ty {
        TypeRef::Scalar(_) => true,
        TypeRef::Vec(inner) => {
            location != ParamIn::Cookie
                && !matches!(**inner, TypeRef::Vec(_))
                && param_type_ok(types, inner, location)
        }
        TypeRef::Named(id) => match &types.def(*id).kind {
            TypeKind::Enum(_) => true,
            TypeKind::Alias(inner) => param_type_ok(types, inner, location),
            _ => false,
        },
        _ => false,
    }
}

/// `/v1/pets/{petId}` → literal `/v1/pets/`, parameter `petId`.
pub(crate) fn path_segments(path: &str) -> Vec<PathSegment> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        if start > 0 {
            out.push(PathSegment::Literal(rest[..start].to_owned()));
        }
        out.push(PathSegment::Param(rest[start + 1..start + len].to_owned()));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push(PathSegment::Literal(rest.to_owned()));
    }
    out
}

/// The axum route for a path, if axum can serve it: it starts with `/`, has no query string,
/// and every `{param}` is a whole segment with a plain name.
fn server_route(
    path: &str,
    method: HttpMethod,
    at: &Option<crate::diag::Location>,
    diags: &mut Diagnostics,
) -> Option<String> {
    let problem = if method == HttpMethod::Query {
        Some("axum has no QUERY method".to_owned())
    } else if !path.starts_with('/') || path.contains('?') || path.contains('#') {
        Some(format!("the path `{path}` is not a plain absolute path"))
    } else if path.split('/').any(|segment| {
        let has_param = segment.contains('{') || segment.contains('}');
        let whole = segment.starts_with('{')
            && segment.ends_with('}')
            && segment.len() > 2
            && segment[1..segment.len() - 1]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        (has_param && !whole) || segment.starts_with('*') || segment.starts_with(':')
    }) {
        Some(format!(
            "a parameter in `{path}` is not a whole path segment"
        ))
    } else {
        None
    };
    match problem {
        None => Some(path.to_owned()),
        Some(problem) => {
            diags.push(
                Diagnostic::warning(
                    Kind::Unsupported,
                    format!("{problem}, so the generated server does not route it (the client still calls it)"),
                )
                .at(at.clone()),
            );
            None
        }
    }
}

fn request_body(
    types: &mut SchemaLowerer<'_>,
    ctx: &OperationContext<'_>,
    type_base: &str,
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
        types
            .lower(&schema, &format!("{type_base}Request"), diags)
            .folded()
    } else {
        TypeRef::Json
    };
    Some(Body {
        ty,
        required: body.get("required") == Some(&Value::Bool(true)),
        docs: docs_of(body),
    })
}

/// The events a media type describes, and how they are framed.
fn events_of(
    types: &mut SchemaLowerer<'_>,
    media_loc: &Loc,
    media: &Map<String, Value>,
    type_base: &str,
    diags: &mut Diagnostics,
) -> (SseFraming, Vec<SseEvent>) {
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
        )
    };
    let Ok(schema_loc) = sources.deref(&media_loc.child(schema_key)) else {
        return raw();
    };
    let Some(Value::Object(schema)) = sources.get(&schema_loc) else {
        return raw();
    };
    // A union of envelopes.
    for keyword in ["oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = schema.get(keyword) {
            let member_locs: Vec<Loc> = (0..members.len())
                .filter_map(|i| sources.deref(&schema_loc.child(keyword).index(i)).ok())
                .collect();
            if !member_locs.is_empty() && member_locs.iter().all(|m| is_envelope(sources.get(m))) {
                let mapping = mapping_names(types, &schema_loc, schema);
                let mut events = Vec::new();
                for member in &member_locs {
                    let names = mapping
                        .iter()
                        .filter(|(_, t)| t == member)
                        .map(|(k, _)| k.clone())
                        .collect::<Vec<_>>();
                    events.extend(envelope_events(types, member, names, type_base, diags));
                }
                return (SseFraming::Named, dedupe(events, types, &schema_loc, diags));
            }
        }
    }
    if is_envelope(Some(&Value::Object(schema.clone()))) {
        let events = envelope_events(types, &schema_loc, Vec::new(), type_base, diags);
        let named = events.iter().any(|e| e.name.wire != "message");
        let framing = if named {
            SseFraming::Named
        } else {
            SseFraming::Payload
        };
        return (framing, dedupe(events, types, &schema_loc, diags));
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
    )
}

/// An envelope: an object whose properties are all SSE fields and that has `data` or `event`.
fn is_envelope(value: Option<&Value>) -> bool {
    let Some(Value::Object(obj)) = value else {
        return false;
    };
    let Some(Value::Object(props)) = obj.get("properties") else {
        return false;
    };
    !props.is_empty()
        && props
            .keys()
            .all(|k| matches!(k.as_str(), "event" | "data" | "id" | "retry"))
        && (props.contains_key("data") || props.contains_key("event"))
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
    let event_loc = sources.deref(&props_loc.child("event")).ok();
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
