//! `linli demo`: a small district on loopback that plays the stories of the seed reports.
//!
//! Six nodes run in this process, each with its own key, data directory, store and libp2p
//! network on 127.0.0.1 — the district root (Heping), a street office (Beishi), three
//! communities (Dianye, Hongqi, Xianghe) and a co-building unit (State Grid, certified by
//! Dianye). Certificates travel over the network like everything else. The demo seeds
//! data sized from DOMAIN.md (scaled down), then plays:
//!
//! 1. Two communities book the same room while cut off from everyone; after the link heals
//!    the owner confirms one and the other gets its alternate slot.
//! 2. A volunteer earns points in another community and redeems them at home; the other
//!    community cannot spend them.
//! 3. A confirmed booking is revoked with a reason.
//! 4. A forged change (signed by one community, writing into another's registry) and an
//!    unauthorized operation are refused.
//! 5. A partitioned community keeps working, then catches up after healing.
//!
//! It ends with a summary (tables and the agreement check: every node holds the same heads
//! of every document it may receive) and exits by itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{LedgerOp, LedgerRules, Points};
use linli_core::registry::{
    AppointmentStatus, AppointmentView, ChecklistTemplate, Compound, ManagementMode, RegistryOp,
};
use linli_core::resource::{BookingForm, BookingStatus, ResourceOp, ResourceSpec};
use linli_core::wishes::{Channel, ItemKind, WishesOp};
use linli_core::{
    DistrictConfig, DocId, Effect, NewDoc, NodeId, Op, OrgId, Put, SignedChange, Slot, Timestamp,
    VolunteerId, Zone,
};

use crate::net::{NetConfig, Network};
use crate::{Durability, InitOptions, Node, NodeError, OpenOptions};

/// Options of the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the nodes keep their data; default a fresh directory under the system's
    /// temporary directory, removed at the end.
    pub dir: Option<PathBuf>,
    /// Volunteers per community (each gets service records).
    pub volunteers: usize,
    /// Compounds per community.
    pub compounds: usize,
    /// Kitchen orders for tomorrow's dinner.
    pub orders: usize,
    /// How long to wait for the nodes to agree after a step before giving up.
    pub timeout: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            dir: None,
            volunteers: 27,
            compounds: 8,
            orders: 40,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What went wrong in the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The network failed.
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
    /// linli-core refused something the demo expected to work.
    #[error(transparent)]
    Core(#[from] linli_core::Error),
    /// A story did not play out as expected.
    #[error("{0}")]
    Story(String),
    /// Files.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn story(s: impl Into<String>) -> DemoError {
    DemoError::Story(s.into())
}

/// Figures from a finished demo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoReport {
    /// Nodes that ran.
    pub nodes: usize,
    /// Documents in the district.
    pub documents: usize,
    /// Accepted changes (on the street's node).
    pub changes: u64,
    /// Changes refused (on all nodes).
    pub refused: u64,
    /// Whether every node agreed at the end.
    pub agreed: bool,
    /// Sync sessions completed, over all nodes.
    pub sessions: u64,
}

/// One office: its node and network.
struct Office {
    name: &'static str,
    node: Node,
    net: Network,
    secret: [u8; 32],
}

/// Where the demo's clock starts: Friday 20 November 2026, 09:00 in Shenyang.
const START: &str = "2026-11-20T09:00:00+08:00";

fn org(s: &str) -> Result<OrgId, DemoError> {
    OrgId::new(s).map_err(|e| linli_core::Error::from(e).into())
}

fn at(s: &str) -> Result<Timestamp, DemoError> {
    Timestamp::parse(s).map_err(|e| linli_core::Error::from(e).into())
}

fn slot(day: &str, from: &str, to: &str) -> Result<Slot, DemoError> {
    Slot::new(
        at(&format!("{day}T{from}:00+08:00"))?,
        at(&format!("{day}T{to}:00+08:00"))?,
    )
    .map_err(|e| linli_core::Error::from(e).into())
}

fn random_secret() -> Result<[u8; 32], DemoError> {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s).map_err(|e| story(format!("no randomness for keys: {e}")))?;
    Ok(s)
}

fn loopback(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        mdns: false,
        sync_interval_secs: 2,
        max_peers: 16,
    }
}

/// Runs the demo, reporting progress lines through `say`.
pub async fn run(opts: DemoOptions, say: &mut dyn FnMut(&str)) -> Result<DemoReport, DemoError> {
    let (dir, remove) = match &opts.dir {
        Some(d) => (d.clone(), false),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let d = std::env::temp_dir().join(format!("linli-demo-{}-{nanos}", std::process::id()));
            (d, true)
        }
    };
    std::fs::create_dir_all(&dir).map_err(|source| DemoError::Io {
        path: dir.clone(),
        source,
    })?;
    let result = play(&opts, &dir, say).await;
    if remove {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        say(&format!("data kept in {}", dir.display()));
    }
    result
}

async fn play(
    opts: &DemoOptions,
    dir: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<DemoReport, DemoError> {
    let zone = Zone::shanghai();
    let base = at(START)?;
    let started = Instant::now();
    let clock: crate::Clock = Arc::new(move || {
        Timestamp(base.0 + i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX / 2))
    });
    let node_opts = OpenOptions {
        clock: Some(clock),
        // A demo: durable at each checkpoint, not at each write.
        durability: Durability::Normal,
        ..OpenOptions::default()
    };
    let timeout = opts.timeout;

    say(
        "linli district demo — Heping district, Beishi street, three communities, one co-building unit",
    );
    say("");
    say("[1/7] starting six nodes on 127.0.0.1 (own keys, stores and libp2p networks)");
    let names = [
        "heping",
        "beishi",
        "dianye",
        "hongqi",
        "xianghe",
        "state-grid",
    ];
    let mut secrets = Vec::new();
    for _ in names {
        secrets.push(random_secret()?);
    }
    let root_id = Keypair::from_secret(&secrets[0]).node_id();
    let mut nodes = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let mut init = InitOptions::new(org(n)?, root_id);
        init.secret = Some(secrets[i]);
        nodes.push(Node::init(dir.join(n), init, node_opts.clone()).await?);
    }
    let ids: Vec<NodeId> = nodes.iter().map(Node::node_id).collect();

    // --- Federation: root → street → communities → unit, over the network ------------
    let root = &nodes[0];
    let config = DistrictConfig {
        checklist: ChecklistTemplate::synthetic_7_7("heping-2026"),
        ..DistrictConfig::default()
    };
    let fed = root.create(NewDoc::Federation { config }).await?.doc;
    certify(root, fed, ids[1], Role::Street, "beishi", None, base).await?;
    let mut offices: Vec<Office> = Vec::new();
    let net0 = Network::start(root.clone(), loopback(vec![])).await?;
    let root_addrs = net0.listen_addrs().await?;
    offices.push(Office {
        name: names[0],
        node: root.clone(),
        net: net0,
        secret: secrets[0],
    });
    let net1 = Network::start(nodes[1].clone(), loopback(root_addrs.clone())).await?;
    let street_addrs = net1.listen_addrs().await?;
    offices.push(Office {
        name: names[1],
        node: nodes[1].clone(),
        net: net1,
        secret: secrets[1],
    });
    wait_certified(&nodes[1], timeout).await?;
    for (i, c) in [(2, "dianye"), (3, "hongqi"), (4, "xianghe")] {
        certify(
            &nodes[1],
            fed,
            ids[i],
            Role::Community,
            c,
            Some("beishi"),
            base,
        )
        .await?;
    }
    let mut boot = street_addrs.clone();
    for i in 2..=4 {
        let net = Network::start(nodes[i].clone(), loopback(boot.clone())).await?;
        boot.extend(net.listen_addrs().await?);
        offices.push(Office {
            name: names[i],
            node: nodes[i].clone(),
            net,
            secret: secrets[i],
        });
        wait_certified(&nodes[i], timeout).await?;
    }
    certify(
        &nodes[2],
        fed,
        ids[5],
        Role::Unit,
        "state-grid",
        Some("dianye"),
        base,
    )
    .await?;
    let net5 = Network::start(nodes[5].clone(), loopback(boot.clone())).await?;
    offices.push(Office {
        name: names[5],
        node: nodes[5].clone(),
        net: net5,
        secret: secrets[5],
    });
    wait_certified(&nodes[5], timeout).await?;
    let chain = nodes[5]
        .read({
            let unit = ids[5];
            move |r| r.principal(&unit, base).map(|p| p.chain_len)
        })
        .await?
        .map_err(|e| story(format!("the unit has no valid chain: {e}")))?;
    say(&format!(
        "      certificates: root → street beishi → communities dianye, hongqi, xianghe → unit state-grid (chain of {chain})"
    ));
    for o in &offices {
        say(&format!(
            "      {:<11} {}  {}",
            o.name,
            o.node.node_id().short(),
            o.net
                .listen_addrs()
                .await?
                .first()
                .cloned()
                .unwrap_or_default()
        ));
    }

    // --- Seed data ----------------------------------------------------------------------
    say("");
    say(&format!(
        "[2/7] seeding: {} compounds and {} volunteers per community, rooms, a kitchen, wishes",
        opts.compounds, opts.volunteers
    ));
    let beishi = org("beishi")?;
    let (dianye, hongqi, xianghe, street, unit) =
        (&nodes[2], &nodes[3], &nodes[4], &nodes[1], &nodes[5]);
    let mut registries = BTreeMap::new();
    let mut ledgers = BTreeMap::new();
    let mut wishes_docs = BTreeMap::new();
    let modes = [
        ManagementMode::PropertyFirm,
        ManagementMode::Unmanaged,
        ManagementMode::SelfManaged,
        ManagementMode::PropertyRightsUnit,
    ];
    let mut first_compound = BTreeMap::new();
    for (node, c) in [(dianye, "dianye"), (hongqi, "hongqi"), (xianghe, "xianghe")] {
        let reg = node
            .create(NewDoc::Registry {
                street: beishi.clone(),
                community: org(c)?,
                title: format!("{c} compound registry"),
            })
            .await?
            .doc;
        for k in 0..opts.compounds {
            let w = node
                .execute(
                    reg,
                    Op::Registry(RegistryOp::AddCompound(Compound::new(
                        &format!("{c} compound {}", k + 1),
                        &format!("{} {c} road", 10 + k),
                        157 + (k as u32 * 37) % 440,
                        modes[k % modes.len()].clone(),
                    ))),
                )
                .await?;
            if k == 0
                && let Effect::Compound(id) = w.effect
            {
                first_compound.insert(c, id);
            }
        }
        registries.insert(c, reg);
        let led = node
            .create(NewDoc::Ledger {
                street: beishi.clone(),
                community: org(c)?,
                year: 2026,
                rules: LedgerRules::default(),
            })
            .await?
            .doc;
        for v in 1..=opts.volunteers {
            service(
                node,
                led,
                &format!("{c}:{v}"),
                "neighbourhood patrol",
                "patrol",
                1.0 + (v % 4) as f64,
            )
            .await?;
        }
        ledgers.insert(c, led);
        let wd = node
            .create(NewDoc::Wishes {
                street: beishi.clone(),
                community: org(c)?,
                title: format!("{c} micro-wishes"),
            })
            .await?
            .doc;
        for (title, cat) in [
            ("Walking frame for an elder", "elder care"),
            ("Fix the stairwell light in Building 2", "repairs"),
            ("Homework help for two pupils", "children"),
        ] {
            node.execute(
                wd,
                Op::Wishes(WishesOp::Post {
                    kind: ItemKind::Wish,
                    title: title.into(),
                    text: "recorded at a home visit".into(),
                    category: cat.into(),
                    channel: Channel::HomeVisit,
                    place: None,
                    resident: None,
                }),
            )
            .await?;
        }
        wishes_docs.insert(c, wd);
    }
    let mut spec = ResourceSpec::room("Dianye activity building, hall (565 m², co-built)", 60);
    spec.area_m2 = Some(565);
    let room = dianye
        .create(NewDoc::Resource {
            street: beishi.clone(),
            community: Some(org("dianye")?),
            spec,
        })
        .await?
        .doc;
    for name in ["reading room", "dance room", "counselling room"] {
        dianye
            .create(NewDoc::Resource {
                street: beishi.clone(),
                community: Some(org("dianye")?),
                spec: ResourceSpec::room(&format!("Dianye {name}"), 20),
            })
            .await?;
    }
    let kitchen = street
        .create(NewDoc::Resource {
            street: beishi.clone(),
            community: None,
            spec: ResourceSpec::kitchen("Liyuan shared kitchen", 40, 140),
        })
        .await?
        .doc;
    // Households order through their community's node: it needs the kitchen first.
    wait_agreed(&offices, timeout).await?;
    let dinner = jiff::civil::date(2026, 11, 21);
    for k in 0..opts.orders {
        let placer = [dianye, hongqi, xianghe][k % 3];
        placer
            .execute(
                kitchen,
                Op::Resource(ResourceOp::PlaceOrder {
                    household: format!("{}-{}-{}0{}", 1 + k % 9, 1 + k % 3, 1 + k % 6, 1 + k % 4),
                    date: dinner,
                    portions: 1 + (k % 3) as u32,
                    items: vec!["four dishes and a soup".into()],
                }),
            )
            .await?;
    }
    let docs = wait_agreed(&offices, timeout).await?;
    say(&format!(
        "      {docs} documents; all six nodes agree ({:.1} s since start)",
        started.elapsed().as_secs_f64()
    ));

    // --- Story 1 + 5: a partition, the same room booked twice, catching up -------------
    say("");
    say("[3/7] Hongqi and Xianghe lose their links; both ask for Dianye's hall on Tuesday evening");
    let cut = [3usize, 4];
    partition(&offices, &cut, true).await?;
    let tuesday = "2026-12-01";
    let club = BookingForm::new(
        "Li Wei",
        "reading club weekly session",
        slot(tuesday, "19:00", "21:00")?,
        25,
    )
    .with_organisation("Hongqi reading club")
    .with_contact("138 0013 8000")
    .with_alternates(vec![slot("2026-12-02", "19:00", "21:00")?]);
    let club_id = booking_of(
        hongqi
            .execute(room, Op::Resource(ResourceOp::Request(club)))
            .await?
            .effect,
    )?;
    let choir = BookingForm::new(
        "Zhang Min",
        "retirees' choir rehearsal",
        slot(tuesday, "18:30", "20:30")?,
        40,
    )
    .with_organisation("Xianghe retirees' choir");
    let choir_id = booking_of(
        xianghe
            .execute(room, Op::Resource(ResourceOp::Request(choir)))
            .await?
            .effect,
    )?;
    // Both sides keep working.
    service(
        xianghe,
        ledgers["xianghe"],
        "xianghe:1",
        "snow clearing",
        "street tidy",
        2.0,
    )
    .await?;
    service(
        dianye,
        ledgers["dianye"],
        "dianye:2",
        "snow clearing",
        "street tidy",
        2.0,
    )
    .await?;
    let peers_h = offices[3].net.stats().peers;
    say(&format!(
        "      while cut off: Hongqi has {peers_h} connected peers; both requests and new service records are stored locally"
    ));
    partition(&offices, &cut, false).await?;
    let t_heal = Instant::now();
    wait_agreed(&offices, timeout).await?;
    say(&format!(
        "      links restored: everyone caught up in {:.1} s",
        t_heal.elapsed().as_secs_f64()
    ));
    for b in [&choir_id, &club_id] {
        let w = dianye
            .execute(
                room,
                Op::Resource(ResourceOp::Confirm { booking: b.clone() }),
            )
            .await?;
        if let Effect::Confirmed {
            slot_index, slot, ..
        } = w.effect
        {
            let which = if slot_index == 0 {
                "its requested slot".to_string()
            } else {
                format!("its alternate #{slot_index}")
            };
            say(&format!(
                "      Dianye confirms {b} on {which}: {}",
                slot.display_in(&zone)
            ));
        }
    }

    // --- Story 2: points earned elsewhere, redeemed at home ---------------------------
    say("");
    say(
        "[4/7] volunteer dianye:7 serves 2 h at home and 3 h in Hongqi, then redeems points at home",
    );
    let vol7: VolunteerId = "dianye:7"
        .parse()
        .map_err(|e: linli_core::IdError| linli_core::Error::from(e))?;
    service(
        dianye,
        ledgers["dianye"],
        "dianye:7",
        "security patrol",
        "patrol",
        2.0,
    )
    .await?;
    service(
        hongqi,
        ledgers["hongqi"],
        "dianye:7",
        "elder visits in Hongqi",
        "elder care",
        3.0,
    )
    .await?;
    wait_agreed(&offices, timeout).await?;
    let before = dianye.balance(vol7.clone()).await?;
    dianye
        .execute(
            ledgers["dianye"],
            Op::Ledger(LedgerOp::Redeem {
                volunteer: vol7.clone(),
                item: "5 kg rice".into(),
                cost: Points::whole(4),
                outlet: "Dianye points store".into(),
            }),
        )
        .await?;
    say(&format!(
        "      Dianye sees {before} points across both ledgers; redeems 4 for 5 kg rice"
    ));
    match hongqi
        .execute(
            ledgers["hongqi"],
            Op::Ledger(LedgerOp::Redeem {
                volunteer: vol7.clone(),
                item: "soap".into(),
                cost: Points::whole(1),
                outlet: "Hongqi store".into(),
            }),
        )
        .await
    {
        Err(e) => say(&format!(
            "      Hongqi tries to spend them and is refused: {e}"
        )),
        Ok(_) => return Err(story("a foreign community redeemed a volunteer's points")),
    }

    // --- Story 3: revocation ------------------------------------------------------------
    say("");
    say("[5/7] Dianye revokes the choir's confirmed booking");
    dianye
        .execute(
            room,
            Op::Resource(ResourceOp::Revoke {
                booking: choir_id.clone(),
                reason: "hall needed for the flu vaccination day".into(),
            }),
        )
        .await?;
    wait_agreed(&offices, timeout).await?;
    let seen = xianghe
        .bookings(room)
        .await?
        .into_iter()
        .find(|b| b.id == choir_id)
        .ok_or_else(|| story("Xianghe lost its booking"))?;
    match &seen.status {
        BookingStatus::Revoked { reason } => say(&format!(
            "      Xianghe sees its booking revoked: \"{reason}\""
        )),
        other => return Err(story(format!("the revocation did not arrive: {other:?}"))),
    }

    // --- Story 4: refusals ----------------------------------------------------------------
    say("");
    say("[6/7] unauthorized changes");
    let forged = forge(&offices[3], registries["dianye"]).await?;
    match dianye.apply(forged).await {
        Err(NodeError::Core(linli_core::Error::Rejected(r))) => say(&format!(
            "      a change signed by Hongqi that writes into Dianye's registry is refused: {}",
            r.reason
        )),
        Err(e) => return Err(e.into()),
        Ok(a) => return Err(story(format!("a forged change was accepted: {a:?}"))),
    }
    match unit
        .execute(
            registries["dianye"],
            Op::Registry(RegistryOp::AddCompound(Compound::new(
                "State Grid staff quarters (annex)",
                "88 Dianye road",
                40,
                ManagementMode::PropertyRightsUnit,
            ))),
        )
        .await
    {
        Err(e) => say(&format!(
            "      State Grid tries to add a compound to Dianye's registry: {e}"
        )),
        Ok(_) => return Err(story("a unit wrote into a community's registry")),
    }
    // Appointments made by the street for Dianye's first compound.
    street
        .execute(
            registries["dianye"],
            Op::Registry(RegistryOp::Appoint {
                compound: first_compound["dianye"].clone(),
                manager: "Anju Property Services".into(),
                mode: ManagementMode::GuaranteeFirm,
                selection: None,
                start: jiff::civil::date(2027, 1, 1),
                end: Some(jiff::civil::date(2029, 12, 31)),
                status: AppointmentStatus::Appointed,
            }),
        )
        .await?;
    // The kitchen operator accepts tomorrow's orders up to capacity.
    let orders: Vec<_> = street
        .read(move |r| r.resource(kitchen).map(|k| k.all_orders()))
        .await??
        .into_iter()
        .map(|o| o.id)
        .collect();
    for o in orders {
        if let Err(e) = street
            .execute(kitchen, Op::Resource(ResourceOp::AcceptOrder { order: o }))
            .await
        {
            say(&format!("      order not accepted: {e}"));
        }
    }
    wait_agreed(&offices, timeout).await?;

    // --- Summary ------------------------------------------------------------------------
    say("");
    say("[7/7] summary (read from Xianghe's node)");
    let view = xianghe;
    let rows = view
        .bookings(room)
        .await?
        .into_iter()
        .map(|b| {
            let s = b.confirmed_slot().unwrap_or(b.request.form.slot);
            vec![
                b.id.to_string(),
                b.request.form.organisation.clone().unwrap_or_default(),
                b.request.form.booker.clone(),
                s.display_in(&zone),
                b.status.label().to_string(),
            ]
        })
        .collect();
    table(
        say,
        "Bookings — Dianye hall",
        &["booking", "organisation", "responsible", "slot", "status"],
        rows,
    );
    // Personal data: the club's booker and phone are held by Dianye (the owner) and Hongqi
    // (the requester) only; Xianghe's node above shows the masked name.
    let record = format!("requests/{club_id}");
    let deadline = Instant::now() + timeout;
    loop {
        let rec = record.clone();
        if dianye
            .read(move |r| r.personal_data(room, &rec).is_some())
            .await?
            || Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let holders: Vec<&str> = {
        let mut h = Vec::new();
        for o in &offices {
            let rec = record.clone();
            if o.node
                .read(move |r| r.personal_data(room, &rec).is_some())
                .await?
            {
                h.push(o.name);
            }
        }
        h
    };
    say(&format!(
        "  personal data: the reading club's booker name and phone are held by {} only; other nodes see \"L. W.\"",
        holders.join(" and ")
    ));
    let reg = registries["dianye"];
    let rows = view
        .read(move |r| {
            r.registry(reg).map(|v| {
                v.compounds()
                    .into_iter()
                    .take(4)
                    .map(|(id, c)| {
                        let manager = match v.appointment(&id) {
                            AppointmentView::Vacant => "—".to_string(),
                            AppointmentView::Current(a) => a.manager,
                            AppointmentView::Contested(all) => format!("contested ({})", all.len()),
                        };
                        vec![c.name, c.households.to_string(), c.mode.label(), manager]
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await??;
    table(
        say,
        "Compounds — Dianye (first four)",
        &["compound", "households", "mode", "manager"],
        rows,
    );
    let day = view
        .read(move |r| {
            r.resource(kitchen)
                .and_then(|k| k.kitchen_day(dinner).map_err(Into::into))
        })
        .await??;
    say(&format!(
        "\n  Liyuan kitchen, dinner {}: {} orders, {} of {} portions accepted, orders closed {}",
        day.date,
        day.orders.len(),
        day.accepted_portions,
        day.capacity,
        day.cutoff.display_in(&zone)
    ));
    let mut rows = Vec::new();
    for v in ["dianye:7", "dianye:2", "hongqi:3", "xianghe:1"] {
        let id: VolunteerId = v
            .parse()
            .map_err(|e: linli_core::IdError| linli_core::Error::from(e))?;
        rows.push(vec![v.to_string(), view.balance(id).await?.to_string()]);
    }
    table(
        say,
        "Volunteer balances (all ledgers)",
        &["volunteer", "points"],
        rows,
    );

    let docs = wait_agreed(&offices, timeout).await?;
    let status = street.status().await?;
    let mut refused = 0;
    let mut sessions = 0;
    for o in &offices {
        refused += o.node.rejected().await?.len() as u64;
        sessions += o.net.stats().sessions_ok;
    }
    say(&format!(
        "\n  {docs} documents, {} accepted changes; {refused} refused change(s) stored with reasons; {sessions} sync sessions; all six nodes agree.",
        status.accepted
    ));
    say(&format!(
        "  done in {:.1} s.",
        started.elapsed().as_secs_f64()
    ));
    for o in &offices {
        let _ = o.net.shutdown().await;
        o.node.shutdown().await?;
    }
    Ok(DemoReport {
        nodes: offices.len(),
        documents: docs,
        changes: status.accepted,
        refused,
        agreed: true,
        sessions,
    })
}

async fn certify(
    issuer: &Node,
    fed: DocId,
    subject: NodeId,
    role: Role,
    o: &str,
    parent: Option<&str>,
    from: Timestamp,
) -> Result<(), DemoError> {
    issuer
        .execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject,
                role,
                org: org(o)?,
                parent: parent.map(org).transpose()?,
                name: format!("{o} office"),
                not_before: from,
                not_after: Timestamp(from.0 + 3 * 365 * Timestamp::DAY),
            }),
        )
        .await?;
    Ok(())
}

async fn service(
    node: &Node,
    ledger: DocId,
    volunteer: &str,
    activity: &str,
    team: &str,
    hours: f64,
) -> Result<(), DemoError> {
    let volunteer: VolunteerId = volunteer
        .parse()
        .map_err(|e: linli_core::IdError| linli_core::Error::from(e))?;
    node.execute(
        ledger,
        Op::Ledger(LedgerOp::RecordService {
            volunteer,
            activity: activity.into(),
            team: Some(team.into()),
            date: jiff::civil::date(2026, 11, 19),
            hours,
            evidence: Some("duty photo in the group chat".into()),
        }),
    )
    .await?;
    Ok(())
}

fn booking_of(e: Effect) -> Result<linli_core::BookingId, DemoError> {
    match e {
        Effect::Booking(id) => Ok(id),
        other => Err(story(format!("expected a booking, got {other:?}"))),
    }
}

/// Cuts (or restores) every link of the offices at `cut`, on both ends.
async fn partition(offices: &[Office], cut: &[usize], on: bool) -> Result<(), DemoError> {
    for &c in cut {
        for (i, o) in offices.iter().enumerate() {
            if i == c {
                continue;
            }
            let (a, b) = (&offices[c], o);
            if on {
                a.net.block(b.node.node_id()).await?;
                b.net.block(a.node.node_id()).await?;
            } else {
                a.net.unblock(b.node.node_id()).await?;
                b.net.unblock(a.node.node_id()).await?;
            }
        }
    }
    if !on {
        // Reconnect the healed offices to everyone they know.
        for &c in cut {
            for (i, o) in offices.iter().enumerate() {
                if i != c {
                    for a in o.net.listen_addrs().await? {
                        offices[c].net.dial(&a).await?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Waits until the node holds a valid certificate of its own.
async fn wait_certified(node: &Node, timeout: Duration) -> Result<(), DemoError> {
    let deadline = Instant::now() + timeout;
    let me = node.node_id();
    loop {
        let now = node.now();
        if node.read(move |r| r.principal(&me, now).is_ok()).await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(story(format!(
                "{} did not receive its certificate within {timeout:?}",
                me.short()
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until every office holds the same heads as the street for every document it may
/// receive; returns the number of documents.
async fn wait_agreed(offices: &[Office], timeout: Duration) -> Result<usize, DemoError> {
    let deadline = Instant::now() + timeout;
    loop {
        let (n, missing) = disagreement(offices).await?;
        if missing.is_empty() {
            return Ok(n);
        }
        if Instant::now() > deadline {
            return Err(story(format!(
                "the nodes did not agree within {timeout:?}: {}",
                missing.join("; ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn disagreement(offices: &[Office]) -> Result<(usize, Vec<String>), DemoError> {
    let nodes: Vec<(&str, &Node)> = offices.iter().map(|o| (o.name, &o.node)).collect();
    Ok(agreement(&nodes).await?)
}

/// Whether `nodes` agree: every document any of them holds is held, with the same heads, by
/// every node that may receive it (partial replication). Returns the number of documents
/// and what disagrees (empty when they agree).
pub async fn agreement(nodes: &[(&str, &Node)]) -> Result<(usize, Vec<String>), NodeError> {
    use linli_core::DocHeader;
    use linli_core::cert::Principal;
    type Held = (Option<Principal>, BTreeMap<DocId, ([u8; 32], DocHeader)>);
    let mut held: Vec<Held> = Vec::new();
    for (_, node) in nodes {
        let me = node.node_id();
        let now = node.now();
        held.push(
            node.read(move |r| {
                let docs = r
                    .catalog()
                    .iter()
                    .filter_map(|(d, dig)| Some((*d, (*dig, r.header(*d).ok()?.clone()))))
                    .collect();
                (r.principal(&me, now).ok(), docs)
            })
            .await?,
        );
    }
    // Every document anyone holds must be held, with the same heads, by every office that
    // may receive it.
    let mut all: BTreeMap<DocId, (&DocHeader, [u8; 32])> = BTreeMap::new();
    let mut missing = Vec::new();
    for (_, docs) in &held {
        for (d, (dig, h)) in docs {
            match all.get(d) {
                None => {
                    all.insert(*d, (h, *dig));
                }
                Some((_, other)) if other != dig => {
                    missing.push(format!("document {} differs", d.short()));
                }
                Some(_) => {}
            }
        }
    }
    for ((name, _), (p, docs)) in nodes.iter().zip(&held) {
        let lagging = all
            .iter()
            .filter(|(d, (h, dig))| {
                linli_core::sync::may_receive(p.as_ref(), h)
                    && docs.get(*d).map(|x| &x.0) != Some(dig)
            })
            .count();
        if lagging > 0 {
            missing.push(format!("{name} lags on {lagging} document(s)"));
        }
    }
    Ok((all.len(), missing))
}

/// A change signed with `office`'s key that writes into `registry`, which it does not own.
async fn forge(office: &Office, registry: DocId) -> Result<SignedChange, DemoError> {
    let secret = office.secret;
    let now = office.node.now();
    office
        .node
        .read(move |r| -> Result<SignedChange, DemoError> {
            let mut doc = r.doc(registry)?.clone();
            doc.set_author(r.author());
            let change = doc
                .commit(
                    now,
                    "annex a compound",
                    &[Put::new(
                        "compounds",
                        "hongqi:999",
                        &Compound::new(
                            "Annexed compound",
                            "1 Nowhere road",
                            10,
                            ManagementMode::Unmanaged,
                        ),
                    )],
                )
                .map_err(linli_core::Error::from)?;
            SignedChange::sign(&Keypair::from_secret(&secret), registry, change.raw_bytes())
                .map_err(|e| story(format!("signing: {e}")))
        })
        .await?
}

fn table(say: &mut dyn FnMut(&str), title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    let width = |s: &str| s.chars().count();
    let mut w: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(x) = w.get_mut(i) {
                *x = (*x).max(width(c));
            }
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = w.get(i).copied().unwrap_or(0).saturating_sub(width(c));
                format!("{c}{}", " ".repeat(pad))
            })
            .collect();
        format!("  {}", parts.join("  ").trim_end())
    };
    say("");
    say(&format!("  {title}"));
    say(&line(header.iter().map(|h| h.to_string()).collect()));
    say(&line(w.iter().map(|n| "─".repeat(*n)).collect()));
    for r in rows {
        say(&line(r));
    }
}
