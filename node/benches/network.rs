//! Network benchmark (not a test), 5 nodes in one process on loopback, each with its own
//! store, key and libp2p stack (TCP + noise + yamux):
//!
//! 1. write-to-visible latency: a write on one node until every other node holds it
//!    (announcement + pull), p50 / p99 over `BENCH_WRITES` writes (default 200), against the
//!    local write itself (commit with fsync) measured in the same run;
//! 2. newcomer sync: a fresh node syncs `BENCH_CHANGES` signed changes (default 50,000, in
//!    ledgers of 500 changes) from one peer, against copying that peer's store files: by
//!    sessions only (full sync), then by fast join (snapshots restored provisionally: time
//!    to usable — every document readable — and to fully verified), with where the
//!    verification's time goes (signature checks alone, a scratch replica's full receive, the
//!    verifier's decisions on the loaded snapshots).
//!
//! `cargo bench -p linli-node --bench network`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules};
use linli_core::registry::{Compound, ManagementMode, RegistryOp};
use linli_core::{DistrictConfig, DocId, NewDoc, NodeId, Op, OrgId, Replica, Timestamp};
use linli_node::net::{NetConfig, Network};
use linli_node::{InitOptions, Node, OpenOptions};

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

fn secret(name: &str) -> [u8; 32] {
    *blake3::hash(name.as_bytes()).as_bytes()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn sessions_only(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        fast_join: false,
        ..cfg(bootstrap)
    }
}

fn cfg(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        mdns: false,
        sync_interval_secs: 3600,
        max_peers: 32,
        relay: Default::default(),
        fast_join: true,
    }
}

struct District {
    root: Replica,
    fed: DocId,
}

impl District {
    fn new() -> Self {
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
        District { root, fed }
    }
    fn certify(&mut self, subject: NodeId, o: &str) {
        self.root
            .execute(
                self.fed,
                Op::Federation(FederationOp::Issue {
                    subject,
                    role: Role::Community,
                    org: org(o),
                    parent: Some(org("beishi")),
                    name: o.into(),
                    not_before: valid_from(),
                    not_after: Timestamp::parse("2100-01-01T00:00:00Z").unwrap(),
                }),
                valid_from(),
            )
            .unwrap();
    }
    async fn node(&mut self, dir: &Path, o: &str) -> Node {
        let mut init = InitOptions::new(org(o), self.root.author().node);
        init.secret = Some(secret(o));
        let node = Node::init(dir, init, OpenOptions::default()).await.unwrap();
        self.certify(node.node_id(), o);
        node
    }
    async fn federate(&self, node: &Node) {
        for r in node
            .apply_batch(self.root.changes(self.fed, &[]).unwrap())
            .await
            .unwrap()
        {
            r.unwrap();
        }
    }
}

async fn until(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn dir_size(d: &Path) -> u64 {
    std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let writes = env("BENCH_WRITES", 200);
    let changes = env("BENCH_CHANGES", 50_000);
    let tmp = tempfile::TempDir::new().unwrap();
    let mut district = District::new();
    let names = ["dianye", "hongqi", "xianghe", "shengli", "jianzhong"];
    let mut nodes = Vec::new();
    for n in names {
        nodes.push(district.node(&tmp.path().join(n), n).await);
    }
    for n in &nodes {
        district.federate(n).await;
    }
    let mut regs = Vec::new();
    for (n, o) in nodes.iter().zip(names) {
        regs.push(
            n.create(NewDoc::Registry {
                street: org("beishi"),
                community: org(o),
                title: o.into(),
            })
            .await
            .unwrap()
            .doc,
        );
    }
    // Full mesh: each node bootstraps to every node started before it.
    let mut nets = Vec::new();
    let mut boot = Vec::new();
    for n in &nodes {
        let net = Network::start(n.clone(), cfg(boot.clone())).await.unwrap();
        boot.extend(net.listen_addrs().await.unwrap());
        nets.push(net);
    }
    until("mesh and first sync", Duration::from_secs(60), async || {
        for n in &nodes {
            let held = n.read(|r| r.catalog().len()).await.unwrap();
            if held < 6 {
                return false;
            }
        }
        nets.iter().all(|n| n.stats().peers == 4)
    })
    .await;

    // --- 1. write-to-visible latency ---------------------------------------------------
    let mut lat = Vec::new();
    let mut local = Vec::new();
    for k in 0..writes {
        let w = k % nodes.len();
        let t0 = Instant::now();
        let written = nodes[w]
            .execute(
                regs[w],
                Op::Registry(RegistryOp::AddCompound(Compound::new(
                    &format!("compound {k}"),
                    "1 road",
                    200,
                    ManagementMode::PropertyFirm,
                ))),
            )
            .await
            .unwrap();
        local.push(ms(t0.elapsed()));
        let h = written.change.change_hash().unwrap();
        for (i, n) in nodes.iter().enumerate() {
            if i != w {
                until(
                    "a write to become visible",
                    Duration::from_secs(30),
                    async || n.read(move |r| r.has_change(&h)).await.unwrap(),
                )
                .await;
            }
        }
        lat.push(ms(t0.elapsed()));
    }
    lat.sort_by(f64::total_cmp);
    local.sort_by(f64::total_cmp);

    // --- 2. newcomer sync ---------------------------------------------------------------
    // The data, signed by dianye's key, stored on node 0.
    let mut author = Replica::new(
        Keypair::from_secret(&secret("dianye")),
        [9; 8],
        org("dianye"),
        district.root.author().node,
    );
    for c in district.root.changes(district.fed, &[]).unwrap() {
        author.apply(c).unwrap();
    }
    let per_doc = 500;
    let mut produced = 0;
    let mut batch = Vec::new();
    let t_make = Instant::now();
    while produced < changes {
        let doc = author
            .create(
                NewDoc::Ledger {
                    street: org("beishi"),
                    community: org("dianye"),
                    year: 2026,
                    rules: LedgerRules::default(),
                },
                Timestamp(valid_from().0 + produced as i64),
            )
            .unwrap();
        batch.push(doc.clone());
        produced += 1;
        for i in 1..per_doc.min(changes - produced + 1) {
            let w = author
                .execute(
                    doc.doc,
                    Op::Ledger(LedgerOp::RecordService {
                        volunteer: format!("dianye:{}", i % 300 + 1).parse().unwrap(),
                        activity: "patrol".into(),
                        team: None,
                        date: jiff::civil::date(2026, 3, 1),
                        hours: 1.0,
                        evidence: None,
                    }),
                    Timestamp(valid_from().0 + (produced + i) as i64),
                )
                .unwrap();
            batch.push(w.change);
            produced += 1;
        }
        if batch.len() >= 5_000 {
            nodes[0]
                .apply_batch(std::mem::take(&mut batch))
                .await
                .unwrap();
        }
    }
    nodes[0].apply_batch(batch).await.unwrap();
    let loaded = t_make.elapsed();
    let total = nodes[0].status().await.unwrap().accepted;
    // Baseline: copy the store files.
    let src = tmp.path().join("dianye");
    let copy_dir = tmp.path().join("copy");
    std::fs::create_dir_all(&copy_dir).unwrap();
    let t = Instant::now();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.metadata().unwrap().is_file() {
            std::fs::copy(e.path(), copy_dir.join(e.file_name())).unwrap();
        }
    }
    let copy = t.elapsed();
    let bytes = dir_size(&src);
    // The newcomer: a new community node that knows only node 0.
    let newcomer = district
        .node(&tmp.path().join("newcomer"), "shenghua")
        .await;
    // Its certificate reaches node 0 the way a newly issued one would: in the federation.
    district.federate(&nodes[0]).await;
    let target: std::collections::BTreeMap<DocId, [u8; 32]> =
        nodes[0].read(|r| r.catalog().clone()).await.unwrap();
    let t = Instant::now();
    let net = Network::start(newcomer.clone(), sessions_only(vec![boot[0].clone()]))
        .await
        .unwrap();
    until(
        "the newcomer's full sync",
        Duration::from_secs(3600),
        async || {
            let c = newcomer.read(|r| r.catalog().clone()).await.unwrap();
            target.iter().all(|(d, dig)| c.get(d) == Some(dig))
        },
    )
    .await;
    let sync = t.elapsed();

    // The same by fast join: a second newcomer.
    let joiner = district.node(&tmp.path().join("joiner"), "xinhua").await;
    district.federate(&nodes[0]).await;
    let target: std::collections::BTreeMap<DocId, [u8; 32]> =
        nodes[0].read(|r| r.catalog().clone()).await.unwrap();
    let docs: Vec<DocId> = target.keys().copied().collect();
    let t = Instant::now();
    let net_j = Network::start(joiner.clone(), cfg(vec![boot[0].clone()]))
        .await
        .unwrap();
    until("the joiner usable", Duration::from_secs(3600), async || {
        let docs = docs.clone();
        joiner
            .read(move |r| docs.iter().all(|d| r.docs().contains_key(d)))
            .await
            .unwrap()
    })
    .await;
    let usable = t.elapsed();
    until(
        "the joiner verified",
        Duration::from_secs(3600),
        async || {
            let s = joiner.status().await.unwrap();
            let c = joiner.read(|r| r.catalog().clone()).await.unwrap();
            s.awaiting_verification == 0 && target.iter().all(|(d, dig)| c.get(d) == Some(dig))
        },
    )
    .await;
    let verified = t.elapsed();
    // Where verification's time goes: the signatures alone (on 2 threads, each on its own
    // as the node checks them), a scratch replica's full receive (signatures, authorization,
    // apply) of every change, as the verifier did it before, and the verifier's way now.
    let mut all = Vec::new();
    let mut saved = Vec::new();
    for d in &docs {
        let d = *d;
        let (changes, bytes) = nodes[0]
            .read(move |r| (r.changes(d, &[]).unwrap(), r.doc(d).unwrap().save()))
            .await
            .unwrap();
        if d != district.fed {
            saved.push((d, bytes, changes.clone()));
        }
        all.extend(changes);
    }
    let n_all = all.len();
    // The changes as the store serves them: the covered ones carry no signature of their own.
    let n_signed = all.iter().filter(|c| c.signature.is_some()).count();
    let t = Instant::now();
    let checked = linli_core::signed::check_all(all.clone(), 2);
    let sig_time = t.elapsed();
    drop(checked);
    let mut scratch = Replica::new(
        Keypair::from_secret(&secret("scratch")),
        [1; 8],
        org("xinhua"),
        district.root.author().node,
    );
    let (fed, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.doc == district.fed);
    let t = Instant::now();
    scratch.receive_batch(fed.clone());
    scratch.receive_batch(rest);
    let receive_time = t.elapsed();
    // The verifier's way: each document loaded from its snapshot and its changes decided on
    // it (`Replica::verify_restored`), on a scratch replica holding the federation.
    let mut scratch = Replica::new(
        Keypair::from_secret(&secret("scratch")),
        [1; 8],
        org("xinhua"),
        district.root.author().node,
    );
    scratch.receive_batch(fed);
    let t = Instant::now();
    for (d, bytes, changes) in saved {
        let restored = Replica::load_restored(d, &bytes).unwrap();
        let changes = changes
            .into_iter()
            .map(|c| (c.change_hash().unwrap(), c))
            .collect();
        let v = scratch.verify_restored(restored, changes);
        assert_eq!(v, linli_core::replica::RestoredVerdict::Verified);
    }
    let restored_time = t.elapsed();

    println!("\n## Network benchmark (5 nodes in one process on 127.0.0.1, release build)\n");
    println!("| measure | linli | baseline (same run) | ratio | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| write → visible on all 4 peers, p50 ({writes} writes) | {:.1} ms | local write committed (fsync) {:.1} ms | {:.1}× | — |",
        pct(&lat, 0.5),
        pct(&local, 0.5),
        pct(&lat, 0.5) / pct(&local, 0.5)
    );
    println!(
        "| write → visible on all 4 peers, p99 | {:.1} ms | local write p99 {:.1} ms | {:.1}× | p99 ≤ 250 ms: {} |",
        pct(&lat, 0.99),
        pct(&local, 0.99),
        pct(&lat, 0.99) / pct(&local, 0.99),
        if pct(&lat, 0.99) <= 250.0 {
            "met"
        } else {
            "missed"
        }
    );
    println!(
        "| newcomer full sync of {total} changes ({} documents, {:.1} MB store) | {:.2} s ({:.0} changes/s) | copy the store files {:.3} s | {:.1}× | ≤ 10×: {} |",
        target.len(),
        bytes as f64 / 1e6,
        sync.as_secs_f64(),
        total as f64 / sync.as_secs_f64(),
        copy.as_secs_f64(),
        sync.as_secs_f64() / copy.as_secs_f64(),
        if sync.as_secs_f64() <= 10.0 * copy.as_secs_f64() {
            "met"
        } else {
            "missed"
        }
    );
    let ratio = |d: Duration| d.as_secs_f64() / copy.as_secs_f64();
    let verdict = |d: Duration, k: f64| if ratio(d) <= k { "met" } else { "missed" };
    println!(
        "| newcomer fast join: usable (every document readable and writable, not yet verified) | {:.2} s | copy the store files {:.3} s | {:.1}× | ≤ 10×: {} |",
        usable.as_secs_f64(),
        copy.as_secs_f64(),
        ratio(usable),
        verdict(usable, 10.0)
    );
    println!(
        "| newcomer fast join: fully verified | {:.2} s | copy the store files {:.3} s | {:.1}× | ≤ 30×: {} |",
        verified.as_secs_f64(),
        copy.as_secs_f64(),
        ratio(verified),
        verdict(verified, 30.0)
    );
    println!(
        "| where verification goes: {n_all} envelopes as the store serves them, {n_signed} signed, checked alone (2 threads, verify_strict) | {:.2} s | | {:.1}× | — |",
        sig_time.as_secs_f64(),
        ratio(sig_time)
    );
    println!(
        "| where verification goes: a scratch replica's full receive of every change (signatures, authorization, apply) | {:.2} s | | {:.1}× | — |",
        receive_time.as_secs_f64(),
        ratio(receive_time)
    );
    println!(
        "| where verification goes: the verifier's decisions on the loaded snapshots (load, signatures, authorization as of each change's dependencies; `verify_restored`) | {:.2} s | | {:.1}× | — |",
        restored_time.as_secs_f64(),
        ratio(restored_time)
    );
    println!(
        "\n(data set made and stored on node 0 in {:.1} s; newcomer: {:?}; joiner: {:?})",
        loaded.as_secs_f64(),
        net.stats(),
        net_j.stats()
    );
    net_j.shutdown().await.unwrap();
    net.shutdown().await.unwrap();
    for n in nets {
        n.shutdown().await.unwrap();
    }
}
