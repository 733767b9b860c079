//! `Node` methods: the volunteer reports (computed by linli-core from the documents a
//! community owns; counts only, no personal data).

use super::*;

fn parse_scope(s: &str) -> PyResult<linli::core::Scope> {
    s.parse::<linli::core::Scope>()
        .map_err(|e| map_core_error(e.into()))
}

#[pymethods]
impl Node {
    /// The monthly volunteer report of `community` (`street/community`; default: this
    /// node's) for `month` (`YYYY-MM`): per team, members, volunteers who served, new
    /// registrations, services, hours and points, then the total (team `*`).
    #[pyo3(signature = (month, community = None))]
    fn monthly_report<'py>(
        &self,
        py: Python<'py>,
        month: String,
        community: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let community = community.map(parse_scope).transpose()?;
        self.read_one(
            py,
            "MonthlyReport",
            Read::MonthlyReport { month, community },
        )
    }

    /// The yearly public report (年度公开报告) of `community` (default: this node's) for
    /// `year`: matters received, wishes fulfilled, problems resolved, volunteers, and per
    /// team the hours served and points.
    #[pyo3(signature = (year, community = None))]
    fn yearly_report<'py>(
        &self,
        py: Python<'py>,
        year: i16,
        community: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let community = community.map(parse_scope).transpose()?;
        self.read_one(py, "YearlyReport", Read::YearlyReport { year, community })
    }
}
