//! The [`Node`] handle, its options, events and query results (overview and example in the
//! crate documentation).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use automerge::ChangeHash;
use linli_core::cert::Certificate;
use linli_core::ledger::{Points, Standing};
use linli_core::quota::Quota;
use linli_core::registry::Compound;
use linli_core::replica::{Equivocation, Written};
use linli_core::resource::BookingView;
use linli_core::wishes::Item;
use linli_core::{
    Applied, CompoundId, DocHeader, DocId, DocKind, NewDoc, NodeId, Op, OrgId, Replica,
    SignedChange, Timestamp, VolunteerId, WishId,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::actor::{self, Command, Setup};
use crate::error::{NodeError, StoreError};
use crate::export::{ExportSummary, ImportReport};
use crate::store::{Durability, Origin, PeerRecord, RejectedChange};

/// The clock a node stamps its writes with (ms since the Unix epoch, UTC).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp(ms)
}

/// A training clock: starts at `start` now and advances with the system clock.
pub fn training_clock(start: Timestamp) -> Clock {
    let offset = start.millis().saturating_sub(system_clock().millis());
    Arc::new(move || Timestamp(system_clock().millis().saturating_add(offset)))
}

/// Options for opening (or initialising) a node.
#[derive(Clone)]
pub struct OpenOptions {
    /// When a write counts as durable (default [`Durability::Full`]).
    pub durability: Durability,
    /// A document is snapshotted after this many accepted changes since its last snapshot
    /// (or a quarter of its changes, if more). Default 100: a small document's changes are
    /// folded into its snapshot (compressed, with only the signatures that cover them) soon
    /// after they are written, at the cost of a `save()` per 100 changes of a document.
    pub snapshot_every: u64,
    /// Fold the log into snapshots (default true): a snapshot keeps the signature of every
    /// change it holds and the log rows of those changes are deleted, since the saved
    /// document gives their bytes back (schema 6, `store::fold`). False keeps every change
    /// in the log, the snapshots then only a cache of it (a damaged one is dropped and its
    /// document replayed); a snapshot written then unfolds what an earlier one folded.
    pub fold_snapshots: bool,
    /// On shutdown, fold every document's log tail into its snapshot (default true, with
    /// `fold_snapshots`): a closed store then holds each document once, compressed, with the
    /// signatures that cover it (docs/BENCHMARKS.md, disk). Costs a `save()` per document
    /// written since its last snapshot.
    pub fold_on_shutdown: bool,
    /// Size limit of the database; writes beyond it fail with
    /// [`StoreError::DiskFull`]. Default: none.
    pub max_size_bytes: Option<u64>,
    /// Run SQLite's `quick_check` before loading (a damaged file then fails to open with
    /// [`StoreError::Integrity`] instead of failing later). Default true.
    pub check_integrity: bool,
    /// Capacity of the event channel; slower subscribers miss events (and are told so by
    /// `RecvError::Lagged`). Default 1024.
    pub event_capacity: usize,
    /// Clock for writes; default the system clock (or the training clock, if set).
    pub clock: Option<Clock>,
    /// A simulated clock for demos and training: the node's clock starts at this instant
    /// and advances with real time (unless `clock` is also set, which then ticks instead).
    /// A node on a training clock says so in its status and never syncs with a node on real
    /// time (the network uses other protocol names). Default none: real time.
    pub training_clock: Option<Timestamp>,
    /// Write quota per signer, document and UTC day for changes received from peers (a
    /// change counts on this node's day, or on the day it is dated if earlier: see
    /// [`linli_core::quota`]): a change beyond it is not stored (the error is
    /// [`linli_core::Error::Quota`]) and may come again another day by sync. This node's own
    /// writes and imports are not limited. Counted in memory: a restart resets the counts.
    /// Default [`Quota::default`] (10,000 changes and 16 MiB).
    pub quota: Quota,
    /// Verify documents restored by fast join in the background (default true). Off, they
    /// stay provisional — readable, writable, never served — until the node is opened with
    /// it on (tests of the provisional state and of verification resumed on open).
    pub verify_provisional: bool,
    /// Most documents kept in memory: beyond it, the least recently used leave memory and
    /// load from the store again on their next use (`[store] resident_documents`; default
    /// 1,000). The federation document and documents with waiting changes always stay.
    pub resident_documents: usize,
    /// Seconds after which a document not used leaves memory (`[store] idle_secs`; default
    /// 3,600): checked after commands, so an unused document leaves between one and two
    /// periods after its last use.
    pub idle_secs: u64,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            durability: Durability::Full,
            snapshot_every: 100,
            fold_snapshots: true,
            fold_on_shutdown: true,
            max_size_bytes: None,
            check_integrity: true,
            event_capacity: 1024,
            clock: None,
            training_clock: None,
            quota: Quota::default(),
            verify_provisional: true,
            resident_documents: crate::config::DEFAULT_RESIDENT_DOCUMENTS,
            idle_secs: crate::config::DEFAULT_IDLE_SECS,
        }
    }
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("durability", &self.durability)
            .field("snapshot_every", &self.snapshot_every)
            .field("fold_snapshots", &self.fold_snapshots)
            .field("fold_on_shutdown", &self.fold_on_shutdown)
            .field("max_size_bytes", &self.max_size_bytes)
            .field("check_integrity", &self.check_integrity)
            .field("event_capacity", &self.event_capacity)
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .field("training_clock", &self.training_clock)
            .field("quota", &self.quota)
            .field("verify_provisional", &self.verify_provisional)
            .field("resident_documents", &self.resident_documents)
            .field("idle_secs", &self.idle_secs)
            .finish()
    }
}

impl OpenOptions {
    pub(crate) fn clock(&self) -> Clock {
        if let Some(c) = &self.clock {
            return c.clone();
        }
        match self.training_clock {
            Some(start) => training_clock(start),
            None => Arc::new(system_clock) as Clock,
        }
    }
}

/// Identity of a new node.
#[derive(Clone)]
pub struct InitOptions {
    /// The organisation the node acts for.
    pub org: OrgId,
    /// The district root key the node trusts.
    pub root: NodeId,
    /// The node's secret key (32-byte ed25519 seed). `None`: keep the key file already in
    /// the directory, or generate a fresh random key.
    pub secret: Option<[u8; 32]>,
}

impl InitOptions {
    /// A node of `org` trusting `root`, with a fresh (or the directory's existing) key.
    pub fn new(org: OrgId, root: NodeId) -> Self {
        InitOptions {
            org,
            root,
            secret: None,
        }
    }
}

impl fmt::Debug for InitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitOptions")
            .field("org", &self.org)
            .field("root", &self.root)
            .field("secret", &self.secret.map(|_| "given"))
            .finish()
    }
}

/// Something that happened in the node, broadcast after it was committed (the network's
/// peer events, which commit nothing, when the network saw them).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// A document gained (or, after a revocation, lost) accepted changes.
    DocumentChanged {
        /// The document.
        doc: DocId,
        /// Its heads now (empty if it no longer exists).
        heads: Vec<ChangeHash>,
        /// Where the command that changed it came from.
        origin: Origin,
    },
    /// A change was refused; it is stored with its reason and never forwarded. (A refusal
    /// linli-core later withdraws — a revocation that lost to a more senior one, a dependency
    /// it was judged on removed — needs no event of its own: the change then waits, or its
    /// document gains it and [`NodeEvent::DocumentChanged`] follows.)
    ChangeRejected {
        /// The document it was sent for.
        doc: DocId,
        /// Its hash.
        hash: ChangeHash,
        /// Its signer.
        signer: NodeId,
        /// Why.
        reason: String,
    },
    /// A key was seen signing two different changes in one (document, actor, seq) slot
    /// (equivocation; sent once per key, when it is first flagged). The change with the
    /// smaller hash was kept, the other refused with its dependents (see
    /// [`Replica::equivocators`]).
    Equivocation {
        /// The key.
        signer: NodeId,
        /// The document of the slot.
        doc: DocId,
        /// The sequence number used twice.
        seq: u64,
    },
    /// A peer's sync state was recorded.
    PeerUpdated {
        /// The peer.
        peer: NodeId,
    },
    /// Personal data held here was written, received or erased (see
    /// [`linli_core::personal`]); the event names the record, never the data.
    PersonalChanged {
        /// The document it belongs to.
        doc: DocId,
        /// The record (`map/key`).
        record: String,
        /// Whether it is now erased.
        erased: bool,
        /// Where the command came from.
        origin: Origin,
    },
    /// Received changes were neither applied nor stored because their signer passed its
    /// write quota for the document today (counted in [`NodeStatus::quota_refused`]; they
    /// may come again another day).
    QuotaExceeded {
        /// The document they were sent for.
        doc: DocId,
        /// Their signer.
        signer: NodeId,
        /// How many changes of the batch were not stored.
        changes: u64,
    },
    /// The node's network connected to a peer (its first open connection). Peer events
    /// report what the [`Network`](crate::net::Network) saw; they store nothing.
    PeerConnected {
        /// The peer.
        peer: NodeId,
    },
    /// The network's last open connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer: NodeId,
    },
    /// A live pull of a document announced by peers ended (whatever it brought; what it
    /// applied is reported as [`NodeEvent::DocumentChanged`]), freeing one of the
    /// [`MAX_PULLS`](crate::net::MAX_PULLS) places.
    PullEnded {
        /// The document.
        doc: DocId,
    },
    /// A peer announced heads of a document this node holds and, asked directly, delivered
    /// nothing (counted in `announcements_broken`; at
    /// [`BROKEN_ANNOUNCEMENTS`](crate::net::BROKEN_ANNOUNCEMENTS) it is dropped).
    AnnouncementBroken {
        /// The peer.
        peer: NodeId,
    },
    /// The network dropped a peer (it is refused, sent invalid data, flooded, or was
    /// revoked: it stays banned for [`BAN`](crate::net::BAN)), or the peer answered that it
    /// refuses this node (the reason then starts with "it refused us"). The reason is what
    /// [`PeerInfo::dropped`](crate::net::PeerInfo::dropped) shows.
    PeerDropped {
        /// The peer.
        peer: NodeId,
        /// Why.
        reason: String,
    },
    /// A document restored from a peer's snapshot (fast join) was verified: full
    /// verification accepts every change it held; it is served to peers from now on.
    DocumentVerified {
        /// The document.
        doc: DocId,
    },
    /// A peer's snapshot (fast join) held what full verification refuses, or a document
    /// this node may not receive: the document was rolled back to what full verification
    /// decides (or left out), and the network drops and bans the source.
    SnapshotRefused {
        /// The document.
        doc: DocId,
        /// The peer that sent the snapshot.
        source: NodeId,
        /// Why.
        reason: String,
    },
    /// AutoNAT found whether other nodes can dial this one.
    Reachability {
        /// What it found.
        reachability: crate::net::Reachability,
        /// The address peers dialled back, when public.
        address: Option<String>,
    },
    /// A relay accepted a reservation: this node is reachable through it
    /// (`<relay>/p2p-circuit/p2p/<node>` is among its listen addresses).
    RelayReserved {
        /// The relay.
        relay: NodeId,
    },
    /// Hole punching (DCUtR) with a peer met over a relay ended: on success the two nodes
    /// are connected directly.
    HolePunch {
        /// The peer.
        peer: NodeId,
        /// Why it failed (`None`: it succeeded).
        failure: Option<String>,
    },
}

impl NodeEvent {
    /// The event's kind as the API, the dashboard and Python name it (`document_changed`,
    /// `change_rejected`, `equivocation`, `peer_updated`, `personal_changed` /
    /// `personal_erased`, `quota_exceeded`, `peer_connected`, `peer_disconnected`,
    /// `pull_ended`, `announcement_broken`, `peer_dropped`, `document_verified`,
    /// `snapshot_refused`, `reachability`,
    /// `relay_reserved`, `hole_punch`).
    pub fn kind(&self) -> &'static str {
        match self {
            NodeEvent::DocumentChanged { .. } => "document_changed",
            NodeEvent::ChangeRejected { .. } => "change_rejected",
            NodeEvent::Equivocation { .. } => "equivocation",
            NodeEvent::PeerUpdated { .. } => "peer_updated",
            NodeEvent::PersonalChanged { erased: false, .. } => "personal_changed",
            NodeEvent::PersonalChanged { erased: true, .. } => "personal_erased",
            NodeEvent::QuotaExceeded { .. } => "quota_exceeded",
            NodeEvent::PeerConnected { .. } => "peer_connected",
            NodeEvent::PeerDisconnected { .. } => "peer_disconnected",
            NodeEvent::PullEnded { .. } => "pull_ended",
            NodeEvent::AnnouncementBroken { .. } => "announcement_broken",
            NodeEvent::PeerDropped { .. } => "peer_dropped",
            NodeEvent::DocumentVerified { .. } => "document_verified",
            NodeEvent::SnapshotRefused { .. } => "snapshot_refused",
            NodeEvent::Reachability { .. } => "reachability",
            NodeEvent::RelayReserved { .. } => "relay_reserved",
            NodeEvent::HolePunch { .. } => "hole_punch",
        }
    }
}

/// What [`Node::status`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// This node's key.
    pub node: NodeId,
    /// The organisation it acts for.
    pub org: OrgId,
    /// The root key it trusts.
    pub root: NodeId,
    /// Incarnation of this open of the store (part of the automerge actor of the changes it
    /// writes; drawn anew on every open).
    pub incarnation: [u8; 8],
    /// Keys seen signing two different changes in one (document, actor, seq) slot, each with
    /// its lowest such slot.
    pub equivocators: BTreeMap<NodeId, Equivocation>,
    /// Data directory.
    pub dir: PathBuf,
    /// Documents held, by kind.
    pub documents: BTreeMap<DocKind, usize>,
    /// Changes in the log.
    pub log: u64,
    /// Changes in the log that are applied.
    pub accepted: u64,
    /// Changes in the log that wait (for dependencies or a certificate).
    pub pending: u64,
    /// Changes linli-core holds waiting (≤ `pending`: its waiting set is bounded).
    pub waiting_in_replica: usize,
    /// Changes in the log refused (a refusal linli-core withdraws leaves this count).
    pub refused: u64,
    /// Changes received from peers since the node started that were not stored because
    /// they did not fit in their signer's quota ([`OpenOptions::quota`]).
    pub quota_refused: u64,
    /// Document snapshots stored.
    pub snapshots: u64,
    /// Documents restored from a peer's snapshot (fast join) and not yet verified: their
    /// data is readable and writable but not verified, and they are not served to peers.
    pub awaiting_verification: usize,
}

/// A stored document snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The document.
    pub doc: DocId,
    /// Last log position applied when it was taken.
    pub pos: i64,
    /// Accepted changes of the document it holds.
    pub changes: u64,
    /// The document's heads in it.
    pub heads: Vec<ChangeHash>,
    /// `Document::save()` bytes.
    pub bytes: Vec<u8>,
}

/// One document as listed by [`Node::documents`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSummary {
    /// Its id.
    pub id: DocId,
    /// Its (immutable) header: kind, owner, scope, title …
    pub header: DocHeader,
    /// Its current heads.
    pub heads: Vec<ChangeHash>,
}

/// Fixed facts of an open node.
#[derive(Debug, Clone)]
pub(crate) struct NodeInfo {
    pub(crate) node: NodeId,
    pub(crate) org: OrgId,
    pub(crate) root: NodeId,
    pub(crate) dir: PathBuf,
}

struct Inner {
    tx: mpsc::Sender<Command>,
    events: broadcast::Sender<NodeEvent>,
    info: NodeInfo,
    clock: Clock,
    training: Option<Timestamp>,
}

/// Handle to a running node (cloneable, `Send + Sync`): each method sends a command to the
/// node actor and awaits its reply; writes are acknowledged after their commit. See the
/// crate documentation.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("node", &self.inner.info.node)
            .field("org", &self.inner.info.org)
            .field("dir", &self.inner.info.dir)
            .finish()
    }
}

/// Capacity of the command channel.
const COMMANDS: usize = 256;

impl Node {
    /// Opens the node stored in `dir`. Fails with a typed [`StoreError`], changing nothing,
    /// if `dir` holds no store, a file that is not a linli store, or a store of a newer
    /// schema; fails with [`StoreError::Locked`] if another node runs on it.
    pub async fn open(dir: impl AsRef<Path>, opts: OpenOptions) -> Result<Node, NodeError> {
        Self::start(dir.as_ref(), Setup::Open, opts).await
    }

    /// Creates a node in `dir` (created if needed) and opens it. Fails with
    /// [`StoreError::AlreadyInitialized`] if `dir` holds a store already.
    pub async fn init(
        dir: impl AsRef<Path>,
        init: InitOptions,
        opts: OpenOptions,
    ) -> Result<Node, NodeError> {
        let setup = Setup::Init {
            org: init.org,
            root: init.root,
            secret: init.secret,
        };
        Self::start(dir.as_ref(), setup, opts).await
    }

    async fn start(dir: &Path, setup: Setup, mut opts: OpenOptions) -> Result<Node, NodeError> {
        let (tx, rx) = mpsc::channel(COMMANDS);
        let (events, _) = broadcast::channel(opts.event_capacity.max(1));
        let (ready_tx, ready_rx) = oneshot::channel();
        let dir = dir.to_path_buf();
        let thread_events = events.clone();
        let thread_dir = dir.clone();
        // One clock for the actor and the handle (a training clock fixes its offset once).
        let clock = opts.clock();
        opts.clock = Some(clock.clone());
        let training = opts.training_clock;
        std::thread::Builder::new()
            .name("linli-node".into())
            .spawn({
                let weak = tx.downgrade();
                move || actor::run(thread_dir, setup, opts, thread_events, ready_tx, rx, weak)
            })
            .map_err(|e| StoreError::io(&dir, e))?;
        let info = ready_rx.await.map_err(|_| NodeError::Shutdown)??;
        Ok(Node {
            inner: Arc::new(Inner {
                tx,
                events,
                info,
                clock,
                training,
            }),
        })
    }

    async fn call<T>(&self, make: impl FnOnce(actor::Reply<T>) -> Command) -> Result<T, NodeError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(make(reply))
            .await
            .map_err(|_| NodeError::Shutdown)?;
        rx.await.map_err(|_| NodeError::Shutdown)?
    }

    /// This node's key.
    pub fn node_id(&self) -> NodeId {
        self.inner.info.node
    }
    /// The organisation this node acts for.
    pub fn org(&self) -> &OrgId {
        &self.inner.info.org
    }
    /// The root key this node trusts.
    pub fn root(&self) -> NodeId {
        self.inner.info.root
    }
    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.info.dir
    }
    /// The time by this node's clock.
    pub fn now(&self) -> Timestamp {
        (self.inner.clock)()
    }
    /// The instant the training clock started at, if this node runs on a simulated clock
    /// ([`OpenOptions::training_clock`]); `None` on real time.
    pub fn training_clock(&self) -> Option<Timestamp> {
        self.inner.training
    }

    /// Events from now on. Each subscriber gets every event (unless it lags behind by more
    /// than [`OpenOptions::event_capacity`]).
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// Broadcasts an event that no command of the actor reports (the network's peer events).
    pub(crate) fn emit(&self, ev: NodeEvent) {
        // No subscriber is no error: nobody is listening.
        let _ = self.inner.events.send(ev);
    }

    // ---- writes ---------------------------------------------------------------------

    /// Creates a document owned by this node's organisation; returns its signed genesis
    /// (the document id is `.doc`). Acknowledged after commit.
    pub async fn create(&self, new: NewDoc) -> Result<SignedChange, NodeError> {
        self.call(|reply| Command::Create { new, reply }).await
    }

    /// Validates and commits a typed operation on document `doc`. Acknowledged after commit.
    pub async fn execute(&self, doc: DocId, op: Op) -> Result<Written, NodeError> {
        self.call(|reply| Command::Execute { doc, op, reply }).await
    }

    /// Writes the personal data of record `record` (`map/key`, e.g. `volunteers/dianye:7`)
    /// of `doc` as this node, kept beside the document and only on nodes of its audience
    /// (see [`linli_core::personal`]); `None` erases it for good (zeroed in the store).
    pub async fn write_personal(
        &self,
        doc: DocId,
        record: &str,
        data: Option<linli_core::personal::PersonalData>,
    ) -> Result<linli_core::personal::PersonalRecord, NodeError> {
        let record = record.to_string();
        self.call(|reply| Command::WritePersonal {
            doc,
            record,
            data,
            reply,
        })
        .await
    }

    /// Erases the personal data of record `record` of `doc` (any organisation of its
    /// audience may): the document's history — ids, statuses, balances — stays.
    pub async fn erase_personal(
        &self,
        doc: DocId,
        record: &str,
    ) -> Result<linli_core::personal::PersonalRecord, NodeError> {
        self.write_personal(doc, record, None).await
    }

    /// Judges and stores personal records received from a peer; one outcome per record.
    pub async fn accept_personal(
        &self,
        records: Vec<linli_core::personal::PersonalRecord>,
    ) -> Result<
        Vec<Result<linli_core::personal::Accepted, linli_core::personal::PersonalError>>,
        NodeError,
    > {
        self.call(|reply| Command::AcceptPersonal { records, reply })
            .await
    }

    /// Verifies and applies a signed change from another node, and stores it (also when it
    /// waits or is refused: [`linli_core::Error::Rejected`] is stored with its reason; only
    /// linli-core judging it again — a revocation resolved again, a dependency removed — takes
    /// the refusal back).
    pub async fn apply(&self, change: SignedChange) -> Result<Applied, NodeError> {
        let mut results = self.apply_batch(vec![change]).await?;
        match results.pop() {
            Some(r) => Ok(r?),
            None => Err(NodeError::Shutdown),
        }
    }

    /// Applies many changes in one transaction (one commit: much faster for sync); returns
    /// linli-core's outcome for each, in order.
    pub async fn apply_batch(
        &self,
        changes: Vec<SignedChange>,
    ) -> Result<Vec<Result<Applied, linli_core::Error>>, NodeError> {
        self.call(|reply| Command::Apply {
            changes,
            origin: Origin::Remote,
            reply,
        })
        .await
    }

    /// Fast join: takes a peer's documents as snapshots (what
    /// [`Network`](crate::net::Network) asks a peer for when this node holds nothing yet).
    /// Federation documents are applied on the ordinary receive path (every change
    /// verified); every other document this node does not hold and may receive is restored
    /// *provisional* — readable and writable at once, never served to peers — and verified
    /// in the background (see [`crate::fastjoin`]). A bad snapshot, a forged federation
    /// change or a document outside this node's audience is left out and reported as
    /// [`NodeEvent::SnapshotRefused`] naming `source`.
    pub async fn fast_join_import(
        &self,
        source: NodeId,
        snapshots: Vec<crate::fastjoin::PeerSnapshot>,
    ) -> Result<crate::fastjoin::FastJoinReport, NodeError> {
        let sorted = tokio::task::spawn_blocking(move || crate::fastjoin::sort(snapshots))
            .await
            .map_err(|e| NodeError::QueryPanicked(format!("sorting snapshots: {e}")))?;
        let mut report = crate::fastjoin::FastJoinReport::default();
        for (doc, reason) in sorted.bad {
            self.emit(NodeEvent::SnapshotRefused {
                doc,
                source,
                reason: reason.clone(),
            });
            report.left_out.push((doc, reason));
        }
        if !sorted.federation.is_empty() {
            let (docs, changes): (Vec<DocId>, Vec<SignedChange>) =
                sorted.federation.into_iter().unzip();
            let results = self.apply_batch(changes).await?;
            let mut forged: BTreeMap<DocId, String> = BTreeMap::new();
            for (doc, r) in docs.into_iter().zip(results) {
                match r {
                    Ok(Applied::Applied(_)) => report.federation_changes += 1,
                    Err(linli_core::Error::Envelope(e)) => {
                        forged
                            .entry(doc)
                            .or_insert_with(|| format!("a forged federation change: {e}"));
                    }
                    _ => {}
                }
            }
            for (doc, reason) in forged {
                self.emit(NodeEvent::SnapshotRefused {
                    doc,
                    source,
                    reason: reason.clone(),
                });
                report.left_out.push((doc, reason));
            }
        }
        let (restored, left_out) = self
            .call(|reply| Command::RestoreProvisional {
                source,
                items: sorted.restorable,
                reply,
            })
            .await?;
        report.provisional = restored;
        report.left_out.extend(left_out);
        Ok(report)
    }

    /// Records a peer's (opaque) sync state.
    pub async fn set_peer_state(&self, peer: NodeId, state: Vec<u8>) -> Result<(), NodeError> {
        self.call(|reply| Command::SetPeer { peer, state, reply })
            .await
    }

    // ---- reads ----------------------------------------------------------------------

    /// Runs `f` on the replica (on the actor thread, between commands) and returns its
    /// result. For reads the typed methods do not cover; keep `f` short.
    pub async fn read<T, F>(&self, f: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(&Replica) -> T + Send + 'static,
    {
        let (reply, rx) = oneshot::channel::<Result<T, NodeError>>();
        let query: actor::Query = Box::new(move |replica| {
            let r = replica.and_then(|replica| {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(replica)))
                    .map_err(|p| {
                        let msg = p
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_string())
                            .or_else(|| p.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        NodeError::QueryPanicked(msg)
                    })?;
                // A document evicted from memory that did not load again: the answer may
                // lack it, so it is an error.
                match replica.docs().take_failure() {
                    Some((doc, reason)) => {
                        Err(NodeError::Core(linli_core::Error::Source { doc, reason }))
                    }
                    None => Ok(out),
                }
            });
            let _ = reply.send(r);
        });
        self.inner
            .tx
            .send(Command::Read(query))
            .await
            .map_err(|_| NodeError::Shutdown)?;
        rx.await.map_err(|_| NodeError::Shutdown)?
    }

    /// Counts of documents and changes, identity and data directory.
    pub async fn status(&self) -> Result<NodeStatus, NodeError> {
        self.call(Command::Status).await
    }

    /// Every document held, in id order.
    pub async fn documents(&self) -> Result<Vec<DocSummary>, NodeError> {
        self.read(|r| {
            // From what stays in memory: no evicted document is loaded.
            r.docs()
                .keys()
                .filter_map(|id| {
                    Some(DocSummary {
                        id: *id,
                        header: r.docs().header(id)?.clone(),
                        heads: r.docs().heads(id)?,
                    })
                })
                .collect()
        })
        .await
    }

    /// Accepted changes of `doc` that are not `have` or their ancestors, in causal order.
    pub async fn changes(
        &self,
        doc: DocId,
        have: Vec<ChangeHash>,
    ) -> Result<Vec<SignedChange>, NodeError> {
        self.read(move |r| r.changes(doc, &have))
            .await?
            .map_err(Into::into)
    }

    /// Current heads of `doc`.
    pub async fn heads(&self, doc: DocId) -> Result<Vec<ChangeHash>, NodeError> {
        self.read(move |r| r.heads(doc)).await?.map_err(Into::into)
    }

    /// Compounds of a registry.
    pub async fn compounds(&self, doc: DocId) -> Result<Vec<(CompoundId, Compound)>, NodeError> {
        self.read(move |r| r.registry(doc).map(|v| v.compounds()))
            .await?
            .map_err(Into::into)
    }

    /// Bookings of a resource, with the booker's full name and contact where this node is in
    /// their audience.
    pub async fn bookings(&self, doc: DocId) -> Result<Vec<BookingView>, NodeError> {
        self.read(move |r| r.bookings_as_read(doc))
            .await?
            .map_err(Into::into)
    }

    /// A volunteer's spendable balance now over every ledger held: expiry applied, declined
    /// entries excluded — what a redemption is checked against.
    pub async fn balance(&self, volunteer: VolunteerId) -> Result<Points, NodeError> {
        let now = self.now();
        self.read(move |r| r.balance(&volunteer, now)).await
    }

    /// Leaderboard of a ledger, optionally of one team.
    pub async fn leaderboard(
        &self,
        doc: DocId,
        team: Option<String>,
    ) -> Result<Vec<Standing>, NodeError> {
        self.read(move |r| r.ledger(doc).map(|v| v.leaderboard(team.as_deref())))
            .await?
            .map_err(Into::into)
    }

    /// Items of a wishes document.
    pub async fn wishes(&self, doc: DocId) -> Result<Vec<(WishId, Item)>, NodeError> {
        self.read(move |r| r.wishes(doc).map(|v| v.items()))
            .await?
            .map_err(Into::into)
    }

    /// Certificates in a federation document.
    pub async fn certificates(&self, doc: DocId) -> Result<Vec<Certificate>, NodeError> {
        self.read(move |r| r.federation(doc).map(|v| v.certificates()))
            .await?
            .map_err(Into::into)
    }

    /// Refused changes with their reasons, as stored (in arrival order).
    pub async fn rejected(&self) -> Result<Vec<RejectedChange>, NodeError> {
        self.call(Command::Rejected).await
    }

    /// The most recent `limit` local operations linli-core refused (what, when, why),
    /// oldest first.
    pub async fn audit(&self, limit: u32) -> Result<Vec<crate::AuditRow>, NodeError> {
        self.call(|reply| Command::Audit { limit, reply }).await
    }

    /// The stored snapshot of `doc`, if one was taken.
    pub async fn snapshot(&self, doc: DocId) -> Result<Option<SnapshotInfo>, NodeError> {
        self.call(|reply| Command::Snapshot { doc, reply }).await
    }

    /// Peers with their sync state.
    pub async fn peers(&self) -> Result<Vec<PeerRecord>, NodeError> {
        self.call(Command::Peers).await
    }

    // ---- maintenance ----------------------------------------------------------------

    /// Writes the whole signed change log to a portable file (see [`crate::export`]).
    pub async fn export(&self, path: impl AsRef<Path>) -> Result<ExportSummary, NodeError> {
        let path = path.as_ref().to_path_buf();
        self.call(|reply| Command::Export { path, reply }).await
    }

    /// Applies every change of an export file (idempotent). Invalid entries are reported,
    /// not fatal; a file cut short is imported as far as it goes.
    pub async fn import(&self, path: impl AsRef<Path>) -> Result<ImportReport, NodeError> {
        let path = path.as_ref().to_path_buf();
        self.call(|reply| Command::Import { path, reply }).await
    }

    /// The secret of the calendar feed of resource `doc` (served at
    /// `/calendar/<hex secret>.ics` by the HTTP API): the stored one, else a fresh random one
    /// (128 bits); `rotate` replaces it, so the old URL no longer answers. Kept in this node's
    /// store only, never replicated. The caller checks that `doc` is a resource.
    pub async fn calendar_feed(&self, doc: DocId, rotate: bool) -> Result<[u8; 16], NodeError> {
        self.call(|reply| Command::CalendarFeed { doc, rotate, reply })
            .await
    }

    /// The resource whose calendar feed has `secret`, if any.
    pub async fn calendar_lookup(&self, secret: [u8; 16]) -> Result<Option<DocId>, NodeError> {
        self.call(|reply| Command::CalendarLookup { secret, reply })
            .await
    }

    /// Stores a join code made by this node (`linli invite`): its secret's hash and what it
    /// invites. Kept in this node's store only, never replicated.
    pub async fn invite_add(&self, invite: crate::invite::Invite) -> Result<(), NodeError> {
        self.call(|reply| Command::InviteAdd { invite, reply })
            .await
    }

    /// Claims the join code whose secret hashes to `hash` for `subject`: when it is unused
    /// and unexpired it is marked used by `subject` at once ([`Claim::Granted`](crate::invite::Claim)).
    pub async fn invite_claim(
        &self,
        hash: [u8; 32],
        subject: NodeId,
    ) -> Result<crate::invite::Claim, NodeError> {
        self.call(|reply| Command::InviteClaim {
            hash,
            subject,
            reply,
        })
        .await
    }

    /// Makes a claimed join code unused again (its certificate could not be issued).
    pub async fn invite_release(&self, hash: [u8; 32]) -> Result<(), NodeError> {
        self.call(|reply| Command::InviteRelease { hash, reply })
            .await
    }

    /// Runs SQLite's `integrity_check` on the store.
    pub async fn check_integrity(&self) -> Result<(), NodeError> {
        self.call(Command::CheckIntegrity).await
    }

    /// Stops the actor after the commands sent before, and closes the store. Other handles
    /// then get [`NodeError::Shutdown`]. Calling it again returns `Ok`.
    pub async fn shutdown(&self) -> Result<(), NodeError> {
        match self.call(Command::Shutdown).await {
            Err(NodeError::Shutdown) => Ok(()),
            r => r,
        }
    }
}
