//! Write policies: which principal may write which record of which document kind.
//!
//! Every operation of a change resolves to a `(map, key, value)` write (see
//! [`crate::document::Document::writes_of`]); each write is checked here against the
//! signer's [`Principal`] (role and organisation from its certificate chain) and the
//! document's immutable header. Rules that depend on other records (a delegate's time block,
//! who holds an assignment) are evaluated on the document *as of the change's dependencies*,
//! so the verdict depends only on the change and its causal history — never on arrival
//! order.
//!
//! The table of rules is in ARCHITECTURE.md ("Write policies").

use automerge::ChangeHash;

use crate::cert::{Principal, Role, TrustStore};
use crate::document::{DocHeader, Document, Write};
use crate::ids::{RecordId, Scope};
use crate::time::Timestamp;

/// Why a change was refused by a write policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A write to a record the signer may not write.
    #[error("{who} may not write {map}/{key} of this {kind}: {reason}")]
    Denied {
        /// The signer, as `org (role)` or `root`.
        who: String,
        /// Kind of document.
        kind: &'static str,
        /// Map written.
        map: String,
        /// Key written.
        key: String,
        /// The rule.
        reason: String,
    },
    /// The signer may not create this document.
    #[error("{who} may not create this {kind}: {reason}")]
    Genesis {
        /// The signer.
        who: String,
        /// Kind of document.
        kind: &'static str,
        /// The rule.
        reason: String,
    },
}

/// Short description of a principal for messages.
pub fn describe(p: &Principal) -> String {
    match (&p.org, p.role) {
        (Some(o), Some(r)) => format!("{o} ({r})"),
        _ => "the root".to_string(),
    }
}

/// The creation rule of the documents a community owns (registry, ledger, wishes): only
/// that community, by its whole certified scope.
pub(crate) fn community_creates(header: &DocHeader, who: &Principal) -> Result<(), String> {
    require(
        who.role == Some(Role::Community)
            && header.community.as_ref() == Some(&header.owner)
            && is_owner(header, who),
        || match &header.community {
            Some(c) => format!(
                "it belongs to community {c} of street {}; only that community creates it",
                header.street
            ),
            None => "it names no community; only a community creates it".into(),
        },
    )
}

/// The creation rule of a resource: only its owner.
pub(crate) fn owner_creates(header: &DocHeader, who: &Principal) -> Result<(), String> {
    require(is_owner(header, who), || {
        format!(
            "its owner is {} (scope {})",
            header.owner,
            header.owner_scope()
        )
    })
}

pub(crate) type Rule = Result<(), String>;

pub(crate) fn require(ok: bool, reason: impl FnOnce() -> String) -> Rule {
    if ok { Ok(()) } else { Err(reason()) }
}

/// Whether `who` is the owner of the document: its whole certified scope, since codes are
/// only unique within their parent.
pub(crate) fn is_owner(h: &DocHeader, who: &Principal) -> bool {
    who.scope == h.owner_scope()
}

/// Whether `who` is the street of the document (certified by the root as a street).
pub(crate) fn is_street(h: &DocHeader, who: &Principal) -> bool {
    who.role == Some(Role::Street) && who.scope == h.street_scope()
}

/// Whether `who` is a district department: a unit or partner the root certified directly
/// (it writes the department's score sheets).
pub(crate) fn is_department(who: &Principal) -> bool {
    matches!(who.role, Some(Role::Unit | Role::Partner)) && who.scope.len() == 1
}

/// Whether `scope` is an organiser of the document's community: a unit or partner it
/// certified (a scope one below the community's), who may record service in its ledger.
pub(crate) fn is_organiser_scope(h: &DocHeader, scope: &Scope) -> bool {
    scope.len() == 3 && scope.parent().as_ref() == Some(&h.owner_scope())
}

/// Who may perform an operation, as a standing towards the document it writes: what the
/// operation catalogue tells surfaces (the dashboard offers an operation only to a node
/// holding one of its standings). [`Standing::holds`] uses the predicates the write rules
/// use (`is_owner`, `is_street`, `is_department`, `is_organiser_scope`), and each kind
/// lists its operations' standings next to its rules (`Kind::performers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The district root.
    Root,
    /// The document's owner, by its whole scope (a registry's, ledger's or wishes
    /// document's community, a resource's owner).
    Owner,
    /// The street of the document (certified by the root as a street).
    Street,
    /// A district department: a unit or partner the root certified directly.
    Department,
    /// A unit or partner the document's community certified (an organiser of service).
    Organiser,
    /// A key that may certify others: the root, a street (its communities), a community
    /// (its units and partners) — `cert::may_issue`.
    Certifier,
    /// Any certified organisation (booking requests, meal orders, claims).
    Certified,
    /// An organisation the document's records name for this operation (the requester of a
    /// booking or order, a delegate of a block, the assignee of a wish): any certified
    /// organisation may hold it; the records decide, when the operation is judged.
    Named,
}

impl Standing {
    /// Every standing.
    pub const ALL: [Standing; 8] = [
        Standing::Root,
        Standing::Owner,
        Standing::Street,
        Standing::Department,
        Standing::Organiser,
        Standing::Certifier,
        Standing::Certified,
        Standing::Named,
    ];

    /// Whether `who` holds this standing towards a document with header `h` (for
    /// [`Standing::Named`]: whether it may, depending on the document's records).
    pub fn holds(self, h: &DocHeader, who: &Principal) -> bool {
        match self {
            Standing::Root => who.is_root(),
            Standing::Owner => is_owner(h, who),
            Standing::Street => is_street(h, who),
            Standing::Department => is_department(who),
            Standing::Organiser => {
                matches!(who.role, Some(Role::Unit | Role::Partner))
                    && is_organiser_scope(h, &who.scope)
            }
            Standing::Certifier => {
                who.is_root() || who.role.is_some_and(|r| !r.certifies().is_empty())
            }
            Standing::Certified | Standing::Named => true,
        }
    }
}

pub(crate) fn first_id<T: std::str::FromStr>(key: &str) -> Result<T, String> {
    key.split('/')
        .next()
        .and_then(|k| k.parse().ok())
        .ok_or_else(|| format!("malformed key {key:?}"))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(w: &Write) -> Result<T, String> {
    serde_json::from_str(&w.value).map_err(|e| format!("record does not decode: {e}"))
}

/// What the rules of one change look at: the document (whose header never changes), the
/// change's history and its signer, the trust store and the change's time. A kind's
/// [`crate::kind::Kind::authorize`] judges each write with it.
pub struct Rules<'a> {
    pub(crate) h: &'a DocHeader,
    pub(crate) doc: &'a Document,
    pub(crate) deps: &'a [ChangeHash],
    pub(crate) who: &'a Principal,
    /// The document as of the change's dependencies (for rules on the whole typed view).
    pub(crate) history: &'a Document,
    pub(crate) trust: &'a TrustStore,
    pub(crate) at: Timestamp,
}

impl Rules<'_> {
    /// A record numbered by its writer (`org@tag:n`): the code must be the signer's own
    /// organisation and the tag the signer's key, so nobody can write under another's
    /// number, and records that name an organisation name the signer's whole scope.
    pub(crate) fn own_number(&self, id: &RecordId) -> Rule {
        require(
            self.who.scope.org() == Some(&id.org) && id.numbered_by(&self.who.node),
            || {
                format!(
                    "record {id} is not numbered by the signer: its key must start with {}@ and this key's tag",
                    self.who
                        .scope
                        .org()
                        .map_or("root".to_string(), ToString::to_string)
                )
            },
        )
    }

    pub(crate) fn names_signer(&self, named: &Scope, field: &str) -> Rule {
        require(*named == self.who.scope, || {
            format!(
                "the record's {field} is {named}, not the signer's scope {}",
                self.who.scope
            )
        })
    }

    pub(crate) fn owner(&self, what: &str) -> Rule {
        require(is_owner(self.h, self.who), || {
            format!("only the owner {} may {what}", self.h.owner_scope())
        })
    }
}
