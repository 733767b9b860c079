//! The exception hierarchy exposed to Python.
//!
//! Every error raised by linli derives from [`LinliError`], so Python callers can catch
//! all of them with a single `except linli.LinliError`. The subclasses mirror the
//! broad error categories of the Rust crates.

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
