//! `Node` methods: points (the points store, a volunteer's points with expiry, the star
//! certificate) and team claims' yearly counts.

use super::*;

#[pymethods]
impl Node {
    /// The points store of `ledger`: items with cost and stock.
    fn store<'py>(&self, py: Python<'py>, ledger: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(ledger)?;
        self.read_list(py, "StoreItem", Read::Store { doc })
    }

    /// A volunteer's points today, with expiry (earned, redeemed, expired, balance).
    fn points<'py>(&self, py: Python<'py>, volunteer: &str) -> PyResult<Bound<'py, PyAny>> {
        let volunteer = parse_volunteer(volunteer)?;
        self.read_one(py, "PointsInfo", Read::Points { volunteer })
    }

    /// The star certificate of a volunteer of this node's community.
    fn star_certificate<'py>(
        &self,
        py: Python<'py>,
        volunteer: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let volunteer = parse_volunteer(volunteer)?;
        self.read_one(py, "StarCertificate", Read::Certificate { volunteer })
    }

    /// The check-in sessions of `ledger` with their check-ins and the verified entries
    /// their close wrote.
    fn sessions<'py>(&self, py: Python<'py>, ledger: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(ledger)?;
        self.read_list(py, "SessionInfo", Read::Sessions { doc })
    }

    /// Claims per claimant in `year` of `wishes` (a team claim counts once).
    fn claim_counts<'py>(
        &self,
        py: Python<'py>,
        wishes: &str,
        year: i16,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(wishes)?;
        self.read_list(py, "ClaimCount", Read::ClaimCounts { doc, year })
    }
}
