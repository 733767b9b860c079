//! A district in simulation: linli-core's sans-I/O sync protocol (`Session`, `announce`,
//! `on_message`, `may_receive`) run between replicas of every node of a district, over a
//! simulated network with the topology, gossip and session schedule the node builds by
//! default (node/src/net). Simulated time, seeded; nothing sleeps.
//!
//! Run: `cargo bench -p linli-core --bench district` (the typical district of 275 nodes, the
//! 2,560-node stress case sampled, and the scaling sweeps; a few minutes on 2 cores).
//! `BENCH_LONG=1` runs every window a full simulated hour; `BENCH_SEED=n` changes the seed;
//! `BENCH_STRESS=0` skips the stress case, `BENCH_SWEEPS=0` the sweeps.
//!
//! The model (docs/BENCHMARKS.md, *A district in simulation*):
//! * nodes: the root (district office), 10 streets, 102 communities, units (163 typical,
//!   24 per community in the stress case); each node a `Replica` with its own key and a
//!   real certificate chain (root → street → community → unit) in the federation document;
//! * connections: as bootstrap lists build them — a street dials the root, a community its
//!   street, a unit its community (a tree; the demo's topology);
//! * sessions: each node starts one session with each connected peer every
//!   `sync_interval_secs` (default 120 s; its own phase), as the node's tick does; deferred
//!   initiator, lazy responder, changes applied with `Replica::receive_batch`;
//! * gossip: the root and the streets follow every street's topic, a community or unit only
//!   its own street's (`topics_of` in node/src/net), so an announcement reaches its own
//!   street's nodes and the relays above them. Gossipsub with the node's settings: flood publish by the
//!   author; forwarding to the mesh, which holds every peer while a node has at most
//!   `mesh_n_high` = 32, else 9 of them (redrawn every 60 s, prune backoff); lazy gossip
//!   (IHAVE to 6 non-mesh peers at each of the 3 heartbeats of 500 ms after receipt, IWANT
//!   back) to the others;
//! * live pulls: on an announcement whose heads are missing, the node asks the author if
//!   connected, then the forwarding peer; 5 tries with pauses of 50, 100, 200, 400 ms (as
//!   `session::pull_with_retries`); a session that brought changes announces them again;
//! * network: one-way latency 20 ms per hop plus bytes at 10 Mbit/s; processing takes no
//!   simulated time; framing: 150 B per request-response exchange (multistream, yamux,
//!   noise, codec), 170 B per gossip message (signed gossipsub envelope, topic, framing),
//!   80 B per IHAVE / IWANT;
//! * writes: the district's ≈ 1.7M changes a year (≈ 194 an hour; peaks 10×), Poisson: 61 %
//!   service records (ledger, by the community), 39 % room bookings (a request by a
//!   community of the street or a unit of the owner community, then the owner's
//!   confirmation); kitchen orders are modelled as bookings of community rooms.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::too_many_lines,
    clippy::cast_precision_loss
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use automerge::ChangeHash;
use linli_core::cert::{Principal, Role};
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules};
use linli_core::replica::{ChangeSource, DistrictConfig, NewDoc, Op, Replica};
use linli_core::resource::{BookingForm, BookingStatus, ResourceOp, ResourceSpec};
use linli_core::sync::{self, Session};
use linli_core::{Applied, DocId, NodeId, OrgId, SignedChange, Slot, Timestamp};

// --- heap counter ----------------------------------------------------------------------

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn heap() -> usize {
    LIVE.load(Ordering::Relaxed)
}

// --- model constants ---------------------------------------------------------------------

const HOP_MS: u64 = 20;
const BYTES_PER_MS: u64 = 1_250; // 10 Mbit/s
const EXCHANGE_OVERHEAD: u64 = 150;
const GOSSIP_OVERHEAD: u64 = 170;
const CONTROL_BYTES: u64 = 80;
const MESH_N_HIGH: usize = 32; // as the node (node/src/net/mod.rs)
const MESH_KEEP: usize = 9;
const GOSSIP_LAZY: usize = 6;
const HISTORY_GOSSIP: u64 = 3;
const HEARTBEAT_MS: u64 = 500;
const REMESH_MS: u64 = 60_000;
const PULL_TRIES: u32 = 5;
const PULL_PAUSE_MS: u64 = 50;
const CHANGES_PER_YEAR: f64 = 1_700_000.0;
const HOUR_MS: u64 = 3_600_000;

fn lat(bytes: u64) -> u64 {
    HOP_MS + bytes / BYTES_PER_MS
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}
fn key(s: &str) -> Keypair {
    Keypair::from_secret(blake3::hash(s.as_bytes()).as_bytes())
}
fn t0() -> Timestamp {
    Timestamp::parse("2026-12-01T08:00:00+08:00").unwrap()
}

// --- the district ------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Root,
    Street,
    Community,
    Unit,
}
impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Root => "root",
            Kind::Street => "street",
            Kind::Community => "community",
            Kind::Unit => "unit",
        }
    }
}
const KINDS: [Kind; 4] = [Kind::Root, Kind::Street, Kind::Community, Kind::Unit];

struct NodeInfo {
    kind: Kind,
    code: String,
    key: Keypair,
    parent: Option<usize>,
    street: usize,
    community: Option<usize>,
    peers: Vec<usize>,
    depth: u32,
}

#[derive(Clone)]
struct Cfg {
    label: String,
    communities: usize,
    streets: usize,
    units: usize,
    rooms: usize,
    /// Sampled fan-out: street 0's communities get this many units each, the other streets'
    /// communities none, and only the root and street 0's nodes are reported.
    sample_units: Option<usize>,
    interval_ms: u64,
    seed: u64,
    /// (name, simulated ms, writes per hour)
    windows: Vec<(&'static str, u64, f64)>,
}

#[derive(Debug)]
struct Src(HashMap<ChangeHash, SignedChange>);
impl ChangeSource for Src {
    fn load(&self, _doc: DocId, hashes: &[ChangeHash]) -> Result<Vec<SignedChange>, String> {
        hashes
            .iter()
            .map(|h| self.0.get(h).cloned().ok_or_else(|| "missing".to_string()))
            .collect()
    }
}

fn split(total: usize, parts: usize, i: usize) -> usize {
    (i + 1) * total / parts - i * total / parts
}

fn build_nodes(cfg: &Cfg) -> Vec<NodeInfo> {
    let mut ns = vec![NodeInfo {
        kind: Kind::Root,
        code: "heping".into(),
        key: key("heping"),
        parent: None,
        street: 0,
        community: None,
        peers: Vec::new(),
        depth: 0,
    }];
    let mut c_global = 0usize;
    let mut u_global = 0usize;
    for s in 0..cfg.streets {
        let si = ns.len();
        ns.push(NodeInfo {
            kind: Kind::Street,
            code: format!("s{s}"),
            key: key(&format!("s{s}")),
            parent: Some(0),
            street: si,
            community: None,
            peers: Vec::new(),
            depth: 1,
        });
        for _ in 0..split(cfg.communities, cfg.streets, s) {
            let ci = ns.len();
            let code = format!("c{c_global}");
            ns.push(NodeInfo {
                kind: Kind::Community,
                key: key(&code),
                code,
                parent: Some(si),
                street: si,
                community: Some(ci),
                peers: Vec::new(),
                depth: 2,
            });
            let units = match cfg.sample_units {
                Some(k) if s == 0 => k,
                Some(_) => 0,
                None => split(cfg.units, cfg.communities, c_global),
            };
            for _ in 0..units {
                let code = format!("u{u_global}");
                ns.push(NodeInfo {
                    kind: Kind::Unit,
                    key: key(&code),
                    code,
                    parent: Some(ci),
                    street: si,
                    community: Some(ci),
                    peers: Vec::new(),
                    depth: 3,
                });
                u_global += 1;
            }
            c_global += 1;
        }
    }
    for i in 0..ns.len() {
        if let Some(p) = ns[i].parent {
            ns[i].peers.push(p);
            ns[p].peers.push(i);
        }
    }
    ns
}

fn hops(ns: &[NodeInfo], mut a: usize, mut b: usize) -> u32 {
    let mut h = 0;
    while a != b {
        if ns[a].depth >= ns[b].depth {
            a = ns[a].parent.unwrap_or(a);
        } else {
            b = ns[b].parent.unwrap_or(b);
        }
        h += 1;
    }
    h
}

struct Fed {
    id: DocId,
    snapshot: Vec<u8>,
    accepted: Vec<(ChangeHash, SignedChange)>,
    src: Arc<Src>,
    changes: usize,
}

fn build_federation(ns: &[NodeInfo]) -> Fed {
    let root_id = ns[0].key.node_id();
    let from = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let until = Timestamp::parse("2028-01-01T00:00:00Z").unwrap();
    let mut root = Replica::new(ns[0].key.clone(), [0; 8], org("heping"), root_id);
    let fed = root
        .create(
            NewDoc::Federation {
                config: DistrictConfig::default(),
            },
            from,
        )
        .unwrap()
        .doc;
    let issue = |r: &mut Replica, n: &NodeInfo, role: Role, parent: Option<&str>| {
        r.execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject: n.key.node_id(),
                role,
                org: org(&n.code),
                parent: parent.map(org),
                name: n.code.clone(),
                not_before: from,
                not_after: until,
            }),
            from,
        )
        .unwrap();
    };
    for n in ns.iter().filter(|n| n.kind == Kind::Street) {
        issue(&mut root, n, Role::Street, None);
    }
    let base = root.changes(fed, &[]).unwrap();
    let mut all = base.clone();
    // Each street certifies its communities, each community its units (real chains).
    let mut street_changes: HashMap<usize, Vec<SignedChange>> = HashMap::new();
    for (si, s) in ns
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == Kind::Street)
    {
        let mut r = Replica::new(s.key.clone(), [1; 8], org(&s.code), root_id);
        for c in &base {
            r.apply(c.clone()).unwrap();
        }
        for c in ns
            .iter()
            .filter(|c| c.kind == Kind::Community && c.parent == Some(si))
        {
            issue(&mut r, c, Role::Community, Some(&s.code));
        }
        let sid = s.key.node_id();
        let own: Vec<SignedChange> = r
            .changes(fed, &[])
            .unwrap()
            .into_iter()
            .filter(|c| c.signer == sid)
            .collect();
        all.extend(own.iter().cloned());
        street_changes.insert(si, own);
    }
    for (ci, c) in ns
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == Kind::Community)
    {
        let mut r = Replica::new(c.key.clone(), [1; 8], org(&c.code), root_id);
        for ch in base.iter().chain(&street_changes[&c.street]) {
            r.apply(ch.clone()).unwrap();
        }
        for u in ns
            .iter()
            .filter(|u| u.kind == Kind::Unit && u.parent == Some(ci))
        {
            issue(&mut r, u, Role::Unit, Some(&c.code));
        }
        let cid = c.key.node_id();
        all.extend(
            r.changes(fed, &[])
                .unwrap()
                .into_iter()
                .filter(|x| x.signer == cid),
        );
    }
    let mut full = Replica::new(ns[0].key.clone(), [0; 8], org("heping"), root_id);
    let genesis_and_rest = all.len();
    for r in full.receive_batch(all) {
        r.unwrap();
    }
    let accepted: Vec<(ChangeHash, SignedChange)> = full
        .changes(fed, &[])
        .unwrap()
        .into_iter()
        .map(|c| (c.change_hash().unwrap(), c))
        .collect();
    assert_eq!(accepted.len(), genesis_and_rest, "federation incomplete");
    let src = Arc::new(Src(accepted.iter().cloned().collect()));
    Fed {
        id: fed,
        snapshot: full.doc(fed).unwrap().save(),
        changes: accepted.len(),
        accepted,
        src,
    }
}

fn node_replica(n: &NodeInfo, fed: &Fed, root: NodeId, inc: u8) -> Replica {
    let mut r = Replica::new(n.key.clone(), [inc; 8], org(&n.code), root);
    r.set_source(fed.src.clone());
    let prep = Replica::load_snapshot(fed.id, &fed.snapshot)
        .unwrap()
        .prepare_lazy(fed.accepted.clone())
        .unwrap();
    r.restore_prepared(prep);
    r
}

// --- the simulation ----------------------------------------------------------------------

enum Ev {
    Tick(usize),
    Flight {
        sess: usize,
        to_init: bool,
        msgs: Vec<Vec<u8>>,
    },
    Gossip {
        to: usize,
        from: usize,
        ann: usize,
    },
    Ihave {
        to: usize,
        from: usize,
        ann: usize,
    },
    PullReq {
        pull: usize,
        peer: usize,
        msg: Vec<u8>,
    },
    PullResp {
        pull: usize,
        msgs: Vec<Vec<u8>>,
    },
    PullRetry(usize),
    Write,
    Remesh,
}

struct Sess {
    a: usize,
    b: usize,
    sa: Session,
    sb: Session,
    touched_a: BTreeSet<DocId>,
    touched_b: BTreeSet<DocId>,
}

struct Ann {
    doc: DocId,
    /// The street whose topic carries it (the document's street).
    street: usize,
    heads: Vec<ChangeHash>,
    source: usize,
    size: u64,
}

struct Pull {
    node: usize,
    doc: DocId,
    heads: Vec<ChangeHash>,
    from: Vec<usize>,
    source: usize,
    attempt: u32,
    idx: usize,
    held: bool,
}

struct WriteRec {
    at: u64,
    hash: ChangeHash,
    waiting: HashSet<usize>,
    receivers: usize,
    delays: Vec<u64>,
    ideal_max: u64,
    size: u64,
    done_at: Option<u64>,
}

#[derive(Default, Clone)]
struct Traffic {
    /// bytes sent + received by category: sessions, gossip, pulls
    bytes: [u64; 3],
    /// messages sent + received (protocol messages, gossip messages, control)
    msgs: [u64; 3],
    /// request-response exchanges taken part in
    exchanges: u64,
}

#[derive(Clone, Copy)]
enum WKind {
    Service,
    Request,
    Confirm,
}

struct Doc {
    id: DocId,
    owner: usize,
    receivers: Vec<usize>,
    next_slot: u32,
}

struct World {
    ns: Vec<NodeInfo>,
    rs: Vec<Replica>,
    principals: Vec<Option<Principal>>,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    evs: HashMap<usize, Ev>,
    next_ev: usize,
    interval: u64,
    phase: Vec<u64>,
    syncing: HashSet<(usize, usize)>,
    sessions: HashMap<usize, Sess>,
    next_sess: usize,
    anns: Vec<Ann>,
    seen: Vec<HashSet<usize>>,
    mesh: Vec<Vec<usize>>,
    pulls: HashMap<usize, Pull>,
    pulling: HashMap<(usize, DocId), usize>,
    next_pull: usize,
    writes: Vec<WriteRec>,
    open_writes: HashMap<DocId, Vec<usize>>,
    docs: Vec<Doc>,
    /// Each document's street (its topic).
    doc_street: HashMap<DocId, usize>,
    ledgers: Vec<usize>,
    rooms: Vec<usize>,
    traffic: Vec<Traffic>,
    rng: Rng,
    rate_per_hour: f64,
    writes_until: u64,
    raw_bytes_needed: u64,
    sessions_run: u64,
    sessions_failed: u64,
    pulls_started: u64,
    pull_requests: u64,
    broken: u64,
    deliveries_by_pull: u64,
    deliveries_by_session: u64,
    write_failures: u64,
}

fn ts(ms: u64) -> Timestamp {
    Timestamp(t0().0 + ms as i64)
}

impl World {
    fn at(&mut self, when: u64, ev: Ev) {
        let id = self.next_ev;
        self.next_ev += 1;
        self.evs.insert(id, ev);
        self.seq += 1;
        self.queue.push(Reverse((when, self.seq, id)));
    }

    fn count(&mut self, from: usize, to: usize, cat: usize, bytes: u64, msgs: u64) {
        for n in [from, to] {
            self.traffic[n].bytes[cat] += bytes;
            self.traffic[n].msgs[cat] += msgs;
        }
    }

    fn exchange(&mut self, a: usize, b: usize, cat: usize) {
        self.count(a, b, cat, EXCHANGE_OVERHEAD, 0);
        self.traffic[a].exchanges += 1;
        self.traffic[b].exchanges += 1;
    }

    fn run_until(&mut self, end: u64) {
        while let Some(Reverse((when, _, id))) = self.queue.peek().copied() {
            if when > end {
                break;
            }
            self.queue.pop();
            self.now = when;
            let Some(ev) = self.evs.remove(&id) else {
                continue;
            };
            self.handle(ev);
        }
        self.now = end;
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Tick(n) => {
                for p in self.ns[n].peers.clone() {
                    self.start_session(n, p);
                }
                let next = self.now + self.interval;
                self.at(next, Ev::Tick(n));
            }
            Ev::Flight {
                sess,
                to_init,
                msgs,
            } => self.flight(sess, to_init, msgs),
            Ev::Gossip { to, from, ann } => self.gossip(to, from, ann),
            Ev::Ihave { to, from, ann } => {
                if !self.seen[to].contains(&ann) {
                    let size = self.anns[ann].size;
                    self.count(to, from, 1, CONTROL_BYTES, 1);
                    self.count(from, to, 1, size, 1);
                    let when = self.now + lat(CONTROL_BYTES) + lat(size);
                    self.at(when, Ev::Gossip { to, from, ann });
                }
            }
            Ev::PullReq { pull, peer, msg } => {
                let Some(p) = self.pulls.get(&pull) else {
                    return;
                };
                let node = p.node;
                let (out, _) =
                    sync::on_message_deferred(&self.rs[peer], self.principals[node].as_ref(), &msg)
                        .unwrap_or_default();
                let bytes: u64 = out.iter().map(|m| m.len() as u64).sum();
                self.count(peer, node, 2, bytes, out.len() as u64);
                let when = self.now + lat(bytes + EXCHANGE_OVERHEAD / 2);
                self.at(when, Ev::PullResp { pull, msgs: out });
            }
            Ev::PullResp { pull, msgs } => self.pull_resp(pull, msgs),
            Ev::PullRetry(pull) => self.pull_next(pull),
            Ev::Write => {
                self.write();
                let gap = -(1.0 - self.rng.unit()).ln() * HOUR_MS as f64 / self.rate_per_hour;
                let next = self.now + gap as u64 + 1;
                if next < self.writes_until {
                    self.at(next, Ev::Write);
                }
            }
            Ev::Remesh => {
                self.remesh();
                let next = self.now + REMESH_MS;
                self.at(next, Ev::Remesh);
            }
        }
    }

    fn remesh(&mut self) {
        for n in 0..self.ns.len() {
            let peers = &self.ns[n].peers;
            if peers.len() <= MESH_N_HIGH {
                self.mesh[n] = peers.clone();
                continue;
            }
            let mut pool = peers.clone();
            let mut m = Vec::new();
            if let Some(p) = self.ns[n].parent {
                m.push(p);
                pool.retain(|x| *x != p);
            }
            while m.len() < MESH_KEEP && !pool.is_empty() {
                let i = self.rng.below(pool.len() as u64) as usize;
                m.push(pool.swap_remove(i));
            }
            self.mesh[n] = m;
        }
    }

    // --- sessions

    fn start_session(&mut self, a: usize, b: usize) {
        if !self.syncing.insert((a, b)) {
            return;
        }
        let mut sa = Session::initiator(true);
        let msgs = sa.start(&self.rs[a], ts(self.now));
        let id = self.next_sess;
        self.next_sess += 1;
        self.sessions.insert(
            id,
            Sess {
                a,
                b,
                sa,
                sb: Session::responder(true).lazy(),
                touched_a: BTreeSet::new(),
                touched_b: BTreeSet::new(),
            },
        );
        self.send_flight(id, a, b, false, msgs);
    }

    fn send_flight(
        &mut self,
        sess: usize,
        from: usize,
        to: usize,
        to_init: bool,
        msgs: Vec<Vec<u8>>,
    ) {
        let bytes: u64 = msgs.iter().map(|m| m.len() as u64).sum();
        self.count(from, to, 0, bytes, msgs.len() as u64);
        if !to_init {
            // A request (its response, possibly empty, carries the exchange's other half).
            self.exchange(from, to, 0);
        }
        let when = self.now + lat(bytes + EXCHANGE_OVERHEAD / 2);
        self.at(
            when,
            Ev::Flight {
                sess,
                to_init,
                msgs,
            },
        );
    }

    /// Runs one step of a session side; returns its messages, or None on failure.
    fn step(
        rs: &mut [Replica],
        node: usize,
        s: &mut Session,
        m: &[u8],
        now: u64,
        touched: &mut BTreeSet<DocId>,
    ) -> Option<(Vec<Vec<u8>>, Vec<DocId>)> {
        let r = &mut rs[node];
        let (mut out, received) = s.handle_deferred(r, m, ts(now)).ok()?;
        let docs: Vec<DocId> = received.iter().map(|c| c.doc).collect();
        let mut applied = 0;
        let mut refused = 0;
        let mut got = Vec::new();
        for (d, res) in docs.iter().zip(r.receive_batch(received)) {
            match res {
                Ok(Applied::Applied(h)) => {
                    applied += h.len() as u64;
                    touched.insert(*d);
                    got.push(*d);
                }
                Ok(_) => {}
                Err(_) => refused += 1,
            }
        }
        s.note_applied(applied, refused);
        out.extend(s.settle(r));
        while s.has_more_out() {
            out.extend(s.next_out(r));
        }
        Some((out, got))
    }

    fn flight(&mut self, id: usize, to_init: bool, msgs: Vec<Vec<u8>>) {
        let Some(mut s) = self.sessions.remove(&id) else {
            return;
        };
        let (node, peer) = if to_init { (s.a, s.b) } else { (s.b, s.a) };
        let mut out = Vec::new();
        let mut failed = false;
        let mut got_docs = Vec::new();
        for m in &msgs {
            let (sess, touched) = if to_init {
                (&mut s.sa, &mut s.touched_a)
            } else {
                (&mut s.sb, &mut s.touched_b)
            };
            match Self::step(&mut self.rs, node, sess, m, self.now, touched) {
                Some((o, g)) => {
                    out.extend(o);
                    got_docs.extend(g);
                }
                None => {
                    failed = true;
                    break;
                }
            }
        }
        for d in got_docs {
            self.delivered(node, d, false);
        }
        if failed {
            self.sessions_failed += 1;
            self.syncing.remove(&(s.a, s.b));
            return;
        }
        if !to_init && s.sb.is_done() {
            let t = std::mem::take(&mut s.touched_b);
            self.announce_docs(s.b, t);
        }
        let a_done = s.sa.is_done();
        if !out.is_empty() {
            self.send_flight(id, node, peer, !to_init, out);
        }
        if to_init && a_done {
            self.sessions_run += 1;
            self.syncing.remove(&(s.a, s.b));
            let t = std::mem::take(&mut s.touched_a);
            self.announce_docs(s.a, t);
            if !s.sb.is_done() {
                self.sessions.insert(id, s);
            }
            return;
        }
        if !(s.sa.is_done() && s.sb.is_done()) {
            self.sessions.insert(id, s);
        }
    }

    // --- gossip and pulls

    fn announce_docs(&mut self, n: usize, docs: BTreeSet<DocId>) {
        for d in docs {
            self.publish(n, d);
        }
    }

    /// Whether node `n` follows street `street`'s topic, as `topics_of` in node/src/net
    /// decides: the root and the streets (the tree's relays) follow every street, a
    /// community or unit its own.
    fn follows(&self, n: usize, street: usize) -> bool {
        matches!(self.ns[n].kind, Kind::Root | Kind::Street) || self.ns[n].street == street
    }

    fn followers(&self, n: usize, street: usize) -> Vec<usize> {
        self.ns[n]
            .peers
            .iter()
            .copied()
            .filter(|p| self.follows(*p, street))
            .collect()
    }

    fn publish(&mut self, n: usize, doc: DocId) {
        let Some(data) = sync::announce(&self.rs[n], doc) else {
            return;
        };
        let heads = self.rs[n].heads(doc).unwrap_or_default();
        let size = data.len() as u64 + GOSSIP_OVERHEAD;
        let ann = self.anns.len();
        let street = self.doc_street.get(&doc).copied().unwrap_or(0);
        self.anns.push(Ann {
            doc,
            street,
            heads,
            source: n,
            size,
        });
        self.seen[n].insert(ann);
        // Flood publish: to every connected peer that follows the topic.
        for p in self.followers(n, street) {
            self.count(n, p, 1, size, 1);
            let when = self.now + lat(size);
            self.at(
                when,
                Ev::Gossip {
                    to: p,
                    from: n,
                    ann,
                },
            );
        }
    }

    fn gossip(&mut self, to: usize, from: usize, ann: usize) {
        if !self.seen[to].insert(ann) {
            return; // duplicate: gossipsub drops it
        }
        let (size, source, street) = (
            self.anns[ann].size,
            self.anns[ann].source,
            self.anns[ann].street,
        );
        for p in self.mesh[to].clone() {
            if p != from && p != source && self.follows(p, street) {
                self.count(to, p, 1, size, 1);
                let when = self.now + lat(size);
                self.at(
                    when,
                    Ev::Gossip {
                        to: p,
                        from: to,
                        ann,
                    },
                );
            }
        }
        if self.ns[to].peers.len() > MESH_N_HIGH {
            let others: Vec<usize> = self.ns[to]
                .peers
                .iter()
                .copied()
                .filter(|p| {
                    !self.mesh[to].contains(p)
                        && *p != from
                        && *p != source
                        && self.follows(*p, street)
                })
                .collect();
            let ph = self.phase[to] % HEARTBEAT_MS;
            let first = (self.now.saturating_sub(ph) / HEARTBEAT_MS + 1) * HEARTBEAT_MS + ph;
            for k in 0..HISTORY_GOSSIP {
                let mut pool = others.clone();
                for _ in 0..GOSSIP_LAZY.min(pool.len()) {
                    let i = self.rng.below(pool.len() as u64) as usize;
                    let p = pool.swap_remove(i);
                    self.count(to, p, 1, CONTROL_BYTES, 1);
                    let when = first + k * HEARTBEAT_MS + lat(CONTROL_BYTES);
                    self.at(
                        when,
                        Ev::Ihave {
                            to: p,
                            from: to,
                            ann,
                        },
                    );
                }
            }
        }
        // The node: pull the document if the announced heads are new here.
        let doc = self.anns[ann].doc;
        let heads = self.anns[ann].heads.clone();
        let mut peers = Vec::new();
        if source != from && self.ns[to].peers.contains(&source) {
            peers.push(source);
        }
        peers.push(from);
        if let Some(&pid) = self.pulling.get(&(to, doc)) {
            if let Some(p) = self.pulls.get_mut(&pid) {
                for h in heads {
                    if !p.heads.contains(&h) && p.heads.len() < 64 {
                        p.heads.push(h);
                    }
                }
                for x in peers {
                    if !p.from.contains(&x) && p.from.len() < 4 {
                        p.from.push(x);
                    }
                }
            }
            return;
        }
        if heads.iter().all(|h| self.rs[to].has_change(h)) {
            return;
        }
        let pid = self.next_pull;
        self.next_pull += 1;
        self.pulls_started += 1;
        let held = self.rs[to].header(doc).is_ok();
        self.pulls.insert(
            pid,
            Pull {
                node: to,
                doc,
                heads,
                from: peers,
                source,
                attempt: 0,
                idx: 0,
                held,
            },
        );
        self.pulling.insert((to, doc), pid);
        self.pull_next(pid);
    }

    fn pull_end(&mut self, pid: usize) {
        if let Some(p) = self.pulls.remove(&pid) {
            self.pulling.remove(&(p.node, p.doc));
        }
    }

    fn pull_next(&mut self, pid: usize) {
        let Some(p) = self.pulls.get_mut(&pid) else {
            return;
        };
        if p.idx >= p.from.len() {
            if p.attempt + 1 >= PULL_TRIES {
                self.pull_end(pid);
                return;
            }
            let pause = PULL_PAUSE_MS << p.attempt;
            p.attempt += 1;
            p.idx = 0;
            let when = self.now + pause;
            self.at(when, Ev::PullRetry(pid));
            return;
        }
        let peer = p.from[p.idx];
        p.idx += 1;
        let (node, doc, heads) = (p.node, p.doc, p.heads.clone());
        let msgs = sync::pull(&self.rs[node], doc, &heads);
        let Some(msg) = msgs.into_iter().next() else {
            self.pull_end(pid);
            return;
        };
        self.pull_requests += 1;
        self.count(node, peer, 2, msg.len() as u64, 1);
        self.exchange(node, peer, 2);
        let when = self.now + lat(msg.len() as u64 + EXCHANGE_OVERHEAD / 2);
        self.at(
            when,
            Ev::PullReq {
                pull: pid,
                peer,
                msg,
            },
        );
    }

    fn pull_resp(&mut self, pid: usize, msgs: Vec<Vec<u8>>) {
        let Some(p) = self.pulls.get(&pid) else {
            return;
        };
        let (node, doc, source, held) = (p.node, p.doc, p.source, p.held);
        let peer = p.from.get(p.idx.wrapping_sub(1)).copied();
        let mut got = 0usize;
        for m in &msgs {
            let Ok((_, received)) = sync::on_message_deferred(&self.rs[node], None, m) else {
                continue;
            };
            for r in self.rs[node].receive_batch(received).into_iter().flatten() {
                if let Applied::Applied(h) = r {
                    got += h.len();
                }
            }
        }
        if got > 0 {
            self.delivered(node, doc, true);
        }
        let Some(p) = self.pulls.get_mut(&pid) else {
            return;
        };
        if p.heads.iter().all(|h| self.rs[node].has_change(h)) {
            self.pull_end(pid);
            return;
        }
        if got == 0 && held && peer == Some(source) {
            self.broken += 1;
            p.from.retain(|x| *x != source);
            p.idx = p.idx.saturating_sub(1);
            if p.from.is_empty() {
                self.pull_end(pid);
                return;
            }
        }
        self.pull_next(pid);
    }

    // --- writes and delivery

    fn delivered(&mut self, node: usize, doc: DocId, by_pull: bool) {
        let Some(list) = self.open_writes.get(&doc) else {
            return;
        };
        let mut closed = Vec::new();
        for &w in list {
            let rec = &mut self.writes[w];
            if rec.waiting.contains(&node) && self.rs[node].has_change(&rec.hash) {
                rec.waiting.remove(&node);
                rec.delays.push(self.now - rec.at);
                if by_pull {
                    self.deliveries_by_pull += 1;
                } else {
                    self.deliveries_by_session += 1;
                }
                if rec.waiting.is_empty() {
                    rec.done_at = Some(self.now);
                    closed.push(w);
                }
            }
        }
        if !closed.is_empty()
            && let Some(list) = self.open_writes.get_mut(&doc)
        {
            list.retain(|w| !closed.contains(w));
        }
    }

    fn write(&mut self) {
        let roll = self.rng.unit();
        let kind = if roll < 0.61 {
            WKind::Service
        } else if self.rng.below(2) == 0 {
            WKind::Request
        } else {
            WKind::Confirm
        };
        let now = ts(self.now);
        let (di, writer, op) = match kind {
            WKind::Service => {
                let di = self.ledgers[self.rng.below(self.ledgers.len() as u64) as usize];
                let owner = self.docs[di].owner;
                let v = 1 + self.rng.below(1700);
                let op = Op::Ledger(LedgerOp::RecordService {
                    volunteer: format!("{}:{v}", self.ns[owner].code).parse().unwrap(),
                    activity: "patrol".into(),
                    team: None,
                    date: jiff::civil::date(2026, 11, 1),
                    hours: 1.0,
                    evidence: None,
                });
                (di, owner, op)
            }
            WKind::Request | WKind::Confirm => {
                let di = self.rooms[self.rng.below(self.rooms.len() as u64) as usize];
                let owner = self.docs[di].owner;
                let tentative = if matches!(kind, WKind::Confirm) {
                    self.rs[owner]
                        .resource(self.docs[di].id)
                        .ok()
                        .and_then(|r| {
                            r.bookings()
                                .into_iter()
                                .filter(|b| b.status == BookingStatus::Tentative)
                                .map(|b| b.id)
                                .next()
                        })
                } else {
                    None
                };
                if let Some(b) = tentative {
                    (di, owner, Op::Resource(ResourceOp::Confirm { booking: b }))
                } else {
                    // A community of the street or a unit of the owner community.
                    let street = self.ns[owner].street;
                    let cands: Vec<usize> = (0..self.ns.len())
                        .filter(|&n| {
                            (self.ns[n].kind == Kind::Community && self.ns[n].street == street)
                                || (self.ns[n].kind == Kind::Unit
                                    && self.ns[n].community == Some(owner))
                        })
                        .filter(|&n| self.rs[n].header(self.docs[di].id).is_ok())
                        .collect();
                    let who = if cands.is_empty() {
                        owner
                    } else {
                        cands[self.rng.below(cands.len() as u64) as usize]
                    };
                    let k = self.docs[di].next_slot;
                    self.docs[di].next_slot += 1;
                    let start = Timestamp::parse("2027-01-04T08:00:00+08:00").unwrap().0
                        + i64::from(k / 12) * Timestamp::DAY
                        + i64::from(k % 12) * Timestamp::HOUR;
                    let slot =
                        Slot::new(Timestamp(start), Timestamp(start + Timestamp::HOUR)).unwrap();
                    let form = BookingForm::new("Li Ming", "meeting", slot, 5);
                    (di, who, Op::Resource(ResourceOp::Request(form)))
                }
            }
        };
        let doc = self.docs[di].id;
        let Ok(written) = self.rs[writer].execute(doc, op, now) else {
            self.write_failures += 1;
            return;
        };
        let sc = written.change;
        let hash = sc.change_hash().unwrap();
        let waiting: HashSet<usize> = self.docs[di]
            .receivers
            .iter()
            .copied()
            .filter(|&n| n != writer)
            .collect();
        let ideal_max = waiting
            .iter()
            .map(|&n| u64::from(hops(&self.ns, writer, n)) * HOP_MS)
            .max()
            .unwrap_or(0);
        let size = sc.change.len() as u64;
        self.raw_bytes_needed += size * waiting.len() as u64;
        let w = self.writes.len();
        self.writes.push(WriteRec {
            at: self.now,
            hash,
            receivers: waiting.len(),
            waiting,
            delays: Vec::new(),
            ideal_max,
            size,
            done_at: None,
        });
        self.open_writes.entry(doc).or_default().push(w);
        self.publish(writer, doc);
    }
}

fn pct(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

struct WindowReport {
    name: &'static str,
    ms: u64,
    rate: f64,
    traffic: Vec<Traffic>,
    writes: usize,
    raw_needed: u64,
    all_p50: u64,
    all_p99: u64,
    each_p50: u64,
    each_p99: u64,
    ideal_p50: u64,
    ideal_p99: u64,
    incomplete: usize,
    sessions: u64,
    pulls: u64,
    pull_requests: u64,
    by_pull: u64,
    by_session: u64,
}

struct Outcome {
    n: usize,
    /// Nodes reported (all, or the root and street 0's nodes when sampled).
    sampled: Vec<bool>,
    windows: Vec<WindowReport>,
    kinds: Vec<Kind>,
    fed_changes: usize,
    fed_heap_per_node: f64,
    heap_per_change: f64,
    held_changes: u64,
    held_bytes: u64,
    receivers_share: [f64; 4],
    docs: usize,
    secs: f64,
    warm_ms: u64,
}

fn simulate(cfg: &Cfg) -> Outcome {
    let started = Instant::now();
    let ns = build_nodes(cfg);
    let n = ns.len();
    let fed = build_federation(&ns);
    let root_id = ns[0].key.node_id();
    let h0 = heap();
    let rs: Vec<Replica> = ns
        .iter()
        .enumerate()
        .map(|(i, x)| node_replica(x, &fed, root_id, (i % 200) as u8 + 1))
        .collect();
    let fed_heap_per_node = heap().saturating_sub(h0) as f64 / n as f64;
    let principals: Vec<Option<Principal>> = ns
        .iter()
        .map(|x| rs[0].principal(&x.key.node_id(), ts(0)).ok())
        .collect();
    let mut w = World {
        rs,
        principals,
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        evs: HashMap::new(),
        next_ev: 0,
        interval: cfg.interval_ms,
        phase: Vec::new(),
        syncing: HashSet::new(),
        sessions: HashMap::new(),
        next_sess: 0,
        anns: Vec::new(),
        seen: vec![HashSet::new(); n],
        mesh: vec![Vec::new(); n],
        doc_street: HashMap::new(),
        pulls: HashMap::new(),
        pulling: HashMap::new(),
        next_pull: 0,
        writes: Vec::new(),
        open_writes: HashMap::new(),
        docs: Vec::new(),
        ledgers: Vec::new(),
        rooms: Vec::new(),
        traffic: vec![Traffic::default(); n],
        rng: Rng(cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
        rate_per_hour: 1.0,
        writes_until: 0,
        raw_bytes_needed: 0,
        sessions_run: 0,
        sessions_failed: 0,
        pulls_started: 0,
        pull_requests: 0,
        broken: 0,
        deliveries_by_pull: 0,
        deliveries_by_session: 0,
        write_failures: 0,
        ns,
    };
    // Documents: each community's registry, ledger, rooms and wishes, created by it.
    for c in 0..n {
        if w.ns[c].kind != Kind::Community {
            continue;
        }
        let street = org(&w.ns[w.ns[c].street].code);
        let community = org(&w.ns[c].code);
        let mut new_docs = vec![
            (
                NewDoc::Registry {
                    street: street.clone(),
                    community: community.clone(),
                    title: "registry".into(),
                },
                false,
                false,
            ),
            (
                NewDoc::Ledger {
                    street: street.clone(),
                    community: community.clone(),
                    year: 2026,
                    rules: LedgerRules::default(),
                },
                true,
                false,
            ),
            (
                NewDoc::Wishes {
                    street: street.clone(),
                    community: community.clone(),
                    title: "wishes".into(),
                },
                false,
                false,
            ),
        ];
        for r in 0..cfg.rooms {
            new_docs.push((
                NewDoc::Resource {
                    street: street.clone(),
                    community: Some(community.clone()),
                    spec: ResourceSpec::room(&format!("room {r}"), 30),
                },
                false,
                true,
            ));
        }
        for (nd, ledger, room) in new_docs {
            let id = w.rs[c].create(nd, ts(0)).unwrap().doc;
            let h = w.rs[c].header(id).unwrap().clone();
            let receivers: Vec<usize> = (0..n)
                .filter(|&x| sync::may_receive(w.principals[x].as_ref(), &h))
                .collect();
            let di = w.docs.len();
            w.doc_street.insert(id, w.ns[c].street);
            w.docs.push(Doc {
                id,
                owner: c,
                receivers,
                next_slot: 0,
            });
            if ledger {
                w.ledgers.push(di);
            }
            if room {
                w.rooms.push(di);
            }
        }
    }
    let mut share = [0.0f64; 4];
    for (k, kind) in KINDS.iter().enumerate() {
        let members = w.ns.iter().filter(|x| x.kind == *kind).count().max(1) as f64;
        // Weighted by the write mix: 61 % ledgers, 39 % rooms.
        let avg = |list: &[usize], w: &World| {
            list.iter()
                .map(|&d| {
                    w.docs[d]
                        .receivers
                        .iter()
                        .filter(|&&r| w.ns[r].kind == *kind)
                        .count() as f64
                })
                .sum::<f64>()
                / list.len().max(1) as f64
        };
        share[k] = (0.61 * avg(&w.ledgers, &w) + 0.39 * avg(&w.rooms, &w)) / members;
    }
    // Every node starts its tick at its own phase; connections come up at once.
    w.phase = (0..n).map(|_| w.rng.below(cfg.interval_ms)).collect();
    w.remesh();
    w.at(REMESH_MS, Ev::Remesh);
    for i in 0..n {
        // Periodic sessions, each node at its own phase (the connect sessions fall in the
        // warm-up, which is not measured).
        let p = w.phase[i];
        w.at(p, Ev::Tick(i));
    }
    // Warm-up: the documents' genesis reaches everyone; until every receiver holds them.
    let mut warm = 0u64;
    loop {
        warm += cfg.interval_ms;
        w.run_until(warm);
        let missing = w
            .docs
            .iter()
            .flat_map(|d| d.receivers.iter().map(move |&r| (d.id, r)))
            .filter(|(id, r)| w.rs[*r].header(*id).is_err())
            .count();
        if missing == 0 || warm > 20 * cfg.interval_ms {
            break;
        }
    }
    let heap_before_writes = heap();
    let held_before: u64 =
        w.rs.iter()
            .map(|r| w.docs.iter().map(|d| r.logged(d.id) as u64).sum::<u64>())
            .sum();
    let mut windows = Vec::new();
    for &(name, ms, rate) in &cfg.windows {
        // Reset counters.
        for t in &mut w.traffic {
            *t = Traffic::default();
        }
        let first_write = w.writes.len();
        let start = w.now;
        w.raw_bytes_needed = 0;
        let (s0, p0, r0, bp0, bs0) = (
            w.sessions_run,
            w.pulls_started,
            w.pull_requests,
            w.deliveries_by_pull,
            w.deliveries_by_session,
        );
        if rate > 0.0 {
            w.rate_per_hour = rate;
            w.writes_until = start + ms;
            w.at(start + 1, Ev::Write);
        }
        w.run_until(start + ms);
        let traffic = w.traffic.clone();
        let raw_needed = w.raw_bytes_needed;
        let sessions = w.sessions_run - s0;
        let (pulls, pull_requests) = (w.pulls_started - p0, w.pull_requests - r0);
        // Drain: no new writes; let the last ones arrive (bytes not counted).
        let mut drained = 0;
        while w.writes[first_write..].iter().any(|x| x.done_at.is_none())
            && drained < 4 * cfg.interval_ms
        {
            drained += cfg.interval_ms / 2;
            let until = w.now + cfg.interval_ms / 2;
            w.run_until(until);
        }
        let ws = &w.writes[first_write..];
        let mut all: Vec<u64> = ws
            .iter()
            .filter_map(|x| x.done_at.map(|d| d - x.at))
            .collect();
        let mut each: Vec<u64> = ws.iter().flat_map(|x| x.delays.iter().copied()).collect();
        let mut ideal: Vec<u64> = ws.iter().map(|x| x.ideal_max).collect();
        windows.push(WindowReport {
            name,
            ms,
            rate,
            traffic,
            writes: ws.len(),
            raw_needed,
            all_p50: pct(&mut all, 0.5),
            all_p99: pct(&mut all, 0.99),
            each_p50: pct(&mut each, 0.5),
            each_p99: pct(&mut each, 0.99),
            ideal_p50: pct(&mut ideal.clone(), 0.5),
            ideal_p99: pct(&mut ideal, 0.99),
            incomplete: ws.iter().filter(|x| x.done_at.is_none()).count(),
            sessions,
            pulls,
            pull_requests,
            by_pull: w.deliveries_by_pull - bp0,
            by_session: w.deliveries_by_session - bs0,
        });
    }
    let held_after: u64 =
        w.rs.iter()
            .map(|r| w.docs.iter().map(|d| r.logged(d.id) as u64).sum::<u64>())
            .sum();
    let held_bytes: u64 = w
        .writes
        .iter()
        .map(|x| x.size * (x.receivers as u64 + 1))
        .sum();
    let grown = heap().saturating_sub(heap_before_writes) as f64;
    let new_held = held_after.saturating_sub(held_before).max(1);
    let sampled =
        w.ns.iter()
            .map(|x| cfg.sample_units.is_none() || x.kind == Kind::Root || x.street == 1)
            .collect();
    Outcome {
        n,
        sampled,
        kinds: w.ns.iter().map(|x| x.kind).collect(),
        windows,
        fed_changes: fed.changes,
        fed_heap_per_node,
        heap_per_change: grown / new_held as f64,
        held_changes: new_held,
        held_bytes,
        receivers_share: share,
        docs: w.docs.len(),
        secs: started.elapsed().as_secs_f64(),
        warm_ms: warm,
    }
}

// --- reporting ---------------------------------------------------------------------------

fn per_hour(x: u64, ms: u64) -> f64 {
    x as f64 * HOUR_MS as f64 / ms as f64
}

fn kb(x: f64) -> String {
    if x >= 10_000_000.0 {
        format!("{:.1} MB", x / 1e6)
    } else {
        format!("{:.1} KB", x / 1e3)
    }
}

fn role_avg(o: &Outcome, w: &WindowReport, k: Kind, f: impl Fn(&Traffic) -> u64) -> f64 {
    let v: Vec<f64> = o
        .kinds
        .iter()
        .zip(&w.traffic)
        .zip(&o.sampled)
        .filter(|((kk, _), s)| **kk == k && **s)
        .map(|((_, t), _)| per_hour(f(t), w.ms))
        .collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn report(cfg: &Cfg, o: &Outcome) {
    println!(
        "\n### {} — {} nodes, {} documents, session interval {} s, seed {}",
        cfg.label,
        o.n,
        o.docs,
        cfg.interval_ms / 1000,
        cfg.seed
    );
    println!(
        "built and simulated in {:.1} s (wall); federation document {} changes; warm-up {} s simulated",
        o.secs,
        o.fed_changes,
        o.warm_ms / 1000
    );
    println!(
        "\n| window | simulated | writes | sessions | pulls (requests) | reached by pull / by session | write → every receiver p50 / p99 | per receiver p50 / p99 | ideal push (hops × {HOP_MS} ms) p50 / p99 | ratio p50 / p99 | unfinished |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for w in &o.windows {
        println!(
            "| {} ({:.0}/h) | {} s | {} | {} | {} ({}) | {} / {} | {:.2} / {:.2} s | {:.2} / {:.2} s | {} / {} ms | {} | {} |",
            w.name,
            w.rate,
            w.ms / 1000,
            w.writes,
            w.sessions,
            w.pulls,
            w.pull_requests,
            w.by_pull,
            w.by_session,
            w.all_p50 as f64 / 1e3,
            w.all_p99 as f64 / 1e3,
            w.each_p50 as f64 / 1e3,
            w.each_p99 as f64 / 1e3,
            w.ideal_p50,
            w.ideal_p99,
            if w.writes > 0 && w.ideal_p50 > 0 {
                format!(
                    "{:.1}× / {:.1}×",
                    w.all_p50 as f64 / w.ideal_p50 as f64,
                    w.all_p99 as f64 / w.ideal_p99.max(1) as f64
                )
            } else {
                "—".into()
            },
            w.incomplete
        );
    }
    println!(
        "\nPer node per hour (bytes and messages sent + received; sessions / gossip / pulls; exchanges = request-response round trips):\n"
    );
    println!(
        "| window | role | nodes | bytes/h | of which sessions / gossip / pulls | messages/h | exchanges/h | bytes vs raw change bytes that had to move |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for w in &o.windows {
        let total: u64 = w.traffic.iter().map(|t| t.bytes.iter().sum::<u64>()).sum();
        // Every byte is counted at both ends: half the sum is what crossed the wire.
        let wire = total / 2;
        let ratio = if w.raw_needed > 0 {
            format!("{:.1}×", wire as f64 / w.raw_needed as f64)
        } else {
            "—".into()
        };
        for k in KINDS {
            let members = o
                .kinds
                .iter()
                .zip(&o.sampled)
                .filter(|(x, s)| **x == k && **s)
                .count();
            if members == 0 {
                continue;
            }
            let b = role_avg(o, w, k, |t| t.bytes.iter().sum());
            let parts: Vec<String> = (0..3)
                .map(|i| kb(role_avg(o, w, k, |t| t.bytes[i])))
                .collect();
            println!(
                "| {} | {} | {} | {} | {} | {:.0} | {:.0} | |",
                w.name,
                k.name(),
                members,
                kb(b),
                parts.join(" / "),
                role_avg(o, w, k, |t| t.msgs.iter().sum()),
                role_avg(o, w, k, |t| t.exchanges),
            );
        }
        let reported = o.sampled.iter().filter(|s| **s).count();
        let all = per_hour(
            w.traffic
                .iter()
                .zip(&o.sampled)
                .filter(|(_, s)| **s)
                .map(|(t, _)| t.bytes.iter().sum::<u64>())
                .sum(),
            w.ms,
        ) / reported as f64;
        println!(
            "| {} | **every node reported** | {} | **{}** | | | | {} (district: wire {} / raw {}) |",
            w.name,
            reported,
            kb(all),
            ratio,
            kb(per_hour(wire, w.ms)),
            kb(per_hour(w.raw_needed, w.ms))
        );
    }
    println!(
        "\nMemory: the federation document ({} certificates' changes) costs {} per node (heap, lazy change log); each change held costs {:.0} B of heap ({} changes held by the writes, whose raw bytes were {:.0} B each on average: {:.1}×).",
        o.fed_changes,
        kb(o.fed_heap_per_node),
        o.heap_per_change,
        o.held_changes,
        o.held_bytes as f64 / o.held_changes.max(1) as f64,
        o.heap_per_change / (o.held_bytes as f64 / o.held_changes.max(1) as f64).max(1.0)
    );
    println!(
        "\n| role | share of the district's writes it receives | changes a year (1.7M × share) | estimated heap after a year (federation + changes × B/change) |"
    );
    println!("|---|---|---|---|");
    for (i, k) in KINDS.iter().enumerate() {
        let c = CHANGES_PER_YEAR * o.receivers_share[i];
        println!(
            "| {} | {:.2} % | {:.0} | {} |",
            k.name(),
            o.receivers_share[i] * 100.0,
            c,
            kb(o.fed_heap_per_node + c * o.heap_per_change)
        );
    }
}

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn sampled_sum(o: &Outcome, w: &WindowReport) -> f64 {
    let n = o.sampled.iter().filter(|s| **s).count().max(1) as f64;
    per_hour(
        w.traffic
            .iter()
            .zip(&o.sampled)
            .filter(|(_, s)| **s)
            .map(|(t, _)| t.bytes.iter().sum::<u64>())
            .sum(),
        w.ms,
    ) / n
}

/// Heap of one replica holding the federation document of a district of `units` units.
fn federation_memory(units: usize) -> (usize, usize, f64, f64) {
    let started = Instant::now();
    let cfg = Cfg {
        label: String::new(),
        streets: 10,
        communities: 102,
        units,
        rooms: 4,
        sample_units: None,
        interval_ms: 120_000,
        seed: 1,
        windows: Vec::new(),
    };
    let ns = build_nodes(&cfg);
    let fed = build_federation(&ns);
    let h0 = heap();
    let r = node_replica(&ns[ns.len() - 1], &fed, ns[0].key.node_id(), 1);
    let per = heap().saturating_sub(h0) as f64;
    drop(r);
    (ns.len(), fed.changes, per, started.elapsed().as_secs_f64())
}

fn main() {
    let long = env("BENCH_LONG").is_some_and(|x| x > 0);
    let seed = env("BENCH_SEED").unwrap_or(1);
    let mean = CHANGES_PER_YEAR / 8_766.0;
    let min = 60_000;
    let typical = Cfg {
        label: "Typical district (DOMAIN.md §5)".into(),
        streets: 10,
        communities: 102,
        units: 163,
        rooms: 4,
        sample_units: None,
        interval_ms: 120_000,
        seed,
        windows: if long {
            vec![
                ("idle", 60 * min, 0.0),
                ("mean", 60 * min, mean),
                ("peak", 60 * min, 10.0 * mean),
            ]
        } else {
            vec![
                ("idle", 2 * min, 0.0),
                ("mean", 5 * min, mean),
                ("peak", 3 * min, 10.0 * mean),
            ]
        },
    };
    println!(
        "linli district simulation (simulated time; one-way latency {HOP_MS} ms per hop + 10 Mbit/s; write rate mean {mean:.0}/h, peak {:.0}/h)",
        10.0 * mean
    );
    let o = simulate(&typical);
    report(&typical, &o);

    if env("BENCH_STRESS") != Some(0) {
        let stress = Cfg {
            label: "Stress district, sampled: street 0 with 24 units per community, the other 9 streets' communities without units".into(),
            sample_units: Some(24),
            windows: if long {
                vec![("idle", 60 * min, 0.0), ("peak", 60 * min, 10.0 * mean)]
            } else {
                vec![("idle", min, 0.0), ("peak", 3 * min, 10.0 * mean)]
            },
            ..typical.clone()
        };
        let o = simulate(&stress);
        report(&stress, &o);
    }

    if env("BENCH_SWEEPS") != Some(0) {
        let short = |ms: u64| vec![("idle", min, 0.0), ("peak", ms, 10.0 * mean)];
        println!(
            "\n## Sweeps (peak rate; one parameter varied, the rest typical; ratios against the group's first row)"
        );
        println!(
            "\n| parameter | nodes simulated | docs | idle bytes/node/h | peak bytes/node/h (write-driven part scaled to the rate's expected writes) | community node peak bytes/h | street node peak bytes/h | root peak bytes/h | peak bytes/node/h vs first row | write → every receiver p50 / p99 | wall s |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        let mut rows: Vec<(&str, String, Cfg)> = Vec::new();
        for sec in [120u64, 30, 10] {
            rows.push((
                "interval",
                format!("session interval {sec} s"),
                Cfg {
                    label: String::new(),
                    interval_ms: sec * 1000,
                    windows: short((2 * min).max(2 * sec * 1000)),
                    ..typical.clone()
                },
            ));
        }
        for k in [2usize, 12, 24] {
            rows.push((
                "fanout",
                format!("{k} units per community (street 0, sampled)"),
                Cfg {
                    label: String::new(),
                    sample_units: Some(k),
                    windows: short(2 * min),
                    ..typical.clone()
                },
            ));
        }
        for r in [4usize, 16] {
            rows.push((
                "catalog",
                format!("{r} rooms per community"),
                Cfg {
                    label: String::new(),
                    rooms: r,
                    windows: short(2 * min),
                    ..typical.clone()
                },
            ));
        }
        let mut base: Option<f64> = None;
        let mut group = "";
        for (g, label, cfg) in rows {
            if g != group {
                group = g;
                base = None;
            }
            let o = simulate(&cfg);
            let (idle, peak) = (&o.windows[0], &o.windows[1]);
            // Short windows hold a Poisson number of writes: the write-driven part is scaled
            // to the rate's expected count (idle part + (peak - idle) × expected / actual).
            let expected = peak.rate * peak.ms as f64 / HOUR_MS as f64;
            let scale = expected / (peak.writes.max(1) as f64);
            let norm = |i: f64, p: f64| i + (p - i) * scale;
            let role = |k: Kind| {
                norm(
                    role_avg(&o, idle, k, |t| t.bytes.iter().sum()),
                    role_avg(&o, peak, k, |t| t.bytes.iter().sum()),
                )
            };
            let per_node = norm(sampled_sum(&o, idle), sampled_sum(&o, peak));
            let b = *base.get_or_insert(per_node);
            println!(
                "| {label} | {} | {} | {} | {} | {} | {} | {} | {:.2}× | {:.2} / {:.2} s | {:.0} |",
                o.n,
                o.docs,
                kb(sampled_sum(&o, idle)),
                kb(per_node),
                kb(role(Kind::Community)),
                kb(role(Kind::Street)),
                kb(role(Kind::Root)),
                per_node / b,
                peak.all_p50 as f64 / 1e3,
                peak.all_p99 as f64 / 1e3,
                o.secs
            );
        }
    }

    if env("BENCH_STRESS") != Some(0) {
        println!("\n## Federation document memory per node (one replica measured)");
        println!(
            "\n| district | certificates' changes | heap per node | of which per certificate | build s |"
        );
        println!("|---|---|---|---|---|");
        for units in [163usize, 2_448] {
            let (n, ch, per, secs) = federation_memory(units);
            println!(
                "| {n} nodes | {ch} | {} | {:.0} B | {secs:.0} |",
                kb(per),
                per / ch as f64
            );
        }
    }
}
