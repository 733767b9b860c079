//! `Replica::verify_restored` against the full receive it replaces
//! (`Replica::verify_by_receive`): on honest snapshots and crafted ones (forged signatures,
//! unauthorized changes and their dependents, changes of revoked keys, equivocation,
//! backdating, duplicates, a change signed for another document), document after document
//! on one replica, the verdict, its reason and the replica's whole state after each document
//! are the same.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash};
use proptest::prelude::*;

use super::RestoredVerdict;
use crate::batch_tests::{Forger, Outcome, outcome, own, workload};
use crate::document::{Put, actor_node};
use crate::identity::Signature;
use crate::ids::DocId;
use crate::replica::Replica;
use crate::signed::SignedChange;
use crate::testutil::{fed_id, ledger_of, patrol, replica, root, scope};

/// A document as a peer serves it for a fast join: saved automerge document and one
/// signature per change it holds.
#[derive(Debug, Clone)]
struct Snapshot {
    doc: DocId,
    bytes: Vec<u8>,
    sigs: HashMap<ChangeHash, Option<Signature>>,
}

impl Snapshot {
    /// What a crafting peer serves: every change of `doc` among `changes` that automerge
    /// takes, accepted or not, each with the signature of one of its copies (the first, or
    /// the last when bit `i % 64` of `pick` is set for its `i`-th copy).
    fn crafted(doc: DocId, changes: &[SignedChange], pick: u64) -> Snapshot {
        let mut am = Automerge::new();
        let mut sigs: HashMap<ChangeHash, Option<Signature>> = HashMap::new();
        for (i, sc) in changes.iter().filter(|c| c.doc == doc).enumerate() {
            let Ok(c) = automerge::Change::from_bytes(sc.change.clone()) else {
                continue;
            };
            let take = pick >> (i % 64) & 1 == 1;
            sigs.entry(c.hash())
                .and_modify(|s| {
                    if take {
                        *s = sc.signature;
                    }
                })
                .or_insert(sc.signature);
            let mut next = am.clone();
            if next.apply_changes([c]).is_ok() {
                am = next;
            }
        }
        Snapshot {
            doc,
            bytes: am.save(),
            sigs,
        }
    }

    /// What an honest peer serves: its document and the signatures of its log.
    fn honest(from: &Replica, doc: DocId) -> Snapshot {
        let sigs = from
            .changes(doc, &[])
            .unwrap()
            .into_iter()
            .map(|sc| (sc.change_hash().unwrap(), sc.signature))
            .collect();
        Snapshot {
            doc,
            bytes: from.doc(doc).unwrap().save(),
            sigs,
        }
    }

    /// The signed changes it holds in causal order, with their hashes, and its heads — as
    /// the node rebuilds them from a snapshot (`fold::regenerate_with_heads`).
    fn regenerate(&self) -> (Vec<(ChangeHash, SignedChange)>, Vec<ChangeHash>) {
        let am = Automerge::load(&self.bytes).unwrap();
        let changes = am
            .get_changes(&[])
            .into_iter()
            .map(|c| {
                let hash = c.hash();
                let sc = SignedChange {
                    doc: self.doc,
                    change: c.raw_bytes().to_vec(),
                    signer: actor_node(c.actor_id()).unwrap(),
                    signature: self.sigs[&hash],
                };
                (hash, sc)
            })
            .collect();
        (changes, am.get_heads())
    }
}

/// Everything a replica holds and decided, to compare two replicas.
#[derive(Debug, PartialEq)]
struct State {
    /// Documents, heads, logs, refusals, waiting sets.
    held: Outcome,
    catalog: String,
    equivocators: String,
}

impl State {
    fn of(r: &Replica) -> State {
        State {
            held: outcome(r, &[]),
            catalog: format!("{:?}", r.catalog()),
            equivocators: format!("{:?}", r.equivocators()),
        }
    }

    /// The first part where `self` and `other` differ.
    fn differs(&self, other: &State) -> Option<&'static str> {
        [
            (
                "documents, logs, refusals or waiting sets",
                self.held == other.held,
            ),
            ("catalog", self.catalog == other.catalog),
            ("equivocators", self.equivocators == other.equivocators),
        ]
        .into_iter()
        .find(|(_, same)| !same)
        .map(|(what, _)| what)
    }
}

/// Verifies `snapshots` in turn on two replicas that received `federation`, one by the full
/// receive, one by `verify_restored` (the node's way: by the full receive when the snapshot
/// does not load as its document); asserts the verdicts and states are equal after each,
/// and returns the verdicts.
fn both_ways(federation: &[SignedChange], snapshots: &[Snapshot]) -> Vec<RestoredVerdict> {
    let mut old = replica("beishi", 9);
    let mut new = old.clone();
    old.receive_batch(federation.to_vec());
    new.receive_batch(federation.to_vec());
    let mut verdicts = Vec::new();
    for s in snapshots {
        let (changes, heads) = s.regenerate();
        let expected = old.verify_by_receive(s.doc, changes.clone(), heads.clone());
        let got = match Replica::load_restored(s.doc, &s.bytes) {
            Ok(d) => new.verify_restored(d, changes),
            Err(_) => new.verify_by_receive(s.doc, changes, heads),
        };
        assert_eq!(got, expected, "document {}", s.doc);
        if let Some(what) = State::of(&new).differs(&State::of(&old)) {
            panic!("after document {}: the {what} differ", s.doc);
        }
        verdicts.push(got);
    }
    verdicts
}

/// A receiver's replica after `changes` one by one (an honest peer).
fn received(changes: &[SignedChange]) -> Replica {
    let mut r = replica("beishi", 8);
    for c in changes {
        let _ = r.apply(c.clone());
    }
    r
}

/// The documents `changes` write other than the federation document, in order of id.
fn docs_of(changes: &[SignedChange]) -> Vec<DocId> {
    let mut docs: Vec<DocId> = changes
        .iter()
        .map(|c| c.doc)
        .filter(|d| *d != fed_id())
        .collect();
    docs.sort();
    docs.dedup();
    docs
}

/// For each document: honest or crafted (bit `i` of `honest`), in the order `order` shifts.
fn snapshots(changes: &[SignedChange], honest: u64, pick: u64, order: usize) -> Vec<Snapshot> {
    let peer = received(changes);
    let mut docs = docs_of(changes);
    if !docs.is_empty() {
        let n = order % docs.len();
        docs.rotate_left(n);
    }
    docs.iter()
        .enumerate()
        .map(|(i, d)| {
            if honest >> (i % 64) & 1 == 1 && peer.doc(*d).is_ok() {
                Snapshot::honest(&peer, *d)
            } else {
                Snapshot::crafted(*d, changes, pick)
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The batched receive's workload: forged signatures, unauthorized changes and their
    /// dependents, duplicates, a change signed for another document.
    #[test]
    fn a_restored_document_is_decided_as_its_full_receive(
        steps in proptest::collection::vec((any::<u8>(), any::<u8>()), 0..60),
        honest in any::<u64>(),
        pick in any::<u64>(),
        order in any::<usize>(),
    ) {
        let changes = workload(&steps);
        both_ways(&[], &snapshots(&changes, honest, pick, order));
    }

    /// The revocation property test's histories: revocations (concurrent ones included),
    /// forged and hostile certificates, equivocation, backdating, forged changes.
    #[test]
    fn a_restored_document_is_decided_as_its_full_receive_under_revocations(
        steps in proptest::collection::vec(crate::revocation_tests::step(), 1..30),
        honest in any::<u64>(),
        pick in any::<u64>(),
        order in any::<usize>(),
    ) {
        let (universe, _) = crate::revocation_tests::run_history(&steps);
        // The federation first, as the verifier receives it (the receive path orders it).
        let federation: Vec<SignedChange> = received(&universe)
            .changes(fed_id(), &[])
            .unwrap();
        both_ways(&federation, &snapshots(&universe, honest, pick, order));
    }
}

/// Each kind of bad snapshot is refused for what is wrong with it, as the full receive
/// refuses it, and an honest one after them is still verified.
#[test]
fn crafted_snapshots_are_refused_as_the_full_receive_refuses_them() {
    let mut c = replica("dianye", 1);
    let led = ledger_of(&mut c, "dianye");
    let genuine: Vec<SignedChange> = (1..=8)
        .map(|i| patrol(&mut c, led, &format!("dianye:{i}")))
        .collect();
    let mut all = c.changes(led, &[]).unwrap();
    let honest = Snapshot::honest(&c, led);

    // A forged signature on the fifth change.
    let mut forged = honest.clone();
    let bad = genuine[4].change_hash().unwrap();
    forged
        .sigs
        .get_mut(&bad)
        .unwrap()
        .as_mut()
        .expect("signed")
        .0[3] ^= 1;

    // Another community's write into dianye's ledger, and a change built on it.
    let entry = c.ledger(led).unwrap().entries()[0].1.clone();
    let mut entry = entry;
    entry.issuer = scope("beishi/hongqi");
    let mut f = Forger::new(c.doc(led).unwrap(), "hongqi", 1);
    let intruder: Vec<SignedChange> = (1..=2)
        .map(|k| {
            f.write(&[Put {
                map: "entries",
                key: own("hongqi", 1, k),
                value: serde_json::to_string(&entry).unwrap(),
            }])
        })
        .collect();
    all.extend(intruder.iter().cloned());
    let unauthorized = Snapshot::crafted(led, &all, 0);

    // Changes of a key the root revoked before any of its changes reached it.
    let mut d2 = replica("dianye", 2);
    let led2 = ledger_of(&mut d2, "dianye");
    for i in 1..=5 {
        patrol(&mut d2, led2, &format!("dianye:{i}"));
    }
    let revoked = Snapshot::honest(&d2, led2);
    let mut r = root();
    let revocation = r
        .execute(
            fed_id(),
            crate::replica::Op::Federation(crate::federation::FederationOp::Revoke {
                subject: crate::testutil::node("dianye", 2),
                reason: "key leaked".into(),
                certs: None,
            }),
            crate::testutil::now(),
        )
        .unwrap()
        .change;

    // A snapshot whose document is not the one it claims.
    let mut elsewhere = honest.clone();
    elsewhere.doc = led2;

    // Each on a replica of its own (the ledger is not held yet), then all on one.
    let all = [forged, unauthorized, revoked, elsewhere, honest];
    let verdicts: Vec<RestoredVerdict> = all
        .iter()
        .flat_map(|s| both_ways(std::slice::from_ref(&revocation), std::slice::from_ref(s)))
        .collect();
    both_ways(std::slice::from_ref(&revocation), &all);
    let reason = |v: &RestoredVerdict| match v {
        RestoredVerdict::Refused { reason, .. } => reason.clone(),
        RestoredVerdict::Verified => "verified".into(),
    };
    assert_eq!(
        verdicts[0],
        RestoredVerdict::Refused {
            forged: vec![bad],
            reason: reason(&verdicts[0]),
        }
    );
    assert!(
        reason(&verdicts[0]).contains(&bad.to_string()),
        "{verdicts:?}"
    );
    let refused = intruder[0].change_hash().unwrap();
    assert!(
        reason(&verdicts[1]).starts_with(&format!("change {refused}")),
        "{verdicts:?}"
    );
    assert!(reason(&verdicts[1]).contains("hongqi"), "{verdicts:?}");
    assert!(reason(&verdicts[2]).contains("key leaked"), "{verdicts:?}");
    assert!(
        matches!(verdicts[3], RestoredVerdict::Refused { .. }),
        "{verdicts:?}"
    );
    assert_eq!(verdicts[4], RestoredVerdict::Verified);
}
