//! The broadcast [`Hub`]: connections of one channel grouped by a key (an auction id), each
//! message encoded once and its frame shared by every member's outbound queue.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::ws::Message;

use super::server::{Outbound, Queue, SendError, to_message};
use super::{EncodeError, Frame, MessageSet};

/// Fans messages out to the connections of one channel, grouped by a key (usually the channel's
/// address parameters, such as an auction id): each message is encoded once, and every member
/// of the group gets the same shared frame on its bounded queue.
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
    rooms: Mutex<HashMap<K, Vec<Arc<Queue>>>>,
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
    fn lock(&self) -> MutexGuard<'_, HashMap<K, Vec<Arc<Queue>>>> {
        // Every update leaves the map consistent, so a poisoned lock is still usable.
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue a frame for this instance's members of `key`.
    pub(crate) fn deliver(&self, key: &K, message: &Message) -> Delivery {
        let mut rooms = self.lock();
        let mut delivery = Delivery::default();
        let Some(members) = rooms.get_mut(key) else {
            return delivery;
        };
        members.retain(|queue| match queue.push(message.clone()) {
            Ok(()) => {
                delivery.queued += 1;
                true
            }
            Err(SendError::Overflow) => {
                delivery.overflowed += 1;
                false
            }
            Err(_) => false,
        });
        if members.is_empty() {
            rooms.remove(key);
        }
        delivery
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
            .entries(rooms.iter().map(|(k, v)| (k, v.len())))
            .finish()
    }
}

/// How many members a broadcast reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Queued for this many connections of this instance.
    pub queued: usize,
    /// This many were too slow (their queue was full) and are being closed with 1008.
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
        self.shared
            .lock()
            .entry(key.clone())
            .or_default()
            .push(outbound.queue.clone());
        Membership {
            hub: self.clone(),
            key,
            id: outbound.queue.id,
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
        self.shared.lock().get(key).map_or(0, Vec::len)
    }

    fn leave(&self, key: &K, id: u64) {
        let mut rooms = self.shared.lock();
        if let Some(members) = rooms.get_mut(key) {
            members.retain(|queue| queue.id != id);
            if members.is_empty() {
                rooms.remove(key);
            }
        }
    }
}

/// A connection's place in a [`Hub`] group; dropping it leaves the group.
pub struct Membership<K: Eq + Hash + Clone + Send + 'static, M: MessageSet> {
    hub: Hub<K, M>,
    key: K,
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
        self.hub.leave(&self.key, self.id);
    }
}
