//! Sync sessions driven over the network: the initiator's loop, the responder's state, live
//! pulls, and applying received changes in chunks.
//!
//! The linli-core [`Session`] runs in deferred mode: each step runs on the node's actor
//! thread (through [`Node::read`]) and hands back the received changes, which are stored and
//! applied through [`Node::apply_batch`] in chunks sized to take about [`CHUNK_TARGET`] each,
//! so a large batch never stalls the node's other commands for long.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use libp2p::PeerId;
use linli_core::personal::{self, Accepted, Exchange, PersonalRecord};
use linli_core::sync::{self, Session, SyncError};
use linli_core::{Applied, DocId, Error as CoreError, NodeId, SignedChange};
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};

use super::codec::{FRAME_TARGET, Request, Response, next_frame};
use super::{Cmd, Metrics};
use crate::{Node, NodeError};

/// Target time of one chunk of received changes applied in one command.
pub(crate) const CHUNK_TARGET: Duration = Duration::from_millis(40);
/// Most responder sessions one peer may hold open.
pub(crate) const SESSIONS_PER_PEER: usize = 4;
/// Most responder sessions in all.
pub(crate) const SESSIONS_TOTAL: usize = 256;
/// A responder session unused this long is dropped.
pub(crate) const SESSION_IDLE: Duration = Duration::from_secs(120);
/// Most request/response exchanges in one session before the initiator gives up.
const MAX_EXCHANGES: usize = 10_000;

/// Most documents pulled at once after announcements; announcements of further documents
/// are left to the next sync session.
pub const MAX_PULLS: usize = 64;
/// Most heads and peers kept for one document's waiting pull.
const MAX_PULL_HEADS: usize = 64;
const MAX_PULL_PEERS: usize = 4;
/// Announcements of a document we hold whose author then delivered nothing, before the
/// author is dropped (reset whenever it delivers).
pub const BROKEN_ANNOUNCEMENTS: u32 = 5;
/// Finished responder sessions remembered, so a replayed session is recognised.
const FINISHED_KEPT: usize = 4096;

/// What to pull for one document: the heads announced, whom to ask (best first) and the
/// announcement's author when all of it came from one author.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending {
    heads: Vec<ChangeHash>,
    from: Vec<PeerId>,
    source: Option<PeerId>,
}

impl Pending {
    pub(crate) fn new(heads: Vec<ChangeHash>, from: Vec<PeerId>, source: Option<PeerId>) -> Self {
        let mut p = Pending::default();
        p.merge(heads, from, source);
        p.source = source;
        p
    }

    /// Adds another announcement, bounded: heads and peers beyond the limits are left to the
    /// next sync session.
    fn merge(&mut self, heads: Vec<ChangeHash>, from: Vec<PeerId>, source: Option<PeerId>) {
        for h in heads {
            if self.heads.len() < MAX_PULL_HEADS && !self.heads.contains(&h) {
                self.heads.push(h);
            }
        }
        for f in from {
            if self.from.len() < MAX_PULL_PEERS && !self.from.contains(&f) {
                self.from.push(f);
            }
        }
        if self.source != source {
            self.source = None;
        }
    }
}

/// Live pulls in flight, by document, with what was announced for it since (merged).
pub(crate) type Pulls = HashMap<DocId, Option<Pending>>;

type RespMap = HashMap<(PeerId, u64), Arc<AsyncMutex<Resp>>>;
/// Finished sessions: the set, and the order they finished in.
type Finished = (HashSet<(PeerId, u64)>, VecDeque<(PeerId, u64)>);

/// What the network tasks share.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) node: Node,
    pub(crate) cmd: mpsc::Sender<Cmd>,
    pub(crate) responders: Arc<Responders>,
    pub(crate) chunk: Arc<AtomicUsize>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) pulling: Arc<std::sync::Mutex<Pulls>>,
    /// Broken announcements per author since it last delivered.
    pub(crate) broken: Arc<std::sync::Mutex<HashMap<PeerId, u32>>>,
    pub(crate) next_session: Arc<AtomicU64>,
    /// Refused join requests per peer (`join::answer`).
    pub(crate) join_failures: Arc<std::sync::Mutex<HashMap<PeerId, u32>>>,
    /// Whether to fast join (`NetConfig::fast_join`).
    pub(crate) fast_join: bool,
    /// A fast join runs (one at a time).
    pub(crate) fast_joining: Arc<std::sync::atomic::AtomicBool>,
    /// The node may hold nothing yet (cleared once a fast join finds documents).
    pub(crate) maybe_empty: Arc<std::sync::atomic::AtomicBool>,
    /// Sessions started whose fast join has not finished.
    pub(crate) fast_join_pending: Arc<AtomicUsize>,
    /// Notified whenever one finishes.
    pub(crate) fast_join_done: Arc<tokio::sync::Notify>,
}

/// Why a peer is dropped.
#[derive(Debug)]
pub(crate) enum Fault {
    /// It claims another key than the connection's.
    Refused(String),
    /// Its key has no certificate chaining to our root, or only revoked ones: refused, not
    /// banned. A newcomer's certificate may still be on its way (a node that just joined
    /// reaches its issuer through us as a relay), and the connection may carry circuits
    /// that our relay's own limits bound.
    Stranger(String),
    /// It sent invalid data.
    Invalid(String),
    /// The peer answered that it refuses us (its chain check, its limits or ban).
    RefusedUs(String),
    /// The session failed for another reason (timeout, connection closed, node error).
    Failed(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Refused(r) | Fault::Stranger(r) => write!(f, "refused: {r}"),
            Fault::Invalid(r) => write!(f, "invalid data: {r}"),
            Fault::RefusedUs(r) => write!(f, "the peer refused us: {r}"),
            Fault::Failed(r) => write!(f, "failed: {r}"),
        }
    }
}

impl From<NodeError> for Fault {
    fn from(e: NodeError) -> Self {
        Fault::Failed(e.to_string())
    }
}

/// The node key inside a libp2p peer id (ed25519 keys are inlined in the id).
pub(crate) fn node_of(peer: &PeerId) -> Option<NodeId> {
    let mh = peer.as_ref();
    if mh.code() != 0 {
        return None;
    }
    let pk = libp2p::identity::PublicKey::try_decode_protobuf(mh.digest()).ok()?;
    let ed = pk.try_into_ed25519().ok()?;
    Some(NodeId(ed.to_bytes()))
}

/// The libp2p peer id of a node key.
pub(crate) fn peer_of(node: &NodeId) -> Option<PeerId> {
    let ed = libp2p::identity::ed25519::PublicKey::try_from_bytes(&node.0).ok()?;
    Some(libp2p::identity::PublicKey::from(ed).to_peer_id())
}

/// After the hello: the peer must be the key its connection authenticated and must chain
/// to our root.
fn check_peer(s: &Session, expected: &NodeId) -> Result<(), Fault> {
    let Some(claimed) = s.peer() else {
        return Ok(());
    };
    if claimed != expected {
        return Err(Fault::Refused(format!(
            "its hello names key {} but the connection is authenticated as {}",
            claimed.short(),
            expected.short()
        )));
    }
    if s.peer_principal().is_none() {
        return Err(Fault::Stranger(format!(
            "key {} has no certificate chaining to this district's root, or its certificates were revoked",
            expected.short()
        )));
    }
    Ok(())
}

fn sync_fault(e: SyncError) -> Fault {
    match e {
        SyncError::Aborted(r) => Fault::Failed(format!("the peer aborted: {r}")),
        other => Fault::Invalid(other.to_string()),
    }
}

/// One session step on the actor thread: the messages to send and the changes to apply.
async fn step(
    node: &Node,
    session: Session,
    msg: Vec<u8>,
) -> Result<(Session, Vec<Vec<u8>>, Vec<SignedChange>), Fault> {
    let now = node.now();
    let (session, r) = node
        .read(move |rep| {
            let mut session = session;
            let r = session.handle_deferred(rep, &msg, now);
            (session, r)
        })
        .await?;
    let (out, received) = r.map_err(sync_fault)?;
    Ok((session, out, received))
}

/// What a batch of received changes did.
#[derive(Debug, Default)]
pub(crate) struct Received {
    pub(crate) applied: u64,
    pub(crate) refused: u64,
    /// Documents that gained changes.
    pub(crate) touched: BTreeSet<DocId>,
}

/// Stores and applies received changes in chunks of about [`CHUNK_TARGET`]. A change whose
/// envelope is broken (bad signature, garbage bytes) is invalid data from the peer.
pub(crate) async fn apply_chunked(
    ctx: &Ctx,
    changes: Vec<SignedChange>,
) -> Result<Received, Fault> {
    let mut rest = changes;
    let (mut applied, mut refused) = (0u64, 0u64);
    let mut touched = BTreeSet::new();
    let mut bad: Option<String> = None;
    // A chunk ends where it carries the cover of its covered changes.
    let mut cuts: std::collections::VecDeque<bool> = linli_core::signed::cover_cuts(&rest).into();
    while !rest.is_empty() {
        let mut n = ctx
            .chunk
            .load(Ordering::Relaxed)
            .clamp(4, 4096)
            .min(rest.len());
        while n < rest.len() && !cuts.get(n - 1).copied().unwrap_or(true) {
            n += 1;
        }
        cuts.drain(..n);
        let tail = rest.split_off(n);
        let part = std::mem::replace(&mut rest, tail);
        let docs: Vec<DocId> = part.iter().map(|c| c.doc).collect();
        let started = Instant::now();
        let results = ctx.node.apply_batch(part).await?;
        let took = started.elapsed();
        // Adapt the chunk so one apply takes about the target.
        if took > CHUNK_TARGET && n > 4 {
            ctx.chunk.store(n / 2, Ordering::Relaxed);
        } else if took < CHUNK_TARGET / 3 && n == ctx.chunk.load(Ordering::Relaxed) {
            ctx.chunk.store(n * 2, Ordering::Relaxed);
        }
        for (r, doc) in results.into_iter().zip(docs) {
            match r {
                Ok(Applied::Applied(h)) => {
                    applied += h.len() as u64;
                    touched.insert(doc);
                }
                Ok(_) => {}
                Err(CoreError::Rejected(_)) => refused += 1,
                // Beyond its signer's quota, no room to wait for its dependencies, or its
                // cover not in the batch: not stored, and not the relaying peer's fault (it
                // may come again later).
                Err(
                    CoreError::Quota(_)
                    | CoreError::PendingFull { .. }
                    | CoreError::Uncovered { .. },
                ) => {}
                Err(CoreError::Envelope(e)) => {
                    bad.get_or_insert_with(|| format!("a change with a broken envelope: {e}"));
                }
                Err(e) => {
                    bad.get_or_insert_with(|| format!("a change that cannot be applied: {e}"));
                }
            }
        }
    }
    ctx.metrics
        .changes_applied
        .fetch_add(applied, Ordering::Relaxed);
    ctx.metrics
        .changes_refused
        .fetch_add(refused, Ordering::Relaxed);
    match bad {
        Some(b) => Err(Fault::Invalid(b)),
        None => Ok(Received {
            applied,
            refused,
            touched,
        }),
    }
}

/// Sends a request through the swarm task and waits for the answer.
async fn request(ctx: &Ctx, peer: PeerId, req: Request) -> Result<Response, Fault> {
    let (reply, rx) = oneshot::channel();
    ctx.cmd
        .send(Cmd::Request { peer, req, reply })
        .await
        .map_err(|_| Fault::Failed("the network stopped".into()))?;
    let resp = rx
        .await
        .map_err(|_| Fault::Failed("the network stopped".into()))?
        .map_err(Fault::Failed)?;
    if let Response::Refused(r) = resp {
        return Err(Fault::RefusedUs(r));
    }
    Ok(resp)
}

/// Runs one sync session with `peer` as the initiator.
pub(crate) async fn initiate(ctx: Ctx, peer: PeerId) -> Result<sync::Stats, Fault> {
    let expected = node_of(&peer).ok_or_else(|| Fault::Refused("not an ed25519 key".into()))?;
    let id = ctx.next_session.fetch_add(1, Ordering::Relaxed);
    let now = ctx.node.now();
    let (mut session, first) = ctx
        .node
        .read(move |rep| {
            let mut s = Session::initiator(true);
            let out = s.start(rep, now);
            (s, out)
        })
        .await?;
    let mut outbox: VecDeque<Vec<u8>> = first.into();
    let mut checked = false;
    let mut exchanges = 0;
    let mut touched = BTreeSet::new();
    loop {
        exchanges += 1;
        if exchanges > MAX_EXCHANGES {
            return Err(Fault::Invalid("the session does not end".into()));
        }
        let msgs = next_frame(&mut outbox);
        if msgs.is_empty() && session.is_done() {
            break;
        }
        let mut resp = request(&ctx, peer, Request::Session { id, msgs }).await?;
        loop {
            let Response::Msgs { msgs, more } = resp else {
                return Err(Fault::Failed("unexpected response".into()));
            };
            for m in msgs {
                let (s, out, received) = step(&ctx.node, session, m).await?;
                session = s;
                if !checked && session.peer().is_some() {
                    check_peer(&session, &expected)?;
                    checked = true;
                }
                let got = apply_chunked(&ctx, received).await?;
                session.note_applied(got.applied, got.refused);
                touched.extend(got.touched);
                outbox.extend(out);
            }
            if !more {
                break;
            }
            resp = request(&ctx, peer, Request::Continue { id }).await?;
        }
        if session.is_settling() {
            let (s, out) = ctx
                .node
                .read(move |rep| {
                    let mut s = session;
                    let out = s.settle(rep);
                    (s, out)
                })
                .await?;
            session = s;
            outbox.extend(out);
        }
        if outbox.is_empty() && !session.is_done() {
            return Err(Fault::Invalid(
                "the peer stopped answering in the middle of a session".into(),
            ));
        }
    }
    announce(&ctx, touched).await;
    Ok(session.stats().clone())
}

/// After a session brought changes: tells the document's topic about the new heads, so
/// peers the session's partner is not connected to learn of them without waiting for
/// their next session. (Changes pulled after an announcement are not announced again.)
pub(crate) async fn announce(ctx: &Ctx, docs: BTreeSet<DocId>) {
    if docs.is_empty() {
        return;
    }
    let root = ctx.node.root();
    let found = ctx
        .node
        .read(move |rep| {
            docs.into_iter()
                .filter_map(|doc| {
                    let h = rep.header(doc).ok()?;
                    let data = sync::announce(rep, doc)?;
                    Some((super::topic_of(&root, h.kind, h.street.as_str()), data))
                })
                .collect::<Vec<_>>()
        })
        .await;
    for (topic, data) in found.unwrap_or_default() {
        if ctx.cmd.send(Cmd::Publish { topic, data }).await.is_err() {
            return;
        }
    }
}

/// A responder session.
struct Resp {
    session: Option<Session>,
    queue: VecDeque<Vec<u8>>,
    used: Instant,
    checked: bool,
    /// Documents this session brought changes to.
    touched: BTreeSet<DocId>,
}

/// Open responder sessions, by peer and session id.
#[derive(Default)]
pub(crate) struct Responders {
    map: std::sync::Mutex<RespMap>,
    /// Recently finished sessions (bounded, oldest forgotten first): a request naming one
    /// again is a replay.
    finished: std::sync::Mutex<Finished>,
}

impl Responders {
    fn get_or_open(&self, peer: PeerId, id: u64) -> Result<Arc<AsyncMutex<Resp>>, Fault> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| Fault::Failed("poisoned".into()))?;
        if let Some(r) = map.get(&(peer, id)) {
            return Ok(r.clone());
        }
        if self
            .finished
            .lock()
            .map(|f| f.0.contains(&(peer, id)))
            .unwrap_or(false)
        {
            return Err(Fault::Invalid(format!("replayed sync session {id}")));
        }
        if map.len() >= SESSIONS_TOTAL {
            return Err(Fault::Failed("too many open sync sessions".into()));
        }
        if map.keys().filter(|(p, _)| *p == peer).count() >= SESSIONS_PER_PEER {
            return Err(Fault::Invalid(format!(
                "more than {SESSIONS_PER_PEER} sync sessions open at once"
            )));
        }
        let r = Arc::new(AsyncMutex::new(Resp {
            session: Some(Session::responder(true).lazy()),
            queue: VecDeque::new(),
            used: Instant::now(),
            checked: false,
            touched: BTreeSet::new(),
        }));
        map.insert((peer, id), r.clone());
        Ok(r)
    }

    fn get(&self, peer: PeerId, id: u64) -> Option<Arc<AsyncMutex<Resp>>> {
        self.map.lock().ok()?.get(&(peer, id)).cloned()
    }

    fn close(&self, peer: PeerId, id: u64) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&(peer, id));
        }
        self.finish([(peer, id)]);
    }

    /// Remembers finished sessions, forgetting the oldest beyond [`FINISHED_KEPT`].
    fn finish(&self, keys: impl IntoIterator<Item = (PeerId, u64)>) {
        if let Ok(mut f) = self.finished.lock() {
            let (set, order) = &mut *f;
            for k in keys {
                if set.insert(k) {
                    order.push_back(k);
                }
            }
            while order.len() > FINISHED_KEPT {
                if let Some(old) = order.pop_front() {
                    set.remove(&old);
                }
            }
        }
    }

    /// Drops every session of `peer`.
    pub(crate) fn forget(&self, peer: &PeerId) {
        let mut gone = Vec::new();
        if let Ok(mut map) = self.map.lock() {
            map.retain(|k, _| {
                let keep = k.0 != *peer;
                if !keep {
                    gone.push(*k);
                }
                keep
            });
        }
        self.finish(gone);
    }

    /// Drops sessions idle longer than [`SESSION_IDLE`].
    pub(crate) fn expire(&self) {
        let mut gone = Vec::new();
        if let Ok(mut map) = self.map.lock() {
            map.retain(|k, r| {
                let keep = match r.try_lock() {
                    Ok(r) => r.used.elapsed() < SESSION_IDLE,
                    Err(_) => true,
                };
                if !keep {
                    gone.push(*k);
                }
                keep
            });
        }
        self.finish(gone);
    }

    /// Bytes of answers waiting in open sessions (sessions busy right now are skipped).
    pub(crate) fn queued_bytes(&self) -> usize {
        let Ok(map) = self.map.lock() else {
            return 0;
        };
        map.values()
            .filter_map(|r| {
                r.try_lock()
                    .ok()
                    .map(|r| r.queue.iter().map(Vec::len).sum::<usize>())
            })
            .sum()
    }

    /// Open sessions.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Answers an inbound request. A fault means the peer is to be dropped after the answer.
pub(crate) async fn respond(ctx: &Ctx, peer: PeerId, req: Request) -> (Response, Option<Fault>) {
    match respond_inner(ctx, peer, req).await {
        Ok(r) => (r, None),
        Err(f) => (Response::Refused(f.to_string()), Some(f)),
    }
}

async fn respond_inner(ctx: &Ctx, peer: PeerId, req: Request) -> Result<Response, Fault> {
    let expected = node_of(&peer).ok_or_else(|| Fault::Refused("not an ed25519 key".into()))?;
    match req {
        Request::Malformed(reason) => Err(Fault::Invalid(format!("malformed request: {reason}"))),
        Request::Join { secret } => super::join::answer(ctx, peer, expected, secret).await,
        Request::Snapshots { after } => serve_snapshots(ctx, expected, after).await,
        Request::Session { id, msgs } => {
            if ctx.responders.get(peer, id).is_none() {
                wait_for_fast_join(ctx).await;
            }
            let entry = ctx.responders.get_or_open(peer, id)?;
            let mut r = entry.lock().await;
            r.used = Instant::now();
            let result = feed(ctx, &mut r, &expected, msgs).await;
            if let Err(e) = result {
                ctx.responders.close(peer, id);
                return Err(e);
            }
            take(ctx, &mut r, peer, id).await
        }
        Request::Continue { id } => {
            let entry = ctx
                .responders
                .get(peer, id)
                .ok_or_else(|| Fault::Invalid(format!("continue of unknown session {id}")))?;
            let mut r = entry.lock().await;
            r.used = Instant::now();
            take(ctx, &mut r, peer, id).await
        }
        Request::Live { msgs } => {
            let mut out = Vec::new();
            for m in msgs {
                let now = ctx.node.now();
                let (o, received) = ctx
                    .node
                    .read(move |rep| {
                        let principal = rep.reader(&expected, now);
                        sync::on_message_deferred(rep, principal.as_ref(), &m)
                    })
                    .await?
                    .map_err(sync_fault)?;
                apply_chunked(ctx, received).await?;
                out.extend(o);
            }
            let mut queue: VecDeque<Vec<u8>> = out.into();
            let msgs = next_frame(&mut queue);
            // Whatever does not fit one frame comes with the next session.
            Ok(Response::Msgs { msgs, more: false })
        }
        Request::Personal { msgs } => {
            let [m] = <[Vec<u8>; 1]>::try_from(msgs).map_err(|m| {
                Fault::Invalid(format!(
                    "a personal exchange step of {} messages, not one",
                    m.len()
                ))
            })?;
            let step = Exchange::decode(&m).map_err(|e| Fault::Invalid(e.to_string()))?;
            let answer = answer_personal(ctx, expected, step).await?;
            Ok(Response::Msgs {
                msgs: vec![answer.encode()],
                more: false,
            })
        }
    }
}

/// Longest a peer's session waits for this node's fast join.
const FAST_JOIN_WAIT: Duration = Duration::from_secs(30);

/// A peer's new session to a node that may hold nothing yet waits until the fast joins
/// its own sessions started have finished (≤ [`FAST_JOIN_WAIT`]): otherwise the peer would
/// push every change through the session while the snapshots are on their way.
async fn wait_for_fast_join(ctx: &Ctx) {
    if !ctx.maybe_empty.load(Ordering::Acquire) {
        return;
    }
    let deadline = tokio::time::Instant::now() + FAST_JOIN_WAIT;
    loop {
        let done = ctx.fast_join_done.notified();
        if ctx.fast_join_pending.load(Ordering::Acquire) == 0 {
            return;
        }
        if tokio::time::timeout_at(deadline, done).await.is_err() {
            return;
        }
    }
}

/// Most documents a fast join takes from one peer.
const MAX_SNAPSHOTS: usize = 100_000;
/// Most bytes of snapshots a fast join takes from one peer (they are held until restored).
const MAX_SNAPSHOT_BYTES: usize = 1 << 30;

/// Answers a fast join's page: the documents after `after` (by id) that `peer` may receive
/// — the audience rule of sessions, never a provisional document — as snapshots, about
/// [`FRAME_TARGET`] of them (at least one), `more` while others follow. A document whose
/// snapshot does not fit a frame is left to sessions.
async fn serve_snapshots(ctx: &Ctx, peer: NodeId, after: Option<DocId>) -> Result<Response, Fault> {
    use std::ops::Bound;
    let now = ctx.node.now();
    let (msgs, more) = ctx
        .node
        .read(move |rep| {
            let Some(p) = rep.reader(&peer, now) else {
                return Err(Fault::Stranger(format!(
                    "key {} has no certificate chaining to this district's root",
                    peer.short()
                )));
            };
            let from = after.map_or(Bound::Unbounded, Bound::Excluded);
            let (mut out, mut size, mut more) = (Vec::new(), 0usize, false);
            for (id, d) in rep.docs().range((from, Bound::Unbounded)) {
                if rep.is_provisional(*id) || !sync::may_receive_doc(Some(&p), d) {
                    continue;
                }
                if size >= FRAME_TARGET {
                    more = true;
                    break;
                }
                let Ok((bytes, sigs)) = rep.snapshot_of(*id) else {
                    continue;
                };
                let entry = crate::fastjoin::PeerSnapshot {
                    doc: *id,
                    bytes,
                    sigs,
                }
                .encode();
                if size + entry.len() > super::codec::FRAME_LIMIT - 4096 {
                    if out.is_empty() {
                        // Too large for any frame: sessions bring it.
                        continue;
                    }
                    more = true;
                    break;
                }
                size += entry.len();
                out.push(entry);
            }
            Ok((out, more))
        })
        .await??;
    Ok(Response::Msgs { msgs, more })
}

/// Fast join with `peer` when this node holds nothing but federation documents (and no
/// other fast join runs): asks for its documents as snapshots, page after page, and
/// restores them provisionally (`Node::fast_join_import`). `None` when not wanted.
pub(crate) async fn fast_join(
    ctx: &Ctx,
    peer: PeerId,
) -> Result<Option<crate::fastjoin::FastJoinReport>, Fault> {
    if !ctx.fast_join {
        return Ok(None);
    }
    let source = node_of(&peer).ok_or_else(|| Fault::Refused("not an ed25519 key".into()))?;
    let empty = ctx
        .node
        .read(|rep| {
            rep.provisional().is_empty()
                && rep
                    .docs()
                    .values()
                    .all(|d| d.kind() == linli_core::DocKind::Federation)
        })
        .await?;
    if !empty {
        ctx.maybe_empty.store(false, Ordering::Release);
        return Ok(None);
    }
    if ctx.fast_joining.swap(true, Ordering::AcqRel) {
        return Ok(None);
    }
    let result = fast_join_pages(ctx, peer, source).await;
    ctx.fast_joining.store(false, Ordering::Release);
    result.map(Some)
}

async fn fast_join_pages(
    ctx: &Ctx,
    peer: PeerId,
    source: NodeId,
) -> Result<crate::fastjoin::FastJoinReport, Fault> {
    let mut after: Option<DocId> = None;
    let mut all = Vec::new();
    let mut bytes = 0usize;
    loop {
        let Response::Msgs { msgs, more } =
            request(ctx, peer, Request::Snapshots { after }).await?
        else {
            return Err(Fault::Failed("unexpected response".into()));
        };
        if msgs.is_empty() && more {
            return Err(Fault::Invalid(
                "an empty page of snapshots with more to come".into(),
            ));
        }
        for m in msgs {
            let s = crate::fastjoin::PeerSnapshot::decode(&m).map_err(Fault::Invalid)?;
            if after.is_some_and(|a| s.doc <= a) {
                return Err(Fault::Invalid(format!(
                    "snapshot of {} out of order",
                    s.doc.short()
                )));
            }
            after = Some(s.doc);
            bytes += s.bytes.len() + s.sigs.len();
            all.push(s);
        }
        if all.len() > MAX_SNAPSHOTS || bytes > MAX_SNAPSHOT_BYTES {
            return Err(Fault::Invalid(format!(
                "more than {MAX_SNAPSHOTS} documents or {MAX_SNAPSHOT_BYTES} bytes in a fast join"
            )));
        }
        if !more {
            break;
        }
    }
    if all.is_empty() {
        return Ok(crate::fastjoin::FastJoinReport::default());
    }
    Ok(ctx.node.fast_join_import(source, all).await?)
}

/// The records this node holds that `peer` may read now, by hex digest.
async fn personal_for(ctx: &Ctx, peer: NodeId) -> Result<BTreeMap<String, PersonalRecord>, Fault> {
    let now = ctx.node.now();
    Ok(ctx
        .node
        .read(move |rep| {
            rep.personal_for(&peer, now)
                .into_iter()
                .map(|r| (personal::digest_hex(r), r.clone()))
                .collect()
        })
        .await?)
}

/// Judges and stores records a peer sent; a forged one (bad signature, a signer that may
/// not write it, malformed data) is a fault of the peer. Records this node cannot judge yet
/// (their document has not arrived) or is not in the audience of are left out.
async fn take_personal(ctx: &Ctx, records: Vec<PersonalRecord>) -> Result<usize, Fault> {
    if records.is_empty() {
        return Ok(0);
    }
    let results = ctx.node.accept_personal(records).await?;
    let mut stored = 0;
    for r in results {
        match r {
            Ok(Accepted::Stored) => stored += 1,
            Ok(Accepted::Known) => {}
            Err(e) if e.is_forgery() => return Err(Fault::Invalid(e.to_string())),
            Err(e) => tracing::debug!("personal record left out: {e}"),
        }
    }
    Ok(stored)
}

/// The responder's side of the personal exchange.
async fn answer_personal(ctx: &Ctx, peer: NodeId, step: Exchange) -> Result<Exchange, Fault> {
    match step {
        Exchange::Summary { summary } => {
            let mine = personal_for(ctx, peer).await?;
            Ok(if personal::summary(mine.keys()) == summary {
                Exchange::Same
            } else {
                Exchange::Digests {
                    digests: mine.into_keys().collect(),
                }
            })
        }
        Exchange::Trade { want, push } => {
            take_personal(ctx, push).await?;
            let mut mine = personal_for(ctx, peer).await?;
            let records = want.iter().filter_map(|d| mine.remove(d)).collect();
            Ok(Exchange::Records { records })
        }
        other => Err(Fault::Invalid(format!(
            "a personal exchange step {:?} sent as a request",
            step_name(&other)
        ))),
    }
}

fn step_name(e: &Exchange) -> &'static str {
    match e {
        Exchange::Summary { .. } => "summary",
        Exchange::Same => "same",
        Exchange::Digests { .. } => "digests",
        Exchange::Trade { .. } => "trade",
        Exchange::Records { .. } => "records",
    }
}

async fn personal_step(ctx: &Ctx, peer: PeerId, step: Exchange) -> Result<Exchange, Fault> {
    let resp = request(
        ctx,
        peer,
        Request::Personal {
            msgs: vec![step.encode()],
        },
    )
    .await?;
    let Response::Msgs { msgs, .. } = resp else {
        return Err(Fault::Failed("unexpected response".into()));
    };
    let [m] = <[Vec<u8>; 1]>::try_from(msgs)
        .map_err(|_| Fault::Invalid("a personal exchange answer of several messages".into()))?;
    Exchange::decode(&m).map_err(|e| Fault::Invalid(e.to_string()))
}

/// Exchanges personal records with `peer`: each side gets what it lacks of the records the
/// other holds and it may read (its audience, judged by the side that sends). Returns the
/// number of records stored here.
pub(crate) async fn exchange_personal(ctx: &Ctx, peer: PeerId) -> Result<usize, Fault> {
    let them = node_of(&peer).ok_or_else(|| Fault::Refused("not an ed25519 key".into()))?;
    let mine = personal_for(ctx, them).await?;
    let summary = personal::summary(mine.keys());
    let theirs = match personal_step(ctx, peer, Exchange::Summary { summary }).await? {
        Exchange::Same => return Ok(0),
        Exchange::Digests { digests } => digests,
        other => {
            return Err(Fault::Invalid(format!(
                "answered a personal summary with {:?}",
                step_name(&other)
            )));
        }
    };
    let theirs: BTreeSet<String> = theirs.into_iter().collect();
    let want: Vec<String> = theirs
        .iter()
        .filter(|d| !mine.contains_key(*d))
        .cloned()
        .collect();
    let push: Vec<PersonalRecord> = mine
        .into_iter()
        .filter(|(d, _)| !theirs.contains(d))
        .map(|(_, r)| r)
        .collect();
    if want.is_empty() && push.is_empty() {
        return Ok(0);
    }
    let asked: BTreeSet<String> = want.iter().cloned().collect();
    let records = match personal_step(ctx, peer, Exchange::Trade { want, push }).await? {
        Exchange::Records { records } => records,
        other => {
            return Err(Fault::Invalid(format!(
                "answered a personal trade with {:?}",
                step_name(&other)
            )));
        }
    };
    if let Some(r) = records
        .iter()
        .find(|r| !asked.contains(&personal::digest_hex(r)))
    {
        return Err(Fault::Invalid(format!(
            "sent personal record {} that was not asked for",
            r.record
        )));
    }
    take_personal(ctx, records).await
}

async fn feed(ctx: &Ctx, r: &mut Resp, expected: &NodeId, msgs: Vec<Vec<u8>>) -> Result<(), Fault> {
    for m in msgs {
        let session = r
            .session
            .take()
            .ok_or_else(|| Fault::Invalid("message after the session ended".into()))?;
        let (s, out, received) = step(&ctx.node, session, m).await?;
        if !r.checked && s.peer().is_some() {
            check_peer(&s, expected)?;
            r.checked = true;
        }
        let mut s = s;
        let got = apply_chunked(ctx, received).await?;
        s.note_applied(got.applied, got.refused);
        r.touched.extend(got.touched);
        r.session = Some(s);
        r.queue.extend(out);
    }
    Ok(())
}

/// The next frame of the answer. The session's answer is read and encoded lazily, a frame
/// at a time, so an open session holds about one frame however much the peer asked for.
async fn take(ctx: &Ctx, r: &mut Resp, peer: PeerId, id: u64) -> Result<Response, Fault> {
    let queued: usize = r.queue.iter().map(Vec::len).sum();
    if queued < FRAME_TARGET
        && let Some(s) = r.session.take_if(|s| s.has_more_out())
    {
        let (s, more) = ctx
            .node
            .read(move |rep| {
                let mut s = s;
                let mut out = Vec::new();
                let mut size = queued;
                while size < FRAME_TARGET
                    && let Some(m) = s.next_out(rep)
                {
                    size += m.len();
                    out.push(m);
                }
                (s, out)
            })
            .await?;
        r.session = Some(s);
        r.queue.extend(more);
    }
    let msgs = next_frame(&mut r.queue);
    let more = !r.queue.is_empty() || r.session.as_ref().is_some_and(Session::has_more_out);
    let done = r.session.as_ref().is_none_or(Session::is_done);
    if done && !more {
        if let Some(s) = &r.session {
            let st = s.stats();
            ctx.metrics
                .bytes_in
                .fetch_add(st.bytes_in, Ordering::Relaxed);
            ctx.metrics
                .bytes_out
                .fetch_add(st.bytes_out, Ordering::Relaxed);
            ctx.metrics
                .sessions_answered
                .fetch_add(1, Ordering::Relaxed);
        }
        ctx.responders.close(peer, id);
    }
    Ok(Response::Msgs { msgs, more })
}

/// Live mode: pulls the announced heads of `doc` (and what was announced for the same
/// document meanwhile, merged). `pending.from` lists whom to ask, best first: the author,
/// then the peer that forwarded the announcement. A forwarding peer may not hold the
/// changes yet, so a pull that leaves heads missing is retried a few times with a growing
/// pause; whatever is still missing then comes with the next sync session. At most
/// [`MAX_PULLS`] documents are pulled at once; announcements of others wait for a session.
pub(crate) async fn pull(ctx: Ctx, doc: DocId, pending: Pending) {
    {
        let Ok(mut p) = ctx.pulling.lock() else {
            return;
        };
        if let Some(q) = p.get_mut(&doc) {
            match q {
                Some(q) => q.merge(pending.heads, pending.from, pending.source),
                None => *q = Some(pending),
            }
            return;
        }
        if p.len() >= MAX_PULLS {
            ctx.metrics
                .announcements_deferred
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        p.insert(doc, None);
    }
    let mut next = pending;
    loop {
        pull_with_retries(&ctx, doc, next).await;
        let Ok(mut p) = ctx.pulling.lock() else {
            return;
        };
        match p.get_mut(&doc).and_then(Option::take) {
            Some(n) => next = n,
            None => {
                p.remove(&doc);
                drop(p);
                // After the removal: a subscriber reading `pulls_pending` sees it.
                ctx.node.emit(crate::NodeEvent::PullEnded { doc });
                return;
            }
        }
    }
}

/// Pull attempts per announcement, and the first pause between them.
const PULL_TRIES: u32 = 5;
const PULL_PAUSE: Duration = Duration::from_millis(50);

async fn pull_with_retries(ctx: &Ctx, doc: DocId, pending: Pending) {
    let Pending {
        heads,
        mut from,
        source,
    } = pending;
    // Whether the author's empty answer is a broken announcement: an honest author holds
    // what it announced and serves a document we hold (a document we lack may be one we
    // may not receive, so nothing is concluded then).
    let held = ctx
        .node
        .read(move |rep| rep.header(doc).is_ok())
        .await
        .unwrap_or(false);
    for attempt in 0..PULL_TRIES {
        let mut i = 0;
        while i < from.len() {
            let peer = from[i];
            i += 1;
            match pull_one(ctx, doc, heads.clone(), peer).await {
                Ok(Pulled::All) => {
                    delivered(ctx, &peer);
                    personal_after_pull(ctx, peer);
                    return;
                }
                Ok(Pulled::Some) => {
                    delivered(ctx, &peer);
                    personal_after_pull(ctx, peer);
                }
                Ok(Pulled::Nothing) if held && Some(peer) == source => {
                    // Asked directly, the author sent nothing of what it announced.
                    from.retain(|p| *p != peer);
                    i -= 1;
                    broken_announcement(ctx, peer).await;
                }
                Ok(Pulled::Nothing) => {}
                Err(e) => {
                    tracing::debug!(%peer, doc = %doc.short(), "live pull failed: {e}");
                    if let Fault::Invalid(reason) = e {
                        let _ = ctx.cmd.send(Cmd::Drop { peer, reason }).await;
                    }
                }
            }
        }
        if from.is_empty() {
            return;
        }
        tokio::time::sleep(PULL_PAUSE * 2u32.pow(attempt)).await;
    }
}

/// After a pull brought changes from `peer`: personal data written with them (a booker, a
/// household) is asked for now, as their documents are here to judge it by.
fn personal_after_pull(ctx: &Ctx, peer: PeerId) {
    let ctx = ctx.clone();
    tokio::spawn(async move {
        match exchange_personal(&ctx, peer).await {
            Ok(_) => {}
            Err(Fault::Invalid(reason) | Fault::Refused(reason)) => {
                let _ = ctx.cmd.send(Cmd::Drop { peer, reason }).await;
            }
            Err(e) => tracing::debug!(%peer, "personal exchange failed: {e}"),
        }
    });
}

/// `peer` delivered changes: its broken announcements are forgiven.
fn delivered(ctx: &Ctx, peer: &PeerId) {
    if let Ok(mut b) = ctx.broken.lock() {
        b.remove(peer);
    }
}

/// Counts a broken announcement of `peer`; drops it at [`BROKEN_ANNOUNCEMENTS`].
async fn broken_announcement(ctx: &Ctx, peer: PeerId) {
    ctx.metrics
        .announcements_broken
        .fetch_add(1, Ordering::Relaxed);
    if let Some(node) = node_of(&peer) {
        ctx.node
            .emit(crate::NodeEvent::AnnouncementBroken { peer: node });
    }
    let n = {
        let Ok(mut b) = ctx.broken.lock() else {
            return;
        };
        // Bounded: only peers that broke announcements since they last delivered are kept.
        if b.len() >= 1024 && !b.contains_key(&peer) {
            b.clear();
        }
        let n = b.entry(peer).or_insert(0);
        *n += 1;
        let count = *n;
        if count >= BROKEN_ANNOUNCEMENTS {
            b.remove(&peer);
        }
        count
    };
    if n >= BROKEN_ANNOUNCEMENTS {
        let _ = ctx
            .cmd
            .send(Cmd::Drop {
                peer,
                reason: format!(
                    "announced changes it then did not deliver ({BROKEN_ANNOUNCEMENTS} times)"
                ),
            })
            .await;
    }
}

/// What one pull brought.
enum Pulled {
    /// Every announced head is held now.
    All,
    /// Some changes, not all announced heads.
    Some,
    /// No change at all.
    Nothing,
}

/// One pull from `from`.
async fn pull_one(
    ctx: &Ctx,
    doc: DocId,
    heads: Vec<ChangeHash>,
    from: PeerId,
) -> Result<Pulled, Fault> {
    let wanted = heads.clone();
    let msgs = ctx
        .node
        .read(move |rep| sync::pull(rep, doc, &heads))
        .await?;
    if msgs.is_empty() {
        return Ok(Pulled::All);
    }
    let resp = request(ctx, from, Request::Live { msgs }).await?;
    let Response::Msgs { msgs, .. } = resp else {
        return Ok(Pulled::Nothing);
    };
    let mut got = 0usize;
    for m in msgs {
        let (_, received) = ctx
            .node
            .read(move |rep| sync::on_message_deferred(rep, None, &m))
            .await?
            .map_err(sync_fault)?;
        got += received.len();
        apply_chunked(ctx, received).await?;
    }
    let all = ctx
        .node
        .read(move |rep| wanted.iter().all(|h| rep.has_change_in(doc, h)))
        .await?;
    Ok(if all {
        Pulled::All
    } else if got > 0 {
        Pulled::Some
    } else {
        Pulled::Nothing
    })
}
