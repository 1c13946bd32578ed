//! What generated code reaches through the runtime, so a generated crate needs no direct
//! dependency on these crates and always gets the versions the runtime was built with.
//! Not for hand-written code: these re-exports may change with the runtime.

#[cfg(any(feature = "sse-server", feature = "ws-server"))]
pub use axum;
#[cfg(any(
    feature = "sse-server",
    feature = "sse-client",
    feature = "ws-server",
    feature = "ws-client"
))]
pub use http;
#[cfg(any(feature = "sse", feature = "ws"))]
pub use serde_json;
