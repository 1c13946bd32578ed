//! The Redis backplane: an SSE stream's replay log in a Redis Stream, read by one task per
//! instance and fanned out locally; WebSocket hub groups spanning instances through Redis
//! pub/sub. Uses the `redis` crate over tokio (Redis 7 or newer).
//!
//! ```no_run
//! # async fn run() -> Result<(), wiregen_runtime::backplane::BackplaneError> {
//! use wiregen_runtime::backplane::redis::{Redis, StreamConfig};
//! use wiregen_runtime::sse::broadcast::Broadcaster;
//!
//! let redis = Redis::connect("redis://127.0.0.1:6379").await?;
//! // Every instance that opens "notifications" shares its log and its subscribers' feed.
//! let notifications = Broadcaster::redis(&redis, "notifications", StreamConfig::new());
//! # let _ = notifications; Ok(()) }
//! ```
//!
//! **SSE.** [`Broadcaster::publish`](crate::sse::broadcast::Broadcaster::publish) appends the encoded event (without its `id:` line) to the
//! stream `<prefix>:sse:<name>` with `XADD … MAXLEN ~ <max_len>` (and `MINID ~` for an age bound)
//! and returns the id Redis gave it. Each instance's reader follows the stream with
//! `XREAD BLOCK`, writes each entry's frame once (`id: <stream id>` + the stored bytes) and hands
//! it to its local subscribers: every subscriber of every instance gets every event exactly
//! once, in the stream's order. A subscriber resuming after id `L` is caught up from the
//! entries its instance keeps in memory when they run on from `L` ([`StreamConfig::cache`]),
//! else it reads `XRANGE L + …` page by page (at most 16 pages at once per stream and
//! instance, on a connection apart from publishing): the resume is exact when `L` is still in
//! the stream; otherwise it gets a gap event (reason `expired` when the stream has moved past
//! it, `unknown` when it is not an id of this stream), with the newest entry's id, then the
//! live events.
//! While Redis cannot be reached, publishing fails with [`PublishError::Unavailable`](super::PublishError::Unavailable),
//! subscribers stay connected (keep-alives go on), and when Redis is back every reader and
//! resuming subscriber continues from the last id it saw; if the stream was trimmed past that
//! id meanwhile, subscribers get a gap event.
//!
//! **WebSocket.** A [`Hub`](crate::ws::server::Hub) made with
//! [`Hub::redis`](crate::ws::server::Hub::redis) delivers each message to its local members at
//! once and publishes the encoded frame, with its key and this instance's id, on the channel
//! `<prefix>:hub:<name>`; every other instance subscribed to it delivers the frame to its own
//! members of that key (each instance decodes nothing and encodes nothing: the frame bytes are
//! shared). Pub/sub keeps no history: messages published while an instance is cut off from
//! Redis do not reach its members.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::Client;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::BackplaneError;

/// A connection to Redis shared by the broadcasters and hubs of one server instance. Cheap to
/// clone. Commands that fail because Redis cannot be reached return errors at once; the
/// connection is made again in the background.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// Publishing (`XADD`, `PUBLISH`).
    manager: ConnectionManager,
    /// Reading the log (catching subscribers up), on a connection of its own so that a crowd
    /// of subscribers catching up never delays publishing.
    #[cfg(feature = "sse-server")]
    reads: ConnectionManager,
    config: RedisConfig,
    /// This instance's id on the backplane: hub messages it published come back to it on its
    /// own subscription and are skipped by it.
    instance: u64,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.inner.config.prefix)
            .field("instance", &self.inner.instance)
            .finish_non_exhaustive()
    }
}

/// Settings of the Redis backplane.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// The prefix of every key and channel (default `wiregen`): `<prefix>:sse:<name>` for a
    /// stream, `<prefix>:hub:<name>` for a hub.
    pub prefix: String,
    /// How long a command may take before it fails (default 2 s).
    pub response_timeout: Duration,
    /// How long connecting may take (default 2 s).
    pub connect_timeout: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            prefix: "wiregen".to_owned(),
            response_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

impl RedisConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set [`prefix`](Self::prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

pub(crate) fn unavailable(error: redis::RedisError) -> BackplaneError {
    BackplaneError::new(error.to_string())
}

impl Redis {
    /// Connect to the Redis at `url` (`redis://host:port[/db]`) with the default settings.
    pub async fn connect(url: &str) -> Result<Redis, BackplaneError> {
        Self::connect_with(url, RedisConfig::default()).await
    }

    /// Connect to the Redis at `url` with `config`. Fails when Redis cannot be reached now; once
    /// connected, losing Redis later only makes commands fail until it is back.
    pub async fn connect_with(url: &str, config: RedisConfig) -> Result<Redis, BackplaneError> {
        let client = Client::open(url).map_err(unavailable)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.response_timeout))
            .set_connection_timeout(Some(config.connect_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        #[cfg(feature = "sse-server")]
        let reads = client
            .get_connection_manager_with_config(manager_config.clone())
            .await
            .map_err(unavailable)?;
        let manager = client
            .get_connection_manager_with_config(manager_config)
            .await
            .map_err(unavailable)?;
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        let instance = u64::from(std::process::id()) << 32
            | (INSTANCES.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff)
                ^ (std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos() as u64));
        Ok(Redis {
            inner: Arc::new(Inner {
                client,
                manager,
                #[cfg(feature = "sse-server")]
                reads,
                config,
                instance,
            }),
        })
    }

    pub(crate) fn key(&self, kind: &str, name: &str) -> String {
        format!("{}:{kind}:{name}", self.inner.config.prefix)
    }

    pub(crate) fn manager(&self) -> ConnectionManager {
        self.inner.manager.clone()
    }

    /// The connection that reads the log.
    #[cfg(feature = "sse-server")]
    pub(crate) fn reads(&self) -> ConnectionManager {
        self.inner.reads.clone()
    }

    #[cfg(feature = "ws-server")]
    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    #[cfg(feature = "ws-server")]
    pub(crate) fn instance(&self) -> u64 {
        self.inner.instance
    }

    /// A dedicated connection whose commands may block for `block` (an `XREAD BLOCK`).
    #[cfg(feature = "sse-server")]
    pub(crate) async fn blocking_connection(
        &self,
        block: Duration,
    ) -> Result<redis::aio::MultiplexedConnection, BackplaneError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.inner.config.connect_timeout))
            .set_response_timeout(Some(block + self.inner.config.response_timeout));
        self.inner
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(unavailable)
    }
}

/// How much of a stream Redis keeps: the resume window.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retention {
    /// Keep about this many entries (`XADD … MAXLEN ~ n`: Redis trims whole nodes, so a few
    /// more may stay). Default: 10,000.
    pub max_len: Option<usize>,
    /// Keep entries at least this young (`MINID ~ <now − age>`). Default: none.
    pub max_age: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_len: Some(10_000),
            max_age: None,
        }
    }
}

impl Retention {
    /// The default retention: about 10,000 entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set [`max_len`](Self::max_len).
    pub fn max_len(mut self, entries: Option<usize>) -> Self {
        self.max_len = entries;
        self
    }

    /// Set [`max_age`](Self::max_age).
    pub fn max_age(mut self, age: Option<Duration>) -> Self {
        self.max_age = age;
        self
    }
}

/// Settings of a stream on Redis.
#[cfg(feature = "sse-server")]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// The local fan-out: `capacity` and `gap_event` apply; `replay` does not (the stream is
    /// the log).
    pub broadcast: crate::sse::broadcast::BroadcastConfig,
    /// How much of the stream Redis keeps.
    pub retention: Retention,
    /// How many entries one `XRANGE`/`XREAD` reads (default 512).
    pub page: usize,
    /// How long a reader's `XREAD` blocks before it asks again (default 5 s).
    pub block: Duration,
    /// How many entries of the stream each instance keeps in memory (the newest its reader got,
    /// and pages read for subscribers catching up; the oldest leave first) to catch subscribers
    /// up without asking Redis: a crowd reconnecting after a blip costs Redis nothing, and
    /// subscribers catching up from nearby places share the pages one of them read. Default
    /// 10,000; never more than the retention's `max_len` or [`cache_bytes`](Self::cache_bytes),
    /// and an id older than its `max_age` is always checked with Redis; 0 keeps none.
    pub cache: usize,
    /// The most bytes of frames the cache holds (default 32 MiB): with large events, fewer
    /// than [`cache`](Self::cache) entries are kept.
    pub cache_bytes: usize,
}

#[cfg(feature = "sse-server")]
impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            broadcast: crate::sse::broadcast::BroadcastConfig::default(),
            retention: Retention::default(),
            page: 512,
            block: Duration::from_secs(5),
            cache: 10_000,
            cache_bytes: 32 << 20,
        }
    }
}

#[cfg(feature = "sse-server")]
impl StreamConfig {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set [`broadcast`](Self::broadcast).
    pub fn broadcast(mut self, config: crate::sse::broadcast::BroadcastConfig) -> Self {
        self.broadcast = config;
        self
    }

    /// Set [`retention`](Self::retention).
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Set [`cache`](Self::cache).
    pub fn cache(mut self, entries: usize) -> Self {
        self.cache = entries;
        self
    }

    /// Set [`cache_bytes`](Self::cache_bytes).
    pub fn cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }
}

#[cfg(feature = "sse-server")]
pub(crate) use sse::{Start, StreamLog};

#[cfg(feature = "ws-server")]
pub(crate) use hub::Relay;

#[cfg(feature = "ws-server")]
mod hub {
    use std::hash::Hash;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Weak};
    use std::time::Duration;

    use futures_util::StreamExt;
    use tokio::sync::{mpsc, oneshot};

    use super::{Redis, unavailable};
    use crate::backplane::BackplaneError;
    use crate::ws::server::Hub;
    use crate::ws::{Frame, MessageSet};

    /// How many messages may wait for Redis per hub before [`Hub::send`] reports them as not
    /// relayed.
    const QUEUE: usize = 8192;

    /// A message on its way to Redis, and who waits for the answer.
    struct Outgoing {
        payload: Vec<u8>,
        done: Option<oneshot::Sender<Result<(), BackplaneError>>>,
    }

    /// A hub's way to the other instances: a queue to its publishing task.
    pub(crate) struct Relay<K> {
        queue: mpsc::Sender<Outgoing>,
        encode_key: fn(&K) -> Option<Vec<u8>>,
        instance: u64,
        /// The last publish failed: `send` reports that the message may not reach the other
        /// instances.
        down: Arc<AtomicBool>,
    }

    /// `instance` (8 bytes), frame kind (`t` or `b`), key length (4 bytes), key (JSON), frame.
    fn payload(instance: u64, key: &[u8], frame: &Frame) -> Vec<u8> {
        let (kind, bytes) = match frame {
            Frame::Text(bytes) => (b't', bytes),
            Frame::Binary(bytes) => (b'b', bytes),
        };
        let mut out = Vec::with_capacity(13 + key.len() + bytes.len());
        out.extend_from_slice(&instance.to_be_bytes());
        out.push(kind);
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(bytes);
        out
    }

    /// The parts of a payload: instance, key, frame.
    fn parse(payload: &[u8]) -> Option<(u64, &[u8], Frame)> {
        let instance = u64::from_be_bytes(payload.get(..8)?.try_into().ok()?);
        let kind = *payload.get(8)?;
        let len = u32::from_be_bytes(payload.get(9..13)?.try_into().ok()?) as usize;
        let key = payload.get(13..13usize.checked_add(len)?)?;
        let bytes = bytes::Bytes::copy_from_slice(payload.get(13 + len..)?);
        let frame = match kind {
            b't' => Frame::Text(bytes),
            b'b' => Frame::Binary(bytes),
            _ => return None,
        };
        Some((instance, key, frame))
    }

    impl<K> Relay<K> {
        /// Hand a frame for `key` to the publishing task. An error when it could not be queued,
        /// or when Redis could not be reached at the last attempt (the frame is queued all the
        /// same: it is published if Redis is back by then, and that attempt tells whether it is).
        pub(crate) fn relay(
            &self,
            key: &K,
            frame: &Frame,
            done: Option<oneshot::Sender<Result<(), BackplaneError>>>,
        ) -> Result<(), BackplaneError> {
            let key = (self.encode_key)(key)
                .ok_or_else(|| BackplaneError::new("the hub key does not serialize"))?;
            let payload = payload(self.instance, &key, frame);
            let waits = done.is_some();
            self.queue
                .try_send(Outgoing { payload, done })
                .map_err(|_| BackplaneError::new("too many messages wait for Redis"))?;
            if !waits && self.down.load(Ordering::Relaxed) {
                return Err(BackplaneError::new("Redis could not be reached"));
            }
            Ok(())
        }
    }

    impl<K, M> Hub<K, M>
    where
        K: Eq
            + Hash
            + Clone
            + Send
            + Sync
            + serde::Serialize
            + serde::de::DeserializeOwned
            + 'static,
        M: MessageSet,
    {
        /// A hub whose groups span every instance that opens `name` on this Redis (channel
        /// `<prefix>:hub:<name>`): each message is delivered to this instance's members at once
        /// and published once; every other instance delivers the same frame to its members of
        /// the key. Keys travel as JSON. Returns once the subscription is confirmed, so messages
        /// published on other instances from then on arrive here. Must be called inside a tokio
        /// runtime (it starts two tasks, which end when the last handle is dropped).
        pub async fn redis(redis: &Redis, name: &str) -> Result<Self, BackplaneError> {
            let channel = redis.key("hub", name);
            let mut pubsub = redis
                .client()
                .get_async_pubsub()
                .await
                .map_err(unavailable)?;
            pubsub.subscribe(&channel).await.map_err(unavailable)?;
            let (queue, outgoing) = mpsc::channel(QUEUE);
            let down = Arc::new(AtomicBool::new(false));
            let relay = Relay {
                queue,
                encode_key: |key: &K| serde_json::to_vec(key).ok(),
                instance: redis.instance(),
                down: down.clone(),
            };
            let shared = Arc::new(Hub::<K, M>::shared_with_relay(relay));
            tokio::spawn(publish(redis.clone(), channel.clone(), outgoing, down));
            tokio::spawn(listen::<K>(
                redis.clone(),
                channel,
                pubsub,
                Arc::downgrade(&shared),
            ));
            Ok(Hub::from_shared(shared))
        }
    }

    /// Publishes what the hub queues, in order, many messages per round trip.
    async fn publish(
        redis: Redis,
        channel: String,
        mut outgoing: mpsc::Receiver<Outgoing>,
        down: Arc<AtomicBool>,
    ) {
        let mut connection = redis.manager();
        let mut batch = Vec::new();
        while outgoing.recv_many(&mut batch, 256).await > 0 {
            let mut pipe = redis::pipe();
            for message in &batch {
                pipe.cmd("PUBLISH")
                    .arg(&channel)
                    .arg(&message.payload[..])
                    .ignore();
            }
            let result: Result<(), BackplaneError> = pipe
                .query_async::<()>(&mut connection)
                .await
                .map_err(unavailable);
            down.store(result.is_err(), Ordering::Relaxed);
            for message in batch.drain(..) {
                if let Some(done) = message.done {
                    let _ = done.send(result.clone());
                }
            }
        }
    }

    /// Delivers what other instances publish to this instance's members, subscribing again
    /// whenever the connection is lost, until the hub is dropped.
    async fn listen<K>(
        redis: Redis,
        channel: String,
        first: redis::aio::PubSub,
        shared: Weak<crate::ws::hub::Shared<K>>,
    ) where
        K: Eq + Hash + serde::de::DeserializeOwned,
    {
        let mut pubsub = Some(first);
        let mut wait = Duration::from_millis(50);
        while shared.strong_count() > 0 {
            let current = match pubsub.take() {
                Some(current) => current,
                None => {
                    let subscribed = async {
                        let mut pubsub = redis.client().get_async_pubsub().await?;
                        pubsub.subscribe(&channel).await?;
                        Ok::<_, redis::RedisError>(pubsub)
                    };
                    match subscribed.await {
                        Ok(pubsub) => {
                            wait = Duration::from_millis(50);
                            pubsub
                        }
                        Err(_) => {
                            tokio::time::sleep(wait).await;
                            wait = (wait * 2).min(Duration::from_secs(2));
                            continue;
                        }
                    }
                }
            };
            let mut messages = current.into_on_message();
            loop {
                let next = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
                let Some(hub) = shared.upgrade() else { return };
                let message = match next {
                    Err(_) => continue,
                    Ok(None) => break,
                    Ok(Some(message)) => message,
                };
                let Some((instance, key, frame)) = parse(message.get_payload_bytes()) else {
                    continue;
                };
                if instance == redis.instance() {
                    continue;
                }
                let Ok(key) = serde_json::from_slice::<K>(key) else {
                    continue;
                };
                if let Some(message) = crate::ws::server::to_message(frame) {
                    hub.deliver(&key, &message);
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn payloads_round_trip_and_truncated_ones_are_refused() {
            let frame = Frame::Text(bytes::Bytes::from_static(b"{\"a\":1}"));
            let out = payload(7, b"\"k\"", &frame);
            assert_eq!(parse(&out), Some((7, &b"\"k\""[..], frame)));
            for cut in 0..13 + 3 {
                assert_eq!(parse(&out[..cut]), None, "{cut}");
            }
            let mut binary = payload(1, b"1", &Frame::Binary(bytes::Bytes::from_static(b"\0")));
            binary[8] = b'x';
            assert_eq!(parse(&binary), None);
        }
    }
}

#[cfg(feature = "sse-server")]
mod sse {
    use std::collections::{BTreeMap, VecDeque, btree_map};
    use std::ops::Bound;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::Bytes;
    use futures_core::Stream;
    use tokio::sync::{Semaphore, broadcast, watch};

    use redis::Value;

    use super::{Redis, StreamConfig, unavailable};
    use crate::backplane::{BackplaneError, PublishError};
    use crate::sse::broadcast::{Broadcaster, GapReason, GapWriter, Item, Pos, Shared};

    impl Broadcaster {
        /// A broadcaster whose log is the Redis Stream `<prefix>:sse:<name>`, shared with every
        /// instance that opens the same name (see the [module docs](super)). Starts this
        /// instance's reader task, so it must be called inside a tokio runtime; the task ends
        /// when the last handle is dropped.
        pub fn redis(redis: &Redis, name: &str, config: StreamConfig) -> Broadcaster {
            let (started, _) = watch::channel(false);
            let log = Arc::new(StreamLog {
                redis: redis.clone(),
                key: redis.key("sse", name),
                cache: Mutex::new(Cache::new(&config)),
                reads: Semaphore::new(READS),
                config: config.clone(),
                started,
            });
            let shared = Broadcaster::shared(&config.broadcast, 0);
            let shared = Arc::new(Broadcaster::with_redis_log(shared, log.clone()));
            let feed = Broadcaster::sender_of(&shared).downgrade();
            tokio::spawn(log.read(feed));
            Broadcaster::from_shared(shared)
        }
    }

    /// Where a subscription starts.
    pub(crate) enum Start {
        /// After the event with this id.
        After(String),
        /// At the oldest entry kept.
        Oldest,
        /// With the live feed.
        Now,
    }

    pub(crate) struct StreamLog {
        redis: Redis,
        key: String,
        config: StreamConfig,
        /// Set once the reader knows where it starts: a subscriber's catch-up, read after that,
        /// reaches at least there, and the reader delivers everything after it.
        started: watch::Sender<bool>,
        /// Entries read, for catching up without Redis.
        cache: Mutex<Cache>,
        /// Bounds the catch-up reads in flight on this instance: a crowd of subscribers
        /// resuming at once queues here, not in Redis's reply buffers, and no read waits on
        /// the others long enough to time out (which would make it read again).
        reads: Semaphore,
    }

    /// How many catch-up pages one instance reads from Redis at once, per stream.
    const READS: usize = 16;

    /// One entry: its place, its id, its frame (`id:` line included).
    type Entry = (Pos, String, Bytes);

    /// Entries of the stream this instance has read, by its reader or for a subscriber's
    /// catch-up, at most `capacity` of them and `max_bytes` of frames (the oldest leave
    /// first). Each knows whether the next one kept is its successor in the stream, so a run
    /// of them answers a catch-up without Redis, and subscribers catching up from nearby
    /// places share what one of them read.
    struct Cache {
        entries: BTreeMap<Pos, Cached>,
        /// The newest entry the reader handed to the live feed: a catch-up that reaches it is
        /// done (what follows comes on the feed).
        tip: Option<Pos>,
        capacity: usize,
        /// The bytes of the frames and ids kept, and their bound.
        bytes: usize,
        max_bytes: usize,
        max_age: Option<Duration>,
    }

    struct Cached {
        id: String,
        frame: Bytes,
        /// The next entry kept is this one's successor in the stream.
        linked: bool,
    }

    impl Cache {
        fn new(config: &StreamConfig) -> Cache {
            let capacity = match config.retention.max_len {
                Some(len) => config.cache.min(len),
                None => config.cache,
            };
            Cache {
                entries: BTreeMap::new(),
                tip: None,
                capacity,
                bytes: 0,
                max_bytes: config.cache_bytes,
                max_age: config.retention.max_age,
            }
        }

        /// Keep `run`, consecutive entries of the stream in order, the first one following
        /// `after` when that is given.
        fn keep_run(&mut self, after: Option<Pos>, run: &[Entry]) {
            if self.capacity == 0 {
                return;
            }
            let mut previous = after;
            for (pos, id, frame) in run {
                if let Some(previous) = previous.and_then(|p| self.entries.get_mut(&p)) {
                    previous.linked = true;
                }
                if let btree_map::Entry::Vacant(vacant) = self.entries.entry(*pos) {
                    self.bytes += id.len() + frame.len();
                    vacant.insert(Cached {
                        id: id.clone(),
                        frame: frame.clone(),
                        linked: false,
                    });
                }
                previous = Some(*pos);
            }
            // The oldest leave: nothing kept links to the first one.
            while self.entries.len() > self.capacity || self.bytes > self.max_bytes {
                let Some((_, oldest)) = self.entries.pop_first() else {
                    break;
                };
                self.bytes -= oldest.id.len() + oldest.frame.len();
            }
        }

        /// The reader starts at `head` (its first start: the newest entry, if any), or starts
        /// again after its tip; `lost`: entries after the tip were deleted meanwhile, so what
        /// it gets next does not follow the tip.
        fn restart(&mut self, head: Option<&Entry>, lost: bool) {
            if let Some(head) = head {
                self.keep_run(None, std::slice::from_ref(head));
                self.tip = Some(head.0);
            } else if lost {
                self.tip = None;
            }
        }

        /// The reader got `run`, the next entries of the stream, and hands them to the feed.
        fn reader_got(&mut self, run: &[Entry]) {
            self.keep_run(self.tip, run);
            if let Some((pos, _, _)) = run.last() {
                self.tip = Some(*pos);
            }
        }

        /// Up to `page` entries after `from` and whether more follow, when the entries kept
        /// run on from it; `None`: ask Redis.
        fn after(&self, from: Pos, page: usize) -> Option<(Vec<Entry>, bool)> {
            // Older than the retention's age: Redis decides whether it is still there.
            if let Some(age) = self.max_age
                && from.0 < now_ms().saturating_sub(age.as_millis() as u64)
            {
                return None;
            }
            let mut cursor = from;
            let mut cached = self.entries.get(&from)?;
            let mut out = Vec::new();
            while out.len() < page && cached.linked {
                let Some((pos, next)) = self
                    .entries
                    .range((Bound::Excluded(cursor), Bound::Unbounded))
                    .next()
                else {
                    break;
                };
                out.push((*pos, next.id.clone(), next.frame.clone()));
                cursor = *pos;
                cached = next;
            }
            let done = self.tip == Some(cursor);
            if out.is_empty() && !done {
                return None;
            }
            Some((out, !done))
        }
    }

    /// A page of catching up.
    enum Catchup {
        /// The entries after the place asked for; `more` when the page was full.
        Entries { entries: Vec<Entry>, more: bool },
        /// The place asked for is not in the stream; `head` is its newest entry.
        Gap {
            reason: GapReason,
            head: Option<(Pos, String)>,
        },
    }

    /// A stream id `<ms>-<n>`.
    pub(crate) fn parse_id(id: &str) -> Option<Pos> {
        let (ms, seq) = id.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(Pos(ms.parse().ok()?, seq.parse().ok()?))
    }

    fn text(value: &Value) -> Option<String> {
        match value {
            Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
            Value::SimpleString(text) => Some(text.clone()),
            _ => None,
        }
    }

    fn into_text(value: Value) -> Option<String> {
        match value {
            Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
            Value::SimpleString(text) => Some(text),
            _ => None,
        }
    }

    /// The entries of an `XRANGE` / `XREVRANGE` reply (or of one stream of an `XREAD` reply),
    /// each with its frame written; entries that are not ours are skipped.
    fn entries(value: Value) -> Vec<Entry> {
        let Value::Array(items) = value else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Value::Array(mut parts) = item else {
                continue;
            };
            if parts.len() != 2 {
                continue;
            }
            let fields = parts.pop();
            let Some(id) = parts.pop().and_then(into_text) else {
                continue;
            };
            let Some(pos) = parse_id(&id) else { continue };
            let Some(Value::Array(fields)) = fields else {
                continue;
            };
            let body = fields.chunks(2).find_map(|pair| match pair {
                [Value::BulkString(name), Value::BulkString(body)] if name == b"f" => Some(body),
                [Value::SimpleString(name), Value::BulkString(body)] if name == "f" => Some(body),
                _ => None,
            });
            let Some(body) = body else { continue };
            let mut frame = Vec::with_capacity(id.len() + 5 + body.len());
            frame.extend_from_slice(b"id: ");
            frame.extend_from_slice(id.as_bytes());
            frame.push(b'\n');
            frame.extend_from_slice(body);
            out.push((pos, id, Bytes::from(frame)));
        }
        out
    }

    /// A field of an `XINFO STREAM` reply.
    fn info_field(value: &Value, name: &str) -> Option<String> {
        match value {
            Value::Array(items) => items
                .chunks(2)
                .find(|pair| text(&pair[0]).as_deref() == Some(name))
                .and_then(|pair| pair.get(1))
                .and_then(text),
            Value::Map(pairs) => pairs
                .iter()
                .find(|(key, _)| text(key).as_deref() == Some(name))
                .and_then(|(_, value)| text(value)),
            _ => None,
        }
    }

    fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    impl StreamLog {
        /// Wait until the reader knows where it starts.
        pub(crate) async fn ready(&self) {
            let mut started = self.started.subscribe();
            let _ = started.wait_for(|started| *started).await;
        }

        /// Append an event's encoded body; the id Redis gave it.
        pub(crate) async fn append(&self, body: Vec<u8>) -> Result<String, PublishError> {
            let retention = &self.config.retention;
            let min_id = retention
                .max_age
                .map(|age| format!("{}-0", now_ms().saturating_sub(age.as_millis() as u64)));
            let mut xadd = redis::cmd("XADD");
            xadd.arg(&self.key);
            match (retention.max_len, &min_id) {
                (Some(len), _) => {
                    xadd.arg("MAXLEN").arg("~").arg(len);
                }
                (None, Some(min_id)) => {
                    xadd.arg("MINID").arg("~").arg(min_id);
                }
                (None, None) => {}
            }
            xadd.arg("*").arg("f").arg(body);
            let mut connection = self.redis.manager();
            let id: String = match (retention.max_len, min_id) {
                (Some(_), Some(min_id)) => {
                    let mut pipe = redis::pipe();
                    pipe.add_command(xadd);
                    pipe.cmd("XTRIM")
                        .arg(&self.key)
                        .arg("MINID")
                        .arg("~")
                        .arg(min_id)
                        .ignore();
                    let (id,): (String,) = pipe
                        .query_async(&mut connection)
                        .await
                        .map_err(unavailable)?;
                    id
                }
                _ => xadd
                    .query_async(&mut connection)
                    .await
                    .map_err(unavailable)?,
            };
            Ok(id)
        }

        /// Append several encoded bodies in one pipeline, in order; their ids.
        pub(crate) async fn append_all(
            &self,
            bodies: Vec<Vec<u8>>,
        ) -> Vec<Result<String, PublishError>> {
            if bodies.is_empty() {
                return Vec::new();
            }
            let count = bodies.len();
            let retention = &self.config.retention;
            let min_id = retention
                .max_age
                .map(|age| format!("{}-0", now_ms().saturating_sub(age.as_millis() as u64)));
            let mut pipe = redis::pipe();
            for body in bodies {
                let xadd = pipe.cmd("XADD").arg(&self.key);
                match (retention.max_len, &min_id) {
                    (Some(len), _) => {
                        xadd.arg("MAXLEN").arg("~").arg(len);
                    }
                    (None, Some(min_id)) => {
                        xadd.arg("MINID").arg("~").arg(min_id);
                    }
                    (None, None) => {}
                }
                xadd.arg("*").arg("f").arg(body);
            }
            if let (Some(_), Some(min_id)) = (retention.max_len, &min_id) {
                pipe.cmd("XTRIM")
                    .arg(&self.key)
                    .arg("MINID")
                    .arg("~")
                    .arg(min_id)
                    .ignore();
            }
            let mut connection = self.redis.manager();
            match pipe.query_async::<Vec<String>>(&mut connection).await {
                Ok(ids) if ids.len() == count => ids.into_iter().map(Ok).collect(),
                Ok(_) => (0..count)
                    .map(|_| Err(BackplaneError::new("Redis answered a pipeline short").into()))
                    .collect(),
                Err(error) => {
                    let error = unavailable(error);
                    (0..count).map(|_| Err(error.clone().into())).collect()
                }
            }
        }

        /// The newest entry's place and id, if any.
        async fn head(&self) -> Result<Option<(Pos, String)>, BackplaneError> {
            Ok(self.newest().await?.map(|(pos, id, _)| (pos, id)))
        }

        /// The newest entry, if any.
        async fn newest(&self) -> Result<Option<Entry>, BackplaneError> {
            let mut connection = self.redis.reads();
            let reply: Value = redis::cmd("XREVRANGE")
                .arg(&self.key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(entries(reply).into_iter().next())
        }

        /// The next page after `from` (`None`: from the oldest entry), checking that `from` is
        /// still in the stream: from the entries kept when they run on from it, else from
        /// Redis.
        async fn catchup(&self, from: Option<&str>) -> Result<Catchup, BackplaneError> {
            let page = self.config.page.max(1);
            let kept = || {
                let pos = from.and_then(parse_id)?;
                self.cache().after(pos, page)
            };
            if let Some((entries, more)) = kept() {
                return Ok(Catchup::Entries { entries, more });
            }
            let _turn = self
                .reads
                .acquire()
                .await
                .map_err(|_| BackplaneError::new("the stream is closed"))?;
            // A read done for another subscriber while this one waited may have brought it.
            if let Some((entries, more)) = kept() {
                return Ok(Catchup::Entries { entries, more });
            }
            let mut connection = self.redis.reads();
            let Some(from) = from else {
                let reply: Value = redis::cmd("XRANGE")
                    .arg(&self.key)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(page)
                    .query_async(&mut connection)
                    .await
                    .map_err(unavailable)?;
                let entries = entries(reply);
                self.cache().keep_run(None, &entries);
                let more = entries.len() == page;
                return Ok(Catchup::Entries { entries, more });
            };
            let Some(pos) = parse_id(from) else {
                let head = self.head().await?;
                return Ok(Catchup::Gap {
                    reason: GapReason::Unknown,
                    head,
                });
            };
            let reply: Value = redis::cmd("XRANGE")
                .arg(&self.key)
                .arg(from)
                .arg("+")
                .arg("COUNT")
                .arg(page + 1)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            let mut entries = entries(reply);
            if entries.first().is_some_and(|(first, _, _)| *first == pos) {
                self.cache().keep_run(None, &entries);
                let more = entries.len() == page + 1;
                entries.remove(0);
                return Ok(Catchup::Entries { entries, more });
            }
            let head = self.head().await?;
            let reason = match (&head, entries.first()) {
                // Newer entries exist but not this one: trimmed away (or lost).
                (_, Some(_)) => GapReason::Expired,
                (Some((newest, _)), None) if pos < *newest => GapReason::Expired,
                _ => GapReason::Unknown,
            };
            Ok(Catchup::Gap { reason, head })
        }

        /// Whether entries after `from` were deleted (trimmed) from the stream.
        async fn trimmed_after(&self, from: Pos) -> Result<bool, BackplaneError> {
            let mut connection = self.redis.reads();
            let reply: redis::RedisResult<Value> = redis::cmd("XINFO")
                .arg("STREAM")
                .arg(&self.key)
                .query_async(&mut connection)
                .await;
            match reply {
                Ok(info) => Ok(info_field(&info, "max-deleted-entry-id")
                    .and_then(|id| parse_id(&id))
                    .is_some_and(|deleted| deleted > from)),
                // No such key: everything is gone (unless nothing was ever there). Any other
                // error (a Redis still loading its data answers `LOADING`) is not an answer.
                Err(error)
                    if matches!(error.kind(), redis::ErrorKind::Server(_))
                        && error.to_string().contains("no such key") =>
                {
                    Ok(from != Pos(0, 0))
                }
                Err(error) => Err(unavailable(error)),
            }
        }

        fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
            self.cache.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// The reader: follows the stream from its newest entry and hands every entry to the
        /// local subscribers, until the broadcaster is dropped.
        async fn read(self: Arc<Self>, feed: broadcast::WeakSender<Item>) {
            let mut from: Option<Pos> = None;
            let mut backoff = Backoff::default();
            while feed.strong_count() > 0 {
                let mut connection = match self.redis.blocking_connection(self.config.block).await {
                    Ok(connection) => connection,
                    Err(_) => {
                        backoff.wait().await;
                        continue;
                    }
                };
                let start = match from {
                    None => match self.newest().await {
                        Ok(newest) => {
                            self.cache().restart(newest.as_ref(), false);
                            newest.map_or(Pos(0, 0), |(pos, _, _)| pos)
                        }
                        Err(_) => {
                            backoff.wait().await;
                            continue;
                        }
                    },
                    Some(from) => match self.trimmed_after(from).await {
                        Ok(trimmed) => {
                            self.cache().restart(None, trimmed);
                            if trimmed && let Some(feed) = feed.upgrade() {
                                let _ = feed.send(Item::Gap);
                            }
                            from
                        }
                        Err(_) => {
                            backoff.wait().await;
                            continue;
                        }
                    },
                };
                from = Some(start);
                self.started.send_replace(true);
                backoff = Backoff::default();
                let mut cursor = start;
                loop {
                    let reply: redis::RedisResult<Value> = redis::cmd("XREAD")
                        .arg("COUNT")
                        .arg(self.config.page.max(1))
                        .arg("BLOCK")
                        .arg(self.config.block.as_millis() as u64)
                        .arg("STREAMS")
                        .arg(&self.key)
                        .arg(format!("{}-{}", cursor.0, cursor.1))
                        .query_async(&mut connection)
                        .await;
                    let Some(feed) = feed.upgrade() else { return };
                    let reply = match reply {
                        Ok(reply) => reply,
                        Err(_) => break,
                    };
                    // [[key, entries]] (RESP2) or {key: entries} (RESP3); nil on a timeout.
                    let streams = match reply {
                        Value::Array(streams) => streams
                            .into_iter()
                            .filter_map(|stream| match stream {
                                Value::Array(mut parts) if parts.len() == 2 => parts.pop(),
                                _ => None,
                            })
                            .collect(),
                        Value::Map(pairs) => pairs.into_iter().map(|(_, v)| v).collect(),
                        _ => Vec::new(),
                    };
                    for stream in streams {
                        let mut got = entries(stream);
                        got.retain(|(pos, _, _)| *pos > cursor);
                        // Kept before they are sent: a subscriber whose catch-up stops short of
                        // an entry gets it on the feed it subscribed to before.
                        self.cache().reader_got(&got);
                        for (pos, _, frame) in got {
                            cursor = pos;
                            from = Some(pos);
                            let _ = feed.send(Item::Frame {
                                pos: Some(pos),
                                frame,
                            });
                        }
                    }
                }
                backoff.wait().await;
            }
        }

        /// A subscription's live part: catch-up pages from the stream where needed, then the
        /// local feed, deduplicated by place.
        pub(crate) fn subscription(
            self: Arc<Self>,
            shared: Arc<Shared>,
            receiver: broadcast::Receiver<Item>,
            start: Start,
        ) -> Pin<Box<dyn Stream<Item = Bytes> + Send>> {
            let (todo, asked) = match start {
                Start::After(id) => (Some(Todo::After(id.clone())), Some(id)),
                Start::Oldest => (Some(Todo::Oldest), None),
                Start::Now => (None, None),
            };
            let live = RedisLive {
                log: self,
                gap: shared.gap(),
                receiver,
                last: None,
                todo,
                asked,
                pending: VecDeque::new(),
                backoff: Backoff::default(),
            };
            Box::pin(futures_util::stream::unfold(live, |mut live| async move {
                let frame = live.next().await?;
                Some((frame, live))
            }))
        }
    }

    enum Todo {
        Oldest,
        After(String),
    }

    struct RedisLive {
        log: Arc<StreamLog>,
        gap: GapWriter,
        receiver: broadcast::Receiver<Item>,
        /// The place of the last frame this subscriber got.
        last: Option<Pos>,
        todo: Option<Todo>,
        /// The id the subscriber asked to resume after, until it is resolved.
        asked: Option<String>,
        pending: VecDeque<Bytes>,
        backoff: Backoff,
    }

    impl RedisLive {
        async fn next(&mut self) -> Option<Bytes> {
            loop {
                if let Some(frame) = self.pending.pop_front() {
                    return Some(frame);
                }
                if let Some(todo) = self.todo.take() {
                    let mut started = self.log.started.subscribe();
                    if started.wait_for(|started| *started).await.is_err() {
                        return None;
                    }
                    let from = match &todo {
                        Todo::Oldest => None,
                        Todo::After(id) => Some(id.as_str()),
                    };
                    match self.log.catchup(from).await {
                        Ok(Catchup::Entries { entries, more }) => {
                            self.backoff = Backoff::default();
                            self.asked = None;
                            let mut newest = None;
                            for (pos, id, frame) in entries {
                                if self.last.is_none_or(|last| pos > last) {
                                    self.last = Some(pos);
                                    self.pending.push_back(frame);
                                }
                                newest = Some(id);
                            }
                            if more && let Some(id) = newest {
                                self.todo = Some(Todo::After(id));
                            }
                        }
                        Ok(Catchup::Gap { reason, head }) => {
                            self.backoff = Backoff::default();
                            let asked = self.asked.take();
                            let gap = self.gap.gap_frame(
                                asked.as_deref(),
                                reason,
                                head.as_ref().map(|(_, id)| id.as_str()),
                            );
                            self.pending.push_back(gap);
                            if let Some((pos, _)) = head {
                                self.last = self.last.max(Some(pos));
                            }
                        }
                        Err(_) => {
                            // Redis is away: stay connected and try again.
                            self.todo = Some(todo);
                            self.backoff.wait().await;
                        }
                    }
                    continue;
                }
                match self.receiver.recv().await {
                    Ok(Item::Frame { pos: None, frame }) => return Some(frame),
                    Ok(Item::Frame {
                        pos: Some(pos),
                        frame,
                    }) => {
                        if self.last.is_none_or(|last| pos > last) {
                            self.last = Some(pos);
                            return Some(frame);
                        }
                    }
                    Ok(Item::Gap) => {
                        return Some(self.gap.gap_frame(None, GapReason::Expired, None));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Fell behind the local feed: read the stream from the last frame got.
                        self.receiver = self.receiver.resubscribe();
                        match self.last {
                            Some(Pos(ms, seq)) => {
                                let id = format!("{ms}-{seq}");
                                self.asked = Some(id.clone());
                                self.todo = Some(Todo::After(id));
                            }
                            None => {
                                let gap = self.gap.gap_frame(None, GapReason::Expired, None);
                                self.pending.push_back(gap);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Doubling waits between attempts to reach Redis: 50 ms up to 2 s.
    struct Backoff {
        next: Duration,
    }

    impl Default for Backoff {
        fn default() -> Self {
            Backoff {
                next: Duration::from_millis(50),
            }
        }
    }

    impl Backoff {
        async fn wait(&mut self) {
            tokio::time::sleep(self.next).await;
            self.next = (self.next * 2).min(Duration::from_secs(2));
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn stream_ids_parse_strictly() {
            assert_eq!(parse_id("1700000000000-3"), Some(Pos(1_700_000_000_000, 3)));
            assert_eq!(parse_id("0-0"), Some(Pos(0, 0)));
            for bad in ["", "-", "1-", "-1", "1", "a-1", "1-2-3", "1 -2", "+1-2"] {
                assert_eq!(parse_id(bad), None, "{bad}");
            }
        }

        fn entry(ms: u64) -> Entry {
            let id = format!("{ms}-0");
            let frame = Bytes::from(format!("id: {id}\ndata: {ms}\n\n"));
            (Pos(ms, 0), id, frame)
        }

        fn places(page: Option<(Vec<Entry>, bool)>) -> Option<(Vec<u64>, bool)> {
            page.map(|(entries, more)| (entries.iter().map(|(pos, _, _)| pos.0).collect(), more))
        }

        #[test]
        fn the_cache_answers_only_along_entries_known_to_follow_each_other() {
            let mut cache = Cache::new(&StreamConfig::new().cache(6));
            // Nothing known yet: Redis is asked.
            assert_eq!(places(cache.after(Pos(10, 0), 10)), None);
            // The reader starts at the newest entry and gets three more.
            cache.restart(Some(&entry(10)), false);
            assert_eq!(places(cache.after(Pos(10, 0), 10)), Some((vec![], false)));
            cache.reader_got(&[entry(20), entry(30), entry(40)]);
            assert_eq!(
                places(cache.after(Pos(10, 0), 10)),
                Some((vec![20, 30, 40], false))
            );
            assert_eq!(places(cache.after(Pos(30, 0), 10)), Some((vec![40], false)));
            assert_eq!(
                places(cache.after(Pos(10, 0), 2)),
                Some((vec![20, 30], true))
            );
            // Not an entry of the stream, or newer than any read: Redis decides.
            assert_eq!(places(cache.after(Pos(35, 0), 10)), None);
            assert_eq!(places(cache.after(Pos(50, 0), 10)), None);
            // A page read for a catch-up (from its first entry) runs on where it meets the rest.
            cache.keep_run(None, &[entry(1), entry(5)]);
            assert_eq!(places(cache.after(Pos(1, 0), 10)), Some((vec![5], true)));
            assert_eq!(places(cache.after(Pos(5, 0), 10)), None);
            cache.keep_run(None, &[entry(5), entry(7), entry(10)]);
            // Six kept at most: 1 left first, and nothing links to the oldest.
            assert_eq!(places(cache.after(Pos(1, 0), 10)), None);
            assert_eq!(
                places(cache.after(Pos(5, 0), 10)),
                Some((vec![7, 10, 20, 30, 40], false))
            );
            // The reader starts again with nothing lost: it runs on from its tip.
            cache.restart(None, false);
            cache.reader_got(&[entry(50)]);
            assert_eq!(
                places(cache.after(Pos(30, 0), 10)),
                Some((vec![40, 50], false))
            );
            // After a loss (entries deleted while it was away), what it gets next does not
            // follow what it had.
            cache.restart(None, true);
            cache.reader_got(&[entry(70), entry(80)]);
            assert_eq!(places(cache.after(Pos(40, 0), 10)), Some((vec![50], true)));
            assert_eq!(places(cache.after(Pos(50, 0), 10)), None);
            assert_eq!(places(cache.after(Pos(70, 0), 10)), Some((vec![80], false)));
        }

        #[test]
        fn the_cache_stays_within_the_retention() {
            let by_len = StreamConfig::new()
                .cache(100)
                .retention(crate::backplane::redis::Retention::new().max_len(Some(2)));
            let mut cache = Cache::new(&by_len);
            cache.restart(Some(&entry(10)), false);
            cache.reader_got(&[entry(20), entry(30)]);
            assert_eq!(places(cache.after(Pos(20, 0), 10)), Some((vec![30], false)));
            assert_eq!(places(cache.after(Pos(10, 0), 10)), None);

            let by_age = StreamConfig::new().retention(
                crate::backplane::redis::Retention::new()
                    .max_len(None)
                    .max_age(Some(Duration::from_secs(60))),
            );
            let mut cache = Cache::new(&by_age);
            let now = now_ms();
            let old = now - 120_000;
            cache.restart(Some(&entry(old)), false);
            cache.reader_got(&[entry(old + 1), entry(now), entry(now + 1)]);
            assert_eq!(places(cache.after(Pos(old, 0), 10)), None);
            assert_eq!(
                places(cache.after(Pos(now, 0), 10)),
                Some((vec![now + 1], false))
            );

            // By bytes: each test frame is 19 bytes and its id 4, so 50 bytes keep two.
            let mut by_bytes = Cache::new(&StreamConfig::new().cache_bytes(50));
            by_bytes.restart(Some(&entry(10)), false);
            by_bytes.reader_got(&[entry(20), entry(30)]);
            assert_eq!(by_bytes.entries.len(), 2);
            assert_eq!(by_bytes.bytes, 46);
            assert_eq!(
                places(by_bytes.after(Pos(20, 0), 10)),
                Some((vec![30], false))
            );
            assert_eq!(places(by_bytes.after(Pos(10, 0), 10)), None);

            let mut none = Cache::new(&StreamConfig::new().cache(0));
            none.restart(Some(&entry(10)), false);
            none.reader_got(&[entry(20)]);
            assert_eq!(places(none.after(Pos(10, 0), 10)), None);
        }
    }
}
