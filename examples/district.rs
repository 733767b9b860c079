//! The district story (`linli_node::story`, the one `linli demo` plays on real nodes) on
//! in-memory replicas: the Heping root, Beishi street, three communities and a co-building
//! unit keep their own replicas, edit offline at the same time, merge by exchanging changes,
//! and print the merged compound registry, room bookings, kitchen orders, volunteer balances
//! and wishes.
//!
//! Run with `cargo run --example district` (`scripts/demo` runs the networked version).

use anyhow::{Result, bail};
use linli::core::cert::Role;
use linli::core::identity::Keypair;
use linli::core::replica::{Applied, Error, Replica};
use linli::core::{DocId, Zone};
use linli::node::story::{
    self, Certificate, DocRef, Done, Ids, Outcome, Resolved, Scale, Scene, Step, Story, Who,
};

/// The demo's keys are derived from names so every run is the same; real nodes generate
/// theirs from the operating system's randomness.
fn key(name: &str) -> Keypair {
    Keypair::from_secret(blake3::hash(name.as_bytes()).as_bytes())
}

/// The replica of an office: the offices in [`Who::ALL`] order, then a second Beishi
/// workstation (index [`WORKSTATION`]).
fn ix(w: Who) -> usize {
    Who::ALL.iter().position(|x| *x == w).unwrap_or(WORKSTATION)
}
const WORKSTATION: usize = Who::ALL.len();
/// When balances are read (the story's ledgers never expire points, so any later day does).
const END: &str = "2026-12-31T12:00:00+08:00";

/// Plays one step of the story on `r`.
fn play_on(r: &mut Replica, s: &Step, ids: &mut Ids) -> Result<Outcome> {
    let at = s.time()?;
    let done = match s.resolve(ids)? {
        Resolved::Create(d, new) => r.create(new, at).map(|c| Done::Created(d, c.doc)),
        Resolved::Execute(doc, op) => r.execute(doc, op, at).map(|w| Done::Executed(w.effect)),
    };
    let outcome = ids.settle(s, done)?;
    if let Outcome::Refused(e) = &outcome {
        println!("  - {}: {e}", s.note);
    }
    Ok(outcome)
}

/// Plays a scene, each step on its actor's replica.
fn scene(rs: &mut [Replica], steps: &[Step], ids: &mut Ids) -> Result<Vec<Outcome>> {
    steps
        .iter()
        .map(|s| play_on(&mut rs[ix(s.actor)], s, ids))
        .collect()
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

fn print(t: story::Table) {
    for l in t.lines() {
        println!("{l}");
    }
}

fn main() -> Result<()> {
    let zone = Zone::shanghai();
    println!(
        "linli district demo — Heping district, Beishi street, three communities, one co-building unit"
    );
    let tale = Story::new(Scale {
        volunteers: 8,
        compounds: 3,
        orders: 6,
    });
    let mut ids = Ids::default();
    let root = key(Who::Heping.code()).node_id();
    let mut rs = Vec::new();
    for (i, w) in Who::ALL.iter().enumerate() {
        let r = Replica::new(key(w.code()), [i as u8 + 1; 8], w.org()?, root);
        ids.nodes.insert(*w, r.author().node);
        rs.push(r);
    }
    // Only here: a second Beishi street workstation, to show two offline appointments.
    rs.push(Replica::new(
        key("beishi#2"),
        [WORKSTATION as u8 + 1; 8],
        Who::Beishi.org()?,
        root,
    ));

    // --- Federation: root → street → communities → unit (chains of up to three) ----------
    let fed: DocId = rs[ix(Who::Heping)]
        .create(Story::federation(), story::at(story::START)?)?
        .doc;
    ids.docs.insert(DocRef::Federation, fed);
    for cert in &tale.certificates {
        play_on(&mut rs[ix(cert.issuer)], &cert.step(), &mut ids)?;
        merge_all(&mut rs)?;
    }
    let second = Certificate {
        issuer: Who::Heping,
        subject: Who::Beishi,
        role: Role::Street,
        parent: None,
    }
    .issue(rs[WORKSTATION].author().node)?;
    rs[ix(Who::Heping)].execute(fed, second, story::at(story::START)?)?;
    merge_all(&mut rs)?;
    let unit = ids.node(Who::StateGrid)?;
    let p = rs[ix(Who::Heping)].principal(&unit, story::at(story::START)?)?;
    println!(
        "\n[federation] root → street beishi → communities dianye, hongqi, xianghe → unit state-grid (chain of {} certificates)",
        p.chain_len
    );

    for (name, steps) in &tale.scenes {
        match name {
            Scene::Seed => {
                scene(&mut rs, steps, &mut ids)?;
                let moved = merge_all(&mut rs)?;
                println!(
                    "\n[online] {} documents created; {moved} changes exchanged",
                    ids.docs.len()
                );
            }
            Scene::Orders => {
                scene(&mut rs, steps, &mut ids)?;
                merge_all(&mut rs)?;
                println!("  - households order tomorrow's dinner from the Liyuan kitchen");
            }
            Scene::Apart => {
                println!(
                    "\n[offline] the network is down; each office keeps working on its own replica:"
                );
                scene(&mut rs, steps, &mut ids)?;
                println!(
                    "  - Hongqi's reading club and Xianghe's choir both ask for Dianye's hall on Tuesday evening"
                );
                println!("  - Xianghe and Dianye record snow clearing");
                // Only here: the second workstation appoints another firm at the same time.
                let other = story::appoint(
                    Who::Beishi,
                    story::APART,
                    0,
                    "Heping Guarantee Property Co.",
                );
                play_on(&mut rs[WORKSTATION], &other, &mut ids)?;
                println!(
                    "  - two Beishi street workstations each appoint a firm for Shimalu compound"
                );
                let moved = merge_all(&mut rs)?;
                println!("\n[merge] network back; {moved} changes exchanged");
            }
            Scene::Confirm => {
                for o in scene(&mut rs, steps, &mut ids)? {
                    if let Outcome::Done(e) = o
                        && let Some(c) = story::confirmation(&e, &zone)
                    {
                        println!("  - Dianye confirms {c}");
                    }
                }
                merge_all(&mut rs)?;
            }
            Scene::Serve => {
                scene(&mut rs, steps, &mut ids)?;
                println!(
                    "  - volunteer dianye:7 serves 2 h at home and 3 h in Hongqi; State Grid and the street offer to grant a wish"
                );
                merge_all(&mut rs)?;
            }
            Scene::Redeem => {
                let before =
                    rs[ix(Who::Dianye)].balance(&story::volunteer("dianye:7")?, story::at(END)?);
                println!(
                    "  - Dianye sees {before} points across both ledgers; redeems 4 for 5 kg rice"
                );
                scene(&mut rs, steps, &mut ids)?;
                merge_all(&mut rs)?;
            }
            Scene::Revoke => {
                scene(&mut rs, steps, &mut ids)?;
                println!("  - Dianye revokes the choir's confirmed booking");
                merge_all(&mut rs)?;
            }
            Scene::Settle => {
                // Only here: Hongqi's replica, bypassing its own checks, signs a change into
                // Dianye's registry; Dianye verifies it against the registry's write policy.
                let registry = ids.doc(DocRef::Registry(Who::Dianye))?;
                let forged = story::forge(
                    &rs[ix(Who::Hongqi)],
                    &key(Who::Hongqi.code()),
                    registry,
                    story::at(story::LATER)?,
                )?;
                match rs[ix(Who::Dianye)].apply(forged) {
                    Err(Error::Rejected(r)) => println!(
                        "\n[attack] Dianye refuses a change signed by Hongqi: {}",
                        r.reason
                    ),
                    other => bail!("an unauthorized change was not refused: {other:?}"),
                }
                scene(&mut rs, steps, &mut ids)?;
                merge_all(&mut rs)?;
            }
            Scene::Register => {
                scene(&mut rs, steps, &mut ids)?;
                merge_all(&mut rs)?;
            }
            Scene::Abroad => {
                scene(&mut rs, steps, &mut ids)?;
                merge_all(&mut rs)?;
                let v = story::volunteers::registered(&ids)?;
                let registry = ids.doc(DocRef::Volunteers(Who::Dianye))?;
                let (home_name, home_holds, points) = story::volunteers::seen_by(
                    &rs[ix(Who::Dianye)],
                    registry,
                    &v,
                    story::at(END)?,
                )?;
                let (seen, abroad_holds, _) = story::volunteers::seen_by(
                    &rs[ix(Who::Hongqi)],
                    registry,
                    &v,
                    story::at(END)?,
                )?;
                if home_name != story::volunteers::NAME || !home_holds || abroad_holds {
                    bail!("the volunteer's identity is not kept at home alone");
                }
                println!(
                    "  - volunteer {v} ({seen} outside Dianye) registered at home serves 3 h in Hongqi; Dianye credits {points} points at home; name and phone stay on Dianye's replica"
                );
            }
        }
    }
    // Only here, with a clock to set: an order after the kitchen's cut-off.
    let late = story::order(
        Who::Hongqi,
        "2026-11-20T20:30:00+08:00",
        "1-1-101".into(),
        1,
    )
    .refused("a kitchen order at 20:30 for tomorrow's dinner");
    play_on(&mut rs[ix(Who::Hongqi)], &late, &mut ids)?;

    // --- Print the merged state (from the street's replica) -------------------------------
    let view = &rs[ix(Who::Beishi)];
    let doc = |d| ids.doc(d);
    print(story::registry_table(
        view,
        doc(DocRef::Registry(Who::Dianye))?,
        "Compound registry (Dianye)",
        usize::MAX,
    )?);
    print(story::bookings_table(view, doc(DocRef::Hall)?, &zone)?);
    print(story::kitchen_table(view, doc(DocRef::Kitchen)?, &zone)?);
    print(story::balances_table(
        view,
        &story::FOLLOWED,
        story::at(END)?,
    )?);
    print(story::wishes_table(
        view,
        doc(DocRef::Wishes(Who::Dianye))?,
        "Micro-wishes (Dianye)",
    )?);

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
