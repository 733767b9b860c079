//! `linli demo`: a small district on loopback that plays [the district story](crate::story).
//!
//! Six nodes run in this process, each with its own key, data directory, store and libp2p
//! network on 127.0.0.1 — the district root (Heping), a street office (Beishi), three
//! communities (Dianye, Hongqi, Xianghe) and a co-building unit (State Grid, certified by
//! Dianye). Certificates travel over the network like everything else: each office joins
//! once certified. The story's scenes are played step by step on the actors' nodes, sized by
//! [`DemoOptions`]; between scenes the demo waits for the nodes to agree, and it adds what
//! only a network shows:
//!
//! * Hongqi and Xianghe are cut off while both book the same hall; after the link heals they
//!   catch up, the owner confirms one and the other gets its alternate slot.
//! * A forged change (signed by Hongqi, writing into Dianye's registry) arrives at Dianye
//!   and is refused, like the story's unauthorized operations.
//! * Whoever is not in its audience never holds the club's personal data.
//!
//! It ends with a summary (tables and the agreement check: every node holds the same heads
//! of every document it may receive) and exits by itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use linli_core::identity::Keypair;
use linli_core::resource::BookingStatus;
use linli_core::{DocId, Timestamp, Zone};

use crate::net::{NetConfig, Network};
use crate::story::{self, DocRef, Done, Ids, Outcome, Resolved, Scale, Scene, Step, Story, Who};
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

impl From<story::StoryError> for DemoError {
    fn from(e: story::StoryError) -> Self {
        match e {
            story::StoryError::Core(e) => DemoError::Core(e),
            story::StoryError::Plot(s) => DemoError::Story(s),
        }
    }
}

fn plot(s: impl Into<String>) -> DemoError {
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
    who: Who,
    node: Node,
    net: Network,
    secret: [u8; 32],
}

fn random_secret() -> Result<[u8; 32], DemoError> {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s).map_err(|e| plot(format!("no randomness for keys: {e}")))?;
    Ok(s)
}

fn loopback(bootstrap: Vec<String>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        mdns: false,
        sync_interval_secs: 2,
        max_peers: 16,
        relay: Default::default(),
        fast_join: true,
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
    let base = story::at(story::START)?;
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
    let tale = Story::new(Scale {
        volunteers: opts.volunteers,
        compounds: opts.compounds,
        orders: opts.orders,
    });
    let mut ids = Ids::default();

    say(
        "linli district demo — Heping district, Beishi street, three communities, one co-building unit",
    );
    say("");
    say("[1/7] starting six nodes on 127.0.0.1 (own keys, stores and libp2p networks)");
    let mut nodes = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for w in Who::ALL {
        secrets.insert(w, random_secret()?);
    }
    let root_id = Keypair::from_secret(&secrets[&Who::Heping]).node_id();
    for w in Who::ALL {
        let mut init = InitOptions::new(w.org()?, root_id);
        init.secret = Some(secrets[&w]);
        let node = Node::init(dir.join(w.code()), init, node_opts.clone()).await?;
        ids.nodes.insert(w, node.node_id());
        nodes.insert(w, node);
    }

    // --- Federation: root → street → communities → unit, over the network ------------
    // Each office joins the network once certified, bootstrapping from those already on it.
    let root = &nodes[&Who::Heping];
    let fed = root.create(Story::federation()).await?.doc;
    ids.docs.insert(DocRef::Federation, fed);
    let mut offices: Vec<Office> = Vec::new();
    let mut boot = Vec::new();
    let join = |w: Who, net: Network| Office {
        name: w.code(),
        who: w,
        node: nodes[&w].clone(),
        net,
        secret: secrets[&w],
    };
    let net = Network::start(root.clone(), loopback(vec![])).await?;
    boot.extend(net.listen_addrs().await?);
    offices.push(join(Who::Heping, net));
    for cert in &tale.certificates {
        step(&offices, &mut ids, &cert.step(), say).await?;
        let subject = &nodes[&cert.subject];
        let net = Network::start(subject.clone(), loopback(boot.clone())).await?;
        boot.extend(net.listen_addrs().await?);
        offices.push(join(cert.subject, net));
        wait_certified(subject, timeout).await?;
    }
    let unit = ids.node(Who::StateGrid)?;
    let chain = nodes[&Who::StateGrid]
        .read(move |r| r.principal(&unit, base).map(|p| p.chain_len))
        .await?
        .map_err(|e| plot(format!("the unit has no valid chain: {e}")))?;
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

    let (dianye, xianghe, street) = (
        &nodes[&Who::Dianye],
        &nodes[&Who::Xianghe],
        &nodes[&Who::Beishi],
    );
    let vol7 = story::volunteer("dianye:7")?;
    for (name, steps) in &tale.scenes {
        match name {
            Scene::Seed => {
                say("");
                say(&format!(
                    "[2/7] seeding: {} compounds and {} volunteers per community, rooms, a kitchen, wishes",
                    opts.compounds, opts.volunteers
                ));
                scene(&offices, &mut ids, steps, say).await?;
                // Households order through their community's node: it needs the kitchen.
                wait_agreed(&offices, timeout).await?;
            }
            Scene::Orders => {
                scene(&offices, &mut ids, steps, say).await?;
                let docs = wait_agreed(&offices, timeout).await?;
                say(&format!(
                    "      {docs} documents; all six nodes agree ({:.1} s since start)",
                    started.elapsed().as_secs_f64()
                ));
            }
            Scene::Apart => {
                say("");
                say(
                    "[3/7] Hongqi and Xianghe lose their links; both ask for Dianye's hall on Tuesday evening",
                );
                let cut: Vec<usize> = offices
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| matches!(o.who, Who::Hongqi | Who::Xianghe))
                    .map(|(i, _)| i)
                    .collect();
                partition(&offices, &cut, true).await?;
                scene(&offices, &mut ids, steps, say).await?;
                let peers_h = offices
                    .iter()
                    .find(|o| o.who == Who::Hongqi)
                    .map_or(0, |o| o.net.stats().peers);
                say(&format!(
                    "      while cut off: Hongqi has {peers_h} connected peers; both requests, new service records and the street's appointments are stored locally"
                ));
                partition(&offices, &cut, false).await?;
                let t_heal = Instant::now();
                wait_agreed(&offices, timeout).await?;
                say(&format!(
                    "      links restored: everyone caught up in {:.1} s",
                    t_heal.elapsed().as_secs_f64()
                ));
            }
            Scene::Confirm => {
                for o in scene(&offices, &mut ids, steps, say).await? {
                    if let Outcome::Done(e) = o
                        && let Some(c) = story::confirmation(&e, &zone)
                    {
                        say(&format!("      Dianye confirms {c}"));
                    }
                }
            }
            Scene::Serve => {
                say("");
                say(
                    "[4/7] volunteer dianye:7 serves 2 h at home and 3 h in Hongqi, then redeems points at home; State Grid and the street offer to grant a wish",
                );
                scene(&offices, &mut ids, steps, say).await?;
                wait_agreed(&offices, timeout).await?;
            }
            Scene::Redeem => {
                let before = dianye.balance(vol7.clone()).await?;
                say(&format!(
                    "      Dianye sees {before} points across both ledgers; redeems 4 for 5 kg rice, and gives the wish to the street's offer"
                ));
                scene(&offices, &mut ids, steps, say).await?;
            }
            Scene::Revoke => {
                say("");
                say("[5/7] Dianye revokes the choir's confirmed booking");
                scene(&offices, &mut ids, steps, say).await?;
                wait_agreed(&offices, timeout).await?;
                let choir = ids.booking("choir")?;
                let seen = xianghe
                    .bookings(ids.doc(DocRef::Hall)?)
                    .await?
                    .into_iter()
                    .find(|b| b.id == choir)
                    .ok_or_else(|| plot("Xianghe lost its booking"))?;
                match &seen.status {
                    BookingStatus::Revoked { reason } => say(&format!(
                        "      Xianghe sees its booking revoked: \"{reason}\""
                    )),
                    other => {
                        return Err(plot(format!("the revocation did not arrive: {other:?}")));
                    }
                }
            }
            Scene::Settle => {
                say("");
                say(
                    "[6/7] unauthorized changes; the street scores a firm, the kitchen accepts orders",
                );
                let hongqi_office = offices
                    .iter()
                    .find(|o| o.who == Who::Hongqi)
                    .ok_or_else(|| plot("Hongqi has no office"))?;
                let forged = forge(hongqi_office, ids.doc(DocRef::Registry(Who::Dianye))?).await?;
                match dianye.apply(forged).await {
                    Err(NodeError::Core(linli_core::Error::Rejected(r))) => say(&format!(
                        "      a change signed by Hongqi that writes into Dianye's registry is refused: {}",
                        r.reason
                    )),
                    Err(e) => return Err(e.into()),
                    Ok(a) => return Err(plot(format!("a forged change was accepted: {a:?}"))),
                }
                scene(&offices, &mut ids, steps, say).await?;
                wait_agreed(&offices, timeout).await?;
            }
            Scene::Register => {
                scene(&offices, &mut ids, steps, say).await?;
                // Hongqi records the service only once it holds Dianye's registry (it checks
                // that the volunteer is registered at home).
                wait_agreed(&offices, timeout).await?;
            }
            Scene::Abroad => {
                scene(&offices, &mut ids, steps, say).await?;
                wait_agreed(&offices, timeout).await?;
                volunteer_story(&offices, &ids, dir, say).await?;
            }
        }
    }

    // --- Summary ------------------------------------------------------------------------
    say("");
    say("[7/7] summary (read from Xianghe's node)");
    let view = xianghe;
    let (hall, kitchen, reg, wishes) = (
        ids.doc(DocRef::Hall)?,
        ids.doc(DocRef::Kitchen)?,
        ids.doc(DocRef::Registry(Who::Dianye))?,
        ids.doc(DocRef::Wishes(Who::Dianye))?,
    );
    table(
        view,
        move |r| story::bookings_table(r, hall, &Zone::shanghai()),
        say,
    )
    .await?;
    // Personal data: the club's booker and phone are held by Dianye (the owner) and Hongqi
    // (the requester) only; Xianghe's node above shows the masked name.
    let record = format!("requests/{}", ids.booking("club")?);
    let deadline = Instant::now() + timeout;
    loop {
        let rec = record.clone();
        if dianye
            .read(move |r| r.personal_data(hall, &rec).is_some())
            .await?
            || Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut holders = Vec::new();
    for o in &offices {
        let rec = record.clone();
        if o.node
            .read(move |r| r.personal_data(hall, &rec).is_some())
            .await?
        {
            holders.push(o.name);
        }
    }
    say(&format!(
        "  personal data: the reading club's booker name and phone are held by {} only; other nodes see \"L. W.\"",
        holders.join(" and ")
    ));
    table(
        view,
        move |r| story::registry_table(r, reg, "Compounds — Dianye (first four)", 4),
        say,
    )
    .await?;
    // Wishes stay with their community and its street.
    table(
        street,
        move |r| story::wishes_table(r, wishes, "Micro-wishes — Dianye (from the street's node)"),
        say,
    )
    .await?;
    let day = view
        .read(move |r| {
            r.resource(kitchen)
                .and_then(|k| k.kitchen_day(story::dinner()).map_err(Into::into))
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
    let now = view.now();
    table(
        view,
        move |r| story::balances_table(r, &story::FOLLOWED, now),
        say,
    )
    .await?;

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

/// The volunteer story's checks: the volunteer registered at home and served in Hongqi;
/// Dianye's balance includes Hongqi's entry; only Dianye's node holds the name and phone
/// (searched in every office's data files, byte for byte).
async fn volunteer_story(
    offices: &[Office],
    ids: &Ids,
    dir: &Path,
    say: &mut dyn FnMut(&str),
) -> Result<(), DemoError> {
    use story::volunteers::{HOURS, NAME, PHONE, registered, seen_by};
    let v = registered(ids)?;
    let registry = ids.doc(DocRef::Volunteers(Who::Dianye))?;
    let mut seen = BTreeMap::new();
    for o in offices {
        let v = v.clone();
        if o.node.read(move |r| r.doc(registry).is_ok()).await? {
            let now = o.node.now();
            let row = o
                .node
                .read(move |r| seen_by(r, registry, &v, now))
                .await??;
            seen.insert(o.who, row);
        }
    }
    let home = seen
        .get(&Who::Dianye)
        .ok_or_else(|| plot("Dianye does not hold its registry"))?;
    let abroad = seen
        .get(&Who::Hongqi)
        .ok_or_else(|| plot("Hongqi does not hold Dianye's registry"))?;
    if home.0 != NAME || !home.1 {
        return Err(plot(format!(
            "Dianye does not hold its volunteer's identity: {home:?}"
        )));
    }
    let expected = linli_core::ledger::Points((HOURS * 100.0) as i64).to_string();
    if home.2 != expected {
        return Err(plot(format!(
            "Dianye credits {} points at home, not the {expected} Hongqi recorded",
            home.2
        )));
    }
    for (who, (name, holds, _)) in &seen {
        if *who != Who::Dianye && (*holds || name == NAME) {
            return Err(plot(format!("{who} holds the volunteer's identity")));
        }
    }
    // The raw files: the phone is in Dianye's data directory and nowhere else.
    let mut holders = Vec::new();
    for o in offices {
        let root = dir.join(o.name);
        if contains(&root, PHONE.as_bytes()).map_err(|source| DemoError::Io {
            path: root.clone(),
            source,
        })? {
            holders.push(o.name);
        }
    }
    if holders != [Who::Dianye.code()] {
        return Err(plot(format!(
            "the volunteer's phone is in the files of {holders:?}, not Dianye's alone"
        )));
    }
    say(&format!(
        "      volunteer story: Dianye registers {} ({v}) in its registry; Hongqi records {HOURS} h of elder care in its own ledger; Dianye credits {} points at home",
        abroad.0, home.2
    ));
    say(&format!(
        "      identity stays home: Hongqi and the street see \"{}\"; the phone is in Dianye's files only (searched all {} data directories)",
        abroad.0,
        offices.len()
    ));
    Ok(())
}

/// Whether any file under `dir` contains `needle`.
fn contains(dir: &Path, needle: &[u8]) -> std::io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let found = if path.is_dir() {
            contains(&path, needle)?
        } else {
            std::fs::read(&path)?
                .windows(needle.len())
                .any(|w| w == needle)
        };
        if found {
            return Ok(true);
        }
    }
    Ok(false)
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
            return Err(plot(format!(
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
            return Err(plot(format!(
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
async fn forge(office: &Office, registry: DocId) -> Result<linli_core::SignedChange, DemoError> {
    let key = Keypair::from_secret(&office.secret);
    let now = office.node.now();
    Ok(office
        .node
        .read(move |r| story::forge(r, &key, registry, now))
        .await??)
}

/// Plays one step of the story on the actor's node.
async fn step(
    offices: &[Office],
    ids: &mut Ids,
    s: &Step,
    say: &mut dyn FnMut(&str),
) -> Result<Outcome, DemoError> {
    let node = &offices
        .iter()
        .find(|o| o.who == s.actor)
        .ok_or_else(|| plot(format!("{} has no node", s.actor)))?
        .node;
    let done = match s.resolve(ids)? {
        Resolved::Create(d, new) => node.create(new).await.map(|c| Done::Created(d, c.doc)),
        Resolved::Execute(doc, op) => node
            .execute(doc, op)
            .await
            .map(|w| Done::Executed(w.effect)),
    };
    let outcome = ids.settle(s, done)?;
    if let Outcome::Refused(e) = &outcome {
        say(&format!("      {}: {e}", s.note));
    }
    Ok(outcome)
}

/// Plays a scene's steps in order.
async fn scene(
    offices: &[Office],
    ids: &mut Ids,
    steps: &[Step],
    say: &mut dyn FnMut(&str),
) -> Result<Vec<Outcome>, DemoError> {
    let mut out = Vec::with_capacity(steps.len());
    for s in steps {
        out.push(step(offices, ids, s, say).await?);
    }
    Ok(out)
}

/// Lines of a table `view` builds from its replica.
async fn table<F>(view: &Node, f: F, say: &mut dyn FnMut(&str)) -> Result<(), DemoError>
where
    F: FnOnce(&linli_core::Replica) -> Result<story::Table, story::StoryError> + Send + 'static,
{
    for l in view.read(f).await??.lines() {
        say(&l);
    }
    Ok(())
}
