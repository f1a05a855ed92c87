//! The WebAssembly plugin host: one wasmtime engine for the node, tenants' key-value stores,
//! compiled components cached by content hash, and each site's plugin chain.
//!
//! A plugin version is the SHA-256 of its component. Each plugin in a chain has its own
//! limits (memory, deadline per hook call, body bytes) and its own pool of warm instances, so
//! a plugin never shares an instance — or a tenant's data — with another site or tenant.

mod actions;
pub mod builtin;
mod chain;
mod disk_cache;
mod engine;
mod instance;
mod kv;

pub use chain::{Chain, ChainStop, HeaderOp};
pub use engine::PluginEngine;
pub use instance::LoadedPlugin;
