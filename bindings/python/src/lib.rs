//! Python bindings for linli, built with PyO3 and packaged by maturin as `linli._linli`.
//!
//! The module exposes the version, the exception hierarchy, the `Node` class (a handle to a
//! running node, see [`node`]) and its immutable result types (see [`types`]).

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
    m.add_class::<types::NodeStatus>()?;
    m.add_class::<types::DocumentInfo>()?;
    m.add_class::<types::Standing>()?;
    m.add_class::<types::CompoundInfo>()?;
    m.add_class::<types::ExportSummary>()?;
    m.add_class::<types::ImportReport>()?;
    m.add_class::<types::Booking>()?;
    m.add_class::<types::Event>()?;
    m.add_class::<types::Wish>()?;
    m.add_class::<types::Rejected>()?;
    m.add_class::<types::CertificateInfo>()?;
    m.add_class::<node::Events>()?;
    m.add_class::<node::LedgerEntries>()?;
    m.add_class::<types::LedgerEntry>()?;
    m.add_class::<types::MealOrder>()?;
    m.add_class::<types::KitchenDay>()?;
    m.add_class::<types::Appointment>()?;
    m.add_class::<types::AppointmentState>()?;
    m.add_class::<types::Inspection>()?;
    m.add_class::<types::ScoreSheet>()?;
    m.add_class::<types::CompositeScore>()?;
    m.add_class::<types::Claim>()?;
    m.add_class::<types::Peer>()?;
    m.add_class::<types::SyncReport>()?;
    Ok(())
}
