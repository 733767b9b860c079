//! Start-up from snapshots plus the log tail gives the same state as replaying the whole
//! log; a damaged snapshot that folds nothing falls back to replaying its document (and is
//! dropped); a damaged one that folds the log is a damaged store (typed error, nothing
//! changed); a store of schema 5 migrates without loss.

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
    // The snapshots fold the log: most accepted changes have no row of their own.
    let rows: i64 = rusqlite::Connection::open(dir.path().join(files::DB))
        .unwrap()
        .query_row("SELECT count(*) FROM changes WHERE status = 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    let accepted = i64::try_from(from_snapshots.status.accepted).unwrap();
    assert!(rows * 2 < accepted, "{rows} rows for {accepted} accepted");
    // Without snapshots (their changes written back to the log first): the whole log is
    // replayed, to the same state.
    assert_eq!(linli_node::unfold_snapshots(dir.path()).unwrap(), 2);
    let unfolded: i64 = rusqlite::Connection::open(dir.path().join(files::DB))
        .unwrap()
        .query_row("SELECT count(*) FROM changes WHERE status = 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(unfolded, accepted);
    assert_eq!(reopened(dir.path(), registry).await, from_snapshots);
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
    // Snapshots that fold nothing (the log holds every change): a cache of the log.
    linli_node::unfold_snapshots(dir.path()).unwrap();
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

/// Every row of the log and of the snapshots.
fn stored(dir: &Path) -> Vec<Vec<u8>> {
    let c = rusqlite::Connection::open(dir.join(files::DB)).unwrap();
    let mut out = Vec::new();
    for q in [
        "SELECT pos || hex(hash) || hex(bytes) || status || coalesce(reason, '') FROM changes ORDER BY pos",
        "SELECT hex(doc) || pos || hex(bytes) || coalesce(hex(sigs), '') FROM snapshots ORDER BY doc",
    ] {
        let mut st = c.prepare(q).unwrap();
        let rows = st.query_map([], |r| r.get::<_, String>(0)).unwrap();
        out.extend(rows.map(|r| r.unwrap().into_bytes()));
    }
    out
}

/// The store as it was: with a snapshot folding the log damaged, the open fails with a typed
/// error naming the document and changes nothing; repaired, it opens as before.
#[tokio::test]
async fn a_damaged_folded_snapshot_is_a_damaged_store() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, other) = populated(dir.path()).await;
    let good = reopened(dir.path(), registry).await;
    let (mine, theirs) = (hex::encode(registry.0), hex::encode(other.0));
    let kept: Vec<u8> = rusqlite::Connection::open(dir.path().join(files::DB))
        .unwrap()
        .query_row(
            &format!("SELECT bytes FROM snapshots WHERE doc = x'{mine}'"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    for (damage, says) in [
        (
            format!("UPDATE snapshots SET bytes = x'00010203' WHERE doc = x'{mine}'"),
            "is damaged",
        ),
        (
            // A valid save of another document: another number of changes than signatures.
            format!(
                "UPDATE snapshots SET bytes = (SELECT bytes FROM snapshots WHERE doc = x'{theirs}')
                 WHERE doc = x'{mine}'"
            ),
            "is damaged",
        ),
        (
            format!("UPDATE snapshots SET sigs = substr(sigs, 65) WHERE doc = x'{mine}'"),
            "signatures",
        ),
    ] {
        sql(dir.path(), &damage);
        let db = stored(dir.path());
        let err = Node::open(dir.path(), opts()).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(says) && msg.contains(&registry.short()),
            "{msg}"
        );
        assert!(
            matches!(
                err,
                linli_node::NodeError::Store(linli_node::StoreError::Corrupt(_))
            ),
            "{err:?}"
        );
        assert_eq!(stored(dir.path()), db);
        // Repaired: as before.
        let c = rusqlite::Connection::open(dir.path().join(files::DB)).unwrap();
        c.execute(
            &format!("UPDATE snapshots SET bytes = ?1 WHERE doc = x'{mine}'"),
            [&kept],
        )
        .unwrap();
        drop(c);
        if says == "signatures" {
            break;
        }
        assert_eq!(reopened(dir.path(), registry).await, good);
    }
}

/// A store of schema 5 (before snapshots folded the log) opens, migrates, folds at its next
/// snapshot, and holds what it held.
#[tokio::test]
async fn a_schema_5_store_migrates_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, _) = populated(dir.path()).await;
    let good = reopened(dir.path(), registry).await;
    // A new store gives freed pages back (auto_vacuum incremental): few are left after a
    // close (without it, the folded rows' pages stayed free: most of the file).
    let c = rusqlite::Connection::open(dir.path().join(files::DB)).unwrap();
    let vacuum: i64 = c.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)).unwrap();
    let free: i64 = c
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    assert_eq!(vacuum, 2);
    assert!(free * 10 < pages, "{free} free pages of {pages}");
    drop(c);
    // Back to schema 5: every change in the log, no `sigs` column, the index by hash, no
    // provisional documents (schema 7).
    linli_node::unfold_snapshots(dir.path()).unwrap();
    sql(
        dir.path(),
        "ALTER TABLE snapshots DROP COLUMN sigs;
         DROP TABLE provisional;
         CREATE INDEX changes_by_hash ON changes (hash);
         PRAGMA user_version = 5;
         PRAGMA auto_vacuum = NONE;
         VACUUM;",
    );
    let migrated = reopened(dir.path(), registry).await;
    assert_eq!(migrated, good);
    let c = rusqlite::Connection::open(dir.path().join(files::DB)).unwrap();
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let vacuum: i64 = c.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)).unwrap();
    assert_eq!((version, vacuum), (8, 2));
    drop(c);
    // Its next snapshots fold the log.
    let node = Node::open(dir.path(), opts()).await.unwrap();
    for i in 0..60 {
        add_compound(&node, registry, &format!("M{i:03}")).await;
    }
    node.shutdown().await.unwrap();
    let c = rusqlite::Connection::open(dir.path().join(files::DB)).unwrap();
    let folded: i64 = c
        .query_row(
            "SELECT count(*) FROM snapshots WHERE sigs IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(folded >= 1);
    drop(c);
    let after = reopened(dir.path(), registry).await;
    assert_eq!(after.compounds.len(), good.compounds.len() + 60);
}
