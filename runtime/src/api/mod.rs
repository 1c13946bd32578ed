//! Plain request/response operations of an OpenAPI document, generically: generated code
//! describes each operation (its typed request, its response enum, its security) and the
//! runtime reads, checks, authenticates, answers and calls.
//!
//! - [`server`]: the axum handler of an [`Operation`](server::Operation): the request read
//!   under the configured limits, its credential checked, its body read by `Content-Type`, the
//!   user's method called and its response enum written with its status, headers and content
//!   type. A request that does not match the spec gets a 4xx `application/problem+json` body
//!   (RFC 9457) naming what is wrong.
//! - [`client`]: [`ApiClient`](client::ApiClient), which calls operations (typed request in,
//!   typed response enum out, a per-request timeout, a credential configured once) and opens
//!   event streams.
//! - [`body`]: form and multipart bodies, and the files they carry.

pub mod body;
#[cfg(feature = "sse-client")]
pub mod client;
#[cfg(feature = "sse-server")]
pub mod server;
