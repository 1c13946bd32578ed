//! The load generator: any number of subscribers on one thread, each a plain HTTP/1.1
//! connection read with a minimal chunked decoder and event splitter, so that as little load
//! generator time as possible goes into each event. It counts every event of every subscriber,
//! checks that each gets every event in order, measures latency from the event's `placedAt`, and
//! tells the server (`ack N`) how far every subscriber has got.

use std::cell::RefCell;
use std::io::Write;
use std::net::Ipv4Addr;
use std::rc::Rc;

use memchr::memmem::Finder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::measure::{Histogram, now_nanos, parse_rfc3339_nanos};
use crate::servers::PATH;

/// Slots of the per-event delivery counts: more than any window the bench allows.
const RING: usize = 8192;

/// The largest window the bench allows (events published beyond the last ack).
pub const MAX_WINDOW: u64 = 2048;

/// What every subscriber reports into, and the line to the server.
pub struct Tally {
    subscribers: u32,
    /// For event `seq`, `counts[seq % RING]` subscribers have it (events not yet complete).
    counts: Vec<u32>,
    /// Events `0..complete` reached every subscriber.
    complete: u64,
    /// The last `ack` sent.
    acked: u64,
    ack_every: u64,
    control: Box<dyn Write>,
    control_error: Option<String>,
    /// Subscribers that got their response head.
    pub ready: usize,
    /// Subscribers whose connection failed, with why.
    pub errors: Vec<String>,
    /// Events received, by all subscribers, since the start.
    pub total: u64,
    /// Events a subscriber skipped, and events it got twice or out of order.
    pub lost: u64,
    pub duplicated: u64,
    measuring: bool,
    delivered: u64,
    latency: Histogram,
}

impl Tally {
    pub fn new(subscribers: usize, window: u64, control: Box<dyn Write>) -> Self {
        Tally {
            subscribers: u32::try_from(subscribers).unwrap_or(u32::MAX),
            counts: vec![0; RING],
            complete: 0,
            acked: 0,
            ack_every: (window / 8).max(1),
            control,
            control_error: None,
            ready: 0,
            errors: Vec::new(),
            total: 0,
            lost: 0,
            duplicated: 0,
            measuring: false,
            delivered: 0,
            latency: Histogram::default(),
        }
    }

    /// Send one control line to the server.
    pub fn send(&mut self, line: &str) -> Result<(), String> {
        if let Some(error) = &self.control_error {
            return Err(error.clone());
        }
        writeln!(self.control, "{line}").map_err(|e| format!("the server stopped reading: {e}"))
    }

    /// Start counting delivered events and their latency.
    pub fn begin(&mut self) {
        self.measuring = true;
        self.delivered = 0;
        self.latency = Histogram::default();
    }

    /// Stop counting: the events delivered and their latencies since [`begin`](Self::begin).
    pub fn end(&mut self) -> (u64, Histogram) {
        self.measuring = false;
        (self.delivered, std::mem::take(&mut self.latency))
    }

    /// A subscriber got event `seq` (it expected `expected`), sent at `sent` and read at `now`
    /// (nanoseconds since the epoch).
    fn event(&mut self, expected: &mut u64, seq: u64, sent: Option<i64>, now: i64) {
        self.total += 1;
        if seq < *expected {
            self.duplicated += 1;
            return;
        }
        self.lost += seq - *expected;
        *expected = seq + 1;
        if self.measuring {
            self.delivered += 1;
            if let Some(sent) = sent {
                self.latency
                    .record(u64::try_from((now - sent) / 1000).unwrap_or(0));
            }
        }
        if seq >= self.complete + RING as u64 {
            // Cannot happen while the server keeps to its window; counted, never tracked.
            self.lost += 1;
            return;
        }
        self.counts[(seq % RING as u64) as usize] += 1;
        while self.counts[(self.complete % RING as u64) as usize] >= self.subscribers {
            self.counts[(self.complete % RING as u64) as usize] = 0;
            self.complete += 1;
        }
        if self.complete >= self.acked + self.ack_every && self.control_error.is_none() {
            self.acked = self.complete;
            if let Err(e) = writeln!(self.control, "ack {}", self.complete) {
                self.control_error = Some(format!("the server stopped reading: {e}"));
            }
        }
    }
}

const REQUEST: &str = "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";

/// Subscribe to the server on `port` and read events until the connection ends. Reports into
/// `tally`; an error before the response head is counted in `tally.errors`.
pub async fn subscribe(port: u16, tally: Rc<RefCell<Tally>>) {
    if let Err(error) = read_stream(port, &tally).await {
        tally.borrow_mut().errors.push(error);
    }
}

async fn read_stream(port: u16, tally: &RefCell<Tally>) -> Result<(), String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|e| format!("cannot connect to 127.0.0.1:{port}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("cannot set TCP_NODELAY: {e}"))?;
    let request = format!("GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{REQUEST}");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let body_start = loop {
        let n = stream
            .read(&mut buffer)
            .await
            .map_err(|e| format!("cannot read the response head: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection before the response head".into());
        }
        head.extend_from_slice(&buffer[..n]);
        if let Some(end) = memchr::memmem::find(&head, b"\r\n\r\n") {
            break end + 4;
        }
        if head.len() > 16 * 1024 {
            return Err("the response head is longer than 16 KiB".into());
        }
    };
    let text = String::from_utf8_lossy(&head[..body_start]).to_ascii_lowercase();
    if !text.starts_with("http/1.1 200") || !text.contains("content-type: text/event-stream") {
        let status = text.lines().next().unwrap_or_default();
        return Err(format!("unexpected response: {status}"));
    }
    let chunked = text.contains("transfer-encoding: chunked");
    let mut reader = EventReader::new(chunked);
    tally.borrow_mut().ready += 1;
    reader.feed(&head[body_start..], &mut tally.borrow_mut(), now_nanos());
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => n,
        };
        reader.feed(&buffer[..n], &mut tally.borrow_mut(), now_nanos());
    }
}

/// The state of a `Transfer-Encoding: chunked` body between reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading the hexadecimal size (the value so far).
    Size(usize),
    /// Skipping a chunk extension, up to the LF.
    Extension(usize),
    /// Inside the data, with this many bytes to go.
    Data(usize),
    /// Skipping the CRLF after the data.
    DataEnd,
    /// The last chunk came: the body is over.
    Done,
}

/// Body bytes in, events out: the chunked framing removed, then events cut at blank lines.
/// Servers here end lines with LF only, so a block ends at `\n\n`.
struct EventReader {
    chunk: Option<Chunk>,
    /// Body bytes not yet cut into events.
    pending: Vec<u8>,
    /// What this subscriber expects next.
    expected: u64,
    order_id: Finder<'static>,
    placed_at: Finder<'static>,
    blank_line: Finder<'static>,
}

impl EventReader {
    fn new(chunked: bool) -> Self {
        EventReader {
            chunk: chunked.then_some(Chunk::Size(0)),
            pending: Vec::with_capacity(64 * 1024),
            expected: 0,
            order_id: Finder::new(b"\"orderId\":"),
            placed_at: Finder::new(b"\"placedAt\":\""),
            blank_line: Finder::new(b"\n\n"),
        }
    }

    fn feed(&mut self, mut bytes: &[u8], tally: &mut Tally, now: i64) {
        match &mut self.chunk {
            None => self.pending.extend_from_slice(bytes),
            Some(state) => {
                while let Some((&byte, rest)) = bytes.split_first() {
                    match *state {
                        Chunk::Size(size) => {
                            bytes = rest;
                            *state = match byte {
                                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                                    let digit = (byte as char).to_digit(16).unwrap_or(0);
                                    Chunk::Size(size * 16 + digit as usize)
                                }
                                b'\n' if size == 0 => Chunk::Done,
                                b'\n' => Chunk::Data(size),
                                b';' => Chunk::Extension(size),
                                _ => Chunk::Size(size),
                            };
                        }
                        Chunk::Extension(size) => {
                            bytes = rest;
                            if byte == b'\n' {
                                *state = if size == 0 {
                                    Chunk::Done
                                } else {
                                    Chunk::Data(size)
                                };
                            }
                        }
                        Chunk::Data(left) => {
                            let take = left.min(bytes.len());
                            self.pending.extend_from_slice(&bytes[..take]);
                            bytes = &bytes[take..];
                            *state = if take == left {
                                Chunk::DataEnd
                            } else {
                                Chunk::Data(left - take)
                            };
                        }
                        Chunk::DataEnd => {
                            bytes = rest;
                            if byte == b'\n' {
                                *state = Chunk::Size(0);
                            }
                        }
                        Chunk::Done => break,
                    }
                }
            }
        }
        self.cut_events(tally, now);
    }

    fn cut_events(&mut self, tally: &mut Tally, now: i64) {
        let mut start = 0;
        while let Some(end) = self.blank_line.find(&self.pending[start..]) {
            let block = &self.pending[start..start + end];
            start += end + 2;
            let Some(at) = self.order_id.find(block) else {
                // A comment (keep-alive) or an event of another kind.
                continue;
            };
            let digits = &block[at + b"\"orderId\":".len()..];
            let mut seq = 0u64;
            for &c in digits.iter().take_while(|c| c.is_ascii_digit()) {
                seq = seq * 10 + u64::from(c - b'0');
            }
            let sent = self
                .placed_at
                .find(block)
                .and_then(|at| parse_rfc3339_nanos(&block[at + b"\"placedAt\":\"".len()..]));
            tally.event(&mut self.expected, seq, sent, now);
        }
        self.pending.drain(..start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_cut_anywhere_give_the_same_events() {
        let frames: Vec<String> = (0..20)
            .map(|n| {
                format!(
                    "event: order-placed\nid: {n}\ndata: {{\"orderId\":{n},\"placedAt\":\"2026-11-24T10:00:00Z\"}}\n\n"
                )
            })
            .collect();
        let mut body = String::new();
        for pair in frames.chunks(3) {
            let chunk = pair.concat();
            body.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
            body.push_str("e;x=1\r\n: keep-alive\n\n\r\n");
        }
        body.push_str("0\r\n\r\n");
        for cut in [1, 2, 7, 64, body.len()] {
            let mut tally = Tally::new(1, 64, Box::new(std::io::sink()));
            let mut reader = EventReader::new(true);
            for piece in body.as_bytes().chunks(cut) {
                reader.feed(piece, &mut tally, 0);
            }
            assert_eq!(
                (tally.total, tally.lost, tally.duplicated, reader.expected),
                (20, 0, 0, 20)
            );
            assert_eq!(tally.complete, 20);
        }
    }
}
