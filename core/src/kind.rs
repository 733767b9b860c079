//! The contract every document kind fulfils, and the one list of kinds.
//!
//! A kind is a module (`federation`, `registry`, `ledger`, `resource`, `wishes`) with a
//! value implementing [`Kind`]: its record maps, the check of a record's key and value, its
//! replication policy (who receives a document of the kind) and the schema of its
//! operations. The shared layer (document layout, record schema checks, sync, the
//! operation catalogue) reaches a kind only through [`of`], the one place that lists them:
//! a sixth kind is a module and a line here. The methods have no default bodies, so a new
//! kind must decide each.

use crate::document::DocKind;

/// How a receiver stands to a document, for the replication policy (computed by
/// `sync::may_receive` from the receiver's certified principal and the document's header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// The owner, or a unit or partner within it.
    pub own: bool,
    /// The document's street itself.
    pub its_street: bool,
    /// A community of the document's street.
    pub community_of_street: bool,
    /// A unit or partner of the document's community.
    pub in_community: bool,
    /// A body the root certified directly that is not a street (a district department).
    pub department: bool,
    /// Any organisation within the document's street.
    pub in_street: bool,
}

/// What a document kind decides for itself.
pub trait Kind: Sync {
    /// Which kind.
    fn kind(&self) -> DocKind;
    /// Its record maps (besides `meta`).
    fn maps(&self) -> &'static [&'static str];
    /// Checks a record's key shape and that its value decodes as the map's record type
    /// (used to refuse malformed remote changes).
    fn check_record(&self, map: &str, key: &str, value: &str) -> Result<(), String>;
    /// Whether a receiver standing in `relation` to a document of the kind receives it
    /// (the root and the federation document's everyone are decided before).
    fn receives(&self, relation: &Relation) -> bool;
    /// The JSON schema of the kind's operations (its `…Op` enum).
    fn operations(&self) -> serde_json::Value;
    /// Whether record `map/key` is final once written: a second write of the key — by
    /// anyone, the first writer included — is refused when the first is in the change's
    /// history (the list is in ARCHITECTURE.md, "Write policies").
    fn write_once(&self, map: &str, key: &str) -> bool;
    /// Whether the rule for a write of `map/key` judges it on the whole typed view of the
    /// document as of the change's history (rather than on single records read as of it).
    fn needs_history(&self, map: &str, key: &str) -> bool;
    /// Judges one write of a change under the change's rules (signer, history, trust);
    /// `Err` says why it is refused. (Write-once records are checked before.)
    fn authorize(
        &self,
        rules: &crate::policy::Rules<'_>,
        w: &crate::document::Write,
    ) -> Result<(), String>;
    /// Whether `who` may create a document with `header` (its genesis); `Err` says why not.
    fn may_create(
        &self,
        header: &crate::document::DocHeader,
        who: &crate::cert::Principal,
    ) -> Result<(), String>;
}

/// The part of a kind's contract that every kind module writes alike: its `DocKind`, its
/// `MAPS` and `check_record`, and the schema of its operation enum. Used inside
/// `impl Kind for …`.
macro_rules! kind_basics {
    ($kind:ident, $op:ty) => {
        fn kind(&self) -> crate::document::DocKind {
            crate::document::DocKind::$kind
        }
        fn maps(&self) -> &'static [&'static str] {
            MAPS
        }
        fn check_record(&self, map: &str, key: &str, value: &str) -> Result<(), String> {
            check_record(map, key, value)
        }
        fn operations(&self) -> serde_json::Value {
            schemars::schema_for!($op).to_value()
        }
    };
}
pub(crate) use kind_basics;

/// Every kind, in catalogue order.
pub const ALL: [DocKind; 5] = [
    DocKind::Federation,
    DocKind::Registry,
    DocKind::Ledger,
    DocKind::Resource,
    DocKind::Wishes,
];

/// The one list of kinds: the module that implements `kind`.
pub fn of(kind: DocKind) -> &'static dyn Kind {
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
            assert!(of(k).operations().get("oneOf").is_some(), "{k:?}");
        }
        let unique: std::collections::BTreeSet<_> = ALL.iter().collect();
        assert_eq!(unique.len(), ALL.len());
    }
}
