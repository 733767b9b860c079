//! Revocation with a causal cut-off, rebuild of documents that had applied changes beyond
//! it, and the determinism property: replicas that receive the same signed changes — valid,
//! forged and revoked — in any order, with duplicates, end with identical documents and
//! identical sets of refused changes.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use crate::document::Put;
use crate::federation::FederationOp;
use crate::ids::{BookingId, DocId, VolunteerId};
use crate::ledger::{LedgerOp, LedgerRules, Points};
use crate::replica::{Applied, Effect, Error, NewDoc, Op, RejectReason, Replica};
use crate::resource::{BookingForm, ResourceOp, ResourceSpec};
use crate::signed::SignedChange;
use crate::testutil::{date, fed_id, key, node, org, replica, root, send, t};
use crate::time::{Slot, Timestamp};

fn now() -> Timestamp {
    t("2026-11-20T09:00:00+08:00")
}

fn slot(day: &str, from: &str, to: &str) -> Slot {
    Slot::new(
        t(&format!("{day}T{from}:00+08:00")),
        t(&format!("{day}T{to}:00+08:00")),
    )
    .unwrap()
}

fn room(owner: &mut Replica) -> DocId {
    owner
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("dianye")),
                spec: ResourceSpec::room("Dianye activity room", 30),
            },
            now(),
        )
        .unwrap()
        .doc
}

fn request(r: &mut Replica, doc: DocId, day: &str) -> (BookingId, SignedChange) {
    let form = BookingForm::new(
        "Wang Fang",
        "retirees' choir",
        slot(day, "19:00", "20:30"),
        20,
    );
    let w = r
        .execute(doc, Op::Resource(ResourceOp::Request(form)), now())
        .unwrap();
    let Effect::Booking(id) = w.effect else {
        panic!("{:?}", w.effect)
    };
    (id, w.change)
}

fn confirm(r: &mut Replica, doc: DocId, b: &BookingId) -> SignedChange {
    r.execute(
        doc,
        Op::Resource(ResourceOp::Confirm { booking: b.clone() }),
        now(),
    )
    .unwrap()
    .change
}

fn revoke(root: &mut Replica, who: crate::NodeId) -> SignedChange {
    root.execute(
        fed_id(),
        Op::Federation(FederationOp::Revoke {
            subject: who,
            reason: "key leaked".into(),
            certs: None,
        }),
        now(),
    )
    .unwrap()
    .change
}

fn status(r: &Replica, doc: DocId, b: &BookingId) -> &'static str {
    r.resource(doc)
        .unwrap()
        .status(b)
        .map_or("absent", |s| s.label())
}

/// A room of dianye; a unit's request b1 the root has seen, confirmed (d1); the root's
/// revocation of the unit's key (`rev`, not applied yet), whose cut-off holds b1; then the
/// unit's second request b2 (r2), confirmed by the owner (d2) before it hears of `rev`.
struct Revoked {
    owner: Replica,
    unit: Replica,
    root: Replica,
    doc: DocId,
    rev: SignedChange,
    b1: BookingId,
    d1: SignedChange,
    b2: BookingId,
    r2: SignedChange,
    d2: SignedChange,
}

fn revoked() -> Revoked {
    let mut owner = replica("dianye", 1);
    let doc = room(&mut owner);
    let mut unit = replica("power-co", 1);
    send(&owner, &mut unit);
    let mut root = root();
    send(&owner, &mut root);
    let (b1, r1) = request(&mut unit, doc, "2026-12-01");
    owner.apply(r1.clone()).unwrap();
    root.apply(r1).unwrap();
    let d1 = confirm(&mut owner, doc, &b1);
    let rev = revoke(&mut root, node("power-co", 1));
    let (b2, r2) = request(&mut unit, doc, "2026-12-02");
    owner.apply(r2.clone()).unwrap();
    let d2 = confirm(&mut owner, doc, &b2);
    Revoked {
        owner,
        unit,
        root,
        doc,
        rev,
        b1,
        d1,
        b2,
        r2,
        d2,
    }
}

#[test]
fn revocation_rebuilds_documents_without_changes_beyond_the_cut_off() {
    let Revoked {
        mut owner,
        mut unit,
        root,
        doc,
        rev,
        b1,
        d1,
        b2,
        r2,
        d2,
    } = revoked();
    assert_eq!(status(&owner, doc, &b2), "confirmed");
    let heads_before = owner.doc(doc).unwrap().heads();

    // The revocation arrives: b2's request is refused and the confirmation built on it goes
    // with it; b1 and its confirmation stand.
    owner.apply(rev.clone()).unwrap();
    assert_ne!(owner.doc(doc).unwrap().heads(), heads_before);
    assert_eq!(status(&owner, doc, &b1), "confirmed");
    assert_eq!(status(&owner, doc, &b2), "absent");
    let r2h = r2.change_hash().unwrap();
    let d2h = d2.change_hash().unwrap();
    assert!(matches!(
        owner.rejected()[&r2h].reason,
        RejectReason::Revoked { .. }
    ));
    assert!(matches!(
        owner.rejected()[&d2h].reason,
        RejectReason::DependsOnRejected(_)
    ));
    // Refused changes are never offered to peers.
    let offered: BTreeSet<_> = owner
        .changes(doc, &[])
        .unwrap()
        .iter()
        .map(|c| c.change_hash().unwrap())
        .collect();
    assert!(!offered.contains(&r2h) && !offered.contains(&d2h));
    assert!(offered.contains(&d1.change_hash().unwrap()));

    // A replica that gets the revocation first and the rest afterwards ends the same.
    let mut late = replica("beishi", 2);
    late.apply(rev).unwrap();
    for sc in [d2.clone(), r2.clone()] {
        let _ = late.apply(sc);
    }
    send(&owner, &mut late);
    let _ = late.apply(d2);
    let _ = late.apply(r2);
    assert_eq!(
        late.doc(doc).unwrap().heads(),
        owner.doc(doc).unwrap().heads()
    );
    let keys = |r: &Replica| r.rejected().keys().copied().collect::<BTreeSet<_>>();
    assert_eq!(keys(&late), keys(&owner));

    // Later changes by the revoked key are refused everywhere, even from a fresh start of
    // its store (a new incarnation) that only builds on accepted changes.
    let mut restarted = Replica::new(key("power-co", 1), [0x77; 8], org("power-co"), *root.root());
    for sc in crate::testutil::fed_changes() {
        restarted.apply(sc).unwrap();
    }
    for sc in owner.changes(doc, &[]).unwrap() {
        restarted.apply(sc).unwrap();
    }
    let (_, r3) = request(&mut restarted, doc, "2026-12-04");
    let reason = crate::testutil::rejection(owner.apply(r3).unwrap_err());
    assert!(reason.contains("was revoked (key leaked)"), "{reason}");
    // Once it hears of the revocation, the key refuses to write.
    send(&owner, &mut unit);
    let cancel = ResourceOp::Cancel {
        booking: b1,
        reason: String::new(),
    };
    assert!(matches!(
        unit.execute(doc, Op::Resource(cancel), now()),
        Err(Error::SelfRevoked)
    ));
}

/// Reads changes back from a copy of another replica's log.
#[derive(Debug)]
struct CopySource(BTreeMap<automerge::ChangeHash, SignedChange>);

impl crate::replica::ChangeSource for CopySource {
    fn load(
        &self,
        _: DocId,
        hashes: &[automerge::ChangeHash],
    ) -> Result<Vec<SignedChange>, String> {
        hashes
            .iter()
            .map(|h| self.0.get(h).cloned().ok_or_else(|| format!("no {h}")))
            .collect()
    }
}

#[test]
fn a_revocation_rebuilds_a_document_whose_log_is_read_back_from_the_store() {
    let Revoked {
        mut owner,
        doc,
        rev,
        b1,
        b2,
        ..
    } = revoked();

    // The same replica with the room restored lazily (its log bytes in the "store").
    let changes = owner.changes(doc, &[]).unwrap();
    let stored: Vec<_> = changes
        .iter()
        .map(|sc| (sc.change_hash().unwrap(), sc.clone()))
        .collect();
    let mut lazy = owner.clone();
    lazy.set_source(std::sync::Arc::new(CopySource(
        stored.iter().cloned().collect(),
    )));
    let prepared = Replica::load_snapshot(doc, &owner.doc(doc).unwrap().save())
        .unwrap()
        .prepare_lazy(stored)
        .unwrap();
    lazy.restore_prepared(prepared);

    // The revocation rebuilds both the same way.
    owner.apply(rev.clone()).unwrap();
    lazy.apply(rev).unwrap();
    assert_eq!(status(&lazy, doc, &b1), "confirmed");
    assert_eq!(status(&lazy, doc, &b2), "absent");
    assert_eq!(
        lazy.doc(doc).unwrap().heads(),
        owner.doc(doc).unwrap().heads()
    );
    let keys = |r: &Replica| r.rejected().keys().copied().collect::<BTreeSet<_>>();
    assert_eq!(keys(&lazy), keys(&owner));
    assert_eq!(
        lazy.changes(doc, &[]).unwrap(),
        owner.changes(doc, &[]).unwrap()
    );
}

#[test]
fn revoking_a_community_keeps_what_it_certified_before_the_cut_off() {
    // A street certifies a community; the community writes; the street's key is revoked.
    // The community's certificate was accepted before the cut-off, so its chain stands.
    let mut root = root();
    let mut street = replica("jianzhong", 1);
    let fed = fed_id();
    let fresh = key("xianghe", 7);
    street
        .execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject: fresh.node_id(),
                role: crate::cert::Role::Community,
                org: org("xianghe"),
                parent: Some(org("jianzhong")),
                name: "xianghe node 7".into(),
                not_before: crate::testutil::valid_from(),
                not_after: crate::testutil::valid_until(),
            }),
            now(),
        )
        .unwrap();
    send(&street, &mut root);
    let rev = revoke(&mut root, node("jianzhong", 1));
    let mut x7 = replica("xianghe", 1).clone();
    send(&root, &mut x7);
    assert!(x7.principal(&fresh.node_id(), now()).is_ok());
    // A certificate the street issues after the cut-off does not count.
    let late = key("xianghe", 8);
    let sc = street
        .execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject: late.node_id(),
                role: crate::cert::Role::Community,
                org: org("xianghe"),
                parent: Some(org("jianzhong")),
                name: "xianghe node 8".into(),
                not_before: crate::testutil::valid_from(),
                not_after: crate::testutil::valid_until(),
            }),
            now(),
        )
        .unwrap()
        .change;
    let reason = crate::testutil::rejection(x7.apply(sc).unwrap_err());
    assert!(reason.contains("revoked"), "{reason}");
    assert!(x7.principal(&late.node_id(), now()).is_err());
    let _ = rev;
}

// ---- determinism ------------------------------------------------------------------------

/// Actors of the generated histories.
/// `club` node 7 has no certificate until a `Certify` step issues one.
const AUTHORS: [(&str, u8); 6] = [
    ("dianye", 1),
    ("power-co", 1),
    ("club", 2),
    ("hongqi", 2),
    ("dianye", 2),
    ("club", 7),
];
const ROOT: usize = AUTHORS.len();

#[derive(Debug, Clone)]
enum Step {
    Request { who: usize, day: u8 },
    Confirm { who: usize, pick: u8 },
    Service { who: usize, vol: u8 },
    Redeem { who: usize, vol: u8 },
    Forge { who: usize, what: u8 },
    Sync { a: usize, b: usize },
    Revoke { who: usize },
    Certify,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..ROOT, 1..6u8).prop_map(|(who, day)| Step::Request { who, day }),
        2 => (0..ROOT, any::<u8>()).prop_map(|(who, pick)| Step::Confirm { who, pick }),
        2 => (0..ROOT, 1..4u8).prop_map(|(who, vol)| Step::Service { who, vol }),
        1 => (0..ROOT, 1..4u8).prop_map(|(who, vol)| Step::Redeem { who, vol }),
        1 => (0..ROOT, 0..3u8).prop_map(|(who, what)| Step::Forge { who, what }),
        3 => (0..=ROOT, 0..=ROOT).prop_map(|(a, b)| Step::Sync { a, b }),
        1 => (1..ROOT).prop_map(|who| Step::Revoke { who }),
        1 => Just(Step::Certify),
    ]
}

fn run_history(steps: &[Step]) -> (Vec<SignedChange>, [DocId; 2]) {
    // Index ROOT is the root.
    let mut rs: Vec<Replica> = AUTHORS.iter().map(|(o, n)| replica(o, *n)).collect();
    rs.push(root());
    let room = room(&mut rs[0]);
    let ledger = rs[0]
        .create(
            NewDoc::Ledger {
                street: org("beishi"),
                community: org("dianye"),
                year: 2026,
                rules: LedgerRules::default(),
            },
            now(),
        )
        .unwrap()
        .doc;
    for i in 1..rs.len() {
        let (a, b) = rs.split_at_mut(i);
        send(&a[0], &mut b[0]);
    }
    let mut extra: Vec<SignedChange> = Vec::new();
    for s in steps {
        match *s {
            Step::Request { who, day } => {
                let form = BookingForm::new(
                    "Booker",
                    "practice",
                    slot(&format!("2026-12-0{day}"), "19:00", "20:00"),
                    5,
                );
                let _ = rs[who].execute(room, Op::Resource(ResourceOp::Request(form)), now());
            }
            Step::Confirm { who, pick } => {
                let Ok(r) = rs[who].resource(room) else {
                    continue;
                };
                let ids: Vec<BookingId> = r.bookings().into_iter().map(|b| b.id).collect();
                if ids.is_empty() {
                    continue;
                }
                let b = ids[usize::from(pick) % ids.len()].clone();
                let _ = rs[who].execute(
                    room,
                    Op::Resource(ResourceOp::Confirm { booking: b }),
                    now(),
                );
            }
            Step::Service { who, vol } => {
                let op = LedgerOp::RecordService {
                    volunteer: format!("dianye:{vol}").parse().unwrap(),
                    activity: "patrol".into(),
                    team: None,
                    date: date(2026, 11, 1),
                    hours: 2.0,
                    evidence: None,
                };
                let _ = rs[who].execute(ledger, Op::Ledger(op), now());
            }
            Step::Redeem { who, vol } => {
                let op = LedgerOp::Redeem {
                    volunteer: format!("dianye:{vol}").parse::<VolunteerId>().unwrap(),
                    item: "soap".into(),
                    cost: Points::whole(1),
                    outlet: "store".into(),
                };
                let _ = rs[who].execute(ledger, Op::Ledger(op), now());
            }
            Step::Forge { who, what } => {
                // A change that bypasses the typed checks: the write policy must catch it.
                let (o, n) = AUTHORS[who];
                let mut d = rs[who].doc(ledger).unwrap().clone();
                d.set_author(rs[who].author());
                let entry = crate::ledger::Entry {
                    volunteer: "dianye:1".parse().unwrap(),
                    body: match what {
                        0 => crate::ledger::EntryBody::Redemption {
                            item: "tv".into(),
                            cost: Points::whole(99),
                            outlet: "x".into(),
                        },
                        _ => crate::ledger::EntryBody::Correction {
                            corrects: None,
                            delta: Points::whole(50),
                            reason: "gift".into(),
                        },
                    },
                    issuer: org(o),
                    at: now(),
                };
                let c = d
                    .commit(
                        now(),
                        "forged",
                        &[Put::new(
                            "entries",
                            format!("{o}:{}", 900 + u32::from(what)),
                            &entry,
                        )],
                    )
                    .unwrap();
                extra.push(SignedChange::sign(&key(o, n), ledger, c.raw_bytes()).unwrap());
            }
            Step::Sync { a, b } => {
                if a != b {
                    let (from, to) = if a < b {
                        let (x, y) = rs.split_at_mut(b);
                        (&x[a], &mut y[0])
                    } else {
                        let (x, y) = rs.split_at_mut(a);
                        (&y[0], &mut x[b])
                    };
                    for id in from.docs().keys().copied().collect::<Vec<_>>() {
                        for sc in from.changes(id, &[]).unwrap() {
                            let _ = to.apply(sc);
                        }
                    }
                }
            }
            Step::Revoke { who } => {
                let (o, n) = AUTHORS[who];
                let _ = rs[ROOT].execute(
                    fed_id(),
                    Op::Federation(FederationOp::Revoke {
                        subject: node(o, n),
                        reason: "test".into(),
                        certs: None,
                    }),
                    now(),
                );
            }
            Step::Certify => {
                let _ = rs[ROOT].execute(
                    fed_id(),
                    Op::Federation(FederationOp::Issue {
                        subject: node("club", 7),
                        role: crate::cert::Role::Partner,
                        org: org("club"),
                        parent: Some(org("dianye")),
                        name: "club node 7".into(),
                        not_before: crate::testutil::valid_from(),
                        not_after: crate::testutil::valid_until(),
                    }),
                    now(),
                );
            }
        }
    }
    // The universe: everything any replica accepted or refused, plus the forgeries.
    let mut all: BTreeMap<automerge::ChangeHash, SignedChange> = BTreeMap::new();
    for r in &rs {
        for id in r.docs().keys() {
            for sc in r.changes(*id, &[]).unwrap() {
                all.insert(sc.change_hash().unwrap(), sc);
            }
        }
    }
    for sc in extra {
        all.insert(sc.change_hash().unwrap(), sc);
    }
    (all.into_values().collect(), [room, ledger])
}

fn shuffled(mut v: Vec<SignedChange>, seed: u64) -> Vec<SignedChange> {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_delivery_order_gives_identical_documents_and_rejections(
        steps in proptest::collection::vec(step(), 1..30),
        seeds in proptest::array::uniform3(any::<u64>()),
    ) {
        let (universe, docs) = run_history(&steps);
        let mut observers: Vec<Replica> = (0..3).map(|i| replica("xianghe", [1, 2, 3][i])).collect();
        for (o, seed) in observers.iter_mut().zip(seeds) {
            // Every change twice (duplicates), in a random order, until nothing moves.
            let mut delivery = universe.clone();
            delivery.extend(universe.iter().take(universe.len() / 2).cloned());
            for round in 0..3u64 {
                for sc in shuffled(delivery.clone(), seed ^ round) {
                    match o.apply(sc) {
                        Ok(_) | Err(Error::Rejected(_)) => {}
                        Err(e) => prop_assert!(false, "unexpected error {e}"),
                    }
                }
            }
        }
        let keys = |r: &Replica| r.rejected().keys().copied().collect::<BTreeSet<_>>();
        let waiting = |r: &Replica| r.awaiting().copied().collect::<BTreeSet<_>>();
        for o in &observers[1..] {
            prop_assert_eq!(keys(o), keys(&observers[0]));
            prop_assert_eq!(waiting(o), waiting(&observers[0]));
            prop_assert_eq!(o.pending_len(), observers[0].pending_len());
            for id in docs.iter().chain([fed_id()].iter()) {
                let a = observers[0].doc(*id).map(|d| d.automerge().hydrate(None));
                let b = o.doc(*id).map(|d| d.automerge().hydrate(None));
                prop_assert_eq!(a.is_ok(), b.is_ok());
                if let (Ok(a), Ok(b)) = (a, b) {
                    prop_assert_eq!(a, b);
                }
            }
        }
        // Invariants hold in the converged state.
        // (Two nodes of the owner deciding concurrently can leave a confirmation *contested*,
        // holding no room; what holds the room never overlaps.)
        if let Ok(r) = observers[0].resource(docs[0]) {
            let held = r.confirmed_occurrences();
            for (i, (a, sa)) in held.iter().enumerate() {
                for (b, sb) in &held[i + 1..] {
                    prop_assert!(!sa.overlaps(sb), "{a} and {b} overlap");
                }
            }
        }
        let _ = Applied::Duplicate;
    }
}
