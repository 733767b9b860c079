//! linli-core: typed community documents on automerge — pure, deterministic, no I/O.
//!
//! * [`document`] — the shared layout: fixed record maps, JSON records, change checks.
//! * [`registry`], [`ledger`], [`resource`], [`wishes`] — the document kinds, each with its
//!   operations, validation, queries and merge rules.
//! * [`replica`] — a set of documents with typed writes that produce automerge changes and
//!   an `apply` for changes from other replicas.
//! * [`quota`] — per-signer write quotas (changes and bytes per document per day) that the
//!   node enforces on received changes.
//!
//! Nothing here reads the clock, the network or the disk: time is always an argument.
#![deny(missing_docs)]

#[cfg(test)]
mod attack_tests;
#[cfg(test)]
mod batch_tests;
pub mod catalogue;
pub mod cert;
pub mod class;
#[cfg(test)]
mod convergence_tests;
#[cfg(test)]
mod cover_tests;
pub mod district;
pub mod docs;
pub mod document;
pub mod identity;
pub mod ids;
pub mod kind;
mod kind_list;
#[cfg(test)]
mod late_maps_tests;
/// Declares each kind's module (`pub mod federation;` …) from the one list of kinds.
macro_rules! kind_modules {
    ($($variant:ident, $module:ident, $op:ident, $err:ident, $doc:literal, $label:literal,
       $opdoc:literal, { $($new:tt)* };)*) => {
        $(#[doc = concat!("The ", $label, " kind: ", $doc)] pub mod $module;)*
    };
}
kind_list::with_kinds!(kind_modules);
pub mod kinds;
pub mod outcome;
#[cfg(test)]
mod pending_tests;
pub mod personal;
#[cfg(test)]
mod personal_tests;
pub mod policy;
pub mod quota;
pub mod replica;
#[cfg(test)]
mod revocation_tests;
mod schema;
pub mod signed;
pub mod sync;
#[cfg(test)]
mod testutil;
pub mod time;
pub mod views;
pub mod zh;

pub use district::DistrictConfig;
pub use document::{Author, DocHeader, DocKind, Document, Put};
pub use ids::*;
pub use kind::{Ctx, Effect};
pub use replica::{Applied, ChangeSource, Error, NewDoc, Op, Rejection, Replica, WaitLimit};
pub use signed::SignedChange;
pub use time::{Slot, Timestamp, Zone};
