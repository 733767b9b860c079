//! The one list of document kinds.
//!
//! Each line names a kind: its `DocKind` variant, its module (which implements
//! [`crate::kind::Kind`] as `KIND`), its operation enum, what its documents are, its label,
//! and what its operations are. Every list of kinds in the crate is generated from these
//! lines by a callback macro: [`crate::document::DocKind`] and its labels (in the shared
//! layer, which names no kind module), and `kinds::ALL`, `kinds::of`, `kinds::layout` and
//! the `Op` enum (in the list's own layer, above the kinds). This module imports nothing, so
//! any layer may take the list.
//!
//! A sixth kind is a module, a line here, and the arms the compiler then asks for in
//! `kinds.rs` (its planning, its errors, the parameters of a new document of the kind).

/// Calls `$callback!` with every kind, one
/// `Variant, module, OpEnum, "doc", "label", "op doc";` line each.
macro_rules! with_kinds {
    ($callback:ident) => {
        $callback! {
            Federation, federation, FederationOp,
                "Certificates, revocations and district settings (one per district).",
                "federation document",
                "Federation operation (certificates, revocations, district settings).";
            Registry, registry, RegistryOp,
                "Compound registry of one community.",
                "compound registry",
                "Compound registry operation.";
            Ledger, ledger, LedgerOp,
                "Volunteer service ledger of one community for one year.",
                "service ledger",
                "Service ledger operation.";
            Resource, resource, ResourceOp,
                "One shared resource (activity room, hall, kitchen …) and its bookings.",
                "resource",
                "Resource and booking operation.";
            Wishes, wishes, WishesOp,
                "Micro-wishes, service-menu offers, suggestions and problems of one community.",
                "wishes",
                "Wishes operation.";
            Volunteers, volunteers, VolunteersOp,
                "Volunteer registry of one community: volunteers, teams, paired units.",
                "volunteer registry",
                "Volunteer registry operation.";
        }
    };
}
pub(crate) use with_kinds;
