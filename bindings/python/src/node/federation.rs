//! `Node` methods: the district: federation document, certificates, revocations, settings.

use super::*;

#[pymethods]
impl Node {
    // ---- district (root node) -------------------------------------------------------

    /// Creates the district's federation document (root node only) with the district
    /// settings (as for `set_district_config`; default: none). Returns its id.
    #[pyo3(signature = (*, checklist_id = None, checklist = None, weights = None, pass_mark = None))]
    fn create_federation(
        &self,
        py: Python<'_>,
        checklist_id: Option<String>,
        checklist: Option<Vec<(String, String, String, u32)>>,
        weights: Option<BTreeMap<String, u32>>,
        pass_mark: Option<u32>,
    ) -> PyResult<String> {
        let config = district_config(checklist_id, checklist, weights, pass_mark)?;
        self.create_doc(py, NewDoc::Federation { config })
    }

    /// Certifies the key `subject` (hex) as `role` (`street`, `community`, `unit`,
    /// `partner`) of organisation `org` in the federation document `federation` (root node
    /// only). Validity defaults to now until three years on, within this node's own
    /// certificate (linli-core's default, the same as the CLI's and the HTTP API's).
    #[pyo3(signature = (federation, subject, role, org, parent = None, *, name = None, not_before = None, not_after = None))]
    #[allow(clippy::too_many_arguments)]
    fn issue_certificate(
        &self,
        py: Python<'_>,
        federation: &str,
        subject: &str,
        role: &str,
        org: &str,
        parent: Option<&str>,
        name: Option<String>,
        not_before: Option<&Bound<'_, PyAny>>,
        not_after: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let org = parse_org(org)?;
        let not_before = not_before
            .map(parse_datetime)
            .transpose()?
            .unwrap_or_else(now);
        let not_after = match not_after.map(parse_datetime).transpose()? {
            Some(t) => t,
            // The same default as every surface: linli-core's.
            None => {
                let fed = parse_doc(federation)?;
                let at = not_before;
                decode(
                    "time",
                    self.read(py, Read::DefaultCertEnd { doc: fed, at })?,
                )?
            }
        };
        let op = Op::Federation(FederationOp::Issue {
            subject: parse_node_id(subject)?,
            role: parse_role(role)?,
            name: name.unwrap_or_else(|| linli::core::replica::default_cert_name(&org)),
            org,
            parent: parent.map(parse_org).transpose()?,
            not_before,
            not_after,
        });
        self.execute_op(py, federation, op)?;
        Ok(())
    }

    /// Revokes the key `subject` (hex) in the federation document: withdraws every
    /// certificate of it this node issued or is above in its chain (the root: all); its
    /// changes after what this node has accepted from it so far no longer count on them.
    fn revoke_certificate(
        &self,
        py: Python<'_>,
        federation: &str,
        subject: &str,
        reason: String,
    ) -> PyResult<()> {
        let op = Op::Federation(FederationOp::Revoke {
            subject: parse_node_id(subject)?,
            reason,
            certs: None,
        });
        self.execute_op(py, federation, op)?;
        Ok(())
    }

    /// The certificates in the federation document.
    fn certificates<'py>(
        &self,
        py: Python<'py>,
        federation: &str,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(federation)?;
        self.read_list(py, "CertificateInfo", Read::Certificates { doc })
    }
}
