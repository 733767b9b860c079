//! Result objects returned by `linli.Node`: the frozen dataclasses of the generated module
//! `linli.results` (one per result type of `linli_node::results`), built from the JSON of
//! those types. Whether the value came from the opened store or from a running daemon, it
//! is the same JSON and the same class.

use pyo3::prelude::*;
use serde_json::Value;

/// A JSON value as the Python value `json.loads` makes of it.
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (v.to_string(),))
}

/// The result class `class` of `linli.results`, built from `v` (`Class.from_json`).
pub(crate) fn build<'py>(py: Python<'py>, class: &str, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("linli.results")?
        .getattr(class)?
        .call_method1("from_json", (json_to_py(py, v)?,))
}

/// A list of result objects of `class` from a JSON array (decoded by one `json.loads`).
pub(crate) fn build_list<'py>(
    py: Python<'py>,
    class: &str,
    v: &Value,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if !v.is_array() {
        return Err(crate::errors::LinliError::new_err(format!(
            "expected a list of {class}, got {v}"
        )));
    }
    let from_json = py
        .import("linli.results")?
        .getattr(class)?
        .getattr("from_json")?;
    json_to_py(py, v)?
        .try_iter()?
        .map(|item| from_json.call1((item?,)))
        .collect()
}

/// A JSON value of a known shape (`T`), or an error naming what was expected.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> PyResult<T> {
    serde_json::from_value(v)
        .map_err(|e| crate::errors::LinliError::new_err(format!("unexpected {what}: {e}")))
}

/// Decimal text as an exact `decimal.Decimal`.
pub(crate) fn decimal<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    py.import("decimal")?.getattr("Decimal")?.call1((text,))
}

/// The snake_case serde name of an enum value (its JSON text if it is not a plain string).
pub(crate) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    linli::node::results::enum_str(v)
}
