//! Property tests of the batched receive path: a set of changes received in one batch (or in
//! batches of any sizes) gives exactly what receiving them one by one in the same order gives
//! — every result, the accepted changes, the refusals and their reasons, what waits, and the
//! documents — with forged signatures, unauthorized changes and their dependents, duplicates
//! and out-of-order deliveries mixed in.

use std::collections::BTreeMap;

use automerge::ChangeHash;
use proptest::prelude::*;

use crate::document::{Author, Document, Put};
use crate::identity::Keypair;
use crate::ids::DocId;
use crate::replica::{Applied, Error, NewDoc, Op, Replica};
use crate::signed::SignedChange;
use crate::testutil::{key, ledger_of, node, org, patrol, replica, scope, send, t};
use crate::wishes::{Channel, ItemKind, WishesOp};

/// Writes raw changes with the key of node `n` of `o` on its own copy of a document,
/// bypassing the write-side checks (an attacker's node).
pub(crate) struct Forger {
    doc: Document,
    key: Keypair,
}

impl Forger {
    pub(crate) fn new(base: &Document, o: &str, n: u8) -> Self {
        let mut doc = base.clone();
        doc.set_author(&Author {
            node: node(o, n),
            incarnation: [0xEE; 8],
            org: org(o),
        });
        Forger {
            doc,
            key: key(o, n),
        }
    }

    pub(crate) fn write(&mut self, puts: &[Put]) -> SignedChange {
        let c = self
            .doc
            .commit(t("2026-06-01T11:00:00+08:00"), "forged", puts)
            .unwrap();
        SignedChange::sign(&self.key, self.doc.id(), c.raw_bytes()).unwrap()
    }
}

/// A record key numbered by the forger node `n` of `o`.
pub(crate) fn own(o: &str, n: u8, k: u64) -> String {
    let a = Author {
        node: node(o, n),
        incarnation: [0xEE; 8],
        org: org(o),
    };
    format!("{o}@{}:{k}", hex::encode(a.tag()))
}

/// The changes a receiver gets: the community's ledger and wishes, a unit's claims, and bad
/// changes made along the way (in the order they were made, bad ones where they were made).
pub(crate) fn workload(steps: &[(u8, u8)]) -> Vec<SignedChange> {
    let mut c = replica("dianye", 1);
    let mut unit = replica("power-co", 5);
    let led = ledger_of(&mut c, "dianye");
    let wis = c
        .create(
            NewDoc::Wishes {
                street: org("beishi"),
                community: org("dianye"),
                title: "w".into(),
            },
            t("2026-06-01T10:00:00+08:00"),
        )
        .unwrap()
        .doc;
    let mut out: Vec<SignedChange> = [led, wis]
        .iter()
        .flat_map(|d| c.changes(*d, &[]).unwrap())
        .collect();
    let mut forged = 0u64;
    for (i, &(what, a)) in steps.iter().enumerate() {
        match what % 10 {
            0..=3 => out.push(patrol(&mut c, led, &format!("dianye:{}", a % 7 + 1))),
            4 => out.push(
                c.execute(
                    wis,
                    Op::Wishes(WishesOp::Post {
                        kind: ItemKind::Wish,
                        title: format!("wish {i}"),
                        text: String::new(),
                        category: "c".into(),
                        channel: Channel::Forum,
                        place: None,
                        resident: None,
                    }),
                    t("2026-06-01T10:00:00+08:00"),
                )
                .unwrap()
                .change,
            ),
            5 => {
                send(&c, &mut unit);
                let items = unit.wishes(wis).unwrap().items();
                if let Some((w, _)) = items.get(usize::from(a) % items.len().max(1)) {
                    let claim = unit
                        .execute(
                            wis,
                            Op::Wishes(WishesOp::Claim {
                                wish: w.clone(),
                                volunteer: None,
                                note: String::new(),
                            }),
                            t("2026-06-01T10:30:00+08:00"),
                        )
                        .unwrap()
                        .change;
                    c.apply(claim.clone()).unwrap();
                    out.push(claim);
                }
            }
            6 => {
                // A forged signature on a copy of a genuine change, sent before it and, for
                // odd `a`, after it again.
                let genuine = patrol(&mut c, led, "dianye:1");
                let mut bad = genuine.clone();
                bad.signature.as_mut().expect("signed").0[usize::from(a) % 64] ^= 1 << (a % 8);
                out.push(bad.clone());
                out.push(genuine);
                if a % 2 == 1 {
                    out.push(bad);
                }
            }
            7 | 8 => {
                // Another community writes into dianye's ledger (refused by the policy), and,
                // for 8, builds a second change on it (refused as its dependent).
                let entries = c.ledger(led).unwrap().entries();
                let Some((_, entry)) = entries.first() else {
                    continue;
                };
                // Numbered and issued by hongqi, as the layout requires: only the policy
                // refuses it (hongqi is not dianye nor an organiser it certified).
                let mut entry = entry.clone();
                entry.issuer = scope("beishi/hongqi");
                let mut f = Forger::new(c.doc(led).unwrap(), "hongqi", 1);
                for _ in 0..(what % 10 - 6) {
                    forged += 1;
                    out.push(f.write(&[Put {
                        map: "entries",
                        key: own("hongqi", 1, forged),
                        value: serde_json::to_string(&entry).unwrap(),
                    }]));
                }
            }
            _ if a % 2 == 0 => {
                // A duplicate of an earlier change.
                if !out.is_empty() {
                    let d = out[usize::from(a) % out.len()].clone();
                    out.push(d);
                }
            }
            _ => {
                // A new ledger change also signed for the wishes document (the same change
                // sent for another document), before or after the genuine one.
                let genuine = patrol(&mut c, led, "dianye:2");
                let elsewhere =
                    SignedChange::sign(&key("dianye", 1), wis, &genuine.change).unwrap();
                if a % 4 == 1 {
                    out.extend([elsewhere, genuine]);
                } else {
                    out.extend([genuine, elsewhere]);
                }
            }
        }
    }
    out
}

/// Everything a receiver decided and holds.
#[derive(Debug, PartialEq)]
pub(crate) struct Outcome {
    results: Vec<String>,
    heads: BTreeMap<DocId, Vec<ChangeHash>>,
    docs: BTreeMap<DocId, automerge::hydrate::Value>,
    logs: BTreeMap<DocId, Vec<SignedChange>>,
    rejected: Vec<String>,
    pending: usize,
    awaiting: usize,
}

pub(crate) fn outcome(r: &Replica, results: &[Result<Applied, Error>]) -> Outcome {
    Outcome {
        results: results.iter().map(|r| format!("{r:?}")).collect(),
        heads: r
            .docs()
            .iter()
            .map(|(id, d)| {
                let mut h = d.heads();
                h.sort();
                (*id, h)
            })
            .collect(),
        docs: r
            .docs()
            .iter()
            .map(|(id, d)| (*id, d.automerge().hydrate(None)))
            .collect(),
        logs: r
            .docs()
            .keys()
            .map(|id| (*id, r.changes(*id, &[]).unwrap()))
            .collect(),
        rejected: r.rejected().values().map(|x| format!("{x:?}")).collect(),
        pending: r.pending_len(),
        awaiting: r.awaiting().count(),
    }
}

fn one_by_one(changes: &[SignedChange]) -> Outcome {
    let mut r = replica("beishi", 9);
    let results: Vec<_> = changes.iter().map(|c| r.apply(c.clone())).collect();
    outcome(&r, &results)
}

fn batched(changes: &[SignedChange], sizes: &[usize]) -> Outcome {
    let mut r = replica("beishi", 9);
    let mut results = Vec::new();
    let mut rest = changes;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = sizes
            .next()
            .copied()
            .unwrap_or(usize::MAX)
            .clamp(1, rest.len());
        let (now, later) = rest.split_at(n);
        results.extend(r.receive_batch(now.to_vec()));
        rest = later;
    }
    outcome(&r, &results)
}

/// The changes dealt one per document in turn (each document's in their order), as a node
/// receiving many documents at once may get them.
fn interleaved(changes: &[SignedChange]) -> Vec<SignedChange> {
    let mut per_doc: BTreeMap<DocId, std::collections::VecDeque<SignedChange>> = BTreeMap::new();
    for c in changes {
        per_doc.entry(c.doc).or_default().push_back(c.clone());
    }
    let mut out = Vec::with_capacity(changes.len());
    while out.len() < changes.len() {
        for q in per_doc.values_mut() {
            out.extend(q.pop_front());
        }
    }
    out
}

/// Swaps a few pairs (changes arrive before their dependencies).
fn displace(mut v: Vec<SignedChange>, swaps: &[(usize, usize)]) -> Vec<SignedChange> {
    let n = v.len();
    for &(a, b) in swaps {
        if n > 0 {
            v.swap(a % n, b % n);
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_batch_decides_exactly_as_one_by_one(
        steps in proptest::collection::vec((any::<u8>(), any::<u8>()), 0..60),
        swaps in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..4),
        sizes in proptest::collection::vec(1..80usize, 1..4),
    ) {
        let changes = displace(workload(&steps), &swaps);
        let expected = one_by_one(&changes);
        prop_assert_eq!(&batched(&changes, &[usize::MAX]), &expected);
        prop_assert_eq!(&batched(&changes, &sizes), &expected);
        let dealt = interleaved(&changes);
        let expected = one_by_one(&dealt);
        prop_assert_eq!(&batched(&dealt, &[usize::MAX]), &expected);
        prop_assert_eq!(&batched(&dealt, &sizes), &expected);
    }
}

/// A long run in causal order with an unauthorized change and a forged signature in the
/// middle: the prefix is applied in bulk, the refusal and the envelope error are the ones
/// `apply` gives, and everything after them is accepted.
#[test]
fn a_refused_change_inside_a_run_is_named_exactly() {
    let steps: Vec<(u8, u8)> = (0..30u8)
        .map(|i| match i {
            12 => (7, 0),
            20 => (6, 2),
            _ => (0, i),
        })
        .collect();
    let changes = workload(&steps);
    let expected = one_by_one(&changes);
    let got = batched(&changes, &[usize::MAX]);
    assert_eq!(got, expected);
    let refused: Vec<&String> = got
        .results
        .iter()
        .filter(|r| r.starts_with("Err"))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("Policy"), "{}", refused[0]);
    assert!(refused[1].contains("BadSignature"), "{}", refused[1]);
    let accepted = got
        .results
        .iter()
        .filter(|r| r.starts_with("Ok(Applied"))
        .count();
    assert_eq!(accepted, changes.len() - 2);
    // The run was cut at the refusal, not abandoned: what follows it is accepted too.
    assert!(got.results.last().unwrap().starts_with("Ok(Applied"));
}

/// `changes` grouped by document (the federation document first), each document's changes
/// after their dependencies: what a sync session sends.
fn causal(mut changes: Vec<SignedChange>) -> Vec<SignedChange> {
    let fed = crate::testutil::fed_id();
    changes.sort_by_key(|c| (c.doc != fed, c.doc));
    let by_hash: BTreeMap<ChangeHash, (usize, Vec<ChangeHash>)> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let deps = automerge::Change::from_bytes(c.change.clone())
                .map(|c| c.deps().to_vec())
                .unwrap_or_default();
            (c.change_hash().unwrap(), (i, deps))
        })
        .collect();
    fn place(
        h: ChangeHash,
        by_hash: &BTreeMap<ChangeHash, (usize, Vec<ChangeHash>)>,
        placed: &mut std::collections::HashSet<ChangeHash>,
        order: &mut Vec<usize>,
    ) {
        let Some((i, deps)) = by_hash.get(&h) else {
            return;
        };
        if !placed.insert(h) {
            return;
        }
        for d in deps {
            place(*d, by_hash, placed, order);
        }
        order.push(*i);
    }
    let mut placed = std::collections::HashSet::new();
    let mut order = Vec::with_capacity(changes.len());
    for c in &changes {
        place(c.change_hash().unwrap(), &by_hash, &mut placed, &mut order);
    }
    order.into_iter().map(|i| changes[i].clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The histories of the revocation property test — revocations (concurrent ones
    /// included), forged and hostile certificates, equivocation, backdating, forged
    /// changes — received by batches in causal order and shuffled with duplicates.
    #[test]
    fn a_batch_decides_revocations_and_equivocations_exactly_as_one_by_one(
        steps in proptest::collection::vec(crate::revocation_tests::step(), 1..30),
        seed in any::<u64>(),
        sizes in proptest::collection::vec(1..64usize, 1..4),
    ) {
        let (universe, _) = crate::revocation_tests::run_history(&steps);
        let mut delivery = causal(universe.clone());
        delivery.extend(crate::revocation_tests::shuffled(universe.clone(), seed));
        let expected = one_by_one(&delivery);
        prop_assert_eq!(&batched(&delivery, &[usize::MAX]), &expected);
        prop_assert_eq!(&batched(&delivery, &sizes), &expected);
    }
}
