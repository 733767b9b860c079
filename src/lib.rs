//! linli (邻里, "neighbours"): federated, signed CRDT documents for community governance.
//!
//! This facade re-exports the pure core ([`core`]) and the node ([`node`]).
#![deny(missing_docs)]

pub use linli_core as core;
pub use linli_node as node;
