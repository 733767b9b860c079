//! Per-signer write quotas: how many changes, and how many bytes of them, one key may add to
//! one document per day.
//!
//! A certified organisation may write what its policy allows, but nothing in the policies
//! bounds *how much*: one unit could write thousands of large booking requests and every
//! node would store them. A [`QuotaCounter`] bounds what one signer adds to one document per
//! day. It is pure bookkeeping: the caller passes the [`Day`]s from its own clock (linli-core
//! never reads the clock), asks [`QuotaCounter::check`] before storing a received change and
//! calls [`QuotaCounter::record`] once it was stored.
//!
//! **Which day a change counts on** ([`Day::counted`]): the receiver's current day, or the
//! day the change is dated if that is earlier. Everything written today (or dated in the
//! future) shares today's quota, so a flood stops at the quota; the history of a document
//! that a new node receives all at once counts on the days it was written, so catching up
//! is never throttled. Counts are kept for the receiver's current day only
//! ([`QuotaCounter::roll`]): the next day starts afresh.
//!
//! A change beyond the quota is *not* a refusal of the change: it is not recorded anywhere
//! and may arrive again another day (by sync), when it fits. The counts live in memory; a
//! restart starts them afresh.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::document::MAX_CHANGE_BYTES;
use crate::ids::{DocId, NodeId};
use crate::time::Timestamp;

/// Default [`Quota::changes_per_day`]: above the largest legitimate burst of one signer on
/// one document (a month of service hours imported from a spreadsheet in the stress case,
/// ≈ 242 records a day × 31 ≈ 7,500 changes), far below a flood.
pub const DEFAULT_CHANGES_PER_DAY: u64 = 10_000;

/// Default [`Quota::bytes_per_day`] (16 MiB): that burst takes ≈ 3 MB (a service record is
/// a change of ≈ 380 bytes); a flood of large records (2,000 booking requests of 20 kB,
/// 41 MB) stops at 16 MiB per signer, document and day.
pub const DEFAULT_BYTES_PER_DAY: u64 = 16 * 1024 * 1024;

/// Largest accepted [`Quota::changes_per_day`] (beyond it the quota bounds nothing).
pub const MAX_CHANGES_PER_DAY: u64 = 10_000_000;

/// Smallest accepted [`Quota::bytes_per_day`]: the largest change, so that every valid
/// change fits in a fresh day.
pub const MIN_BYTES_PER_DAY: u64 = MAX_CHANGE_BYTES as u64;

/// Largest accepted [`Quota::bytes_per_day`] (1 TiB).
pub const MAX_BYTES_PER_DAY: u64 = 1 << 40;

/// What one signer may add to one document per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// Changes per signer, document and day.
    pub changes_per_day: u64,
    /// Bytes of changes (the automerge change bytes) per signer, document and day.
    pub bytes_per_day: u64,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            changes_per_day: DEFAULT_CHANGES_PER_DAY,
            bytes_per_day: DEFAULT_BYTES_PER_DAY,
        }
    }
}

impl Quota {
    /// Checks that both numbers are within their bounds; the error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=MAX_CHANGES_PER_DAY).contains(&self.changes_per_day) {
            return Err((
                "changes_per_day",
                format!(
                    "{} is not between 1 and {MAX_CHANGES_PER_DAY}",
                    self.changes_per_day
                ),
            ));
        }
        if !(MIN_BYTES_PER_DAY..=MAX_BYTES_PER_DAY).contains(&self.bytes_per_day) {
            return Err((
                "bytes_per_day",
                format!(
                    "{} is not between {MIN_BYTES_PER_DAY} (the largest change) and \
                     {MAX_BYTES_PER_DAY}",
                    self.bytes_per_day
                ),
            ));
        }
        Ok(())
    }
}

/// A UTC day: days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Day(pub i64);

impl Day {
    /// The UTC day of an instant.
    pub fn of(t: Timestamp) -> Day {
        Day(t.0.div_euclid(Timestamp::DAY))
    }

    /// The day a change dated `dated` counts on when it is received on day `today`: its own
    /// day if that is earlier (history), else `today` (so dating a change in the future
    /// gains nothing).
    pub fn counted(dated: Timestamp, today: Day) -> Day {
        Day::of(dated).min(today)
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let start = Timestamp(self.0.saturating_mul(Timestamp::DAY)).to_string();
        f.write_str(start.get(..10).unwrap_or(&start))
    }
}

/// A change that does not fit in its signer's quota.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    /// The signer already added `limit` changes to the document on this day.
    #[error(
        "signer {signer} exceeded its quota of {limit} changes per document per day on \
         document {doc} ({day}); the change may come again another day"
    )]
    Changes {
        /// Short form of the signer.
        signer: String,
        /// The document.
        doc: DocId,
        /// The day counted.
        day: Day,
        /// The quota.
        limit: u64,
    },
    /// The change's bytes would take the signer beyond `limit` bytes on this day.
    #[error(
        "signer {signer} exceeded its quota of {limit} bytes per document per day on \
         document {doc} ({day}: {used} bytes, this change {bytes}); the change may come again \
         another day"
    )]
    Bytes {
        /// Short form of the signer.
        signer: String,
        /// The document.
        doc: DocId,
        /// The day counted.
        day: Day,
        /// The quota.
        limit: u64,
        /// Bytes the signer added to the document on this day.
        used: u64,
        /// Bytes of the change.
        bytes: u64,
    },
}

/// What one signer added to one document on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Changes.
    pub changes: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Counts, per (signer, document, day), the changes received on the receiver's current day.
///
/// [`roll`](Self::roll) to the receiver's day before counting: a later day forgets every
/// count; an earlier one (a clock set back) changes nothing, so setting a clock back never
/// resets the counts.
#[derive(Debug, Clone, Default)]
pub struct QuotaCounter {
    quota: Quota,
    today: Option<Day>,
    used: HashMap<(NodeId, DocId, Day), Usage>,
}

impl QuotaCounter {
    /// A counter enforcing `quota`, with nothing counted.
    pub fn new(quota: Quota) -> Self {
        QuotaCounter {
            quota,
            today: None,
            used: HashMap::new(),
        }
    }

    /// The quota enforced.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The receiver's day the counts are for.
    pub fn today(&self) -> Option<Day> {
        self.today
    }

    /// Starts counting for the receiver's day `today` (a no-op unless it is later than the
    /// day counted so far).
    pub fn roll(&mut self, today: Day) {
        if self.today.is_none_or(|d| today > d) {
            self.used.clear();
            self.today = Some(today);
        }
    }

    /// What `signer` added to `doc` counted on `day` since the receiver's day began.
    pub fn used(&self, signer: &NodeId, doc: &DocId, day: Day) -> Usage {
        self.used
            .get(&(*signer, *doc, day))
            .copied()
            .unwrap_or_default()
    }

    /// Whether a change of `bytes` bytes by `signer` to `doc`, counted on `day`, fits in the
    /// quota.
    pub fn check(
        &self,
        signer: &NodeId,
        doc: &DocId,
        day: Day,
        bytes: u64,
    ) -> Result<(), QuotaError> {
        let used = self.used(signer, doc, day);
        if used.changes >= self.quota.changes_per_day {
            return Err(QuotaError::Changes {
                signer: signer.short(),
                doc: *doc,
                day,
                limit: self.quota.changes_per_day,
            });
        }
        if used.bytes.saturating_add(bytes) > self.quota.bytes_per_day {
            return Err(QuotaError::Bytes {
                signer: signer.short(),
                doc: *doc,
                day,
                limit: self.quota.bytes_per_day,
                used: used.bytes,
                bytes,
            });
        }
        Ok(())
    }

    /// Counts a change of `bytes` bytes by `signer` to `doc` on `day` (whether or not it
    /// fitted: the caller decides what to count).
    pub fn record(&mut self, signer: &NodeId, doc: &DocId, day: Day, bytes: u64) {
        let u = self.used.entry((*signer, *doc, day)).or_default();
        u.changes = u.changes.saturating_add(1);
        u.bytes = u.bytes.saturating_add(bytes);
    }

    /// Number of (signer, document, day) counts kept (memory use).
    pub fn len(&self) -> usize {
        self.used.len()
    }

    /// Whether nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::identity::Keypair;

    fn signer(n: u8) -> NodeId {
        Keypair::from_secret(&[n; 32]).node_id()
    }

    fn doc(n: u8) -> DocId {
        DocId([n; 32])
    }

    fn small() -> QuotaCounter {
        QuotaCounter::new(Quota {
            changes_per_day: 3,
            bytes_per_day: 1000,
        })
    }

    #[test]
    fn quota_counts_changes_per_signer_document_and_day() {
        let mut q = small();
        let (a, b) = (signer(1), signer(2));
        let day = Day(20_000);
        q.roll(day);
        for _ in 0..3 {
            q.check(&a, &doc(1), day, 10).unwrap();
            q.record(&a, &doc(1), day, 10);
        }
        let e = q.check(&a, &doc(1), day, 10).unwrap_err();
        assert_eq!(
            e,
            QuotaError::Changes {
                signer: a.short(),
                doc: doc(1),
                day,
                limit: 3
            }
        );
        let text = e.to_string();
        assert!(
            text.contains(&format!(
                "signer {} exceeded its quota of 3 changes per document per day on document {} \
                 (2024-10-04)",
                a.short(),
                doc(1)
            )),
            "{text}"
        );
        // Another signer on the same document, the same signer on another document or
        // another day: free.
        q.check(&b, &doc(1), day, 10).unwrap();
        q.check(&a, &doc(2), day, 10).unwrap();
        q.check(&a, &doc(1), Day(day.0 - 1), 10).unwrap();
        assert_eq!(
            q.used(&a, &doc(1), day),
            Usage {
                changes: 3,
                bytes: 30
            }
        );
        assert_eq!(q.used(&b, &doc(1), day), Usage::default());
    }

    #[test]
    fn quota_counts_bytes_and_a_change_that_would_cross_it_is_refused() {
        let mut q = small();
        let a = signer(1);
        let day = Day(20_000);
        q.roll(day);
        q.check(&a, &doc(1), day, 600).unwrap();
        q.record(&a, &doc(1), day, 600);
        let e = q.check(&a, &doc(1), day, 401).unwrap_err();
        assert!(
            matches!(
                e,
                QuotaError::Bytes {
                    limit: 1000,
                    used: 600,
                    bytes: 401,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains("quota of 1000 bytes per document per day"),
            "{e}"
        );
        // Exactly up to the quota fits.
        q.check(&a, &doc(1), day, 400).unwrap();
        q.record(&a, &doc(1), day, 400);
        assert!(q.check(&a, &doc(1), day, 1).is_err());
    }

    #[test]
    fn quota_resets_on_a_new_day_and_not_when_the_clock_goes_back() {
        let mut q = small();
        let a = signer(1);
        let today = Day::of(Timestamp::parse("2026-12-07T23:59:59Z").unwrap());
        let tomorrow = Day::of(Timestamp::parse("2026-12-08T00:00:00Z").unwrap());
        assert_eq!(tomorrow.0, today.0 + 1);
        q.roll(today);
        for _ in 0..3 {
            q.record(&a, &doc(1), today, 10);
        }
        assert!(q.check(&a, &doc(1), today, 10).is_err());
        // A clock set back changes nothing.
        q.roll(Day(today.0 - 1));
        assert_eq!(q.today(), Some(today));
        assert!(q.check(&a, &doc(1), today, 10).is_err());
        // The next day starts afresh, also for what was dated the day before.
        q.roll(tomorrow);
        assert_eq!(q.used(&a, &doc(1), today), Usage::default());
        q.check(&a, &doc(1), today, 10).unwrap();
        q.check(&a, &doc(1), tomorrow, 10).unwrap();
        for _ in 0..3 {
            q.record(&a, &doc(1), tomorrow, 10);
        }
        assert!(q.check(&a, &doc(1), tomorrow, 10).is_err());
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn a_change_counts_on_its_own_day_if_earlier_else_on_the_receivers_day() {
        let today = Day::of(Timestamp::parse("2026-12-07T12:00:00Z").unwrap());
        let at = |s: &str| Timestamp::parse(s).unwrap();
        assert_eq!(Day::counted(at("2026-12-07T01:00:00Z"), today), today);
        assert_eq!(Day::counted(at("2027-01-01T00:00:00Z"), today), today);
        assert_eq!(
            Day::counted(at("2026-03-01T09:00:00Z"), today),
            Day::of(at("2026-03-01T00:00:00Z"))
        );
        assert_eq!(today.to_string(), "2026-12-07");
    }

    #[test]
    fn days_are_utc_and_negative_times_round_down() {
        assert_eq!(Day::of(Timestamp(0)), Day(0));
        assert_eq!(Day::of(Timestamp(Timestamp::DAY - 1)), Day(0));
        assert_eq!(Day::of(Timestamp(-1)), Day(-1));
    }

    #[test]
    fn quota_bounds_are_validated() {
        assert!(Quota::default().validate().is_ok());
        let zero = Quota {
            changes_per_day: 0,
            ..Quota::default()
        };
        assert_eq!(zero.validate().unwrap_err().0, "changes_per_day");
        let huge = Quota {
            changes_per_day: MAX_CHANGES_PER_DAY + 1,
            ..Quota::default()
        };
        assert_eq!(huge.validate().unwrap_err().0, "changes_per_day");
        let tiny = Quota {
            bytes_per_day: MIN_BYTES_PER_DAY - 1,
            ..Quota::default()
        };
        assert_eq!(tiny.validate().unwrap_err().0, "bytes_per_day");
    }
}
