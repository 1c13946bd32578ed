//! Server-Sent Events: the WHATWG-conformant parser, the encoder, the replay buffer and the typed
//! layer that generated event enums implement ([`EventSet`]); with the `sse-server` feature, the
//! broadcast hub and axum responses; with `sse-client`, the reconnecting client.
//!
//! A frame is encoded once, into [`bytes::Bytes`], and the same bytes go to every subscriber and
//! into the replay buffer.

pub mod encode;
pub mod parse;
pub mod replay;

#[cfg(feature = "sse-server")]
pub mod broadcast;
#[cfg(feature = "sse-client")]
pub mod client;
#[cfg(any(feature = "sse-server", feature = "sse-client"))]
pub mod operation;
#[cfg(feature = "sse-server")]
pub mod server;

use std::time::Duration;

use bytes::Bytes;
use memchr::memchr2;

pub use encode::EncodeError;

/// The event name a server sends, in band, when a subscriber cannot be given exactly what it
/// missed (its `Last-Event-ID` is older than what is retained, or unknown: from before a restart,
/// or from another log), before going on live. Its data is
/// `{"lastEventId":"<the id asked for, or null>","reason":"expired"|"unknown"}`. Browsers see it
/// as a named event (`source.addEventListener("wiregen-gap", …)`); the Rust client yields
/// [`client::Received::Gap`]. Both sides can be configured to use another name.
pub const GAP_EVENT: &str = "wiregen-gap";

/// The events one SSE endpoint can send: implemented by the event enums wiregen generates, one
/// variant per event name.
///
/// An implementation only maps between a variant and its wire form (name and data text); framing,
/// IDs and retries are the runtime's job ([`SseEvent`]).
pub trait EventSet: Sized {
    /// The wire name of this event (the `event:` field). `"message"`, the default, is not
    /// written on the wire.
    fn event_name(&self) -> &'static str;

    /// Append this event's data text to `out` (usually JSON, with [`write_json`]). Line endings in
    /// it become separate `data:` lines (see [`encode`]).
    fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// The event received with name `event` and data `data`: the inverse of
    /// [`event_name`](Self::event_name) and [`write_data`](Self::write_data).
    fn decode(event: &str, data: &str) -> Result<Self, DecodeError>;
}

/// An event a received event could not be decoded into.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// The event's name is not one of the set's.
    UnknownEvent,
    /// The event's data is not valid JSON for its type.
    Json(serde_json::Error),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::UnknownEvent => f.write_str("unknown SSE event name"),
            DecodeError::Json(e) => write!(f, "SSE event data is not valid: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::UnknownEvent => None,
            DecodeError::Json(e) => Some(e),
        }
    }
}

/// Append `value` as compact JSON: what generated [`EventSet::write_data`] calls for JSON data.
pub fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), EncodeError> {
    serde_json::to_writer(out, value).map_err(EncodeError::Json)
}

/// Read JSON data: what generated [`EventSet::decode`] calls for JSON data.
pub fn read_json<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, DecodeError> {
    crate::json::from_str(data).map_err(DecodeError::Json)
}

/// One typed event with its framing: the ID to send with it and an optional new reconnection
/// time for the client.
#[derive(Clone, Debug, PartialEq)]
pub struct SseEvent<E> {
    /// The event.
    pub event: E,
    /// The `id:` field, if any (must not contain CR, LF or NUL).
    pub id: Option<String>,
    /// The `retry:` field, if any, in whole milliseconds.
    pub retry: Option<Duration>,
}

impl<E> SseEvent<E> {
    /// An event with no ID and no retry.
    pub fn new(event: E) -> Self {
        SseEvent {
            event,
            id: None,
            retry: None,
        }
    }

    /// The same event with the ID `id`.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The same event telling the client to wait `retry` before reconnecting.
    pub fn with_retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }
}

impl<E> From<E> for SseEvent<E> {
    fn from(event: E) -> Self {
        SseEvent::new(event)
    }
}

impl<E: EventSet> SseEvent<E> {
    /// Encode this event into one frame, ready to send to any number of subscribers.
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        // Allocated to the frame's exact size: frames live long in replay buffers and queues.
        encode::frame_with(|out| self.encode_into(out))
    }

    /// Append this event's frame to `out`; on an error `out` is left as it was.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encode_with_id(self.id.as_deref(), out)
    }

    /// Append this event's frame to `out` with `id` in place of its own ID: how a backplane
    /// that numbers events itself writes them. On an error `out` is left as it was.
    pub(crate) fn encode_with_id(
        &self,
        id: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        let result = self.write_frame(id, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn write_frame(&self, id: Option<&str>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let name = self.event.event_name();
        let name = (name != "message").then_some(name);
        let retry = self
            .retry
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        encode::write_head(out, name, id, retry)?;
        // Write the data straight after `data: `; only data with line endings needs a second pass.
        let field = out.len();
        out.extend_from_slice(b"data: ");
        let body = out.len();
        self.event.write_data(out)?;
        if std::str::from_utf8(&out[body..]).is_err() {
            return Err(EncodeError::InvalidData);
        }
        if memchr2(b'\r', b'\n', &out[body..]).is_some() {
            let data = out.split_off(body);
            out.truncate(field);
            encode::write_data_lines(out, &data);
            out.push(b'\n');
        } else {
            if out.len() == body {
                // Empty data: `data:` with no space.
                out.pop();
            }
            out.extend_from_slice(b"\n\n");
        }
        Ok(())
    }
}
