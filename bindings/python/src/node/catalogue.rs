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
        let found = linli::core::catalogue::find(op)
            .map_err(|e| ValidationError::new_err(e.to_string()))?;
        let values: serde_json::Map<String, serde_json::Value> = match fields {
            Some(f) => {
                let text: String = py.import("json")?.call_method1("dumps", (f,))?.extract()?;
                serde_json::from_str(&text)
                    .map_err(|e| ValidationError::new_err(format!("fields: {e}")))?
            }
            None => serde_json::Map::new(),
        };
        let typed = found
            .build(values)
            .map_err(|e| ValidationError::new_err(e.to_string()))?;
        let kind = found.kind;
        let doc = match doc {
            Some(d) => parse_doc(d)?,
            None => {
                let ids = self.run(
                    py,
                    move |n| async move { n.read(move |r| r.ids_of(kind)).await },
                )?;
                match ids.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(NotFoundError::new_err(format!(
                            "this node holds no {} document",
                            kind.label()
                        )));
                    }
                    many => {
                        return Err(ValidationError::new_err(format!(
                            "this node holds {} {} documents: name one with doc=",
                            many.len(),
                            kind.label()
                        )));
                    }
                }
            }
        };
        let written = self.run(py, move |n| async move { n.execute(doc, typed).await })?;
        let effect = serde_json::to_value(&written.effect)
            .map_err(|e| ValidationError::new_err(format!("effect: {e}")))?;
        json_to_py(py, &effect)
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
        let doc = parse_doc(ledger)?;
        let record = format!("volunteers/{}", parse_volunteer(volunteer)?);
        let data = PersonalData::Volunteer {
            name,
            phone,
            id_number,
        };
        self.run(py, move |n| async move {
            n.write_personal(doc, &record, Some(data)).await
        })?;
        Ok(())
    }

    /// Erases the personal data of `record` (e.g. `requests/<booking>`,
    /// `volunteers/dianye:7`) of document `doc`, here and on every node of its audience;
    /// ids, statuses and balances stay.
    fn erase_personal(&self, py: Python<'_>, doc: &str, record: String) -> PyResult<()> {
        let doc = parse_doc(doc)?;
        self.run(
            py,
            move |n| async move { n.erase_personal(doc, &record).await },
        )?;
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
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let doc = doc.map(parse_doc).transpose()?;
        let rows = self.query(py, move |r| {
            Ok(r.personal_records()
                .filter(|p| doc.is_none_or(|d| d == p.doc))
                .map(|p| {
                    let audience = r
                        .personal_audience(p.doc, &p.record)
                        .map(|a| a.readers.iter().map(ToString::to_string).collect())
                        .unwrap_or_default();
                    (p.clone(), audience)
                })
                .collect::<Vec<(_, Vec<String>)>>())
        })?;
        rows.into_iter()
            .map(|(p, audience)| {
                let d = PyDict::new(py);
                d.set_item("doc", p.doc.to_string())?;
                d.set_item("record", &p.record)?;
                d.set_item(
                    "kind",
                    p.data.as_ref().map_or("erased", PersonalData::label),
                )?;
                let data = match &p.data {
                    None => None,
                    Some(data) => {
                        let fields = PyDict::new(py);
                        let v = serde_json::to_value(data).map_err(|e| {
                            ValidationError::new_err(format!("personal record: {e}"))
                        })?;
                        if let serde_json::Value::Object(m) = v {
                            for (k, v) in m {
                                if k != "kind" {
                                    fields.set_item(k, v.as_str().map(str::to_string))?;
                                }
                            }
                        }
                        Some(fields)
                    }
                };
                d.set_item("data", data)?;
                d.set_item("audience", audience)?;
                Ok(d)
            })
            .collect()
    }
}
