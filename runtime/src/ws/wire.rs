//! What a server connection writes: its data frames laid out as they go on the wire.
//!
//! A server's frames are not masked (RFC 6455 section 5.1), so a frame is a header of two to
//! ten bytes followed by the payload as it is: the frames a connection takes from its queue
//! and its hub groups' rings are copied once, straight into one buffer written with one write.

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

/// Frames laid out as they go on the wire, end to end: each frame is copied once, from the
/// queue or the ring that holds it, without touching the shared payload's reference count.
#[derive(Default)]
pub(super) struct Wire {
    pub(super) bytes: Vec<u8>,
    /// Each frame's stamp and where it ends in `bytes`.
    pub(super) marks: Vec<(u64, usize)>,
}

impl Taker for Wire {
    fn take(&mut self, stamp: u64, message: &Message) {
        encode_frame(message, &mut self.bytes);
        self.marks.push((stamp, self.bytes.len()));
    }

    fn order(&mut self) {
        if self.marks.is_sorted_by_key(|(stamp, _)| *stamp) {
            return;
        }
        let mut start = 0;
        let mut frames: Vec<(u64, std::ops::Range<usize>)> = self
            .marks
            .iter()
            .map(|&(stamp, end)| (stamp, std::mem::replace(&mut start, end)..end))
            .collect();
        frames.sort_by_key(|(stamp, _)| *stamp);
        let mut ordered = Vec::with_capacity(self.bytes.len());
        self.marks.clear();
        for (stamp, range) in frames {
            ordered.extend_from_slice(&self.bytes[range]);
            self.marks.push((stamp, ordered.len()));
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

    #[test]
    fn frames_taken_from_several_sources_go_out_in_the_order_they_were_sent() {
        let text = |t: &str| Message::Text(t.to_owned().into());
        let mut wire = Wire::default();
        // The connection's own queue, then a ring: each in order, together not.
        for (stamp, t) in [(1, "a"), (4, "d"), (5, "e")] {
            wire.take(stamp, &text(t));
        }
        for (stamp, t) in [(2, "b"), (3, "c"), (6, "ffff")] {
            wire.take(stamp, &text(t));
        }
        assert_eq!(wire.len(), 6);
        wire.order();
        let payloads: Vec<Vec<u8>> = frames_in(&wire.bytes).into_iter().map(|f| f.1).collect();
        assert_eq!(payloads, [&b"a"[..], b"b", b"c", b"d", b"e", b"ffff"]);
        let stamps: Vec<u64> = wire.marks.iter().map(|m| m.0).collect();
        assert_eq!(stamps, [1, 2, 3, 4, 5, 6]);
        assert_eq!(wire.marks.last().map(|m| m.1), Some(wire.bytes.len()));
    }
}
