//! A small district built only from the public API: a root certifies a street, the street
//! its communities, a community its unit; offices edit while apart and reconcile with sync
//! sessions; an impostor's change is refused everywhere.

use std::collections::VecDeque;

use linli::core::cert::Role;
use linli::core::federation::FederationOp;
use linli::core::identity::Keypair;
use linli::core::ledger::{LedgerOp, LedgerRules, Points};
use linli::core::registry::{Compound, ManagementMode, RegistryOp};
use linli::core::replica::{DistrictConfig, Error, NewDoc, Op, Replica};
use linli::core::sync::Session;
use linli::core::{DocId, OrgId, Put, SignedChange, Timestamp};

fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

fn now() -> Timestamp {
    Timestamp::parse("2026-11-20T09:00:00+08:00").unwrap()
}

fn key(name: &str) -> Keypair {
    Keypair::from_secret(blake3::hash(name.as_bytes()).as_bytes())
}

fn sync(a: &mut Replica, b: &mut Replica) {
    let mut sa = Session::initiator(false);
    let mut sb = Session::responder(false);
    let mut to_b: VecDeque<Vec<u8>> = sa.start(a, now()).into();
    let mut to_a: VecDeque<Vec<u8>> = VecDeque::new();
    for _ in 0..1000 {
        if let Some(m) = to_b.pop_front() {
            to_a.extend(sb.handle(b, &m, now()).unwrap());
        } else if let Some(m) = to_a.pop_front() {
            to_b.extend(sa.handle(a, &m, now()).unwrap());
        } else {
            break;
        }
    }
    assert!(sa.is_done() && sb.is_done());
}

fn certify(issuer: &mut Replica, fed: DocId, subject: &Replica, role: Role, parent: Option<&str>) {
    let a = subject.author();
    issuer
        .execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject: a.node,
                role,
                org: a.org.clone(),
                parent: parent.map(org),
                name: a.org.to_string(),
                not_before: now(),
                not_after: Timestamp(now().0 + 365 * Timestamp::DAY),
            }),
            now(),
        )
        .unwrap();
}

#[test]
fn a_district_edits_apart_reconciles_and_refuses_an_impostor() {
    let rk = key("root");
    let root_id = rk.node_id();
    let mut root = Replica::new(rk, [0; 8], org("heping"), root_id);
    let mut street = Replica::new(key("beishi"), [1; 8], org("beishi"), root_id);
    let mut dianye = Replica::new(key("dianye"), [2; 8], org("dianye"), root_id);
    let mut hongqi = Replica::new(key("hongqi"), [3; 8], org("hongqi"), root_id);
    let fed = root
        .create(
            NewDoc::Federation {
                config: DistrictConfig::default(),
            },
            now(),
        )
        .unwrap()
        .doc;
    certify(&mut root, fed, &street, Role::Street, None);
    sync(&mut street, &mut root);
    certify(&mut street, fed, &dianye, Role::Community, Some("beishi"));
    certify(&mut street, fed, &hongqi, Role::Community, Some("beishi"));
    sync(&mut dianye, &mut street);
    sync(&mut hongqi, &mut street);

    // Apart: each community keeps its own ledger and registry.
    let ledger = |r: &mut Replica, c: &str| {
        r.create(
            NewDoc::Ledger {
                street: org("beishi"),
                community: org(c),
                year: 2026,
                rules: LedgerRules {
                    hand_points: true,
                    ..LedgerRules::default()
                },
            },
            now(),
        )
        .unwrap()
        .doc
    };
    let ld = ledger(&mut dianye, "dianye");
    let lh = ledger(&mut hongqi, "hongqi");
    let service = |r: &mut Replica, doc: DocId, hours: f64| {
        r.execute(
            doc,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: "dianye:7".parse().unwrap(),
                activity: "elder visits".into(),
                team: None,
                date: jiff::civil::date(2026, 11, 19),
                hours,
                evidence: None,
            }),
            now(),
        )
        .unwrap();
    };
    service(&mut hongqi, lh, 3.0);
    service(&mut dianye, ld, 2.0);
    let reg = dianye
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    dianye
        .execute(
            reg,
            Op::Registry(RegistryOp::AddCompound(Compound::new(
                "Shimalu",
                "3 Shimalu",
                157,
                ManagementMode::Unmanaged,
            ))),
            now(),
        )
        .unwrap();

    // Reconcile through the street.
    sync(&mut dianye, &mut street);
    sync(&mut hongqi, &mut street);
    sync(&mut dianye, &mut street);
    assert_eq!(dianye.catalog(), hongqi.catalog());
    assert_eq!(
        dianye.balance(
            &"dianye:7".parse().unwrap(),
            Timestamp::parse("2026-12-31T12:00:00+08:00").unwrap()
        ),
        Points::whole(5)
    );

    // Hongqi forges a write into Dianye's registry: refused by every replica that gets it.
    let mut forged = hongqi.doc(reg).unwrap().clone();
    forged.set_author(hongqi.author());
    let c = forged
        .commit(
            now(),
            "forged",
            &[Put::new(
                "compounds",
                "hongqi:1",
                &Compound::new("Annexed", "x", 1, ManagementMode::Unmanaged),
            )],
        )
        .unwrap();
    let sc = SignedChange::sign(&key("hongqi"), reg, c.raw_bytes()).unwrap();
    for r in [&mut dianye, &mut street] {
        match r.apply(sc.clone()) {
            Err(Error::Rejected(rej)) => {
                assert!(
                    rej.reason
                        .to_string()
                        .contains("only community beishi/dianye writes its compounds")
                )
            }
            other => panic!("impostor change not refused: {other:?}"),
        }
        assert_eq!(r.registry(reg).unwrap().compounds().len(), 1);
    }
}
