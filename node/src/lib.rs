//! linli-node: the node around [`linli_core`] — the SQLite store, the node actor and its
//! [`Node`] handle, export and import, networking ([`net`]), the `linli` daemon and CLI
//! ([`cli`], [`config`], [`ops`], [`api`]) and the district demo ([`demo`], playing [`story`]).
//!
//! * [`Node`] — the one API the CLI, the HTTP API and the Python bindings call: typed async
//!   operations (the domain operations of linli-core, reads, status, events, export/import).
//! * The store (private, `store/`) — one SQLite database in WAL mode whose received-change
//!   log is the source of truth; the replica is rebuilt from it on open.
//! * [`export`] — the portable export file format.
//!
//! # The node
//!
//! A node is a data directory (`linli.db`, `node.key`, `node.lock`) served by one actor
//! thread that owns the [`Replica`](linli_core::Replica) and the SQLite store. [`Node`] is a cheap, cloneable,
//! `Send + Sync` handle: each method sends a command to the actor and awaits its reply.
//! Writes are acknowledged only after their transaction committed. Events (document
//! changed, change refused, peer updated) are broadcast to [`Node::subscribe`]rs after the
//! commit. When the actor is gone every method returns [`NodeError::Shutdown`].
//!
//! The node holds no domain logic: every rule is decided by linli-core.
//!
//! ```no_run
//! # async fn demo(root: linli_core::NodeId) -> Result<(), linli_node::NodeError> {
//! use linli_node::{InitOptions, Node, OpenOptions};
//! let org = linli_core::OrgId::new("dianye").map_err(linli_core::Error::from)?;
//! let node = Node::init("/var/lib/linli", InitOptions::new(org, root), OpenOptions::default()).await?;
//! println!("{} documents", node.status().await?.documents.values().sum::<usize>());
//! node.shutdown().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod actor;
pub mod api;
pub mod backup;
pub mod calendar;
pub mod cli;
pub mod codegen;
pub mod config;
pub mod demo;
mod error;
pub mod export;
pub mod fastjoin;
#[doc(hidden)]
pub mod fuzzing;
pub mod install;
pub mod invite;
pub mod net;
mod node;
pub mod ops;
mod private;
pub mod results;
mod store;
pub mod story;

pub use linli_core as core;

pub use error::{ExportError, NodeError, StoreError};
pub use export::{ExportSummary, ImportReport};
pub use node::{
    Clock, DocSummary, InitOptions, Node, NodeEvent, NodeStatus, OpenOptions, SnapshotInfo,
    system_clock, training_clock,
};
#[doc(hidden)]
pub use store::unfold_snapshots;
pub use store::{AuditRow, ChangeStatus, Durability, Origin, PeerRecord, RejectedChange};

/// Version of the node crate, as built.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// File names in a node's data directory.
pub mod files {
    /// The SQLite database.
    pub const DB: &str = crate::store::DB_FILE;
    /// The secret key (mode 0600).
    pub const KEY: &str = crate::store::keyfile::KEY_FILE;
    /// The lock file held by the running node.
    pub const LOCK: &str = crate::store::LOCK_FILE;
    /// The dashboard's address with the API token, written by `linli run` (mode 0600).
    pub const DASHBOARD_URL: &str = crate::api::DASHBOARD_FILE;
    /// Mode of the data directory (unix).
    pub const DIR_MODE: u32 = crate::private::DIR_MODE;
    /// Mode of every file linli writes: the store, the key, the configuration, the API's
    /// token and address, export files (unix).
    pub const FILE_MODE: u32 = crate::private::FILE_MODE;
}
