//! Personal data over real sync: a district (root, two streets, four communities, a unit and
//! two partners) on libp2p's in-process memory transport, then a raw-byte search of every
//! data directory — store, WAL, export — for a booker's name and phone, a household, a
//! volunteer's phone and a resident: found only on the nodes of each one's audience, and
//! nowhere once erased.

use std::collections::BTreeSet;
use std::path::Path;

use linli_core::cert::Role;
use linli_core::personal::{PersonalData, Resident};
use linli_core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli_core::wishes::{Channel, ItemKind, WishesOp};
use linli_core::{DocId, Effect, NewDoc, Op, Slot, Timestamp};
use linli_node::{InitOptions, Node};
use tempfile::TempDir;

use crate::net::{eventually_on, in_memory, start_in_memory};
use crate::util::{District, opts, org, secret};

const BOOKER: &str = "王小红";
const BOOKER_PHONE: &str = "13812345678";
const HOUSEHOLD: &str = "7-3-502";
const VOLUNTEER_PHONE: &str = "13987654321";
const RESIDENT: &str = "赵大爷";

/// Every file under `dir` (recursively) holds `needle`'s bytes?
fn found_in(dir: &Path, needle: &str) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                return true;
            }
        }
    }
    false
}

struct Office {
    name: &'static str,
    node: Node,
    dir: TempDir,
}

async fn office(district: &mut District, name: &'static str, org_code: &str) -> Office {
    let dir = TempDir::new().unwrap();
    let mut init = InitOptions::new(org(org_code), district.root_id());
    init.secret = Some(if name == "root" {
        [0xAA; 32]
    } else {
        secret(org_code, 1)
    });
    let node = Node::init(dir.path(), init, opts()).await.unwrap();
    Office { name, node, dir }
}

fn evening(day: i64) -> Slot {
    let base = Timestamp::parse("2030-12-02T19:00:00+08:00").unwrap();
    let start = Timestamp(base.0 + day * 24 * 3600 * 1000);
    Slot::new(start, Timestamp(start.0 + 2 * 3600 * 1000)).unwrap()
}

fn holders(offices: &[Office], needle: &str) -> BTreeSet<&'static str> {
    offices
        .iter()
        .filter(|o| found_in(o.dir.path(), needle))
        .map(|o| o.name)
        .collect()
}

fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
    names.iter().copied().collect()
}

async fn holds(node: &Node, doc: DocId, record: &str) -> bool {
    let record = record.to_string();
    node.read(move |r| r.personal_data(doc, &record).is_some())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_stored_only_in_its_audience_and_erased_everywhere() {
    let mut d = District::new();
    let mut offices = Vec::new();
    offices.push(office(&mut d, "root", "heping").await);
    for s in ["beishi", "jianzhong"] {
        let o = office(&mut d, s, s).await;
        d.certify(o.node.node_id(), Role::Street, s, None);
        offices.push(o);
    }
    for (c, street) in [
        ("dianye", "beishi"),
        ("hongqi", "beishi"),
        ("xianghe", "jianzhong"),
        ("shengli", "jianzhong"),
    ] {
        let o = office(&mut d, c, c).await;
        d.certify_by(street, o.node.node_id(), Role::Community, c, street);
        offices.push(o);
    }
    for (u, role, parent) in [
        ("state-grid", Role::Unit, "dianye"),
        ("reading-club", Role::Partner, "hongqi"),
        ("hospital", Role::Partner, "xianghe"),
    ] {
        let o = office(&mut d, u, u).await;
        d.certify_by(parent, o.node.node_id(), role, u, parent);
        offices.push(o);
    }
    for o in &offices {
        for r in o.node.apply_batch(d.fed_changes()).await.unwrap() {
            r.unwrap();
        }
    }
    let node = |name: &str| {
        offices
            .iter()
            .find(|o| o.name == name)
            .unwrap()
            .node
            .clone()
    };
    let (dianye, hongqi, grid) = (node("dianye"), node("hongqi"), node("state-grid"));

    // Dianye's room, kitchen, ledger and wishes.
    let create = |spec: ResourceSpec| NewDoc::Resource {
        street: org("beishi"),
        community: Some(org("dianye")),
        spec,
    };
    let room = dianye
        .create(create(ResourceSpec::room("Dianye hall", 40)))
        .await
        .unwrap()
        .doc;
    let kitchen = dianye
        .create(create(ResourceSpec::kitchen("Dianye canteen", 30, 100)))
        .await
        .unwrap()
        .doc;
    let ledger = dianye
        .create(NewDoc::Ledger {
            street: org("beishi"),
            community: org("dianye"),
            year: 2026,
            rules: linli_core::ledger::LedgerRules::default(),
        })
        .await
        .unwrap()
        .doc;
    let wishes = dianye
        .create(NewDoc::Wishes {
            street: org("beishi"),
            community: org("dianye"),
            title: "Dianye wishes".into(),
        })
        .await
        .unwrap()
        .doc;

    // The district in memory: each office knows the ones started before it.
    let mut nets = Vec::new();
    let mut boot: Vec<String> = Vec::new();
    for o in &offices {
        let net = start_in_memory(&o.node, in_memory(boot.clone())).await;
        boot.extend(net.listen_addrs().await.unwrap());
        nets.push(net);
    }
    eventually_on(
        &[&hongqi, &grid],
        "Hongqi and State Grid receive Dianye's resources",
        60,
        || async {
            let h = hongqi.read(move |r| r.doc(room).is_ok()).await.unwrap();
            let g = grid.read(move |r| r.doc(kitchen).is_ok()).await.unwrap();
            (h && g).then_some(())
        },
    )
    .await;

    // Hongqi books Dianye's hall for a resident; State Grid orders a meal for a household;
    // Dianye records a volunteer's identity and posts a wish naming a resident.
    let form = BookingForm::new(BOOKER, "dance class", evening(0), 12).with_contact(BOOKER_PHONE);
    let w = hongqi
        .execute(room, Op::Resource(ResourceOp::Request(form)))
        .await
        .unwrap();
    let Effect::Booking(b) = w.effect else {
        panic!("{:?}", w.effect)
    };
    let w = grid
        .execute(
            kitchen,
            Op::Resource(ResourceOp::PlaceOrder {
                household: HOUSEHOLD.into(),
                date: jiff::civil::date(2030, 12, 3),
                portions: 2,
                items: vec![],
            }),
        )
        .await
        .unwrap();
    let Effect::Order(o) = w.effect else {
        panic!("{:?}", w.effect)
    };
    dianye
        .write_personal(
            ledger,
            "volunteers/dianye:7",
            Some(PersonalData::Volunteer {
                name: "李志愿".into(),
                phone: Some(VOLUNTEER_PHONE.into()),
                id_number: None,
            }),
        )
        .await
        .unwrap();
    dianye
        .execute(
            wishes,
            Op::Wishes(WishesOp::Post {
                kind: ItemKind::Wish,
                title: "A walking frame".into(),
                text: "An elder in Building 3 needs a walking frame".into(),
                category: "elder care".into(),
                channel: Channel::HomeVisit,
                place: Some("Building 3".into()),
                resident: Some(Resident {
                    name: RESIDENT.into(),
                    contact: None,
                    address: None,
                }),
            }),
        )
        .await
        .unwrap();
    let booker = format!("requests/{b}");
    let order = format!("orders/{o}");
    let (booker2, order2) = (booker.clone(), order.clone());
    let (dy, st) = (dianye.clone(), node("beishi"));
    eventually_on(
        &[&dianye, &st],
        "the owner holds the booker and the household",
        60,
        || {
            let (booker, order, dy, st) = (booker2.clone(), order2.clone(), dy.clone(), st.clone());
            async move {
                let both = holds(&dy, room, &booker).await && holds(&dy, kitchen, &order).await;
                // The street holds the documents (their masked views) too.
                let street = st
                    .read(move |r| {
                        r.resource(room).is_ok_and(|v| v.bookings().len() == 1)
                            && r.resource(kitchen).is_ok_and(|v| v.all_orders().len() == 1)
                    })
                    .await
                    .unwrap();
                (both && street).then_some(())
            }
        },
    )
    .await;
    // Every node had its chance at the data: a session with everyone it is connected to.
    for n in &nets {
        n.sync_now().await.unwrap();
    }
    for o in &offices {
        o.node
            .export(o.dir.path().join("export.json"))
            .await
            .unwrap();
    }

    // What the audience reads.
    let view = dianye.bookings(room).await.unwrap();
    assert_eq!(view[0].request.form.booker, BOOKER);
    assert_eq!(view[0].request.form.contact.as_deref(), Some(BOOKER_PHONE));
    let street_view = node("beishi").bookings(room).await.unwrap();
    assert_eq!(street_view[0].request.form.booker, "王**");
    assert_eq!(street_view[0].request.form.contact, None);

    // The raw bytes of every data directory (store, WAL, export) of the running district.
    assert_eq!(holders(&offices, BOOKER_PHONE), set(&["dianye", "hongqi"]));
    assert_eq!(holders(&offices, BOOKER), set(&["dianye", "hongqi"]));
    assert_eq!(holders(&offices, HOUSEHOLD), set(&["dianye", "state-grid"]));
    assert_eq!(holders(&offices, VOLUNTEER_PHONE), set(&["dianye"]));
    assert_eq!(holders(&offices, RESIDENT), set(&["dianye"]));

    // The person asks Dianye to erase their data: gone from both nodes of the audience, in
    // every file, while the booking stays.
    dianye.erase_personal(room, &booker).await.unwrap();
    let (h, rec) = (hongqi.clone(), booker.clone());
    eventually_on(&[&hongqi], "the requester receives the erasure", 60, || {
        let (h, rec) = (h.clone(), rec.clone());
        async move {
            h.read(move |r| r.personal(room, &rec).is_some_and(|p| p.is_erased()))
                .await
                .unwrap()
                .then_some(())
        }
    })
    .await;
    assert_eq!(holders(&offices, BOOKER_PHONE), set(&[]));
    assert_eq!(holders(&offices, BOOKER), set(&[]));
    assert_eq!(hongqi.bookings(room).await.unwrap().len(), 1);
    assert_eq!(holders(&offices, HOUSEHOLD), set(&["dianye", "state-grid"]));

    for n in &nets {
        n.shutdown().await.unwrap();
    }
    for o in &offices {
        o.node.shutdown().await.unwrap();
    }
    // Closed (WAL checkpointed into the database files): still only the audience.
    assert_eq!(holders(&offices, BOOKER_PHONE), set(&[]));
    assert_eq!(holders(&offices, HOUSEHOLD), set(&["dianye", "state-grid"]));
    assert_eq!(holders(&offices, VOLUNTEER_PHONE), set(&["dianye"]));
    assert_eq!(holders(&offices, RESIDENT), set(&["dianye"]));
}

/// The volunteer registry: a volunteer's phone, name and ID number stay on the home
/// community's nodes (both of them) after sync; the other nodes that receive the registry
/// — another community of the street, the street, a paired unit — hold the masked view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volunteers_phone_is_only_in_its_home_communitys_store_files() {
    use linli_core::volunteers::{VolunteerType, VolunteersOp};
    const PHONE: &str = "13611112222";
    const ID_NUMBER: &str = "210102198807075555";
    const NAME: &str = "孙志愿";
    let mut d = District::new();
    let mut offices = Vec::new();
    offices.push(office(&mut d, "root", "heping").await);
    let street = office(&mut d, "beishi", "beishi").await;
    d.certify(street.node.node_id(), Role::Street, "beishi", None);
    offices.push(street);
    for c in ["dianye", "hongqi"] {
        let o = office(&mut d, c, c).await;
        d.certify_by("beishi", o.node.node_id(), Role::Community, c, "beishi");
        offices.push(o);
    }
    // A second node of Dianye, certified by its street like the first.
    let dir = TempDir::new().unwrap();
    let mut init = InitOptions::new(org("dianye"), d.root_id());
    init.secret = Some(secret("dianye", 2));
    let second = Node::init(dir.path(), init, opts()).await.unwrap();
    d.certify_by(
        "beishi",
        second.node_id(),
        Role::Community,
        "dianye",
        "beishi",
    );
    offices.push(Office {
        name: "dianye-2",
        node: second,
        dir,
    });
    let unit = office(&mut d, "state-grid", "state-grid").await;
    d.certify_by(
        "dianye",
        unit.node.node_id(),
        Role::Unit,
        "state-grid",
        "dianye",
    );
    offices.push(unit);
    for o in &offices {
        for r in o.node.apply_batch(d.fed_changes()).await.unwrap() {
            r.unwrap();
        }
    }
    let node = |name: &str| {
        offices
            .iter()
            .find(|o| o.name == name)
            .unwrap()
            .node
            .clone()
    };
    let dianye = node("dianye");
    let registry = dianye
        .create(NewDoc::Volunteers {
            street: org("beishi"),
            community: org("dianye"),
            title: "Dianye volunteers".into(),
        })
        .await
        .unwrap()
        .doc;
    let op = |op: VolunteersOp| Op::Volunteers(op);
    dianye
        .execute(
            registry,
            op(VolunteersOp::AddTeam {
                code: "patrol".into(),
                name: "Security patrol".into(),
            }),
        )
        .await
        .unwrap();
    dianye
        .execute(
            registry,
            op(VolunteersOp::Pair {
                unit: "beishi/dianye/state-grid".parse().unwrap(),
                note: String::new(),
            }),
        )
        .await
        .unwrap();
    let w = dianye
        .execute(
            registry,
            op(VolunteersOp::Register {
                name: NAME.into(),
                phone: Some(PHONE.into()),
                id_number: Some(ID_NUMBER.into()),
                kind: VolunteerType::InService,
                unit: Some("beishi/dianye/state-grid".parse().unwrap()),
                teams: vec!["patrol".into()],
                posts: vec![linli_core::volunteers::Post {
                    team: "patrol".into(),
                    duty: "night patrol".into(),
                }],
            }),
        )
        .await
        .unwrap();
    let Effect::Volunteer(v) = w.effect else {
        panic!("{:?}", w.effect)
    };
    let record = format!("volunteers/{v}");

    let mut nets = Vec::new();
    let mut boot: Vec<String> = Vec::new();
    for o in &offices {
        let net = start_in_memory(&o.node, in_memory(boot.clone())).await;
        boot.extend(net.listen_addrs().await.unwrap());
        nets.push(net);
    }
    let receivers = ["beishi", "hongqi", "state-grid", "dianye-2"].map(node);
    let waiting: Vec<&Node> = receivers.iter().collect();
    let (second, rec) = (node("dianye-2"), record.clone());
    let all = receivers.clone();
    eventually_on(
        &waiting,
        "the registry reaches the street, Hongqi, the unit and Dianye's second node, which also gets the identity",
        60,
        || {
            let (all, second, rec) = (all.clone(), second.clone(), rec.clone());
            async move {
                for n in &all {
                    let has = n
                        .read(move |r| r.volunteers(registry).is_ok_and(|v| v.volunteers().len() == 1))
                        .await
                        .unwrap();
                    if !has {
                        return None;
                    }
                }
                holds(&second, registry, &rec).await.then_some(())
            }
        },
    )
    .await;
    for n in &nets {
        n.sync_now().await.unwrap();
    }
    for o in &offices {
        o.node
            .export(o.dir.path().join("export.json"))
            .await
            .unwrap();
    }
    // The others see the masked name, and the unit its reporting member.
    let seen = node("state-grid")
        .read(move |r| {
            let view = r.volunteers(registry).unwrap();
            view.members_of(&"beishi/dianye/state-grid".parse().unwrap())
                .into_iter()
                .map(|(_, v)| v.display)
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
    assert_eq!(seen, vec!["孙**".to_string()]);
    for needle in [PHONE, ID_NUMBER, NAME] {
        assert_eq!(
            holders(&offices, needle),
            set(&["dianye", "dianye-2"]),
            "{needle}"
        );
    }
    for n in &nets {
        n.shutdown().await.unwrap();
    }
    for o in &offices {
        o.node.shutdown().await.unwrap();
    }
    for needle in [PHONE, ID_NUMBER, NAME] {
        assert_eq!(
            holders(&offices, needle),
            set(&["dianye", "dianye-2"]),
            "{needle}"
        );
    }
}
