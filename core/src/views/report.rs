//! The volunteer reports of a community, computed from the documents a replica holds: the
//! monthly volunteer report and the yearly public report (年度公开报告: matters received,
//! wishes fulfilled, hours served, per team).
//!
//! Sources, all documents the community owns: its volunteer registry (teams, members,
//! registrations by their history event), its service ledgers (service entries dated in
//! the period: service done at the community's own activities, whoever's volunteer served)
//! and its wishes documents (items posted in the year). A service entry counts under its
//! team (a team code, or a team's display name, of the registry; any other text as given),
//! else under the volunteer's first team in the registry, else under no team (`""`).
//! Reports hold counts only: no name, pseudonym or phone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::document::{DocKind, Document};
use crate::ids::{Scope, VolunteerId};
use crate::ledger::{self, EntryBody, Points};
use crate::replica::Replica;
use crate::volunteers::{self, Change, Status};
use crate::wishes::{self, ItemKind};

/// One team's line of a report (the line with team `""` counts what has no team).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamLine {
    /// Team code (`""`: no team; the total line: `"*"`).
    pub team: String,
    /// Team display name (the code where the registry has no such team).
    pub name: String,
    /// Active volunteers of the registry in the team (at the time of reading).
    pub members: u32,
    /// Distinct volunteers who served in the period.
    pub served: u32,
    /// Volunteers registered (or moved in) in the period.
    pub registered: u32,
    /// Service records in the period.
    pub services: u32,
    /// Minutes served.
    pub minutes: u64,
    /// Hours served (decimal, e.g. `12.5`).
    pub hours: String,
    /// Points credited for that service (decimal, e.g. `12.5`).
    pub points: String,
}

/// The monthly volunteer report of a community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MonthlyReport {
    /// The community.
    pub community: String,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// One line per team (code order), then the total (`team` = `"*"`).
    pub teams: Vec<TeamLine>,
}

/// The yearly public report of a community (年度公开报告).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct YearlyReport {
    /// The community.
    pub community: String,
    /// The year.
    pub year: i16,
    /// Matters received: wishes, suggestions and problems posted in the year.
    pub matters_received: u32,
    /// Micro-wishes posted in the year.
    pub wishes_posted: u32,
    /// Micro-wishes posted in the year and fulfilled (or confirmed).
    pub wishes_fulfilled: u32,
    /// Problems and suggestions posted in the year and resolved.
    pub problems_resolved: u32,
    /// Active volunteers of the registry (at the time of reading).
    pub volunteers: u32,
    /// One line per team (code order), then the total (`team` = `"*"`).
    pub teams: Vec<TeamLine>,
}

/// Decimal hours of `minutes` (at most two decimals, rounded, no trailing zeros).
pub fn hours_text(minutes: u64) -> String {
    let hundredths = (minutes * 100 + 30) / 60;
    Points(i64::try_from(hundredths).unwrap_or(i64::MAX)).to_string()
}

/// A year, or a month of it.
#[derive(Clone, Copy)]
struct Period {
    year: i16,
    month: Option<i8>,
}

impl Period {
    fn holds(self, d: jiff::civil::Date) -> bool {
        d.year() == self.year && self.month.is_none_or(|m| d.month() == m)
    }
}

#[derive(Default)]
struct Acc {
    members: u32,
    served: BTreeSet<VolunteerId>,
    registered: u32,
    services: u32,
    minutes: u64,
    points: Points,
}

impl Acc {
    fn line(&self, team: String, name: String) -> TeamLine {
        TeamLine {
            team,
            name,
            members: self.members,
            served: u32::try_from(self.served.len()).unwrap_or(u32::MAX),
            registered: self.registered,
            services: self.services,
            minutes: self.minutes,
            hours: hours_text(self.minutes),
            points: self.points.to_string(),
        }
    }
}

/// Per-team lines of a community's registry and ledgers (`docs`) in `period`, then the
/// total.
fn team_lines(docs: &[&Document], period: Period) -> Vec<TeamLine> {
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut total = Acc::default();
    let mut first_team: BTreeMap<VolunteerId, String> = BTreeMap::new();
    for doc in docs.iter().filter(|d| d.kind() == DocKind::Volunteers) {
        let v = volunteers::Volunteers::new(doc);
        for (code, team) in v.teams() {
            names.insert(code.clone(), team.name);
            acc.entry(code).or_default();
        }
        let zone = &doc.header().zone;
        for (id, rec) in v.volunteers() {
            let mut teams: BTreeSet<String> = rec.teams.iter().cloned().collect();
            teams.extend(rec.posts.iter().map(|p| p.team.clone()));
            if let Some(t) = rec.teams.first().or(rec.posts.first().map(|p| &p.team)) {
                first_team.insert(id.clone(), t.clone());
            }
            let active = rec.status == Status::Active;
            let new = v.history(&id).iter().any(|e| {
                matches!(e.change, Change::Registered | Change::MovedIn { .. })
                    && e.at.local(zone).is_ok_and(|(d, _)| period.holds(d))
            });
            total.members += u32::from(active);
            total.registered += u32::from(new);
            let keys: Vec<String> = if teams.is_empty() {
                vec![String::new()]
            } else {
                teams.into_iter().collect()
            };
            for k in keys {
                let a = acc.entry(k).or_default();
                a.members += u32::from(active);
                a.registered += u32::from(new);
            }
        }
    }
    let by_name: BTreeMap<String, String> =
        names.iter().map(|(c, n)| (n.clone(), c.clone())).collect();
    for doc in docs.iter().filter(|d| d.kind() == DocKind::Ledger) {
        for (_, e) in ledger::Ledger::new(doc).entries() {
            let EntryBody::Service {
                team,
                date,
                minutes,
                points,
                ..
            } = &e.body
            else {
                continue;
            };
            if !period.holds(*date) {
                continue;
            }
            let key = match team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                Some(t) if names.contains_key(t) => t.to_string(),
                Some(t) => by_name.get(t).cloned().unwrap_or_else(|| t.to_string()),
                None => first_team.get(&e.volunteer).cloned().unwrap_or_default(),
            };
            for a in [acc.entry(key).or_default(), &mut total] {
                a.served.insert(e.volunteer.clone());
                a.services += 1;
                a.minutes += u64::from(*minutes);
                a.points = a.points + *points;
            }
        }
    }
    let mut out: Vec<TeamLine> = acc
        .iter()
        .map(|(k, a)| {
            a.line(
                k.clone(),
                names.get(k).cloned().unwrap_or_else(|| k.clone()),
            )
        })
        .collect();
    out.push(total.line("*".into(), "*".into()));
    out
}

impl Replica {
    /// Documents owned by `community`.
    fn owned_by(&self, community: &Scope) -> Vec<&Document> {
        self.docs()
            .matching({
                let community = community.clone();
                move |h| h.owner_scope() == community
            })
            .collect()
    }

    /// The monthly volunteer report of `community` for `month` (1–12) of `year`, from the
    /// documents held here.
    pub fn monthly_report(&self, community: &Scope, year: i16, month: i8) -> MonthlyReport {
        let period = Period {
            year,
            month: Some(month),
        };
        MonthlyReport {
            community: community.to_string(),
            month: format!("{year:04}-{month:02}"),
            teams: team_lines(&self.owned_by(community), period),
        }
    }

    /// The yearly public report of `community` for `year`, from the documents held here.
    pub fn yearly_report(&self, community: &Scope, year: i16) -> YearlyReport {
        let docs = self.owned_by(community);
        let teams = team_lines(&docs, Period { year, month: None });
        let mut r = YearlyReport {
            community: community.to_string(),
            year,
            matters_received: 0,
            wishes_posted: 0,
            wishes_fulfilled: 0,
            problems_resolved: 0,
            volunteers: teams.last().map_or(0, |t| t.members),
            teams,
        };
        for doc in docs.iter().filter(|d| d.kind() == DocKind::Wishes) {
            for ((kind, status), n) in wishes::Wishes::new(doc).yearly_counts(year) {
                if kind != ItemKind::Offer {
                    r.matters_received += n;
                }
                match (kind, status) {
                    (ItemKind::Wish, s) => {
                        r.wishes_posted += n;
                        if matches!(s, "fulfilled" | "confirmed") {
                            r.wishes_fulfilled += n;
                        }
                    }
                    (ItemKind::Problem | ItemKind::Suggestion, "resolved") => {
                        r.problems_resolved += n;
                    }
                    _ => {}
                }
            }
        }
        r
    }
}

/// Parses a month `YYYY-MM`.
pub fn parse_month(s: &str) -> Result<(i16, i8), String> {
    let bad = || format!("month {s:?}: expected YYYY-MM, e.g. 2026-11");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    let year: i16 = y.parse().map_err(|_| bad())?;
    let month: i8 = m.parse().map_err(|_| bad())?;
    if y.len() != 4 || !(1..=12).contains(&month) || !(1900..=9999).contains(&year) {
        return Err(bad());
    }
    Ok((year, month))
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
