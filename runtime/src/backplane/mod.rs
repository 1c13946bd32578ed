//! Backplanes: where an SSE [`Broadcaster`](crate::sse::broadcast::Broadcaster) keeps its replay
//! log and how a WebSocket [`Hub`](crate::ws::server::Hub) reaches members on other server
//! instances.
//!
//! - **In memory** (the default, nothing to install): one process. The log is a ring in the
//!   broadcaster; its ids carry an epoch drawn at start, so an id from before a restart is known
//!   as such and answered with a gap event rather than matched against new events.
//! - **Redis** (feature `redis`, [`redis::Redis`]): many instances behind a load balancer. An
//!   SSE stream's log is a Redis Stream (`XADD … MAXLEN ~`), read by one task per instance and
//!   fanned out locally, so every subscriber of every instance gets every event once, in the
//!   stream's order, and can resume on any instance, after any restart, within the retention.
//!   A hub's groups span instances through Redis pub/sub.

#[cfg(feature = "redis")]
pub mod redis;

use std::fmt;

/// The backplane could not be reached or refused a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackplaneError {
    message: String,
}

impl BackplaneError {
    /// An error with this description.
    pub fn new(message: impl Into<String>) -> Self {
        BackplaneError {
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for BackplaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the backplane is unavailable: {}", self.message)
    }
}

impl std::error::Error for BackplaneError {}

/// Why an event or message was not published.
#[derive(Debug)]
#[non_exhaustive]
pub enum PublishError {
    /// It could not be encoded; nothing was published.
    Encode(Box<dyn std::error::Error + Send + Sync>),
    /// The backplane cannot be reached now, or did not answer: as a rule nothing was published
    /// (for a hub: nothing reached the members on other instances), except that a command cut
    /// off by a lost connection after it was sent may have been carried out (then subscribers
    /// get the event, once). Subscribers stay connected; publish again later.
    Unavailable(BackplaneError),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Encode(error) => write!(f, "it could not be encoded: {error}"),
            PublishError::Unavailable(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for PublishError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PublishError::Encode(error) => Some(error.as_ref()),
            PublishError::Unavailable(error) => Some(error),
        }
    }
}

impl From<BackplaneError> for PublishError {
    fn from(error: BackplaneError) -> Self {
        PublishError::Unavailable(error)
    }
}

#[cfg(feature = "sse")]
impl From<crate::sse::EncodeError> for PublishError {
    fn from(error: crate::sse::EncodeError) -> Self {
        PublishError::Encode(Box::new(error))
    }
}

#[cfg(feature = "ws")]
impl From<crate::ws::EncodeError> for PublishError {
    fn from(error: crate::ws::EncodeError) -> Self {
        PublishError::Encode(Box::new(error))
    }
}
