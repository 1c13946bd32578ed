//! Generates the pet store into `OUT_DIR` with `wiregen::Builder`: the SSE API with its server
//! and client, and the WebSocket API's payload types only. A bad spec fails the build with
//! rustc-style diagnostics and a one-line error, not a panic.

use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    // The one-liner: every part, into OUT_DIR, rerun when the spec or a file it `$ref`s changes.
    wiregen::Builder::new()
        .spec("../../specs/petstore.openapi.yaml")
        .generate()?;
    // With options: the payload types only, read from the server's side.
    wiregen::Builder::new()
        .spec("../../specs/petstore.asyncapi.yaml")
        .server(false)
        .client(false)
        .role(wiregen::ir::Role::Server)
        .generate()?;
    Ok(())
}
