//! Federation certificates: who may act for which organisation, and revocations.
//!
//! A district (or street) **root key** certifies streets, communities, co-building units and
//! partners. Streets may certify their communities; communities may certify their units and
//! partners; units and partners certify nobody ([`may_issue`]). A key is a [`Principal`] when
//! a chain of at most [`MAX_CHAIN_LEN`] certificates leads from it to the configured root,
//! every certificate verifying, valid at the time asked about and issued within the rules
//! ([`TrustStore::principal`]).
//!
//! A key may hold several certificates (renewals, or several issuers: a unit co-building
//! with two communities); [`TrustStore::principals`] lists one principal per valid chain.
//!
//! A [`Revocation`] withdraws certificates (named by [`Certificate::id`]), not keys: only a
//! certificate's issuer, a key above the issuer in one of its chains, or the root may
//! withdraw it ([`TrustStore::may_withdraw`]), and the root key cannot be revoked. After the
//! revocation's causal cut-off, the key's changes are judged without the withdrawn chains
//! ([`TrustStore::principal_without`], [`Withdrawn`]).
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::{self, Keypair, Signature};
use crate::ids::{CertId, DocId, NodeId, OrgId, Scope};
use crate::time::Timestamp;

/// Domain-separation tag at the start of a certificate's signed bytes.
pub const CERT_DOMAIN: &[u8] = b"linli/cert/v1\0";

/// Longest accepted certificate chain from a key to the root (root → street → community →
/// unit).
pub const MAX_CHAIN_LEN: usize = 3;

/// What a certified key acts as.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
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
    /// The roles a key of this role may certify (below the root, which certifies any):
    /// a street its communities, a community its units and partners.
    pub fn certifies(self) -> &'static [Role] {
        match self {
            Role::Street => &[Role::Community],
            Role::Community => &[Role::Unit, Role::Partner],
            Role::Unit | Role::Partner => &[],
        }
    }
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
    /// The key has valid certificate chains, but revocations withdrew every one of them.
    #[error("every certificate chain of key {node} was withdrawn by a revocation")]
    Withdrawn {
        /// Short form of the key.
        node: String,
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
            CertError::Withdrawn { .. } => 6,
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

    /// The certificate's id: BLAKE3 of [`Certificate::canonical_bytes`] followed by the
    /// signature, so a certificate re-signed (or forged) under the same fields is another
    /// certificate.
    pub fn id(&self) -> CertId {
        let mut h = blake3::Hasher::new();
        h.update(&self.canonical_bytes());
        h.update(&self.signature.0);
        CertId(*h.finalize().as_bytes())
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
    let allowed = iss.role.certifies();
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

/// A certificate held by a [`TrustStore`], with its id computed and its signature checked
/// once on insert.
#[derive(Debug, Clone)]
struct Held {
    cert: Certificate,
    id: CertId,
    signature_ok: bool,
}

/// Certificates withdrawn by revocations, each with the keys that withdrew it.
///
/// A revocation withdraws a certificate from the chains that pass through its signer: a
/// chain loses certificate `c` when a key that withdrew `c` is the root, `c`'s issuer, or
/// the issuer of a certificate above `c` in that chain. The root and the issuer are in
/// every chain of `c`, so their withdrawal removes `c` from all of them; a key that is above
/// `c` in only some of its chains (say, a street that certified a community key of another
/// street a second time) removes only the chains through itself — never what another
/// issuer's certificate grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withdrawn {
    by_cert: BTreeMap<CertId, BTreeSet<NodeId>>,
}

impl Withdrawn {
    /// Nothing withdrawn.
    pub fn new() -> Self {
        Self::default()
    }
    /// Records that `by` withdrew certificate `cert`.
    pub fn add(&mut self, cert: CertId, by: NodeId) {
        self.by_cert.entry(cert).or_default().insert(by);
    }
    /// Whether nothing is withdrawn.
    pub fn is_empty(&self) -> bool {
        self.by_cert.is_empty()
    }
    /// Whether some key withdrew `cert`.
    pub fn contains(&self, cert: &CertId) -> bool {
        self.by_cert.contains_key(cert)
    }
    /// Whether the chain `path` (the key's own certificate first, the root-issued one last)
    /// loses one of its certificates.
    fn cuts(&self, path: &[&Held], root: &NodeId) -> bool {
        if self.by_cert.is_empty() {
            return false;
        }
        path.iter().enumerate().any(|(i, h)| {
            self.by_cert.get(&h.id).is_some_and(|by| {
                by.iter()
                    .any(|k| k == root || path[i..].iter().any(|up| up.cert.issuer == *k))
            })
        })
    }
}

/// The configured root plus every known certificate, several per subject (renewals, or
/// certificates from several issuers: a unit co-building with two communities).
///
/// Certificates are kept in a canonical order (by signed bytes, then signature), so every
/// answer is independent of insertion order.
#[derive(Debug, Clone)]
pub struct TrustStore {
    root: NodeId,
    certs: BTreeMap<NodeId, BTreeMap<(Vec<u8>, Signature), Held>>,
}

/// A valid chain: the held certificates from the key's own up to the one the root issued.
type Path<'a> = Vec<&'a Held>;

/// Keeps the more specific of two failures (the first one on ties).
fn keep_error(slot: &mut Option<CertError>, e: CertError) {
    if slot
        .as_ref()
        .is_none_or(|old| e.specificity() > old.specificity())
    {
        *slot = Some(e);
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
        let id = cert.id();
        of_subject.insert(
            key,
            Held {
                cert,
                id,
                signature_ok,
            },
        );
        true
    }
    /// The certificates whose subject is `node`, in canonical order.
    pub fn certificates_of(&self, node: &NodeId) -> impl Iterator<Item = &Certificate> {
        self.certs
            .get(node)
            .into_iter()
            .flat_map(|m| m.values().map(|h| &h.cert))
    }
    /// The certificate of `subject` with id `id`, if held.
    pub fn certificate(&self, subject: &NodeId, id: &CertId) -> Option<&Certificate> {
        self.certs
            .get(subject)?
            .values()
            .find(|h| h.id == *id)
            .map(|h| &h.cert)
    }
    /// The ids of every certificate held.
    pub fn ids(&self) -> BTreeSet<CertId> {
        self.certs
            .values()
            .flat_map(|m| m.values().map(|h| h.id))
            .collect()
    }
    /// A store with the same root and only the certificates whose id `keep` accepts.
    pub fn subset(&self, keep: impl Fn(&CertId) -> bool) -> TrustStore {
        let mut certs: BTreeMap<NodeId, BTreeMap<(Vec<u8>, Signature), Held>> = BTreeMap::new();
        for (subject, held) in &self.certs {
            for (k, h) in held.iter().filter(|(_, h)| keep(&h.id)) {
                certs
                    .entry(*subject)
                    .or_default()
                    .insert(k.clone(), h.clone());
            }
        }
        TrustStore {
            root: self.root,
            certs,
        }
    }
    /// Number of certificates held.
    pub fn len(&self) -> usize {
        self.certs.values().map(BTreeMap::len).sum()
    }
    /// Whether no certificate is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn root_principal(&self) -> Principal {
        Principal {
            node: self.root,
            role: None,
            org: None,
            parent: None,
            chain_len: 0,
            scope: Scope::root(),
        }
    }

    /// Who `node` is at time `at`: the root itself, or the key of a certificate that chains
    /// to the root within [`MAX_CHAIN_LEN`] certificates, each with a valid signature, valid
    /// at `at` and allowed by [`may_issue`].
    ///
    /// When several chains work, the shortest is used (ties: the first in canonical order —
    /// the key's certificates in canonical order, then their issuers' …). When none does,
    /// the most specific failure is reported (expired / not yet valid, then not allowed to
    /// issue, bad signature, chain too long, no certificate). Revocations are not looked at:
    /// see [`TrustStore::principal_without`].
    pub fn principal(&self, node: &NodeId, at: Timestamp) -> Result<Principal, CertError> {
        self.principal_without(node, at, &Withdrawn::new())
    }

    /// [`TrustStore::principal`] without the chains that lose a certificate in `withdrawn`
    /// (see [`Withdrawn`] for which chains a withdrawal cuts). When the key has valid chains
    /// but every one is cut, the error is [`CertError::Withdrawn`]. The root is never cut.
    pub fn principal_without(
        &self,
        node: &NodeId,
        at: Timestamp,
        withdrawn: &Withdrawn,
    ) -> Result<Principal, CertError> {
        if *node == self.root {
            return Ok(self.root_principal());
        }
        let paths = self.all_paths(node, at)?;
        paths
            .iter()
            .filter(|p| !withdrawn.cuts(p, &self.root))
            .fold(None::<&Path<'_>>, |best, p| match best {
                Some(b) if b.len() <= p.len() => Some(b),
                _ => Some(p),
            })
            .map(|p| self.principal_of(node, p))
            .ok_or_else(|| CertError::Withdrawn { node: node.short() })
    }

    /// Whether `withdrawn` cuts at least one valid chain of `node` at `at`.
    pub fn cuts_any(&self, node: &NodeId, at: Timestamp, withdrawn: &Withdrawn) -> bool {
        *node != self.root
            && self
                .all_paths(node, at)
                .is_ok_and(|ps| ps.iter().any(|p| withdrawn.cuts(p, &self.root)))
    }

    /// Every valid principal of `node` at `at`, one per valid certificate chain, deduplicated
    /// by scope: a key may hold certificates from several issuers (a unit co-building with
    /// two communities) and acts under each. Canonical order: shortest chain first, then the
    /// order of [`TrustStore::principal`] (so the first is what `principal` returns). Empty
    /// when the key has no valid chain. The root has one principal, itself.
    pub fn principals(&self, node: &NodeId, at: Timestamp) -> Vec<Principal> {
        self.principals_without(node, at, &Withdrawn::new())
    }

    /// [`TrustStore::principals`] without the chains cut by `withdrawn`.
    pub fn principals_without(
        &self,
        node: &NodeId,
        at: Timestamp,
        withdrawn: &Withdrawn,
    ) -> Vec<Principal> {
        if *node == self.root {
            return vec![self.root_principal()];
        }
        let Ok(mut paths) = self.all_paths(node, at) else {
            return Vec::new();
        };
        paths.retain(|p| !withdrawn.cuts(p, &self.root));
        // Stable: equally long chains keep their canonical order.
        paths.sort_by_key(Vec::len);
        let mut out: Vec<Principal> = Vec::new();
        for p in &paths {
            let principal = self.principal_of(node, p);
            if !out.iter().any(|q| q.scope == principal.scope) {
                out.push(principal);
            }
        }
        out
    }

    /// Whether `signer` may withdraw `cert` (checked at time `at`): the root may withdraw
    /// any certificate, the issuer its own, and a key above the issuer in one of the
    /// certificate's valid chains (the issuer's issuer, …) that certificate — in the chains
    /// through itself (see [`Withdrawn`]). The reason names the certificate and the signer.
    pub fn may_withdraw(
        &self,
        signer: &NodeId,
        cert: &Certificate,
        at: Timestamp,
    ) -> Result<(), String> {
        if *signer == self.root || *signer == cert.issuer {
            return Ok(());
        }
        let held = Held {
            id: cert.id(),
            signature_ok: cert.verify_signature().is_ok(),
            cert: cert.clone(),
        };
        let above = self.paths(&held, at, MAX_CHAIN_LEN).is_ok_and(|ps| {
            ps.iter()
                .any(|p| p.iter().any(|h| h.cert.issuer == *signer))
        });
        if above {
            Ok(())
        } else {
            Err(format!(
                "key {} may not revoke certificate {} of key {}: it is not its issuer ({}) and \
                 is above it in none of its valid chains",
                signer.short(),
                held.id.short(),
                cert.subject.short(),
                cert.issuer.short()
            ))
        }
    }

    fn principal_of(&self, node: &NodeId, path: &[&Held]) -> Principal {
        let Some((own, top)) = path.first().zip(path.last()) else {
            // Paths are never empty (each holds at least the key's own certificate).
            return self.root_principal();
        };
        let mut orgs = match &top.cert.parent {
            // The root is trusted to name the parent of what it certifies directly.
            Some(p) => vec![p.clone(), top.cert.org.clone()],
            None => vec![top.cert.org.clone()],
        };
        orgs.extend(path.iter().rev().skip(1).map(|h| h.cert.org.clone()));
        Principal {
            node: *node,
            role: Some(own.cert.role),
            org: Some(own.cert.org.clone()),
            parent: own.cert.parent.clone(),
            chain_len: path.len(),
            // Invariant: a chain has at most MAX_CHAIN_LEN links, each adding one
            // organisation after the root-certified one's optional parent, so the path fits
            // MAX_SCOPE_LEN.
            scope: Scope::new(orgs).unwrap_or_default(),
        }
    }

    fn no_certificate(&self, node: &NodeId) -> CertError {
        CertError::NoCertificate {
            node: node.short(),
            root: self.root.short(),
        }
    }

    /// Every valid chain of `node` (not the root) in canonical order, or the most specific
    /// failure when there is none.
    fn all_paths(&self, node: &NodeId, at: Timestamp) -> Result<Vec<Path<'_>>, CertError> {
        let mut out = Vec::new();
        let mut err = None;
        for held in self.certs.get(node).into_iter().flat_map(BTreeMap::values) {
            match self.paths(held, at, MAX_CHAIN_LEN) {
                Ok(ps) => out.extend(ps),
                Err(e) => keep_error(&mut err, e),
            }
        }
        if out.is_empty() {
            Err(err.unwrap_or_else(|| self.no_certificate(node)))
        } else {
            Ok(out)
        }
    }

    /// Every valid chain from `held` to the root using at most `budget` certificates
    /// (including `held`), in canonical order; or the most specific failure.
    fn paths<'a>(
        &'a self,
        held: &'a Held,
        at: Timestamp,
        budget: usize,
    ) -> Result<Vec<Path<'a>>, CertError> {
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
            return Ok(vec![vec![held]]);
        }
        let Some(issuers) = self.certs.get(&cert.issuer) else {
            return Err(self.no_certificate(&cert.issuer));
        };
        let mut out = Vec::new();
        let mut err = None;
        for issuer in issuers.values() {
            let r = may_issue(Some(&issuer.cert), cert).and_then(|()| {
                if budget <= 1 {
                    Err(CertError::ChainTooLong {
                        node: cert.subject.short(),
                        max: MAX_CHAIN_LEN,
                    })
                } else {
                    self.paths(issuer, at, budget - 1)
                }
            });
            match r {
                Ok(ps) => out.extend(ps.into_iter().map(|mut p| {
                    p.insert(0, held);
                    p
                })),
                Err(e) => keep_error(&mut err, e),
            }
        }
        if out.is_empty() {
            Err(err.unwrap_or_else(|| self.no_certificate(&cert.issuer)))
        } else {
            Ok(out)
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

/// The revocation of certificates of one key: after the cut-off, the key's changes no longer
/// count on the withdrawn certificates (see [`Withdrawn`] for which chains they leave). A
/// key holding other, unrevoked certificates keeps acting under them; a key left without
/// a chain has its changes after the cut-off refused everywhere.
///
/// Only the issuer of a certificate, a key above it in one of its chains, or the root may
/// withdraw it ([`TrustStore::may_withdraw`]); the root key itself cannot be revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The key whose certificates are withdrawn.
    pub subject: NodeId,
    /// The withdrawn certificates (each a certificate of `subject`).
    pub certs: Vec<CertId>,
    /// What had been accepted from the key before the revocation, per document and actor.
    pub cutoff: Vec<CutoffEntry>,
    /// Why (free text).
    pub reason: String,
    /// The key that revoked.
    pub by: NodeId,
    /// When it was revoked: the time of the change that writes it (acceptance uses the
    /// cut-off; this time is when the revoker's authority is checked).
    pub at: Timestamp,
}

/// Domain tag of a revocation's id ([`Revocation::id`]).
const REVOCATION_DOMAIN: &[u8] = b"linli/revocation/v1\0";

impl Revocation {
    /// The revocation's id, 32 hex characters: BLAKE3 of subject, revoker and the sorted
    /// set of withdrawn certificates. Part of its record key
    /// ([`crate::federation::revocation_key`]), so one key's revocations of different
    /// certificates never overwrite each other; messages name a revocation by its first 8
    /// characters ([`Revocation::short_id`]).
    pub fn id(&self) -> String {
        let certs: BTreeSet<&CertId> = self.certs.iter().collect();
        let mut h = blake3::Hasher::new();
        h.update(REVOCATION_DOMAIN);
        h.update(self.subject.as_bytes());
        h.update(self.by.as_bytes());
        for c in certs {
            h.update(c.as_bytes());
        }
        hex::encode(&h.finalize().as_bytes()[..16])
    }
    /// The first 8 characters of [`Revocation::id`], for messages.
    pub fn short_id(&self) -> String {
        self.id().chars().take(8).collect()
    }
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
