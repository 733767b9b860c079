//! Federation certificates: who may act for which organisation, and revocations.
//!
//! A district (or street) **root key** certifies streets, communities, co-building units and
//! partners. Streets may certify their communities; communities may certify their units and
//! partners; units and partners certify nobody ([`may_issue`]). A key is a [`Principal`] when
//! a chain of at most [`MAX_CHAIN_LEN`] certificates leads from it to the configured root,
//! every certificate verifying, valid at the time asked about and issued within the rules
//! ([`TrustStore::principal`]).
//!
//! Everything is pure data and checks: times are arguments (normally the timestamp of the
//! change being checked), and a [`Revocation`] names a causal cut-off instead of a time.
//!
//! # Signed bytes of a certificate
//!
//! [`Certificate::canonical_bytes`] — what the issuer signs — is the domain tag followed by
//! every field except the signature, in this fixed layout (integers little-endian, strings
//! as a `u64` byte length followed by their UTF-8 bytes):
//!
//! | field        | encoding                                                         |
//! |--------------|------------------------------------------------------------------|
//! | domain tag   | the 14 bytes `b"linli/cert/v1\0"` ([`CERT_DOMAIN`])              |
//! | `subject`    | 32 bytes                                                         |
//! | `role`       | 1 byte: 0 street, 1 community, 2 unit, 3 partner                 |
//! | `org`        | string                                                           |
//! | `parent`     | 1 byte 0 for `None`, or 1 byte 1 followed by the string          |
//! | `name`       | string                                                           |
//! | `not_before` | `i64`, milliseconds since the Unix epoch                         |
//! | `not_after`  | `i64`, milliseconds since the Unix epoch                         |
//! | `issuer`     | 32 bytes                                                         |

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::{self, Keypair, Signature};
use crate::ids::{DocId, NodeId, OrgId, Scope};
use crate::time::Timestamp;

/// Domain-separation tag at the start of a certificate's signed bytes.
pub const CERT_DOMAIN: &[u8] = b"linli/cert/v1\0";

/// Longest accepted certificate chain from a key to the root (root → street → community →
/// unit).
pub const MAX_CHAIN_LEN: usize = 3;

/// What a certified key acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A street office (街道).
    Street,
    /// A community (社区).
    Community,
    /// A co-building unit (共建单位) of a community.
    Unit,
    /// A partner organisation of a community.
    Partner,
}

impl Role {
    /// The snake_case name, as in serde.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Street => "street",
            Role::Community => "community",
            Role::Unit => "unit",
            Role::Partner => "partner",
        }
    }
    /// The byte of this role in the signed certificate bytes.
    fn code(self) -> u8 {
        match self {
            Role::Street => 0,
            Role::Community => 1,
            Role::Unit => 2,
            Role::Partner => 3,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a certificate, a certificate link or a chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// No certificate of this key chains to the configured root (there is none at all, or
    /// its chain ends at a key that is neither the root nor certified — e.g. a foreign root).
    #[error("no certificate for key {node} chains to the configured root {root}")]
    NoCertificate {
        /// Short form of the key lacking a certificate (the asked key or one of its issuers).
        node: String,
        /// Short form of the configured root.
        root: String,
    },
    /// A certificate in the chain had expired at the time asked about.
    #[error("certificate of key {node} expired at {not_after} (checked at {at})")]
    Expired {
        /// Short form of the certificate's subject.
        node: String,
        /// End of its validity (exclusive).
        not_after: Timestamp,
        /// The time checked.
        at: Timestamp,
    },
    /// A certificate in the chain was not yet valid at the time asked about.
    #[error("certificate of key {node} is not valid before {not_before} (checked at {at})")]
    NotYetValid {
        /// Short form of the certificate's subject.
        node: String,
        /// Start of its validity.
        not_before: Timestamp,
        /// The time checked.
        at: Timestamp,
    },
    /// A certificate's signature does not verify under its issuer's key.
    #[error("certificate of key {node} is not validly signed by its issuer {issuer}")]
    BadSignature {
        /// Short form of the certificate's subject.
        node: String,
        /// Short form of the issuer it names.
        issuer: String,
    },
    /// The issuer's own certificate does not allow issuing this certificate.
    #[error("key {issuer} may not certify key {subject}: {reason}")]
    NotAllowedToIssue {
        /// Short form of the issuer.
        issuer: String,
        /// Short form of the subject.
        subject: String,
        /// Which rule was broken.
        reason: String,
    },
    /// The chain does not reach the root within [`MAX_CHAIN_LEN`] certificates.
    #[error("certificate chain of key {node} does not reach the root within {max} certificates")]
    ChainTooLong {
        /// Short form of the key whose chain is too long.
        node: String,
        /// The limit.
        max: usize,
    },
}

impl CertError {
    /// How specific the failure is, for choosing one error among several failed chains:
    /// higher means closer to a working chain and more useful to report.
    fn specificity(&self) -> u8 {
        match self {
            CertError::NoCertificate { .. } => 0,
            CertError::ChainTooLong { .. } => 1,
            CertError::BadSignature { .. } => 2,
            CertError::NotAllowedToIssue { .. } => 3,
            CertError::NotYetValid { .. } => 4,
            CertError::Expired { .. } => 5,
        }
    }
}

/// A federation certificate: `issuer` certifies that `subject` acts as `role` for `org`
/// between `not_before` (inclusive) and `not_after` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The certified key.
    pub subject: NodeId,
    /// What the subject acts as.
    pub role: Role,
    /// The organisation the subject acts for (e.g. the community code).
    pub org: OrgId,
    /// The organisation `org` belongs to: a community's street, a unit's or partner's
    /// community; `None` when certified directly by the root for the district.
    pub parent: Option<OrgId>,
    /// Human-readable name of the organisation.
    pub name: String,
    /// Start of validity (inclusive).
    pub not_before: Timestamp,
    /// End of validity (exclusive).
    pub not_after: Timestamp,
    /// The key that signed this certificate.
    pub issuer: NodeId,
    /// The issuer's signature over [`Certificate::canonical_bytes`].
    pub signature: Signature,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl Certificate {
    /// Issues (signs) a certificate with `issuer`'s key. Whether the issuer is *allowed* to
    /// is checked when the certificate is used ([`may_issue`], [`TrustStore::principal`]).
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per certificate field"
    )]
    pub fn issue(
        issuer: &Keypair,
        subject: NodeId,
        role: Role,
        org: OrgId,
        parent: Option<OrgId>,
        name: impl Into<String>,
        not_before: Timestamp,
        not_after: Timestamp,
    ) -> Certificate {
        let mut cert = Certificate {
            subject,
            role,
            org,
            parent,
            name: name.into(),
            not_before,
            not_after,
            issuer: issuer.node_id(),
            signature: Signature([0; 64]),
        };
        cert.signature = issuer.sign(&cert.canonical_bytes());
        cert
    }

    /// The signed bytes: [`CERT_DOMAIN`] followed by every field but the signature (layout in
    /// the [module documentation](self)).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            CERT_DOMAIN.len()
                + 32
                + 1
                + 8
                + self.org.as_str().len()
                + 9
                + 48
                + self.name.len()
                + 16
                + 32,
        );
        out.extend_from_slice(CERT_DOMAIN);
        out.extend_from_slice(self.subject.as_bytes());
        out.push(self.role.code());
        put_str(&mut out, self.org.as_str());
        match &self.parent {
            None => out.push(0),
            Some(p) => {
                out.push(1);
                put_str(&mut out, p.as_str());
            }
        }
        put_str(&mut out, &self.name);
        out.extend_from_slice(&self.not_before.0.to_le_bytes());
        out.extend_from_slice(&self.not_after.0.to_le_bytes());
        out.extend_from_slice(self.issuer.as_bytes());
        out
    }

    /// Checks the signature against `issuer`.
    pub fn verify_signature(&self) -> Result<(), CertError> {
        identity::verify(&self.issuer, &self.canonical_bytes(), &self.signature).map_err(|_| {
            CertError::BadSignature {
                node: self.subject.short(),
                issuer: self.issuer.short(),
            }
        })
    }

    /// Whether `t` lies in the validity period: `not_before <= t < not_after`.
    pub fn valid_at(&self, t: Timestamp) -> bool {
        self.not_before <= t && t < self.not_after
    }

    /// [`Certificate::valid_at`] as a typed error.
    pub fn check_time(&self, at: Timestamp) -> Result<(), CertError> {
        if at < self.not_before {
            Err(CertError::NotYetValid {
                node: self.subject.short(),
                not_before: self.not_before,
                at,
            })
        } else if at >= self.not_after {
            Err(CertError::Expired {
                node: self.subject.short(),
                not_after: self.not_after,
                at,
            })
        } else {
            Ok(())
        }
    }
}

/// The issuing rules for one link of a chain. `issuer` is the certificate of the key that
/// signed `subject`, or `None` when the signer is the root.
///
/// * The root may issue any role, with any `parent` (or none).
/// * A street may issue only community certificates with `parent == Some(street.org)`.
/// * A community may issue only unit or partner certificates with
///   `parent == Some(community.org)`.
/// * Units and partners issue nothing.
/// * A child's validity must lie within its issuer's (`issuer.not_before <=
///   subject.not_before` and `subject.not_after <= issuer.not_after`).
/// * `issuer.subject` must be the key named as `subject.issuer`.
///
/// Signatures and times are not checked here.
pub fn may_issue(issuer: Option<&Certificate>, subject: &Certificate) -> Result<(), CertError> {
    let Some(iss) = issuer else {
        return Ok(());
    };
    let refuse = |reason: String| {
        Err(CertError::NotAllowedToIssue {
            issuer: iss.subject.short(),
            subject: subject.subject.short(),
            reason,
        })
    };
    if iss.subject != subject.issuer {
        return refuse(format!(
            "the certificate was signed by {}, not by this key",
            subject.issuer.short()
        ));
    }
    let allowed: &[Role] = match iss.role {
        Role::Street => &[Role::Community],
        Role::Community => &[Role::Unit, Role::Partner],
        Role::Unit | Role::Partner => &[],
    };
    if !allowed.contains(&subject.role) {
        return refuse(if allowed.is_empty() {
            format!("a {} issues no certificates", iss.role)
        } else {
            format!(
                "a {} may not issue a {} certificate",
                iss.role, subject.role
            )
        });
    }
    if subject.parent.as_ref() != Some(&iss.org) {
        return refuse(format!(
            "a {} certificate from {} {} must name {} as its parent, not {}",
            subject.role,
            iss.role,
            iss.org,
            iss.org,
            subject
                .parent
                .as_ref()
                .map_or("none".to_string(), |p| p.to_string()),
        ));
    }
    if subject.not_before < iss.not_before || subject.not_after > iss.not_after {
        return refuse(format!(
            "validity {} .. {} is not within the issuer's {} .. {}",
            subject.not_before, subject.not_after, iss.not_before, iss.not_after
        ));
    }
    Ok(())
}

/// A key recognised by a [`TrustStore`] at some time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The key.
    pub node: NodeId,
    /// Its role; `None` for the root itself.
    pub role: Option<Role>,
    /// The organisation it acts for; `None` for the root.
    pub org: Option<OrgId>,
    /// The organisation `org` belongs to, from its certificate.
    pub parent: Option<OrgId>,
    /// Number of certificates from the key to the root (0 for the root).
    pub chain_len: usize,
    /// The organisations along the chain, from the one the root certified down to this
    /// key's: e.g. `beishi/dianye/power-co`. Organisation codes are only unique within
    /// their parent, so policies compare whole scopes.
    pub scope: Scope,
}

impl Principal {
    /// Whether this is the configured root.
    pub fn is_root(&self) -> bool {
        self.chain_len == 0
    }
}

/// A certificate held by a [`TrustStore`], with its signature checked once on insert.
#[derive(Debug, Clone)]
struct Held {
    cert: Certificate,
    signature_ok: bool,
}

/// The configured root plus every known certificate, several per subject (renewals).
///
/// Certificates are kept in a canonical order (by signed bytes, then signature), so every
/// answer is independent of insertion order.
#[derive(Debug, Clone)]
pub struct TrustStore {
    root: NodeId,
    certs: BTreeMap<NodeId, BTreeMap<(Vec<u8>, Signature), Held>>,
}

/// Best result seen among alternative chains: the shortest success, else the most specific
/// error (the first one in canonical order on ties).
#[derive(Default)]
struct Best {
    ok: Option<(usize, usize, Vec<OrgId>)>,
    err: Option<CertError>,
}

impl Best {
    fn add(&mut self, idx: usize, r: Result<(usize, Vec<OrgId>), CertError>) {
        match r {
            Ok((n, path)) => {
                if self.ok.as_ref().is_none_or(|(m, _, _)| n < *m) {
                    self.ok = Some((n, idx, path));
                }
            }
            Err(e) => {
                if self
                    .err
                    .as_ref()
                    .is_none_or(|old| e.specificity() > old.specificity())
                {
                    self.err = Some(e);
                }
            }
        }
    }
}

impl TrustStore {
    /// A store trusting `root` and no certificates yet.
    pub fn new(root: NodeId) -> Self {
        Self {
            root,
            certs: BTreeMap::new(),
        }
    }
    /// The configured root key.
    pub fn root(&self) -> &NodeId {
        &self.root
    }
    /// Adds a certificate (its signature is checked now and remembered). Returns `false` when
    /// the identical certificate was already known. Invalid certificates are kept too, so
    /// that [`TrustStore::principal`] can say why a key is refused.
    pub fn insert(&mut self, cert: Certificate) -> bool {
        let key = (cert.canonical_bytes(), cert.signature);
        let of_subject = self.certs.entry(cert.subject).or_default();
        if of_subject.contains_key(&key) {
            return false;
        }
        let signature_ok = cert.verify_signature().is_ok();
        of_subject.insert(key, Held { cert, signature_ok });
        true
    }
    /// The certificates whose subject is `node`, in canonical order.
    pub fn certificates_of(&self, node: &NodeId) -> impl Iterator<Item = &Certificate> {
        self.certs
            .get(node)
            .into_iter()
            .flat_map(|m| m.values().map(|h| &h.cert))
    }
    /// Number of certificates held.
    pub fn len(&self) -> usize {
        self.certs.values().map(BTreeMap::len).sum()
    }
    /// Whether no certificate is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Who `node` is at time `at`: the root itself, or the key of a certificate that chains
    /// to the root within [`MAX_CHAIN_LEN`] certificates, each with a valid signature, valid
    /// at `at` and allowed by [`may_issue`].
    ///
    /// When several chains work, the shortest is used (ties: the first subject certificate
    /// in canonical order). When none does, the most specific failure is reported (expired /
    /// not yet valid, then not allowed to issue, bad signature, chain too long, no
    /// certificate).
    pub fn principal(&self, node: &NodeId, at: Timestamp) -> Result<Principal, CertError> {
        if *node == self.root {
            return Ok(Principal {
                node: *node,
                role: None,
                org: None,
                parent: None,
                chain_len: 0,
                scope: Scope::root(),
            });
        }
        let candidates: Vec<&Held> = self
            .certs
            .get(node)
            .map(|m| m.values().collect())
            .unwrap_or_default();
        let mut best = Best::default();
        for (i, held) in candidates.iter().enumerate() {
            best.add(i, self.chain(held, at, MAX_CHAIN_LEN));
        }
        match (best.ok, best.err) {
            (Some((chain_len, i, scope)), _) => {
                let cert = &candidates[i].cert;
                Ok(Principal {
                    node: *node,
                    role: Some(cert.role),
                    org: Some(cert.org.clone()),
                    parent: cert.parent.clone(),
                    chain_len,
                    // Invariant: a chain has at most MAX_CHAIN_LEN links, each adding one
                    // organisation after the root-certified one's optional parent, so the
                    // path fits MAX_SCOPE_LEN.
                    scope: Scope::new(scope).unwrap_or_default(),
                })
            }
            (None, Some(e)) => Err(e),
            (None, None) => Err(self.no_certificate(node)),
        }
    }

    fn no_certificate(&self, node: &NodeId) -> CertError {
        CertError::NoCertificate {
            node: node.short(),
            root: self.root.short(),
        }
    }

    /// Length of the shortest valid chain from `held` to the root using at most `budget`
    /// certificates (including `held`).
    /// The length of the best chain from `held` to the root and the organisations along it,
    /// from the one certified by the root down to `held`'s.
    fn chain(
        &self,
        held: &Held,
        at: Timestamp,
        budget: usize,
    ) -> Result<(usize, Vec<OrgId>), CertError> {
        let cert = &held.cert;
        if !held.signature_ok {
            return Err(CertError::BadSignature {
                node: cert.subject.short(),
                issuer: cert.issuer.short(),
            });
        }
        cert.check_time(at)?;
        if cert.issuer == self.root {
            may_issue(None, cert)?;
            // The root is trusted to name the parent of what it certifies directly.
            let scope = match &cert.parent {
                Some(p) => vec![p.clone(), cert.org.clone()],
                None => vec![cert.org.clone()],
            };
            return Ok((1, scope));
        }
        let Some(issuers) = self.certs.get(&cert.issuer) else {
            return Err(self.no_certificate(&cert.issuer));
        };
        let mut best = Best::default();
        for (i, issuer) in issuers.values().enumerate() {
            let r = may_issue(Some(&issuer.cert), cert).and_then(|()| {
                if budget <= 1 {
                    Err(CertError::ChainTooLong {
                        node: cert.subject.short(),
                        max: MAX_CHAIN_LEN,
                    })
                } else {
                    self.chain(issuer, at, budget - 1)
                }
            });
            best.add(
                i,
                r.map(|(n, mut path)| {
                    path.push(cert.org.clone());
                    (n + 1, path)
                }),
            );
        }
        match (best.ok, best.err) {
            (Some((n, _, path)), _) => Ok((n, path)),
            (None, Some(e)) => Err(e),
            (None, None) => Err(self.no_certificate(&cert.issuer)),
        }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(String::deserialize(d)?, &mut out)
            .map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// One document-and-actor line of a revocation's cut-off: of `actor`'s changes in `doc`,
/// those with `seq <= self.seq` were accepted before the revocation, and the one with
/// `seq == self.seq` has hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutoffEntry {
    /// The document.
    pub doc: DocId,
    /// The automerge actor id (40 bytes: key ‖ incarnation); hex in serde.
    #[serde(with = "hex_bytes")]
    pub actor: Vec<u8>,
    /// Last accepted sequence number of that actor in that document.
    pub seq: u64,
    /// Hash of the change with sequence number `seq`; hex in serde.
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
}

/// The revocation of a key: its changes after the cut-off are refused everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The revoked key.
    pub subject: NodeId,
    /// What had been accepted from the key before the revocation, per document and actor.
    pub cutoff: Vec<CutoffEntry>,
    /// Why (free text).
    pub reason: String,
    /// The key that revoked.
    pub by: NodeId,
    /// When it was revoked (informational; acceptance uses the cut-off).
    pub at: Timestamp,
}

impl Revocation {
    /// Whether the change `(actor, seq, hash)` in `doc` is still accepted: true iff an entry
    /// for `(doc, actor)` exists and either `seq < entry.seq`, or `seq == entry.seq` and the
    /// hash matches. Changes of actors or documents without an entry are refused. If
    /// (ill-formed) several entries name the same `(doc, actor)`, any one allowing suffices.
    pub fn allows(&self, doc: &DocId, actor: &[u8], seq: u64, hash: &[u8; 32]) -> bool {
        self.cutoff.iter().any(|e| {
            e.doc == *doc && e.actor == actor && (seq < e.seq || (seq == e.seq && e.hash == *hash))
        })
    }
}

#[cfg(test)]
#[path = "cert_tests.rs"]
mod tests;
