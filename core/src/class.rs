//! One classification of refusals: every error of linli-core names its [`ErrorClass`]
//! here, once; the HTTP status, the CLI exit code and the Python exception are lookups in
//! one table by class (`linli_node::ops::CLASSES`).

use serde::{Deserialize, Serialize};

use crate::cert::CertError;

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

/// Certificates: a refusal of who the writer is.
impl CertError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Unauthorized
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Error;
    use crate::personal::PersonalError;
    use crate::resource::ResourceError;

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
