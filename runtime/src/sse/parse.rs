//! The event-stream parser: bytes in, events out, following the WHATWG HTML "Server-sent events"
//! interpretation rules (§ 9.2.6, "Parsing an event stream" and "Interpreting an event stream")
//! with chunk boundaries anywhere, including inside a CRLF, a BOM or a multi-byte character.
//!
//! The parser is push-based: feed it every chunk as it arrives with [`Parser::push`], and call
//! [`Parser::finish`] at the end of the stream. Complete lines are read straight from the chunk
//! (no copy); only a line cut by a chunk boundary is buffered.
//!
//! Two choices go beyond the standard, both documented on the items:
//! - **Memory is bounded** by [`Parser::with_max_event_size`]: a line, or the data of one event,
//!   longer than the limit is not kept. The parser reports [`Item::Error`] with
//!   [`ParseError::EventTooLarge`] and drops that event (every line up to the next blank line),
//!   but still applies its `id` and `retry` fields, so a client that reconnects resumes after the
//!   event instead of fetching it again forever.
//! - **A new stream keeps the last event ID.** After [`Parser::finish`] the parser is ready for
//!   the next response of the same event source (a reconnection); like Chromium, it starts that
//!   stream's "last event ID buffer" from the last event ID, not from the empty string.

use memchr::{memchr, memchr2};

/// The default limit of [`Parser::with_max_event_size`]: 16 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// The UTF-8 byte order mark, stripped once at the start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event, as an `EventSource` would hand it to a listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The event type: the last `event` field of the block, or `"message"` when there was none
    /// (or it was empty).
    pub event: String,
    /// The `data` lines of the block joined with LF (no final LF).
    pub data: String,
    /// The last event ID at dispatch (`lastEventId` in a browser), `None` when it is empty. It
    /// carries over from earlier events: a block without an `id` field keeps the previous one.
    pub id: Option<String>,
}

/// What the parser reports, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// A block with data ended with a blank line.
    Event(Event),
    /// A `retry` field with a valid value: the new reconnection time, in milliseconds. It applies
    /// at once, even if the block it is in is never dispatched.
    Retry(u64),
    /// A blank line dispatched no event (the block had no data) but changed the last event ID,
    /// for example an `id`-only block. The new value; empty means "none" (`id` with no value).
    LastEventId(String),
    /// The stream broke a limit; the parser went on after it.
    Error(ParseError),
}

/// A limit the stream broke.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// A line, or the data of one event, was longer than `limit` bytes: the event it was in was
    /// dropped (its `id` and `retry` fields still applied).
    EventTooLarge {
        /// The parser's limit, [`Parser::with_max_event_size`].
        limit: usize,
    },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::EventTooLarge { limit } => {
                write!(
                    f,
                    "an event is larger than the limit of {limit} bytes; it was dropped"
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// A streaming `text/event-stream` parser. See the [module documentation](self).
///
/// ```
/// use wiregen_runtime::sse::parse::{Event, Item, Parser};
///
/// let mut parser = Parser::new();
/// let mut items = Vec::new();
/// parser.push(b"id: 7\nevent: greet\ndata: hel", &mut |item| items.push(item));
/// parser.push(b"lo\r", &mut |item| items.push(item));
/// parser.push(b"\n\r\n", &mut |item| items.push(item));
/// parser.finish();
/// let greet = Event { event: "greet".into(), data: "hello".into(), id: Some("7".into()) };
/// assert_eq!(items, [Item::Event(greet)]);
/// assert_eq!(parser.last_event_id(), "7");
/// ```
#[derive(Clone, Debug)]
pub struct Parser {
    /// The start of a line cut by a chunk boundary.
    line: Vec<u8>,
    /// The current line broke the limit: its bytes are dropped up to its end.
    dropping_line: bool,
    /// The current block broke the limit: its data lines are ignored up to the next blank line.
    dropping_event: bool,
    /// The last chunk ended with CR: an LF at the start of the next one belongs to it.
    after_cr: bool,
    /// No line of this stream has ended yet, so it may still start with a BOM.
    at_stream_start: bool,
    /// The data buffer (each data line followed by LF).
    data: String,
    /// The event type buffer.
    event_type: String,
    /// The last event ID buffer: set by `id` fields.
    id_buffer: String,
    /// The last event ID string: the buffer's value at the last blank line.
    last_event_id: String,
    /// An `id` field was read since the last blank line (only then can the ID change).
    id_field_seen: bool,
    max_event_size: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser at the start of a stream, with no last event ID and the default limit
    /// ([`DEFAULT_MAX_EVENT_SIZE`]).
    pub fn new() -> Self {
        Parser {
            line: Vec::new(),
            dropping_line: false,
            dropping_event: false,
            after_cr: false,
            at_stream_start: true,
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            id_field_seen: false,
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
        }
    }

    /// The same parser with another limit, in bytes, on one line and on the data of one event
    /// (clamped to at least 1). The parser holds at most about twice this much.
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes.max(1);
        self
    }

    /// The same parser resuming after `id` (the `Last-Event-ID` a reconnecting client sends):
    /// events keep this ID until the stream sets another.
    pub fn with_last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = id.into();
        self.id_buffer.clone_from(&self.last_event_id);
        self
    }

    /// The last event ID: the value of the last `id` field that a blank line confirmed, or the
    /// empty string.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Parse the next chunk of the stream, calling `sink` with each item it completes.
    pub fn push(&mut self, chunk: &[u8], sink: &mut impl FnMut(Item)) {
        let mut rest = chunk;
        if rest.is_empty() {
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        if !self.line.is_empty() || self.dropping_line {
            // Finish the line an earlier chunk began.
            let Some(end) = memchr2(b'\n', b'\r', rest) else {
                self.keep(rest, sink);
                return;
            };
            self.keep(&rest[..end], sink);
            if self.dropping_line {
                self.dropping_line = false;
                self.at_stream_start = false;
            } else {
                let line = std::mem::take(&mut self.line);
                self.line_complete(&line, sink);
                self.line = line;
                self.line.clear();
            }
            rest = self.after_line_end(rest, end);
        }
        while let Some(end) = memchr2(b'\n', b'\r', rest) {
            self.line_complete(&rest[..end], sink);
            rest = self.after_line_end(rest, end);
        }
        self.keep(rest, sink);
    }

    /// End of the stream: the block in progress is discarded without dispatch (standard:
    /// "if the file ends in the middle of an event, before the final empty line, the incomplete
    /// event is not dispatched"), and so is an `id` field in it. The last event ID stays; the
    /// parser is ready for the next stream of the same source.
    pub fn finish(&mut self) {
        self.line.clear();
        self.dropping_line = false;
        self.dropping_event = false;
        self.after_cr = false;
        self.at_stream_start = true;
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
        self.id_field_seen = false;
    }

    /// Buffer the part of a line that a chunk boundary cut, unless that breaks the limit.
    fn keep(&mut self, part: &[u8], sink: &mut impl FnMut(Item)) {
        if self.dropping_line || part.is_empty() {
            return;
        }
        if self.line.len() + part.len() > self.max_event_size {
            self.line.clear();
            self.dropping_line = true;
            self.too_large(sink);
        } else {
            self.line.extend_from_slice(part);
        }
    }

    /// The rest of `chunk` after the line ending at `end` (CR, LF or CRLF).
    fn after_line_end<'a>(&mut self, chunk: &'a [u8], end: usize) -> &'a [u8] {
        if chunk[end] == b'\r' {
            match chunk.get(end + 1) {
                Some(b'\n') => &chunk[end + 2..],
                Some(_) => &chunk[end + 1..],
                None => {
                    self.after_cr = true;
                    &[]
                }
            }
        } else {
            &chunk[end + 1..]
        }
    }

    /// Report a limit broken and drop the block in progress.
    fn too_large(&mut self, sink: &mut impl FnMut(Item)) {
        self.dropping_event = true;
        self.data.clear();
        sink(Item::Error(ParseError::EventTooLarge {
            limit: self.max_event_size,
        }));
    }

    /// Interpret one complete line (without its line ending).
    fn line_complete(&mut self, line: &[u8], sink: &mut impl FnMut(Item)) {
        if line.len() > self.max_event_size {
            self.at_stream_start = false;
            self.too_large(sink);
            return;
        }
        let line = if self.at_stream_start {
            self.at_stream_start = false;
            line.strip_prefix(BOM).unwrap_or(line)
        } else {
            line
        };
        if line.is_empty() {
            self.dispatch(sink);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (name, value) = match memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = if value.first() == Some(&b' ') {
                    &value[1..]
                } else {
                    value
                };
                (&line[..colon], value)
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" if !self.dropping_event => {
                push_lossy(&mut self.data, value);
                self.data.push('\n');
                if self.data.len() > self.max_event_size {
                    self.too_large(sink);
                }
            }
            b"event" => {
                self.event_type.clear();
                push_lossy(&mut self.event_type, value);
            }
            b"id" if memchr(0, value).is_none() => {
                self.id_buffer.clear();
                push_lossy(&mut self.id_buffer, value);
                self.id_field_seen = true;
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // All ASCII digits, so UTF-8; a value past u64 is ignored, as browsers do.
                if let Some(ms) = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                    sink(Item::Retry(ms));
                }
            }
            _ => {}
        }
    }

    /// A blank line: confirm the last event ID and dispatch the block if it has data.
    fn dispatch(&mut self, sink: &mut impl FnMut(Item)) {
        // Compared only after an `id` field, and by length first: comparing two empty strings
        // through `memcmp` costs a masked load of a dangling pointer, which is slow on AVX-512.
        let id_changed = std::mem::take(&mut self.id_field_seen)
            && (self.last_event_id.len() != self.id_buffer.len()
                || self.last_event_id != self.id_buffer);
        if id_changed {
            self.last_event_id.clone_from(&self.id_buffer);
        }
        if self.data.is_empty() || self.dropping_event {
            self.dropping_event = false;
            self.data.clear();
            self.event_type.clear();
            if id_changed {
                sink(Item::LastEventId(self.last_event_id.clone()));
            }
            return;
        }
        // The buffer ends with the LF of its last data line.
        let data = String::from(&self.data[..self.data.len() - 1]);
        self.data.clear();
        let event = if self.event_type.is_empty() {
            String::from("message")
        } else {
            std::mem::take(&mut self.event_type)
        };
        let id = if self.last_event_id.is_empty() {
            None
        } else {
            Some(self.last_event_id.clone())
        };
        sink(Item::Event(Event { event, data, id }));
    }
}

/// Append `bytes` decoded as UTF-8, each invalid sequence replaced by U+FFFD (the Encoding
/// Standard's "UTF-8 decode", as `String::from_utf8_lossy` does it).
fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => {
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                if !chunk.invalid().is_empty() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
            }
        }
    }
}
