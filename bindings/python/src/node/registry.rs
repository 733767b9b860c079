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
    fn compounds(&self, py: Python<'_>, registry: &str) -> PyResult<Vec<CompoundInfo>> {
        let doc = parse_doc(registry)?;
        let rows = self.run(py, |n| async move { n.compounds(doc).await })?;
        Ok(rows
            .into_iter()
            .map(|(id, c)| CompoundInfo::from_rust(id, c))
            .collect())
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
    fn appointment(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
    ) -> PyResult<AppointmentState> {
        let doc = parse_doc(registry)?;
        let id = parse_id::<CompoundId>(compound)?;
        let view = self.query(py, move |r| {
            let reg = r.registry(doc)?;
            reg.compound(&id)?;
            Ok(reg.appointment(&id))
        })?;
        AppointmentState::from_rust(py, compound.to_owned(), view)
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
    fn inspections(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
    ) -> PyResult<Vec<Inspection>> {
        let doc = parse_doc(registry)?;
        let id = parse_id::<CompoundId>(compound)?;
        let rows = self.query(py, move |r| {
            let reg = r.registry(doc)?;
            reg.compound(&id)?;
            Ok(reg.inspections(&id))
        })?;
        rows.into_iter()
            .map(|(i, v)| Inspection::from_rust(py, compound.to_owned(), i, v))
            .collect()
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
    fn score_sheets(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        year: i16,
    ) -> PyResult<Vec<ScoreSheet>> {
        let doc = parse_doc(registry)?;
        let id = parse_id::<CompoundId>(compound)?;
        let rows = self.query(py, move |r| {
            let reg = r.registry(doc)?;
            reg.compound(&id)?;
            Ok(reg.sheets(&id, year))
        })?;
        rows.into_iter()
            .map(|(role, s)| ScoreSheet::from_rust(py, compound.to_owned(), year, role, s))
            .collect()
    }

    /// The composite score of `compound` for `year` (weighted by the district's weights)
    /// and whether it is below the pass mark.
    fn composite_score(
        &self,
        py: Python<'_>,
        registry: &str,
        compound: &str,
        year: i16,
    ) -> PyResult<CompositeScore> {
        let doc = parse_doc(registry)?;
        let id = parse_id::<CompoundId>(compound)?;
        let c = self.query(py, move |r| {
            let reg = r.registry(doc)?;
            reg.compound(&id)?;
            Ok(reg.composite(&id, year))
        })?;
        Ok(CompositeScore::from_rust(compound.to_owned(), c))
    }
}
