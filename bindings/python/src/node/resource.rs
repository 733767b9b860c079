//! `Node` methods: rooms and kitchens: bookings, decisions, meal orders.

use super::*;

#[pymethods]
impl Node {
    // ---- resources and bookings -----------------------------------------------------

    /// Creates an activity room owned by this node's organisation (Asia/Shanghai, open
    /// daily 08:00–21:00, bookable up to 4 hours at least an hour ahead). Returns its id.
    #[pyo3(signature = (street, name, capacity, community = None))]
    fn create_room(
        &self,
        py: Python<'_>,
        street: &str,
        name: &str,
        capacity: u32,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = Some(self.community_or_own(community)?);
        self.create_doc(
            py,
            NewDoc::Resource {
                street: parse_org(street)?,
                community,
                spec: ResourceSpec::room(name, capacity),
            },
        )
    }

    /// Requests a booking of `resource` from `start` to `end` (timezone-aware datetimes).
    /// `alternates` are acceptable other slots as `(start, end)` pairs, in order of
    /// preference; `weeks` repeats the confirmed slot weekly. Returns the booking's id.
    #[pyo3(signature = (resource, booker, purpose, start, end, attendees, *, organisation = None, contact = None, alternates = None, weeks = None))]
    #[allow(clippy::too_many_arguments)]
    fn request_booking(
        &self,
        py: Python<'_>,
        resource: &str,
        booker: &str,
        purpose: &str,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        attendees: u32,
        organisation: Option<String>,
        contact: Option<String>,
        alternates: Option<Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)>>,
        weeks: Option<u32>,
    ) -> PyResult<String> {
        let slot = Slot::new(parse_datetime(start)?, parse_datetime(end)?)
            .map_err(|e| map_core_error(e.into()))?;
        let mut form = BookingForm::new(booker, purpose, slot, attendees);
        form.organisation = organisation;
        form.contact = contact;
        for (s, e) in alternates.unwrap_or_default() {
            let alt = Slot::new(parse_datetime(&s)?, parse_datetime(&e)?)
                .map_err(|e| map_core_error(e.into()))?;
            form.alternates.push(alt);
        }
        if let Some(w) = weeks {
            form = form.weekly(w);
        }
        let op = Op::Resource(ResourceOp::Request(form));
        Ok(match self.execute_op(py, resource, op)? {
            Effect::Booking(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// Confirms a booking on the first candidate slot that fits (the resource's arbiter).
    fn confirm_booking(&self, py: Python<'_>, resource: &str, booking: &str) -> PyResult<()> {
        let booking = booking
            .parse::<BookingId>()
            .map_err(|e| map_core_error(e.into()))?;
        self.execute_op(py, resource, Op::Resource(ResourceOp::Confirm { booking }))?;
        Ok(())
    }

    /// The bookings of `resource`.
    fn bookings<'py>(&self, py: Python<'py>, resource: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(resource)?;
        self.read_list(py, "Booking", Read::Bookings { doc })
    }

    // ---- bookings: decisions and cancellations --------------------------------------

    /// Rejects a booking (an arbiter of one of its candidate slots).
    fn reject_booking(
        &self,
        py: Python<'_>,
        resource: &str,
        booking: &str,
        reason: String,
    ) -> PyResult<()> {
        let booking = parse_id::<BookingId>(booking)?;
        let op = Op::Resource(ResourceOp::Reject { booking, reason });
        self.execute_op(py, resource, op)?;
        Ok(())
    }

    /// Puts a booking on the waitlist (an arbiter); `promote_waitlist` confirms it when a
    /// slot frees.
    fn waitlist_booking(&self, py: Python<'_>, resource: &str, booking: &str) -> PyResult<()> {
        let booking = parse_id::<BookingId>(booking)?;
        let op = Op::Resource(ResourceOp::Waitlist { booking });
        self.execute_op(py, resource, op)?;
        Ok(())
    }

    /// Revokes a confirmed booking (the arbiter of its slot or the owner); final.
    fn revoke_booking(
        &self,
        py: Python<'_>,
        resource: &str,
        booking: &str,
        reason: String,
    ) -> PyResult<()> {
        let booking = parse_id::<BookingId>(booking)?;
        let op = Op::Resource(ResourceOp::Revoke { booking, reason });
        self.execute_op(py, resource, op)?;
        Ok(())
    }

    /// Cancels a booking (the organisation that requested it); final.
    #[pyo3(signature = (resource, booking, reason = ""))]
    fn cancel_booking(
        &self,
        py: Python<'_>,
        resource: &str,
        booking: &str,
        reason: &str,
    ) -> PyResult<()> {
        let booking = parse_id::<BookingId>(booking)?;
        let op = Op::Resource(ResourceOp::Cancel {
            booking,
            reason: reason.to_owned(),
        });
        self.execute_op(py, resource, op)?;
        Ok(())
    }

    /// Confirms waitlisted bookings, oldest first, where a slot is now free (an arbiter).
    /// Returns the ids of the bookings confirmed.
    fn promote_waitlist(&self, py: Python<'_>, resource: &str) -> PyResult<Vec<String>> {
        let op = Op::Resource(ResourceOp::PromoteWaitlist);
        Ok(match self.execute_op(py, resource, op)? {
            Effect::Promoted(ids) => ids.iter().map(ToString::to_string).collect(),
            _ => Vec::new(),
        })
    }

    /// Waitlisted bookings of `resource` in promotion order.
    fn waitlist<'py>(&self, py: Python<'py>, resource: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(resource)?;
        self.read_list(py, "Booking", Read::Waitlist { doc })
    }

    // ---- shared kitchens ------------------------------------------------------------

    /// Creates a shared kitchen owned by this node's organisation: a dinner service of
    /// `daily_capacity` portions, orders closing at 20:00 the evening before, its dining
    /// room seating `capacity` (Asia/Shanghai). Returns its id.
    #[pyo3(signature = (street, name, capacity, daily_capacity, community = None))]
    fn create_kitchen(
        &self,
        py: Python<'_>,
        street: &str,
        name: &str,
        capacity: u32,
        daily_capacity: u32,
        community: Option<&str>,
    ) -> PyResult<String> {
        let community = Some(self.community_or_own(community)?);
        self.create_doc(
            py,
            NewDoc::Resource {
                street: parse_org(street)?,
                community,
                spec: ResourceSpec::kitchen(name, capacity, daily_capacity),
            },
        )
    }

    /// Orders `portions` of `items` for `household` on service date `date` (before the
    /// cut-off). Returns the order's id.
    fn place_order(
        &self,
        py: Python<'_>,
        kitchen: &str,
        household: String,
        date: &Bound<'_, PyAny>,
        portions: u32,
        items: Vec<String>,
    ) -> PyResult<String> {
        let op = Op::Resource(ResourceOp::PlaceOrder {
            household,
            date: parse_date(date)?,
            portions,
            items,
        });
        Ok(match self.execute_op(py, kitchen, op)? {
            Effect::Order(id) => id.to_string(),
            other => crate::types::enum_str(&other),
        })
    }

    /// Accepts an order within the daily capacity (the kitchen operator).
    fn accept_order(&self, py: Python<'_>, kitchen: &str, order: &str) -> PyResult<()> {
        let order = parse_id::<OrderId>(order)?;
        self.execute_op(py, kitchen, Op::Resource(ResourceOp::AcceptOrder { order }))?;
        Ok(())
    }

    /// Refuses an order (the kitchen operator).
    fn refuse_order(
        &self,
        py: Python<'_>,
        kitchen: &str,
        order: &str,
        reason: String,
    ) -> PyResult<()> {
        let order = parse_id::<OrderId>(order)?;
        let op = Op::Resource(ResourceOp::RefuseOrder { order, reason });
        self.execute_op(py, kitchen, op)?;
        Ok(())
    }

    /// Records whether an accepted order was collected (the kitchen operator).
    #[pyo3(signature = (kitchen, order, collected = true))]
    fn mark_collected(
        &self,
        py: Python<'_>,
        kitchen: &str,
        order: &str,
        collected: bool,
    ) -> PyResult<()> {
        let order = parse_id::<OrderId>(order)?;
        let op = Op::Resource(ResourceOp::MarkCollected { order, collected });
        self.execute_op(py, kitchen, op)?;
        Ok(())
    }

    /// Cancels an order before the cut-off (the organisation that placed it); final.
    fn cancel_order(&self, py: Python<'_>, kitchen: &str, order: &str) -> PyResult<()> {
        let order = parse_id::<OrderId>(order)?;
        self.execute_op(py, kitchen, Op::Resource(ResourceOp::CancelOrder { order }))?;
        Ok(())
    }

    /// One service day of a kitchen: cut-off, capacity, accepted and waiting portions and
    /// the orders.
    fn kitchen_day<'py>(
        &self,
        py: Python<'py>,
        kitchen: &str,
        date: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let doc = parse_doc(kitchen)?;
        let date = parse_date(date)?;
        self.read_one(py, "KitchenDay", Read::KitchenDay { doc, date })
    }

    /// Every meal order of a kitchen, in id order.
    fn orders<'py>(&self, py: Python<'py>, kitchen: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let doc = parse_doc(kitchen)?;
        self.read_list(py, "MealOrder", Read::Orders { doc })
    }
}
