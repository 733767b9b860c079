//! Verify + authorize + apply throughput of `Replica::apply` against automerge's raw
//! incremental apply of the same changes, measured in the same run.
//!
//! Run: `cargo bench -p linli-core --bench apply` (`BENCH_N` changes, default 3,000).
#![allow(clippy::unwrap_used)]

use automerge::ReadDoc;
use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules};
use linli_core::replica::{DistrictConfig, NewDoc, Op, Replica};
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
    let mut b = Replica::new(
        Keypair::from_secret(&[9; 32]),
        [9; 8],
        org("dianye"),
        rk.node_id(),
    );
    for c in &fedc {
        b.apply(c.clone()).unwrap();
    }
    let t = Instant::now();
    for c in &all {
        b.apply(c.clone()).unwrap();
    }
    let apply_rate = all.len() as f64 / t.elapsed().as_secs_f64();
    println!("linli apply (verify + authorize + apply): {apply_rate:.0}/s");
    let raw: Vec<automerge::Change> = all
        .iter()
        .map(|c| automerge::Change::from_bytes(c.change.clone()).unwrap())
        .collect();
    let t = Instant::now();
    let mut am = automerge::Automerge::new();
    for c in &raw {
        am.apply_changes([c.clone()]).unwrap();
    }
    let raw_rate = raw.len() as f64 / t.elapsed().as_secs_f64();
    println!("raw automerge apply: {raw_rate:.0}/s");
    let t = Instant::now();
    let mut am2 = automerge::Automerge::new();
    am2.apply_changes(raw.iter().cloned()).unwrap();
    println!(
        "raw automerge bulk apply: {:.0}/s",
        raw.len() as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let c2 = am2.clone();
    println!("clone: {:?} {}", t.elapsed(), c2.get_heads().len());
    let obj = am2.get(automerge::ROOT, "entries").unwrap().unwrap().1;
    let t = Instant::now();
    for c in raw.iter().skip(1) {
        let _ = am2.get_all_at(&obj, "dianye@x:1", c.deps());
    }
    println!(
        "get_all_at per change: {:?}",
        t.elapsed() / raw.len() as u32
    );
    println!(
        "ratio linli apply / raw apply: {:.2}",
        apply_rate / raw_rate
    );
}
