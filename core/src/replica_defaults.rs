//! Defaults of operations that every surface (CLI, HTTP, Python) must share, decided here
//! once.

use crate::ids::{DocId, OrgId};
use crate::time::Timestamp;

use super::{Error, Replica};

/// Default validity of a certificate issued without an end: three years.
pub const DEFAULT_CERT_DAYS: i64 = 3 * 365;

/// The default name of a certificate for organisation `org`.
pub fn default_cert_name(org: &OrgId) -> String {
    format!("{org} office")
}

impl Replica {
    /// The end of a certificate this node issues at `now` without an explicit end: three
    /// years on, but not past the end of this node's own current certificate in `fed` (a
    /// certificate must lie within its issuer's). The root's has no end of its own.
    pub fn default_cert_end(&self, fed: DocId, now: Timestamp) -> Result<Timestamp, Error> {
        let three_years = now.plus_millis(DEFAULT_CERT_DAYS * Timestamp::DAY);
        let me = self.author().node;
        let own_end = self
            .federation(fed)?
            .certificates()
            .into_iter()
            .filter(|c| c.subject == me && c.not_before <= now && now < c.not_after)
            .map(|c| c.not_after)
            .max();
        Ok(own_end.map_or(three_years, |e| e.min(three_years)))
    }
}
