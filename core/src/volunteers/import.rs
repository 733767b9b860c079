//! Roster import: [`VolunteersOp::ImportRoster`] registers up to [`MAX_ROSTER_ROWS`]
//! volunteers of a spreadsheet as one change, each row validated on its own.
//!
//! A row is what [`VolunteersOp::Register`] takes (name, phone, ID number, type, unit,
//! teams, posts) and optionally the volunteer's id (a roster exported from linli). Exactly
//! as a registration, the identity (name, phone, ID number) becomes a personal record of
//! `volunteers/<volunteer>` held only by the home community's nodes; the document gets the
//! masked name and the public fields, and receivers refuse an unmasked name
//! (`check_record`), whichever path wrote it.
//!
//! # Row identity (importing again adds nothing twice)
//!
//! A row's volunteer is the one its id names, else the current volunteer holding its phone,
//! else the one holding its ID number (phones and ID numbers as this node holds them: only
//! the home community's nodes do). A row naming a known volunteer, or the same person
//! (same name) by phone or ID number, is reported `already_registered` and not written; a
//! phone or ID number held by someone else is a duplicate (refused). Rows without an id,
//! phone or ID number cannot be recognised and are registered each time. Like the
//! duplicate-phone check of a registration, this is the writer's check (receivers hold no
//! phones).
//!
//! # Per-row errors
//!
//! A row without a name, with a malformed phone (7 to 15 digits; spaces, `-`, `+` and
//! brackets allowed), an unknown team, an in-service member without a post or unit, an
//! unpaired unit, an id the registry does not know, or a duplicate phone: rejected with the
//! error, nothing written for it; the other rows go on. Rows past [`ROSTER_BYTES`] of
//! records are deferred to the next change. A batch in which nothing is to be written is
//! refused with [`VolunteersError::NothingToWrite`], carrying every row's outcome.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{
    Change, Event, Status, Volunteer, VolunteerType, Volunteers, VolunteersError,
    check_membership, phone_digits,
};
use crate::document::{Document, MAX_CHANGE_BYTES, MAX_RECORD_BYTES, Put};
use crate::ids::{RecordId, Scope, VolunteerId};
use crate::kind::{Ctx, Effect};
pub use crate::kind::RosterOutcome;
use crate::personal::{PersonalData, mask_name};

use super::Post;

/// Most rows one [`VolunteersOp::ImportRoster`](super::VolunteersOp::ImportRoster) takes.
pub const MAX_ROSTER_ROWS: usize = 500;

/// Bytes of records (keys and JSON) one roster change carries at most; rows beyond are
/// deferred. Well below [`MAX_CHANGE_BYTES`], as the ledger's import.
pub const ROSTER_BYTES: usize = MAX_CHANGE_BYTES * 5 / 8;

/// One row of a roster import: a registration, with the volunteer's id if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterRow {
    /// The volunteer's id in this registry, if the roster names it (a re-import of an
    /// exported roster): such a row is already registered.
    #[serde(default)]
    pub volunteer: Option<VolunteerId>,
    /// Full name (kept at home only).
    pub name: String,
    /// Phone (kept at home only; unique among the community's current volunteers).
    #[serde(default)]
    pub phone: Option<String>,
    /// Resident ID number (kept at home only).
    #[serde(default)]
    pub id_number: Option<String>,
    /// Resident or in-service party member.
    pub kind: VolunteerType,
    /// The reporting unit (in-service members; a paired unit).
    #[serde(default)]
    pub unit: Option<Scope>,
    /// Teams (codes of known teams).
    #[serde(default)]
    pub teams: Vec<String>,
    /// Posts (an in-service member holds at least one).
    #[serde(default)]
    pub posts: Vec<Post>,
}

/// Why one roster row is not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// What a registration would refuse (empty name, unknown team, no post …).
    #[error(transparent)]
    Volunteers(#[from] VolunteersError),
    /// A phone that is not one.
    #[error("phone {0:?}: 7 to 15 digits (spaces, '-', '+' and brackets allowed)")]
    BadPhone(String),
    /// A personal field too long.
    #[error(transparent)]
    Personal(#[from] crate::personal::PersonalError),
    /// The record is too large.
    #[error("the row's record is {bytes} bytes, more than {max}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

/// Checks a phone's shape.
pub fn check_phone(phone: &str) -> Result<(), RowError> {
    let ok = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'));
    let digits = phone_digits(phone).len();
    if ok && (7..=15).contains(&digits) {
        Ok(())
    } else {
        Err(RowError::BadPhone(phone.to_string()))
    }
}

fn trimmed(s: Option<String>) -> Option<String> {
    s.map(|p| p.trim().to_string()).filter(|p| !p.is_empty())
}

/// Plans a roster batch (the community's own write, checked by the caller).
pub(super) fn plan(
    doc: &Document,
    ctx: &Ctx<'_>,
    v: &Volunteers<'_>,
    rows: Vec<RosterRow>,
) -> Result<(Vec<Put>, Effect, String), VolunteersError> {
    if rows.is_empty() || rows.len() > MAX_ROSTER_ROWS {
        return Err(VolunteersError::BatchSize {
            rows: rows.len(),
            max: MAX_ROSTER_ROWS,
        });
    }
    // Who holds which phone and ID number among the current volunteers, as held here.
    let mut phones: HashMap<String, (VolunteerId, String)> = HashMap::new();
    let mut id_numbers: HashMap<String, (VolunteerId, String)> = HashMap::new();
    for (id, rec) in v.volunteers() {
        if matches!(rec.status, Status::Moved | Status::Left) {
            continue;
        }
        if let Some(PersonalData::Volunteer {
            name,
            phone,
            id_number,
        }) = ctx
            .held
            .get(&(doc.id(), format!("volunteers/{id}")))
            .and_then(|r| r.data.as_ref())
        {
            if let Some(p) = phone.as_deref().map(phone_digits).filter(|p| !p.is_empty()) {
                phones.insert(p, (id.clone(), name.trim().to_string()));
            }
            if let Some(n) = id_number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                id_numbers.insert(n.to_uppercase(), (id.clone(), name.trim().to_string()));
            }
        }
    }
    let first = ctx.author.next_id(doc, "volunteers", "");
    let mut next = first.n;
    let mut puts = Vec::new();
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut bytes = 0usize;
    let mut full = false;
    for row in rows {
        if full {
            outcomes.push(RosterOutcome::Deferred);
            continue;
        }
        let id = VolunteerId(RecordId {
            n: next,
            ..first.clone()
        });
        match plan_row(doc, ctx, v, row, &id, &phones, &id_numbers) {
            Err(e) => outcomes.push(RosterOutcome::Rejected {
                error: e.to_string(),
            }),
            Ok(Planned::Known(volunteer)) => {
                outcomes.push(RosterOutcome::AlreadyRegistered { volunteer })
            }
            Ok(Planned::New(row_puts, data)) => {
                let size: usize = row_puts.iter().map(|p| p.key.len() + p.value.len()).sum();
                if !puts.is_empty() && bytes + size > ROSTER_BYTES {
                    full = true;
                    outcomes.push(RosterOutcome::Deferred);
                    continue;
                }
                bytes += size;
                next += 1;
                if let PersonalData::Volunteer {
                    name,
                    phone,
                    id_number,
                } = &data
                {
                    let who = (id.clone(), name.clone());
                    if let Some(p) = phone.as_deref().map(phone_digits) {
                        phones.insert(p, who.clone());
                    }
                    if let Some(n) = id_number {
                        id_numbers.insert(n.to_uppercase(), who);
                    }
                }
                puts.extend(row_puts);
                outcomes.push(RosterOutcome::Registered {
                    volunteer: id,
                    personal: Some(data),
                });
            }
        }
    }
    if puts.is_empty() {
        return Err(VolunteersError::NothingToWrite(outcomes));
    }
    let count = |f: fn(&RosterOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let msg = format!(
        "import {} volunteers ({} already registered, {} rejected, {} deferred)",
        count(|o| matches!(o, RosterOutcome::Registered { .. })),
        count(|o| matches!(o, RosterOutcome::AlreadyRegistered { .. })),
        count(|o| matches!(o, RosterOutcome::Rejected { .. })),
        count(|o| matches!(o, RosterOutcome::Deferred)),
    );
    Ok((puts, Effect::Roster(outcomes), msg))
}

enum Planned {
    Known(VolunteerId),
    New(Vec<Put>, PersonalData),
}

/// One row: its volunteer if already registered, else the records that register it.
fn plan_row(
    doc: &Document,
    ctx: &Ctx<'_>,
    v: &Volunteers<'_>,
    row: RosterRow,
    id: &VolunteerId,
    phones: &HashMap<String, (VolunteerId, String)>,
    id_numbers: &HashMap<String, (VolunteerId, String)>,
) -> Result<Planned, RowError> {
    if let Some(known) = row.volunteer {
        return if v.knows(&known) {
            Ok(Planned::Known(known))
        } else {
            Err(VolunteersError::UnknownVolunteer(known).into())
        };
    }
    let name = row.name.trim().to_string();
    if name.is_empty() {
        return Err(VolunteersError::Empty("name").into());
    }
    let phone = trimmed(row.phone);
    let id_number = trimmed(row.id_number);
    if let Some(p) = &phone {
        check_phone(p)?;
    }
    let data = PersonalData::Volunteer {
        name: name.clone(),
        phone: phone.clone(),
        id_number: id_number.clone(),
    };
    data.check()?;
    // The same person again, or someone else's phone or ID number.
    let holders = [
        phone.as_deref().map(phone_digits).and_then(|p| phones.get(&p)),
        id_number
            .as_deref()
            .and_then(|n| id_numbers.get(&n.to_uppercase())),
    ];
    if let Some((existing, held_name)) = holders.into_iter().flatten().next() {
        if *held_name == name {
            return Ok(Planned::Known(existing.clone()));
        }
        return Err(VolunteersError::DuplicatePhone {
            existing: existing.clone(),
        }
        .into());
    }
    check_membership(v, row.kind, &row.unit, &row.teams, &row.posts)?;
    let rec = Volunteer {
        display: mask_name(&name),
        kind: row.kind,
        unit: row.unit,
        teams: row.teams,
        posts: row.posts,
        status: Status::Active,
        arrived: None,
        by: ctx.scope.clone(),
        at: ctx.now,
    };
    let eid = ctx.author.next_id(doc, "history", &format!("{id}/"));
    let ev = Event {
        change: Change::Registered,
        by: ctx.scope.clone(),
        at: ctx.now,
    };
    let puts = vec![
        Put::new("volunteers", id.to_string(), &rec),
        Put::new("history", format!("{id}/{eid}"), &ev),
    ];
    if let Some(big) = puts.iter().find(|p| p.value.len() > MAX_RECORD_BYTES) {
        return Err(RowError::TooLarge {
            bytes: big.value.len(),
            max: MAX_RECORD_BYTES,
        });
    }
    Ok(Planned::New(puts, data))
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
