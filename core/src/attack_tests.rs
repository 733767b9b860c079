//! Attack tests: forged, mis-signed, mis-certified, revoked, malformed and replayed changes
//! sent to a replica. Each is refused with its precise error or reason, leaves every document
//! unchanged and — when refused — is never offered to peers by [`Replica::changes`].
//!
//! Forged changes are made with [`Document::commit`] on a copy of the attacker's document, so
//! they bypass the typed operation checks and the local write policy, and only the receiving
//! replica's `apply` stands between them and the document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use automerge::ChangeHash;

use crate::cert::{CertError, Certificate, Revocation, Role};
use crate::document::{Author, DocError, Document, MAX_CHANGE_BYTES, Put};
use crate::federation::{self, FederationOp};
use crate::identity::{Keypair, Signature};
use crate::ids::{BookingId, CertId, CompoundId, DocId, NodeId, VolunteerId};
use crate::ledger::{Entry, EntryBody, LedgerOp, Points};
use crate::policy::PolicyError;
use crate::registry::{Compound, ManagementMode, RegistryOp};
use crate::replica::{Applied, Effect, Error, NewDoc, Op, RejectReason, Rejection, Replica};
use crate::resource::{
    Barred, BookingForm, BookingRequest, Decision, ResourceError, ResourceOp, ResourceSpec, Verdict,
};
use crate::signed::{self, HEADER_LEN, SignedChange, SignedError};
use crate::testutil::{
    date, district, fed_id, key, node, org, replica, root, root_key, scope, send, t, valid_from,
    valid_until,
};
use crate::time::{Slot, Timestamp};

// ---- fixtures -------------------------------------------------------------------------------

fn now() -> Timestamp {
    t("2026-06-01T10:00:00+08:00")
}

/// The clock of the booking tests: a week before the slot booked.
fn booking_now() -> Timestamp {
    t("2026-11-20T09:00:00+08:00")
}

fn thursday() -> Slot {
    Slot::new(
        t("2026-11-26T19:00:00+08:00"),
        t("2026-11-26T21:00:00+08:00"),
    )
    .unwrap()
}

fn vol(s: &str) -> VolunteerId {
    s.parse().unwrap()
}

fn ledger(r: &mut Replica, community: &str) -> DocId {
    r.create(
        NewDoc::Ledger {
            street: org("beishi"),
            community: org(community),
            year: 2026,
            rules: crate::testutil::hand_rules(),
        },
        now(),
    )
    .unwrap()
    .doc
}

fn service(r: &mut Replica, doc: DocId, v: &str, hours: f64) -> SignedChange {
    r.execute(
        doc,
        Op::Ledger(LedgerOp::RecordService {
            volunteer: vol(v),
            activity: "elder care rota".into(),
            team: None,
            date: date(2026, 5, 30),
            hours,
            evidence: None,
        }),
        now(),
    )
    .unwrap()
    .change
}

fn registry(r: &mut Replica) -> (DocId, CompoundId) {
    let doc = r
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye compounds".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    let w = r
        .execute(
            doc,
            Op::Registry(RegistryOp::AddCompound(Compound::new(
                "Shimalu",
                "1 Shimalu",
                157,
                ManagementMode::Unmanaged,
            ))),
            now(),
        )
        .unwrap();
    let Effect::Compound(c) = w.effect else {
        panic!("expected a compound, got {:?}", w.effect)
    };
    (doc, c)
}

/// A room of `owner`'s organisation in community dianye.
fn room(owner: &mut Replica, name: &str) -> DocId {
    owner
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("dianye")),
                spec: ResourceSpec::room(name, 30),
            },
            booking_now(),
        )
        .unwrap()
        .doc
}

fn request(r: &mut Replica, doc: DocId, slot: Slot) -> (BookingId, SignedChange) {
    let form = BookingForm::new("Wang Fang", "reading club", slot, 12);
    let w = r
        .execute(doc, Op::Resource(ResourceOp::Request(form)), booking_now())
        .unwrap();
    let Effect::Booking(b) = w.effect else {
        panic!("expected a booking, got {:?}", w.effect)
    };
    (b, w.change)
}

fn booking_status(r: &Replica, doc: DocId, b: &BookingId) -> &'static str {
    r.resource(doc)
        .unwrap()
        .status(b)
        .map_or("absent", |s| s.label())
}

/// The root (or any node) issuing a certificate in the district's federation document.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per certificate field"
)]
fn issue(
    issuer: &mut Replica,
    subject: NodeId,
    role: Role,
    o: &str,
    parent: Option<&str>,
    not_before: Timestamp,
    not_after: Timestamp,
    at: Timestamp,
) -> Result<SignedChange, Error> {
    issuer
        .execute(
            fed_id(),
            Op::Federation(FederationOp::Issue {
                subject,
                role,
                org: org(o),
                parent: parent.map(org),
                name: format!("{o} (certified in a test)"),
                not_before,
                not_after,
            }),
            at,
        )
        .map(|w| w.change)
}

// ---- forging ----------------------------------------------------------------------------------

/// An attacker holding node `n` of `o`'s key: writes raw changes on its own copy of a
/// document, each on top of its previous ones, and signs them with that key. The actor uses
/// a distinct incarnation so forged changes never share `(actor, seq)` with the honest
/// node's changes.
struct Forger {
    doc: Document,
    key: Keypair,
}

impl Forger {
    fn new(base: &Document, o: &str, n: u8) -> Self {
        let mut doc = base.clone();
        doc.set_author(&Author {
            node: node(o, n),
            incarnation: [0xEE; 8],
            org: org(o),
        });
        Self {
            doc,
            key: key(o, n),
        }
    }

    /// The raw change, unsigned.
    fn raw(&mut self, at: Timestamp, puts: &[Put]) -> automerge::Change {
        self.doc.commit(at, "forged", puts).unwrap()
    }

    /// The change signed by the attacker's key.
    fn write(&mut self, at: Timestamp, puts: &[Put]) -> SignedChange {
        let c = self.raw(at, puts);
        SignedChange::sign(&self.key, self.doc.id(), c.raw_bytes()).unwrap()
    }
}

/// A record key `o@tag:k` numbered by the forger node `n` of `o` (the tag of its key and
/// forging incarnation), as the write policy requires for records one numbers oneself.
fn own(o: &str, n: u8, k: u64) -> String {
    let a = Author {
        node: node(o, n),
        incarnation: [0xEE; 8],
        org: org(o),
    };
    format!("{o}@{}:{k}", hex::encode(a.tag()))
}

/// One forged change by node `n` of `o` on top of `base`.
fn forge(base: &Document, o: &str, n: u8, at: Timestamp, puts: &[Put]) -> SignedChange {
    Forger::new(base, o, n).write(at, puts)
}

// ---- checks ---------------------------------------------------------------------------------

fn hash(sc: &SignedChange) -> ChangeHash {
    sc.change_hash().unwrap()
}

fn short(h: &ChangeHash) -> String {
    hex::encode(&h.0[..4])
}

/// Heads of every document of a replica.
fn heads(r: &Replica) -> BTreeMap<DocId, Vec<ChangeHash>> {
    r.docs()
        .iter()
        .map(|(id, d)| {
            let mut h = d.heads();
            h.sort();
            (*id, h)
        })
        .collect()
}

/// Hashes of every change the replica would offer to a peer.
fn offered(r: &Replica) -> BTreeSet<ChangeHash> {
    r.docs()
        .keys()
        .flat_map(|id| r.changes(*id, &[]).unwrap())
        .map(|c| hash(&c))
        .collect()
}

/// Everything a refused or waiting change must leave alone.
#[derive(Debug, PartialEq)]
struct State {
    heads: BTreeMap<DocId, Vec<ChangeHash>>,
    offered: BTreeSet<ChangeHash>,
    rejected: BTreeMap<ChangeHash, Rejection>,
    pending: usize,
}

fn state(r: &Replica) -> State {
    State {
        heads: heads(r),
        offered: offered(r),
        rejected: r.rejected().clone(),
        pending: r.pending_len(),
    }
}

/// [`refused`], and the reason contains `needle`.
fn refused_with(r: &mut Replica, sc: SignedChange, needle: &str) -> Rejection {
    let rej = refused(r, sc);
    assert!(rej.reason.to_string().contains(needle), "{}", rej.reason);
    rej
}

/// Sends a change that must be refused. Checks that the refusal is about this change, is
/// recorded, changed no document, and that the change is not offered to peers; returns it.
fn refused(r: &mut Replica, sc: SignedChange) -> Rejection {
    let h = hash(&sc);
    let before = heads(r);
    let err = r.apply(sc.clone()).unwrap_err();
    let Error::Rejected(rej) = err else {
        panic!("expected a rejection, got {err}")
    };
    assert_eq!((rej.hash, rej.doc, rej.signer), (h, sc.doc, sc.signer));
    assert_eq!(heads(r), before, "a refused change altered a document");
    assert_eq!(r.rejected().get(&h), Some(&*rej), "refusal not recorded");
    assert!(!r.has_change(&h));
    assert!(!offered(r).contains(&h), "a refused change is offered");
    *rej
}

/// Sends a change whose envelope is invalid: nothing may change and nothing is recorded (a
/// forged envelope must not block the genuine change with the same hash).
fn envelope_refused(r: &mut Replica, sc: SignedChange) -> SignedError {
    let before = state(r);
    let err = r.apply(sc.clone()).unwrap_err();
    let Error::Envelope(e) = err else {
        panic!("expected an envelope error, got {err}")
    };
    assert_eq!(state(r), before, "an invalid envelope changed the replica");
    e
}

/// Sends bytes that must be refused as an envelope error, recording nothing. (A cheaper
/// check than [`state`], for the thousands of garbage inputs: the change log, and so what is
/// offered, only grows with the heads.)
fn bytes_refused(r: &mut Replica, bytes: &[u8]) -> SignedError {
    let before = (heads(r), r.rejected().len(), r.pending_len());
    let err = r.apply_bytes(bytes).unwrap_err();
    let Error::Envelope(e) = err else {
        panic!("expected an envelope error, got {err}")
    };
    let after = (heads(r), r.rejected().len(), r.pending_len());
    assert_eq!(after, before, "invalid bytes changed the replica");
    e
}

fn denied(who: &str, kind: &'static str, map: &str, key: &str, reason: &str) -> RejectReason {
    RejectReason::Policy(PolicyError::Denied {
        who: who.into(),
        kind,
        map: map.into(),
        key: key.into(),
        reason: reason.into(),
    })
}

// ---- 1. forged signatures -----------------------------------------------------------------

#[test]
fn attack_forged_signatures_are_refused_and_do_not_block_the_genuine_change() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a, "dianye");
    let genuine = service(&mut a, doc, "dianye:1", 1.0);
    let mut b = replica("beishi", 2);
    b.apply(a.changes(doc, &[]).unwrap()[0].clone()).unwrap();

    // Altered signature bytes.
    for (i, bit) in [(0, 0x01), (17, 0x80), (32, 0x01), (63, 0x40)] {
        let mut f = genuine.clone();
        f.signature.as_mut().expect("signed").0[i] ^= bit;
        assert_eq!(envelope_refused(&mut b, f), SignedError::BadSignature);
    }
    let f = SignedChange {
        signature: Some(Signature([0; 64])),
        ..genuine.clone()
    };
    assert_eq!(envelope_refused(&mut b, f), SignedError::BadSignature);
    // A valid signature of the same change by the same key, but for another document.
    let elsewhere = SignedChange::sign(&key("dianye", 1), DocId([7; 32]), &genuine.change).unwrap();
    let f = SignedChange {
        signature: elsewhere.signature,
        ..genuine.clone()
    };
    assert_eq!(envelope_refused(&mut b, f), SignedError::BadSignature);
    // The genuine envelope relabelled for another document.
    let f = SignedChange {
        doc: DocId([7; 32]),
        ..genuine.clone()
    };
    assert_eq!(envelope_refused(&mut b, f), SignedError::BadSignature);

    // Signed by key A (the change's author) but naming key B as the signer.
    let f = SignedChange {
        signer: node("dianye", 2),
        ..genuine.clone()
    };
    assert_eq!(
        envelope_refused(&mut b, f),
        SignedError::ActorMismatch {
            actor: node("dianye", 1).short(),
            signer: node("dianye", 2).short(),
        }
    );
    // A change authored by B's actor and naming B as the signer, but signed with A's key.
    let mut fb = Forger::new(b.doc(doc).unwrap(), "dianye", 2);
    let entry = Entry {
        volunteer: vol("dianye:1"),
        home: scope("dianye"),
        body: EntryBody::Correction {
            corrects: None,
            delta: Points::whole(100),
            reason: "bonus".into(),
        },
        issuer: scope("dianye"),
        at: now(),
        source: None,
    };
    let raw = fb.raw(now(), &[Put::new("entries", "dianye:9", &entry)]);
    let f = SignedChange {
        doc,
        change: raw.raw_bytes().to_vec(),
        signer: node("dianye", 2),
        signature: Some(key("dianye", 1).sign(&signed::signing_message(&doc, &raw.hash().0))),
    };
    assert_eq!(envelope_refused(&mut b, f), SignedError::BadSignature);

    // Nothing was recorded against the genuine change's hash: it still applies.
    assert!(b.rejected().is_empty());
    assert_eq!(
        b.apply(genuine.clone()).unwrap(),
        Applied::Applied(vec![hash(&genuine)])
    );
    assert!(offered(&b).contains(&hash(&genuine)));
    assert_eq!(
        b.balance(&vol("dianye:1"), crate::testutil::now()),
        Points::whole(1)
    );
}

// ---- 2. valid signature, actor of another key ------------------------------------------------

#[test]
fn attack_a_change_signed_by_a_key_other_than_its_actor_is_an_actor_mismatch() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a, "dianye");
    let genuine = service(&mut a, doc, "dianye:1", 2.0);
    let h = hash(&genuine);
    let mut b = replica("beishi", 2);
    b.apply(a.changes(doc, &[]).unwrap()[0].clone()).unwrap();

    // Node X = dianye 1 made the change; Y signs it with a valid signature of its own.
    for y in [
        key("dianye", 2),
        key("hongqi", 1),
        key("beishi", 1),
        root_key(),
    ] {
        let sc = SignedChange {
            doc,
            change: genuine.change.clone(),
            signer: y.node_id(),
            signature: Some(y.sign(&signed::signing_message(&doc, &h.0))),
        };
        let expected = SignedError::ActorMismatch {
            actor: node("dianye", 1).short(),
            signer: y.node_id().short(),
        };
        assert_eq!(envelope_refused(&mut b, sc), expected);
        // `sign` refuses to make such an envelope in the first place.
        assert_eq!(
            SignedChange::sign(&y, doc, &genuine.change).unwrap_err(),
            expected
        );
    }
    assert_eq!(b.apply(genuine).unwrap(), Applied::Applied(vec![h]));
}

// ---- 3. expired and not-yet-valid certificates ----------------------------------------------

/// A new dianye node is certified by the root twice: `first` (all the receiver knows at
/// first) does not cover the node's writes at `now()`, `second` does. The node writes two
/// entries; the receiver holds them until the second certificate arrives, then applies both.
fn certificate_window(first: (Timestamp, Timestamp), second: (Timestamp, Timestamp)) -> CertError {
    let newcomer = key("dianye", 20);
    let at = t("2026-01-01T00:00:00+08:00");
    let mut rt = root();
    let mut certify = |(from, until): (Timestamp, Timestamp)| {
        issue(
            &mut rt,
            newcomer.node_id(),
            Role::Community,
            "dianye",
            Some("beishi"),
            from,
            until,
            at,
        )
        .unwrap()
    };
    let first = certify(first);
    let second = certify(second);

    let mut owner = replica("dianye", 1);
    let doc = ledger(&mut owner, "dianye");
    let mut nc = replica("dianye", 20);
    nc.apply(first.clone()).unwrap();
    nc.apply(second.clone()).unwrap();
    send(&owner, &mut nc);
    let w1 = service(&mut nc, doc, "dianye:5", 1.0);
    let w2 = service(&mut nc, doc, "dianye:6", 1.0);
    let (h1, h2) = (hash(&w1), hash(&w2));

    let mut rx = replica("beishi", 2);
    send(&owner, &mut rx);
    rx.apply(first).unwrap();
    let before = state(&rx);
    let Applied::AwaitingCertificate(why) = rx.apply(w1).unwrap() else {
        panic!("a change outside its certificate must wait")
    };
    // Its dependent waits for it.
    assert_eq!(rx.apply(w2).unwrap(), Applied::Pending(vec![h1]));
    assert_eq!(rx.pending_len(), 2);
    assert_eq!(rx.awaiting().collect::<Vec<_>>(), vec![&h1]);
    assert_eq!(rx.pending_of(doc), BTreeSet::from([h2]));
    let after = state(&rx);
    assert_eq!(
        (&after.heads, &after.offered, &after.rejected),
        (&before.heads, &before.offered, &before.rejected)
    );
    assert!(!rx.has_change(&h1) && !rx.has_change(&h2));
    assert_eq!(
        rx.balance(&vol("dianye:5"), crate::testutil::now()),
        Points(0)
    );

    // The covering certificate arrives: both changes are applied without being re-sent.
    let h_second = hash(&second);
    assert_eq!(rx.apply(second).unwrap(), Applied::Applied(vec![h_second]));
    assert_eq!(rx.pending_len(), 0);
    assert_eq!(rx.awaiting().count(), 0);
    assert!(rx.has_change(&h1) && rx.has_change(&h2));
    assert!(offered(&rx).is_superset(&BTreeSet::from([h1, h2])));
    assert_eq!(heads(&rx)[&doc], heads(&nc)[&doc]);
    assert_eq!(
        rx.balance(&vol("dianye:5"), crate::testutil::now()),
        Points::whole(1)
    );
    assert_eq!(
        rx.balance(&vol("dianye:6"), crate::testutil::now()),
        Points::whole(1)
    );
    assert!(rx.rejected().is_empty());
    why
}

#[test]
fn attack_a_change_after_its_certificate_expired_waits_for_a_renewal() {
    let end = t("2026-03-01T00:00:00+08:00");
    let why = certificate_window(
        (t("2026-01-01T00:00:00+08:00"), end),
        (end, t("2027-01-01T00:00:00+08:00")),
    );
    assert_eq!(
        why,
        CertError::Expired {
            node: node("dianye", 20).short(),
            not_after: end,
            at: now(),
        }
    );
}

#[test]
fn attack_a_change_before_its_certificate_starts_waits_for_a_covering_one() {
    let start = t("2026-09-01T00:00:00+08:00");
    let why = certificate_window(
        (start, t("2027-01-01T00:00:00+08:00")),
        (t("2026-01-01T00:00:00+08:00"), start),
    );
    assert_eq!(
        why,
        CertError::NotYetValid {
            node: node("dianye", 20).short(),
            not_before: start,
            at: now(),
        }
    );
}

// ---- 4. a foreign root ----------------------------------------------------------------------

#[test]
fn attack_a_foreign_roots_federation_and_communities_are_never_trusted() {
    let at = valid_from();
    // Another root creates its own federation document and certifies an impostor as
    // community "dianye" of street "beishi".
    let fk = Keypair::from_secret(&[0xBB; 32]);
    let mut froot = Replica::new(fk.clone(), [0xBB; 8], org("heping"), fk.node_id());
    let fgen = froot
        .create(NewDoc::Federation { config: district() }, at)
        .unwrap();
    let fid = fgen.doc;
    let impostor = key("dianye", 30);
    let fissue = froot
        .execute(
            fid,
            Op::Federation(FederationOp::Issue {
                subject: impostor.node_id(),
                role: Role::Community,
                org: org("dianye"),
                parent: Some(org("beishi")),
                name: "dianye".into(),
                not_before: valid_from(),
                not_after: valid_until(),
            }),
            at,
        )
        .unwrap()
        .change;
    // Under the foreign root, the impostor is a community and creates "dianye's" registry.
    let mut fcom = Replica::new(impostor.clone(), [30; 8], org("dianye"), fk.node_id());
    fcom.apply(fgen.clone()).unwrap();
    fcom.apply(fissue.clone()).unwrap();
    let rgen = fcom
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye compounds".into(),
            },
            now(),
        )
        .unwrap();
    let rid = rgen.doc;
    let radd = fcom
        .execute(
            rid,
            Op::Registry(RegistryOp::AddCompound(Compound::new(
                "Fake",
                "nowhere",
                1,
                ManagementMode::Unmanaged,
            ))),
            now(),
        )
        .unwrap()
        .change;

    // Our real dianye node receives all of it.
    let mut ours = replica("dianye", 1);
    let before = state(&ours);
    let no_cert = |n: &NodeId| CertError::NoCertificate {
        node: n.short(),
        root: root_key().node_id().short(),
    };
    assert_eq!(
        ours.apply(rgen.clone()).unwrap(),
        Applied::AwaitingCertificate(no_cert(&impostor.node_id()))
    );
    assert_eq!(
        ours.apply(radd.clone()).unwrap(),
        Applied::Pending(vec![ChangeHash(rid.0)])
    );
    // The foreign federation genesis is not judged yet: its signer is simply unknown here,
    // so it waits for a certificate like any change of an unknown key.
    assert_eq!(
        ours.apply(fgen.clone()).unwrap(),
        Applied::AwaitingCertificate(no_cert(&fk.node_id()))
    );
    assert_eq!(
        ours.apply(fissue.clone()).unwrap(),
        Applied::Pending(vec![ChangeHash(fid.0)])
    );
    assert_eq!(
        ours.principal(&impostor.node_id(), now()),
        Err(no_cert(&impostor.node_id()))
    );
    let after = state(&ours);
    assert_eq!(
        (&after.heads, &after.offered, &after.rejected),
        (&before.heads, &before.offered, &before.rejected)
    );
    assert!(ours.doc(rid).is_err() && ours.doc(fid).is_err());
    assert_eq!(ours.pending_len(), 4);

    // Our root certifies the foreign root's key as a street. Now the foreign federation
    // genesis is judged, and refused: only our root creates the federation document. The
    // foreign certificate waiting on it goes with it.
    let mut rt = root();
    let street = issue(
        &mut rt,
        fk.node_id(),
        Role::Street,
        "outer",
        None,
        valid_from(),
        valid_until(),
        at,
    )
    .unwrap();
    ours.apply(street).unwrap();
    let (hg, hi) = (hash(&fgen), hash(&fissue));
    assert_eq!(
        ours.rejected()[&hg].reason,
        RejectReason::Policy(PolicyError::Genesis {
            who: "outer (street)".into(),
            kind: "federation document",
            reason: "only the district root creates the federation document".into(),
        })
    );
    assert_eq!(
        ours.rejected()[&hi].reason,
        RejectReason::DependsOnRejected(short(&hg))
    );
    assert!(ours.doc(fid).is_err());
    // Re-sent, the genesis is refused at once.
    let again = refused(&mut ours, fgen);
    assert_eq!(again, ours.rejected()[&hg]);
    // The impostor still has no chain to our root: its registry keeps waiting.
    assert_eq!(
        ours.principal(&impostor.node_id(), now()),
        Err(no_cert(&impostor.node_id()))
    );
    assert_eq!(ours.awaiting().collect::<Vec<_>>(), vec![&hash(&rgen)]);
    assert_eq!(ours.pending_of(rid), BTreeSet::from([hash(&radd)]));
    assert_eq!(ours.pending_len(), 2);
    assert!(ours.doc(rid).is_err());
    let offered_now = offered(&ours);
    for h in [hg, hi, hash(&rgen), hash(&radd)] {
        assert!(!offered_now.contains(&h));
    }
}

// ---- 5. writing another community's registry -----------------------------------------------

#[test]
fn attack_a_community_writing_another_communitys_registry_is_refused() {
    let mut dy = replica("dianye", 1);
    let (reg, compound) = registry(&mut dy);
    let mut hq = replica("hongqi", 1);
    send(&dy, &mut hq);
    let mut street = replica("beishi", 2);
    send(&dy, &mut street);

    let fake = Compound::new(
        "Hongqi annex",
        "9 Dianye road",
        40,
        ManagementMode::SelfManaged,
    );
    let base = hq.doc(reg).unwrap();
    // A new compound under hongqi's numbering, and an overwrite of dianye's own compound.
    let add = forge(
        base,
        "hongqi",
        1,
        now(),
        &[Put::new("compounds", "hongqi:1", &fake)],
    );
    let overwrite = forge(
        base,
        "hongqi",
        1,
        now(),
        &[Put::new("compounds", compound.to_string(), &fake)],
    );
    let rule = "only community beishi/dianye writes its compounds";
    for rx in [&mut dy, &mut street] {
        for (sc, k) in [
            (add.clone(), "hongqi:1".to_string()),
            (overwrite.clone(), compound.to_string()),
        ] {
            let r = refused(rx, sc);
            assert_eq!(
                r.reason,
                denied(
                    "hongqi (community)",
                    "compound registry",
                    "compounds",
                    &k,
                    rule
                )
            );
            assert!(r.to_string().contains(rule), "{r}");
        }
        let list = rx.registry(reg).unwrap().compounds();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].1.name, "Shimalu");
    }
}

// ---- 6. confirming bookings of a room one does not own --------------------------------------

#[test]
fn attack_confirming_a_booking_of_someone_elses_room_is_refused() {
    let mut owner = replica("dianye", 1);
    let doc = room(&mut owner, "Dianye activity room");
    let mut club = replica("club", 2);
    send(&owner, &mut club);
    let (b, req) = request(&mut club, doc, thursday());
    owner.apply(req).unwrap();
    let mut unit = replica("power-co", 1);
    send(&owner, &mut unit);
    let mut street = replica("beishi", 1);
    send(&owner, &mut street);

    // Through the typed operation both are refused locally.
    for r in [&mut unit, &mut street] {
        let err = r
            .execute(
                doc,
                Op::Resource(ResourceOp::Confirm { booking: b.clone() }),
                booking_now(),
            )
            .unwrap_err();
        assert!(
            matches!(err, Error::Resource(ResourceError::NotArbiter { .. })),
            "{err}"
        );
    }

    let confirmed = |by: &str| {
        Put::new(
            "decisions",
            b.to_string(),
            &Decision {
                verdict: Verdict::Confirmed { slot_index: 0 },
                by: scope(by),
                at: booking_now(),
            },
        )
    };
    let by_unit = forge(
        unit.doc(doc).unwrap(),
        "power-co",
        1,
        booking_now(),
        &[confirmed("power-co")],
    );
    let unit_as_owner = forge(
        unit.doc(doc).unwrap(),
        "power-co",
        1,
        booking_now(),
        &[confirmed("dianye")],
    );
    let by_street = forge(
        street.doc(doc).unwrap(),
        "beishi",
        1,
        booking_now(),
        &[confirmed("beishi")],
    );
    let not_arbiter = |r: &Rejection, who: &str, role: &str| {
        let RejectReason::Policy(PolicyError::Denied {
            who: w,
            kind,
            map,
            key,
            reason,
        }) = &r.reason
        else {
            panic!("expected a policy refusal, got {}", r.reason)
        };
        assert_eq!(
            (w.as_str(), *kind, map.as_str(), key.as_str()),
            (
                format!("{who} ({role})").as_str(),
                "resource",
                "decisions",
                b.to_string().as_str()
            )
        );
        assert!(
            reason.starts_with(&format!("{} is not the arbiter of slot ", scope(who)))
                && reason.ends_with(": its arbiter is beishi/dianye"),
            "{reason}"
        );
    };
    for rx in [&mut owner, &mut club] {
        not_arbiter(&refused(rx, by_unit.clone()), "power-co", "unit");
        assert_eq!(
            refused(rx, unit_as_owner.clone()).reason,
            denied(
                "power-co (unit)",
                "resource",
                "decisions",
                &b.to_string(),
                "the decision names arbiter beishi/dianye, not the signer's scope beishi/dianye/power-co"
            )
        );
        not_arbiter(&refused(rx, by_street.clone()), "beishi", "street");
        assert_eq!(booking_status(rx, doc, &b), "tentative");
    }

    // The owner's own confirmation of the same booking still works, everywhere.
    let w = owner
        .execute(
            doc,
            Op::Resource(ResourceOp::Confirm { booking: b.clone() }),
            booking_now(),
        )
        .unwrap();
    assert!(
        matches!(w.effect, Effect::Confirmed { slot_index: 0, .. }),
        "{:?}",
        w.effect
    );
    assert_eq!(
        club.apply(w.change.clone()).unwrap(),
        Applied::Applied(vec![hash(&w.change)])
    );
    for r in [&owner, &club] {
        assert_eq!(booking_status(r, doc, &b), "confirmed");
        assert_eq!(r.rejected().len(), 3);
    }
}

// ---- 7. redeeming another community's volunteer's points -----------------------------------

#[test]
fn attack_redeeming_another_communitys_volunteers_points_is_refused() {
    let mut dy = replica("dianye", 1);
    let dy_ledger = ledger(&mut dy, "dianye");
    let mut hq = replica("hongqi", 1);
    let hq_ledger = ledger(&mut hq, "hongqi");
    // A dianye volunteer earns 3 points serving in hongqi.
    service(&mut hq, hq_ledger, "dianye:7", 3.0);
    send(&hq, &mut dy);
    send(&dy, &mut hq);
    let mut street = replica("beishi", 2);
    send(&dy, &mut street);
    assert_eq!(
        dy.balance(&vol("dianye:7"), crate::testutil::now()),
        Points::whole(3)
    );

    let redemption = |issuer: &str| Entry {
        volunteer: vol("dianye:7"),
        home: scope("dianye"),
        body: EntryBody::Redemption {
            item: "rice 5kg".into(),
            cost: Points::whole(2),
            outlet: "points store".into(),
            store_item: None,
        },
        issuer: scope(issuer),
        at: now(),
        source: None,
    };
    let rule = "only the home community beishi/dianye redeems points of volunteer dianye:7, in its own ledger";
    let in_own = forge(
        hq.doc(hq_ledger).unwrap(),
        "hongqi",
        1,
        now(),
        &[Put::new(
            "entries",
            own("hongqi", 1, 2),
            &redemption("hongqi"),
        )],
    );
    let in_dianyes = forge(
        hq.doc(dy_ledger).unwrap(),
        "hongqi",
        1,
        now(),
        &[Put::new(
            "entries",
            own("hongqi", 1, 1),
            &redemption("hongqi"),
        )],
    );
    // Posing as dianye in the record: the entry's id and issuer name dianye.
    let posing = forge(
        hq.doc(dy_ledger).unwrap(),
        "hongqi",
        1,
        now(),
        &[Put::new("entries", "dianye:1", &redemption("dianye"))],
    );
    for rx in [&mut dy, &mut street] {
        assert_eq!(
            refused(rx, in_own.clone()).reason,
            denied(
                "hongqi (community)",
                "service ledger",
                "entries",
                &own("hongqi", 1, 2),
                rule
            )
        );
        assert_eq!(
            refused(rx, in_dianyes.clone()).reason,
            denied(
                "hongqi (community)",
                "service ledger",
                "entries",
                &own("hongqi", 1, 1),
                rule
            )
        );
        assert_eq!(
            refused(rx, posing.clone()).reason,
            denied(
                "hongqi (community)",
                "service ledger",
                "entries",
                "dianye:1",
                "record dianye:1 is not numbered by the signer: its key must start with hongqi@ and this key's tag"
            )
        );
        assert_eq!(
            rx.balance(&vol("dianye:7"), crate::testutil::now()),
            Points::whole(3)
        );
    }
}

// ---- 8. writing the federation document without the right ----------------------------------

#[test]
fn attack_certificates_and_settings_written_without_the_right_are_refused() {
    let fed = fed_id();
    let cases: Vec<(&str, u8, Put, &str)> = {
        // A partner certifying itself as a street.
        let own_street = Certificate::issue(
            &key("club", 2),
            node("club", 2),
            Role::Street,
            org("club"),
            None,
            "club",
            valid_from(),
            valid_until(),
        );
        // A street certifying a unit.
        let street_unit = Certificate::issue(
            &key("beishi", 1),
            node("new-unit", 1),
            Role::Unit,
            org("new-unit"),
            Some(org("beishi")),
            "new unit",
            valid_from(),
            valid_until(),
        );
        // A community certifying a unit of another community.
        let wrong_parent = Certificate::issue(
            &key("hongqi", 1),
            node("rogue", 1),
            Role::Unit,
            org("rogue"),
            Some(org("dianye")),
            "rogue",
            valid_from(),
            valid_until(),
        );
        vec![
            (
                "club",
                2,
                Put::new("certs", federation::cert_key(&own_street), &own_street),
                "a partner may not certify a street of the district",
            ),
            (
                "club",
                2,
                Put::new("meta", "config", &district()),
                "only the root sets the district settings",
            ),
            (
                "beishi",
                1,
                Put::new("certs", federation::cert_key(&street_unit), &street_unit),
                "a street may not certify a unit of beishi",
            ),
            (
                "hongqi",
                1,
                Put::new("certs", federation::cert_key(&wrong_parent), &wrong_parent),
                "a community may not certify a unit of dianye",
            ),
        ]
    };
    let mut rt = root();
    let mut rx = replica("xianghe", 1);
    for (o, n, put, rule) in cases {
        let mut attacker = replica(o, n);
        let who = match o {
            "club" => "club (partner)",
            "beishi" => "beishi (street)",
            _ => "hongqi (community)",
        };
        let expected = denied(who, "federation document", put.map, &put.key, rule);
        // The typed operation is refused by the attacker's own replica.
        let op = match put.map {
            "meta" => FederationOp::SetConfig(district()),
            _ => {
                let c: Certificate = serde_json::from_str(&put.value).unwrap();
                FederationOp::Issue {
                    subject: c.subject,
                    role: c.role,
                    org: c.org,
                    parent: c.parent,
                    name: c.name,
                    not_before: c.not_before,
                    not_after: c.not_after,
                }
            }
        };
        let before = heads(&attacker);
        let RejectReason::Policy(local) = expected.clone() else {
            unreachable!()
        };
        assert_eq!(
            attacker
                .execute(fed, Op::Federation(op), now())
                .unwrap_err(),
            Error::Policy(local)
        );
        assert_eq!(heads(&attacker), before);
        // Forged, it is refused by every receiver, the root included.
        let sc = forge(
            attacker.doc(fed).unwrap(),
            o,
            n,
            now(),
            std::slice::from_ref(&put),
        );
        for r in [&mut rt, &mut rx] {
            assert_eq!(refused(r, sc.clone()).reason, expected, "{o}: {rule}");
        }
        if put.map == "certs" {
            let c: Certificate = serde_json::from_str(&put.value).unwrap();
            // The subject is whatever it was before: nothing (the new keys), or still a
            // partner (the club).
            let unchanged = replica("xianghe", 9).principal(&c.subject, now());
            assert!(unchanged.as_ref().map_or(true, |p| p.role != Some(c.role)));
            for r in [&rt, &rx] {
                assert_eq!(r.principal(&c.subject, now()), unchanged);
            }
        }
    }
    // A partner forging a certificate that names the root as its issuer: the record itself
    // does not verify.
    let mut claimed = Certificate::issue(
        &key("club", 2),
        node("club", 2),
        Role::Street,
        org("club"),
        None,
        "club",
        valid_from(),
        valid_until(),
    );
    claimed.issuer = root_key().node_id();
    let club = replica("club", 2);
    let sc = forge(
        club.doc(fed).unwrap(),
        "club",
        2,
        now(),
        &[Put::new("certs", federation::cert_key(&claimed), &claimed)],
    );
    let r = refused(&mut rx, sc);
    assert!(
        matches!(&r.reason, RejectReason::Layout(DocError::BadShape { reason, .. }) if reason.contains("not validly signed by its issuer")),
        "{}",
        r.reason
    );
    assert_eq!(rx.district(), &district());
    assert!(rx.principal(&node("club", 2), now()).unwrap().role == Some(Role::Partner));
}

// ---- 9. writes after the revocation cut-off -------------------------------------------------

#[test]
fn attack_changes_after_a_revocation_cut_off_are_refused_and_earlier_ones_stay() {
    let mut unit = replica("power-co", 1);
    let hall = room(&mut unit, "Power-co hall");
    let bar = |who: &str| {
        Op::Resource(ResourceOp::Bar {
            who: Barred::Org(scope(who)),
            reason: "noise".into(),
        })
    };
    let genesis = unit.changes(hall, &[]).unwrap().remove(0);
    let bar1 = unit
        .execute(hall, bar("troupe"), booking_now())
        .unwrap()
        .change;
    let mut rt = root();
    send(&unit, &mut rt);
    let mut early = replica("dianye", 1);
    send(&unit, &mut early);
    let dy_room = room(&mut early, "Dianye activity room");
    send(&early, &mut unit);

    // The root revokes the unit's key; its cut-off is what the root accepted: bar1.
    let rev = rt
        .execute(
            fed_id(),
            Op::Federation(FederationOp::Revoke {
                subject: node("power-co", 1),
                reason: "key leaked".into(),
                certs: None,
            }),
            booking_now(),
        )
        .unwrap()
        .change;
    let revocations = rt.federation(fed_id()).unwrap().revocations();
    let cutoff = &revocations[&node("power-co", 1)][0].cutoff;
    assert_eq!(cutoff.len(), 1);
    assert_eq!(
        (cutoff[0].doc, cutoff[0].seq, cutoff[0].hash),
        (hall, 2, hash(&bar1).0)
    );

    // The unit, not told yet, writes again: in its hall and in a room it never wrote to.
    let bar2 = unit
        .execute(hall, bar("choir"), booking_now())
        .unwrap()
        .change;
    let (_, req) = request(&mut unit, dy_room, thursday());

    let revoked = RejectReason::Revoked {
        signer: node("power-co", 1).short(),
        revocation: revocations[&node("power-co", 1)][0].short_id(),
        by: root_key().node_id().short(),
        reason: "key leaked".into(),
    };
    // A replica that heard of the revocation first refuses both; so does the root.
    early.apply(rev.clone()).unwrap();
    for r in [&mut early, &mut rt] {
        assert_eq!(refused(r, bar2.clone()).reason, revoked);
    }
    assert_eq!(refused(&mut early, req.clone()).reason, revoked);

    // A replica that had applied them before the revocation arrived drops them.
    let mut late = replica("beishi", 2);
    send(&unit, &mut late);
    assert!(late.has_change(&hash(&bar2)) && late.has_change(&hash(&req)));
    late.apply(rev).unwrap();
    for r in [&early, &late] {
        for sc in [&bar2, &req] {
            assert_eq!(r.rejected()[&hash(sc)].reason, revoked);
            assert!(!r.has_change(&hash(sc)));
            assert!(!offered(r).contains(&hash(sc)));
        }
        // Changes before the cut-off stay.
        for sc in [&genesis, &bar1] {
            assert!(r.has_change(&hash(sc)));
            assert!(offered(r).contains(&hash(sc)));
        }
        assert_eq!(r.resource(hall).unwrap().bars().len(), 1);
        assert!(r.resource(dy_room).unwrap().bookings().is_empty());
    }
    assert_eq!(heads(&late)[&hall], heads(&early)[&hall]);
    assert_eq!(heads(&late)[&dy_room], heads(&early)[&dy_room]);
}

// ---- 9b. hostile revocations ----------------------------------------------------------------

/// The id of the certificate `issuer` issued to `subject`, as `r` holds it.
fn cert_id(r: &Replica, subject: NodeId, issuer: NodeId) -> CertId {
    r.trust()
        .certificates_of(&subject)
        .find(|c| c.issuer == issuer)
        .unwrap()
        .id()
}

fn revoke(
    r: &mut Replica,
    subject: NodeId,
    certs: Option<Vec<CertId>>,
) -> Result<SignedChange, Error> {
    r.execute(
        fed_id(),
        Op::Federation(FederationOp::Revoke {
            subject,
            reason: "hostile".into(),
            certs,
        }),
        now(),
    )
    .map(|w| w.change)
}

/// A revocation record written by hand on `base` (bypassing the typed operation's checks)
/// and signed by `signer`.
fn forged_revocation(
    base: &Document,
    signer: &Keypair,
    subject: NodeId,
    certs: Vec<CertId>,
) -> SignedChange {
    let mut doc = base.clone();
    doc.set_author(&Author {
        node: signer.node_id(),
        incarnation: [0xEE; 8],
        org: org("forger"),
    });
    let rev = Revocation {
        subject,
        certs,
        cutoff: vec![],
        reason: "hostile".into(),
        by: signer.node_id(),
        at: now(),
    };
    let c = doc
        .commit(
            now(),
            "forged",
            &[Put::new(
                "revocations",
                federation::revocation_key(&rev),
                &rev,
            )],
        )
        .unwrap();
    SignedChange::sign(signer, doc.id(), c.raw_bytes()).unwrap()
}

fn denied_reason(r: &Rejection) -> String {
    match &r.reason {
        RejectReason::Policy(PolicyError::Denied { map, reason, .. }) => {
            assert_eq!(map, "revocations");
            reason.clone()
        }
        other => panic!("expected a denied revocation, got {other}"),
    }
}

#[test]
fn attack_a_hostile_revocation_through_a_self_issued_certificate_is_refused() {
    let victim_key = node("dianye", 1);
    let mut victim = replica("dianye", 1);
    let doc = ledger(&mut victim, "dianye");
    let before = service(&mut victim, doc, "dianye:1", 1.0);
    let mut hq = replica("hongqi", 1);
    send(&victim, &mut hq);
    // Hongqi certifies the victim's key as "its unit" (a community may certify any key as
    // its unit), which once let it revoke the victim.
    issue(
        &mut hq,
        victim_key,
        Role::Unit,
        "dianye",
        Some("hongqi"),
        valid_from(),
        valid_until(),
        now(),
    )
    .unwrap();
    let hostile = cert_id(&hq, victim_key, node("hongqi", 1));
    let real = cert_id(&hq, victim_key, node("beishi", 1));

    // The typed operation refuses the victim's real certificate, naming it and the signer.
    let err = revoke(&mut hq, victim_key, Some(vec![real])).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&real.short()) && text.contains(&node("hongqi", 1).short()),
        "{text}"
    );
    // Without naming certificates, it withdraws only the one it issued itself.
    revoke(&mut hq, victim_key, None).unwrap();
    let revs = hq.federation(fed_id()).unwrap().revocations();
    assert_eq!(revs[&victim_key].len(), 1);
    assert_eq!(revs[&victim_key][0].certs, vec![hostile]);
    // ... and only once.
    let again = revoke(&mut hq, victim_key, None).unwrap_err().to_string();
    assert!(again.contains("already revoked"), "{again}");

    // A forged revocation of the real certificate is refused by the receiving replica, with a
    // reason naming the certificate and the signer; so is one by a street that is not above
    // it.
    let mut rx = replica("xianghe", 1);
    send(&hq, &mut rx);
    for signer in [key("hongqi", 1), key("jianzhong", 1)] {
        let forged = forged_revocation(hq.doc(fed_id()).unwrap(), &signer, victim_key, vec![real]);
        let reason = denied_reason(&refused(&mut rx, forged));
        assert!(
            reason.contains(&real.short())
                && reason.contains(&signer.node_id().short())
                && reason.contains("not its issuer"),
            "{reason}"
        );
    }

    // The victim, not told, keeps writing: after the cut-off of hongqi's revocation its
    // street's certificate still stands.
    let after = service(&mut victim, doc, "dianye:2", 1.0);
    assert!(matches!(rx.apply(after.clone()), Ok(Applied::Applied(_))));
    assert!(rx.has_change(&hash(&before)) && rx.has_change(&hash(&after)));
    // And once it heard of everything, too.
    send(&rx, &mut victim);
    let later = service(&mut victim, doc, "dianye:3", 1.0);
    assert!(matches!(rx.apply(later), Ok(Applied::Applied(_))));
    assert!(rx.rejected().values().all(|r| r.signer != victim_key));
}

#[test]
fn attack_the_root_key_cannot_be_revoked() {
    let root_node = root_key().node_id();
    let mut hq = replica("hongqi", 1);
    issue(
        &mut hq,
        root_node,
        Role::Unit,
        "heping",
        Some("hongqi"),
        valid_from(),
        valid_until(),
        now(),
    )
    .unwrap();
    let hostile = cert_id(&hq, root_node, node("hongqi", 1));
    let cannot = "the root key cannot be revoked";
    let err = revoke(&mut hq, root_node, None).unwrap_err().to_string();
    assert!(err.contains(cannot), "{err}");
    let err = revoke(&mut hq, root_node, Some(vec![hostile]))
        .unwrap_err()
        .to_string();
    assert!(err.contains(cannot), "{err}");
    // Not even by the root itself.
    let mut rt = root();
    let err = revoke(&mut rt, root_node, None).unwrap_err().to_string();
    assert!(err.contains(cannot), "{err}");

    // Forged, it is refused on receipt.
    let mut rx = replica("xianghe", 1);
    send(&hq, &mut rx);
    let forged = forged_revocation(
        hq.doc(fed_id()).unwrap(),
        &key("hongqi", 1),
        root_node,
        vec![hostile],
    );
    let reason = denied_reason(&refused(&mut rx, forged));
    assert!(reason.contains(cannot), "{reason}");

    // Certificates the root signs later are accepted.
    let later = issue(
        &mut rt,
        node("hospital", 7),
        Role::Partner,
        "hospital",
        Some("xianghe"),
        valid_from(),
        valid_until(),
        now(),
    )
    .unwrap();
    assert!(matches!(rx.apply(later), Ok(Applied::Applied(_))));
    assert_eq!(
        rx.principal(&node("hospital", 7), now()).unwrap().role,
        Some(Role::Partner)
    );
}

#[test]
fn attack_a_revocation_naming_a_certificate_of_another_key_is_refused() {
    let mut rt = root();
    let unit = node("power-co", 1);
    let community_cert = cert_id(&rt, node("dianye", 1), node("beishi", 1));
    let err = revoke(&mut rt, unit, Some(vec![community_cert]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&community_cert.short()) && err.contains("is a certificate of key"),
        "{err}"
    );
    // Forged (by the root, who may revoke any certificate of the key it names).
    let forged = forged_revocation(
        rt.doc(fed_id()).unwrap(),
        &root_key(),
        unit,
        vec![community_cert],
    );
    let mut rx = replica("xianghe", 1);
    let reason = denied_reason(&refused(&mut rx, forged));
    assert!(
        reason.contains(&community_cert.short())
            && reason.contains(&format!(
                "it is a certificate of key {}",
                node("dianye", 1).short()
            )),
        "{reason}"
    );
    // An unknown certificate is refused too, and so is a revocation naming none.
    for certs in [vec![CertId([9; 32])], vec![]] {
        let forged = forged_revocation(rt.doc(fed_id()).unwrap(), &root_key(), unit, certs);
        refused(&mut rx, forged);
    }
    assert!(rx.revocations_in_force().is_empty());
}

// ---- 10. truncated, garbage and oversized bytes ---------------------------------------------

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn attack_truncated_garbage_and_oversized_bytes_are_errors_and_record_nothing() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a, "dianye");
    let genuine = service(&mut a, doc, "dianye:1", 1.0);
    let bytes = genuine.encode();
    let mut b = replica("beishi", 2);
    b.apply(a.changes(doc, &[]).unwrap()[0].clone()).unwrap();
    let start = state(&b);

    // Every prefix of a valid encoding.
    for n in 0..bytes.len() {
        let expected = SignedError::Truncated {
            needed: if n < HEADER_LEN {
                HEADER_LEN
            } else {
                bytes.len()
            },
            got: n,
        };
        assert_eq!(bytes_refused(&mut b, &bytes[..n]), expected, "prefix {n}");
    }
    // Every prefix of the change inside a consistent envelope.
    for n in 0..genuine.change.len() {
        let sc = SignedChange {
            change: genuine.change[..n].to_vec(),
            ..genuine.clone()
        };
        let e = bytes_refused(&mut b, &sc.encode());
        assert!(
            matches!(e, SignedError::MalformedChange(_)),
            "change prefix {n}: {e}"
        );
    }
    // Other structural errors.
    let mut v3 = bytes.clone();
    v3[0] = 3;
    assert_eq!(bytes_refused(&mut b, &v3), SignedError::UnknownVersion(3));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        bytes_refused(&mut b, &trailing),
        SignedError::TrailingBytes(1)
    );

    // Seeded random garbage: plain, behind a well-formed header, and behind a header plus
    // the automerge magic bytes and change chunk type (to reach the change parser).
    let mut rng = Rng(0x5EED_0A77_AC4B_17E5);
    for i in 0..3000 {
        let len = rng.below(600);
        let body = rng.bytes(len);
        let candidate = match i % 3 {
            0 => body,
            kind => {
                let mut change = if kind == 2 {
                    let mut c = vec![0x85, 0x6f, 0x4a, 0x83];
                    c.extend(rng.bytes(4));
                    c.push(1);
                    c
                } else {
                    Vec::new()
                };
                change.extend(body);
                let sc = SignedChange {
                    doc: if rng.below(2) == 0 {
                        doc
                    } else {
                        DocId([3; 32])
                    },
                    change,
                    signer: NodeId(rng.bytes(32).try_into().unwrap()),
                    signature: Some(Signature(rng.bytes(64).try_into().unwrap())),
                };
                sc.encode()
            }
        };
        bytes_refused(&mut b, &candidate);
    }
    // Seeded random mutations of the valid encoding: 1 to 4 bytes changed anywhere.
    for _ in 0..3000 {
        let mut m = bytes.clone();
        for _ in 0..=rng.below(4) {
            let i = rng.below(m.len());
            m[i] ^= (rng.below(255) + 1) as u8;
        }
        bytes_refused(&mut b, &m);
    }

    // Oversized: refused from the length field, before the change is read.
    let mut huge = bytes[..HEADER_LEN].to_vec();
    huge[129..133].copy_from_slice(&(MAX_CHANGE_BYTES as u32 + 1).to_le_bytes());
    let oversized = SignedError::Oversized {
        size: MAX_CHANGE_BYTES + 1,
        limit: MAX_CHANGE_BYTES,
    };
    assert_eq!(bytes_refused(&mut b, &huge), oversized);
    huge.extend(vec![0u8; MAX_CHANGE_BYTES + 1]);
    assert_eq!(bytes_refused(&mut b, &huge), oversized);
    huge.truncate(HEADER_LEN);
    huge[129..133].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        bytes_refused(&mut b, &huge),
        SignedError::Oversized {
            size: u32::MAX as usize,
            limit: MAX_CHANGE_BYTES,
        }
    );
    // An oversized change handed over in memory.
    let big = SignedChange {
        change: vec![0u8; MAX_CHANGE_BYTES + 1],
        ..genuine.clone()
    };
    assert_eq!(envelope_refused(&mut b, big), oversized);

    assert_eq!(state(&b), start);
    assert!(b.rejected().is_empty());
    assert_eq!(b.pending_len(), 0);
    // The genuine bytes still apply.
    assert_eq!(
        b.apply_bytes(&bytes).unwrap(),
        Applied::Applied(vec![hash(&genuine)])
    );
}

// ---- 11. changes that depend on a refused change --------------------------------------------

#[test]
fn attack_changes_built_on_a_refused_change_are_refused() {
    let mut owner = replica("dianye", 1);
    let doc = room(&mut owner, "Dianye activity room");
    let mut club = replica("club", 2);
    send(&owner, &mut club);
    let (b, req) = request(&mut club, doc, thursday());
    owner.apply(req).unwrap();
    send(&owner, &mut club);

    // The club confirms its own booking (refused: the owner arbitrates), then builds on it a
    // request that on its own would be allowed, and a third change on that.
    let new_request = |n: u32| {
        Put::new(
            "requests",
            own("club", 2, u64::from(n)),
            &BookingRequest {
                form: BookingForm::new("W. F.", "reading club", thursday(), 12),
                requested_at: booking_now(),
                by: scope("club"),
            },
        )
    };
    let mut attacker = Forger::new(club.doc(doc).unwrap(), "club", 2);
    let f1 = attacker.write(
        booking_now(),
        &[Put::new(
            "decisions",
            b.to_string(),
            &Decision {
                verdict: Verdict::Confirmed { slot_index: 0 },
                by: scope("club"),
                at: booking_now(),
            },
        )],
    );
    let f2 = attacker.write(booking_now(), &[new_request(2)]);
    let f3 = attacker.write(booking_now(), &[new_request(3)]);
    let (h1, h2, h3) = (hash(&f1), hash(&f2), hash(&f3));

    // In causal order.
    let mut rx = owner.clone();
    assert!(matches!(
        refused(&mut rx, f1.clone()).reason,
        RejectReason::Policy(PolicyError::Denied { .. })
    ));
    assert_eq!(
        refused(&mut rx, f2.clone()).reason,
        RejectReason::DependsOnRejected(short(&h1))
    );
    assert_eq!(
        refused(&mut rx, f3.clone()).reason,
        RejectReason::DependsOnRejected(short(&h2))
    );

    // In reverse order: the dependents wait, then are refused with their dependency.
    let mut ry = replica("beishi", 2);
    send(&owner, &mut ry);
    let before = state(&ry);
    assert_eq!(ry.apply(f3).unwrap(), Applied::Pending(vec![h2]));
    assert_eq!(ry.apply(f2).unwrap(), Applied::Pending(vec![h1]));
    assert_eq!(ry.pending_len(), 2);
    refused(&mut ry, f1);
    assert_eq!(ry.pending_len(), 0);
    assert_eq!(
        ry.rejected()[&h2].reason,
        RejectReason::DependsOnRejected(short(&h1))
    );
    assert_eq!(
        ry.rejected()[&h3].reason,
        RejectReason::DependsOnRejected(short(&h2))
    );
    assert_eq!(heads(&ry), before.heads);
    assert_eq!(offered(&ry), before.offered);
    assert_eq!(
        ry.rejected().keys().collect::<Vec<_>>(),
        rx.rejected().keys().collect::<Vec<_>>()
    );

    // The same request without the refused dependency is accepted.
    let honest = forge(
        owner.doc(doc).unwrap(),
        "club",
        2,
        booking_now(),
        &[new_request(2)],
    );
    assert_eq!(
        ry.apply(honest.clone()).unwrap(),
        Applied::Applied(vec![hash(&honest)])
    );
    assert_eq!(booking_status(&ry, doc, &b), "tentative");
}

// ---- 12. replays ----------------------------------------------------------------------------

#[test]
fn attack_replayed_changes_change_nothing_and_refusals_are_recorded_once() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a, "dianye");
    let genesis = a.changes(doc, &[]).unwrap().remove(0);
    let c1 = service(&mut a, doc, "dianye:1", 1.0);
    let mut b = replica("beishi", 2);
    send(&a, &mut b);
    let start = state(&b);

    // Applied changes, replayed in every form, are duplicates.
    let mut broken = c1.clone();
    broken.signature.as_mut().expect("signed").0[0] ^= 1;
    for sc in [c1.clone(), genesis.clone(), c1.clone(), broken] {
        assert_eq!(b.apply(sc).unwrap(), Applied::Duplicate);
    }
    assert_eq!(b.apply_bytes(&c1.encode()).unwrap(), Applied::Duplicate);
    assert_eq!(state(&b), start);
    assert_eq!(
        b.balance(&vol("dianye:1"), crate::testutil::now()),
        Points::whole(1)
    );

    // A refused change, re-sent, is refused again with the same reason, recorded once.
    let forged = forge(
        b.doc(doc).unwrap(),
        "hongqi",
        1,
        now(),
        &[Put::new(
            "entries",
            "hongqi:1",
            &Entry {
                volunteer: vol("dianye:1"),
                home: scope("dianye"),
                body: EntryBody::Redemption {
                    item: "tea".into(),
                    cost: Points::whole(1),
                    outlet: "store".into(),
                    store_item: None,
                },
                issuer: scope("hongqi"),
                at: now(),
                source: None,
            },
        )],
    );
    let first = refused(&mut b, forged.clone());
    let after_first = state(&b);
    for _ in 0..3 {
        assert_eq!(refused(&mut b, forged.clone()), first);
        assert_eq!(
            b.apply_bytes(&forged.encode()).unwrap_err(),
            Error::Rejected(Box::new(first.clone()))
        );
    }
    assert_eq!(state(&b), after_first);
    assert_eq!(b.rejected().len(), 1);

    // A change waiting for a certificate, re-sent, still waits and is held once.
    let uncertified = forge(
        b.doc(doc).unwrap(),
        "dianye",
        21,
        now(),
        &[Put::new("meta", "rules", &crate::testutil::hand_rules())],
    );
    for _ in 0..3 {
        assert_eq!(
            b.apply(uncertified.clone()).unwrap(),
            Applied::AwaitingCertificate(CertError::NoCertificate {
                node: node("dianye", 21).short(),
                root: root_key().node_id().short(),
            })
        );
        assert_eq!(b.pending_len(), 1);
    }
    assert_eq!(heads(&b), after_first.heads);

    // A change waiting for its dependencies, re-sent, still waits and is held once.
    let c2 = service(&mut a, doc, "dianye:2", 1.0);
    let c3 = service(&mut a, doc, "dianye:3", 1.0);
    for _ in 0..3 {
        assert_eq!(
            b.apply(c3.clone()).unwrap(),
            Applied::Pending(vec![hash(&c2)])
        );
        assert_eq!(b.pending_len(), 2);
    }
    assert_eq!(
        b.apply(c2.clone()).unwrap(),
        Applied::Applied(vec![hash(&c2), hash(&c3)])
    );
    assert_eq!(b.pending_len(), 1);
}

// ---- 13. equivocation -------------------------------------------------------------------------

fn evening(day: &str) -> Slot {
    Slot::new(
        t(&format!("{day}T19:00:00+08:00")),
        t(&format!("{day}T21:00:00+08:00")),
    )
    .unwrap()
}

fn confirm(r: &mut Replica, doc: DocId, booking: &BookingId) -> SignedChange {
    r.execute(
        doc,
        Op::Resource(ResourceOp::Confirm {
            booking: booking.clone(),
        }),
        booking_now(),
    )
    .unwrap()
    .change
}

fn seq_of(sc: &SignedChange) -> u64 {
    sc.verify().unwrap().seq()
}

/// A room owner whose replica was copied (a data directory restored from a backup with the
/// same actor) `forks` times; every copy writes on. Fork `i` confirms booking `booked[i]` (the
/// equivocating changes `x[i]`, all seq `n` of one actor), then confirms `later` (`next[i]`,
/// seq `n + 1`); an organisation that synced only with fork `i` then requests a booking
/// (`on[i]`, built on `x[i]`); and the troupe, which synced before the forks, requests one
/// too (`unrelated`).
struct Forked {
    doc: DocId,
    /// A replica holding the room as it was before the forks.
    observer: Replica,
    booked: Vec<BookingId>,
    later: BookingId,
    x: Vec<SignedChange>,
    next: Vec<SignedChange>,
    on: Vec<(BookingId, SignedChange)>,
    unrelated: (BookingId, SignedChange),
}

impl Forked {
    fn new(forks: usize) -> Forked {
        let mut owner = replica("dianye", 1);
        let doc = room(&mut owner, "Dianye activity room");
        let mut club = replica("club", 2);
        send(&owner, &mut club);
        let days = ["2026-11-23", "2026-11-24", "2026-11-25"];
        let booked: Vec<BookingId> = days[..forks]
            .iter()
            .map(|d| request(&mut club, doc, evening(d)).0)
            .collect();
        let later = request(&mut club, doc, evening("2026-11-26")).0;
        send(&club, &mut owner);
        let mut observer = replica("beishi", 2);
        send(&owner, &mut observer);
        let mut troupe = replica("troupe", 2);
        send(&owner, &mut troupe);
        let unrelated = request(&mut troupe, doc, evening("2026-11-30"));
        let (mut x, mut next, mut on) = (Vec::new(), Vec::new(), Vec::new());
        let builders = ["org-a", "org-b", "org-c"];
        for (i, b) in booked.iter().enumerate() {
            let mut fork = owner.clone();
            x.push(confirm(&mut fork, doc, b));
            let mut builder = replica(builders[i], 2);
            send(&fork, &mut builder);
            on.push(request(&mut builder, doc, evening("2026-12-01")));
            next.push(confirm(&mut fork, doc, &later));
        }
        let seq = seq_of(&x[0]);
        assert!(x.iter().all(|c| seq_of(c) == seq));
        assert!(next.iter().all(|c| seq_of(c) == seq + 1));
        Forked {
            doc,
            observer,
            booked,
            later,
            x,
            next,
            on,
            unrelated,
        }
    }

    /// Every change, in a causal order of fork 0, fork 1 …, then the unrelated one.
    fn all(&self) -> Vec<SignedChange> {
        let mut all = Vec::new();
        for i in 0..self.x.len() {
            all.extend([
                self.x[i].clone(),
                self.next[i].clone(),
                self.on[i].1.clone(),
            ]);
        }
        all.push(self.unrelated.1.clone());
        all
    }

    /// The fork whose change has the smallest hash: the one kept.
    fn kept(&self) -> usize {
        (0..self.x.len()).min_by_key(|i| hash(&self.x[*i])).unwrap()
    }

    /// A copy of the observer that received `changes` in this order.
    fn deliver(&self, changes: &[SignedChange]) -> Replica {
        let mut r = self.observer.clone();
        for sc in changes {
            match r.apply(sc.clone()) {
                Ok(_) | Err(Error::Rejected(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
        r
    }

    /// Checks the outcome of the rule on a replica that received everything.
    fn check(&self, r: &Replica) {
        let k = self.kept();
        let doc = self.doc;
        assert_eq!(r.pending_len(), 0);
        assert_eq!(booking_status(r, doc, &self.later), "confirmed");
        assert_eq!(booking_status(r, doc, &self.unrelated.0), "tentative");
        assert!(r.has_change(&hash(&self.unrelated.1)));
        let signer = node("dianye", 1);
        for i in 0..self.x.len() {
            let (b, on) = (&self.on[i].0, &self.on[i].1);
            if i == k {
                for sc in [&self.x[i], &self.next[i], on] {
                    assert!(r.has_change(&hash(sc)), "fork {i} (kept) lost a change");
                }
                assert_eq!(booking_status(r, doc, &self.booked[i]), "confirmed");
                assert_eq!(booking_status(r, doc, b), "tentative");
            } else {
                assert_eq!(
                    r.rejected()[&hash(&self.x[i])].reason,
                    RejectReason::Equivocation {
                        signer: signer.short(),
                        seq: seq_of(&self.x[i]),
                        kept: short(&hash(&self.x[k])),
                    }
                );
                for sc in [&self.next[i], on] {
                    assert_eq!(
                        r.rejected()[&hash(sc)].reason,
                        RejectReason::DependsOnRejected(short(&hash(&self.x[i])))
                    );
                }
                assert_eq!(booking_status(r, doc, &self.booked[i]), "tentative");
                assert_eq!(booking_status(r, doc, b), "absent");
            }
        }
        assert_eq!(r.rejected().len(), 3 * (self.x.len() - 1));
        let flagged = &r.equivocators()[&signer];
        assert_eq!(r.equivocators().len(), 1);
        assert_eq!(
            (flagged.doc, flagged.seq, flagged.kept),
            (doc, seq_of(&self.x[k]), hash(&self.x[k]))
        );
        let refused: BTreeSet<ChangeHash> = (0..self.x.len())
            .filter(|i| *i != k)
            .map(|i| hash(&self.x[i]))
            .collect();
        assert_eq!(flagged.refused, refused);
    }
}

/// What must be identical on every replica that received the same changes.
fn outcome(
    r: &Replica,
) -> (
    State,
    BTreeMap<NodeId, crate::replica::Equivocation>,
    Vec<crate::resource::BookingView>,
) {
    let doc = r.ids_of(crate::DocKind::Resource)[0];
    (
        state(r),
        r.equivocators().clone(),
        r.resource(doc).unwrap().bookings(),
    )
}

#[test]
fn attack_equivocation_keeps_the_smaller_hash_in_either_order() {
    let f = Forked::new(2);
    let k = f.kept();
    let (small, large) = (&f.x[k], &f.x[1 - k]);
    assert!(hash(small) < hash(large));

    // The smaller first: the larger is refused at once.
    let mut a = f.observer.clone();
    assert_eq!(
        a.apply(small.clone()).unwrap(),
        Applied::Applied(vec![hash(small)])
    );
    let r = refused(&mut a, large.clone());
    assert!(
        matches!(r.reason, RejectReason::Equivocation { .. }),
        "{r:?}"
    );
    assert!(a.equivocators().contains_key(&node("dianye", 1)));

    // The larger first: the smaller arrives later and replaces it (the document is rebuilt
    // without it), and what was built on the larger goes with it.
    let mut b = f.observer.clone();
    b.apply(large.clone()).unwrap();
    b.apply(f.next[1 - k].clone()).unwrap();
    b.apply(f.on[1 - k].1.clone()).unwrap();
    b.apply(f.unrelated.1.clone()).unwrap();
    assert_eq!(booking_status(&b, f.doc, &f.on[1 - k].0), "tentative");
    assert!(b.equivocators().is_empty());
    assert_eq!(
        b.apply(small.clone()).unwrap(),
        Applied::Applied(vec![hash(small)])
    );
    assert!(!b.has_change(&hash(large)));
    assert_eq!(booking_status(&b, f.doc, &f.on[1 - k].0), "absent");
    assert_eq!(booking_status(&b, f.doc, &f.unrelated.0), "tentative");

    // Everything, in both orders: identical replicas, and the rule's outcome.
    let forward = f.all();
    let mut backward = Vec::new();
    for i in [1, 0] {
        backward.extend([f.x[i].clone(), f.next[i].clone(), f.on[i].1.clone()]);
    }
    backward.insert(1, f.unrelated.1.clone());
    let (p, q) = (f.deliver(&forward), f.deliver(&backward));
    f.check(&p);
    f.check(&q);
    assert_eq!(outcome(&p), outcome(&q));
    for sc in f.all() {
        a.apply(sc.clone()).ok();
        b.apply(sc).ok();
    }
    assert_eq!(outcome(&a), outcome(&p));
    assert_eq!(outcome(&b), outcome(&p));
    // Duplicates change nothing.
    let mut again = p.clone();
    for sc in f.all().into_iter().rev() {
        again.apply(sc).ok();
    }
    assert_eq!(outcome(&again), outcome(&p));
}

#[test]
fn attack_equivocation_outcome_does_not_depend_on_arrival_order() {
    // Two and three changes in one slot, delivered in random orders with duplicates,
    // interleaved with other organisations' changes built on the kept change, on a refused
    // one, and on neither.
    let mut rng = Rng(0x5EED_E0C1);
    for forks in [2, 3] {
        let f = Forked::new(forks);
        let reference = f.deliver(&f.all());
        f.check(&reference);
        let expected = outcome(&reference);
        for _ in 0..60 {
            let mut order = f.all();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            for _ in 0..3 {
                let dup = order[rng.below(order.len())].clone();
                order.insert(rng.below(order.len() + 1), dup);
            }
            let r = f.deliver(&order);
            f.check(&r);
            assert_eq!(
                outcome(&r),
                expected,
                "order {:?}",
                order.iter().map(|c| short(&hash(c))).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn attack_equivocation_in_the_federation_takes_the_refused_certificate_away() {
    // The root's replica was copied; each copy certifies another key with one seq. The key
    // certified by the refused change loses its chain: its writes wait for a certificate,
    // whatever arrived first.
    let base = root();
    let mut copies = [base.clone(), base.clone()];
    let subjects = [node("dianye", 21), node("dianye", 22)];
    let mut certs = Vec::new();
    let mut geneses = Vec::new();
    for (i, copy) in copies.iter_mut().enumerate() {
        let c = issue(
            copy,
            subjects[i],
            Role::Community,
            "dianye",
            Some("beishi"),
            valid_from(),
            valid_until(),
            valid_from(),
        )
        .unwrap();
        let n = 21 + i as u8;
        let mut writer = Replica::new(key("dianye", n), [n; 8], org("dianye"), *base.root());
        for sc in copy.changes(fed_id(), &[]).unwrap() {
            writer.apply(sc).unwrap();
        }
        let doc = ledger(&mut writer, "dianye");
        geneses.push(writer.changes(doc, &[]).unwrap().remove(0));
        certs.push(c);
    }
    assert_eq!(seq_of(&certs[0]), seq_of(&certs[1]));
    let k = usize::from(hash(&certs[1]) < hash(&certs[0]));
    let observer = replica("beishi", 2);
    let all: Vec<SignedChange> = certs.iter().chain(&geneses).cloned().collect();
    let mut rng = Rng(0xFED_E0C1);
    let mut outcomes = Vec::new();
    for round in 0..24 {
        let mut order = all.clone();
        if round > 0 {
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            order.push(order[rng.below(order.len())].clone());
        }
        let mut r = observer.clone();
        for sc in order {
            match r.apply(sc) {
                Ok(_) | Err(Error::Rejected(_)) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(r.has_change(&hash(&certs[k])));
        assert!(matches!(
            r.rejected()[&hash(&certs[1 - k])].reason,
            RejectReason::Equivocation { .. }
        ));
        assert!(r.has_change(&hash(&geneses[k])));
        assert!(!r.has_change(&hash(&geneses[1 - k])));
        assert_eq!(
            r.awaiting().copied().collect::<Vec<_>>(),
            [hash(&geneses[1 - k])]
        );
        assert!(r.principal(&subjects[k], now()).is_ok());
        assert!(r.principal(&subjects[1 - k], now()).is_err());
        assert_eq!(
            r.equivocators().keys().collect::<Vec<_>>(),
            [&root_key().node_id()]
        );
        outcomes.push((state(&r), r.equivocators().clone()));
    }
    assert!(outcomes.windows(2).all(|w| w[0] == w[1]));
}

// ---- organisation codes are only unique within their parent ---------------------------------

/// A certificate for `subject` as `role` of `o` (parent `parent`), issued by node 1 of
/// `issuer` and written into the federation document as `r` holds it, forged (so that a
/// local check of the issuer's own replica does not stop it).
fn forged_certificate(
    r: &Replica,
    issuer: &str,
    subject: NodeId,
    role: Role,
    o: &str,
    parent: &str,
) -> SignedChange {
    let cert = Certificate::issue(
        &key(issuer, 1),
        subject,
        role,
        org(o),
        Some(org(parent)),
        o,
        valid_from(),
        valid_until(),
    );
    forge(
        r.doc(fed_id()).unwrap(),
        issuer,
        1,
        now(),
        &[Put::new("certs", federation::cert_key(&cert), &cert)],
    )
}

/// REGRESSION (a bug found by these tests: this test failed at commit a359d63, where the
/// impostor's write was applied; fixed in 6ad8ec8, "policies compare certificate scopes").
/// A street may certify a community under any code, including the code of another street's
/// community: street jianzhong certifies a key as community "dianye" (parent jianzhong).
/// That key must not write the registry of beishi's dianye.
#[test]
fn attack_a_street_cannot_impersonate_another_streets_community() {
    let mut dy = replica("dianye", 1);
    let (reg, compound) = registry(&mut dy);
    let impostor = node("dianye", 40);
    let cert = forged_certificate(
        &dy,
        "jianzhong",
        impostor,
        Role::Community,
        "dianye",
        "jianzhong",
    );
    // The certificate itself is allowed: it names a different organisation that happens to
    // use the same code.
    assert!(matches!(dy.apply(cert).unwrap(), Applied::Applied(_)));
    let p = dy.principal(&impostor, now()).unwrap();
    assert_eq!(
        (p.role, p.org, p.scope),
        (
            Some(Role::Community),
            Some(org("dianye")),
            "jianzhong/dianye".parse().unwrap()
        )
    );
    let fake = Compound::new("Taken over", "nowhere", 1, ManagementMode::Unmanaged);
    let write = forge(
        dy.doc(reg).unwrap(),
        "dianye",
        40,
        now(),
        &[Put::new("compounds", compound.to_string(), &fake)],
    );
    assert_eq!(
        refused(&mut dy, write).reason,
        denied(
            "dianye (community)",
            "compound registry",
            "compounds",
            &compound.to_string(),
            "only community beishi/dianye writes its compounds"
        ),
        "a key certified by street jianzhong as community \"dianye\" rewrote beishi's dianye \
         registry"
    );
    assert_eq!(
        dy.registry(reg).unwrap().compound(&compound).unwrap().name,
        "Shimalu"
    );
}

/// REGRESSION (found and fixed as above), one level down: community hongqi certifies a key as
/// unit "power-co" (parent hongqi), although power-co is dianye's unit. That key must not
/// act as the owner of the real power-co's hall.
#[test]
fn attack_a_community_cannot_impersonate_another_communitys_unit() {
    let mut owner = replica("power-co", 1);
    let hall = room(&mut owner, "Power-co hall");
    let impostor = node("power-co", 40);
    let cert = forged_certificate(&owner, "hongqi", impostor, Role::Unit, "power-co", "hongqi");
    assert!(matches!(owner.apply(cert).unwrap(), Applied::Applied(_)));
    assert_eq!(
        owner.principal(&impostor, now()).unwrap().scope,
        "beishi/hongqi/power-co"
            .parse::<crate::ids::Scope>()
            .unwrap()
    );
    let bar = crate::resource::Bar {
        who: Barred::Org(scope("club")),
        reason: "taken over".into(),
        at: booking_now(),
    };
    let write = forge(
        owner.doc(hall).unwrap(),
        "power-co",
        40,
        booking_now(),
        &[Put::new("bars", "power-co:1", &bar)],
    );
    assert_eq!(
        refused(&mut owner, write).reason,
        denied(
            "power-co (unit)",
            "resource",
            "bars",
            "power-co:1",
            "only the owner beishi/dianye/power-co may bar bookers"
        ),
        "a key certified by community hongqi as unit \"power-co\" wrote dianye's power-co's hall"
    );
    assert!(owner.resource(hall).unwrap().bars().is_empty());
}

// ---- trust v2: principals, not names; receive-side parity -----------------------------------

/// A key certified by street jianzhong as community "dianye" (another street's community with
/// the victim's code), with a replica holding the federation document, that certificate and
/// the victim's documents `docs` as `victim` holds them.
fn same_code_impostor(victim: &Replica, docs: &[DocId]) -> (Replica, SignedChange) {
    let key40 = node("dianye", 40);
    let cert = forged_certificate(
        victim,
        "jianzhong",
        key40,
        Role::Community,
        "dianye",
        "jianzhong",
    );
    let mut imp = replica("dianye", 40);
    imp.apply(cert.clone()).unwrap();
    for d in docs {
        for c in victim.changes(*d, &[]).unwrap() {
            imp.apply(c).unwrap();
        }
    }
    (imp, cert)
}

/// Issue 17, attack class 2: a community with the same code in another street neither
/// confirms nor revokes bookings of the victim's room — through the typed API or a crafted
/// change — and the victim's node keeps its bookings.
#[test]
fn attack_a_same_code_community_of_another_street_cannot_decide_bookings() {
    let mut owner = replica("dianye", 1);
    let hall = room(&mut owner, "Dianye hall");
    let mut club = replica("club", 1);
    send(&owner, &mut club);
    let (b, req) = request(&mut club, hall, thursday());
    owner.apply(req).unwrap();
    let (mut imp, cert) = same_code_impostor(&owner, &[hall]);
    owner.apply(cert).unwrap();
    assert_eq!(
        imp.principal(&node("dianye", 40), booking_now())
            .unwrap()
            .scope,
        "jianzhong/dianye".parse::<crate::ids::Scope>().unwrap()
    );

    // Typed API: not the arbiter (its scope is jianzhong/dianye, the owner beishi/dianye).
    let err = imp
        .execute(
            hall,
            Op::Resource(ResourceOp::Confirm { booking: b.clone() }),
            booking_now(),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "jianzhong/dianye is not the arbiter of slot 2026-11-26 19:00–21:00: its arbiter is beishi/dianye"
        ),
        "{err}"
    );
    // Crafted changes: a decision naming its own scope, and one naming the owner's.
    let decision = |by: &str, verdict: Verdict| {
        Put::new(
            "decisions",
            b.to_string(),
            &Decision {
                verdict,
                by: by.parse().unwrap(),
                at: booking_now(),
            },
        )
    };
    let confirm = Verdict::Confirmed { slot_index: 0 };
    let own_name = forge(
        imp.doc(hall).unwrap(),
        "dianye",
        40,
        booking_now(),
        &[decision("jianzhong/dianye", confirm.clone())],
    );
    let owners_name = forge(
        imp.doc(hall).unwrap(),
        "dianye",
        40,
        booking_now(),
        &[decision("beishi/dianye", confirm)],
    );
    let r = refused(&mut owner, own_name);
    assert!(
        r.reason
            .to_string()
            .contains("jianzhong/dianye is not the arbiter"),
        "{}",
        r.reason
    );
    let r = refused(&mut owner, owners_name);
    assert!(
        r.reason.to_string().contains(
            "the decision names arbiter beishi/dianye, not the signer's scope jianzhong/dianye"
        ),
        "{}",
        r.reason
    );
    assert_eq!(booking_status(&owner, hall, &b), "tentative");

    // The owner confirms; the impostor's revocation is refused and the booking stands.
    let w = owner
        .execute(
            hall,
            Op::Resource(ResourceOp::Confirm { booking: b.clone() }),
            booking_now(),
        )
        .unwrap();
    imp.apply(w.change).unwrap();
    let revoke = forge(
        imp.doc(hall).unwrap(),
        "dianye",
        40,
        booking_now(),
        &[decision(
            "jianzhong/dianye",
            Verdict::Revoked {
                reason: "taken over".into(),
                slot_index: Some(0),
            },
        )],
    );
    let r = refused(&mut owner, revoke);
    assert!(
        r.reason.to_string().contains("jianzhong/dianye"),
        "{}",
        r.reason
    );
    assert_eq!(booking_status(&owner, hall, &b), "confirmed");
    // The typed revocation is refused too.
    let err = imp
        .execute(
            hall,
            Op::Resource(ResourceOp::Revoke {
                booking: b.clone(),
                reason: "taken over".into(),
            }),
            booking_now(),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Resource(ResourceError::NotArbiter { .. })),
        "{err}"
    );
}

/// Issue 17, attack class 2 (wishes): the same-code impostor neither posts, assigns nor
/// advances the victim's wishes.
#[test]
fn attack_a_same_code_community_cannot_assign_or_advance_anothers_wishes() {
    use crate::wishes::{Assignment, Channel, ItemKind, Progress, Stage, WishesOp};
    let mut dy = replica("dianye", 1);
    let wishes = dy
        .create(
            NewDoc::Wishes {
                street: org("beishi"),
                community: org("dianye"),
                title: "Dianye wishes".into(),
            },
            now(),
        )
        .unwrap()
        .doc;
    let Effect::Wish(wish) = dy
        .execute(
            wishes,
            Op::Wishes(WishesOp::Post {
                kind: ItemKind::Wish,
                title: "A wheelchair ramp".into(),
                text: "for building 3".into(),
                category: "elder care".into(),
                channel: Channel::Forum,
                place: None,
                resident: None,
            }),
            now(),
        )
        .unwrap()
        .effect
    else {
        panic!("expected a wish")
    };
    let mut grid = replica("state-grid", 1);
    send(&dy, &mut grid);
    let w = grid
        .execute(
            wishes,
            Op::Wishes(WishesOp::Claim {
                wish: wish.clone(),
                volunteer: None,
                note: "we build it".into(),
            }),
            now(),
        )
        .unwrap();
    let Effect::Claim(claim) = w.effect else {
        panic!("expected a claim")
    };
    dy.apply(w.change).unwrap();
    let (mut imp, cert) = same_code_impostor(&dy, &[wishes]);
    dy.apply(cert).unwrap();

    let err = imp
        .execute(
            wishes,
            Op::Wishes(WishesOp::Assign {
                wish: wish.clone(),
                claim: claim.clone(),
            }),
            now(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("jianzhong/dianye may not assign"),
        "{err}"
    );
    let by: crate::ids::Scope = "jianzhong/dianye".parse().unwrap();
    for put in [
        Put::new(
            "assignments",
            format!("{wish}/{claim}"),
            &Assignment {
                active: true,
                by: by.clone(),
                at: now(),
            },
        ),
        Put::new(
            "progress",
            format!("{wish}/confirmed"),
            &Progress {
                stage: Stage::Confirmed,
                by: by.clone(),
                at: now(),
            },
        ),
        Put::new(
            "progress",
            format!("{wish}/fulfilled"),
            &Progress {
                stage: Stage::Fulfilled {
                    note: "done".into(),
                },
                by: by.clone(),
                at: now(),
            },
        ),
    ] {
        let sc = forge(imp.doc(wishes).unwrap(), "dianye", 40, now(), &[put]);
        let r = refused(&mut dy, sc);
        let text = r.reason.to_string();
        assert!(
            text.contains("only the owner beishi/dianye may")
                || text.contains("only the community or the assigned claimant"),
            "{text}"
        );
    }
    let view = dy.wishes(wishes).unwrap();
    assert!(view.assigned(&wish).is_empty());
}

/// Issue 17, attack class 4: points are minted neither by a service entry whose points do
/// not follow the ledger's rule, nor by corrections beyond what the typed operation allows —
/// each refused on receipt with its reason; a correction within the rules is accepted.
#[test]
fn attack_minted_points_are_refused_on_receipt() {
    let mut dy = replica("dianye", 1);
    let doc = ledger(&mut dy, "dianye");
    let honest = service(&mut dy, doc, "dianye:7", 1.0);
    let mut grid = replica("state-grid", 1);
    send(&dy, &mut grid);
    let mut rx = replica("beishi", 2);
    send(&dy, &mut rx);
    let entry = |issuer: &str, body: EntryBody| Entry {
        volunteer: vol("dianye:7"),
        home: scope("dianye"),
        body,
        issuer: scope(issuer),
        at: now(),
        source: None,
    };
    let minted = forge(
        grid.doc(doc).unwrap(),
        "state-grid",
        1,
        now(),
        &[Put::new(
            "entries",
            own("state-grid", 1, 1),
            &entry(
                "state-grid",
                EntryBody::Service {
                    activity: "one minute".into(),
                    team: None,
                    date: date(2026, 5, 30),
                    minutes: 1,
                    points: Points::whole(1_000_000),
                    evidence: None,
                },
            ),
        )],
    );
    let organiser_correction = forge(
        grid.doc(doc).unwrap(),
        "state-grid",
        1,
        now(),
        &[Put::new(
            "entries",
            own("state-grid", 1, 2),
            &entry(
                "state-grid",
                EntryBody::Correction {
                    corrects: None,
                    delta: Points::whole(10_000_000),
                    reason: "bonus".into(),
                },
            ),
        )],
    );
    let huge_correction = forge(
        dy.doc(doc).unwrap(),
        "dianye",
        1,
        now(),
        &[Put::new(
            "entries",
            own("dianye", 1, 9),
            &entry(
                "dianye",
                EntryBody::Correction {
                    corrects: None,
                    delta: Points::whole(10_000_000),
                    reason: "bonus".into(),
                },
            ),
        )],
    );
    refused_with(
        &mut rx,
        minted,
        "1 minutes earn 0.01 points under the ledger's rule, not 1000000",
    );
    refused_with(
        &mut rx,
        organiser_correction,
        "only beishi/dianye corrects entries of its ledger",
    );
    refused_with(
        &mut rx,
        huge_correction,
        "a correction must change 1 to 24 points, got 10000000",
    );
    assert_eq!(
        rx.balance(&vol("dianye:7"), crate::testutil::now()),
        Points::whole(1)
    );

    // The typed operation refuses the same amount; one within the rule passes everywhere.
    let err = dy
        .execute(
            doc,
            Op::Ledger(LedgerOp::Correct {
                volunteer: vol("dianye:7"),
                corrects: None,
                delta: Points::whole(10_000_000),
                reason: "bonus".into(),
            }),
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Ledger(crate::ledger::LedgerError::CorrectionTooLarge { .. })
        ),
        "{err}"
    );
    let ok = dy
        .execute(
            doc,
            Op::Ledger(LedgerOp::Correct {
                volunteer: vol("dianye:7"),
                corrects: Some(match dy.ledger(doc).unwrap().entries().first() {
                    Some((id, _)) => id.clone(),
                    None => panic!("no entry"),
                }),
                delta: Points::whole(-1),
                reason: "counted twice".into(),
            }),
            now(),
        )
        .unwrap();
    assert!(matches!(rx.apply(ok.change).unwrap(), Applied::Applied(_)));
    assert_eq!(
        rx.balance(&vol("dianye:7"), crate::testutil::now()),
        Points(0)
    );
    let _ = honest;
}

/// Issue 23: an entry's source id (the identity of an imported row) is checked on receipt —
/// bounded, without control characters, on service records only — so a crafted change can
/// neither bloat a ledger's source index nor smuggle terminal escapes into reports; a
/// well-formed one is accepted.
#[test]
fn attack_crafted_source_ids_are_refused_on_receipt() {
    let mut dy = replica("dianye", 1);
    let doc = ledger(&mut dy, "dianye");
    let mut rx = replica("beishi", 2);
    send(&dy, &mut rx);
    let with = |source: &str, body: EntryBody| Entry {
        volunteer: vol("dianye:7"),
        home: scope("dianye"),
        body,
        issuer: scope("dianye"),
        at: now(),
        source: Some(source.into()),
    };
    let patrol = || EntryBody::Service {
        activity: "patrol".into(),
        team: None,
        date: date(2026, 5, 30),
        minutes: 60,
        points: Points::whole(1),
        evidence: None,
    };
    let crafted = |k: u64, e: &Entry| {
        forge(
            dy.doc(doc).unwrap(),
            "dianye",
            1,
            now(),
            &[Put::new("entries", own("dianye", 1, k), e)],
        )
    };
    let max = crate::ledger::MAX_SOURCE_LEN;
    for (k, source, needle) in [
        (
            1,
            "x".repeat(max + 1),
            format!("must have 1 to {max} bytes, not {}", max + 1),
        ),
        (
            2,
            "x".repeat(1 << 14),
            format!("must have 1 to {max} bytes, not 16384"),
        ),
        (
            3,
            String::new(),
            format!("must have 1 to {max} bytes, not 0"),
        ),
        (4, "row\u{1b}[2J".into(), "holds control characters".into()),
        (
            7,
            "row\u{202e}1-a".into(),
            "holds control characters".into(),
        ),
    ] {
        let r = refused(&mut rx, crafted(k, &with(&source, patrol())));
        let text = r.reason.to_string();
        assert!(text.contains(&needle), "{text}");
        assert!(text.contains("source id"), "{text}");
    }
    let correction = with(
        "sheet:1",
        EntryBody::Correction {
            corrects: None,
            delta: Points::whole(1),
            reason: "bonus".into(),
        },
    );
    refused_with(
        &mut rx,
        crafted(5, &correction),
        "only service records carry a source id",
    );
    // The longest valid source id is accepted, and the receiver's index holds it.
    let ok = crafted(6, &with(&"x".repeat(max), patrol()));
    assert!(matches!(rx.apply(ok), Ok(Applied::Applied(_))));
    assert!(
        rx.ledger(doc)
            .unwrap()
            .imported(&scope("dianye"), &"x".repeat(max))
            .is_some()
    );
    assert_eq!(
        rx.balance(&vol("dianye:7"), crate::testutil::now()),
        Points::whole(1)
    );
}

/// Issue 17, attack classes 4 and 5: a key whose certificate expired cannot write onto this
/// year's ledger by dating its change inside its validity (a change may not be older than
/// its dependencies), and an honest node whose clock is behind dates its write at its newest
/// dependency, so it is accepted.
#[test]
fn attack_backdating_onto_newer_history_is_refused() {
    let mut rt = root();
    let old = key("power-co", 30).node_id();
    // Certified as an organiser of dianye for 2026-01 .. 2026-03 only.
    let (from, until) = (
        t("2026-01-01T00:00:00+08:00"),
        t("2026-03-01T00:00:00+08:00"),
    );
    let cert = issue(
        &mut rt,
        old,
        Role::Unit,
        "power-co",
        Some("dianye"),
        from,
        until,
        from,
    )
    .unwrap();
    let mut dy = replica("dianye", 1);
    dy.apply(cert.clone()).unwrap();
    let doc = ledger(&mut dy, "dianye"); // created 2026-06-01
    let mut unit = replica("power-co", 30);
    unit.apply(cert).unwrap();
    send(&dy, &mut unit);
    let backdated = forge(
        unit.doc(doc).unwrap(),
        "power-co",
        30,
        t("2026-02-01T00:00:00+08:00"),
        &[Put::new(
            "entries",
            own("power-co", 30, 1),
            &Entry {
                volunteer: vol("dianye:7"),
                home: scope("dianye"),
                body: EntryBody::Service {
                    activity: "patrol".into(),
                    team: None,
                    date: date(2026, 1, 30),
                    minutes: 60,
                    points: Points::whole(10),
                    evidence: None,
                },
                issuer: "dianye/power-co".parse().unwrap(),
                at: t("2026-02-01T00:00:00+08:00"),
                source: None,
            },
        )],
    );
    let r = refused(&mut dy, backdated);
    assert!(
        matches!(r.reason, RejectReason::Backdated { .. }),
        "{}",
        r.reason
    );
    assert!(
        r.reason.to_string().contains("before its dependency"),
        "{}",
        r.reason
    );
    assert_eq!(
        dy.balance(&vol("dianye:7"), crate::testutil::now()),
        Points(0)
    );

    // An honest node with a clock a day behind: its change is dated at the newest
    // dependency, and accepted.
    let mut other = replica("dianye", 2);
    send(&dy, &mut other);
    let late = service(&mut dy, doc, "dianye:7", 1.0); // at now()
    other.apply(late).unwrap();
    let behind = Timestamp(now().0 - 86_400_000);
    let w = other
        .execute(
            doc,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: vol("dianye:8"),
                activity: "patrol".into(),
                team: None,
                date: date(2026, 5, 30),
                hours: 1.0,
                evidence: None,
            }),
            behind,
        )
        .unwrap();
    assert_eq!(w.change.verify().unwrap().timestamp(), now().0);
    assert!(matches!(dy.apply(w.change).unwrap(), Applied::Applied(_)));
}

/// Issue 17, attack class 5: after the owner confirmed a booking, the requester re-puts its
/// request with another slot, 30 attendees and another purpose: refused as a rewrite of a
/// final record, and the booking stays confirmed as asked.
#[test]
fn attack_rewriting_a_decided_request_is_refused() {
    let mut owner = replica("dianye", 1);
    let hall = room(&mut owner, "Dianye hall");
    let mut club = replica("club", 1);
    send(&owner, &mut club);
    let (b, req) = request(&mut club, hall, thursday());
    owner.apply(req).unwrap();
    let w = owner
        .execute(
            hall,
            Op::Resource(ResourceOp::Confirm { booking: b.clone() }),
            booking_now(),
        )
        .unwrap();
    club.apply(w.change).unwrap();
    let later = Slot::new(
        t("2026-11-27T08:00:00+08:00"),
        t("2026-11-27T18:00:00+08:00"),
    )
    .unwrap();
    let rewrite = Forger::new(club.doc(hall).unwrap(), "club", 1).write(
        booking_now(),
        &[Put::new(
            "requests",
            b.to_string(),
            &BookingRequest {
                form: BookingForm::new("W. F.", "a party", later, 30),
                requested_at: booking_now(),
                by: scope("club"),
            },
        )],
    );
    let r = refused(&mut owner, rewrite);
    assert!(
        r.reason
            .to_string()
            .contains(&format!("requests/{b} was already written and is final")),
        "{}",
        r.reason
    );
    let view = owner.resource(hall).unwrap();
    let kept = view.booking(&b).unwrap();
    assert_eq!(
        (kept.request.form.attendees, kept.confirmed_slot()),
        (12, Some(thursday()))
    );
}

/// Issue 17, attack class 2 (volunteers): the same-code community of another street credits
/// "its" volunteer dianye:7 in its own ledger; beishi's dianye cannot redeem those points for
/// its own volunteer dianye:7 — entries name the volunteer's home by scope.
#[test]
fn attack_points_of_a_same_code_communitys_volunteer_do_not_count_at_home() {
    let mut dy = replica("dianye", 1);
    let home_ledger = ledger(&mut dy, "dianye");
    let (mut imp, cert) = same_code_impostor(&dy, &[]);
    dy.apply(cert).unwrap();
    let theirs = imp
        .create(
            NewDoc::Ledger {
                street: org("jianzhong"),
                community: org("dianye"),
                year: 2026,
                rules: crate::testutil::hand_rules(),
            },
            now(),
        )
        .unwrap()
        .doc;
    for _ in 0..5 {
        service(&mut imp, theirs, "dianye:7", 24.0);
    }
    send(&imp, &mut dy);
    let jz: crate::ids::Scope = "jianzhong/dianye".parse().unwrap();
    assert_eq!(
        dy.balance_of(&jz, &vol("dianye:7"), crate::testutil::now()),
        Points::whole(120)
    );
    assert_eq!(
        dy.balance_of(&scope("dianye"), &vol("dianye:7"), crate::testutil::now()),
        Points(0)
    );
    let err = dy
        .execute(
            home_ledger,
            Op::Ledger(LedgerOp::Redeem {
                volunteer: vol("dianye:7"),
                item: "rice".into(),
                cost: Points::whole(10),
                outlet: "points store".into(),
            }),
            now(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("volunteer dianye:7 has 0 points known here"),
        "{err}"
    );
}

/// Honest case (issue 17): a unit co-building with two communities, certified by both,
/// records service in each community's ledger; every receiver accepts both, judging each
/// change under the principal that allows it. Neither community's certificate lets it write
/// where only the other's would.
#[test]
fn a_unit_certified_by_two_communities_writes_under_each_certificate() {
    let u = key("power-co", 7);
    let mut dy = replica("dianye", 1);
    let mut hq = replica("hongqi", 1);
    for (issuer, parent) in [(&mut dy, "dianye"), (&mut hq, "hongqi")] {
        issue(
            issuer,
            u.node_id(),
            Role::Unit,
            "power-co",
            Some(parent),
            valid_from(),
            valid_until(),
            now(),
        )
        .unwrap();
    }
    crate::testutil::sync(&mut dy, &mut hq);
    let dy_ledger = ledger(&mut dy, "dianye");
    let hq_ledger = ledger(&mut hq, "hongqi");
    let mut unit = Replica::new(u.clone(), [7; 8], org("power-co"), *root().root());
    send(&dy, &mut unit);
    send(&hq, &mut unit);
    let a = service(&mut unit, dy_ledger, "dianye:3", 2.0);
    let b = service(&mut unit, hq_ledger, "hongqi:4", 1.0);
    let mut rx = replica("beishi", 2);
    send(&dy, &mut rx);
    send(&hq, &mut rx);
    for sc in [a, b] {
        assert!(matches!(rx.apply(sc).unwrap(), Applied::Applied(_)));
    }
    let issuers = |d: DocId| -> Vec<String> {
        rx.ledger(d)
            .unwrap()
            .entries()
            .into_iter()
            .map(|(_, e)| e.issuer.to_string())
            .collect()
    };
    assert_eq!(issuers(dy_ledger), ["beishi/dianye/power-co"]);
    assert_eq!(issuers(hq_ledger), ["beishi/hongqi/power-co"]);
    // A ledger of a community that certified it not: refused.
    let mut xh = replica("xianghe", 1);
    let xh_ledger = xh
        .create(
            NewDoc::Ledger {
                street: org("jianzhong"),
                community: org("xianghe"),
                year: 2026,
                rules: crate::testutil::hand_rules(),
            },
            now(),
        )
        .unwrap()
        .doc;
    send(&xh, &mut unit);
    let err = unit
        .execute(
            xh_ledger,
            Op::Ledger(LedgerOp::RecordService {
                volunteer: vol("xianghe:1"),
                activity: "patrol".into(),
                team: None,
                date: date(2026, 5, 30),
                hours: 1.0,
                evidence: None,
            }),
            now(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("may not record service"), "{err}");
}
