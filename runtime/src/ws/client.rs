//! The client half: a typed WebSocket client over tokio-tungstenite (the version axum 0.8 uses,
//! so one tungstenite is compiled).
//!
//! [`connect`] returns a [`Sender`] of the channel's outbound messages and a [`Receiver`], a
//! [`Stream`] of [`Event`]s: the inbound messages, frames that did not decode, and lifecycle
//! events. A background task owns the socket; it ends when every
//! [`Sender`] is dropped (closing with 1000) or the connection ends for good.
//!
//! [`Sender::call`] sends a request and waits for the reply that carries the same correlation
//! id: the id is generated unless the request has one, the pending call is kept in a map until
//! the reply comes, the timeout passes ([`ClientConfig::call_timeout`]) or the connection drops.
//!
//! Reconnection is opt-in ([`ClientConfig::reconnect`]): after a connection drops the task waits
//! (exponential backoff from [`Reconnect::initial_delay`] to [`Reconnect::max_delay`], each delay
//! moved by up to ±20% so clients spread out), connects again, and reports
//! [`Event::Disconnected`], [`Event::Reconnecting`] and [`Event::Connected`] so the application can
//! subscribe again. Messages sent while disconnected wait in the sender's queue. Without
//! reconnection, the sender is closed as soon as the connection ends: from the
//! [`Event::Disconnected`] on, [`Sender::send`] returns [`ClientError::Closed`] and nothing sent
//! is accepted only to be lost.
//!
//! A server that breaks the protocol is answered as RFC 6455 section 7.1.7 asks, with a Close
//! before the connection ends: 1002 for a protocol error (reserved bits, an unknown opcode, a
//! fragmented or oversized control frame, a continuation without a start, a masked frame), 1007
//! for a text frame that is not UTF-8, 1009 for a message over
//! [`ClientConfig::max_message_size`]; [`Event::Disconnected`] carries that code.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{
    self, Message, client::IntoClientRequest, protocol::CloseFrame,
};

use super::{Credential, DecodeError, Frame, MessageSet, close_code};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Settings of a client connection.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The largest message accepted, in bytes (default 16 MiB).
    pub max_message_size: usize,
    /// How long the TCP connection and handshake may take (default 10 s).
    pub connect_timeout: Duration,
    /// How long [`Sender::call`] waits for its reply (default 30 s).
    pub call_timeout: Duration,
    /// How many received events wait for the application to read them (default 256); when
    /// full, the client stops reading from the socket until there is room.
    pub inbound_capacity: usize,
    /// How many outbound messages wait to be written (default 256); when full,
    /// [`Sender::send`] waits.
    pub outbound_capacity: usize,
    /// Reconnect after a connection drops (default: no).
    pub reconnect: Option<Reconnect>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            max_message_size: 16 << 20,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(30),
            inbound_capacity: 256,
            outbound_capacity: 256,
            reconnect: None,
        }
    }
}

impl ClientConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reconnect with these delays after a connection drops.
    pub fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = Some(reconnect);
        self
    }

    /// Set [`call_timeout`](Self::call_timeout).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Set [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Set [`max_message_size`](Self::max_message_size).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }
}

/// Reconnection delays.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Reconnect {
    /// The first delay (default 250 ms); each failed attempt doubles it.
    pub initial_delay: Duration,
    /// The largest delay (default 30 s).
    pub max_delay: Duration,
    /// Give up after this many failed attempts in a row (default: never).
    pub max_attempts: Option<u32>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl Reconnect {
    /// Delays from `initial` doubling up to `max`, retrying forever.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Reconnect {
            initial_delay: initial,
            max_delay: max,
            max_attempts: None,
        }
    }

    /// Give up after `attempts` failed attempts in a row.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// The delay before attempt `attempt` (1-based), before jitter.
    fn base_delay(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

/// What one connection attempt asks for: the URL and the upgrade request's headers.
#[derive(Clone, Debug)]
pub struct ConnectRequest {
    /// `ws://host:port/path?query` (`wss://` with the `ws-rustls` feature; `http://` and
    /// `https://` are read as `ws://` and `wss://`).
    pub url: String,
    /// Extra headers of the upgrade request.
    pub headers: http::HeaderMap,
}

impl ConnectRequest {
    /// A request for `url` with no extra headers.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectRequest {
            url: url.into(),
            headers: http::HeaderMap::new(),
        }
    }

    /// Present `credential` the way a `Bearer` or `Basic` scheme expects it (an
    /// `Authorization` header); API keys are placed by generated code, which knows where they go.
    pub fn authorize(&mut self, credential: &Credential) -> Result<(), ConnectError> {
        if let Some(value) = crate::auth::authorization(credential) {
            let value = value.map_err(|error| ConnectError::Request(error.message))?;
            self.headers.insert(http::header::AUTHORIZATION, value);
        }
        Ok(())
    }
}

/// Why a connection could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL or a header is not valid.
    Request(String),
    /// The TCP connection or the handshake failed (the server answered with an HTTP error, for
    /// instance).
    Handshake(tungstenite::Error),
    /// It took longer than [`ClientConfig::connect_timeout`].
    Timeout,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Request(message) => write!(f, "invalid connect request: {message}"),
            ConnectError::Handshake(e) => write!(f, "the WebSocket handshake failed: {e}"),
            ConnectError::Timeout => f.write_str("the WebSocket connection timed out"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Handshake(e) => Some(e),
            _ => None,
        }
    }
}

impl ConnectError {
    /// The HTTP status the server refused the upgrade with, if it did.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectError::Handshake(tungstenite::Error::Http(response)) => {
                Some(response.status().as_u16())
            }
            _ => None,
        }
    }
}

/// Why a message could not be sent, or a call not answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The message could not be encoded.
    Encode(super::EncodeError),
    /// The connection is closed for good.
    Closed,
    /// No reply within [`ClientConfig::call_timeout`].
    Timeout,
    /// The connection dropped before the reply came.
    Disconnected,
    /// The request carries no correlation id (its message is not a request of a request/reply
    /// operation).
    NotARequest,
    /// The reply that came is not one the call expects.
    UnexpectedReply,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Encode(e) => e.fmt(f),
            ClientError::Closed => f.write_str("the connection is closed"),
            ClientError::Timeout => f.write_str("no reply before the timeout"),
            ClientError::Disconnected => {
                f.write_str("the connection dropped before the reply came")
            }
            ClientError::NotARequest => f.write_str("the message carries no correlation id"),
            ClientError::UnexpectedReply => f.write_str("the reply is not of the expected kind"),
        }
    }
}

impl std::error::Error for ClientError {}

/// What the [`Receiver`] yields.
#[derive(Debug)]
pub enum Event<M> {
    /// A message (replies to [`Sender::call`] go to the call instead).
    Message(M),
    /// A frame that did not decode into the channel's inbound messages.
    Invalid(DecodeError),
    /// Connected again after [`Event::Reconnecting`] (the first connection is not reported:
    /// [`connect`] returning is that).
    Connected,
    /// The connection ended, with the code of its closing handshake: the one the server sent,
    /// or the one this client closed with when the server broke the protocol (1002), sent a
    /// text frame that is not UTF-8 (1007) or a message too big (1009). `None` when the
    /// connection broke without a Close either way (what browsers report as 1006).
    Disconnected(Option<u16>),
    /// Waiting `delay` before reconnection attempt `attempt` (1-based).
    Reconnecting {
        /// Attempts since the connection dropped, this one included.
        attempt: u32,
        /// How long the client waits before it.
        delay: Duration,
    },
}

type Pending<In> = Arc<Mutex<HashMap<String, oneshot::Sender<In>>>>;

fn lock<In>(pending: &Pending<In>) -> MutexGuard<'_, HashMap<String, oneshot::Sender<In>>> {
    pending.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Command {
    Frame(Message),
    Close(u16),
}

/// The sending half: cheap to clone; the connection closes when every clone is dropped.
pub struct Sender<Out, In> {
    commands: mpsc::Sender<Command>,
    pending: Pending<In>,
    call_timeout: Duration,
    _out: std::marker::PhantomData<fn(Out)>,
}

impl<Out, In> Clone for Sender<Out, In> {
    fn clone(&self) -> Self {
        Sender {
            commands: self.commands.clone(),
            pending: self.pending.clone(),
            call_timeout: self.call_timeout,
            _out: std::marker::PhantomData,
        }
    }
}

impl<Out, In> std::fmt::Debug for Sender<Out, In> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.commands.is_closed())
            .finish_non_exhaustive()
    }
}

impl<Out: MessageSet, In: MessageSet> Sender<Out, In> {
    /// Send a message (waits only while the outbound queue is full).
    pub async fn send(&self, message: &Out) -> Result<(), ClientError> {
        let frame = message.encode().map_err(ClientError::Encode)?;
        self.send_frame(frame).await
    }

    /// Send an encoded frame.
    pub async fn send_frame(&self, frame: Frame) -> Result<(), ClientError> {
        let message = to_message(frame).ok_or(ClientError::Closed)?;
        self.commands
            .send(Command::Frame(message))
            .await
            .map_err(|_| ClientError::Closed)
    }

    /// Send a request and wait for the reply with the same correlation id. The request's id is
    /// used if it has one; otherwise a fresh one is set.
    pub async fn call(&self, mut request: Out) -> Result<In, ClientError> {
        let id = match request.correlation_id() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                let id = super::fresh_id();
                if !request.set_correlation_id(&id) {
                    return Err(ClientError::NotARequest);
                }
                id
            }
        };
        let (reply, answer) = oneshot::channel();
        lock(&self.pending).insert(id.clone(), reply);
        let outcome = async {
            self.send(&request).await?;
            match tokio::time::timeout(self.call_timeout, answer).await {
                Ok(Ok(message)) => Ok(message),
                Ok(Err(_)) => Err(ClientError::Disconnected),
                Err(_) => Err(ClientError::Timeout),
            }
        }
        .await;
        lock(&self.pending).remove(&id);
        outcome
    }

    /// Close the connection with `code` (1000 is normal closure) and stop reconnecting.
    pub async fn close(&self, code: u16) -> Result<(), ClientError> {
        self.commands
            .send(Command::Close(code))
            .await
            .map_err(|_| ClientError::Closed)
    }
}

/// The receiving half: a stream of [`Event`]s that ends when the connection ends for good.
pub struct Receiver<In> {
    events: mpsc::Receiver<Event<In>>,
}

impl<In> std::fmt::Debug for Receiver<In> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl<In> Receiver<In> {
    /// The next event.
    pub async fn recv(&mut self) -> Option<Event<In>> {
        self.events.recv().await
    }

    /// The next message, skipping every other event.
    pub async fn next_message(&mut self) -> Option<In> {
        loop {
            if let Event::Message(message) = self.events.recv().await? {
                return Some(message);
            }
        }
    }
}

impl<In> Stream for Receiver<In> {
    type Item = Event<In>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event<In>>> {
        self.events.poll_recv(cx)
    }
}

/// Connect, and keep the connection (and, with [`ClientConfig::reconnect`], reconnect) in a
/// background task. The first attempt's error is returned as it is.
pub async fn connect<Out: MessageSet, In: MessageSet>(
    request: ConnectRequest,
    config: ClientConfig,
) -> Result<(Sender<Out, In>, Receiver<In>), ConnectError> {
    let socket = open(&request, &config).await?;
    let (commands, command_queue) = mpsc::channel(config.outbound_capacity.max(1));
    let (events, event_queue) = mpsc::channel(config.inbound_capacity.max(1));
    let pending: Pending<In> = Arc::default();
    let sender = Sender {
        commands,
        pending: pending.clone(),
        call_timeout: config.call_timeout,
        _out: std::marker::PhantomData,
    };
    tokio::spawn(run(socket, request, config, command_queue, events, pending));
    Ok((
        sender,
        Receiver {
            events: event_queue,
        },
    ))
}

/// The URL to open: `http://` is read as `ws://` and `https://` as `wss://` (a base URL can be
/// the server's HTTP address); other URLs are used as they are.
pub fn websocket_url(url: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    if scheme.eq_ignore_ascii_case("http") {
        format!("ws://{rest}").into()
    } else if scheme.eq_ignore_ascii_case("https") {
        format!("wss://{rest}").into()
    } else {
        url.into()
    }
}

fn is_secure(url: &str) -> bool {
    url.get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("wss://"))
}

/// How `wss://` connections are made: rustls with the system's trust store, built once.
#[cfg(feature = "ws-rustls")]
fn tls_connector() -> Result<tokio_tungstenite::Connector, ConnectError> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if roots.is_empty() {
            return Err("no root certificates found in the system's trust store".to_owned());
        }
        // The application's provider if it installed one, else aws-lc-rs (never a panic when
        // several providers are compiled in).
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    });
    match config {
        Ok(config) => Ok(tokio_tungstenite::Connector::Rustls(config.clone())),
        Err(message) => Err(ConnectError::Request(message.clone())),
    }
}

async fn open(request: &ConnectRequest, config: &ClientConfig) -> Result<Socket, ConnectError> {
    let url = websocket_url(&request.url);
    #[cfg(feature = "ws-rustls")]
    let connector = if is_secure(&url) {
        Some(tls_connector()?)
    } else {
        None
    };
    #[cfg(not(feature = "ws-rustls"))]
    if is_secure(&url) {
        return Err(ConnectError::Request(
            "a `wss://` URL needs the `ws-rustls` feature of wiregen-runtime".to_owned(),
        ));
    }
    let mut upgrade = url
        .as_ref()
        .into_client_request()
        .map_err(|e| ConnectError::Request(e.to_string()))?;
    for (name, value) in &request.headers {
        upgrade.headers_mut().append(name, value.clone());
    }
    let ws_config = tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    #[cfg(feature = "ws-rustls")]
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(upgrade, Some(ws_config), true, connector);
    #[cfg(not(feature = "ws-rustls"))]
    let connecting = tokio_tungstenite::connect_async_with_config(upgrade, Some(ws_config), true);
    match tokio::time::timeout(config.connect_timeout, connecting).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(e)) => Err(ConnectError::Handshake(e)),
        Err(_) => Err(ConnectError::Timeout),
    }
}

fn to_message(frame: Frame) -> Option<Message> {
    Some(match frame {
        Frame::Text(bytes) => Message::Text(tungstenite::Utf8Bytes::try_from(bytes).ok()?),
        Frame::Binary(bytes) => Message::Binary(bytes),
    })
}

/// How one connection ended.
enum Ended {
    /// Every sender is gone, or one asked to close: do not reconnect.
    ByUs,
    /// The server closed it (with this code) or it broke.
    Lost(Option<u16>),
}

async fn run<In: MessageSet>(
    mut socket: Socket,
    request: ConnectRequest,
    config: ClientConfig,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event<In>>,
    pending: Pending<In>,
) {
    let mut jitter = Jitter::from_clock();
    loop {
        let ended = session(&mut socket, &mut commands, &events, &pending).await;
        // Calls waiting for a reply on this connection will not get one.
        lock(&pending).clear();
        let code = match ended {
            Ended::ByUs => {
                commands.close();
                return;
            }
            Ended::Lost(code) => code,
        };
        let Some(reconnect) = &config.reconnect else {
            // Closed before anyone can learn of the end: from then on every send fails,
            // instead of being accepted into a queue nobody will write.
            commands.close();
            let _ = events.send(Event::Disconnected(code)).await;
            return;
        };
        let _ = events.send(Event::Disconnected(code)).await;
        let mut attempt = 0u32;
        socket = loop {
            attempt += 1;
            if reconnect.max_attempts.is_some_and(|max| attempt > max) || commands.is_closed() {
                commands.close();
                return;
            }
            let delay = jitter.apply(reconnect.base_delay(attempt));
            if events
                .send(Event::Reconnecting { attempt, delay })
                .await
                .is_err()
            {
                commands.close();
                return;
            }
            tokio::time::sleep(delay).await;
            if let Ok(socket) = open(&request, &config).await {
                break socket;
            }
        };
        if events.send(Event::Connected).await.is_err() {
            commands.close();
            return;
        }
    }
}

async fn session<In: MessageSet>(
    socket: &mut Socket,
    commands: &mut mpsc::Receiver<Command>,
    events: &mpsc::Sender<Event<In>>,
    pending: &Pending<In>,
) -> Ended {
    loop {
        tokio::select! {
            command = commands.recv() => {
                let mut next = command;
                // Write everything waiting, then flush once.
                loop {
                    match next {
                        None => {
                            close(socket, close_code::NORMAL, "").await;
                            return Ended::ByUs;
                        }
                        Some(Command::Close(code)) => {
                            close(socket, code, "").await;
                            return Ended::ByUs;
                        }
                        Some(Command::Frame(message)) => {
                            if socket.feed(message).await.is_err() {
                                return Ended::Lost(None);
                            }
                        }
                    }
                    match commands.try_recv() {
                        Ok(command) => next = Some(command),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => next = None,
                    }
                }
                if socket.flush().await.is_err() {
                    return Ended::Lost(None);
                }
            }
            incoming = socket.next() => {
                let decoded = match incoming {
                    None => return Ended::Lost(None),
                    Some(Err(error)) => {
                        // A protocol error is answered with a Close before the end; a broken
                        // connection has nobody to answer.
                        let Some((code, reason)) = super::failure_close(&error) else {
                            return Ended::Lost(None);
                        };
                        fail(socket, code, reason).await;
                        return Ended::Lost(Some(code));
                    }
                    Some(Ok(Message::Text(text))) => In::decode_text(text.as_str()),
                    Some(Ok(Message::Binary(data))) => In::decode_binary(&data),
                    Some(Ok(Message::Close(frame))) => {
                        drain(socket).await;
                        return Ended::Lost(frame.map(|f| u16::from(f.code)));
                    }
                    Some(Ok(_)) => continue,
                };
                let event = match decoded {
                    Ok(message) => {
                        let waiting = message
                            .correlation_id()
                            .and_then(|id| lock(pending).remove(id));
                        match waiting {
                            Some(call) => {
                                let _ = call.send(message);
                                continue;
                            }
                            None => Event::Message(message),
                        }
                    }
                    Err(error) => Event::Invalid(error),
                };
                // A dropped receiver is fine: calls and sends still work.
                let _ = events.send(event).await;
            }
        }
    }
}

/// How long a closing handshake may take before the connection is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

fn close_frame(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: code.into(),
        reason: tungstenite::Utf8Bytes::from_static(reason),
    }))
}

async fn close(socket: &mut Socket, code: u16, reason: &'static str) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if socket.send(close_frame(code, reason)).await.is_ok() {
            drain(socket).await;
        }
    })
    .await;
}

/// Fail the connection after a read error: send the Close, then wait for the server to end the
/// connection (the client should not be the one to end it first). The WebSocket stream is over
/// after an error, so what still comes is read as raw bytes and dropped.
async fn fail(socket: &mut Socket, code: u16, reason: &'static str) {
    use tokio::io::AsyncReadExt;
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if socket.send(close_frame(code, reason)).await.is_ok() {
            let mut discard = [0u8; 512];
            while matches!(socket.get_mut().read(&mut discard).await, Ok(n) if n > 0) {}
        }
    })
    .await;
}

/// Read until the server's side ends, so the closing handshake completes.
async fn drain(socket: &mut Socket) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

/// ±20% jitter from a small xorshift generator seeded by the clock and a counter.
struct Jitter(u64);

impl Jitter {
    fn from_clock() -> Jitter {
        static SEEDS: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let seed = nanos ^ SEEDS.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        Jitter(seed | 1)
    }

    fn apply(&mut self, delay: Duration) -> Duration {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        delay.mul_f64(0.8 + 0.4 * unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_bounded_jitter() {
        let reconnect = Reconnect::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(reconnect.base_delay(1), Duration::from_millis(100));
        assert_eq!(reconnect.base_delay(3), Duration::from_millis(400));
        assert_eq!(reconnect.base_delay(40), Duration::from_secs(1));
        let mut jitter = Jitter::from_clock();
        for _ in 0..1000 {
            let d = jitter.apply(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(1200));
        }
    }

    #[test]
    fn http_urls_are_read_as_websocket_urls() {
        for (given, expected) in [
            ("http://127.0.0.1:3000/a?b=c", "ws://127.0.0.1:3000/a?b=c"),
            ("HTTPS://example.test/ws", "wss://example.test/ws"),
            ("ws://127.0.0.1:3000", "ws://127.0.0.1:3000"),
            ("wss://127.0.0.1:3000", "wss://127.0.0.1:3000"),
            ("httpx://h/", "httpx://h/"),
            ("no scheme", "no scheme"),
        ] {
            assert_eq!(websocket_url(given), expected);
        }
        assert!(is_secure("WSS://h") && is_secure("wss://h") && !is_secure("ws://h"));
    }

    #[cfg(not(feature = "ws-rustls"))]
    #[tokio::test]
    async fn wss_without_the_feature_says_which_feature() {
        let request = ConnectRequest::new("https://127.0.0.1:9/socket");
        match open(&request, &ClientConfig::default()).await {
            Err(ConnectError::Request(message)) => assert!(message.contains("ws-rustls")),
            other => panic!("expected a request error, got {:?}", other.err()),
        }
    }
}
