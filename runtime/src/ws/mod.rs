//! WebSocket: the typed layer generated message enums implement ([`MessageSet`]: a message to a
//! [`Frame`] and back, with a typed [`DecodeError`]); with the `ws-server` feature, typed server
//! sockets with bounded outbound queues and the broadcast [`hub`](server::Hub); with `ws-client`,
//! the typed, optionally reconnecting client with request/reply.
//!
//! A message is encoded once into a [`Frame`] whose bytes are shared: a broadcast to a thousand
//! connections serialises once and hands each connection a reference-counted copy.

#[cfg(feature = "ws-server")]
pub mod channel;
#[cfg(feature = "ws-client")]
pub mod client;
#[cfg(feature = "ws-client")]
pub mod connect;
#[cfg(feature = "ws-server")]
pub(crate) mod hub;
#[cfg(feature = "ws-server")]
pub mod server;
#[cfg(feature = "ws-server")]
mod socket;
#[cfg(feature = "ws-server")]
mod wire;

use std::fmt;

use bytes::Bytes;

/// Close codes this runtime sends (RFC 6455 section 7.4.1).
pub mod close_code {
    /// 1000: the purpose of the connection is fulfilled.
    pub const NORMAL: u16 = 1000;
    /// 1001: the endpoint is going away (server shutdown, idle timeout).
    pub const GOING_AWAY: u16 = 1001;
    /// 1002: the peer broke the WebSocket protocol (reserved bits set, an unknown opcode, a
    /// fragmented or oversized control frame, a continuation with nothing to continue).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// 1003: a data type the endpoint cannot accept (a binary frame where text is expected).
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// 1007: data inconsistent with the message type (bad JSON, wrong schema, unknown tag).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// 1008: a policy violation; sent to a client too slow to keep up with its queue.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: u16 = 1011;
}

/// The Close a connection answers a read error with (RFC 6455 section 7.1.7: fail the
/// connection, sending a Close first): 1002 for a protocol violation, 1007 for a text frame
/// that is not UTF-8, 1009 for a message over the size limit. `None` for errors that leave
/// nothing to answer (the connection broke, or it is closed already).
#[cfg(any(feature = "ws-server", feature = "ws-client"))]
pub(crate) fn failure_close(
    error: &tokio_tungstenite::tungstenite::Error,
) -> Option<(u16, &'static str)> {
    use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
    let reason = match error {
        Error::Capacity(_) => return Some((close_code::MESSAGE_TOO_BIG, "message too big")),
        Error::Utf8(_) => return Some((close_code::INVALID_PAYLOAD, "invalid UTF-8")),
        Error::Protocol(error) => match error {
            ProtocolError::NonZeroReservedBits => "reserved bits set",
            ProtocolError::UnmaskedFrameFromClient => "unmasked frame from a client",
            ProtocolError::MaskedFrameFromServer => "masked frame from a server",
            ProtocolError::FragmentedControlFrame => "fragmented control frame",
            ProtocolError::ControlFrameTooBig => "control frame over 125 bytes",
            ProtocolError::UnknownControlFrameType(_)
            | ProtocolError::UnknownDataFrameType(_)
            | ProtocolError::InvalidOpcode(_) => "unknown opcode",
            ProtocolError::UnexpectedContinueFrame => "continuation frame without a start",
            ProtocolError::ExpectedFragment(_) => "new message inside a fragmented one",
            ProtocolError::InvalidCloseSequence => "invalid close frame",
            _ => return None,
        },
        _ => return None,
    };
    Some((close_code::PROTOCOL_ERROR, reason))
}

/// One data frame, ready to send: text frames always hold valid UTF-8. Cloning shares the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A text frame (JSON and `text/*` payloads).
    Text(Bytes),
    /// A binary frame (every other content type).
    Binary(Bytes),
}

impl Frame {
    /// A text frame holding `text`.
    pub fn text(text: impl Into<String>) -> Frame {
        Frame::Text(Bytes::from(text.into()))
    }

    /// A binary frame holding `data`.
    pub fn binary(data: impl Into<Vec<u8>>) -> Frame {
        Frame::Binary(Bytes::from(data.into()))
    }

    /// The frame's payload bytes.
    pub fn payload(&self) -> &Bytes {
        match self {
            Frame::Text(b) | Frame::Binary(b) => b,
        }
    }
}

/// A correlation id unique in this process and unlikely to repeat across processes.
#[cfg(any(feature = "ws-server", feature = "ws-client"))]
pub(crate) fn fresh_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{:x}-{}",
        nanos & 0xffff_ffff_ffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The messages one direction of a channel carries: implemented by the direction enums wiregen
/// generates (`<Channel>ClientMessage`, `<Channel>ServerMessage`).
///
/// An implementation maps a variant to a frame and back; everything else (queues, close codes,
/// correlation bookkeeping) is the runtime's job.
pub trait MessageSet: Sized + Send + 'static {
    /// Encode this message into one frame.
    fn encode(&self) -> Result<Frame, EncodeError>;

    /// The message a text frame carries.
    fn decode_text(text: &str) -> Result<Self, DecodeError>;

    /// The message a binary frame carries. By default a binary frame is an error: every message
    /// of the set travels as text.
    fn decode_binary(data: &[u8]) -> Result<Self, DecodeError> {
        let _ = data;
        Err(DecodeError::UnexpectedBinary)
    }

    /// The correlation id this message carries, if it is a request or a reply of a
    /// request/reply operation and the id is set.
    fn correlation_id(&self) -> Option<&str> {
        None
    }

    /// Set the correlation id of a request; `false` if this message carries none.
    fn set_correlation_id(&mut self, id: &str) -> bool {
        let _ = id;
        false
    }

    /// Decode a received frame: text frames with [`decode_text`](Self::decode_text), binary
    /// frames with [`decode_binary`](Self::decode_binary).
    fn decode_frame(frame: &Frame) -> Result<Self, DecodeError> {
        match frame {
            Frame::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Self::decode_text(text),
                Err(_) => Err(DecodeError::InvalidUtf8),
            },
            Frame::Binary(bytes) => Self::decode_binary(bytes),
        }
    }
}

/// The message set of a direction that carries no messages (a channel the server only sends
/// on, for instance): every frame is unexpected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoMessages {}

impl MessageSet for NoMessages {
    fn encode(&self) -> Result<Frame, EncodeError> {
        match *self {}
    }

    fn decode_text(_text: &str) -> Result<Self, DecodeError> {
        Err(DecodeError::UnexpectedText)
    }
}

/// Why a received frame is not a message of the set. Each kind maps to the close code a peer
/// is sent when the policy is to close ([`DecodeError::close_code`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text is not JSON at all.
    Json(serde_json::Error),
    /// The JSON names a known message but does not match its schema.
    Schema {
        /// The message's tag value, if the set is tagged.
        tag: Option<String>,
        /// What serde found wrong.
        error: serde_json::Error,
    },
    /// The tag property is missing or not a string.
    MissingTag {
        /// The tag property's name.
        property: &'static str,
    },
    /// The tag names no message of this direction.
    UnknownTag {
        /// The tag property's name.
        property: &'static str,
        /// The value received.
        value: String,
    },
    /// A binary frame where only text frames are expected.
    UnexpectedBinary,
    /// A text frame where only binary frames are expected.
    UnexpectedText,
    /// Frame bytes that should be text are not valid UTF-8.
    InvalidUtf8,
}

impl DecodeError {
    /// A short, stable name of the kind of error (`invalid_json`, `schema`, `missing_tag`,
    /// `unknown_tag`, `unexpected_binary`, `unexpected_text`, `invalid_utf8`): what error
    /// frames carry in their `error` property.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Json(_) => "invalid_json",
            DecodeError::Schema { .. } => "schema",
            DecodeError::MissingTag { .. } => "missing_tag",
            DecodeError::UnknownTag { .. } => "unknown_tag",
            DecodeError::UnexpectedBinary => "unexpected_binary",
            DecodeError::UnexpectedText => "unexpected_text",
            DecodeError::InvalidUtf8 => "invalid_utf8",
        }
    }

    /// The close code for this error: 1003 (unsupported data) for a frame of the wrong kind,
    /// 1007 (invalid payload) for everything else.
    pub fn close_code(&self) -> u16 {
        match self {
            DecodeError::UnexpectedBinary | DecodeError::UnexpectedText => {
                close_code::UNSUPPORTED_DATA
            }
            _ => close_code::INVALID_PAYLOAD,
        }
    }

    /// The JSON error frame describing this error: `{"error":"<kind>","message":"<text>"}`. The
    /// message never repeats more than the first 256 characters of what serde says about the
    /// input (nor more than 128 of an unknown tag), so a large invalid frame gets a small error
    /// frame.
    pub fn error_frame(&self) -> Frame {
        let value = serde_json::json!({ "error": self.kind(), "message": self.to_string() });
        Frame::text(value.to_string())
    }
}

/// How many characters of serde's description an error repeats: serde quotes the offending
/// value (`invalid type: string "…"`), which may be as large as the frame, and an error frame
/// must not echo 60 KB back.
const SERDE_MESSAGE_LIMIT: usize = 256;

/// serde_json's description of `error`, cut after [`SERDE_MESSAGE_LIMIT`] characters (then an
/// ellipsis and the position, which the cut would lose).
fn write_serde_error(f: &mut fmt::Formatter<'_>, error: &serde_json::Error) -> fmt::Result {
    struct Limit<'a, 'b> {
        out: &'a mut fmt::Formatter<'b>,
        left: usize,
        cut: bool,
    }
    impl fmt::Write for Limit<'_, '_> {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            if self.cut {
                return Ok(());
            }
            match text.char_indices().nth(self.left) {
                Some((end, _)) => {
                    self.cut = true;
                    self.out.write_str(&text[..end])
                }
                None => {
                    self.left -= text.chars().count();
                    self.out.write_str(text)
                }
            }
        }
    }
    let mut limit = Limit {
        out: f,
        left: SERDE_MESSAGE_LIMIT,
        cut: false,
    };
    fmt::write(&mut limit, format_args!("{error}"))?;
    if limit.cut {
        f.write_str("…")?;
        if error.line() > 0 {
            write!(f, " at line {} column {}", error.line(), error.column())?;
        }
    }
    Ok(())
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Json(e) => {
                f.write_str("the frame is not valid JSON: ")?;
                write_serde_error(f, e)
            }
            DecodeError::Schema {
                tag: Some(tag),
                error,
            } => {
                write!(f, "the `{tag}` message does not match its schema: ")?;
                write_serde_error(f, error)
            }
            DecodeError::Schema { tag: None, error } => {
                f.write_str("the message does not match its schema: ")?;
                write_serde_error(f, error)
            }
            DecodeError::MissingTag { property } => {
                write!(f, "the message has no string `{property}` property")
            }
            DecodeError::UnknownTag { property, value } => {
                write!(f, "unknown message `{property}`: {value:?}")
            }
            DecodeError::UnexpectedBinary => f.write_str("a binary frame where text is expected"),
            DecodeError::UnexpectedText => f.write_str("a text frame where binary is expected"),
            DecodeError::InvalidUtf8 => f.write_str("the text frame is not valid UTF-8"),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Json(e) | DecodeError::Schema { error: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// The credential a client presented on the upgrade request (see [`crate::auth`]).
#[cfg(any(feature = "ws-server", feature = "ws-client"))]
pub use crate::auth::Credential;

/// A message that could not be encoded.
#[derive(Debug)]
#[non_exhaustive]
pub enum EncodeError {
    /// serde_json refused the value (a map with non-string keys, a failing `Serialize`).
    Json(serde_json::Error),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Json(e) => write!(f, "the message cannot be encoded as JSON: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EncodeError::Json(e) => Some(e),
        }
    }
}

/// Encode `value` as one compact JSON text frame: what generated [`MessageSet::encode`] calls.
pub fn encode_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Frame, EncodeError> {
    let mut out = Vec::with_capacity(128);
    serde_json::to_writer(&mut out, value).map_err(EncodeError::Json)?;
    // serde_json writes UTF-8 only.
    Ok(Frame::Text(Bytes::from(out)))
}

/// Decode a JSON message set told apart by the string property `tag` (whose valid values are
/// `known`): what generated [`MessageSet::decode_text`] calls for internally tagged sets. The
/// error says whether the text was not JSON, had no tag, had an unknown tag, or did not match
/// the schema of the message its tag names.
pub fn decode_tagged_json<T: serde::de::DeserializeOwned>(
    text: &str,
    tag: &'static str,
    known: &[&str],
) -> Result<T, DecodeError> {
    decode_tagged(text, tag, known).map_err(|rejected| match rejected {
        Rejected::Error(error) => error,
        Rejected::Unknown { found, .. } => DecodeError::UnknownTag {
            property: tag,
            value: found.chars().take(128).collect(),
        },
    })
}

/// [`decode_tagged_json`] for a set with the opt-in catch-all variant: valid JSON whose tag is
/// a string naming no message of `known` decodes into `unknown(value)` instead of
/// [`DecodeError::UnknownTag`]. A missing tag and a known message that does not match its
/// schema are still errors.
pub fn decode_tagged_json_or<T: serde::de::DeserializeOwned>(
    text: &str,
    tag: &'static str,
    known: &[&str],
    unknown: fn(serde_json::Value) -> T,
) -> Result<T, DecodeError> {
    decode_tagged(text, tag, known).or_else(|rejected| match rejected {
        Rejected::Error(error) => Err(error),
        Rejected::Unknown { value, .. } => Ok(unknown(value)),
    })
}

/// Why a frame did not decode into a tagged set: an error, or an unknown tag (with the JSON).
enum Rejected {
    Error(DecodeError),
    Unknown {
        value: serde_json::Value,
        found: String,
    },
}

fn decode_tagged<T: serde::de::DeserializeOwned>(
    text: &str,
    tag: &'static str,
    known: &[&str],
) -> Result<T, Rejected> {
    let error = match crate::json::from_str::<T>(text) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    // The slow path, for invalid input only: find out why.
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(syntax) => return Err(Rejected::Error(DecodeError::Json(syntax))),
    };
    let found = match value.get(tag).and_then(serde_json::Value::as_str) {
        None => {
            return Err(Rejected::Error(DecodeError::MissingTag { property: tag }));
        }
        Some(found) if known.contains(&found) => {
            return Err(Rejected::Error(DecodeError::Schema {
                tag: Some(found.to_owned()),
                error,
            }));
        }
        Some(found) => found.to_owned(),
    };
    Err(Rejected::Unknown { value, found })
}

/// [`decode_json`] for a set of one-key wrappers (`{"add_rule": {...}}`) with the opt-in
/// catch-all variant: a JSON object with one key that names no message of `known` decodes into
/// `unknown(value)`; anything else that does not decode is an error as with [`decode_json`].
pub fn decode_wrapped_json_or<T: serde::de::DeserializeOwned>(
    text: &str,
    known: &[&str],
    unknown: fn(serde_json::Value) -> T,
) -> Result<T, DecodeError> {
    let error = match decode_json::<T>(text) {
        Ok(value) => return Ok(value),
        Err(error @ DecodeError::Json(_)) => return Err(error),
        Err(error) => error,
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(syntax) => return Err(DecodeError::Json(syntax)),
    };
    let unknown_key = value
        .as_object()
        .filter(|object| object.len() == 1)
        .and_then(|object| object.keys().next())
        .is_some_and(|key| !known.contains(&key.as_str()));
    if unknown_key {
        Ok(unknown(value))
    } else {
        Err(error)
    }
}

/// The attempts to decode one frame as each message set of a socket several channels share:
/// what generated [`MessageSet::decode_text`] of a shared socket's combined enum uses. A known
/// message of any channel wins over an unknown one kept by a channel's catch-all variant; when
/// no channel decodes the frame, the error is the one of the channel that knew its tag (the
/// frame did not match that message's schema), else the first.
#[derive(Debug)]
pub struct Attempts<T> {
    unknown: Option<T>,
    error: Option<DecodeError>,
}

impl<T> Default for Attempts<T> {
    fn default() -> Self {
        Attempts {
            unknown: None,
            error: None,
        }
    }
}

impl<T> Attempts<T> {
    /// No attempt yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A channel decoded the frame into its catch-all variant: keep the first such, in case no
    /// channel knows the message.
    pub fn unknown(&mut self, message: T) {
        self.unknown.get_or_insert(message);
    }

    /// A channel could not decode the frame.
    pub fn failed(&mut self, error: DecodeError) {
        let knew_tag = |e: &DecodeError| matches!(e, DecodeError::Schema { tag: Some(_), .. });
        match &self.error {
            Some(kept) if knew_tag(kept) || !knew_tag(&error) => {}
            _ => self.error = Some(error),
        }
    }

    /// The outcome once every channel has tried: the kept unknown message, else the error.
    pub fn finish(self) -> Result<T, DecodeError> {
        match (self.unknown, self.error) {
            (Some(message), _) => Ok(message),
            (None, Some(error)) => Err(error),
            (None, None) => Err(DecodeError::UnexpectedText),
        }
    }
}

/// Decode a JSON message set that is not internally tagged (one message, a one-key wrapper per
/// message, or untagged): what generated [`MessageSet::decode_text`] calls for those sets.
pub fn decode_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DecodeError> {
    crate::json::from_str::<T>(text).map_err(|error| match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            DecodeError::Json(error)
        }
        _ => DecodeError::Schema { tag: None, error },
    })
}
