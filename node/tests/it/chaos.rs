//! A seeded chaos run (bounded in steps and time, stops by itself): a street, five
//! communities and a co-building unit — seven nodes with real networks on loopback — do
//! random domain operations while nodes are randomly cut off, healed and restarted. The
//! unit runs as a real `linli run` daemon driven through its HTTP API and is restarted by
//! SIGKILL; the others run in this process and restart gracefully. At the end every node
//! agrees, no acknowledged write is lost (the killed daemon's included), and the
//! invariants hold: no overlapping confirmed bookings, no negative balance, at most one
//! active assignment per wish, one appointment view (current or contested) everywhere.
//!
//! Meanwhile an insider with valid certificates — community "dianye" of another street
//! (the victim's code in another scope), a unit certified by the victim as an organiser of
//! its ledger, and a second key of the victim community gone rogue — crafts changes past
//! the typed operations and the local policy (`Document::commit` on a copy, signed with
//! its key) at random steps, one attack class at a time, and delivers each into a random
//! honest node's receive path: (a) decisions on the victim's bookings (naming its own
//! scope or the owner's), assignments and progress on its wishes, entries in its ledger;
//! (b) service points off the ledger's rule, an organiser's correction, an oversized
//! correction; (c) an already written booking request (other slot, 30 attendees) or ledger
//! entry written again; (d) a change dated before its dependencies; (e) two changes in one
//! (actor, seq) slot in its own room, both to one node and the larger hash also to
//! another; (f) a record numbered with another node's tag. Every class is tried (one of each
//! first, in a random order); each change is refused where it is delivered, with its reason
//! recorded; at the end no honest node holds any of them (of an equivocation every node
//! holds the smaller hash and not the other, and flags the key if both reached it), and no
//! ledger entry, decision, request, assignment or progress step of the insider's and no
//! point for its crony is anywhere.
//!
//! `LINLI_SEED=n` replays a run; `CHAOS_STEPS` sets its length (default 60; the long run
//! in README's development section uses 1500).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::ledger::{Entry, EntryBody, LedgerOp, LedgerRules, Points};
use linli_core::registry::{AppointmentStatus, Compound, ManagementMode, RegistryOp};
use linli_core::resource::{
    Bar, Barred, BookingForm, BookingRequest, BookingStatus, Decision, ResourceOp, ResourceSpec,
    Verdict,
};
use linli_core::wishes::{Assignment, Channel, ItemKind, Progress, Stage, WishesOp};
use linli_core::{
    Author, DocId, Document, NewDoc, NodeId, Op, OrgId, Put, RecordId, Replica, Scope,
    SignedChange, Slot, Timestamp, WishId,
};
use linli_node::api::{ApiClient, ApiError};
use linli_node::demo::agreement;
use linli_node::net::{NetConfig, Network};
use linli_node::ops::Request;
use linli_node::{InitOptions, Node};
use tempfile::TempDir;

use crate::util::{District, Rng, opts, org, secret, valid_from, valid_until};

const COMMUNITIES: [&str; 5] = ["dianye", "hongqi", "xianghe", "shengli", "jianshe"];

struct Member {
    name: String,
    dir: PathBuf,
    /// The in-process node (`None` while the member runs as a daemon).
    node: Option<Node>,
    net: Option<Network>,
    role: Role,
    /// The `linli run` process, its API and its listen addresses.
    daemon: Option<(Child, ApiClient, Vec<String>)>,
}

impl Member {
    fn node(&self) -> &Node {
        self.node.as_ref().expect("an in-process member")
    }
}

/// Starts `linli run` on `dir` (loopback, free ports, a session every second) dialling
/// `bootstrap`; returns once its API answers.
async fn start_daemon(dir: &Path, bootstrap: &[String]) -> (Child, ApiClient, Vec<String>) {
    let _ = std::fs::remove_file(dir.join("api.addr"));
    let log = std::fs::File::create(dir.with_extension("log")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linli"));
    cmd.arg("--dir").arg(dir).args([
        "run",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--api",
        "127.0.0.1:0",
        "--sync-interval",
        "1",
    ]);
    for b in bootstrap {
        cmd.args(["--bootstrap", b]);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    // The daemon is another process: no event of ours reports its API up, so its files and
    // API are polled, within a deadline.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.with_extension("log")).unwrap_or_default();
            panic!("the daemon exited with {status}: {log}");
        }
        let addr = std::fs::read_to_string(dir.join("api.addr")).ok();
        let token = std::fs::read_to_string(dir.join("api.token")).ok();
        if let (Some(addr), Some(token)) = (addr, token)
            && let Ok(addr) = addr.trim().parse()
        {
            let api = ApiClient::new(addr, token.trim().to_string());
            if let Ok(st) = api.call(&Request::Status).await {
                let listen = st["listen"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                return (child, api, listen);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the daemon's API did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Default)]
struct Docs {
    registries: Vec<(usize, DocId)>,
    ledgers: Vec<(usize, DocId)>,
    rooms: Vec<(usize, DocId)>,
    wishes: Vec<(usize, DocId)>,
}

fn cfg(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        mdns: false,
        sync_interval_secs: 1,
        max_peers: 16,
        relay: Default::default(),
        fast_join: true,
    }
}

fn at(day: u64, hour: u64) -> Timestamp {
    // Weekdays in December 2030, evenings (inside the default opening hours).
    let base = Timestamp::parse("2030-12-02T00:00:00+08:00").unwrap();
    Timestamp(base.0 + ((day * 24 + hour) * 3600 * 1000) as i64)
}

async fn start_net(members: &mut [Member], i: usize) {
    let boot = addrs_but(members, i).await;
    members[i].net = Some(
        Network::start(members[i].node().clone(), cfg(boot))
            .await
            .unwrap(),
    );
}

/// The listen addresses of every running member but `i`.
async fn addrs_but(members: &[Member], i: usize) -> Vec<String> {
    let mut boot = Vec::new();
    for (j, m) in members.iter().enumerate() {
        if j == i {
            continue;
        }
        if let Some(n) = &m.net {
            boot.extend(n.listen_addrs().await.unwrap());
        }
        if let Some((_, _, listen)) = &m.daemon {
            boot.extend(listen.iter().cloned());
        }
    }
    boot
}

async fn set_cut(members: &[Member], i: usize, cut: bool) {
    let me = members[i].node().node_id();
    for (j, m) in members.iter().enumerate() {
        if j == i {
            continue;
        }
        let (Some(a), Some(b)) = (&members[i].net, &m.net) else {
            continue;
        };
        if cut {
            a.block(m.node().node_id()).await.unwrap();
            b.block(me).await.unwrap();
        } else {
            a.unblock(m.node().node_id()).await.unwrap();
            b.unblock(me).await.unwrap();
            for addr in b.listen_addrs().await.unwrap() {
                let _ = a.dial(&addr).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_run_converges_loses_nothing_and_keeps_invariants() {
    let steps: usize = std::env::var("CHAOS_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut rng = Rng::new("chaos");
    let insider_rng = rng.fork();
    let deadline = Instant::now() + Duration::from_secs(60 + steps as u64);
    let tmp = TempDir::new().unwrap();
    let mut district = District::new();

    // The street, five communities and a unit of the first community.
    let mut members: Vec<Member> = Vec::new();
    let mut who: Vec<(String, Role, Option<&str>)> = vec![("beishi".into(), Role::Street, None)];
    for c in COMMUNITIES {
        who.push((c.into(), Role::Community, Some("beishi")));
    }
    who.push(("power-co".into(), Role::Unit, Some("dianye")));
    for (n, (name, role, parent)) in who.iter().enumerate() {
        let dir = tmp.path().join(name);
        let mut init = InitOptions::new(org(name), district.root_id());
        init.secret = Some(secret(name, n as u8));
        let node = Node::init(&dir, init, opts()).await.unwrap();
        match (role, parent) {
            // The unit is certified by its community (a real chain: beishi/dianye/power-co;
            // dianye is node 1, whose key certify_by uses).
            (Role::Unit, Some(p)) => {
                district.certify_by(p, node.node_id(), *role, name, p);
            }
            _ => {
                district.certify(node.node_id(), *role, name, *parent);
            }
        }
        members.push(Member {
            name: name.clone(),
            dir,
            node: Some(node),
            net: None,
            role: *role,
            daemon: None,
        });
    }
    // The insider's keys: the victim's code under another street, and a second key of the
    // victim community; its unit (an organiser of the victim's ledger) is certified below by
    // the victim itself.
    let same_code = Key::new("insider-jianzhong", "dianye", "jianzhong/dianye");
    let organiser = Key::new("insider-fixit", "fixit", "beishi/dianye/fixit");
    let rogue = Key::new("insider-dianye", "dianye", "beishi/dianye");
    let insider_id = organiser.pair.node_id();
    district.certify(
        same_code.pair.node_id(),
        Role::Community,
        "dianye",
        Some("jianzhong"),
    );
    district.certify(
        rogue.pair.node_id(),
        Role::Community,
        "dianye",
        Some("beishi"),
    );
    for m in &members {
        for r in m.node().apply_batch(district.fed_changes()).await.unwrap() {
            r.unwrap();
        }
    }
    let fed = district.fed;
    members[1]
        .node()
        .execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject: insider_id,
                role: Role::Unit,
                org: org("fixit"),
                parent: Some(org("dianye")),
                name: "fixit node".into(),
                not_before: valid_from(),
                not_after: valid_until(),
            }),
        )
        .await
        .unwrap();
    let fed_changes = members[1].node().changes(fed, vec![]).await.unwrap();
    for m in &members {
        for r in m.node().apply_batch(fed_changes.clone()).await.unwrap() {
            r.unwrap();
        }
    }
    let mut docs = Docs::default();
    for (i, m) in members.iter().enumerate() {
        if m.role != Role::Community {
            continue;
        }
        let c = org(&m.name);
        let create = |new: NewDoc| {
            let node = m.node().clone();
            async move { node.create(new).await.unwrap().doc }
        };
        docs.registries.push((
            i,
            create(NewDoc::Registry {
                street: org("beishi"),
                community: c.clone(),
                title: "registry".into(),
            })
            .await,
        ));
        docs.ledgers.push((
            i,
            create(NewDoc::Ledger {
                street: org("beishi"),
                community: c.clone(),
                year: 2030,
                rules: LedgerRules::default(),
            })
            .await,
        ));
        docs.rooms.push((
            i,
            create(NewDoc::Resource {
                street: org("beishi"),
                community: Some(c.clone()),
                spec: ResourceSpec::room(&format!("{} hall", m.name), 60),
            })
            .await,
        ));
        docs.wishes.push((
            i,
            create(NewDoc::Wishes {
                street: org("beishi"),
                community: c,
                title: "wishes".into(),
            })
            .await,
        ));
    }
    // One honest entry in dianye's ledger from the start (something to rewrite).
    let first_entry = members[1]
        .node()
        .execute(
            docs.ledgers[0].1,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: "dianye:1".parse().unwrap(),
                activity: "patrol".into(),
                team: None,
                date: jiff::civil::date(2030, 11, 1),
                hours: 1.0,
                evidence: None,
            }),
        )
        .await
        .unwrap();
    // The insider's unit creates its own room (where it will equivocate).
    let mut own = Replica::new(
        organiser.pair.clone(),
        [7; 8],
        org("fixit"),
        district.root_id(),
    );
    for c in fed_changes {
        own.apply(c).unwrap();
    }
    let hall = own
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("dianye")),
                spec: ResourceSpec::room("fixit hall", 20),
            },
            linli_node::system_clock(),
        )
        .unwrap();
    for m in &members {
        m.node().apply(hall.clone()).await.unwrap();
    }
    let mut insider = Insider {
        rng: insider_rng,
        same_code,
        organiser,
        rogue,
        hall: own.doc(hall.doc).unwrap().clone(),
        nodes: members
            .iter()
            .map(|m| (m.node().node_id(), org(&m.name)))
            .collect(),
        forged: 0,
        tried: BTreeMap::new(),
        refused: Vec::new(),
        equivocated: Vec::new(),
    };
    // One of each class first, in a random order.
    let mut order = ATTACKS.to_vec();
    for k in (1..order.len()).rev() {
        let j = insider.rng.range(0, k as u64) as usize;
        order.swap(k, j);
    }

    let unit = members.len() - 1;
    for i in 0..unit {
        start_net(&mut members, i).await;
    }
    // The unit runs as a daemon process.
    members[unit].node.take().unwrap().shutdown().await.unwrap();
    let boot = addrs_but(&members, unit).await;
    members[unit].daemon = Some(start_daemon(&members[unit].dir, &boot).await);
    let mut kills = 0usize;

    // Acknowledged writes: (author index, doc, change hash).
    let mut acked: Vec<(usize, DocId, ChangeHash)> = vec![(
        1,
        docs.ledgers[0].1,
        first_entry.change.change_hash().unwrap(),
    )];
    let mut cut: BTreeSet<usize> = BTreeSet::new();
    let mut refused = 0usize;
    for step in 0..steps {
        assert!(Instant::now() < deadline, "the chaos run overran its time");
        // The insider, at random steps while the others work (and each class before the run
        // ends): one crafted change into a random honest node's receive path.
        let due: Vec<Attack> = order
            .iter()
            .copied()
            .filter(|c| !insider.tried.contains_key(c))
            .collect();
        if steps - step <= due.len() {
            for class in due {
                insider.attack(class, &members, &docs).await;
            }
        } else if insider.rng.range(0, 3) == 0 {
            let class = match due.first() {
                Some(c) => *c,
                None => ATTACKS[insider.rng.range(0, ATTACKS.len() as u64 - 1) as usize],
            };
            insider.attack(class, &members, &docs).await;
        }
        let mut i = rng.range(0, members.len() as u64 - 1) as usize;
        let mut roll = rng.range(0, 99);
        if step == steps / 2 {
            // At least one SIGKILL in every run.
            (i, roll) = (unit, 0);
        }
        if i == unit {
            if roll < 9 {
                // Kill the daemon (SIGKILL) and start it again.
                let (mut child, _, _) = members[unit].daemon.take().unwrap();
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                let boot = addrs_but(&members, unit).await;
                members[unit].daemon = Some(start_daemon(&members[unit].dir, &boot).await);
            } else if let Some((doc, op)) = unit_op(&mut rng, &docs, &members[unit]).await {
                let (_, api, _) = members[unit].daemon.as_ref().unwrap();
                match api.call(&Request::Execute { doc, op }).await {
                    Ok(v) => {
                        acked.push((unit, doc, v["change"].as_str().unwrap().parse().unwrap()))
                    }
                    Err(ApiError::Status { .. }) => refused += 1,
                    Err(e) => panic!("the daemon's API failed: {e}"),
                }
            }
            continue;
        }
        if roll < 6 {
            // Cut a node off, or heal one.
            if cut.remove(&i) {
                set_cut(&members, i, false).await;
            } else if cut.len() < 2 {
                set_cut(&members, i, true).await;
                cut.insert(i);
            }
            continue;
        }
        if roll < 9 && !cut.contains(&i) {
            // Restart: network and node down, then up again from the same directory.
            if let Some(n) = members[i].net.take() {
                n.shutdown().await.unwrap();
            }
            members[i].node().shutdown().await.unwrap();
            members[i].node = Some(Node::open(&members[i].dir, opts()).await.unwrap());
            start_net(&mut members, i).await;
            continue;
        }
        let m = &members[i];
        let op: Option<(DocId, Op)> = match (m.role, rng.range(0, 6)) {
            (Role::Community, 0) => {
                let (_, reg) = *docs.registries.iter().find(|(o, _)| *o == i).unwrap();
                Some((
                    reg,
                    Op::Registry(RegistryOp::AddCompound(Compound::new(
                        &format!("compound {step}"),
                        "1 road",
                        100 + step as u32,
                        ManagementMode::PropertyFirm,
                    ))),
                ))
            }
            (Role::Community, 1 | 2) => {
                let (_, led) = *docs.ledgers.iter().find(|(o, _)| *o == i).unwrap();
                let c = COMMUNITIES[rng.range(0, 4) as usize];
                Some((
                    led,
                    Op::Ledger(LedgerOp::RecordService {
                        volunteer: format!("{c}:{}", rng.range(1, 4)).parse().unwrap(),
                        activity: "patrol".into(),
                        team: None,
                        date: jiff::civil::date(2030, 11, 1),
                        hours: rng.range(1, 3) as f64,
                        evidence: None,
                    }),
                ))
            }
            (Role::Community, 3) => {
                let (_, led) = *docs.ledgers.iter().find(|(o, _)| *o == i).unwrap();
                Some((
                    led,
                    Op::Ledger(LedgerOp::Redeem {
                        volunteer: format!("{}:{}", m.name, rng.range(1, 4)).parse().unwrap(),
                        item: "rice".into(),
                        cost: Points::whole(rng.range(1, 4) as i64),
                        outlet: "store".into(),
                    }),
                ))
            }
            (Role::Community, 4) => {
                // Decide a tentative booking of our own room.
                let (_, room) = *docs.rooms.iter().find(|(o, _)| *o == i).unwrap();
                let tentative = m
                    .node()
                    .bookings(room)
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|b| b.status == BookingStatus::Tentative);
                tentative.map(|b| {
                    let op = if rng.range(0, 3) == 0 {
                        ResourceOp::Reject {
                            booking: b.id,
                            reason: "busy".into(),
                        }
                    } else {
                        ResourceOp::Confirm { booking: b.id }
                    };
                    (room, Op::Resource(op))
                })
            }
            (Role::Community, _) => {
                let (_, wd) = *docs.wishes.iter().find(|(o, _)| *o == i).unwrap();
                let items = m.node().wishes(wd).await.unwrap();
                if items.is_empty() || rng.range(0, 1) == 0 {
                    Some((
                        wd,
                        Op::Wishes(WishesOp::Post {
                            kind: ItemKind::Wish,
                            title: format!("wish {step}"),
                            text: String::new(),
                            category: "help".into(),
                            channel: Channel::HomeVisit,
                            place: None,
                            resident: None,
                        }),
                    ))
                } else {
                    // Assign the first claim of a random item (claims come from others).
                    let (wish, _) = items[rng.range(0, items.len() as u64 - 1) as usize].clone();
                    let w2 = wish.clone();
                    let claim = m
                        .node()
                        .read(move |r| r.wishes(wd).map(|v| v.claims(&w2)))
                        .await
                        .unwrap()
                        .unwrap()
                        .into_iter()
                        .next();
                    claim.map(|(claim, _)| (wd, Op::Wishes(WishesOp::Assign { wish, claim })))
                }
            }
            (Role::Street, _) => {
                // Appoint a firm for a random compound of a random registry it holds.
                let (_, reg) = docs.registries[rng.range(0, 4) as usize];
                let compounds = m.node().compounds(reg).await.unwrap_or_default();
                (!compounds.is_empty()).then(|| {
                    let (id, _) =
                        compounds[rng.range(0, compounds.len() as u64 - 1) as usize].clone();
                    (
                        reg,
                        Op::Registry(RegistryOp::Appoint {
                            compound: id,
                            manager: format!("firm {step}"),
                            mode: ManagementMode::GuaranteeFirm,
                            selection: None,
                            start: jiff::civil::date(2031, 1, 1),
                            end: None,
                            status: AppointmentStatus::Appointed,
                        }),
                    )
                })
            }
            (_, _) => unreachable!("the unit runs as a daemon"),
        };
        let Some((doc, op)) = op else { continue };
        match m.node().execute(doc, op).await {
            Ok(w) => acked.push((i, doc, w.change.change_hash().unwrap())),
            // Refusals by the rules (overdraw, overlapping confirmation, unknown document on
            // a cut-off node …) are expected; nothing is written then.
            Err(_) => refused += 1,
        }
    }

    // Heal everything, stop the daemon (SIGTERM) and reopen its store in this process, and
    // wait for agreement.
    for i in cut.clone() {
        set_cut(&members, i, false).await;
    }
    let (child, _, _) = members[unit].daemon.take().unwrap();
    let status = terminate(child);
    assert!(status.success(), "the daemon exited with {status}");
    members[unit].node = Some(Node::open(&members[unit].dir, opts()).await.unwrap());
    // Every member runs in this process now: wait on their events (subscribed before the
    // first look, so nothing is missed), looking again after each.
    let mut subs: Vec<_> = members.iter().map(|m| m.node().subscribe()).collect();
    start_net(&mut members, unit).await;
    // Generous: on a loaded machine a dropped peer's 60 s ban may have to run out first.
    let wait = tokio::time::Instant::now() + Duration::from_secs(150);
    loop {
        let named: Vec<(&str, &Node)> = members
            .iter()
            .map(|m| (m.name.as_str(), m.node()))
            .collect();
        let (_, missing) = agreement(&named).await.unwrap();
        if missing.is_empty() {
            break;
        }
        let any = futures::future::select_all(
            subs.iter_mut().map(|s| futures::FutureExt::boxed(s.recv())),
        );
        match tokio::time::timeout_at(wait, any).await {
            Err(_) => {
                // What each member's network saw: who is connected, who was dropped and why.
                let mut seen = Vec::new();
                for m in &members {
                    if let Some(n) = &m.net {
                        let peers = n.peers().await.unwrap_or_default();
                        let st = n.stats();
                        seen.push(format!(
                            "{}: {} connected, sessions {}/{} ok/failed; {}",
                            m.name,
                            st.peers,
                            st.sessions_ok,
                            st.sessions_failed,
                            peers
                                .iter()
                                .map(|p| format!(
                                    "{} {}{}",
                                    p.org.as_deref().unwrap_or("?"),
                                    if p.connected { "up" } else { "down" },
                                    p.dropped
                                        .as_ref()
                                        .map(|d| format!(" (dropped: {d})"))
                                        .unwrap_or_default()
                                ))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
                panic!(
                    "no agreement within 150 s after healing: {missing:?}\n{}",
                    seen.join("\n")
                )
            }
            Ok((Err(tokio::sync::broadcast::error::RecvError::Closed), i, _)) => {
                panic!("member {i} stopped before agreement: {missing:?}")
            }
            Ok(_) => {}
        }
    }
    eprintln!(
        "chaos: {steps} steps, {} acknowledged writes ({} by the daemon), {refused} refused by \
         the rules, {kills} SIGKILLs",
        acked.len(),
        acked.iter().filter(|(i, _, _)| *i == unit).count(),
    );
    assert!(!acked.is_empty());

    // No acknowledged write is lost: its author still holds it after all restarts.
    for (i, _, h) in &acked {
        let h = *h;
        assert!(
            members[*i]
                .node()
                .read(move |r| r.has_change(&h))
                .await
                .unwrap(),
            "{} lost an acknowledged write",
            members[*i].name
        );
    }

    // Invariants, on every node, for what it holds.
    for m in &members {
        for (_, room) in &docs.rooms {
            let Ok(bookings) = m.node().bookings(*room).await else {
                continue;
            };
            let confirmed: Vec<Slot> = bookings.iter().filter_map(|b| b.confirmed_slot()).collect();
            for (a, x) in confirmed.iter().enumerate() {
                for y in &confirmed[a + 1..] {
                    assert!(!x.overlaps(y), "{}: overlapping confirmed bookings", m.name);
                }
            }
        }
        let mut volunteers = BTreeSet::new();
        for (_, led) in &docs.ledgers {
            let led = *led;
            if let Ok(Ok(entries)) = m
                .node()
                .read(move |r| r.ledger(led).map(|l| l.entries()))
                .await
            {
                volunteers.extend(entries.into_iter().map(|(_, e)| e.volunteer));
            }
        }
        // A unit sees only its own community's ledger, so its sums are partial; the
        // invariant holds where every ledger of the street is held.
        if m.role == Role::Unit {
            continue;
        }
        for v in volunteers {
            let b = m.node().balance(v.clone()).await.unwrap();
            assert!(b >= Points::whole(0), "{}: {v} has {b}", m.name);
        }
        for (_, wd) in &docs.wishes {
            let wd = *wd;
            let Ok(Ok(counts)) = m
                .node()
                .read(move |r| {
                    r.wishes(wd).map(|v| {
                        v.items()
                            .into_iter()
                            .map(|(id, _)| v.assigned(&id).len())
                            .collect::<Vec<_>>()
                    })
                })
                .await
            else {
                continue;
            };
            assert!(
                counts.iter().all(|n| *n <= 1),
                "{}: a wish with two assignees",
                m.name
            );
        }
    }
    // One appointment view everywhere (current or contested, the same on every node).
    let mut views: BTreeMap<String, String> = BTreeMap::new();
    for m in &members {
        for (_, reg) in &docs.registries {
            let reg = *reg;
            let Ok(Ok(v)) = m
                .node()
                .read(move |r| {
                    r.registry(reg).map(|v| {
                        v.compounds()
                            .into_iter()
                            .map(|(id, _)| format!("{id}={:?}", v.appointment(&id)))
                            .collect::<Vec<_>>()
                            .join(";")
                    })
                })
                .await
            else {
                continue;
            };
            let prev = views.entry(reg.to_string()).or_insert_with(|| v.clone());
            assert_eq!(prev, &v, "{}: a different appointment view", m.name);
        }
    }
    insider_got_nowhere(&insider, &members, &docs).await;
    for m in &members {
        if let Some(n) = &m.net {
            n.shutdown().await.unwrap();
        }
        m.node().shutdown().await.unwrap();
    }
}

/// The end of the run for the insider: each class was tried; every crafted change was
/// refused where it was delivered, with its reason recorded, and is held by no honest node
/// (of an equivocation, the smaller hash is held by every node holding the room, the other
/// by none, and every node that saw the other flags the key); no record of the insider is in
/// any ledger, booking or wish, and its crony has no points.
async fn insider_got_nowhere(insider: &Insider, members: &[Member], docs: &Docs) {
    let mut per_class: BTreeMap<Attack, usize> = BTreeMap::new();
    for r in &insider.refused {
        *per_class.entry(r.class).or_default() += 1;
    }
    eprintln!(
        "insider: attempts {:?}; {} crafted changes refused on receipt {per_class:?}, {} \
         equivocations (the smaller hash kept)",
        insider.tried,
        insider.refused.len(),
        insider.equivocated.len()
    );
    for c in ATTACKS {
        assert!(
            insider.tried.contains_key(&c),
            "the insider never tried {c:?}"
        );
    }
    let refused: Vec<ChangeHash> = insider
        .refused
        .iter()
        .map(|r| r.hash)
        .chain(insider.equivocated.iter().map(|e| e.refused))
        .collect();
    let kept: Vec<ChangeHash> = insider.equivocated.iter().map(|e| e.kept).collect();
    let hall = insider.hall.id();
    let me = insider.organiser.pair.node_id();
    let insiders = [
        insider.same_code.scope.clone(),
        insider.organiser.scope.clone(),
    ];
    let crony: linli_core::VolunteerId = CRONY.parse().unwrap();
    let mut flagging = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let reasons: BTreeMap<ChangeHash, String> = m
            .node()
            .rejected()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.hash, r.reason))
            .collect();
        for r in insider.refused.iter().filter(|r| r.target == i) {
            let reason = reasons.get(&r.hash).unwrap_or_else(|| {
                panic!(
                    "{}: no recorded refusal of the insider's {:?}",
                    m.name, r.class
                )
            });
            assert!(reason.contains(r.expect), "{}: {reason}", m.name);
        }
        let (hs, ks) = (refused.clone(), kept.clone());
        let (present, holds_hall, kept_missing, flagged) = m
            .node()
            .read(move |r| {
                (
                    hs.iter().filter(|h| r.has_change(h)).count(),
                    r.doc(hall).is_ok(),
                    ks.iter().filter(|h| !r.has_change(h)).count(),
                    r.equivocators().contains_key(&me),
                )
            })
            .await
            .unwrap();
        assert_eq!(present, 0, "{} holds a change the insider crafted", m.name);
        if holds_hall {
            assert_eq!(
                kept_missing, 0,
                "{}: an equivocation's smaller hash is missing",
                m.name
            );
        }
        let saw = insider
            .equivocated
            .iter()
            .any(|e| e.targets.contains(&i) || reasons.contains_key(&e.refused));
        if flagged {
            flagging.push(m.name.clone());
        }
        assert!(
            flagged || !saw,
            "{} received both sides of an equivocation but does not flag the key",
            m.name
        );

        let (ledgers, rooms, wishes) = (
            docs.ledgers.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
            docs.rooms.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
            docs.wishes.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
        );
        let (insiders, crony2) = (insiders.clone(), crony.clone());
        let got_in: Vec<String> = m
            .node()
            .read(move |r| {
                let mut bad = Vec::new();
                for d in ledgers.iter().filter_map(|d| r.doc(*d).ok()) {
                    // Only the communities write their ledgers in this run.
                    let owner = d.header().owner_scope();
                    for (k, e) in d.records::<Entry>("entries") {
                        if e.volunteer == crony2 || e.issuer != owner {
                            bad.push(format!("entry {k} by {}", e.issuer));
                        }
                    }
                }
                for d in rooms.iter().filter_map(|d| r.doc(*d).ok()) {
                    let owner = d.header().owner_scope();
                    for (k, x) in d.records::<Decision>("decisions") {
                        if x.by != owner {
                            bad.push(format!("decision {k} by {}", x.by));
                        }
                    }
                    for (k, x) in d.records::<BookingRequest>("requests") {
                        if x.form.attendees == 30 || insiders.contains(&x.by) {
                            bad.push(format!("request {k} by {}", x.by));
                        }
                    }
                }
                for d in wishes.iter().filter_map(|d| r.doc(*d).ok()) {
                    let owner = d.header().owner_scope();
                    for (k, x) in d.records::<Assignment>("assignments") {
                        if x.by != owner {
                            bad.push(format!("assignment {k} by {}", x.by));
                        }
                    }
                    for (k, x) in d.records::<Progress>("progress") {
                        bad.push(format!("progress {k} by {}", x.by));
                    }
                }
                bad
            })
            .await
            .unwrap();
        assert!(
            got_in.is_empty(),
            "{}: the insider's records: {got_in:?}",
            m.name
        );
        if m.role != Role::Unit {
            let b = m.node().balance(crony.clone()).await.unwrap();
            assert_eq!(b, Points(0), "{}: the insider's crony has {b}", m.name);
        }
    }
    eprintln!(
        "insider: {} of {} nodes flag its equivocating key: {flagging:?}",
        flagging.len(),
        members.len()
    );
}

/// A write of the unit: book a room of a community, or claim a wish (read through the API).
async fn unit_op(rng: &mut Rng, docs: &Docs, m: &Member) -> Option<(DocId, Op)> {
    if rng.range(0, 5) < 3 {
        let (_, room) = docs.rooms[rng.range(0, 4) as usize];
        let day = rng.range(0, 4);
        let hour = rng.range(18, 19);
        let slot = Slot::new(at(day, hour), at(day, hour + 2)).unwrap();
        return Some((
            room,
            Op::Resource(ResourceOp::Request(BookingForm::new(
                "Zhang Min",
                "choir",
                slot,
                20,
            ))),
        ));
    }
    let (_, wd) = docs.wishes[rng.range(0, 4) as usize];
    let (_, api, _) = m.daemon.as_ref()?;
    // A wishes document not received yet reads as not found.
    let items = api.call(&Request::WishList { doc: Some(wd) }).await.ok()?;
    let ids: Vec<WishId> = items
        .as_array()?
        .iter()
        .filter_map(|r| r["id"].as_str()?.parse().ok())
        .collect();
    if ids.is_empty() {
        return None;
    }
    let wish = ids[rng.range(0, ids.len() as u64 - 1) as usize].clone();
    Some((
        wd,
        Op::Wishes(WishesOp::Claim {
            wish,
            volunteer: None,
            note: "we can help".into(),
        }),
    ))
}

/// SIGTERM, then waits for the exit (bounded).
fn terminate(mut child: Child) -> std::process::ExitStatus {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    // Another process's exit: `try_wait` polled within a deadline (a blocking `wait` could
    // hang the test for ever on a daemon that ignores SIGTERM).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- the insider --------------------------------------------------------------------------

/// The attack classes the insider tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Attack {
    /// (a) A same-code community of another street decides the victim's bookings (naming its
    /// own scope or the owner's), assigns or advances its wishes, writes its ledger.
    OtherScope,
    /// (b) Minted points: service points off the ledger's rule, a correction by an
    /// organiser, an oversized correction by the community's own (rogue) key.
    Minted,
    /// (c) An already written booking request (other slot, 30 attendees) or ledger entry
    /// written again.
    Rewrite,
    /// (d) A change dated before its dependencies.
    Backdated,
    /// (e) Two different changes in one (actor, seq) slot by the insider's own key.
    Equivocation,
    /// (f) A record numbered with another node's tag.
    Squatting,
    /// (g) A hostile revocation: the same-code community revokes the victim community's own
    /// certificate (it issued none of them and is above none), or the root key.
    HostileRevocation,
}

const ATTACKS: [Attack; 7] = [
    Attack::OtherScope,
    Attack::Minted,
    Attack::Rewrite,
    Attack::Backdated,
    Attack::Equivocation,
    Attack::Squatting,
    Attack::HostileRevocation,
];

/// The volunteer the insider's entries name (no honest operation names it).
const CRONY: &str = "dianye:9";

/// One of the insider's keys, with its certificate's organisation code and scope.
struct Key {
    pair: Keypair,
    org: OrgId,
    scope: Scope,
}

impl Key {
    fn new(name: &str, o: &str, scope: &str) -> Key {
        Key {
            pair: Keypair::from_secret(&secret(name, 0)),
            org: org(o),
            scope: scope.parse().unwrap(),
        }
    }
}

/// A crafted change refused on receipt: the member it was delivered to and what its
/// recorded reason says.
struct Refused {
    target: usize,
    hash: ChangeHash,
    class: Attack,
    expect: &'static str,
}

/// An equivocation: the change kept (smaller hash), the one refused, and the members each
/// was delivered to directly (both to the first, the refused one also to the second).
struct Equivocated {
    kept: ChangeHash,
    refused: ChangeHash,
    targets: [usize; 2],
}

/// The insider: certified keys that craft changes past the typed operations and the local
/// write policy (`Document::commit` on a copy, signed with the key) and deliver them into an
/// honest node's receive path (`Node::apply_batch`), where only the receiving checks stand.
struct Insider {
    rng: Rng,
    /// Certified by the root as community "dianye" of street jianzhong: the victim's code in
    /// another scope.
    same_code: Key,
    /// Certified by beishi's dianye as its unit "fixit": an organiser of dianye's ledger.
    organiser: Key,
    /// A second key certified as community dianye of beishi, gone rogue.
    rogue: Key,
    /// The organiser's own room: only the insider writes it, so an equivocation there takes
    /// no honest write with it.
    hall: Document,
    /// Every member's key and organisation (for squatting).
    nodes: Vec<(NodeId, OrgId)>,
    /// Changes crafted so far (each has an actor of its own: a fresh incarnation).
    forged: u64,
    tried: BTreeMap<Attack, usize>,
    refused: Vec<Refused>,
    equivocated: Vec<Equivocated>,
}

impl Insider {
    /// The key of the next record `author` numbers in `map` of `doc`.
    fn number(author: &Author, doc: &Document, map: &str, prefix: &str) -> String {
        author.next_id(doc, map, prefix).to_string()
    }

    fn pick(&mut self, n: usize) -> usize {
        self.rng.range(0, n as u64 - 1) as usize
    }

    fn coin(&mut self) -> bool {
        self.rng.range(0, 1) == 0
    }

    /// Tries `class` once against a random honest node (a variant that needs a booking or
    /// a wish falls back to one that does not while there is none).
    async fn attack(&mut self, class: Attack, members: &[Member], docs: &Docs) {
        let honest: Vec<usize> = (0..members.len())
            .filter(|i| members[*i].node.is_some())
            .collect();
        let t = honest[self.pick(honest.len())];
        let (owner, ledger) = docs.ledgers[0];
        let dianye: Scope = "beishi/dianye".parse().unwrap();
        match class {
            Attack::HostileRevocation => {
                let victim = members[owner].node().node_id();
                let (base, certs, root) = members[t]
                    .node()
                    .read(move |r| {
                        let fed = r.ids_of(linli_core::document::DocKind::Federation)[0];
                        let certs: Vec<linli_core::CertId> = r
                            .trust()
                            .certificates_of(&victim)
                            .map(linli_core::cert::Certificate::id)
                            .collect();
                        (r.doc(fed).unwrap().clone(), certs, *r.root())
                    })
                    .await
                    .unwrap();
                let (subject, expect) = if self.coin() {
                    (victim, "may not revoke")
                } else {
                    (root, "the root key cannot be revoked")
                };
                let at = now();
                let rev = linli_core::cert::Revocation {
                    subject,
                    certs,
                    cutoff: vec![],
                    reason: "hostile".into(),
                    by: self.same_code.pair.node_id(),
                    at,
                };
                let put = Put::new(
                    "revocations",
                    linli_core::federation::revocation_key(&rev),
                    &rev,
                );
                let sc = self.craft(Who::SameCode, &base, at, &[put]);
                self.deliver(members, t, sc, class, expect).await;
                let _ = ledger;
            }
            Attack::OtherScope => {
                let by = self.same_code.scope.clone();
                let variant = self.rng.range(0, 2);
                if variant == 0 {
                    // A decision on a booking of the victim's hall, naming its own scope or
                    // the owner's.
                    let (owner, room) = docs.rooms[0];
                    let (t, base, bookings) = held(members, t, owner, room, |r, d| {
                        r.resource(d).map(|v| v.bookings())
                    })
                    .await;
                    let live: Vec<_> = bookings
                        .unwrap()
                        .into_iter()
                        .filter(|b| {
                            matches!(
                                b.status,
                                BookingStatus::Tentative | BookingStatus::Confirmed { .. }
                            )
                        })
                        .collect();
                    if !live.is_empty() {
                        let b = &live[self.pick(live.len())];
                        let verdict = if b.status == BookingStatus::Tentative {
                            Verdict::Confirmed { slot_index: 0 }
                        } else {
                            Verdict::Revoked {
                                reason: "taken over".into(),
                                slot_index: Some(0),
                            }
                        };
                        let by = if self.coin() { by } else { dianye };
                        let decision = Decision {
                            verdict,
                            by,
                            at: now(),
                        };
                        let put = Put::new("decisions", b.id.to_string(), &decision);
                        let sc = self.craft(Who::SameCode, &base, now(), &[put]);
                        self.deliver(members, t, sc, class, "jianzhong/dianye")
                            .await;
                        return;
                    }
                } else if variant == 1 {
                    // An assignment or a progress step on a wish of the victim.
                    let (owner, wd) = docs.wishes[0];
                    let (t, base, items) = held(members, t, owner, wd, |r, d| {
                        r.wishes(d).map(|v| {
                            v.items()
                                .into_iter()
                                .map(|(w, _)| {
                                    let claims = v.claims(&w).into_iter().map(|(c, _)| c);
                                    (w, claims.collect::<Vec<_>>())
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .await;
                    let items = items.unwrap();
                    if !items.is_empty() {
                        let (wish, claims) = items[self.pick(items.len())].clone();
                        let put = if !claims.is_empty() && self.coin() {
                            let claim = &claims[self.pick(claims.len())];
                            Put::new(
                                "assignments",
                                format!("{wish}/{claim}"),
                                &Assignment {
                                    active: true,
                                    by,
                                    at: now(),
                                },
                            )
                        } else {
                            Put::new(
                                "progress",
                                format!("{wish}/confirmed"),
                                &Progress {
                                    stage: Stage::Confirmed,
                                    by,
                                    at: now(),
                                },
                            )
                        };
                        let sc = self.craft(Who::SameCode, &base, now(), &[put]);
                        self.deliver(members, t, sc, class, "only the owner beishi/dianye may")
                            .await;
                        return;
                    }
                }
                // A service entry in the victim's ledger (also when there is no booking or
                // wish to attack yet).
                let (t, base, _) = held(members, t, owner, ledger, |_, _| ()).await;
                let sc = self.entry(Who::SameCode, &base, None, service(60), now());
                self.deliver(members, t, sc, class, "or an organiser it certified")
                    .await;
            }
            Attack::Minted => {
                let (t, base, _) = held(members, t, owner, ledger, |_, _| ()).await;
                let (sc, expect) = match self.rng.range(0, 2) {
                    0 => {
                        let mut body = service(60);
                        if let EntryBody::Service { points, .. } = &mut body {
                            *points = Points::whole(1_000_000);
                        }
                        (
                            self.entry(Who::Organiser, &base, None, body, now()),
                            "under the ledger's rule, not 1000000",
                        )
                    }
                    1 => (
                        self.entry(Who::Organiser, &base, None, correction(10), now()),
                        "only beishi/dianye corrects",
                    ),
                    _ => (
                        self.entry(Who::Rogue, &base, None, correction(10_000_000), now()),
                        "a correction must change 1 to",
                    ),
                };
                self.deliver(members, t, sc, class, expect).await;
            }
            Attack::Rewrite => {
                let expect = "was already written and is final";
                if self.coin() {
                    let (owner, room) = docs.rooms[self.pick(docs.rooms.len())];
                    let (t, base, bookings) = held(members, t, owner, room, |r, d| {
                        r.resource(d).map(|v| v.bookings())
                    })
                    .await;
                    let bookings = bookings.unwrap();
                    if !bookings.is_empty() {
                        let b = &bookings[self.pick(bookings.len())];
                        // Forged records carry the public view a document may hold (a
                        // full name is refused for that alone).
                        let form = BookingForm::new(
                            "W. F.",
                            "a party",
                            Slot::new(at(6, 18), at(6, 20)).unwrap(),
                            30,
                        );
                        let put = Put::new(
                            "requests",
                            b.id.to_string(),
                            &BookingRequest {
                                form,
                                by: self.organiser.scope.clone(),
                                requested_at: now(),
                            },
                        );
                        let sc = self.craft(Who::Organiser, &base, now(), &[put]);
                        self.deliver(members, t, sc, class, expect).await;
                        return;
                    }
                }
                // An entry of a random ledger, or of dianye's (which has one from the start).
                let (o, led) = docs.ledgers[self.pick(docs.ledgers.len())];
                let entries = |r: &Replica, d: DocId| r.ledger(d).map(|v| v.entries());
                let (mut t, mut base, mut found) = held(members, t, o, led, entries).await;
                if found.as_ref().map_or(true, Vec::is_empty) {
                    (t, base, found) = held(members, owner, owner, ledger, entries).await;
                }
                let found = found.unwrap();
                let (id, mut entry) = found[self.pick(found.len())].clone();
                if let EntryBody::Service { points, .. } = &mut entry.body {
                    *points = Points::whole(1_000);
                }
                let put = Put::new("entries", id.to_string(), &entry);
                let sc = self.craft(Who::Organiser, &base, now(), &[put]);
                self.deliver(members, t, sc, class, expect).await;
            }
            Attack::Backdated => {
                // A service entry that is right in every way but its date: before the
                // ledger's genesis.
                let (t, base, _) = held(members, t, owner, ledger, |_, _| ()).await;
                let old = Timestamp::parse("2025-01-01T00:00:00+08:00").unwrap();
                let sc = self.entry(Who::Organiser, &base, None, service(60), old);
                self.deliver(members, t, sc, class, "before its dependency")
                    .await;
            }
            Attack::Equivocation => self.equivocate(members, t).await,
            Attack::Squatting => {
                let v = self.pick(self.nodes.len());
                let (victim, victim_org) = self.nodes[v].clone();
                let tag = Author {
                    node: victim,
                    incarnation: self.rng.next().to_be_bytes(),
                    org: victim_org.clone(),
                }
                .tag();
                // The insider's own code (or, in a booking request, the victim's) and the
                // victim's tag.
                let n = 1000 + self.forged;
                let id = move |code: OrgId| RecordId {
                    org: code,
                    tag: Some(tag),
                    n,
                };
                let expect = "is not numbered by the signer";
                if self.coin() {
                    let (owner, room) = docs.rooms[self.pick(docs.rooms.len())];
                    let (t, base, _) = held(members, t, owner, room, |_, _| ()).await;
                    let day = self.rng.range(0, 4);
                    let form = BookingForm::new(
                        "L. L.",
                        "squat",
                        Slot::new(at(day, 18), at(day, 20)).unwrap(),
                        20,
                    );
                    let code = if self.coin() {
                        self.organiser.org.clone()
                    } else {
                        victim_org
                    };
                    let put = Put::new(
                        "requests",
                        id(code).to_string(),
                        &BookingRequest {
                            form,
                            by: self.organiser.scope.clone(),
                            requested_at: now(),
                        },
                    );
                    let sc = self.craft(Who::Organiser, &base, now(), &[put]);
                    self.deliver(members, t, sc, class, expect).await;
                } else {
                    let (t, base, _) = held(members, t, owner, ledger, |_, _| ()).await;
                    let id = id(self.organiser.org.clone());
                    let sc = self.entry(Who::Organiser, &base, Some(id), service(60), now());
                    self.deliver(members, t, sc, class, expect).await;
                }
            }
        }
    }

    fn key(&self, who: Who) -> &Key {
        match who {
            Who::SameCode => &self.same_code,
            Who::Organiser => &self.organiser,
            Who::Rogue => &self.rogue,
        }
    }

    /// One change by `who` on top of `base`, with an actor of its own.
    fn craft(&mut self, who: Who, base: &Document, at: Timestamp, puts: &[Put]) -> SignedChange {
        let author = self.author_of(who);
        sign(self.key(who), &author, base, at, puts)
    }

    /// `who` under a fresh incarnation (so a fresh actor: each crafted change is seq 1 of
    /// its own actor and never collides with another, except on purpose).
    fn author_of(&mut self, who: Who) -> Author {
        self.forged += 1;
        let mut incarnation = self.forged.to_be_bytes();
        incarnation[0] = 0xE1;
        let key = self.key(who);
        Author {
            node: key.pair.node_id(),
            incarnation,
            org: key.org.clone(),
        }
    }

    /// A ledger entry for [`CRONY`] by `who`, numbered by it (or `id`), naming its scope.
    fn entry(
        &mut self,
        who: Who,
        base: &Document,
        id: Option<RecordId>,
        body: EntryBody,
        at: Timestamp,
    ) -> SignedChange {
        let author = self.author_of(who);
        let key = self.key(who);
        let id = id.map_or_else(
            || Self::number(&author, base, "entries", ""),
            |id| id.to_string(),
        );
        let entry = Entry {
            volunteer: CRONY.parse().unwrap(),
            home: "beishi/dianye".parse().unwrap(),
            body,
            issuer: key.scope.clone(),
            at,
            source: None,
        };
        sign(key, &author, base, at, &[Put::new("entries", id, &entry)])
    }

    /// Sends `sc` to member `t`, which must refuse it with a reason containing `expect`.
    async fn deliver(
        &mut self,
        members: &[Member],
        t: usize,
        sc: SignedChange,
        class: Attack,
        expect: &'static str,
    ) {
        let hash = sc.change_hash().unwrap();
        let r = members[t].node().apply_batch(vec![sc]).await.unwrap().pop();
        match r {
            Some(Err(linli_core::Error::Rejected(rej))) => {
                let text = rej.reason.to_string();
                assert!(
                    text.contains(expect),
                    "{}: the insider's {class:?} change was refused for another reason: {text}",
                    members[t].name
                );
            }
            other => panic!(
                "{}: the insider's {class:?} change was not refused: {other:?}",
                members[t].name
            ),
        }
        *self.tried.entry(class).or_default() += 1;
        self.refused.push(Refused {
            target: t,
            hash,
            class,
            expect,
        });
    }

    /// Two bars in the insider's own room as the same (actor, seq): both to member `t` in a
    /// random order, the larger hash also to another random honest member (which may apply
    /// it until the smaller reaches it by sync).
    async fn equivocate(&mut self, members: &[Member], t: usize) {
        let author = self.author_of(Who::Organiser);
        let k = self.forged;
        let bar = |side: u64| {
            Put::new(
                "bars",
                format!("fixit:{}", 2 * k + side),
                &Bar {
                    who: Barred::Org("beishi/hongqi".parse().unwrap()),
                    reason: format!("side {side} of an equivocation"),
                    at: now(),
                },
            )
        };
        let at = now();
        let a = sign(&self.organiser, &author, &self.hall, at, &[bar(0)]);
        let b = sign(&self.organiser, &author, &self.hall, at, &[bar(1)]);
        let (a, b) = if a.change_hash().unwrap() < b.change_hash().unwrap() {
            (a, b)
        } else {
            (b, a)
        };
        let (kept, refused) = (a.change_hash().unwrap(), b.change_hash().unwrap());
        let order = if self.coin() {
            vec![a, b.clone()]
        } else {
            vec![b.clone(), a]
        };
        for r in members[t].node().apply_batch(order).await.unwrap() {
            if let Err(e) = r {
                assert!(
                    e.to_string().contains("signed two different changes"),
                    "{}: an equivocating change was refused for another reason: {e}",
                    members[t].name
                );
            }
        }
        let me = self.organiser.pair.node_id();
        let (flagged, has_kept, has_refused) = members[t]
            .node()
            .read(move |r| {
                (
                    r.equivocators().contains_key(&me),
                    r.has_change(&kept),
                    r.has_change(&refused),
                )
            })
            .await
            .unwrap();
        assert!(
            flagged && has_kept && !has_refused,
            "{}: equivocation not resolved (flagged {flagged}, kept {has_kept}, refused \
             applied {has_refused})",
            members[t].name
        );
        let honest: Vec<usize> = (0..members.len())
            .filter(|i| members[*i].node.is_some())
            .collect();
        let u = honest[self.pick(honest.len())];
        for r in members[u].node().apply_batch(vec![b]).await.unwrap() {
            if let Err(e) = r {
                assert!(
                    e.to_string().contains("signed two different changes"),
                    "{}: an equivocating change was refused for another reason: {e}",
                    members[u].name
                );
            }
        }
        *self.tried.entry(Attack::Equivocation).or_default() += 1;
        self.equivocated.push(Equivocated {
            kept,
            refused,
            targets: [t, u],
        });
    }
}

#[derive(Clone, Copy)]
enum Who {
    SameCode,
    Organiser,
    Rogue,
}

/// Signs a change of `author` on top of `base` with `key`.
fn sign(key: &Key, author: &Author, base: &Document, at: Timestamp, puts: &[Put]) -> SignedChange {
    let mut doc = base.clone();
    doc.set_author(author);
    let change = doc.commit(at, "insider", puts).unwrap();
    SignedChange::sign(&key.pair, doc.id(), change.raw_bytes()).unwrap()
}

/// The clock of a crafted change: now (never before the dependencies it was made on).
fn now() -> Timestamp {
    linli_node::system_clock()
}

/// A service entry of `minutes` with the points the default rule gives.
fn service(minutes: u32) -> EntryBody {
    EntryBody::Service {
        activity: "patrol".into(),
        team: None,
        date: jiff::civil::date(2030, 11, 2),
        minutes,
        points: LedgerRules::default().points_for(minutes),
        evidence: None,
    }
}

fn correction(points: i64) -> EntryBody {
    EntryBody::Correction {
        corrects: None,
        delta: Points::whole(points),
        reason: "bonus".into(),
    }
}

/// `doc` as member `t` holds it (or its owner, if `t` does not hold it yet), with what `f`
/// reads from the same replica at the same moment; returns the member used.
async fn held<T: Send + 'static>(
    members: &[Member],
    t: usize,
    owner: usize,
    doc: DocId,
    f: impl Fn(&Replica, DocId) -> T + Send + Copy + 'static,
) -> (usize, Document, T) {
    for i in [t, owner] {
        let got = members[i]
            .node()
            .read(move |r| r.doc(doc).ok().cloned().map(|d| (d, f(r, doc))))
            .await
            .unwrap();
        if let Some((d, v)) = got {
            return (i, d, v);
        }
    }
    panic!(
        "{} does not hold its own document {doc}",
        members[owner].name
    )
}
