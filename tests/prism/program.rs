//! The program that calls every plain operation of the documents through their generated
//! clients: for each operation, Rust source that builds its request struct from sampled values
//! (`sample.rs`) and calls its client method once as is and once per declared status (asking
//! the mock for it), printing one JSON line per call. Operations it cannot build a request
//! for are listed with the reason, never dropped.
//!
//! Identifiers come from the IR (`RustIdent`s) and every value is a string literal printed
//! with `{:?}`, so no spec text reaches the source unescaped.

use std::fmt::Write as _;

use serde_json::Value;
use wiregen::ir::{
    Api, Body, FormValue, MediaFormat, Operation, Param, ParamField, ParamIn, Scalar, Security,
    StatusMatch, TypeKind, TypeRef,
};

use crate::sample::Schemas;

/// One call the program makes.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The label of its requests (`/__wg/<tag>`).
    pub tag: String,
    /// The operation's wire name (operationId, or `METHOD path`).
    pub op: String,
    /// `METHOD path`.
    pub route: String,
    /// The declared statuses asked for with `Prefer: code=…`, besides the plain call.
    pub codes: Vec<u16>,
    /// The operation's index in `Api::operations`.
    pub index: usize,
}

/// An operation the program does not call, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// The operation's wire name.
    pub op: String,
    /// Why no valid request could be made.
    pub reason: String,
}

/// A part of a request left out because Prism cannot read it (an optional parameter or form
/// field: the operation is still called, without it).
#[derive(Clone, Debug)]
pub struct Omitted {
    /// The operation's wire name.
    pub op: String,
    /// What is left out (`header anthropic-beta`, `form field expires_after`).
    pub what: String,
    /// Why Prism cannot read it.
    pub reason: &'static str,
}

/// Prism splits a parameter into a list only when its schema's own `type` is `array`.
const PRISM_LIST_PARAM: &str = "Prism splits a parameter into items only when its schema's own \
    `type` is `array` (its deserializers read nothing else); this array is inside `anyOf`/`oneOf` \
    or a type list, so Prism checks the parameter's text against the array schema and rejects \
    any value";

/// Prism reads each form part as one string.
const PRISM_FORM_PART: &str = "Prism reads every multipart part (and urlencoded field) as one \
    string and checks it against the property's schema with only scalar coercion, so an \
    object or array property (a JSON part, or one part per item) never validates";

/// A request made invalid on purpose: the mock must reject it, or the test cannot tell.
#[derive(Clone, Copy, Debug)]
pub struct Control {
    /// The operation (wire name).
    pub op: &'static str,
    /// The parameter (wire name) given a bad value.
    pub param: &'static str,
    /// The bad value, as JSON.
    pub value: &'static str,
}

/// Everything about one document's calls.
pub struct DocumentCalls {
    /// The module of the program (`calls_<module>`) as source.
    pub source: String,
    /// The calls it makes, in order.
    pub planned: Vec<Planned>,
    /// The operations it does not call.
    pub skipped: Vec<Skipped>,
    /// The optional parts of requests left out, Prism being unable to read them.
    pub omitted: Vec<Omitted>,
    /// The SSE operations (out of scope).
    pub streams: Vec<String>,
    /// The tag of the control call, if the document has one.
    pub control: Option<String>,
}

/// The calls of one document: `lib` is the crate the generated module is in.
pub fn document_calls(
    lib: &str,
    api: &Api,
    schemas: &Schemas<'_>,
    control: Option<Control>,
) -> DocumentCalls {
    let module = api.module.rust.as_str();
    let mut planned = Vec::new();
    let mut skipped = Vec::new();
    let mut omitted = Vec::new();
    let mut streams = Vec::new();
    let mut functions = String::new();
    let mut table = Vec::new();
    let mut control_tag = None;
    for (index, op) in api.operations.iter().enumerate() {
        let wiregen::ir::OperationKind::Call(call) = &op.kind else {
            streams.push(op.name.wire.clone());
            continue;
        };
        let route = format!("{} {}", op.method.as_str(), op.route.path);
        let mut left_out = Vec::new();
        let build = match request_literal(api, op, schemas, None, &mut left_out) {
            Ok(build) => {
                omitted.extend(left_out);
                build
            }
            Err(reason) => {
                skipped.push(Skipped {
                    op: op.name.wire.clone(),
                    reason,
                });
                continue;
            }
        };
        let codes: Vec<u16> = match &api.types.get(call.responses).kind {
            TypeKind::Responses(def) => def
                .cases
                .iter()
                .filter_map(|case| match case.status {
                    StatusMatch::Code(code) => Some(code),
                    StatusMatch::Class(_) | StatusMatch::Default => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let tag = planned.len().to_string();
        functions.push_str(&call_function(api, op, &tag, &build, &codes));
        table.push(format!("call_{tag}"));
        planned.push(Planned {
            tag,
            op: op.name.wire.clone(),
            route: route.clone(),
            codes,
            index,
        });
        if let Some(control) = control.filter(|c| c.op == op.name.wire) {
            let tag = "control".to_owned();
            match request_literal(api, op, schemas, Some(control), &mut Vec::new()) {
                Ok(build) => {
                    functions.push_str(&call_function(api, op, &tag, &build, &[]));
                    table.push(format!("call_{tag}"));
                    control_tag = Some(tag);
                }
                Err(reason) => skipped.push(Skipped {
                    op: format!("{} (control)", op.name.wire),
                    reason,
                }),
            }
        }
    }
    let mut source = String::new();
    let _ = writeln!(
        source,
        "//! The calls of `{}`: one function per plain operation.\n\n\
         #![allow(unused_imports, clippy::all)]\n\n\
         use super::{{Call, built, report, tagged, v}};\n\
         use {lib}::{module} as api;\n\n\
         /// Every call, in order.\n\
         pub const CALLS: &[Call] = &[{}];\n",
        api.source.file.replace(['\n', '\r'], " "),
        table.join(", ")
    );
    source.push_str(&functions);
    DocumentCalls {
        source,
        planned,
        skipped,
        omitted,
        streams,
        control: control_tag,
    }
}

/// `fn call_<tag>`: build the request (or report why not), then call as is and per status.
fn call_function(api: &Api, op: &Operation, tag: &str, build: &str, codes: &[u16]) -> String {
    let request = &api.types.get(op.request).name.rust;
    let method = &op.name.rust;
    let credential = match op.security.schemes.first() {
        None => String::new(),
        Some(Security::Bearer) => ".with_credential(::wiregen_runtime::auth::Credential::Bearer(\"prism-token\".to_owned()))".to_owned(),
        Some(Security::Basic) => ".with_credential(::wiregen_runtime::auth::Credential::Basic { user: \"prism\".to_owned(), password: \"secret\".to_owned() })".to_owned(),
        Some(Security::ApiKey { .. }) => ".with_credential(::wiregen_runtime::auth::Credential::ApiKey(\"prism-key\".to_owned()))".to_owned(),
    };
    let mut statuses = vec!["None".to_owned()];
    statuses.extend(codes.iter().map(|c| format!("Some({c}u16)")));
    let op_name = format!("{:?}", op.name.wire);
    let tag_lit = format!("{tag:?}");
    format!(
        "\nfn build_{tag}() -> ::std::result::Result<api::types::{request}, ::std::string::String> {{\n    \
             Ok({build})\n}}\n\n\
         fn call_{tag}(base: &str) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = ()> + '_>> {{\n    \
             Box::pin(async move {{\n        \
                 let request = match build_{tag}() {{\n            \
                     Ok(request) => request,\n            \
                     Err(error) => return built({tag_lit}, {op_name}, error),\n        \
                 }};\n        \
                 for code in [{statuses}] {{\n            \
                     let client = api::client::Client::new(tagged(base, {tag_lit}, code)){credential};\n            \
                     report({tag_lit}, code, {op_name}, client.{method}(&request).await);\n        \
                 }}\n    \
             }})\n}}\n",
        statuses = statuses.join(", "),
    )
}

/// The request struct literal of `op`, with every required field and every optional one that
/// can be sampled and that Prism can read (those it cannot are pushed to `omitted`); `control`
/// replaces one parameter's value.
fn request_literal(
    api: &Api,
    op: &Operation,
    schemas: &Schemas<'_>,
    control: Option<Control>,
    omitted: &mut Vec<Omitted>,
) -> Result<String, String> {
    let Some(params) = api.types.params(op.request) else {
        return Err("its request type is not a parameters struct".to_owned());
    };
    let spec_op = spec_operation(schemas, op)?;
    let spec_params = spec_parameters(schemas, op, spec_op)?;
    let mut fields = Vec::new();
    for param in &params.params {
        let field = &param.name.rust;
        let schema = spec_params
            .iter()
            .find(|(name, location, _)| same_param(param, name, location))
            .map(|(_, _, schema)| *schema);
        let listed_as_array = schema
            .and_then(|schema| schemas.resolve(schema).ok())
            .is_some_and(|schema| schema.get("type") == Some(&Value::String("array".into())));
        if param.field() == ParamField::List && !listed_as_array {
            let what = format!(
                "{} parameter `{}`",
                param.location.as_str(),
                param.name.wire
            );
            if param.required {
                return Err(format!("{what}: {PRISM_LIST_PARAM}"));
            }
            omitted.push(Omitted {
                op: op.name.wire.clone(),
                what: what.clone(),
                reason: PRISM_LIST_PARAM,
            });
            fields.push(format!("{field}: Vec::new()"));
            continue;
        }
        let sampled = match control.filter(|c| c.param == param.name.wire) {
            Some(control) => serde_json::from_str(control.value)
                .map_err(|e| format!("control value {}: {e}", control.value)),
            None => match schema {
                Some(schema) => schemas.sample(schema),
                None => Err("the document does not describe it".to_owned()),
            },
        };
        let value = match sampled.and_then(|value| param_value(api, param, value)) {
            Ok(json) => format!("v({:?}, {:?})?", json, param.name.wire),
            Err(reason) => match param.field() {
                ParamField::Plain => {
                    return Err(format!(
                        "{} parameter `{}`: {reason}",
                        param.location.as_str(),
                        param.name.wire
                    ));
                }
                ParamField::Optional => "None".to_owned(),
                ParamField::List => "Vec::new()".to_owned(),
            },
        };
        fields.push(format!("{field}: {value}"));
    }
    if let Some(body) = &params.body {
        let value = match body_value(api, op, body, schemas, spec_op, omitted) {
            Ok(expr) if body.required => expr,
            Ok(expr) => format!("Some({expr})"),
            Err(reason) if body.required => return Err(format!("request body: {reason}")),
            Err(_) => "None".to_owned(),
        };
        fields.push(format!("{}: {value}", body.field));
    }
    if let Some(field) = &params.last_event_id {
        fields.push(format!("{field}: None"));
    }
    let request = &api.types.get(op.request).name.rust;
    Ok(format!(
        "api::types::{request} {{\n        {}\n    }}",
        fields.join(",\n        ")
    ))
}

/// The operation object of `op` in the document.
fn spec_operation<'d>(schemas: &Schemas<'d>, op: &Operation) -> Result<&'d Value, String> {
    let method = op.method.as_str().to_ascii_lowercase();
    let item = schemas
        .root()
        .get("paths")
        .and_then(|paths| paths.get(&op.route.path))
        .ok_or_else(|| format!("path `{}` is not in the document", op.route.path))?;
    let item = schemas.resolve(item)?;
    item.get(&method)
        .or_else(|| {
            item.get("additionalOperations")
                .and_then(|ops| ops.get(op.method.as_str()))
        })
        .ok_or_else(|| format!("`{method} {}` is not in the document", op.route.path))
}

/// The parameters of an operation (the path item's, overridden by the operation's): name,
/// location and schema.
fn spec_parameters<'d>(
    schemas: &Schemas<'d>,
    op: &Operation,
    spec_op: &'d Value,
) -> Result<Vec<(String, String, &'d Value)>, String> {
    let item = schemas.resolve(&schemas.root()["paths"][&op.route.path])?;
    let mut out: Vec<(String, String, &'d Value)> = Vec::new();
    for list in [item.get("parameters"), spec_op.get("parameters")] {
        for param in list.and_then(Value::as_array).into_iter().flatten() {
            let param = schemas.resolve(param)?;
            let name = param.get("name").and_then(Value::as_str).unwrap_or("");
            let location = param.get("in").and_then(Value::as_str).unwrap_or("");
            let schema = param.get("schema").or_else(|| {
                param
                    .get("content")
                    .and_then(Value::as_object)
                    .and_then(|content| content.values().next())
                    .and_then(|media| media.get("schema"))
            });
            let Some(schema) = schema else { continue };
            out.retain(|(n, l, _)| !(n == name && l == location));
            out.push((name.to_owned(), location.to_owned(), schema));
        }
    }
    Ok(out)
}

fn same_param(param: &Param, name: &str, location: &str) -> bool {
    location == param.location.as_str()
        && if param.location == ParamIn::Header {
            name.eq_ignore_ascii_case(&param.name.wire)
        } else {
            name == param.name.wire
        }
}

/// The JSON text of a parameter's value, shaped as its field's type wants it.
fn param_value(api: &Api, param: &Param, value: Value) -> Result<String, String> {
    let value = match param.field() {
        ParamField::List => match value {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| scalar_as(api, &param.value, item))
                    .collect::<Result<_, _>>()?,
            ),
            other => Value::Array(vec![scalar_as(api, &param.value, other)?]),
        },
        ParamField::Plain | ParamField::Optional if param.object => value,
        ParamField::Plain | ParamField::Optional => scalar_as(api, &param.value, value)?,
    };
    if value.is_null() {
        return Err("its sample is null".to_owned());
    }
    Ok(value.to_string())
}

/// A sampled value as the parameter's scalar type reads it: numbers and booleans become text
/// where the type is a string (a parameter whose schema wiregen types as text).
fn scalar_as(api: &Api, ty: &TypeRef, value: Value) -> Result<Value, String> {
    let text = matches!(resolve_alias(api, ty), TypeRef::Scalar(Scalar::String));
    match value {
        Value::Number(n) if text => Ok(Value::String(n.to_string())),
        Value::Bool(b) if text => Ok(Value::String(b.to_string())),
        Value::Object(_) | Value::Array(_) if text => Err(format!(
            "its schema is structured ({value}) but its field is text"
        )),
        other => Ok(other),
    }
}

fn resolve_alias<'a>(api: &'a Api, mut ty: &'a TypeRef) -> &'a TypeRef {
    for _ in 0..16 {
        match ty {
            TypeRef::Named(id) => match &api.types.get(*id).kind {
                TypeKind::Alias(inner) => ty = inner,
                _ => return ty,
            },
            _ => return ty,
        }
    }
    ty
}

/// The body's expression: JSON, text and bytes through `v(…)`, forms as struct literals, in
/// the variant of a multi-media body's enum when it has one. JSON media are preferred.
fn body_value(
    api: &Api,
    op: &Operation,
    body: &Body,
    schemas: &Schemas<'_>,
    spec_op: &Value,
    omitted: &mut Vec<Omitted>,
) -> Result<String, String> {
    let content = body
        .contents
        .iter()
        .find(|c| c.format == MediaFormat::Json)
        .or_else(|| body.contents.first())
        .ok_or("it has no media type")?;
    let request_body = schemas.resolve(spec_op.get("requestBody").ok_or("not in the document")?)?;
    let media = request_body
        .get("content")
        .and_then(|c| c.get(&content.media_type))
        .ok_or_else(|| format!("`{}` is not in the document", content.media_type))?;
    let schema = media.get("schema").cloned().unwrap_or(Value::Bool(true));
    let inner = match content.format {
        MediaFormat::Json => {
            let value = schemas.sample(&schema)?;
            format!("v({:?}, \"body\")?", value.to_string())
        }
        MediaFormat::Text => {
            let value = match schemas.sample(&schema)? {
                Value::String(text) => text,
                other => other.to_string(),
            };
            format!("v({:?}, \"body\")?", Value::String(value).to_string())
        }
        MediaFormat::Bytes => {
            let bytes = match schemas.sample(&schema) {
                Ok(Value::String(text)) => text.into_bytes(),
                _ => b"sample bytes".to_vec(),
            };
            format!(
                "v({:?}, \"body\")?",
                serde_json::to_string(&bytes).unwrap_or_default()
            )
        }
        MediaFormat::Form | MediaFormat::Multipart => {
            form_literal(api, op, &content.ty, schemas, &schema, media, omitted)?
        }
    };
    Ok(match &content.variant {
        Some(variant) => {
            let TypeRef::Named(id) = &body.ty else {
                return Err("a multi-media body whose type is not an enum".to_owned());
            };
            format!(
                "api::types::{}::{variant}({inner})",
                api.types.get(*id).name.rust
            )
        }
        None => inner,
    })
}

/// A form struct literal: files as `File`s, text and JSON fields through `v(…)`.
fn form_literal(
    api: &Api,
    op: &Operation,
    ty: &TypeRef,
    schemas: &Schemas<'_>,
    schema: &Value,
    media: &Value,
    omitted: &mut Vec<Omitted>,
) -> Result<String, String> {
    let TypeRef::Named(id) = ty else {
        return Err("a form whose type is not a struct".to_owned());
    };
    let def = api.types.get(*id);
    let TypeKind::Form(form) = &def.kind else {
        return Err("a form whose type is not a form struct".to_owned());
    };
    let properties = form_properties(schemas, schema)?;
    let mut fields = Vec::new();
    for field in &form.fields {
        let wire = &field.name.wire;
        let value = match &field.value {
            FormValue::File => {
                let content_type = media
                    .get("encoding")
                    .and_then(|e| e.get(wire))
                    .and_then(|e| e.get("contentType"))
                    .and_then(Value::as_str)
                    .and_then(|t| t.split(',').next())
                    .map(str::trim)
                    .filter(|t| !t.contains('*'))
                    .unwrap_or("application/octet-stream");
                let file = format!(
                    "::wiregen_runtime::api::body::File::new(b\"sample file\".to_vec()).with_name(\"sample.txt\").with_content_type({content_type:?})"
                );
                match field.shape {
                    ParamField::Plain => file,
                    ParamField::Optional => format!("Some({file})"),
                    ParamField::List => format!("vec![{file}]"),
                }
            }
            FormValue::Text(value_ty) | FormValue::Json(value_ty) => {
                let sampled = properties
                    .iter()
                    .find(|(name, _)| name == wire)
                    .ok_or_else(|| "the document does not describe it".to_owned())
                    .and_then(|(_, schema)| schemas.sample(schema));
                let shaped = sampled.and_then(|value| match (&field.value, field.shape) {
                    (FormValue::Text(_), ParamField::List) => match value {
                        Value::Array(items) => items
                            .into_iter()
                            .map(|item| scalar_as(api, value_ty, item))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Value::Array),
                        other => scalar_as(api, value_ty, other).map(|v| Value::Array(vec![v])),
                    },
                    (FormValue::Text(_), _) => scalar_as(api, value_ty, value),
                    (FormValue::Json(_), ParamField::List) => match value {
                        array @ Value::Array(_) => Ok(array),
                        other => Ok(Value::Array(vec![other])),
                    },
                    _ => Ok(value),
                });
                let unreadable = matches!(&shaped, Ok(Value::Array(_) | Value::Object(_)));
                match (shaped, field.shape) {
                    (Ok(_), ParamField::Optional | ParamField::List) if unreadable => {
                        omitted.push(Omitted {
                            op: op.name.wire.clone(),
                            what: format!("form field `{wire}`"),
                            reason: PRISM_FORM_PART,
                        });
                        if field.shape == ParamField::List {
                            "Vec::new()".to_owned()
                        } else {
                            "None".to_owned()
                        }
                    }
                    (Ok(_), ParamField::Plain) if unreadable => {
                        return Err(format!("form field `{wire}`: {PRISM_FORM_PART}"));
                    }
                    (Ok(value), _) => format!("v({:?}, {wire:?})?", value.to_string()),
                    (Err(reason), ParamField::Plain) => {
                        return Err(format!("form field `{wire}`: {reason}"));
                    }
                    (Err(_), ParamField::Optional) => "None".to_owned(),
                    (Err(_), ParamField::List) => "Vec::new()".to_owned(),
                }
            }
        };
        fields.push(format!("{}: {value}", field.name.rust));
    }
    Ok(format!(
        "api::types::{} {{ {} }}",
        def.name.rust,
        fields.join(", ")
    ))
}

/// The properties of a form's schema (with `allOf` members and `$ref`s opened).
fn form_properties(schemas: &Schemas<'_>, schema: &Value) -> Result<Vec<(String, Value)>, String> {
    let mut out = Vec::new();
    let schema = schemas.resolve(schema)?;
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.extend(form_properties(schemas, member)?);
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        out.extend(properties.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(out)
}
