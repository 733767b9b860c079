//! Node storage benchmark (not a test): store open from snapshots against automerge's own
//! `Automerge::load` of the same documents, and write throughput against raw automerge apply
//! of the same changes. Every baseline is measured in the same run.
//!
//! `cargo bench -p linli-node --bench storage`. Environment: `BENCH_M` total changes in the
//! store (default 200,000; the issue's figure is 1,000,000), `BENCH_K` documents (default
//! M / 1,000), `BENCH_EXEC` local writes through `Node::execute` (default 5,000).
//! `BENCH_REPLAY=0` skips the open by full replay. Opens are timed three times (with the
//! baseline before each) and the best of each is kept; received writes and their baseline are
//! timed interleaved, batch by batch. `BENCH_STORE=dir`: after the run, a copy of the store (with its snapshots) is kept in
//! `dir`; if `dir` already holds a store, only the open measurements are run on it (for
//! working on the open path without rebuilding the store).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use automerge::{Automerge, Change, ReadDoc};
use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules};
use linli_core::{DistrictConfig, DocId, NewDoc, Op, OrgId, Replica, SignedChange, Timestamp};
use linli_node::{Durability, InitOptions, Node, OpenOptions, files};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

fn valid_from() -> Timestamp {
    Timestamp::parse("2020-01-01T00:00:00Z").unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn service(i: usize) -> Op {
    let day = jiff::civil::Date::new(2026, 1, 1)
        .unwrap()
        .checked_add(jiff::Span::new().days((i % 365) as i64))
        .unwrap();
    Op::Ledger(LedgerOp::RecordService {
        volunteer: format!("dianye:{}", i % 500 + 1).parse().unwrap(),
        activity: "patrol".into(),
        team: None,
        date: day,
        hours: 1.0,
        evidence: None,
    })
}

fn new_ledger() -> NewDoc {
    NewDoc::Ledger {
        street: org("beishi"),
        community: org("dianye"),
        year: 2026,
        rules: LedgerRules::default(),
    }
}

/// Raw automerge: applies each document's changes (decoded beforehand) to an empty document,
/// one at a time and, the best path automerge offers for the same work, in bulk (one
/// `apply_changes` of all of them, as automerge-repo does on load). Returns both times.
fn raw_apply(docs: &[Vec<SignedChange>]) -> (Duration, Duration) {
    let decoded: Vec<Vec<Change>> = docs
        .iter()
        .map(|d| {
            d.iter()
                .map(|c| Change::from_bytes(c.change.clone()).unwrap())
                .collect()
        })
        .collect();
    let t = Instant::now();
    for d in decoded.clone() {
        let mut am = Automerge::new();
        for c in d {
            am.apply_changes([c]).unwrap();
        }
        std::hint::black_box(am.get_heads());
    }
    let one_by_one = t.elapsed();
    let t = Instant::now();
    for d in decoded {
        let mut am = Automerge::new();
        am.apply_changes(d).unwrap();
        std::hint::black_box(am.get_heads());
    }
    (one_by_one, t.elapsed())
}

fn drop_snapshots(dir: &Path) {
    // The changes folded into the snapshots go back to the log first.
    linli_node::unfold_snapshots(dir).unwrap();
    let c = rusqlite::Connection::open(dir.join(files::DB)).unwrap();
    c.execute("DELETE FROM snapshots", []).unwrap();
}

async fn open_timed(dir: &Path, check_integrity: bool) -> (Duration, Node) {
    let opts = OpenOptions {
        durability: Durability::Normal,
        check_integrity,
        ..OpenOptions::default()
    };
    let t = Instant::now();
    let node = Node::open(dir, opts).await.unwrap();
    (t.elapsed(), node)
}

struct Row(String, String, String, String);

/// Open measurements only, on a store kept by an earlier run (`BENCH_STORE`).
async fn open_only(dir: &Path) {
    let (open_checked, n1) = open_timed(dir, true).await;
    let saved: Vec<Vec<u8>> = n1
        .read(|r| {
            r.docs()
                .values()
                .filter(|d| d.kind() == linli_core::DocKind::Ledger)
                .map(|d| d.save())
                .collect()
        })
        .await
        .unwrap();
    let status = n1.status().await.unwrap();
    n1.shutdown().await.unwrap();
    let t = Instant::now();
    for bytes in &saved {
        std::hint::black_box(Automerge::load(bytes).unwrap().get_heads());
    }
    let baseline = t.elapsed();
    // Where `Document::load` spends its time beyond `Automerge::load`: finding the genesis
    // with `get_changes(&[])` (every change rebuilt) against `get_change_by_hash`.
    let t = Instant::now();
    for bytes in &saved {
        let am = Automerge::load(bytes).unwrap();
        std::hint::black_box(
            am.get_changes(&[])
                .into_iter()
                .find(|c| c.deps().is_empty()),
        );
    }
    let all_changes = t.elapsed();
    let t = Instant::now();
    for bytes in &saved {
        let am = Automerge::load(bytes).unwrap();
        let genesis = am
            .get_changes_meta(&[])
            .into_iter()
            .find(|m| m.deps.is_empty())
            .unwrap()
            .hash;
        std::hint::black_box(am.get_change_by_hash(&genesis));
    }
    let by_hash = t.elapsed();
    println!(
        "Automerge::load + get_changes(&[]) {:.0} ms; + get_change_by_hash(genesis) {:.0} ms",
        ms(all_changes),
        ms(by_hash)
    );
    let (open_fast, n2) = open_timed(dir, false).await;
    n2.shutdown().await.unwrap();
    println!(
        "store {}: {} accepted changes, {} snapshots",
        dir.display(),
        status.accepted,
        status.snapshots
    );
    println!(
        "open (quick_check on) {:.0} ms, (off) {:.0} ms; Automerge::load of {} docs {:.0} ms; ratio {:.2}× / {:.2}×",
        ms(open_checked),
        ms(open_fast),
        saved.len(),
        ms(baseline),
        ms(open_checked) / ms(baseline),
        ms(open_fast) / ms(baseline)
    );
}

fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

async fn run() {
    let keep = std::env::var_os("BENCH_STORE").map(std::path::PathBuf::from);
    if let Some(dir) = &keep
        && dir.join(files::DB).exists()
    {
        open_only(dir).await;
        return;
    }
    let m = env("BENCH_M", 200_000);
    // Documents of about 1,000 changes each unless told otherwise.
    let k = env("BENCH_K", (m / 1000).max(1)).max(1);
    let n_exec = env("BENCH_EXEC", 5_000).max(1);
    println!("node storage benchmark: M = {m} changes in K = {k} ledgers; {n_exec} local writes");

    // The district: the root certifies the node and a second writer of community dianye.
    let rk = Keypair::from_secret(&[0xAA; 32]);
    let mut root = Replica::new(rk.clone(), [0; 8], org("heping"), rk.node_id());
    let fed = root
        .create(
            NewDoc::Federation {
                config: DistrictConfig::default(),
            },
            valid_from(),
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
                org: org("dianye"),
                parent: Some(org("beishi")),
                name: "dianye node".into(),
                not_before: valid_from(),
                not_after: Timestamp::parse("2100-01-01T00:00:00Z").unwrap(),
            }),
            valid_from(),
        )
        .unwrap();
    }
    let fed_changes = root.changes(fed, &[]).unwrap();

    // The content: M changes made by the writer (K ledger geneses + service records).
    let mut writer = Replica::new(writer_key, [2; 8], org("dianye"), rk.node_id());
    for c in &fed_changes {
        writer.apply(c.clone()).unwrap();
    }
    let now = linli_node::system_clock();
    let t = Instant::now();
    let ledgers: Vec<DocId> = (0..k)
        .map(|_| writer.create(new_ledger(), now).unwrap().doc)
        .collect();
    for i in 0..m.saturating_sub(k) {
        writer.execute(ledgers[i % k], service(i), now).unwrap();
    }
    let core_write = t.elapsed();
    let per_doc: Vec<Vec<SignedChange>> = ledgers
        .iter()
        .map(|d| writer.changes(*d, &[]).unwrap())
        .collect();
    drop(writer);

    // Received writes: the node verifies, stores and applies them in batches.
    let dir = tempfile::tempdir().unwrap();
    let mut init = InitOptions::new(org("dianye"), rk.node_id());
    init.secret = Some(node_secret);
    let bulk = OpenOptions {
        durability: Durability::Normal,
        ..OpenOptions::default()
    };
    let node = Node::init(dir.path(), init, bulk.clone()).await.unwrap();
    for r in node.apply_batch(fed_changes.clone()).await.unwrap() {
        r.unwrap();
    }
    // Interleave the documents as they would arrive from a peer, in causal order per document.
    let mut stream: Vec<SignedChange> = Vec::with_capacity(m);
    let longest = per_doc.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for d in &per_doc {
            if let Some(c) = d.get(i) {
                stream.push(c.clone());
            }
        }
    }
    // The baselines are measured interleaved with the node, batch by batch (the same changes,
    // decoded beforehand, applied to one automerge document per ledger: one at a time, and in
    // bulk — one `apply_changes` per document and batch, automerge's best path for a batch),
    // so a shared machine's load weighs on all alike.
    let mut raw_docs: std::collections::HashMap<DocId, Automerge> = Default::default();
    let mut bulk_docs: std::collections::HashMap<DocId, Automerge> = Default::default();
    let mut received = Duration::ZERO;
    let mut raw_received = Duration::ZERO;
    let mut bulk_received = Duration::ZERO;
    for batch in stream.chunks(1000) {
        let t = Instant::now();
        for r in node.apply_batch(batch.to_vec()).await.unwrap() {
            r.unwrap();
        }
        received += t.elapsed();
        let changes: Vec<(DocId, Change)> = batch
            .iter()
            .map(|sc| (sc.doc, Change::from_bytes(sc.change.clone()).unwrap()))
            .collect();
        let mut by_doc: std::collections::HashMap<DocId, Vec<Change>> = Default::default();
        for (doc, c) in &changes {
            by_doc.entry(*doc).or_default().push(c.clone());
        }
        let t = Instant::now();
        for (doc, c) in changes {
            raw_docs.entry(doc).or_default().apply_changes([c]).unwrap();
        }
        raw_received += t.elapsed();
        let t = Instant::now();
        for (doc, cs) in by_doc {
            bulk_docs.entry(doc).or_default().apply_changes(cs).unwrap();
        }
        bulk_received += t.elapsed();
    }
    drop(raw_docs);
    drop(bulk_docs);
    drop(stream);

    // Local writes through Node::execute (sign, store, commit, apply), both durabilities.
    let mut exec_rows = Vec::new();
    for (label, durability, n) in [
        ("Normal", Durability::Normal, n_exec),
        ("Full (fsync)", Durability::Full, (n_exec / 5).max(1)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut init = InitOptions::new(org("dianye"), rk.node_id());
        init.secret = Some(node_secret);
        let opts = OpenOptions {
            durability,
            ..OpenOptions::default()
        };
        let local = Node::init(dir.path(), init, opts).await.unwrap();
        for r in local.apply_batch(fed_changes.clone()).await.unwrap() {
            r.unwrap();
        }
        let doc = local.create(new_ledger()).await.unwrap().doc;
        let t = Instant::now();
        for i in 0..n {
            local.execute(doc, service(i)).await.unwrap();
        }
        let took = t.elapsed();
        let changes = local.changes(doc, vec![]).await.unwrap();
        local.shutdown().await.unwrap();
        let raw = raw_apply(&[changes[1..].to_vec()]);
        exec_rows.push((label, n, took, raw));
    }

    // Saved bytes of the documents (the baseline loads these with Automerge::load).
    let saved: Vec<Vec<u8>> = node
        .read(|r| {
            r.docs()
                .values()
                .filter(|d| d.kind() == linli_core::DocKind::Ledger)
                .map(|d| d.save())
                .collect()
        })
        .await
        .unwrap();
    let status = node.status().await.unwrap();
    node.shutdown().await.unwrap();

    // Three rounds of (baseline, open with quick_check, open without), the best of each: the
    // machine is shared, and the best round is the one least disturbed.
    let mut baseline = Duration::MAX;
    let mut open_checked = Duration::MAX;
    let mut open_fast = Duration::MAX;
    let mut docs = 0;
    for _ in 0..3 {
        let t = Instant::now();
        for bytes in &saved {
            std::hint::black_box(Automerge::load(bytes).unwrap().get_heads());
        }
        baseline = baseline.min(t.elapsed());
        let (took, n1) = open_timed(dir.path(), true).await;
        open_checked = open_checked.min(took);
        docs = n1.documents().await.unwrap().len();
        n1.shutdown().await.unwrap();
        let (took, n2) = open_timed(dir.path(), false).await;
        open_fast = open_fast.min(took);
        n2.shutdown().await.unwrap();
    }
    if let Some(to) = &keep {
        copy_store(dir.path(), to);
    }
    // `BENCH_REPLAY=0` skips the full replay (minutes at M = 1,000,000).
    let open_replay = if env("BENCH_REPLAY", 1) == 0 {
        None
    } else {
        drop_snapshots(dir.path());
        let (took, n3) = open_timed(dir.path(), false).await;
        n3.shutdown().await.unwrap();
        Some(took)
    };
    assert_eq!(docs, k + 1);

    let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    let db_bytes = std::fs::metadata(dir.path().join(files::DB))
        .map(|m| m.len())
        .unwrap_or(0);
    println!();
    println!(
        "store: {} accepted changes, {} snapshots, {:.1} MB; saved documents {:.1} MB",
        status.accepted,
        status.snapshots,
        db_bytes as f64 / 1e6,
        saved.iter().map(Vec::len).sum::<usize>() as f64 / 1e6
    );
    println!();
    println!("| measurement | linli | baseline | ratio (linli / baseline) |");
    println!("|---|---|---|---|");
    let mut rows = vec![
        Row(
            "open from snapshots + tail (quick_check on, the default)".into(),
            format!("{:.0} ms", ms(open_checked)),
            format!(
                "{:.0} ms (Automerge::load of {} saved docs)",
                ms(baseline),
                saved.len()
            ),
            format!("{:.2}×", ms(open_checked) / ms(baseline)),
        ),
        Row(
            "open from snapshots + tail (quick_check off)".into(),
            format!("{:.0} ms", ms(open_fast)),
            format!("{:.0} ms", ms(baseline)),
            format!("{:.2}×", ms(open_fast) / ms(baseline)),
        ),
        Row(
            format!(
                "received writes: Node::apply_batch (verify, store, apply; batches of 1000), {m} changes"
            ),
            format!("{:.0} changes/s", rate(m, received)),
            format!(
                "{:.0} changes/s (raw automerge apply, one by one)",
                rate(m, raw_received)
            ),
            format!(
                "{:.2}×",
                raw_received.as_secs_f64() / received.as_secs_f64()
            ),
        ),
        Row(
            "received writes: the same, against automerge's bulk apply".into(),
            format!("{:.0} changes/s", rate(m, received)),
            format!(
                "{:.0} changes/s (raw automerge apply_changes, one call per document and batch)",
                rate(m, bulk_received)
            ),
            format!(
                "{:.2}×",
                bulk_received.as_secs_f64() / received.as_secs_f64()
            ),
        ),
    ];
    if let Some(open_replay) = open_replay {
        rows.insert(
            2,
            Row(
                "open by full replay (no snapshots, quick_check off)".into(),
                format!("{:.0} ms", ms(open_replay)),
                format!("{:.0} ms", ms(baseline)),
                format!("{:.2}×", ms(open_replay) / ms(baseline)),
            ),
        );
    }
    for (label, n, took, (raw, bulk)) in exec_rows {
        rows.push(Row(
            format!("local writes: Node::execute, durability {label}, {n} changes"),
            format!("{:.0} changes/s", rate(n, took)),
            format!(
                "{:.0} changes/s (raw automerge apply, one by one)",
                rate(n, raw)
            ),
            format!("{:.3}×", raw.as_secs_f64() / took.as_secs_f64()),
        ));
        rows.push(Row(
            format!("local writes, durability {label}: against automerge's bulk apply"),
            format!("{:.0} changes/s", rate(n, took)),
            format!(
                "{:.0} changes/s (raw automerge apply_changes of all)",
                rate(n, bulk)
            ),
            format!("{:.3}×", bulk.as_secs_f64() / took.as_secs_f64()),
        ));
    }
    rows.push(Row(
        format!("(reference) linli-core Replica::execute (plan, sign, commit), {m} changes"),
        format!("{:.0} changes/s", rate(m, core_write)),
        "–".into(),
        "–".into(),
    ));
    for Row(a, b, c, d) in rows {
        println!("| {a} | {b} | {c} | {d} |");
    }
    println!();
    println!(
        "throughput ratios are linli's rate / the baseline's rate (≥ 1 is faster than automerge)"
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(run());
}
