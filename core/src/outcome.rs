//! What applying a change can come to: applied, waiting, or refused with a reason.

use std::collections::BTreeSet;

use automerge::ChangeHash;

use crate::cert::CertError;
use crate::document::DocError;
use crate::ids::{DocId, NodeId};
use crate::policy::PolicyError;
use crate::time::Timestamp;

/// The bound of the waiting sets that a dropped change hit ([`Error::PendingFull`](crate::kinds::Error::PendingFull)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitLimit {
    /// All waiting changes ([`Replica::max_pending`](crate::replica::Replica::max_pending)).
    All,
    /// The changes one signer has waiting, for dependencies or a certificate (a tenth of
    /// `max_pending`).
    Signer,
    /// Changes waiting for a certificate of their signer (half of `max_pending`).
    Awaiting,
    /// Changes parked for missing dependencies by keys without a certificate chain, all keys
    /// together (a tenth of `max_pending`).
    Quarantine,
    /// Changes parked for missing dependencies by one key without a certificate chain
    /// ([`QUARANTINE_PER_KEY`](crate::replica::QUARANTINE_PER_KEY)).
    QuarantinePerKey,
}

impl std::fmt::Display for WaitLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WaitLimit::All => "waiting changes in all",
            WaitLimit::Signer => "waiting changes per signer",
            WaitLimit::Awaiting => "changes waiting for a certificate",
            WaitLimit::Quarantine => {
                "changes parked for missing dependencies by keys without a certificate chain"
            }
            WaitLimit::QuarantinePerKey => {
                "changes parked for missing dependencies per key without a certificate chain"
            }
        })
    }
}

/// Outcome of applying a remote change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The change (and possibly waiting dependents, listed in causal order) was applied.
    Applied(Vec<ChangeHash>),
    /// Already held: nothing changed.
    Duplicate,
    /// Waits for these missing dependencies.
    Pending(Vec<ChangeHash>),
    /// Waits for a certificate: the signer has no valid chain to the root at the change's
    /// time (yet). Retried whenever the federation document changes.
    AwaitingCertificate(CertError),
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RejectReason {
    /// The change is beyond the cut-off of a revocation that withdrew the signer's
    /// certificate(s), and no other certificate chain of the signer allows it.
    #[error(
        "key {signer} was revoked ({reason}) by {by} in revocation {revocation}, and this change is after its cut-off: no other certificate chain of the key allows it"
    )]
    Revoked {
        /// Short form of the revoked key.
        signer: String,
        /// Short id of the revocation that caused it ([`Revocation::short_id`](crate::cert::Revocation::short_id)); several,
        /// comma-separated, when only together they leave the key without a chain.
        revocation: String,
        /// Short form of the revoking key(s), in the same order.
        by: String,
        /// The revocation's reason (several separated by `; `).
        reason: String,
    },
    /// The change breaks the document layout or a record schema.
    #[error(transparent)]
    Layout(DocError),
    /// The change breaks the kind's write policy.
    #[error(transparent)]
    Policy(PolicyError),
    /// A dependency of the change was refused.
    #[error("depends on refused change {0}")]
    DependsOnRejected(String),
    /// The signer made two different changes with the same actor and sequence number
    /// (equivocation): wherever both are seen, the one with the smaller hash is kept and this
    /// one is refused with its dependents.
    #[error("key {signer} signed two different changes as seq {seq} of one actor; {kept} is kept")]
    Equivocation {
        /// Short form of the signer.
        signer: String,
        /// The sequence number used twice.
        seq: u64,
        /// The change kept in the slot (hex, shortened).
        kept: String,
    },
    /// The change does not follow its actor's previous change.
    #[error("seq {seq} of this actor does not depend on the actor's seq {prev}")]
    BrokenSequence {
        /// The change's sequence number.
        seq: u64,
        /// The one it must depend on.
        prev: u64,
    },
    /// The change's time is earlier than one of its dependencies' (backdating).
    #[error("the change is dated {at}, before its dependency {dep} dated {dep_at}")]
    Backdated {
        /// The change's own time.
        at: Timestamp,
        /// Short hash of the later dependency.
        dep: String,
        /// That dependency's time.
        dep_at: Timestamp,
    },
    /// The genesis change does not create the document it is sent for.
    #[error("{0}")]
    WrongDocument(String),
}

/// A refused change with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The document it was sent for.
    pub doc: DocId,
    /// Its hash.
    pub hash: ChangeHash,
    /// Its signer.
    pub signer: NodeId,
    /// Why it was refused.
    pub reason: RejectReason,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "change {} by {} to {}: {}",
            hex::encode(&self.hash.0[..4]),
            self.signer.short(),
            self.doc.short(),
            self.reason
        )
    }
}

/// A key that signed two different changes in one (document, actor, seq) slot, as reported
/// by [`Replica::equivocators`](crate::replica::Replica::equivocators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    /// The document of the slot.
    pub doc: DocId,
    /// The sequence number used more than once.
    pub seq: u64,
    /// The change kept in the slot.
    pub kept: ChangeHash,
    /// The changes of the slot refused as equivocation.
    pub refused: BTreeSet<ChangeHash>,
}

/// Where a change stands after a decision ([`crate::replica::Replica::take_decisions`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Applied to its document.
    Accepted {
        /// The document.
        doc: DocId,
        /// The change.
        hash: ChangeHash,
    },
    /// Held back, not (or no longer) in its document.
    Waiting {
        /// The document.
        doc: DocId,
        /// The change.
        hash: ChangeHash,
        /// What it waits for.
        on: WaitingOn,
    },
    /// Refused, with the reason (kept out of every document and never offered to peers).
    Refused(Rejection),
    /// A key was found signing two different changes in one slot (its refused changes are
    /// reported as [`Decision::Refused`]).
    Equivocated {
        /// The key.
        signer: NodeId,
        /// Its lowest contested slot.
        equivocation: Equivocation,
    },
}

/// What a waiting change waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitingOn {
    /// Changes it depends on.
    Dependencies,
    /// A certificate chain of its signer valid at the change's time.
    Certificate,
    /// Nothing here: it was dropped from the bounded waiting sets and is applied again when
    /// it comes back (by sync, or from the node's log on the next open).
    Dropped,
}

impl WaitingOn {
    /// Says what the change waits for.
    pub fn describe(self) -> &'static str {
        match self {
            WaitingOn::Dependencies => "waits for missing dependencies",
            WaitingOn::Certificate => "waits for a certificate of its signer",
            WaitingOn::Dropped => {
                "waits: dropped from the waiting set, applied again when it comes back"
            }
        }
    }
}
