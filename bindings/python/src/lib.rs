//! Python bindings for linli, built with PyO3 and packaged by maturin as `linli._linli`.
//!
//! The module exposes the version, the exception hierarchy and the `Node` class (a handle to
//! a node opened here or to a running daemon, see [`node`]); its results are the generated
//! classes of the Python module `linli.results`, built from JSON (see [`types`]).

use pyo3::prelude::*;

pub mod errors;
pub mod node;
pub mod types;

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
    m.add_class::<node::Node>()?;
    m.add_class::<node::Events>()?;
    m.add_class::<node::LedgerEntries>()?;
    Ok(())
}
