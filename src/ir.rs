//! The intermediate representation: what an API is, independent of OpenAPI or AsyncAPI, with
//! every decision the emitters need already taken.
//!
//! The lower phase builds an [`Api`] from a loaded spec and the check phase ([`crate::check`])
//! validates it as a whole; every backend reads only this. The IR is final: every Rust
//! identifier a backend prints (derived ones included: request structs, routers, handler
//! functions, client methods) is a [`RustIdent`] claimed in the [`Namespace`](crate::names::Namespace)
//! of the module it lives in; routes are segments with their routability decided once; replies
//! and correlation ids are typed references (indices, a parsed pointer resolved to a field).
//! Every list is in spec order, and the [`TypeSpace`] holds every payload type.
//!
//! The generated layout every backend follows is `<module>::{types, server, client}`: the
//! `types` module holds every data type (payloads, event and message enums, request structs,
//! connection parameters), `server` the traits to implement and the axum routers, `client` the
//! typed clients. The identifiers of each module are claimed in that module's namespace.

use serde_json::Value;

use crate::diag::Location;
use crate::names::{Name, RustIdent};

mod docs;

pub use docs::Docs;

/// One API: one spec file's operations, channels and types.
#[derive(Clone, Debug)]
pub struct Api {
    /// The module name (from the spec file's name).
    pub module: Name,
    /// Where it came from.
    pub source: SourceInfo,
    /// The API's description.
    pub docs: Docs,
    /// Whose side the document is written from.
    pub role: Role,
    /// The identifiers of the module-level items of `server` and `client`.
    pub items: ModuleItems,
    /// OpenAPI operations, in document order: event streams and plain calls.
    pub operations: Vec<Operation>,
    /// AsyncAPI channels with their messages by direction.
    pub channels: Vec<Channel>,
    /// WebSocket sockets that several channels on one address share.
    pub sockets: Vec<Socket>,
    /// Every generated payload type.
    pub types: TypeSpace,
}

impl Api {
    /// The operations that stream events, with their streams.
    pub fn streams(&self) -> impl Iterator<Item = (&Operation, &EventStream)> {
        self.operations.iter().filter_map(|op| match &op.kind {
            OperationKind::Stream(stream) => Some((op, stream)),
            OperationKind::Call(_) => None,
        })
    }

    /// The plain request/response operations, with their responses.
    pub fn calls(&self) -> impl Iterator<Item = (&Operation, &Call)> {
        self.operations.iter().filter_map(|op| match &op.kind {
            OperationKind::Call(call) => Some((op, call)),
            OperationKind::Stream(_) => None,
        })
    }

    /// The channels served over WebSocket (others only have types), with their indices.
    pub fn ws_channels(&self) -> impl Iterator<Item = (usize, &Channel, &WebSocketChannel)> {
        self.channels
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.websocket().map(|ws| (i, c, ws)))
    }
}

/// The identifiers of the items every generated `server` and `client` module has, claimed
/// first in their namespaces (so nothing from the spec can take them).
#[derive(Clone, Debug)]
pub struct ModuleItems {
    /// The server trait of an OpenAPI document's operations (from `info.title`, e.g.
    /// `PetStoreNotifications`).
    pub service: Name,
    /// `router`: every route of the API, default settings.
    pub router: RustIdent,
    /// `router_with_config`.
    pub router_with_config: RustIdent,
    /// `ServerConfig`: the alias of the runtime's server settings.
    pub server_config: RustIdent,
    /// `Client`: the client of an OpenAPI document's operations.
    pub client: RustIdent,
    /// `ClientConfig`: the alias of the runtime's client settings.
    pub client_config: RustIdent,
    /// `Auth`: the service trait's associated type of an authenticated caller.
    pub auth: RustIdent,
    /// `authenticate`: the service trait's method checking a credential.
    pub authenticate: RustIdent,
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

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

impl ParamIn {
    /// `path`, `query`, `header`, `cookie`.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamIn::Path => "path",
            ParamIn::Query => "query",
            ParamIn::Header => "header",
            ParamIn::Cookie => "cookie",
        }
    }
}

/// A path, query, header or cookie parameter: a field of a request struct (OpenAPI) or of a
/// channel's connection parameters (AsyncAPI).
#[derive(Clone, Debug)]
pub struct Param {
    /// Wire name and Rust field name.
    pub name: Name,
    /// Where it travels.
    pub location: ParamIn,
    /// The value's type: a scalar or a string enum, as the runtime reads and writes parameter
    /// text (lowering falls back to a string, with a warning, for anything else).
    pub value: TypeRef,
    /// A list of values (`Vec<value>`: repeated, or comma-separated in headers)?
    pub list: bool,
    /// Is the value a struct of scalar fields (an object parameter: its [`StructDef::param`]
    /// is set)? Never with `list`.
    pub object: bool,
    /// How the value is written (OpenAPI `style`; the place's default when not given).
    pub style: ParamStyle,
    /// OpenAPI `explode` (default: true for `form`, false otherwise).
    pub explode: bool,
    /// Must it be present?
    pub required: bool,
    /// Its description.
    pub docs: Docs,
}

/// How a parameter's value is serialized (OpenAPI `style`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamStyle {
    /// `form`: `name=value` pairs (query, cookie).
    Form,
    /// `simple`: comma-separated (path, header).
    Simple,
    /// `label`: `.value` (path).
    Label,
    /// `matrix`: `;name=value` (path).
    Matrix,
    /// `spaceDelimited`: list items separated by spaces (query).
    SpaceDelimited,
    /// `pipeDelimited`: list items separated by `|` (query).
    PipeDelimited,
    /// `deepObject`: `name[field]=value` (query, objects).
    DeepObject,
}

impl ParamStyle {
    /// The style a place uses when the spec names none.
    pub fn default_for(location: ParamIn) -> Self {
        match location {
            ParamIn::Query | ParamIn::Cookie => ParamStyle::Form,
            ParamIn::Path | ParamIn::Header => ParamStyle::Simple,
        }
    }

    /// The runtime's name of the style.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamStyle::Form => "Form",
            ParamStyle::Simple => "Simple",
            ParamStyle::Label => "Label",
            ParamStyle::Matrix => "Matrix",
            ParamStyle::SpaceDelimited => "SpaceDelimited",
            ParamStyle::PipeDelimited => "PipeDelimited",
            ParamStyle::DeepObject => "DeepObject",
        }
    }

    /// Is this the default way of writing a value at `location` (so the runtime's plain
    /// functions serve it)?
    pub fn is_default(self, location: ParamIn, explode: bool) -> bool {
        self == Self::default_for(location) && explode == (self == ParamStyle::Form)
    }
}

/// How a parameter's field is typed in its struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamField {
    /// `T`: required.
    Plain,
    /// `Option<T>`: optional.
    Optional,
    /// `Vec<T>`: a list, empty when absent.
    List,
}

impl Param {
    /// The shape of the parameter's field: lists are `Vec<T>` whether required or not (an
    /// empty list is sent as nothing), other optional parameters `Option<T>`.
    pub fn field(&self) -> ParamField {
        match (self.list, self.required) {
            (true, _) => ParamField::List,
            (false, true) => ParamField::Plain,
            (false, false) => ParamField::Optional,
        }
    }
}

/// A path as the server routes it and the client builds it.
#[derive(Clone, Debug)]
pub struct Route {
    /// The path as written (for a WebSocket channel: its servers' pathname joined with its
    /// address).
    pub path: String,
    /// The path split into literal text and parameters, for building URLs.
    pub segments: Vec<PathSegment>,
    /// The axum route for it; `None` when axum cannot route the path (a warning says why): the
    /// client still calls it.
    pub axum: Option<String>,
    /// Does the API's router serve it? Not when its route conflicts with an earlier one of the
    /// same router (a warning says why); a channel's own router still serves it.
    pub in_router: bool,
}

impl Route {
    /// Where the API's router serves it, if it does.
    pub fn served(&self) -> Option<&str> {
        self.axum.as_deref().filter(|_| self.in_router)
    }
}

/// A piece of a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// Literal text, as written (a `{name}` no parameter describes stays literal text).
    Literal(String),
    /// A path parameter: its index in the parameters of the operation or channel.
    Param(usize),
}

/// An OpenAPI operation: its request, and what it answers.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Wire name (the operationId, or `METHOD path`) and the Rust method name, claimed among
    /// the service trait's and the client's methods.
    pub name: Name,
    /// Summary and description.
    pub docs: Docs,
    /// GET, POST, …
    pub method: HttpMethod,
    /// Where it is served; its path parameters are those of the request.
    pub route: Route,
    /// The request struct in `types` (`StreamNotificationsRequest`, a [`TypeKind::Params`]):
    /// every parameter, the body, the `Last-Event-ID` of a resumable stream.
    pub request: TypeId,
    /// Who may call it.
    pub security: OperationSecurity,
    /// The private axum handler function in `server` (`handle_stream_notifications`).
    pub handler: RustIdent,
    /// What it answers.
    pub kind: OperationKind,
    /// Where the operation is in the spec.
    pub location: Option<Location>,
}

/// Who may call an operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperationSecurity {
    /// Where a credential may be, in the order they are looked for; empty: anyone may call.
    pub schemes: Vec<Security>,
    /// May a request come without a credential (`security: [{}, …]`)?
    pub optional: bool,
}

/// What an operation answers.
#[derive(Clone, Debug)]
pub enum OperationKind {
    /// A `text/event-stream` of typed events.
    Stream(EventStream),
    /// One response, of the statuses the spec declares.
    Call(Call),
}

/// A plain request/response operation.
#[derive(Clone, Debug)]
pub struct Call {
    /// Its response enum in `types` (a [`TypeKind::Responses`]).
    pub responses: TypeId,
    /// The type in `server` that describes it to the runtime (`GetPetOperation`).
    pub endpoint: RustIdent,
}

/// A request body.
#[derive(Clone, Debug)]
pub struct Body {
    /// Its field's type: the one content's type, or the [`TypeKind::Content`] enum of several.
    pub ty: TypeRef,
    /// Must it be sent?
    pub required: bool,
    /// Its description.
    pub docs: Docs,
    /// Its field in the request struct (`body`).
    pub field: RustIdent,
    /// The media types it may be sent as, in spec order (at least one).
    pub contents: Vec<BodyContent>,
}

/// One media type of a request or response body.
#[derive(Clone, Debug)]
pub struct BodyContent {
    /// The media type as the spec writes it (`application/json`, `text/plain`…).
    pub media_type: String,
    /// How it is read and written.
    pub format: MediaFormat,
    /// Its value's type (a [`TypeKind::Form`] for forms, `String` for text, bytes for binary).
    pub ty: TypeRef,
    /// Its variant in the body's [`TypeKind::Content`] enum, when there are several.
    pub variant: Option<RustIdent>,
}

/// How a body of one media type travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaFormat {
    /// JSON (`application/json`, `*/*+json`).
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
    /// UTF-8 text (`text/*`).
    Text,
    /// Bytes as they are (anything else).
    Bytes,
}

/// The event stream an operation answers with.
#[derive(Clone, Debug)]
pub struct EventStream {
    /// The events the stream carries, in spec order.
    pub events: Vec<SseEvent>,
    /// The generated enum of all events (a tagged union on the SSE `event:` field).
    pub event_enum: TypeId,
    /// How events are framed.
    pub framing: SseFraming,
    /// A `data:` value that ends the stream (e.g. `[DONE]`).
    pub sentinel: Option<String>,
    /// The same response is also offered as `application/json`.
    pub json_alternative: Option<JsonAlternative>,
}

/// The `application/json` form of an event-stream response.
#[derive(Clone, Debug)]
pub struct JsonAlternative {
    /// The JSON document's type.
    pub ty: TypeRef,
    /// The trait and client method answering with it (`stream_notifications_json`).
    pub method: RustIdent,
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
#[derive(Clone, Debug)]
pub enum ChannelProtocol {
    /// `ws` or `wss`: served and connected to.
    WebSocket(Box<WebSocketChannel>),
    /// Anything else (MQTT, Mercure, HTTP streaming…): types are generated, handlers are not.
    Other(String),
}

/// An AsyncAPI channel: an address and its messages by direction.
#[derive(Clone, Debug)]
pub struct Channel {
    /// The channel id and its Rust name (the stem of the channel's items).
    pub name: Name,
    /// Its description.
    pub docs: Docs,
    /// The address template as written (`/auctions/{auctionId}`).
    pub address: String,
    /// The protocol of the servers it is on, with what WebSocket needs.
    pub protocol: ChannelProtocol,
    /// Messages the server receives (client → server).
    pub to_server: Option<MessageSet>,
    /// Messages the server sends (server → client).
    pub to_client: Option<MessageSet>,
    /// Request/reply operations.
    pub replies: Vec<RequestReply>,
    /// Where it is in the spec.
    pub location: Option<Location>,
}

impl Channel {
    /// The messages of one direction.
    pub fn direction(&self, to_server: bool) -> Option<&MessageSet> {
        if to_server {
            self.to_server.as_ref()
        } else {
            self.to_client.as_ref()
        }
    }

    /// What it has as a WebSocket channel, if it is one.
    pub fn websocket(&self) -> Option<&WebSocketChannel> {
        match &self.protocol {
            ChannelProtocol::WebSocket(ws) => Some(ws),
            ChannelProtocol::Other(_) => None,
        }
    }
}

/// What a WebSocket channel has besides its messages.
#[derive(Clone, Debug)]
pub struct WebSocketChannel {
    /// Where it is served and connected to: the pathname of its WebSocket servers joined with
    /// its address; its path parameters are those of `params`.
    pub route: Route,
    /// The connection parameters struct in `types` (`AuctionParams`, a [`TypeKind::Params`]):
    /// path parameters of the address, then query and header parameters of the handshake.
    pub params: TypeId,
    /// Security schemes applied to the handshake.
    pub security: Vec<Security>,
    /// The socket it shares with other channels on its address, if any.
    pub socket: Option<SocketId>,
    /// The identifiers of its generated items.
    pub items: ChannelItems,
}

/// The identifiers of one channel's generated items, each claimed in its module.
#[derive(Clone, Debug)]
pub struct ChannelItems {
    /// `server`: the trait to implement (`AuctionChannel`).
    pub server_trait: RustIdent,
    /// `server`: the endpoint type adapting the trait to the runtime (`AuctionEndpoint`).
    pub endpoint: RustIdent,
    /// `server`: the router of this channel alone (`auction_router`).
    pub router: RustIdent,
    /// `client`: the typed client (`AuctionClient`).
    pub client: RustIdent,
    /// `server`: the trait of the requests the server sends, implemented for the channel's
    /// outbound queue (`AuctionCalls`); generated only when the server asks something.
    pub calls: RustIdent,
}

/// Index of a [`Socket`] in [`Api::sockets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub usize);

/// Several WebSocket channels on one address: one connection carries every channel's messages.
#[derive(Clone, Debug)]
pub struct Socket {
    /// The address (wire) and the stem of its items (`StreamSocket`).
    pub name: Name,
    /// Its channels, as indices into [`Api::channels`], in document order: the first leads it
    /// (its route, and the `on_invalid` of frames no channel decodes).
    pub members: Vec<usize>,
    /// `types`: the enum of every client → server message, one variant per member with
    /// messages that way (`None` when none has).
    pub to_server: Option<SocketEnum>,
    /// `types`: the enum of every server → client message.
    pub to_client: Option<SocketEnum>,
    /// `server`: the endpoint type serving the socket (`StreamSocketEndpoint`).
    pub endpoint: RustIdent,
    /// `server`: the router of the socket alone (`stream_socket_router`).
    pub router: RustIdent,
    /// `client`: the socket's client (`StreamSocketClient`).
    pub client: RustIdent,
}

/// The combined enum of one direction of a [`Socket`].
#[derive(Clone, Debug)]
pub struct SocketEnum {
    /// Its identifier in `types`.
    pub ident: RustIdent,
    /// Its variants: (the member channel's index in [`Api::channels`], the variant identifier).
    pub variants: Vec<(usize, RustIdent)>,
}

/// The messages of one direction of a channel, and how they travel.
#[derive(Clone, Debug)]
pub struct MessageSet {
    /// The messages, in spec order.
    pub messages: Vec<Message>,
    /// The generated enum (a variant per message).
    pub enum_id: TypeId,
    /// How a text frame is decoded.
    pub text: TextDecoding,
    /// The message a binary frame decodes into (an index into `messages`), if any carries
    /// binary data.
    pub binary: Option<usize>,
    /// The opt-in catch-all variant for JSON with an unknown tag (`Unknown`).
    pub unknown: Option<RustIdent>,
}

/// How a direction's text frames are told apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextDecoding {
    /// No message travels as text.
    None,
    /// JSON whose property `tag` names the message (the values are the messages' tags).
    Tagged {
        /// The property.
        tag: String,
    },
    /// JSON objects with one key naming the message (`{"add_rule": {...}}`).
    Wrapped,
    /// One JSON message, or several without a tag: each JSON message is tried in order, then
    /// an empty frame for a message without payload, then the plain-text message.
    TryEach,
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
    /// The value of the discriminating property (or the wrapper key) on the wire, if the JSON
    /// messages of its direction are told apart by one.
    pub tag: Option<String>,
    /// The content type (`application/json` by default).
    pub content_type: String,
    /// Where its correlation id is, when it has one the generated code can read and set.
    pub correlation: Option<Correlation>,
    /// Example payloads from the spec.
    pub examples: Vec<Value>,
}

/// A message's correlation id: a top-level string property of its payload struct.
#[derive(Clone, Debug)]
pub struct Correlation {
    /// The JSON pointer as parsed: its unescaped segments (`$message.payload#/requestId` →
    /// `["requestId"]`).
    pub pointer: Vec<String>,
    /// The payload struct's field holding it.
    pub field: RustIdent,
    /// Whether that field is optional (`Option<String>`) or always there (`String`).
    pub optional: bool,
}

/// Who sends the request of a request/reply operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// The client asks, the server answers (the server trait has a method per operation).
    Client,
    /// The server asks, the client answers.
    Server,
}

/// A request and the messages that may answer it.
#[derive(Clone, Debug)]
pub struct RequestReply {
    /// The operation name, and the method sending the request: the client's when the client
    /// asks, the channel's calls trait's when the server asks.
    pub name: Name,
    /// The method answering the request: the server trait's (the same as `name`) when the
    /// client asks, the client's (`answer_<name>`) when the server asks. Both are claimed
    /// among the channel's methods.
    pub answer: RustIdent,
    /// Who asks.
    pub initiator: Initiator,
    /// The request: an index into the asking side's direction (`to_server` when the client
    /// asks, `to_client` when the server asks).
    pub request: usize,
    /// The replies: indices into the other direction, at least one.
    pub replies: Vec<usize>,
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
        /// Where it travels (never [`ParamIn::Path`]).
        location: ParamIn,
        /// The parameter, header or cookie name.
        name: String,
    },
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

    /// The parameters behind a request or connection struct's id.
    pub fn params(&self, id: TypeId) -> Option<&ParamsDef> {
        match &self.defs.get(id.0)?.kind {
            TypeKind::Params(params) => Some(params),
            _ => None,
        }
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
    /// The parameters of a request or connection: a struct of [`Param`] fields (and a body),
    /// built by the runtime from a request head and written into a URL and headers.
    Params(ParamsDef),
    /// An operation's responses: an enum with a variant per declared status.
    Responses(ResponsesDef),
    /// A form body: named fields of text, JSON or files (`application/x-www-form-urlencoded`,
    /// `multipart/form-data`).
    Form(FormDef),
    /// A body that may be sent as several media types: an enum with a variant per type.
    Content(ContentDef),
}

/// The responses of a plain operation.
#[derive(Clone, Debug)]
pub struct ResponsesDef {
    /// One per declared status, in spec order (`default` last).
    pub cases: Vec<ResponseCase>,
}

/// One declared response.
#[derive(Clone, Debug)]
pub struct ResponseCase {
    /// The variant (`Ok`, `NotFound`, `ClientError`, `Default`).
    pub name: RustIdent,
    /// Which statuses it stands for.
    pub status: StatusMatch,
    /// The response's description.
    pub docs: Docs,
    /// Its body, if it has one.
    pub body: Option<ResponseBody>,
    /// Its declared headers (location [`ParamIn::Header`]), fields of the variant.
    pub headers: Vec<Param>,
    /// The variant's field holding the status, when the case stands for several.
    pub status_field: Option<RustIdent>,
}

impl ResponseCase {
    /// Is the variant a tuple of its body alone (or a unit), rather than named fields?
    pub fn is_tuple(&self) -> bool {
        self.headers.is_empty() && self.status_field.is_none()
    }
}

/// Which statuses a response stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusMatch {
    /// One status.
    Code(u16),
    /// A class (`2XX`: 2).
    Class(u16),
    /// Every status no other case names.
    Default,
}

/// A response body of one media type.
#[derive(Clone, Debug)]
pub struct ResponseBody {
    /// The media type sent.
    pub media_type: String,
    /// How it travels ([`MediaFormat::Json`], [`MediaFormat::Text`] or [`MediaFormat::Bytes`]).
    pub format: MediaFormat,
    /// Its type.
    pub ty: TypeRef,
    /// Its field, in a variant with named fields.
    pub field: RustIdent,
}

/// A form body's fields.
#[derive(Clone, Debug)]
pub struct FormDef {
    /// In spec order.
    pub fields: Vec<FormField>,
}

/// One field of a form.
#[derive(Clone, Debug)]
pub struct FormField {
    /// The field name on the wire and in the struct.
    pub name: Name,
    /// Its description.
    pub docs: Docs,
    /// What it holds.
    pub value: FormValue,
    /// Plain, optional, or a list (repeated).
    pub shape: ParamField,
}

/// What a form field holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormValue {
    /// Text: a scalar or a string enum, as a parameter is written.
    Text(TypeRef),
    /// JSON text (an object or an array).
    Json(TypeRef),
    /// A file (multipart only).
    File,
}

/// The enum of a body sent as one of several media types.
#[derive(Clone, Debug)]
pub struct ContentDef {
    /// The body's contents: each has its [`BodyContent::variant`] here.
    pub variants: Vec<BodyContent>,
}

/// A struct.
#[derive(Clone, Debug)]
pub struct StructDef {
    /// Fields in spec order.
    pub fields: Vec<Field>,
    /// `additionalProperties`: a map of the other keys, flattened beside the fields.
    pub additional: Option<AdditionalProperties>,
    /// Is it an object parameter's type (so it also gets the runtime's `ParamObject`)?
    pub param: bool,
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
    /// Is it a parameter's type (so it also gets the runtime's `ParamValue`)?
    pub param: bool,
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
    /// Not part of the serde representation (a WebSocket message that travels as a binary
    /// frame beside tagged JSON ones): the wire code encodes and decodes it by itself.
    pub skip: bool,
}

/// The parameters struct of an operation's request or a channel's connection.
#[derive(Clone, Debug)]
pub struct ParamsDef {
    /// The parameters, in spec order.
    pub params: Vec<Param>,
    /// The JSON body, for an operation's request.
    pub body: Option<Body>,
    /// The `Last-Event-ID` field of a resumable stream's request.
    pub last_event_id: Option<RustIdent>,
    /// Whose parameters they are.
    pub of: ParamsOf,
}

impl ParamsDef {
    /// Does the request carry a `Last-Event-ID` (a resumable stream)?
    pub fn resumable(&self) -> bool {
        self.last_event_id.is_some()
    }
}

/// Whose parameters a [`ParamsDef`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsOf {
    /// An operation's request.
    Request,
    /// A WebSocket connection's upgrade request.
    Connection,
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
