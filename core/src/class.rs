//! One classification of refusals: every error of linli-core names its [`ErrorClass`]
//! here, once; the HTTP status, the CLI exit code and the Python exception are lookups in
//! one table by class (`linli_node::ops::CLASSES`).

use serde::{Deserialize, Serialize};

use crate::cert::CertError;
use crate::ledger::LedgerError;
use crate::personal::PersonalError;
use crate::registry::RegistryError;
use crate::replica::Error;
use crate::resource::ResourceError;
use crate::wishes::WishesError;

/// What kind of refusal an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The input cannot be read: a malformed id, time, zone or byte string.
    Malformed,
    /// Readable but invalid: a rule of the domain refuses the values (an empty field, a
    /// slot outside the opening hours, too many attendees).
    Invalid,
    /// A named document or record does not exist here.
    NotFound,
    /// The writer may not do this (its certificate, its role, a write policy, a bar).
    Unauthorized,
    /// The operation conflicts with the current state (an overlap, a final record, a
    /// balance too low, a quota reached).
    Conflict,
    /// The node could not read what it stored.
    Storage,
}

impl ErrorClass {
    /// Every class, in table order.
    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::Malformed,
        ErrorClass::Invalid,
        ErrorClass::NotFound,
        ErrorClass::Unauthorized,
        ErrorClass::Conflict,
        ErrorClass::Storage,
    ];

    /// The snake_case name (as in JSON error bodies).
    pub fn label(self) -> &'static str {
        match self {
            ErrorClass::Malformed => "malformed",
            ErrorClass::Invalid => "invalid",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Unauthorized => "unauthorized",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Storage => "storage",
        }
    }
}

use ErrorClass as C;

impl Error {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Registry(e) => e.class(),
            Error::Ledger(e) => e.class(),
            Error::Resource(e) => e.class(),
            Error::Wishes(e) => e.class(),
            Error::Personal(e) => e.class(),
            Error::Time(_) | Error::Id(_) | Error::Envelope(_) | Error::Doc(_) => C::Malformed,
            Error::UnknownDocument(_) => C::NotFound,
            Error::WrongKind { .. } => C::Invalid,
            Error::NotCertified(_) | Error::SelfRevoked | Error::Policy(_) => C::Unauthorized,
            Error::Rejected(_) | Error::PendingFull { .. } | Error::Quota(_) => C::Conflict,
            Error::Source { .. } => C::Storage,
        }
    }
}

impl ResourceError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        use ResourceError as E;
        match self {
            E::Time(_) | E::Doc(_) => C::Malformed,
            E::UnknownBooking(_) | E::UnknownOrder(_) => C::NotFound,
            E::NotAllowed { .. } | E::NotArbiter { .. } | E::Barred { .. } => C::Unauthorized,
            E::Overlap { .. }
            | E::NoCandidateFits { .. }
            | E::Final { .. }
            | E::WrongStatus { .. }
            | E::AlreadyBarred { .. }
            | E::DelegationOverlap { .. }
            | E::NothingToPromote { .. }
            | E::AfterCutoff { .. }
            | E::OverDailyCapacity { .. }
            | E::OrderStatus { .. } => C::Conflict,
            E::InvalidSpec(_)
            | E::MissingSpec
            | E::EmptyField { .. }
            | E::NoAttendees
            | E::OverCapacity { .. }
            | E::TooManyAlternates { .. }
            | E::BadRecurrence { .. }
            | E::OutsideOpeningHours { .. }
            | E::Blackout { .. }
            | E::TooLong { .. }
            | E::LeadTime { .. }
            | E::InvalidDelegation(_)
            | E::NotAKitchen { .. }
            | E::NoPortions
            | E::NotOnMenu { .. }
            | E::KitchenClosed { .. } => C::Invalid,
        }
    }
}

impl LedgerError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        use LedgerError as E;
        match self {
            E::NotAllowed { .. } | E::NotHome { .. } => C::Unauthorized,
            E::UnknownEntry(_) => C::NotFound,
            E::InsufficientBalance { .. } | E::NothingToWrite(_) => C::Conflict,
            E::CorrectionTooLarge { .. }
            | E::InvalidHours(_)
            | E::WrongYear { .. }
            | E::InvalidAmount(_)
            | E::Empty(_)
            | E::WrongVolunteer { .. }
            | E::InvalidRules(_)
            | E::InvalidSource(_)
            | E::BatchSize { .. }
            | E::TooLarge { .. } => C::Invalid,
        }
    }
}

impl RegistryError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        use RegistryError as E;
        match self {
            E::NotOwner { .. } => C::Unauthorized,
            E::UnknownCompound(_) => C::NotFound,
            E::Archived(_) => C::Conflict,
            E::InvalidCompound(_)
            | E::InvalidAppointment(_)
            | E::ChecklistMismatch { .. }
            | E::InvalidScore(_) => C::Invalid,
        }
    }
}

impl WishesError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        use WishesError as E;
        match self {
            E::NotAllowed { .. } => C::Unauthorized,
            E::UnknownWish(_) => C::NotFound,
            E::AlreadyAssigned { .. } | E::BadTransition { .. } => C::Conflict,
            E::NotClaimed { .. } | E::Empty(_) => C::Invalid,
        }
    }
}

impl PersonalError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        use PersonalError as E;
        match self {
            E::Malformed(_) | E::BadSignature { .. } => C::Malformed,
            E::UnknownRecord { .. } | E::NotHeld { .. } => C::NotFound,
            E::NotAllowed { .. } | E::NotAudience { .. } => C::Unauthorized,
            E::Erased { .. } => C::Conflict,
            E::EmptyField { .. }
            | E::FieldTooLong { .. }
            | E::WrongKind { .. }
            | E::NotHome { .. } => C::Invalid,
        }
    }
}

/// Certificates: a refusal of who the writer is.
impl CertError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        C::Unauthorized
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_and_snake_case() {
        let labels: std::collections::BTreeSet<_> =
            ErrorClass::ALL.iter().map(|c| c.label()).collect();
        assert_eq!(labels.len(), ErrorClass::ALL.len());
        for c in ErrorClass::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.label()));
        }
    }

    #[test]
    fn the_same_refusal_has_one_class_whatever_wraps_it() {
        let not_arbiter = ResourceError::NotArbiter {
            who: crate::testutil::scope("hongqi"),
            slot: "Tuesday 19:00".into(),
            arbiter: "Dianye".into(),
        };
        assert_eq!(not_arbiter.class(), ErrorClass::Unauthorized);
        assert_eq!(Error::from(not_arbiter).class(), ErrorClass::Unauthorized);
        let unknown = ResourceError::UnknownBooking("dianye:1".parse().unwrap());
        assert_eq!(Error::from(unknown).class(), ErrorClass::NotFound);
        assert_eq!(
            Error::from(PersonalError::NotHome {
                volunteer: "hongqi:3".into(),
                community: "dianye".into()
            })
            .class(),
            ErrorClass::Invalid
        );
    }
}
