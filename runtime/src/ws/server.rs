//! The server half: typed WebSocket connections (axum routes, tokio-tungstenite sockets), each
//! with a bounded outbound queue, and the broadcast [`Hub`] keyed by channel parameters.
//!
//! # One connection
//!
//! [`upgrade`] answers the upgrade request checked by [`WebSocketUpgrade`] with small buffers
//! ([`ServerConfig`]) and runs one task per connection that
//!
//! - reads frames, decodes each into the channel's inbound [`MessageSet`] and hands it to the
//!   [`Handler`] (generated code dispatches it to the trait the user implements), one at a time
//!   and in order;
//! - writes what was queued on the connection's [`Outbound`] handle and its hub groups, **all
//!   of it at once**: every frame waiting is laid out as it goes on the wire and written with
//!   one write per [`ServerConfig::write_buffer_size`], not one per message, and without
//!   tungstenite's per-message work (tungstenite reads, and writes the control frames).
//!   Messages that have already arrived are read first (up to 32 in a row), so what a burst of
//!   them causes goes out in one write too;
//! - sends a ping every [`ServerConfig::ping_interval`] and closes (1001) a connection that has
//!   sent nothing, not even a pong, for [`ServerConfig::idle_timeout`];
//! - closes properly: after a Close is sent or received it keeps reading until the peer's side
//!   ends (or [`ServerConfig::close_timeout`] passes), so the closing handshake completes.
//!
//! # Slow clients
//!
//! Memory per connection is bounded. Sending never waits: [`Outbound::send`] puts a frame on
//! the connection's own queue, and [`Hub::send`] writes a frame once into its group's ring,
//! which every member reads from where it stopped (one wake-up per batch, not per frame). A
//! connection may have at most [`ServerConfig::queue_capacity`] frames and
//! [`ServerConfig::queue_bytes`] bytes of payload waiting in its own queue, and as many behind
//! each of its groups' rings (a frame larger than the byte bound still goes out alone, with
//! nothing else waiting). A client over a bound when one more frame arrives is **closed with
//! 1008** (policy violation, reason `"too slow"`): what waited for it is released at once and
//! nothing more is written to it. Frames are written in the order they were sent, whether to
//! the connection or to its groups. While one batch is being written, the next may fill up
//! again: a connection holds at most twice the bound. A client that stops reading altogether
//! cannot be sent that Close either: a write that makes no progress for
//! [`ServerConfig::write_timeout`] drops the connection.
//!
//! # Invalid input
//!
//! A frame that does not decode goes to [`Handler::on_invalid`], which answers with an
//! [`InvalidPolicy`]: send an error frame (`{"error":"<kind>","message":"…"}`, see
//! [`DecodeError::error_frame`]) and go on, close with 1007 or 1003 ([`DecodeError::close_code`]),
//! or ignore it. A message over [`ServerConfig::max_message_size`] closes the connection with
//! 1009; invalid UTF-8 in a text frame, with 1007; a protocol error (reserved bits set, an
//! unknown opcode, a fragmented or oversized control frame, a continuation without a start, an
//! unmasked frame), with 1002, as RFC 6455 section 7.1.7 asks: a Close is sent before the
//! connection ends. Other connections are never affected.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, protocol::Role};

use super::hub::Ring;
use super::socket::{Gated, always_readable};
use super::wire::{MARKS_KEPT, Taker, Wire};
use super::{DecodeError, Frame, MessageSet, close_code};

pub use super::hub::{Delivery, Hub, Membership};

/// Settings of a served channel. The defaults suit many small JSON messages.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The largest message accepted, in bytes (default 64 KiB); a larger one closes the
    /// connection with 1009.
    pub max_message_size: usize,
    /// The socket's read buffer (default 4 KiB; axum's own default is 128 KiB per connection).
    pub read_buffer_size: usize,
    /// How many bytes of what is queued a connection copies for one write (default 4 KiB):
    /// the rest waits, shared with the other connections it was sent to, until that is
    /// written, so a client whose writes wait holds no more copies than this.
    pub write_buffer_size: usize,
    /// How many frames may wait in one connection's outbound queue, and behind each hub
    /// group it is a member of (default 256).
    pub queue_capacity: usize,
    /// How many bytes of payload may wait in one connection's outbound queue, and behind each
    /// hub group it is a member of (default 1 MiB):
    /// with large messages this bound is reached first (256 broadcasts of 60 KiB would
    /// otherwise keep 15 MB alive for one lagging client).
    pub queue_bytes: usize,
    /// How often to ping (default 30 s); `None` never pings.
    pub ping_interval: Option<Duration>,
    /// Close (1001) a connection that sent nothing for this long (default 75 s); `None` never
    /// does. Checked when pinging, so it needs `ping_interval`.
    pub idle_timeout: Option<Duration>,
    /// Drop a connection whose socket accepts no data for this long (default 10 s).
    pub write_timeout: Duration,
    /// After a Close, wait this long for the peer's side to end (default 5 s).
    pub close_timeout: Duration,
    /// What to do with a frame that does not decode, unless the handler decides otherwise
    /// (default: an error frame).
    pub on_invalid: InvalidPolicy,
    /// Limits on what an upgrade request may carry (target length, parameter length), checked
    /// before its connection parameters are read: a handshake over them is refused with a 4xx.
    pub request_limits: crate::request::RequestLimits,
    /// How long [`Outbound::call`] waits for the client's reply (default 30 s).
    pub call_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_message_size: 64 * 1024,
            read_buffer_size: 4 * 1024,
            write_buffer_size: 4 * 1024,
            queue_capacity: 256,
            queue_bytes: 1024 * 1024,
            ping_interval: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(75)),
            write_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            on_invalid: InvalidPolicy::ErrorFrame,
            request_limits: crate::request::RequestLimits::default(),
            call_timeout: Duration::from_secs(30),
        }
    }
}

impl ServerConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set [`max_message_size`](Self::max_message_size).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Set [`read_buffer_size`](Self::read_buffer_size) and
    /// [`write_buffer_size`](Self::write_buffer_size).
    pub fn buffer_sizes(mut self, read: usize, write: usize) -> Self {
        self.read_buffer_size = read;
        self.write_buffer_size = write;
        self
    }

    /// Set [`queue_capacity`](Self::queue_capacity) (at least 1).
    pub fn queue_capacity(mut self, frames: usize) -> Self {
        self.queue_capacity = frames.max(1);
        self
    }

    /// Set [`queue_bytes`](Self::queue_bytes) (at least 1).
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes.max(1);
        self
    }

    /// Set [`ping_interval`](Self::ping_interval) and [`idle_timeout`](Self::idle_timeout).
    pub fn keep_alive(mut self, ping: Option<Duration>, idle: Option<Duration>) -> Self {
        self.ping_interval = ping;
        self.idle_timeout = idle;
        self
    }

    /// Set [`write_timeout`](Self::write_timeout).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Set [`on_invalid`](Self::on_invalid).
    pub fn on_invalid(mut self, policy: InvalidPolicy) -> Self {
        self.on_invalid = policy;
        self
    }

    /// Set [`request_limits`](Self::request_limits).
    pub fn request_limits(mut self, limits: crate::request::RequestLimits) -> Self {
        self.request_limits = limits;
        self
    }

    /// Set [`call_timeout`](Self::call_timeout).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }
}

/// The answer to a frame that did not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidPolicy {
    /// Queue [`DecodeError::error_frame`] to the sender and keep the connection.
    ErrorFrame,
    /// Close the connection with [`DecodeError::close_code`] (1007 or 1003).
    Close,
    /// Drop the frame silently.
    Ignore,
}

/// Why a connection ended, as its [`Handler`] learns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disconnect {
    /// The peer sent a Close frame (with its code, if any).
    ByPeer(Option<u16>),
    /// The server closed it with this code (invalid input, a slow client, idle, or
    /// [`Outbound::close`]).
    ByServer(u16),
    /// The connection broke without a closing handshake.
    Dropped,
}

/// What a connection does with its inbound messages: implemented by generated code, which
/// dispatches each message to the user's channel trait.
pub trait Handler<In: MessageSet>: Send + 'static {
    /// One decoded message.
    fn on_message(&mut self, message: In) -> impl Future<Output = ()> + Send;

    /// A frame that did not decode; the answer says what the connection does about it.
    fn on_invalid(&mut self, error: DecodeError) -> impl Future<Output = InvalidPolicy> + Send;

    /// The connection ended.
    fn on_disconnect(self, reason: Disconnect) -> impl Future<Output = ()> + Send;
}

/// Why a frame was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed or closing.
    Closed,
    /// The queue was full: the connection is being closed with 1008.
    Overflow,
    /// The message could not be encoded (see the log of [`Outbound::send`]'s caller).
    Encode,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SendError::Closed => "the connection is closed",
            SendError::Overflow => {
                "the client is too slow: its queue is full and it is being closed"
            }
            SendError::Encode => "the message cannot be encoded",
        })
    }
}

impl std::error::Error for SendError {}

/// Why a request the server sent ([`Outbound::call`]) got no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// The request was not queued.
    Send(SendError),
    /// The request carries no correlation id (its message is not a request of a request/reply
    /// operation).
    NotARequest,
    /// No reply within [`ServerConfig::call_timeout`].
    Timeout,
    /// The connection ended before the reply came.
    Disconnected,
    /// The reply that came is not one the call expects.
    UnexpectedReply,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Send(error) => error.fmt(f),
            CallError::NotARequest => f.write_str("the message carries no correlation id"),
            CallError::Timeout => f.write_str("no reply before the timeout"),
            CallError::Disconnected => f.write_str("the connection ended before the reply came"),
            CallError::UnexpectedReply => f.write_str("the reply is not of the expected kind"),
        }
    }
}

impl std::error::Error for CallError {}

/// A reply on its way to the call waiting for it (typed by the call: the channels sharing a
/// socket each decode their own messages).
type Answer = Box<dyn Any + Send>;

/// Stamps every frame queued for a connection of this process, directly or through a hub
/// group, in the order they were queued: a connection that takes frames from several places
/// (its own queue and the rings of its groups) writes them in stamp order.
pub(super) static STAMPS: AtomicU64 = AtomicU64::new(1);

#[derive(Debug)]
pub(super) struct Queue {
    state: Mutex<QueueState>,
    notify: Notify,
    /// The bound on frames waiting, in this queue and behind each group's ring.
    pub(super) capacity: usize,
    /// The bound on payload bytes waiting, in this queue and behind each group's ring.
    pub(super) max_bytes: usize,
    pub(super) id: u64,
    /// The server's requests waiting for a reply, by correlation id: apart from `state`, so
    /// broadcasts never wait on it.
    calls: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    call_timeout: Duration,
}

#[derive(Debug)]
struct QueueState {
    /// Frames sent to this connection alone, with their stamps.
    frames: VecDeque<(u64, Message)>,
    /// The payload bytes of `frames`.
    bytes: usize,
    close: Option<(u16, &'static str)>,
    /// Only frames stamped before this are written before the Close (0 after an overflow:
    /// nothing more is written).
    close_at: u64,
    ended: bool,
    /// The writer has taken everything and will wait for a wake-up: the next push wakes it
    /// and clears this, so a burst of pushes wakes the writer once rather than once each.
    parked: bool,
    /// The hub groups this connection is a member of: their rings and its member id in each.
    groups: Vec<(Arc<Ring>, u64)>,
}

impl Default for QueueState {
    fn default() -> Self {
        QueueState {
            frames: VecDeque::new(),
            bytes: 0,
            close: None,
            close_at: u64::MAX,
            ended: false,
            parked: true,
            groups: Vec::new(),
        }
    }
}

/// The payload size of a queued frame.
pub(super) fn payload_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.as_str().len(),
        Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
        Message::Close(_) => 0,
    }
}

/// What the writer took from a [`Queue`].
#[derive(Debug, PartialEq, Eq)]
struct Taken {
    /// The close asked for, to send once the frames taken are written.
    close: Option<(u16, &'static str)>,
    /// Frames were left for the next round (queued while these were taken): take again.
    more: bool,
}

impl QueueState {
    /// Close with 1008 at once: the queued frames are dropped and nothing more is written.
    fn overflow(&mut self) {
        self.frames = VecDeque::new();
        self.bytes = 0;
        self.close = Some((close_code::POLICY_VIOLATION, "too slow"));
        self.close_at = 0;
    }
}

impl Queue {
    fn new(capacity: usize, max_bytes: usize, call_timeout: Duration) -> Queue {
        static IDS: AtomicU64 = AtomicU64::new(0);
        Queue {
            state: Mutex::new(QueueState::default()),
            notify: Notify::new(),
            capacity: capacity.max(1),
            max_bytes: max_bytes.max(1),
            id: IDS.fetch_add(1, Ordering::Relaxed),
            calls: Mutex::default(),
            call_timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // Every update leaves the state consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn calls(&self) -> MutexGuard<'_, HashMap<String, oneshot::Sender<Answer>>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn push(&self, message: Message) -> Result<(), SendError> {
        let mut state = self.lock();
        if state.ended || state.close.is_some() {
            return Err(SendError::Closed);
        }
        let size = payload_len(&message);
        let over_bytes = !state.frames.is_empty() && state.bytes + size > self.max_bytes;
        if state.frames.len() >= self.capacity || over_bytes {
            state.overflow();
            drop(state);
            self.notify.notify_one();
            return Err(SendError::Overflow);
        }
        let stamp = STAMPS.fetch_add(1, Ordering::AcqRel);
        state.frames.push_back((stamp, message));
        state.bytes += size;
        let wake = std::mem::replace(&mut state.parked, false);
        drop(state);
        if wake {
            self.notify.notify_one();
        }
        Ok(())
    }

    /// Wake the writer (a group it waits on has a new frame).
    pub(super) fn wake(&self) {
        self.notify.notify_one();
    }

    /// The connection fell behind a group's ring by more than its bound: close it with 1008
    /// (`false` if it was already closing or ended).
    pub(super) fn overflow(&self) -> bool {
        let mut state = self.lock();
        if state.ended || state.close.is_some() {
            return false;
        }
        state.overflow();
        drop(state);
        self.notify.notify_one();
        true
    }

    pub(super) fn add_group(&self, ring: Arc<Ring>, id: u64) {
        let mut state = self.lock();
        if state.ended {
            drop(state);
            ring.leave(id);
        } else {
            state.groups.push((ring, id));
        }
    }

    pub(super) fn remove_group(&self, id: u64) {
        self.lock().groups.retain(|(_, member)| *member != id);
    }

    fn close(&self, code: u16, reason: &'static str) {
        let mut state = self.lock();
        if state.close.is_none() && !state.ended {
            state.close = Some((code, reason));
            state.close_at = STAMPS.fetch_add(1, Ordering::AcqRel);
        }
        drop(state);
        self.notify.notify_one();
    }

    /// Move everything there is to write now into `into` (empty, and kept between calls so
    /// its allocation is reused), in the order it was queued: this connection's own frames
    /// and what its groups' rings hold for it.
    fn take_into(&self, into: &mut impl Taker) -> Taken {
        // Every frame stamped before `horizon` is on its queue or ring by the time that queue
        // or ring is locked below (the stamp was taken under that lock), so frames before it
        // can be written in stamp order; later ones wait for the next round.
        let horizon = STAMPS.load(Ordering::Acquire);
        let mut guard = self.lock();
        let state = &mut *guard;
        let limit = horizon.min(state.close_at);
        let mut left = false;
        let mut sources = 0;
        let own = state.frames.partition_point(|(stamp, _)| *stamp < limit);
        if own > 0 {
            sources += 1;
            if own == state.frames.len() {
                for (stamp, message) in state.frames.drain(..) {
                    into.take(stamp, &message);
                }
                state.bytes = 0;
            } else {
                left = true;
                for (stamp, message) in state.frames.drain(..own) {
                    state.bytes -= payload_len(&message);
                    into.take(stamp, &message);
                }
            }
        } else if !state.frames.is_empty() {
            left = true;
        }
        for (ring, id) in &state.groups {
            let before = into.len();
            left |= ring.take(*id, limit, into);
            if into.len() > before {
                sources += 1;
            }
        }
        if sources > 1 {
            into.order();
        }
        // Frames left after a Close are never written.
        let more = left && limit == horizon;
        if !more {
            state.parked = true;
        }
        Taken {
            close: state.close,
            more,
        }
    }

    #[cfg(test)]
    pub(super) fn take(&self) -> (Vec<Message>, Option<(u16, &'static str)>) {
        let mut frames = Vec::new();
        let taken = self.take_into(&mut frames);
        (
            frames.into_iter().map(|(_, message)| message).collect(),
            taken.close,
        )
    }

    pub(super) fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.frames = VecDeque::new();
        state.bytes = 0;
        let groups = std::mem::take(&mut state.groups);
        drop(state);
        for (ring, id) in groups {
            ring.leave(id);
        }
        // Dropping the waiting calls' senders tells them the connection is gone.
        self.calls().clear();
    }

    fn is_closed(&self) -> bool {
        let state = self.lock();
        state.ended || state.close.is_some()
    }

    /// Frames and payload bytes waiting: in this queue and behind each group's ring.
    fn waiting(&self) -> (usize, usize) {
        let state = self.lock();
        let mut waiting = (state.frames.len(), state.bytes);
        for (ring, id) in &state.groups {
            let (frames, bytes) = ring.behind(*id);
            waiting.0 += frames;
            waiting.1 += bytes;
        }
        waiting
    }

    fn len(&self) -> usize {
        self.waiting().0
    }

    fn bytes(&self) -> usize {
        self.waiting().1
    }
}

/// The sending side of one connection: cheap to clone, never waits (see the module docs for
/// what happens when a client is too slow).
pub struct Outbound<M> {
    pub(super) queue: Arc<Queue>,
    _message: PhantomData<fn(M)>,
}

impl<M> Clone for Outbound<M> {
    fn clone(&self) -> Self {
        Outbound {
            queue: self.queue.clone(),
            _message: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Outbound<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("id", &self.queue.id)
            .field("queued", &self.queue.len())
            .field("queued_bytes", &self.queue.bytes())
            .field("closed", &self.queue.is_closed())
            .finish()
    }
}

impl<M: MessageSet> Outbound<M> {
    /// A queue for a connection about to be upgraded with `config`.
    pub fn new(config: &ServerConfig) -> Self {
        Outbound {
            queue: Arc::new(Queue::new(
                config.queue_capacity,
                config.queue_bytes,
                config.call_timeout,
            )),
            _message: PhantomData,
        }
    }

    /// Encode `message` and queue it.
    pub fn send(&self, message: &M) -> Result<(), SendError> {
        let frame = message.encode().map_err(|_| SendError::Encode)?;
        self.send_frame(frame)
    }

    /// Queue an encoded frame (see [`MessageSet::encode`]).
    pub fn send_frame(&self, frame: Frame) -> Result<(), SendError> {
        self.queue.push(to_message(frame).ok_or(SendError::Encode)?)
    }

    /// Close the connection with `code` once what was sent to it before (directly or
    /// through its hub groups) has been written.
    pub fn close(&self, code: u16, reason: &'static str) {
        self.queue.close(code, reason);
    }

    /// Is the connection closed or closing?
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// How many frames wait to be written: in the queue and behind its hub groups' rings.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// How many bytes of payload wait to be written, like [`queued`](Self::queued) (what is
    /// being written is not counted).
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes()
    }

    /// Send a request of a request/reply operation the server starts and wait, up to
    /// [`ServerConfig::call_timeout`], for the client's message with the same correlation id
    /// (set here unless the request has one). The reply is decoded as `In`, the messages the
    /// client sends on this channel.
    ///
    /// Replies are read by the connection's task, which hands messages to the channel one at a
    /// time: await a call from a task of your own (`tokio::spawn`), never from the handler of
    /// a message of the same connection, which would hold the reading of the reply until the
    /// call times out.
    pub async fn call<In: MessageSet>(&self, mut request: M) -> Result<In, CallError> {
        let id = match request.correlation_id() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                let id = super::fresh_id();
                if !request.set_correlation_id(&id) {
                    return Err(CallError::NotARequest);
                }
                id
            }
        };
        let (reply, answer) = oneshot::channel();
        if self.queue.is_closed() {
            return Err(CallError::Send(SendError::Closed));
        }
        self.queue.calls().insert(id.clone(), reply);
        let outcome = async {
            self.send(&request).map_err(CallError::Send)?;
            match tokio::time::timeout(self.queue.call_timeout, answer).await {
                Ok(Ok(message)) => message
                    .downcast::<In>()
                    .map(|message| *message)
                    .map_err(|_| CallError::UnexpectedReply),
                Ok(Err(_)) => Err(CallError::Disconnected),
                Err(_) => Err(CallError::Timeout),
            }
        }
        .await;
        self.queue.calls().remove(&id);
        outcome
    }

    /// Hand `message` to the [`call`](Self::call) waiting for its correlation id, if one is;
    /// otherwise give it back. Generated channels run every inbound message through this
    /// when the server starts request/reply operations.
    pub fn answered<In: MessageSet>(&self, message: In) -> Option<In> {
        let Some(id) = message.correlation_id() else {
            return Some(message);
        };
        let waiting = self.queue.calls().remove(id);
        match waiting {
            Some(call) => {
                // A call that gave up has dropped its receiver: the reply is late, and dropped.
                let _ = call.send(Box::new(message));
                None
            }
            None => Some(message),
        }
    }

    /// The same connection's queue, sending messages of another set: how the channels sharing
    /// one socket each get a typed sender of their own. Frames from every view go out in the
    /// order they were queued, under one bound.
    pub fn share<N: MessageSet>(&self) -> Outbound<N> {
        Outbound {
            queue: self.queue.clone(),
            _message: PhantomData,
        }
    }
}

/// A frame as axum sends it; `None` for a text frame that is not UTF-8 (never, for frames made
/// by [`MessageSet::encode`]).
pub(crate) fn to_message(frame: Frame) -> Option<Message> {
    Some(match frame {
        Frame::Text(bytes) => Message::Text(Utf8Bytes::try_from(bytes).ok()?),
        Frame::Binary(bytes) => Message::Binary(bytes),
    })
}

/// A validated WebSocket upgrade request, not yet answered.
///
/// The request is checked by axum's own extractor (so a request that is no upgrade gets
/// axum's 4xx), but the connection is served over tokio-tungstenite directly: the server writes
/// the frames it queued straight into the socket, and leaves tungstenite only reading and
/// control frames (see [`serve_socket`]).
pub struct WebSocketUpgrade {
    on_upgrade: hyper::upgrade::OnUpgrade,
    /// `Sec-WebSocket-Key` of an HTTP/1.1 handshake (`None` over HTTP/2's extended CONNECT).
    key: Option<http::HeaderValue>,
}

impl WebSocketUpgrade {
    /// Check that the request `parts` asks for a WebSocket (method, `Connection`, `Upgrade`,
    /// `Sec-WebSocket-Version` and `-Key`); the response to give when it does not.
    pub async fn from_parts(
        parts: &mut http::request::Parts,
    ) -> Result<WebSocketUpgrade, Response> {
        use axum::extract::FromRequestParts as _;
        // The extractor takes the upgrade handle; hyper's handle is shared, so a copy kept
        // here is the same connection.
        let on_upgrade = parts.extensions.get::<hyper::upgrade::OnUpgrade>().cloned();
        let checked = axum::extract::ws::WebSocketUpgrade::from_request_parts(parts, &()).await;
        let on_upgrade = match (checked, on_upgrade) {
            (Ok(_), Some(on_upgrade)) => on_upgrade,
            (Err(rejection), _) => return Err(rejection.into_response()),
            // axum refuses a request hyper cannot upgrade, so this is that refusal again.
            (Ok(_), None) => return Err(http::StatusCode::UPGRADE_REQUIRED.into_response()),
        };
        let key = if parts.version <= http::Version::HTTP_11 {
            parts.headers.get(http::header::SEC_WEBSOCKET_KEY).cloned()
        } else {
            None
        };
        Ok(WebSocketUpgrade { on_upgrade, key })
    }

    /// The answer that switches the connection to WebSocket.
    fn response(&self) -> Response {
        let mut response = Response::new(axum::body::Body::empty());
        if let Some(key) = &self.key {
            *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
            let headers = response.headers_mut();
            headers.insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("upgrade"),
            );
            headers.insert(
                http::header::UPGRADE,
                http::HeaderValue::from_static("websocket"),
            );
            let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
            if let Ok(accept) = http::HeaderValue::from_str(&accept) {
                headers.insert(http::header::SEC_WEBSOCKET_ACCEPT, accept);
            }
        }
        response
    }
}

impl std::fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("http1", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        WebSocketUpgrade::from_parts(parts).await
    }
}

/// tungstenite's settings for a connection served with `config`.
fn socket_config(config: &ServerConfig) -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
}

/// Answer an upgrade request: apply `config`'s buffer and size limits and serve the connection
/// with `handler`, writing what is queued on `outbound`.
pub fn upgrade<In, Out, H>(
    upgrade: WebSocketUpgrade,
    config: Arc<ServerConfig>,
    outbound: Outbound<Out>,
    handler: H,
) -> Response
where
    In: MessageSet,
    Out: MessageSet,
    H: Handler<In>,
{
    let response = upgrade.response();
    let on_upgrade = upgrade.on_upgrade;
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(_) => {
                // The client went away between the answer and the switch.
                outbound.queue.end();
                handler.on_disconnect(Disconnect::Dropped).await;
                return;
            }
        };
        let io = Gated::new(TokioIo::new(upgraded));
        let socket =
            WebSocketStream::from_raw_socket(io, Role::Server, Some(socket_config(&config))).await;
        serve::<In, H, _>(
            socket,
            &config,
            outbound.queue,
            handler,
            Gated::poll_readable,
        )
        .await;
    });
    response
}

/// Serve one connection the server side of whose handshake is done, until it ends (what
/// [`upgrade`] runs). Frames queued on `outbound` and its hub groups are written straight into
/// `socket`'s stream, so tungstenite must have been created with the `Server` role.
pub async fn serve_socket<In, Out, H, S>(
    socket: WebSocketStream<S>,
    config: &ServerConfig,
    outbound: Outbound<Out>,
    handler: H,
) where
    In: MessageSet,
    Out: MessageSet,
    H: Handler<In>,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    serve::<In, H, S>(socket, config, outbound.queue, handler, always_readable).await;
}

/// How many messages a connection reads in a row, while more have arrived, before it writes
/// what is queued for it: the answers and broadcasts a burst of inbound messages causes are
/// written together, and a client that never stops sending still gets its frames.
const READS_BEFORE_WRITE: u32 = 32;

enum Step {
    Continue,
    Close(u16, &'static str),
    End(Disconnect),
}

async fn serve<In, H, S>(
    mut socket: WebSocketStream<S>,
    config: &ServerConfig,
    queue: Arc<Queue>,
    mut handler: H,
    readable: fn(&S, &mut Context<'_>) -> Poll<()>,
) where
    In: MessageSet,
    H: Handler<In>,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut last_seen = Instant::now();
    // tungstenite found nothing to read: wait for the stream to wake the reader before asking
    // tungstenite again (see `socket`).
    let mut read_dry = false;
    let mut ping = config.ping_interval.map(|period| {
        let mut timer = tokio::time::interval_at(Instant::now() + period, period);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer
    });
    // What is taken from the queue and the rings, as it goes on the wire.
    let mut writer = Writer {
        wire: Wire::new(config.write_buffer_size),
        timeout: config.write_timeout,
    };
    // Messages read since the last write.
    let mut reads = 0;
    let reason = loop {
        let step = tokio::select! {
            biased;
            () = queue.notify.notified(), if reads >= READS_BEFORE_WRITE => {
                reads = 0;
                writer.round(&mut socket, &queue).await
            }
            incoming = std::future::poll_fn(|cx| {
                if read_dry {
                    std::task::ready!(readable(socket.get_ref(), cx));
                }
                let polled = socket.poll_next_unpin(cx);
                read_dry = polled.is_pending();
                polled
            }) => {
                reads += 1;
                last_seen = Instant::now();
                match incoming {
                    None => Step::End(Disconnect::Dropped),
                    Some(Err(error)) => read_error(&error),
                    Some(Ok(tungstenite::Message::Text(text))) => {
                        dispatch(&mut handler, &queue, In::decode_text(text.as_str())).await
                    }
                    Some(Ok(tungstenite::Message::Binary(data))) => {
                        dispatch(&mut handler, &queue, In::decode_binary(&data)).await
                    }
                    Some(Ok(
                        tungstenite::Message::Ping(_)
                        | tungstenite::Message::Pong(_)
                        | tungstenite::Message::Frame(_),
                    )) => Step::Continue,
                    Some(Ok(tungstenite::Message::Close(frame))) => {
                        // tungstenite has queued the reply; reading on sends it and sees the end.
                        drain(&mut socket, config.close_timeout).await;
                        Step::End(Disconnect::ByPeer(frame.map(|f| u16::from(f.code))))
                    }
                }
            }
            () = queue.notify.notified(), if reads < READS_BEFORE_WRITE => {
                reads = 0;
                writer.round(&mut socket, &queue).await
            }
            () = tick(&mut ping) => {
                match config.idle_timeout {
                    Some(idle) if last_seen.elapsed() >= idle => {
                        Step::Close(close_code::GOING_AWAY, "idle timeout")
                    }
                    _ => match tokio::time::timeout(
                        config.write_timeout,
                        socket.send(tungstenite::Message::Ping(bytes::Bytes::new())),
                    ).await {
                        Ok(Ok(())) => Step::Continue,
                        _ => Step::End(Disconnect::Dropped),
                    },
                }
            }
        };
        match step {
            Step::Continue => {}
            Step::End(reason) => break reason,
            Step::Close(code, reason) => {
                queue.end();
                let frame = tungstenite::protocol::CloseFrame {
                    code: code.into(),
                    reason: reason.into(),
                };
                let sent = tokio::time::timeout(
                    config.write_timeout,
                    socket.send(tungstenite::Message::Close(Some(frame))),
                )
                .await;
                if matches!(sent, Ok(Ok(()))) {
                    drain(&mut socket, config.close_timeout).await;
                }
                break Disconnect::ByServer(code);
            }
        }
    };
    queue.end();
    handler.on_disconnect(reason).await;
}

/// The write side of one connection.
///
/// Data frames do not go through tungstenite: a server's frames are not masked, so a frame is
/// its header and its payload as they are. Each round takes everything queued for the
/// connection, copying the first [`ServerConfig::write_buffer_size`] bytes of it straight into
/// a buffer laid out as it goes on the wire ([`Wire`]), and writes it without tungstenite's
/// per-message work (a sink poll, a waker registration, a copy into its own buffer); a round
/// that fits is one write with no reference taken to any shared payload.
/// tungstenite still writes the control frames (pings, the pongs it answers, the Close):
/// whatever it holds is flushed before a round, and a round is written whole before tungstenite
/// writes again, so frames never interleave.
struct Writer {
    /// Copies up to [`ServerConfig::write_buffer_size`] bytes of a round as it is taken.
    wire: Wire,
    timeout: Duration,
}

impl Writer {
    /// Take what is queued for the connection and write it.
    async fn round<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        socket: &mut WebSocketStream<S>,
        queue: &Queue,
    ) -> Step {
        let taken = queue.take_into(&mut self.wire);
        if self.write(socket).await.is_err() {
            Step::End(Disconnect::Dropped)
        } else if taken.more {
            // Frames queued while these were taken: go again.
            queue.wake();
            Step::Continue
        } else if let Some((code, reason)) = taken.close {
            Step::Close(code, reason)
        } else {
            Step::Continue
        }
    }

    /// Write what was taken, flushing what tungstenite holds first. The wire is left empty,
    /// and small: a burst's allocation is not kept by an idle connection.
    async fn write<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        socket: &mut WebSocketStream<S>,
    ) -> Result<(), ()> {
        if self.wire.is_empty() {
            return Ok(());
        }
        let wire = &mut self.wire;
        let result = {
            let mut write = std::pin::pin!(async {
                socket.flush().await.map_err(|_| ())?;
                let stream = socket.get_mut();
                while let Some(chunk) = wire.next_chunk() {
                    stream.write_all(chunk).await.map_err(|_| ())?;
                }
                stream.flush().await.map_err(|_| ())
            });
            // Most rounds are written at once: only a write that has to wait gets a timer.
            match futures_util::FutureExt::now_or_never(write.as_mut()) {
                Some(result) => result,
                None => tokio::time::timeout(self.timeout, write)
                    .await
                    .unwrap_or(Err(())),
            }
        };
        self.wire.clear(MARKS_KEPT);
        result
    }
}

async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Read until the peer's side ends, so a Close we sent or answered is seen through.
async fn drain<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    timeout: Duration,
) {
    let _ = tokio::time::timeout(timeout, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

/// A read error is answered with a Close when the peer broke the protocol (1002), sent invalid
/// UTF-8 (1007) or too big a message (1009); otherwise the connection is gone.
fn read_error(error: &tungstenite::Error) -> Step {
    match super::failure_close(error) {
        Some((code, reason)) => Step::Close(code, reason),
        None => Step::End(Disconnect::Dropped),
    }
}

async fn dispatch<In: MessageSet, H: Handler<In>>(
    handler: &mut H,
    queue: &Queue,
    decoded: Result<In, DecodeError>,
) -> Step {
    match decoded {
        Ok(message) => {
            handler.on_message(message).await;
            Step::Continue
        }
        Err(error) => {
            let code = error.close_code();
            let frame = error.error_frame();
            match handler.on_invalid(error).await {
                InvalidPolicy::ErrorFrame => {
                    if let Some(message) = to_message(frame) {
                        // A full queue closes the connection (1008) by itself.
                        let _ = queue.push(message);
                    }
                    Step::Continue
                }
                InvalidPolicy::Close => Step::Close(code, "invalid message"),
                InvalidPolicy::Ignore => Step::Continue,
            }
        }
    }
}

pub use crate::auth::{Scheme, credential};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_closes_with_1008_and_frees_its_frames() {
        let queue = Queue::new(2, usize::MAX, Duration::from_secs(1));
        assert_eq!(queue.push(Message::Text("a".into())), Ok(()));
        assert_eq!(queue.push(Message::Text("b".into())), Ok(()));
        assert_eq!(
            queue.push(Message::Text("c".into())),
            Err(SendError::Overflow)
        );
        let (frames, close) = queue.take();
        assert!(frames.is_empty());
        assert_eq!(close, Some((close_code::POLICY_VIOLATION, "too slow")));
        assert_eq!(
            queue.push(Message::Text("d".into())),
            Err(SendError::Closed)
        );
    }

    #[test]
    fn a_queue_over_its_byte_bound_closes_with_1008() {
        let queue = Queue::new(256, 1000, Duration::from_secs(1));
        let frame = |size: usize| Message::Binary(bytes::Bytes::from(vec![0u8; size]));
        // One frame larger than the bound goes out alone.
        assert_eq!(queue.push(frame(5000)), Ok(()));
        let (frames, close) = queue.take();
        assert_eq!((frames.len(), close), (1, None));
        assert_eq!(queue.bytes(), 0);
        for _ in 0..3 {
            assert_eq!(queue.push(frame(300)), Ok(()));
        }
        assert_eq!(queue.bytes(), 900);
        assert_eq!(queue.push(frame(300)), Err(SendError::Overflow));
        assert_eq!(queue.bytes(), 0);
        let (frames, close) = queue.take();
        assert!(frames.is_empty());
        assert_eq!(close, Some((close_code::POLICY_VIOLATION, "too slow")));
    }
}
