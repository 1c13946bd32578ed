//! The reconnecting, typed SSE client: one HTTP request per connection, the WHATWG parser on its
//! body, events decoded through [`EventSet`], and reconnection with `Last-Event-ID` and backoff.
//!
//! [`subscribe`] returns an [`EventStream`], a plain [`Stream`] with no background task: the
//! connection lives inside the stream and closes when the stream is dropped.
//!
//! What ends a stream and what does not:
//!
//! | server does | the stream |
//! | --- | --- |
//! | `200` with `text/event-stream` | yields [`Received`] items |
//! | an event name the spec does not declare | yields [`Received::Unknown`] and goes on |
//! | the gap event ([`GAP_EVENT`](super::GAP_EVENT)): it could not resume exactly | yields [`Received::Gap`] and goes on |
//! | a payload that does not decode | yields [`ClientError::Decode`] and goes on |
//! | an event larger than the parser's limit | yields [`ClientError::Parse`] and goes on |
//! | closes the body, breaks the connection, goes silent past `idle_timeout` | reconnects after a delay, with `Last-Event-ID` |
//! | the same, on a non-GET stream without `reconnect_non_get` | ends; with [`ClientError::GaveUp`] unless the body simply ended |
//! | sends the configured sentinel as an event's data | ends, without an error |
//! | `204 No Content` | ends, without an error |
//! | another status | yields [`ClientError::Status`] and ends |
//! | another content type | yields [`ClientError::ContentType`] and ends |
//! | keeps failing `max_attempts` reconnections in a row | yields [`ClientError::GaveUp`] and ends |
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use wiregen_runtime::sse::EventSet;
//! use wiregen_runtime::sse::client::{ClientConfig, Received, StreamRequest, subscribe};
//!
//! async fn follow<E: EventSet + Send + std::fmt::Debug + 'static>() {
//!     let request = StreamRequest::new(http::Method::GET, "http://127.0.0.1:8080/events");
//!     let mut events = subscribe::<E>(reqwest::Client::new(), request, ClientConfig::default());
//!     while let Some(item) = events.next().await {
//!         match item {
//!             Ok(Received::Event { event, id }) => println!("{id:?}: {event:?}"),
//!             Ok(Received::Unknown { event, .. }) => println!("skipped an `{event}` event"),
//!             Ok(Received::Gap { last_event_id, .. }) => {
//!                 println!("events after {last_event_id:?} were missed: reload the state")
//!             }
//!             Err(error) => eprintln!("{error}"),
//!         }
//!     }
//!     // Resume here after a restart.
//!     let _ = events.last_event_id();
//! }
//! ```

mod backoff;

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use futures_util::stream::FusedStream;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};

use self::backoff::Backoff;
use super::parse::{Event, Item, ParseError, Parser};
use super::{DecodeError, EventSet};

/// The request header that tells a server where to resume.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// How much of an error response's body [`ClientError::Status`] keeps.
pub(crate) const STATUS_BODY_LIMIT: usize = 4096;

/// How the client connects, waits and reconnects.
///
/// Streams have deliberately no whole-request timeout: a stream may stay open for days. A
/// stalled connection is found by `idle_timeout` instead. Plain calls
/// ([`ApiClient::call`](crate::api::client::ApiClient::call)) have `request_timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Time allowed for each connection attempt to connect and receive the response head.
    /// Default: 10 s.
    pub connect_timeout: Duration,
    /// A connection that delivers no bytes at all for this long (comments and keep-alives count
    /// as bytes) is considered dead and replaced. `None` waits forever. Default: 60 s.
    pub idle_timeout: Option<Duration>,
    /// Reconnection delay until the server sends a `retry:` field, which replaces it.
    /// Default: 1 s.
    pub initial_retry: Duration,
    /// Ceiling for the doubling delay between failed reconnections (a server's `retry:` above it
    /// is still honoured). Default: 30 s.
    pub max_backoff: Duration,
    /// Reconnection attempts that may fail in a row before the stream gives up with
    /// [`ClientError::GaveUp`]. An attempt fails when it cannot connect, or when its connection
    /// ends before delivering any event. `None` retries forever. Default: `None`.
    pub max_attempts: Option<u32>,
    /// Whether a stream opened with a method other than GET reconnects. Such requests usually
    /// start work on the server (a POST that streams a completion), so by default they do not:
    /// the end of the body ends the stream. Default: `false`.
    pub reconnect_non_get: bool,
    /// The event name a server uses to say the stream could not resume exactly (yielded as
    /// [`Received::Gap`]); `None` treats it as any other event. Default:
    /// [`GAP_EVENT`](super::GAP_EVENT).
    pub gap_event: Option<String>,
    /// The whole of a plain call (not a stream), from sending the request to the end of the
    /// response body; `None` waits forever. Default: 30 s.
    pub request_timeout: Option<Duration>,
    /// The largest response body a plain call reads; a larger one is a
    /// [`ClientError::Transport`] error. Default: 16 MiB.
    pub max_response_size: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(60)),
            initial_retry: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_attempts: None,
            reconnect_non_get: false,
            gap_event: Some(super::GAP_EVENT.to_owned()),
            request_timeout: Some(Duration::from_secs(30)),
            max_response_size: 16 * 1024 * 1024,
        }
    }
}

/// The HTTP request that opens (and reopens) a stream.
#[derive(Debug, Clone)]
pub struct StreamRequest {
    /// Usually GET; POST for streams that answer a request body.
    pub method: Method,
    /// Absolute URL, query string included.
    pub url: String,
    /// Extra headers, sent on every connection. `Accept: text/event-stream` and
    /// `Cache-Control: no-cache` are added unless present; a `Last-Event-ID` here is ignored
    /// (set `last_event_id` instead).
    pub headers: HeaderMap,
    /// A JSON request body, sent on every connection with `Content-Type: application/json`
    /// unless `headers` names another.
    pub body: Option<Bytes>,
    /// Where to resume: sent as `Last-Event-ID` on the first connection. Later connections send
    /// the last id the stream has seen.
    pub last_event_id: Option<String>,
    /// An event whose data is exactly this (`[DONE]`, say) ends the stream cleanly, without
    /// being yielded and without reconnecting.
    pub sentinel: Option<String>,
}

impl StreamRequest {
    /// A request with no headers, body, initial event id or sentinel.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: None,
            last_event_id: None,
            sentinel: None,
        }
    }
}

/// One item of an [`EventStream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received<E> {
    /// An event the spec declares, decoded.
    Event {
        /// The decoded event.
        event: E,
        /// The stream's last event id when the event arrived (WHATWG `lastEventId`), which is
        /// the event's own `id:` if it had one.
        id: Option<String>,
    },
    /// An event whose name the spec does not declare; servers may add event types, so this is
    /// not an error.
    Unknown {
        /// The event name (`message` when the server sent none).
        event: String,
        /// The raw data, lines joined with `\n`.
        data: String,
        /// As for [`Received::Event`].
        id: Option<String>,
    },
    /// The server could not give the stream exactly the events it missed: the id it resumed
    /// from is older than what the server retains, or unknown to it (from before a restart, or
    /// from another server). Events were lost between `last_event_id` and what comes next, so
    /// an application that keeps state from the stream should reload it (fetch a snapshot),
    /// then go on with the events that follow. The stream goes on.
    Gap {
        /// The id the stream asked to resume after (`None` when the server did not say, as when
        /// a live subscriber fell behind further than the server retains).
        last_event_id: Option<String>,
        /// Why, as the server said: `expired` or `unknown` (or another word from a newer server).
        reason: String,
        /// The stream's last event id after the gap: where a later reconnection resumes.
        id: Option<String>,
    },
}

/// What can go wrong on an [`EventStream`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// A declared event whose data did not decode. The stream goes on.
    Decode {
        /// The event name.
        event: String,
        /// The raw data.
        data: String,
        /// Why it did not decode.
        source: DecodeError,
    },
    /// An event broke the parser's size limit and was dropped (its `id` and `retry` still
    /// apply). The stream goes on.
    Parse(ParseError),
    /// The server answered with a status other than 200 or 204. The stream ends.
    Status {
        /// The status.
        status: StatusCode,
        /// The start of the response body (at most 4 KiB, lossily decoded as UTF-8).
        body: String,
    },
    /// The server answered 200 with a content type other than `text/event-stream`. The stream
    /// ends.
    ContentType {
        /// The `Content-Type` header, if there was one.
        content_type: Option<String>,
    },
    /// The connection was lost and the stream will not reconnect: `max_attempts` reconnections
    /// failed in a row, or (with `attempts: 0`) the request is not a GET and
    /// `reconnect_non_get` is off. The stream ends.
    GaveUp {
        /// Reconnection attempts made since the last connection that delivered events.
        attempts: u32,
        /// Why the last connection or attempt failed.
        last_error: String,
    },
    /// The request could not be built (a malformed URL, a parameter or body that does not
    /// serialize). The stream ends.
    Request(String),
    /// A one-shot JSON request ([`fetch_json`]) failed on the way: no connection, a timeout, a
    /// broken body.
    Transport(String),
    /// A one-shot JSON response ([`fetch_json`]) is not valid JSON for its type.
    Json(serde_json::Error),
    /// A plain call's response has a declared status but its body or headers do not match
    /// what the spec declares for it.
    Invalid {
        /// The status.
        status: StatusCode,
        /// What does not match.
        reason: String,
    },
    /// A plain call got no whole response within `request_timeout`.
    Timeout,
}

impl From<crate::params::ParamError> for ClientError {
    fn from(error: crate::params::ParamError) -> Self {
        ClientError::Request(error.to_string())
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode { event, .. } => write!(f, "event `{event}` did not decode"),
            Self::Parse(error) => error.fmt(f),
            Self::Status { status, .. } => write!(f, "the server answered {status}"),
            Self::ContentType {
                content_type: Some(content_type),
            } => write!(
                f,
                "the server answered with `{content_type}`, not `text/event-stream`"
            ),
            Self::ContentType { content_type: None } => {
                f.write_str("the server answered with no content type, not `text/event-stream`")
            }
            Self::GaveUp {
                attempts,
                last_error,
            } => write!(
                f,
                "gave up after {attempts} failed reconnection attempts: {last_error}"
            ),
            Self::Request(reason) => write!(f, "the request could not be built: {reason}"),
            Self::Transport(reason) => write!(f, "the request failed: {reason}"),
            Self::Json(error) => write!(f, "the response is not the expected JSON: {error}"),
            Self::Invalid { status, reason } => {
                write!(f, "the {status} response does not match the spec: {reason}")
            }
            Self::Timeout => f.write_str("no whole response within the request timeout"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decode { source, .. } => Some(source),
            Self::Parse(error) => Some(error),
            Self::Json(error) => Some(error),
            Self::Status { .. }
            | Self::ContentType { .. }
            | Self::GaveUp { .. }
            | Self::Request(_)
            | Self::Transport(_)
            | Self::Invalid { .. }
            | Self::Timeout => None,
        }
    }
}

type BoxedItems<E> = Pin<Box<dyn Stream<Item = Result<Received<E>, ClientError>> + Send>>;

/// A typed, reconnecting event stream; see the [module docs](self). Dropping it closes the
/// connection.
pub struct EventStream<E> {
    /// `None` once the stream has ended, so that the connection is released at once and later
    /// polls keep answering `None`.
    inner: Option<BoxedItems<E>>,
    last_event_id: Arc<Mutex<Option<String>>>,
}

impl<E: Send + 'static> EventStream<E> {
    /// A stream that yields `error` and ends: what a generated client method returns when its
    /// request cannot even be built.
    pub fn failed(error: ClientError) -> Self {
        EventStream {
            inner: Some(Box::pin(futures_util::stream::once(
                async move { Err(error) },
            ))),
            last_event_id: Arc::new(Mutex::new(None)),
        }
    }
}

impl<E> EventStream<E> {
    /// The last event id the stream has seen (or the initial one), to persist and pass back as
    /// [`StreamRequest::last_event_id`] after a restart.
    pub fn last_event_id(&self) -> Option<String> {
        lock(&self.last_event_id).clone()
    }
}

impl<E> Stream for EventStream<E> {
    type Item = Result<Received<E>, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = polled {
            self.inner = None;
        }
        polled
    }
}

impl<E> FusedStream for EventStream<E> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

impl<E> fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("last_event_id", &self.last_event_id())
            .finish_non_exhaustive()
    }
}

/// The HTTP client streams are opened with; make one with [`http_client`] and share it (it
/// pools connections).
pub type HttpClient = reqwest::Client;

/// An [`HttpClient`] for `config`: no whole-request timeout, `config.connect_timeout` to
/// connect.
pub fn http_client(config: &ClientConfig) -> HttpClient {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .build()
        // Building only fails when a TLS backend cannot start; the plain client has the same
        // settings apart from the connect timeout, which `subscribe` enforces again anyway.
        .unwrap_or_default()
}

/// `value` as a JSON request body.
pub fn json_body<T: serde::Serialize + ?Sized>(value: &T) -> Result<Bytes, ClientError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|error| {
        ClientError::Request(format!("the request body does not serialize: {error}"))
    })
}

/// Sends `request` once, asking for `application/json` instead of a stream, and decodes the
/// `200` response: the JSON alternative of an endpoint that offers both. The response head
/// must arrive within `config.connect_timeout`, and each chunk of the body within
/// `config.idle_timeout`.
pub async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &HttpClient,
    request: StreamRequest,
    config: &ClientConfig,
) -> Result<T, ClientError> {
    let mut built = base_request(http, &request)?;
    built
        .headers_mut()
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    let mut response = match send(http, built, config.connect_timeout).await {
        Ok(response) => response,
        Err(Unsent::Fatal(error)) => return Err(error),
        Err(Unsent::Lost(reason)) => return Err(ClientError::Transport(reason)),
    };
    let status = response.status();
    let mut body = Vec::new();
    loop {
        match next_chunk(&mut response, config.idle_timeout).await {
            Ok(Some(chunk)) => {
                if status != StatusCode::OK && body.len() >= STATUS_BODY_LIMIT {
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(reason) => return Err(ClientError::Transport(reason)),
        }
    }
    if status != StatusCode::OK {
        body.truncate(STATUS_BODY_LIMIT);
        let body = String::from_utf8_lossy(&body).into_owned();
        return Err(ClientError::Status { status, body });
    }
    crate::json::from_slice(&body).map_err(ClientError::Json)
}

/// Opens a typed event stream. Nothing happens until the stream is polled.
///
/// Give it a `reqwest::Client` without a whole-request `timeout` (that would cut long streams);
/// [`ClientConfig`] bounds connecting and idling instead.
pub fn subscribe<E: EventSet + Send + 'static>(
    http: reqwest::Client,
    request: StreamRequest,
    config: ClientConfig,
) -> EventStream<E> {
    let initial_id = request.last_event_id.clone().unwrap_or_default();
    let parser = Parser::new().with_last_event_id(initial_id.as_str());
    let last_event_id = Arc::new(Mutex::new(Some(initial_id).filter(|id| !id.is_empty())));
    let driver = Driver::<E> {
        parser,
        reconnects: request.method == Method::GET || config.reconnect_non_get,
        retry: config.initial_retry,
        endpoint: Endpoint {
            http,
            request,
            config,
            last_event_id: Arc::clone(&last_event_id),
        },
        backoff: Backoff::from_clock(),
        failures: 0,
        phase: Phase::Connect {
            delay: None,
            reconnection: false,
        },
        ready: VecDeque::new(),
        _events: PhantomData,
    };
    let inner = futures_util::stream::unfold(driver, |mut driver| async move {
        let item = driver.next().await?;
        Some((item, driver))
    });
    EventStream {
        inner: Some(Box::pin(inner)),
        last_event_id,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a connection is made from; shared by reference across awaits, so it holds nothing of
/// the event type (which need not be `Sync`).
struct Endpoint {
    http: reqwest::Client,
    request: StreamRequest,
    config: ClientConfig,
    /// Shared with the [`EventStream`] handle.
    last_event_id: Arc<Mutex<Option<String>>>,
}

/// The state machine behind an [`EventStream`].
struct Driver<E> {
    endpoint: Endpoint,
    /// Whether a lost connection is replaced (GET, or `reconnect_non_get`).
    reconnects: bool,
    /// The reconnection time: `initial_retry`, then the server's last `retry:`.
    retry: Duration,
    backoff: Backoff,
    /// Reconnection attempts in a row that failed.
    failures: u32,
    phase: Phase,
    /// One parser for the whole stream: [`Parser::finish`] between connections drops a cut
    /// event and keeps the last event id.
    parser: Parser,
    /// Items decoded from the last chunk, not yet yielded.
    ready: VecDeque<Result<Received<E>, ClientError>>,
    _events: PhantomData<fn() -> E>,
}

enum Phase {
    /// Wait `delay`, then send the request.
    Connect {
        delay: Option<Duration>,
        /// Whether this is a reconnection (counts towards `max_attempts`).
        reconnection: bool,
    },
    /// Read the body of a `200 text/event-stream` response.
    Streaming(Box<Connection>),
    /// Nothing more to yield.
    Done,
}

/// An open `200 text/event-stream` response and what has come of it.
struct Connection {
    response: reqwest::Response,
    /// Whether this connection is a reconnection (counts towards `max_attempts`).
    reconnection: bool,
    /// Whether this connection has yielded an item yet.
    delivered: bool,
}

/// How a connection attempt ended, short of a body to read.
enum Refused {
    /// The server asked the client to stop (204): end the stream quietly.
    Stop,
    /// End the stream with this error.
    Fatal(ClientError),
    /// A transient failure: reconnect if allowed.
    Lost(String),
}

impl<E: EventSet> Driver<E> {
    async fn next(&mut self) -> Option<Result<Received<E>, ClientError>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::Connect {
                    delay,
                    reconnection,
                } => {
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                    match self.endpoint.connect().await {
                        Ok(response) => {
                            self.parser.finish();
                            self.phase = Phase::Streaming(Box::new(Connection {
                                response,
                                reconnection,
                                delivered: false,
                            }));
                        }
                        Err(Refused::Stop) => {}
                        Err(Refused::Fatal(error)) => return Some(Err(error)),
                        Err(Refused::Lost(reason)) => self.lost(reason, reconnection, false, false),
                    }
                }
                Phase::Streaming(mut connection) => {
                    match self.endpoint.read_chunk(&mut connection.response).await {
                        Ok(Some(chunk)) => {
                            let finished = self.absorb(&chunk);
                            connection.delivered |= !self.ready.is_empty();
                            if !finished {
                                self.phase = Phase::Streaming(connection);
                            }
                        }
                        Ok(None) => self.lost(
                            "the server closed the stream".to_owned(),
                            connection.reconnection,
                            connection.delivered,
                            true,
                        ),
                        Err(reason) => {
                            self.lost(reason, connection.reconnection, connection.delivered, false)
                        }
                    }
                }
            }
        }
    }

    /// Parses a chunk into ready items. Returns whether the sentinel ended the stream.
    fn absorb(&mut self, chunk: &[u8]) -> bool {
        let Self {
            endpoint,
            parser,
            retry,
            ready,
            ..
        } = self;
        let sentinel = endpoint.request.sentinel.as_deref();
        let mut finished = false;
        parser.push(chunk, &mut |item| {
            if finished {
                return;
            }
            match item {
                Item::Event(Event { event, data, id }) => {
                    lock(&endpoint.last_event_id).clone_from(&id);
                    if sentinel == Some(data.as_str()) {
                        finished = true;
                    } else {
                        let gap = endpoint.config.gap_event.as_deref();
                        ready.push_back(decode(event, data, id, gap));
                    }
                }
                Item::Retry(millis) => *retry = Duration::from_millis(millis),
                Item::LastEventId(id) => {
                    *lock(&endpoint.last_event_id) = Some(id).filter(|id| !id.is_empty());
                }
                Item::Error(error) => ready.push_back(Err(ClientError::Parse(error))),
            }
        });
        finished
    }

    /// A connection or attempt ended without the server asking to stop: schedule a
    /// reconnection, or end the stream.
    fn lost(&mut self, reason: String, reconnection: bool, delivered: bool, end_of_body: bool) {
        if !self.reconnects {
            if !end_of_body {
                self.ready.push_back(Err(ClientError::GaveUp {
                    attempts: 0,
                    last_error: reason,
                }));
            }
            return;
        }
        if delivered {
            self.failures = 0;
        } else if reconnection {
            self.failures = self.failures.saturating_add(1);
        }
        if self
            .endpoint
            .config
            .max_attempts
            .is_some_and(|max| self.failures >= max)
        {
            self.ready.push_back(Err(ClientError::GaveUp {
                attempts: self.failures,
                last_error: reason,
            }));
            return;
        }
        let delay = self
            .backoff
            .delay(self.retry, self.failures, self.endpoint.config.max_backoff);
        self.phase = Phase::Connect {
            delay: Some(delay),
            reconnection: true,
        };
    }
}

impl Endpoint {
    /// Sends the request and checks the response head.
    async fn connect(&self) -> Result<reqwest::Response, Refused> {
        let request = self.build_request().map_err(Refused::Fatal)?;
        let response = match send(&self.http, request, self.config.connect_timeout).await {
            Ok(response) => response,
            Err(Unsent::Fatal(error)) => return Err(Refused::Fatal(error)),
            Err(Unsent::Lost(reason)) => return Err(Refused::Lost(reason)),
        };
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NO_CONTENT => return Err(Refused::Stop),
            status => {
                let body = self.error_body(response).await;
                return Err(Refused::Fatal(ClientError::Status { status, body }));
            }
        }
        let content_type = response.headers().get(CONTENT_TYPE);
        if !content_type.is_some_and(is_event_stream) {
            let content_type =
                content_type.map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
            return Err(Refused::Fatal(ClientError::ContentType { content_type }));
        }
        Ok(response)
    }

    fn build_request(&self) -> Result<reqwest::Request, ClientError> {
        let mut request = base_request(&self.http, &self.request)?;
        let sent = request.headers_mut();
        sent.remove(LAST_EVENT_ID);
        if let Some(id) = lock(&self.last_event_id).as_deref() {
            let value = HeaderValue::from_bytes(id.as_bytes()).map_err(|_| {
                ClientError::Request(format!(
                    "the last event id {id:?} cannot be sent as a Last-Event-ID header"
                ))
            })?;
            sent.insert(LAST_EVENT_ID, value);
        }
        sent.entry(ACCEPT)
            .or_insert(HeaderValue::from_static("text/event-stream"));
        sent.entry(CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
        Ok(request)
    }

    /// The start of an error response's body, as much as arrives within the connect timeout.
    async fn error_body(&self, mut response: reqwest::Response) -> String {
        let mut body = Vec::new();
        let read = async {
            while body.len() < STATUS_BODY_LIMIT {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) | Err(_) => break,
                }
            }
        };
        let _ = tokio::time::timeout(self.config.connect_timeout, read).await;
        body.truncate(STATUS_BODY_LIMIT);
        String::from_utf8_lossy(&body).into_owned()
    }

    /// The next chunk of the body, `None` at its end, or why the connection is lost.
    async fn read_chunk(&self, response: &mut reqwest::Response) -> Result<Option<Bytes>, String> {
        next_chunk(response, self.config.idle_timeout).await
    }
}

/// `request` as an HTTP request: its method, URL, headers and JSON body (with
/// `Content-Type: application/json` unless its headers name another). Callers add the
/// `Accept` they want.
fn base_request(
    http: &HttpClient,
    request: &StreamRequest,
) -> Result<reqwest::Request, ClientError> {
    let StreamRequest {
        method,
        url,
        headers,
        body,
        last_event_id: _,
        sentinel: _,
    } = request;
    let mut built = http
        .request(method.clone(), url.as_str())
        .build()
        .map_err(|error| ClientError::Request(error_chain(&error)))?;
    let sent = built.headers_mut();
    sent.extend(headers.clone());
    if let Some(body) = body {
        sent.entry(CONTENT_TYPE)
            .or_insert(HeaderValue::from_static("application/json"));
        *built.body_mut() = Some(body.clone().into());
    }
    Ok(built)
}

/// Why a request got no response head.
enum Unsent {
    /// It cannot be sent at all (a malformed URL, an unsupported scheme): trying again is useless.
    Fatal(ClientError),
    /// The connection failed or timed out: worth another attempt.
    Lost(String),
}

/// Sends `request` and waits up to `connect_timeout` for the response head.
async fn send(
    http: &HttpClient,
    request: reqwest::Request,
    connect_timeout: Duration,
) -> Result<reqwest::Response, Unsent> {
    match tokio::time::timeout(connect_timeout, http.execute(request)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(error)) if error.is_builder() || is_unsupported_scheme(&error) => {
            Err(Unsent::Fatal(ClientError::Request(error_chain(&error))))
        }
        Ok(Err(error)) => Err(Unsent::Lost(error_chain(&error))),
        Err(_) => Err(Unsent::Lost(format!(
            "no response within the connect timeout ({connect_timeout:?})"
        ))),
    }
}

/// The next chunk of a response body, `None` at its end, or why the connection is lost (an
/// error, or no bytes for `idle_timeout`).
async fn next_chunk(
    response: &mut reqwest::Response,
    idle_timeout: Option<Duration>,
) -> Result<Option<Bytes>, String> {
    let chunk = match idle_timeout {
        None => response.chunk().await,
        Some(idle) => match tokio::time::timeout(idle, response.chunk()).await {
            Ok(chunk) => chunk,
            Err(_) => return Err(format!("no bytes for the idle timeout ({idle:?})")),
        },
    };
    chunk.map_err(|error| error_chain(&error))
}

/// Turns one dispatched event into an item.
fn decode<E: EventSet>(
    event: String,
    data: String,
    id: Option<String>,
    gap_event: Option<&str>,
) -> Result<Received<E>, ClientError> {
    if gap_event == Some(event.as_str()) {
        #[derive(serde::Deserialize)]
        struct GapData {
            #[serde(rename = "lastEventId")]
            last_event_id: Option<String>,
            reason: Option<String>,
        }
        // A gap says events were lost whatever its data: data that does not parse still counts.
        let GapData {
            last_event_id,
            reason,
        } = serde_json::from_str(&data).unwrap_or(GapData {
            last_event_id: None,
            reason: None,
        });
        return Ok(Received::Gap {
            last_event_id,
            reason: reason.unwrap_or_default(),
            id,
        });
    }
    match E::decode(&event, &data) {
        Ok(decoded) => Ok(Received::Event { event: decoded, id }),
        Err(DecodeError::UnknownEvent) => Ok(Received::Unknown { event, data, id }),
        Err(source) => Err(ClientError::Decode {
            event,
            data,
            source,
        }),
    }
}

/// Whether a `Content-Type` is `text/event-stream`, parameters allowed.
fn is_event_stream(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/event-stream")
}

/// Whether a connection failed because the client cannot speak the URL's scheme at all (an
/// `https` URL without TLS support compiled in): retrying would only fail again.
pub(crate) fn is_unsupported_scheme(error: &reqwest::Error) -> bool {
    error.is_connect() && error_chain(error).contains("scheme is not http")
}

/// An error and its sources on one line: reqwest's own `Display` omits the cause
/// ("error sending request" rather than "connection refused").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_stream_content_types() {
        for accepted in [
            "text/event-stream",
            "text/event-stream; charset=utf-8",
            "Text/Event-Stream ;charset=UTF-8",
        ] {
            assert!(
                is_event_stream(&HeaderValue::from_static(accepted)),
                "{accepted}"
            );
        }
        for refused in ["text/html", "text/event-streams", "application/json", ""] {
            assert!(
                !is_event_stream(&HeaderValue::from_static(refused)),
                "{refused}"
            );
        }
    }

    #[test]
    fn defaults_match_the_documentation() {
        let ClientConfig {
            connect_timeout,
            idle_timeout,
            initial_retry,
            max_backoff,
            max_attempts,
            reconnect_non_get,
            gap_event,
            request_timeout,
            max_response_size,
        } = ClientConfig::default();
        assert_eq!(connect_timeout, Duration::from_secs(10));
        assert_eq!(idle_timeout, Some(Duration::from_secs(60)));
        assert_eq!(initial_retry, Duration::from_secs(1));
        assert_eq!(max_backoff, Duration::from_secs(30));
        assert_eq!(max_attempts, None);
        assert!(!reconnect_non_get);
        assert_eq!(gap_event.as_deref(), Some("wiregen-gap"));
        assert_eq!(request_timeout, Some(Duration::from_secs(30)));
        assert_eq!(max_response_size, 16 * 1024 * 1024);
    }

    #[test]
    fn error_chain_includes_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::other("connection refused"));
        assert_eq!(
            error_chain(&error),
            "error sending request: connection refused"
        );
    }
}
