//! The exception hierarchy exposed to Python, and the mapping of the Rust errors onto it.
//!
//! Every error raised by linli derives from [`LinliError`], so Python callers can catch
//! all of them with a single `except linli.LinliError`. The subclasses mirror the
//! broad error categories of the Rust crates; every exception carries the Rust message.

use linli::core::Error as CoreError;
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
    NotFoundError,
    ValidationError,
    "A named document or record does not exist here."
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
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
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

/// Maps an error of the node's operations layer (`linli_node::ops`): refusals by the error
/// table, malformed requests as `ValidationError`, unknown documents as `NotFoundError`.
pub(crate) fn map_ops_error(e: linli::node::ops::OpsError) -> PyErr {
    use linli::node::ops::OpsError;
    match e {
        OpsError::Refused(c) => map_core_error(c),
        OpsError::Invalid(m) => ValidationError::new_err(m),
        OpsError::NotFound(m) => NotFoundError::new_err(m),
        OpsError::Node(n) => map_node_error(n),
        OpsError::Network(m) => SyncError::new_err(m),
    }
}

/// Maps an error of a running daemon's API (`Node.connect`): refusals by the error table
/// (the body's `kind` is the error class's label, the same table the opened store's errors
/// go through), so a remote call raises what the same call raises on an opened store.
pub(crate) fn map_api_error(e: linli::node::api::ApiError) -> PyErr {
    use linli::node::api::ApiError;
    match e {
        ApiError::Status { kind, message, .. } => {
            let row = linli::node::ops::CLASSES
                .iter()
                .find(|r| r.class.label() == kind);
            match (row.map(|r| r.python), kind.as_str()) {
                (Some("NotFoundError"), _) => NotFoundError::new_err(message),
                (Some("AuthorizationError"), _) => AuthorizationError::new_err(message),
                (Some("ConflictError"), _) => ConflictError::new_err(message),
                (Some("StorageError"), _) | (None, "node") => StorageError::new_err(message),
                (Some(_), _) => ValidationError::new_err(message),
                (None, "network") => SyncError::new_err(message),
                (None, _) => LinliError::new_err(format!("{message} ({kind})")),
            }
        }
        ApiError::Setup(m) => StorageError::new_err(m),
        other @ (ApiError::Unreachable { .. } | ApiError::Protocol { .. }) => {
            LinliError::new_err(other.to_string())
        }
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

/// Maps an error of linli-core: the exception is the error table's for the error's class
/// (`linli_node::ops::CLASSES`), the same lookup the HTTP status and the CLI exit code use.
pub(crate) fn map_core_error(e: CoreError) -> PyErr {
    let msg = e.to_string();
    match linli::node::ops::class_row(e.class()).python {
        "NotFoundError" => NotFoundError::new_err(msg),
        "AuthorizationError" => AuthorizationError::new_err(msg),
        "ConflictError" => ConflictError::new_err(msg),
        "StorageError" => StorageError::new_err(msg),
        _ => ValidationError::new_err(msg),
    }
}
