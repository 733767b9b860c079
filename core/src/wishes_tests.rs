use super::*;
use crate::DocId;
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::testutil::{org, replica, sync, t};

fn now() -> Timestamp {
    t("2026-03-05T09:00:00+08:00")
}

fn setup() -> (Replica, DocId) {
    let mut c = replica("xianghe", 1);
    let doc = c
        .create(
            NewDoc::Wishes {
                street: org("jianzhong"),
                community: org("xianghe"),
                title: "Xianghe wishes".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    (c, doc)
}

fn exec(r: &mut Replica, doc: DocId, op: WishesOp) -> Result<Effect, Error> {
    r.execute(doc, Op::Wishes(op), now()).map(|w| w.effect)
}

fn post(r: &mut Replica, doc: DocId, kind: ItemKind, title: &str) -> WishId {
    match exec(
        r,
        doc,
        WishesOp::Post {
            kind,
            title: title.into(),
            text: "text".into(),
            category: "elder care".into(),
            channel: Channel::QrCode,
            place: Some("Building 3".into()),
            resident: None,
        },
    )
    .unwrap()
    {
        Effect::Wish(id) => id,
        e => panic!("{e:?}"),
    }
}

fn claim(r: &mut Replica, doc: DocId, wish: &WishId) -> ClaimId {
    match exec(
        r,
        doc,
        WishesOp::Claim {
            wish: wish.clone(),
            volunteer: None,
            note: "we can do it".into(),
        },
    )
    .unwrap()
    {
        Effect::Claim(id) => id,
        e => panic!("{e:?}"),
    }
}

fn refused(r: &mut Replica, doc: DocId, op: WishesOp) -> Error {
    let before = r.doc(doc).unwrap().heads();
    let err = exec(r, doc, op).unwrap_err();
    assert_eq!(
        r.doc(doc).unwrap().heads(),
        before,
        "document changed by {err}"
    );
    err
}

#[test]
fn many_claims_merge_and_the_community_assigns_exactly_one() {
    let (mut c, doc) = setup();
    let wish = post(&mut c, doc, ItemKind::Wish, "walking stick for Mrs. L");
    let mut unit_a = replica("power-co", 2);
    let mut unit_b = replica("tech-college", 3);
    sync(&mut c, &mut unit_a);
    sync(&mut c, &mut unit_b);
    let ca = claim(&mut unit_a, doc, &wish);
    let cb = claim(&mut unit_b, doc, &wish);
    sync(&mut unit_a, &mut c);
    sync(&mut unit_b, &mut c);
    let w = c.wishes(doc).unwrap();
    assert_eq!(w.claims(&wish).len(), 2);
    assert_eq!(w.status(&wish).unwrap(), Status::Claimed(2));

    // Only the community assigns.
    let err = refused(
        &mut unit_a,
        doc,
        WishesOp::Assign {
            wish: wish.clone(),
            claim: ca.clone(),
        },
    );
    assert!(
        matches!(err, Error::Wishes(WishesError::NotAllowed { .. })),
        "{err}"
    );
    exec(
        &mut c,
        doc,
        WishesOp::Assign {
            wish: wish.clone(),
            claim: cb.clone(),
        },
    )
    .unwrap();
    let err = refused(
        &mut c,
        doc,
        WishesOp::Assign {
            wish: wish.clone(),
            claim: ca.clone(),
        },
    );
    assert_eq!(
        err,
        Error::Wishes(WishesError::AlreadyAssigned {
            wish: wish.clone(),
            current: cb.clone()
        })
    );
    // Release returns it to claimed; then the other claim can be assigned.
    exec(
        &mut c,
        doc,
        WishesOp::Release {
            wish: wish.clone(),
            claim: cb.clone(),
        },
    )
    .unwrap();
    assert_eq!(
        c.wishes(doc).unwrap().status(&wish).unwrap(),
        Status::Claimed(2)
    );
    exec(
        &mut c,
        doc,
        WishesOp::Assign {
            wish: wish.clone(),
            claim: ca.clone(),
        },
    )
    .unwrap();
    sync(&mut c, &mut unit_a);
    // The assignee fulfils, the community confirms.
    let err = refused(
        &mut unit_b,
        doc,
        WishesOp::Advance {
            wish: wish.clone(),
            stage: Stage::Fulfilled {
                note: "done".into(),
            },
        },
    );
    assert!(
        matches!(err, Error::Wishes(WishesError::NotAllowed { .. })),
        "{err}"
    );
    exec(
        &mut unit_a,
        doc,
        WishesOp::Advance {
            wish: wish.clone(),
            stage: Stage::Fulfilled {
                note: "delivered".into(),
            },
        },
    )
    .unwrap();
    sync(&mut unit_a, &mut c);
    exec(
        &mut c,
        doc,
        WishesOp::Advance {
            wish: wish.clone(),
            stage: Stage::Confirmed,
        },
    )
    .unwrap();
    assert_eq!(
        c.wishes(doc).unwrap().status(&wish).unwrap(),
        Status::Confirmed
    );
    let err = refused(
        &mut c,
        doc,
        WishesOp::Advance {
            wish,
            stage: Stage::Withdrawn { reason: "x".into() },
        },
    );
    assert!(
        matches!(
            err,
            Error::Wishes(WishesError::BadTransition {
                status: "confirmed",
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn assigning_an_unclaimed_wish_is_refused() {
    let (mut c, doc) = setup();
    let wish = post(&mut c, doc, ItemKind::Wish, "fix the stair light");
    let ghost: ClaimId = "power-co:1".parse().unwrap();
    let err = refused(
        &mut c,
        doc,
        WishesOp::Assign {
            wish: wish.clone(),
            claim: ghost.clone(),
        },
    );
    assert_eq!(
        err,
        Error::Wishes(WishesError::NotClaimed { wish, claim: ghost })
    );
    let unknown: WishId = "xianghe:77".parse().unwrap();
    let err = refused(
        &mut c,
        doc,
        WishesOp::Claim {
            wish: unknown.clone(),
            volunteer: None,
            note: String::new(),
        },
    );
    assert_eq!(err, Error::Wishes(WishesError::UnknownWish(unknown)));
}

#[test]
fn offers_take_several_assignments() {
    let (mut c, doc) = setup();
    let offer = post(&mut c, doc, ItemKind::Offer, "free blood-pressure checks");
    let c1 = claim(&mut c, doc, &offer);
    let mut unit = replica("hospital", 4);
    sync(&mut c, &mut unit);
    let c2 = claim(&mut unit, doc, &offer);
    sync(&mut unit, &mut c);
    exec(
        &mut c,
        doc,
        WishesOp::Assign {
            wish: offer.clone(),
            claim: c1.clone(),
        },
    )
    .unwrap();
    exec(
        &mut c,
        doc,
        WishesOp::Assign {
            wish: offer.clone(),
            claim: c2.clone(),
        },
    )
    .unwrap();
    assert_eq!(
        c.wishes(doc).unwrap().status(&offer).unwrap(),
        Status::Assigned(vec![c2, c1])
    );
}

#[test]
fn suggestions_are_routed_and_resolved_and_counted_per_year() {
    let (mut c, doc) = setup();
    let s = post(&mut c, doc, ItemKind::Problem, "dark road by the gate");
    let err = refused(
        &mut c,
        doc,
        WishesOp::Claim {
            wish: s.clone(),
            volunteer: None,
            note: String::new(),
        },
    );
    assert!(
        matches!(err, Error::Wishes(WishesError::BadTransition { .. })),
        "{err}"
    );
    exec(
        &mut c,
        doc,
        WishesOp::Advance {
            wish: s.clone(),
            stage: Stage::Routed {
                to: "town construction office".into(),
            },
        },
    )
    .unwrap();
    assert_eq!(
        c.wishes(doc).unwrap().status(&s).unwrap(),
        Status::Routed("town construction office".into())
    );
    exec(
        &mut c,
        doc,
        WishesOp::Advance {
            wish: s.clone(),
            stage: Stage::Resolved {
                resolution: "55 solar lamps".into(),
            },
        },
    )
    .unwrap();
    let w2 = post(&mut c, doc, ItemKind::Wish, "books for the book bar");
    let _ = w2;
    let counts = c.wishes(doc).unwrap().yearly_counts(2026);
    assert_eq!(counts.get(&(ItemKind::Problem, "resolved")), Some(&1));
    assert_eq!(counts.get(&(ItemKind::Wish, "published")), Some(&1));
    assert!(c.wishes(doc).unwrap().yearly_counts(2025).is_empty());
    let err = refused(
        &mut c,
        doc,
        WishesOp::Post {
            kind: ItemKind::Wish,
            title: " ".into(),
            text: String::new(),
            category: String::new(),
            channel: Channel::Forum,
            place: None,
            resident: None,
        },
    );
    assert_eq!(err, Error::Wishes(WishesError::Empty("title")));
}
