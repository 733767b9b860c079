//! Random requests from three organisations, random merges, and the owner and a delegate
//! (org-c, Wednesdays 17:00–21:00) confirming, waitlisting, promoting and revoking in random
//! order on their own replicas: confirmed bookings never overlap.

use proptest::prelude::*;

use super::*;

const ORGS: [&str; 4] = [OWNER, "org-a", "org-b", "org-c"];

#[derive(Debug, Clone)]
enum Step {
    Request {
        org: usize,
        day: u8,
        hour: u8,
        len: u8,
        attendees: u32,
        alternate: Option<(u8, u8)>,
        weeks: u32,
    },
    Sync {
        from: usize,
        to: usize,
    },
    /// An arbiter (`by`: 0 = the owner, else the delegate) acts on a booking it knows.
    Decide {
        by: usize,
        what: Decide,
        pick: usize,
    },
    Promote {
        by: usize,
    },
    Cancel {
        org: usize,
        pick: usize,
    },
}

#[derive(Debug, Clone, Copy)]
enum Decide {
    Confirm,
    Waitlist,
    Revoke,
}

/// Replica index of the arbiter: the owner or the delegate org-c.
fn arbiter(by: usize) -> usize {
    if by == 0 { 0 } else { 3 }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..3usize, 0..4u8, 8..20u8, 1..4u8, 1..40u32, proptest::option::of((0..4u8, 8..20u8)), 1..4u32)
            .prop_map(|(org, day, hour, len, attendees, alternate, weeks)| Step::Request {
                org,
                day,
                hour,
                len,
                attendees,
                alternate,
                weeks,
            }),
        3 => (0..4usize, 0..4usize).prop_map(|(from, to)| Step::Sync { from, to }),
        2 => (0..4usize).prop_map(|from| Step::Sync { from, to: 0 }),
        1 => (0..4usize).prop_map(|to| Step::Sync { from: 0, to }),
        6 => (0..2usize, 0..64usize).prop_map(|(by, pick)| Step::Decide { by, what: Decide::Confirm, pick }),
        1 => (0..2usize, 0..64usize).prop_map(|(by, pick)| Step::Decide { by, what: Decide::Waitlist, pick }),
        1 => (0..2usize, 0..64usize).prop_map(|(by, pick)| Step::Decide { by, what: Decide::Revoke, pick }),
        1 => (0..2usize).prop_map(|by| Step::Promote { by }),
        1 => (0..3usize, 0..64usize).prop_map(|(org, pick)| Step::Cancel { org, pick }),
    ]
}

/// A slot on Monday 2026-11-30 + `day`, from `hour` for `len` hours, clipped at 21:00.
fn random_slot(day: u8, hour: u8, len: u8) -> Slot {
    let d = date(2026, 11, 30)
        .checked_add(jiff::Span::new().days(i64::from(day)))
        .unwrap();
    let end = (hour + len).min(21);
    Slot::local(
        d,
        hm(hour as i8, 0),
        hm(end as i8, 0),
        &crate::time::Zone::shanghai(),
    )
    .unwrap()
}

/// Executes an op that may fail; a failure must leave the document unchanged.
fn attempt(r: &mut Replica, doc: DocId, op: ResourceOp, at: Timestamp) {
    let heads = r.doc(doc).unwrap().heads();
    if r.execute(doc, Op::Resource(op), at).is_err() {
        assert_eq!(r.doc(doc).unwrap().heads(), heads);
    }
}

fn pick<T: Clone>(v: &[T], i: usize) -> Option<T> {
    (!v.is_empty()).then(|| v[i % v.len()].clone())
}

/// The invariant, checked independently of `check_invariants` as well.
fn assert_invariant(r: &Replica, doc: DocId) {
    let view = r.resource(doc).unwrap();
    view.check_invariants().unwrap();
    let occ = view.confirmed_occurrences();
    for (i, (a, sa)) in occ.iter().enumerate() {
        for (b, sb) in &occ[i + 1..] {
            assert!(!sa.overlaps(sb), "{a} and {b} overlap");
        }
        assert!(view.booking(a).unwrap().request.form.attendees <= view.spec().capacity);
    }
}

fn run(steps: Vec<Step>) {
    let (mut owner, doc) = setup(room());
    let block = WeeklyBlock::new(&[3], hm(17, 0), hm(21, 0));
    let delegate = ResourceOp::Delegate {
        delegate: crate::testutil::scope(ORGS[3]),
        block,
    };
    exec(&mut owner, doc, delegate, now());
    let mut reps: Vec<Replica> = vec![owner];
    for (i, o) in ORGS.iter().enumerate().skip(1) {
        let r = joined(&reps[0], o, i as u8 + 1);
        reps.push(r);
    }
    for (n, step) in steps.into_iter().enumerate() {
        let at = now().plus_millis(n as i64 * Timestamp::MINUTE);
        match step {
            Step::Request {
                org,
                day,
                hour,
                len,
                attendees,
                alternate,
                weeks,
            } => {
                let alternates = alternate
                    .map(|(d, h)| vec![random_slot(d, h, len)])
                    .unwrap_or_default();
                let f =
                    BookingForm::new("Booker", "activity", random_slot(day, hour, len), attendees)
                        .with_alternates(alternates)
                        .weekly(weeks);
                attempt(&mut reps[org + 1], doc, ResourceOp::Request(f), at);
            }
            Step::Sync { from, to } if from != to => {
                let src = reps[from].clone();
                send(&src, &mut reps[to]);
            }
            Step::Sync { .. } => {}
            Step::Decide { by, what, pick: i } => {
                let me = arbiter(by);
                let view = reps[me].resource(doc).unwrap();
                // Mostly open bookings for confirm and waitlist and confirmed ones for
                // revoke; every fourth pick is from all bookings, to exercise the errors.
                let any = i.is_multiple_of(4);
                let wanted = |s: &BookingStatus| match what {
                    Decide::Revoke => matches!(s, BookingStatus::Confirmed { .. }),
                    _ => !s.is_final(),
                };
                let ids: Vec<BookingId> = view
                    .bookings()
                    .into_iter()
                    .filter(|b| any || wanted(&b.status))
                    .map(|b| b.id)
                    .collect();
                let Some(booking) = pick(&ids, i) else {
                    continue;
                };
                let op = match what {
                    Decide::Confirm => ResourceOp::Confirm { booking },
                    Decide::Waitlist => ResourceOp::Waitlist { booking },
                    Decide::Revoke => ResourceOp::Revoke {
                        booking,
                        reason: "misuse".into(),
                    },
                };
                attempt(&mut reps[me], doc, op, at);
            }
            Step::Promote { by } => {
                attempt(&mut reps[arbiter(by)], doc, ResourceOp::PromoteWaitlist, at)
            }
            Step::Cancel { org, pick: i } => {
                let me = crate::testutil::org(ORGS[org + 1]);
                let view = reps[org + 1].resource(doc).unwrap();
                let own: Vec<BookingId> = view
                    .bookings()
                    .into_iter()
                    .map(|b| b.id)
                    .filter(|id| *id.org() == me)
                    .collect();
                let Some(booking) = pick(&own, i) else {
                    continue;
                };
                let op = ResourceOp::Cancel {
                    booking,
                    reason: String::new(),
                };
                attempt(&mut reps[org + 1], doc, op, at);
            }
        }
        for r in &reps {
            assert_invariant(r, doc);
        }
    }
    // Full exchange: everyone converges on the same document and the same statuses.
    for _ in 0..2 {
        for i in 0..reps.len() {
            for j in 0..reps.len() {
                if i != j {
                    let src = reps[i].clone();
                    send(&src, &mut reps[j]);
                }
            }
        }
    }
    let heads = reps[0].doc(doc).unwrap().heads();
    let bookings = reps[0].resource(doc).unwrap().bookings();
    for r in &reps {
        assert_eq!(r.doc(doc).unwrap().heads(), heads);
        assert_eq!(r.resource(doc).unwrap().bookings(), bookings);
        assert_invariant(r, doc);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn confirmed_bookings_never_overlap(steps in proptest::collection::vec(step(), 1..60)) {
        run(steps);
    }
}
