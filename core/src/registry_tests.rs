use std::collections::BTreeMap;

use super::*;
use crate::replica::{Error, NewDoc, Op, Replica};
use crate::testutil::{date, org, replica, scope, sync, t};

struct Fixture {
    community: Replica,
    street: Replica,
    doc: crate::DocId,
    compound: CompoundId,
}

fn now() -> Timestamp {
    t("2026-11-25T10:00:00+08:00")
}

fn fixture() -> Fixture {
    let mut community = replica("dianye", 1);
    let mut street = replica("beishi", 2);
    let doc = community
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye compounds".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    let w = community
        .execute(
            doc,
            Op::Registry(RegistryOp::AddCompound(Compound::new(
                "Shimalu",
                "1 Shimalu",
                157,
                ManagementMode::Unmanaged,
            ))),
            now(),
        )
        .unwrap();
    let Effect::Compound(compound) = w.effect else {
        panic!("expected a compound, got {:?}", w.effect)
    };
    sync(&mut community, &mut street);
    Fixture {
        community,
        street,
        doc,
        compound,
    }
}

fn appoint(r: &mut Replica, doc: crate::DocId, c: &CompoundId, firm: &str) -> Result<(), Error> {
    r.execute(
        doc,
        Op::Registry(RegistryOp::Appoint {
            compound: c.clone(),
            manager: firm.into(),
            mode: ManagementMode::GuaranteeFirm,
            selection: None,
            start: date(2026, 1, 1),
            end: Some(date(2028, 12, 31)),
            status: AppointmentStatus::Appointed,
        }),
        now(),
    )
    .map(drop)
}

/// Runs `op` expecting an error, and checks the document did not change.
fn refused(r: &mut Replica, doc: crate::DocId, op: RegistryOp) -> Error {
    let before = r.doc(doc).unwrap().heads();
    let err = r.execute(doc, Op::Registry(op), now()).unwrap_err();
    assert_eq!(
        r.doc(doc).unwrap().heads(),
        before,
        "document changed by {err}"
    );
    err
}

#[test]
fn community_registers_and_lists_compounds() {
    let f = fixture();
    let reg = f.street.registry(f.doc).unwrap();
    let list = reg.compounds();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].0, f.compound);
    assert_eq!(list[0].1.households, 157);
    assert_eq!(reg.appointment(&f.compound), AppointmentView::Vacant);
}

#[test]
fn only_the_owning_community_edits_compounds() {
    let mut f = fixture();
    let err = refused(
        &mut f.street,
        f.doc,
        RegistryOp::AddCompound(Compound::new("X", "Y", 1, ManagementMode::SelfManaged)),
    );
    assert!(
        matches!(err, Error::Registry(RegistryError::NotOwner { .. })),
        "{err}"
    );
}

#[test]
fn invalid_profiles_are_refused() {
    let mut f = fixture();
    let mut c = Compound::new("", "addr", 10, ManagementMode::SelfManaged);
    let err = refused(&mut f.community, f.doc, RegistryOp::AddCompound(c.clone()));
    assert!(err.to_string().contains("name is empty"), "{err}");
    c.name = "Chidixiang".into();
    c.buildings = vec![Building {
        name: "1".into(),
        units: 2,
        households: 4,
    }];
    let err = refused(&mut f.community, f.doc, RegistryOp::AddCompound(c));
    assert!(
        err.to_string()
            .contains("buildings hold 4 households but the total says 10"),
        "{err}"
    );
    let unknown: CompoundId = "dianye:99".parse().unwrap();
    let err = refused(
        &mut f.community,
        f.doc,
        RegistryOp::UpdateCompound {
            id: unknown.clone(),
            compound: Compound::new("a", "b", 1, ManagementMode::Unmanaged),
        },
    );
    assert_eq!(
        err,
        Error::Registry(RegistryError::UnknownCompound(unknown))
    );
}

#[test]
fn archived_compounds_are_final() {
    let mut f = fixture();
    let mut c = f
        .community
        .registry(f.doc)
        .unwrap()
        .compound(&f.compound)
        .unwrap();
    c.status = Lifecycle::Archived;
    f.community
        .execute(
            f.doc,
            Op::Registry(RegistryOp::UpdateCompound {
                id: f.compound.clone(),
                compound: c.clone(),
            }),
            now(),
        )
        .unwrap();
    c.status = Lifecycle::Active;
    let err = refused(
        &mut f.community,
        f.doc,
        RegistryOp::UpdateCompound {
            id: f.compound.clone(),
            compound: c,
        },
    );
    assert_eq!(err, Error::Registry(RegistryError::Archived(f.compound)));
}

#[test]
fn only_the_street_appoints_and_terms_are_checked() {
    let mut f = fixture();
    let err = appoint(&mut f.community, f.doc, &f.compound, "Firm A").unwrap_err();
    assert!(
        matches!(err, Error::Registry(RegistryError::NotOwner { .. })),
        "{err}"
    );
    let err = refused(
        &mut f.street,
        f.doc,
        RegistryOp::Appoint {
            compound: f.compound.clone(),
            manager: "Firm A".into(),
            mode: ManagementMode::PropertyFirm,
            selection: Some(Selection {
                candidates: vec!["Firm A".into()],
                tally: BTreeMap::from([("Firm Z".to_string(), 3)]),
                meetings: vec![],
            }),
            start: date(2026, 1, 1),
            end: None,
            status: AppointmentStatus::Appointed,
        },
    );
    assert!(
        err.to_string()
            .contains("\"Firm Z\", who is not a candidate"),
        "{err}"
    );
    let err = refused(
        &mut f.street,
        f.doc,
        RegistryOp::Appoint {
            compound: f.compound.clone(),
            manager: "Firm A".into(),
            mode: ManagementMode::PropertyFirm,
            selection: None,
            start: date(2026, 1, 1),
            end: Some(date(2025, 1, 1)),
            status: AppointmentStatus::Appointed,
        },
    );
    assert!(
        matches!(err, Error::Registry(RegistryError::InvalidAppointment(_))),
        "{err}"
    );
    appoint(&mut f.street, f.doc, &f.compound, "Firm A").unwrap();
    let AppointmentView::Current(a) = f.street.registry(f.doc).unwrap().appointment(&f.compound)
    else {
        panic!("expected one appointment")
    };
    assert_eq!(a.manager, "Firm A");
    assert_eq!(a.by, scope("beishi"));
}

#[test]
fn concurrent_appointments_are_contested_until_resolved() {
    let mut f = fixture();
    // A second node of the same street, offline, appoints another firm concurrently.
    let mut street2 = replica("beishi", 3);
    sync(&mut f.community, &mut street2);
    appoint(&mut f.street, f.doc, &f.compound, "Firm A").unwrap();
    appoint(&mut street2, f.doc, &f.compound, "Firm B").unwrap();
    sync(&mut f.street, &mut street2);
    sync(&mut f.street, &mut f.community);
    for r in [&f.street, &street2, &f.community] {
        let AppointmentView::Contested(all) = r.registry(f.doc).unwrap().appointment(&f.compound)
        else {
            panic!("expected a contest")
        };
        let mut names: Vec<_> = all.iter().map(|a| a.manager.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["Firm A", "Firm B"]);
    }
    // Scoring waits for the street to resolve the contest.
    let err = f
        .community
        .execute(
            f.doc,
            Op::Registry(RegistryOp::Score {
                compound: f.compound.clone(),
                year: 2026,
                role: ScorerRole::Community,
                marks: BTreeMap::from([("clean".to_string(), 50)]),
                comment: String::new(),
            }),
            now(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("contested"), "{err}");
    appoint(&mut f.street, f.doc, &f.compound, "Firm B").unwrap();
    sync(&mut f.street, &mut street2);
    let view = street2.registry(f.doc).unwrap().appointment(&f.compound);
    assert!(matches!(view, AppointmentView::Current(a) if a.manager == "Firm B"));
}

#[test]
fn inspections_follow_the_checklist_template() {
    let mut f = fixture();
    let all_ok: BTreeMap<String, bool> = f
        .community
        .district()
        .checklist
        .items
        .iter()
        .map(|i| (i.id.clone(), i.id != "n3"))
        .collect();
    let mut missing = all_ok.clone();
    missing.remove("h2");
    let err = refused(
        &mut f.community,
        f.doc,
        RegistryOp::Inspect {
            compound: f.compound.clone(),
            date: date(2026, 11, 20),
            results: missing,
            note: String::new(),
        },
    );
    assert!(
        err.to_string().contains("no result for item \"h2\""),
        "{err}"
    );
    let mut extra = all_ok.clone();
    extra.insert("zz".into(), true);
    let err = refused(
        &mut f.community,
        f.doc,
        RegistryOp::Inspect {
            compound: f.compound.clone(),
            date: date(2026, 11, 20),
            results: extra,
            note: String::new(),
        },
    );
    assert!(err.to_string().contains("unknown item \"zz\""), "{err}");
    f.community
        .execute(
            f.doc,
            Op::Registry(RegistryOp::Inspect {
                compound: f.compound.clone(),
                date: date(2026, 11, 20),
                results: all_ok,
                note: "fire box present".into(),
            }),
            now(),
        )
        .unwrap();
    let ins = f
        .community
        .registry(f.doc)
        .unwrap()
        .inspections(&f.compound);
    assert_eq!(ins.len(), 1);
    assert_eq!((ins[0].1.points, ins[0].1.max_points), (91, 98));
}

#[test]
fn annual_scores_give_a_weighted_composite_and_flag() {
    let mut f = fixture();
    appoint(&mut f.street, f.doc, &f.compound, "Firm A").unwrap();
    sync(&mut f.street, &mut f.community);
    let mut dept = replica("housing-bureau", 4);
    sync(&mut f.community, &mut dept);
    let score = |r: &mut Replica, role: ScorerRole, mark: u32| {
        r.execute(
            f.doc,
            Op::Registry(RegistryOp::Score {
                compound: f.compound.clone(),
                year: 2026,
                role,
                marks: BTreeMap::from([
                    ("handrails".to_string(), mark / 2),
                    ("bins".to_string(), mark - mark / 2),
                ]),
                comment: String::new(),
            }),
            now(),
        )
    };
    // Each scorer writes only its own sheet.
    let err = score(&mut f.community, ScorerRole::Street, 80).unwrap_err();
    assert!(
        err.to_string().contains("may not write the street sheet"),
        "{err}"
    );
    let err = score(&mut f.community, ScorerRole::Department, 80).unwrap_err();
    assert!(matches!(
        err,
        Error::Registry(RegistryError::InvalidScore(_))
    ));
    let err = score(&mut f.community, ScorerRole::Community, 101).unwrap_err();
    assert!(err.to_string().contains("above 100"), "{err}");

    score(&mut f.community, ScorerRole::Owners, 40).unwrap();
    score(&mut f.community, ScorerRole::Community, 50).unwrap();
    score(&mut f.street, ScorerRole::Street, 70).unwrap();
    score(&mut dept, ScorerRole::Department, 80).unwrap();
    sync(&mut f.community, &mut f.street);
    sync(&mut f.street, &mut dept);
    sync(&mut f.community, &mut f.street);

    let mut weights = f.community.district().clone();
    weights.scoring.weights = BTreeMap::from([
        (ScorerRole::Owners, 4),
        (ScorerRole::Community, 2),
        (ScorerRole::Street, 2),
        (ScorerRole::Department, 2),
    ]);
    // The district root changes the weights in the federation document.
    let mut root = crate::testutil::root();
    root.execute(
        crate::testutil::fed_id(),
        Op::Federation(crate::federation::FederationOp::SetConfig(weights)),
        now(),
    )
    .unwrap();
    sync(&mut root, &mut f.community);
    let c = f
        .community
        .registry(f.doc)
        .unwrap()
        .composite(&f.compound, 2026);
    assert!(c.complete);
    // (4*40 + 2*50 + 2*70 + 2*80) / 10 = 56
    assert_eq!(c.score, Some(56.0));
    assert!(c.below_threshold, "56 < pass mark 60");
    let c = f
        .street
        .registry(f.doc)
        .unwrap()
        .composite(&f.compound, 2026);
    assert_eq!(c.score, Some(60.0), "equal weights: (40+50+70+80)/4");
    assert!(!c.below_threshold);
    let none = f
        .street
        .registry(f.doc)
        .unwrap()
        .composite(&f.compound, 2025);
    assert_eq!(
        (none.score, none.complete, none.below_threshold),
        (None, false, false)
    );
}
