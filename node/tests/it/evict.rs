//! Documents evicted from memory load back from the store on use: reads, writes, received
//! changes and sync see no difference; the `[store]` settings are checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use linli_core::{Applied, DocId, NewDoc, Timestamp};
use linli_node::config::Config;
use linli_node::{Node, OpenOptions};
use tempfile::TempDir;

use crate::net::{community, eventually_on, in_memory, start_in_memory};
use crate::util::{
    District, add_compound, community_node_with, compound, compound_names, opts, org,
};

/// Which of `docs` are in memory on `node`, and how many documents are.
async fn resident(node: &Node, docs: &[DocId]) -> (Vec<bool>, usize) {
    let docs = docs.to_vec();
    node.read(move |r| {
        let d = r.docs();
        (
            docs.iter().map(|id| d.is_resident(id)).collect(),
            d.resident_len(),
        )
    })
    .await
    .unwrap()
}

async fn registry(node: &Node, title: &str) -> DocId {
    node.create(NewDoc::Registry {
        street: org("beishi"),
        community: org("dianye"),
        title: title.into(),
    })
    .await
    .unwrap()
    .doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_documents_load_back_for_reads_writes_received_changes_and_sync() {
    let mut district = District::new();
    let dir = TempDir::new().unwrap();
    // One document in memory: the federation document, which always stays.
    let one = OpenOptions {
        resident_documents: 1,
        ..opts()
    };
    let (a, reg) = community_node_with(&mut district, dir.path(), one.clone()).await;
    let other = registry(&a, "Second registry").await;
    add_compound(&a, reg, "Dianye No. 1").await;
    add_compound(&a, other, "Other No. 1").await;
    assert_eq!(resident(&a, &[reg, other]).await, (vec![false, false], 1));

    // A read loads the document; it leaves memory again after the command.
    assert_eq!(compound_names(&a, reg).await, vec!["Dianye No. 1"]);
    assert_eq!(resident(&a, &[reg]).await.0, vec![false]);
    // Heads and the list of documents come from what stays in memory.
    let listed = a.documents().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(resident(&a, &[reg, other]).await.0, vec![false, false]);

    // A write to an evicted document.
    add_compound(&a, reg, "Dianye No. 2").await;
    assert_eq!(
        compound_names(&a, reg).await,
        vec!["Dianye No. 1", "Dianye No. 2"]
    );

    // A change received for an evicted document (another node of the community), and the
    // same change again.
    let mut peer = district.replica("dianye", 2);
    // (A learns of the new node's certificate.)
    for r in a.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    for sc in a.changes(reg, vec![]).await.unwrap() {
        peer.apply(sc).unwrap();
    }
    let theirs = peer
        .execute(reg, compound("Dianye No. 3"), a.now())
        .unwrap()
        .change;
    assert!(matches!(
        a.apply(theirs.clone()).await.unwrap(),
        Applied::Applied(_)
    ));
    assert_eq!(resident(&a, &[reg]).await.0, vec![false]);
    assert_eq!(a.apply(theirs).await.unwrap(), Applied::Duplicate);
    assert_eq!(compound_names(&a, reg).await.len(), 3);
    assert_eq!(a.heads(reg).await.unwrap(), peer.heads(reg).unwrap());

    // Sync with a node that evicts nothing: each side gets the other's documents.
    let db = TempDir::new().unwrap();
    let (b, reg_b) = community(&mut district, db.path(), "hongqi").await;
    add_compound(&b, reg_b, "Hongqi Yard").await;
    let net_a = start_in_memory(&a, in_memory(vec![])).await;
    let addrs = net_a.listen_addrs().await.unwrap();
    let net_b = start_in_memory(&b, in_memory(addrs)).await;
    eventually_on(&[&b], "B has A's evicted registries", 30, || async {
        let mine = compound_names(&a, reg).await;
        let theirs = b.compounds(reg).await.ok()?;
        (theirs.len() == mine.len() && b.compounds(other).await.is_ok_and(|c| c.len() == 1))
            .then_some(())
    })
    .await;
    eventually_on(&[&a], "A has B's registry", 30, || async {
        (a.compounds(reg_b).await.ok()?.len() == 1).then_some(())
    })
    .await;
    assert_eq!(resident(&a, &[reg, other, reg_b]).await.1, 1);
    net_a.shutdown().await.unwrap();
    net_b.shutdown().await.unwrap();

    // Reopened with the same budget: everything is there.
    let status = a.status().await.unwrap();
    a.shutdown().await.unwrap();
    let a = Node::open(dir.path(), one).await.unwrap();
    assert_eq!(
        resident(&a, &[reg, other, reg_b]).await,
        (vec![false; 3], 1)
    );
    assert_eq!(a.status().await.unwrap().documents, status.documents);
    assert_eq!(compound_names(&a, reg).await.len(), 3);
    assert_eq!(compound_names(&a, reg_b).await, vec!["Hongqi Yard"]);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn documents_unused_for_idle_secs_leave_memory() {
    let mut district = District::new();
    let dir = TempDir::new().unwrap();
    let now = Arc::new(AtomicI64::new(1_780_000_000_000));
    let clock = now.clone();
    let options = OpenOptions {
        idle_secs: 60,
        clock: Some(Arc::new(move || Timestamp(clock.load(Ordering::SeqCst)))),
        ..opts()
    };
    let (a, reg) = community_node_with(&mut district, dir.path(), options).await;
    add_compound(&a, reg, "Dianye No. 1").await;
    let busy = registry(&a, "Busy").await;
    assert_eq!(resident(&a, &[reg, busy]).await.0, vec![true, true]);
    // The check runs after each command (here `status`) once a period has passed.
    // Within a period: nothing leaves.
    now.fetch_add(30_000, Ordering::SeqCst);
    a.status().await.unwrap();
    assert_eq!(resident(&a, &[reg, busy]).await.0, vec![true, true]);
    // After a period, documents unused in the one before leave (both were used in it).
    now.fetch_add(31_000, Ordering::SeqCst);
    a.status().await.unwrap();
    assert_eq!(resident(&a, &[reg, busy]).await.0, vec![true, true]);
    add_compound(&a, busy, "Busy Yard").await;
    // One more period: the registry left unused goes, the busy one stays.
    now.fetch_add(61_000, Ordering::SeqCst);
    a.status().await.unwrap();
    assert_eq!(resident(&a, &[reg, busy]).await.0, vec![false, true]);
    assert_eq!(compound_names(&a, reg).await, vec!["Dianye No. 1"]);
    assert_eq!(resident(&a, &[reg]).await.0, vec![true]);
    a.shutdown().await.unwrap();
}

#[test]
fn a_bad_store_setting_is_refused_naming_its_key() {
    let path = std::path::Path::new("linli.toml");
    for (text, key) in [
        (
            "[store]\nresident_documents = 0\n",
            "store.resident_documents",
        ),
        ("[store]\nidle_secs = 0\n", "store.idle_secs"),
        (
            "[store]\nresident_documents = \"many\"\n",
            "store.resident_documents",
        ),
        ("[store]\nidle_secs = -5\n", "store.idle_secs"),
    ] {
        let e = Config::parse(path, text).unwrap_err();
        assert_eq!(e.key.as_deref(), Some(key), "{text:?}: {e}");
        assert!(e.to_string().contains(key), "{e}");
    }
    // Good values load, and the file written by init shows the defaults commented.
    let cfg = Config::parse(path, "[store]\nresident_documents = 50\nidle_secs = 600\n").unwrap();
    assert_eq!(cfg.store.resident_documents, 50);
    assert_eq!(cfg.store.idle_secs, 600);
    let text = Config::default().render();
    assert!(text.contains("[store]"), "{text}");
    assert!(text.contains("# resident_documents = 1000"), "{text}");
    assert!(text.contains("# idle_secs = 3600"), "{text}");
    assert_eq!(Config::parse(path, &cfg.render()).unwrap(), cfg);
}
