#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::DocId;
use crate::document::Author;
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::signed::SignedChange;
use crate::testutil::{key, node, org, replica, scope, send, t};
use crate::volunteers::VolunteersOp;

fn now() -> Timestamp {
    t("2026-06-01T10:00:00+08:00")
}

use crate::time::Timestamp;

/// A dianye node with its registry: teams `patrol` and `care`, unit state-grid paired.
fn setup() -> (Replica, DocId) {
    let mut d = replica("dianye", 1);
    let doc = d
        .create(
            NewDoc::Volunteers {
                street: org("beishi"),
                community: org("dianye"),
                title: "dianye volunteers".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    for (code, name) in [("patrol", "治安巡逻队"), ("care", "助老服务队")] {
        d.execute(
            doc,
            Op::Volunteers(VolunteersOp::AddTeam {
                code: code.into(),
                name: name.into(),
            }),
            now(),
        )
        .unwrap();
    }
    d.execute(
        doc,
        Op::Volunteers(VolunteersOp::Pair {
            unit: scope("state-grid"),
            note: String::new(),
        }),
        now(),
    )
    .unwrap();
    (d, doc)
}

fn row(name: &str, phone: Option<&str>, teams: &[&str]) -> RosterRow {
    RosterRow {
        volunteer: None,
        name: name.into(),
        phone: phone.map(Into::into),
        id_number: None,
        kind: VolunteerType::Resident,
        unit: None,
        teams: teams.iter().map(|s| s.to_string()).collect(),
        posts: vec![],
    }
}

fn in_service(name: &str, unit: Option<&str>, posts: Vec<Post>) -> RosterRow {
    RosterRow {
        kind: VolunteerType::InService,
        unit: unit.map(scope),
        posts,
        ..row(name, None, &[])
    }
}

fn import(r: &mut Replica, doc: DocId, rows: Vec<RosterRow>) -> Result<Vec<RosterOutcome>, Error> {
    let w = r.execute(
        doc,
        Op::Volunteers(VolunteersOp::ImportRoster { rows }),
        now(),
    )?;
    match w.effect {
        crate::Effect::Roster(o) => {
            let registered = o
                .iter()
                .filter(|o| matches!(o, RosterOutcome::Registered { .. }))
                .count();
            assert_eq!(w.personal_rows.len(), registered, "one personal record per new volunteer");
            assert!(w.personal.is_none());
            Ok(o)
        }
        e => panic!("{e:?}"),
    }
}

fn rejected(o: &RosterOutcome) -> &str {
    match o {
        RosterOutcome::Rejected { error } => error,
        o => panic!("expected a rejection, got {o:?}"),
    }
}

fn new_id(o: &RosterOutcome) -> VolunteerId {
    match o {
        RosterOutcome::Registered {
            volunteer,
            personal,
        } => {
            assert!(personal.is_none(), "the replica takes the identity out of the effect");
            volunteer.clone()
        }
        o => panic!("expected a registration, got {o:?}"),
    }
}

#[test]
fn a_roster_batch_registers_valid_rows_keeps_identities_at_home_and_rejects_each_bad_row() {
    let (mut d, doc) = setup();
    let party = Post {
        team: "patrol".into(),
        duty: "night patrol".into(),
    };
    let rows = vec![
        row("王小红", Some("139 8765 4321"), &["care"]),
        in_service("李建国", Some("state-grid"), vec![party.clone()]),
        row("  ", Some("13900000002"), &["care"]),
        row("赵六", Some("12ab"), &["care"]),
        row("钱七", Some("13900000003"), &["chess"]),
        in_service("孙八", Some("state-grid"), vec![]),
        in_service("周九", None, vec![party.clone()]),
        in_service("吴十", Some("other-unit"), vec![party]),
        RosterRow {
            id_number: Some("x".repeat(300)),
            ..row("郑十一", None, &[])
        },
    ];
    let out = import(&mut d, doc, rows).unwrap();
    assert_eq!(out.len(), 9);
    let a = new_id(&out[0]);
    let b = new_id(&out[1]);
    assert_ne!(a, b);
    assert!(rejected(&out[2]).contains("name"), "{:?}", out[2]);
    assert!(rejected(&out[3]).contains("phone \"12ab\""), "{:?}", out[3]);
    assert!(rejected(&out[4]).contains("unknown team \"chess\""), "{:?}", out[4]);
    assert!(rejected(&out[5]).contains("post"), "{:?}", out[5]);
    assert!(rejected(&out[6]).contains("unit"), "{:?}", out[6]);
    assert!(rejected(&out[7]).contains("not paired"), "{:?}", out[7]);
    assert!(rejected(&out[8]).contains("id_number"), "{:?}", out[8]);
    // Two volunteers, masked in the document, their identities held here.
    let reg = d.volunteers(doc).unwrap();
    assert_eq!(reg.volunteers().len(), 2);
    assert_eq!(reg.volunteer(&a).unwrap().display, "王**");
    assert_eq!(reg.history(&a).len(), 1);
    assert!(matches!(
        d.personal_data(doc, &format!("volunteers/{a}")),
        Some(PersonalData::Volunteer { name, phone: Some(p), .. }) if name == "王小红" && p == "139 8765 4321"
    ));
    // No name or phone in the document's bytes or changes.
    let mut bytes = d.doc(doc).unwrap().save();
    for sc in d.changes(doc, &[]).unwrap() {
        bytes.extend(sc.encode());
    }
    for needle in ["王小红", "李建国", "8765", "赵六"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in the document"
        );
    }
    // One change for the batch; the street receives it and holds no identity.
    let mut street = replica("beishi", 1);
    send(&d, &mut street);
    assert_eq!(street.volunteers(doc).unwrap().volunteers().len(), 2);
    assert_eq!(street.personal_records().count(), 0);
}

#[test]
fn importing_again_adds_nothing_and_names_the_volunteer_already_registered() {
    let (mut d, doc) = setup();
    let rows = vec![
        row("王小红", Some("13987654321"), &["care"]),
        RosterRow {
            id_number: Some("210102199001011234".into()),
            ..row("李四", None, &["patrol"])
        },
        row("张三", None, &["patrol"]),
    ];
    let out = import(&mut d, doc, rows.clone()).unwrap();
    let ids: Vec<VolunteerId> = out.iter().map(new_id).collect();
    let heads = d.doc(doc).unwrap().heads();
    let held = d.personal_records().count();
    // The same file again: the rows with a phone or ID number are recognised; a row without
    // either cannot be and would be registered again, so it is left out here.
    let again = VolunteersOp::ImportRoster {
        rows: vec![
            RosterRow {
                phone: Some("139-8765-4321".into()),
                ..rows[0].clone()
            },
            rows[1].clone(),
            RosterRow {
                volunteer: Some(ids[2].clone()),
                ..rows[2].clone()
            },
        ],
    };
    let e = d
        .execute(doc, Op::Volunteers(again), now())
        .unwrap_err();
    let Error::Volunteers(VolunteersError::NothingToWrite(o)) = e else {
        panic!("{e}")
    };
    assert_eq!(
        o,
        ids.iter()
            .map(|v| RosterOutcome::AlreadyRegistered {
                volunteer: v.clone()
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(d.doc(doc).unwrap().heads(), heads);
    assert_eq!(d.personal_records().count(), held);
    // Someone else with a registered phone, an unknown id, and the same person twice in
    // one batch.
    let out = import(
        &mut d,
        doc,
        vec![
            row("赵六", Some("13987654321"), &["care"]),
            RosterRow {
                volunteer: Some("dianye:99".parse().unwrap()),
                ..row("钱七", None, &[])
            },
            row("孙八", Some("13811112222"), &["care"]),
            row("孙八", Some("138 1111 2222"), &["care"]),
        ],
    )
    .unwrap();
    assert!(rejected(&out[0]).contains("phone already registered"), "{:?}", out[0]);
    assert!(rejected(&out[1]).contains("unknown volunteer dianye:99"), "{:?}", out[1]);
    let sun = new_id(&out[2]);
    assert_eq!(
        out[3],
        RosterOutcome::AlreadyRegistered { volunteer: sun }
    );
}

#[test]
fn a_roster_batch_is_the_community_own_and_bounded() {
    let (mut d, doc) = setup();
    let heads = d.doc(doc).unwrap().heads();
    let e = d
        .execute(
            doc,
            Op::Volunteers(VolunteersOp::ImportRoster { rows: vec![] }),
            now(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Volunteers(VolunteersError::BatchSize { .. })), "{e}");
    let many = vec![row("王小红", None, &[]); MAX_ROSTER_ROWS + 1];
    let e = d
        .execute(
            doc,
            Op::Volunteers(VolunteersOp::ImportRoster { rows: many }),
            now(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Volunteers(VolunteersError::BatchSize { .. })), "{e}");
    // Another community's node may not import into dianye's registry.
    let mut h = replica("hongqi", 1);
    send(&d, &mut h);
    let e = h
        .execute(
            doc,
            Op::Volunteers(VolunteersOp::ImportRoster {
                rows: vec![row("王小红", None, &[])],
            }),
            now(),
        )
        .unwrap_err();
    assert_eq!(e.class(), crate::class::ErrorClass::Unauthorized, "{e}");
    assert_eq!(d.doc(doc).unwrap().heads(), heads);
    // A dry run writes nothing and keeps no identity.
    let effect = d
        .check(
            doc,
            Op::Volunteers(VolunteersOp::ImportRoster {
                rows: vec![row("王小红", Some("13987654321"), &[])],
            }),
            now(),
        )
        .unwrap();
    assert!(matches!(&effect, crate::Effect::Roster(o) if matches!(o[0], RosterOutcome::Registered { personal: None, .. })));
    assert_eq!(d.doc(doc).unwrap().heads(), heads);
    assert_eq!(d.personal_records().count(), 0);
}

/// A change of `o`'s node `n` built on `base` with `puts`, signed (a modified node).
fn forge(base: &Document, o: &str, n: u8, puts: &[Put]) -> SignedChange {
    let mut doc = base.clone();
    doc.set_author(&Author {
        node: node(o, n),
        incarnation: [0xEE; 8],
        org: org(o),
    });
    let c = doc.commit(now(), "forged", puts).unwrap();
    SignedChange::sign(&key(o, n), doc.id(), c.raw_bytes()).unwrap()
}

#[test]
fn a_crafted_roster_change_with_an_unmasked_name_is_refused_on_receive() {
    let (d, doc) = setup();
    let mut street = replica("beishi", 1);
    send(&d, &mut street);
    let base = street.doc(doc).unwrap().clone();
    let author = Author {
        node: node("dianye", 1),
        incarnation: [0xEE; 8],
        org: org("dianye"),
    };
    let first = author.next_id(&base, "volunteers", "");
    let rec = |display: &str| Volunteer {
        display: display.into(),
        kind: VolunteerType::Resident,
        unit: None,
        teams: vec!["care".into()],
        posts: vec![],
        status: Status::Active,
        arrived: None,
        by: scope("dianye"),
        at: now(),
    };
    let id = |n: u64| VolunteerId(RecordId { n, ..first.clone() });
    // A batch of two volunteers, the second with its full name: the whole change is refused.
    let before = street.doc(doc).unwrap().heads();
    let sc = forge(
        &base,
        "dianye",
        1,
        &[
            Put::new("volunteers", id(first.n).to_string(), &rec("王**")),
            Put::new("volunteers", id(first.n + 1).to_string(), &rec("李建国")),
        ],
    );
    let reason = crate::testutil::rejection(street.apply(sc).unwrap_err());
    assert!(reason.contains("masked"), "{reason}");
    assert_eq!(street.doc(doc).unwrap().heads(), before);
    // The same batch masked passes the same path (the test can fail the other way).
    let sc = forge(
        &base,
        "dianye",
        1,
        &[
            Put::new("volunteers", id(first.n).to_string(), &rec("王**")),
            Put::new("volunteers", id(first.n + 1).to_string(), &rec("李**")),
        ],
    );
    street.apply(sc).unwrap();
    assert_eq!(street.volunteers(doc).unwrap().volunteers().len(), 2);
}

#[test]
fn rows_past_a_full_change_are_deferred_and_go_in_the_next() {
    let (mut d, doc) = setup();
    // Records of about 1.3 kB each: 500 of them do not fit one change.
    let rows: Vec<RosterRow> = (0..MAX_ROSTER_ROWS)
        .map(|i| RosterRow {
            posts: (0..4)
                .map(|k| Post {
                    team: "care".into(),
                    duty: format!("duty {k} {}", "x".repeat(250)),
                })
                .collect(),
            ..row(&format!("王{i}"), Some(&format!("1390{i:07}")), &["care"])
        })
        .collect();
    let out = import(&mut d, doc, rows.clone()).unwrap();
    let deferred: Vec<usize> = (0..out.len())
        .filter(|&i| out[i] == RosterOutcome::Deferred)
        .collect();
    let written = out.len() - deferred.len();
    assert!(written > 0 && !deferred.is_empty(), "{written} written");
    // Deferred rows are the tail, in order; sent again they are registered, and the
    // rows written before are recognised by their phones.
    assert_eq!(deferred[0], written);
    let mut todo = deferred;
    let mut rounds = 1;
    while !todo.is_empty() {
        let out = import(&mut d, doc, todo.iter().map(|&i| rows[i].clone()).collect()).unwrap();
        assert!(matches!(out[0], RosterOutcome::Registered { .. }), "{:?}", out[0]);
        assert!(out.iter().all(|o| matches!(
            o,
            RosterOutcome::Registered { .. } | RosterOutcome::Deferred
        )));
        todo = todo
            .iter()
            .zip(&out)
            .filter(|(_, o)| **o == RosterOutcome::Deferred)
            .map(|(&i, _)| i)
            .collect();
        rounds += 1;
    }
    assert!(rounds >= 2);
    assert_eq!(d.volunteers(doc).unwrap().volunteers().len(), MAX_ROSTER_ROWS);
    assert_eq!(d.personal_records().count(), MAX_ROSTER_ROWS);
    let e = d
        .execute(doc, Op::Volunteers(VolunteersOp::ImportRoster { rows }), now())
        .unwrap_err();
    let Error::Volunteers(VolunteersError::NothingToWrite(o)) = e else {
        panic!("{e}")
    };
    assert!(o.iter().all(|o| matches!(o, RosterOutcome::AlreadyRegistered { .. })));
}
