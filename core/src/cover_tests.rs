//! Covered changes: a change without a signature of its own is accepted exactly when a later
//! signed change of its signer in the same batch has it in its history, and then decided
//! exactly as the signed change would be; anything else is dropped (`Error::Uncovered`),
//! never recorded, and taken when it comes again with its cover.

use std::collections::{BTreeSet, HashSet};

use proptest::prelude::*;

use crate::identity::Signature;
use crate::ids::DocId;
use crate::replica::{Applied, Error, Replica};
use crate::revocation_tests::{run_history, shuffled, step};
use crate::signed::{
    self, HistoryEntry, SignedChange, SignedError, pack_signatures, signatures_to_keep,
    unpack_signatures,
};
use crate::testutil::{fed_id, key, ledger_of, patrol, replica};

/// A community's ledger with `n` service entries: its changes in causal order.
fn ledger_changes(n: usize) -> (DocId, Vec<SignedChange>) {
    let mut c = replica("dianye", 1);
    let led = ledger_of(&mut c, "dianye");
    for i in 0..n {
        patrol(&mut c, led, &format!("dianye:{}", i + 1));
    }
    (led, c.changes(led, &[]).unwrap())
}

/// The history entry of a change whose bytes decode; `signed`: its signature is at hand.
fn entry(sc: &SignedChange, signed: bool) -> HistoryEntry {
    let c = sc.parse().unwrap();
    HistoryEntry {
        hash: c.hash(),
        signer: sc.signer,
        seq: c.seq(),
        deps: c.deps().to_vec(),
        signed,
    }
}

/// The history entries of changes (in causal order), all with their signatures at hand.
fn history(changes: &[SignedChange]) -> Vec<HistoryEntry> {
    changes
        .iter()
        .map(|sc| entry(sc, sc.verify().is_ok()))
        .collect()
}

/// The changes with only the signatures a store keeps ([`signatures_to_keep`]).
fn as_stored(changes: &[SignedChange]) -> Vec<SignedChange> {
    let keep = signatures_to_keep(&history(changes));
    changes
        .iter()
        .map(|sc| {
            if keep.contains(&sc.change_hash().unwrap()) {
                sc.clone()
            } else {
                sc.clone().without_signature()
            }
        })
        .collect()
}

fn state(r: &Replica, doc: DocId) -> Option<automerge::hydrate::Value> {
    r.doc(doc).ok().map(|d| d.automerge().hydrate(None))
}

#[test]
fn a_store_keeps_checkpoints_and_the_newest_signature_of_each_key() {
    let (_, changes) = ledger_changes(150);
    let h = history(&changes);
    let keep = signatures_to_keep(&h);
    // The ledger's genesis and entries are one actor's: seqs 1..=151.
    let kept: BTreeSet<u64> = h
        .iter()
        .filter(|e| keep.contains(&e.hash))
        .map(|e| e.seq)
        .collect();
    assert_eq!(kept, BTreeSet::from([64, 128, 151]));
    // A change whose signature is not at hand is never kept; the one before it is then
    // the newest it can keep... and nothing later covers the last one, so it is kept.
    let mut h2 = h.clone();
    h2.last_mut().unwrap().signed = false;
    let keep2 = signatures_to_keep(&h2);
    assert!(keep2.contains(&h[149].hash));
    assert!(!keep2.contains(&h[150].hash));
    // The packed form: a bitmap and 3 signatures, back as they were.
    let mut sorted: Vec<&SignedChange> = changes.iter().collect();
    sorted.sort_by_key(|sc| sc.change_hash().unwrap());
    let sigs: Vec<Option<Signature>> = sorted
        .iter()
        .map(|sc| {
            keep.contains(&sc.change_hash().unwrap())
                .then(|| sc.signature.unwrap())
        })
        .collect();
    let packed = pack_signatures(&sigs);
    assert_eq!(packed.len(), 151usize.div_ceil(8) + 3 * 64);
    assert_eq!(unpack_signatures(&packed, 151).unwrap(), sigs);
    // Bad packings are named.
    let e = unpack_signatures(&packed, 4000).unwrap_err();
    assert!(e.contains("bitmap"), "{e}");
    let e = unpack_signatures(&packed[..packed.len() - 1], 151).unwrap_err();
    assert!(e.contains("bytes follow"), "{e}");
    let e = unpack_signatures(&[0xff], 3).unwrap_err();
    assert!(e.contains("beyond"), "{e}");
}

#[test]
fn a_covered_change_encodes_without_its_signature_and_alone_proves_nothing() {
    let (_, changes) = ledger_changes(2);
    let covered = changes[1].clone().without_signature();
    let bytes = covered.encode();
    assert_eq!(bytes[0], signed::COVERED_VERSION);
    assert_eq!(
        bytes.len(),
        signed::COVERED_HEADER_LEN + covered.change.len()
    );
    assert_eq!(SignedChange::decode(&bytes).unwrap(), covered);
    assert!(matches!(
        covered.verify(),
        Err(SignedError::Uncovered { .. })
    ));
    // Truncated inside the covered header: named with the covered header's length.
    assert_eq!(
        SignedChange::decode(&bytes[..40]).unwrap_err(),
        SignedError::Truncated {
            needed: signed::COVERED_HEADER_LEN,
            got: 40
        }
    );
    // Alone, it is dropped and nothing is recorded.
    let mut r = replica("hongqi", 2);
    r.receive_batch(vec![changes[0].clone()]);
    let e = r.apply(covered.clone()).unwrap_err();
    assert!(matches!(e, Error::Uncovered { .. }), "{e}");
    assert!(e.to_string().contains("no signature"), "{e}");
    assert!(r.rejected().is_empty());
    assert_eq!(r.pending_len(), 0);
}

#[test]
fn a_history_as_stored_is_accepted_in_one_batch_exactly_as_signed() {
    let (led, changes) = ledger_changes(150);
    let stored = as_stored(&changes);
    assert_eq!(stored.iter().filter(|sc| sc.signature.is_some()).count(), 3);
    let mut signed_rx = replica("hongqi", 2);
    let mut covered_rx = replica("hongqi", 2);
    for r in signed_rx.receive_batch(changes.clone()) {
        assert!(matches!(r, Ok(Applied::Applied(_))), "{r:?}");
    }
    for r in covered_rx.receive_batch(stored.clone()) {
        assert!(matches!(r, Ok(Applied::Applied(_))), "{r:?}");
    }
    assert_eq!(state(&covered_rx, led), state(&signed_rx, led));
    assert_eq!(
        covered_rx.heads(led).unwrap(),
        signed_rx.heads(led).unwrap()
    );
    // What it serves again carries no more signatures than it received.
    let served = covered_rx.changes(led, &[]).unwrap();
    assert_eq!(served.iter().filter(|sc| sc.signature.is_some()).count(), 3);
}

#[test]
fn covered_changes_without_their_cover_in_the_batch_are_dropped_and_taken_later() {
    let (led, changes) = ledger_changes(10);
    let stored = as_stored(&changes);
    // Only the newest keeps its signature; the first batch lacks it.
    assert!(stored[..10].iter().all(|sc| sc.signature.is_none()));
    let mut r = replica("hongqi", 2);
    let results = r.receive_batch(stored[..6].to_vec());
    for res in &results {
        assert!(matches!(res, Err(Error::Uncovered { .. })), "{res:?}");
    }
    assert!(r.doc(led).is_err());
    assert!(r.rejected().is_empty());
    // With the cover, everything is taken.
    let results = r.receive_batch(stored.clone());
    assert!(
        results
            .iter()
            .all(|res| matches!(res, Ok(Applied::Applied(_))))
    );
    assert_eq!(r.heads(led).unwrap().len(), 1);
}

#[test]
fn a_covered_change_waiting_for_a_dependency_is_taken_when_it_arrives() {
    let (led, changes) = ledger_changes(6);
    let stored = as_stored(&changes);
    let mut r = replica("hongqi", 2);
    // The genesis is missing: the covered changes and their cover wait.
    let results = r.receive_batch(stored[1..].to_vec());
    assert!(
        results
            .iter()
            .all(|res| matches!(res, Ok(Applied::Pending(_)))),
        "{results:?}"
    );
    assert_eq!(r.pending_len(), 6);
    // The genesis (signed, as its writer sent it) releases them all: the cover was seen
    // with them.
    assert!(stored[0].signature.is_none());
    let results = r.receive_batch(vec![changes[0].clone()]);
    assert!(
        matches!(&results[0], Ok(Applied::Applied(h)) if h.len() == 7),
        "{results:?}"
    );
    assert_eq!(r.pending_len(), 0);
    assert_eq!(
        r.heads(led).unwrap(),
        replica_with(&changes).heads(led).unwrap()
    );
}

fn replica_with(changes: &[SignedChange]) -> Replica {
    let mut r = replica("hongqi", 2);
    r.receive_batch(changes.to_vec());
    r
}

#[test]
fn a_signature_covers_only_its_own_keys_changes_and_only_when_it_verifies() {
    let (led, changes) = ledger_changes(4);
    // Another key's signed change does not cover dianye's: made by xianghe's node on top.
    let mut other = replica("dianye", 3);
    other.receive_batch(changes.clone());
    let on_top = patrol(&mut other, led, "dianye:9");
    let mut batch: Vec<SignedChange> = changes[..4].to_vec();
    batch.push(changes[4].clone().without_signature());
    batch.push(on_top.clone());
    let mut r = replica("hongqi", 2);
    let results = r.receive_batch(batch);
    assert!(
        matches!(results[4], Err(Error::Uncovered { .. })),
        "{:?}",
        results[4]
    );
    // Its dependent waits for it; nothing is refused.
    assert!(
        matches!(results[5], Ok(Applied::Pending(_))),
        "{:?}",
        results[5]
    );
    assert!(r.rejected().is_empty());

    // A cover whose signature does not verify covers nothing (and is itself refused as
    // forged, unrecorded).
    let stored = as_stored(&changes);
    let mut forged = stored.clone();
    let last = forged.len() - 1;
    forged[last].signature.as_mut().expect("signed").0[3] ^= 1;
    let mut r = replica("hongqi", 2);
    let results = r.receive_batch(forged);
    assert!(
        matches!(results[1], Err(Error::Uncovered { .. })),
        "{:?}",
        results[1]
    );
    assert!(matches!(
        results[last],
        Err(Error::Envelope(SignedError::BadSignature))
    ));
    // Altered bytes of a covered change are not the history the cover signed.
    let mut altered = stored.clone();
    let (_, c) = (0, altered[2].parse().unwrap());
    let other_change = changes[3].parse().unwrap();
    assert_ne!(c.hash(), other_change.hash());
    altered[2] = SignedChange {
        change: other_change.raw_bytes().to_vec(),
        ..altered[2].clone()
    };
    let mut r = replica("hongqi", 2);
    let results = r.receive_batch(altered);
    assert!(
        results[2..]
            .iter()
            .any(|res| !matches!(res, Ok(Applied::Applied(_))))
    );
    assert!(
        r.heads(led)
            .map(|h| h != replica_with(&changes).heads(led).unwrap())
            .unwrap_or(true)
    );
    let _ = key("dianye", 1);
    let _ = fed_id();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Covered changes decide as signed ones: the revocation property test's universe, with
    /// every signature a store would drop dropped, delivered in random orders and batches
    /// (uncovered changes dropped and delivered again), then once more as a sync sends it,
    /// ends exactly as the signed universe delivered one by one.
    #[test]
    fn covered_deliveries_decide_as_signed(
        steps in proptest::collection::vec(step(), 1..30),
        seed in any::<u64>(),
        cut_every in 1u64..8,
    ) {
        let (universe, docs) = run_history(&steps);
        // Per document, the signatures a store keeps (in the universe's causal order).
        let mut keep: HashSet<automerge::ChangeHash> = HashSet::new();
        let ids: BTreeSet<DocId> = universe.iter().map(|sc| sc.doc).collect();
        for id in ids {
            let of: Vec<SignedChange> = universe
                .iter()
                .filter(|sc| sc.doc == id && sc.parse().is_ok())
                .cloned()
                .collect();
            // Forged envelopes are left as they are (signed, refused).
            keep.extend(signatures_to_keep(&history(&of)));
        }
        let covered: Vec<SignedChange> = universe
            .iter()
            .map(|sc| match sc.parse() {
                Ok(c) if sc.verify().is_ok() && !keep.contains(&c.hash()) => {
                    sc.clone().without_signature()
                }
                _ => sc.clone(),
            })
            .collect();
        let mut plain = replica("xianghe", 1);
        for round in 0..3u64 {
            for sc in shuffled(universe.clone(), seed ^ round) {
                let _ = plain.apply(sc);
            }
        }
        let mut o = replica("xianghe", 1);
        let mut x = seed | 1;
        for round in 0..3u64 {
            let order = shuffled(covered.clone(), seed ^ round);
            let mut batch = Vec::new();
            for sc in order {
                batch.push(sc);
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x % cut_every == 0 {
                    for r in o.receive_batch(std::mem::take(&mut batch)) {
                        match r {
                            Ok(_) | Err(Error::Rejected(_) | Error::Uncovered { .. } | Error::Envelope(_)) => {}
                            Err(e) => prop_assert!(false, "unexpected error {e}"),
                        }
                    }
                }
            }
            o.receive_batch(batch);
        }
        // As a sync sends it: the whole universe in causal order, one batch.
        o.receive_batch(covered.clone());
        let keys = |r: &Replica| r.rejected().keys().copied().collect::<BTreeSet<_>>();
        let waiting = |r: &Replica| r.awaiting().copied().collect::<BTreeSet<_>>();
        prop_assert_eq!(keys(&o), keys(&plain));
        prop_assert_eq!(o.equivocators(), plain.equivocators());
        prop_assert_eq!(waiting(&o), waiting(&plain));
        prop_assert_eq!(o.pending_len(), plain.pending_len());
        for id in docs.iter().chain([fed_id()].iter()) {
            prop_assert_eq!(state(&o, *id), state(&plain, *id));
        }
    }
}

#[test]
fn a_sender_cuts_batches_only_where_they_carry_their_cover() {
    let (_, changes) = ledger_changes(150);
    let stored = as_stored(&changes);
    let cuts = signed::cover_cuts(&stored);
    let at: Vec<usize> = (0..cuts.len()).filter(|i| cuts[*i]).collect();
    // After the checkpoints (seq 64 and 128, indexes 63 and 127) and at the end.
    assert_eq!(at, vec![63, 127, 150]);
    // Every batch cut there is taken whole on its own, in order.
    let mut r = replica("hongqi", 2);
    let mut from = 0;
    for end in at {
        for res in r.receive_batch(stored[from..=end].to_vec()) {
            assert!(matches!(res, Ok(Applied::Applied(_))), "{res:?}");
        }
        from = end + 1;
    }
    // All signed: any cut.
    assert!(signed::cover_cuts(&changes).iter().all(|c| *c));
}

#[test]
fn a_replica_holding_covered_changes_serves_them_by_sync() {
    let (led, changes) = ledger_changes(150);
    let mut a = replica("dianye", 2);
    a.receive_batch(as_stored(&changes));
    let mut b = replica("hongqi", 2);
    crate::sync::tests_support::run_session(&mut a, &mut b);
    assert_eq!(b.heads(led).unwrap(), a.heads(led).unwrap());
    assert_eq!(b.logged(led), 151);
    assert!(b.rejected().is_empty());
}

#[test]
fn a_restored_document_with_covering_signatures_verifies_as_its_full_receive() {
    use crate::replica::RestoredVerdict;
    let (led, changes) = ledger_changes(150);
    let stored = as_stored(&changes);
    let saved = replica_with(&changes).doc(led).unwrap().save();
    let with_hashes = |v: &[SignedChange]| -> Vec<(automerge::ChangeHash, SignedChange)> {
        v.iter()
            .map(|sc| (sc.change_hash().unwrap(), sc.clone()))
            .collect()
    };
    // Covers intact, and every kept signature broken.
    let mut broken = stored.clone();
    for sc in broken.iter_mut() {
        if let Some(s) = sc.signature.as_mut() {
            s.0[0] ^= 1;
        }
    }
    for (input, verified) in [(stored, true), (broken, false)] {
        let mut fast = replica("hongqi", 2);
        let restored = Replica::load_restored(led, &saved).unwrap();
        let v1 = fast.verify_restored(restored, with_hashes(&input));
        let mut full = replica("hongqi", 2);
        let heads = replica_with(&changes).heads(led).unwrap();
        let v2 = full.verify_by_receive(led, with_hashes(&input), heads);
        assert_eq!(v1, v2);
        assert_eq!(matches!(v1, RestoredVerdict::Verified), verified, "{v1:?}");
        assert_eq!(state(&fast, led), state(&full, led));
        if let RestoredVerdict::Refused { forged, .. } = v1 {
            // Every change is unauthentic: broken, or covered by nothing valid.
            assert_eq!(forged.len(), 151);
        }
    }
}
