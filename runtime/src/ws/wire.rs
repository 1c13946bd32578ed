//! What a server connection writes: its data frames laid out as they go on the wire.
//!
//! A server's frames are not masked (RFC 6455 section 5.1), so a frame is a header of two to
//! ten bytes followed by the payload as it is: the frames a connection takes from its queue
//! and its hub groups' rings are copied once, straight into the buffer that is written, up to
//! a bound per round; the rest is laid out as it is written.

use axum::extract::ws::Message;

/// Where a connection's queue puts the frames it takes for a write: each source's frames (the
/// connection's own queue, each hub group's ring) in the order of their stamps, one source
/// after another, under that source's lock.
pub(super) trait Taker {
    /// One frame, stamped `stamp`.
    fn take(&mut self, stamp: u64, message: &Message);

    /// The frames came from several sources: put them all in the order of their stamps.
    fn order(&mut self);

    /// How many frames were taken.
    fn len(&self) -> usize;
}

/// Frames collected as they are (the tests' view of a queue).
#[cfg(test)]
impl Taker for Vec<(u64, Message)> {
    fn take(&mut self, stamp: u64, message: &Message) {
        self.push((stamp, message.clone()));
    }

    fn order(&mut self) {
        self.sort_by_key(|(stamp, _)| *stamp);
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }
}

/// Frames laid out as they go on the wire, end to end.
///
/// The first `cap` bytes' worth of a round are copied as they are taken, from the queue or the
/// ring that holds them, without touching the shared payloads' reference counts. Frames beyond
/// that are held by reference, as they were queued, and laid out `cap` bytes at a time as they
/// are written: a client whose writes wait never holds more than `cap` bytes (and one frame) of
/// copies, however much was waiting for it.
pub(super) struct Wire {
    /// The frames copied as they were taken, in the order of `marks`.
    bytes: Vec<u8>,
    /// Each frame's stamp, and where it is (16 bytes a frame).
    marks: Vec<(u64, Piece)>,
    /// The frames held by reference.
    held: Vec<Message>,
    /// Copy frames as they are taken while `bytes` is shorter than this.
    cap: usize,
    /// Held frames laid out for the write in progress.
    scratch: Vec<u8>,
    /// The next mark to write, and how much of `bytes` is written.
    next: usize,
    sent: usize,
}

/// Where a frame of a [`Wire`] is.
#[derive(Clone, Copy)]
enum Piece {
    /// Copied into `bytes`, ending there.
    Copied(u32),
    /// Held by reference (at this index of `held`), laid out when written.
    Held(u32),
}

impl Wire {
    /// An empty wire copying up to `cap` bytes per round.
    pub(super) fn new(cap: usize) -> Wire {
        Wire {
            bytes: Vec::new(),
            marks: Vec::new(),
            held: Vec::new(),
            cap,
            scratch: Vec::new(),
            next: 0,
            sent: 0,
        }
    }

    /// Whether nothing was taken.
    pub(super) fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// The next bytes to write, in stamp order; `None` once everything is written.
    pub(super) fn next_chunk(&mut self) -> Option<&[u8]> {
        self.scratch.clear();
        let start = self.sent;
        let mut end = start;
        while let Some(&(_, piece)) = self.marks.get(self.next) {
            match piece {
                Piece::Copied(until) => {
                    if !self.scratch.is_empty() {
                        break;
                    }
                    end = until as usize;
                }
                Piece::Held(index) => {
                    if end > start {
                        break;
                    }
                    encode_frame(&self.held[index as usize], &mut self.scratch);
                }
            }
            self.next += 1;
            if self.scratch.len() >= self.cap {
                break;
            }
        }
        if end > start {
            self.sent = end;
            Some(&self.bytes[start..end])
        } else if self.scratch.is_empty() {
            None
        } else {
            Some(&self.scratch)
        }
    }

    /// Forget the round, keeping at most `cap` bytes and `marks_kept` marks of room.
    pub(super) fn clear(&mut self, marks_kept: usize) {
        self.next = 0;
        self.sent = 0;
        for buffer in [&mut self.bytes, &mut self.scratch] {
            buffer.clear();
            if buffer.capacity() > self.cap {
                buffer.shrink_to(self.cap);
            }
        }
        self.marks.clear();
        if self.marks.capacity() > marks_kept {
            self.marks.shrink_to(marks_kept);
        }
        self.held = Vec::new();
    }
}

impl Taker for Wire {
    fn take(&mut self, stamp: u64, message: &Message) {
        let start = self.bytes.len();
        let copied = if start < self.cap {
            encode_frame(message, &mut self.bytes);
            u32::try_from(self.bytes.len()).ok().map(Piece::Copied)
        } else {
            None
        };
        let piece = copied.unwrap_or_else(|| {
            // Past the cap, or past what a mark can say (4 GiB): held instead.
            self.bytes.truncate(start);
            self.held.push(message.clone());
            Piece::Held((self.held.len() - 1) as u32)
        });
        self.marks.push((stamp, piece));
    }

    fn order(&mut self) {
        if self.marks.is_sorted_by_key(|(stamp, _)| *stamp) {
            return;
        }
        // Where each copied frame starts, in the order taken.
        let mut start = 0;
        let mut marks: Vec<(u64, usize, Piece)> = self
            .marks
            .drain(..)
            .map(|(stamp, piece)| match piece {
                Piece::Copied(end) => (stamp, std::mem::replace(&mut start, end as usize), piece),
                Piece::Held(_) => (stamp, 0, piece),
            })
            .collect();
        marks.sort_by_key(|(stamp, _, _)| *stamp);
        let mut ordered = Vec::with_capacity(self.bytes.len());
        for (stamp, start, piece) in marks {
            let piece = match piece {
                Piece::Copied(end) => {
                    ordered.extend_from_slice(&self.bytes[start..end as usize]);
                    // No longer than before.
                    Piece::Copied(ordered.len() as u32)
                }
                held => held,
            };
            self.marks.push((stamp, piece));
        }
        self.bytes = ordered;
    }

    fn len(&self) -> usize {
        self.marks.len()
    }
}

/// How many frames' marks a connection's [`Wire`] keeps room for between rounds (16 bytes each).
pub(super) const MARKS_KEPT: usize = 256;

/// The longest header of a server's frame: two bytes and a 64-bit length.
const MAX_HEADER: usize = 10;

/// Append `message` as one unmasked, final frame (RFC 6455 section 5.2).
fn encode_frame(message: &Message, wire: &mut Vec<u8>) {
    let (opcode, payload): (u8, &[u8]) = match message {
        Message::Text(text) => (0x1, text.as_str().as_bytes()),
        Message::Binary(data) => (0x2, data),
        Message::Ping(data) => (0x9, data),
        Message::Pong(data) => (0xA, data),
        // Closes are sent by tungstenite (`Step::Close`), never queued; an empty Close is
        // still a valid frame.
        Message::Close(_) => (0x8, &[]),
    };
    wire.reserve(MAX_HEADER + payload.len());
    wire.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => wire.push(len as u8),
        len @ 126..=0xFFFF => {
            wire.push(126);
            wire.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            wire.push(127);
            wire.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    wire.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite;

    /// The frames in `wire`, read back by tungstenite's own header parser: (opcode, payload).
    fn frames_in(wire: &[u8]) -> Vec<(tungstenite::protocol::frame::coding::OpCode, Vec<u8>)> {
        use tungstenite::protocol::frame::FrameHeader;
        let mut cursor = std::io::Cursor::new(wire);
        let mut frames = Vec::new();
        while (cursor.position() as usize) < wire.len() {
            let (header, len) = FrameHeader::parse(&mut cursor)
                .expect("a valid header")
                .expect("a whole header");
            assert!(header.is_final && header.mask.is_none(), "{header:?}");
            assert!(!header.rsv1 && !header.rsv2 && !header.rsv3, "{header:?}");
            let start = cursor.position() as usize;
            let end = start + len as usize;
            frames.push((header.opcode, wire[start..end].to_vec()));
            cursor.set_position(end as u64);
        }
        frames
    }

    #[test]
    fn frames_are_laid_out_as_rfc_6455_says_at_every_length() {
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        for len in [0, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let mut wire = Vec::new();
            encode_frame(&Message::Text("t".repeat(len).into()), &mut wire);
            encode_frame(&Message::Binary(vec![7u8; len].into()), &mut wire);
            let header = match len {
                0..=125 => 2,
                126..=65_535 => 4,
                _ => 10,
            };
            assert_eq!(wire.len(), 2 * (header + len), "{len}");
            assert_eq!(
                frames_in(&wire),
                [
                    (OpCode::Data(Data::Text), vec![b't'; len]),
                    (OpCode::Data(Data::Binary), vec![7u8; len]),
                ],
                "{len}"
            );
        }
    }

    /// Everything a round writes, chunk by chunk.
    fn chunks(wire: &mut Wire) -> Vec<Vec<u8>> {
        let mut chunks = Vec::new();
        while let Some(chunk) = wire.next_chunk() {
            chunks.push(chunk.to_vec());
        }
        chunks
    }

    #[test]
    fn frames_taken_from_several_sources_go_out_in_the_order_they_were_sent() {
        let text = |t: &str| Message::Text(t.to_owned().into());
        // Everything copied as taken (a roomy cap), and most of it held (a cap of 8 bytes).
        for cap in [4096, 8] {
            let mut wire = Wire::new(cap);
            // The connection's own queue, then a ring: each in order, together not.
            for (stamp, t) in [(1, "a"), (4, "dd"), (5, "e")] {
                wire.take(stamp, &text(t));
            }
            for (stamp, t) in [(2, "bbbbbb"), (3, "c"), (6, "ffff"), (7, "g")] {
                wire.take(stamp, &text(t));
            }
            assert_eq!(wire.len(), 7);
            // Copies stop once the cap is reached: at most one frame beyond it.
            assert!(
                wire.bytes.len() <= cap + 2 + 6,
                "{cap}: {}",
                wire.bytes.len()
            );
            wire.order();
            let stamps: Vec<u64> = wire.marks.iter().map(|m| m.0).collect();
            assert_eq!(stamps, [1, 2, 3, 4, 5, 6, 7], "{cap}");
            let chunks = chunks(&mut wire);
            for chunk in &chunks {
                assert!(
                    chunk.len() <= cap + 2 + 6,
                    "{cap}: a chunk of {}",
                    chunk.len()
                );
            }
            let payloads: Vec<Vec<u8>> = frames_in(&chunks.concat())
                .into_iter()
                .map(|f| f.1)
                .collect();
            assert_eq!(
                payloads,
                [&b"a"[..], b"bbbbbb", b"c", b"dd", b"e", b"ffff", b"g"],
                "{cap}"
            );
            assert_eq!(wire.next_chunk(), None, "{cap}: written once");
            wire.clear(4);
            assert!(wire.is_empty() && wire.next_chunk().is_none());
        }
    }
}
