//! The volunteer story: a volunteer registered at home (Dianye's registry: name and phone
//! kept on Dianye's node only), serving at another community's event (Hongqi records the
//! service in Hongqi's ledger), the points credited at home (Dianye's view of the balance
//! includes Hongqi's entry), and the identity never leaving home.

use linli_core::ledger::LedgerOp;
use linli_core::volunteers::{VolunteerType, VolunteersOp};
use linli_core::{DocId, Effect, NewDoc, Op, Replica, VolunteerId};

use super::{DocRef, Ids, LATER, Step, StoryError, Who, plot};

/// The volunteer's full name (kept at home).
pub const NAME: &str = "王小红";
/// The volunteer's phone (kept at home): searched for in every other node's files.
pub const PHONE: &str = "13912345678";
/// Hours served in Hongqi.
pub const HOURS: f64 = 3.0;
/// The name the registration is saved under in [`Ids`].
const SAVED: &str = "volunteer/home";

/// The volunteer the story registered.
pub fn registered(ids: &Ids) -> Result<VolunteerId, StoryError> {
    match ids.saved(SAVED)? {
        Effect::Volunteer(v) => Ok(v.clone()),
        other => Err(plot(format!("{SAVED} is not a volunteer: {other:?}"))),
    }
}

/// Dianye creates its volunteer registry, adds its elder-care team and registers a
/// resident volunteer with her name and phone.
pub fn register() -> Vec<Step> {
    use Who::*;
    vec![
        Step::create(Dianye, DocRef::Volunteers(Dianye), || {
            Ok(NewDoc::Volunteers {
                street: Beishi.org()?,
                community: Dianye.org()?,
                title: "dianye volunteers".into(),
            })
        }),
        Step::op(Dianye, DocRef::Volunteers(Dianye), LATER, |_| {
            Ok(Op::Volunteers(VolunteersOp::AddTeam {
                code: "care".into(),
                name: "助老服务队 elder care".into(),
            }))
        }),
        Step::op(Dianye, DocRef::Volunteers(Dianye), LATER, |_| {
            Ok(Op::Volunteers(VolunteersOp::Register {
                name: NAME.into(),
                phone: Some(PHONE.into()),
                id_number: None,
                kind: VolunteerType::Resident,
                unit: None,
                teams: vec!["care".into()],
                posts: vec![],
            }))
        })
        .save(SAVED),
    ]
}

/// Hongqi records the volunteer's service at its elder-care day, in its own ledger.
pub fn abroad() -> Vec<Step> {
    vec![Step::op(
        Who::Hongqi,
        DocRef::Ledger(Who::Hongqi),
        LATER,
        |ids| {
            Ok(Op::Ledger(LedgerOp::RecordService {
                volunteer: registered(ids)?,
                activity: "Hongqi elder-care day".into(),
                team: Some("elder care".into()),
                date: jiff::civil::date(2026, 11, 19),
                hours: HOURS,
                evidence: None,
            }))
        },
    )]
}

/// What one replica shows of the volunteer: the name it reads (the full name only at
/// home), whether it holds a personal record of the volunteer, and the volunteer's balance
/// at home at `now` as this replica computes it.
pub fn seen_by(
    r: &Replica,
    registry: DocId,
    v: &VolunteerId,
    now: linli_core::Timestamp,
) -> Result<(String, bool, String), StoryError> {
    let home = r.volunteers(registry)?.community();
    let display = r
        .volunteers(registry)?
        .volunteer(v)
        .map_err(|e| plot(e.to_string()))?
        .display;
    let held = r.personal_data(registry, &format!("volunteers/{v}"));
    let name = match held {
        Some(linli_core::personal::PersonalData::Volunteer { name, .. }) => name.clone(),
        _ => display,
    };
    let holds_phone = r.personal_records().any(|p| {
        matches!(&p.data, Some(linli_core::personal::PersonalData::Volunteer { phone: Some(ph), .. }) if ph == PHONE)
    });
    Ok((name, holds_phone, r.balance_of(&home, v, now).to_string()))
}
