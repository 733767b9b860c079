//! Helpers shared by the unit tests: a test district whose root certifies a fixed set of
//! organisations, and replicas of those organisations that already hold the federation
//! document.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub, dead_code)]

use std::sync::OnceLock;

use crate::cert::Role;
use crate::document::Author;
use crate::federation::FederationOp;
use crate::identity::Keypair;
use crate::ids::{DocId, NodeId, OrgId, Scope};
use crate::registry::ChecklistTemplate;
use crate::replica::{Applied, DistrictConfig, Error, NewDoc, Op, Replica};
use crate::signed::SignedChange;
use crate::time::Timestamp;

/// Organisations of the test district: code, role, parent.
pub const ORGS: &[(&str, Role, Option<&str>)] = &[
    ("beishi", Role::Street, None),
    ("jianzhong", Role::Street, None),
    ("dianye", Role::Community, Some("beishi")),
    ("hongqi", Role::Community, Some("beishi")),
    ("xianghe", Role::Community, Some("jianzhong")),
    ("power-co", Role::Unit, Some("dianye")),
    ("state-grid", Role::Unit, Some("dianye")),
    ("tech-college", Role::Unit, Some("hongqi")),
    ("hospital", Role::Partner, Some("xianghe")),
    ("reading-club", Role::Partner, Some("dianye")),
    ("housing-bureau", Role::Unit, None),
    // Groups and buildings used by the resource tests.
    ("club", Role::Partner, Some("dianye")),
    ("choir", Role::Partner, Some("dianye")),
    ("troupe", Role::Partner, Some("dianye")),
    ("bldg3", Role::Partner, Some("hongqi")),
    ("bldg5", Role::Partner, Some("hongqi")),
    ("org-a", Role::Unit, Some("dianye")),
    ("org-b", Role::Unit, Some("dianye")),
    ("org-c", Role::Partner, Some("hongqi")),
];

/// Node numbers certified per organisation.
pub const NODES: &[u8] = &[1, 2, 3, 4, 5, 9];

pub fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

/// The certified scope of a test organisation (its chain from the root: `street`,
/// `street/community`, `street/community/unit`); a code outside [`ORGS`] gets `code`.
pub fn scope(s: &str) -> Scope {
    let mut path = vec![s];
    let mut cur = s;
    while let Some(p) = ORGS
        .iter()
        .find(|(o, _, _)| *o == cur)
        .and_then(|(_, _, p)| *p)
    {
        path.insert(0, p);
        cur = p;
    }
    path.join("/").parse().unwrap()
}

/// The key of node `n` of organisation `o` (deterministic).
pub fn key(o: &str, n: u8) -> Keypair {
    let mut h = blake3::Hasher::new();
    h.update(o.as_bytes());
    h.update(&[n]);
    Keypair::from_secret(h.finalize().as_bytes())
}

pub fn root_key() -> Keypair {
    Keypair::from_secret(&[0xAA; 32])
}

pub fn author(o: &str, n: u8) -> Author {
    Author {
        node: key(o, n).node_id(),
        incarnation: [n; 8],
        org: org(o),
    }
}

pub fn district() -> DistrictConfig {
    DistrictConfig {
        checklist: ChecklistTemplate::synthetic_7_7("test-7-7"),
        ..DistrictConfig::default()
    }
}

/// Validity of the test certificates.
pub fn valid_from() -> Timestamp {
    t("2020-01-01T00:00:00Z")
}
pub fn valid_until() -> Timestamp {
    t("2030-01-01T00:00:00Z")
}

struct Fed {
    root: Replica,
    id: DocId,
    changes: Vec<SignedChange>,
    /// A replica that applied the federation changes, cloned for each test node.
    base: Replica,
}

fn fed() -> &'static Fed {
    static FED: OnceLock<Fed> = OnceLock::new();
    FED.get_or_init(|| {
        let rk = root_key();
        let mut root = Replica::new(rk.clone(), [0; 8], org("heping"), rk.node_id());
        let at = valid_from();
        let id = root
            .create(NewDoc::Federation { config: district() }, at)
            .unwrap()
            .doc;
        // Real chains: the root certifies streets and district departments, streets their
        // communities, communities their units and partners.
        let issue = |issuer: &mut Replica, o: &str, role: Role, parent: Option<&str>| {
            for &n in NODES {
                issuer
                    .execute(
                        id,
                        Op::Federation(FederationOp::Issue {
                            subject: key(o, n).node_id(),
                            role,
                            org: org(o),
                            parent: parent.map(org),
                            name: format!("{o} node {n}"),
                            not_before: valid_from(),
                            not_after: valid_until(),
                        }),
                        at,
                    )
                    .unwrap();
            }
        };
        for (o, role, parent) in ORGS.iter().filter(|(_, _, p)| p.is_none()) {
            issue(&mut root, o, *role, *parent);
        }
        for level in [Role::Street, Role::Community] {
            for (issuer_org, _, _) in ORGS.iter().filter(|(_, r, _)| *r == level) {
                let mut issuer =
                    Replica::new(key(issuer_org, 1), [1; 8], org(issuer_org), rk.node_id());
                for c in root.changes(id, &[]).unwrap() {
                    issuer.apply(c).unwrap();
                }
                for (o, role, parent) in ORGS.iter().filter(|(_, _, p)| *p == Some(*issuer_org)) {
                    issue(&mut issuer, o, *role, *parent);
                }
                for c in issuer.changes(id, &[]).unwrap() {
                    root.apply(c).unwrap();
                }
            }
        }
        let changes = root.changes(id, &[]).unwrap();
        let mut base = Replica::new(key("base", 0), [0; 8], org("base"), rk.node_id());
        for c in &changes {
            base.apply(c.clone()).unwrap();
        }
        Fed {
            root,
            id,
            changes,
            base,
        }
    })
}

/// The federation document's signed changes.
pub fn fed_changes() -> Vec<SignedChange> {
    fed().changes.clone()
}

/// The federation document's id.
pub fn fed_id() -> DocId {
    fed().id
}

/// A replica of the root that holds the federation document.
pub fn root() -> Replica {
    fed().root.clone()
}

/// A replica for node `n` of organisation `o`, holding the federation document.
pub fn replica(o: &str, n: u8) -> Replica {
    fed().base.for_node(key(o, n), [n; 8], org(o))
}

/// An instant from RFC 3339 text, e.g. `2026-11-25T20:00:00+08:00`.
pub fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

pub fn date(y: i16, m: i8, d: i8) -> jiff::civil::Date {
    jiff::civil::Date::new(y, m, d).unwrap()
}

/// Sends every change of every document `from` holds to `to`; returns how many applied.
pub fn send(from: &Replica, to: &mut Replica) -> usize {
    let mut n = 0;
    for id in from.docs().keys().copied().collect::<Vec<_>>() {
        for sc in from.changes(id, &[]).unwrap() {
            match to.apply(sc) {
                Ok(Applied::Applied(h)) => n += h.len(),
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
    n
}

/// Full exchange between two replicas.
pub fn sync(a: &mut Replica, b: &mut Replica) {
    send(a, b);
    send(b, a);
}

/// The node id of node `n` of `o`.
pub fn node(o: &str, n: u8) -> NodeId {
    key(o, n).node_id()
}

/// Asserts an error is a rejection and returns its reason text.
pub fn rejection(e: Error) -> String {
    match e {
        Error::Rejected(r) => r.reason.to_string(),
        other => panic!("expected a rejection, got {other}"),
    }
}

/// The id prefix (`org@tag`) of the records node `n` of `o` numbers.
pub fn writer(o: &str, n: u8) -> String {
    format!("{o}@{}", hex::encode(author(o, n).tag()))
}

/// Ledger rules under which hours recorded by hand earn points (what most tests of points
/// exercise; a new ledger's default gives them none: `ledger::sessions`).
pub fn hand_rules() -> crate::ledger::LedgerRules {
    crate::ledger::LedgerRules {
        hand_points: true,
        ..crate::ledger::LedgerRules::default()
    }
}

/// The 2026 service ledger of `community` (street beishi), created by `r`.
pub fn ledger_of(r: &mut Replica, community: &str) -> DocId {
    r.create(
        NewDoc::Ledger {
            street: org("beishi"),
            community: org(community),
            year: 2026,
            rules: crate::testutil::hand_rules(),
        },
        t("2026-06-01T10:00:00+08:00"),
    )
    .unwrap()
    .doc
}

/// One hour of patrol by `volunteer` recorded by `r` in `ledger`.
pub fn patrol(r: &mut Replica, ledger: DocId, volunteer: &str) -> SignedChange {
    r.execute(
        ledger,
        Op::Ledger(crate::ledger::LedgerOp::RecordService {
            volunteer: volunteer.parse().unwrap(),
            activity: "patrol".into(),
            team: None,
            date: date(2026, 5, 1),
            hours: 1.0,
            evidence: None,
        }),
        t("2026-06-01T10:00:00+08:00"),
    )
    .unwrap()
    .change
}

/// An instant to read balances at where expiry plays no part (ledgers whose rules never
/// expire give the same balance on any day).
pub fn now() -> Timestamp {
    t("2026-12-01T12:00:00+08:00")
}

/// A store in memory for evicted documents (see [`crate::replica::Docs`]): [`MemStore::evict`]
/// saves a document and its signed changes before the replica drops it, and the replica
/// loads it back (and reads changes) from here.
#[derive(Debug, Default)]
pub struct MemStore {
    saved: std::sync::Mutex<std::collections::HashMap<DocId, Vec<u8>>>,
    changes: std::sync::Mutex<std::collections::HashMap<automerge::ChangeHash, SignedChange>>,
    /// When set, every document loads as this one instead (a damaged store).
    pub swap: std::sync::Mutex<Option<Vec<u8>>>,
}

impl MemStore {
    /// A replica's source over a new, empty store.
    pub fn attach(r: &mut Replica) -> std::sync::Arc<MemStore> {
        let s = std::sync::Arc::new(MemStore::default());
        r.set_source(s.clone());
        s
    }
    /// Saves document `id` of `r` and evicts it; whether it was evicted.
    pub fn evict(&self, r: &mut Replica, id: DocId) -> bool {
        if !r.evictable(&id) {
            return false;
        }
        let Ok(d) = r.doc(id) else { return false };
        let bytes = d.save();
        let Ok(changes) = r.changes(id, &[]) else {
            return false;
        };
        let mut held = self.changes.lock().unwrap();
        for sc in changes {
            held.insert(sc.change_hash().unwrap(), sc);
        }
        drop(held);
        self.saved.lock().unwrap().insert(id, bytes);
        r.evict(&id)
    }
}

impl crate::replica::ChangeSource for MemStore {
    fn load(
        &self,
        doc: DocId,
        hashes: &[automerge::ChangeHash],
    ) -> Result<Vec<SignedChange>, String> {
        let held = self.changes.lock().unwrap();
        hashes
            .iter()
            .map(|h| {
                held.get(h)
                    .filter(|sc| sc.doc == doc)
                    .cloned()
                    .ok_or_else(|| format!("the memory store has no change {h} of {doc}"))
            })
            .collect()
    }
    fn document(&self, doc: DocId) -> Result<crate::replica::StoredDocument, String> {
        let snapshot = match self.swap.lock().unwrap().clone() {
            Some(other) => other,
            None => self
                .saved
                .lock()
                .unwrap()
                .get(&doc)
                .cloned()
                .ok_or_else(|| format!("{doc} was never saved"))?,
        };
        Ok(crate::replica::StoredDocument {
            snapshot: Some(snapshot),
            folded: true,
            accepted: Vec::new(),
        })
    }
}
