//! A seeded chaos run (bounded in steps and time, stops by itself): a street, five
//! communities and a co-building unit — seven nodes with real networks on loopback — do
//! random domain operations while nodes are randomly cut off, healed and restarted. The
//! unit runs as a real `linli run` daemon driven through its HTTP API and is restarted by
//! SIGKILL; the others run in this process and restart gracefully. At the end every node
//! agrees, no acknowledged write is lost (the killed daemon's included), and the
//! invariants hold: no overlapping confirmed bookings, no negative balance, at most one
//! active assignment per wish, one appointment view (current or contested) everywhere.
//!
//! `LINLI_SEED=n` replays a run; `CHAOS_STEPS` sets its length (default 60; the long run
//! in README's development section uses 1500).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use linli_core::WishId;
use linli_core::cert::Role;
use linli_core::ledger::{LedgerOp, LedgerRules, Points};
use linli_core::registry::{AppointmentStatus, Compound, ManagementMode, RegistryOp};
use linli_core::resource::{BookingForm, BookingStatus, ResourceOp, ResourceSpec};
use linli_core::wishes::{Channel, ItemKind, WishesOp};
use linli_core::{DocId, NewDoc, Op, Slot, Timestamp};
use linli_node::api::{ApiClient, ApiError};
use linli_node::demo::agreement;
use linli_node::net::{NetConfig, Network};
use linli_node::ops::Request;
use linli_node::{InitOptions, Node};
use tempfile::TempDir;

use crate::util::{District, Rng, opts, org, secret};

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
        assert!(Instant::now() < deadline, "the daemon's API did not answer");
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
        district.certify(node.node_id(), *role, name, *parent);
        members.push(Member {
            name: name.clone(),
            dir,
            node: Some(node),
            net: None,
            role: *role,
            daemon: None,
        });
    }
    for m in &members {
        for r in m.node().apply_batch(district.fed_changes()).await.unwrap() {
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
    let mut acked: Vec<(usize, DocId, ChangeHash)> = Vec::new();
    let mut cut: BTreeSet<usize> = BTreeSet::new();
    let mut refused = 0usize;
    for step in 0..steps {
        assert!(Instant::now() < deadline, "the chaos run overran its time");
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
    start_net(&mut members, unit).await;
    let wait = Instant::now() + Duration::from_secs(60);
    loop {
        let named: Vec<(&str, &Node)> = members
            .iter()
            .map(|m| (m.name.as_str(), m.node()))
            .collect();
        let (_, missing) = agreement(&named).await.unwrap();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < wait,
            "no agreement after healing: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
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
    for m in &members {
        if let Some(n) = &m.net {
            n.shutdown().await.unwrap();
        }
        m.node().shutdown().await.unwrap();
    }
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
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
