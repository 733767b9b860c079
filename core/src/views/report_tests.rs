#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::DocId;
use crate::Effect;
use crate::ledger::LedgerOp;
use crate::replica::{NewDoc, Op};
use crate::testutil::{date, ledger_of, org, replica, scope, send, t};
use crate::volunteers::{VolunteerType, VolunteersOp};
use crate::wishes::{Channel, Stage, WishesOp};

fn register(r: &mut Replica, doc: DocId, name: &str, team: &str, at: &str) -> VolunteerId {
    let w = r
        .execute(
            doc,
            Op::Volunteers(VolunteersOp::Register {
                name: name.into(),
                phone: Some(format!("1390000{:04}", name.len())),
                id_number: None,
                kind: VolunteerType::Resident,
                unit: None,
                teams: vec![team.into()],
                posts: vec![],
            }),
            t(at),
        )
        .unwrap();
    match w.effect {
        Effect::Volunteer(v) => v,
        e => panic!("{e:?}"),
    }
}

fn serve(
    r: &mut Replica,
    ledger: DocId,
    v: &VolunteerId,
    team: Option<&str>,
    day: (i8, i8),
    hours: f64,
) {
    r.execute(
        ledger,
        Op::Ledger(LedgerOp::RecordService {
            volunteer: v.clone(),
            activity: "duty".into(),
            team: team.map(Into::into),
            date: date(2026, day.0, day.1),
            hours,
            evidence: None,
        }),
        t("2026-11-30T20:00:00+08:00"),
    )
    .unwrap();
}

fn line<'a>(lines: &'a [TeamLine], team: &str) -> &'a TeamLine {
    lines.iter().find(|l| l.team == team).unwrap()
}

fn numbers(l: &TeamLine) -> (u32, u32, u32, u32, u64, &str, &str) {
    (
        l.members,
        l.served,
        l.registered,
        l.services,
        l.minutes,
        l.hours.as_str(),
        l.points.as_str(),
    )
}

#[test]
fn monthly_and_yearly_reports_count_per_team_from_registry_ledgers_and_wishes() {
    let mut d = replica("dianye", 1);
    let june = "2026-06-01T10:00:00+08:00";
    let reg = d
        .create(
            NewDoc::Volunteers {
                street: org("beishi"),
                community: org("dianye"),
                title: "dianye volunteers".into(),
            },
            t(june),
        )
        .unwrap()
        .doc;
    for (code, name) in [("patrol", "治安巡逻队"), ("care", "助老服务队")] {
        d.execute(
            reg,
            Op::Volunteers(VolunteersOp::AddTeam {
                code: code.into(),
                name: name.into(),
            }),
            t(june),
        )
        .unwrap();
    }
    let a = register(&mut d, reg, "王小红", "care", june);
    let b = register(&mut d, reg, "李四", "patrol", "2026-11-05T10:00:00+08:00");
    let ledger = ledger_of(&mut d, "dianye");
    serve(&mut d, ledger, &a, Some("patrol"), (11, 3), 2.0);
    // No team: the volunteer's first team (care).
    serve(&mut d, ledger, &a, None, (11, 10), 1.5);
    // A team's display name counts under its code.
    serve(&mut d, ledger, &b, Some("助老服务队"), (11, 20), 3.0);
    serve(&mut d, ledger, &a, Some("patrol"), (10, 1), 1.0);
    let wishes = d
        .create(
            NewDoc::Wishes {
                street: org("beishi"),
                community: org("dianye"),
                title: "dianye wishes".into(),
            },
            t(june),
        )
        .unwrap()
        .doc;
    let post = |d: &mut Replica, kind| {
        let w = d
            .execute(
                wishes,
                Op::Wishes(WishesOp::Post {
                    kind,
                    title: "t".into(),
                    text: "x".into(),
                    category: "c".into(),
                    channel: Channel::Forum,
                    place: None,
                    resident: None,
                }),
                t(june),
            )
            .unwrap();
        match w.effect {
            Effect::Wish(id) => id,
            e => panic!("{e:?}"),
        }
    };
    let w1 = post(&mut d, ItemKind::Wish);
    post(&mut d, ItemKind::Wish);
    post(&mut d, ItemKind::Problem);
    post(&mut d, ItemKind::Offer);
    let wop = |d: &mut Replica, op| d.execute(wishes, Op::Wishes(op), t(june)).unwrap().effect;
    let Effect::Claim(c) = wop(
        &mut d,
        WishesOp::Claim {
            wish: w1.clone(),
            volunteer: Some(a.clone()),
            note: String::new(),
        },
    ) else {
        panic!()
    };
    wop(
        &mut d,
        WishesOp::Assign {
            wish: w1.clone(),
            claim: c,
        },
    );
    wop(
        &mut d,
        WishesOp::Advance {
            wish: w1,
            stage: Stage::Fulfilled {
                note: "done".into(),
            },
        },
    );

    let dianye = scope("dianye");
    let m = d.monthly_report(&dianye, 2026, 11);
    assert_eq!(m.month, "2026-11");
    // Known numbers, worked out by hand from the records above:
    // (members, served, registered, services, minutes, hours, points).
    assert_eq!(
        numbers(line(&m.teams, "care")),
        (1, 2, 0, 2, 270, "4.50", "4.50")
    );
    assert_eq!(
        numbers(line(&m.teams, "patrol")),
        (1, 1, 1, 1, 120, "2", "2")
    );
    assert_eq!(
        numbers(line(&m.teams, "*")),
        (2, 2, 1, 3, 390, "6.50", "6.50")
    );
    assert_eq!(line(&m.teams, "care").name, "助老服务队");
    assert_eq!(m.teams.last().unwrap().team, "*");
    let y = d.yearly_report(&dianye, 2026);
    assert_eq!(
        numbers(line(&y.teams, "care")),
        (1, 2, 1, 2, 270, "4.50", "4.50")
    );
    assert_eq!(
        numbers(line(&y.teams, "patrol")),
        (1, 1, 1, 2, 180, "3", "3")
    );
    assert_eq!(
        numbers(line(&y.teams, "*")),
        (2, 2, 2, 4, 450, "7.50", "7.50")
    );
    assert_eq!(
        (
            y.matters_received,
            y.wishes_posted,
            y.wishes_fulfilled,
            y.problems_resolved,
            y.volunteers
        ),
        (3, 2, 1, 0, 2)
    );
    // Another year, another month: nothing served.
    assert_eq!(
        line(&d.monthly_report(&dianye, 2026, 9).teams, "*").services,
        0
    );
    assert_eq!(d.yearly_report(&dianye, 2025).matters_received, 0);
    // No name, pseudonym or phone in a report.
    let text = serde_json::to_string(&(&m, &y)).unwrap();
    for needle in ["王", "李", "13900", &a.to_string(), &b.to_string()] {
        assert!(!text.contains(needle), "{needle} in {text}");
    }
    // The street, holding the same documents, computes the same report.
    let mut street = replica("beishi", 1);
    send(&d, &mut street);
    assert_eq!(street.yearly_report(&dianye, 2026), y);
}

#[test]
fn months_parse_strictly() {
    assert_eq!(parse_month("2026-11"), Ok((2026, 11)));
    assert_eq!(parse_month(" 2026-01 "), Ok((2026, 1)));
    for bad in ["2026-13", "2026-0", "26-11", "2026/11", "", "2026-xx"] {
        assert!(parse_month(bad).is_err(), "{bad}");
    }
    assert_eq!(hours_text(90), "1.50");
    assert_eq!(hours_text(0), "0");
    assert_eq!(hours_text(20), "0.33");
}
