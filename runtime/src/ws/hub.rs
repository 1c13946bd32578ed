//! The broadcast [`Hub`]: connections of one channel grouped by a key (an auction id), each
//! message encoded once and its frame shared by every member's outbound queue.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::server::{Outbound, Queue, SendError, to_message};
use super::{EncodeError, Frame, MessageSet};

/// Fans messages out to the connections of one channel, grouped by a key (usually the channel's
/// address parameters, such as an auction id): each message is encoded once, and every member
/// of the group gets the same shared frame on its bounded queue.
///
/// Cloning gives another handle to the same hub. A member leaves when its [`Membership`] is
/// dropped or its connection ends.
pub struct Hub<K, M> {
    shared: Arc<Mutex<HashMap<K, Vec<Arc<Queue>>>>>,
    _message: PhantomData<fn(M)>,
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
        let rooms = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_map()
            .entries(rooms.iter().map(|(k, v)| (k, v.len())))
            .finish()
    }
}

/// How many members a broadcast reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Queued for this many connections.
    pub queued: usize,
    /// This many were too slow (their queue was full) and are being closed with 1008.
    pub overflowed: usize,
}

impl<K: Eq + Hash + Clone + Send + 'static, M: MessageSet> Hub<K, M> {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Vec<Arc<Queue>>>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add a connection to the group `key`, until the returned [`Membership`] is dropped.
    #[must_use = "the connection leaves the group when the membership is dropped"]
    pub fn join(&self, key: K, outbound: &Outbound<M>) -> Membership<K, M> {
        self.lock()
            .entry(key.clone())
            .or_default()
            .push(outbound.queue.clone());
        Membership {
            hub: self.clone(),
            key,
            id: outbound.queue.id,
        }
    }

    /// Encode `message` once and queue it for every member of `key`.
    pub fn send(&self, key: &K, message: &M) -> Result<Delivery, EncodeError> {
        let frame = message.encode()?;
        Ok(self.send_frame(key, frame))
    }

    /// Queue an encoded frame for every member of `key`.
    pub fn send_frame(&self, key: &K, frame: Frame) -> Delivery {
        let Some(message) = to_message(frame) else {
            return Delivery::default();
        };
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

    /// How many connections are in the group `key`.
    pub fn members(&self, key: &K) -> usize {
        self.lock().get(key).map_or(0, Vec::len)
    }

    fn leave(&self, key: &K, id: u64) {
        let mut rooms = self.lock();
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
