//! Networking: libp2p on tokio carrying the linli-core sync protocol.
//!
//! * Transport: whatever the caller passes to [`Network::new`] with the libp2p keypair:
//!   the daemon ([`Network::start`]) passes TCP + noise + yamux (QUIC with the `quic` cargo
//!   feature, [`tcp_transport`]), tests pass libp2p's memory transport
//!   ([`memory_transport`]). The libp2p identity is the node's own ed25519 key, so a peer id
//!   *is* a linli [`NodeId`].
//! * Discovery: bootstrap addresses from the config (redialled with exponential backoff),
//!   mDNS on the office LAN (off unless configured), identify, ping.
//! * Sync: request-response protocol `/linli/sync/1` (see `codec`) carrying sync sessions
//!   of [`linli_core::sync`]: one when a peer connects, then every `sync_interval_secs`.
//!   Received changes are stored and applied in chunks of about 40 ms.
//! * Live: after a local write the node publishes the document's new heads on the gossipsub
//!   topic of the document's street (the district topic for the federation document);
//!   peers that lack them pull just that document from the author over request-response.
//!   Gossip carries only these small announcements.
//! * Defence: a peer whose hello names another key than its connection, or whose key does
//!   not chain to our root, is refused and disconnected; so is a peer that sends invalid
//!   data (malformed messages, broken signatures) or more than [`REQUESTS_PER_WINDOW`]
//!   requests in 10 s, or opens too many sessions. Dropped peers are banned for a while.

mod codec;
mod join;
mod session;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, Swarm, gossipsub, identify, mdns, noise, ping, request_response, tcp, yamux,
};
use linli_core::document::DocKind;
use linli_core::{NodeId, OrgId, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::{Node, NodeEvent};
use codec::{Request, Response, SyncCodec};
use session::{Ctx, Fault, Responders};

pub use join::{JoinError, MAX_JOIN_FAILURES, request_join};

/// Decodes `bytes` as a sync request and as a response frame body (for fuzzing the
/// decoders; errors are the expected outcome for garbage).
#[doc(hidden)]
pub fn decode_frame_body(bytes: &[u8]) -> (bool, bool) {
    (
        codec::decode_request(bytes).is_ok(),
        codec::decode_response(bytes).is_ok(),
    )
}

/// Most requests a peer may send in a 10-second window.
pub const REQUESTS_PER_WINDOW: u32 = 2_000;
pub use session::{BROKEN_ANNOUNCEMENTS, MAX_PULLS};
/// How long a dropped peer stays banned.
pub const BAN: Duration = Duration::from_secs(60);

/// Network settings (the `[network]` section of the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetConfig {
    /// Addresses to listen on, as multiaddrs (`/ip4/0.0.0.0/tcp/4710`).
    pub listen: Vec<String>,
    /// Peers to dial at start and keep connected to, as multiaddrs; `/p2p/<peer id>` is
    /// optional.
    pub bootstrap: Vec<String>,
    /// Discover peers on the local network with mDNS (default off).
    pub mdns: bool,
    /// Seconds between anti-entropy sync sessions with each connected peer.
    pub sync_interval_secs: u64,
    /// Most connected peers.
    pub max_peers: usize,
    /// Reaching nodes that cannot be dialled (`[network.relay]`): circuit relay v2, hole
    /// punching (DCUtR) and AutoNAT.
    pub relay: RelayConfig,
    /// Fast join (default on): a node holding no documents but federation documents asks
    /// its first peer for its documents as snapshots, usable at once and verified in the
    /// background (see [`crate::fastjoin`]); off, it takes every change through sessions.
    pub fast_join: bool,
}

/// When a node reserves a slot on relays so that others can reach it through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReserveMode {
    /// When AutoNAT finds this node unreachable from outside (behind a home router or a
    /// carrier NAT).
    #[default]
    Auto,
    /// Always, on every connected peer that serves as a relay.
    Always,
    /// Never.
    Never,
}

/// `[network.relay]`: reaching offices behind NAT. A node that cannot be dialled (AutoNAT
/// tells) reserves a slot on the connected peers that serve as relays (typically street
/// nodes with a public address) and is reachable at `<relay>/p2p-circuit/p2p/<node>`; when
/// two nodes meet over a relay they try to connect directly (DCUtR hole punching).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Serve as a relay for other nodes of the district (default off: turn it on on nodes
    /// with a public address).
    pub serve: bool,
    /// When to reserve a slot on relays: `"auto"` (when AutoNAT finds this node
    /// unreachable), `"always"` or `"never"`.
    pub reserve: ReserveMode,
    /// Serving: most reservations held for other nodes.
    pub max_reservations: usize,
    /// Serving: most relayed connections at once.
    pub max_circuits: usize,
    /// Serving: most relayed connections at once for one node.
    pub max_circuits_per_peer: usize,
    /// Serving: most bytes one relayed connection carries (each way) before it is closed.
    pub max_circuit_bytes: u64,
    /// Serving: longest a relayed connection lasts, in seconds.
    pub max_circuit_secs: u64,
    /// Seconds after start before the first AutoNAT probe, and between probes while the
    /// answer is not certain.
    pub probe_secs: u64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            serve: false,
            reserve: ReserveMode::Auto,
            max_reservations: 128,
            max_circuits: 32,
            max_circuits_per_peer: 4,
            // A first sync of a community's documents fits; a connection cut at the limit
            // is dialled again (and hole punching makes most of them direct).
            max_circuit_bytes: 64 * 1024 * 1024,
            max_circuit_secs: 30 * 60,
            probe_secs: 15,
        }
    }
}

impl RelayConfig {
    /// The relay server's limits.
    fn server(&self) -> libp2p::relay::Config {
        libp2p::relay::Config {
            max_reservations: self.max_reservations,
            max_circuits: self.max_circuits,
            max_circuits_per_peer: self.max_circuits_per_peer,
            max_circuit_bytes: self.max_circuit_bytes,
            max_circuit_duration: Duration::from_secs(self.max_circuit_secs.min(u32::MAX as u64)),
            ..libp2p::relay::Config::default()
        }
    }

    /// AutoNAT: probes through connected peers, on private addresses too (offices and
    /// test networks use them), one confident answer.
    fn autonat(&self) -> libp2p::autonat::Config {
        let probe = Duration::from_secs(self.probe_secs.max(1));
        libp2p::autonat::Config {
            boot_delay: probe,
            retry_interval: probe,
            throttle_server_period: probe,
            refresh_interval: Duration::from_secs(15 * 60),
            confidence_max: 1,
            only_global_ips: false,
            ..libp2p::autonat::Config::default()
        }
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/0.0.0.0/tcp/4710".into()],
            bootstrap: Vec::new(),
            // mDNS multicasts on every interface: opt in on an office LAN.
            mdns: false,
            // 120 s: docs/BENCHMARKS.md (district simulation) found that live pulls deliver
            // nearly every write (p50 0.17 s, p99 0.33 s at 10, 30 and 120 s) while idle
            // traffic falls with the interval (1.08 → 0.25 MB per node and hour).
            sync_interval_secs: 120,
            max_peers: 64,
            relay: RelayConfig::default(),
            fast_join: true,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Why the connection was last ended, if it was: why we dropped the peer, or, starting
    /// with "it refused us", why it refused us.
    pub dropped: Option<String>,
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

/// What one sync session moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// New changes received and applied.
    pub received: u64,
    /// Received changes refused by a write policy.
    pub refused: u64,
    /// Changes sent.
    pub sent: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
}

/// Counters of the network layer (for `status` and `/metrics`).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) sessions_ok: AtomicU64,
    pub(crate) sessions_failed: AtomicU64,
    pub(crate) sessions_answered: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) changes_applied: AtomicU64,
    pub(crate) changes_refused: AtomicU64,
    pub(crate) peers_dropped: AtomicU64,
    pub(crate) announcements: AtomicU64,
    pub(crate) announcements_deferred: AtomicU64,
    pub(crate) announcements_broken: AtomicU64,
    /// [`Reachability`] as a number (0 unknown, 1 public, 2 private).
    pub(crate) reachability: std::sync::atomic::AtomicU8,
    pub(crate) relay_reservations: AtomicUsize,
    pub(crate) relay_reservations_refused: AtomicU64,
    pub(crate) direct_upgrades: AtomicU64,
    pub(crate) direct_upgrade_failures: AtomicU64,
}

/// Whether other nodes can dial this one, as AutoNAT last found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// Not known yet (no probe answered).
    #[default]
    Unknown,
    /// Peers dialled one of its addresses back.
    Public,
    /// No peer could dial it back: it is behind NAT (it reaches others through relays).
    Private,
}

impl Reachability {
    fn from_u8(n: u8) -> Reachability {
        match n {
            1 => Reachability::Public,
            2 => Reachability::Private,
            _ => Reachability::Unknown,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            Reachability::Unknown => 0,
            Reachability::Public => 1,
            Reachability::Private => 2,
        }
    }
}

/// A snapshot of the network counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetStats {
    /// Connected peers.
    pub peers: usize,
    /// Sync sessions this node started that completed.
    pub sessions_ok: u64,
    /// Sync sessions this node started that failed.
    pub sessions_failed: u64,
    /// Sync sessions answered for peers.
    pub sessions_answered: u64,
    /// Open responder sessions.
    pub sessions_open: usize,
    /// Bytes of answers waiting in open responder sessions (read lazily: about a frame each).
    pub sessions_queued_bytes: usize,
    /// Sync bytes received (sessions).
    pub bytes_in: u64,
    /// Sync bytes sent (sessions).
    pub bytes_out: u64,
    /// New changes received and applied.
    pub changes_applied: u64,
    /// Received changes refused by a write policy.
    pub changes_refused: u64,
    /// Peers dropped for refusal, invalid data or flooding.
    pub peers_dropped: u64,
    /// Announcements published.
    pub announcements: u64,
    /// Documents being pulled after announcements (at most 64).
    pub pulls_pending: usize,
    /// Announcements left to the next session because 64 documents were being pulled.
    pub announcements_deferred: u64,
    /// Announcements whose author, asked directly, delivered nothing.
    pub announcements_broken: u64,
    /// Whether other nodes can dial this one (AutoNAT).
    pub reachability: Reachability,
    /// Relays holding a reservation for this node (it is reachable through them).
    pub relay_reservations: usize,
    /// Reservations a relay refused or ended with an error (full, or not a relay).
    pub relay_reservations_refused: u64,
    /// Relayed connections upgraded to direct ones by hole punching (DCUtR).
    pub direct_upgrades: u64,
    /// Hole punching attempts that failed (the connection stays relayed).
    pub direct_upgrade_failures: u64,
}

/// Commands to the swarm task.
pub(crate) enum Cmd {
    Request {
        peer: PeerId,
        req: Request,
        reply: oneshot::Sender<Result<Response, String>>,
    },
    Respond {
        key: u64,
        resp: Response,
    },
    Drop {
        peer: PeerId,
        reason: String,
    },
    /// The peer answered that it refuses us: recorded, not banned.
    RefusedBy {
        peer: PeerId,
        reason: String,
    },
    /// Like `Drop`, after the answer to its current request went out (or a second passed).
    DropAfterAnswer {
        peer: PeerId,
        reason: String,
    },
    SessionDone {
        peer: PeerId,
        result: Result<linli_core::sync::Stats, String>,
    },
    Publish {
        topic: String,
        data: Vec<u8>,
    },
    Subscribe(Vec<String>),
    Dial(Multiaddr, oneshot::Sender<Result<(), NetError>>),
    SyncNow(oneshot::Sender<usize>),
    SyncWith(
        PeerId,
        oneshot::Sender<Result<linli_core::sync::Stats, NetError>>,
    ),
    Connected(PeerId, oneshot::Sender<bool>),
    /// Answered once the peer is connected (at once if it is).
    WhenConnected(PeerId, oneshot::Sender<()>),
    Block(PeerId, bool),
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    Listening(oneshot::Sender<Vec<String>>),
    Shutdown(oneshot::Sender<()>),
}

#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
struct Behaviour {
    rr: request_response::Behaviour<SyncCodec>,
    /// Fast-join snapshot requests, on a protocol of their own (`codec::SNAPSHOT_PROTOCOL`).
    snap: request_response::Behaviour<SyncCodec>,
    gossip: gossipsub::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
    relay: Toggle<libp2p::relay::Behaviour>,
    relay_client: libp2p::relay::client::Behaviour,
    dcutr: libp2p::dcutr::Behaviour,
    autonat: libp2p::autonat::Behaviour,
}

/// The running network of a node: a cloneable handle to the swarm task.
#[derive(Clone)]
pub struct Network {
    cmd: mpsc::Sender<Cmd>,
    me: NodeId,
    peer_id: PeerId,
    metrics: Arc<Metrics>,
    responders: Arc<Responders>,
    pulling: Arc<std::sync::Mutex<session::Pulls>>,
    connected: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("node", &self.me.short())
            .finish()
    }
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // Without OS randomness, fall back to the clock: uniqueness across restarts is what
    // matters here, not secrecy.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        b = t.to_le_bytes();
    }
    u64::from_le_bytes(b)
}

fn parse_addr(a: &str) -> Result<Multiaddr, NetError> {
    a.parse::<Multiaddr>().map_err(|e| NetError::BadAddress {
        addr: a.to_string(),
        reason: e.to_string(),
    })
}

pub(crate) fn topic_of(root: &NodeId, kind: DocKind, street: &str) -> String {
    let r = hex::encode(&root.0[..6]);
    if kind == DocKind::Federation {
        format!("linli/{r}/district")
    } else {
        format!("linli/{r}/street/{street}")
    }
}

impl Network {
    /// Starts networking for `node` the way the daemon does: with the node's own key (read
    /// from its key file, [`keypair`]) over TCP, and QUIC with the `quic` cargo feature
    /// ([`tcp_transport`]). See [`new`](Self::new).
    pub async fn start(node: Node, cfg: NetConfig) -> Result<Network, NetError> {
        let key = keypair(&node)?;
        let transport = tcp_transport(&key)?;
        Self::new(node, cfg, key, transport).await
    }

    /// Starts networking for `node` over `transport` with the libp2p identity `key`, which
    /// must be the node's own key (a peer id *is* a [`NodeId`]) and the key `transport`
    /// authenticates connections with: listens on the configured addresses (returns once
    /// they are bound), dials the bootstrap peers and syncs with every peer that connects.
    /// The daemon passes [`tcp_transport`]; tests pass [`memory_transport`] (or any
    /// transport libp2p can build) and run whole districts in one process without ports.
    pub async fn new(
        node: Node,
        cfg: NetConfig,
        key: libp2p::identity::Keypair,
        transport: Transport,
    ) -> Result<Network, NetError> {
        let listen: Vec<Multiaddr> = cfg
            .listen
            .iter()
            .map(|a| parse_addr(a))
            .collect::<Result<_, _>>()?;
        let bootstrap: Vec<Multiaddr> = cfg
            .bootstrap
            .iter()
            .map(|a| parse_addr(a))
            .collect::<Result<_, _>>()?;
        if session::node_of(&key.public().to_peer_id()) != Some(node.node_id()) {
            return Err(NetError::Transport(format!(
                "the network's key is not the key of node {}",
                node.node_id().short()
            )));
        }
        let training = node.training_clock().is_some();
        let mut swarm = build_swarm(key, transport, &cfg, training)?;
        let peer_id = *swarm.local_peer_id();
        for a in &listen {
            swarm.listen_on(a.clone()).map_err(|e| NetError::Listen {
                addr: a.to_string(),
                reason: e.to_string(),
            })?;
        }
        // Wait until every listener reported its address (or failed).
        let mut addrs = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut bound = 0;
        while bound < listen.len() {
            let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
                .await
                .map_err(|_| NetError::Transport("listening did not start within 10 s".into()))?;
            match ev {
                SwarmEvent::NewListenAddr { address, .. } => {
                    addrs.push(address);
                    bound += 1;
                }
                SwarmEvent::ListenerClosed {
                    addresses, reason, ..
                } => {
                    return Err(NetError::Listen {
                        addr: addresses
                            .first()
                            .map(|a| a.to_string())
                            .unwrap_or_else(|| format!("{listen:?}")),
                        reason: format!("{reason:?}"),
                    });
                }
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(NetError::Listen {
                        addr: format!("{listen:?}"),
                        reason: error.to_string(),
                    });
                }
                _ => {}
            }
        }
        let (cmd_tx, cmd_rx) = mpsc::channel(1024);
        let metrics = Arc::new(Metrics::default());
        let responders = Arc::new(Responders::default());
        let connected = Arc::new(AtomicUsize::new(0));
        let pulling: Arc<std::sync::Mutex<session::Pulls>> = Arc::default();
        let ctx = Ctx {
            node: node.clone(),
            cmd: cmd_tx.clone(),
            responders: responders.clone(),
            chunk: Arc::new(AtomicUsize::new(64)),
            metrics: metrics.clone(),
            pulling: pulling.clone(),
            broken: Arc::default(),
            join_failures: Arc::default(),
            // Session ids start at a random point: a restarted node (same key) must not
            // reuse the ids of sessions a peer may still hold open from before.
            next_session: Arc::new(AtomicU64::new(random_u64() >> 1)),
            fast_join: cfg.fast_join,
            fast_joining: Arc::default(),
            maybe_empty: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            fast_join_pending: Arc::default(),
            fast_join_done: Arc::default(),
        };
        let root = node.root();
        let me = node.node_id();
        let topics = node.read(move |rep| topics_of(rep, &root, &me)).await?;
        let now = Instant::now();
        let mut driver = Driver {
            swarm,
            ctx: ctx.clone(),
            cfg: cfg.clone(),
            cmd_rx,
            pending: HashMap::new(),
            pending_snap: HashMap::new(),
            channels: HashMap::new(),
            next_channel: 0,
            peers: BTreeMap::new(),
            bootstrap: bootstrap
                .into_iter()
                .map(|addr| Boot {
                    addr,
                    peer: None,
                    next: now,
                    delay: Duration::from_secs(1),
                })
                .collect(),
            banned: HashMap::new(),
            closing: HashMap::new(),
            blocked: BTreeSet::new(),
            topics: BTreeSet::new(),
            addrs,
            connected: connected.clone(),
            last_sync_round: now,
            waiting: HashMap::new(),
            relays: BTreeMap::new(),
            dialled: HashMap::new(),
            reservations: HashMap::new(),
            reserved: BTreeSet::new(),
            reachability: Reachability::Unknown,
        };
        driver.subscribe(topics);
        tokio::spawn(announcer(ctx, root));
        tokio::spawn(driver.run());
        Ok(Network {
            cmd: cmd_tx,
            me: node.node_id(),
            peer_id,
            metrics,
            responders,
            pulling,
            connected,
        })
    }

    /// This node's key.
    pub fn node_id(&self) -> NodeId {
        self.me
    }

    /// This node's libp2p peer id (the same key).
    pub fn peer_id(&self) -> String {
        self.peer_id.to_string()
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Result<T, NetError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// The addresses this node listens on, each with `/p2p/<peer id>` appended (what
    /// other nodes put in their `bootstrap` list).
    pub async fn listen_addrs(&self) -> Result<Vec<String>, NetError> {
        self.ask(Cmd::Listening).await
    }

    /// Known peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, NetError> {
        self.ask(Cmd::Peers).await
    }

    /// Dials `addr` (a multiaddr); returns once the dial started.
    pub async fn dial(&self, addr: &str) -> Result<(), NetError> {
        let a = parse_addr(addr)?;
        self.ask(|tx| Cmd::Dial(a, tx)).await?
    }

    /// Starts a sync session with every connected peer that has none running; returns how
    /// many were started.
    pub async fn sync_now(&self) -> Result<usize, NetError> {
        self.ask(Cmd::SyncNow).await
    }

    /// Connects to the peer at `addr` (a multiaddr ending in `/p2p/<peer id>`, as printed
    /// by [`listen_addrs`](Self::listen_addrs)), runs one sync session with it and returns
    /// what moved. Fails after `timeout` if the peer cannot be reached.
    pub async fn sync_with(&self, addr: &str, timeout: Duration) -> Result<SyncReport, NetError> {
        let a = parse_addr(addr)?;
        let Some(libp2p::multiaddr::Protocol::P2p(peer)) = a.iter().last() else {
            return Err(NetError::BadAddress {
                addr: addr.to_string(),
                reason: "it must end with /p2p/<peer id> (see `listen_addrs`)".into(),
            });
        };
        let deadline = tokio::time::Instant::now() + timeout;
        if !self.ask(|tx| Cmd::Connected(peer, tx)).await? {
            self.ask(|tx| Cmd::Dial(a, tx)).await??;
            let connected = self.ask(|tx| Cmd::WhenConnected(peer, tx));
            match tokio::time::timeout_at(deadline, connected).await {
                Ok(r) => r?,
                Err(_) => {
                    return Err(NetError::Transport(format!(
                        "could not connect to {addr} within {timeout:?}"
                    )));
                }
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let stats = tokio::time::timeout(left, self.ask(|tx| Cmd::SyncWith(peer, tx)))
            .await
            .map_err(|_| {
                NetError::Transport(format!("sync with {addr} took over {timeout:?}"))
            })???;
        Ok(SyncReport {
            received: stats.changes_applied,
            refused: stats.changes_refused,
            sent: stats.changes_out,
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
        })
    }

    /// Disconnects `peer` and refuses it until [`unblock`](Self::unblock) (an operator
    /// cutting a link, e.g. to isolate a misbehaving office).
    pub async fn block(&self, peer: NodeId) -> Result<(), NetError> {
        let p = session::peer_of(&peer)
            .ok_or_else(|| NetError::Transport(format!("{} is not a valid key", peer.short())))?;
        self.cmd
            .send(Cmd::Block(p, true))
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Lifts a [`block`](Self::block).
    pub async fn unblock(&self, peer: NodeId) -> Result<(), NetError> {
        let p = session::peer_of(&peer)
            .ok_or_else(|| NetError::Transport(format!("{} is not a valid key", peer.short())))?;
        self.cmd
            .send(Cmd::Block(p, false))
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Counters.
    pub fn stats(&self) -> NetStats {
        let m = &self.metrics;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        NetStats {
            peers: self.connected.load(Ordering::Relaxed),
            sessions_ok: l(&m.sessions_ok),
            sessions_failed: l(&m.sessions_failed),
            sessions_answered: l(&m.sessions_answered),
            sessions_open: self.responders.len(),
            sessions_queued_bytes: self.responders.queued_bytes(),
            bytes_in: l(&m.bytes_in),
            bytes_out: l(&m.bytes_out),
            changes_applied: l(&m.changes_applied),
            changes_refused: l(&m.changes_refused),
            peers_dropped: l(&m.peers_dropped),
            announcements: l(&m.announcements),
            pulls_pending: self.pulling.lock().map(|p| p.len()).unwrap_or(0),
            announcements_deferred: l(&m.announcements_deferred),
            announcements_broken: l(&m.announcements_broken),
            reachability: Reachability::from_u8(m.reachability.load(Ordering::Relaxed)),
            relay_reservations: m.relay_reservations.load(Ordering::Relaxed),
            relay_reservations_refused: l(&m.relay_reservations_refused),
            direct_upgrades: l(&m.direct_upgrades),
            direct_upgrade_failures: l(&m.direct_upgrade_failures),
        }
    }

    /// Stops the network (the node keeps running).
    pub async fn shutdown(&self) -> Result<(), NetError> {
        self.ask(Cmd::Shutdown).await
    }
}

/// A libp2p transport for [`Network::new`]: its connections are authenticated (each knows
/// the peer's id) and multiplexed.
pub type Transport = libp2p::core::transport::Boxed<(PeerId, StreamMuxerBox)>;

/// How long a connection may take to be established and upgraded (libp2p's
/// `SwarmBuilder` default, which this network was built with before it took its transport
/// as an argument).
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The libp2p peer id (text) of a node key, as written after `/p2p/` in a multiaddr.
pub fn peer_id_of(node: &NodeId) -> Option<String> {
    session::peer_of(node).map(|p| p.to_string())
}

/// The libp2p identity of `node`: its own ed25519 key, read from its key file.
pub fn keypair(node: &Node) -> Result<libp2p::identity::Keypair, NetError> {
    let mut secret = crate::store::keyfile::read(node.dir())
        .map_err(crate::NodeError::from)?
        .ok_or_else(|| NetError::Transport("the node has no key file".into()))?;
    libp2p::identity::Keypair::ed25519_from_bytes(&mut secret)
        .map_err(|e| NetError::Transport(format!("node key: {e}")))
}

/// The daemon's transport: TCP (no Nagle delay) with noise and yamux, and QUIC next to it
/// with the `quic` cargo feature; connections are authenticated with `key`.
pub fn tcp_transport(key: &libp2p::identity::Keypair) -> Result<Transport, NetError> {
    use libp2p::Transport as _;
    let noise = noise::Config::new(key).map_err(|e| NetError::Transport(e.to_string()))?;
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
        .upgrade(libp2p::core::upgrade::Version::V1Lazy)
        .authenticate(noise)
        .multiplex(yamux::Config::default())
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
    #[cfg(feature = "quic")]
    let tcp = tcp
        .or_transport(
            libp2p::quic::tokio::Transport::new(libp2p::quic::Config::new(key))
                .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer))),
        )
        .map(|either, _| either.into_inner());
    Ok(tcp.boxed())
}

/// libp2p's in-process memory transport (`/memory/<n>` addresses: no ports) with the same
/// noise and yamux upgrades as TCP; connections are authenticated with `key`. For tests and
/// simulations that run many nodes in one process.
pub fn memory_transport(key: &libp2p::identity::Keypair) -> Result<Transport, NetError> {
    use libp2p::Transport as _;
    let noise = noise::Config::new(key).map_err(|e| NetError::Transport(e.to_string()))?;
    Ok(libp2p::core::transport::MemoryTransport::default()
        .upgrade(libp2p::core::upgrade::Version::V1)
        .authenticate(noise)
        .multiplex(yamux::Config::default())
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
        .boxed())
}

/// The identify protocol version of a node on real time.
const IDENTIFY_VERSION: &str = "/linli/1";
/// The identify protocol version of a node on a training clock.
const IDENTIFY_TRAINING: &str = "/linli-training/1";
/// gossipsub's `mesh_n_high`: the peers a node keeps in its mesh before pruning.
pub const MESH_N_HIGH: usize = 32;
/// gossipsub's protocol id prefix on a training clock (real time keeps libp2p's
/// `/meshsub`).
const GOSSIP_TRAINING: &str = "/linli-training/meshsub";

/// `transport` with relayed connections beside it (dialling and listening through a relay,
/// upgraded with noise and yamux as the others are), and the relay client behaviour that
/// drives them.
pub(crate) fn with_relay_client(
    key: &libp2p::identity::Keypair,
    transport: Transport,
) -> Result<(Transport, libp2p::relay::client::Behaviour), NetError> {
    use libp2p::Transport as _;
    let (relayed, client) = libp2p::relay::client::new(key.public().to_peer_id());
    let noise = noise::Config::new(key).map_err(|e| NetError::Transport(e.to_string()))?;
    let relayed = relayed
        .upgrade(libp2p::core::upgrade::Version::V1Lazy)
        .authenticate(noise)
        .multiplex(yamux::Config::default())
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
    let transport = relayed
        .or_transport(transport)
        .map(|either, _| either.into_inner())
        .boxed();
    Ok((transport, client))
}

fn build_swarm(
    key: libp2p::identity::Keypair,
    transport: Transport,
    cfg: &NetConfig,
    training: bool,
) -> Result<Swarm<Behaviour>, NetError> {
    use libp2p::Transport as _;
    let t = |e: &dyn std::fmt::Display| NetError::Transport(e.to_string());
    // A node on a training clock speaks other protocols (sync, gossip, identify): it never
    // exchanges sessions, pulls or announcements with a node on real time.
    let rr = request_response::Behaviour::new(
        [(
            codec::protocol(training),
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(60))
            .with_max_concurrent_streams(16),
    );
    let snap = request_response::Behaviour::new(
        [(
            codec::snapshot_protocol(training),
            request_response::ProtocolSupport::Full,
        )],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(120))
            .with_max_concurrent_streams(4),
    );
    let mut gb = gossipsub::ConfigBuilder::default();
    if training {
        gb.protocol_id_prefix(GOSSIP_TRAINING);
    }
    let gcfg = gb
        .heartbeat_interval(Duration::from_millis(500))
        // A community with up to 32 peers (its street and 24+ units in the stress district)
        // keeps every one in its mesh and forwards announcements eagerly; at the default 12,
        // units outside the mesh heard of writes only by IHAVE or the next session (p99
        // 0.8–19 s in the district simulation, docs/BENCHMARKS.md).
        .mesh_n_high(MESH_N_HIGH)
        .validation_mode(gossipsub::ValidationMode::Strict)
        .max_transmit_size(16 * 1024)
        .build()
        .map_err(|e| t(&format!("gossipsub config: {e}")))?;
    let gossip =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), gcfg)
            .map_err(|e| t(&e))?;
    let version = if training {
        IDENTIFY_TRAINING
    } else {
        IDENTIFY_VERSION
    };
    let identify = identify::Behaviour::new(identify::Config::new(version.into(), key.public()));
    let peer_id = key.public().to_peer_id();
    let mdns = if cfg.mdns {
        Some(mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id).map_err(|e| t(&e))?)
    } else {
        None
    };
    let (transport, relay_client) = with_relay_client(&key, transport)?;
    let behaviour = Behaviour {
        rr,
        snap,
        gossip,
        identify,
        ping: ping::Behaviour::default(),
        mdns: Toggle::from(mdns),
        relay: Toggle::from(
            cfg.relay
                .serve
                .then(|| libp2p::relay::Behaviour::new(peer_id, cfg.relay.server())),
        ),
        relay_client,
        dcutr: libp2p::dcutr::Behaviour::new(peer_id),
        autonat: libp2p::autonat::Behaviour::new(peer_id, cfg.relay.autonat()),
    };
    let transport =
        libp2p::core::transport::timeout::TransportTimeout::new(transport, CONNECTION_TIMEOUT)
            .boxed();
    Ok(Swarm::new(
        transport,
        behaviour,
        peer_id,
        libp2p::swarm::Config::with_tokio_executor()
            .with_idle_connection_timeout(Duration::from_secs(600)),
    ))
}

/// The topics a node follows: the district's, the streets of the documents it holds, and
/// either every street the federation names or only its own.
///
/// The root and the street offices are the relays of the district's tree (a street dials
/// the root, a community its street, a unit its community), so they follow every street:
/// an announcement crosses between streets through them. A community or a unit follows
/// only its own street(s) — those of its certificates' chain — and those of documents it
/// holds: in the district simulation (docs/BENCHMARKS.md) following every street made each
/// node hear every write of the district and pull documents it may not receive, 65–75 %
/// of all bytes at peak, growing with the square of the district's size. A new document of
/// another street that such a node may receive comes with the next session instead. A key
/// with no certificate yet (a newcomer) follows every street, as before.
fn topics_of(rep: &linli_core::Replica, root: &NodeId, me: &NodeId) -> Vec<String> {
    use linli_core::cert::Role;
    let mut t: BTreeSet<String> = BTreeSet::new();
    t.insert(topic_of(root, DocKind::Federation, ""));
    let mut street = |s: &str| {
        t.insert(topic_of(root, DocKind::Registry, s));
    };
    for id in rep.catalog().keys() {
        let Ok(h) = rep.header(*id) else { continue };
        if h.kind != DocKind::Federation {
            street(h.street.as_str());
            continue;
        }
        let Ok(f) = rep.federation(*id) else { continue };
        let certs = f.certificates();
        let mine: Vec<_> = certs.iter().filter(|c| &c.subject == me).collect();
        let relay = me == root || mine.is_empty() || mine.iter().any(|c| c.role == Role::Street);
        // The streets of communities named `code` (codes are unique only within a street,
        // so a unit's community code may name one in several streets: all are followed).
        let streets_of_community = |code: &OrgId| -> Vec<OrgId> {
            certs
                .iter()
                .filter(|c| c.role == Role::Community && &c.org == code)
                .filter_map(|c| c.parent.clone())
                .collect()
        };
        if relay {
            for c in &certs {
                match c.role {
                    Role::Street => street(c.org.as_str()),
                    Role::Community => {
                        if let Some(p) = &c.parent {
                            street(p.as_str());
                        }
                    }
                    _ => {}
                }
            }
        } else {
            for c in &mine {
                let streets = match c.role {
                    Role::Community => c.parent.iter().cloned().collect(),
                    Role::Unit | Role::Partner => c
                        .parent
                        .as_ref()
                        .map(streets_of_community)
                        .unwrap_or_default(),
                    Role::Street => vec![c.org.clone()],
                };
                for s in streets {
                    street(s.as_str());
                }
            }
        }
    }
    t.into_iter().collect()
}

/// Publishes announcements of local writes and follows the topics of new documents.
async fn announcer(ctx: Ctx, root: NodeId) {
    let mut events = ctx.node.subscribe();
    loop {
        let ev = match events.recv().await {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!("announcer lagged behind by {n} events");
                continue;
            }
            Err(_) => return,
        };
        let (doc, origin) = match ev {
            NodeEvent::DocumentChanged { doc, origin, .. } => (doc, origin),
            // Personal data written or erased here: the audience's connected nodes get it
            // now rather than at their next session (each side sends only what the other
            // may read).
            NodeEvent::PersonalChanged {
                origin: crate::Origin::Local,
                ..
            } => {
                if exchange_with_connected(&ctx).await.is_err() {
                    return;
                }
                continue;
            }
            // A peer's snapshot held what full verification refuses (or a document this
            // node may not receive): the peer is dropped and banned, as for a forged change.
            NodeEvent::SnapshotRefused { source, reason, .. } => {
                if let Some(peer) = session::peer_of(&source)
                    && ctx
                        .cmd
                        .send(Cmd::Drop {
                            peer,
                            reason: format!("its snapshot was refused: {reason}"),
                        })
                        .await
                        .is_err()
                {
                    return;
                }
                continue;
            }
            // Verified: announced now (it was not while provisional).
            NodeEvent::DocumentVerified { doc } => (doc, crate::Origin::Local),
            _ => continue,
        };
        if drop_revoked_peers(&ctx, doc).await.is_err() {
            return;
        }
        let me = ctx.node.node_id();
        let found = ctx
            .node
            .read(move |rep| {
                let h = rep.header(doc).ok()?;
                // A federation change may certify this node or a new street: the topics
                // follow it.
                let mut topics = if h.kind == DocKind::Federation {
                    topics_of(rep, &root, &me)
                } else {
                    Vec::new()
                };
                let topic = topic_of(&root, h.kind, h.street.as_str());
                topics.push(topic.clone());
                Some((topic, topics, linli_core::sync::announce(rep, doc)))
            })
            .await;
        let (topic, topics, msg) = match found {
            Ok(Some(x)) => x,
            Ok(None) => continue,
            Err(_) => return,
        };
        if ctx.cmd.send(Cmd::Subscribe(topics)).await.is_err() {
            return;
        }
        if origin == crate::Origin::Local
            && let Some(data) = msg
            && ctx.cmd.send(Cmd::Publish { topic, data }).await.is_err()
        {
            return;
        }
    }
}

/// After a change of a federation document: every connected peer whose certificates were
/// all revoked (it would get nothing but the federation document now) is dropped, so it
/// reads nothing more over a session it opened before. `Err` when the node or the driver is
/// gone.
async fn drop_revoked_peers(ctx: &Ctx, doc: linli_core::DocId) -> Result<(), ()> {
    // Only a federation document holds revocations, and only while one is in force is
    // anyone to drop: most events stop here, without asking the driver.
    let federation = ctx
        .node
        .read(move |rep| {
            rep.header(doc).is_ok_and(|h| h.kind == DocKind::Federation)
                && !rep.revocations_in_force().is_empty()
        })
        .await
        .map_err(|_| ())?;
    if !federation {
        return Ok(());
    }
    let (tx, rx) = oneshot::channel();
    ctx.cmd.send(Cmd::Peers(tx)).await.map_err(|_| ())?;
    let connected: Vec<NodeId> = rx
        .await
        .map_err(|_| ())?
        .into_iter()
        .filter(|p| p.connected && p.dropped.is_none())
        .map(|p| p.node)
        .collect();
    if connected.is_empty() {
        return Ok(());
    }
    let now = ctx.node.now();
    let revoked: Vec<NodeId> = ctx
        .node
        .read(move |rep| {
            connected
                .into_iter()
                .filter(|n| {
                    !rep.withdrawn_of(n).is_empty()
                        && rep.reader(n, now).is_none()
                        && rep.principal(n, now).is_ok()
                })
                .collect()
        })
        .await
        .map_err(|_| ())?;
    for n in revoked {
        if let Some(peer) = session::peer_of(&n) {
            ctx.cmd
                .send(Cmd::Drop {
                    peer,
                    reason: "its certificates were revoked: it may read nothing more".into(),
                })
                .await
                .map_err(|_| ())?;
        }
    }
    Ok(())
}

/// Runs the personal-record exchange with every connected peer (each in its own task).
/// `Err` when the driver is gone.
async fn exchange_with_connected(ctx: &Ctx) -> Result<(), ()> {
    let (tx, rx) = oneshot::channel();
    ctx.cmd.send(Cmd::Peers(tx)).await.map_err(|_| ())?;
    let peers = rx.await.map_err(|_| ())?;
    for p in peers
        .into_iter()
        .filter(|p| p.connected && p.dropped.is_none())
    {
        if let Some(peer) = session::peer_of(&p.node) {
            tokio::spawn(exchange_personal(ctx.clone(), peer));
        }
    }
    Ok(())
}

/// The personal exchange with `peer`; a peer that sent forged records is dropped.
async fn exchange_personal(ctx: Ctx, peer: PeerId) {
    match session::exchange_personal(&ctx, peer).await {
        Ok(n) => {
            if n > 0 {
                tracing::debug!(%peer, "{n} personal records received");
            }
        }
        Err(Fault::Refused(r) | Fault::Invalid(r)) => {
            let _ = ctx.cmd.send(Cmd::Drop { peer, reason: r }).await;
        }
        Err(f) => tracing::debug!(%peer, "personal exchange failed: {f}"),
    }
}

/// Runs one session as the initiator; drops the peer if it was refused or sent invalid
/// data, and reports the outcome to the driver.
async fn run_session(
    ctx: Ctx,
    peer: PeerId,
    counted: bool,
) -> Result<linli_core::sync::Stats, String> {
    // A node that holds nothing yet first asks for snapshots (fast join); whatever the
    // outcome, the session follows and brings the rest.
    let joined = session::fast_join(&ctx, peer).await;
    if counted {
        ctx.fast_join_pending.fetch_sub(1, Ordering::AcqRel);
        ctx.fast_join_done.notify_waiters();
    }
    match joined {
        Ok(Some(r)) => tracing::info!(
            %peer,
            "fast join: {} documents restored provisionally, {} left out",
            r.provisional.len(),
            r.left_out.len()
        ),
        Ok(None) => {}
        Err(Fault::Invalid(r)) => {
            let _ = ctx.cmd.send(Cmd::Drop { peer, reason: r }).await;
        }
        // An older peer does not speak the snapshot protocol, or refuses us: sessions only.
        Err(f) => tracing::debug!(%peer, "fast join not possible: {f}"),
    }
    let result = match session::initiate(ctx.clone(), peer).await {
        Ok(stats) => Ok(stats),
        Err(f) => {
            match &f {
                Fault::Refused(r) | Fault::Invalid(r) => {
                    let _ = ctx
                        .cmd
                        .send(Cmd::Drop {
                            peer,
                            reason: r.clone(),
                        })
                        .await;
                }
                // Recorded (it may be the side that checks our chain first), not banned: it
                // may accept us once it knows our certificate.
                Fault::RefusedUs(r) => {
                    let _ = ctx
                        .cmd
                        .send(Cmd::RefusedBy {
                            peer,
                            reason: r.clone(),
                        })
                        .await;
                }
                // Not banned: its certificate may be on its way (see `Fault::Stranger`).
                Fault::Stranger(r) => tracing::debug!(%peer, "session refused: {r}"),
                Fault::Failed(_) => {}
            }
            Err(f.to_string())
        }
    };
    let _ = ctx
        .cmd
        .send(Cmd::SessionDone {
            peer,
            result: result.clone(),
        })
        .await;
    if result.is_ok() {
        // After the documents, so the records' documents are there to judge them by.
        exchange_personal(ctx, peer).await;
    }
    result
}

struct Boot {
    addr: Multiaddr,
    peer: Option<PeerId>,
    next: Instant,
    delay: Duration,
}

#[derive(Default)]
struct PeerState {
    addrs: BTreeSet<Multiaddr>,
    connections: usize,
    syncing: bool,
    org: Option<String>,
    last_sync: Option<Timestamp>,
    ok: u64,
    failed: u64,
    window: Option<Instant>,
    requests: u32,
    dropped: Option<String>,
}

/// A peer's sync state as the store keeps it (opaque to the store): the last successful
/// session (milliseconds) and the sessions that succeeded and failed. The fields are in
/// key order, as the JSON was written before.
#[derive(Serialize)]
struct StoredSyncState {
    failed: u64,
    last_sync: i64,
    ok: u64,
}

impl PeerState {
    /// The sync state to store after a successful session at `now`.
    fn stored(&self, now: Timestamp) -> Vec<u8> {
        let state = StoredSyncState {
            failed: self.failed,
            last_sync: now.0,
            ok: self.ok,
        };
        // A struct of integers always serializes.
        serde_json::to_vec(&state).unwrap_or_default()
    }
}

type Pending =
    HashMap<request_response::OutboundRequestId, oneshot::Sender<Result<Response, String>>>;

struct Driver {
    swarm: Swarm<Behaviour>,
    ctx: Ctx,
    cfg: NetConfig,
    cmd_rx: mpsc::Receiver<Cmd>,
    pending: Pending,
    /// Outbound snapshot requests (ids are the snapshot behaviour's own).
    pending_snap: Pending,
    /// Response channels, and whether each is the snapshot behaviour's.
    channels: HashMap<u64, (bool, request_response::ResponseChannel<Response>)>,
    next_channel: u64,
    peers: BTreeMap<PeerId, PeerState>,
    bootstrap: Vec<Boot>,
    banned: HashMap<PeerId, Instant>,
    /// Dropped peers to disconnect once their last answer went out.
    closing: HashMap<PeerId, Instant>,
    blocked: BTreeSet<PeerId>,
    topics: BTreeSet<String>,
    addrs: Vec<Multiaddr>,
    connected: Arc<AtomicUsize>,
    last_sync_round: Instant,
    /// Callers waiting for a connection to a peer (`sync_with`).
    waiting: HashMap<PeerId, Vec<oneshot::Sender<()>>>,
    /// Relays: connected peers that serve as relays, by the address this node dialled them
    /// at (a relay is reached directly).
    relays: BTreeMap<PeerId, Multiaddr>,
    /// Addresses this node dialled its connected peers at (directly, not through a relay).
    dialled: HashMap<PeerId, Multiaddr>,
    /// Reservations asked or held: the listener through each relay, and when a closed one
    /// may be asked again.
    reservations: HashMap<PeerId, Reservation>,
    /// Relays that accepted a reservation (still listened through).
    reserved: BTreeSet<PeerId>,
    /// AutoNAT's last answer.
    reachability: Reachability,
}

/// A reservation on a relay: listening through it.
enum Reservation {
    Listening(libp2p::core::transport::ListenerId),
    /// Closed or refused: ask again after this instant.
    Retry(Instant),
}

/// How long after a reservation closed or was refused it is asked again.
const RESERVATION_RETRY: Duration = Duration::from_secs(10);

impl Driver {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev),
                cmd = self.cmd_rx.recv() => match cmd {
                    Some(Cmd::Shutdown(reply)) => {
                        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                        for p in peers {
                            let _ = self.swarm.disconnect_peer_id(p);
                        }
                        let _ = reply.send(());
                        return;
                    }
                    Some(c) => self.on_cmd(c),
                    None => return,
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
    }

    fn subscribe(&mut self, topics: Vec<String>) {
        for t in topics {
            if self.topics.insert(t.clone()) {
                let topic = gossipsub::IdentTopic::new(t);
                if let Err(e) = self.swarm.behaviour_mut().gossip.subscribe(&topic) {
                    tracing::warn!("cannot subscribe to {topic}: {e}");
                }
            }
        }
    }

    fn connected_count(&self) -> usize {
        self.peers.values().filter(|p| p.connections > 0).count()
    }

    fn start_session(&mut self, peer: PeerId) -> bool {
        let Some(st) = self.peers.get_mut(&peer) else {
            return false;
        };
        if st.syncing || st.connections == 0 {
            return false;
        }
        st.syncing = true;
        // While this node may hold nothing yet, the session's fast join is counted from
        // now on, so a peer's session arriving meanwhile waits for it (`session::respond`).
        let counted = self.ctx.fast_join && self.ctx.maybe_empty.load(Ordering::Acquire);
        if counted {
            self.ctx.fast_join_pending.fetch_add(1, Ordering::AcqRel);
        }
        tokio::spawn(run_session(self.ctx.clone(), peer, counted));
        true
    }

    fn drop_peer(&mut self, peer: PeerId, reason: &str) {
        self.ban(peer, reason);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    /// Records why `peer` is dropped and bans it (new requests are refused from now on).
    fn ban(&mut self, peer: PeerId, reason: &str) {
        if self
            .banned
            .get(&peer)
            .is_some_and(|until| *until > Instant::now())
        {
            // Already dropped: the first reason stands. (A request in flight when the peer
            // was dropped names a session the drop closed, and would read as a replay.)
            tracing::debug!(%peer, "already dropped; also: {reason}");
            return;
        }
        tracing::warn!(%peer, "dropping peer: {reason}");
        self.ctx
            .metrics
            .peers_dropped
            .fetch_add(1, Ordering::Relaxed);
        self.banned.insert(peer, Instant::now() + BAN);
        self.ctx.responders.forget(&peer);
        self.peers.entry(peer).or_default().dropped = Some(reason.to_string());
        if let Some(node) = session::node_of(&peer) {
            self.ctx.node.emit(NodeEvent::PeerDropped {
                peer: node,
                reason: reason.to_string(),
            });
        }
    }

    /// Disconnects a peer waiting in `closing` once its answer went out.
    fn answered(&mut self, peer: PeerId) {
        if self.closing.remove(&peer).is_some() {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn is_banned(&mut self, peer: &PeerId) -> bool {
        if self.blocked.contains(peer) {
            return true;
        }
        match self.banned.get(peer) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                self.banned.remove(peer);
                false
            }
            None => false,
        }
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        self.reserve();
        // Bootstrap peers: redial with exponential backoff while not connected.
        let mut dials = Vec::new();
        for b in &mut self.bootstrap {
            let up = b
                .peer
                .is_some_and(|p| self.peers.get(&p).is_some_and(|s| s.connections > 0));
            let blocked = b.peer.is_some_and(|p| self.blocked.contains(&p));
            if !up && !blocked && b.next <= now {
                dials.push(b.addr.clone());
                b.next = now + b.delay;
                b.delay = (b.delay * 2).min(Duration::from_secs(60));
            }
        }
        for a in dials {
            if let Err(e) = self.swarm.dial(a.clone()) {
                tracing::debug!(%a, "dial failed: {e}");
            }
        }
        if now.duration_since(self.last_sync_round) >= self.cfg.sync_interval() {
            self.last_sync_round = now;
            let peers: Vec<PeerId> = self.peers.keys().copied().collect();
            for p in peers {
                self.start_session(p);
            }
        }
        self.ctx.responders.expire();
        // Callers that stopped waiting (their deadline passed).
        self.waiting.retain(|_, w| {
            w.retain(|reply| !reply.is_closed());
            !w.is_empty()
        });
        let due: Vec<PeerId> = self
            .closing
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.answered(p);
        }
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Request { peer, req, reply } => {
                if self.swarm.is_connected(&peer) {
                    if matches!(req, Request::Snapshots { .. }) {
                        let id = self.swarm.behaviour_mut().snap.send_request(&peer, req);
                        self.pending_snap.insert(id, reply);
                    } else {
                        let id = self.swarm.behaviour_mut().rr.send_request(&peer, req);
                        self.pending.insert(id, reply);
                    }
                } else {
                    let _ = reply.send(Err("the peer is not connected".into()));
                }
            }
            Cmd::Respond { key, resp } => {
                if let Some((snap, ch)) = self.channels.remove(&key) {
                    // The peer may be gone: nothing to do then.
                    let b = self.swarm.behaviour_mut();
                    let _ = if snap {
                        b.snap.send_response(ch, resp)
                    } else {
                        b.rr.send_response(ch, resp)
                    };
                }
            }
            Cmd::Drop { peer, reason } => self.drop_peer(peer, &reason),
            Cmd::RefusedBy { peer, reason } => {
                tracing::warn!(%peer, "the peer refused us: {reason}");
                // Our own reason for dropping it (a ban) stays: it is what we decided.
                let entry = self.peers.entry(peer).or_default();
                if entry
                    .dropped
                    .as_ref()
                    .is_none_or(|d| d.starts_with("it refused us"))
                {
                    let reason = format!("it refused us: {reason}");
                    entry.dropped = Some(reason.clone());
                    if let Some(peer) = session::node_of(&peer) {
                        self.ctx.node.emit(NodeEvent::PeerDropped { peer, reason });
                    }
                }
            }
            Cmd::DropAfterAnswer { peer, reason } => {
                self.ban(peer, &reason);
                self.closing
                    .insert(peer, Instant::now() + Duration::from_secs(1));
            }
            Cmd::SessionDone { peer, result } => self.session_done(peer, result),
            Cmd::Publish { topic, data } => {
                let t = gossipsub::IdentTopic::new(topic);
                match self.swarm.behaviour_mut().gossip.publish(t, data) {
                    Ok(_) => {
                        self.ctx
                            .metrics
                            .announcements
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    // Nobody to tell yet: the next sync session carries it.
                    Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {}
                    Err(e) => tracing::debug!("announcement not published: {e}"),
                }
            }
            Cmd::Subscribe(t) => self.subscribe(t),
            Cmd::Dial(a, reply) => {
                let r = self
                    .swarm
                    .dial(a.clone())
                    .map_err(|e| NetError::Transport(format!("cannot dial {a}: {e}")));
                let _ = reply.send(r);
            }
            Cmd::SyncNow(reply) => {
                let peers: Vec<PeerId> = self.peers.keys().copied().collect();
                let n = peers.into_iter().filter(|p| self.start_session(*p)).count();
                let _ = reply.send(n);
            }
            Cmd::Connected(peer, reply) => {
                let _ = reply.send(self.swarm.is_connected(&peer));
            }
            Cmd::WhenConnected(peer, reply) => {
                if self.swarm.is_connected(&peer) {
                    let _ = reply.send(());
                } else {
                    self.waiting.entry(peer).or_default().push(reply);
                }
            }
            Cmd::SyncWith(peer, reply) => {
                if let Some(st) = self.peers.get_mut(&peer) {
                    st.syncing = true;
                }
                let ctx = self.ctx.clone();
                tokio::spawn(async move {
                    let r = run_session(ctx, peer, false).await;
                    let _ = reply.send(r.map_err(NetError::Transport));
                });
            }
            Cmd::Block(peer, on) => {
                if on {
                    self.blocked.insert(peer);
                    let _ = self.swarm.disconnect_peer_id(peer);
                } else {
                    self.blocked.remove(&peer);
                    self.banned.remove(&peer);
                    // Reconnect soon if it is a bootstrap peer.
                    for b in &mut self.bootstrap {
                        if b.peer == Some(peer) {
                            b.next = Instant::now();
                            b.delay = Duration::from_secs(1);
                        }
                    }
                }
            }
            Cmd::Peers(reply) => {
                let out = self
                    .peers
                    .iter()
                    .filter_map(|(p, st)| {
                        Some(PeerInfo {
                            node: session::node_of(p)?,
                            org: st.org.clone(),
                            addrs: st.addrs.iter().map(|a| a.to_string()).collect(),
                            connected: st.connections > 0,
                            last_sync: st.last_sync,
                            sessions_ok: st.ok,
                            sessions_failed: st.failed,
                            dropped: st.dropped.clone(),
                        })
                    })
                    .collect();
                let _ = reply.send(out);
            }
            Cmd::Listening(reply) => {
                let me = *self.swarm.local_peer_id();
                // Addresses through a relay end with this node's id already.
                let out = self
                    .addrs
                    .iter()
                    .map(|a| a.clone().with_p2p(me).unwrap_or_else(|a| a).to_string())
                    .collect();
                let _ = reply.send(out);
            }
            // Handled in `run`.
            Cmd::Shutdown(reply) => {
                let _ = reply.send(());
            }
        }
    }

    fn session_done(&mut self, peer: PeerId, result: Result<linli_core::sync::Stats, String>) {
        let now = self.ctx.node.now();
        let m = &self.ctx.metrics;
        let st = self.peers.entry(peer).or_default();
        st.syncing = false;
        match result {
            Ok(stats) => {
                st.ok += 1;
                st.last_sync = Some(now);
                m.sessions_ok.fetch_add(1, Ordering::Relaxed);
                m.bytes_in.fetch_add(stats.bytes_in, Ordering::Relaxed);
                m.bytes_out.fetch_add(stats.bytes_out, Ordering::Relaxed);
                tracing::debug!(%peer, applied = stats.changes_applied, sent = stats.changes_out, "sync session done");
                let node = self.ctx.node.clone();
                if let Some(n) = session::node_of(&peer) {
                    let state = st.stored(now);
                    tokio::spawn(async move {
                        if let Err(e) = node.set_peer_state(n, state).await {
                            tracing::warn!("cannot record the peer's sync state: {e}");
                        }
                    });
                }
            }
            Err(e) => {
                st.failed += 1;
                m.sessions_failed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%peer, "sync session failed: {e}");
            }
        }
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } if !self.addrs.contains(&address) => {
                self.addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.addrs.retain(|a| a != &address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => self.on_connected(peer_id, &endpoint),
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                let gone = self.peers.get_mut(&peer_id).is_some_and(|st| {
                    st.connections = st.connections.saturating_sub(1);
                    st.connections == 0
                });
                if gone {
                    tracing::info!(%peer_id, "peer disconnected");
                    self.ctx.responders.forget(&peer_id);
                    self.relays.remove(&peer_id);
                    self.dialled.remove(&peer_id);
                }
                self.connected
                    .store(self.connected_count(), Ordering::Relaxed);
                // After the count: a subscriber reading `stats().peers` sees it.
                if gone && let Some(peer) = session::node_of(&peer_id) {
                    self.ctx.node.emit(NodeEvent::PeerDisconnected { peer });
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, "outgoing connection failed: {error}");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Rr(ev)) => self.on_rr(ev, false),
            SwarmEvent::Behaviour(BehaviourEvent::Snap(ev)) => self.on_rr(ev, true),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                self.on_identified(peer_id, &info.protocol_version);
                if info.protocols.contains(&libp2p::relay::HOP_PROTOCOL_NAME)
                    && let Some(addr) = self.dialled.get(&peer_id).cloned()
                    && self.swarm.is_connected(&peer_id)
                {
                    self.relays.insert(peer_id, addr);
                    self.reserve();
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(
                libp2p::autonat::Event::StatusChanged { new, .. },
            )) => {
                let (r, address) = match new {
                    libp2p::autonat::NatStatus::Public(a) => (Reachability::Public, Some(a)),
                    libp2p::autonat::NatStatus::Private => (Reachability::Private, None),
                    libp2p::autonat::NatStatus::Unknown => (Reachability::Unknown, None),
                };
                tracing::info!(?r, ?address, "reachability");
                self.reachability = r;
                self.ctx
                    .metrics
                    .reachability
                    .store(r.as_u8(), Ordering::Relaxed);
                self.ctx.node.emit(NodeEvent::Reachability {
                    reachability: r,
                    address: address.map(|a| a.to_string()),
                });
                self.reserve();
            }
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(
                libp2p::relay::client::Event::ReservationReqAccepted {
                    relay_peer_id,
                    renewal: false,
                    ..
                },
            )) => {
                tracing::info!(%relay_peer_id, "reachable through relay");
                self.reserved.insert(relay_peer_id);
                self.count_reservations();
                if let Some(relay) = session::node_of(&relay_peer_id) {
                    self.ctx.node.emit(NodeEvent::RelayReserved { relay });
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(libp2p::dcutr::Event {
                remote_peer_id,
                result,
            })) => {
                let m = &self.ctx.metrics;
                let failure = match result {
                    Ok(_) => {
                        m.direct_upgrades.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Err(e) => {
                        m.direct_upgrade_failures.fetch_add(1, Ordering::Relaxed);
                        Some(e.to_string())
                    }
                };
                tracing::info!(%remote_peer_id, ?failure, "hole punching");
                if let Some(peer) = session::node_of(&remote_peer_id) {
                    self.ctx.node.emit(NodeEvent::HolePunch { peer, failure });
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                let relay = self.reservations.iter().find_map(|(p, r)| {
                    matches!(r, Reservation::Listening(l) if *l == listener_id).then_some(*p)
                });
                if let Some(p) = relay {
                    tracing::info!(%p, ?reason, "reservation on relay ended");
                    if reason.is_err() {
                        self.ctx
                            .metrics
                            .relay_reservations_refused
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    self.reservations
                        .insert(p, Reservation::Retry(Instant::now() + RESERVATION_RETRY));
                    self.reserved.remove(&p);
                    self.count_reservations();
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message,
                ..
            })) => self.on_announcement(propagation_source, message),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(list))) => {
                for (peer, addr) in list {
                    if !self.swarm.is_connected(&peer)
                        && !self.is_banned(&peer)
                        && self.connected_count() < self.cfg.max_peers
                        && let Err(e) = self.swarm.dial(addr.clone())
                    {
                        tracing::debug!(%addr, "dial failed: {e}");
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether this node should be reachable through relays: configured so, or found
    /// unreachable by AutoNAT.
    fn wants_relays(&self) -> bool {
        match self.cfg.relay.reserve {
            ReserveMode::Always => true,
            ReserveMode::Never => false,
            ReserveMode::Auto => self.reachability == Reachability::Private,
        }
    }

    /// Asks every connected relay without a reservation (or whose retry time came) for
    /// one, by listening through it, when this node wants relays.
    fn reserve(&mut self) {
        if !self.wants_relays() {
            return;
        }
        let now = Instant::now();
        let due: Vec<(PeerId, Multiaddr)> = self
            .relays
            .iter()
            .filter(|(p, _)| match self.reservations.get(p) {
                None => true,
                Some(Reservation::Retry(at)) => *at <= now,
                Some(Reservation::Listening(_)) => false,
            })
            .map(|(p, a)| (*p, a.clone()))
            .collect();
        for (peer, addr) in due {
            let circuit = addr
                .with_p2p(peer)
                .unwrap_or_else(|a| a)
                .with(libp2p::multiaddr::Protocol::P2pCircuit);
            match self.swarm.listen_on(circuit.clone()) {
                Ok(l) => {
                    tracing::info!(%circuit, "asking relay for a reservation");
                    self.reservations.insert(peer, Reservation::Listening(l));
                }
                Err(e) => {
                    tracing::debug!(%circuit, "cannot listen through relay: {e}");
                    self.reservations
                        .insert(peer, Reservation::Retry(now + RESERVATION_RETRY));
                }
            }
        }
    }

    /// Publishes how many relays hold a reservation.
    fn count_reservations(&self) {
        self.ctx
            .metrics
            .relay_reservations
            .store(self.reserved.len(), Ordering::Relaxed);
    }

    fn on_connected(&mut self, peer_id: PeerId, endpoint: &libp2p::core::ConnectedPoint) {
        if let libp2p::core::ConnectedPoint::Dialer { address, .. } = endpoint
            && !endpoint.is_relayed()
        {
            self.dialled.insert(peer_id, address.clone());
        }
        if self.is_banned(&peer_id) {
            let _ = self.swarm.disconnect_peer_id(peer_id);
            return;
        }
        if session::node_of(&peer_id).is_none() {
            self.drop_peer(peer_id, "its key is not an ed25519 key");
            return;
        }
        let fresh = self.peers.get(&peer_id).is_none_or(|s| s.connections == 0);
        if fresh && self.connected_count() >= self.cfg.max_peers {
            tracing::info!(%peer_id, "refusing a connection: max_peers reached");
            let _ = self.swarm.disconnect_peer_id(peer_id);
            return;
        }
        let addr = endpoint.get_remote_address().clone();
        if endpoint.is_dialer() {
            let text = addr.to_string();
            for b in &mut self.bootstrap {
                if b.addr == addr
                    || text.starts_with(&b.addr.to_string())
                    || b.addr.to_string().starts_with(&text)
                {
                    b.peer = Some(peer_id);
                    b.delay = Duration::from_secs(1);
                }
            }
        }
        let st = self.peers.entry(peer_id).or_default();
        st.connections += 1;
        st.addrs.insert(addr);
        st.dropped = None;
        for reply in self.waiting.remove(&peer_id).unwrap_or_default() {
            let _ = reply.send(());
        }
        self.connected
            .store(self.connected_count(), Ordering::Relaxed);
        if fresh {
            tracing::info!(%peer_id, "peer connected");
            if let Some(peer) = session::node_of(&peer_id) {
                self.ctx.node.emit(NodeEvent::PeerConnected { peer });
            }
            self.start_session(peer_id);
        }
    }

    /// Drops a peer whose identify says it runs on the other kind of clock (a training clock
    /// or real time): the two never sync.
    fn on_identified(&mut self, peer: PeerId, version: &str) {
        let training = self.ctx.node.training_clock().is_some();
        let reason = match (training, version) {
            (false, IDENTIFY_TRAINING) => {
                "it runs on a training clock (simulated time) and this node on real time: \
                 they never sync"
            }
            (true, IDENTIFY_VERSION) => {
                "it runs on real time and this node on a training clock (simulated time): \
                 they never sync"
            }
            _ => return,
        };
        self.drop_peer(peer, reason);
    }

    fn on_rr(&mut self, ev: request_response::Event<Request, Response>, snap: bool) {
        match ev {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    // The snapshot protocol carries snapshot requests only.
                    let request = match request {
                        Request::Snapshots { .. } | Request::Malformed(_) => request,
                        _ if snap => Request::Malformed(
                            "a request other than Snapshots on the snapshot protocol".into(),
                        ),
                        _ => request,
                    };
                    self.on_request(peer, request, channel, snap)
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    let pending = if snap {
                        &mut self.pending_snap
                    } else {
                        &mut self.pending
                    };
                    if let Some(reply) = pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                let pending = if snap {
                    &mut self.pending_snap
                } else {
                    &mut self.pending
                };
                if let Some(reply) = pending.remove(&request_id) {
                    let _ = reply.send(Err(format!("request to {peer} failed: {error}")));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, "inbound request failed: {error}");
                self.answered(peer);
                if let request_response::InboundFailure::Io(e) = &error
                    && e.kind() == std::io::ErrorKind::InvalidData
                {
                    self.drop_peer(peer, &format!("malformed request: {e}"));
                }
            }
            request_response::Event::ResponseSent { peer, .. } => self.answered(peer),
        }
    }

    /// Counts a request or gossip message of `peer` against [`REQUESTS_PER_WINDOW`]; drops
    /// the peer and returns `false` past it.
    fn count_request(&mut self, peer: PeerId) -> bool {
        let st = self.peers.entry(peer).or_default();
        let now = Instant::now();
        match st.window {
            Some(w) if now.duration_since(w) < Duration::from_secs(10) => st.requests += 1,
            _ => {
                st.window = Some(now);
                st.requests = 1;
            }
        }
        if st.requests > REQUESTS_PER_WINDOW {
            self.drop_peer(
                peer,
                &format!("more than {REQUESTS_PER_WINDOW} requests in 10 s"),
            );
            return false;
        }
        true
    }

    fn on_request(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: request_response::ResponseChannel<Response>,
        snap: bool,
    ) {
        if self.is_banned(&peer) {
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        }
        if !self.count_request(peer) {
            return;
        }
        let key = self.next_channel;
        self.next_channel += 1;
        self.channels.insert(key, (snap, channel));
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            let (resp, fault) = session::respond(&ctx, peer, request).await;
            let _ = ctx.cmd.send(Cmd::Respond { key, resp }).await;
            match fault {
                Some(Fault::Refused(reason) | Fault::Invalid(reason)) => {
                    let _ = ctx.cmd.send(Cmd::DropAfterAnswer { peer, reason }).await;
                }
                // Answered with the refusal, not banned (see `Fault::Stranger`).
                Some(Fault::Failed(r) | Fault::RefusedUs(r) | Fault::Stranger(r)) => {
                    tracing::debug!(%peer, "request failed: {r}")
                }
                None => {}
            }
        });
    }

    fn on_announcement(&mut self, propagation: PeerId, message: gossipsub::Message) {
        if self.is_banned(&propagation) || !self.count_request(propagation) {
            return;
        }
        let Ok(linli_core::sync::Message::Announce { doc, heads }) =
            linli_core::sync::wire::decode(&message.data)
        else {
            tracing::debug!(%propagation, "ignoring a gossip message that is not an announcement");
            return;
        };
        // Ask the author first (it holds the changes), then the peer that forwarded it.
        let mut from = Vec::new();
        if let Some(s) = message.source
            && s != propagation
            && self.swarm.is_connected(&s)
            && !self.is_banned(&s)
        {
            from.push(s);
        }
        from.push(propagation);
        let pending = session::Pending::new(heads, from, message.source);
        tokio::spawn(session::pull(self.ctx.clone(), doc, pending));
    }
}

#[cfg(test)]
mod stored_state_tests {
    use super::*;

    #[test]
    fn the_stored_sync_state_keeps_its_bytes() {
        let st = PeerState {
            ok: 2,
            failed: 1,
            ..PeerState::default()
        };
        // The bytes stored before this struct: a JSON object, keys sorted as serde_json wrote them.
        assert_eq!(
            st.stored(Timestamp(5)),
            br#"{"failed":1,"last_sync":5,"ok":2}"#
        );
    }
}
