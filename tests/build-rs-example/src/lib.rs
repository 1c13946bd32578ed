//! The pet store, generated at build time by `build.rs` into `OUT_DIR` and included here. The
//! file of a spec is named after its module: `petstore.openapi.yaml` → `petstore_openapi.rs`.

/// The SSE API: `types`, `sse`, `server` and `client`.
pub mod notifications {
    include!(concat!(env!("OUT_DIR"), "/petstore_openapi.rs"));
}

/// The WebSocket API's payload types.
pub mod auctions {
    include!(concat!(env!("OUT_DIR"), "/petstore_asyncapi.rs"));
}
