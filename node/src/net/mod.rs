//! Networking: libp2p on tokio carrying the linli-core sync protocol (work in progress).

use std::time::Duration;

use linli_core::{NodeId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::Node;

/// Network settings (the `[network]` section of the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetConfig {
    /// Addresses to listen on, as multiaddrs (`/ip4/0.0.0.0/tcp/4710`).
    pub listen: Vec<String>,
    /// Peers to dial at start and keep connected to, as multiaddrs; `/p2p/<peer id>` is
    /// optional.
    pub bootstrap: Vec<String>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Seconds between anti-entropy sync sessions with each connected peer.
    pub sync_interval_secs: u64,
    /// Most connected peers.
    pub max_peers: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/0.0.0.0/tcp/4710".into()],
            bootstrap: Vec::new(),
            mdns: true,
            sync_interval_secs: 30,
            max_peers: 64,
        }
    }
}

impl NetConfig {
    /// The sync interval as a duration.
    pub fn sync_interval(&self) -> Duration {
        Duration::from_secs(self.sync_interval_secs.max(1))
    }
}

/// A peer as the network sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    /// The peer's key.
    pub node: NodeId,
    /// Its organisation, if its certificate chain is known.
    pub org: Option<String>,
    /// Addresses it was reached at.
    pub addrs: Vec<String>,
    /// Whether it is connected now.
    pub connected: bool,
    /// End of the last completed sync session with it.
    pub last_sync: Option<Timestamp>,
    /// Completed sync sessions.
    pub sessions_ok: u64,
    /// Failed sync sessions.
    pub sessions_failed: u64,
}

/// Errors of the network layer.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A configured address does not parse.
    #[error("bad network address {addr:?}: {reason}")]
    BadAddress {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Listening failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The network task has stopped.
    #[error("the network has stopped")]
    Stopped,
    /// The node failed.
    #[error(transparent)]
    Node(#[from] crate::NodeError),
    /// Other transport errors.
    #[error("network: {0}")]
    Transport(String),
}

/// The running network of a node (see the module docs).
#[derive(Debug, Clone)]
pub struct Network {
    _node: Node,
}

impl Network {
    /// Starts networking for `node`.
    pub async fn start(node: Node, cfg: NetConfig) -> Result<Network, NetError> {
        let _ = cfg;
        let _ = node;
        Err(NetError::Stopped)
    }
}
