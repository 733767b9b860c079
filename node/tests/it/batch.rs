//! The batched receive path: a batch of changes from a peer is decided, stored and applied
//! exactly as the same changes received one by one — results, stored statuses and reasons,
//! documents — and reopens to the same state.

use linli_core::registry::{Compound, ManagementMode, RegistryOp};
use linli_core::{Author, DocId, NewDoc, Op, Put, SignedChange};
use linli_node::Node;

use crate::util::*;

/// Hongqi's registry with 40 compounds, sent in causal order, with a forged signature (before
/// the genuine change), a rewrite of a compound by another community (refused by the
/// write policy) and a change built on it (refused as its dependent) in the middle.
fn received(district: &mut District) -> (DocId, Vec<SignedChange>) {
    let mut h = district.replica("hongqi", 1);
    // Certified too, so its change is judged by the write policy.
    let _ = district.replica("xianghe", 1);
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
    let reg = genesis.doc;
    let mut out = vec![genesis];
    for i in 0..40 {
        let op = Op::Registry(RegistryOp::AddCompound(Compound::new(
            &format!("Yard {i}"),
            "2 Hongqi Street",
            80,
            ManagementMode::SelfManaged,
        )));
        let change = h.execute(reg, op, now).unwrap().change;
        if i == 10 {
            let mut forged = change.clone();
            forged.signature.as_mut().expect("signed").0[5] ^= 0x10;
            out.push(forged);
        }
        out.push(change);
        if i == 20 {
            let (id, compound) = h.registry(reg).unwrap().compounds().remove(0);
            let mut doc = h.doc(reg).unwrap().clone();
            let k = key("xianghe", 1);
            doc.set_author(&Author {
                node: k.node_id(),
                incarnation: [0xEE; 8],
                org: org("xianghe"),
            });
            for name in ["Taken Over", "Taken Over Again"] {
                let mut c = compound.clone();
                c.name = name.into();
                let raw = doc
                    .commit(now, "forged", &[Put::new("compounds", id.to_string(), &c)])
                    .unwrap();
                out.push(SignedChange::sign(&k, reg, raw.raw_bytes()).unwrap());
            }
        }
    }
    (reg, out)
}

/// What a node decided and holds.
async fn state(node: &Node, reg: DocId) -> (Vec<String>, Vec<String>, (u64, u64, u64, u64)) {
    let rejected = node
        .rejected()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r.doc,
                hex::encode(r.hash.0),
                r.signer,
                r.reason
            )
        })
        .collect();
    let st = node.status().await.unwrap();
    (
        compound_names(node, reg).await,
        rejected,
        (st.accepted, st.refused, st.pending, st.log),
    )
}

#[tokio::test]
async fn a_received_batch_is_stored_and_applied_as_one_by_one() {
    let mut district = District::new();
    let (reg, changes) = received(&mut district);
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (batched, _) = community_node(&mut district, da.path()).await;
    let (single, _) = community_node(&mut district, db.path()).await;
    for node in [&batched, &single] {
        node.apply_batch(district.fed_changes()).await.unwrap();
    }
    let got: Vec<String> = batched
        .apply_batch(changes.clone())
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{r:?}"))
        .collect();
    let mut want = Vec::new();
    for c in &changes {
        let r = single.apply_batch(vec![c.clone()]).await.unwrap();
        want.extend(r.iter().map(|r| format!("{r:?}")));
    }
    assert_eq!(got, want);
    let errors: Vec<&String> = got.iter().filter(|r| r.starts_with("Err")).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("BadSignature"), "{}", errors[0]);
    assert!(errors[1].contains("Policy"), "{}", errors[1]);
    assert!(errors[2].contains("DependsOnRejected"), "{}", errors[2]);

    let expected = state(&single, reg).await;
    assert_eq!(expected.0.len(), 40);
    assert_eq!(expected.1.len(), 2);
    assert_eq!(state(&batched, reg).await, expected);
    batched.shutdown().await.unwrap();
    let reopened = Node::open(da.path(), opts()).await.unwrap();
    assert_eq!(state(&reopened, reg).await, expected);
    reopened.shutdown().await.unwrap();
    single.shutdown().await.unwrap();
}
