//! Covered changes at node level: a store keeps the signatures that cover the rest (the
//! newest of each key and every 64th), serves the covered changes, and a node receiving them
//! — by the batched path, from an export, after a restart — holds exactly what was sent.

use linli_core::cert::Role;
use linli_core::{DocId, SignedChange};
use linli_node::{InitOptions, Node, files};

use crate::util::{District, add_compound, community_node, opts, org, secret};

/// Signatures kept in the snapshot of `doc` and changes it holds (bitmap population).
fn kept_signatures(dir: &std::path::Path, doc: DocId) -> Option<(usize, i64)> {
    let c = rusqlite::Connection::open(dir.join(files::DB)).unwrap();
    let (sigs, changes): (Option<Vec<u8>>, i64) = c
        .query_row(
            "SELECT sigs, changes FROM snapshots WHERE doc = ?1",
            [doc.as_bytes().to_vec()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()?;
    let sigs = sigs?;
    let n = usize::try_from(changes).unwrap();
    let unpacked = linli_core::signed::unpack_signatures(&sigs, n).unwrap();
    Some((unpacked.iter().flatten().count(), changes))
}

async fn hongqi_node(district: &mut District, dir: &std::path::Path) -> Node {
    let mut init = InitOptions::new(org("hongqi"), district.root_id());
    init.secret = Some(secret("hongqi", 1));
    let node = Node::init(dir, init, opts()).await.unwrap();
    district.certify(node.node_id(), Role::Community, "hongqi", Some("beishi"));
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    node
}

#[tokio::test]
async fn a_store_keeps_the_covering_signatures_and_serves_covered_changes() {
    let mut district = District::new();
    let a_dir = tempfile::tempdir().unwrap();
    let (a, registry) = community_node(&mut district, a_dir.path()).await;
    for i in 0..200 {
        add_compound(&a, registry, &format!("C{i:03}")).await;
    }
    let heads = a.heads(registry).await.unwrap();
    a.shutdown().await.unwrap();
    // The snapshot (taken every 50 changes) keeps a handful of its 200-odd signatures.
    let (kept, held) = kept_signatures(a_dir.path(), registry).expect("a folded snapshot");
    assert!(held >= 150, "{held}");
    assert!(
        (2..=5).contains(&kept),
        "{kept} signatures kept for {held} changes"
    );

    // Reopened, it serves the covered changes with their covers.
    let a = Node::open(a_dir.path(), opts()).await.unwrap();
    let served: Vec<SignedChange> = a.changes(registry, Vec::new()).await.unwrap();
    assert_eq!(a.heads(registry).await.unwrap(), heads);
    let signed = served.iter().filter(|sc| sc.signature.is_some()).count();
    assert!(signed < served.len() / 10, "{signed} of {}", served.len());
    // Alone, a covered change is dropped: not stored, not refused.
    let b_dir = tempfile::tempdir().unwrap();
    let b = hongqi_node(&mut district, b_dir.path()).await;
    let lone = served.iter().position(|sc| sc.signature.is_none()).unwrap();
    let r = b.apply_batch(served[..=lone].to_vec()).await.unwrap();
    assert!(
        matches!(r[lone], Err(linli_core::Error::Uncovered { .. })),
        "{:?}",
        r[lone]
    );
    let st = b.status().await.unwrap();
    assert_eq!((st.refused, st.pending), (0, 0));
    // Received whole (as a session sends them), every change is accepted.
    for r in b.apply_batch(served.clone()).await.unwrap() {
        assert!(
            matches!(
                r,
                Ok(linli_core::Applied::Applied(_) | linli_core::Applied::Duplicate)
            ),
            "{r:?}"
        );
    }
    assert_eq!(b.heads(registry).await.unwrap(), heads);
    b.shutdown().await.unwrap();
    // The receiver's store holds them covered too, and opens with all of them.
    let b = Node::open(b_dir.path(), opts()).await.unwrap();
    assert_eq!(b.heads(registry).await.unwrap(), heads);
    assert_eq!(b.compounds(registry).await.unwrap().len(), 200);
    b.shutdown().await.unwrap();
    if let Some((kept_b, _)) = kept_signatures(b_dir.path(), registry) {
        assert!(kept_b <= 5, "{kept_b}");
    }
    a.shutdown().await.unwrap();

    // With the default fold on shutdown, a closed store keeps no log tail: 30 more writes
    // are folded into the snapshot with the covering signatures only.
    let folding = linli_node::OpenOptions {
        fold_on_shutdown: true,
        ..opts()
    };
    let a = Node::open(a_dir.path(), folding.clone()).await.unwrap();
    for i in 0..30 {
        add_compound(&a, registry, &format!("D{i:03}")).await;
    }
    let heads = a.heads(registry).await.unwrap();
    a.shutdown().await.unwrap();
    let rows: i64 = rusqlite::Connection::open(a_dir.path().join(files::DB))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM changes WHERE doc = ?1",
            [registry.as_bytes().to_vec()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0);
    let (kept, held) = kept_signatures(a_dir.path(), registry).unwrap();
    assert_eq!(held, 231);
    assert!(kept <= 5, "{kept}");
    let a = Node::open(a_dir.path(), folding).await.unwrap();
    assert_eq!(a.heads(registry).await.unwrap(), heads);
    assert_eq!(a.compounds(registry).await.unwrap().len(), 230);
    a.shutdown().await.unwrap();
}

/// A fast join from a store that keeps only the covering signatures: verified when the
/// covers verify; with the one cover broken, rolled back to what full verification gives
/// (nothing of the document: its changes are covered by nothing valid).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_join_from_covering_signatures_verifies_and_a_broken_cover_is_refused() {
    let mut district = District::new();
    let a_dir = tempfile::tempdir().unwrap();
    let (a, registry) = community_node(&mut district, a_dir.path()).await;
    for i in 0..120 {
        add_compound(&a, registry, &format!("C{i:03}")).await;
    }
    let heads = a.heads(registry).await.unwrap();
    a.shutdown().await.unwrap();
    let a = Node::open(a_dir.path(), opts()).await.unwrap();
    let (bytes, sigs) = a
        .read(move |r| r.snapshot_of(registry))
        .await
        .unwrap()
        .unwrap();
    let held = heads_count(&a, registry).await;
    let present = linli_core::signed::unpack_signatures(&sigs, held)
        .unwrap()
        .iter()
        .flatten()
        .count();
    assert!(present <= 4, "{present} signatures for {held} changes");
    let snap = linli_node::fastjoin::PeerSnapshot {
        doc: registry,
        bytes: bytes.clone(),
        sigs: sigs.clone(),
    };
    for broken in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let b = hongqi_node(&mut district, dir.path()).await;
        let mut s = snap.clone();
        if broken {
            // Every kept signature broken: nothing covers the rest.
            let map = held.div_ceil(8);
            for k in 0..present {
                s.sigs[map + k * 64] ^= 0x55;
            }
        }
        let report = b.fast_join_import(a.node_id(), vec![s]).await.unwrap();
        assert_eq!(report.provisional, vec![registry]);
        crate::net::eventually_on(&[&b], "verification", 60, async || {
            (b.status().await.unwrap().awaiting_verification == 0).then_some(())
        })
        .await;
        let got = b.heads(registry).await.unwrap_or_default();
        if broken {
            assert!(got.is_empty(), "{got:?}");
        } else {
            assert_eq!(got, heads);
            assert_eq!(b.compounds(registry).await.unwrap().len(), 120);
        }
        b.shutdown().await.unwrap();
    }
    a.shutdown().await.unwrap();
}

async fn heads_count(node: &Node, doc: DocId) -> usize {
    node.read(move |r| r.logged(doc)).await.unwrap()
}
