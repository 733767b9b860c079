//! `Node` methods: any operation of the catalogue, and personal data.

use super::*;

#[pymethods]
impl Node {
    // ---- any operation of the catalogue ------------------------------------------------

    /// Every operation of linli-core's catalogue (optionally of one `kind`) as dicts: `op`
    /// (`kind.name`), `kind`, `doc` (help text) and `fields` (each with `name`,
    /// `required`, `type`, `doc` and its JSON `schema`).
    #[pyo3(signature = (kind = None))]
    fn operations<'py>(&self, py: Python<'py>, kind: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        let kind = kind
            .map(|k| parse_enum::<linli::core::DocKind>("document kind", k, false))
            .transpose()?;
        let rows: Vec<serde_json::Value> = linli::core::catalogue::operations()
            .iter()
            .filter(|o| kind.is_none_or(|k| k == o.kind))
            .map(linli::node::ops::operation_row)
            .collect();
        json_to_py(py, &serde_json::Value::Array(rows))
    }

    /// Runs any operation of the catalogue by its id (`resource.bar`, `ledger.set_rules`,
    /// see `operations()`) with its fields as keyword arguments (JSON-compatible values:
    /// dates and times as strings); `doc` defaults to the only document of the operation's
    /// kind. Returns the effect as a dict (or a string for effects without data).
    #[pyo3(signature = (op, doc = None, **fields))]
    fn operation<'py>(
        &self,
        py: Python<'py>,
        op: &str,
        doc: Option<&str>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fields: serde_json::Map<String, serde_json::Value> = match fields {
            Some(f) => {
                let text: String = py.import("json")?.call_method1("dumps", (f,))?.extract()?;
                serde_json::from_str(&text)
                    .map_err(|e| ValidationError::new_err(format!("fields: {e}")))?
            }
            None => serde_json::Map::new(),
        };
        let doc = doc.map(parse_doc).transpose()?;
        // The same path as the CLI's `linli op run` and the HTTP `operation` command.
        let written = self.ops(
            py,
            linli::node::ops::Request::Operation {
                op: op.to_string(),
                doc,
                fields,
            },
        )?;
        json_to_py(py, &written["effect"])
    }

    // ---- personal data ----------------------------------------------------------------

    /// Records volunteer `volunteer`'s identity in its home community's `ledger`: held only
    /// by that community's nodes; every other node knows the volunteer by its id alone.
    #[pyo3(signature = (ledger, volunteer, name, phone = None, id_number = None))]
    fn identify_volunteer(
        &self,
        py: Python<'_>,
        ledger: &str,
        volunteer: &str,
        name: String,
        phone: Option<String>,
        id_number: Option<String>,
    ) -> PyResult<()> {
        let req = linli::node::ops::Request::VolunteerIdentify {
            doc: Some(parse_doc(ledger)?),
            volunteer: parse_volunteer(volunteer)?,
            name,
            phone,
            id_number,
        };
        self.ops(py, req)?;
        Ok(())
    }

    /// Erases the personal data of `record` (e.g. `requests/<booking>`,
    /// `volunteers/dianye:7`) of document `doc`, here and on every node of its audience;
    /// ids, statuses and balances stay.
    fn erase_personal(&self, py: Python<'_>, doc: &str, record: String) -> PyResult<()> {
        let doc = parse_doc(doc)?;
        self.ops(py, linli::node::ops::Request::PersonalErase { doc, record })?;
        Ok(())
    }

    /// The personal data this node holds, as dicts: `doc`, `record`, `kind` (booker,
    /// household, resident, volunteer or erased), `data` (a dict, or None once erased) and
    /// `audience` (the organisations that may read it).
    #[pyo3(signature = (doc = None))]
    fn personal_records<'py>(
        &self,
        py: Python<'py>,
        doc: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let doc = doc.map(parse_doc).transpose()?;
        let rows = self.ops(py, linli::node::ops::Request::PersonalList { doc })?;
        json_to_py(py, &rows)
    }
}
