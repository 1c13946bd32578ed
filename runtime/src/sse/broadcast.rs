//! The broadcast hub: a frame encoded once goes to every subscriber and into the replay buffer;
//! a subscriber resuming with `Last-Event-ID` gets the frames it missed, then the live ones.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::broadcast;

use super::replay::{Replay, ReplayBuffer};
use super::{EncodeError, EventSet, SseEvent};

/// Fans encoded frames out to any number of subscribers. Cloning it gives another handle to the
/// same hub; subscriptions end once every handle is dropped and they have read what was sent.
///
/// Memory is bounded: each subscriber can fall at most `capacity` frames behind (the channel is
/// shared, so a frame is stored once however many subscribers there are). A subscriber that
/// falls further behind has its stream ended; its client reconnects with `Last-Event-ID` and
/// catches up from the replay buffer, so keep `replay_capacity` at least `capacity`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use futures_util::StreamExt;
/// use wiregen_runtime::sse::broadcast::Broadcaster;
/// use bytes::Bytes;
///
/// let hub = Broadcaster::new(64, 256);
/// hub.send(Bytes::from_static(b"id: 1\ndata: a\n\n"), Some("1".into()));
/// let mut resumed = hub.subscribe(Some("0"));   // unknown ID: live frames only
/// let mut late = hub.subscribe(None);
/// hub.send(Bytes::from_static(b"id: 2\ndata: b\n\n"), Some("2".into()));
/// assert_eq!(late.next().await.unwrap(), &b"id: 2\ndata: b\n\n"[..]);
/// assert_eq!(resumed.next().await.unwrap(), &b"id: 2\ndata: b\n\n"[..]);
/// let mut caught_up = hub.subscribe(Some("1"));
/// assert_eq!(caught_up.next().await.unwrap(), &b"id: 2\ndata: b\n\n"[..]);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Broadcaster {
    shared: Arc<Mutex<Hub>>,
}

#[derive(Debug)]
struct Hub {
    sender: broadcast::Sender<Bytes>,
    replay: ReplayBuffer,
}

/// How a subscription started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// No `Last-Event-ID` was given: live frames only.
    Live,
    /// The ID was found: this many frames were replayed before the live ones.
    Replayed(usize),
    /// The ID is not in the replay buffer (too old, or never sent here): live frames only, and
    /// the client has missed an unknown number of events. Callers that can resynchronise (send
    /// a snapshot first) should.
    Unknown,
}

impl Broadcaster {
    /// A hub letting each subscriber fall `capacity` frames behind (at least 1; tokio rounds it
    /// up to a power of two) and replaying the last `replay_capacity` frames that had an ID.
    pub fn new(capacity: usize, replay_capacity: usize) -> Self {
        // tokio panics on 0 and on more than `usize::MAX / 2`.
        let capacity = capacity.clamp(1, 1 << 24);
        let (sender, _) = broadcast::channel(capacity);
        Broadcaster {
            shared: Arc::new(Mutex::new(Hub {
                sender,
                replay: ReplayBuffer::new(replay_capacity),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        // The hub's state is consistent after every statement, so a panic elsewhere while the
        // lock was held leaves nothing to repair.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Send an encoded frame to every subscriber, and keep it for replay if it has an `id`
    /// (the same ID its `id:` field carries; frames without one are live only). Returns how
    /// many subscribers it went to.
    pub fn send(&self, frame: Bytes, id: Option<String>) -> usize {
        let mut hub = self.lock();
        if let Some(id) = id {
            hub.replay.push(id, frame.clone());
        }
        hub.sender.send(frame).unwrap_or(0)
    }

    /// Encode a typed event once and [`send`](Self::send) it, with its ID.
    pub fn send_event<E: EventSet>(&self, event: &SseEvent<E>) -> Result<usize, EncodeError> {
        let frame = event.encode()?;
        Ok(self.send(frame, event.id.clone()))
    }

    /// A stream of the frames after `last_event_id` still in the replay buffer, then every frame
    /// sent from now on: nothing twice and nothing missed, whatever other tasks send meanwhile.
    /// See [`Subscription::resume`] for whether the ID was found.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        self.subscribe_inner(last_event_id, false)
    }

    /// Like [`subscribe`](Self::subscribe), except that a subscriber without a
    /// `last_event_id` first gets everything still in the replay buffer (recent history: what
    /// a dashboard shows on opening), then the live frames.
    pub fn subscribe_with_history(&self, last_event_id: Option<&str>) -> Subscription {
        self.subscribe_inner(last_event_id, true)
    }

    fn subscribe_inner(&self, last_event_id: Option<&str>, history: bool) -> Subscription {
        let hub = self.lock();
        // The replay snapshot and the live receiver are taken under one lock, so every frame is
        // in exactly one of them.
        let (replayed, resume) = match last_event_id {
            None if history => {
                let frames = hub.replay.all();
                let count = frames.len();
                (frames, Resume::Replayed(count))
            }
            None => (Vec::new(), Resume::Live),
            Some(id) => match hub.replay.since(id) {
                Replay::Frames(frames) => {
                    let count = frames.len();
                    (frames, Resume::Replayed(count))
                }
                Replay::Unknown => (Vec::new(), Resume::Unknown),
            },
        };
        let receiver = hub.sender.subscribe();
        drop(hub);
        let live = futures_util::stream::unfold(receiver, |mut receiver| async move {
            // `Lagged` (fell behind) and `Closed` (hub dropped) both end the stream.
            let frame = receiver.recv().await.ok()?;
            Some((frame, receiver))
        });
        Subscription {
            replayed: replayed.into_iter(),
            live: Box::pin(live),
            resume,
        }
    }

    /// How many subscriptions are open.
    pub fn subscriber_count(&self) -> usize {
        self.lock().sender.receiver_count()
    }
}

/// The frames of one subscriber: replayed ones first, then live ones. Ends when the subscriber
/// falls too far behind or every [`Broadcaster`] handle is dropped.
pub struct Subscription {
    replayed: std::vec::IntoIter<Bytes>,
    live: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
    resume: Resume,
}

impl Subscription {
    /// Whether the subscription resumed after the `Last-Event-ID` it was given.
    pub fn resume(&self) -> Resume {
        self.resume
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("replay_left", &self.replayed.len())
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

impl Stream for Subscription {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(frame) = self.replayed.next() {
            return Poll::Ready(Some(frame));
        }
        self.live.as_mut().poll_next(cx)
    }
}
