//! The federation document: certificates, revocations and the district settings.
//!
//! # Records and who writes them
//!
//! | map | key | record | written by |
//! |---|---|---|---|
//! | `meta` | `config` | [`DistrictConfig`] (checklist template, scoring weights) | the root |
//! | `certs` | `<subject>/<issuer>/<not_before>` | [`Certificate`] | its issuer, who must be allowed to issue it |
//! | `revocations` | `<subject>/<by>/<id>` | [`Revocation`] (`id` = [`Revocation::id`]) | a key that may withdraw every certificate it names: the certificate's issuer, a key above it in one of its chains, or the root ([`TrustStore::may_withdraw`]); never of the root key |
//!
//! The document is created by the configured root key. Certificates are self-signed by
//! their issuer as well as carried in a signed change, so a certificate can be checked
//! wherever it travels.
//!
//! # Merge behaviour
//!
//! Certificates and revocations each have their own key, so they only accumulate: a key's
//! principal is found from the union of certificates. A revocation withdraws certificates,
//! not keys: a change of the revoked key after a revocation's cut-off is judged without the
//! certificates that revocation withdrew, and refused only when no chain remains.
//! Concurrent revocations are ordered by seniority (see `Replica`'s revocation rules in
//! ARCHITECTURE.md). The district settings are written by the root alone (last write wins).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cert::Principal;
use crate::cert::{Certificate, Revocation, Role, TrustStore};
use crate::district::DistrictConfig;
use crate::document::Document;
use crate::document::Write;
use crate::ids::CertId;
use crate::ids::{NodeId, OrgId};
use crate::policy;
use crate::schema::{decode, id, key_parts};
use crate::time::Timestamp;

/// The record maps of a federation document.
pub const MAPS: &[&str] = &["certs", "revocations"];
/// Record maps added after the kind's first version (none).
pub const LATE_MAPS: &[&str] = &[];

/// Operations on the federation document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FederationOp {
    /// Issue a certificate signed by this node's key.
    Issue {
        /// The key certified.
        subject: NodeId,
        /// Its role.
        role: Role,
        /// The organisation it acts for.
        org: OrgId,
        /// The organisation `org` belongs to (a community's street, a unit's community).
        parent: Option<OrgId>,
        /// Name shown to people.
        name: String,
        /// Start of validity.
        not_before: Timestamp,
        /// End of validity (exclusive).
        not_after: Timestamp,
    },
    /// Revoke certificates of a key: its changes after what this node has accepted so far
    /// no longer count on them (and are refused when no other certificate chain remains).
    Revoke {
        /// The key.
        subject: NodeId,
        /// Why.
        reason: String,
        /// The certificates to withdraw; `None` (the default, also when absent in JSON):
        /// every certificate of `subject` this node may withdraw and has not withdrawn yet.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certs: Option<Vec<CertId>>,
    },
    /// Replace the district settings (root only).
    SetConfig(DistrictConfig),
}

/// Key of a certificate record.
pub fn cert_key(c: &Certificate) -> String {
    format!("{}/{}/{}", c.subject, c.issuer, c.not_before.0)
}

/// Key of a revocation record: `<subject>/<by>/<id>`, so every revocation of a key can be
/// listed by prefix and a signer's revocations of different certificates never overwrite
/// each other.
pub fn revocation_key(r: &Revocation) -> String {
    format!("{}/{}/{}", r.subject, r.by, r.id())
}

/// Read view of a federation document.
pub struct Federation<'a> {
    doc: &'a Document,
}

impl<'a> Federation<'a> {
    /// Wraps a federation document.
    pub fn new(doc: &'a Document) -> Self {
        Self { doc }
    }
    /// Every certificate.
    pub fn certificates(&self) -> Vec<Certificate> {
        self.doc
            .records::<Certificate>("certs")
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }
    /// The certificates of `subject` in this document, in key order.
    pub fn certificates_of(&self, subject: &NodeId) -> Vec<Certificate> {
        self.doc
            .records_with_prefix::<Certificate>("certs", &format!("{subject}/"))
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }
    /// Every revocation record with its key, in key order.
    pub fn revocation_records(&self) -> Vec<(String, Revocation)> {
        self.doc.records::<Revocation>("revocations")
    }
    /// Every revocation, by subject.
    pub fn revocations(&self) -> BTreeMap<NodeId, Vec<Revocation>> {
        let mut out: BTreeMap<NodeId, Vec<Revocation>> = BTreeMap::new();
        for (_, r) in self.doc.records::<Revocation>("revocations") {
            out.entry(r.subject).or_default().push(r);
        }
        out
    }
    /// The district settings, if set.
    pub fn config(&self) -> Option<DistrictConfig> {
        self.doc.get("meta", "config").ok().flatten()
    }
}

/// Adds every certificate of the federation documents in `docs` to `store`.
pub fn fill_trust<'a>(store: &mut TrustStore, docs: impl IntoIterator<Item = &'a Document>) {
    for d in docs {
        for c in Federation::new(d).certificates() {
            store.insert(c);
        }
    }
}

/// Key shape and record type per map.
pub(crate) fn check_record(map: &str, key: &str, value: &str) -> Result<(), String> {
    match map {
        "meta" if key == "config" => decode::<DistrictConfig>(value).map(drop),
        "certs" => {
            let [s, i, nb] = key_parts::<3>(key)?;
            let c = decode::<Certificate>(value)?;
            if id::<NodeId>(s)? != c.subject
                || id::<NodeId>(i)? != c.issuer
                || id::<i64>(nb)? != c.not_before.0
            {
                return Err(format!(
                    "certificate stored under {key:?} is for another key"
                ));
            }
            c.verify_signature().map_err(|e| e.to_string())?;
            if c.not_after <= c.not_before {
                return Err("certificate validity ends before it starts".into());
            }
            Ok(())
        }
        "revocations" => {
            let [s, b, i] = key_parts::<3>(key)?;
            let r = decode::<Revocation>(value)?;
            if id::<NodeId>(s)? != r.subject || id::<NodeId>(b)? != r.by || i != r.id() {
                return Err(format!(
                    "revocation stored under {key:?} is for another key"
                ));
            }
            Ok(())
        }
        _ => Err(format!("a federation document has no record {map}/{key}")),
    }
}

impl crate::kind::KindOp for FederationOp {
    fn split_personal(self) -> (Self, Option<crate::personal::PersonalData>) {
        // No operation of this kind carries personal data.
        (self, None)
    }
}

/// A new federation document of the district whose root is `owner`, with its first
/// settings.
pub(crate) fn genesis(
    owner: OrgId,
    config: DistrictConfig,
) -> Result<crate::document::Genesis, policy::PolicyError> {
    let header = crate::document::DocHeader::new(
        crate::document::DocKind::Federation,
        owner.clone(),
        owner,
        None,
        None,
        "federation".into(),
        crate::time::Zone::shanghai(),
    );
    Ok((
        header,
        vec![crate::document::Put::new("meta", "config", &config)],
    ))
}

/// The federation kind's contract (see [`crate::kind`]).
pub struct FederationContract;

/// This module's [`crate::kind::Kind`].
pub static KIND: FederationContract = FederationContract;

crate::kind::kind_basics!(Federation, FederationContract, FederationOp);

impl crate::kind::Kind for FederationContract {
    crate::kind::kind_basics!(Federation, FederationOp);
    /// Performers: certificates and revocations by a key that certifies others (which
    /// certificate it may issue or withdraw is judged when it writes); settings by the root.
    fn performers(&self, op: &str) -> Option<&'static [crate::policy::Standing]> {
        use crate::policy::Standing::*;
        Some(match op {
            "issue" | "revoke" => &[Certifier],
            "set_config" => &[Root],
            _ => return None,
        })
    }
    /// No operation of the federation is performed by whom its records name.
    fn named(&self, _: &crate::document::Document, _: &crate::cert::Principal) -> bool {
        false
    }
    /// Receivers: the federation document: everyone receives it.
    fn receives(&self, _: &crate::kind::Relation) -> bool {
        true
    }
    fn write_once(&self, _map: &str, _key: &str) -> bool {
        false
    }
    fn needs_history(&self, map: &str, _key: &str) -> bool {
        map == "revocations"
    }
    fn authorize(
        &self,
        rules: &crate::policy::Rules<'_>,
        w: &crate::document::Write,
    ) -> Result<(), String> {
        federation_rule(rules.history, rules.who, rules.trust, rules.at, w)
    }
    fn may_create(
        &self,
        _header: &crate::document::DocHeader,
        who: &crate::cert::Principal,
    ) -> Result<(), String> {
        if who.is_root() {
            Ok(())
        } else {
            Err("only the district root creates the federation document".into())
        }
    }
    fn audience(
        &self,
        _doc: &Document,
        _map: &str,
        _key: &str,
    ) -> Option<Result<crate::personal::Audience, crate::personal::PersonalError>> {
        // No record of this kind carries personal data.
        None
    }
    fn receives_for_content(&self, _doc: &Document, _who: &crate::cert::Principal) -> bool {
        // Nothing in this kind's documents grants more than the relation.
        false
    }
}

/// The federation rules. Revocations are judged on the document as of the change's history
/// (`past`): the certificates they name and the chains that give the signer authority over
/// them must be ones the signer could see.
pub(crate) fn federation_rule(
    past: &Document,
    who: &Principal,
    trust: &TrustStore,
    at: Timestamp,
    w: &Write,
) -> policy::Rule {
    match w.map.as_str() {
        "meta" => policy::require(who.is_root(), || {
            "only the root sets the district settings".into()
        }),
        "certs" => {
            let c: crate::cert::Certificate = policy::decode(w)?;
            policy::require(c.issuer == who.node, || {
                format!(
                    "the certificate names issuer {}, not the signer",
                    c.issuer.short()
                )
            })?;
            if who.is_root() {
                return Ok(());
            }
            let (role, org) = (who.role, who.org.as_ref());
            let ok = match (role, c.role) {
                (Some(Role::Street), Role::Community) => c.parent.as_ref() == org,
                (Some(Role::Community), Role::Unit | Role::Partner) => c.parent.as_ref() == org,
                _ => false,
            };
            policy::require(ok, || {
                format!(
                    "a {} may not certify a {} of {}",
                    role.map_or("root".to_string(), |r| r.to_string()),
                    c.role,
                    c.parent
                        .as_ref()
                        .map_or("the district".to_string(), ToString::to_string)
                )
            })
        }
        "revocations" => {
            let r: crate::cert::Revocation = policy::decode(w)?;
            policy::require(r.by == who.node, || {
                "the revocation names another revoker".into()
            })?;
            policy::require(r.at == at, || {
                format!(
                    "the revocation is dated {}, not at its change's time {at}",
                    r.at
                )
            })?;
            may_revoke(past, trust, &r)
        }
        _ => Err("unknown map".into()),
    }
}

/// Whether `r.by` may make revocation `r`, judged on the federation document `fed` (the
/// certificates named must be in it) and the certificates of `trust` that `fed` holds
/// (the chains giving authority): the subject is not the root, at least one certificate is
/// named, each is a certificate of the subject, and the signer may withdraw each
/// ([`TrustStore::may_withdraw`]: its issuer, a key above it in one of its chains, or the
/// root). Used by the write policy on every received revocation and by the typed operation.
pub(crate) fn may_revoke(fed: &Document, trust: &TrustStore, r: &Revocation) -> policy::Rule {
    policy::require(r.subject != *trust.root(), || {
        "the root key cannot be revoked (a compromised root means a new district)".into()
    })?;
    policy::require(!r.certs.is_empty(), || {
        "a revocation must name the certificates it withdraws".into()
    })?;
    let view = Federation::new(fed);
    let held: Vec<(CertId, Certificate)> = view
        .certificates()
        .into_iter()
        .map(|c| (c.id(), c))
        .collect();
    let ids: std::collections::BTreeSet<CertId> = held.iter().map(|(i, _)| *i).collect();
    let chains = trust.subset(|i| ids.contains(i));
    for id in &r.certs {
        let Some((_, cert)) = held.iter().find(|(i, _)| i == id) else {
            return Err(format!(
                "key {} may not revoke certificate {}: no such certificate in the federation \
                 document as the revoker saw it",
                r.by.short(),
                id.short()
            ));
        };
        policy::require(cert.subject == r.subject, || {
            format!(
                "key {} may not revoke certificate {} as one of key {}: it is a certificate of \
                 key {}",
                r.by.short(),
                id.short(),
                r.subject.short(),
                cert.subject.short()
            )
        })?;
        chains.may_withdraw(&r.by, cert, r.at)?;
    }
    Ok(())
}
