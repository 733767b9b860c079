//! Receive throughput on one 3,000-entry ledger: the batched path (`Replica::receive_batch`:
//! envelopes on 2 threads, runs authorized and applied to automerge in bulk) against the
//! one-by-one core path (`Replica::apply`) and automerge's own one-by-one and bulk
//! `apply_changes` of the same changes, all measured in the same run.
//!
//! Run: `cargo bench -p linli-core --bench apply` (`BENCH_N` changes, default 3,000;
//! `BENCH_CHUNK` changes per batch for the chunked run, default 256).
#![allow(clippy::unwrap_used)]

use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules};
use linli_core::replica::{Applied, DistrictConfig, NewDoc, NoHooks, Op, Replica};
use linli_core::signed::check_all;
use linli_core::{OrgId, Timestamp};
use std::time::Instant;
fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}
fn main() {
    let t0 = Timestamp::parse("2026-06-01T09:00:00+08:00").unwrap();
    let rk = Keypair::from_secret(&[1; 32]);
    let sk = Keypair::from_secret(&[2; 32]);
    let ck = Keypair::from_secret(&[3; 32]);
    let mut root = Replica::new(rk.clone(), [1; 8], org("heping"), rk.node_id());
    let fed = root
        .create(
            NewDoc::Federation {
                config: DistrictConfig::default(),
            },
            t0,
        )
        .unwrap()
        .doc;
    let until = Timestamp(t0.0 + 365 * Timestamp::DAY);
    root.execute(
        fed,
        Op::Federation(FederationOp::Issue {
            subject: sk.node_id(),
            role: Role::Street,
            org: org("beishi"),
            parent: None,
            name: "s".into(),
            not_before: t0,
            not_after: until,
        }),
        t0,
    )
    .unwrap();
    let mut street = Replica::new(sk, [2; 8], org("beishi"), rk.node_id());
    for c in root.changes(fed, &[]).unwrap() {
        street.apply(c).unwrap();
    }
    street
        .execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject: ck.node_id(),
                role: Role::Community,
                org: org("dianye"),
                parent: Some(org("beishi")),
                name: "c".into(),
                not_before: t0,
                not_after: until,
            }),
            t0,
        )
        .unwrap();
    let fedc = street.changes(fed, &[]).unwrap();
    let mut a = Replica::new(ck.clone(), [3; 8], org("dianye"), rk.node_id());
    for c in &fedc {
        a.apply(c.clone()).unwrap();
    }
    let l = a
        .create(
            NewDoc::Ledger {
                street: org("beishi"),
                community: org("dianye"),
                year: 2026,
                rules: LedgerRules::default(),
            },
            t0,
        )
        .unwrap()
        .doc;
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let t = Instant::now();
    for k in 0..n {
        a.execute(
            l,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: format!("dianye:{}", k % 50 + 1).parse().unwrap(),
                activity: "patrol".into(),
                team: None,
                date: jiff::civil::date(2026, 5, 1),
                hours: 1.0,
                evidence: None,
            }),
            t0,
        )
        .unwrap();
    }
    println!(
        "linli execute (plan + policy + commit + sign), {n} ledger entries: {:.0}/s",
        n as f64 / t.elapsed().as_secs_f64()
    );
    let all = a.changes(l, &[]).unwrap();
    let fresh = || {
        let mut b = Replica::new(
            Keypair::from_secret(&[9; 32]),
            [9; 8],
            org("dianye"),
            rk.node_id(),
        );
        for c in &fedc {
            b.apply(c.clone()).unwrap();
        }
        b
    };
    let rate = |n: usize, t: Instant| n as f64 / t.elapsed().as_secs_f64();

    // (i) The one-by-one core path: `Replica::apply` on each change.
    let mut b = fresh();
    let input = all.clone();
    let t = Instant::now();
    for c in input {
        b.apply(c).unwrap();
    }
    let one_rate = rate(all.len(), t);
    println!("linli apply one by one (verify + authorize + apply): {one_rate:.0}/s");

    // The batched path: envelopes on 2 threads, then runs applied in bulk.
    let mut batched = fresh();
    let input = all.clone();
    let t = Instant::now();
    let results = batched.receive_batch(input);
    let batch_rate = rate(all.len(), t);
    assert!(results.iter().all(|r| matches!(r, Ok(Applied::Applied(_)))));
    assert_eq!(batched.heads(l).unwrap(), b.heads(l).unwrap());
    println!(
        "linli receive_batch, one batch (verify on 2 threads + authorize + bulk apply): {batch_rate:.0}/s"
    );

    // The node's way: batches of `BENCH_CHUNK` changes (its sessions grow chunks to ≈ 40 ms).
    let chunk: usize = std::env::var("BENCH_CHUNK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let mut chunked = fresh();
    let input = all.clone();
    let t = Instant::now();
    for part in input.chunks(chunk) {
        chunked.receive_batch(part.to_vec());
    }
    let chunk_rate = rate(all.len(), t);
    assert_eq!(chunked.heads(l).unwrap(), b.heads(l).unwrap());
    println!("linli receive_batch in batches of {chunk}: {chunk_rate:.0}/s");

    // Where the batched time goes: the envelopes alone, then deciding verified changes.
    let input = all.clone();
    let t = Instant::now();
    let checked = check_all(input, 2);
    let verify_rate = rate(all.len(), t);
    let input = all.clone();
    let t = Instant::now();
    let one_thread = check_all(input, 1);
    let verify1_rate = rate(all.len(), t);
    drop(one_thread);
    let t = Instant::now();
    for c in &all {
        std::hint::black_box(c.change_hash().unwrap());
    }
    let decode_rate = rate(all.len(), t);
    println!("  envelopes on 1 thread {verify1_rate:.0}/s; decoding alone {decode_rate:.0}/s");
    let mut decided = fresh();
    let t = Instant::now();
    decided.apply_batch(checked, &mut NoHooks);
    let decide_rate = rate(all.len(), t);
    println!(
        "  of which: envelopes on 2 threads {verify_rate:.0}/s, deciding + bulk apply of verified changes {decide_rate:.0}/s"
    );

    // (ii) automerge's own paths on the same changes.
    let raw: Vec<automerge::Change> = all
        .iter()
        .map(|c| automerge::Change::from_bytes(c.change.clone()).unwrap())
        .collect();
    let t = Instant::now();
    let mut am = automerge::Automerge::new();
    for c in &raw {
        am.apply_changes([c.clone()]).unwrap();
    }
    let raw_rate = rate(raw.len(), t);
    println!("automerge apply_changes one by one: {raw_rate:.0}/s");
    let bytes: Vec<Vec<u8>> = all.iter().map(|c| c.change.clone()).collect();
    let t = Instant::now();
    let decoded: Vec<automerge::Change> = bytes
        .into_iter()
        .map(|b| automerge::Change::from_bytes(b).unwrap())
        .collect();
    let mut am = automerge::Automerge::new();
    am.apply_changes(decoded).unwrap();
    let bulk_rate = rate(raw.len(), t);
    println!("automerge bulk apply_changes (decoding the bytes included): {bulk_rate:.0}/s");
    println!(
        "ratio batched / one-by-one linli apply: {:.2}",
        batch_rate / one_rate
    );
    println!(
        "ratio batched / automerge bulk apply: {:.2}",
        batch_rate / bulk_rate
    );
    println!(
        "ratio batched / automerge one by one: {:.2}",
        batch_rate / raw_rate
    );
    println!(
        "ratio one-by-one linli apply / automerge one by one: {:.2}",
        one_rate / raw_rate
    );
    println!(
        "ratio one-by-one linli apply / automerge bulk apply: {:.2}",
        one_rate / bulk_rate
    );
}
