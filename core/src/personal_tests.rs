//! Personal records in replicas: kept out of documents, held and served only within the
//! audience, refused when forged, erasable (see `crate::personal`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::federation::FederationOp;
use crate::ids::{BookingId, DocId, OrderId, VolunteerId, WishId};
use crate::personal::{Accepted, PersonalData, PersonalError, PersonalRecord, Resident};
use crate::replica::{Effect, Error, NewDoc, Op, Replica};
use crate::resource::{BookingForm, ResourceOp, ResourceSpec};
use crate::testutil::{date, fed_id, org, replica, root, scope, send, t};
use crate::time::{Slot, Timestamp};
use crate::wishes::{Channel, ItemKind, WishesOp};

const PHONE: &str = "13812345678";

fn now() -> Timestamp {
    t("2026-11-20T09:00:00+08:00")
}

fn thursday() -> Slot {
    Slot::new(
        t("2026-11-26T19:00:00+08:00"),
        t("2026-11-26T21:00:00+08:00"),
    )
    .unwrap()
}

/// Dianye's room, a booking request by Hongqi naming its booker and phone.
fn booked() -> (Replica, Replica, DocId, BookingId) {
    let mut owner = replica("dianye", 1);
    let doc = owner
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("dianye")),
                spec: ResourceSpec::room("Dianye hall", 40),
            },
            now(),
        )
        .unwrap()
        .doc;
    let mut hongqi = replica("hongqi", 1);
    send(&owner, &mut hongqi);
    let form = BookingForm::new("王小红", "dance class", thursday(), 12).with_contact(PHONE);
    let w = hongqi
        .execute(doc, Op::Resource(ResourceOp::Request(form)), now())
        .unwrap();
    let Effect::Booking(b) = w.effect else {
        panic!("{:?}", w.effect)
    };
    let rec = w.personal.expect("the booker's data is a personal record");
    assert_eq!(rec.record, format!("requests/{b}"));
    assert_eq!(
        rec.data,
        Some(PersonalData::Booker {
            name: "王小红".into(),
            contact: Some(PHONE.into())
        })
    );
    send(&hongqi, &mut owner);
    (owner, hongqi, doc, b)
}

fn raw_contains(r: &Replica, doc: DocId, needle: &str) -> bool {
    let saved = r.doc(doc).unwrap().save();
    saved.windows(needle.len()).any(|w| w == needle.as_bytes())
        || r.changes(doc, &[]).unwrap().iter().any(|c| {
            c.encode()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
        })
}

#[test]
fn a_booker_is_masked_in_the_document_and_held_by_owner_and_requester_only() {
    let (mut owner, hongqi, doc, b) = booked();
    // The document (what every receiver of the resource gets) holds only the masked name.
    let view = owner.resource(doc).unwrap();
    let form = &view.booking(&b).unwrap().request.form;
    assert_eq!(form.booker, "王**");
    assert_eq!(form.contact, None);
    assert!(!raw_contains(&owner, doc, PHONE));
    assert!(!raw_contains(&owner, doc, "王小红"));
    // The owner does not hold the data until it receives the record; then it reads it.
    let record = format!("requests/{b}");
    assert!(owner.personal_data(doc, &record).is_none());
    let shared = hongqi.personal_for(&owner.author().node, now());
    assert_eq!(shared.len(), 1, "the requester serves the owner");
    let rec = shared[0].clone();
    assert_eq!(
        owner.accept_personal(rec.clone(), now()),
        Ok(Accepted::Stored)
    );
    assert_eq!(
        owner.accept_personal(rec.clone(), now()),
        Ok(Accepted::Known)
    );
    let full = owner.with_personal(
        doc,
        owner.resource(doc).unwrap().booking(&b).unwrap().clone(),
    );
    assert_eq!(full.request.form.booker, "王小红");
    assert_eq!(full.request.form.contact.as_deref(), Some(PHONE));
    // A second node of the owner community is in the audience too.
    let mut owner2 = replica("dianye", 2);
    send(&owner, &mut owner2);
    assert_eq!(owner.personal_for(&owner2.author().node, now()).len(), 1);
    assert_eq!(
        owner2.accept_personal(rec.clone(), now()),
        Ok(Accepted::Stored)
    );
    // Nobody else: the street, the root, another community, a unit of the owner, a partner.
    for (o, n) in [
        ("beishi", 1),
        ("hongqi-not", 0),
        ("xianghe", 1),
        ("power-co", 1),
        ("reading-club", 1),
        ("jianzhong", 1),
    ] {
        if o == "hongqi-not" {
            let root_node = root().author().node;
            assert!(owner.personal_for(&root_node, now()).is_empty(), "root");
            assert!(hongqi.personal_for(&root_node, now()).is_empty(), "root");
            continue;
        }
        let mut other = replica(o, n);
        send(&owner, &mut other);
        assert!(
            owner.personal_for(&other.author().node, now()).is_empty(),
            "{o} is served by the owner"
        );
        assert!(
            hongqi.personal_for(&other.author().node, now()).is_empty(),
            "{o} is served by the requester"
        );
        // Pushed to it anyway, it does not keep it.
        assert!(
            matches!(
                other.accept_personal(rec.clone(), now()),
                Err(PersonalError::NotAudience { .. })
            ),
            "{o} kept a record outside its audience"
        );
        assert!(other.personal(doc, &record).is_none());
    }
}

#[test]
fn forged_personal_records_are_refused() {
    let (mut owner, hongqi, doc, b) = booked();
    let record = format!("requests/{b}");
    let data = Some(PersonalData::Booker {
        name: "李四".into(),
        contact: Some("13000000000".into()),
    });
    // Another community signs a booker for Hongqi's request.
    let xianghe = crate::testutil::key("xianghe", 1);
    let forged = PersonalRecord::sign(&xianghe, doc, record.clone(), data.clone(), now());
    let e = owner.accept_personal(forged, now()).unwrap_err();
    assert!(matches!(e, PersonalError::NotAllowed { .. }), "{e}");
    assert!(e.is_forgery());
    // The owner itself may read the booker but not write it (the requester writes it).
    let own = PersonalRecord::sign(
        &crate::testutil::key("dianye", 2),
        doc,
        record.clone(),
        data.clone(),
        now(),
    );
    assert!(matches!(
        owner.accept_personal(own, now()),
        Err(PersonalError::NotAllowed { .. })
    ));
    assert!(matches!(
        owner.write_personal(doc, &record, data.clone(), now()),
        Err(Error::Personal(PersonalError::NotAllowed { .. }))
    ));
    // A changed field breaks the signature.
    let mut tampered = hongqi.personal(doc, &record).unwrap().clone();
    tampered.data = data.clone();
    assert!(matches!(
        owner.accept_personal(tampered, now()),
        Err(PersonalError::BadSignature { .. })
    ));
    // The wrong kind of data for the record.
    let wrong = PersonalRecord::sign(
        &crate::testutil::key("hongqi", 2),
        doc,
        record.clone(),
        Some(PersonalData::Household {
            household: "3-2-401".into(),
        }),
        now(),
    );
    assert!(matches!(
        owner.accept_personal(wrong, now()),
        Err(PersonalError::WrongKind { .. })
    ));
    // A record of something the document does not hold, or in a non-canonical key.
    let unknown = PersonalRecord::sign(
        &crate::testutil::key("hongqi", 1),
        doc,
        "requests/hongqi:99".into(),
        data.clone(),
        now(),
    );
    assert!(matches!(
        owner.accept_personal(unknown, now()),
        Err(PersonalError::UnknownRecord { .. })
    ));
    // A key without a certificate.
    let stranger = crate::identity::Keypair::from_secret(&[42; 32]);
    let e = owner
        .accept_personal(
            PersonalRecord::sign(&stranger, doc, record.clone(), data, now()),
            now(),
        )
        .unwrap_err();
    assert!(matches!(e, PersonalError::NotAllowed { .. }), "{e}");
    assert!(owner.personal(doc, &record).is_none(), "nothing was kept");
}

#[test]
fn erasure_removes_the_data_everywhere_in_the_audience_and_keeps_the_history() {
    let (mut owner, mut hongqi, doc, b) = booked();
    let record = format!("requests/{b}");
    let rec = hongqi.personal(doc, &record).unwrap().clone();
    owner.accept_personal(rec.clone(), now()).unwrap();
    let status_before = owner.resource(doc).unwrap().status(&b).cloned();
    // The owner erases at the person's request.
    let erased = owner.write_personal(doc, &record, None, now()).unwrap();
    assert!(erased.is_erased());
    assert!(owner.personal_data(doc, &record).is_none());
    // The requester takes the erasure (from an audience member), even though older.
    let mut old = erased.clone();
    assert!(old.supersedes(&rec));
    old.at = Timestamp(now().0 - 1);
    assert_eq!(
        hongqi.accept_personal(erased.clone(), now()),
        Ok(Accepted::Stored)
    );
    assert!(hongqi.personal_data(doc, &record).is_none());
    // Data sent again after the erasure does not come back, and cannot be written again.
    assert_eq!(
        hongqi.accept_personal(rec.clone(), now()),
        Ok(Accepted::Known)
    );
    assert_eq!(owner.accept_personal(rec, now()), Ok(Accepted::Known));
    assert!(owner.personal_data(doc, &record).is_none());
    let again = Some(PersonalData::Booker {
        name: "王小红".into(),
        contact: None,
    });
    assert!(matches!(
        hongqi.write_personal(doc, &record, again, now()),
        Err(Error::Personal(PersonalError::Erased { .. }))
    ));
    // The booking itself is untouched.
    assert_eq!(
        owner.resource(doc).unwrap().status(&b).cloned(),
        status_before
    );
    // Only the audience may erase.
    let xianghe = crate::testutil::key("xianghe", 1);
    let mut hongqi2 = replica("hongqi", 2);
    send(&owner, &mut hongqi2);
    let e = hongqi2
        .accept_personal(
            PersonalRecord::sign(&xianghe, doc, record, None, now()),
            now(),
        )
        .unwrap_err();
    assert!(matches!(e, PersonalError::NotAllowed { .. }), "{e}");
}

#[test]
fn a_revoked_reader_is_served_nothing() {
    let (mut owner, hongqi, doc, b) = booked();
    let record = format!("requests/{b}");
    owner
        .accept_personal(hongqi.personal(doc, &record).unwrap().clone(), now())
        .unwrap();
    let hongqi_node = hongqi.author().node;
    assert_eq!(owner.personal_for(&hongqi_node, now()).len(), 1);
    let mut root = root();
    // The root has seen the request: the revocation's cut-off keeps it.
    send(&owner, &mut root);
    let rev = root
        .execute(
            fed_id(),
            Op::Federation(FederationOp::Revoke {
                subject: hongqi_node,
                reason: "laptop stolen".into(),
                certs: None,
            }),
            now(),
        )
        .unwrap()
        .change;
    owner.apply(rev).unwrap();
    assert!(owner.resource(doc).unwrap().booking(&b).is_some());
    assert!(owner.personal_for(&hongqi_node, now()).is_empty());
    // Its records signed from then on are refused too.
    let late = PersonalRecord::sign(
        &crate::testutil::key("hongqi", 1),
        doc,
        record,
        Some(PersonalData::Booker {
            name: "王小红".into(),
            contact: Some("13999999999".into()),
        }),
        now(),
    );
    let r = owner.accept_personal(late, now());
    assert!(matches!(r, Err(PersonalError::NotAllowed { .. })), "{r:?}");
}

#[test]
fn a_household_is_read_by_the_kitchen_and_the_placing_organisation() {
    let mut kitchen = replica("hongqi", 1);
    let spec = ResourceSpec::kitchen("Hongqi canteen", 40, 140);
    let doc = kitchen
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("hongqi")),
                spec,
            },
            now(),
        )
        .unwrap()
        .doc;
    let mut bldg = replica("bldg3", 1);
    send(&kitchen, &mut bldg);
    let w = bldg
        .execute(
            doc,
            Op::Resource(ResourceOp::PlaceOrder {
                household: "3-2-401".into(),
                date: date(2026, 11, 26),
                portions: 2,
                items: vec![],
            }),
            now(),
        )
        .unwrap();
    let Effect::Order(o) = w.effect else { panic!() };
    send(&bldg, &mut kitchen);
    let order = kitchen.resource(doc).unwrap().order(&o).unwrap();
    assert_eq!(order.order.household, "3-*-*");
    assert!(!raw_contains(&kitchen, doc, "3-2-401"));
    let rec = w.personal.unwrap();
    assert_eq!(rec.record, format!("orders/{o}"));
    assert_eq!(bldg.personal_for(&kitchen.author().node, now()).len(), 1);
    kitchen.accept_personal(rec.clone(), now()).unwrap();
    let full = kitchen.order_with_personal(doc, order);
    assert_eq!(full.order.household, "3-2-401");
    let mut other = replica("bldg5", 1);
    send(&kitchen, &mut other);
    assert!(kitchen.personal_for(&other.author().node, now()).is_empty());
    assert!(other.accept_personal(rec, now()).is_err());
    let _: OrderId = o;
}

#[test]
fn a_resident_is_read_by_the_posting_community_and_whoever_is_assigned() {
    let mut dianye = replica("dianye", 1);
    let doc = dianye
        .create(
            NewDoc::Wishes {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye wishes".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    let w = dianye
        .execute(
            doc,
            Op::Wishes(WishesOp::Post {
                kind: ItemKind::Wish,
                title: "A walking frame".into(),
                text: "An elder needs a walking frame".into(),
                category: "elder care".into(),
                channel: Channel::HomeVisit,
                place: Some("Building 3".into()),
                resident: Some(Resident {
                    name: "赵大爷".into(),
                    contact: Some(PHONE.into()),
                    address: Some("3-2-401".into()),
                }),
            }),
            now(),
        )
        .unwrap();
    let Effect::Wish(wish) = w.effect else {
        panic!()
    };
    assert!(!raw_contains(&dianye, doc, "赵大爷"));
    assert!(!raw_contains(&dianye, doc, PHONE));
    let mut unit = replica("state-grid", 1);
    send(&dianye, &mut unit);
    let unit_node = unit.author().node;
    assert!(
        dianye.personal_for(&unit_node, now()).is_empty(),
        "not yet assigned"
    );
    let claim = unit
        .execute(
            doc,
            Op::Wishes(WishesOp::Claim {
                wish: wish.clone(),
                volunteer: None,
                note: "we can bring one".into(),
            }),
            now(),
        )
        .unwrap();
    let Effect::Claim(c) = claim.effect else {
        panic!()
    };
    send(&unit, &mut dianye);
    assert!(
        dianye.personal_for(&unit_node, now()).is_empty(),
        "a claim is not enough"
    );
    dianye
        .execute(
            doc,
            Op::Wishes(WishesOp::Assign {
                wish: wish.clone(),
                claim: c.clone(),
            }),
            now(),
        )
        .unwrap();
    send(&dianye, &mut unit);
    let shared = dianye.personal_for(&unit_node, now());
    assert_eq!(shared.len(), 1, "the assigned unit reads the resident");
    let rec = shared[0].clone();
    assert_eq!(
        unit.accept_personal(rec.clone(), now()),
        Ok(Accepted::Stored)
    );
    // Released, it is served no more (what it holds, it was given while assigned).
    dianye
        .execute(doc, Op::Wishes(WishesOp::Release { wish, claim: c }), now())
        .unwrap();
    assert!(dianye.personal_for(&unit_node, now()).is_empty());
    let _: WishId = rec.record[6..].parse().unwrap();
}

#[test]
fn a_volunteer_identity_stays_with_the_home_community() {
    let mut dianye = replica("dianye", 1);
    let ledger = crate::testutil::ledger_of(&mut dianye, "dianye");
    let v: VolunteerId = "dianye:7".parse().unwrap();
    let record = format!("volunteers/{v}");
    let data = Some(PersonalData::Volunteer {
        name: "王小红".into(),
        phone: Some(PHONE.into()),
        id_number: Some("110101199001011234".into()),
    });
    let rec = dianye
        .write_personal(ledger, &record, data.clone(), now())
        .unwrap();
    let mut dianye2 = replica("dianye", 2);
    send(&dianye, &mut dianye2);
    assert_eq!(dianye.personal_for(&dianye2.author().node, now()).len(), 1);
    assert_eq!(
        dianye2.accept_personal(rec.clone(), now()),
        Ok(Accepted::Stored)
    );
    for o in ["beishi", "hongqi", "state-grid", "xianghe"] {
        let mut other = replica(o, 1);
        send(&dianye, &mut other);
        assert!(
            dianye.personal_for(&other.author().node, now()).is_empty(),
            "{o}"
        );
        assert!(other.accept_personal(rec.clone(), now()).is_err(), "{o}");
    }
    // Another community's volunteer is not this ledger's to name.
    let e = dianye
        .write_personal(ledger, "volunteers/hongqi:3", data.clone(), now())
        .unwrap_err();
    assert!(
        matches!(e, Error::Personal(PersonalError::NotHome { .. })),
        "{e}"
    );
    // Only the home community writes it.
    let mut hongqi = replica("hongqi", 1);
    send(&dianye, &mut hongqi);
    assert!(matches!(
        hongqi.write_personal(ledger, &record, data, now()),
        Err(Error::Personal(PersonalError::NotAllowed { .. }))
    ));
    // Empty or overlong fields are refused before anything is written.
    let e = dianye
        .write_personal(
            ledger,
            "volunteers/dianye:8",
            Some(PersonalData::Volunteer {
                name: " ".into(),
                phone: None,
                id_number: None,
            }),
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::Personal(PersonalError::EmptyField { .. })),
        "{e}"
    );
    assert!(dianye.personal(ledger, "volunteers/dianye:8").is_none());
    let _ = scope("dianye");
}
