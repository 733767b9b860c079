//! Test helpers: a district built with the public core API (a root replica that creates the
//! federation document and certifies keys), community nodes on temporary directories, and
//! waiting for events with a deadline.

use std::path::Path;
use std::time::Duration;

use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::identity::Keypair;
use linli_core::registry::{ChecklistTemplate, Compound, ManagementMode, RegistryOp};
use linli_core::{
    DistrictConfig, DocId, Effect, NewDoc, NodeId, Op, OrgId, Replica, SignedChange, Timestamp,
};
use linli_node::{InitOptions, Node, NodeEvent, NodeStatus, OpenOptions};
use tokio::sync::broadcast;

/// How long a test waits for an event before failing.
pub const TIMEOUT: Duration = Duration::from_secs(30);

pub fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

/// A deterministic key for `(name, n)`.
pub fn secret(name: &str, n: u8) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(name.as_bytes());
    h.update(&[n]);
    *h.finalize().as_bytes()
}

pub fn key(name: &str, n: u8) -> Keypair {
    Keypair::from_secret(&secret(name, n))
}

pub fn root_key() -> Keypair {
    Keypair::from_secret(&[0xAA; 32])
}

/// Validity of the test certificates: from 2020 to 2100, around the system clock.
pub fn valid_from() -> Timestamp {
    Timestamp::parse("2020-01-01T00:00:00Z").unwrap()
}
pub fn valid_until() -> Timestamp {
    Timestamp::parse("2100-01-01T00:00:00Z").unwrap()
}

/// The district: the root's replica holding the federation document.
pub struct District {
    pub root: Replica,
    pub fed: DocId,
}

impl District {
    pub fn new() -> District {
        District::new_with_root([0xAA; 32])
    }

    /// A district whose root key has the secret `root`.
    pub fn new_with_root(root: [u8; 32]) -> District {
        let rk = Keypair::from_secret(&root);
        let mut root = Replica::new(rk.clone(), [0; 8], org("heping"), rk.node_id());
        let config = DistrictConfig {
            checklist: ChecklistTemplate::synthetic_7_7("test-7-7"),
            ..DistrictConfig::default()
        };
        let fed = root
            .create(NewDoc::Federation { config }, valid_from())
            .unwrap()
            .doc;
        District { root, fed }
    }

    pub fn root_id(&self) -> NodeId {
        self.root.author().node
    }

    /// Certifies `subject` as `role` of `o` (with parent `parent`); returns the change.
    pub fn certify(
        &mut self,
        subject: NodeId,
        role: Role,
        o: &str,
        parent: Option<&str>,
    ) -> SignedChange {
        self.root
            .execute(
                self.fed,
                Op::Federation(FederationOp::Issue {
                    subject,
                    role,
                    org: org(o),
                    parent: parent.map(org),
                    name: format!("{o} node"),
                    not_before: valid_from(),
                    not_after: valid_until(),
                }),
                valid_from(),
            )
            .unwrap()
            .change
    }

    /// Revokes `subject` (cut-off: what the root replica holds from it).
    pub fn revoke(&mut self, subject: NodeId, reason: &str) -> SignedChange {
        self.root
            .execute(
                self.fed,
                Op::Federation(FederationOp::Revoke {
                    subject,
                    reason: reason.into(),
                    certs: None,
                }),
                linli_node::system_clock(),
            )
            .unwrap()
            .change
    }

    /// Certifies `subject` as `role` of `o` with node 1 of organisation `issuer` (its key
    /// `secret(issuer, 1)`, certified already): a real chain, e.g. a community certifying its
    /// unit, whose scope is then `street/community/unit`.
    pub fn certify_by(
        &mut self,
        issuer: &str,
        subject: NodeId,
        role: Role,
        o: &str,
        parent: &str,
    ) -> SignedChange {
        let k = Keypair::from_secret(&secret(issuer, 1));
        // One actor per certificate issued this way (never two changes in one slot).
        let mut inc = [0u8; 8];
        inc.copy_from_slice(&subject.0[..8]);
        let mut r = Replica::new(k, inc, org(issuer), self.root_id());
        for c in self.fed_changes() {
            r.apply(c).unwrap();
        }
        let w = r
            .execute(
                self.fed,
                Op::Federation(FederationOp::Issue {
                    subject,
                    role,
                    org: org(o),
                    parent: Some(org(parent)),
                    name: format!("{o} node"),
                    not_before: valid_from(),
                    not_after: valid_until(),
                }),
                valid_from(),
            )
            .unwrap();
        self.root.apply(w.change.clone()).unwrap();
        w.change
    }

    /// Every change of the federation document.
    pub fn fed_changes(&self) -> Vec<SignedChange> {
        self.root.changes(self.fed, &[]).unwrap()
    }

    /// A replica of a certified organisation `o` (community of street `beishi`) holding the
    /// federation document.
    pub fn replica(&mut self, o: &str, n: u8) -> Replica {
        let k = key(o, n);
        self.certify(k.node_id(), Role::Community, o, Some("beishi"));
        let mut r = Replica::new(k, [n; 8], org(o), self.root_id());
        for c in self.fed_changes() {
            r.apply(c).unwrap();
        }
        r
    }
}

/// Options for test nodes: fsync on (the default durability), small snapshot interval.
pub fn opts() -> OpenOptions {
    OpenOptions {
        snapshot_every: 50,
        // Most tests read the log rows a shutdown leaves (`cover.rs` folds them).
        fold_on_shutdown: false,
        ..OpenOptions::default()
    }
}

/// A community node (`dianye`, street `beishi`) in `dir`, certified by the district, holding
/// the federation document and its own compound registry. Returns the node and the registry.
pub async fn community_node(district: &mut District, dir: &Path) -> (Node, DocId) {
    community_node_with(district, dir, opts()).await
}

/// [`community_node`] opened with `options`.
pub async fn community_node_with(
    district: &mut District,
    dir: &Path,
    options: OpenOptions,
) -> (Node, DocId) {
    let mut init = InitOptions::new(org("dianye"), district.root_id());
    init.secret = Some(secret("dianye", 1));
    let node = Node::init(dir, init, options).await.unwrap();
    district.certify(node.node_id(), Role::Community, "dianye", Some("beishi"));
    for r in node.apply_batch(district.fed_changes()).await.unwrap() {
        r.unwrap();
    }
    let registry = node
        .create(NewDoc::Registry {
            street: org("beishi"),
            community: org("dianye"),
            title: "Dianye compounds".into(),
        })
        .await
        .unwrap()
        .doc;
    (node, registry)
}

pub fn compound(name: &str) -> Op {
    Op::Registry(RegistryOp::AddCompound(Compound::new(
        name,
        "1 Dianye Road",
        120,
        ManagementMode::PropertyFirm,
    )))
}

/// Adds a compound through the node; returns its name.
pub async fn add_compound(node: &Node, registry: DocId, name: &str) -> String {
    let w = node.execute(registry, compound(name)).await.unwrap();
    assert!(matches!(w.effect, Effect::Compound(_)), "{:?}", w.effect);
    name.to_string()
}

/// Names of the compounds of a registry, sorted.
pub async fn compound_names(node: &Node, registry: DocId) -> Vec<String> {
    let mut names: Vec<String> = node
        .compounds(registry)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, c)| c.name)
        .collect();
    names.sort();
    names
}

/// A node's status without the incarnation, which is drawn anew on every open: what must
/// be the same across a reopen.
pub fn settled(mut s: NodeStatus) -> NodeStatus {
    s.incarnation = [0; 8];
    s
}

/// Waits (up to [`TIMEOUT`]) for an event that `pred` accepts; panics on timeout.
pub async fn wait_for(
    rx: &mut broadcast::Receiver<NodeEvent>,
    what: &str,
    mut pred: impl FnMut(&NodeEvent) -> bool,
) -> NodeEvent {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no event {what} within {TIMEOUT:?}"))
            .unwrap();
        if pred(&ev) {
            return ev;
        }
    }
}

/// A small xorshift generator, seeded from the OS (or `LINLI_SEED`), for test randomness.
pub struct Rng(u64);

impl Rng {
    pub fn new(name: &str) -> Rng {
        let seed = std::env::var("LINLI_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let mut b = [0u8; 8];
                getrandom::fill(&mut b).unwrap();
                u64::from_le_bytes(b) | 1
            });
        eprintln!("{name}: LINLI_SEED={seed}");
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A generator seeded from this one: a second stream that does not shift this one's
    /// draws (the same seed replays both).
    pub fn fork(&mut self) -> Rng {
        Rng(self.next() | 1)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}
