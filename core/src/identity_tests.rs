use proptest::prelude::*;

use super::*;

fn kp(n: u8) -> Keypair {
    Keypair::from_secret(&[n; 32])
}

#[test]
fn rfc8032_test_vector_1() {
    // RFC 8032 §7.1, TEST 1 (empty message).
    let mut secret = [0u8; 32];
    hex::decode_to_slice(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        &mut secret,
    )
    .unwrap();
    let k = Keypair::from_secret(&secret);
    assert_eq!(
        k.node_id().to_string(),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let sig = k.sign(b"");
    assert_eq!(
        sig.to_string(),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
         5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    verify(&k.node_id(), b"", &sig).unwrap();
}

#[test]
fn sign_verify_round_trip_and_tampering() {
    let k = kp(1);
    assert_eq!(
        Keypair::from_secret(&k.secret_bytes()).node_id(),
        k.node_id()
    );
    let sig = k.sign(b"hello");
    verify(&k.node_id(), b"hello", &sig).unwrap();
    // Wrong message, wrong key, flipped signature bit.
    assert_eq!(
        verify(&k.node_id(), b"hellp", &sig),
        Err(IdentityError::BadSignature(k.node_id().short()))
    );
    assert!(matches!(
        verify(&kp(2).node_id(), b"hello", &sig),
        Err(IdentityError::BadSignature(_))
    ));
    let mut bad = sig;
    bad.0[10] ^= 1;
    assert!(matches!(
        verify(&k.node_id(), b"hello", &bad),
        Err(IdentityError::BadSignature(_))
    ));
    // Non-canonical s (s + l) is refused by the strict check.
    let mut high = sig;
    high.0[63] |= 0xf0;
    assert!(verify(&k.node_id(), b"hello", &high).is_err());
}

#[test]
fn bad_public_keys_are_errors_not_panics() {
    let sig = kp(1).sign(b"m");
    // The identity point (small order) and a y with no curve point.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        verify(&NodeId(identity), b"m", &sig),
        Err(IdentityError::BadPublicKey(NodeId(identity).short()))
    );
    let mut off_curve = None;
    for i in 0..=255u8 {
        let mut b = [0u8; 32];
        b[0] = i;
        b[1] = 7;
        if VerifyingKey::from_bytes(&b).is_err() {
            off_curve = Some(b);
            break;
        }
    }
    let off_curve = off_curve.unwrap();
    assert!(matches!(
        verify(&NodeId(off_curve), b"m", &sig),
        Err(IdentityError::BadPublicKey(_))
    ));
}

#[test]
fn debug_hides_the_secret() {
    let k = kp(0xab);
    let dbg = format!("{k:?}");
    assert!(dbg.contains(&k.node_id().short()), "{dbg}");
    assert!(!dbg.contains("abababab"), "{dbg}");
    assert!(!dbg.contains("171, 171"), "{dbg}");
    let sig = k.sign(b"x");
    assert_eq!(format!("{sig:?}"), format!("Signature({}…)", sig.short()));
}

#[test]
fn signature_serde_is_a_hex_string() {
    let sig = kp(3).sign(b"x");
    let json = serde_json::to_string(&sig).unwrap();
    assert_eq!(json, format!("\"{sig}\""));
    assert_eq!(json.len(), 128 + 2);
    assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
    assert!(serde_json::from_str::<Signature>("\"abcd\"").is_err());
    assert!(serde_json::from_str::<Signature>(&format!("\"{}\"", "zz".repeat(64))).is_err());
    assert!(matches!(
        "12".parse::<Signature>(),
        Err(IdentityError::BadSignatureHex(_))
    ));
}

#[test]
fn base32_known_values() {
    assert_eq!(
        node_id_to_base32(&NodeId([0; 32])),
        format!("ln{}", "a".repeat(52))
    );
    // 0xff… : 51 full 31s then the last 1 bit followed by 4 zero padding bits = 0b10000 = 'q'.
    assert_eq!(
        node_id_to_base32(&NodeId([0xff; 32])),
        format!("ln{}q", "7".repeat(51))
    );
    // RFC 4648 vector "foobar" -> "MZXW6YTBOI" (lower-case here), checked on a prefix.
    let mut b = [0u8; 32];
    b[..6].copy_from_slice(b"foobar");
    assert!(node_id_to_base32(&NodeId(b)).starts_with("lnmzxw6ytboi"));
}

#[test]
fn base32_rejects_garbage() {
    let good = node_id_to_base32(&kp(5).node_id());
    assert_eq!(good.len(), 54);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "prefix"),
        (good[2..].to_string(), "prefix"),
        (good.to_uppercase(), "prefix"),
        (format!("LN{}", &good[2..]), "prefix"),
        (good[..53].to_string(), "length"),
        (format!("{good}a"), "length"),
        (format!("{}1", &good[..53]), "character"),
        (format!("{}=", &good[..53]), "character"),
        (format!("ln{}", "A".repeat(52)), "character"),
        (format!("ln{}", "é".repeat(26)), "character"),
        // Last character with non-zero padding bits.
        (format!("ln{}b", "a".repeat(51)), "padding"),
    ];
    for (text, why) in cases {
        match node_id_from_base32(&text) {
            Err(IdentityError::BadNodeText { reason, .. }) => {
                assert!(reason.contains(why), "{text:?}: {reason}")
            }
            other => panic!("{text:?} gave {other:?}"),
        }
    }
}

proptest! {
    #[test]
    fn base32_round_trips(bytes in any::<[u8; 32]>()) {
        let id = NodeId(bytes);
        let text = node_id_to_base32(&id);
        prop_assert_eq!(text.len(), 54);
        prop_assert!(text.starts_with("ln"));
        prop_assert!(text[2..].bytes().all(|c| BASE32_ALPHABET.contains(&c)));
        prop_assert_eq!(node_id_from_base32(&text), Ok(id));
    }

    #[test]
    fn base32_parse_never_panics(text in "\\PC{0,60}") {
        let _ = node_id_from_base32(&text);
        let _ = node_id_from_base32(&format!("ln{text}"));
    }

    #[test]
    fn verify_never_panics(key in any::<[u8; 32]>(), sig in prop::collection::vec(any::<u8>(), 64)) {
        let mut s = [0u8; 64];
        s.copy_from_slice(&sig);
        prop_assert!(verify(&NodeId(key), b"msg", &Signature(s)).is_err());
    }
}
