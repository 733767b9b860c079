//! linli-node: the node around [`linli_core`]. Storage, networking, the node actor and the
//! `linli` daemon arrive in later milestones; for now it re-exports the core so that the
//! facade and the bindings already depend on the final crate graph.
#![deny(missing_docs)]

pub use linli_core as core;

/// Version of the node crate, as built.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
