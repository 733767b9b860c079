//! The `unit_service` example's logic, kept apart from its `main` so that the facade's
//! integration tests (`tests/it/unit_service.rs`) run the very same code.
//!
//! * **The service** — what a co-building unit writes to embed linli: [`HouseRule`] (the
//!   unit's own booking rule), [`open_or_init`], [`publish_room`], [`serve`] (react to
//!   booking requests as they arrive from the network) and [`decide_pending`].
//! * **Scaffolding for a standalone run** — [`LocalDistrict`] (a district root kept in
//!   memory), a community node that certifies the unit and requests bookings over loopback,
//!   and [`run`], which plays the whole story and returns what the requester saw.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jiff::civil::{Date, Time, time};
use linli::core::cert::{Principal, Role};
use linli::core::federation::FederationOp;
use linli::core::identity::{Keypair, node_id_to_base32};
use linli::core::resource::{
    BookingForm, BookingStatus, BookingView, ResourceOp, ResourceSpec, WeeklyBlock,
};
use linli::core::{
    BookingId, DistrictConfig, DocId, DocKind, Effect, NewDoc, NodeId, Op, OrgId, Replica,
    SignedChange, Slot, Timestamp, Zone,
};
use linli::node::net::{NetConfig, Network};
use linli::node::{InitOptions, Node, NodeError, NodeEvent, OpenOptions, Origin};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// The street, community and unit of the example.
pub(crate) const STREET: &str = "beishi";
/// The community that co-runs the room and certifies the unit.
pub(crate) const COMMUNITY: &str = "dianye";
/// The co-building unit (a power company's local station).
pub(crate) const UNIT: &str = "state-grid";

/// How long the whole standalone run may take before it gives up.
const RUN_DEADLINE: Duration = Duration::from_secs(40);

pub(crate) fn org(code: &str) -> Result<OrgId> {
    OrgId::new(code).with_context(|| format!("organisation code {code:?}"))
}

// ---- The unit's rule ---------------------------------------------------------------------

/// The unit's own rule for its co-built room, stricter than the room's published capacity
/// and opening hours: the unit's staff open the room and supervise it.
#[derive(Debug, Clone)]
pub(crate) struct HouseRule {
    /// Most attendees the unit's staff supervise at once.
    pub(crate) max_attendees: u32,
    /// When the unit's staff are on duty (in the room's time zone).
    pub(crate) staff_hours: WeeklyBlock,
}

impl HouseRule {
    /// The example unit's rule: at most 30 attendees, Monday to Friday 09:00–18:00.
    pub(crate) fn state_grid() -> Self {
        HouseRule {
            max_attendees: 30,
            staff_hours: WeeklyBlock::new(&[1, 2, 3, 4, 5], time(9, 0, 0, 0), time(18, 0, 0, 0)),
        }
    }

    /// `Ok` if the unit accepts the request, else the reason it rejects it. Every candidate
    /// slot (the requested one and the alternates, with their weekly repetitions) must lie
    /// in the staff hours, since the room's arbiter may confirm any of them.
    pub(crate) fn judge(&self, form: &BookingForm, zone: &Zone) -> Result<(), String> {
        if form.attendees > self.max_attendees {
            return Err(format!(
                "{} attendees, but the unit's staff supervise at most {} in this room",
                form.attendees, self.max_attendees
            ));
        }
        for candidate in form.candidates() {
            let occurrences = form
                .occurrences(&candidate, zone)
                .map_err(|e| format!("bad slot: {e}"))?;
            for o in occurrences {
                if !self.staffed(&o, zone) {
                    return Err(format!(
                        "{} is outside the unit's staff hours ({})",
                        o.display_in(zone),
                        self.staff_hours
                    ));
                }
            }
        }
        Ok(())
    }

    fn staffed(&self, slot: &Slot, zone: &Zone) -> bool {
        let (Ok((day, from)), Ok((end_day, to))) = (slot.start.local(zone), slot.end.local(zone))
        else {
            return false;
        };
        let weekday = day.weekday().to_monday_one_offset();
        let h = &self.staff_hours;
        day == end_day
            && h.weekdays.iter().any(|d| i8::try_from(*d) == Ok(weekday))
            && h.from <= from
            && to <= h.to
    }

    /// The rule as shown to bookers in the room's published house rules.
    pub(crate) fn describe(&self) -> Vec<String> {
        vec![
            format!("At most {} attendees.", self.max_attendees),
            format!(
                "Bookings only while the unit's staff are on duty: {}.",
                self.staff_hours
            ),
        ]
    }
}

// ---- The service -------------------------------------------------------------------------

/// Opens the unit's node stored in `dir`, or initialises it there on the first run (with a
/// fresh random key kept in the directory). Returns the node and whether it is new.
pub(crate) async fn open_or_init(dir: &Path, unit: OrgId, root: NodeId) -> Result<(Node, bool)> {
    if dir.join(linli::node::files::DB).exists() {
        let node = Node::open(dir, OpenOptions::default())
            .await
            .with_context(|| format!("opening the unit's node in {}", dir.display()))?;
        if node.root() != root || node.org() != &unit {
            bail!(
                "{} holds a node of {} under another district root; use another directory",
                dir.display(),
                node.org()
            );
        }
        return Ok((node, false));
    }
    let node = Node::init(dir, InitOptions::new(unit, root), OpenOptions::default())
        .await
        .with_context(|| format!("initialising the unit's node in {}", dir.display()))?;
    Ok((node, true))
}

/// The node's certificate chain as its federation documents show it now, if it has one.
pub(crate) async fn certified(node: &Node) -> Result<Option<Principal>> {
    let (me, now) = (node.node_id(), node.now());
    Ok(node.read(move |r| r.principal(&me, now).ok()).await?)
}

/// The unit's co-built room: the resource document it already owns, or a new one.
/// Returns the document and whether it was created now.
pub(crate) async fn publish_room(
    node: &Node,
    street: OrgId,
    community: OrgId,
    rule: &HouseRule,
) -> Result<(DocId, bool)> {
    let mine = node.org().clone();
    let held = node.documents().await?;
    if let Some(d) = held
        .iter()
        .find(|d| d.header.kind == DocKind::Resource && d.header.owner == mine)
    {
        return Ok((d.id, false));
    }
    let mut spec = ResourceSpec::room(
        "Dianye community activity room (co-built by State Grid)",
        60,
    );
    spec.area_m2 = Some(120);
    spec.rules = rule.describe();
    let genesis = node
        .create(NewDoc::Resource {
            street,
            community: Some(community),
            spec,
        })
        .await?;
    Ok((genesis.doc, true))
}

/// One decision of the service.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    /// The booking.
    pub(crate) booking: BookingId,
    /// The confirmed slot, or the reason given with the rejection.
    pub(crate) outcome: Result<Slot, String>,
}

/// The room's time zone (fixed at its genesis).
async fn zone_of(node: &Node, room: DocId) -> Result<Zone> {
    Ok(node
        .read(move |r| r.resource(room).map(|v| v.spec().zone.clone()))
        .await??)
}

/// Decides every tentative request on `room`: confirms what the rule accepts (a request
/// within the rule that linli-core cannot confirm, e.g. because its slot was confirmed to
/// someone else meanwhile, is rejected with linli-core's reason) and rejects the rest with
/// the rule's reason.
pub(crate) async fn decide_pending(
    node: &Node,
    room: DocId,
    rule: &HouseRule,
) -> Result<Vec<Decided>> {
    let zone = zone_of(node, room).await?;
    let mut decided = Vec::new();
    for b in node.bookings(room).await? {
        if b.status != BookingStatus::Tentative {
            continue;
        }
        let form = &b.request.form;
        let outcome = match rule.judge(form, &zone) {
            Ok(()) => {
                let confirm = Op::Resource(ResourceOp::Confirm {
                    booking: b.id.clone(),
                });
                match node.execute(room, confirm).await {
                    Ok(w) => match w.effect {
                        Effect::Confirmed { slot, .. } => Ok(slot),
                        _ => Ok(form.slot),
                    },
                    Err(NodeError::Core(e)) => Err(format!("cannot be confirmed: {e}")),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(reason) => Err(reason),
        };
        match &outcome {
            Ok(slot) => println!(
                "[unit] confirmed {} ({}, {} attendees) for {}",
                b.id,
                form.purpose,
                form.attendees,
                slot.display_in(&zone)
            ),
            Err(reason) => {
                let reject = Op::Resource(ResourceOp::Reject {
                    booking: b.id.clone(),
                    reason: reason.clone(),
                });
                node.execute(room, reject).await?;
                println!(
                    "[unit] rejected  {} ({}, {} attendees): {reason}",
                    b.id, form.purpose, form.attendees
                );
            }
        }
        decided.push(Decided {
            booking: b.id,
            outcome,
        });
    }
    Ok(decided)
}

/// The service loop: decides what is pending, then again whenever a peer changes the room,
/// until `stop` fires (or its sender is dropped). Fails at `deadline`, so a demo never hangs.
/// Subscribe (`node.subscribe()`) before the network starts, so that no change is missed.
pub(crate) async fn serve(
    node: Node,
    room: DocId,
    rule: HouseRule,
    mut events: broadcast::Receiver<NodeEvent>,
    mut stop: oneshot::Receiver<()>,
    deadline: Instant,
) -> Result<Vec<Decided>> {
    let mut decided = decide_pending(&node, room, &rule).await?;
    loop {
        let look = tokio::select! {
            ev = events.recv() => match ev {
                Ok(NodeEvent::DocumentChanged { doc, origin, .. }) => {
                    doc == room && origin != Origin::Local
                }
                Ok(_) => false,
                // Missed some events: look at the room anyway.
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => bail!("the node stopped"),
            },
            _ = &mut stop => return Ok(decided),
            () = tokio::time::sleep_until(deadline) => bail!(
                "the service ran past its deadline ({} requests decided)",
                decided.len()
            ),
        };
        if look {
            decided.extend(decide_pending(&node, room, &rule).await?);
        }
    }
}

/// Network settings for a node on loopback, with a sync session every second (live
/// announcements usually deliver sooner; the sessions guarantee it).
pub(crate) fn loopback(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        mdns: false,
        sync_interval_secs: 1,
        max_peers: 8,
        relay: Default::default(),
        fast_join: true,
    }
}

// ---- Scaffolding for a standalone run ----------------------------------------------------

/// A deterministic key derived from a name (the demo's root and community; the unit's own
/// key is random and kept in its data directory).
fn named_key(name: &str) -> Keypair {
    Keypair::from_secret(blake3::hash(name.as_bytes()).as_bytes())
}

fn valid_from() -> Result<Timestamp> {
    Ok(Timestamp::parse("2020-01-01T00:00:00Z")?)
}

/// A stand-in for the district: its root replica, kept in memory, with the federation
/// document. Deterministic (same key, incarnation and times), so every run produces the same
/// changes and a unit store kept from an earlier run keeps trusting it.
pub(crate) struct LocalDistrict {
    root: Replica,
    /// The federation document.
    pub(crate) fed: DocId,
}

impl LocalDistrict {
    pub(crate) fn new() -> Result<Self> {
        let key = named_key("linli example: Heping district root");
        let id = key.node_id();
        let mut root = Replica::new(key, [0; 8], org("heping")?, id);
        let config = DistrictConfig::default();
        let fed = root
            .create(NewDoc::Federation { config }, valid_from()?)?
            .doc;
        Ok(LocalDistrict { root, fed })
    }

    pub(crate) fn root_id(&self) -> NodeId {
        self.root.author().node
    }

    /// Certifies `node` as community `community` of street [`STREET`].
    fn certify_community(&mut self, node: NodeId, community: OrgId) -> Result<()> {
        let from = valid_from()?;
        self.root.execute(
            self.fed,
            Op::Federation(FederationOp::Issue {
                subject: node,
                role: Role::Community,
                org: community,
                parent: Some(org(STREET)?),
                name: "Dianye community office".into(),
                not_before: from,
                not_after: Timestamp::parse("2100-01-01T00:00:00Z")?,
            }),
            from,
        )?;
        Ok(())
    }

    /// Every change of the federation document.
    pub(crate) fn changes(&self) -> Result<Vec<SignedChange>> {
        Ok(self.root.changes(self.fed, &[])?)
    }
}

async fn apply_all(node: &Node, changes: Vec<SignedChange>) -> Result<()> {
    for r in node.apply_batch(changes).await? {
        r?;
    }
    Ok(())
}

/// The community's node, certified by the district, holding the federation document.
async fn community_node(district: &mut LocalDistrict, dir: &Path) -> Result<Node> {
    let mut init = InitOptions::new(org(COMMUNITY)?, district.root_id());
    init.secret = Some(named_key("linli example: Dianye community").secret_bytes());
    let node = Node::init(dir, init, OpenOptions::default()).await?;
    district.certify_community(node.node_id(), node.org().clone())?;
    apply_all(&node, district.changes()?).await?;
    Ok(node)
}

/// The community certifies its co-building unit in the federation document (for three
/// years); returns the signed change to hand to the unit.
async fn issue_unit_certificate(
    community: &Node,
    fed: DocId,
    unit: NodeId,
    unit_org: OrgId,
) -> Result<SignedChange> {
    let now = community.now();
    let w = community
        .execute(
            fed,
            Op::Federation(FederationOp::Issue {
                subject: unit,
                role: Role::Unit,
                org: unit_org,
                parent: Some(community.org().clone()),
                name: "State Grid Dianye power supply station".into(),
                not_before: now.plus_millis(-Timestamp::MINUTE),
                not_after: now.plus_millis(3 * 365 * Timestamp::DAY),
            }),
        )
        .await?;
    Ok(w.change)
}

/// Waits until `check` gives `Some`, checking again after each event of the node (no
/// sleeping); fails at `deadline`.
async fn wait_for<T>(
    node: &Node,
    events: &mut broadcast::Receiver<NodeEvent>,
    what: &str,
    deadline: Instant,
    mut check: impl AsyncFnMut(&Node) -> Result<Option<T>>,
) -> Result<T> {
    loop {
        if let Some(v) = check(node).await? {
            return Ok(v);
        }
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => bail!("{what}: not before the deadline"),
            Ok(Err(RecvError::Closed)) => bail!("{what}: the node stopped"),
            // An event, or missed ones: look again.
            Ok(_) => {}
        }
    }
}

/// The first `weekday` (1 = Monday) at least two days after `now`'s local date.
fn next(weekday: i8, now: Timestamp, zone: &Zone) -> Result<Date> {
    let (today, _) = now.local(zone)?;
    let mut d = today.tomorrow()?.tomorrow()?;
    while d.weekday().to_monday_one_offset() != weekday {
        d = d.tomorrow()?;
    }
    Ok(d)
}

/// A temporary directory, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(tag: &str) -> Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("linli-{tag}-{pid}-{n}-{nanos}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What [`run`] reports.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The unit's key.
    pub(crate) unit: NodeId,
    /// Whether the unit's node was initialised in this run.
    pub(crate) fresh: bool,
    /// The unit's room.
    pub(crate) room: DocId,
    /// The room's time zone.
    pub(crate) zone: Zone,
    /// The demo's requests, in the order made, as the *requesting* community's node sees
    /// them once every one was answered.
    pub(crate) requests: Vec<BookingView>,
    /// What the unit's service decided (in this run).
    pub(crate) decided: Vec<Decided>,
}

/// The demo's requests: (booker, purpose, from, to, attendees), all on one Wednesday.
fn demo_requests() -> [(&'static str, &'static str, Time, Time, u32); 3] {
    [
        (
            "Wang Fang",
            "elders' calligraphy class",
            time(14, 0, 0, 0),
            time(16, 0, 0, 0),
            20,
        ),
        (
            "Liu Yang",
            "New Year gala rehearsal",
            time(9, 30, 0, 0),
            time(11, 30, 0, 0),
            45,
        ),
        (
            "Zhao Lei",
            "evening choir practice",
            time(19, 0, 0, 0),
            time(20, 30, 0, 0),
            15,
        ),
    ]
}

/// The whole story on loopback: a district root (in memory) certifies community Dianye;
/// the unit's node is opened from `unit_dir` (or initialised, by default in a temporary
/// directory), certified by Dianye, publishes its room and starts its service; Dianye's
/// node connects, requests three bookings over the network and waits for the answers.
pub(crate) async fn run(unit_dir: Option<PathBuf>) -> Result<Outcome> {
    let deadline = Instant::now() + RUN_DEADLINE;
    let scratch = Scratch::new("unit-service")?;
    let unit_dir = unit_dir.unwrap_or_else(|| scratch.path().join("unit"));

    let mut district = LocalDistrict::new()?;
    let community = community_node(&mut district, &scratch.path().join("community")).await?;
    println!(
        "[district] root {} certifies community {} (street {STREET})",
        district.root_id().short(),
        community.org()
    );

    // ---- The unit: its own node, key and certificate --------------------------------
    let (unit, fresh) = open_or_init(&unit_dir, org(UNIT)?, district.root_id()).await?;
    println!(
        "[unit] {} node {} of {} in {}",
        if fresh { "initialised" } else { "opened" },
        node_id_to_base32(&unit.node_id()),
        unit.org(),
        unit.dir().display()
    );
    if certified(&unit).await?.is_none() {
        // The community certifies its unit in the federation document; the unit needs that
        // chain before it can join the network (in practice handed over as an export file).
        let cert =
            issue_unit_certificate(&community, district.fed, unit.node_id(), unit.org().clone())
                .await?;
        let mut changes = district.changes()?;
        changes.push(cert);
        apply_all(&unit, changes).await?;
    }
    let chain = certified(&unit)
        .await?
        .context("the unit has no valid certificate")?;
    println!(
        "[unit] certified as {} (chain of {} certificates to the district root)",
        chain.scope, chain.chain_len
    );

    let rule = HouseRule::state_grid();
    let (room, created) = publish_room(&unit, org(STREET)?, org(COMMUNITY)?, &rule).await?;
    let zone = zone_of(&unit, room).await?;
    println!(
        "[unit] {} room {}; house rule: {}",
        if created { "published" } else { "serves its" },
        room.short(),
        rule.describe().join(" ")
    );

    let events = unit.subscribe();
    let unit_net = Network::start(unit.clone(), loopback(Vec::new())).await?;
    let addrs = unit_net.listen_addrs().await?;
    println!("[unit] listening on {}", addrs.join(", "));
    let (stop, stopped) = oneshot::channel();
    let service = tokio::spawn(serve(
        unit.clone(),
        room,
        rule.clone(),
        events,
        stopped,
        deadline,
    ));

    // ---- The community requests bookings over the network -----------------------------
    let mut community_events = community.subscribe();
    let community_net = Network::start(community.clone(), loopback(addrs)).await?;
    let unit_org = org(UNIT)?;
    let found = wait_for(
        &community,
        &mut community_events,
        "the community receives the unit's room",
        deadline,
        async |n: &Node| {
            let docs = n.documents().await?;
            Ok(docs
                .into_iter()
                .find(|d| d.header.kind == DocKind::Resource && d.header.owner == unit_org)
                .map(|d| (d.id, d.header.title)))
        },
    )
    .await?;
    println!(
        "[community] connected to the unit; found room {} \"{}\"",
        found.0.short(),
        found.1
    );

    let day = next(3, community.now(), &zone)?;
    let mut ids = Vec::new();
    for (booker, purpose, from, to, attendees) in demo_requests() {
        let form = BookingForm::new(
            booker,
            purpose,
            Slot::local(day, from, to, &zone)?,
            attendees,
        )
        .with_organisation("Dianye residents");
        let w = community
            .execute(room, Op::Resource(ResourceOp::Request(form)))
            .await?;
        let Effect::Booking(id) = w.effect else {
            bail!("a request did not create a booking: {:?}", w.effect)
        };
        println!(
            "[community] requests {id}: {purpose}, {attendees} attendees, {}",
            Slot::local(day, from, to, &zone)?.display_in(&zone)
        );
        ids.push(id);
    }

    let requests = wait_for(
        &community,
        &mut community_events,
        "the community receives the unit's answers",
        deadline,
        async |n: &Node| {
            let all = n.bookings(room).await?;
            let mine: Vec<BookingView> = ids
                .iter()
                .filter_map(|id| all.iter().find(|b| &b.id == id).cloned())
                .collect();
            let answered = mine.len() == ids.len()
                && mine.iter().all(|b| b.status != BookingStatus::Tentative);
            Ok(answered.then_some(mine))
        },
    )
    .await?;

    // The service would run until the process is told to stop; the demo stops it here.
    let _ = stop.send(());
    let decided = service.await.context("the service task")??;
    let stats = unit_net.stats();
    println!(
        "[unit] service stopped: {} requests decided; network: {} sessions, {} changes received",
        decided.len(),
        stats.sessions_ok + stats.sessions_answered,
        stats.changes_applied
    );

    community_net.shutdown().await?;
    unit_net.shutdown().await?;
    community.shutdown().await?;
    unit.shutdown().await?;
    Ok(Outcome {
        unit: unit.node_id(),
        fresh,
        room,
        zone,
        requests,
        decided,
    })
}

/// The requests and their answers as a table.
pub(crate) fn print_answers(out: &Outcome) {
    println!("\nAnswers as the requesting community's node sees them:");
    for b in &out.requests {
        let status = match &b.status {
            BookingStatus::Rejected { reason } => format!("rejected: {reason}"),
            s => s.label().to_string(),
        };
        println!(
            "  {:<18} {:<27} {:>3}  {}  {status}",
            b.id.to_string(),
            b.request.form.purpose,
            b.request.form.attendees,
            b.request.form.slot.display_in(&out.zone),
        );
    }
}
