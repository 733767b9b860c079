//! `Node` methods: micro-wishes: posting, claims, assignments, lifecycle.

use super::*;

#[pymethods]
impl Node {
    // ---- wishes ---------------------------------------------------------------------

    /// Creates the wishes document of `community` (default: this node's organisation) in
    /// `street`. Returns its id.
    #[pyo3(signature = (street, title, community = None))]
    fn create_wishes(
        &self,
        py: Python<'_>,
        street: &str,
        title: String,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = self.community_or_own(community)?;
        self.create_doc(
            py,
            NewDoc::Wishes {
                street: parse_org(street)?,
                community,
                title,
            },
        )
    }

    /// Posts an item (`kind`: wish, offer, suggestion or problem; `channel`: forum, app,
    /// home_visit, questionnaire, qr_code or any other text) in `wishes`. Returns its id.
    ///
    /// `resident_name` (with `resident_contact`, `resident_address`) names the resident it is
    /// about: personal data, kept out of the document and held only by the posting
    /// community and the organisations assigned to the wish.
    #[pyo3(signature = (wishes, kind, title, text, category, channel = "app", place = None, *, resident_name = None, resident_contact = None, resident_address = None))]
    #[allow(clippy::too_many_arguments)]
    fn post_wish(
        &self,
        py: Python<'_>,
        wishes: &str,
        kind: &str,
        title: String,
        text: String,
        category: String,
        channel: &str,
        place: Option<String>,
        resident_name: Option<String>,
        resident_contact: Option<String>,
        resident_address: Option<String>,
    ) -> PyResult<String> {
        let resident = match resident_name {
            Some(name) => Some(Resident {
                name,
                contact: resident_contact,
                address: resident_address,
            }),
            None if resident_contact.is_some() || resident_address.is_some() => {
                return Err(ValidationError::new_err(
                    "resident_contact and resident_address need resident_name",
                ));
            }
            None => None,
        };
        let op = Op::Wishes(WishesOp::Post {
            kind: parse_enum::<ItemKind>("item kind", kind, false)?,
            title,
            text,
            category,
            channel: parse_enum::<Channel>("channel", channel, true)?,
            place,
            resident,
        });
        Ok(match self.execute_op(py, wishes, op)? {
            Effect::Wish(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// The items of a wishes document, with their derived status.
    fn wishes<'py>(&self, py: Python<'py>, wishes: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(wishes)?;
        self.read_list(py, "Wish", Read::Wishes { doc })
    }

    /// Changes refused, with their reasons, in arrival order (a refusal linli-core later
    /// withdraws leaves the list).
    fn rejected<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.read_list(py, "Rejected", Read::Rejected)
    }

    /// Current heads of a document (hex change hashes, sorted): they change exactly when
    /// the document does.
    fn heads(&self, py: Python<'_>, doc: &str) -> PyResult<Vec<String>> {
        let doc = parse_doc(doc)?;
        decode("heads", self.read(py, Read::Heads { doc })?)
    }

    /// Peers this node has synchronised with, with their sync state.
    fn peers<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.read_list(py, "Peer", Read::Peers)
    }

    /// Replaces the district settings in the federation document (root node only): the
    /// compound checklist (`(item id, label, kind, points)` with kind `must_have`,
    /// `must_not_have` or `other`), the scoring weights per role (`owners`, `community`,
    /// `street`, `department`) and the pass mark (0–100). Omitted settings keep their
    /// defaults (no checklist, weight 1 each, pass mark 60).
    #[pyo3(signature = (federation, *, checklist_id = None, checklist = None, weights = None, pass_mark = None))]
    fn set_district_config(
        &self,
        py: Python<'_>,
        federation: &str,
        checklist_id: Option<String>,
        checklist: Option<Vec<(String, String, String, u32)>>,
        weights: Option<BTreeMap<String, u32>>,
        pass_mark: Option<u32>,
    ) -> PyResult<()> {
        let config = district_config(checklist_id, checklist, weights, pass_mark)?;
        let op = Op::Federation(FederationOp::SetConfig(config));
        self.execute_op(py, federation, op)?;
        Ok(())
    }

    // ---- wishes: claims and lifecycle -----------------------------------------------

    /// Offers to take up a wish or an offer, optionally naming the volunteer who will do
    /// it. Returns the claim's id.
    #[pyo3(signature = (wishes, wish, note = "", volunteer = None))]
    fn claim_wish(
        &self,
        py: Python<'_>,
        wishes: &str,
        wish: &str,
        note: &str,
        volunteer: Option<&str>,
    ) -> PyResult<String> {
        let op = Op::Wishes(WishesOp::Claim {
            wish: parse_id::<WishId>(wish)?,
            volunteer: volunteer.map(parse_volunteer).transpose()?,
            note: note.to_owned(),
        });
        Ok(match self.execute_op(py, wishes, op)? {
            Effect::Claim(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// Assigns a claim of a wish (the community).
    fn assign_claim(&self, py: Python<'_>, wishes: &str, wish: &str, claim: &str) -> PyResult<()> {
        let op = Op::Wishes(WishesOp::Assign {
            wish: parse_id::<WishId>(wish)?,
            claim: parse_id::<ClaimId>(claim)?,
        });
        self.execute_op(py, wishes, op)?;
        Ok(())
    }

    /// Releases the assignment of a claim (the community).
    fn release_claim(&self, py: Python<'_>, wishes: &str, wish: &str, claim: &str) -> PyResult<()> {
        let op = Op::Wishes(WishesOp::Release {
            wish: parse_id::<WishId>(wish)?,
            claim: parse_id::<ClaimId>(claim)?,
        });
        self.execute_op(py, wishes, op)?;
        Ok(())
    }

    /// Records a lifecycle step of an item: `fulfilled` (text: note), `confirmed`,
    /// `withdrawn` (text: reason), `routed` (text: to whom), `resolved` (text: resolution)
    /// or `declined` (text: reason).
    #[pyo3(signature = (wishes, wish, stage, text = ""))]
    fn advance_wish(
        &self,
        py: Python<'_>,
        wishes: &str,
        wish: &str,
        stage: &str,
        text: &str,
    ) -> PyResult<()> {
        let stage = match stage {
            "fulfilled" => Stage::Fulfilled {
                note: text.to_owned(),
            },
            "confirmed" => Stage::Confirmed,
            "withdrawn" => Stage::Withdrawn {
                reason: text.to_owned(),
            },
            "routed" => Stage::Routed {
                to: text.to_owned(),
            },
            "resolved" => Stage::Resolved {
                resolution: text.to_owned(),
            },
            "declined" => Stage::Declined {
                reason: text.to_owned(),
            },
            other => {
                return Err(ValidationError::new_err(format!(
                    "unknown stage {other:?} (expected fulfilled, confirmed, withdrawn, routed, resolved or declined)"
                )));
            }
        };
        let op = Op::Wishes(WishesOp::Advance {
            wish: parse_id::<WishId>(wish)?,
            stage,
        });
        self.execute_op(py, wishes, op)?;
        Ok(())
    }

    /// The claims of an item, with whether each is assigned.
    fn claims<'py>(
        &self,
        py: Python<'py>,
        wishes: &str,
        wish: &str,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(wishes)?;
        let wish = parse_id::<WishId>(wish)?;
        self.read_list(py, "Claim", Read::Claims { doc, wish })
    }
}
