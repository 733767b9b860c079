//! The one list of document kinds.
//!
//! Each entry names a kind: its `DocKind` variant, its module (which implements
//! [`crate::kind::Kind`] as `KIND`, plans its operations with `plan` and builds a new
//! document with `genesis`), its operation enum, its error type, what its documents are, its
//! label, what its operations are, and what creating one of its documents takes. Every list
//! of kinds in the crate is generated from these entries by a callback macro:
//! [`crate::document::DocKind`] and its labels (in the shared layer, which names no kind
//! module), and `kinds::ALL`, `kinds::of`, `kinds::layout`, the `Op` enum and its planning,
//! the kinds' variants of `Error` and their classes, and `NewDoc` (in the list's own layer,
//! above the kinds). This module imports nothing, so any layer may take the list.
//!
//! The first entry is the federation document, whose operations the replica plans (they
//! sign certificates with the node's key and read its trust store) and whose errors are the
//! write policy's.
//!
//! A sixth kind is a module and an entry here (and a dashboard tab); the tidy test and the
//! list's own test check that nothing else names it.

/// Calls `$callback!` with every kind, one entry each:
/// `Variant, module, OpEnum, ErrorType, "doc", "label", "op doc", { genesis fields };`.
macro_rules! with_kinds {
    ($callback:ident) => {
        $callback! {
            Federation, federation, FederationOp, PolicyError,
                "Certificates, revocations and district settings (one per district).",
                "federation document",
                "Federation operation (certificates, revocations, district settings).",
                {
                    /// Initial district settings.
                    config: crate::district::DistrictConfig,
                };
            Registry, registry, RegistryOp, RegistryError,
                "Compound registry of one community.",
                "compound registry",
                "Compound registry operation.",
                {
                    /// Street of the community.
                    street: crate::ids::OrgId,
                    /// The community.
                    community: crate::ids::OrgId,
                    /// Title.
                    title: String,
                };
            Ledger, ledger, LedgerOp, LedgerError,
                "Volunteer service ledger of one community for one year.",
                "service ledger",
                "Service ledger operation.",
                {
                    /// Street of the community.
                    street: crate::ids::OrgId,
                    /// The community.
                    community: crate::ids::OrgId,
                    /// Calendar year.
                    year: i16,
                    /// Points rule and star thresholds.
                    rules: crate::ledger::LedgerRules,
                };
            Resource, resource, ResourceOp, ResourceError,
                "One shared resource (activity room, hall, kitchen …) and its bookings.",
                "resource",
                "Resource and booking operation.",
                {
                    /// Street where the resource is.
                    street: crate::ids::OrgId,
                    /// Community where the resource is.
                    community: Option<crate::ids::OrgId>,
                    /// Its description and rules.
                    spec: crate::resource::ResourceSpec,
                };
            Wishes, wishes, WishesOp, WishesError,
                "Micro-wishes, service-menu offers, suggestions and problems of one community.",
                "wishes",
                "Wishes operation.",
                {
                    /// Street of the community.
                    street: crate::ids::OrgId,
                    /// The community.
                    community: crate::ids::OrgId,
                    /// Title.
                    title: String,
                };
            Volunteers, volunteers, VolunteersOp, VolunteersError,
                "Volunteer registry of one community: volunteers, teams, paired units.",
                "volunteer registry",
                "Volunteer registry operation.",
                {
                    /// Street of the community.
                    street: crate::ids::OrgId,
                    /// The community.
                    community: crate::ids::OrgId,
                    /// Title.
                    title: String,
                };
        }
    };
}
pub(crate) use with_kinds;
