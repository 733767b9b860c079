//! Helpers shared by the unit tests of the document kinds.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use crate::document::Author;
use crate::ids::{NodeId, OrgId};
use crate::registry::ChecklistTemplate;
use crate::replica::{Applied, DistrictConfig, Replica};
use crate::time::Timestamp;

pub fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

pub fn author(o: &str, n: u8) -> Author {
    Author {
        node: NodeId([n; 32]),
        incarnation: [n; 8],
        org: org(o),
    }
}

pub fn district() -> DistrictConfig {
    DistrictConfig {
        checklist: ChecklistTemplate::synthetic_7_7("test-7-7"),
        ..DistrictConfig::default()
    }
}

/// A replica for organisation `o`; `n` makes its key unique.
pub fn replica(o: &str, n: u8) -> Replica {
    Replica::new(author(o, n), district())
}

/// An instant from RFC 3339 text, e.g. `2026-11-25T20:00:00+08:00`.
pub fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

pub fn date(y: i16, m: i8, d: i8) -> jiff::civil::Date {
    jiff::civil::Date::new(y, m, d).unwrap()
}

/// Sends every change of every document `from` holds to `to`; returns how many applied.
pub fn send(from: &Replica, to: &mut Replica) -> usize {
    let mut n = 0;
    for id in from.docs().keys().copied().collect::<Vec<_>>() {
        for bytes in from.changes(id, &[]).unwrap() {
            if let Applied::Applied(h) = to.apply(id, &bytes).unwrap() {
                n += h.len();
            }
        }
    }
    n
}

/// Full exchange between two replicas.
pub fn sync(a: &mut Replica, b: &mut Replica) {
    send(a, b);
    send(b, a);
}
