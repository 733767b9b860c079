//! The one list of document kinds, and what is derived from it.
//!
//! A kind is a module (`federation`, `registry`, `ledger`, `resource`, `wishes`) with a
//! value implementing [`crate::kind::Kind`]. Everything above the kinds (replica, sync,
//! catalogue, the node) reaches a kind through [`of`] or the types defined here; a sixth
//! kind is a module and its lines here.

use crate::document::{DocKind, Layout};
use crate::kind::Kind;

/// Every kind, in catalogue order.
pub const ALL: [DocKind; 5] = [
    DocKind::Federation,
    DocKind::Registry,
    DocKind::Ledger,
    DocKind::Resource,
    DocKind::Wishes,
];

/// The module that implements `kind`.
pub fn of(kind: DocKind) -> &'static dyn Kind {
    match kind {
        DocKind::Federation => &crate::federation::KIND,
        DocKind::Registry => &crate::registry::KIND,
        DocKind::Ledger => &crate::ledger::KIND,
        DocKind::Resource => &crate::resource::KIND,
        DocKind::Wishes => &crate::wishes::KIND,
    }
}

/// The layout of `kind`, for the document layer ([`crate::document::Layouts`]).
pub fn layout(kind: DocKind) -> &'static dyn Layout {
    match kind {
        DocKind::Federation => &crate::federation::KIND,
        DocKind::Registry => &crate::registry::KIND,
        DocKind::Ledger => &crate::ledger::KIND,
        DocKind::Resource => &crate::resource::KIND,
        DocKind::Wishes => &crate::wishes::KIND,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_each_kind_once_and_each_module_is_its_kind() {
        for k in ALL {
            assert_eq!(of(k).kind(), k);
            assert_eq!(of(k).maps(), layout(k).maps());
            assert!(of(k).operations().get("oneOf").is_some(), "{k:?}");
        }
        let unique: std::collections::BTreeSet<_> = ALL.iter().collect();
        assert_eq!(unique.len(), ALL.len());
    }
}
