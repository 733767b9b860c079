//! The district demo: a street, two communities and a co-building unit keep their own
//! replicas, edit offline at the same time, merge, and print the merged compound registry,
//! room bookings, kitchen orders and volunteer balances.
//!
//! Run with `scripts/demo` (or `cargo run --example district`).

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use linli::core::cert::Role;
use linli::core::federation::FederationOp;
use linli::core::identity::Keypair;
use linli::core::ledger::{LedgerOp, LedgerRules, Points, leaderboard_across};
use linli::core::registry::{
    AppointmentStatus, AppointmentView, ChecklistTemplate, Compound, ManagementMode, RegistryOp,
    ScorerRole,
};
use linli::core::replica::{Applied, DistrictConfig, Effect, Error, NewDoc, Op, Replica};
use linli::core::resource::{BookingForm, ResourceOp, ResourceSpec};
use linli::core::signed::SignedChange;
use linli::core::wishes::{Channel, ItemKind, WishesOp};
use linli::core::{DocId, NodeId, OrgId, Put, Slot, Timestamp, VolunteerId, Zone};

fn org(s: &str) -> Result<OrgId> {
    OrgId::new(s).with_context(|| format!("organisation code {s:?}"))
}

/// The demo's keys are derived from names so every run is the same; real nodes generate
/// theirs from the operating system's randomness.
fn key(name: &str) -> Keypair {
    Keypair::from_secret(blake3::hash(name.as_bytes()).as_bytes())
}

fn node(o: &str, n: u8, root: NodeId) -> Result<Replica> {
    Ok(Replica::new(
        key(&format!("{o}#{n}")),
        [n; 8],
        org(o)?,
        root,
    ))
}

fn certify(
    issuer: &mut Replica,
    fed: DocId,
    subject: &Replica,
    role: Role,
    parent: Option<&str>,
    at: Timestamp,
) -> Result<()> {
    let a = subject.author();
    issuer.execute(
        fed,
        Op::Federation(FederationOp::Issue {
            subject: a.node,
            role,
            org: a.org.clone(),
            parent: parent.map(org).transpose()?,
            name: format!("{} office", a.org),
            not_before: at,
            not_after: Timestamp(at.0 + 3 * 365 * Timestamp::DAY),
        }),
        at,
    )?;
    Ok(())
}

/// Sends every change `from` holds to `to`; returns how many were new.
fn send(from: &Replica, to: &mut Replica) -> Result<usize> {
    let mut n = 0;
    for id in from.docs().keys() {
        for sc in from.changes(*id, &[])? {
            if let Applied::Applied(h) = to.apply(sc)? {
                n += h.len();
            }
        }
    }
    Ok(n)
}

/// Everyone sends to everyone until nothing new moves.
fn merge_all(rs: &mut [Replica]) -> Result<usize> {
    let mut total = 0;
    loop {
        let mut moved = 0;
        for i in 0..rs.len() {
            for j in 0..rs.len() {
                if i != j {
                    let (from, to) = if i < j {
                        let (a, b) = rs.split_at_mut(j);
                        (&a[i], &mut b[0])
                    } else {
                        let (a, b) = rs.split_at_mut(i);
                        (&b[0], &mut a[j])
                    };
                    moved += send(from, to)?;
                }
            }
        }
        total += moved;
        if moved == 0 {
            return Ok(total);
        }
    }
}

fn table(title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    let width = |s: &str| s.chars().count();
    let mut w: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(width(c));
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(w[i] - width(c))))
            .collect();
        println!("  {}", parts.join("  ").trim_end());
    };
    println!("\n{title}");
    line(header.iter().map(|h| h.to_string()).collect());
    line(w.iter().map(|n| "─".repeat(*n)).collect());
    for r in rows {
        line(r);
    }
}

fn at(s: &str) -> Result<Timestamp> {
    Timestamp::parse(s).with_context(|| format!("time {s:?}"))
}

fn slot(day: &str, from: &str, to: &str) -> Result<Slot> {
    Ok(Slot::new(
        at(&format!("{day}T{from}:00+08:00"))?,
        at(&format!("{day}T{to}:00+08:00"))?,
    )?)
}

fn main() -> Result<()> {
    let zone = Zone::shanghai();
    println!("linli district demo — Beishi street, Dianye and Hongqi communities, State Grid unit");

    // Index: 0 Dianye community, 1 Hongqi community, 2 Beishi street, 3 State Grid (unit),
    // 4 a second Beishi street workstation, 5 the Heping district root.
    let root_key = key("heping-district-root");
    let root_id = root_key.node_id();
    let mut rs = vec![
        node("dianye", 1, root_id)?,
        node("hongqi", 2, root_id)?,
        node("beishi", 3, root_id)?,
        node("state-grid", 4, root_id)?,
        node("beishi", 5, root_id)?,
        Replica::new(root_key, [6; 8], org("heping")?, root_id),
    ];
    let t0 = at("2026-11-20T09:00:00+08:00")?;
    let beishi = org("beishi")?;

    // --- Federation: the district certifies the street, the street its communities, a
    // community its co-building unit (chains of up to three certificates).
    let district = DistrictConfig {
        checklist: ChecklistTemplate::synthetic_7_7("heping-2026"),
        ..DistrictConfig::default()
    };
    let fed = rs[5]
        .create(NewDoc::Federation { config: district }, t0)?
        .doc;
    let (street_a, street_b) = (rs[2].clone(), rs[4].clone());
    certify(&mut rs[5], fed, &street_a, Role::Street, None, t0)?;
    certify(&mut rs[5], fed, &street_b, Role::Street, None, t0)?;
    merge_all(&mut rs)?;
    let (dianye, hongqi) = (rs[0].clone(), rs[1].clone());
    certify(
        &mut rs[2],
        fed,
        &dianye,
        Role::Community,
        Some("beishi"),
        t0,
    )?;
    certify(
        &mut rs[2],
        fed,
        &hongqi,
        Role::Community,
        Some("beishi"),
        t0,
    )?;
    merge_all(&mut rs)?;
    let unit = rs[3].clone();
    certify(&mut rs[0], fed, &unit, Role::Unit, Some("dianye"), t0)?;
    merge_all(&mut rs)?;
    let p = rs[5].principal(&rs[3].author().node, t0)?;
    println!(
        "\n[federation] root → street beishi → community dianye → unit {} (chain of {} certificates)",
        rs[3].author().org,
        p.chain_len
    );

    // --- Online set-up ---------------------------------------------------------------
    let registry = rs[0]
        .create(
            NewDoc::Registry {
                street: beishi.clone(),
                community: org("dianye")?,
                title: "Dianye compound registry".into(),
            },
            t0,
        )?
        .doc;
    let dianye_ledger = rs[0]
        .create(
            NewDoc::Ledger {
                street: beishi.clone(),
                community: org("dianye")?,
                year: 2026,
                rules: LedgerRules::default(),
            },
            t0,
        )?
        .doc;
    let hongqi_ledger = rs[1]
        .create(
            NewDoc::Ledger {
                street: beishi.clone(),
                community: org("hongqi")?,
                year: 2026,
                rules: LedgerRules::default(),
            },
            t0,
        )?
        .doc;
    let wishes = rs[0]
        .create(
            NewDoc::Wishes {
                street: beishi.clone(),
                community: org("dianye")?,
                title: "Dianye micro-wishes".into(),
            },
            t0,
        )?
        .doc;
    let mut spec = ResourceSpec::room("Dianye activity building (565 m², co-built)", 60);
    spec.area_m2 = Some(565);
    let room = rs[0]
        .create(
            NewDoc::Resource {
                street: beishi.clone(),
                community: Some(org("dianye")?),
                spec,
            },
            t0,
        )?
        .doc;
    let kitchen = rs[1]
        .create(
            NewDoc::Resource {
                street: beishi.clone(),
                community: Some(org("hongqi")?),
                spec: ResourceSpec::kitchen("Liyuan shared kitchen", 40, 140),
            },
            t0,
        )?
        .doc;
    let mut compounds = Vec::new();
    for (name, addr, hh, mode) in [
        (
            "Shimalu compound",
            "3 Shimalu",
            157,
            ManagementMode::Unmanaged,
        ),
        (
            "Chidixiang courtyard",
            "12 Chidi lane",
            180,
            ManagementMode::SelfManaged,
        ),
        (
            "Dianye staff quarters",
            "88 Dianye road",
            420,
            ManagementMode::PropertyRightsUnit,
        ),
    ] {
        let w = rs[0].execute(
            registry,
            Op::Registry(RegistryOp::AddCompound(Compound::new(name, addr, hh, mode))),
            t0,
        )?;
        if let Effect::Compound(id) = w.effect {
            compounds.push(id);
        }
    }
    let moved = merge_all(&mut rs)?;
    println!(
        "\n[online] 6 documents created, {} compounds registered; {moved} changes exchanged",
        compounds.len()
    );

    // --- Offline: everyone edits at once ---------------------------------------------
    println!("\n[offline] the network is down; each office keeps working on its own replica:");
    let t1 = at("2026-11-21T10:00:00+08:00")?;
    let appoint = |r: &mut Replica, firm: &str| -> Result<()> {
        r.execute(
            registry,
            Op::Registry(RegistryOp::Appoint {
                compound: compounds[0].clone(),
                manager: firm.into(),
                mode: ManagementMode::GuaranteeFirm,
                selection: None,
                start: jiff::civil::date(2027, 1, 1),
                end: Some(jiff::civil::date(2029, 12, 31)),
                status: AppointmentStatus::Appointed,
            }),
            t1,
        )?;
        Ok(())
    };
    appoint(&mut rs[2], "Anju Property Services")?;
    appoint(&mut rs[4], "Heping Guarantee Property Co.")?;
    println!("  - two Beishi street workstations each appoint a firm for Shimalu compound");
    appoint(&mut rs[2], "Shenyang Jinqiao Property")?;
    rs[2].execute(
        registry,
        Op::Registry(RegistryOp::Appoint {
            compound: compounds[2].clone(),
            manager: "State Grid Liaoning logistics".into(),
            mode: ManagementMode::PropertyRightsUnit,
            selection: None,
            start: jiff::civil::date(2026, 1, 1),
            end: None,
            status: AppointmentStatus::Appointed,
        }),
        t1,
    )?;

    let tuesday = "2026-12-01";
    let reading_club = BookingForm::new(
        "Li Wei",
        "reading club weekly session",
        slot(tuesday, "19:00", "21:00")?,
        25,
    )
    .with_organisation("Hongqi reading club")
    .with_alternates(vec![slot("2026-12-02", "19:00", "21:00")?]);
    let w = rs[1].execute(room, Op::Resource(ResourceOp::Request(reading_club)), t1)?;
    let Effect::Booking(club_booking) = w.effect else {
        bail!("expected a booking")
    };
    let retirees = BookingForm::new(
        "Zhang Min",
        "retirees' choir rehearsal",
        slot(tuesday, "18:30", "20:30")?,
        40,
    )
    .with_organisation("State Grid retirees' association");
    let w = rs[3].execute(room, Op::Resource(ResourceOp::Request(retirees)), t1)?;
    let Effect::Booking(choir_booking) = w.effect else {
        bail!("expected a booking")
    };
    println!(
        "  - Hongqi's reading club and State Grid's retirees both ask for the room on Tuesday evening"
    );

    let vol7: VolunteerId = "dianye:7".parse()?;
    let vol8: VolunteerId = "dianye:8".parse()?;
    let vol3: VolunteerId = "hongqi:3".parse()?;
    let service = |r: &mut Replica,
                   ledger: DocId,
                   v: &VolunteerId,
                   act: &str,
                   team: &str,
                   hours: f64|
     -> Result<()> {
        r.execute(
            ledger,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: v.clone(),
                activity: act.into(),
                team: Some(team.into()),
                date: jiff::civil::date(2026, 11, 21),
                hours,
                evidence: Some("duty photo in group chat".into()),
            }),
            t1,
        )?;
        Ok(())
    };
    service(
        &mut rs[1],
        hongqi_ledger,
        &vol7,
        "elder visits in Hongqi",
        "elder care",
        3.0,
    )?;
    service(
        &mut rs[1],
        hongqi_ledger,
        &vol3,
        "shared-bike tidying",
        "street tidy",
        1.5,
    )?;
    service(
        &mut rs[0],
        dianye_ledger,
        &vol7,
        "security patrol",
        "patrol",
        2.0,
    )?;
    service(
        &mut rs[0],
        dianye_ledger,
        &vol8,
        "monitoring-room rota",
        "patrol",
        8.0,
    )?;
    println!("  - Dianye volunteer dianye:7 serves 3 h in Hongqi; both communities record service");

    let w = rs[0].execute(
        wishes,
        Op::Wishes(WishesOp::Post {
            kind: ItemKind::Wish,
            title: "Walking frame for an elder in Building 3".into(),
            text: "Recorded at a home visit".into(),
            category: "elder care".into(),
            channel: Channel::HomeVisit,
            place: Some("Shimalu compound, Building 3".into()),
            resident: None,
        }),
        t1,
    )?;
    let Effect::Wish(wish) = w.effect else {
        bail!("expected a wish")
    };
    let t_order = at("2026-11-21T18:00:00+08:00")?;
    for (household, portions) in [("2-1-301", 3), ("5-2-602", 2)] {
        rs[1].execute(
            kitchen,
            Op::Resource(ResourceOp::PlaceOrder {
                household: household.into(),
                date: jiff::civil::date(2026, 11, 22),
                portions,
                items: vec!["four dishes and a soup".into()],
            }),
            t_order,
        )?;
    }
    let late = rs[1].execute(
        kitchen,
        Op::Resource(ResourceOp::PlaceOrder {
            household: "1-1-101".into(),
            date: jiff::civil::date(2026, 11, 22),
            portions: 1,
            items: vec![],
        }),
        at("2026-11-21T20:30:00+08:00")?,
    );
    if let Err(e) = late {
        println!("  - a kitchen order at 20:30 for tomorrow is refused: {e}");
    }
    println!("  - the Liyuan kitchen takes orders for tomorrow's dinner before the 20:00 cut-off");

    // --- Reconnect and merge -------------------------------------------------------------
    let moved = merge_all(&mut rs)?;
    println!("\n[merge] network back; {moved} changes exchanged");

    // Claims on the wish, then the community assigns exactly one.
    let t2 = at("2026-11-22T09:00:00+08:00")?;
    rs[3].execute(
        wishes,
        Op::Wishes(WishesOp::Claim {
            wish: wish.clone(),
            volunteer: None,
            note: "We can buy one".into(),
        }),
        t2,
    )?;
    let w = rs[1].execute(
        wishes,
        Op::Wishes(WishesOp::Claim {
            wish: wish.clone(),
            volunteer: Some(vol3.clone()),
            note: "Volunteer can deliver".into(),
        }),
        t2,
    )?;
    let Effect::Claim(claim) = w.effect else {
        bail!("expected a claim")
    };
    merge_all(&mut rs)?;
    rs[0].execute(
        wishes,
        Op::Wishes(WishesOp::Assign {
            wish: wish.clone(),
            claim,
        }),
        t2,
    )?;

    // The owner arbitrates the room: first come, first served by request id; the
    // second request gets its alternate.
    for b in [&choir_booking, &club_booking] {
        let w = rs[0].execute(
            room,
            Op::Resource(ResourceOp::Confirm { booking: b.clone() }),
            t2,
        )?;
        if let Effect::Confirmed {
            slot_index, slot, ..
        } = w.effect
        {
            let which = if slot_index == 0 {
                "its requested slot".to_string()
            } else {
                format!("alternate #{slot_index}")
            };
            println!(
                "  - Dianye confirms {b} on {which}: {}",
                slot.display_in(&zone)
            );
        }
    }
    // A kitchen operator accepts the orders.
    let orders: Vec<_> = rs[1]
        .resource(kitchen)?
        .all_orders()
        .into_iter()
        .map(|o| o.id)
        .collect();
    for o in orders {
        rs[1].execute(
            kitchen,
            Op::Resource(ResourceOp::AcceptOrder { order: o }),
            at("2026-11-21T20:05:00+08:00")?,
        )?;
    }
    // The volunteer redeems at home: balance known = 3 h in Hongqi + 2 h in Dianye.
    rs[0].execute(
        dianye_ledger,
        Op::Ledger(LedgerOp::Redeem {
            volunteer: vol7.clone(),
            item: "5 kg rice".into(),
            cost: Points::whole(4),
            outlet: "Dianye points store".into(),
        }),
        t2,
    )?;
    match rs[1].execute(
        hongqi_ledger,
        Op::Ledger(LedgerOp::Redeem {
            volunteer: vol7.clone(),
            item: "soap".into(),
            cost: Points::whole(1),
            outlet: "Hongqi store".into(),
        }),
        t2,
    ) {
        Err(e) => {
            println!("  - Hongqi tries to redeem a Dianye volunteer's points and is refused: {e}")
        }
        Ok(_) => bail!("a foreign community redeemed points"),
    }
    // A street scores the appointed firm of compound 3.
    rs[2].execute(
        registry,
        Op::Registry(RegistryOp::Score {
            compound: compounds[2].clone(),
            year: 2026,
            role: ScorerRole::Street,
            marks: BTreeMap::from([
                ("stair handrails wiped daily".to_string(), 30),
                ("bins".to_string(), 25),
            ]),
            comment: "handrails not wiped on two visits".into(),
        }),
        t2,
    )?;
    merge_all(&mut rs)?;

    // --- An unauthorized change -----------------------------------------------------------
    // Hongqi's node, bypassing its own checks, writes a compound into Dianye's registry and
    // signs it. Every other node verifies it against the registry's write policy.
    let mut forged = rs[1].doc(registry)?.clone();
    forged.set_author(rs[1].author());
    let change = forged.commit(
        t2,
        "forged",
        &[Put::new(
            "compounds",
            "hongqi:1",
            &Compound::new(
                "Annexed compound",
                "1 Nowhere road",
                10,
                ManagementMode::Unmanaged,
            ),
        )],
    )?;
    let signed = SignedChange::sign(&key("hongqi#2"), registry, change.raw_bytes())?;
    match rs[0].apply(signed) {
        Err(Error::Rejected(r)) => println!(
            "\n[attack] Dianye refuses a change signed by Hongqi: {}",
            r.reason
        ),
        other => bail!("an unauthorized change was not refused: {other:?}"),
    }

    // --- Print the merged state (from the street's replica) -------------------------------
    let view = &rs[2];
    let reg = view.registry(registry)?;
    table(
        "Compound registry (Dianye)",
        &[
            "id",
            "compound",
            "households",
            "mode",
            "property manager",
            "2026 score",
        ],
        reg.compounds()
            .into_iter()
            .map(|(id, c)| {
                let manager = match reg.appointment(&id) {
                    AppointmentView::Vacant => "—".to_string(),
                    AppointmentView::Current(a) => a.manager,
                    AppointmentView::Contested(all) => format!(
                        "CONTESTED: {}",
                        all.iter()
                            .map(|a| a.manager.as_str())
                            .collect::<Vec<_>>()
                            .join(" / ")
                    ),
                };
                let comp = reg.composite(&id, 2026);
                let score = match comp.score {
                    Some(s) => format!(
                        "{s:.0}{}{}",
                        if comp.complete { "" } else { " (partial)" },
                        if comp.below_threshold {
                            " below pass mark"
                        } else {
                            ""
                        }
                    ),
                    None => "—".into(),
                };
                vec![
                    id.to_string(),
                    c.name,
                    c.households.to_string(),
                    c.mode.label(),
                    manager,
                    score,
                ]
            })
            .collect(),
    );
    let res = view.resource(room)?;
    table(
        &format!("Bookings — {}", res.spec().name),
        &["booking", "organisation", "responsible", "slot", "status"],
        res.bookings()
            .into_iter()
            .map(|b| {
                let slot = b.confirmed_slot().unwrap_or(b.request.form.slot);
                vec![
                    b.id.to_string(),
                    b.request.form.organisation.clone().unwrap_or_default(),
                    b.request.form.booker.clone(),
                    slot.display_in(&zone),
                    b.status.label().into(),
                ]
            })
            .collect(),
    );
    let k = view.resource(kitchen)?;
    let day = k.kitchen_day(jiff::civil::date(2026, 11, 22))?;
    table(
        &format!(
            "Liyuan kitchen — {} {}: {} of {} portions accepted, orders closed {}",
            day.service,
            day.date,
            day.accepted_portions,
            day.capacity,
            day.cutoff.display_in(&zone)
        ),
        &["order", "household", "portions", "placed", "status"],
        day.orders
            .iter()
            .map(|o| {
                vec![
                    o.id.to_string(),
                    o.order.household.clone(),
                    o.order.portions.to_string(),
                    o.order.placed_at.display_in(&zone),
                    o.status.label().into(),
                ]
            })
            .collect(),
    );
    let rules = LedgerRules::default();
    table(
        "Volunteer balances (all ledgers known to the street)",
        &["volunteer", "earned", "balance", "stars"],
        leaderboard_across(view.docs().values(), &rules, |_| true, None)
            .into_iter()
            .map(|s| {
                vec![
                    s.volunteer.to_string(),
                    s.earned.to_string(),
                    view.balance(&s.volunteer).to_string(),
                    "★".repeat(usize::from(s.stars)),
                ]
            })
            .collect(),
    );
    let ws = view.wishes(wishes)?;
    table(
        "Micro-wishes (Dianye)",
        &["wish", "title", "claims", "status"],
        ws.items()
            .into_iter()
            .map(|(id, item)| {
                let status = ws.status(&id).map(|s| s.label()).unwrap_or("?");
                vec![
                    id.to_string(),
                    item.title,
                    ws.claims(&id).len().to_string(),
                    status.into(),
                ]
            })
            .collect(),
    );

    // Every replica holds identical documents.
    let mut identical = true;
    for id in rs[0].docs().keys() {
        let heads = rs[0].doc(*id)?.heads();
        identical &= rs
            .iter()
            .all(|r| r.doc(*id).map(|d| d.heads() == heads).unwrap_or(false));
    }
    println!(
        "\nAll {} replicas hold identical documents: {}",
        rs.len(),
        if identical { "yes" } else { "NO" }
    );
    if !identical {
        bail!("replicas diverged");
    }
    Ok(())
}
