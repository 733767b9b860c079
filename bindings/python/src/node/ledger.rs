//! `Node` methods: the service ledger: service hours, redemptions, corrections, entries, leaderboards.

use super::*;

#[pymethods]
impl Node {
    // ---- service ledger -------------------------------------------------------------

    /// Creates the service ledger of `community` (default: this node's organisation) in
    /// `street` for `year`, with the default points rule (hours recorded by hand earn points
    /// only with `hand_points=True`; hours verified by a check-in session always do).
    /// Returns its id.
    #[pyo3(signature = (year, street, community = None, hand_points = false))]
    fn create_ledger(
        &self,
        py: Python<'_>,
        year: i16,
        street: &str,
        community: Option<&str>,
        hand_points: bool,
    ) -> PyResult<String> {
        let community = self.community_or_own(community)?;
        self.create_doc(
            py,
            NewDoc::Ledger {
                street: parse_org(street)?,
                community,
                year,
                rules: LedgerRules {
                    hand_points,
                    ..LedgerRules::default()
                },
            },
        )
    }

    /// Records `hours` of service by `volunteer` (`org:n`) on `date` (a `datetime.date` or
    /// `YYYY-MM-DD`) in `ledger`. Returns the id of the new entry.
    ///
    /// With `dry_run=True` nothing is written: the service record is only checked against
    /// the ledger's rules (linli-core's `ledger::plan`; the certificate chain and write
    /// policy are checked when writing) and the id it would get is returned.
    #[pyo3(signature = (ledger, volunteer, activity, date, hours, team = None, evidence = None, *, dry_run = false))]
    #[allow(clippy::too_many_arguments)]
    fn record_service(
        &self,
        py: Python<'_>,
        ledger: &str,
        volunteer: &str,
        activity: String,
        date: &Bound<'_, PyAny>,
        hours: f64,
        team: Option<String>,
        evidence: Option<String>,
        dry_run: bool,
    ) -> PyResult<String> {
        let op = LedgerOp::RecordService {
            volunteer: parse_volunteer(volunteer)?,
            activity,
            team,
            date: parse_date(date)?,
            hours,
            evidence,
        };
        let effect = if dry_run {
            let doc = parse_doc(ledger)?;
            let v = self.read(
                py,
                Read::Check {
                    doc,
                    op: Op::Ledger(op),
                },
            )?;
            decode::<Effect>("effect", v)?
        } else {
            self.execute_op(py, ledger, Op::Ledger(op))?
        };
        Ok(match effect {
            Effect::Entry(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// Redeems `cost` points (`Decimal`, `int` or text) of `volunteer` for `item` at
    /// `outlet`, in the ledger of the volunteer's home community. Returns the entry's id.
    fn redeem(
        &self,
        py: Python<'_>,
        ledger: &str,
        volunteer: &str,
        item: String,
        cost: &Bound<'_, PyAny>,
        outlet: String,
    ) -> PyResult<String> {
        let op = Op::Ledger(LedgerOp::Redeem {
            volunteer: parse_volunteer(volunteer)?,
            item,
            cost: parse_points(cost)?,
            outlet,
        });
        Ok(match self.execute_op(py, ledger, op)? {
            Effect::Entry(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// A volunteer's balance in points over every ledger held (exact, as `Decimal`).
    fn balance<'py>(&self, py: Python<'py>, volunteer: &str) -> PyResult<Bound<'py, PyAny>> {
        let v = parse_volunteer(volunteer)?;
        let p = self.read(py, Read::Balance { volunteer: v })?;
        crate::types::decimal(py, &p)
    }

    /// The leaderboard of `ledger`, optionally of one team, highest first.
    ///
    /// With `across=True` it counts every ledger this node holds (stars by the rules of
    /// `ledger`), optionally only volunteers of the home community `home`.
    #[pyo3(signature = (ledger, team = None, *, across = false, home = None))]
    fn leaderboard<'py>(
        &self,
        py: Python<'py>,
        ledger: &str,
        team: Option<String>,
        across: bool,
        home: Option<&str>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(ledger)?;
        let home = home.map(parse_org).transpose()?;
        // `home` without `across` is refused by the read (`results::answer`).
        let read = Read::Leaderboard {
            doc,
            team,
            across,
            home,
        };
        self.read_list(py, "Standing", read)
    }

    // ---- service ledger: corrections, entries, leaderboards -------------------------

    /// Corrects the points of `volunteer` by `delta` (`Decimal`, `int` or text; negative
    /// removes), optionally naming the entry corrected. Returns the new entry's id.
    #[pyo3(signature = (ledger, volunteer, delta, reason, corrects = None))]
    fn correct(
        &self,
        py: Python<'_>,
        ledger: &str,
        volunteer: &str,
        delta: &Bound<'_, PyAny>,
        reason: String,
        corrects: Option<&str>,
    ) -> PyResult<String> {
        let op = Op::Ledger(LedgerOp::Correct {
            volunteer: parse_volunteer(volunteer)?,
            corrects: corrects.map(parse_id::<EntryId>).transpose()?,
            delta: parse_points(delta)?,
            reason,
        });
        Ok(match self.execute_op(py, ledger, op)? {
            Effect::Entry(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The entries of `ledger` in id order, optionally of one volunteer, as an iterator
    /// that reads `page_size` entries at a time from the node.
    #[pyo3(signature = (ledger, *, volunteer = None, page_size = 256))]
    fn ledger_entries(
        slf: &Bound<'_, Self>,
        ledger: &str,
        volunteer: Option<&str>,
        page_size: usize,
    ) -> PyResult<LedgerEntries> {
        if page_size == 0 {
            return Err(ValidationError::new_err("page_size must be at least 1"));
        }
        let doc = parse_doc(ledger)?;
        let volunteer = volunteer.map(parse_volunteer).transpose()?;
        // Fail early on an unknown document or one of another kind.
        let probe = Read::LedgerPage {
            doc,
            after: None,
            limit: 1,
            volunteer: None,
        };
        slf.get().read(slf.py(), probe)?;
        Ok(LedgerEntries {
            node: slf.clone().unbind(),
            doc,
            volunteer,
            page_size,
            state: Mutex::new(PageState::default()),
        })
    }
}
