//! Export the whole change log to a file, import it into a fresh node.

use linli_core::NewDoc;
use linli_node::{ExportError, InitOptions, Node, NodeError};

use crate::util::*;

/// A node with a registry of a few compounds, a wishes document and a refused change.
async fn busy_node(dir: &std::path::Path) -> (Node, District) {
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir).await;
    for i in 0..5 {
        add_compound(&node, registry, &format!("C{i}")).await;
    }
    node.create(NewDoc::Wishes {
        street: org("beishi"),
        community: org("dianye"),
        title: "Dianye wishes".into(),
    })
    .await
    .unwrap();
    // A change by a revoked key: refused, and exported too.
    let mut x = district.replica("hongqi", 1);
    let genesis = x
        .create(
            NewDoc::Wishes {
                street: org("beishi"),
                community: org("hongqi"),
                title: "Hongqi wishes".into(),
            },
            linli_node::system_clock(),
        )
        .unwrap();
    district.root.apply(genesis.clone()).unwrap();
    let revocation = district.revoke(x.author().node, "compromised");
    let late = x
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("hongqi"),
                title: "late".into(),
            },
            linli_node::system_clock(),
        )
        .unwrap();
    node.apply_batch(district.fed_changes()).await.unwrap();
    node.apply(genesis).await.unwrap();
    let _ = revocation;
    assert!(node.apply(late).await.is_err());
    assert_eq!(node.rejected().await.unwrap().len(), 1);
    (node, district)
}

async fn fresh_node(dir: &std::path::Path, district: &District) -> Node {
    // Another identity (a new office PC), same district.
    let init = InitOptions::new(org("dianye"), district.root_id());
    Node::init(dir, init, opts()).await.unwrap()
}

#[tokio::test]
async fn export_then_import_gives_identical_documents() {
    let a_dir = tempfile::tempdir().unwrap();
    let (a, district) = busy_node(a_dir.path()).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("backup.linli");
    let summary = a.export(&file).await.unwrap();
    let st = a.status().await.unwrap();
    assert_eq!(summary.changes, st.log);
    assert_eq!(summary.bytes, std::fs::metadata(&file).unwrap().len());

    let b_dir = tempfile::tempdir().unwrap();
    let b = fresh_node(b_dir.path(), &district).await;
    let report = b.import(&file).await.unwrap();
    assert!(report.complete, "{report:?}");
    assert_eq!(report.problem, None);
    assert_eq!(report.entries, st.log);
    assert_eq!(report.applied, st.accepted);
    assert_eq!(report.refused, 1);
    assert_eq!(report.pending, 0);
    assert!(report.invalid.is_empty());

    assert_eq!(a.documents().await.unwrap(), b.documents().await.unwrap());
    let reasons = |v: Vec<linli_node::RejectedChange>| {
        v.into_iter()
            .map(|r| (r.doc, r.hash, r.signer, r.reason))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        reasons(a.rejected().await.unwrap()),
        reasons(b.rejected().await.unwrap())
    );
    // Importing again changes nothing.
    let again = b.import(&file).await.unwrap();
    assert_eq!(again.duplicates + again.refused, st.log);
    assert_eq!(again.applied, 0);
    let st_b = b.status().await.unwrap();
    assert_eq!(
        (st_b.log, st_b.accepted, st_b.refused),
        (st.log, st.accepted, st.refused)
    );
    // And the imported node keeps it after a restart.
    b.shutdown().await.unwrap();
    let b = Node::open(b_dir.path(), opts()).await.unwrap();
    assert_eq!(a.documents().await.unwrap(), b.documents().await.unwrap());
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn damaged_export_files_import_as_far_as_they_go() {
    let a_dir = tempfile::tempdir().unwrap();
    let (a, district) = busy_node(a_dir.path()).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("backup.linli");
    let summary = a.export(&file).await.unwrap();
    let bytes = std::fs::read(&file).unwrap();

    // Cut short in the middle of an entry.
    let cut = out.path().join("cut.linli");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let b = fresh_node(b_dir.path(), &district).await;
    let report = b.import(&cut).await.unwrap();
    assert!(!report.complete);
    assert!(
        report.problem.as_deref().unwrap().contains("cut short"),
        "{report:?}"
    );
    assert!(
        report.entries > 0 && report.entries < summary.changes,
        "{report:?}"
    );
    // The rest comes with the whole file.
    let report = b.import(&file).await.unwrap();
    assert!(report.complete);
    assert_eq!(a.documents().await.unwrap(), b.documents().await.unwrap());

    // A damaged entry: reported, the others are imported.
    let mut bad = bytes.clone();
    // The first entry starts at 12 (header); its signed change starts at 17: break its
    // version byte.
    bad[17] = 99;
    let bad_file = out.path().join("bad.linli");
    std::fs::write(&bad_file, &bad).unwrap();
    let c_dir = tempfile::tempdir().unwrap();
    let c = fresh_node(c_dir.path(), &district).await;
    let report = c.import(&bad_file).await.unwrap();
    assert_eq!(report.invalid.len(), 1, "{report:?}");
    assert_eq!(report.invalid[0].0, 0);
    assert!(!report.complete, "checksum must not match: {report:?}");
    assert!(report.problem.unwrap().contains("checksum"));
    assert_eq!(report.entries, summary.changes);

    // Not an export file at all.
    let err = c.import(a_dir.path().join("node.key")).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Export(ExportError::NotAnExport(_))),
        "{err}"
    );
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    c.shutdown().await.unwrap();
}
