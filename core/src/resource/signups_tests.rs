#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;
use crate::document::{Author, Document};
use crate::ids::DocId;
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::resource::{BookingForm, ResourceOp, ResourceSpec};
use crate::signed::SignedChange;
use crate::testutil::{key, node, org, rejection, replica, scope, send, t};
use crate::time::Slot;

fn now() -> Timestamp {
    t("2026-11-20T09:00:00+08:00")
}

fn deadline() -> Timestamp {
    t("2026-11-25T18:00:00+08:00")
}

/// The owner (dianye) with its room, and the reading club (a partner of dianye) holding a
/// booking the owner confirmed on Thursday 26 November 19:00–21:00.
fn setup() -> (Replica, Replica, DocId, BookingId) {
    let mut owner = replica("dianye", 1);
    let doc = owner
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("dianye")),
                spec: ResourceSpec::room("Dianye activity room", 30),
            },
            now(),
        )
        .unwrap()
        .doc;
    let mut club = replica("club", 1);
    send(&owner, &mut club);
    let slot = Slot::new(
        t("2026-11-26T19:00:00+08:00"),
        t("2026-11-26T21:00:00+08:00"),
    )
    .unwrap();
    let form = BookingForm::new("Wang Fang", "paper-cutting class", slot, 20);
    let booking = match exec(&mut club, doc, ResourceOp::Request(form), now()).unwrap() {
        Effect::Booking(b) => b,
        e => panic!("{e:?}"),
    };
    send(&club, &mut owner);
    exec(
        &mut owner,
        doc,
        ResourceOp::Confirm {
            booking: booking.clone(),
        },
        now(),
    )
    .unwrap();
    send(&owner, &mut club);
    (owner, club, doc, booking)
}

fn exec(r: &mut Replica, doc: DocId, op: ResourceOp, at: Timestamp) -> Result<Effect, Error> {
    r.execute(doc, Op::Resource(op), at).map(|w| w.effect)
}

/// Runs an operation that must fail with a sign-up error; nothing is written.
fn fail(r: &mut Replica, doc: DocId, op: ResourceOp, at: Timestamp) -> ResourceError {
    let heads = r.doc(doc).unwrap().heads();
    let err = exec(r, doc, op, at).unwrap_err();
    assert_eq!(r.doc(doc).unwrap().heads(), heads, "{err} changed the document");
    match err {
        Error::Resource(e) => e,
        other => panic!("expected a resource error, got {other}"),
    }
}

fn p(s: &str) -> Participant {
    s.parse().unwrap()
}

fn activity(booking: &BookingId, capacity: u32, waitlist: u32) -> ResourceOp {
    ResourceOp::SetActivity {
        booking: booking.clone(),
        title: "Paper-cutting class".into(),
        capacity,
        waitlist,
        deadline: deadline(),
    }
}

fn sign(booking: &BookingId, who: &str) -> ResourceOp {
    ResourceOp::SignUp {
        booking: booking.clone(),
        participant: p(who),
    }
}

fn view(r: &Replica, doc: DocId, b: &BookingId) -> ActivityView {
    r.resource(doc).unwrap().activity(b).unwrap()
}

fn names(v: &[SignUp]) -> Vec<String> {
    v.iter().map(|s| s.participant.to_string()).collect()
}

#[test]
fn participants_are_pseudonyms_never_names() {
    assert_eq!(p("dianye:h301").to_string(), "dianye:h301");
    assert!(matches!(p("dianye:h301"), Participant::Household(_)));
    assert!(matches!(p("dianye:7"), Participant::Volunteer(_)));
    for bad in ["Wang Fang", "dianye:hwang", "dianye:h", "dianye", "dianye:h12x", ":h3"] {
        assert!(bad.parse::<Participant>().is_err(), "{bad}");
    }
    let json = serde_json::to_string(&p("dianye:h301")).unwrap();
    assert_eq!(json, "\"dianye:h301\"");
    assert!(serde_json::from_str::<Participant>("\"Li Lei\"").is_err());
}

#[test]
fn places_fill_then_the_waitlist_and_a_cancellation_promotes_the_first_waiting() {
    let (_owner, mut club, doc, b) = setup();
    exec(&mut club, doc, activity(&b, 2, 1), now()).unwrap();
    let at = |m: i64| now().plus_millis(m * Timestamp::MINUTE);
    exec(&mut club, doc, sign(&b, "dianye:h301"), at(1)).unwrap();
    exec(&mut club, doc, sign(&b, "dianye:7"), at(2)).unwrap();
    exec(&mut club, doc, sign(&b, "dianye:h102"), at(3)).unwrap();
    let v = view(&club, doc, &b);
    assert_eq!(names(&v.placed), ["dianye:h301", "dianye:7"]);
    assert_eq!(names(&v.waitlist), ["dianye:h102"]);
    assert_eq!(v.status_of(&p("dianye:h102")), Some(SignUpStatus::Waitlisted));
    // Places and waitlist full: a typed error, nothing written.
    let e = fail(&mut club, doc, sign(&b, "dianye:h5"), at(4));
    assert!(
        matches!(signup_err(&e), SignupError::ActivityFull { capacity: 2, waitlist: 1, .. }),
        "{e}"
    );
    assert_eq!(e.class(), crate::class::ErrorClass::Conflict);
    // Twice: refused.
    let e = fail(&mut club, doc, sign(&b, "dianye:7"), at(4));
    assert!(matches!(signup_err(&e), SignupError::AlreadySignedUp { .. }), "{e}");
    // A cancellation promotes the waitlisted household.
    exec(
        &mut club,
        doc,
        ResourceOp::CancelSignUp {
            booking: b.clone(),
            participant: p("dianye:h301"),
        },
        at(5),
    )
    .unwrap();
    let v = view(&club, doc, &b);
    assert_eq!(names(&v.placed), ["dianye:7", "dianye:h102"]);
    assert!(v.waitlist.is_empty());
    assert_eq!(names(&v.cancelled), ["dianye:h301"]);
    // Cancelling again: not signed up.
    let e = fail(
        &mut club,
        doc,
        ResourceOp::CancelSignUp {
            booking: b.clone(),
            participant: p("dianye:h301"),
        },
        at(6),
    );
    assert!(matches!(signup_err(&e), SignupError::NotSignedUp { .. }), "{e}");
    // Signing up again after cancelling goes to the end of the queue.
    exec(&mut club, doc, sign(&b, "dianye:h301"), at(7)).unwrap();
    assert_eq!(names(&view(&club, doc, &b).waitlist), ["dianye:h301"]);
    // Lowering the capacity moves the latest place to the waitlist on read.
    exec(&mut club, doc, activity(&b, 1, 1), at(8)).unwrap();
    let v = view(&club, doc, &b);
    assert_eq!(names(&v.placed), ["dianye:7"]);
    assert_eq!(names(&v.waitlist), ["dianye:h102", "dianye:h301"]);
}

#[test]
fn bad_sign_ups_are_typed_errors_and_write_nothing() {
    let (mut owner, mut club, doc, b) = setup();
    // No activity yet.
    let e = fail(&mut club, doc, sign(&b, "dianye:h1"), now());
    assert!(matches!(signup_err(&e), SignupError::NoActivity(_)), "{e}");
    // Capacity 0, an empty title, a deadline after the start.
    let e = fail(&mut club, doc, activity(&b, 0, 0), now());
    assert!(matches!(signup_err(&e), SignupError::BadPlaces { .. }), "{e}");
    let e = fail(
        &mut club,
        doc,
        ResourceOp::SetActivity {
            booking: b.clone(),
            title: " ".into(),
            capacity: 3,
            waitlist: 0,
            deadline: deadline(),
        },
        now(),
    );
    assert!(matches!(e, ResourceError::EmptyField { .. }), "{e}");
    let e = fail(
        &mut club,
        doc,
        ResourceOp::SetActivity {
            booking: b.clone(),
            title: "late".into(),
            capacity: 3,
            waitlist: 0,
            deadline: t("2026-11-26T20:00:00+08:00"),
        },
        now(),
    );
    assert!(matches!(signup_err(&e), SignupError::DeadlineAfterStart { .. }), "{e}");
    // Only the organiser (the requester) opens the activity and takes sign-ups.
    let e = fail(&mut owner, doc, activity(&b, 3, 0), now());
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    assert_eq!(e.class(), crate::class::ErrorClass::Unauthorized);
    exec(&mut club, doc, activity(&b, 3, 0), now()).unwrap();
    send(&club, &mut owner);
    let e = fail(&mut owner, doc, sign(&b, "dianye:h1"), now());
    assert!(matches!(e, ResourceError::NotAllowed { .. }), "{e}");
    // After the deadline: closed.
    let e = fail(&mut club, doc, sign(&b, "dianye:h1"), deadline());
    assert!(matches!(signup_err(&e), SignupError::SignupsClosed { .. }), "{e}");
    // A cancelled booking takes no sign-ups.
    exec(
        &mut club,
        doc,
        ResourceOp::Cancel {
            booking: b.clone(),
            reason: "teacher ill".into(),
        },
        now(),
    )
    .unwrap();
    let e = fail(&mut club, doc, sign(&b, "dianye:h1"), now());
    assert!(matches!(signup_err(&e), SignupError::NotConfirmed { .. }), "{e}");
}

#[test]
fn an_activity_needs_a_confirmed_booking() {
    let (_owner, mut club, doc, _) = setup();
    let slot = Slot::new(
        t("2026-11-27T19:00:00+08:00"),
        t("2026-11-27T20:00:00+08:00"),
    )
    .unwrap();
    let form = BookingForm::new("Wang Fang", "choir", slot, 10);
    let Effect::Booking(tentative) = exec(&mut club, doc, ResourceOp::Request(form), now()).unwrap()
    else {
        panic!()
    };
    let e = fail(&mut club, doc, activity(&tentative, 3, 0), now());
    assert!(matches!(signup_err(&e), SignupError::NotConfirmed { .. }), "{e}");
}

/// The sign-up error inside a resource error.
fn signup_err(e: &ResourceError) -> &SignupError {
    match e {
        ResourceError::Signup(s) => s,
        other => panic!("expected a sign-up error, got {other}"),
    }
}

// ---- crafted remote changes ----------------------------------------------------------------

/// A change by node `n` of `o` on top of `base`, bypassing the typed operation.
fn forge(base: &Document, o: &str, n: u8, at: Timestamp, puts: &[Put]) -> SignedChange {
    let mut d = base.clone();
    d.set_author(&Author {
        node: node(o, n),
        incarnation: [0xEE; 8],
        org: org(o),
    });
    let c = d.commit(at, "forged", puts).unwrap();
    SignedChange::sign(&key(o, n), d.id(), c.raw_bytes()).unwrap()
}

fn sign_up_put(b: &BookingId, who: &str, by: &str, at: Timestamp) -> Put {
    Put::new(
        "signups",
        format!("{b}/{who}"),
        &SignUp {
            participant: p(who),
            at,
            cancelled: None,
            by: scope(by),
        },
    )
}

#[test]
fn crafted_sign_ups_are_refused_by_receivers() {
    let (mut owner, mut club, doc, b) = setup();
    exec(&mut club, doc, activity(&b, 3, 0), now()).unwrap();
    send(&club, &mut owner);
    let base = owner.doc(doc).unwrap().clone();
    let before = view(&owner, doc, &b);
    // The room's owner (not the organiser) adds a sign-up.
    let sc = forge(&base, "dianye", 1, now(), &[sign_up_put(&b, "dianye:h9", "beishi/dianye", now())]);
    let reason = rejection(club.apply(sc).unwrap_err());
    assert!(reason.contains("only the organiser"), "{reason}");
    // Another partner of the community, naming itself.
    let sc = forge(&base, "choir", 1, now(), &[sign_up_put(&b, "dianye:h9", "beishi/dianye/choir", now())]);
    let reason = rejection(club.apply(sc).unwrap_err());
    assert!(reason.contains("only the organiser"), "{reason}");
    // The organiser itself, after the deadline (dated as its change).
    let late = deadline().plus_millis(Timestamp::MINUTE);
    let sc = forge(&base, "club", 1, late, &[sign_up_put(&b, "dianye:h9", "beishi/dianye/club", late)]);
    let reason = rejection(owner.apply(sc).unwrap_err());
    assert!(reason.contains("after the deadline"), "{reason}");
    // … or dating the sign-up before its change to slip under the deadline: refused too
    // when the sign-up is dated after the change.
    let sc = forge(&base, "club", 1, now(), &[sign_up_put(&b, "dianye:h9", "beishi/dianye/club", late)]);
    let reason = rejection(owner.apply(sc).unwrap_err());
    assert!(reason.contains("dated after its change"), "{reason}");
    // A sign-up naming the wrong participant for its key.
    let mut put = sign_up_put(&b, "dianye:h9", "beishi/dianye/club", now());
    put.key = format!("{b}/dianye:h10");
    let sc = forge(&base, "club", 1, now(), &[put]);
    assert!(owner.apply(sc).is_err());
    assert_eq!(view(&owner, doc, &b), before);
    assert_eq!(view(&club, doc, &b).placed.len(), 0);
}

#[test]
fn a_crafted_activity_on_an_unconfirmed_booking_is_refused() {
    let (mut owner, mut club, doc, _) = setup();
    let slot = Slot::new(
        t("2026-11-27T19:00:00+08:00"),
        t("2026-11-27T20:00:00+08:00"),
    )
    .unwrap();
    let form = BookingForm::new("Wang Fang", "choir", slot, 10);
    let Effect::Booking(tentative) = exec(&mut club, doc, ResourceOp::Request(form), now()).unwrap()
    else {
        panic!()
    };
    send(&club, &mut owner);
    let base = club.doc(doc).unwrap().clone();
    let a = Activity {
        title: "x".into(),
        capacity: 5,
        waitlist: 0,
        deadline: deadline(),
        by: scope("beishi/dianye/club"),
        at: now(),
    };
    let sc = forge(&base, "club", 1, now(), &[Put::new("activities", tentative.to_string(), &a)]);
    let reason = rejection(owner.apply(sc).unwrap_err());
    assert!(reason.contains("not confirmed"), "{reason}");
}

// ---- convergence and the capacity invariant -------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    /// Workstation `w` (0 or 1) signs participant `p` up at minute `m`.
    Sign(usize, u8, u8),
    /// Workstation `w` cancels participant `p`.
    Cancel(usize, u8, u8),
    /// Workstation `w` sets the capacity.
    Capacity(usize, u8, u8),
    /// The workstations exchange what they hold.
    Sync,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..2usize, 0..8u8, 0..60u8).prop_map(|(w, p, m)| Step::Sign(w, p, m)),
        2 => (0..2usize, 0..8u8, 0..60u8).prop_map(|(w, p, m)| Step::Cancel(w, p, m)),
        1 => (0..2usize, 1..5u8, 0..60u8).prop_map(|(w, c, m)| Step::Capacity(w, c, m)),
        2 => Just(Step::Sync),
    ]
}

fn participant(i: u8) -> Participant {
    if i.is_multiple_of(2) {
        p(&format!("dianye:h{i}"))
    } else {
        p(&format!("dianye:{i}"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Two workstations of the organiser take sign-ups concurrently (both may give away the
    /// last place); whatever order the changes arrive in, replicas agree, the places never
    /// exceed the capacity, and every sign-up is before the deadline.
    #[test]
    fn replicas_agree_and_places_never_exceed_capacity(
        steps in prop::collection::vec(step(), 1..30),
        order in prop::collection::vec(any::<prop::sample::Index>(), 64),
    ) {
        let (owner, mut w0, doc, b) = setup();
        exec(&mut w0, doc, activity(&b, 2, 2), now()).unwrap();
        let mut w1 = replica("club", 2);
        send(&owner, &mut w1);
        send(&w0, &mut w1);
        let mut ws = [w0, w1];
        for s in steps {
            let at = |m: u8| now().plus_millis(i64::from(m) * Timestamp::MINUTE);
            let (w, op, when) = match s {
                Step::Sync => {
                    let [a, b2] = &mut ws;
                    send(a, b2);
                    send(b2, a);
                    continue;
                }
                Step::Sign(w, i, m) => (w, sign(&b, &participant(i).to_string()), at(m)),
                Step::Cancel(w, i, m) => (
                    w,
                    ResourceOp::CancelSignUp { booking: b.clone(), participant: participant(i) },
                    at(m),
                ),
                Step::Capacity(w, c, m) => (w, activity(&b, u32::from(c), 2), at(m)),
            };
            // Refusals (full, twice, not signed up) are fine: they write nothing.
            let _ = exec(&mut ws[w], doc, op, when);
        }
        // Every change of both workstations, delivered in a random order to a fresh replica;
        // changes whose dependencies are missing wait.
        let mut all: Vec<SignedChange> = Vec::new();
        for w in &ws {
            for c in w.changes(doc, &[]).unwrap() {
                if !all.iter().any(|x| x.change_hash().unwrap() == c.change_hash().unwrap()) {
                    all.push(c);
                }
            }
        }
        let mut shuffled = all.clone();
        for (i, ix) in order.iter().enumerate().take(shuffled.len()) {
            let j = ix.index(shuffled.len());
            let n = shuffled.len();
            shuffled.swap(i % n, j);
        }
        let mut a = replica("hongqi", 1);
        let mut c = replica("hongqi", 2);
        for sc in owner.changes(doc, &[]).unwrap() {
            let _ = a.apply(sc.clone());
            let _ = c.apply(sc);
        }
        for sc in &shuffled {
            a.apply(sc.clone()).unwrap();
        }
        for sc in all.iter().rev() {
            c.apply(sc.clone()).unwrap();
        }
        let va = view(&a, doc, &b);
        let vc = view(&c, doc, &b);
        prop_assert_eq!(&va, &vc);
        prop_assert!(va.placed.len() <= va.activity.capacity as usize);
        prop_assert!(va.placed.iter().chain(&va.waitlist).all(|s| s.at < va.activity.deadline));
        // Every replica that holds the same changes shows the same list.
        let [w0, w1] = &mut ws;
        send(w0, w1);
        send(w1, w0);
        prop_assert_eq!(view(w0, doc, &b), va.clone());
        prop_assert_eq!(view(w1, doc, &b), va);
    }
}
