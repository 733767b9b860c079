//! Memory per document (not a test): the heap that an open `Node` holds per document,
//! against the same documents held as plain `automerge::Automerge` values, measured in the
//! same run by a counting global allocator installed in this binary.
//!
//! `cargo bench -p linli-node --bench memory`. Environment: `BENCH_DOCS` documents
//! (default 1,000), a mix of ledgers, rooms, registries and wish boards of 75 changes on
//! average, written by a certified community node and received by the node under test
//! through `Node::apply_batch` (durability Normal, a snapshot every 32 accepted changes).
//!
//! Measured: live heap bytes after `Node::open` returned minus before (the node alive), and
//! the peak during the open; once restoring from snapshots + log tail, once after the
//! snapshots were deleted (full replay, which is what a store with the default
//! `snapshot_every` of 1,000 holds for documents of this size). Baseline: `Automerge::load`
//! of every document's saved bytes (`Document::save`), all kept alive. The counter sees
//! Rust allocations only (requested sizes, without malloc's own overhead); SQLite allocates
//! with C `malloc`, so its page cache is reported separately (`sqlite3_memory_used`).
//!
//! Working set: the same store opened keeping `BENCH_WORKING_SET` + 1 documents in memory
//! (default 50 + the federation document; `[store] resident_documents`), then that many
//! documents read once: the heap held against automerge holding all D documents and against
//! automerge holding only those in use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use automerge::Automerge;
use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules};
use linli_core::registry::{ChecklistTemplate, Compound, ManagementMode, RegistryOp};
use linli_core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli_core::wishes::{Channel, ItemKind, Stage, WishesOp};
use linli_core::{
    DistrictConfig, DocId, DocKind, Document, Effect, NewDoc, Op, OrgId, Replica, SignedChange,
    Slot, Timestamp,
};
use linli_node::{Durability, InitOptions, Node, OpenOptions, files};

// --- The counting allocator --------------------------------------------------------------

/// `System`, counting live bytes (as requested), live allocations and the peak of live bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static GLOBAL: Counting = Counting;

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCS.fetch_sub(1, Ordering::Relaxed);
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// Live heap: bytes and allocations.
#[derive(Clone, Copy)]
struct Heap {
    bytes: usize,
    allocs: usize,
}

fn heap() -> Heap {
    Heap {
        bytes: LIVE.load(Ordering::Relaxed),
        allocs: ALLOCS.load(Ordering::Relaxed),
    }
}

/// Starts a new peak window at the current live bytes.
fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Waits until the live heap stops changing: a node's actor thread answers `shutdown` before
/// it drops the replica, so the previous node may still be freeing memory.
fn settle() {
    let mut last = LIVE.load(Ordering::Relaxed);
    let mut still = 0;
    while still < 3 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = LIVE.load(Ordering::Relaxed);
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
}

/// Bytes SQLite holds from its own (C) allocator, outside the counter.
fn sqlite_heap() -> i64 {
    // SAFETY: a plain read of SQLite's global memory statistics; no arguments.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}

/// What one measured open held.
struct Held {
    /// Live heap before the open.
    before: usize,
    bytes: usize,
    allocs: usize,
    peak: usize,
    sqlite: i64,
    node: Node,
}

/// Opens the store in `dir` keeping at most `resident` documents in memory and measures the
/// heap it holds once `Node::open` returned.
async fn open_measured(dir: &Path, resident: usize) -> Held {
    let opts = OpenOptions {
        durability: Durability::Normal,
        check_integrity: true,
        resident_documents: resident,
        ..OpenOptions::default()
    };
    settle();
    let sqlite_before = sqlite_heap();
    let before = heap();
    reset_peak();
    let node = Node::open(dir, opts).await.unwrap();
    let after = heap();
    Held {
        before: before.bytes,
        bytes: after.bytes - before.bytes,
        allocs: after.allocs - before.allocs,
        peak: peak() - before.bytes,
        sqlite: sqlite_heap() - sqlite_before,
        node,
    }
}

// --- The documents -----------------------------------------------------------------------

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Deterministic sizes (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
}

fn date(day: usize) -> jiff::civil::Date {
    jiff::civil::Date::new(2026, 1, 1)
        .unwrap()
        .checked_add(jiff::Span::new().days(day as i64))
        .unwrap()
}

const STREET: &str = "beishi";
const COMMUNITY: &str = "dianye";

/// A yearly service ledger: genesis + 40–160 service records.
fn ledger(w: &mut Replica, rng: &mut Rng, now: Timestamp) -> DocId {
    let doc = w
        .create(
            NewDoc::Ledger {
                street: org(STREET),
                community: org(COMMUNITY),
                year: 2026,
                rules: LedgerRules::default(),
            },
            now,
        )
        .unwrap()
        .doc;
    for i in 0..rng.range(40, 160) {
        let team = [
            "elder care",
            "security patrol",
            "shared bikes",
            "reading club",
        ][i % 4];
        w.execute(
            doc,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: format!("dianye:{}", rng.range(1, 1700)).parse().unwrap(),
                activity: format!("{team} duty"),
                team: Some(team.into()),
                date: date(rng.range(0, 364)),
                hours: rng.range(1, 8) as f64 * 0.5,
                evidence: (i % 3 == 0).then(|| "duty photo in group chat".into()),
            }),
            now,
        )
        .unwrap();
    }
    doc
}

/// An activity room: genesis + 15–45 booking requests, each confirmed, one in ten cancelled.
fn room(w: &mut Replica, rng: &mut Rng, now: Timestamp, n: usize) -> DocId {
    let mut spec = ResourceSpec::room(&format!("Dianye activity room {n}"), 60);
    spec.area_m2 = Some(rng.range(40, 565) as u32);
    let doc = w
        .create(
            NewDoc::Resource {
                street: org(STREET),
                community: Some(org(COMMUNITY)),
                spec,
            },
            now,
        )
        .unwrap()
        .doc;
    let groups = [
        "reading club",
        "choir",
        "calligraphy",
        "chess club",
        "elder care",
    ];
    for i in 0..rng.range(15, 45) {
        // One booking a day from 2 January on, so confirmed slots never overlap.
        let day = date(i + 1);
        let slot = Slot::new(
            at(&format!("{day}T18:00:00+08:00")),
            at(&format!("{day}T20:00:00+08:00")),
        )
        .unwrap();
        let group = groups[rng.range(0, groups.len() - 1)];
        let form = BookingForm::new(
            "Li Wei",
            &format!("{group} weekly session"),
            slot,
            rng.range(5, 40) as u32,
        )
        .with_organisation(group)
        .with_contact("138-0000-0000");
        let Effect::Booking(booking) = w
            .execute(doc, Op::Resource(ResourceOp::Request(form)), now)
            .unwrap()
            .effect
        else {
            panic!("a request makes a booking")
        };
        w.execute(
            doc,
            Op::Resource(ResourceOp::Confirm {
                booking: booking.clone(),
            }),
            now,
        )
        .unwrap();
        if i % 10 == 9 {
            w.execute(
                doc,
                Op::Resource(ResourceOp::Cancel {
                    booking,
                    reason: "group on holiday".into(),
                }),
                now,
            )
            .unwrap();
        }
    }
    doc
}

/// A compound registry: genesis + 4–12 compounds, each updated once and inspected 2–4 times.
fn registry(w: &mut Replica, rng: &mut Rng, now: Timestamp, n: usize) -> DocId {
    let doc = w
        .create(
            NewDoc::Registry {
                street: org(STREET),
                community: org(COMMUNITY),
                title: format!("Dianye compound registry {n}"),
            },
            now,
        )
        .unwrap()
        .doc;
    let modes = [
        ManagementMode::PropertyFirm,
        ManagementMode::GuaranteeFirm,
        ManagementMode::PropertyRightsUnit,
        ManagementMode::SelfManaged,
        ManagementMode::Unmanaged,
    ];
    for c in 0..rng.range(4, 12) {
        let mut compound = Compound::new(
            &format!("compound {c}"),
            &format!("{} Dianye road", rng.range(1, 300)),
            rng.range(157, 600) as u32,
            modes[c % modes.len()].clone(),
        );
        let Effect::Compound(id) = w
            .execute(
                doc,
                Op::Registry(RegistryOp::AddCompound(compound.clone())),
                now,
            )
            .unwrap()
            .effect
        else {
            panic!("adding makes a compound")
        };
        compound.year_built = Some(1975 + rng.range(0, 40) as i16);
        w.execute(
            doc,
            Op::Registry(RegistryOp::UpdateCompound {
                id: id.clone(),
                compound,
            }),
            now,
        )
        .unwrap();
        for k in 0..rng.range(2, 4) {
            let results = (1..=7)
                .flat_map(|i| [format!("h{i}"), format!("n{i}")])
                .map(|item| (item, !rng.next().is_multiple_of(5)))
                .collect();
            w.execute(
                doc,
                Op::Registry(RegistryOp::Inspect {
                    compound: id.clone(),
                    date: date(30 * k + 10),
                    results,
                    note: "quarterly walk-through with the building heads".into(),
                }),
                now,
            )
            .unwrap();
        }
    }
    doc
}

/// A wish board: genesis + 10–30 posts; six in ten wishes are claimed, assigned, fulfilled
/// and confirmed.
fn wishes(w: &mut Replica, rng: &mut Rng, now: Timestamp, n: usize) -> DocId {
    let doc = w
        .create(
            NewDoc::Wishes {
                street: org(STREET),
                community: org(COMMUNITY),
                title: format!("Dianye micro-wishes {n}"),
            },
            now,
        )
        .unwrap()
        .doc;
    for i in 0..rng.range(10, 30) {
        let Effect::Wish(wish) = w
            .execute(
                doc,
                Op::Wishes(WishesOp::Post {
                    kind: ItemKind::Wish,
                    title: format!("wish {i}: fix the stairwell light"),
                    text: "The light in stairwell 2 has been out for a week; elderly residents \
                           use their phones to see the steps."
                        .into(),
                    category: "repairs".into(),
                    channel: Channel::HomeVisit,
                    place: Some(format!("building {}", rng.range(1, 12))),
                    resident: None,
                }),
                now,
            )
            .unwrap()
            .effect
        else {
            panic!("posting makes a wish")
        };
        if rng.next() % 10 >= 6 {
            continue;
        }
        let Effect::Claim(claim) = w
            .execute(
                doc,
                Op::Wishes(WishesOp::Claim {
                    wish: wish.clone(),
                    volunteer: Some(format!("dianye:{}", rng.range(1, 1700)).parse().unwrap()),
                    note: "can do it on Saturday".into(),
                }),
                now,
            )
            .unwrap()
            .effect
        else {
            panic!("claiming makes a claim")
        };
        let steps = [
            Op::Wishes(WishesOp::Assign {
                wish: wish.clone(),
                claim,
            }),
            Op::Wishes(WishesOp::Advance {
                wish: wish.clone(),
                stage: Stage::Fulfilled {
                    note: "new bulb fitted".into(),
                },
            }),
            Op::Wishes(WishesOp::Advance {
                wish,
                stage: Stage::Confirmed,
            }),
        ];
        for op in steps {
            w.execute(doc, op, now).unwrap();
        }
    }
    doc
}

fn dir_size(d: &Path) -> u64 {
    std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Bytes per document, printed with thousands separators.
fn per(total: f64, d: usize) -> String {
    let v = (total / d as f64).round() as i64;
    let s = v.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0 { format!("-{out}") } else { out }
}

async fn run() {
    let d = env("BENCH_DOCS", 1000).max(1);
    let started = Instant::now();

    // The district: the root certifies the node under test and a writer, both of dianye.
    let rk = Keypair::from_secret(&[0xAA; 32]);
    let mut root = Replica::new(rk.clone(), [0; 8], org("heping"), rk.node_id());
    let t0 = at("2020-01-01T00:00:00Z");
    let fed = root
        .create(
            NewDoc::Federation {
                config: DistrictConfig {
                    checklist: ChecklistTemplate::synthetic_7_7("heping-2026"),
                    ..DistrictConfig::default()
                },
            },
            t0,
        )
        .unwrap()
        .doc;
    let node_secret = [1u8; 32];
    let writer_key = Keypair::from_secret(&[2u8; 32]);
    for subject in [
        Keypair::from_secret(&node_secret).node_id(),
        writer_key.node_id(),
    ] {
        root.execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject,
                role: Role::Community,
                org: org(COMMUNITY),
                parent: Some(org(STREET)),
                name: "dianye node".into(),
                not_before: t0,
                not_after: at("2100-01-01T00:00:00Z"),
            }),
            t0,
        )
        .unwrap();
    }
    let fed_changes = root.changes(fed, &[]).unwrap();

    // The content: D documents of mixed kinds (in every 20: 8 ledgers, 5 rooms, 3 registries
    // and 4 wish boards).
    let mut writer = Replica::new(writer_key, [2; 8], org(COMMUNITY), rk.node_id());
    for c in &fed_changes {
        writer.apply(c.clone()).unwrap();
    }
    let now = at("2026-01-01T08:00:00+08:00");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    let docs: Vec<DocId> = (0..d)
        .map(|n| {
            let (kind, doc) = match n % 20 {
                0..8 => ("ledger", ledger(&mut writer, &mut rng, now)),
                8..13 => ("room", room(&mut writer, &mut rng, now, n)),
                13..16 => ("registry", registry(&mut writer, &mut rng, now, n)),
                _ => ("wishes", wishes(&mut writer, &mut rng, now, n)),
            };
            *kinds.entry(kind).or_default() += 1;
            doc
        })
        .collect();
    let per_doc: Vec<Vec<SignedChange>> = docs
        .iter()
        .map(|doc| writer.changes(*doc, &[]).unwrap())
        .collect();
    drop(writer);
    let total_changes: usize = per_doc.iter().map(Vec::len).sum();
    let change_bytes: usize = per_doc
        .iter()
        .flatten()
        .map(|c| c.change.len())
        .sum::<usize>();
    let envelope_bytes: usize = per_doc
        .iter()
        .flatten()
        .map(|c| c.encode().len())
        .sum::<usize>();
    println!(
        "memory per document: D = {d} documents ({}), {total_changes} changes ({:.1} per document)",
        kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        total_changes as f64 / d as f64
    );

    // The store: the node receives the changes as from a peer, interleaved across documents.
    let dir = tempfile::tempdir().unwrap();
    let mut init = InitOptions::new(org(COMMUNITY), rk.node_id());
    init.secret = Some(node_secret);
    let build = OpenOptions {
        durability: Durability::Normal,
        snapshot_every: 32,
        ..OpenOptions::default()
    };
    let node = Node::init(dir.path(), init, build.clone()).await.unwrap();
    for r in node.apply_batch(fed_changes.clone()).await.unwrap() {
        r.unwrap();
    }
    // The stream's heap is what holding every change as a `SignedChange` costs.
    let before_stream = heap();
    let mut stream: Vec<SignedChange> = Vec::with_capacity(total_changes);
    let longest = per_doc.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for changes in &per_doc {
            if let Some(c) = changes.get(i) {
                stream.push(c.clone());
            }
        }
    }
    let signed_heap = heap().bytes - before_stream.bytes;
    drop(per_doc);
    // A linli-core `Replica` alone (no node, no store) that applies the same changes.
    let before = heap();
    let mut bare = Replica::new(
        Keypair::from_secret(&[3u8; 32]),
        [3; 8],
        org(COMMUNITY),
        rk.node_id(),
    );
    for c in fed_changes.iter().chain(&stream) {
        bare.apply(c.clone()).unwrap();
    }
    let replica_heap = heap().bytes - before.bytes;
    assert_eq!(
        bare.docs().len(),
        d + 1,
        "the bare replica holds every document"
    );
    let bare_changes: usize = bare
        .docs()
        .keys()
        .map(|id| bare.changes(*id, &[]).unwrap().len())
        .sum();
    assert_eq!(
        bare_changes,
        total_changes + fed_changes.len(),
        "the bare replica accepted every change"
    );
    drop(bare);
    for batch in stream.chunks(1000) {
        for r in node.apply_batch(batch.to_vec()).await.unwrap() {
            r.unwrap();
        }
    }
    drop(stream);
    let saved: Vec<(DocId, Vec<u8>)> = node
        .read(|r| r.docs().iter().map(|(id, doc)| (*id, doc.save())).collect())
        .await
        .unwrap();
    let built = node.status().await.unwrap();
    node.shutdown().await.unwrap();
    let expected = (total_changes + fed_changes.len()) as u64;
    assert_eq!(built.accepted, expected, "every change accepted");
    assert_eq!(
        built.refused + built.pending,
        0,
        "nothing refused or waiting"
    );
    assert_eq!(saved.len(), d + 1, "D documents + the federation");
    let disk = dir_size(dir.path());
    let built_in = started.elapsed();

    // A node holding the federation document only: the fixed part of an open node.
    let empty_dir = tempfile::tempdir().unwrap();
    let mut init = InitOptions::new(org(COMMUNITY), rk.node_id());
    init.secret = Some(node_secret);
    let empty = Node::init(empty_dir.path(), init, build.clone())
        .await
        .unwrap();
    for r in empty.apply_batch(fed_changes.clone()).await.unwrap() {
        r.unwrap();
    }
    empty.shutdown().await.unwrap();
    // A first open initialises what a process does once (time zone data, thread locals …).
    open_measured(empty_dir.path(), usize::MAX)
        .await
        .node
        .shutdown()
        .await
        .unwrap();
    let fixed = open_measured(empty_dir.path(), usize::MAX).await;
    assert_eq!(fixed.node.documents().await.unwrap().len(), 1);
    fixed.node.shutdown().await.unwrap();

    // Open from snapshots + log tail.
    let t = Instant::now();
    let snap = open_measured(dir.path(), usize::MAX).await;
    let snap_ms = t.elapsed().as_secs_f64() * 1e3;
    let check = |status: linli_node::NodeStatus, docs: usize, how: &str| {
        assert_eq!(docs, d + 1, "{how}: documents after open");
        assert_eq!(status.accepted, expected, "{how}: accepted changes");
        let held: usize = status.documents.values().sum();
        assert_eq!(held, d + 1, "{how}: documents by kind");
    };
    check(
        snap.node.status().await.unwrap(),
        snap.node.documents().await.unwrap().len(),
        "snapshots",
    );
    let snapshots = snap.node.status().await.unwrap().snapshots;
    assert!(snapshots > 0, "the store holds snapshots");
    snap.node.shutdown().await.unwrap();

    // A working set: the node keeps `W` documents in memory ([store] resident_documents) and
    // `W` documents are in use (each read once after the open); the other D − W (last
    // year's ledgers …) stay untouched, in the store.
    let w = env("BENCH_WORKING_SET", 50).clamp(1, d);
    let in_use: Vec<DocId> = docs
        .iter()
        .copied()
        .step_by((d / w).max(1))
        .take(w)
        .collect();
    let t = Instant::now();
    let ws = open_measured(dir.path(), w + 1).await;
    let ws_open_ms = t.elapsed().as_secs_f64() * 1e3;
    let ids = in_use.clone();
    let (resident, loads) = ws
        .node
        .read(move |r| {
            for id in &ids {
                r.doc(*id).unwrap();
            }
            (r.docs().resident_len(), r.docs().loads())
        })
        .await
        .unwrap();
    // Once the read's command is over, eviction runs: what stays is the working set.
    let resident_after = ws.node.read(|r| r.docs().resident_len()).await.unwrap();
    settle();
    let ws_bytes = heap().bytes - ws.before;
    check(
        ws.node.status().await.unwrap(),
        ws.node.documents().await.unwrap().len(),
        "working set",
    );
    ws.node.shutdown().await.unwrap();

    // Open by full replay (snapshots deleted, after the changes they fold went back to the
    // log).
    linli_node::unfold_snapshots(dir.path()).unwrap();
    rusqlite::Connection::open(dir.path().join(files::DB))
        .unwrap()
        .execute("DELETE FROM snapshots", [])
        .unwrap();
    let t = Instant::now();
    let replay = open_measured(dir.path(), usize::MAX).await;
    let replay_ms = t.elapsed().as_secs_f64() * 1e3;
    check(
        replay.node.status().await.unwrap(),
        replay.node.documents().await.unwrap().len(),
        "replay",
    );
    // The documents a node holds, for the baseline's sanity check below.
    let kinds_held = replay
        .node
        .documents()
        .await
        .unwrap()
        .iter()
        .filter(|s| s.header.kind != DocKind::Federation)
        .count();
    assert_eq!(kinds_held, d);
    replay.node.shutdown().await.unwrap();

    // Baseline: the same documents as plain automerge values, loaded from their saved bytes.
    settle();
    let before = heap();
    reset_peak();
    let loaded: Vec<Automerge> = saved
        .iter()
        .map(|(_, b)| Automerge::load(b).unwrap())
        .collect();
    let after = heap();
    let am_bytes = after.bytes - before.bytes;
    let am_allocs = after.allocs - before.allocs;
    let am_peak = peak() - before.bytes;
    let am_changes: usize = loaded.iter().map(|a| a.get_changes_meta(&[]).len()).sum();
    assert_eq!(am_changes as u64, expected, "automerge holds every change");
    drop(loaded);
    // The same documents as linli `Document`s (automerge + the layout's map ids).
    settle();
    let before = heap();
    let documents: Vec<Document> = saved
        .iter()
        .map(|(id, b)| Document::load(*id, b, linli_core::kinds::layout).unwrap())
        .collect();
    let doc_bytes = heap().bytes - before.bytes;
    drop(documents);
    // The working set as automerge values.
    settle();
    let before = heap();
    let ws_loaded: Vec<Automerge> = saved
        .iter()
        .filter(|(id, _)| in_use.contains(id))
        .map(|(_, b)| Automerge::load(b).unwrap())
        .collect();
    let am_ws_bytes = heap().bytes - before.bytes;
    assert_eq!(ws_loaded.len(), w);
    drop(ws_loaded);
    let saved_bytes: usize = saved.iter().map(|(_, b)| b.len()).sum();

    let f = |n: usize| n as f64;
    println!();
    println!(
        "store: {expected} accepted changes ({} in the federation document), {snapshots} snapshots \
         before they were deleted, {:.1} MB on disk; saved documents {:.1} MB; built in {:.0} s",
        fed_changes.len(),
        disk as f64 / 1e6,
        saved_bytes as f64 / 1e6,
        built_in.as_secs_f64()
    );
    println!(
        "per-document figures divide by D = {d}; both sides also hold the federation document"
    );
    println!();
    println!("| measurement (bytes per document) | linli | baseline | ratio (linli / baseline) |");
    println!("|---|---|---|---|");
    let baseline = format!(
        "{} (Automerge::load of the saved documents)",
        per(f(am_bytes), d)
    );
    for (label, held, ms) in [
        ("snapshots + tail", &snap, snap_ms),
        ("full replay", &replay, replay_ms),
    ] {
        println!(
            "| heap held by the node after Node::open ({label}; open took {ms:.0} ms) | {} | {baseline} | {:.2}× |",
            per(f(held.bytes), d),
            f(held.bytes) / f(am_bytes)
        );
    }
    for (label, held) in [("snapshots + tail", &snap), ("full replay", &replay)] {
        println!(
            "| peak heap during Node::open ({label}) | {} | {} (peak during the loads) | {:.2}× |",
            per(f(held.peak), d),
            per(f(am_peak), d),
            f(held.peak) / f(am_peak)
        );
    }
    println!(
        "| (reference) the documents as linli `Document`s (Document::load of the saved bytes) | {} | {} | {:.2}× |",
        per(f(doc_bytes), d),
        per(f(am_bytes), d),
        f(doc_bytes) / f(am_bytes)
    );
    println!(
        "| (reference) every change as a `SignedChange` value (Vec of them) | {} | {} | {:.2}× |",
        per(f(signed_heap), d),
        per(f(am_bytes), d),
        f(signed_heap) / f(am_bytes)
    );
    println!(
        "| (reference) a linli-core `Replica` alone that applied the same changes (no node) | {} | {} | {:.2}× |",
        per(f(replica_heap), d),
        per(f(am_bytes), d),
        f(replica_heap) / f(am_bytes)
    );
    println!(
        "| live heap allocations after open (snapshots + tail) | {:.0} | {:.0} | {:.2}× |",
        f(snap.allocs) / f(d),
        f(am_allocs) / f(d),
        f(snap.allocs) / f(am_allocs)
    );
    println!(
        "| on disk | {} (store directory) | {} (saved documents) | {:.2}× |",
        per(f(disk as usize), d),
        per(f(saved_bytes), d),
        f(disk as usize) / f(saved_bytes)
    );
    println!();
    println!(
        "- working set: opened keeping {} documents in memory ({ws_open_ms:.0} ms), {w} of the {d} \
         documents read once ({loads} loaded back from the store; {resident} in memory during the \
         read, {resident_after} after it): the node holds {:.2} MB = {:.2}× automerge holding all \
         {d} ({:.2} MB), {:.2}× automerge holding the {w} in use ({:.2} MB); without the fixed \
         part {:.2}× all, {:.2}× the working set",
        w + 1,
        f(ws_bytes) / 1e6,
        f(ws_bytes) / f(am_bytes),
        f(am_bytes) / 1e6,
        f(ws_bytes) / f(am_ws_bytes),
        f(am_ws_bytes) / 1e6,
        (f(ws_bytes) - f(fixed.bytes)) / f(am_bytes),
        (f(ws_bytes) - f(fixed.bytes)) / f(am_ws_bytes),
    );
    println!(
        "- fixed part: a node holding only the federation document holds {:.0} KB after open \
         (peak {:.0} KB); without it, the snapshot open holds {} bytes per document ({:.2}× the baseline)",
        f(fixed.bytes) / 1e3,
        f(fixed.peak) / 1e3,
        per(f(snap.bytes) - f(fixed.bytes), d),
        (f(snap.bytes) - f(fixed.bytes)) / f(am_bytes)
    );
    println!(
        "- SQLite's own heap (C malloc, not counted above) after open: {:.0} KB (snapshots + tail), \
         {:.0} KB (full replay), {:.0} KB (federation only)",
        snap.sqlite as f64 / 1e3,
        replay.sqlite as f64 / 1e3,
        fixed.sqlite as f64 / 1e3
    );
    println!(
        "- the signed changes themselves: {} bytes of automerge change per document, {} bytes \
         with the envelope (document id, signer, signature)",
        per(f(change_bytes), d),
        per(f(envelope_bytes), d)
    );
    println!("- bench took {:.0} s", started.elapsed().as_secs_f64());
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(run());
}
