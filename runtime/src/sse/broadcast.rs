//! The broadcast hub of an SSE stream: a frame encoded once goes to every subscriber and into a
//! replay log; a subscriber resuming with `Last-Event-ID` gets the frames it missed, then the
//! live ones, and is told in band (a [`GAP_EVENT`] event) when that is not
//! possible. The log lives in memory (the default) or, with the `redis` feature, in a Redis
//! Stream shared by every server instance ([`Broadcaster::redis`]).

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::{EncodeError, EventSet, GAP_EVENT, SseEvent};
use crate::backplane::PublishError;

/// Fans encoded frames out to any number of subscribers. Cloning it gives another handle to the
/// same hub; subscriptions end once every handle is dropped and they have read what was sent.
///
/// **Ids.** [`publish`](Self::publish) numbers events itself: in memory, `<epoch>.<n>`, where
/// the epoch is drawn when the broadcaster is made, so an id from before a restart is never
/// mistaken for a new event; on Redis, the ids of the Redis Stream (`<ms>-<n>`), the same on
/// every instance and never reused. [`send`](Self::send) and [`send_event`](Self::send_event)
/// take frames with ids of your own choosing instead (in memory only; see there).
///
/// **Resuming.** A subscriber that gives the id of the last event it saw gets every event after
/// it that the log still holds, then the live ones, each exactly once and in the log's order.
/// When that is impossible (the id is older than what is retained, or unknown), it first gets one
/// [`GAP_EVENT`] event saying so, whose `id:` is the newest event's, and then
/// the live events: never silence.
///
/// **Memory** is bounded: the log holds at most `replay` frames (in memory) and each subscriber
/// can fall `capacity` frames behind the live feed. One that falls further behind goes back to
/// the log from the last frame it got (or is told of the gap if the log no longer has it), so
/// keep the log at least `capacity` long.
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
/// let mut late = hub.subscribe(None);
/// hub.send(Bytes::from_static(b"id: 2\ndata: b\n\n"), Some("2".into()));
/// assert_eq!(late.next().await.unwrap(), &b"id: 2\ndata: b\n\n"[..]);
/// let mut caught_up = hub.subscribe(Some("1"));
/// assert_eq!(caught_up.next().await.unwrap(), &b"id: 2\ndata: b\n\n"[..]);
/// // An id the hub does not know: a gap event first, then the live frames.
/// let mut lost = hub.subscribe(Some("0"));
/// let gap = lost.next().await.unwrap();
/// assert!(gap.starts_with(b"event: wiregen-gap\n"));
/// # }
/// ```
#[derive(Clone)]
pub struct Broadcaster {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Broadcaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let local = self.shared.lock();
        f.debug_struct("Broadcaster")
            .field("epoch", &local.epoch)
            .field("retained", &local.ring.len())
            .field("subscribers", &local.sender.receiver_count())
            .field("redis", &self.shared.redis_log().is_some())
            .finish()
    }
}

/// Settings of a [`Broadcaster`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastConfig {
    /// How many frames a subscriber may fall behind the live feed before it goes back to the log
    /// (at least 1; rounded up to a power of two). Default: 1024.
    pub capacity: usize,
    /// How many frames the in-memory log keeps for resuming (0 keeps none). Ignored on Redis,
    /// whose log is bounded by its own retention. Default: 1024.
    pub replay: usize,
    /// The event name of the in-band gap signal. Default: [`GAP_EVENT`].
    pub gap_event: String,
}

impl Default for BroadcastConfig {
    fn default() -> Self {
        BroadcastConfig {
            capacity: 1024,
            replay: 1024,
            gap_event: GAP_EVENT.to_owned(),
        }
    }
}

impl BroadcastConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set [`capacity`](Self::capacity).
    pub fn capacity(mut self, frames: usize) -> Self {
        self.capacity = frames;
        self
    }

    /// Set [`replay`](Self::replay).
    pub fn replay(mut self, frames: usize) -> Self {
        self.replay = frames;
        self
    }

    /// Set [`gap_event`](Self::gap_event). A name that is empty or contains CR or LF cannot be
    /// an event name and is ignored (the default stays).
    pub fn gap_event(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if !name.is_empty() && !name.contains(['\r', '\n']) {
            self.gap_event = name;
        }
        self
    }
}

/// How a subscription started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// No `Last-Event-ID` was given: live frames only.
    Live,
    /// The ID was found: this many frames were replayed before the live ones.
    Replayed(usize),
    /// The ID is not in the log (too old, from before a restart, or never sent here): the
    /// subscription starts with a gap event, then live frames.
    Unknown,
    /// The log is read when the stream is first polled (Redis): the stream itself says, with a
    /// gap event, if the ID could not be resumed.
    Deferred,
}

/// Why a subscriber was told it missed events (the `reason` of the gap event's data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// The events after the id are no longer retained (`"expired"`): the client was away, or
    /// fell behind, longer than the log reaches.
    Expired,
    /// The id is not one of this log's (`"unknown"`): from before a restart of an in-memory
    /// broadcaster, from another log, or malformed.
    Unknown,
}

impl GapReason {
    /// The wire form: `"expired"` or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Expired => "expired",
            GapReason::Unknown => "unknown",
        }
    }
}

/// A place in a log: in memory `(0, n)`; on Redis the stream id `(ms, n)`. Ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pos(pub(crate) u64, pub(crate) u64);

/// What the live feed carries.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    /// A frame, at its place in the log (`None`: a frame without an id, live only).
    Frame { pos: Option<Pos>, frame: Bytes },
    /// The feed itself lost events (a backplane that came back after its log moved on).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Gap,
}

pub(crate) struct Shared {
    local: Mutex<Local>,
    gap: GapWriter,
    #[cfg(feature = "redis")]
    redis: Option<Arc<crate::backplane::redis::StreamLog>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Local> {
        // The state is consistent after every statement, so a panic elsewhere while the lock
        // was held leaves nothing to repair.
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(feature = "redis")]
    fn redis_log(&self) -> Option<&Arc<crate::backplane::redis::StreamLog>> {
        self.redis.as_ref()
    }

    #[cfg(not(feature = "redis"))]
    fn redis_log(&self) -> Option<&()> {
        None
    }

    pub(crate) fn gap(&self) -> GapWriter {
        self.gap.clone()
    }
}

/// Writes the gap event of one broadcaster (a subscription keeps one without keeping the
/// broadcaster alive).
#[derive(Clone, Debug)]
pub(crate) struct GapWriter {
    event: Arc<str>,
}

impl GapWriter {
    /// The gap event: `asked` is the id the subscriber gave, `head` the id to continue from.
    pub(crate) fn gap_frame(
        &self,
        asked: Option<&str>,
        reason: GapReason,
        head: Option<&str>,
    ) -> Bytes {
        let data = serde_json::json!({ "lastEventId": asked, "reason": reason.as_str() });
        let mut out = Vec::with_capacity(96);
        // The name was checked when configured and `head` is one of our own ids; an `asked` id
        // with CR or LF could not have come from a header, and JSON escapes it anyway.
        if super::encode::encode_event(&mut out, Some(&self.event), head, None, &data.to_string())
            .is_err()
        {
            out.clear();
            let _ = super::encode::encode_event(
                &mut out,
                Some(GAP_EVENT),
                None,
                None,
                &data.to_string(),
            );
        }
        Bytes::from(out)
    }
}

struct Local {
    sender: broadcast::Sender<Item>,
    /// The in-memory log: frames with an id, oldest first, with consecutive numbers.
    ring: VecDeque<Entry>,
    /// Ids given to [`Broadcaster::send`], by number. Only looked up, never iterated.
    index: HashMap<String, u64>,
    replay: usize,
    epoch: String,
    /// The number the next frame with an id gets (the first is 1).
    next_seq: u64,
}

struct Entry {
    seq: u64,
    /// The id given to [`Broadcaster::send`], if it was one of the caller's.
    custom: Option<String>,
    frame: Bytes,
}

impl Local {
    fn push(&mut self, custom: Option<String>, frame: Bytes) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.replay > 0 {
            if self.ring.len() >= self.replay
                && let Some(old) = self.ring.pop_front()
                && let Some(id) = old.custom
                && self.index.get(&id) == Some(&old.seq)
            {
                self.index.remove(&id);
            }
            if let Some(id) = &custom {
                self.index.insert(id.clone(), seq);
            }
            self.ring.push_back(Entry { seq, custom, frame });
        }
        seq
    }

    fn head(&self) -> u64 {
        self.next_seq - 1
    }

    fn head_id(&self) -> String {
        format!("{}.{}", self.epoch, self.head())
    }

    /// The frames after `seq`, or why they cannot be had.
    fn after(&self, seq: u64) -> Result<Vec<Bytes>, GapReason> {
        if seq > self.head() {
            return Err(GapReason::Unknown);
        }
        let front = self.ring.front().map_or(self.next_seq, |e| e.seq);
        if seq.saturating_add(1) < front {
            return Err(GapReason::Expired);
        }
        let skip = usize::try_from(seq.saturating_add(1) - front).unwrap_or(usize::MAX);
        Ok(self
            .ring
            .iter()
            .skip(skip)
            .map(|e| e.frame.clone())
            .collect())
    }

    /// The frames after the event with id `id`.
    fn since(&self, id: &str) -> Result<Vec<Bytes>, GapReason> {
        if let Some(&seq) = self.index.get(id) {
            return self.after(seq);
        }
        match id.split_once('.') {
            Some((epoch, seq)) if epoch == self.epoch => {
                self.after(seq.parse().map_err(|_| GapReason::Unknown)?)
            }
            _ => Err(GapReason::Unknown),
        }
    }
}

/// A fresh epoch: 48 bits from the process's random hasher keys and the clock, so that two
/// broadcasters (or two runs) practically never share one.
fn new_epoch() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

impl Broadcaster {
    /// An in-memory hub letting each subscriber fall `capacity` frames behind the live feed and
    /// keeping the last `replay_capacity` frames that had an ID for resuming.
    pub fn new(capacity: usize, replay_capacity: usize) -> Self {
        Self::with_config(
            BroadcastConfig::new()
                .capacity(capacity)
                .replay(replay_capacity),
        )
    }

    /// An in-memory hub with these settings.
    pub fn with_config(config: BroadcastConfig) -> Self {
        Broadcaster {
            shared: Arc::new(Self::shared(&config, config.replay)),
        }
    }

    pub(crate) fn shared(config: &BroadcastConfig, replay: usize) -> Shared {
        // tokio panics on 0 and on more than `usize::MAX / 2`.
        let capacity = config.capacity.clamp(1, 1 << 24);
        let (sender, _) = broadcast::channel(capacity);
        Shared {
            local: Mutex::new(Local {
                sender,
                ring: VecDeque::with_capacity(replay.min(4096)),
                index: HashMap::new(),
                replay,
                epoch: new_epoch(),
                next_seq: 1,
            }),
            gap: GapWriter {
                event: Arc::from(config.gap_event.as_str()),
            },
            #[cfg(feature = "redis")]
            redis: None,
        }
    }

    #[cfg(feature = "redis")]
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Broadcaster { shared }
    }

    #[cfg(feature = "redis")]
    pub(crate) fn with_redis_log(
        mut shared: Shared,
        log: Arc<crate::backplane::redis::StreamLog>,
    ) -> Shared {
        shared.redis = Some(log);
        shared
    }

    #[cfg(feature = "redis")]
    pub(crate) fn sender_of(shared: &Shared) -> broadcast::Sender<Item> {
        shared.lock().sender.clone()
    }

    /// Wait until live events reach this instance's subscribers: at once in memory; on Redis,
    /// once this instance's reader knows where the stream stands (it starts when the
    /// broadcaster is made, and waits for Redis if Redis cannot be reached). Subscribers without
    /// a `Last-Event-ID` get the events published after that; resuming subscribers wait for it
    /// by themselves.
    pub async fn ready(&self) {
        #[cfg(feature = "redis")]
        if let Some(log) = self.shared.redis_log() {
            log.ready().await;
        }
    }

    /// The epoch of this hub's in-memory ids (`<epoch>.<n>`).
    pub fn epoch(&self) -> String {
        self.shared.lock().epoch.clone()
    }

    /// Publish a typed event: the log gives it its id (the event's own `id` is ignored), every
    /// subscriber of every instance gets it, and it is kept for resuming. Returns the id.
    ///
    /// In memory this never waits and only fails to encode. On Redis it waits for the stream to
    /// take the event, and fails with [`PublishError::Unavailable`] while Redis cannot be reached
    /// (subscribers stay connected and go on once it is back; see there for the one case where
    /// such an event was appended all the same).
    pub async fn publish<E: EventSet>(&self, event: &SseEvent<E>) -> Result<String, PublishError> {
        #[cfg(feature = "redis")]
        if let Some(log) = self.shared.redis_log() {
            let mut body = Vec::with_capacity(128);
            event.encode_with_id(None, &mut body)?;
            return log.append(body).await;
        }
        Ok(self.publish_in_memory(event)?)
    }

    /// [`publish`](Self::publish) several events, in order: on Redis in one round trip (one
    /// pipeline of `XADD`s), which is how a busy publisher keeps up. Returns each event's id, or
    /// why it was not published (on Redis, a failure fails the whole batch: Redis executes a
    /// pipeline in order, but an error on the way leaves unknown which of them it took).
    pub async fn publish_all<E: EventSet>(
        &self,
        events: &[SseEvent<E>],
    ) -> Vec<Result<String, PublishError>> {
        #[cfg(feature = "redis")]
        if let Some(log) = self.shared.redis_log() {
            let mut bodies = Vec::with_capacity(events.len());
            let mut results: Vec<Option<Result<String, PublishError>>> =
                Vec::with_capacity(events.len());
            for event in events {
                let mut body = Vec::with_capacity(128);
                match event.encode_with_id(None, &mut body) {
                    Ok(()) => {
                        bodies.push(body);
                        results.push(None);
                    }
                    Err(error) => results.push(Some(Err(error.into()))),
                }
            }
            let mut appended = log.append_all(bodies).await.into_iter();
            return results
                .into_iter()
                .map(|result| {
                    result.unwrap_or_else(|| {
                        appended.next().unwrap_or_else(|| {
                            Err(crate::backplane::BackplaneError::new("no reply").into())
                        })
                    })
                })
                .collect();
        }
        events
            .iter()
            .map(|event| Ok(self.publish_in_memory(event)?))
            .collect()
    }

    fn publish_in_memory<E: EventSet>(&self, event: &SseEvent<E>) -> Result<String, EncodeError> {
        let mut local = self.shared.lock();
        let id = format!("{}.{}", local.epoch, local.next_seq);
        let mut frame = Vec::with_capacity(128);
        event.encode_with_id(Some(&id), &mut frame)?;
        let frame = Bytes::from(frame);
        let seq = local.push(None, frame.clone());
        let _ = local.sender.send(Item::Frame {
            pos: Some(Pos(0, seq)),
            frame,
        });
        Ok(id)
    }

    /// Send an encoded frame to every subscriber of this instance, and keep it for replay if it
    /// has an `id` (the same ID its `id:` field carries; frames without one are live only).
    /// Returns how many subscribers it went to.
    ///
    /// The ids are yours: make them unique across restarts yourself (or use
    /// [`publish`](Self::publish), which does). On a Redis broadcaster the frame reaches this
    /// instance's subscribers only and is not logged.
    pub fn send(&self, frame: Bytes, id: Option<String>) -> usize {
        let mut local = self.shared.lock();
        let pos = match id {
            Some(id) if self.shared.redis_log().is_none() => {
                Some(Pos(0, local.push(Some(id), frame.clone())))
            }
            _ => None,
        };
        local.sender.send(Item::Frame { pos, frame }).unwrap_or(0)
    }

    /// Encode a typed event once and [`send`](Self::send) it, with its ID.
    pub fn send_event<E: EventSet>(&self, event: &SseEvent<E>) -> Result<usize, EncodeError> {
        let frame = event.encode()?;
        Ok(self.send(frame, event.id.clone()))
    }

    /// A stream of the frames after `last_event_id` still in the log, then every frame sent from
    /// now on: nothing twice and nothing missed, whatever other tasks send meanwhile; or, if the
    /// log cannot resume after that id, a gap event first. See [`Subscription::resume`].
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        self.subscribe_inner(last_event_id, false)
    }

    /// Like [`subscribe`](Self::subscribe), except that a subscriber without a
    /// `last_event_id` first gets everything still in the log (recent history: what a dashboard
    /// shows on opening), then the live frames.
    pub fn subscribe_with_history(&self, last_event_id: Option<&str>) -> Subscription {
        self.subscribe_inner(last_event_id, true)
    }

    fn subscribe_inner(&self, last_event_id: Option<&str>, history: bool) -> Subscription {
        #[cfg(feature = "redis")]
        if let Some(log) = self.shared.redis_log() {
            let receiver = self.shared.lock().sender.subscribe();
            let start = match last_event_id {
                Some(id) => crate::backplane::redis::Start::After(id.to_owned()),
                None if history => crate::backplane::redis::Start::Oldest,
                None => crate::backplane::redis::Start::Now,
            };
            let live = log
                .clone()
                .subscription(self.shared.clone(), receiver, start);
            return Subscription {
                replayed: Vec::new().into_iter(),
                live,
                resume: match last_event_id {
                    None if !history => Resume::Live,
                    _ => Resume::Deferred,
                },
            };
        }
        let local = self.shared.lock();
        // The replayed frames and the live receiver are taken under one lock, so every frame is
        // in exactly one of them.
        let (replayed, resume) = match last_event_id {
            None if history => {
                let frames: Vec<Bytes> = local.ring.iter().map(|e| e.frame.clone()).collect();
                let count = frames.len();
                (frames, Resume::Replayed(count))
            }
            None => (Vec::new(), Resume::Live),
            Some(id) => match local.since(id) {
                Ok(frames) => {
                    let count = frames.len();
                    (frames, Resume::Replayed(count))
                }
                Err(reason) => {
                    let gap = self
                        .shared
                        .gap
                        .gap_frame(Some(id), reason, Some(&local.head_id()));
                    (vec![gap], Resume::Unknown)
                }
            },
        };
        let receiver = local.sender.subscribe();
        let last = Pos(0, local.head());
        drop(local);
        let live = MemoryLive {
            shared: Arc::downgrade(&self.shared),
            gap: self.shared.gap(),
            receiver,
            last,
            pending: VecDeque::new(),
        };
        let live = futures_util::stream::unfold(live, |mut live| async move {
            let frame = live.next().await?;
            Some((frame, live))
        });
        Subscription {
            replayed: replayed.into_iter(),
            live: Box::pin(live),
            resume,
        }
    }

    /// How many subscriptions of this instance are open.
    pub fn subscriber_count(&self) -> usize {
        self.shared.lock().sender.receiver_count()
    }
}

/// The live part of an in-memory subscription.
struct MemoryLive {
    /// Weak, so that the subscription ends once every broadcaster handle is dropped.
    shared: std::sync::Weak<Shared>,
    gap: GapWriter,
    receiver: broadcast::Receiver<Item>,
    /// The place of the last frame with an id this subscriber got (or was past when it started).
    last: Pos,
    pending: VecDeque<Bytes>,
}

impl MemoryLive {
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            match self.receiver.recv().await {
                Ok(Item::Frame { pos: None, frame }) => return Some(frame),
                Ok(Item::Frame {
                    pos: Some(pos),
                    frame,
                }) => {
                    if pos > self.last {
                        self.last = pos;
                        return Some(frame);
                    }
                }
                Ok(Item::Gap) => {
                    return Some(self.gap.gap_frame(None, GapReason::Expired, None));
                }
                Err(RecvError::Closed) => return None,
                Err(RecvError::Lagged(_)) => {
                    // Fell behind the live feed: go back to the log from the last frame got.
                    let shared = self.shared.upgrade()?;
                    let local = shared.lock();
                    self.receiver = local.sender.subscribe();
                    match local.after(self.last.1) {
                        Ok(frames) => self.pending.extend(frames),
                        Err(reason) => {
                            let asked = format!("{}.{}", local.epoch, self.last.1);
                            let gap =
                                self.gap
                                    .gap_frame(Some(&asked), reason, Some(&local.head_id()));
                            self.pending.push_back(gap);
                        }
                    }
                    self.last = Pos(0, local.head());
                }
            }
        }
    }
}

/// The frames of one subscriber: replayed ones first, then live ones. Ends when every
/// [`Broadcaster`] handle is dropped.
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
