//! Revocation with a causal cut-off, rebuild of documents that had applied changes beyond
//! it, and the determinism property: replicas that receive the same signed changes — valid,
//! forged and revoked — in any order, with duplicates, end with identical documents and
//! identical sets of refused changes.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ChangeHash;
use proptest::prelude::*;

use crate::cert::Revocation;
use crate::document::Put;
use crate::federation::FederationOp;
use crate::ids::{BookingId, CertId, DocId, VolunteerId};
use crate::ledger::{LedgerOp, Points};
use crate::replica::{Applied, Effect, Error, NewDoc, Op, RejectReason, Replica};
use crate::resource::{BookingForm, ResourceOp, ResourceSpec};
use crate::signed::SignedChange;
use crate::testutil::{date, fed_id, key, node, org, replica, root, scope, send, t};
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

// ---- who may revoke what, and what a revocation takes -------------------------------------

/// The id of the certificate `issuer` issued to `subject`, as `r` holds it.
fn cert_of(r: &Replica, subject: crate::NodeId, issuer: crate::NodeId) -> CertId {
    r.trust()
        .certificates_of(&subject)
        .find(|c| c.issuer == issuer)
        .unwrap()
        .id()
}

fn revoke_as(
    r: &mut Replica,
    subject: crate::NodeId,
    certs: Option<Vec<CertId>>,
    reason: &str,
) -> Result<SignedChange, Error> {
    r.execute(
        fed_id(),
        Op::Federation(FederationOp::Revoke {
            subject,
            reason: reason.into(),
            certs,
        }),
        now(),
    )
    .map(|w| w.change)
}

/// The revocation `r` holds, signed by `by`, of `subject`'s certificates.
fn revocation_of(r: &Replica, subject: crate::NodeId, by: crate::NodeId) -> Revocation {
    r.federation(fed_id()).unwrap().revocations()[&subject]
        .iter()
        .find(|x| x.by == by)
        .unwrap()
        .clone()
}

fn bar(r: &mut Replica, doc: DocId, who: &str) -> SignedChange {
    r.execute(
        doc,
        Op::Resource(ResourceOp::Bar {
            who: crate::resource::Barred::Org(scope(who)),
            reason: "noise".into(),
        }),
        now(),
    )
    .unwrap()
    .change
}

fn resource_in(r: &mut Replica, community: &str, name: &str) -> Result<DocId, Error> {
    r.create(
        NewDoc::Resource {
            street: org("beishi"),
            community: Some(org(community)),
            spec: ResourceSpec::room(name, 10),
        },
        now(),
    )
    .map(|sc| sc.doc)
}

fn expect_revoked(r: &Replica, sc: &SignedChange, rev: &Revocation) {
    let h = sc.change_hash().unwrap();
    assert!(!r.has_change(&h));
    let reason = &r.rejected()[&h].reason;
    assert_eq!(
        reason,
        &RejectReason::Revoked {
            signer: sc.signer.short(),
            revocation: rev.short_id(),
            by: rev.by.short(),
            reason: rev.reason.clone(),
        }
    );
    let text = reason.to_string();
    assert!(
        text.contains(&rev.short_id()) && text.contains(&rev.by.short()),
        "{text}"
    );
}

#[test]
fn a_street_revoking_a_community_it_certified_refuses_its_changes_after_the_cut_off() {
    let mut street = replica("beishi", 1);
    let mut community = replica("dianye", 1);
    let doc = crate::testutil::ledger_of(&mut community, "dianye");
    let before = crate::testutil::patrol(&mut community, doc, "dianye:1");
    send(&community, &mut street);
    revoke_as(&mut street, node("dianye", 1), None, "office closed").unwrap();
    let rev = revocation_of(&street, node("dianye", 1), node("beishi", 1));
    assert_eq!(
        rev.certs,
        vec![cert_of(&street, node("dianye", 1), node("beishi", 1))]
    );
    // The community, not told yet, writes again.
    let after = crate::testutil::patrol(&mut community, doc, "dianye:2");

    // In either order, the change after the cut-off is refused naming the revocation; the
    // one before stays.
    let mut first = replica("xianghe", 1);
    send(&community, &mut first);
    assert!(first.has_change(&after.change_hash().unwrap()));
    send(&street, &mut first);
    let mut second = replica("xianghe", 2);
    send(&street, &mut second);
    for sc in community.changes(doc, &[]).unwrap() {
        let _ = second.apply(sc);
    }
    for r in [&first, &second] {
        assert!(r.has_change(&before.change_hash().unwrap()));
        expect_revoked(r, &after, &rev);
        assert_eq!(r.ledger(doc).unwrap().entries().len(), 1);
    }
    // Another key of the same community, certified on its own, keeps writing.
    let mut other = replica("dianye", 2);
    send(&first, &mut other);
    let ok = crate::testutil::patrol(&mut other, doc, "dianye:3");
    assert!(matches!(first.apply(ok), Ok(Applied::Applied(_))));
    // The revoked key refuses to write once it knows.
    send(&first, &mut community);
    assert!(matches!(
        community.execute(
            doc,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: "dianye:4".parse().unwrap(),
                activity: "patrol".into(),
                team: None,
                date: date(2026, 5, 1),
                hours: 1.0,
                evidence: None,
            }),
            now()
        ),
        Err(Error::SelfRevoked)
    ));
}

#[test]
fn the_root_and_keys_above_the_issuer_may_revoke_a_unit_and_others_may_not() {
    let unit = node("power-co", 1);
    let cert = {
        let r = root();
        cert_of(&r, unit, node("dianye", 1))
    };
    // The issuer, its street (above it in the chain) and the root may.
    for (o, n) in [("dianye", 1), ("beishi", 1)] {
        let mut r = replica(o, n);
        revoke_as(&mut r, unit, None, "ended").unwrap();
        assert_eq!(revocation_of(&r, unit, node(o, n)).certs, vec![cert]);
    }
    let mut rt = root();
    revoke_as(&mut rt, unit, Some(vec![cert]), "ended").unwrap();
    assert_eq!(revocation_of(&rt, unit, *rt.root()).certs, vec![cert]);
    // Another community's key, another street and the unit's community's other node may
    // not: nothing to revoke.
    for (o, n) in [
        ("hongqi", 1),
        ("jianzhong", 1),
        ("dianye", 2),
        ("power-co", 2),
    ] {
        let mut r = replica(o, n);
        let err = revoke_as(&mut r, unit, None, "ended")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("it issued none of its certificates and is above none of them"),
            "{o} {n}: {err}"
        );
        let err = revoke_as(&mut r, unit, Some(vec![cert]), "ended")
            .unwrap_err()
            .to_string();
        assert!(err.contains(&cert.short()), "{err}");
    }
}

#[test]
fn the_root_revoking_a_unit_certified_by_a_community_refuses_its_later_changes() {
    let mut unit = replica("power-co", 1);
    let hall = resource_in(&mut unit, "dianye", "Power-co hall").unwrap();
    let kept = bar(&mut unit, hall, "troupe");
    let mut rt = root();
    send(&unit, &mut rt);
    revoke_as(&mut rt, node("power-co", 1), None, "key leaked").unwrap();
    let rev = revocation_of(&rt, node("power-co", 1), *rt.root());
    let late = bar(&mut unit, hall, "choir");
    let mut rx = replica("xianghe", 1);
    send(&unit, &mut rx);
    send(&rt, &mut rx);
    assert!(rx.has_change(&kept.change_hash().unwrap()));
    expect_revoked(&rx, &late, &rev);
}

#[test]
fn an_issuer_revoking_its_own_certificate_refuses_the_units_later_changes() {
    let mut unit = replica("power-co", 1);
    let hall = resource_in(&mut unit, "dianye", "Power-co hall").unwrap();
    let mut issuer = replica("dianye", 1);
    send(&unit, &mut issuer);
    revoke_as(&mut issuer, node("power-co", 1), None, "contract ended").unwrap();
    let rev = revocation_of(&issuer, node("power-co", 1), node("dianye", 1));
    let late = bar(&mut unit, hall, "choir");
    let mut rx = replica("xianghe", 1);
    send(&unit, &mut rx);
    send(&issuer, &mut rx);
    expect_revoked(&rx, &late, &rev);
    assert!(rx.doc(hall).is_ok());
}

/// Node 7 of power-co, certified as a unit by dianye and by hongqi (both replicas hold both
/// certificates).
fn unit_of_two_communities() -> (crate::NodeId, Replica, Replica) {
    let u = node("power-co", 7);
    let mut dianye = replica("dianye", 1);
    let mut hongqi = replica("hongqi", 1);
    for (issuer, parent) in [(&mut dianye, "dianye"), (&mut hongqi, "hongqi")] {
        issuer
            .execute(
                fed_id(),
                Op::Federation(FederationOp::Issue {
                    subject: u,
                    role: crate::cert::Role::Unit,
                    org: org("power-co"),
                    parent: Some(org(parent)),
                    name: format!("power-co for {parent}"),
                    not_before: crate::testutil::valid_from(),
                    not_after: crate::testutil::valid_until(),
                }),
                now(),
            )
            .unwrap();
    }
    crate::testutil::sync(&mut dianye, &mut hongqi);
    (u, dianye, hongqi)
}

#[test]
fn a_unit_certified_by_two_communities_keeps_what_the_other_certificate_grants() {
    // Node 7 of power-co co-builds with dianye and with hongqi, certified by both.
    let (u, mut dianye, hongqi) = unit_of_two_communities();
    let principals = hongqi.trust().principals(&u, now());
    let scopes: Vec<String> = principals.iter().map(|p| p.scope.to_string()).collect();
    assert_eq!(scopes, ["beishi/dianye/power-co", "beishi/hongqi/power-co"]);
    assert_eq!(hongqi.principal(&u, now()).unwrap(), principals[0]);

    let mut unit = Replica::new(key("power-co", 7), [7; 8], org("power-co"), *root().root());
    send(&hongqi, &mut unit);
    let hall = resource_in(&mut unit, "dianye", "Power-co hall in dianye").unwrap();
    let kept = bar(&mut unit, hall, "troupe");
    send(&unit, &mut dianye);
    // Dianye withdraws its certificate; the unit, not told yet, writes again in its
    // dianye-scoped hall.
    revoke_as(&mut dianye, u, None, "co-building ended").unwrap();
    let rev = revocation_of(&dianye, u, node("dianye", 1));
    assert_eq!(rev.certs, vec![cert_of(&dianye, u, node("dianye", 1))]);
    let late = bar(&mut unit, hall, "choir");

    let mut rx = replica("xianghe", 1);
    send(&unit, &mut rx);
    send(&dianye, &mut rx);
    send(&hongqi, &mut rx);
    // Only what the withdrawn certificate allowed is refused, naming the revocation.
    assert!(rx.has_change(&kept.change_hash().unwrap()));
    expect_revoked(&rx, &late, &rev);
    // The key still acts under hongqi's certificate.
    let left = rx.trust().principals_without(&u, now(), &{
        let mut w = crate::cert::Withdrawn::new();
        w.add(rev.certs[0], rev.by);
        w
    });
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].scope.to_string(), "beishi/hongqi/power-co");
    send(&rx, &mut unit);
    let there = resource_in(&mut unit, "hongqi", "Power-co hall in hongqi").unwrap();
    let there_bar = bar(&mut unit, there, "troupe");
    for sc in unit.changes(there, &[]).unwrap() {
        assert!(matches!(rx.apply(sc), Ok(Applied::Applied(_))));
    }
    assert!(rx.has_change(&there_bar.change_hash().unwrap()));
    // Where only dianye's certificate allowed it, the unit may no longer write.
    assert!(matches!(
        unit.execute(
            hall,
            Op::Resource(ResourceOp::Bar {
                who: crate::resource::Barred::Org(scope("club")),
                reason: "noise".into(),
            }),
            now()
        ),
        Err(Error::Resource(
            crate::resource::ResourceError::NotAllowed { .. }
        ))
    ));
}

/// Two revocations of different seniority that touch each other's chains, made without
/// seeing each other: beishi (a street) withdraws dianye's certificate while dianye (a
/// community) withdraws the certificates of its unit power-co and the one it had issued to
/// beishi's own key. The street is more senior: dianye's revocations come after its
/// cut-off, so they never take effect — in every delivery order.
#[test]
fn concurrent_revocations_resolve_by_seniority_in_every_delivery_order() {
    let mut street = replica("beishi", 1);
    let mut community = replica("dianye", 1);
    let mut unit = replica("power-co", 1);
    // Dianye certifies beishi's key as a unit of its own (a certificate in the other
    // direction).
    community
        .execute(
            fed_id(),
            Op::Federation(FederationOp::Issue {
                subject: node("beishi", 1),
                role: crate::cert::Role::Unit,
                org: org("beishi-office"),
                parent: Some(org("dianye")),
                name: "street office as a unit".into(),
                not_before: crate::testutil::valid_from(),
                not_after: crate::testutil::valid_until(),
            }),
            now(),
        )
        .unwrap();
    let hall = resource_in(&mut unit, "dianye", "Power-co hall").unwrap();
    crate::testutil::sync(&mut community, &mut unit);
    send(&community, &mut street);
    // Concurrently: each revokes what it may.
    let by_street = revoke_as(&mut street, node("dianye", 1), None, "street").unwrap();
    let by_community = [
        revoke_as(&mut community, node("power-co", 1), None, "community").unwrap(),
        revoke_as(&mut community, node("beishi", 1), None, "community").unwrap(),
    ];
    // Each side writes on, unaware of the other.
    let unit_bar = bar(&mut unit, hall, "choir");
    let rev = revocation_of(&street, node("dianye", 1), node("beishi", 1));

    let mut universe: Vec<SignedChange> = Vec::new();
    for r in [&street, &community, &unit] {
        for id in r.docs().keys() {
            universe.extend(r.changes(*id, &[]).unwrap());
        }
    }
    let outcome = |order: u64| {
        let mut o = replica("xianghe", 1);
        for _ in 0..2 {
            for sc in shuffled(universe.clone(), order) {
                let _ = o.apply(sc);
            }
        }
        let rejected: BTreeMap<_, String> = o
            .rejected()
            .iter()
            .map(|(h, r)| (*h, r.reason.to_string()))
            .collect();
        let heads: Vec<_> = o.docs().values().map(|d| d.heads()).collect();
        let in_force: Vec<String> = o
            .revocations_in_force()
            .iter()
            .map(|r| r.short_id())
            .collect();
        (rejected, heads, in_force, o)
    };
    let (rejected, heads, in_force, o) = outcome(1);
    // The street's revocation is the only one in force; the community's are refused as
    // after its cut-off, naming it; the unit keeps writing.
    assert_eq!(in_force, vec![rev.short_id()]);
    expect_revoked(&o, &by_community[0], &rev);
    assert!(matches!(
        o.rejected()[&by_community[1].change_hash().unwrap()].reason,
        RejectReason::DependsOnRejected(_)
    ));
    assert!(o.has_change(&by_street.change_hash().unwrap()));
    assert!(o.has_change(&unit_bar.change_hash().unwrap()));
    assert!(o.principal(&node("beishi", 1), now()).is_ok());
    for seed in 2..40 {
        let (r, h, f, _) = outcome(seed);
        assert_eq!((&r, &h, &f), (&rejected, &heads, &in_force), "order {seed}");
    }

    // Had the street seen the community's revocations first, they stand: the unit's later
    // change is refused, naming the community's revocation.
    let mut street2 = replica("beishi", 1);
    send(&community, &mut street2);
    revoke_as(&mut street2, node("dianye", 1), None, "street").unwrap();
    let mut rx = replica("xianghe", 2);
    send(&street2, &mut rx);
    for sc in unit.changes(hall, &[]).unwrap() {
        let _ = rx.apply(sc);
    }
    let community_rev = revocation_of(&rx, node("power-co", 1), node("dianye", 1));
    expect_revoked(&rx, &unit_bar, &community_rev);
    assert_eq!(rx.revocations_in_force().len(), 3);

    // Delivered with the street's revocation last, the unit's change is refused first; the
    // street's revocation withdraws that refusal (which `refusals_withdrawn` counts, so a
    // node mirroring `rejected` looks again) and the change is accepted.
    let street_rev = by_street.change_hash().unwrap();
    let bar = unit_bar.change_hash().unwrap();
    let mut late = replica("xianghe", 3);
    for sc in &universe {
        if sc.change_hash().unwrap() != street_rev {
            let _ = late.apply(sc.clone());
        }
    }
    assert!(late.rejected().contains_key(&bar));
    let before = late.refusals_withdrawn();
    late.apply(by_street.clone()).unwrap();
    assert!(late.refusals_withdrawn() > before);
    assert!(late.has_change(&bar));
    assert_eq!(
        late.rejected().keys().collect::<Vec<_>>(),
        rejected.keys().collect::<Vec<_>>()
    );
}

#[test]
fn the_revoke_operation_reads_as_before_without_certificates() {
    let subject = node("power-co", 1);
    let old = serde_json::json!({"revoke": {"subject": subject.to_string(), "reason": "r"}});
    let op: FederationOp = serde_json::from_value(old.clone()).unwrap();
    assert_eq!(
        op,
        FederationOp::Revoke {
            subject,
            reason: "r".into(),
            certs: None,
        }
    );
    // Written back the same way; named certificates are a list of hex ids.
    assert_eq!(serde_json::to_value(&op).unwrap(), old);
    let id = CertId([3; 32]);
    let named = FederationOp::Revoke {
        subject,
        reason: "r".into(),
        certs: Some(vec![id]),
    };
    let json = serde_json::to_value(&named).unwrap();
    assert_eq!(json["revoke"]["certs"][0], id.to_string());
    assert_eq!(serde_json::from_value::<FederationOp>(json).unwrap(), named);
}

// ---- determinism ------------------------------------------------------------------------

/// Actors of the generated histories.
/// `club` node 7 has no certificate until a `Certify` step issues one. `beishi` 1 is the
/// street that certified `dianye` and `hongqi`, and `dianye` 1 certified `power-co` 1 and
/// `club` 2, so revocations can come from every level.
const AUTHORS: [(&str, u8); 7] = [
    ("dianye", 1),
    ("power-co", 1),
    ("club", 2),
    ("hongqi", 2),
    ("dianye", 2),
    ("club", 7),
    ("beishi", 1),
];
const ROOT: usize = AUTHORS.len();

#[derive(Debug, Clone)]
pub(crate) enum Step {
    Request {
        who: usize,
        day: u8,
    },
    Confirm {
        who: usize,
        pick: u8,
    },
    Service {
        who: usize,
        vol: u8,
    },
    Redeem {
        who: usize,
        vol: u8,
    },
    Forge {
        who: usize,
        what: u8,
    },
    Sync {
        a: usize,
        b: usize,
    },
    /// `by` revokes `who`'s certificates (typed; when the typed operation refuses —
    /// no authority, the root, nothing left — a forged revocation of every certificate of
    /// `who` is sent instead).
    Revoke {
        by: usize,
        who: usize,
    },
    /// `by` certifies `who`'s key as a unit of its own organisation (a certificate in any
    /// direction, when the policy lets `by` issue it: communities issue units). Only keys
    /// with a shorter chain of their own (communities, the street, the root) are targets,
    /// and the root issues none (a key is judged under each of its principals, so an extra
    /// chain can only add what a change may do).
    Hostile {
        by: usize,
        who: usize,
    },
    Certify,
    /// `who` signs two different service records as the same (actor, seq): a copy of its
    /// replica writes the second (equivocation).
    Equivocate {
        who: usize,
        vol: u8,
    },
    /// `who` dates a service record a day before the newest change it builds on.
    Backdate {
        who: usize,
        vol: u8,
    },
}

/// Cases of a property test here: `PROPTEST_CASES` when set (a longer run), else `default`.
fn cases_or(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub(crate) fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..ROOT, 1..6u8).prop_map(|(who, day)| Step::Request { who, day }),
        2 => (0..ROOT, any::<u8>()).prop_map(|(who, pick)| Step::Confirm { who, pick }),
        2 => (0..ROOT, 1..4u8).prop_map(|(who, vol)| Step::Service { who, vol }),
        1 => (0..ROOT, 1..4u8).prop_map(|(who, vol)| Step::Redeem { who, vol }),
        1 => (0..ROOT, 0..3u8).prop_map(|(who, what)| Step::Forge { who, what }),
        3 => (0..=ROOT, 0..=ROOT).prop_map(|(a, b)| Step::Sync { a, b }),
        3 => (0..=ROOT, 0..=ROOT).prop_map(|(by, who)| Step::Revoke { by, who }),
        1 => (0..ROOT, prop::sample::select(vec![0, 3, 4, 6, ROOT]))
            .prop_map(|(by, who)| Step::Hostile { by, who }),
        1 => Just(Step::Certify),
        1 => (0..ROOT, 1..4u8).prop_map(|(who, vol)| Step::Equivocate { who, vol }),
        1 => (0..ROOT, 1..4u8).prop_map(|(who, vol)| Step::Backdate { who, vol }),
    ]
}

/// The key of author `i` (`ROOT`: the root).
fn key_of(i: usize) -> crate::identity::Keypair {
    if i == ROOT {
        crate::testutil::root_key()
    } else {
        let (o, n) = AUTHORS[i];
        key(o, n)
    }
}

pub(crate) fn run_history(steps: &[Step]) -> (Vec<SignedChange>, [DocId; 2]) {
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
                rules: crate::testutil::hand_rules(),
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
    let mut forged: u8 = 0;
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
                    home: scope("dianye"),
                    body: match what {
                        0 => crate::ledger::EntryBody::Redemption {
                            item: "tv".into(),
                            cost: Points::whole(99),
                            outlet: "x".into(),
                            store_item: None,
                        },
                        _ => crate::ledger::EntryBody::Correction {
                            corrects: None,
                            delta: Points::whole(50),
                            reason: "gift".into(),
                        },
                    },
                    issuer: scope(o),
                    at: now(),
                    source: None,
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
            Step::Revoke { by, who } => {
                let subject = key_of(who).node_id();
                let typed = rs[by].execute(
                    fed_id(),
                    Op::Federation(FederationOp::Revoke {
                        subject,
                        reason: format!("{by} revokes {who}"),
                        certs: None,
                    }),
                    now(),
                );
                if typed.is_err() {
                    forged += 1;
                    let signer = key_of(by);
                    let mut d = rs[by].doc(fed_id()).unwrap().clone();
                    d.set_author(&crate::document::Author {
                        node: signer.node_id(),
                        incarnation: [0x80 | forged; 8],
                        org: org("forger"),
                    });
                    let rev = Revocation {
                        subject,
                        certs: rs[by]
                            .trust()
                            .certificates_of(&subject)
                            .map(crate::cert::Certificate::id)
                            .collect(),
                        cutoff: vec![],
                        reason: format!("{by} forges against {who}"),
                        by: signer.node_id(),
                        at: now(),
                    };
                    let key = crate::federation::revocation_key(&rev);
                    let c = d
                        .commit(now(), "forged", &[Put::new("revocations", key, &rev)])
                        .unwrap();
                    extra.push(SignedChange::sign(&signer, fed_id(), c.raw_bytes()).unwrap());
                }
            }
            Step::Hostile { by, who } => {
                let own = if by == ROOT { "heping" } else { AUTHORS[by].0 };
                let _ = rs[by].execute(
                    fed_id(),
                    Op::Federation(FederationOp::Issue {
                        subject: key_of(who).node_id(),
                        role: crate::cert::Role::Unit,
                        org: org("hostile"),
                        parent: Some(org(own)),
                        name: format!("{who} as a unit of {by}"),
                        not_before: crate::testutil::valid_from(),
                        not_after: crate::testutil::valid_until(),
                    }),
                    now(),
                );
            }
            Step::Equivocate { who, vol } => {
                let service = |v: u8| {
                    Op::Ledger(LedgerOp::RecordService {
                        volunteer: format!("dianye:{v}").parse().unwrap(),
                        activity: "patrol".into(),
                        team: None,
                        date: date(2026, 11, 1),
                        hours: 1.0,
                        evidence: None,
                    })
                };
                let mut twin = rs[who].clone();
                let first = rs[who].execute(ledger, service(vol), now());
                let second = twin.execute(ledger, service(vol + 3), now());
                if let (Ok(_), Ok(w)) = (first, second) {
                    extra.push(w.change);
                }
            }
            Step::Backdate { who, vol } => {
                let (o, n) = AUTHORS[who];
                let Ok(d) = rs[who].doc(ledger) else {
                    continue;
                };
                let mut d = d.clone();
                forged += 1;
                d.set_author(&crate::document::Author {
                    node: key_of(who).node_id(),
                    incarnation: [0x40 | forged; 8],
                    org: org(o),
                });
                let a = crate::document::Author {
                    node: key_of(who).node_id(),
                    incarnation: [0x40 | forged; 8],
                    org: org(o),
                };
                let entry = crate::ledger::Entry {
                    volunteer: format!("dianye:{vol}").parse().unwrap(),
                    home: scope("dianye"),
                    body: crate::ledger::EntryBody::Service {
                        activity: "patrol".into(),
                        team: None,
                        date: date(2026, 11, 1),
                        minutes: 60,
                        points: Points::whole(1),
                        evidence: None,
                    },
                    issuer: rs[who]
                        .principal(&key_of(who).node_id(), now())
                        .map(|p| p.scope)
                        .unwrap_or_default(),
                    at: now(),
                    source: None,
                };
                let yesterday = Timestamp(now().0 - 86_400_000);
                let k = format!("{o}@{}:1", hex::encode(a.tag()));
                let c = d
                    .commit(yesterday, "backdated", &[Put::new("entries", k, &entry)])
                    .unwrap();
                let _ = n;
                extra.push(SignedChange::sign(&key_of(who), ledger, c.raw_bytes()).unwrap());
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

/// A node's view of where changes stand, kept only from [`Replica::take_decisions`].
#[derive(Default, Clone)]
struct Mirror {
    status: BTreeMap<automerge::ChangeHash, crate::replica::Decision>,
    equivocators: BTreeSet<crate::ids::NodeId>,
}

impl Mirror {
    fn take(&mut self, r: &mut Replica) {
        use crate::replica::Decision;
        for d in r.take_decisions() {
            match &d {
                Decision::Accepted { hash, .. } | Decision::Waiting { hash, .. } => {
                    self.status.insert(*hash, d.clone());
                }
                Decision::Refused(x) => {
                    self.status.insert(x.hash, d.clone());
                }
                Decision::Equivocated { signer, .. } => {
                    assert!(self.equivocators.insert(*signer), "reported twice");
                }
            }
        }
    }

    /// Panics where the mirror differs from the replica's state.
    fn check(&self, r: &Replica, universe: &[SignedChange]) {
        use crate::replica::{Decision, WaitingOn};
        // Changes wait under their document's id whether or not the replica holds the
        // document yet (its genesis may not have come).
        let docs: BTreeSet<DocId> = r
            .docs()
            .keys()
            .copied()
            .chain(universe.iter().map(|sc| sc.doc))
            .collect();
        let waiting: BTreeSet<automerge::ChangeHash> = docs
            .iter()
            .flat_map(|d| r.pending_of(*d))
            .chain(r.awaiting().copied())
            .collect();
        for sc in universe {
            let h = sc.change_hash().unwrap();
            let got = self.status.get(&h);
            if let Some(x) = r.rejected().get(&h) {
                assert_eq!(got, Some(&Decision::Refused(x.clone())), "{h}");
            } else if waiting.contains(&h) {
                assert!(
                    matches!(got, Some(Decision::Waiting { on, .. }) if *on != WaitingOn::Dropped),
                    "{h} waits, reported {got:?}"
                );
            } else if r.has_change(&h) {
                assert!(
                    matches!(got, Some(Decision::Accepted { .. })),
                    "{h} accepted, reported {got:?}"
                );
            } else {
                assert!(
                    matches!(
                        got,
                        None | Some(Decision::Waiting {
                            on: WaitingOn::Dropped,
                            ..
                        })
                    ),
                    "{h} not held, reported {got:?}"
                );
            }
        }
        // Every key flagged was reported (a flag can dissolve later, when the change kept in
        // its slot is removed for another reason; the report stands as an event).
        let flagged: BTreeSet<_> = r.equivocators().keys().copied().collect();
        assert!(flagged.is_subset(&self.equivocators), "{flagged:?}");
    }
}

pub(crate) fn shuffled(mut v: Vec<SignedChange>, seed: u64) -> Vec<SignedChange> {
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
    #![proptest_config(ProptestConfig { cases: cases_or(48), ..ProptestConfig::default() })]

    #[test]
    fn any_delivery_order_gives_identical_documents_and_rejections(
        steps in proptest::collection::vec(step(), 1..30),
        seeds in proptest::array::uniform3(any::<u64>()),
    ) {
        let (universe, docs) = run_history(&steps);
        let mut observers: Vec<Replica> = (0..3).map(|i| replica("xianghe", [1, 2, 3][i])).collect();
        // What a node storing only the reported decisions would hold, per observer.
        let mut mirrors: Vec<Mirror> = vec![Mirror::default(); observers.len()];
        for ((o, seed), mirror) in observers.iter_mut().zip(seeds).zip(&mut mirrors) {
            // Every change twice (duplicates), in a random order, until nothing moves.
            let mut delivery = universe.clone();
            delivery.extend(universe.iter().take(universe.len() / 2).cloned());
            for round in 0..3u64 {
                for sc in shuffled(delivery.clone(), seed ^ round) {
                    match o.apply(sc) {
                        Ok(_) | Err(Error::Rejected(_)) => {}
                        Err(e) => prop_assert!(false, "unexpected error {e}"),
                    }
                    mirror.take(o);
                }
            }
            // The decisions reported tell exactly where every change stands.
            mirror.check(o, &universe);
        }
        let keys = |r: &Replica| r.rejected().keys().copied().collect::<BTreeSet<_>>();
        let waiting = |r: &Replica| r.awaiting().copied().collect::<BTreeSet<_>>();
        for o in &observers[1..] {
            prop_assert_eq!(keys(o), keys(&observers[0]));
            // Who is flagged for equivocation does not depend on the order either.
            prop_assert_eq!(o.equivocators(), observers[0].equivocators());
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

/// A regression found by the property test: the root forges a second revocation of the
/// street with an empty cut-off (overwriting its first), which removes every certificate
/// the street issued, so the ledger's genesis waits for a certificate again. A forged
/// redemption on top of it, refused by the write policy where it arrived while the genesis
/// stood, must end as where it arrived after: waiting for the genesis.
#[test]
fn a_refusal_judged_on_a_removed_dependency_is_judged_again() {
    let steps = [
        Step::Revoke { by: ROOT, who: 6 },
        Step::Forge { who: 1, what: 0 },
        Step::Revoke { by: ROOT, who: 6 },
    ];
    let (universe, _) = run_history(&steps);
    let mut delivery = universe.clone();
    delivery.extend(universe.iter().take(universe.len() / 2).cloned());
    let observed: Vec<Replica> = [0u64, 10628103176284594368, 7]
        .into_iter()
        .map(|seed| {
            let mut o = replica("xianghe", 1);
            for round in 0..3u64 {
                for sc in shuffled(delivery.clone(), seed ^ round) {
                    let _ = o.apply(sc);
                }
            }
            o
        })
        .collect();
    let keys = |r: &Replica| r.rejected().keys().copied().collect::<BTreeSet<_>>();
    let waiting = |r: &Replica| r.awaiting().copied().collect::<BTreeSet<_>>();
    assert_eq!(observed[0].revocations_in_force().len(), 1);
    assert!(!waiting(&observed[0]).is_empty());
    for o in &observed[1..] {
        assert_eq!(keys(o), keys(&observed[0]));
        assert_eq!(waiting(o), waiting(&observed[0]));
        assert_eq!(o.pending_len(), observed[0].pending_len());
    }
}

/// Issue 17, an honest case that must keep working: two streets, each revoking the other's
/// community at the same time (neither has authority over the other's), are refused — by
/// the typed operation and, crafted, on every receiver in either order — and both
/// communities keep writing: nothing freezes.
#[test]
fn two_streets_revoking_each_others_communities_freeze_nothing() {
    let mut bs = replica("beishi", 1);
    let mut jz = replica("jianzhong", 1);
    let dianye = node("dianye", 1);
    let xianghe = node("xianghe", 1);
    for (r, subject) in [(&mut bs, xianghe), (&mut jz, dianye)] {
        let err = revoke_as(r, subject, None, "take over").unwrap_err();
        assert!(err.to_string().contains("may not revoke"), "{err}");
    }
    // The same, crafted past the typed check, each without seeing the other's.
    let crafted = |r: &Replica, by: &str, subject: crate::NodeId| {
        let signer = key(by, 1);
        let mut d = r.doc(fed_id()).unwrap().clone();
        d.set_author(&crate::document::Author {
            node: signer.node_id(),
            incarnation: [0x5A; 8],
            org: org(by),
        });
        let rev = Revocation {
            subject,
            certs: r
                .trust()
                .certificates_of(&subject)
                .map(crate::cert::Certificate::id)
                .collect(),
            cutoff: vec![],
            reason: format!("{by} takes over"),
            by: signer.node_id(),
            at: now(),
        };
        let c = d
            .commit(
                now(),
                "hostile",
                &[Put::new(
                    "revocations",
                    crate::federation::revocation_key(&rev),
                    &rev,
                )],
            )
            .unwrap();
        SignedChange::sign(&signer, fed_id(), c.raw_bytes()).unwrap()
    };
    let a = crafted(&bs, "beishi", xianghe);
    let b = crafted(&jz, "jianzhong", dianye);
    let mut rxs = [replica("hongqi", 1), replica("hongqi", 2)];
    for (rx, order) in rxs.iter_mut().zip([[&a, &b], [&b, &a]]) {
        for sc in order {
            let err = rx.apply((*sc).clone()).unwrap_err();
            assert!(err.to_string().contains("may not revoke"), "{err}");
        }
    }
    assert_eq!(
        rxs[0].rejected().keys().collect::<Vec<_>>(),
        rxs[1].rejected().keys().collect::<Vec<_>>()
    );
    // Both communities still write, and every receiver accepts it.
    for (o, street) in [("dianye", "beishi"), ("xianghe", "jianzhong")] {
        let mut c = replica(o, 1);
        let l = c
            .create(
                NewDoc::Ledger {
                    street: org(street),
                    community: org(o),
                    year: 2026,
                    rules: crate::testutil::hand_rules(),
                },
                now(),
            )
            .unwrap();
        for rx in &mut rxs {
            assert!(matches!(rx.apply(l.clone()).unwrap(), Applied::Applied(_)));
        }
    }
}

/// A regression found by the property test (with other document ids): twins of an
/// equivocating community, and its street's revocation whose cut-off holds one of them.
/// Where the twins arrive before the revocation, they are contested; the revocation then
/// refuses the loser anyway, so the contest dissolves — as where the revocation came first
/// and the other twin was refused for it, never contested.
#[test]
fn a_contest_loser_the_revocation_refuses_anyway_leaves_no_equivocation() {
    let mut dianye = replica("dianye", 2);
    let ledger = dianye
        .create(
            NewDoc::Ledger {
                street: org("beishi"),
                community: org("dianye"),
                year: 2026,
                rules: crate::testutil::hand_rules(),
            },
            now(),
        )
        .unwrap()
        .doc;
    let service = |v: u8| {
        Op::Ledger(LedgerOp::RecordService {
            volunteer: format!("dianye:{v}").parse().unwrap(),
            activity: "patrol".into(),
            team: None,
            date: date(2026, 11, 1),
            hours: 1.0,
            evidence: None,
        })
    };
    // Twins (one seq, two changes); the one the street sees sorts first, so it wins the
    // contest wherever both arrive before the revocation.
    let (seen, other, holder) = (2..60u8)
        .find_map(|v| {
            let mut one = dianye.clone();
            let mut two = dianye.clone();
            let a = one.execute(ledger, service(1), now()).ok()?.change;
            let b = two.execute(ledger, service(v), now()).ok()?.change;
            (a.change_hash().ok()? < b.change_hash().ok()?).then_some((a, b, one))
        })
        .expect("twins in the wanted order");
    let mut street = replica("beishi", 1);
    send(&holder, &mut street);
    revoke_as(&mut street, node("dianye", 2), None, "equivocated").unwrap();

    // The twins first, then the revocation.
    let mut early = replica("xianghe", 1);
    // (It waits for the ledger's genesis, which `send` brings.)
    let _ = early.apply(other.clone());
    send(&holder, &mut early);
    assert!(early.equivocators().contains_key(&node("dianye", 2)));
    send(&street, &mut early);
    // The revocation first, then the twins.
    let mut late = replica("xianghe", 2);
    send(&street, &mut late);
    let _ = late.apply(other.clone());

    for r in [&early, &late] {
        assert!(r.has_change(&seen.change_hash().unwrap()));
        assert!(
            matches!(
                r.rejected()
                    .get(&other.change_hash().unwrap())
                    .map(|x| &x.reason),
                Some(RejectReason::Revoked { .. })
            ),
            "{:?}",
            r.rejected().get(&other.change_hash().unwrap())
        );
    }
    assert_eq!(early.equivocators(), late.equivocators());
    assert!(
        early.equivocators().is_empty(),
        "{:?}",
        early.equivocators()
    );
    let keys = |r: &Replica| r.rejected().keys().copied().collect::<BTreeSet<_>>();
    assert_eq!(keys(&early), keys(&late));
}

/// A change a write policy refused because a certificate that allows it had not arrived
/// yet is judged again when it arrives: a unit certified by two communities creates a hall
/// in the second one's scope, and a node that hears of the first certificate, then the
/// hall, then the second certificate ends as one that heard of both certificates first.
#[test]
fn a_creation_refused_before_the_certificate_that_allows_it_is_judged_again() {
    let (_, _, hongqi) = unit_of_two_communities();
    let mut unit = Replica::new(key("power-co", 7), [7; 8], org("power-co"), *root().root());
    send(&hongqi, &mut unit);
    let hall = resource_in(&mut unit, "dianye", "Power-co hall in dianye").unwrap();
    // The federation without dianye's certificate of the unit, the hall, then that
    // certificate.
    let fed = unit.changes(fed_id(), &[]).unwrap();
    let by_dianye = |sc: &SignedChange| sc.signer == node("dianye", 1);
    let mut rx = replica("xianghe", 1);
    for sc in fed.iter().filter(|sc| !by_dianye(sc)) {
        let _ = rx.apply(sc.clone());
    }
    for sc in unit.changes(hall, &[]).unwrap() {
        let _ = rx.apply(sc);
    }
    assert!(
        rx.doc(hall).is_err(),
        "refused while only hongqi's certificate is known"
    );
    for sc in fed.iter().filter(|sc| by_dianye(sc)) {
        let _ = rx.apply(sc.clone());
    }
    assert!(
        rx.doc(hall).is_ok(),
        "the hall stands once dianye's certificate arrived"
    );
    let mut first = replica("xianghe", 2);
    send(&unit, &mut first);
    assert_eq!(
        rx.rejected().keys().collect::<Vec<_>>(),
        first.rejected().keys().collect::<Vec<_>>()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases_or(32), ..ProptestConfig::default() })]

    /// Eviction never changes a decision: an observer that evicts documents at random
    /// points (loading them back on use) ends exactly as one that never evicts, given the
    /// same deliveries — documents, refusals, waiting changes, equivocations, the catalog
    /// and every decision reported on the way.
    #[test]
    fn any_delivery_order_with_evictions_decides_as_without(
        steps in proptest::collection::vec(step(), 1..30),
        seed in any::<u64>(),
        evict_every in 1u64..6,
    ) {
        let (universe, docs) = run_history(&steps);
        let mut plain = replica("xianghe", 1);
        let mut evicting = plain.clone();
        let store = crate::testutil::MemStore::attach(&mut evicting);
        let mut delivery = universe.clone();
        delivery.extend(universe.iter().take(universe.len() / 2).cloned());
        let mut x = seed | 1;
        let mut evicted = 0;
        for round in 0..3u64 {
            for sc in shuffled(delivery.clone(), seed ^ round) {
                let a = plain.apply(sc.clone()).map_err(|e| e.to_string());
                let b = evicting.apply(sc).map_err(|e| e.to_string());
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
                prop_assert_eq!(plain.take_decisions(), evicting.take_decisions());
                // Evict a random share of the documents (those that may go).
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let ids: Vec<DocId> = evicting.docs().keys().copied().collect();
                for (i, id) in ids.into_iter().enumerate() {
                    if (x >> (i % 60)) % evict_every == 0 && store.evict(&mut evicting, id) {
                        evicted += 1;
                    }
                }
            }
        }
        prop_assert!(evicting.docs().take_failure().is_none());
        let keys = |r: &Replica| r.rejected().keys().copied().collect::<BTreeSet<_>>();
        let waiting = |r: &Replica| r.awaiting().copied().collect::<BTreeSet<_>>();
        prop_assert_eq!(keys(&plain), keys(&evicting));
        prop_assert_eq!(plain.equivocators(), evicting.equivocators());
        prop_assert_eq!(waiting(&plain), waiting(&evicting));
        prop_assert_eq!(plain.pending_len(), evicting.pending_len());
        prop_assert_eq!(plain.catalog(), evicting.catalog());
        // The change logs went with the documents: counted without loading, served (to sync,
        // after any heads) and checked for duplicates as without eviction.
        let ev = |r: &mut Replica, id: DocId| u64::from(store.evict(r, id));
        let all: Vec<DocId> = docs.iter().chain([fed_id()].iter()).copied().collect();
        for id in &all {
            evicted += ev(&mut evicting, *id);
        }
        let loads = evicting.docs().loads();
        for id in &all {
            prop_assert_eq!(plain.logged(*id), evicting.logged(*id));
        }
        prop_assert_eq!(evicting.docs().loads(), loads);
        let served = |r: &Replica, id: DocId, have: &[ChangeHash]| {
            r.changes(id, have)
                .map(|v| v.iter().map(|sc| sc.change_hash().unwrap()).collect::<BTreeSet<_>>())
                .map_err(|e| e.to_string())
        };
        for id in &all {
            let half: Vec<ChangeHash> = served(&plain, *id, &[])
                .unwrap_or_default()
                .into_iter()
                .step_by(2)
                .collect();
            for have in [&[][..], &half[..]] {
                prop_assert_eq!(served(&plain, *id, have), served(&evicting, *id, have));
                evicted += ev(&mut evicting, *id);
            }
        }
        for sc in &universe {
            let h = sc.change_hash().unwrap();
            prop_assert_eq!(plain.has_change_in(sc.doc, &h), evicting.has_change_in(sc.doc, &h));
            evicted += ev(&mut evicting, sc.doc);
            let a = plain.apply(sc.clone()).map_err(|e| e.to_string());
            let b = evicting.apply(sc.clone()).map_err(|e| e.to_string());
            prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
            evicted += ev(&mut evicting, sc.doc);
        }
        prop_assert_eq!(plain.take_decisions(), evicting.take_decisions());
        for id in docs.iter().chain([fed_id()].iter()) {
            let a = plain.doc(*id).map(|d| d.automerge().hydrate(None));
            let b = evicting.doc(*id).map(|d| d.automerge().hydrate(None));
            prop_assert_eq!(a.is_ok(), b.is_ok());
            if let (Ok(a), Ok(b)) = (a, b) {
                prop_assert_eq!(a, b);
            }
        }
        // Documents were evicted, and those loaded back are the same.
        prop_assert!(evicting.docs().loads() <= evicted);
    }
}
