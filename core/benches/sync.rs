//! Sync benchmark: bytes, messages, round trips and time of linli's catalog reconciliation
//! against automerge's own per-document sync protocol over every document (the baseline),
//! measured in the same run, for N documents of which d differ. A second table compares the
//! reconciliation alone (the frames before the Want) with range reconciliation alone
//! (negentropy, as linli's fallback runs it, and with unlimited frames) on the same catalog
//! items.
//!
//! Run: `cargo bench -p linli-core --bench sync` (N defaults to 10,000; `BENCH_N=2000` for a
//! quicker run).

use std::time::Instant;

use automerge::ReadDoc;

use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules};
use linli_core::replica::{DistrictConfig, NewDoc, Op, Replica};
use linli_core::sync::{
    FRAME_LIMIT, ReconcileReport, Session, item_id, reconcile_items, reconcile_negentropy,
};
use linli_core::{DocId, OrgId, SignedChange, Timestamp};

fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap_or_else(|e| panic!("{e}"))
}

fn t0() -> Timestamp {
    Timestamp::parse("2026-06-01T09:00:00+08:00").unwrap_or(Timestamp(0))
}

/// A root, a street and a community certified in a chain; returns the community's replica
/// and the federation changes.
fn district() -> (Replica, Vec<SignedChange>, Keypair) {
    let rk = Keypair::from_secret(&[1; 32]);
    let sk = Keypair::from_secret(&[2; 32]);
    let ck = Keypair::from_secret(&[3; 32]);
    let mut root = Replica::new(rk.clone(), [1; 8], org("heping"), rk.node_id());
    let fed = root
        .create(
            NewDoc::Federation {
                config: DistrictConfig::default(),
            },
            t0(),
        )
        .map(|c| c.doc)
        .unwrap_or_else(|e| panic!("{e}"));
    let until = Timestamp(t0().0 + 365 * Timestamp::DAY);
    let issue = |r: &mut Replica, k: &Keypair, role, o: &str, parent: Option<&str>| {
        r.execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject: k.node_id(),
                role,
                org: org(o),
                parent: parent.map(org),
                name: o.into(),
                not_before: t0(),
                not_after: until,
            }),
            t0(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    };
    issue(&mut root, &sk, Role::Street, "beishi", None);
    let mut street = Replica::new(sk, [2; 8], org("beishi"), rk.node_id());
    for c in root.changes(fed, &[]).unwrap_or_default() {
        let _ = street.apply(c);
    }
    issue(&mut street, &ck, Role::Community, "dianye", Some("beishi"));
    let fed_changes = street.changes(fed, &[]).unwrap_or_default();
    let mut community = Replica::new(ck.clone(), [3; 8], org("dianye"), rk.node_id());
    for c in &fed_changes {
        let _ = community.apply(c.clone());
    }
    (community, fed_changes, rk)
}

fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let changes_per_doc = 12;
    println!(
        "linli sync benchmark: N = {n} small ledger documents, {} changes each",
        changes_per_doc + 1
    );
    let started = Instant::now();
    let (mut a, fed, root) = district();
    let mut docs: Vec<DocId> = Vec::with_capacity(n);
    for i in 0..n {
        let doc = a
            .create(
                NewDoc::Ledger {
                    street: org("beishi"),
                    community: org("dianye"),
                    year: 2026,
                    rules: LedgerRules::default(),
                },
                Timestamp(t0().0 + i as i64),
            )
            .map(|c| c.doc)
            .unwrap_or_else(|e| panic!("{e}"));
        for k in 0..changes_per_doc {
            let op = LedgerOp::RecordService {
                volunteer: format!("dianye:{}", k + 1)
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
                activity: "patrol".into(),
                team: None,
                date: jiff::civil::date(2026, 5, 1),
                hours: 1.0,
                evidence: None,
            };
            a.execute(doc, Op::Ledger(op), t0())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        docs.push(doc);
    }
    println!(
        "built {n} documents in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    println!(
        "\n| d | linli bytes (after hello) | of which changes | beyond the changes | hello bytes | linli msgs | round trips after hello | linli ms | automerge bytes | automerge msgs | automerge ms | bytes ratio | time ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut recon_rows = Vec::new();
    for d in [0usize, 10, 1000.min(n / 2)] {
        // B holds everything except the last change of d documents.
        let mut b = Replica::new(
            Keypair::from_secret(&[3; 32]),
            [9; 8],
            org("dianye"),
            root.node_id(),
        );
        for c in &fed {
            let _ = b.apply(c.clone());
        }
        let mut holdback = 0usize;
        for (i, doc) in docs.iter().enumerate() {
            let all = a.changes(*doc, &[]).unwrap_or_default();
            let keep = if i < d { all.len() - 1 } else { all.len() };
            holdback += all.len() - keep;
            for c in all.into_iter().take(keep) {
                let _ = b.apply(c);
            }
        }
        // The reconciliation alone, on the same catalog items (B initiates), before the session makes them equal.
        let items = |r: &Replica| -> Vec<[u8; 32]> {
            r.catalog()
                .iter()
                .map(|(doc, digest)| item_id(doc, digest))
                .collect()
        };
        let (ib, ia) = (items(&b), items(&a));
        let fail = |e: linli_core::sync::SyncError| -> ReconcileReport { panic!("{e}") };
        recon_rows.push((
            d,
            reconcile_items(&ib, &ia).unwrap_or_else(fail),
            reconcile_negentropy(&ib, &ia, FRAME_LIMIT).unwrap_or_else(fail),
            reconcile_negentropy(&ib, &ia, 0).unwrap_or_else(fail),
        ));
        // linli: one session, B initiates.
        let t = Instant::now();
        let mut sb = Session::initiator(false);
        let mut sa = Session::responder(false);
        let mut to_a = sb.start(&b, t0());
        let mut rounds = 0u32;
        loop {
            let mut to_b = Vec::new();
            for m in to_a.drain(..) {
                to_b.extend(
                    sa.handle(&mut a, &m, t0())
                        .unwrap_or_else(|e| panic!("{e}")),
                );
            }
            if to_b.is_empty() {
                break;
            }
            rounds += 1;
            for m in to_b {
                to_a.extend(
                    sb.handle(&mut b, &m, t0())
                        .unwrap_or_else(|e| panic!("{e}")),
                );
            }
            if to_a.is_empty() {
                break;
            }
        }
        let linli_ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(a.catalog(), b.catalog(), "replicas differ after sync");
        let hello = sb.stats().hello_bytes + sa.stats().hello_bytes;
        let bytes = sb.stats().bytes_out + sa.stats().bytes_out - hello;
        let changes_bytes: u64 = docs[..d]
            .iter()
            .filter_map(|doc| a.changes(*doc, &[]).ok()?.pop())
            .map(|c| c.encode().len() as u64)
            .sum();
        let msgs = sb.stats().messages_out + sa.stats().messages_out;
        let _ = holdback;
        if std::env::var("BENCH_DEBUG").is_ok() {
            eprintln!(
                "d={d} initiator {:?}\n      responder {:?}",
                sb.stats(),
                sa.stats()
            );
        }

        // Baseline: automerge's sync protocol run on every document pair.
        let (mut am_bytes, mut am_msgs) = (0u64, 0u64);
        let mut pairs = Vec::with_capacity(n);
        for (i, doc) in docs.iter().enumerate() {
            let full = a
                .doc(*doc)
                .map(|x| x.automerge().clone())
                .unwrap_or_else(|e| panic!("{e}"));
            let mut part = full.clone();
            if i < d {
                let heads = full.get_heads();
                let last = full
                    .get_change_by_hash(&heads[0])
                    .map(|c| c.deps().to_vec())
                    .unwrap_or_default();
                part = full.fork_at(&last).unwrap_or_else(|e| panic!("{e}"));
            }
            pairs.push((full, part));
        }
        let t = Instant::now();
        for (x, y) in &mut pairs {
            use automerge::sync::SyncDoc;
            let mut sx = automerge::sync::State::new();
            let mut sy = automerge::sync::State::new();
            loop {
                let m1 = y.generate_sync_message(&mut sy);
                if let Some(m) = &m1 {
                    let enc = m.clone().encode();
                    am_bytes += enc.len() as u64;
                    am_msgs += 1;
                    x.receive_sync_message(&mut sx, m.clone())
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                let m2 = x.generate_sync_message(&mut sx);
                if let Some(m) = &m2 {
                    let enc = m.clone().encode();
                    am_bytes += enc.len() as u64;
                    am_msgs += 1;
                    y.receive_sync_message(&mut sy, m.clone())
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                if m1.is_none() && m2.is_none() {
                    break;
                }
            }
        }
        let am_ms = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "| {d} | {bytes} | {changes_bytes} | {} | {hello} | {msgs} | {} | {linli_ms:.1} | {am_bytes} | {am_msgs} | {am_ms:.1} | {:.4}% | {:.3} |",
            bytes - changes_bytes,
            rounds.saturating_sub(1),
            100.0 * bytes as f64 / am_bytes.max(1) as f64,
            linli_ms / am_ms.max(1e-9)
        );
    }
    println!(
        "\n(bytes ratio = linli bytes after hello / automerge bytes; targets: d = 0 ≤ 0.05%, d = 10 ≤ 0.5%)"
    );
    println!(
        "\nReconciliation alone (frames before the Want, same items; B initiates):\n\n| d | linli bytes | linli round trips | negentropy, 64 KiB frames: bytes | round trips | negentropy, whole frames: bytes | round trips | linli / negentropy 64 KiB | linli / negentropy whole |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (d, l, n64, n) in recon_rows {
        println!(
            "| {d} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} |",
            l.bytes,
            l.round_trips,
            n64.bytes,
            n64.round_trips,
            n.bytes,
            n.round_trips,
            l.bytes as f64 / n64.bytes.max(1) as f64,
            l.bytes as f64 / n.bytes.max(1) as f64
        );
    }
}
