//! `Node` methods: the compound registry: compounds, appointments, inspections, scores.

use super::*;

#[pymethods]
impl Node {
    // ---- compound registry ----------------------------------------------------------

    /// Creates the compound registry of `community` (default: this node's organisation) in
    /// `street`. Returns its id.
    #[pyo3(signature = (street, title, community = None))]
    fn create_registry(
        &self,
        py: Python<'_>,
        street: &str,
        title: String,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = self.community_or_own(community)?;
        self.create_doc(
            py,
            NewDoc::Registry {
                street: parse_org(street)?,
                community,
                title,
            },
        )
    }

    /// Registers a compound in `registry`; `mode` is how it is managed (`property_firm`,
    /// `guarantee_firm`, `property_rights_unit`, `self_managed`, `unmanaged`, or any other
    /// text). Returns the compound's id.
    #[pyo3(signature = (registry, name, address, households, mode = "property_firm"))]
    fn add_compound(
        &self,
        py: Python<'_>,
        registry: &str,
        name: &str,
        address: &str,
        households: u32,
        mode: &str,
    ) -> PyResult<String> {
        let c = Compound::new(name, address, households, parse_mode(mode)?);
        let op = Op::Registry(RegistryOp::AddCompound(c));
        Ok(match self.execute_op(py, registry, op)? {
            Effect::Compound(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The compounds of `registry`.
    fn compounds<'py>(&self, py: Python<'py>, registry: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(registry)?;
        self.read_list(py, "CompoundInfo", Read::Compounds { doc })
    }

    // ---- compound registry: appointments, inspections, scores -----------------------

    /// Appoints `manager` for `compound` (the street of the registry's community only).
    /// `start` and `end` are dates (`datetime.date` or `YYYY-MM-DD`); `status` is
    /// proposed, appointed, renewed, dismissed or ended.
    #[pyo3(signature = (registry, compound, manager, start, *, end = None, mode = "property_firm", status = "appointed"))]
    #[allow(clippy::too_many_arguments)]
    fn appoint(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        manager: String,
        start: &Bound<'_, PyAny>,
        end: Option<&Bound<'_, PyAny>>,
        mode: &str,
        status: &str,
    ) -> PyResult<()> {
        let op = Op::Registry(RegistryOp::Appoint {
            compound: parse_id::<CompoundId>(compound)?,
            manager,
            mode: parse_mode(mode)?,
            selection: None,
            start: parse_date(start)?,
            end: end.map(parse_date).transpose()?,
            status: parse_enum::<AppointmentStatus>("appointment status", status, false)?,
        });
        self.execute_op(py, registry, op)?;
        Ok(())
    }

    /// Whom the appointment record of `compound` names (contested appointments all shown).
    fn appointment<'py>(
        &self,
        py: Python<'py>,
        registry: &str,
        compound: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let doc = parse_doc(registry)?;
        let compound = parse_id::<CompoundId>(compound)?;
        self.read_one(py, "AppointmentState", Read::Appointment { doc, compound })
    }

    /// Records an inspection of `compound` against the district checklist: `results` maps
    /// every checklist item id to whether the compound complies. Returns its id.
    #[pyo3(signature = (registry, compound, date, results, note = ""))]
    fn inspect(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        date: &Bound<'_, PyAny>,
        results: BTreeMap<String, bool>,
        note: &str,
    ) -> PyResult<String> {
        let op = Op::Registry(RegistryOp::Inspect {
            compound: parse_id::<CompoundId>(compound)?,
            date: parse_date(date)?,
            results,
            note: note.to_owned(),
        });
        Ok(match self.execute_op(py, registry, op)? {
            Effect::Inspection(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The inspections of `compound`, oldest id first.
    fn inspections<'py>(
        &self,
        py: Python<'py>,
        registry: &str,
        compound: &str,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(registry)?;
        let compound = parse_id::<CompoundId>(compound)?;
        self.read_list(py, "Inspection", Read::Inspections { doc, compound })
    }

    /// Writes this organisation's score sheet of `compound`'s manager for `year` as
    /// `role` (owners, community, street or department); `marks` (item → marks) sum to at
    /// most 100.
    #[pyo3(signature = (registry, compound, year, role, marks, comment = ""))]
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        year: i16,
        role: &str,
        marks: BTreeMap<String, u32>,
        comment: &str,
    ) -> PyResult<()> {
        let op = Op::Registry(RegistryOp::Score {
            compound: parse_id::<CompoundId>(compound)?,
            year,
            role: parse_scorer(role)?,
            marks,
            comment: comment.to_owned(),
        });
        self.execute_op(py, registry, op)?;
        Ok(())
    }

    /// The score sheets of `compound` for `year`, in role order.
    fn score_sheets<'py>(
        &self,
        py: Python<'py>,
        registry: &str,
        compound: &str,
        year: i16,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(registry)?;
        let compound = parse_id::<CompoundId>(compound)?;
        let read = Read::ScoreSheets {
            doc,
            compound,
            year,
        };
        self.read_list(py, "ScoreSheet", read)
    }

    /// The composite score of `compound` for `year` (weighted by the district's weights)
    /// and whether it is below the pass mark.
    fn composite_score<'py>(
        &self,
        py: Python<'py>,
        registry: &str,
        compound: &str,
        year: i16,
    ) -> PyResult<Bound<'py, PyAny>> {
        let doc = parse_doc(registry)?;
        let compound = parse_id::<CompoundId>(compound)?;
        let read = Read::CompositeScore {
            doc,
            compound,
            year,
        };
        self.read_one(py, "CompositeScore", read)
    }
}
