//! Bounds of the waiting sets: keys without a certificate chain, and any one certified key,
//! cannot crowd out other signers' changes that wait for their dependencies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::document::{Author, Document, Put};
use crate::identity::Keypair;
use crate::replica::{Applied, Error, QUARANTINE_PER_KEY, Replica, WaitLimit};
use crate::signed::SignedChange;
use crate::testutil::{ledger_of, org, patrol, replica, send, t};
use crate::{DocId, Timestamp};

fn now() -> Timestamp {
    t("2026-06-01T10:00:00+08:00")
}

/// `n` changes to `doc` by a key with no certificate, each on top of the previous one,
/// starting from `base`. Delivered without the first, each names a dependency the receiver
/// never gets.
fn uncertified_chain(base: &Document, secret: u8, doc: DocId, n: usize) -> Vec<SignedChange> {
    let kp = Keypair::from_secret(&[secret; 32]);
    let mut d = base.clone();
    d.set_author(&Author {
        node: kp.node_id(),
        incarnation: [secret; 8],
        org: org("nobody"),
    });
    (0..n)
        .map(|i| {
            let c = d
                .commit(
                    now(),
                    &format!("made up {i}"),
                    &[Put::new("meta", "rules", &crate::testutil::hand_rules())],
                )
                .unwrap();
            SignedChange::sign(&kp, doc, c.raw_bytes()).unwrap()
        })
        .collect()
}

fn hash(sc: &SignedChange) -> automerge::ChangeHash {
    sc.change_hash().unwrap()
}

/// Delivers `changes` last first: every one but the first waits for its predecessor.
fn deliver_backwards(b: &mut Replica, changes: &[SignedChange]) -> Vec<Result<Applied, Error>> {
    changes[1..]
        .iter()
        .rev()
        .map(|c| b.apply(c.clone()))
        .collect()
}

#[test]
fn an_uncertified_flood_of_made_up_dependencies_leaves_room_for_honest_out_of_order_changes() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye");
    let mut h = replica("hongqi", 1);
    let hdoc = ledger_of(&mut h, "hongqi");
    let mut b = replica("beishi", 2);
    // Quarantine: 20 changes in all, 16 per key; one signer: 20.
    b.max_pending = 200;
    send(&a, &mut b);
    send(&h, &mut b);
    let base = a.doc(doc).unwrap().clone();

    // Four keys without a certificate send 60 changes each naming made-up dependencies:
    // more than the whole bound.
    let (mut parked, mut per_key, mut all) = (0, 0, 0);
    for key in 0..4u8 {
        let stranger = Keypair::from_secret(&[0x50 + key; 32]).node_id();
        for sc in uncertified_chain(&base, 0x50 + key, doc, 61)
            .into_iter()
            .skip(1)
        {
            match b.apply(sc) {
                Ok(Applied::Pending(_)) => parked += 1,
                Err(e @ Error::PendingFull { .. }) => {
                    let Error::PendingFull { bound, signer, .. } = &e else {
                        unreachable!()
                    };
                    assert_eq!(*signer, stranger.short(), "{e}");
                    match bound {
                        WaitLimit::QuarantinePerKey => per_key += 1,
                        WaitLimit::Quarantine => all += 1,
                        other => panic!("{other:?}: {e}"),
                    }
                }
                other => panic!("{other:?}"),
            }
        }
    }
    // The first key fills its 16 places, the second the 4 left of the quarantine.
    assert_eq!(parked, 20);
    assert_eq!(per_key, 60 - QUARANTINE_PER_KEY);
    assert_eq!(all, 60 - 4 + 60 + 60);
    assert_eq!(b.pending_len(), 20);

    // Honest certified signers' changes arriving out of order still wait for their
    // dependencies, and are applied once those arrive.
    let mine: Vec<_> = (1..=15)
        .map(|i| patrol(&mut a, doc, &format!("dianye:{i}")))
        .collect();
    let theirs: Vec<_> = (1..=15)
        .map(|i| patrol(&mut h, hdoc, &format!("hongqi:{i}")))
        .collect();
    for r in deliver_backwards(&mut b, &mine)
        .into_iter()
        .chain(deliver_backwards(&mut b, &theirs))
    {
        assert!(matches!(r, Ok(Applied::Pending(_))), "{r:?}");
    }
    assert_eq!(b.pending_len(), 20 + 28);
    let Applied::Applied(applied) = b.apply(mine[0].clone()).unwrap() else {
        panic!("not applied")
    };
    assert_eq!(applied.len(), 15);
    let Applied::Applied(applied) = b.apply(theirs[0].clone()).unwrap() else {
        panic!("not applied")
    };
    assert_eq!(applied.len(), 15);
    assert_eq!(b.heads(doc).unwrap(), a.heads(doc).unwrap());
    assert_eq!(b.heads(hdoc).unwrap(), h.heads(hdoc).unwrap());
    // Only the quarantine still waits; none of it was applied or refused.
    assert_eq!(b.pending_len(), 20);
    assert!(b.rejected().is_empty());
}

#[test]
fn one_certified_key_cannot_take_more_than_its_share_of_the_pending_set() {
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye");
    let mut h = replica("hongqi", 1);
    let hdoc = ledger_of(&mut h, "hongqi");
    let mut b = replica("beishi", 2);
    // One signer: 10 waiting changes.
    b.max_pending = 100;
    send(&a, &mut b);
    send(&h, &mut b);
    let mine: Vec<_> = (1..=15)
        .map(|i| patrol(&mut a, doc, &format!("dianye:{i}")))
        .collect();
    let results = deliver_backwards(&mut b, &mine);
    // The last ten wait; the next four are dropped, naming the limit and the signer.
    for r in &results[..10] {
        assert!(matches!(r, Ok(Applied::Pending(_))), "{r:?}");
    }
    for r in &results[10..] {
        let Err(e) = r else { panic!("{r:?}") };
        assert!(
            matches!(
                e,
                Error::PendingFull {
                    limit: 10,
                    bound: WaitLimit::Signer,
                    ..
                }
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("limit of 10 waiting changes per signer")
                && text.contains(&a.author().node.short()),
            "{text}"
        );
    }
    assert_eq!(b.pending_len(), 10);
    // Dropped, not refused: nothing is recorded against them.
    assert!(b.rejected().is_empty());
    // Another signer still finds room.
    let theirs: Vec<_> = (1..=5)
        .map(|i| patrol(&mut h, hdoc, &format!("hongqi:{i}")))
        .collect();
    for r in deliver_backwards(&mut b, &theirs) {
        assert!(matches!(r, Ok(Applied::Pending(_))), "{r:?}");
    }
    assert!(matches!(b.apply(theirs[0].clone()), Ok(Applied::Applied(v)) if v.len() == 5));
    // The first change arrives, then the dropped ones come again (as a later sync would
    // send them): everything is applied, the parked ten when their predecessor arrives.
    assert!(matches!(b.apply(mine[0].clone()), Ok(Applied::Applied(v)) if v.len() == 1));
    let mut last = None;
    for c in &mine[1..5] {
        last = Some(b.apply(c.clone()).unwrap());
    }
    assert!(matches!(last, Some(Applied::Applied(v)) if v.len() == 11));
    assert!(b.has_change(&hash(&mine[14])));
    assert_eq!(b.heads(doc).unwrap(), a.heads(doc).unwrap());
    assert_eq!(b.pending_len(), 0);
}

#[test]
fn a_signers_share_counts_changes_waiting_for_a_certificate_too() {
    // A key with no certificate: its changes with their dependencies present wait for a
    // certificate; those with missing dependencies are parked. Both count towards its share.
    let mut a = replica("dianye", 1);
    let doc = ledger_of(&mut a, "dianye");
    let mut b = replica("beishi", 2);
    // One signer: 10; quarantine: 10 in all, 16 per key.
    b.max_pending = 100;
    send(&a, &mut b);
    let base = a.doc(doc).unwrap().clone();
    let stranger = Keypair::from_secret(&[0x66; 32]).node_id();
    // Concurrent single changes on the document's heads: they wait for a certificate.
    let mut awaiting = 0;
    for i in 0..6u8 {
        let c = uncertified_chain(&base, 0x66, doc, 1 + usize::from(i));
        let last = c.last().unwrap().clone();
        if i == 0 {
            assert!(matches!(
                b.apply(last).unwrap(),
                Applied::AwaitingCertificate(_)
            ));
            awaiting += 1;
        } else {
            // Later ones of the chain lack their predecessors: parked.
            assert!(matches!(b.apply(last).unwrap(), Applied::Pending(_)));
        }
    }
    assert_eq!(awaiting, 1);
    assert_eq!(b.pending_len(), 6);
    // Four more fit (6 + 4 = its share of 10), then the share is full.
    let more = uncertified_chain(&base, 0x66, doc, 12);
    let mut fitted = 0;
    let mut refused_by = None;
    for c in &more[6..] {
        match b.apply(c.clone()) {
            Ok(Applied::Pending(_)) => fitted += 1,
            Err(Error::PendingFull { bound, signer, .. }) => {
                assert_eq!(signer, stranger.short());
                refused_by = Some(bound);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fitted, 4);
    assert_eq!(refused_by, Some(WaitLimit::Signer));
    assert_eq!(b.pending_len(), 10);
}
