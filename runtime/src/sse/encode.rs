//! The event-stream encoder: one event or comment in, one frame of `text/event-stream` bytes out,
//! ready to be shared by every subscriber.
//!
//! Every function checks its input before it writes, so on an error `out` is left as it was; none
//! of them panics.
//!
//! **Line endings in data.** An event stream cannot carry CR in data: the parser joins `data`
//! lines with LF. The encoder therefore splits `data` on every line ending (CRLF, lone CR, lone
//! LF) into separate `data:` lines, and the receiver gets the text back with each line ending
//! turned into LF. JSON payloads are not affected: `serde_json` escapes CR and LF inside strings
//! and writes none between tokens, so a JSON document is always one `data:` line.
//!
//! **Memory.** A frame may live long (in the replay buffer, in every slow subscriber's queue), so
//! [`frame_with`] hands out frames allocated to their exact size: it encodes into a per-thread
//! scratch buffer and copies the result once, where a `Vec` grown while encoding would keep up
//! to twice the frame's size allocated for as long as the frame lives.

use std::cell::RefCell;

use bytes::Bytes;
use memchr::{memchr, memchr2};

/// The largest scratch buffer a thread keeps between frames; a larger frame's is freed.
const SCRATCH_KEEP: usize = 64 * 1024;

/// Run `write` on an empty buffer and return what it wrote as one frame, allocated to its exact
/// size (see the module docs). On an error nothing is returned.
///
/// ```
/// use wiregen_runtime::sse::encode::{encode_event, frame_with};
///
/// let frame = frame_with(|out| encode_event(out, Some("tick"), Some("7"), None, "{}")).unwrap();
/// assert_eq!(frame, &b"event: tick\nid: 7\ndata: {}\n\n"[..]);
/// ```
pub fn frame_with(
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<Bytes, EncodeError> {
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        // Busy only if `write` itself encodes a frame (an `EventSet` that nests one): that
        // one gets a buffer of its own.
        let Ok(mut out) = scratch.try_borrow_mut() else {
            let mut out = Vec::new();
            write(&mut out)?;
            return Ok(Bytes::copy_from_slice(&out));
        };
        out.clear();
        let result = write(&mut out).map(|()| Bytes::copy_from_slice(&out));
        if out.capacity() > SCRATCH_KEEP {
            *out = Vec::new();
        } else {
            out.clear();
        }
        result
    })
}

/// A frame that cannot be encoded, or an event whose data cannot be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum EncodeError {
    /// The event name contains CR or LF, which would end the `event:` line early.
    InvalidEventName,
    /// The event ID contains CR or LF (which would end the `id:` line early) or NUL (which makes
    /// browsers ignore the ID).
    InvalidId,
    /// An event's data is not valid UTF-8.
    InvalidData,
    /// An event's data failed to serialize as JSON.
    Json(serde_json::Error),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::InvalidEventName => {
                f.write_str("an SSE event name must not contain CR or LF")
            }
            EncodeError::InvalidId => f.write_str("an SSE event ID must not contain CR, LF or NUL"),
            EncodeError::InvalidData => f.write_str("SSE event data must be valid UTF-8"),
            EncodeError::Json(e) => {
                write!(f, "SSE event data could not be serialized as JSON: {e}")
            }
        }
    }
}

impl std::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EncodeError::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for EncodeError {
    fn from(error: serde_json::Error) -> Self {
        EncodeError::Json(error)
    }
}

/// Append one event frame to `out`: `event:`, `id:` and `retry:` lines when given, one `data:`
/// line per line of `data` (at least one, so an event with empty data is still dispatched), and
/// the blank line that ends the event.
///
/// An `event` of `None` or `""` writes no `event:` line: the receiver sees `"message"`.
/// `id: Some("")` writes `id:`, which resets the receiver's last event ID.
///
/// ```
/// use wiregen_runtime::sse::encode::encode_event;
///
/// let mut out = Vec::new();
/// encode_event(&mut out, Some("update"), Some("42"), None, "{\"n\":1}").unwrap();
/// assert_eq!(out, b"event: update\nid: 42\ndata: {\"n\":1}\n\n");
/// ```
pub fn encode_event(
    out: &mut Vec<u8>,
    event: Option<&str>,
    id: Option<&str>,
    retry: Option<u64>,
    data: &str,
) -> Result<(), EncodeError> {
    write_head(out, event, id, retry)?;
    write_data_lines(out, data.as_bytes());
    out.push(b'\n');
    Ok(())
}

/// Append a comment frame: `: ` and the text, one comment line per line of `text`, then a blank
/// line. Receivers ignore it; servers send one to keep an idle connection open
/// (`encode_comment(out, "keep-alive")` writes `: keep-alive\n\n`).
pub fn encode_comment(out: &mut Vec<u8>, text: &str) {
    for line in Lines::new(text.as_bytes()) {
        out.push(b':');
        if !line.is_empty() {
            out.push(b' ');
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Check the event name and ID, then write the `event:`, `id:` and `retry:` lines.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    event: Option<&str>,
    id: Option<&str>,
    retry: Option<u64>,
) -> Result<(), EncodeError> {
    let event = event.filter(|name| !name.is_empty());
    if let Some(name) = event
        && memchr2(b'\r', b'\n', name.as_bytes()).is_some()
    {
        return Err(EncodeError::InvalidEventName);
    }
    if let Some(id) = id
        && (memchr2(b'\r', b'\n', id.as_bytes()).is_some() || memchr(0, id.as_bytes()).is_some())
    {
        return Err(EncodeError::InvalidId);
    }
    if let Some(name) = event {
        write_field(out, b"event", name.as_bytes());
    }
    if let Some(id) = id {
        write_field(out, b"id", id.as_bytes());
    }
    if let Some(ms) = retry {
        write_field(out, b"retry", ms.to_string().as_bytes());
    }
    Ok(())
}

/// Write `data` as `data:` lines, one per line of it.
pub(crate) fn write_data_lines(out: &mut Vec<u8>, data: &[u8]) {
    for line in Lines::new(data) {
        write_field(out, b"data", line);
    }
}

/// `name: value` and LF; `name:` alone for an empty value. The space after the colon is always
/// written for a value, so a value that starts with a space keeps it (the parser strips one).
fn write_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 3);
    out.extend_from_slice(name);
    out.push(b':');
    if !value.is_empty() {
        out.push(b' ');
        out.extend_from_slice(value);
    }
    out.push(b'\n');
}

/// The lines of a text split on CRLF, lone CR and lone LF. Empty text is one empty line; a text
/// that ends with a line ending has an empty last line.
struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Self {
        Lines { rest: Some(text) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match memchr2(b'\r', b'\n', rest) {
            None => {
                self.rest = None;
                Some(rest)
            }
            Some(end) => {
                let skip = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                self.rest = Some(&rest[end + skip..]);
                Some(&rest[..end])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes allocated for a frame, which must be its own (not shared).
    fn allocated(frame: Bytes) -> usize {
        match frame.try_into_mut() {
            Ok(unique) => unique.capacity(),
            Err(_) => panic!("the frame is shared"),
        }
    }

    #[test]
    fn frames_are_allocated_to_their_size() {
        for size in [0, 1, 100, 129, 5_000, 70_000, 1 << 20] {
            let data = "d".repeat(size);
            let frame = frame_with(|out| encode_event(out, None, Some("1"), None, &data)).unwrap();
            let len = frame.len();
            // `id: 1`, `data:` (and a space before any data), a blank line.
            assert_eq!(len, 6 + 5 + size + usize::from(size > 0) + 2);
            assert_eq!(allocated(frame), len, "a {size}-byte event");
        }
        // The scratch buffer does not keep a large frame's allocation.
        frame_with(|out| {
            out.extend_from_slice(&[b'x'; SCRATCH_KEEP * 2]);
            Ok(())
        })
        .unwrap();
        frame_with(|out| {
            assert!(out.capacity() <= SCRATCH_KEEP, "{}", out.capacity());
            Ok(())
        })
        .unwrap();
    }

    struct Text(String);

    impl crate::sse::EventSet for Text {
        fn event_name(&self) -> &'static str {
            "text"
        }

        fn write_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            crate::sse::write_json(out, &self.0)
        }

        fn decode(_event: &str, data: &str) -> Result<Self, crate::sse::DecodeError> {
            crate::sse::read_json(data).map(Text)
        }
    }

    #[test]
    fn encoded_events_are_allocated_to_their_size() {
        for size in [10, 200, 3_000, 100_000] {
            let event = crate::sse::SseEvent::new(Text("t".repeat(size))).with_id("42");
            let frame = event.encode().unwrap();
            let len = frame.len();
            assert_eq!(len, "event: text\nid: 42\ndata: \"\"\n\n".len() + size);
            assert_eq!(allocated(frame), len, "a {size}-byte event");
        }
    }

    #[test]
    fn errors_return_nothing_and_nested_frames_work() {
        let error = frame_with(|out| encode_event(out, Some("a\nb"), None, None, "x"));
        assert!(matches!(error, Err(EncodeError::InvalidEventName)));
        let outer = frame_with(|out| {
            let inner = frame_with(|inner| {
                encode_comment(inner, "inner");
                Ok(())
            })?;
            out.extend_from_slice(&inner);
            encode_comment(out, "outer");
            Ok(())
        })
        .unwrap();
        assert_eq!(outer, &b": inner\n\n: outer\n\n"[..]);
    }
}
