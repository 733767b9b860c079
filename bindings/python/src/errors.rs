//! The exception hierarchy exposed to Python, and the mapping of the Rust errors onto it.
//!
//! Every error raised by linli derives from [`LinliError`], so Python callers can catch
//! all of them with a single `except linli.LinliError`. The subclasses mirror the
//! broad error categories of the Rust crates; every exception carries the Rust message.

use linli::core::Error as CoreError;
use linli::core::ledger::LedgerError;
use linli::core::registry::RegistryError;
use linli::core::resource::ResourceError;
use linli::core::wishes::WishesError;
use linli::node::{ExportError, NodeError, StoreError};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

// The first macro argument is the module name shown in `__module__` and tracebacks;
// the classes are re-exported from the public `linli` package, so that is the name used.
pyo3::create_exception!(
    linli,
    LinliError,
    PyException,
    "Base class of every error raised by linli."
);
pyo3::create_exception!(
    linli,
    ValidationError,
    LinliError,
    "An input or a document failed validation."
);
pyo3::create_exception!(
    linli,
    AuthorizationError,
    LinliError,
    "The actor is not allowed to perform the operation."
);
pyo3::create_exception!(
    linli,
    ConflictError,
    LinliError,
    "The operation conflicts with the current state."
);
pyo3::create_exception!(
    linli,
    StorageError,
    LinliError,
    "Reading from or writing to storage failed."
);
pyo3::create_exception!(
    linli,
    SyncError,
    LinliError,
    "Synchronising with a peer failed."
);

/// Adds the exception classes to the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("LinliError", py.get_type::<LinliError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("AuthorizationError", py.get_type::<AuthorizationError>())?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add("StorageError", py.get_type::<StorageError>())?;
    m.add("SyncError", py.get_type::<SyncError>())?;
    Ok(())
}

/// Maps an error of the [`Node`](linli::node::Node) handle.
/// Network errors: a bad address is a validation error, the rest are sync errors.
pub(crate) fn map_net_error(e: linli::node::net::NetError) -> PyErr {
    use linli::node::net::NetError;
    match e {
        NetError::BadAddress { .. } => ValidationError::new_err(e.to_string()),
        NetError::Node(n) => map_node_error(n),
        other => SyncError::new_err(other.to_string()),
    }
}

pub(crate) fn map_node_error(e: NodeError) -> PyErr {
    match e {
        NodeError::Core(e) => map_core_error(e),
        NodeError::Store(e) => map_store_error(e),
        NodeError::Export(e) => map_export_error(e),
        // A closed node: its store is no longer available.
        NodeError::Shutdown => StorageError::new_err(NodeError::Shutdown.to_string()),
        e @ NodeError::QueryPanicked(_) => LinliError::new_err(e.to_string()),
    }
}

/// Maps an error of the store (all are [`StorageError`]).
pub(crate) fn map_store_error(e: StoreError) -> PyErr {
    StorageError::new_err(e.to_string())
}

/// Maps an error of export files (all are [`StorageError`]).
pub(crate) fn map_export_error(e: ExportError) -> PyErr {
    StorageError::new_err(e.to_string())
}

/// Maps an error of linli-core: refused operations and changes.
pub(crate) fn map_core_error(e: CoreError) -> PyErr {
    let msg = e.to_string();
    match e {
        CoreError::Ledger(e) => map_ledger_error(e),
        CoreError::Registry(e) => map_registry_error(e),
        CoreError::Resource(e) => map_resource_error(e),
        CoreError::Wishes(e) => map_wishes_error(e),
        CoreError::NotCertified(_) | CoreError::SelfRevoked | CoreError::Policy(_) => {
            AuthorizationError::new_err(msg)
        }
        CoreError::Rejected(_) | CoreError::PendingFull { .. } | CoreError::Quota(_) => {
            ConflictError::new_err(msg)
        }
        CoreError::Source { .. } => StorageError::new_err(msg),
        CoreError::Personal(
            linli::core::personal::PersonalError::NotAllowed { .. }
            | linli::core::personal::PersonalError::NotAudience { .. },
        ) => AuthorizationError::new_err(msg),
        CoreError::Personal(linli::core::personal::PersonalError::Erased { .. }) => {
            ConflictError::new_err(msg)
        }
        CoreError::Personal(_) => ValidationError::new_err(msg),
        CoreError::Doc(_)
        | CoreError::Time(_)
        | CoreError::Id(_)
        | CoreError::UnknownDocument(_)
        | CoreError::WrongKind { .. }
        | CoreError::Envelope(_) => ValidationError::new_err(msg),
    }
}

/// Maps a ledger rule error.
pub(crate) fn map_ledger_error(e: LedgerError) -> PyErr {
    let msg = e.to_string();
    match e {
        LedgerError::NotAllowed { .. } => AuthorizationError::new_err(msg),
        LedgerError::InsufficientBalance { .. } => ConflictError::new_err(msg),
        _ => ValidationError::new_err(msg),
    }
}

/// Maps a compound registry rule error.
pub(crate) fn map_registry_error(e: RegistryError) -> PyErr {
    let msg = e.to_string();
    match e {
        RegistryError::NotOwner { .. } => AuthorizationError::new_err(msg),
        RegistryError::Archived(_) => ConflictError::new_err(msg),
        _ => ValidationError::new_err(msg),
    }
}

/// Maps a resource and booking rule error.
pub(crate) fn map_resource_error(e: ResourceError) -> PyErr {
    let msg = e.to_string();
    match e {
        ResourceError::NotAllowed { .. }
        | ResourceError::NotArbiter { .. }
        | ResourceError::Barred { .. } => AuthorizationError::new_err(msg),
        ResourceError::Overlap { .. }
        | ResourceError::NoCandidateFits { .. }
        | ResourceError::Final { .. }
        | ResourceError::WrongStatus { .. }
        | ResourceError::AlreadyBarred { .. }
        | ResourceError::DelegationOverlap { .. }
        | ResourceError::NothingToPromote { .. }
        | ResourceError::AfterCutoff { .. }
        | ResourceError::OverDailyCapacity { .. }
        | ResourceError::OrderStatus { .. } => ConflictError::new_err(msg),
        _ => ValidationError::new_err(msg),
    }
}

/// Maps a wishes rule error.
pub(crate) fn map_wishes_error(e: WishesError) -> PyErr {
    let msg = e.to_string();
    match e {
        WishesError::NotAllowed { .. } => AuthorizationError::new_err(msg),
        WishesError::AlreadyAssigned { .. } | WishesError::BadTransition { .. } => {
            ConflictError::new_err(msg)
        }
        _ => ValidationError::new_err(msg),
    }
}
