use super::*;

const DAY: i64 = Timestamp::DAY;

fn kp(n: u8) -> Keypair {
    Keypair::from_secret(&[n; 32])
}
fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}
fn ts(days: i64) -> Timestamp {
    // 2026-01-01T00:00:00Z plus `days`.
    Timestamp(1_767_225_600_000 + days * DAY)
}

/// root(1) → street heping(2) → community dianye(3) → unit state-grid(4), partner(5).
struct Fed {
    root: Keypair,
    street: Keypair,
    community: Keypair,
    unit: Keypair,
    certs: Vec<Certificate>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "test helper mirroring Certificate::issue"
)]
fn issue(
    by: &Keypair,
    to: &Keypair,
    role: Role,
    o: &str,
    parent: Option<&str>,
    from: i64,
    until: i64,
    name: &str,
) -> Certificate {
    Certificate::issue(
        by,
        to.node_id(),
        role,
        org(o),
        parent.map(org),
        name,
        ts(from),
        ts(until),
    )
}

fn fed() -> Fed {
    let (root, street, community, unit, partner) = (kp(1), kp(2), kp(3), kp(4), kp(5));
    let certs = vec![
        issue(
            &root,
            &street,
            Role::Street,
            "heping",
            None,
            0,
            400,
            "和平街道",
        ),
        issue(
            &street,
            &community,
            Role::Community,
            "dianye",
            Some("heping"),
            10,
            300,
            "甸野社区",
        ),
        issue(
            &community,
            &unit,
            Role::Unit,
            "state-grid",
            Some("dianye"),
            20,
            200,
            "国网",
        ),
        issue(
            &community,
            &partner,
            Role::Partner,
            "bakery",
            Some("dianye"),
            20,
            200,
            "面包店",
        ),
    ];
    Fed {
        root,
        street,
        community,
        unit,
        certs,
    }
}

fn store(f: &Fed) -> TrustStore {
    let mut s = TrustStore::new(f.root.node_id());
    for c in &f.certs {
        assert!(s.insert(c.clone()));
    }
    s
}

#[test]
fn full_chain_gives_the_right_principals() {
    let f = fed();
    let s = store(&f);
    assert_eq!(s.len(), 4);
    let at = ts(50);

    let root = s.principal(&f.root.node_id(), at).unwrap();
    assert!(root.is_root());
    assert_eq!((root.role, root.org, root.chain_len), (None, None, 0));

    let street = s.principal(&f.street.node_id(), at).unwrap();
    assert_eq!(
        street,
        Principal {
            node: f.street.node_id(),
            role: Some(Role::Street),
            org: Some(org("heping")),
            parent: None,
            chain_len: 1,
            scope: "heping".parse().unwrap(),
        }
    );
    let community = s.principal(&f.community.node_id(), at).unwrap();
    assert_eq!(community.role, Some(Role::Community));
    assert_eq!(community.org, Some(org("dianye")));
    assert_eq!(community.parent, Some(org("heping")));
    assert_eq!(community.chain_len, 2);

    let unit = s.principal(&f.unit.node_id(), at).unwrap();
    assert_eq!(
        unit,
        Principal {
            node: f.unit.node_id(),
            role: Some(Role::Unit),
            org: Some(org("state-grid")),
            parent: Some(org("dianye")),
            chain_len: 3,
            scope: "heping/dianye/state-grid".parse().unwrap(),
        }
    );
    let partner = s.principal(&kp(5).node_id(), at).unwrap();
    assert_eq!(partner.role, Some(Role::Partner));
    assert!(!partner.is_root());
}

#[test]
fn validity_is_half_open_and_checked_along_the_chain() {
    let f = fed();
    let s = store(&f);
    let unit = f.unit.node_id();
    assert!(f.certs[2].valid_at(ts(20)));
    assert!(!f.certs[2].valid_at(ts(200)));
    assert!(s.principal(&unit, ts(20)).is_ok());
    assert!(s.principal(&unit, ts(200).plus_millis(-1)).is_ok());

    // The unit's own certificate has expired.
    let e = s.principal(&unit, ts(200)).unwrap_err();
    assert_eq!(
        e,
        CertError::Expired {
            node: unit.short(),
            not_after: ts(200),
            at: ts(200)
        }
    );
    assert!(e.to_string().contains(&unit.short()), "{e}");
    assert!(e.to_string().contains("2026-07-20"), "{e}");

    // Not yet valid: the unit's certificate starts on day 20, the community's on day 10.
    assert_eq!(
        s.principal(&unit, ts(15)).unwrap_err(),
        CertError::NotYetValid {
            node: unit.short(),
            not_before: ts(20),
            at: ts(15)
        }
    );
    assert_eq!(
        s.principal(&f.community.node_id(), ts(5)).unwrap_err(),
        CertError::NotYetValid {
            node: f.community.node_id().short(),
            not_before: ts(10),
            at: ts(5)
        }
    );
}

#[test]
fn a_chain_expiring_together_reports_the_leaf() {
    let f = fed();
    let mut s = TrustStore::new(f.root.node_id());
    // Children may not outlive their issuers, so with allowed links an issuer never expires
    // before its child; here all three expire at once.
    s.insert(issue(
        &f.root,
        &f.street,
        Role::Street,
        "heping",
        None,
        0,
        100,
        "s",
    ));
    s.insert(issue(
        &f.street,
        &f.community,
        Role::Community,
        "dianye",
        Some("heping"),
        0,
        100,
        "c",
    ));
    s.insert(issue(
        &f.community,
        &f.unit,
        Role::Unit,
        "u",
        Some("dianye"),
        0,
        100,
        "u",
    ));
    assert!(s.principal(&f.unit.node_id(), ts(99)).is_ok());
    // At day 100 the whole chain has expired; the leaf is reported.
    assert!(matches!(
        s.principal(&f.unit.node_id(), ts(100)),
        Err(CertError::Expired { node, .. }) if node == f.unit.node_id().short()
    ));
}

#[test]
fn chain_to_a_foreign_root_is_no_certificate() {
    let f = fed();
    let s = store(&f);
    let foreign = kp(9);
    let stranger = kp(10);
    let mut s2 = s.clone();
    s2.insert(issue(
        &foreign,
        &stranger,
        Role::Street,
        "other",
        None,
        0,
        400,
        "x",
    ));
    assert_eq!(
        s2.principal(&stranger.node_id(), ts(50)).unwrap_err(),
        CertError::NoCertificate {
            node: foreign.node_id().short(),
            root: f.root.node_id().short()
        }
    );
    // A key with no certificate at all.
    let e = s.principal(&kp(11).node_id(), ts(50)).unwrap_err();
    assert_eq!(
        e,
        CertError::NoCertificate {
            node: kp(11).node_id().short(),
            root: f.root.node_id().short()
        }
    );
    assert!(e.to_string().contains(&kp(11).node_id().short()));
    // A store rooted at another key accepts nobody of this federation.
    let mut s3 = TrustStore::new(foreign.node_id());
    for c in &f.certs {
        s3.insert(c.clone());
    }
    assert!(matches!(
        s3.principal(&f.unit.node_id(), ts(50)),
        Err(CertError::NoCertificate { .. })
    ));
}

#[test]
fn a_street_may_not_certify_a_unit() {
    let f = fed();
    let mut s = store(&f);
    let x = kp(20);
    let c = issue(
        &f.street,
        &x,
        Role::Unit,
        "u2",
        Some("heping"),
        20,
        100,
        "x",
    );
    assert!(matches!(
        may_issue(Some(&f.certs[0]), &c),
        Err(CertError::NotAllowedToIssue { .. })
    ));
    s.insert(c);
    let e = s.principal(&x.node_id(), ts(50)).unwrap_err();
    match &e {
        CertError::NotAllowedToIssue {
            issuer,
            subject,
            reason,
        } => {
            assert_eq!(issuer, &f.street.node_id().short());
            assert_eq!(subject, &x.node_id().short());
            assert!(reason.contains("street may not issue a unit"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Nor a street certificate.
    let c = issue(
        &f.street,
        &x,
        Role::Street,
        "s2",
        Some("heping"),
        20,
        100,
        "x",
    );
    assert!(matches!(
        may_issue(Some(&f.certs[0]), &c),
        Err(CertError::NotAllowedToIssue { .. })
    ));
}

#[test]
fn a_community_may_not_certify_outside_its_scope() {
    let f = fed();
    let mut s = store(&f);
    let x = kp(21);
    // Parent names another community.
    let c = issue(
        &f.community,
        &x,
        Role::Unit,
        "u3",
        Some("xinhua"),
        20,
        100,
        "x",
    );
    s.insert(c);
    let e = s.principal(&x.node_id(), ts(50)).unwrap_err();
    assert!(
        matches!(&e, CertError::NotAllowedToIssue { reason, .. } if reason.contains("xinhua")),
        "{e}"
    );
    // No parent at all.
    let c = issue(&f.community, &x, Role::Partner, "u3", None, 20, 100, "x");
    assert!(matches!(
        may_issue(Some(&f.certs[1]), &c),
        Err(CertError::NotAllowedToIssue { .. })
    ));
    // A community certifying a community.
    let c = issue(
        &f.community,
        &x,
        Role::Community,
        "c3",
        Some("dianye"),
        20,
        100,
        "x",
    );
    assert!(matches!(
        may_issue(Some(&f.certs[1]), &c),
        Err(CertError::NotAllowedToIssue { .. })
    ));
    // A street certifying a community of another street.
    let c = issue(
        &f.street,
        &x,
        Role::Community,
        "c3",
        Some("other"),
        20,
        100,
        "x",
    );
    assert!(matches!(
        may_issue(Some(&f.certs[0]), &c),
        Err(CertError::NotAllowedToIssue { .. })
    ));
    // ... while the right parent is fine.
    let c = issue(
        &f.street,
        &x,
        Role::Community,
        "c3",
        Some("heping"),
        20,
        100,
        "x",
    );
    assert_eq!(may_issue(Some(&f.certs[0]), &c), Ok(()));
}

#[test]
fn units_and_partners_issue_nothing() {
    let f = fed();
    let mut s = store(&f);
    let x = kp(22);
    for role in [Role::Street, Role::Community, Role::Unit, Role::Partner] {
        let c = issue(&f.unit, &x, role, "sub", Some("state-grid"), 30, 100, "x");
        let e = may_issue(Some(&f.certs[2]), &c).unwrap_err();
        assert!(e.to_string().contains("unit issues no certificates"), "{e}");
        let c = issue(&kp(5), &x, role, "sub", Some("bakery"), 30, 100, "x");
        assert!(may_issue(Some(&f.certs[3]), &c).is_err());
    }
    // Through the store: a 4-deep chain root → street → community → unit → x.
    s.insert(issue(
        &f.unit,
        &x,
        Role::Partner,
        "sub",
        Some("state-grid"),
        30,
        100,
        "x",
    ));
    assert!(matches!(
        s.principal(&x.node_id(), ts(50)),
        Err(CertError::NotAllowedToIssue { .. } | CertError::ChainTooLong { .. })
    ));
}

#[test]
fn chain_budget_is_enforced() {
    // The issuing rules already bound chains to 3; the budget is the backstop (e.g. for
    // cycles). Check it directly with a smaller budget.
    let f = fed();
    let s = store(&f);
    let held = s.certs[&f.unit.node_id()].values().next().unwrap();
    assert_eq!(
        s.paths(held, ts(50), 3)
            .map(|ps| ps.iter().map(Vec::len).collect::<Vec<_>>()),
        Ok(vec![3])
    );
    assert_eq!(
        s.paths(held, ts(50), 2).map(|ps| ps.len()),
        Err(CertError::ChainTooLong {
            node: f.community.node_id().short(),
            max: MAX_CHAIN_LEN
        })
    );
    assert!(matches!(
        s.paths(held, ts(50), 1),
        Err(CertError::ChainTooLong { .. })
    ));
}

#[test]
fn child_validity_must_lie_within_the_issuers() {
    let f = fed();
    let mut s = store(&f);
    let x = kp(23);
    // Community valid 10..300; a unit cert for 20..301 overreaches.
    s.insert(issue(
        &f.community,
        &x,
        Role::Unit,
        "u4",
        Some("dianye"),
        20,
        301,
        "x",
    ));
    let e = s.principal(&x.node_id(), ts(50)).unwrap_err();
    assert!(
        matches!(&e, CertError::NotAllowedToIssue { reason, .. } if reason.contains("not within")),
        "{e}"
    );
    let early = issue(
        &f.community,
        &x,
        Role::Unit,
        "u4",
        Some("dianye"),
        9,
        100,
        "x",
    );
    assert!(may_issue(Some(&f.certs[1]), &early).is_err());
    let exact = issue(
        &f.community,
        &x,
        Role::Unit,
        "u4",
        Some("dianye"),
        10,
        300,
        "x",
    );
    assert_eq!(may_issue(Some(&f.certs[1]), &exact), Ok(()));
}

#[test]
fn the_root_may_issue_anything() {
    let f = fed();
    for role in [Role::Street, Role::Community, Role::Unit, Role::Partner] {
        for parent in [None, Some("heping")] {
            let c = issue(&f.root, &kp(30), role, "o", parent, 0, 10_000, "x");
            assert_eq!(may_issue(None, &c), Ok(()));
            let mut s = TrustStore::new(f.root.node_id());
            s.insert(c);
            let p = s.principal(&kp(30).node_id(), ts(1)).unwrap();
            assert_eq!((p.role, p.chain_len), (Some(role), 1));
            assert_eq!(p.parent, parent.map(org));
        }
    }
}

#[test]
fn may_issue_checks_the_link() {
    let f = fed();
    // The unit's certificate was signed by the community, not the street.
    let e = may_issue(Some(&f.certs[0]), &f.certs[2]).unwrap_err();
    assert!(e.to_string().contains("signed by"), "{e}");
}

#[test]
fn tampered_certificates_are_bad_signatures() {
    let f = fed();
    for field in 0..8 {
        let mut c = f.certs[2].clone();
        match field {
            0 => c.name.push('!'),
            1 => c.role = Role::Partner,
            2 => c.org = org("state-grid2"),
            3 => c.parent = None,
            4 => c.not_after = c.not_after.plus_millis(1),
            5 => c.not_before = c.not_before.plus_millis(-1),
            6 => c.subject = kp(40).node_id(),
            _ => c.signature.0[0] ^= 1,
        }
        assert!(
            matches!(c.verify_signature(), Err(CertError::BadSignature { .. })),
            "field {field}"
        );
        let mut s = TrustStore::new(f.root.node_id());
        for good in &f.certs[..2] {
            s.insert(good.clone());
        }
        s.insert(c.clone());
        assert_eq!(
            s.principal(&c.subject, ts(50)).unwrap_err(),
            CertError::BadSignature {
                node: c.subject.short(),
                issuer: f.community.node_id().short()
            },
            "field {field}"
        );
    }
    // Claiming another issuer than the signer.
    let mut c = f.certs[2].clone();
    c.issuer = f.root.node_id();
    assert!(c.verify_signature().is_err());
    for c in &f.certs {
        c.verify_signature().unwrap();
    }
}

#[test]
fn renewals_any_valid_chain_wins_and_order_does_not_matter() {
    let f = fed();
    let old = issue(
        &f.community,
        &f.unit,
        Role::Unit,
        "state-grid",
        Some("dianye"),
        20,
        100,
        "old",
    );
    let new = issue(
        &f.community,
        &f.unit,
        Role::Unit,
        "state-grid",
        Some("dianye"),
        100,
        250,
        "new",
    );
    let mut forged = new.clone();
    forged.not_after = ts(300);
    let mut a = TrustStore::new(f.root.node_id());
    let mut b = TrustStore::new(f.root.node_id());
    for c in f.certs[..2].iter().chain([&old, &new, &forged]) {
        a.insert(c.clone());
    }
    for c in [&forged, &new, &old]
        .into_iter()
        .chain(f.certs[..2].iter().rev())
    {
        b.insert(c.clone());
    }
    assert!(!a.insert(old.clone()), "duplicates are not stored twice");
    assert_eq!(a.len(), 5);
    assert_eq!(a.certificates_of(&f.unit.node_id()).count(), 3);
    for at in [10, 19, 20, 50, 99, 100, 200, 249, 250, 299, 310] {
        let (ra, rb) = (
            a.principal(&f.unit.node_id(), ts(at)),
            b.principal(&f.unit.node_id(), ts(at)),
        );
        assert_eq!(ra, rb, "day {at}");
        let ok = (20..250).contains(&at);
        assert_eq!(ra.is_ok(), ok, "day {at}: {ra:?}");
    }
    // Day 260: the old expired, the new expired, the forged one "valid" but forged: the
    // expiry is the more specific error.
    assert!(matches!(
        a.principal(&f.unit.node_id(), ts(260)),
        Err(CertError::Expired { .. })
    ));
    // Day 10: both genuine certificates are not yet valid.
    assert!(matches!(
        a.principal(&f.unit.node_id(), ts(10)),
        Err(CertError::NotYetValid { .. })
    ));
}

#[test]
fn canonical_bytes_layout() {
    let f = fed();
    let c = &f.certs[1]; // community dianye, parent heping, name 甸野社区
    let b = c.canonical_bytes();
    assert_eq!(&b[..14], b"linli/cert/v1\0");
    assert_eq!(&b[14..46], f.community.node_id().as_bytes());
    assert_eq!(b[46], 1);
    assert_eq!(&b[47..55], &6u64.to_le_bytes());
    assert_eq!(&b[55..61], b"dianye");
    assert_eq!(b[61], 1);
    assert_eq!(&b[62..70], &6u64.to_le_bytes());
    assert_eq!(&b[70..76], b"heping");
    let name = "甸野社区".as_bytes();
    assert_eq!(&b[76..84], &(name.len() as u64).to_le_bytes());
    let n = 84 + name.len();
    assert_eq!(&b[84..n], name);
    assert_eq!(&b[n..n + 8], &ts(10).0.to_le_bytes());
    assert_eq!(&b[n + 8..n + 16], &ts(300).0.to_le_bytes());
    assert_eq!(&b[n + 16..], f.street.node_id().as_bytes());
    // `parent: None` is one zero byte.
    let root_street = f.certs[0].canonical_bytes();
    assert_eq!(root_street[47 + 8 + 6], 0);
    // Strings are length-prefixed: moving a character between org and name changes bytes.
    let x = issue(&f.root, &kp(6), Role::Street, "ab", None, 0, 1, "c");
    let y = issue(&f.root, &kp(6), Role::Street, "a", None, 0, 1, "bc");
    assert_ne!(x.canonical_bytes(), y.canonical_bytes());
    assert_ne!(x.signature, y.signature);
}

#[test]
fn serde_round_trips() {
    let f = fed();
    let c = &f.certs[2];
    let json = serde_json::to_value(c).unwrap();
    assert_eq!(json["role"], "unit");
    assert_eq!(json["parent"], "dianye");
    assert_eq!(json["subject"], f.unit.node_id().to_string());
    assert_eq!(json["signature"], c.signature.to_string());
    let back: Certificate = serde_json::from_value(json).unwrap();
    assert_eq!(&back, c);
    back.verify_signature().unwrap();
    assert_eq!(
        serde_json::to_string(&Role::Partner).unwrap(),
        "\"partner\""
    );

    let r = revocation();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["certs"][0], "05".repeat(32));
    assert_eq!(json["cutoff"][0]["actor"], hex::encode(actor(4, 1)));
    assert_eq!(json["cutoff"][0]["hash"], hex::encode([7u8; 32]));
    assert_eq!(serde_json::from_value::<Revocation>(json).unwrap(), r);
    let ok = format!(
        r#"{{"doc":"{}","actor":"00ff","seq":1,"hash":"{}"}}"#,
        DocId([1; 32]),
        "07".repeat(32)
    );
    assert_eq!(
        serde_json::from_str::<CutoffEntry>(&ok).unwrap().actor,
        vec![0, 255]
    );
    assert!(
        serde_json::from_str::<CutoffEntry>(&format!(
            r#"{{"doc":"{}","actor":"zz","seq":1,"hash":"{}"}}"#,
            DocId([1; 32]),
            "07".repeat(32)
        ))
        .is_err()
    );
}

fn actor(key: u8, incarnation: u8) -> Vec<u8> {
    let mut a = kp(key).node_id().0.to_vec();
    a.extend_from_slice(&[incarnation; 8]);
    a
}

fn revocation() -> Revocation {
    Revocation {
        subject: kp(4).node_id(),
        certs: vec![CertId([5; 32])],
        cutoff: vec![
            CutoffEntry {
                doc: DocId([1; 32]),
                actor: actor(4, 1),
                seq: 5,
                hash: [7; 32],
            },
            CutoffEntry {
                doc: DocId([2; 32]),
                actor: actor(4, 2),
                seq: 1,
                hash: [8; 32],
            },
        ],
        reason: "key lost".into(),
        by: kp(3).node_id(),
        at: ts(60),
    }
}

#[test]
fn revocation_cutoff_edges() {
    let r = revocation();
    let (d1, d2) = (DocId([1; 32]), DocId([2; 32]));
    let (a1, a2) = (actor(4, 1), actor(4, 2));
    let other_hash = [9u8; 32];
    // Before the cut-off: any hash (those changes were accepted already).
    assert!(r.allows(&d1, &a1, 1, &other_hash));
    assert!(r.allows(&d1, &a1, 4, &other_hash));
    // At the cut-off: only the recorded change.
    assert!(r.allows(&d1, &a1, 5, &[7; 32]));
    assert!(!r.allows(&d1, &a1, 5, &other_hash));
    // After the cut-off: never.
    assert!(!r.allows(&d1, &a1, 6, &[7; 32]));
    assert!(!r.allows(&d1, &a1, u64::MAX, &[7; 32]));
    // Another incarnation, another document, or a truncated actor: no entry, refused.
    assert!(!r.allows(&d1, &a2, 1, &other_hash));
    assert!(!r.allows(&d2, &a1, 1, &other_hash));
    assert!(!r.allows(&DocId([3; 32]), &a1, 1, &other_hash));
    assert!(!r.allows(&d1, &a1[..32], 1, &other_hash));
    assert!(!r.allows(&d1, &[], 0, &[7; 32]));
    // Second entry: seq 1 is the cut-off itself.
    assert!(r.allows(&d2, &a2, 1, &[8; 32]));
    assert!(!r.allows(&d2, &a2, 1, &[7; 32]));
    assert!(r.allows(&d2, &a2, 0, &[0; 32]));
    // An empty cut-off allows nothing.
    let none = Revocation {
        cutoff: vec![],
        ..r
    };
    assert!(!none.allows(&d1, &a1, 1, &[7; 32]));
}

#[test]
fn the_shortest_chain_is_used() {
    let f = fed();
    let mut s = store(&f);
    // The community is also certified directly by the root; in canonical order (names are
    // length-prefixed) that certificate comes before the street-issued one ("甸野社区", 12
    // bytes) in one store and after it in the other.
    for name in ["a", "a community name longer than twelve bytes"] {
        let mut s = s.clone();
        s.insert(issue(
            &f.root,
            &f.community,
            Role::Community,
            "dianye",
            Some("heping"),
            0,
            400,
            name,
        ));
        let p = s.principal(&f.community.node_id(), ts(50)).unwrap();
        assert_eq!(p.chain_len, 1, "{name:?}");
        assert_eq!(s.principal(&f.unit.node_id(), ts(50)).unwrap().chain_len, 2);
    }
    // Among equally short chains the first certificate in canonical order is used.
    let x = kp(50);
    s.insert(issue(
        &f.root,
        &x,
        Role::Partner,
        "b-org",
        None,
        0,
        400,
        "x",
    ));
    s.insert(issue(
        &f.root,
        &x,
        Role::Partner,
        "a-org",
        None,
        0,
        400,
        "x",
    ));
    assert_eq!(
        s.principal(&x.node_id(), ts(50)).unwrap().org,
        Some(org("a-org"))
    );
}

#[test]
fn the_most_specific_error_is_reported_whatever_the_order() {
    let f = fed();
    let x = kp(51);
    // An expired certificate and a forged one, with names sorting either way.
    for (expired_name, forged_name) in [("a", "z"), ("z", "a")] {
        let expired = issue(&f.root, &x, Role::Street, "s", None, 0, 10, expired_name);
        let mut forged = issue(&f.root, &x, Role::Street, "s", None, 0, 400, forged_name);
        forged.signature.0[5] ^= 1;
        let mut s = TrustStore::new(f.root.node_id());
        s.insert(forged);
        s.insert(expired);
        assert!(
            matches!(
                s.principal(&x.node_id(), ts(50)),
                Err(CertError::Expired { .. })
            ),
            "{expired_name}"
        );
        // A certificate from an unknown key is the least specific failure.
        let stray = issue(&kp(52), &x, Role::Street, "s", None, 0, 400, "m");
        s.insert(stray);
        assert!(matches!(
            s.principal(&x.node_id(), ts(50)),
            Err(CertError::Expired { .. })
        ));
    }
}

// ---- certificate ids, several chains, withdrawals ---------------------------------------

#[test]
fn certificate_ids_hash_the_signed_bytes_and_the_signature() {
    let f = fed();
    let c = &f.certs[2];
    let id = c.id();
    assert_eq!(id, c.clone().id());
    let mut h = blake3::Hasher::new();
    h.update(&c.canonical_bytes());
    h.update(&c.signature.0);
    assert_eq!(id.0, *h.finalize().as_bytes());
    // Any other field or another signature is another certificate.
    let mut renamed = c.clone();
    renamed.name.push('x');
    assert_ne!(renamed.id(), id);
    let mut resigned = c.clone();
    resigned.signature.0[0] ^= 1;
    assert_ne!(resigned.id(), id);
    // Hex in serde and text, 8 characters short.
    assert_eq!(serde_json::to_value(id).unwrap(), id.to_string());
    assert_eq!(id.to_string().parse::<CertId>().unwrap(), id);
    assert_eq!(id.short(), id.to_string()[..8]);
    assert!("zz".parse::<CertId>().is_err());
    let s = store(&f);
    assert_eq!(s.certificate(&f.unit.node_id(), &id), Some(c));
    assert_eq!(s.certificate(&f.community.node_id(), &id), None);
    assert_eq!(s.ids().len(), 4);
}

/// `f` plus a second street (6) that also certifies the community's key, as a community
/// with the same code, so the community and its unit each have two chains.
fn two_chains(f: &Fed) -> (TrustStore, Keypair) {
    let mut s = store(f);
    let other = kp(6);
    s.insert(issue(
        &f.root,
        &other,
        Role::Street,
        "xinhua",
        None,
        0,
        400,
        "新华街道",
    ));
    s.insert(issue(
        &other,
        &f.community,
        Role::Community,
        "dianye",
        Some("xinhua"),
        10,
        300,
        "甸野社区",
    ));
    (s, other)
}

#[test]
fn principals_lists_one_principal_per_chain_shortest_first() {
    let f = fed();
    let (mut s, _) = two_chains(&f);
    let unit = f.unit.node_id();
    let scopes = |s: &TrustStore| -> Vec<String> {
        s.principals(&unit, ts(50))
            .iter()
            .map(|p| p.scope.to_string())
            .collect()
    };
    assert_eq!(
        scopes(&s),
        ["heping/dianye/state-grid", "xinhua/dianye/state-grid"]
    );
    assert_eq!(
        s.principal(&unit, ts(50)).unwrap(),
        s.principals(&unit, ts(50))[0]
    );
    // A shorter chain comes first; a chain with the same scope is listed once.
    s.insert(issue(
        &f.root,
        &f.unit,
        Role::Unit,
        "state-grid",
        Some("dianye"),
        0,
        400,
        "国网 (district)",
    ));
    s.insert(issue(
        &f.community,
        &f.unit,
        Role::Unit,
        "state-grid",
        Some("dianye"),
        20,
        200,
        "国网 renewed",
    ));
    let all = s.principals(&unit, ts(50));
    assert_eq!(all[0].chain_len, 1);
    assert_eq!(
        scopes(&s),
        [
            "dianye/state-grid",
            "heping/dianye/state-grid",
            "xinhua/dianye/state-grid"
        ]
    );
    // No valid chain: none; the root: itself.
    assert!(s.principals(&unit, ts(250)).len() == 1);
    assert!(s.principals(&kp(77).node_id(), ts(50)).is_empty());
    assert!(s.principals(&f.root.node_id(), ts(50))[0].is_root());
}

#[test]
fn a_withdrawal_cuts_only_the_chains_through_its_signer() {
    let f = fed();
    let (s, other) = two_chains(&f);
    let unit = f.unit.node_id();
    let unit_cert = f.certs[2].id();
    let at = ts(50);
    let scopes = |w: &Withdrawn| -> Vec<String> {
        s.principals_without(&unit, at, w)
            .iter()
            .map(|p| p.scope.to_string())
            .collect()
    };
    // The second street is above the unit's certificate only in the chain through itself.
    let mut by_other = Withdrawn::new();
    by_other.add(unit_cert, other.node_id());
    assert!(s.cuts_any(&unit, at, &by_other));
    assert_eq!(scopes(&by_other), ["heping/dianye/state-grid"]);
    assert_eq!(
        s.principal_without(&unit, at, &by_other)
            .unwrap()
            .scope
            .to_string(),
        "heping/dianye/state-grid"
    );
    // The issuer's (or the root's) withdrawal cuts every chain.
    for by in [f.community.node_id(), f.root.node_id()] {
        let mut w = Withdrawn::new();
        w.add(unit_cert, by);
        assert!(scopes(&w).is_empty());
        assert_eq!(
            s.principal_without(&unit, at, &w),
            Err(CertError::Withdrawn { node: unit.short() })
        );
    }
    // A key that is on no chain of the certificate cuts nothing.
    let mut stranger = Withdrawn::new();
    stranger.add(unit_cert, kp(77).node_id());
    assert!(!s.cuts_any(&unit, at, &stranger));
    assert_eq!(scopes(&stranger).len(), 2);
    // Withdrawing one of the community's certificates leaves the unit's other chain.
    let mut community = Withdrawn::new();
    community.add(f.certs[1].id(), f.street.node_id());
    assert_eq!(scopes(&community), ["xinhua/dianye/state-grid"]);
    // Without any valid chain, the failure is the usual one, not "withdrawn".
    let mut w = Withdrawn::new();
    w.add(unit_cert, f.root.node_id());
    assert!(matches!(
        s.principal_without(&unit, ts(250), &w),
        Err(CertError::Expired { .. })
    ));
    // The root is never cut.
    assert!(
        s.principal_without(&f.root.node_id(), at, &w)
            .unwrap()
            .is_root()
    );
}

#[test]
fn who_may_withdraw_a_certificate() {
    let f = fed();
    let (s, other) = two_chains(&f);
    let unit_cert = &f.certs[2];
    let at = ts(50);
    for k in [&f.community, &f.street, &other, &f.root] {
        assert_eq!(s.may_withdraw(&k.node_id(), unit_cert, at), Ok(()));
    }
    // The unit itself, its sibling partner, a stranger: no.
    for k in [&f.unit, &kp(5), &kp(77)] {
        let err = s.may_withdraw(&k.node_id(), unit_cert, at).unwrap_err();
        assert!(
            err.contains(&unit_cert.id().short())
                && err.contains(&k.node_id().short())
                && err.contains("not its issuer"),
            "{err}"
        );
    }
    // Above it only while a chain through the key is valid; the issuer and the root always.
    assert!(
        s.may_withdraw(&f.street.node_id(), unit_cert, ts(350))
            .is_err()
    );
    assert!(
        s.may_withdraw(&f.community.node_id(), unit_cert, ts(350))
            .is_ok()
    );
    assert!(
        s.may_withdraw(&f.root.node_id(), unit_cert, ts(350))
            .is_ok()
    );
    // A key may not withdraw its own certificate; its issuer may.
    assert!(
        s.may_withdraw(&f.community.node_id(), &f.certs[1], at)
            .is_err()
    );
    assert!(s.may_withdraw(&f.street.node_id(), &f.certs[1], at).is_ok());
}

#[test]
fn revocation_ids_ignore_the_order_of_certificates_and_key_the_record() {
    let r = revocation();
    let mut two = Revocation {
        certs: vec![CertId([5; 32]), CertId([6; 32])],
        ..r.clone()
    };
    let id = two.id();
    two.certs.reverse();
    assert_eq!(two.id(), id);
    assert_ne!(r.id(), id);
    assert_eq!(id.len(), 32);
    assert_eq!(two.short_id(), id[..8]);
    let other_signer = Revocation {
        by: kp(9).node_id(),
        ..r.clone()
    };
    assert_ne!(other_signer.id(), r.id());
    assert_eq!(
        crate::federation::revocation_key(&r),
        format!("{}/{}/{}", r.subject, r.by, r.id())
    );
    // Changing the cut-off, reason or time keeps the record (and its key).
    let later = Revocation {
        reason: "x".into(),
        cutoff: vec![],
        at: ts(99),
        ..r.clone()
    };
    assert_eq!(later.id(), r.id());
}
