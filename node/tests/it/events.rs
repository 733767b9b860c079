//! Events reach subscribers after the commit.

use linli_core::Applied;
use linli_node::{NodeEvent, Origin};

use crate::util::*;

#[tokio::test]
async fn local_and_remote_writes_reach_every_subscriber() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, registry) = community_node(&mut district, dir.path()).await;
    let mut a = node.subscribe();
    let mut b = node.clone().subscribe();

    let w = node
        .execute(registry, compound("Jinxiu Garden"))
        .await
        .unwrap();
    let hash = w.change.change_hash().unwrap();
    for rx in [&mut a, &mut b] {
        let ev = wait_for(
            rx,
            "local change",
            |e| matches!(e, NodeEvent::DocumentChanged { doc, .. } if *doc == registry),
        )
        .await;
        let NodeEvent::DocumentChanged { heads, origin, .. } = ev else {
            unreachable!()
        };
        assert_eq!(heads, vec![hash]);
        assert_eq!(origin, Origin::Local);
    }

    // A change made by another community arrives from the network.
    let mut hongqi = district.replica("hongqi", 1);
    let new_fed = district.fed_changes();
    node.apply_batch(new_fed).await.unwrap();
    let genesis = hongqi
        .create(
            linli_core::NewDoc::Wishes {
                street: org("beishi"),
                community: org("hongqi"),
                title: "Hongqi wishes".into(),
            },
            linli_node::system_clock(),
        )
        .unwrap();
    assert!(matches!(
        node.apply(genesis.clone()).await.unwrap(),
        Applied::Applied(_)
    ));
    let ev = wait_for(
        &mut a,
        "remote document",
        |e| matches!(e, NodeEvent::DocumentChanged { doc, .. } if *doc == genesis.doc),
    )
    .await;
    assert!(matches!(
        ev,
        NodeEvent::DocumentChanged {
            origin: Origin::Remote,
            ..
        }
    ));
}

#[tokio::test]
async fn peer_state_is_stored_and_announced() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let mut rx = node.subscribe();
    let peer = key("hongqi", 1).node_id();
    node.set_peer_state(peer, b"state-1".to_vec())
        .await
        .unwrap();
    wait_for(
        &mut rx,
        "peer updated",
        |e| matches!(e, NodeEvent::PeerUpdated { peer: p } if *p == peer),
    )
    .await;
    node.set_peer_state(peer, b"state-2".to_vec())
        .await
        .unwrap();
    node.shutdown().await.unwrap();
    let node = linli_node::Node::open(dir.path(), opts()).await.unwrap();
    let peers = node.peers().await.unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].node, peer);
    assert_eq!(peers[0].sync_state, b"state-2");
    node.shutdown().await.unwrap();
}

/// The handle can be shared across tasks and threads.
#[test]
fn node_handle_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<linli_node::Node>();
}
