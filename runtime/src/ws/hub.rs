//! The broadcast [`Hub`]: connections of one channel grouped by a key (an auction id), each
//! message encoded once into its group's ring, which every member reads with a cursor of its own.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::ws::Message;

use super::server::{Outbound, Queue, STAMPS, payload_len, to_message};
use super::wire::Taker;
use super::{EncodeError, Frame, MessageSet};

/// Fans messages out to the connections of one channel, grouped by a key (usually the channel's
/// address parameters, such as an auction id): each message is encoded once and written once,
/// into the group's ring; every member reads the ring from where it stopped, taking everything
/// it has not written yet in one go.
///
/// Memory stays bounded per member as with [`Outbound::send`]: a member that falls behind the
/// ring by more than its connection's [`queue_capacity`](super::server::ServerConfig::queue_capacity)
/// frames or [`queue_bytes`](super::server::ServerConfig::queue_bytes) bytes is closed with
/// 1008 (policy violation) and leaves the group, and a frame is dropped from the ring as soon
/// as every member has taken it.
///
/// Cloning gives another handle to the same hub. A member leaves when its [`Membership`] is
/// dropped or its connection ends.
///
/// With the `redis` feature, [`Hub::redis`] makes a hub whose groups span every server instance
/// that opens the same name: a message sent on one instance reaches the members on all of them,
/// each exactly once (see [`crate::backplane::redis`]).
pub struct Hub<K, M> {
    shared: Arc<Shared<K>>,
    _message: PhantomData<fn(M)>,
}

pub(crate) struct Shared<K> {
    rooms: Mutex<HashMap<K, Arc<Ring>>>,
    /// Where messages go for the members on other instances.
    #[cfg(feature = "redis")]
    relay: Option<crate::backplane::redis::Relay<K>>,
}

impl<K> Default for Shared<K> {
    fn default() -> Self {
        Shared {
            rooms: Mutex::default(),
            #[cfg(feature = "redis")]
            relay: None,
        }
    }
}

impl<K: Eq + Hash> Shared<K> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Arc<Ring>>> {
        // Every update leaves the map consistent, so a poisoned lock is still usable.
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Put a frame on the ring of this instance's members of `key`.
    pub(crate) fn deliver(&self, key: &K, message: &Message) -> Delivery {
        let ring = self.lock().get(key).cloned();
        match ring {
            Some(ring) => ring.push(message),
            None => Delivery::default(),
        }
    }
}

/// One group's frames, written once and read by every member with a cursor of its own.
///
/// Positions count every frame ever pushed; `slots[0]` is at position `first`, and the ring
/// holds only frames some member has not taken yet, so it is never longer than the largest
/// member bound (a member behind by more is closed and leaves).
pub(super) struct Ring {
    state: Mutex<RingState>,
}

#[derive(Default)]
struct RingState {
    slots: VecDeque<Slot>,
    /// The position of `slots[0]`.
    first: u64,
    /// The payload bytes ever pushed: the bytes from a position to the end are a difference.
    pushed_bytes: u64,
    members: HashMap<u64, Member>,
    /// Members that have taken everything and wait for the next frame: woken once by it.
    waiting: Vec<Arc<Queue>>,
    /// Counts the times `waiting` was emptied, so a member registers once per wake-up.
    round: u64,
    /// The smallest bounds among the members (a lower bound once members with smaller ones
    /// have left): while the ring is within them, no member can be behind by more than its own.
    min_frames: usize,
    min_bytes: usize,
}

struct Slot {
    message: Message,
    /// Orders this frame among everything sent to the connections of this process.
    stamp: u64,
    /// `pushed_bytes` before this frame.
    start_bytes: u64,
    /// How many members have not taken it yet.
    unread: usize,
}

struct Member {
    queue: Arc<Queue>,
    /// The position of the next frame this member takes.
    cursor: u64,
    /// The `round` in which it last registered as waiting.
    waiting_in: u64,
}

/// Member ids, unique in the process (a connection may join the same group twice).
static MEMBER_IDS: AtomicU64 = AtomicU64::new(0);

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Ring")
            .field("frames", &state.slots.len())
            .field("members", &state.members.len())
            .finish()
    }
}

impl RingState {
    /// The position after the last frame.
    fn head(&self) -> u64 {
        self.first + self.slots.len() as u64
    }

    /// Frames and payload bytes from `cursor` to the end.
    fn behind(&self, cursor: u64) -> (usize, usize) {
        let from = (cursor - self.first) as usize;
        match self.slots.get(from) {
            Some(slot) => (
                self.slots.len() - from,
                (self.pushed_bytes - slot.start_bytes) as usize,
            ),
            None => (0, 0),
        }
    }

    /// A member no longer reads from `cursor` on: release the frames it has not taken.
    fn release(&mut self, cursor: u64) {
        let from = (cursor - self.first) as usize;
        for slot in self.slots.range_mut(from..) {
            slot.unread -= 1;
        }
        self.drop_taken();
    }

    /// Drop the frames every member has taken.
    fn drop_taken(&mut self) {
        while self.slots.front().is_some_and(|slot| slot.unread == 0) {
            self.slots.pop_front();
            self.first += 1;
        }
        if self.slots.is_empty() && self.slots.capacity() > 64 {
            self.slots.shrink_to(64);
        }
    }
}

impl Ring {
    fn new() -> Ring {
        Ring {
            state: Mutex::new(RingState {
                min_frames: usize::MAX,
                min_bytes: usize::MAX,
                ..RingState::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RingState> {
        // Every update leaves the ring consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add a member that gets every frame pushed from now on; its id.
    fn join(&self, queue: &Arc<Queue>) -> u64 {
        let id = MEMBER_IDS.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        let state = &mut *state;
        state.min_frames = state.min_frames.min(queue.capacity);
        state.min_bytes = state.min_bytes.min(queue.max_bytes);
        state.waiting.push(queue.clone());
        let member = Member {
            queue: queue.clone(),
            cursor: state.head(),
            waiting_in: state.round,
        };
        state.members.insert(id, member);
        id
    }

    /// Remove a member (nothing if it has already left); how many are left.
    pub(super) fn leave(&self, id: u64) -> usize {
        let mut state = self.lock();
        if let Some(member) = state.members.remove(&id) {
            state.release(member.cursor);
        }
        if state.members.is_empty() {
            state.min_frames = usize::MAX;
            state.min_bytes = usize::MAX;
        }
        state.members.len()
    }

    fn members(&self) -> usize {
        self.lock().members.len()
    }

    /// Append a frame for every member, close (1008) the members now behind by more than
    /// their bound, and wake those waiting.
    fn push(&self, message: &Message) -> Delivery {
        let mut state = self.lock();
        let state_ref = &mut *state;
        if state_ref.members.is_empty() {
            return Delivery::default();
        }
        let size = payload_len(message) as u64;
        state_ref.slots.push_back(Slot {
            message: message.clone(),
            stamp: STAMPS.fetch_add(1, Ordering::AcqRel),
            start_bytes: state_ref.pushed_bytes,
            unread: state_ref.members.len(),
        });
        state_ref.pushed_bytes += size;
        let mut laggards = Vec::new();
        let (frames, bytes) = state_ref.behind(state_ref.first);
        if frames > state_ref.min_frames || (frames > 1 && bytes > state_ref.min_bytes) {
            // Someone may be over its bound: find who (rare, so a scan is fine).
            let mut behind = Vec::new();
            for (id, member) in &state_ref.members {
                let (frames, bytes) = state_ref.behind(member.cursor);
                let queue = &member.queue;
                if frames > queue.capacity || (frames > 1 && bytes > queue.max_bytes) {
                    behind.push(*id);
                }
            }
            for id in behind {
                if let Some(member) = state_ref.members.remove(&id) {
                    state_ref.release(member.cursor);
                    laggards.push(member.queue);
                }
            }
        }
        let members = state_ref.members.len();
        let waiting = if state_ref.waiting.is_empty() {
            Vec::new()
        } else {
            state_ref.round += 1;
            std::mem::take(&mut state_ref.waiting)
        };
        drop(state);
        for queue in &waiting {
            queue.wake();
        }
        // A laggard already closing for another reason is not counted, as it was not queued.
        let overflowed = laggards.iter().filter(|queue| queue.overflow()).count();
        Delivery {
            queued: members,
            overflowed,
            not_relayed: false,
        }
    }

    /// Move the frames member `id` has not taken, up to (not including) the frame stamped
    /// `limit`, into `into` with their stamps; `true` if frames were left because of `limit`.
    /// A member that has taken everything is woken by the next frame.
    pub(super) fn take(&self, id: u64, limit: u64, into: &mut impl Taker) -> bool {
        let mut state = self.lock();
        let RingState {
            slots,
            first,
            members,
            waiting,
            round,
            ..
        } = &mut *state;
        let Some(member) = members.get_mut(&id) else {
            return false;
        };
        let from = (member.cursor - *first) as usize;
        let mut left = false;
        for slot in slots.range_mut(from..) {
            if slot.stamp >= limit {
                left = true;
                break;
            }
            into.take(slot.stamp, &slot.message);
            slot.unread -= 1;
            member.cursor += 1;
        }
        if !left && member.waiting_in != *round {
            member.waiting_in = *round;
            waiting.push(member.queue.clone());
        }
        state.drop_taken();
        left
    }

    /// Frames and payload bytes member `id` has not taken.
    pub(super) fn behind(&self, id: u64) -> (usize, usize) {
        let state = self.lock();
        match state.members.get(&id) {
            Some(member) => state.behind(member.cursor),
            None => (0, 0),
        }
    }
}

impl<K, M> Clone for Hub<K, M> {
    fn clone(&self) -> Self {
        Hub {
            shared: self.shared.clone(),
            _message: PhantomData,
        }
    }
}

impl<K, M> Default for Hub<K, M> {
    fn default() -> Self {
        Hub {
            shared: Arc::default(),
            _message: PhantomData,
        }
    }
}

impl<K: std::fmt::Debug, M> std::fmt::Debug for Hub<K, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rooms = self
            .shared
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_map()
            .entries(rooms.iter().map(|(k, ring)| (k, ring.members())))
            .finish()
    }
}

/// How many members a broadcast reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Queued for this many connections of this instance: the members of the group when it
    /// was sent (a member whose connection is closing counts until its connection has ended).
    pub queued: usize,
    /// This many were too slow (this message put them more than their bound behind the
    /// group's ring) and are being closed with 1008.
    pub overflowed: usize,
    /// The hub has a backplane and the message may not reach the members on other instances:
    /// the backplane's queue is full (they do not get it), or the backplane could not be reached
    /// at the last attempt (it is tried again in turn, and arrives only if the backplane is back
    /// by then). Always `false` for a hub without a backplane. [`Hub::publish`] waits for the
    /// backplane's answer.
    pub not_relayed: bool,
}

impl<K: Eq + Hash + Clone + Send + 'static, M: MessageSet> Hub<K, M> {
    /// An empty hub, for this process only.
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(feature = "redis")]
    pub(crate) fn from_shared(shared: Arc<Shared<K>>) -> Self {
        Hub {
            shared,
            _message: PhantomData,
        }
    }

    #[cfg(feature = "redis")]
    pub(crate) fn shared_with_relay(relay: crate::backplane::redis::Relay<K>) -> Shared<K> {
        Shared {
            rooms: Mutex::default(),
            relay: Some(relay),
        }
    }

    /// Add a connection to the group `key`, until the returned [`Membership`] is dropped.
    #[must_use = "the connection leaves the group when the membership is dropped"]
    pub fn join(&self, key: K, outbound: &Outbound<M>) -> Membership<K, M> {
        let queue = &outbound.queue;
        let (ring, id) = {
            let mut rooms = self.shared.lock();
            let ring = rooms
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Ring::new()))
                .clone();
            let id = ring.join(queue);
            (ring, id)
        };
        queue.add_group(ring.clone(), id);
        Membership {
            hub: self.clone(),
            key,
            ring,
            queue: queue.clone(),
            id,
        }
    }

    /// Encode `message` once and queue it for every member of `key` (on a hub with a backplane,
    /// this instance's members at once and the other instances' through the backplane, without
    /// waiting for it: see [`Delivery::not_relayed`]).
    pub fn send(&self, key: &K, message: &M) -> Result<Delivery, EncodeError> {
        let frame = message.encode()?;
        Ok(self.send_frame(key, frame))
    }

    /// Queue an encoded frame for every member of `key`, like [`send`](Self::send).
    pub fn send_frame(&self, key: &K, frame: Frame) -> Delivery {
        #[cfg(feature = "redis")]
        if let Some(relay) = &self.shared.relay {
            let not_relayed = relay.relay(key, &frame, None).is_err();
            let Some(message) = to_message(frame) else {
                return Delivery::default();
            };
            return Delivery {
                not_relayed,
                ..self.shared.deliver(key, &message)
            };
        }
        let Some(message) = to_message(frame) else {
            return Delivery::default();
        };
        self.shared.deliver(key, &message)
    }

    /// Like [`send`](Self::send), but on a hub with a backplane wait until the backplane has
    /// taken the message: [`PublishError::Unavailable`](crate::backplane::PublishError) when it
    /// cannot be reached (this instance's members got the message; the others did not).
    pub async fn publish(
        &self,
        key: &K,
        message: &M,
    ) -> Result<Delivery, crate::backplane::PublishError> {
        let frame = message.encode()?;
        #[cfg(feature = "redis")]
        if let Some(relay) = &self.shared.relay {
            let (done, answer) = tokio::sync::oneshot::channel();
            let queued = relay.relay(key, &frame, Some(done));
            let delivery = match to_message(frame) {
                Some(message) => self.shared.deliver(key, &message),
                None => Delivery::default(),
            };
            queued?;
            return match answer.await {
                Ok(Ok(())) => Ok(delivery),
                Ok(Err(error)) => Err(error.into()),
                Err(_) => Err(crate::backplane::BackplaneError::new("the hub is closing").into()),
            };
        }
        Ok(match to_message(frame) {
            Some(message) => self.shared.deliver(key, &message),
            None => Delivery::default(),
        })
    }

    /// How many connections of this instance are in the group `key`.
    pub fn members(&self, key: &K) -> usize {
        self.shared.lock().get(key).map_or(0, |ring| ring.members())
    }
}

/// A connection's place in a [`Hub`] group; dropping it leaves the group.
pub struct Membership<K: Eq + Hash + Clone + Send + 'static, M: MessageSet> {
    hub: Hub<K, M>,
    key: K,
    ring: Arc<Ring>,
    queue: Arc<Queue>,
    id: u64,
}

impl<K: Eq + Hash + Clone + Send + 'static, M: MessageSet> Membership<K, M> {
    /// The group's key.
    pub fn key(&self) -> &K {
        &self.key
    }
}

impl<K: Eq + Hash + Clone + Send + std::fmt::Debug + 'static, M: MessageSet> std::fmt::Debug
    for Membership<K, M>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("key", &self.key)
            .field("id", &self.id)
            .finish()
    }
}

impl<K: Eq + Hash + Clone + Send + 'static, M: MessageSet> Drop for Membership<K, M> {
    fn drop(&mut self) {
        self.queue.remove_group(self.id);
        if self.ring.leave(self.id) == 0 {
            // The last member: forget the group, unless someone joined it meanwhile.
            let mut rooms = self.hub.shared.lock();
            if rooms
                .get(&self.key)
                .is_some_and(|ring| Arc::ptr_eq(ring, &self.ring) && ring.members() == 0)
            {
                rooms.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::NoMessages;
    use crate::ws::close_code;
    use crate::ws::server::ServerConfig;

    fn texts(outbound: &Outbound<NoMessages>) -> (Vec<String>, Option<(u16, &'static str)>) {
        let (frames, close) = outbound.queue.take();
        let texts = frames
            .into_iter()
            .map(|message| match message {
                Message::Text(text) => text.as_str().to_owned(),
                other => panic!("expected text, got {other:?}"),
            })
            .collect();
        (texts, close)
    }

    #[test]
    fn a_member_behind_the_ring_by_more_than_its_bound_is_closed_and_the_others_are_not() {
        let hub = Hub::<&str, NoMessages>::new();
        let config = ServerConfig::default().queue_capacity(4);
        let (fast, slow) = (Outbound::new(&config), Outbound::new(&config));
        let _fast_in = hub.join("room", &fast);
        let _slow_in = hub.join("room", &slow);
        let mut delivered = Vec::new();
        for i in 0..10 {
            delivered.push(hub.send_frame(&"room", Frame::text(format!("{i}"))));
            // The fast member takes everything after each frame; the slow one never does.
            let (frames, close) = texts(&fast);
            assert_eq!((frames, close), (vec![format!("{i}")], None));
        }
        let two = |overflowed| Delivery {
            queued: 2,
            overflowed,
            not_relayed: false,
        };
        assert_eq!(delivered[..4], [two(0); 4]);
        // The fifth frame puts the slow member 5 behind with a bound of 4.
        assert_eq!(
            delivered[4],
            Delivery {
                queued: 1,
                overflowed: 1,
                not_relayed: false
            }
        );
        assert!(
            delivered[5..]
                .iter()
                .all(|d| d.queued == 1 && d.overflowed == 0)
        );
        assert!(slow.is_closed() && !fast.is_closed());
        assert_eq!((slow.queued(), slow.queued_bytes()), (0, 0));
        // Nothing more is written to it: only the Close.
        assert_eq!(
            texts(&slow),
            (vec![], Some((close_code::POLICY_VIOLATION, "too slow")))
        );
        assert_eq!(hub.members(&"room"), 1);
        // Every frame was taken by the member left, so the ring holds none.
        let ring = hub.shared.lock().get("room").cloned().unwrap();
        assert_eq!(ring.lock().slots.len(), 0);
    }

    #[test]
    fn a_member_behind_by_more_than_its_byte_bound_is_closed() {
        let hub = Hub::<&str, NoMessages>::new();
        let config = ServerConfig::default().queue_bytes(1000);
        let member = Outbound::new(&config);
        let _in = hub.join("room", &member);
        // One frame over the bound goes out alone.
        assert_eq!(
            hub.send_frame(&"room", Frame::text("x".repeat(5000)))
                .queued,
            1
        );
        assert_eq!(member.queued_bytes(), 5000);
        assert_eq!(texts(&member).0.len(), 1);
        for _ in 0..3 {
            assert_eq!(
                hub.send_frame(&"room", Frame::text("y".repeat(300))).queued,
                1
            );
        }
        assert_eq!((member.queued(), member.queued_bytes()), (3, 900));
        let delivery = hub.send_frame(&"room", Frame::text("z".repeat(300)));
        assert_eq!((delivery.queued, delivery.overflowed), (0, 1));
        assert_eq!((member.queued(), member.queued_bytes()), (0, 0));
        assert_eq!(
            texts(&member),
            (vec![], Some((close_code::POLICY_VIOLATION, "too slow")))
        );
    }

    #[test]
    fn frames_from_groups_and_direct_sends_are_written_in_the_order_they_were_sent() {
        let (a, b) = (
            Hub::<&str, NoMessages>::new(),
            Hub::<&str, NoMessages>::new(),
        );
        let member = Outbound::<NoMessages>::new(&ServerConfig::default());
        let _in_a = a.join("room", &member);
        let _in_b = b.join("other", &member);
        a.send_frame(&"room", Frame::text("1"));
        member.send_frame(Frame::text("2")).unwrap();
        b.send_frame(&"other", Frame::text("3"));
        a.send_frame(&"room", Frame::text("4"));
        member.send_frame(Frame::text("5")).unwrap();
        b.send_frame(&"other", Frame::text("6"));
        assert_eq!(member.queued(), 6);
        let (frames, close) = texts(&member);
        assert_eq!(frames, ["1", "2", "3", "4", "5", "6"]);
        assert_eq!(close, None);
        // Asking to close writes what was sent before, not what was sent after.
        a.send_frame(&"room", Frame::text("7"));
        member.close(close_code::NORMAL, "bye");
        a.send_frame(&"room", Frame::text("8"));
        assert_eq!(
            texts(&member),
            (vec!["7".to_owned()], Some((close_code::NORMAL, "bye")))
        );
    }

    #[test]
    fn leaving_releases_the_frames_not_taken_and_the_group() {
        let hub = Hub::<&str, NoMessages>::new();
        let config = ServerConfig::default();
        let (stays, leaves) = (Outbound::new(&config), Outbound::new(&config));
        let stays_in = hub.join("room", &stays);
        let leaves_in = hub.join("room", &leaves);
        for i in 0..3 {
            hub.send_frame(&"room", Frame::text(format!("{i}")));
        }
        assert_eq!(texts(&stays).0.len(), 3);
        let ring = hub.shared.lock().get("room").cloned().unwrap();
        assert_eq!(
            ring.lock().slots.len(),
            3,
            "kept for the member that has not read"
        );
        drop(leaves_in);
        assert_eq!(ring.lock().slots.len(), 0);
        assert_eq!((leaves.queued(), hub.members(&"room")), (0, 1));
        // A connection that ends leaves too; the last membership dropped forgets the group.
        stays.queue.end();
        assert_eq!(hub.members(&"room"), 0);
        drop(stays_in);
        assert!(hub.shared.lock().is_empty());
    }
}
