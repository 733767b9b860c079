//! Start-up from snapshots plus the log tail gives the same state as replaying the whole
//! log; a damaged snapshot falls back to replaying its document (and is dropped).

use std::path::Path;

use linli_core::{Applied, DocId, NewDoc, Op, SignedChange};
use linli_node::{DocSummary, Node, NodeStatus, files};

use crate::util::*;

/// What must survive a reopen, whichever way the replica is rebuilt.
#[derive(Debug, PartialEq)]
struct State {
    documents: Vec<DocSummary>,
    /// Per document: its accepted signed changes (encoded, so the bytes a restored node
    /// reads back from its store are compared too), sorted.
    changes: Vec<(DocId, Vec<Vec<u8>>)>,
    rejected: Vec<linli_node::RejectedChange>,
    status: NodeStatus,
    compounds: Vec<String>,
}

async fn state(node: &Node, registry: DocId) -> State {
    let mut documents = node.documents().await.unwrap();
    for d in &mut documents {
        d.heads.sort();
    }
    let mut changes = Vec::new();
    for d in &documents {
        let mut hashes: Vec<Vec<u8>> = node
            .changes(d.id, vec![])
            .await
            .unwrap()
            .iter()
            .map(SignedChange::encode)
            .collect();
        hashes.sort();
        changes.push((d.id, hashes));
    }
    State {
        documents,
        changes,
        rejected: node.rejected().await.unwrap(),
        // Without the incarnation, drawn anew on every open.
        status: settled(node.status().await.unwrap()),
        compounds: compound_names(node, registry).await,
    }
}

fn registry_op(name: &str) -> Op {
    compound(name)
}

/// A node with snapshots of two registries, a refused change (after a revocation), its
/// refused dependent and a pending change (missing dependency). Returns the node's own
/// registry and the other community's.
async fn populated(dir: &Path) -> (DocId, DocId) {
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir).await;
    for i in 0..120 {
        add_compound(&node, registry, &format!("C{i:03}")).await;
    }
    // Another community, whose key is revoked after 60 writes.
    let mut h = district.replica("hongqi", 1);
    let now = linli_node::system_clock();
    let genesis = h
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("hongqi"),
                title: "Hongqi compounds".into(),
            },
            now,
        )
        .unwrap();
    let other = genesis.doc;
    let mut written: Vec<SignedChange> = vec![genesis];
    for i in 0..60 {
        written.push(
            h.execute(other, registry_op(&format!("H{i}")), now)
                .unwrap()
                .change,
        );
    }
    for c in &written {
        district.root.apply(c.clone()).unwrap();
    }
    // A third community's change whose dependency never arrives: pending.
    let mut x = district.replica("xinhua", 1);
    let xg = x
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("xinhua"),
                title: "Xinhua compounds".into(),
            },
            now,
        )
        .unwrap();
    let _x1 = x.execute(xg.doc, registry_op("X1"), now).unwrap();
    let x2 = x.execute(xg.doc, registry_op("X2"), now).unwrap();
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    for r in node.apply_batch(written).await.unwrap() {
        assert!(matches!(r.unwrap(), Applied::Applied(_)));
    }
    let revocation = district.revoke(h.author().node, "key lost");
    node.apply(revocation).await.unwrap();
    let b = h.execute(other, registry_op("After"), now).unwrap().change;
    let c = h
        .execute(other, registry_op("After 2"), now)
        .unwrap()
        .change;
    assert!(node.apply(b).await.is_err());
    assert!(node.apply(c).await.is_err());
    node.apply(xg).await.unwrap();
    assert!(matches!(
        node.apply(x2.change).await.unwrap(),
        Applied::Pending(_)
    ));
    let status = node.status().await.unwrap();
    assert!(status.snapshots >= 2, "{status:?}");
    assert_eq!(status.refused, 2);
    assert_eq!(status.pending, 1);
    node.shutdown().await.unwrap();
    (registry, other)
}

fn sql(dir: &Path, stmt: &str) {
    let c = rusqlite::Connection::open(dir.join(files::DB)).unwrap();
    c.execute_batch(stmt).unwrap();
}

async fn reopened(dir: &Path, registry: DocId) -> State {
    let node = Node::open(dir, opts()).await.unwrap();
    let s = state(&node, registry).await;
    node.check_integrity().await.unwrap();
    node.shutdown().await.unwrap();
    s
}

#[tokio::test]
async fn open_from_snapshots_equals_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, _) = populated(dir.path()).await;
    // Opened twice from snapshots: stable.
    let from_snapshots = reopened(dir.path(), registry).await;
    assert_eq!(reopened(dir.path(), registry).await, from_snapshots);
    assert!(from_snapshots.status.snapshots >= 2);
    assert_eq!(from_snapshots.compounds.len(), 120);
    assert_eq!(from_snapshots.rejected.len(), 2);
    // Without snapshots: the whole log is replayed, to the same state.
    sql(dir.path(), "DELETE FROM snapshots");
    let mut replayed = reopened(dir.path(), registry).await;
    assert_eq!(replayed.status.snapshots, 0);
    replayed.status.snapshots = from_snapshots.status.snapshots;
    assert_eq!(replayed, from_snapshots);
}

#[tokio::test]
async fn damaged_snapshots_fall_back_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, other) = populated(dir.path()).await;
    let good = reopened(dir.path(), registry).await;
    // One snapshot holds garbage, the other a valid save of the wrong document.
    let (mine, theirs) = (hex::encode(registry.0), hex::encode(other.0));
    sql(
        dir.path(),
        &format!(
            "UPDATE snapshots SET bytes = (SELECT bytes FROM snapshots WHERE doc = x'{theirs}')
                 WHERE doc = x'{mine}';
             UPDATE snapshots SET bytes = x'00010203' WHERE doc = x'{theirs}';"
        ),
    );
    let mut after = reopened(dir.path(), registry).await;
    // The damaged snapshots were dropped; everything else is as before.
    assert_eq!(after.status.snapshots, good.status.snapshots - 2);
    after.status.snapshots = good.status.snapshots;
    assert_eq!(after, good);
    // Damaged statuses (some accepted changes stored as pending): the store is repaired and
    // the state is the same.
    let dir = tempfile::tempdir().unwrap();
    let (registry, _) = populated(dir.path()).await;
    let good = reopened(dir.path(), registry).await;
    sql(
        dir.path(),
        "UPDATE changes SET status = 1, reason = 'bogus' WHERE status = 0 AND pos % 7 = 3",
    );
    let after = reopened(dir.path(), registry).await;
    let mut same = reopened(dir.path(), registry).await;
    // Repaired for good: the next open finds the same.
    assert_eq!(same, after);
    same.status.snapshots = good.status.snapshots;
    assert_eq!(same, good);
}
