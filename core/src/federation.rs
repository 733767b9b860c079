//! The federation document: certificates, revocations and the district settings.
//!
//! # Records and who writes them
//!
//! | map | key | record | written by |
//! |---|---|---|---|
//! | `meta` | `config` | [`DistrictConfig`] (checklist template, scoring weights) | the root |
//! | `certs` | `<subject>/<issuer>/<not_before>` | [`Certificate`] | its issuer, who must be allowed to issue it |
//! | `revocations` | `<subject>/<by>` | [`Revocation`] | the root, or an issuer of one of the subject's certificates |
//!
//! The document is created by the configured root key. Certificates are self-signed by
//! their issuer as well as carried in a signed change, so a certificate can be checked
//! wherever it travels.
//!
//! # Merge behaviour
//!
//! Certificates and revocations each have their own key, so they only accumulate: a key's
//! principal is found from the union of certificates, and a key is revoked if any
//! revocation names it; several revocations of one key must all allow a change for it to
//! stand. The district settings are written by the root alone (last write wins).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cert::{Certificate, Revocation, Role, TrustStore};
use crate::document::Document;
use crate::ids::{NodeId, OrgId};
use crate::replica::DistrictConfig;
use crate::schema::{decode, id, key_parts};
use crate::time::Timestamp;

/// The record maps of a federation document.
pub const MAPS: &[&str] = &["certs", "revocations"];

/// Operations on the federation document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Revoke a key: its changes after what this node has accepted so far are refused.
    Revoke {
        /// The key.
        subject: NodeId,
        /// Why.
        reason: String,
    },
    /// Replace the district settings (root only).
    SetConfig(DistrictConfig),
}

/// Key of a certificate record.
pub fn cert_key(c: &Certificate) -> String {
    format!("{}/{}/{}", c.subject, c.issuer, c.not_before.0)
}

/// Key of a revocation record.
pub fn revocation_key(r: &Revocation) -> String {
    format!("{}/{}", r.subject, r.by)
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
            let [s, b] = key_parts::<2>(key)?;
            let r = decode::<Revocation>(value)?;
            if id::<NodeId>(s)? != r.subject || id::<NodeId>(b)? != r.by {
                return Err(format!(
                    "revocation stored under {key:?} is for another key"
                ));
            }
            Ok(())
        }
        _ => Err(format!("a federation document has no record {map}/{key}")),
    }
}
