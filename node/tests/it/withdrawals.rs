//! Refusals linli-core withdraws: a change refused because of a revocation that later lost
//! to a more senior one is accepted, and a change refused while a dependency stood that a
//! rebuild removed waits again. The node's stored status (status counts, the rejected list
//! the API, CLI and Python show) follows within the command that caused it, agrees with the
//! same store reopened, and with a node that received the changes in another order.

use std::collections::BTreeSet;

use automerge::ChangeHash;
use linli_core::cert::Role;
use linli_core::federation::FederationOp;
use linli_core::registry::{Compound, ManagementMode};
use linli_core::resource::{Barred, ResourceOp, ResourceSpec};
use linli_core::{
    Applied, DocId, Error as CoreError, NewDoc, NodeId, Op, Put, Replica, Scope, SignedChange,
    Timestamp,
};
use linli_node::{InitOptions, Node, NodeEvent, NodeStatus, OpenOptions};

use crate::util::*;

fn now() -> Timestamp {
    linli_node::system_clock()
}

fn hash(sc: &SignedChange) -> ChangeHash {
    sc.change_hash().unwrap()
}

/// A replica of `o` (key `(o, n)`) holding `changes` of the federation document.
fn replica_with(o: &str, n: u8, root: NodeId, changes: &[SignedChange]) -> Replica {
    let mut r = Replica::new(key(o, n), [n; 8], org(o), root);
    for sc in changes {
        let applied = r.apply(sc.clone()).unwrap();
        assert!(matches!(applied, Applied::Applied(_)), "{applied:?}");
    }
    r
}

fn issue(
    by: &mut Replica,
    fed: DocId,
    subject: NodeId,
    role: Role,
    o: &str,
    parent: &str,
) -> SignedChange {
    by.execute(
        fed,
        Op::Federation(FederationOp::Issue {
            subject,
            role,
            org: org(o),
            parent: Some(org(parent)),
            name: format!("{o} node"),
            not_before: valid_from(),
            not_after: valid_until(),
        }),
        now(),
    )
    .unwrap()
    .change
}

fn revoke(by: &mut Replica, fed: DocId, subject: NodeId, reason: &str) -> SignedChange {
    by.execute(
        fed,
        Op::Federation(FederationOp::Revoke {
            subject,
            reason: reason.into(),
            certs: None,
        }),
        now(),
    )
    .unwrap()
    .change
}

/// Two revocations of different seniority, made without seeing each other: community
/// hongqi (certified by the root) revokes its unit power-co, while the root revokes hongqi
/// with a cut-off that holds hongqi's certificate of the unit but not its revocation. The
/// root is more senior, so hongqi's revocation never takes effect and the unit's bar on its
/// hall, written after hongqi's cut-off, stands — in every delivery order. Delivered with
/// the root's revocation last, the bar is refused first.
struct Seniority {
    /// The federation document's changes before either revocation, the unit's certificate
    /// (by hongqi) last.
    base: Vec<SignedChange>,
    /// The unit's hall: its genesis, and the bar written after hongqi's cut-off.
    hall: DocId,
    genesis: SignedChange,
    bar: SignedChange,
    /// Hongqi's revocation of the unit (its cut-off holds the hall's genesis).
    by_community: SignedChange,
    /// The root's revocation of hongqi.
    by_root: SignedChange,
}

impl Seniority {
    fn new() -> Seniority {
        let mut district = District::new();
        let fed = district.fed;
        let mut community = district.replica("hongqi", 1);
        let unit_id = key("power-co", 1).node_id();
        let certify_unit = issue(
            &mut community,
            fed,
            unit_id,
            Role::Unit,
            "power-co",
            "hongqi",
        );
        district.root.apply(certify_unit.clone()).unwrap();
        let base = district.fed_changes();
        assert_eq!(base.last(), Some(&certify_unit));
        let mut unit = replica_with("power-co", 1, district.root_id(), &base);
        let genesis = unit
            .create(
                NewDoc::Resource {
                    street: org("beishi"),
                    community: Some(org("hongqi")),
                    spec: ResourceSpec::room("Power-co hall", 10),
                },
                now(),
            )
            .unwrap();
        let hall = genesis.doc;
        community.apply(genesis.clone()).unwrap();
        let by_community = revoke(&mut community, fed, unit_id, "unit key lost");
        let by_root = district.revoke(community.author().node, "community key lost");
        // The unit, unaware of both, writes on.
        let bar = unit
            .execute(
                hall,
                Op::Resource(ResourceOp::Bar {
                    who: Barred::Org("beishi/hongqi/choir".parse::<Scope>().unwrap()),
                    reason: "noise".into(),
                }),
                now(),
            )
            .unwrap()
            .change;
        Seniority {
            base,
            hall,
            genesis,
            bar,
            by_community,
            by_root,
        }
    }

    /// Every change, in the order that refuses the bar before it is accepted.
    fn refusing_first(&self) -> (Vec<SignedChange>, Vec<SignedChange>) {
        let mut first = self.base.clone();
        first.extend([
            self.genesis.clone(),
            self.by_community.clone(),
            self.bar.clone(),
        ]);
        (first, vec![self.by_root.clone()])
    }

    /// Every change, the root's revocation before hongqi's.
    fn senior_first(&self) -> Vec<SignedChange> {
        let mut all = self.base.clone();
        all.extend([
            self.by_root.clone(),
            self.by_community.clone(),
            self.genesis.clone(),
            self.bar.clone(),
        ]);
        all
    }
}

/// A rebuild removes a change that a refusal was judged on: street beishi (certified by the
/// root) certifies community hongqi, which creates its registry; community dianye (certified
/// by the root) forges a compound into it, refused by the write policy while the genesis
/// stands. The root then revokes beishi with an empty cut-off, which withdraws hongqi's
/// certificate: the registry's genesis waits for a certificate again, and the forged change
/// — judged again as if the genesis had never been accepted — waits for it too.
struct RemovedDependency {
    /// The federation document's changes before the revocation, beishi's certificate of
    /// hongqi last.
    base: Vec<SignedChange>,
    /// Hongqi's registry: its genesis, and dianye's forged change on it.
    registry: DocId,
    genesis: SignedChange,
    forged: SignedChange,
    /// The root's revocation of beishi (it has seen none of beishi's changes).
    by_root: SignedChange,
}

impl RemovedDependency {
    fn new() -> RemovedDependency {
        let mut district = District::new();
        let fed = district.fed;
        let street_id = key("beishi", 1).node_id();
        district.certify_street(street_id);
        let mut forger = district.replica("dianye", 1);
        let mut street = replica_with("beishi", 1, district.root_id(), &district.fed_changes());
        let hongqi_id = key("hongqi", 1).node_id();
        let certify_hongqi = issue(
            &mut street,
            fed,
            hongqi_id,
            Role::Community,
            "hongqi",
            "beishi",
        );
        // The root never sees beishi's certificate of hongqi.
        let mut base = district.fed_changes();
        base.push(certify_hongqi);
        let mut hongqi = replica_with("hongqi", 1, district.root_id(), &base);
        let genesis = hongqi
            .create(
                NewDoc::Registry {
                    street: org("beishi"),
                    community: org("hongqi"),
                    title: "Hongqi compounds".into(),
                },
                now(),
            )
            .unwrap();
        let registry = genesis.doc;
        // Dianye writes into hongqi's registry, bypassing the typed checks.
        forger.apply(base.last().unwrap().clone()).unwrap();
        forger.apply(genesis.clone()).unwrap();
        let mut doc = forger.doc(registry).unwrap().clone();
        doc.set_author(forger.author());
        let compound = Compound::new("Forged Yard", "9 Nowhere", 1, ManagementMode::SelfManaged);
        let change = doc
            .commit(
                now(),
                "forged",
                &[Put::new("compounds", "dianye:900", &compound)],
            )
            .unwrap();
        let forged = SignedChange::sign(&key("dianye", 1), registry, change.raw_bytes()).unwrap();
        let by_root = district.revoke(street_id, "street key lost");
        RemovedDependency {
            base,
            registry,
            genesis,
            forged,
            by_root,
        }
    }

    fn refusing_first(&self) -> (Vec<SignedChange>, Vec<SignedChange>) {
        let mut first = self.base.clone();
        first.extend([self.genesis.clone(), self.forged.clone()]);
        (first, vec![self.by_root.clone()])
    }

    fn revocation_first(&self) -> Vec<SignedChange> {
        let mut all = self.base.clone();
        all.extend([
            self.by_root.clone(),
            self.genesis.clone(),
            self.forged.clone(),
        ]);
        all
    }
}

impl District {
    /// Certifies `subject` as the street office of `beishi`; returns the change (already
    /// applied to the root's replica).
    fn certify_street(&mut self, subject: NodeId) -> SignedChange {
        self.root
            .execute(
                self.fed,
                Op::Federation(FederationOp::Issue {
                    subject,
                    role: Role::Street,
                    org: org("beishi"),
                    parent: None,
                    name: "beishi street office".into(),
                    not_before: valid_from(),
                    not_after: valid_until(),
                }),
                valid_from(),
            )
            .unwrap()
            .change
    }
}

/// A fresh node (it needs no certificate to receive and judge changes).
async fn fresh_node(dir: &std::path::Path, root: NodeId, options: OpenOptions) -> Node {
    let mut init = InitOptions::new(org("xianghe"), root);
    init.secret = Some(secret("xianghe", 1));
    Node::init(dir, init, options).await.unwrap()
}

/// What must agree between nodes that received the same changes: the status counts (not
/// the identity or directory) and the refused changes by document and hash.
fn verdict(st: &NodeStatus) -> (u64, u64, u64, u64, usize, String) {
    (
        st.log,
        st.accepted,
        st.pending,
        st.refused,
        st.waiting_in_replica,
        format!("{:?}", st.documents),
    )
}

async fn refused_set(node: &Node) -> BTreeSet<(DocId, ChangeHash)> {
    node.rejected()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.doc, r.hash))
        .collect()
}

/// Applies `changes` one command each (so each is judged as it arrives).
async fn apply_each(node: &Node, changes: &[SignedChange]) {
    for sc in changes {
        let _ = node.apply(sc.clone()).await;
    }
}

fn refused(r: &Result<Applied, CoreError>) -> bool {
    matches!(r, Err(CoreError::Rejected(_)))
}

#[tokio::test]
async fn a_refusal_withdrawn_by_a_more_senior_revocation_is_stored_as_accepted() {
    let s = Seniority::new();
    let root = root_key().node_id();
    // Snapshots after every accepted change, so the per-document counts of accepted changes
    // show in the snapshots taken.
    let options = OpenOptions {
        snapshot_every: 1,
        ..opts()
    };
    let dir = tempfile::tempdir().unwrap();
    let node = fresh_node(dir.path(), root, options.clone()).await;
    let (first, last) = s.refusing_first();
    let results = node.apply_batch(first).await.unwrap();
    assert!(refused(results.last().unwrap()), "{results:?}");
    assert_eq!(
        refused_set(&node).await,
        BTreeSet::from([(s.hall, hash(&s.bar))])
    );
    assert_eq!(node.status().await.unwrap().refused, 1);
    let hall_snapshot = node.snapshot(s.hall).await.unwrap().unwrap();
    assert_eq!(hall_snapshot.changes, 1);

    // The root's revocation: hongqi's revocation falls, the bar stands — stored as accepted
    // by the same command, with the hall's event.
    let mut events = node.subscribe();
    for r in node.apply_batch(last).await.unwrap() {
        assert!(matches!(r, Ok(Applied::Applied(_))), "{r:?}");
    }
    let by_community = (s.base[0].doc, hash(&s.by_community));
    assert_eq!(refused_set(&node).await, BTreeSet::from([by_community]));
    let live = node.status().await.unwrap();
    assert_eq!(
        (live.refused, live.pending, live.accepted, live.log),
        (1, 0, live.log - 1, 7)
    );
    let bar = hash(&s.bar);
    let ev = wait_for(
        &mut events,
        "the hall gaining the bar",
        |e| matches!(e, NodeEvent::DocumentChanged { doc, .. } if *doc == s.hall),
    )
    .await;
    let NodeEvent::DocumentChanged { heads, .. } = ev else {
        unreachable!()
    };
    assert_eq!(heads, vec![bar]);
    assert_eq!(node.heads(s.hall).await.unwrap(), vec![bar]);
    // Counted among the hall's accepted changes: the snapshot policy saved it.
    let hall_snapshot = node.snapshot(s.hall).await.unwrap().unwrap();
    assert_eq!((hall_snapshot.changes, hall_snapshot.heads), (2, vec![bar]));
    let rejected = node.rejected().await.unwrap();
    node.shutdown().await.unwrap();

    // Reopened: the same.
    let node = Node::open(dir.path(), options.clone()).await.unwrap();
    assert_eq!(settled(node.status().await.unwrap()), settled(live.clone()));
    assert_eq!(node.rejected().await.unwrap(), rejected);
    assert_eq!(node.heads(s.hall).await.unwrap(), vec![bar]);
    node.shutdown().await.unwrap();

    // The other order: the bar is never refused; the same verdict.
    let other = tempfile::tempdir().unwrap();
    let node = fresh_node(other.path(), root, options.clone()).await;
    apply_each(&node, &s.senior_first()).await;
    assert_eq!(verdict(&node.status().await.unwrap()), verdict(&live));
    assert_eq!(refused_set(&node).await, BTreeSet::from([by_community]));
    assert_eq!(node.heads(s.hall).await.unwrap(), vec![bar]);
    node.shutdown().await.unwrap();

    // The refusing order in one batch: the bar is refused and accepted again within the
    // command, which stores it as accepted and reports no rejection of it.
    let batch = tempfile::tempdir().unwrap();
    let node = fresh_node(batch.path(), root, options.clone()).await;
    let mut events = node.subscribe();
    let (mut all, last) = s.refusing_first();
    all.extend(last);
    let results = node.apply_batch(all).await.unwrap();
    assert!(refused(&results[results.len() - 2]), "{results:?}");
    assert_eq!(verdict(&node.status().await.unwrap()), verdict(&live));
    assert_eq!(refused_set(&node).await, BTreeSet::from([by_community]));
    assert_eq!(node.heads(s.hall).await.unwrap(), vec![bar]);
    // Events are sent before the command's reply: all of them are here.
    let mut rejections = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let NodeEvent::ChangeRejected { hash, .. } = e {
            rejections.push(hash);
        }
    }
    assert_eq!(rejections, vec![by_community.1]);
    node.shutdown().await.unwrap();
    let node = Node::open(batch.path(), options).await.unwrap();
    assert_eq!(verdict(&node.status().await.unwrap()), verdict(&live));
    assert_eq!(refused_set(&node).await, BTreeSet::from([by_community]));
    node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refusal_judged_on_a_removed_dependency_is_stored_as_pending() {
    let s = RemovedDependency::new();
    let root = root_key().node_id();
    let dir = tempfile::tempdir().unwrap();
    let node = fresh_node(dir.path(), root, opts()).await;
    let (first, last) = s.refusing_first();
    let results = node.apply_batch(first).await.unwrap();
    assert!(refused(results.last().unwrap()), "{results:?}");
    assert_eq!(
        refused_set(&node).await,
        BTreeSet::from([(s.registry, hash(&s.forged))])
    );

    // The root's revocation of the street: hongqi's certificate is refused, the registry's
    // genesis waits for a certificate again, and the forged change waits for the genesis.
    node.apply_batch(last).await.unwrap();
    let fed = s.base[0].doc;
    let certify_hongqi = hash(s.base.last().unwrap());
    assert_eq!(
        refused_set(&node).await,
        BTreeSet::from([(fed, certify_hongqi)])
    );
    let live = node.status().await.unwrap();
    assert_eq!(
        (live.refused, live.pending, live.waiting_in_replica),
        (1, 2, 2)
    );
    assert_eq!(live.accepted + 3, live.log);
    let rejected = node.rejected().await.unwrap();
    node.shutdown().await.unwrap();

    let node = Node::open(dir.path(), opts()).await.unwrap();
    assert_eq!(settled(node.status().await.unwrap()), settled(live.clone()));
    assert_eq!(node.rejected().await.unwrap(), rejected);
    node.shutdown().await.unwrap();

    // The revocation first: the forged change is never judged, it waits; the same verdict.
    let other = tempfile::tempdir().unwrap();
    let node = fresh_node(other.path(), root, opts()).await;
    apply_each(&node, &s.revocation_first()).await;
    assert_eq!(verdict(&node.status().await.unwrap()), verdict(&live));
    assert_eq!(
        refused_set(&node).await,
        BTreeSet::from([(fed, certify_hongqi)])
    );
    node.shutdown().await.unwrap();
}
