//! Sync: a sans-I/O protocol between two replicas — messages in, messages out.
//!
//! # A session
//!
//! 1. **Hello** — protocol version, the sender's key, its certificate chain and whether it
//!    wants live announcements. Each side works out the other's [`Principal`] and from it
//!    which documents the other may receive ([`may_receive`]): partial replication.
//! 2. **Reconcile** — the catalogs `{doc id → heads digest}` (kept by the replica, so no
//!    document is loaded) are reconciled: a probe (count and XOR of the item keys) ends equal
//!    catalogs in one round trip; otherwise the responder sends an invertible Bloom lookup
//!    table of 48 cells, which peels a few dozen differences; past that the initiator sends
//!    a strata estimator of the difference and the responder a table sized for it (a second
//!    round trip; once more with twice the cells if the estimate was low). Only when that
//!    fails, or with a version-1 peer, range-based set reconciliation finishes the job
//!    (the `negentropy` protocol: fingerprints of ranges, split where they differ, item lists
//!    when a range is small). Items are `blake3(doc ‖ digest)`, so a document whose heads
//!    differ shows up on both sides. Cost grows with the number of differing documents, not
//!    with the number of documents.
//! 3. **Want** — the initiator offers its heads for the documents the responder lacks or
//!    holds differently, and names the responder's items it lacks.
//! 4. **Changes** — the responder sends the signed changes the initiator lacks (causal
//!    order, batched below [`BATCH_BYTES`]) and its own heads for the offered documents; the
//!    initiator answers with what the responder lacks, then **Done**.
//!
//! A broken session is simply started again: reconciliation works on current state, and
//! changes are chosen against the receiver's heads, so nothing it already stored is sent
//! again. Between sessions, a node announces new heads after a local write
//! ([`announce`]); a peer that lacks them pulls just that document ([`on_message`]).
//!
//! Every message is size-limited on decode ([`wire`]); a malformed or unexpected message
//! ends the session with an error and changes nothing.

mod iblt;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use automerge::ChangeHash;
use negentropy::{Id, Negentropy, NegentropyStorageVector};

use crate::cert::{Certificate, Principal, Role, TrustStore};
use crate::document::{DocHeader, DocKind};
use crate::ids::{DocId, NodeId};
use crate::replica::{Error, Replica};
use crate::signed::SignedChange;
use crate::time::Timestamp;

const PROBE: u8 = 1;
const EQUAL: u8 = 2;
const TABLE: u8 = 3;
const NEG: u8 = 4;
const ESTIMATE: u8 = 5;
const TOO_MANY: u8 = 6;
const GROW: u8 = 7;

/// Protocol version spoken by this build. Version 2 added the sized tables (`ESTIMATE` →
/// `TABLE` | `TOO_MANY`, then once `GROW` → `TABLE` | `TOO_MANY`); a version-1 peer is still
/// served, and a session with one falls back to range reconciliation when the first table
/// does not peel.
pub const PROTOCOL_VERSION: u16 = 2;
/// Oldest protocol version this build still speaks.
pub const MIN_PROTOCOL_VERSION: u16 = 1;
/// Target size of one batch of changes.
pub const BATCH_BYTES: usize = 1024 * 1024;
/// How many times [`BATCH_BYTES`] a message may grow to end where it carries the cover of its
/// covered changes (within [`wire::MAX_MESSAGE_BYTES`]).
pub const COVER_SLACK: usize = 4;
/// Largest reconciliation frame (negentropy's frame size limit).
pub const FRAME_LIMIT: u64 = 64 * 1024;
/// Most rounds of reconciliation before a session gives up.
pub const MAX_ROUNDS: u32 = 64;

/// A document and heads: "what I have of it".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantDoc {
    /// The document.
    pub doc: DocId,
    /// The sender's heads of it (empty: it has nothing).
    pub heads: Vec<ChangeHash>,
}

/// A sync message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Opens a session.
    Hello {
        /// Protocol version.
        version: u16,
        /// The sender's key.
        node: NodeId,
        /// The sender's certificate chain (for the receiver's replication policy).
        chain: Vec<Certificate>,
        /// Whether the sender wants live announcements.
        live: bool,
        /// Whether the sender carries documents it may not read (relay role).
        relay: bool,
    },
    /// A frame of range-based set reconciliation.
    Reconcile(Vec<u8>),
    /// The initiator's heads of documents the responder lacks or holds differently, and the
    /// responder's catalog items the initiator lacks.
    Want {
        /// Documents offered, with the initiator's heads.
        offer: Vec<WantDoc>,
        /// Keys (first 12 bytes of `blake3(doc ‖ digest)`) of the responder's catalog items
        /// that the initiator lacks.
        need: Vec<[u8; 12]>,
    },
    /// Signed changes, and the sender's heads of documents it wants the rest of.
    Changes {
        /// Changes in causal order.
        changes: Vec<SignedChange>,
        /// Documents the sender wants changes of, with its heads.
        want: Vec<WantDoc>,
        /// More batches follow.
        more: bool,
    },
    /// The session is complete.
    Done,
    /// Live mode: a document has new heads.
    Announce {
        /// The document.
        doc: DocId,
        /// Its new heads.
        heads: Vec<ChangeHash>,
    },
    /// The sender ends the session because of an error.
    Abort(String),
}

/// Why a sync session failed. Stored documents are never changed by a failed session
/// beyond the valid changes already applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    /// A message does not decode.
    #[error("malformed sync message: {0}")]
    Malformed(String),
    /// A message or field is over its limit.
    #[error("{what} of {size} exceeds the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The peer speaks another version.
    #[error("peer speaks sync version {got}, this node {supported}")]
    Version {
        /// Peer's version.
        got: u16,
        /// Ours.
        supported: u16,
    },
    /// A message that does not fit the session's state.
    #[error("unexpected {got} while {state}")]
    Unexpected {
        /// What arrived.
        got: &'static str,
        /// The session's state.
        state: &'static str,
    },
    /// Reconciliation failed.
    #[error("reconciliation failed: {0}")]
    Reconcile(String),
    /// The peer sent a change that is not valid at all (bad envelope).
    #[error("peer sent an invalid change: {0}")]
    BadChange(String),
    /// The peer aborted.
    #[error("peer aborted: {0}")]
    Aborted(String),
    /// Too many rounds.
    #[error("reconciliation did not finish within {0} rounds")]
    TooManyRounds(u32),
}

impl Message {
    fn name(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Reconcile(_) => "reconcile",
            Message::Want { .. } => "want",
            Message::Changes { .. } => "changes",
            Message::Done => "done",
            Message::Announce { .. } => "announce",
            Message::Abort(_) => "abort",
        }
    }
}

/// Whether a principal may receive a document (partial replication), decided by the side
/// that sends on the peer's certified scope (never on what the peer claims). `None` is a
/// peer without a valid chain (or whose every chain was revoked): it gets only the
/// federation document, which it needs to join. The table is in ARCHITECTURE.md ("Who
/// receives what"); every kind has its own arm.
///
/// * federation — everyone;
/// * registry (public governance data) — the root, every organisation of its street (its
///   communities and their units and partners), and the district's departments (bodies the
///   root certified, who score property managers);
/// * ledger — the root, the owning community and its organisers, its street, and the other
///   communities of that street (a home community needs the ledgers its volunteers earned
///   points in);
/// * resource — the root, the owner and what lies within it, its street, the communities of
///   that street (they book each other's rooms), and the units and partners of the
///   resource's community;
/// * wishes — the root, the owning community and its units and partners (claimants), its
///   street.
pub fn may_receive(p: Option<&Principal>, h: &DocHeader) -> bool {
    let Some(p) = p else {
        return h.kind == DocKind::Federation;
    };
    if p.is_root() {
        return true;
    }
    let me = &p.scope;
    let owner = h.owner_scope();
    let street = h.street_scope();
    let community = h.community.as_ref().map(|c| street.child(c.clone()));
    let relation = crate::kind::Relation {
        own: me.is_within(&owner),
        its_street: p.role == Some(Role::Street) && *me == street,
        community_of_street: p.role == Some(Role::Community)
            && me.parent().as_ref() == Some(&street),
        in_community: matches!(p.role, Some(Role::Unit | Role::Partner))
            && community.is_some()
            && me.parent() == community,
        department: me.len() == 1 && p.role != Some(Role::Street),
        in_street: me.is_within(&street),
    };
    // Each kind decides (crate::kind::Kind::receives; no default).
    crate::kinds::of(h.kind).receives(&relation)
}

/// [`may_receive`], completed by what a resource's content grants: a unit or partner of
/// another community to which the owner delegated a block, or whose booking request the
/// resource holds, receives the resource too (it decides or follows bookings there).
pub fn may_receive_doc(p: Option<&Principal>, doc: &crate::document::Document) -> bool {
    let h = doc.header();
    if may_receive(p, h) {
        return true;
    }
    let Some(p) = p else { return false };
    // Each kind decides (crate::kind::Kind::receives_for_content; no default).
    crate::kinds::of(h.kind).receives_for_content(doc, p)
}

/// Whether a principal may carry a document for others without reading it (relay role):
/// what it may receive, and, for a street, every document of that street (streets forward
/// between their communities).
pub fn may_carry(p: Option<&Principal>, h: &DocHeader) -> bool {
    may_receive(p, h)
        || p.is_some_and(|p| p.role == Some(Role::Street) && p.scope == h.street_scope())
}

/// The catalog item of a document: `blake3(doc ‖ digest)`.
pub fn item_id(doc: &DocId, digest: &[u8; 32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&doc.0);
    h.update(digest);
    *h.finalize().as_bytes()
}

/// Counters of one session, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages produced.
    pub messages_out: u64,
    /// Bytes produced.
    pub bytes_out: u64,
    /// Messages consumed.
    pub messages_in: u64,
    /// Bytes consumed.
    pub bytes_in: u64,
    /// Bytes of the hello produced (its certificate chain dominates it).
    pub hello_bytes: u64,
    /// Changes sent.
    pub changes_out: u64,
    /// Changes received that were new to this replica.
    pub changes_applied: u64,
    /// Changes received that were refused.
    pub changes_refused: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fresh,
    AwaitHello,
    Reconciling,
    AwaitChanges,
    AwaitFinal,
    /// Initiator: the responder's last batch arrived; the caller applies it, then settles.
    Settling,
    Done,
    Failed,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Fresh => "not started",
            State::AwaitHello => "waiting for hello",
            State::Reconciling => "reconciling",
            State::AwaitChanges => "waiting for changes",
            State::AwaitFinal => "waiting for the last changes",
            State::Settling => "applying the received changes",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

/// One side of a sync session.
pub struct Session {
    initiator: bool,
    relay: bool,
    peer_relay: bool,
    /// The protocol version spoken with the peer (the lower of both).
    version: u16,
    /// Initiator: sized tables asked for (an estimate, then once a table twice as large).
    sized: u8,
    /// Responder: cells of the last sized table sent (0: none yet).
    table_cells: usize,
    /// Responder: the item count of the initiator's probe, once it came, which bounds the
    /// difference an estimator can claim (a sized table answers one estimator per session).
    peer_items: Option<u64>,
    state: State,
    live: bool,
    peer: Option<NodeId>,
    principal: Option<Principal>,
    neg: Option<Negentropy<'static, NegentropyStorageVector>>,
    /// My catalog items offered to this peer → document.
    items: BTreeMap<[u8; 32], DocId>,
    /// The same by item key.
    by_key: BTreeMap<[u8; 12], DocId>,
    have: Vec<Id>,
    need: Vec<Id>,
    rounds: u32,
    peer_wants: Vec<WantDoc>,
    stats: Stats,
    /// Changes received by the last step, not yet applied.
    inbox: Vec<SignedChange>,
    /// Answer Wants batch by batch (see [`Session::lazy`]).
    lazy: bool,
    /// The rest of a lazy answer.
    outgoing: Option<Outgoing>,
}

/// What a responder still has to send for a Want: documents not yet read, the changes of
/// the current one, and its own wants for the last batch.
struct Outgoing {
    docs: VecDeque<WantDoc>,
    cur: VecDeque<SignedChange>,
    /// For each change of `cur`, whether a message may end after it
    /// ([`signed::cover_cuts`]).
    cuts: VecDeque<bool>,
    want: Vec<WantDoc>,
}

impl Outgoing {
    fn is_empty(&self) -> bool {
        self.docs.is_empty() && self.cur.is_empty()
    }

    /// The next Changes message of at most [`BATCH_BYTES`] (or one change), ending where it
    /// carries the cover of its covered changes ([`signed::cover_cuts`]; at most
    /// [`COVER_SLACK`] times longer to reach such a place); the last one carries the wants and
    /// `more: false`.
    fn next(&mut self, s: &Session, replica: &Replica) -> Message {
        let mut changes = Vec::new();
        let mut size = 0usize;
        let mut may_cut = true;
        loop {
            let Some(c) = self.cur.front() else {
                let Some(w) = self.docs.pop_front() else {
                    break;
                };
                if replica
                    .header(w.doc)
                    .is_ok_and(|h| s.peer_gets(replica, w.doc, h))
                {
                    let cur = replica.changes(w.doc, &w.heads).unwrap_or_default();
                    self.cuts = crate::signed::cover_cuts(&cur).into();
                    self.cur = cur.into();
                }
                continue;
            };
            let n = c.change.len() + 140;
            if size + n > BATCH_BYTES
                && !changes.is_empty()
                && (may_cut || size + n > COVER_SLACK * BATCH_BYTES)
            {
                break;
            }
            size += n;
            changes.extend(self.cur.pop_front());
            may_cut = self.cuts.pop_front().unwrap_or(true);
        }
        let more = !self.is_empty();
        Message::Changes {
            changes,
            want: if more {
                Vec::new()
            } else {
                std::mem::take(&mut self.want)
            },
            more,
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("initiator", &self.initiator)
            .field("state", &self.state.name())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Session {
    /// The side that starts the session.
    pub fn initiator(live: bool) -> Self {
        Self::new(true, live)
    }
    /// The side that answers.
    pub fn responder(live: bool) -> Self {
        Self::new(false, live)
    }
    fn new(initiator: bool, live: bool) -> Self {
        Self {
            initiator,
            relay: false,
            peer_relay: false,
            version: PROTOCOL_VERSION,
            sized: 0,
            table_cells: 0,
            peer_items: None,
            state: State::Fresh,
            live,
            peer: None,
            principal: None,
            neg: None,
            items: BTreeMap::new(),
            by_key: BTreeMap::new(),
            have: Vec::new(),
            need: Vec::new(),
            rounds: 0,
            peer_wants: Vec::new(),
            stats: Stats::default(),
            inbox: Vec::new(),
            lazy: false,
            outgoing: None,
        }
    }
    /// Lazy answers (responder): the changes for the initiator's Want are read and encoded
    /// batch by batch — the first batch comes with the step, the rest with
    /// [`next_out`](Self::next_out) while [`has_more_out`](Self::has_more_out) — so an open
    /// session holds one batch, not the whole answer.
    pub fn lazy(mut self) -> Self {
        self.lazy = true;
        self
    }

    /// Whether a lazy answer has more messages (see [`lazy`](Self::lazy)).
    pub fn has_more_out(&self) -> bool {
        self.outgoing.is_some()
    }

    /// The next message of a lazy answer, or `None` when it is complete.
    pub fn next_out(&mut self, replica: &Replica) -> Option<Vec<u8>> {
        let mut og = self.outgoing.take()?;
        let m = og.next(self, replica);
        if !og.is_empty() {
            self.outgoing = Some(og);
        }
        self.out(vec![m]).pop()
    }
    /// Relay role: documents this node may not read are carried for other peers (verified,
    /// not applied) instead of being refused by the sender's replication policy.
    pub fn relaying(mut self) -> Self {
        self.relay = true;
        self
    }
    /// Whether the session completed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
    /// The peer's key, once its hello arrived.
    pub fn peer(&self) -> Option<&NodeId> {
        self.peer.as_ref()
    }
    /// The peer's principal — per this replica's federation documents completed by the
    /// certificate chain in its hello — once its hello arrived; `None` if its key does not
    /// chain to the root (such a peer receives only the federation document).
    pub fn peer_principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }
    /// Whether the peer asked for live announcements.
    pub fn peer_wants_live(&self) -> bool {
        self.live
    }
    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The first message of the initiator (empty for a responder).
    pub fn start(&mut self, replica: &Replica, now: Timestamp) -> Vec<Vec<u8>> {
        if !self.initiator || self.state != State::Fresh {
            return Vec::new();
        }
        self.state = State::AwaitHello;
        let hello = hello(replica, self.version, self.live, self.relay, now);
        self.out(vec![hello])
    }

    fn out(&mut self, msgs: Vec<Message>) -> Vec<Vec<u8>> {
        msgs.iter()
            .map(|m| {
                let b = wire::encode(m);
                self.stats.messages_out += 1;
                self.stats.bytes_out += b.len() as u64;
                if let Message::Changes { changes, .. } = m {
                    self.stats.changes_out += changes.len() as u64;
                }
                if let Message::Hello { .. } = m {
                    self.stats.hello_bytes += b.len() as u64;
                }
                b
            })
            .collect()
    }

    /// Handles one message from the peer: applies the changes it carries to `replica` and
    /// returns the messages to send back. An error ends the session (send
    /// [`Message::Abort`] if the transport allows).
    pub fn handle(
        &mut self,
        replica: &mut Replica,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        let (mut out, received) = self.handle_deferred(replica, bytes, now)?;
        if let Err(e) = self.receive(replica, received) {
            self.state = State::Failed;
            return Err(e);
        }
        out.extend(self.settle(replica));
        Ok(out)
    }

    /// Deferred mode: after the received changes were applied, returns the initiator's last
    /// messages (the changes the responder lacks, then Done) once the responder's last batch
    /// arrived; otherwise nothing.
    pub fn settle(&mut self, replica: &Replica) -> Vec<Vec<u8>> {
        if self.state != State::Settling {
            return Vec::new();
        }
        let wants = std::mem::take(&mut self.peer_wants);
        let changes = self.changes_for(replica, &wants);
        let mut out = batches(changes, Vec::new());
        out.push(Message::Done);
        self.state = State::Done;
        self.out(out)
    }

    /// Whether the session waits for [`settle`](Self::settle).
    pub fn is_settling(&self) -> bool {
        self.state == State::Settling
    }

    /// Like [`handle`](Self::handle), but the changes the message carries are returned to
    /// the caller instead of being applied — for a node that stores each received change
    /// before applying it and applies large batches in chunks. The caller applies them
    /// (e.g. with [`Replica::apply`]), counts them with [`note_applied`](Self::note_applied)
    /// and then calls [`settle`](Self::settle), whose messages follow the returned ones.
    pub fn handle_deferred(
        &mut self,
        replica: &Replica,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<(Vec<Vec<u8>>, Vec<SignedChange>), SyncError> {
        self.stats.messages_in += 1;
        self.stats.bytes_in += bytes.len() as u64;
        let r = wire::decode(bytes).and_then(|m| self.step(replica, m, now));
        match r {
            Ok(msgs) => Ok((self.out(msgs), std::mem::take(&mut self.inbox))),
            Err(e) => {
                self.state = State::Failed;
                self.inbox.clear();
                Err(e)
            }
        }
    }

    /// Counts changes the caller applied (deferred mode): `applied` new, `refused` refused.
    pub fn note_applied(&mut self, applied: u64, refused: u64) {
        self.stats.changes_applied += applied;
        self.stats.changes_refused += refused;
    }

    fn unexpected(&self, m: &Message) -> SyncError {
        SyncError::Unexpected {
            got: m.name(),
            state: self.state.name(),
        }
    }

    fn step(
        &mut self,
        replica: &Replica,
        m: Message,
        now: Timestamp,
    ) -> Result<Vec<Message>, SyncError> {
        if let Message::Abort(reason) = m {
            return Err(SyncError::Aborted(reason));
        }
        match (self.initiator, self.state, m) {
            // Responder receives hello: answer with ours.
            (
                false,
                State::Fresh,
                Message::Hello {
                    version,
                    node,
                    chain,
                    live,
                    relay,
                },
            ) => {
                self.peer_relay = relay;
                self.accept_hello(replica, version, node, &chain, live, now)?;
                self.state = State::Reconciling;
                Ok(vec![hello(
                    replica,
                    self.version,
                    self.live,
                    self.relay,
                    now,
                )])
            }
            // Initiator receives hello: start reconciling.
            (
                true,
                State::AwaitHello,
                Message::Hello {
                    version,
                    node,
                    chain,
                    live,
                    relay,
                },
            ) => {
                self.peer_relay = relay;
                self.accept_hello(replica, version, node, &chain, live, now)?;
                self.build_items(replica);
                self.state = State::Reconciling;
                Ok(vec![Message::Reconcile(self.probe())])
            }
            (false, State::Reconciling, Message::Reconcile(q)) => {
                self.tick()?;
                if self.by_key.is_empty() && self.items.is_empty() {
                    self.build_items(replica);
                }
                match q.split_first() {
                    Some((&PROBE, rest)) => {
                        if rest.len() != 24 {
                            return Err(SyncError::Malformed("probe of the wrong size".into()));
                        }
                        let mut count = [0u8; 8];
                        count.copy_from_slice(&rest[..8]);
                        self.peer_items = Some(u64::from_le_bytes(count));
                        let mine = self.probe();
                        if mine[1..] == *rest {
                            return Ok(vec![Message::Reconcile(vec![EQUAL])]);
                        }
                        let table = iblt::Iblt::of(iblt::CELLS, self.by_key.keys());
                        let mut frame = vec![TABLE];
                        frame.extend(table.encode());
                        Ok(vec![Message::Reconcile(frame)])
                    }
                    Some((&ESTIMATE, rest)) if self.version >= 2 && self.table_cells == 0 => {
                        // After the probe, once: the difference is at most both sets.
                        let Some(peer_items) = self.peer_items.take() else {
                            return Err(SyncError::Malformed(
                                "estimator before the probe or twice".into(),
                            ));
                        };
                        let theirs = iblt::Strata::decode_bytes(rest).ok_or_else(|| {
                            SyncError::Malformed("bad difference estimator".into())
                        })?;
                        let bound = usize::try_from(peer_items)
                            .unwrap_or(usize::MAX)
                            .saturating_add(self.by_key.len());
                        let d = iblt::Strata::of(self.by_key.keys())
                            .estimate(&theirs)
                            .min(bound);
                        let (frame, m) = sized_table(iblt::cells_for(d), self.by_key.keys());
                        self.table_cells = m;
                        Ok(vec![Message::Reconcile(frame)])
                    }
                    Some((&GROW, [])) if self.table_cells > 0 => {
                        let (frame, m) =
                            sized_table(iblt::grown(self.table_cells), self.by_key.keys());
                        self.table_cells = m;
                        Ok(vec![Message::Reconcile(frame)])
                    }
                    Some((&NEG, rest)) => {
                        if self.neg.is_none() {
                            self.neg = Some(self.negentropy()?);
                        }
                        let neg = self
                            .neg
                            .as_mut()
                            .ok_or(SyncError::Reconcile("no state".into()))?;
                        let resp = neg
                            .reconcile(rest)
                            .map_err(|e| SyncError::Reconcile(e.to_string()))?;
                        let mut frame = vec![NEG];
                        frame.extend(resp);
                        Ok(vec![Message::Reconcile(frame)])
                    }
                    _ => Err(SyncError::Malformed("unknown reconciliation frame".into())),
                }
            }
            // The initiator's Want also ends the responder's reconciliation.
            (false, State::Reconciling, Message::Want { offer, need }) => {
                let (sends, want) = self.serve(replica, &offer, &need);
                let mut og = Outgoing {
                    docs: self.federation_first(replica, sends).into(),
                    cur: VecDeque::new(),
                    cuts: VecDeque::new(),
                    want,
                };
                let mut out = vec![og.next(self, replica)];
                while !og.is_empty() {
                    if self.lazy {
                        self.outgoing = Some(og);
                        break;
                    }
                    out.push(og.next(self, replica));
                }
                self.state = State::AwaitFinal;
                Ok(out)
            }
            (false, State::Reconciling, Message::Done) => {
                self.state = State::Done;
                Ok(Vec::new())
            }
            (true, State::Reconciling, Message::Reconcile(resp)) => {
                self.tick()?;
                let (have, need): (Vec<[u8; 12]>, Vec<[u8; 12]>) = match resp.split_first() {
                    Some((&EQUAL, [])) => (Vec::new(), Vec::new()),
                    Some((&TABLE, rest)) => {
                        // The first table has CELLS cells, the sized one at most MAX_CELLS.
                        let max = if self.sized > 0 {
                            iblt::MAX_CELLS
                        } else {
                            iblt::CELLS
                        };
                        let theirs = iblt::Iblt::decode_bytes(rest, max).ok_or_else(|| {
                            SyncError::Malformed("bad reconciliation table".into())
                        })?;
                        let mine = iblt::Iblt::of(theirs.len(), self.by_key.keys());
                        match theirs.subtract(&mine).and_then(iblt::Iblt::decode) {
                            Some((theirs_only, mine_only)) => (mine_only, theirs_only),
                            None if self.sized == 0 && self.version >= 2 => {
                                // Too many differences for the first table: ask for one
                                // sized by an estimate of the difference.
                                self.sized = 1;
                                let mut frame = vec![ESTIMATE];
                                frame.extend(iblt::Strata::of(self.by_key.keys()).encode());
                                return Ok(vec![Message::Reconcile(frame)]);
                            }
                            None if self.sized == 1 => {
                                // The estimate was too low: once, a table twice as large.
                                self.sized = 2;
                                return Ok(vec![Message::Reconcile(vec![GROW])]);
                            }
                            None => {
                                // Too many differences for the table: range reconciliation.
                                let mut neg = self.negentropy()?;
                                let first = neg
                                    .initiate()
                                    .map_err(|e| SyncError::Reconcile(e.to_string()))?;
                                self.neg = Some(neg);
                                let mut frame = vec![NEG];
                                frame.extend(first);
                                return Ok(vec![Message::Reconcile(frame)]);
                            }
                        }
                    }
                    Some((&TOO_MANY, [])) if self.sized > 0 && self.neg.is_none() => {
                        // The difference is too large for a table: range reconciliation.
                        let mut neg = self.negentropy()?;
                        let first = neg
                            .initiate()
                            .map_err(|e| SyncError::Reconcile(e.to_string()))?;
                        self.neg = Some(neg);
                        let mut frame = vec![NEG];
                        frame.extend(first);
                        return Ok(vec![Message::Reconcile(frame)]);
                    }
                    Some((&NEG, rest)) => {
                        let neg = self
                            .neg
                            .as_mut()
                            .ok_or(SyncError::Reconcile("no state".into()))?;
                        let next = neg
                            .reconcile_with_ids(rest, &mut self.have, &mut self.need)
                            .map_err(|e| SyncError::Reconcile(e.to_string()))?;
                        if let Some(next) = next {
                            let mut frame = vec![NEG];
                            frame.extend(next);
                            return Ok(vec![Message::Reconcile(frame)]);
                        }
                        (
                            self.have
                                .iter()
                                .map(|id| iblt::key_of(&id.to_bytes()))
                                .collect(),
                            self.need
                                .iter()
                                .map(|id| iblt::key_of(&id.to_bytes()))
                                .collect(),
                        )
                    }
                    _ => {
                        return Err(SyncError::Malformed("unknown reconciliation frame".into()));
                    }
                };
                if have.is_empty() && need.is_empty() {
                    self.state = State::Done;
                    return Ok(vec![Message::Done]);
                }
                let offer: Vec<WantDoc> = have
                    .iter()
                    .filter_map(|k| self.by_key.get(k))
                    .map(|doc| WantDoc {
                        doc: *doc,
                        heads: replica.heads(*doc).unwrap_or_default(),
                    })
                    .collect();
                self.state = State::AwaitChanges;
                Ok(vec![Message::Want { offer, need }])
            }
            (
                true,
                State::AwaitChanges,
                Message::Changes {
                    changes,
                    want,
                    more,
                },
            ) => {
                self.inbox.extend(changes);
                self.peer_wants.extend(want);
                if !more {
                    // The answer is chosen once the received changes are applied.
                    self.state = State::Settling;
                }
                Ok(Vec::new())
            }
            (false, State::AwaitFinal, Message::Changes { changes, .. }) => {
                // More batches, then Done, follow.
                self.inbox.extend(changes);
                Ok(Vec::new())
            }
            (false, State::AwaitFinal, Message::Done) => {
                self.state = State::Done;
                self.outgoing = None;
                Ok(Vec::new())
            }
            (_, _, m) => Err(self.unexpected(&m)),
        }
    }

    /// Federation documents first: the certificates they carry are what the receiver needs
    /// to accept everything else (otherwise changes wait for a certificate).
    fn federation_first(&self, replica: &Replica, mut wants: Vec<WantDoc>) -> Vec<WantDoc> {
        wants.sort_by_key(|w| {
            replica
                .header(w.doc)
                .map(|h| h.kind != DocKind::Federation)
                .unwrap_or(true)
        });
        wants
    }

    /// Whether the peer gets a document: what it may receive, or carry if it relays.
    /// Whether the peer gets a document's changes from us: [`Session::peer_may_know`], and
    /// never a provisional document's (fast join, not yet verified).
    fn peer_gets(&self, replica: &Replica, doc: DocId, h: &DocHeader) -> bool {
        !replica.is_provisional(doc) && self.peer_may_know(replica, doc, h)
    }

    /// Whether a document is in the catalog the peer reconciles against: what it may
    /// receive (or carry). A provisional document is listed (its digest only, so a peer
    /// holding the same does not send it all again) but its changes are not sent.
    fn peer_may_know(&self, replica: &Replica, doc: DocId, h: &DocHeader) -> bool {
        let content = || replica.doc(doc).ok();
        if self.peer_relay {
            may_carry(self.principal.as_ref(), h)
                || content().is_some_and(|d| may_receive_doc(self.principal.as_ref(), d))
        } else if may_receive(self.principal.as_ref(), h) {
            true
        } else {
            content().is_some_and(|d| may_receive_doc(self.principal.as_ref(), d))
        }
    }

    /// Whether this relay should carry (not apply) a change: its document is carried already,
    /// or it is the genesis of a document this node may not read itself.
    fn carries(&self, replica: &Replica, sc: &SignedChange) -> bool {
        if replica.is_carried(sc.doc) {
            return true;
        }
        if replica.docs().contains_key(&sc.doc) {
            return false;
        }
        let Ok(change) = sc.verify() else {
            return false;
        };
        if !change.deps().is_empty() {
            return false;
        }
        let Ok(doc) = crate::document::Document::from_genesis(change, crate::kinds::layout) else {
            return false;
        };
        let me = replica.principal(&replica.author().node, Timestamp(doc.header().created.0));
        !may_receive(me.ok().as_ref(), doc.header())
    }

    fn tick(&mut self) -> Result<(), SyncError> {
        self.rounds += 1;
        if self.rounds > MAX_ROUNDS {
            return Err(SyncError::TooManyRounds(MAX_ROUNDS));
        }
        Ok(())
    }

    fn accept_hello(
        &mut self,
        replica: &Replica,
        version: u16,
        node: NodeId,
        chain: &[Certificate],
        live: bool,
        now: Timestamp,
    ) -> Result<(), SyncError> {
        if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
            return Err(SyncError::Version {
                got: version,
                supported: PROTOCOL_VERSION,
            });
        }
        // The lower of both: a responder answers in the peer's version, an initiator speaks
        // the one the responder answered in.
        self.version = self.version.min(version);
        self.peer = Some(node);
        self.live = self.live || live;
        // The peer's principal per our federation documents, completed by the chain it
        // presented (used only to decide what it may receive).
        let mut trust: TrustStore = replica.trust().clone();
        for c in chain {
            trust.insert(c.clone());
        }
        // Revoked certificates give no read access to anything new.
        self.principal = trust
            .principal_without(&node, now, &replica.withdrawn_of(&node))
            .ok();
        Ok(())
    }

    /// Collects the catalog items this peer may receive.
    fn build_items(&mut self, replica: &Replica) {
        self.items.clear();
        self.by_key.clear();
        for (doc, digest) in replica.catalog() {
            let Ok(h) = replica.header(*doc) else {
                continue;
            };
            if !self.peer_may_know(replica, *doc, h) {
                continue;
            }
            let id = item_id(doc, digest);
            self.items.insert(id, *doc);
            self.by_key.insert(iblt::key_of(&id), *doc);
        }
    }

    fn probe(&self) -> Vec<u8> {
        probe_of(self.by_key.keys())
    }

    fn negentropy(&self) -> Result<Negentropy<'static, NegentropyStorageVector>, SyncError> {
        let rec = |e: negentropy::Error| SyncError::Reconcile(e.to_string());
        let mut storage = NegentropyStorageVector::with_capacity(self.items.len());
        for id in self.items.keys() {
            storage.insert(0, Id::from_byte_array(*id)).map_err(rec)?;
        }
        storage.seal().map_err(rec)?;
        Negentropy::owned(storage, FRAME_LIMIT).map_err(rec)
    }

    /// The responder's answer to a Want: the documents (with the initiator's heads) whose
    /// changes the initiator lacks, and its own heads of the offered documents it should
    /// receive the rest of.
    fn serve(
        &self,
        replica: &Replica,
        offer: &[WantDoc],
        need: &[[u8; 12]],
    ) -> (Vec<WantDoc>, Vec<WantDoc>) {
        let offered: BTreeMap<DocId, &WantDoc> = offer.iter().map(|w| (w.doc, w)).collect();
        let mut sends: Vec<WantDoc> = Vec::new();
        let mut seen = BTreeSet::new();
        for key in need {
            let Some(doc) = self.by_key.get(key) else {
                continue;
            };
            if !seen.insert(*doc) {
                continue;
            }
            let heads = offered
                .get(doc)
                .map(|w| w.heads.clone())
                .unwrap_or_default();
            sends.push(WantDoc { doc: *doc, heads });
        }
        // Ask for the rest of an offered document only if the initiator has a head this
        // replica does not know (otherwise it already holds everything the initiator has).
        let want = offer
            .iter()
            .filter(|w| w.heads.iter().any(|h| !replica.has_change(h)))
            .map(|w| WantDoc {
                doc: w.doc,
                heads: replica.heads(w.doc).unwrap_or_default(),
            })
            .collect();
        (sends, want)
    }

    /// Changes of each wanted document that the peer (at the given heads) lacks, limited to
    /// documents the peer may receive.
    fn changes_for(&self, replica: &Replica, wants: &[WantDoc]) -> Vec<SignedChange> {
        let mut out = Vec::new();
        for w in self.federation_first(replica, wants.to_vec()) {
            let Ok(h) = replica.header(w.doc) else {
                continue;
            };
            if !self.peer_gets(replica, w.doc, h) {
                continue;
            }
            out.extend(replica.changes(w.doc, &w.heads).unwrap_or_default());
        }
        out
    }

    fn receive(
        &mut self,
        replica: &mut Replica,
        changes: Vec<SignedChange>,
    ) -> Result<(), SyncError> {
        let (carried, held): (Vec<SignedChange>, Vec<SignedChange>) = changes
            .into_iter()
            .partition(|sc| self.relay && self.carries(replica, sc));
        if !carried.is_empty() {
            let mut checked = crate::signed::check_all(carried, 1);
            crate::signed::cover(&mut checked);
            for c in checked {
                match replica.carry_checked(c) {
                    Ok(true) => self.stats.changes_applied += 1,
                    Ok(false) | Err(Error::Uncovered { .. }) => {}
                    Err(e) => return Err(SyncError::BadChange(e.to_string())),
                }
            }
        }
        for r in replica.receive_batch(held) {
            match r {
                Ok(crate::replica::Applied::Applied(h)) => {
                    self.stats.changes_applied += h.len() as u64
                }
                // Dropped, not the sender's fault: it comes again with its cover.
                Ok(_) | Err(Error::Uncovered { .. }) => {}
                Err(Error::Rejected(_)) => self.stats.changes_refused += 1,
                Err(e) => return Err(SyncError::BadChange(e.to_string())),
            }
        }
        Ok(())
    }
}

fn hello(replica: &Replica, version: u16, live: bool, relay: bool, now: Timestamp) -> Message {
    let node = replica.author().node;
    let chain = chain_of(replica.trust(), &node, now);
    Message::Hello {
        version,
        node,
        chain,
        live,
        relay,
    }
}

/// The certificates on a path from `node` to the root (best effort, for the peer's policy).
fn chain_of(trust: &TrustStore, node: &NodeId, now: Timestamp) -> Vec<Certificate> {
    let mut out = Vec::new();
    let mut cur = *node;
    for _ in 0..crate::cert::MAX_CHAIN_LEN {
        let Some(c) = trust
            .certificates_of(&cur)
            .find(|c| c.valid_at(now))
            .cloned()
        else {
            break;
        };
        cur = c.issuer;
        out.push(c);
        if &cur == trust.root() {
            break;
        }
    }
    out
}

/// Splits changes into messages of about [`BATCH_BYTES`]; the wants ride on the last one.
fn batches(changes: Vec<SignedChange>, want: Vec<WantDoc>) -> Vec<Message> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut size = 0usize;
    let cuts = crate::signed::cover_cuts(&changes);
    let mut may_cut = true;
    for (c, cut) in changes.into_iter().zip(cuts) {
        let n = c.change.len() + 140;
        if size + n > BATCH_BYTES
            && !cur.is_empty()
            && (may_cut || size + n > COVER_SLACK * BATCH_BYTES)
        {
            out.push(Message::Changes {
                changes: std::mem::take(&mut cur),
                want: Vec::new(),
                more: true,
            });
            size = 0;
        }
        size += n;
        cur.push(c);
        may_cut = cut;
    }
    if !cur.is_empty() || !want.is_empty() {
        out.push(Message::Changes {
            changes: cur,
            want,
            more: false,
        });
    }
    out
}

/// `[PROBE][count: u64][XOR of the item keys, padded to 16 bytes]`: equal sets answer in one
/// round trip.
fn probe_of<'a>(keys: impl IntoIterator<Item = &'a [u8; iblt::KEY]>) -> Vec<u8> {
    let mut fp = [0u8; 16];
    let mut n = 0u64;
    for k in keys {
        n += 1;
        for (a, b) in fp.iter_mut().zip(k) {
            *a ^= b;
        }
    }
    let mut out = vec![PROBE];
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&fp);
    out
}

/// The responder's answer to an estimator or a `GROW`: a table of its keys of `m` cells and
/// `m`, or `[TOO_MANY]` and 0 when the table would exceed the bound (`m` is `None`).
fn sized_table<'a>(
    m: Option<usize>,
    keys: impl IntoIterator<Item = &'a [u8; iblt::KEY]>,
) -> (Vec<u8>, usize) {
    match m {
        Some(m) => {
            let table = iblt::Iblt::of(m, keys);
            let mut frame = vec![TABLE];
            frame.extend(table.encode());
            (frame, table.len())
        }
        None => (vec![TOO_MANY], 0),
    }
}

/// What reconciling two item sets cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Round trips (a frame and its answer).
    pub round_trips: u32,
    /// Frames exchanged.
    pub messages: u64,
    /// Bytes of all frames, with the sync message framing.
    pub bytes: u64,
    /// Items only the initiator has.
    pub have: usize,
    /// Items only the responder has.
    pub need: usize,
}

/// Reconciles two sets of catalog items exactly as a session of protocol version 2 does
/// (probe, first table, estimator and sized table, once a grown table, then range
/// reconciliation; same sizes and framing), without documents: for cost tests and
/// benchmarks. `a` is the initiator's set.
pub fn reconcile_items(a: &[[u8; 32]], b: &[[u8; 32]]) -> Result<ReconcileReport, SyncError> {
    let framed = |frame: Vec<u8>| wire::encode(&Message::Reconcile(frame)).len() as u64;
    let keys = |items: &[[u8; 32]]| -> BTreeSet<[u8; iblt::KEY]> {
        items.iter().map(iblt::key_of).collect()
    };
    let (ka, kb) = (keys(a), keys(b));
    let mut report = ReconcileReport {
        round_trips: 1,
        messages: 2,
        bytes: framed(probe_of(&ka)),
        ..ReconcileReport::default()
    };
    if probe_of(&ka) == probe_of(&kb) {
        report.bytes += framed(vec![EQUAL]);
        return Ok(report);
    }
    let table = iblt::Iblt::of(iblt::CELLS, &kb);
    let mut frame = vec![TABLE];
    frame.extend(table.encode());
    report.bytes += framed(frame);
    if let Some((theirs, mine)) = table
        .subtract(&iblt::Iblt::of(iblt::CELLS, &ka))
        .and_then(iblt::Iblt::decode)
    {
        report.have = mine.len();
        report.need = theirs.len();
        return Ok(report);
    }
    // The estimator and the sized table, then once a table twice as large; TOO_MANY or a
    // table that still does not peel leads to range reconciliation.
    let estimator = iblt::Strata::of(&ka);
    let mut ask = vec![ESTIMATE];
    ask.extend(estimator.encode());
    let bound = ka.len() + kb.len();
    let mut m = iblt::cells_for(iblt::Strata::of(&kb).estimate(&estimator).min(bound));
    for _ in 0..2 {
        report.bytes += framed(std::mem::replace(&mut ask, vec![GROW]));
        let (answer, cells) = sized_table(m, &kb);
        report.bytes += framed(answer.clone());
        report.round_trips += 1;
        report.messages += 2;
        let Some((&TABLE, rest)) = answer.split_first() else {
            break;
        };
        let theirs = iblt::Iblt::decode_bytes(rest, iblt::MAX_CELLS)
            .ok_or_else(|| SyncError::Malformed("bad reconciliation table".into()))?;
        if let Some((theirs, mine)) = theirs
            .subtract(&iblt::Iblt::of(theirs.len(), &ka))
            .and_then(iblt::Iblt::decode)
        {
            report.have = mine.len();
            report.need = theirs.len();
            return Ok(report);
        }
        m = iblt::grown(cells);
    }
    let neg = reconcile_negentropy(a, b, FRAME_LIMIT)?;
    report.round_trips += neg.round_trips;
    report.messages += neg.messages;
    report.bytes += neg.bytes;
    report.have = neg.have;
    report.need = neg.need;
    Ok(report)
}

/// Reconciles two sets of catalog items with range reconciliation alone (negentropy, as the
/// session's fallback runs it: 32-byte ids, [`FRAME_LIMIT`], the same framing): the
/// baseline of the reconciliation benchmark.
pub fn reconcile_negentropy(
    a: &[[u8; 32]],
    b: &[[u8; 32]],
    frame_limit: u64,
) -> Result<ReconcileReport, SyncError> {
    let framed = |frame: Vec<u8>| wire::encode(&Message::Reconcile(frame)).len() as u64;
    let mut report = ReconcileReport::default();
    let rec = |e: negentropy::Error| SyncError::Reconcile(e.to_string());
    let store = |items: &[[u8; 32]]| -> Result<NegentropyStorageVector, SyncError> {
        let mut s = NegentropyStorageVector::with_capacity(items.len());
        for i in items {
            s.insert(0, Id::from_byte_array(*i)).map_err(rec)?;
        }
        s.seal().map_err(rec)?;
        Ok(s)
    };
    let mut client = Negentropy::owned(store(a)?, frame_limit).map_err(rec)?;
    let mut server = Negentropy::owned(store(b)?, frame_limit).map_err(rec)?;
    let framed_neg = |payload: &[u8]| {
        let mut f = vec![NEG];
        f.extend_from_slice(payload);
        framed(f)
    };
    let mut msg = client.initiate().map_err(rec)?;
    let (mut have, mut need) = (Vec::new(), Vec::new());
    loop {
        report.messages += 1;
        report.bytes += framed_neg(&msg);
        let resp = server.reconcile(&msg).map_err(rec)?;
        report.messages += 1;
        report.round_trips += 1;
        report.bytes += framed_neg(&resp);
        if report.round_trips > MAX_ROUNDS {
            return Err(SyncError::TooManyRounds(MAX_ROUNDS));
        }
        match client
            .reconcile_with_ids(&resp, &mut have, &mut need)
            .map_err(rec)?
        {
            Some(next) => msg = next,
            None => break,
        }
    }
    report.have = have.len();
    report.need = need.len();
    Ok(report)
}

/// Live mode: the announcement to send after a local write to `doc`.
pub fn announce(replica: &Replica, doc: DocId) -> Option<Vec<u8>> {
    if replica.is_provisional(doc) {
        return None;
    }
    let heads = replica.heads(doc).ok()?;
    Some(wire::encode(&Message::Announce { doc, heads }))
}

/// Live mode, outside sessions: handles an announcement (answering with a pull of just that
/// document if its heads are new here), a pull (answering with the changes the puller lacks,
/// if `peer` may receive the document), or pushed changes (applied). Returns the messages to
/// send back and the number of changes applied.
pub fn on_message(
    replica: &mut Replica,
    peer: Option<&Principal>,
    bytes: &[u8],
) -> Result<(Vec<Vec<u8>>, usize), SyncError> {
    let (out, received) = on_message_deferred(replica, peer, bytes)?;
    let mut applied = 0;
    for sc in received {
        match replica.apply(sc) {
            Ok(crate::replica::Applied::Applied(h)) => applied += h.len(),
            Ok(_) | Err(Error::Rejected(_)) => {}
            Err(e) => return Err(SyncError::BadChange(e.to_string())),
        }
    }
    Ok((out, applied))
}

/// [`on_message`] for a caller that applies the received changes itself: returns the
/// messages to send back and the changes to apply.
pub fn on_message_deferred(
    replica: &Replica,
    peer: Option<&Principal>,
    bytes: &[u8],
) -> Result<(Vec<Vec<u8>>, Vec<SignedChange>), SyncError> {
    match wire::decode(bytes)? {
        Message::Announce { doc, heads } => Ok((pull(replica, doc, &heads), Vec::new())),
        Message::Changes { changes, want, .. } => {
            let mut out = Vec::new();
            for w in want {
                let Ok(h) = replica.header(w.doc) else {
                    continue;
                };
                if replica.is_provisional(w.doc) {
                    continue;
                }
                if !may_receive(peer, h)
                    && !replica.doc(w.doc).is_ok_and(|d| may_receive_doc(peer, d))
                {
                    continue;
                }
                let changes = replica.changes(w.doc, &w.heads).unwrap_or_default();
                for m in batches(changes, Vec::new()) {
                    out.push(wire::encode(&m));
                }
            }
            Ok((out, changes))
        }
        other => Err(SyncError::Unexpected {
            got: other.name(),
            state: "live mode",
        }),
    }
}

/// Live mode: the pull to send for an announcement of `heads` of `doc`, if some are new
/// here (empty otherwise).
pub fn pull(replica: &Replica, doc: DocId, heads: &[ChangeHash]) -> Vec<Vec<u8>> {
    if heads.iter().all(|h| replica.has_change(h)) {
        return Vec::new();
    }
    let mine = replica.heads(doc).unwrap_or_default();
    vec![wire::encode(&Message::Changes {
        changes: Vec::new(),
        want: vec![WantDoc { doc, heads: mine }],
        more: false,
    })]
}

#[cfg(test)]
mod receive_tests;
#[cfg(test)]
mod tests;

/// A whole session between two replicas in memory, for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::{Replica, Session};
    use std::collections::VecDeque;

    /// Runs an initiator session from `a` against a responder on `b` until both are done.
    pub(crate) fn run_session(a: &mut Replica, b: &mut Replica) {
        let now = crate::testutil::t("2026-06-02T10:00:00+08:00");
        let (mut sa, mut sb) = (Session::initiator(false), Session::responder(false));
        let mut to_b: VecDeque<Vec<u8>> = sa.start(a, now).into();
        let mut to_a: VecDeque<Vec<u8>> = VecDeque::new();
        for _ in 0..10_000 {
            if let Some(m) = to_b.pop_front() {
                to_a.extend(sb.handle(b, &m, now).expect("b handles"));
            } else if let Some(m) = to_a.pop_front() {
                to_b.extend(sa.handle(a, &m, now).expect("a handles"));
            } else {
                return;
            }
        }
        panic!("the session did not end");
    }
}
