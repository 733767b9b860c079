use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT, ReadDoc};
use proptest::prelude::*;

use super::*;
use crate::document::Author;
use crate::ids::OrgId;

fn kp(n: u8) -> Keypair {
    Keypair::from_secret(&[n; 32])
}

fn doc() -> DocId {
    DocId([0xd0; 32])
}

/// One change by `actor` putting `k = v`.
fn change_by(actor: ActorId, k: &str, v: &str) -> Change {
    let mut am = Automerge::new();
    am.set_actor(actor);
    let mut tx = am.transaction();
    tx.put(ROOT, k, v).unwrap();
    let (h, _) = tx.commit();
    am.get_change_by_hash(&h.unwrap()).unwrap()
}

fn author(n: u8) -> Author {
    Author {
        node: kp(n).node_id(),
        incarnation: [n; 8],
        org: OrgId::new("dianye").unwrap(),
    }
}

/// Raw bytes of a change by key `n`.
fn raw(n: u8, v: &str) -> Vec<u8> {
    change_by(author(n).actor(), "k", v).raw_bytes().to_vec()
}

/// Re-computes the header checksum of (possibly edited) change bytes.
fn fix_checksum(bytes: &mut [u8]) {
    let hash = Change::from_bytes(bytes.to_vec()).unwrap().hash();
    bytes[4..8].copy_from_slice(&hash.0[..4]);
}

#[test]
fn sign_verify_round_trip() {
    let bytes = raw(1, "v");
    let sc = SignedChange::sign(&kp(1), doc(), &bytes).unwrap();
    assert_eq!(sc.signer, kp(1).node_id());
    assert_eq!(sc.doc, doc());
    assert_eq!(sc.change, bytes);
    let c = sc.verify().unwrap();
    let expected = Change::from_bytes(bytes.clone()).unwrap();
    assert_eq!(c.hash(), expected.hash());
    assert_eq!(sc.change_hash(), Ok(expected.hash()));
    assert_eq!(c.actor_id(), &author(1).actor());
    // The signature is over the documented message.
    identity::verify(
        &sc.signer,
        &signing_message(&doc(), &expected.hash().0),
        sc.signature.as_ref().expect("signed"),
    )
    .unwrap();
    // Deterministic.
    assert_eq!(SignedChange::sign(&kp(1), doc(), &bytes).unwrap(), sc);
    // Binary round trip.
    let enc = sc.encode();
    assert_eq!(enc.len(), HEADER_LEN + bytes.len());
    assert_eq!(SignedChange::decode(&enc).unwrap(), sc);
    SignedChange::decode(&enc).unwrap().verify().unwrap();
}

#[test]
fn signing_message_layout() {
    let m = signing_message(&DocId([1; 32]), &[2; 32]);
    assert_eq!(m.len(), 16 + 64);
    assert_eq!(&m[..16], b"linli/change/v1\0");
    assert_eq!(&m[16..48], &[1; 32]);
    assert_eq!(&m[48..], &[2; 32]);
}

#[test]
fn tampering_is_a_bad_signature() {
    let sc = SignedChange::sign(&kp(1), doc(), &raw(1, "v")).unwrap();

    // Another document.
    let mut t = sc.clone();
    t.doc.0[0] ^= 1;
    assert_eq!(t.verify().unwrap_err(), SignedError::BadSignature);

    // A flipped signature bit.
    for i in [0, 31, 32, 63] {
        let mut t = sc.clone();
        t.signature.as_mut().expect("signed").0[i] ^= 0x04;
        assert_eq!(
            t.verify().unwrap_err(),
            SignedError::BadSignature,
            "byte {i}"
        );
    }

    // Another valid change by the same author under the same signature.
    let mut t = sc.clone();
    t.change = raw(1, "w");
    assert_eq!(t.verify().unwrap_err(), SignedError::BadSignature);

    // The value edited inside the change bytes, with the header checksum repaired so the
    // bytes still decode.
    let mut t = sc.clone();
    let pos = t.change.iter().rposition(|&b| b == b'v').unwrap();
    t.change[pos] = b'w';
    fix_checksum(&mut t.change);
    assert_eq!(t.verify().unwrap_err(), SignedError::BadSignature);

    // The same edit without repairing the checksum is caught earlier.
    let mut t = sc.clone();
    t.change[pos] = b'w';
    assert!(matches!(
        t.verify().unwrap_err(),
        SignedError::MalformedChange(m) if m.contains("checksum")
    ));

    // Only the header checksum changed: same hash, but not canonical.
    let mut t = sc.clone();
    t.change[4] ^= 1;
    assert!(matches!(
        t.verify().unwrap_err(),
        SignedError::MalformedChange(_)
    ));

    // A signer key that is not a curve point.
    let mut t = sc.clone();
    let mut bad_key = None;
    for i in 0..=255u8 {
        let mut b = [i; 32];
        b[31] = 0x11;
        if identity::verify(&NodeId(b), b"", sc.signature.as_ref().expect("signed"))
            == Err(identity::IdentityError::BadPublicKey(NodeId(b).short()))
        {
            bad_key = Some(NodeId(b));
            break;
        }
    }
    t.signer = bad_key.unwrap();
    // The actor no longer matches either; the binding is checked first.
    assert!(matches!(
        t.verify().unwrap_err(),
        SignedError::ActorMismatch { .. }
    ));
}

#[test]
fn actor_must_belong_to_the_signer() {
    // Key 1 tries to sign key 2's change.
    let theirs = raw(2, "v");
    let e = SignedChange::sign(&kp(1), doc(), &theirs).unwrap_err();
    assert_eq!(
        e,
        SignedError::ActorMismatch {
            actor: kp(2).node_id().short(),
            signer: kp(1).node_id().short()
        }
    );
    assert!(e.to_string().contains(&kp(2).node_id().short()), "{e}");

    // A hand-made envelope with a valid signature by key 1 over key 2's change.
    let hash = Change::from_bytes(theirs.clone()).unwrap().hash();
    let forged = SignedChange {
        doc: doc(),
        change: theirs.clone(),
        signer: kp(1).node_id(),
        signature: Some(kp(1).sign(&signing_message(&doc(), &hash.0))),
    };
    assert!(matches!(
        forged.verify().unwrap_err(),
        SignedError::ActorMismatch { .. }
    ));

    // Claiming key 2 as signer while key 1 signed.
    let claimed = SignedChange {
        signer: kp(2).node_id(),
        ..forged
    };
    assert_eq!(claimed.verify().unwrap_err(), SignedError::BadSignature);
}

#[test]
fn non_linli_actors_are_refused() {
    let bytes = change_by(ActorId::from(vec![7u8; 16]), "k", "v")
        .raw_bytes()
        .to_vec();
    assert_eq!(
        SignedChange::sign(&kp(1), doc(), &bytes).unwrap_err(),
        SignedError::BadActor(16)
    );
    let hash = Change::from_bytes(bytes.clone()).unwrap().hash();
    let sc = SignedChange {
        doc: doc(),
        change: bytes,
        signer: kp(1).node_id(),
        signature: Some(kp(1).sign(&signing_message(&doc(), &hash.0))),
    };
    assert_eq!(sc.verify().unwrap_err(), SignedError::BadActor(16));
    // 41 bytes: the key plus 9 bytes.
    let mut a = kp(1).node_id().0.to_vec();
    a.extend_from_slice(&[0; 9]);
    let bytes = change_by(ActorId::from(a), "k", "v").raw_bytes().to_vec();
    assert_eq!(
        SignedChange::sign(&kp(1), doc(), &bytes).unwrap_err(),
        SignedError::BadActor(41)
    );
}

#[test]
fn garbage_and_truncated_change_bytes_are_malformed() {
    let bytes = raw(1, "v");
    let good = SignedChange::sign(&kp(1), doc(), &bytes).unwrap();
    for cut in 0..bytes.len() {
        let t = SignedChange {
            change: bytes[..cut].to_vec(),
            ..good.clone()
        };
        assert!(
            matches!(t.verify(), Err(SignedError::MalformedChange(_))),
            "cut at {cut}"
        );
        assert!(SignedChange::sign(&kp(1), doc(), &bytes[..cut]).is_err());
    }
    for junk in [
        vec![],
        vec![0u8; 100],
        b"hello world".to_vec(),
        vec![0xff; 9],
    ] {
        let t = SignedChange {
            change: junk,
            ..good.clone()
        };
        assert!(matches!(t.verify(), Err(SignedError::MalformedChange(_))));
    }
    // Oversized before anything else.
    let t = SignedChange {
        change: vec![0; MAX_CHANGE_BYTES + 1],
        ..good.clone()
    };
    assert_eq!(
        t.verify().unwrap_err(),
        SignedError::Oversized {
            size: MAX_CHANGE_BYTES + 1,
            limit: MAX_CHANGE_BYTES
        }
    );
}

#[test]
fn compressed_chunks_are_refused() {
    // Changes over 256 bytes are deflated by `Change::bytes()`; the compressed chunk has the
    // same hash as the raw one, so accepting it would make `change` malleable.
    let mut c = change_by(author(1).actor(), "k", &"long value ".repeat(100));
    let raw_bytes = c.raw_bytes().to_vec();
    let compressed = c.bytes().to_vec();
    assert_ne!(raw_bytes, compressed);
    assert_eq!(compressed[8], 2, "chunk type of a compressed change");
    assert_eq!(
        Change::from_bytes(compressed.clone()).unwrap().hash(),
        c.hash()
    );
    let good = SignedChange::sign(&kp(1), doc(), &raw_bytes).unwrap();
    good.verify().unwrap();
    let e = SignedChange::sign(&kp(1), doc(), &compressed).unwrap_err();
    assert!(
        matches!(&e, SignedError::MalformedChange(m) if m.contains("chunk type 2")),
        "{e}"
    );
    let t = SignedChange {
        change: compressed,
        ..good
    };
    assert!(matches!(t.verify(), Err(SignedError::MalformedChange(_))));
}

fn sample() -> SignedChange {
    SignedChange::sign(&kp(3), doc(), &raw(3, "v")).unwrap()
}

#[test]
fn decode_rejects_truncated_input() {
    let enc = sample().encode();
    assert_eq!(
        SignedChange::decode(&[]).unwrap_err(),
        SignedError::Truncated {
            needed: HEADER_LEN,
            got: 0
        }
    );
    for cut in 1..enc.len() {
        let e = SignedChange::decode(&enc[..cut]).unwrap_err();
        let needed = if cut < HEADER_LEN {
            HEADER_LEN
        } else {
            enc.len()
        };
        assert_eq!(e, SignedError::Truncated { needed, got: cut }, "cut {cut}");
    }
    let e = SignedChange::decode(&enc[..HEADER_LEN + 3]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "signed change is truncated: needed {} bytes, got {}",
            enc.len(),
            HEADER_LEN + 3
        )
    );
}

#[test]
fn decode_rejects_unknown_versions() {
    let mut enc = sample().encode();
    for v in [0u8, 3, 0xff] {
        enc[0] = v;
        let e = SignedChange::decode(&enc).unwrap_err();
        assert_eq!(e, SignedError::UnknownVersion(v));
        assert!(e.to_string().contains(&format!("version {v}")), "{e}");
    }
    // The version is checked before the length.
    assert_eq!(
        SignedChange::decode(&[9]).unwrap_err(),
        SignedError::UnknownVersion(9)
    );
}

#[test]
fn decode_rejects_trailing_bytes() {
    let mut enc = sample().encode();
    enc.push(0);
    assert_eq!(
        SignedChange::decode(&enc).unwrap_err(),
        SignedError::TrailingBytes(1)
    );
    enc.extend_from_slice(&[1; 10]);
    assert_eq!(
        SignedChange::decode(&enc).unwrap_err(),
        SignedError::TrailingBytes(11)
    );
}

#[test]
fn decode_rejects_oversized_length_fields() {
    let mut enc = sample().encode();
    for len in [MAX_CHANGE_BYTES as u32 + 1, u32::MAX] {
        enc[129..133].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            SignedChange::decode(&enc).unwrap_err(),
            SignedError::Oversized {
                size: len as usize,
                limit: MAX_CHANGE_BYTES
            }
        );
        // Even with only the header present.
        assert!(matches!(
            SignedChange::decode(&enc[..HEADER_LEN]),
            Err(SignedError::Oversized { .. })
        ));
    }
    // Exactly the limit is a length the decoder accepts (here: truncated).
    enc[129..133].copy_from_slice(&(MAX_CHANGE_BYTES as u32).to_le_bytes());
    assert!(matches!(
        SignedChange::decode(&enc),
        Err(SignedError::Truncated { .. })
    ));
}

#[test]
fn encoding_layout() {
    let sc = sample();
    let enc = sc.encode();
    assert_eq!(enc[0], 1);
    assert_eq!(&enc[1..33], sc.doc.as_bytes());
    assert_eq!(&enc[33..65], sc.signer.as_bytes());
    assert_eq!(
        &enc[65..129],
        sc.signature.as_ref().expect("signed").as_bytes()
    );
    assert_eq!(&enc[129..133], &(sc.change.len() as u32).to_le_bytes());
    assert_eq!(&enc[133..], &sc.change[..]);
}

fn arb_signed() -> impl Strategy<Value = SignedChange> {
    (
        any::<[u8; 32]>(),
        prop::collection::vec(any::<u8>(), 0..600),
        any::<[u8; 32]>(),
        prop::collection::vec(any::<u8>(), 64),
    )
        .prop_map(|(d, change, s, sig)| {
            let mut signature = [0u8; 64];
            signature.copy_from_slice(&sig);
            SignedChange {
                doc: DocId(d),
                change,
                signer: NodeId(s),
                signature: Some(Signature(signature)),
            }
        })
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = SignedChange::decode(&bytes);
        // Also with a valid version byte and header so the length logic is reached.
        let mut v = bytes.clone();
        if !v.is_empty() {
            v[0] = ENCODING_VERSION;
        }
        if let Ok(sc) = SignedChange::decode(&v) {
            prop_assert_eq!(sc.encode(), v);
        }
    }

    #[test]
    fn encode_decode_round_trips(sc in arb_signed()) {
        prop_assert_eq!(SignedChange::decode(&sc.encode()), Ok(sc));
    }

    #[test]
    fn verify_never_panics_on_garbage(sc in arb_signed()) {
        prop_assert!(sc.verify().is_err());
    }

    #[test]
    fn verify_never_panics_on_mutated_changes(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let good = sample();
        let mut t = good.clone();
        for (i, b) in &edits {
            let i = i.index(t.change.len());
            t.change[i] = *b;
        }
        // Repair the checksum when the edited bytes still parse, to reach deeper checks.
        if let Ok(c) = Change::from_bytes(t.change.clone()) {
            let h = c.hash();
            t.change[4..8].copy_from_slice(&h.0[..4]);
        }
        if truncate {
            t.change.truncate(cut.index(t.change.len()));
        }
        if let Ok(c) = t.verify() {
            // Only an unchanged change can still verify.
            prop_assert_eq!(Some(c.hash()), good.change_hash().ok());
        }
    }
}
