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

use memchr::{memchr, memchr2};

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
