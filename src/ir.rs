//! The intermediate representation: what an API is, independent of OpenAPI or AsyncAPI.
//!
//! The lower phase builds an [`Api`] from a loaded spec; every backend reads only this. Every name
//! is a [`Name`] (wire name and Rust identifier side by side), every list is in spec order, and the
//! [`TypeSpace`] holds every payload type the endpoints and messages need.

use serde_json::Value;

use crate::diag::Location;
use crate::names::{Name, RustIdent};

/// One API: one spec file's endpoints, channels and types.
#[derive(Clone, Debug)]
pub struct Api {
    /// The module name (from the spec file's name) and the title it came from.
    pub module: Name,
    /// The name of the trait a server implements (from `info.title`, e.g. `PetStoreNotifications`).
    pub service: Name,
    /// Where it came from.
    pub source: SourceInfo,
    /// The API's description.
    pub docs: Docs,
    /// Whose side the document is written from.
    pub role: Role,
    /// Server-Sent Events endpoints (OpenAPI `text/event-stream` responses).
    pub sse_endpoints: Vec<SseEndpoint>,
    /// AsyncAPI channels with their messages by direction.
    pub channels: Vec<Channel>,
    /// Plain request/response operations, recorded for later backends.
    pub operations: Vec<HttpOperation>,
    /// Every generated payload type.
    pub types: TypeSpace,
}

/// Where an [`Api`] came from, for the `@generated` header and docs.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    /// The spec file as named to wiregen, with `/` separators.
    pub file: String,
    /// "OpenAPI 3.2.0", "AsyncAPI 3.0.0", "AsyncAPI 2.6.0 (converted to 3.0)".
    pub spec: String,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
}

/// Whose side a document describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The document describes the server: `receive` = from clients, `send` = to clients.
    Server,
    /// The document describes a client: `send` = to the server, `receive` = from the server.
    Client,
}

/// Documentation lines, already made safe to emit: each line is plain text with no line breaks,
/// code fences turned into `text` blocks, and indentation that would start a doctest removed.
/// Emitters write each line as one `#[doc = "..."]` string literal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Docs {
    /// The lines, without leading `///`.
    pub lines: Vec<String>,
}

impl Docs {
    /// Build docs from spec text (a `description`, `summary` or `title`).
    pub fn from_text(text: &str) -> Docs {
        let mut lines = Vec::new();
        let mut in_fence: Option<String> = None;
        let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
        for raw in normalised.split('\n') {
            // Characters rustc rejects or that would garble a comment.
            let line: String = raw
                .chars()
                .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
                .collect::<String>()
                .trim_end()
                .to_owned();
            let trimmed = line.trim_start();
            let fence = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f));
            if let Some(fence) = fence {
                match &in_fence {
                    Some(open)
                        if trimmed
                            .trim_end_matches(fence.chars().next().unwrap_or('`'))
                            .is_empty()
                            && fence == open.as_str() =>
                    {
                        in_fence = None;
                        lines.push(fence.to_owned());
                    }
                    Some(_) => lines.push(line),
                    None => {
                        // Every fenced block becomes a `text` block: rustdoc would compile a
                        // block with no language (or `rust`) as a doctest.
                        in_fence = Some(fence.to_owned());
                        lines.push(format!("{fence}text"));
                    }
                }
                continue;
            }
            if in_fence.is_some() {
                lines.push(line);
                continue;
            }
            // Four spaces of indentation start an indented code block, which rustdoc would also
            // compile: keep at most three.
            let indent = line.len() - trimmed.len();
            lines.push(format!("{}{}", " ".repeat(indent.min(3)), trimmed));
        }
        if in_fence.is_some() {
            lines.push("```".to_owned());
        }
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        while lines.first().is_some_and(|l| l.is_empty()) {
            lines.remove(0);
        }
        Docs { lines }
    }

    /// Append a paragraph (separated by a blank line).
    pub fn push_paragraph(&mut self, other: Docs) {
        if other.lines.is_empty() {
            return;
        }
        if !self.lines.is_empty() {
            self.lines.push(String::new());
        }
        self.lines.extend(other.lines);
    }

    /// No documentation at all?
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
    /// TRACE
    Trace,
    /// QUERY (OpenAPI 3.2)
    Query,
}

impl HttpMethod {
    /// Upper-case method name as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Trace => "TRACE",
            HttpMethod::Query => "QUERY",
        }
    }
}

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ParamIn {
    /// A `{name}` segment of the path or channel address.
    Path,
    /// The query string.
    Query,
    /// An HTTP header (of the request, or of the WebSocket upgrade).
    Header,
    /// A cookie.
    Cookie,
}

/// A path, query, header or cookie parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// Wire name and Rust field name.
    pub name: Name,
    /// Where it travels.
    pub location: ParamIn,
    /// Its type.
    pub ty: TypeRef,
    /// Must it be present?
    pub required: bool,
    /// Its description.
    pub docs: Docs,
}

/// A Server-Sent Events endpoint.
#[derive(Clone, Debug)]
pub struct SseEndpoint {
    /// Wire name (the operationId, or `METHOD path`) and the Rust method name.
    pub name: Name,
    /// Summary and description.
    pub docs: Docs,
    /// GET, POST, …
    pub method: HttpMethod,
    /// The path template as written (`/v1/pets/{petId}`).
    pub path: String,
    /// The path as split into literal text and parameters, for building URLs.
    pub segments: Vec<PathSegment>,
    /// The route the generated axum server serves it on; `None` when axum cannot route this
    /// path or method (a warning says why) — the client is still generated.
    pub server_route: Option<String>,
    /// Path, query, header and cookie parameters, in spec order. A `Last-Event-ID` header is
    /// not listed here: it sets [`SseEndpoint::resumable`].
    pub params: Vec<Param>,
    /// A JSON request body, for POST streams.
    pub body: Option<Body>,
    /// The events the stream carries, in spec order.
    pub events: Vec<SseEvent>,
    /// The generated enum of all events (a tagged union on the SSE `event:` field).
    pub event_enum: TypeId,
    /// How events are framed.
    pub framing: SseFraming,
    /// A `data:` value that ends the stream (e.g. `[DONE]`).
    pub sentinel: Option<String>,
    /// The same response is also offered as `application/json` with this type.
    pub json_alternative: Option<TypeRef>,
    /// Does the spec let clients resume with `Last-Event-ID`?
    pub resumable: bool,
    /// Where the operation is in the spec.
    pub location: Option<Location>,
}

/// A piece of a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// Literal text, as written.
    Literal(String),
    /// A `{name}` parameter: the wire name.
    Param(String),
}

/// A JSON request body.
#[derive(Clone, Debug)]
pub struct Body {
    /// Its type.
    pub ty: TypeRef,
    /// Must it be sent?
    pub required: bool,
    /// Its description.
    pub docs: Docs,
}

/// How a stream's events are described in the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SseFraming {
    /// Each event has a name (`event:` field) that selects the payload type.
    Named,
    /// Every event is `message` (no `event:` field) and `data:` is the JSON payload.
    Payload,
    /// `data:` is an opaque string: the spec gives no schema for it.
    Raw,
}

/// One kind of event on a stream.
#[derive(Clone, Debug)]
pub struct SseEvent {
    /// The `event:` field on the wire (`message` when absent) and the variant identifier.
    pub name: Name,
    /// Its description.
    pub docs: Docs,
    /// What `data:` carries.
    pub payload: Payload,
}

/// What a message or event carries.
#[derive(Clone, Debug)]
pub enum Payload {
    /// JSON text of this type.
    Json(TypeRef),
    /// Plain text.
    Text,
    /// Binary data (WebSocket binary frames).
    Binary,
    /// Nothing (an event with no data schema).
    Empty,
}

/// The protocol a channel is served over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelProtocol {
    /// `ws` or `wss`.
    WebSocket,
    /// Anything else (MQTT, Mercure, HTTP streaming…): types are generated, handlers are not.
    Other(String),
}

/// An AsyncAPI channel: an address, its parameters, and its messages by direction.
#[derive(Clone, Debug)]
pub struct Channel {
    /// The channel id and its Rust name.
    pub name: Name,
    /// Its description.
    pub docs: Docs,
    /// The address template (`/auctions/{auctionId}`).
    pub address: String,
    /// The pathname of the WebSocket servers it is on (`/v1`, no trailing `/`), their
    /// variables replaced by their defaults; empty when there is none, when the servers
    /// disagree, or when it cannot be used (warned about). Routes and client URLs are
    /// `pathname` + `address`.
    pub pathname: String,
    /// The protocol of the servers it is on.
    pub protocol: ChannelProtocol,
    /// Path parameters of the address, then query and header parameters of the handshake.
    pub params: Vec<Param>,
    /// Messages the server receives (client → server).
    pub to_server: Vec<Message>,
    /// Messages the server sends (server → client).
    pub to_client: Vec<Message>,
    /// The generated enum of client → server messages, if there are any.
    pub to_server_enum: Option<TypeId>,
    /// The generated enum of server → client messages, if there are any.
    pub to_client_enum: Option<TypeId>,
    /// Request/reply pairs.
    pub replies: Vec<RequestReply>,
    /// Security schemes applied to the handshake.
    pub security: Vec<Security>,
    /// Where it is in the spec.
    pub location: Option<Location>,
    /// The socket it shares with the other WebSocket channels on the same address, if any: its
    /// wire form is that address, its Rust name the stem of the combined items
    /// (`StreamSocket`). Every channel of a shared socket carries the same name; the first of
    /// them in the document leads it.
    pub socket: Option<Name>,
}

/// One message of a channel.
#[derive(Clone, Debug)]
pub struct Message {
    /// The message key (or `name`) and its variant identifier.
    pub name: Name,
    /// Title, summary and description.
    pub docs: Docs,
    /// What it carries.
    pub payload: Payload,
    /// The value of the discriminating property on the wire, if the messages of its direction
    /// are told apart by one.
    pub tag: Option<String>,
    /// The content type (`application/json` by default).
    pub content_type: String,
    /// Where its correlation id is, as a JSON pointer into the payload.
    pub correlation: Option<String>,
    /// Example payloads from the spec.
    pub examples: Vec<Value>,
}

/// A request and the messages that may answer it.
#[derive(Clone, Debug)]
pub struct RequestReply {
    /// The operation name.
    pub name: Name,
    /// The request message's wire name.
    pub request: String,
    /// The reply messages' wire names.
    pub replies: Vec<String>,
    /// JSON pointer into the payloads where the correlation id is.
    pub correlation: Option<String>,
}

/// How a handshake is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Security {
    /// `Authorization: Bearer …`
    Bearer,
    /// `Authorization: Basic …`
    Basic,
    /// An API key in a query parameter, header or cookie.
    ApiKey {
        /// Where it travels.
        location: ParamIn,
        /// The parameter, header or cookie name.
        name: String,
    },
}

/// A plain request/response operation (recorded; not generated yet).
#[derive(Clone, Debug)]
pub struct HttpOperation {
    /// operationId (or `METHOD path`) and Rust name.
    pub name: Name,
    /// GET, POST, …
    pub method: HttpMethod,
    /// The path template.
    pub path: String,
    /// Summary and description.
    pub docs: Docs,
}

/// Index of a [`TypeDef`] in the [`TypeSpace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeId(pub usize);

/// Every generated type, in the order they are emitted.
#[derive(Clone, Debug, Default)]
pub struct TypeSpace {
    /// Indexed by [`TypeId`].
    pub defs: Vec<TypeDef>,
}

impl TypeSpace {
    /// The definition behind an id.
    pub fn get(&self, id: TypeId) -> &TypeDef {
        &self.defs[id.0]
    }
}

/// One generated type.
#[derive(Clone, Debug)]
pub struct TypeDef {
    /// The type's identifier, unique in its module, and the schema name it came from.
    pub name: Name,
    /// Its description.
    pub docs: Docs,
    /// What it is.
    pub kind: TypeKind,
    /// Example values from the spec (`example`, `examples`), for docs and round-trip tests.
    pub examples: Vec<Value>,
    /// Where its schema is.
    pub location: Option<Location>,
}

/// The shape of a generated type.
#[derive(Clone, Debug)]
pub enum TypeKind {
    /// A struct with named fields.
    Struct(StructDef),
    /// A string enum.
    Enum(EnumDef),
    /// A union of types, tagged or untagged.
    Union(UnionDef),
    /// A type alias (`pub type X = Vec<Y>;`).
    Alias(TypeRef),
}

/// A struct.
#[derive(Clone, Debug)]
pub struct StructDef {
    /// Fields in spec order.
    pub fields: Vec<Field>,
    /// `additionalProperties`: a map of the other keys, flattened beside the fields.
    pub additional: Option<AdditionalProperties>,
}

/// The catch-all map of a struct.
#[derive(Clone, Debug)]
pub struct AdditionalProperties {
    /// The field's identifier (not on the wire: flattened).
    pub field: RustIdent,
    /// The map's value type.
    pub value: TypeRef,
}

/// A struct field.
#[derive(Clone, Debug)]
pub struct Field {
    /// The JSON property and the field identifier.
    pub name: Name,
    /// Its description.
    pub docs: Docs,
    /// Its type, without the `Option` that [`Field::presence`] adds.
    pub ty: TypeRef,
    /// Required or optional, nullable or not.
    pub presence: Presence,
}

/// Whether a field must be present and whether it may be `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Always present, never null: `T`.
    Required,
    /// Always present, may be null: `Option<T>`, serialized as `null` when `None`.
    RequiredNullable,
    /// May be absent, never null: `Option<T>`, skipped when `None`.
    Optional,
    /// May be absent or null: `Option<Option<T>>` (absent = `None`, null = `Some(None)`).
    OptionalNullable,
}

/// A string enum.
#[derive(Clone, Debug)]
pub struct EnumDef {
    /// Variants in spec order; `wire` is the exact string value.
    pub variants: Vec<EnumVariant>,
}

/// One value of a string enum.
#[derive(Clone, Debug)]
pub struct EnumVariant {
    /// The string value and the variant identifier.
    pub name: Name,
    /// Its description, if the spec gives one.
    pub docs: Docs,
}

/// A union of types.
#[derive(Clone, Debug)]
pub struct UnionDef {
    /// How variants are told apart on the wire.
    pub repr: UnionRepr,
    /// Variants in spec order.
    pub variants: Vec<UnionVariant>,
    /// The opt-in catch-all of a received message enum (`x-wiregen-unknown-messages`): a last
    /// variant with this identifier holding any JSON value whose tag names no other variant.
    /// serde skips it; the WebSocket wire code decodes into it and encodes its value as is.
    pub unknown: Option<RustIdent>,
}

/// How a union's variants are told apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnionRepr {
    /// A property whose value names the variant (`#[serde(tag = "...")]`); the variant types do
    /// not contain that property.
    Internal {
        /// The property name on the wire.
        tag: String,
    },
    /// Tag and content side by side (`#[serde(tag = "...", content = "...")]`): the SSE event
    /// enums, whose variant is the `event:` field and whose content is `data:`. The JSON form is
    /// the envelope `{"event": ..., "data": ...}`.
    Adjacent {
        /// The tag property (`event`).
        tag: String,
        /// The content property (`data`).
        content: String,
    },
    /// A one-property object whose key names the variant (`{"add_rule": {...}}`): serde's
    /// default, externally tagged representation.
    External,
    /// By trying each variant in turn (`#[serde(untagged)]`).
    Untagged,
}

/// One variant of a union.
#[derive(Clone, Debug)]
pub struct UnionVariant {
    /// For a tagged union, the tag value on the wire; and the variant identifier.
    pub name: Name,
    /// Its description.
    pub docs: Docs,
    /// Its content; `None` for a variant that is only its tag.
    pub ty: Option<TypeRef>,
}

/// A reference to a type, as a field, parameter or payload uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeRef {
    /// A generated type.
    Named(TypeId),
    /// A built-in scalar.
    Scalar(Scalar),
    /// Any JSON value (`{}` or an unconstrained schema).
    Json,
    /// An array.
    Vec(Box<TypeRef>),
    /// A map from string keys (`additionalProperties` alone).
    Map(Box<TypeRef>),
    /// A nullable value.
    Option(Box<TypeRef>),
    /// A recursive reference.
    Box(Box<TypeRef>),
}

/// Built-in scalar types and the schema types/formats they come from (the table in the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scalar {
    /// `string`
    String,
    /// `boolean`
    Bool,
    /// `integer` + `int8`
    I8,
    /// `integer` + `int16`
    I16,
    /// `integer` + `int32`
    I32,
    /// `integer` (no format) or `int64`
    I64,
    /// `integer` + `uint8`
    U8,
    /// `integer` + `uint16`
    U16,
    /// `integer` + `uint32`
    U32,
    /// `integer` + `uint64`
    U64,
    /// `number` + `float`
    F32,
    /// `number` (no format) or `double`
    F64,
    /// `string` + `date-time`
    DateTime,
    /// `string` + `date`
    Date,
    /// `string` + `uuid`
    Uuid,
    /// Raw bytes: the payload of a WebSocket binary frame (`application/octet-stream`, or a
    /// `string` schema with format `binary` or `byte`).
    Bytes,
}
