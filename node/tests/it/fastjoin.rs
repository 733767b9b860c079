//! Fast join: a newcomer takes its peer's documents as snapshots, is usable at once, serves
//! nothing of them until they are verified, and ends as a full sync would — a forged
//! change, a change its key may not make and a document outside its audience rolled back or
//! left out, their source reported and dropped; verification resumes after a restart.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use automerge::ChangeHash;
use linli_core::cert::Role;
use linli_core::document::{Author, Put};
use linli_core::registry::{Compound, ManagementMode};
use linli_core::{DocId, NewDoc, NodeId, Replica, SignedChange};
use linli_node::fastjoin::PeerSnapshot;
use linli_node::net::{NetConfig, Network};
use linli_node::{InitOptions, Node, NodeEvent, OpenOptions};
use tempfile::TempDir;

use crate::net::{eventually_on, loopback};
use crate::util::{District, add_compound, compound, compound_names, key, opts, org, secret};

/// Open options with background verification off: fast-joined documents stay provisional.
fn unverified() -> OpenOptions {
    OpenOptions {
        verify_provisional: false,
        ..opts()
    }
}

fn sessions_only(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        fast_join: false,
        ..loopback(bootstrap)
    }
}

/// Node `n` of community dianye, certified, holding only the federation document.
async fn bare(district: &mut District, dir: &Path, n: u8, options: OpenOptions) -> Node {
    let mut init = InitOptions::new(org("dianye"), district.root_id());
    init.secret = Some(secret("dianye", n));
    let node = Node::init(dir, init, options).await.unwrap();
    district.certify(node.node_id(), Role::Community, "dianye", Some("beishi"));
    federate(district, &node).await;
    node
}

/// Gives `node` every federation change issued so far (the ordinary path).
async fn federate(district: &District, node: &Node) {
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
}

async fn awaiting(node: &Node) -> usize {
    node.status().await.unwrap().awaiting_verification
}

async fn heads(node: &Node, doc: DocId) -> Vec<ChangeHash> {
    let mut h = node.heads(doc).await.unwrap_or_default();
    h.sort();
    h
}

async fn holds(node: &Node, doc: DocId) -> bool {
    node.read(move |r| r.docs().contains_key(&doc))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_join_is_usable_at_once_serves_nothing_unverified_and_ends_as_a_full_sync() {
    let mut district = District::new();
    let dirs: Vec<TempDir> = (0..4).map(|_| TempDir::new().unwrap()).collect();
    let (p, reg) = crate::net::community(&mut district, dirs[0].path(), "dianye").await;
    for name in ["Dianye No. 1", "Dianye No. 2", "Shimalu"] {
        add_compound(&p, reg, name).await;
    }
    let n = bare(&mut district, dirs[1].path(), 2, unverified()).await;
    let m = bare(&mut district, dirs[2].path(), 3, opts()).await;
    federate(&district, &p).await;
    federate(&district, &n).await;

    // The newcomer's first contact: snapshots, restored provisionally.
    let net_p = Network::start(p.clone(), loopback(vec![])).await.unwrap();
    let p_addrs = net_p.listen_addrs().await.unwrap();
    let net_n = Network::start(n.clone(), loopback(p_addrs.clone()))
        .await
        .unwrap();
    eventually_on(
        &[&n],
        "the registry restored provisionally",
        60,
        async || (holds(&n, reg).await && awaiting(&n).await == 1).then_some(()),
    )
    .await;
    // Usable: reads (flagged as not yet verified) and a local write.
    assert_eq!(compound_names(&n, reg).await, compound_names(&p, reg).await);
    let status = n.status().await.unwrap();
    assert_eq!(status.awaiting_verification, 1, "{status:?}");
    let mine = add_compound(&n, reg, "Newcomer Yard").await;
    assert!(n.read(move |r| r.is_provisional(reg)).await.unwrap());

    // Nothing of it is served while provisional: a node syncing only with the newcomer
    // gets the federation document, not the registry nor the newcomer's write to it.
    let net_m = Network::start(m.clone(), sessions_only(vec![]))
        .await
        .unwrap();
    let n_addr = net_n.listen_addrs().await.unwrap()[0].clone();
    net_m
        .sync_with(&n_addr, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(!holds(&m, reg).await, "a provisional document was served");
    net_m.shutdown().await.unwrap();

    // A restart keeps it provisional (the mark is stored) …
    net_n.shutdown().await.unwrap();
    n.shutdown().await.unwrap();
    let n = Node::open(dirs[1].path(), unverified()).await.unwrap();
    assert_eq!(awaiting(&n).await, 1);
    assert!(n.read(move |r| r.is_provisional(reg)).await.unwrap());
    n.shutdown().await.unwrap();
    // … and opening with verification on resumes it: everything accepted, so verified.
    let n = Node::open(dirs[1].path(), opts()).await.unwrap();
    eventually_on(&[&n], "verification after a restart", 60, async || {
        (awaiting(&n).await == 0).then_some(())
    })
    .await;
    assert!(compound_names(&n, reg).await.contains(&mine));
    assert!(n.rejected().await.unwrap().is_empty());

    // Verified, it is served: the newcomer's write reaches the peer, and a node joining
    // by full sync (sessions only) holds exactly what the newcomer holds.
    let net_n = Network::start(n.clone(), loopback(p_addrs.clone()))
        .await
        .unwrap();
    eventually_on(
        &[&p, &n],
        "the newcomer's write at the peer",
        60,
        async || (heads(&p, reg).await == heads(&n, reg).await).then_some(()),
    )
    .await;
    let r = bare(&mut district, dirs[3].path(), 4, opts()).await;
    federate(&district, &p).await;
    let net_r = Network::start(r.clone(), sessions_only(vec![]))
        .await
        .unwrap();
    net_r
        .sync_with(&p_addrs[0], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(heads(&r, reg).await, heads(&n, reg).await);
    assert_eq!(compound_names(&r, reg).await, compound_names(&n, reg).await);
    assert!(r.rejected().await.unwrap().is_empty());
    for net in [net_r, net_n, net_p] {
        net.shutdown().await.unwrap();
    }
}

/// The crafted snapshots of the attack, signed with the attacker's own (certified) key.
struct Crafted {
    snapshots: Vec<PeerSnapshot>,
    /// Every change the snapshots hold, as full verification would receive them.
    changes: Vec<SignedChange>,
    dianye_reg: DocId,
    forged: ChangeHash,
    hongqi_reg: DocId,
    overreach: ChangeHash,
    hongqi_wishes: DocId,
}

fn snapshot_of(r: &Replica, doc: DocId) -> PeerSnapshot {
    let (bytes, sigs) = r.snapshot_of(doc).unwrap();
    PeerSnapshot { doc, bytes, sigs }
}

fn sig_index(changes: &[SignedChange], of: &ChangeHash) -> usize {
    let mut hashes: Vec<ChangeHash> = changes.iter().map(|c| c.change_hash().unwrap()).collect();
    hashes.sort_unstable();
    hashes.iter().position(|h| h == of).unwrap()
}

fn craft(district: &mut District) -> Crafted {
    let now = linli_node::system_clock();
    // The attacker's data, written with its own key: a registry with two compounds.
    let mut dy = district.replica("dianye", 1);
    let dianye_reg = dy
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye compounds".into(),
            },
            now,
        )
        .unwrap()
        .doc;
    dy.execute(dianye_reg, compound("Dianye No. 1"), now)
        .unwrap();
    let last = dy.execute(dianye_reg, compound("Shimalu"), now).unwrap();
    let forged = last.change.change_hash().unwrap();
    let dianye_changes = dy.changes(dianye_reg, &[]).unwrap();
    // (1) a forged change: the last compound's signature broken.
    let mut s1 = snapshot_of(&dy, dianye_reg);
    // (Every change's own signature sent, not only the covering ones a store keeps.)
    let i = sig_index(&dianye_changes, &forged);
    let mut by_hash: Vec<&SignedChange> = dianye_changes.iter().collect();
    by_hash.sort_by_key(|c| c.change_hash().unwrap());
    let mut sigs: Vec<_> = by_hash.iter().map(|c| c.signature).collect();
    sigs[i].as_mut().expect("signed").0[0] ^= 0x55;
    s1.sigs = linli_core::signed::pack_signatures(&sigs);

    // Hongqi's registry and wishes, honestly written by hongqi.
    let mut hq = district.replica("hongqi", 1);
    let hongqi_reg = hq
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("hongqi"),
                title: "Hongqi compounds".into(),
            },
            now,
        )
        .unwrap()
        .doc;
    hq.execute(hongqi_reg, compound("Hongqi Yard"), now)
        .unwrap();
    let hongqi_wishes = hq
        .create(
            NewDoc::Wishes {
                street: org("beishi"),
                community: org("hongqi"),
                title: "Hongqi wishes".into(),
            },
            now,
        )
        .unwrap()
        .doc;
    // (2) a change the attacker's key may not make: a compound in hongqi's registry.
    let mut doc = hq.doc(hongqi_reg).unwrap().clone();
    let attacker = key("dianye", 1);
    doc.set_author(&Author {
        node: attacker.node_id(),
        incarnation: [0xEE; 8],
        org: org("dianye"),
    });
    let fake = Compound::new("Annex", "9 Dianye Road", 40, ManagementMode::SelfManaged);
    let raw = doc
        .commit(
            now,
            "overreach",
            &[Put::new("compounds", "hongqi:9", &fake)],
        )
        .unwrap();
    let over = SignedChange::sign(&attacker, hongqi_reg, raw.raw_bytes()).unwrap();
    let overreach = over.change_hash().unwrap();
    let mut hongqi_changes = hq.changes(hongqi_reg, &[]).unwrap();
    hongqi_changes.push(over);
    let mut sorted: Vec<&SignedChange> = hongqi_changes.iter().collect();
    sorted.sort_by_key(|c| c.change_hash().unwrap());
    let s2 = PeerSnapshot {
        doc: hongqi_reg,
        bytes: doc.save(),
        sigs: linli_core::signed::pack_signatures(
            &sorted.iter().map(|c| c.signature).collect::<Vec<_>>(),
        ),
    };
    // (3) a document the newcomer (community dianye) may not receive: hongqi's wishes.
    let s3 = snapshot_of(&hq, hongqi_wishes);
    let mut changes = dianye_changes;
    let mut forged_copy = changes
        .iter()
        .find(|c| c.change_hash().unwrap() == forged)
        .unwrap()
        .clone();
    forged_copy.signature.as_mut().expect("signed").0[0] ^= 0x55;
    changes.retain(|c| c.change_hash().unwrap() != forged);
    changes.push(forged_copy);
    changes.extend(hongqi_changes);
    Crafted {
        snapshots: vec![s1, s2, s3],
        changes,
        dianye_reg,
        forged,
        hongqi_reg,
        overreach,
        hongqi_wishes,
    }
}

/// What full verification of every change of the snapshots gives, on a replica of node
/// `n` of dianye: heads per document and the refused hashes.
fn full_verification(
    district: &District,
    n: u8,
    c: &Crafted,
) -> (Vec<(DocId, Vec<ChangeHash>)>, BTreeSet<ChangeHash>) {
    let mut r = Replica::new(key("dianye", n), [n; 8], org("dianye"), district.root_id());
    r.receive_batch(district.fed_changes());
    r.receive_batch(c.changes.clone());
    let heads = [c.dianye_reg, c.hongqi_reg]
        .into_iter()
        .map(|d| {
            let mut h = r.heads(d).unwrap();
            h.sort();
            (d, h)
        })
        .collect();
    (heads, r.rejected().keys().copied().collect())
}

fn refused_docs(events: &[NodeEvent], source: NodeId) -> BTreeSet<DocId> {
    events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::SnapshotRefused { doc, source: s, .. } if *s == source => Some(*doc),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crafted_snapshot_ends_as_full_verification_decides_and_its_source_is_dropped() {
    let mut district = District::new();
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().unwrap()).collect();
    // The attacker (node 1 of dianye, certified) holds nothing a session would bring.
    let p = bare(&mut district, dirs[0].path(), 1, opts()).await;
    let n = bare(&mut district, dirs[1].path(), 2, opts()).await;
    let m = bare(&mut district, dirs[2].path(), 3, opts()).await;
    let crafted = craft(&mut district);
    for node in [&p, &n, &m] {
        federate(&district, node).await;
    }
    let net_p = Network::start(p.clone(), loopback(vec![])).await.unwrap();
    let mut events = n.subscribe();
    let net_n = Network::start(n.clone(), loopback(net_p.listen_addrs().await.unwrap()))
        .await
        .unwrap();
    crate::util::wait_for(
        &mut events,
        "connected to the attacker",
        |e| matches!(e, NodeEvent::PeerConnected { peer } if *peer == p.node_id()),
    )
    .await;

    // With them, two malformed entries: bytes that are no document, and a snapshot with
    // one signature fewer than its bitmap marks.
    let garbage = DocId([7; 32]);
    let mut short = crafted.snapshots[0].clone();
    short.sigs.truncate(short.sigs.len() - 64);
    let mut sent = crafted.snapshots.clone();
    sent.push(PeerSnapshot {
        doc: garbage,
        bytes: vec![1, 2, 3],
        sigs: Vec::new(),
    });
    sent.push(short);
    let report = n.fast_join_import(p.node_id(), sent).await.unwrap();
    for (doc, needle) in [
        (garbage, "does not load"),
        (crafted.dianye_reg, "signatures do not fit"),
    ] {
        assert!(
            report
                .left_out
                .iter()
                .any(|(d, why)| *d == doc && why.contains(needle)),
            "{needle}: {report:?}"
        );
    }
    assert!(!holds(&n, garbage).await);
    // The foreign document is left out at once; the other two are provisional.
    assert!(
        report
            .left_out
            .iter()
            .any(|(d, why)| *d == crafted.hongqi_wishes && why.contains("may not receive")),
        "{report:?}"
    );
    assert!(!holds(&n, crafted.hongqi_wishes).await);
    let provisional: BTreeSet<DocId> = report.provisional.iter().copied().collect();
    assert_eq!(
        provisional,
        BTreeSet::from([crafted.dianye_reg, crafted.hongqi_reg])
    );

    // Verification rolls both back; each refusal names the source, which is dropped.
    let mut seen = Vec::new();
    let mut dropped = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while refused_docs(&seen, p.node_id()).len() < 4 || dropped.is_none() {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the refusals and the drop within 60 s")
            .unwrap();
        if let NodeEvent::PeerDropped { peer, reason } = &ev
            && *peer == p.node_id()
        {
            dropped = Some(reason.clone());
        }
        seen.push(ev);
    }
    assert_eq!(
        refused_docs(&seen, p.node_id()),
        BTreeSet::from([
            crafted.dianye_reg,
            crafted.hongqi_reg,
            crafted.hongqi_wishes,
            garbage
        ])
    );
    assert!(
        dropped.as_deref().unwrap().contains("snapshot was refused"),
        "{dropped:?}"
    );
    assert_eq!(awaiting(&n).await, 0);

    // What full verification of the same changes gives: the same heads, the same refusal;
    // the forged change is neither held nor stored.
    let (want_heads, want_refused) = full_verification(&district, 2, &crafted);
    for (doc, h) in &want_heads {
        assert_eq!(&heads(&n, *doc).await, h, "document {}", doc.short());
    }
    assert!(want_refused.contains(&crafted.overreach));
    let stored: BTreeSet<ChangeHash> = n
        .rejected()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.hash)
        .collect();
    assert!(stored.contains(&crafted.overreach), "{stored:?}");
    assert!(!stored.contains(&crafted.forged));
    let forged = crafted.forged;
    assert!(!n.read(move |r| r.has_change(&forged)).await.unwrap());
    assert_eq!(
        compound_names(&n, crafted.dianye_reg).await,
        ["Dianye No. 1"]
    );

    // What it serves onward is the verified result only.
    let net_m = Network::start(m.clone(), sessions_only(vec![]))
        .await
        .unwrap();
    let n_addr = net_n.listen_addrs().await.unwrap()[0].clone();
    net_m
        .sync_with(&n_addr, Duration::from_secs(30))
        .await
        .unwrap();
    for (doc, h) in &want_heads {
        assert_eq!(&heads(&m, *doc).await, h, "document {} at m", doc.short());
    }
    assert!(!m.read(move |r| r.has_change(&forged)).await.unwrap());
    assert!(!holds(&m, crafted.hongqi_wishes).await);

    // The store agrees with memory: reopened, the same.
    for net in [net_m, net_n, net_p] {
        net.shutdown().await.unwrap();
    }
    n.shutdown().await.unwrap();
    let n = Node::open(dirs[1].path(), opts()).await.unwrap();
    for (doc, h) in &want_heads {
        assert_eq!(&heads(&n, *doc).await, h);
    }
    assert_eq!(awaiting(&n).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_provisional_phase_resumes_verification_and_keeps_own_writes() {
    let mut district = District::new();
    let dir = TempDir::new().unwrap();
    let n = bare(&mut district, dir.path(), 2, unverified()).await;
    let crafted = craft(&mut district);
    federate(&district, &n).await;
    let forged_doc = crafted.dianye_reg;
    let report = n
        .fast_join_import(
            key("dianye", 1).node_id(),
            vec![crafted.snapshots[0].clone()],
        )
        .await
        .unwrap();
    assert_eq!(report.provisional, vec![forged_doc]);
    // While provisional, the forged compound reads (it is not verified yet) and the node
    // writes on top of the document.
    assert_eq!(
        compound_names(&n, forged_doc).await,
        ["Dianye No. 1", "Shimalu"]
    );
    let mine = add_compound(&n, forged_doc, "Newcomer Yard").await;
    n.shutdown().await.unwrap();

    // Reopened without verification: still provisional, nothing passes for verified.
    let n = Node::open(dir.path(), unverified()).await.unwrap();
    assert_eq!(awaiting(&n).await, 1);
    assert!(n.read(move |r| r.is_provisional(forged_doc)).await.unwrap());
    n.shutdown().await.unwrap();

    // Reopened with verification: rolled back to what full verification gives; the
    // node's own write, made meanwhile, re-applied through the normal path (it depends on
    // the forged change, so it waits for it, as it would after a full sync).
    let n = Node::open(dir.path(), opts()).await.unwrap();
    eventually_on(&[&n], "the rollback after a restart", 60, async || {
        (awaiting(&n).await == 0).then_some(())
    })
    .await;
    let (want_heads, _) = full_verification(&district, 2, &crafted);
    let want = want_heads
        .iter()
        .find(|(d, _)| *d == forged_doc)
        .unwrap()
        .1
        .clone();
    assert_eq!(heads(&n, forged_doc).await, want);
    let names = compound_names(&n, forged_doc).await;
    assert_eq!(names, ["Dianye No. 1"]);
    assert!(!names.contains(&mine));
    let status = n.status().await.unwrap();
    assert_eq!(
        status.pending, 1,
        "the own write waits for its dependency: {status:?}"
    );
    n.shutdown().await.unwrap();
    // And so it stays.
    let n = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(heads(&n, forged_doc).await, want);
    assert_eq!(awaiting(&n).await, 0);
}
