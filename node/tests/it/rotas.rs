//! Duty rotas and activity sign-ups through the single request path the CLI and HTTP take
//! (`ops::execute`): a rota with a coverage gap, a swap, served shifts written to the ledger
//! once, and an activity's places and waitlist; bad input as typed errors.

use jiff::civil::Date;
use linli_core::ledger::LedgerRules;
use linli_core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli_core::volunteers::{Shift, VolunteerType, VolunteersOp};
use linli_core::{DocId, Effect, NewDoc, Op, Slot, Timestamp, VolunteerId, Zone};
use linli_node::Node;
use linli_node::ops::{self, OpsError, Request};
use serde_json::Value;
use tempfile::TempDir;

use crate::util::{District, community_node, org};

fn today() -> Date {
    linli_node::system_clock()
        .local(&Zone::shanghai())
        .unwrap()
        .0
}

async fn run(node: &Node, doc: DocId, op: VolunteersOp) -> Result<Value, OpsError> {
    ops::execute(
        node,
        Request::Execute {
            doc,
            op: Op::Volunteers(op),
        },
    )
    .await
}

async fn register(node: &Node, doc: DocId, name: &str) -> VolunteerId {
    let w = node
        .execute(
            doc,
            Op::Volunteers(VolunteersOp::Register {
                name: name.into(),
                phone: None,
                id_number: None,
                kind: VolunteerType::Resident,
                unit: None,
                teams: vec![],
                posts: vec![],
            }),
        )
        .await
        .unwrap();
    match w.effect {
        Effect::Volunteer(v) => v,
        e => panic!("{e:?}"),
    }
}

fn shift(start: &str, end: &str, needed: u32) -> Shift {
    Shift {
        start: start.parse().unwrap(),
        end: end.parse().unwrap(),
        needed,
        weekdays: vec![],
    }
}

#[tokio::test]
async fn a_rota_lists_its_gaps_and_served_shifts_reach_the_ledger_once() {
    let mut district = District::new();
    let dir = TempDir::new().unwrap();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let reg = node
        .create(NewDoc::Volunteers {
            street: org("beishi"),
            community: org("dianye"),
            title: "Dianye volunteers".into(),
        })
        .await
        .unwrap()
        .doc;
    let yesterday = today().yesterday().unwrap();
    let year = yesterday.year();
    node.create(NewDoc::Ledger {
        street: org("beishi"),
        community: org("dianye"),
        year,
        rules: LedgerRules::default(),
    })
    .await
    .unwrap();
    let a = register(&node, reg, "Li Ming").await;
    let b = register(&node, reg, "Zhang Hua").await;
    let start = yesterday.checked_sub(jiff::Span::new().days(2)).unwrap();
    run(
        &node,
        reg,
        VolunteersOp::SetRota {
            code: "bikes".into(),
            title: "Bike tidying".into(),
            team: None,
            from: start,
            until: None,
            shifts: vec![shift("07:00", "08:00", 2)],
        },
    )
    .await
    .unwrap();
    // A shift ending before it starts: a typed error naming it, nothing written.
    let heads = node.heads(reg).await.unwrap();
    let e = run(
        &node,
        reg,
        VolunteersOp::SetRota {
            code: "night".into(),
            title: "Night".into(),
            team: None,
            from: start,
            until: None,
            shifts: vec![shift("22:00", "06:00", 1)],
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("ends at 06:00"), "{e}");
    assert_eq!(node.heads(reg).await.unwrap(), heads);
    // An unknown volunteer.
    let e = run(
        &node,
        reg,
        VolunteersOp::AssignShift {
            rota: "bikes".into(),
            shift: 0,
            date: None,
            volunteer: "dianye:99".parse().unwrap(),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, OpsError::NotFound(_)), "{e}");
    for v in [&a, &b] {
        run(
            &node,
            reg,
            VolunteersOp::AssignShift {
                rota: "bikes".into(),
                shift: 0,
                date: None,
                volunteer: v.clone(),
            },
        )
        .await
        .unwrap();
    }
    // B is off yesterday: one gap.
    run(
        &node,
        reg,
        VolunteersOp::UnassignShift {
            rota: "bikes".into(),
            shift: 0,
            date: Some(yesterday),
            volunteer: b.clone(),
        },
    )
    .await
    .unwrap();
    let rota = |gaps| Request::Rota {
        doc: None,
        rota: None,
        from: start,
        to: yesterday,
        gaps,
    };
    let all = ops::execute(&node, rota(false)).await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let gaps = ops::execute(&node, rota(true)).await.unwrap();
    let gaps = gaps.as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["date"], yesterday.to_string());
    assert_eq!(gaps[0]["missing"], 1);
    assert_eq!(gaps[0]["assigned"][0], a.to_string());
    // Served yesterday by A; written to the ledger, then again: nothing twice.
    run(
        &node,
        reg,
        VolunteersOp::MarkServed {
            rota: "bikes".into(),
            shift: 0,
            date: yesterday,
            volunteers: vec![a.clone()],
        },
    )
    .await
    .unwrap();
    let rec = || Request::RotaRecord {
        doc: None,
        ledger: None,
        year,
    };
    let first = ops::execute(&node, rec()).await.unwrap();
    assert_eq!(first["recorded"], 1, "{first}");
    let again = ops::execute(&node, rec()).await.unwrap();
    assert_eq!(again["recorded"], 0, "{again}");
    assert_eq!(again["already_imported"], 1, "{again}");
}

#[tokio::test]
async fn an_activity_takes_sign_ups_up_to_its_capacity_then_a_waitlist() {
    let mut district = District::new();
    let dir = TempDir::new().unwrap();
    let (node, _) = community_node(&mut district, dir.path()).await;
    let room = node
        .create(NewDoc::Resource {
            street: org("beishi"),
            community: Some(org("dianye")),
            spec: ResourceSpec::room("Dianye activity room", 30),
        })
        .await
        .unwrap()
        .doc;
    let day = today().checked_add(jiff::Span::new().days(7)).unwrap();
    let zone = Zone::shanghai();
    let at = |h: i8| Timestamp::from_local(day, jiff::civil::time(h, 0, 0, 0), &zone).unwrap();
    let slot = Slot::new(at(10), at(11)).unwrap();
    let w = node
        .execute(
            room,
            Op::Resource(ResourceOp::Request(BookingForm::new(
                "Wang Fang",
                "paper-cutting class",
                slot,
                10,
            ))),
        )
        .await
        .unwrap();
    let Effect::Booking(booking) = w.effect else {
        panic!()
    };
    let exec = |op: ResourceOp| {
        ops::execute(
            &node,
            Request::Execute {
                doc: room,
                op: Op::Resource(op),
            },
        )
    };
    // Not confirmed yet: no activity.
    let set = ResourceOp::SetActivity {
        booking: booking.clone(),
        title: "Paper-cutting class".into(),
        capacity: 1,
        waitlist: 1,
        deadline: at(9),
    };
    let e = exec(set.clone()).await.unwrap_err();
    assert!(e.to_string().contains("confirmed booking"), "{e}");
    exec(ResourceOp::Confirm {
        booking: booking.clone(),
    })
    .await
    .unwrap();
    exec(set).await.unwrap();
    for who in ["dianye:h301", "dianye:7"] {
        exec(ResourceOp::SignUp {
            booking: booking.clone(),
            participant: who.parse().unwrap(),
        })
        .await
        .unwrap();
    }
    let e = exec(ResourceOp::SignUp {
        booking: booking.clone(),
        participant: "dianye:h5".parse().unwrap(),
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("is full"), "{e}");
    let list = ops::execute(
        &node,
        Request::Activities {
            doc: None,
            booking: Some(booking.clone()),
        },
    )
    .await
    .unwrap();
    let a = &list.as_array().unwrap()[0];
    assert_eq!(a["capacity"], 1);
    assert_eq!(a["placed"], 1);
    let s = a["signups"].as_array().unwrap();
    assert_eq!(s[0]["participant"], "dianye:h301");
    assert_eq!(s[0]["status"], "placed");
    assert_eq!(s[0]["kind"], "household");
    assert_eq!(s[1]["status"], "waitlisted");
    assert_eq!(s[1]["position"], 1);
    // The cancellation promotes the waitlisted volunteer.
    exec(ResourceOp::CancelSignUp {
        booking: booking.clone(),
        participant: "dianye:h301".parse().unwrap(),
    })
    .await
    .unwrap();
    let list = ops::execute(
        &node,
        Request::Activities {
            doc: Some(room),
            booking: None,
        },
    )
    .await
    .unwrap();
    let s = list[0]["signups"].as_array().unwrap().clone();
    assert_eq!(s[0]["participant"], "dianye:7");
    assert_eq!(s[0]["status"], "placed");
    assert_eq!(s[1]["status"], "cancelled");
}
