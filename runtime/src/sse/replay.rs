//! The replay buffer: the last few encoded frames with their event IDs, so a client that
//! reconnects with `Last-Event-ID` gets exactly the frames it missed.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

/// A bounded ring of `(event ID, encoded frame)`, oldest first. Pushing is O(1) (amortised); a
/// lookup by ID is one hash-map probe plus the copy of the frames after it (each a reference
/// count, never the bytes).
///
/// ```
/// use bytes::Bytes;
/// use wiregen_runtime::sse::replay::{Replay, ReplayBuffer};
///
/// let mut buffer = ReplayBuffer::new(2);
/// buffer.push("1".into(), Bytes::from_static(b"id: 1\ndata: a\n\n"));
/// buffer.push("2".into(), Bytes::from_static(b"id: 2\ndata: b\n\n"));
/// buffer.push("3".into(), Bytes::from_static(b"id: 3\ndata: c\n\n"));
/// assert_eq!(buffer.since("2"), Replay::Frames(vec![Bytes::from_static(b"id: 3\ndata: c\n\n")]));
/// assert_eq!(buffer.since("1"), Replay::Unknown); // pushed out
/// ```
#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    entries: VecDeque<Entry>,
    /// Each ID's newest entry, by sequence number. Only looked up, never iterated.
    index: HashMap<String, u64>,
    /// The sequence number the next pushed frame gets.
    next_seq: u64,
    capacity: usize,
}

#[derive(Clone, Debug)]
struct Entry {
    seq: u64,
    id: String,
    frame: Bytes,
}

/// What a client that resumes after an event ID is owed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Every frame pushed after that ID, oldest first (empty if it was the newest).
    Frames(Vec<Bytes>),
    /// The ID is not in the buffer: pushed out already, or never sent here. The caller decides
    /// between a full resynchronisation and going on from now.
    Unknown,
}

impl ReplayBuffer {
    /// A buffer keeping the last `capacity` frames (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        ReplayBuffer {
            entries: VecDeque::with_capacity(capacity.min(4096)),
            index: HashMap::with_capacity(capacity.min(4096)),
            next_seq: 0,
            capacity,
        }
    }

    /// How many frames the buffer keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many frames the buffer holds now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the buffer holds no frame.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add the frame of the event with ID `id`, pushing out the oldest one when full. If the ID
    /// was pushed before, resuming after it now means after this newest frame.
    pub fn push(&mut self, id: String, frame: Bytes) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity
            && let Some(old) = self.entries.pop_front()
            && self.index.get(&old.id) == Some(&old.seq)
        {
            self.index.remove(&old.id);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.index.insert(id.clone(), seq);
        self.entries.push_back(Entry { seq, id, frame });
    }

    /// Every frame in the buffer, oldest first.
    pub fn all(&self) -> Vec<Bytes> {
        self.entries.iter().map(|e| e.frame.clone()).collect()
    }

    /// The frames pushed after the one with ID `last_event_id`.
    pub fn since(&self, last_event_id: &str) -> Replay {
        let (Some(&seq), Some(front)) = (self.index.get(last_event_id), self.entries.front())
        else {
            return Replay::Unknown;
        };
        // Indexed IDs are always in the buffer, so `seq >= front.seq`.
        let Some(at) = seq
            .checked_sub(front.seq)
            .and_then(|at| usize::try_from(at).ok())
        else {
            return Replay::Unknown;
        };
        let after = at.saturating_add(1).min(self.entries.len());
        Replay::Frames(
            self.entries
                .range(after..)
                .map(|e| e.frame.clone())
                .collect(),
        )
    }
}
