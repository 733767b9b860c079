//! linli (邻里, "neighbours"): federated, signed CRDT documents for community governance.
//!
//! Street offices, communities and co-building units each run a node holding typed
//! documents — compound registries, volunteer service ledgers, shared rooms and kitchens
//! with their bookings, residents' micro-wishes — and exchange signed changes peer-to-peer
//! with no central server. Every change is signed by its node's key, and every node is
//! certified, through its street and community, by the district's root key; a node accepts
//! a change only after checking its signature, its signer's certificate chain and the write
//! policy of the document kind.
//!
//! This facade re-exports the two crates:
//!
//! * [`core`] (`linli-core`) — pure and deterministic: the document kinds and their typed
//!   operations ([`core::Op`]), identity and certificates, write policies, the
//!   [`Replica`](core::Replica) that verifies and applies changes, and the sync protocol
//!   ([`core::sync::Session`]). No I/O, no clock: time is an argument.
//! * [`node`] (`linli-node`) — a running node: the [`Node`](node::Node) handle (SQLite
//!   store, one actor thread, typed async operations and reads, events), networking
//!   ([`node::net::Network`], libp2p on tokio), export and import.
//!
//! # Embedding linli
//!
//! An organisation's own service (say, a company that co-built a community's activity
//! room) embeds a [`Node`](node::Node): it opens its data directory (own key, own store),
//! starts [`Network`](node::net::Network), subscribes to [`NodeEvent`](node::NodeEvent)s
//! and answers what arrives with typed operations. Here it decides the booking requests
//! other nodes make for its room (`room`, published earlier with
//! `node.create(NewDoc::Resource { .. })`):
//!
//! ```no_run
//! use linli::core::resource::{BookingStatus, ResourceOp};
//! use linli::core::{DocId, NodeId, Op, OrgId};
//! use linli::node::net::{NetConfig, Network};
//! use linli::node::{InitOptions, Node, NodeEvent, OpenOptions, Origin};
//! use tokio::sync::broadcast::error::RecvError;
//!
//! async fn serve(
//!     dir: &std::path::Path,
//!     (org, root): (OrgId, NodeId),
//!     room: DocId,
//!     bootstrap: Vec<String>,
//! ) -> Result<(), Box<dyn std::error::Error>> {
//!     // Its own key and store in `dir`, created on the first run.
//!     let node = if dir.join(linli::node::files::DB).exists() {
//!         Node::open(dir, OpenOptions::default()).await?
//!     } else {
//!         Node::init(dir, InitOptions::new(org, root), OpenOptions::default()).await?
//!     };
//!     let mut events = node.subscribe(); // before the network starts: nothing is missed
//!     let cfg = NetConfig { bootstrap, ..NetConfig::default() };
//!     let net = Network::start(node.clone(), cfg).await?;
//!     loop {
//!         match events.recv().await {
//!             Ok(NodeEvent::DocumentChanged { doc, origin: Origin::Remote, .. }) if doc == room => {}
//!             Ok(_) => continue,
//!             Err(RecvError::Lagged(_)) => {} // missed events: look anyway
//!             Err(RecvError::Closed) => break,
//!         }
//!         for b in node.bookings(room).await? {
//!             if b.status != BookingStatus::Tentative {
//!                 continue;
//!             }
//!             let op = if b.request.form.attendees <= 30 {
//!                 ResourceOp::Confirm { booking: b.id }
//!             } else {
//!                 let reason = "more than 30 attendees".to_string();
//!                 ResourceOp::Reject { booking: b.id, reason }
//!             };
//!             // linli-core validates the decision (e.g. no overlapping confirmations).
//!             if let Err(e) = node.execute(room, Op::Resource(op)).await {
//!                 eprintln!("{e}");
//!             }
//!         }
//!     }
//!     net.shutdown().await?;
//!     node.shutdown().await?;
//!     Ok(())
//! }
//! ```
//!
//! The `unit_service` example is such a service, runnable on its own (it builds a small
//! district on loopback, with a community node that requests bookings over the network):
//! `cargo run --example unit_service`. The `district` example plays the domain's stories
//! on in-memory replicas.
#![deny(missing_docs)]

pub use linli_core as core;
pub use linli_node as node;
