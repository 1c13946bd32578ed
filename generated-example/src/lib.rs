//! Placeholder until the pet store crate is generated.
