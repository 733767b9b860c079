//! Python bindings for linli, built with PyO3 and packaged by maturin as `linli._linli`.
//!
//! This is deliberately minimal for now: the module exposes the version and the exception
//! hierarchy. The real API (a `Node` class) arrives in a later milestone.

use pyo3::prelude::*;

pub mod errors;

/// Returns the version of the linli node crate this extension was built against.
#[pyfunction]
fn core_version() -> &'static str {
    linli::node::VERSION
}

/// The `linli._linli` extension module.
#[pymodule]
fn _linli(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", linli::node::VERSION)?;
    m.add_function(wrap_pyfunction!(core_version, m)?)?;
    errors::register(m)?;
    Ok(())
}
