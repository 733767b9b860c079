//! The typed read views of a replica's documents, one accessor per kind (the views
//! themselves are each kind's).

use crate::document::DocKind;
use crate::ids::{DocId, Scope, VolunteerId};
use crate::kinds::Error;
use crate::ledger::{self, Points};
use crate::personal::PersonalData;
use crate::registry;
use crate::replica::Replica;
use crate::resource::{self, BookingView, OrderView};
use crate::volunteers;
use crate::wishes;

pub mod report;

impl Replica {
    /// Read view of a compound registry.
    pub fn registry(&self, id: DocId) -> Result<registry::Registry<'_>, Error> {
        Ok(registry::Registry::new(
            self.doc_of_kind(id, DocKind::Registry)?,
            self.district(),
        ))
    }
    /// Read view of a service ledger.
    pub fn ledger(&self, id: DocId) -> Result<ledger::Ledger<'_>, Error> {
        Ok(ledger::Ledger::new(self.doc_of_kind(id, DocKind::Ledger)?))
    }
    /// Read view of a resource and its bookings.
    pub fn resource(&self, id: DocId) -> Result<resource::Resource<'_>, Error> {
        Ok(resource::Resource::new(
            self.doc_of_kind(id, DocKind::Resource)?,
        )?)
    }
    /// Read view of a wishes document.
    pub fn wishes(&self, id: DocId) -> Result<wishes::Wishes<'_>, Error> {
        Ok(wishes::Wishes::new(self.doc_of_kind(id, DocKind::Wishes)?))
    }
    /// Read view of a volunteer registry.
    pub fn volunteers(&self, id: DocId) -> Result<volunteers::Volunteers<'_>, Error> {
        Ok(volunteers::Volunteers::new(
            self.doc_of_kind(id, DocKind::Volunteers)?,
        ))
    }
    /// The check-in code of `session` (of ledger `doc`) at `now` and when the next one is
    /// shown, if this node opened the session (only it holds the code's secret:
    /// [`ledger::sessions`]).
    pub fn session_code(
        &self,
        doc: DocId,
        session: &crate::ids::SessionId,
        now: crate::time::Timestamp,
    ) -> Result<(String, crate::time::Timestamp), Error> {
        let l = self.ledger(doc)?;
        if l.session(session).is_none() {
            return Err(
                ledger::LedgerError::from(ledger::SessionError::Unknown(session.clone())).into(),
            );
        }
        if !session.0.numbered_by(&self.author().node) {
            return Err(ledger::LedgerError::from(ledger::SessionError::OtherNode(
                session.clone(),
            ))
            .into());
        }
        let secret = ledger::sessions::session_secret(&self.keypair, session);
        Ok((
            ledger::sessions::code_at(&secret, now),
            ledger::sessions::code_changes_at(now),
        ))
    }
    /// The token of the check-in page of `session` (see [`ledger::sessions::url_token`]):
    /// only meaningful on the node that opened it.
    pub fn session_token(&self, session: &crate::ids::SessionId) -> String {
        ledger::sessions::url_token(&self.keypair, session)
    }
    /// Spendable balance at `now` of a volunteer id across every ledger this replica holds,
    /// whatever home the entries name (see [`Replica::balance_of`] for one home
    /// community's volunteer): expiry applied, declined entries excluded.
    pub fn balance(&self, volunteer: &VolunteerId, now: crate::time::Timestamp) -> Points {
        ledger::balance_across(self.docs().of_kind(DocKind::Ledger), volunteer, now)
    }
    /// The balance at `now` of `volunteer` of home community `home` — exactly what its
    /// redemptions are checked against ([`ledger::points_at`]): only entries naming that
    /// home, expiry applied on the home's local day, declined entries excluded.
    pub fn balance_of(
        &self,
        home: &Scope,
        volunteer: &VolunteerId,
        now: crate::time::Timestamp,
    ) -> Points {
        ledger::balance_at_home(self.docs().of_kind(DocKind::Ledger), home, volunteer, now)
    }
    /// The points of `volunteer` of home community `home` at `now` (earned, redeemed,
    /// expired, balance, next expiry): the state [`Replica::balance_of`] reads its balance
    /// from.
    pub fn points_of(
        &self,
        home: &Scope,
        volunteer: &VolunteerId,
        now: crate::time::Timestamp,
    ) -> ledger::PointsState {
        ledger::points_at(self.docs().of_kind(DocKind::Ledger), home, volunteer, now)
    }

    /// A booking as this node may read it: the booker's full name and contact filled in
    /// where this node holds them (it is the resource owner or the requester), else the
    /// masked view the document holds.
    pub fn with_personal(&self, doc: DocId, mut b: BookingView) -> BookingView {
        if let Some(PersonalData::Booker { name, contact }) =
            self.personal_data(doc, &format!("requests/{}", b.id))
        {
            b.request.form.booker = name.clone();
            b.request.form.contact = contact.clone();
        }
        b
    }

    /// A meal order as this node may read it: the full household where this node holds it
    /// (it is the kitchen operator or the placing organisation), else the masked one.
    pub fn order_with_personal(&self, doc: DocId, mut o: OrderView) -> OrderView {
        if let Some(PersonalData::Household { household }) =
            self.personal_data(doc, &format!("orders/{}", o.id))
        {
            o.order.household = household.clone();
        }
        o
    }

    /// The bookings of resource `doc` as this node may read them ([`Replica::with_personal`]).
    pub fn bookings_as_read(&self, doc: DocId) -> Result<Vec<BookingView>, Error> {
        Ok(self
            .resource(doc)?
            .bookings()
            .into_iter()
            .map(|b| self.with_personal(doc, b))
            .collect())
    }
}
