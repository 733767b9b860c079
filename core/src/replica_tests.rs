use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};

use super::*;
use crate::document::{MAX_CHANGE_BYTES, Put};
use crate::ledger::{LedgerRules, Points};
use crate::signed::{SignedChange, SignedError};
use crate::testutil::{key, org, replica, t};

fn now() -> Timestamp {
    t("2026-06-01T10:00:00+08:00")
}

fn ledger(r: &mut Replica) -> DocId {
    crate::testutil::ledger_of(r, "dianye")
}

fn service(r: &mut Replica, doc: DocId, v: &str) -> SignedChange {
    crate::testutil::patrol(r, doc, v)
}

#[test]
fn garbage_truncated_and_oversized_bytes_are_errors() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a);
    let c = service(&mut a, doc, "dianye:1");
    let bytes = c.encode();
    let mut b = replica("beishi", 2);
    let docs_before = b.docs().len();
    for bad in [
        vec![],
        vec![0u8; 7],
        b"hello world".to_vec(),
        bytes[..bytes.len() / 2].to_vec(),
        bytes[..bytes.len() - 1].to_vec(),
    ] {
        let err = b.apply_bytes(&bad).unwrap_err();
        assert!(matches!(err, Error::Envelope(_)), "{err}");
    }
    // A flipped byte inside the change breaks its checksum or its signature.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    assert!(matches!(
        b.apply_bytes(&flipped).unwrap_err(),
        Error::Envelope(_)
    ));
    // An oversized change is refused from its length field, before it is read.
    let mut huge = bytes[..133].to_vec();
    huge[129..133].copy_from_slice(&((MAX_CHANGE_BYTES as u32) + 1).to_le_bytes());
    huge.extend(vec![0u8; MAX_CHANGE_BYTES + 1]);
    let err = b.apply_bytes(&huge).unwrap_err();
    assert!(
        matches!(err, Error::Envelope(SignedError::Oversized { .. })),
        "{err}"
    );
    assert_eq!(b.docs().len(), docs_before);
    assert_eq!(b.pending_len(), 0);
    assert!(b.rejected().is_empty());
}

#[test]
fn out_of_order_changes_wait_and_duplicates_are_no_ops() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a);
    let c1 = service(&mut a, doc, "dianye:1");
    let c2 = service(&mut a, doc, "dianye:2");
    let all = a.changes(doc, &[]).unwrap();
    assert_eq!(all.len(), 3);
    let mut b = replica("beishi", 2);
    // Newest first: both wait, genesis releases them in causal order.
    assert!(matches!(b.apply(c2.clone()).unwrap(), Applied::Pending(_)));
    assert!(matches!(b.apply(c1.clone()).unwrap(), Applied::Pending(_)));
    assert!(matches!(b.apply(c1.clone()).unwrap(), Applied::Pending(_)));
    assert_eq!(b.pending_len(), 2);
    let Applied::Applied(hashes) = b.apply(all[0].clone()).unwrap() else {
        panic!("genesis should apply")
    };
    assert_eq!(
        hashes,
        vec![
            all[0].change_hash().unwrap(),
            c1.change_hash().unwrap(),
            c2.change_hash().unwrap()
        ]
    );
    assert_eq!(b.pending_len(), 0);
    assert_eq!(b.apply(c2.clone()).unwrap(), Applied::Duplicate);
    assert_eq!(b.doc(doc).unwrap().heads(), a.doc(doc).unwrap().heads());
    assert_eq!(
        b.balance(&"dianye:2".parse().unwrap(), crate::testutil::now()),
        Points::whole(1)
    );
}

#[test]
fn pending_set_is_bounded() {
    // Ten signers, one parked change each (their documents' geneses are missing): the
    // eleventh finds the set full. (One signer may hold at most a tenth of the bound.)
    let mut parked = Vec::new();
    for o in ["dianye", "hongqi"] {
        for n in [1, 2, 3, 4, 5, 9] {
            let mut a = replica(o, n);
            let doc = crate::testutil::ledger_of(&mut a, o);
            parked.push(service(&mut a, doc, &format!("{o}:1")));
        }
    }
    let mut b = replica("beishi", 2);
    b.max_pending = 10;
    for c in &parked[..10] {
        assert!(matches!(b.apply(c.clone()).unwrap(), Applied::Pending(_)));
    }
    let err = b.apply(parked[10].clone()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::PendingFull {
                limit: 10,
                bound: WaitLimit::All,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(b.pending_len(), 10);
}

#[test]
fn changes_outside_the_layout_are_refused_and_leave_the_document_intact() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a);
    let mut b = replica("beishi", 2);
    crate::testutil::send(&a, &mut b);
    let before = b.doc(doc).unwrap().heads();

    // A record that does not decode.
    let mut evil = a.doc(doc).unwrap().clone();
    let bad = evil
        .commit(
            now(),
            "evil",
            &[Put {
                map: "entries",
                key: "dianye:1".into(),
                value: "{not json".into(),
            }],
        )
        .unwrap();
    let err = b.apply(signed(doc, &bad)).unwrap_err();
    assert!(
        matches!(&err, Error::Rejected(r) if matches!(r.reason, RejectReason::Layout(DocError::BadShape { .. }))),
        "{err}"
    );
    assert!(err.to_string().contains("does not decode"), "{err}");

    // A key that is not an entry id.
    let mut evil = a.doc(doc).unwrap().clone();
    let entry = serde_json::json!({
        "volunteer": "dianye:1", "home": "beishi/dianye", "issuer": "beishi/dianye", "at": 0,
        "body": {"type": "correction", "corrects": null, "delta": 500, "reason": "x"}
    })
    .to_string();
    let bad = evil
        .commit(
            now(),
            "evil",
            &[Put {
                map: "entries",
                key: "../x".into(),
                value: entry.clone(),
            }],
        )
        .unwrap();
    assert!(b.apply(signed(doc, &bad)).is_err());

    // An entry whose issuer differs from its id.
    let mut evil = a.doc(doc).unwrap().clone();
    let bad = evil
        .commit(
            now(),
            "evil",
            &[Put {
                map: "entries",
                key: "hongqi:1".into(),
                value: entry,
            }],
        )
        .unwrap();
    let err = b.apply(signed(doc, &bad)).unwrap_err();
    assert!(
        err.to_string().contains("names issuer beishi/dianye"),
        "{err}"
    );

    // Rewriting the header, deleting, or writing to the root.
    let mut am = a.doc(doc).unwrap().automerge().clone();
    am.set_actor(a.author().actor());
    let meta = am.get(ROOT, "meta").unwrap().unwrap().1;
    let entries = am.get(ROOT, "entries").unwrap().unwrap().1;
    for attempt in 0..4 {
        let mut fork = am.fork();
        fork.set_actor(a.author().actor());
        let mut tx = fork.transaction();
        match attempt {
            0 => tx.put(&meta, "header", "{}").unwrap(),
            1 => tx.put(ROOT, "extra", "x").unwrap(),
            2 => {
                tx.put_object(&entries, "dianye:9", automerge::ObjType::Map)
                    .unwrap();
            }
            _ => tx.delete(ROOT, "entries").unwrap(),
        }
        let (h, _) =
            tx.commit_with(automerge::transaction::CommitOptions::default().with_time(now().0));
        let c = fork.get_change_by_hash(&h.unwrap()).unwrap();
        let err = b.apply(signed(doc, &c)).unwrap_err();
        assert!(
            matches!(&err, Error::Rejected(r) if matches!(r.reason, RejectReason::Layout(DocError::BadShape { .. }))),
            "attempt {attempt}: {err}"
        );
    }
    assert_eq!(b.doc(doc).unwrap().heads(), before);
}

#[test]
fn genesis_must_match_the_document_id() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a);
    let genesis = a.changes(doc, &[]).unwrap().remove(0);
    let mut b = replica("beishi", 2);
    let wrong = DocId([9; 32]);
    // Re-signed for another document id: the signature is valid, the id is not.
    let relabelled = SignedChange::sign(&key("dianye", 1), wrong, &genesis.change).unwrap();
    let err = b.apply(relabelled).unwrap_err();
    assert!(crate::testutil::rejection(err).contains("does not create document"));
    assert!(b.doc(wrong).is_err());
    assert!(matches!(
        b.apply(genesis.clone()).unwrap(),
        Applied::Applied(_)
    ));
    assert_eq!(b.apply(genesis).unwrap(), Applied::Duplicate);
}

#[test]
fn documents_save_and_load_and_reject_garbage() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a);
    service(&mut a, doc, "dianye:1");
    let bytes = a.doc(doc).unwrap().save();
    let loaded = Document::load(doc, &bytes, crate::kinds::layout).unwrap();
    assert_eq!(loaded.heads(), a.doc(doc).unwrap().heads());
    assert_eq!(loaded.header(), a.doc(doc).unwrap().header());
    let err = Document::load(doc, &bytes[..bytes.len() / 2], crate::kinds::layout).unwrap_err();
    assert!(matches!(err, DocError::MalformedDocument(_)), "{err}");
    let err = Document::load(DocId([1; 32]), &bytes, crate::kinds::layout).unwrap_err();
    assert!(err.to_string().contains("expected"), "{err}");
    // The id of a later change of the document is not a genesis.
    let later = a.doc(doc).unwrap().heads()[0];
    let err = Document::load(DocId(later.0), &bytes, crate::kinds::layout).unwrap_err();
    assert!(err.to_string().contains("not a genesis change"), "{err}");
    let entries = crate::ledger::Ledger::new(&loaded).entries();
    assert_eq!(entries.len(), 1);
}

#[test]
fn unknown_documents_and_wrong_kinds_are_errors() {
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a);
    let missing = DocId([3; 32]);
    assert_eq!(
        a.ledger(missing).err(),
        Some(Error::UnknownDocument(missing))
    );
    let err = a.registry(doc).err().unwrap();
    assert!(
        err.to_string()
            .contains("is a service ledger, not a compound registry"),
        "{err}"
    );
    let err = a
        .execute(
            doc,
            Op::Registry(crate::registry::RegistryOp::AddCompound(
                crate::registry::Compound::new(
                    "a",
                    "b",
                    1,
                    crate::registry::ManagementMode::Unmanaged,
                ),
            )),
            now(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::WrongKind { .. }));
    // A community cannot create another community's registry.
    let err = a
        .create(
            NewDoc::Registry {
                street: org("beishi"),
                community: org("hongqi"),
                title: "x".into(),
            },
            now(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("belongs to community hongqi of street beishi; only that community"),
        "{err}"
    );
}

#[test]
fn concurrent_get_all_lists_the_winner_last() {
    // `Registry::appointment` relies on automerge's get/get_all agreeing.
    let mut a = replica("dianye", 1);
    let doc = ledger(&mut a);
    let mut x = a.doc(doc).unwrap().clone();
    let mut y = a.doc(doc).unwrap().clone();
    y.set_author(&crate::testutil::author("dianye", 7));
    let rules = |p: i64| {
        Put::new(
            "meta",
            "rules",
            &LedgerRules {
                points_per_hour: Points(p),
                star_thresholds: vec![],
                expiry: Default::default(),
                hand_points: true,
            },
        )
    };
    let cx = x.commit(now(), "x", &[rules(100)]).unwrap();
    let cy = y.commit(now(), "y", &[rules(200)]).unwrap();
    x.apply_checked(cy).unwrap();
    y.apply_checked(cx).unwrap();
    for d in [&x, &y] {
        let all: Vec<LedgerRules> = d.get_all("meta", "rules").unwrap();
        let winner: LedgerRules = d.get("meta", "rules").unwrap().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all.last(), Some(&winner));
    }
}

fn signed(doc: DocId, c: &automerge::Change) -> SignedChange {
    SignedChange::sign(&key("dianye", 1), doc, c.raw_bytes()).unwrap()
}

#[test]
fn a_replayed_store_never_reuses_a_genesis() {
    // A node that restarts with the same incarnation replays its log; a document created at
    // the same millisecond must still get a new id instead of replacing the old one.
    let mut a = replica("dianye", 1);
    let first = ledger(&mut a);
    let mut again = replica("dianye", 1);
    for sc in a.changes(first, &[]).unwrap() {
        again.apply(sc).unwrap();
    }
    let second = ledger(&mut again);
    assert_ne!(first, second);
    assert_eq!(again.ids_of(crate::DocKind::Ledger).len(), 2);
}

#[test]
fn an_uncertified_key_cannot_fill_the_waiting_room() {
    // 20 changes from a key without a certificate: only a tenth of the bound waits.
    let stranger = crate::identity::Keypair::from_secret(&[0x55; 32]);
    let mut s = Replica::new(
        stranger,
        [5; 8],
        org("nobody"),
        crate::testutil::root_key().node_id(),
    );
    for sc in crate::testutil::fed_changes() {
        s.apply(sc).unwrap();
    }
    let mut doc = crate::testutil::replica("dianye", 1);
    let id = ledger(&mut doc);
    let base = doc.doc(id).unwrap().clone();
    let mut b = replica("beishi", 2);
    b.max_pending = 40;
    crate::testutil::send(&doc, &mut b);
    let mut waiting = 0;
    for i in 0..20u8 {
        let mut d = base.clone();
        d.set_author(&crate::document::Author {
            node: crate::identity::Keypair::from_secret(&[0x55; 32]).node_id(),
            incarnation: [i; 8],
            org: org("nobody"),
        });
        let c = d
            .commit(
                now(),
                "x",
                &[Put::new("meta", "rules", &crate::testutil::hand_rules())],
            )
            .unwrap();
        let sc = SignedChange::sign(
            &crate::identity::Keypair::from_secret(&[0x55; 32]),
            id,
            c.raw_bytes(),
        )
        .unwrap();
        match b.apply(sc) {
            Ok(Applied::AwaitingCertificate(_)) => waiting += 1,
            Err(Error::PendingFull { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(waiting, 4);
    // Honest out-of-order changes still find room.
    let c1 = service(&mut doc, id, "dianye:1");
    let c2 = service(&mut doc, id, "dianye:2");
    assert!(matches!(b.apply(c2).unwrap(), Applied::Pending(_)));
    assert!(matches!(b.apply(c1).unwrap(), Applied::Applied(_)));
}

#[test]
fn an_organisation_of_the_same_code_elsewhere_cannot_cancel_a_booking() {
    use crate::resource::{BookingForm, ResourceOp, ResourceSpec};
    // dianye's partner "club" books dianye's room; hongqi certifies another key as "club".
    let mut owner = replica("dianye", 1);
    let room = owner
        .create(
            NewDoc::Resource {
                street: org("beishi"),
                community: Some(org("dianye")),
                spec: ResourceSpec::room("room", 20),
            },
            now(),
        )
        .unwrap()
        .doc;
    let mut club = replica("club", 2);
    crate::testutil::send(&owner, &mut club);
    let slot = crate::time::Slot::new(
        t("2026-12-01T19:00:00+08:00"),
        t("2026-12-01T20:00:00+08:00"),
    )
    .unwrap();
    let w = club
        .execute(
            room,
            Op::Resource(ResourceOp::Request(BookingForm::new(
                "Li", "reading", slot, 5,
            ))),
            now(),
        )
        .unwrap();
    let Effect::Booking(booking) = w.effect else {
        panic!()
    };
    let mut hongqi = replica("hongqi", 1);
    let fake = key("fake-club", 1);
    let cert = hongqi
        .execute(
            crate::testutil::fed_id(),
            Op::Federation(crate::federation::FederationOp::Issue {
                subject: fake.node_id(),
                role: crate::cert::Role::Partner,
                org: org("club"),
                parent: Some(org("hongqi")),
                name: "another club".into(),
                not_before: crate::testutil::valid_from(),
                not_after: crate::testutil::valid_until(),
            }),
            now(),
        )
        .unwrap()
        .change;
    owner.apply(cert.clone()).unwrap();
    crate::testutil::send(&club, &mut owner);
    let mut impostor = Replica::new(fake, [8; 8], org("club"), *owner.root());
    crate::testutil::send(&owner, &mut impostor);
    let cancel = impostor
        .execute(
            room,
            Op::Resource(ResourceOp::Cancel {
                booking: booking.clone(),
                reason: "gone".into(),
            }),
            now(),
        )
        .unwrap_err();
    assert!(
        cancel
            .to_string()
            .contains("only the requesting organisation beishi/dianye/club may"),
        "{cancel}"
    );
    // Forged past its own checks, the cancellation is refused by the owner too.
    let mut d = impostor.doc(room).unwrap().clone();
    d.set_author(impostor.author());
    let c = d
        .commit(
            now(),
            "cancel",
            &[Put::new(
                "cancellations",
                booking.to_string(),
                &crate::resource::Cancellation {
                    reason: "x".into(),
                    at: now(),
                },
            )],
        )
        .unwrap();
    let sc = SignedChange::sign(&key("fake-club", 1), room, c.raw_bytes()).unwrap();
    let reason = crate::testutil::rejection(owner.apply(sc).unwrap_err());
    assert!(
        reason.contains("was written by beishi/dianye/club, not by beishi/hongqi/club"),
        "{reason}"
    );
    assert_eq!(
        owner
            .resource(room)
            .unwrap()
            .status(&booking)
            .unwrap()
            .label(),
        "tentative"
    );
}

/// A long chain received backwards waits in pending and is then applied in one drain — in
/// constant stack depth (a small thread stack would overflow if applies recursed) and
/// linear time.
#[test]
fn a_long_chain_received_backwards_drains_without_deep_recursion() {
    let mut a = crate::testutil::replica("dianye", 1);
    let doc = crate::testutil::ledger_of(&mut a, "dianye");
    for i in 0..1500 {
        crate::testutil::patrol(&mut a, doc, &format!("dianye:{}", i % 50 + 1));
    }
    let mut changes = a.changes(doc, &[]).unwrap();
    changes.reverse();
    let fed = crate::testutil::fed_changes();
    let digest = a.catalog()[&doc];
    let b = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut b = crate::testutil::replica("hongqi", 2);
            // One signer may hold a tenth of the waiting sets: room for the whole chain.
            b.max_pending = 20_000;
            for c in fed {
                b.apply(c).unwrap();
            }
            let mut last = None;
            for c in changes {
                last = Some(b.apply(c).unwrap());
            }
            (b.catalog()[&doc], last)
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!(b.0, digest);
    assert!(matches!(b.1, Some(Applied::Applied(h)) if h.len() == 1501));
}
