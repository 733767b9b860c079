//! The stored status of changes (accepted, pending, refused with reason) follows what
//! linli-core decides, also when a later change (a revocation, a missing dependency, a
//! certificate) changes an earlier decision, and survives a restart.

use linli_core::registry::{Compound, ManagementMode, RegistryOp};
use linli_core::{Applied, DocId, Error as CoreError, NewDoc, Op, Replica, SignedChange};
use linli_node::{Node, NodeError, NodeEvent};

use crate::util::*;

/// Another community (`hongqi`) writing its own registry.
struct Hongqi {
    replica: Replica,
    registry: DocId,
    genesis: SignedChange,
}

impl Hongqi {
    fn new(district: &mut District) -> Hongqi {
        let mut replica = district.replica("hongqi", 1);
        let genesis = replica
            .create(
                NewDoc::Registry {
                    street: org("beishi"),
                    community: org("hongqi"),
                    title: "Hongqi compounds".into(),
                },
                linli_node::system_clock(),
            )
            .unwrap();
        Hongqi {
            registry: genesis.doc,
            replica,
            genesis,
        }
    }

    fn add(&mut self, name: &str) -> SignedChange {
        let op = Op::Registry(RegistryOp::AddCompound(Compound::new(
            name,
            "2 Hongqi Street",
            80,
            ManagementMode::SelfManaged,
        )));
        self.replica
            .execute(self.registry, op, linli_node::system_clock())
            .unwrap()
            .change
    }
}

fn refused_reason(r: Result<Applied, NodeError>) -> String {
    match r {
        Err(NodeError::Core(CoreError::Rejected(rej))) => rej.reason.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn refused_changes_persist_with_reasons_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let mut h = Hongqi::new(&mut district);
    node.apply_batch(district.fed_changes()).await.unwrap();
    let a = h.add("Old Yard");
    // The root has seen the genesis and A, then revokes hongqi's key.
    district.root.apply(h.genesis.clone()).unwrap();
    district.root.apply(a.clone()).unwrap();
    let revocation = district.revoke(h.replica.author().node, "key lost");
    // Hongqi, unaware, writes on.
    let b = h.add("After Revocation");
    let c = h.add("Depends On B");

    let mut events = node.subscribe();
    node.apply(h.genesis.clone()).await.unwrap();
    node.apply(a).await.unwrap();
    node.apply(revocation).await.unwrap();
    let why_b = refused_reason(node.apply(b.clone()).await);
    assert!(why_b.contains("revoked"), "{why_b}");
    let why_c = refused_reason(node.apply(c.clone()).await);
    let ev = wait_for(&mut events, "rejection of B", |e| {
        matches!(e, NodeEvent::ChangeRejected { hash, .. } if *hash == b.change_hash().unwrap())
    })
    .await;
    let NodeEvent::ChangeRejected { reason, signer, .. } = ev else {
        unreachable!()
    };
    assert_eq!(reason, why_b);
    assert_eq!(signer, h.replica.author().node);
    // Sent again: still refused, stored once.
    refused_reason(node.apply(b.clone()).await);

    let check = |node: Node| {
        let (b, c, why_b, why_c) = (b.clone(), c.clone(), why_b.clone(), why_c.clone());
        let registry = h.registry;
        async move {
            let rejected = node.rejected().await.unwrap();
            assert_eq!(rejected.len(), 2, "{rejected:?}");
            assert_eq!(rejected[0].hash, b.change_hash().unwrap());
            assert_eq!(rejected[0].reason, why_b);
            assert_eq!(rejected[1].hash, c.change_hash().unwrap());
            assert_eq!(rejected[1].reason, why_c);
            assert_eq!(compound_names(&node, registry).await, ["Old Yard"]);
            let st = node.status().await.unwrap();
            assert_eq!(st.refused, 2);
            assert_eq!(st.pending, 0);
            assert_eq!(st.accepted + 2, st.log);
            node
        }
    };
    let node = check(node).await;
    node.shutdown().await.unwrap();
    let node = Node::open(dir.path(), opts()).await.unwrap();
    let node = check(node).await;
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn revocation_arriving_later_refuses_stored_accepted_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let mut h = Hongqi::new(&mut district);
    node.apply_batch(district.fed_changes()).await.unwrap();
    let a = h.add("Old Yard");
    district.root.apply(h.genesis.clone()).unwrap();
    district.root.apply(a.clone()).unwrap();
    let revocation = district.revoke(h.replica.author().node, "key lost");
    let b = h.add("After Revocation");

    // This node gets B before the revocation: accepted for now.
    for r in node
        .apply_batch(vec![h.genesis.clone(), a, b.clone()])
        .await
        .unwrap()
    {
        assert!(matches!(r, Ok(Applied::Applied(_))), "{r:?}");
    }
    assert_eq!(
        compound_names(&node, h.registry).await,
        ["After Revocation", "Old Yard"]
    );
    let mut events = node.subscribe();
    node.apply(revocation).await.unwrap();
    wait_for(&mut events, "rejection of B", |e| {
        matches!(e, NodeEvent::ChangeRejected { hash, .. } if *hash == b.change_hash().unwrap())
    })
    .await;
    let ev = wait_for(
        &mut events,
        "rebuilt registry",
        |e| matches!(e, NodeEvent::DocumentChanged { doc, .. } if *doc == h.registry),
    )
    .await;
    let NodeEvent::DocumentChanged { heads, .. } = ev else {
        unreachable!()
    };
    assert_eq!(heads, node.heads(h.registry).await.unwrap());
    assert_eq!(compound_names(&node, h.registry).await, ["Old Yard"]);
    let rejected = node.rejected().await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].reason.contains("revoked"),
        "{}",
        rejected[0].reason
    );
    let before = node.status().await.unwrap();
    assert_eq!(before.refused, 1);
    node.shutdown().await.unwrap();

    let node = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(settled(node.status().await.unwrap()), settled(before));
    assert_eq!(compound_names(&node, h.registry).await, ["Old Yard"]);
    assert_eq!(node.rejected().await.unwrap(), rejected);
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn pending_changes_are_stored_and_applied_when_their_dependencies_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let mut h = Hongqi::new(&mut district);
    node.apply_batch(district.fed_changes()).await.unwrap();
    let a = h.add("Old Yard");
    // A arrives before the genesis of its document: it waits, and is stored.
    assert!(matches!(
        node.apply(a.clone()).await.unwrap(),
        Applied::Pending(_)
    ));
    assert_eq!(node.status().await.unwrap().pending, 1);
    node.shutdown().await.unwrap();
    let node = Node::open(dir.path(), opts()).await.unwrap();
    let st = node.status().await.unwrap();
    assert_eq!((st.pending, st.waiting_in_replica), (1, 1));
    let mut events = node.subscribe();
    let applied = node.apply(h.genesis.clone()).await.unwrap();
    assert_eq!(
        applied,
        Applied::Applied(vec![
            h.genesis.change_hash().unwrap(),
            a.change_hash().unwrap()
        ])
    );
    wait_for(
        &mut events,
        "registry arrived",
        |e| matches!(e, NodeEvent::DocumentChanged { doc, .. } if *doc == h.registry),
    )
    .await;
    let st = node.status().await.unwrap();
    assert_eq!((st.pending, st.refused, st.accepted), (0, 0, st.log));
    node.shutdown().await.unwrap();
    let node = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(settled(node.status().await.unwrap()), settled(st));
    assert_eq!(compound_names(&node, h.registry).await, ["Old Yard"]);
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn changes_waiting_for_a_certificate_are_applied_when_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _) = community_node(&mut district, dir.path()).await;
    // Hongqi is certified after this node last synced the federation document.
    let mut h = Hongqi::new(&mut district);
    let a = h.add("Old Yard");
    for r in node
        .apply_batch(vec![h.genesis.clone(), a.clone()])
        .await
        .unwrap()
    {
        assert!(
            matches!(r, Ok(Applied::AwaitingCertificate(_) | Applied::Pending(_))),
            "{r:?}"
        );
    }
    assert_eq!(node.status().await.unwrap().pending, 2);
    let mut events = node.subscribe();
    node.apply_batch(district.fed_changes()).await.unwrap();
    wait_for(
        &mut events,
        "registry accepted",
        |e| matches!(e, NodeEvent::DocumentChanged { doc, .. } if *doc == h.registry),
    )
    .await;
    assert_eq!(compound_names(&node, h.registry).await, ["Old Yard"]);
    let st = node.status().await.unwrap();
    assert_eq!((st.pending, st.accepted), (0, st.log));
    node.shutdown().await.unwrap();
    let node = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(settled(node.status().await.unwrap()), settled(st));
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn forged_changes_are_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut district = District::new();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let h = Hongqi::new(&mut district);
    node.apply_batch(district.fed_changes()).await.unwrap();
    let log = node.status().await.unwrap().log;
    let mut forged = h.genesis.clone();
    forged.signature.as_mut().expect("signed").0[0] ^= 1;
    let err = node.apply(forged).await.unwrap_err();
    assert!(
        matches!(err, NodeError::Core(CoreError::Envelope(_))),
        "{err}"
    );
    let mut garbage = h.genesis.clone();
    garbage.change = vec![1, 2, 3];
    assert!(node.apply(garbage).await.is_err());
    assert_eq!(node.status().await.unwrap().log, log);
    assert!(node.rejected().await.unwrap().is_empty());
    // The genuine change is not blocked by the forgeries.
    assert!(matches!(
        node.apply(h.genesis).await.unwrap(),
        Applied::Applied(_)
    ));
    node.shutdown().await.unwrap();
}
