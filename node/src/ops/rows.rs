//! Results as JSON rows for tables (CLI, HTTP, dashboard).

use std::path::Path;

use linli_core::cert::Certificate;
use linli_core::ledger::Standing;
use linli_core::resource::{KitchenDay, OrderView};
use linli_core::wishes::{Item, ItemKind};
use serde_json::json;

use super::*;
use crate::{AuditRow, ExportSummary, ImportReport, RejectedChange};

/// A row struct as JSON. Rows are structs of strings, numbers and core values whose
/// `Serialize` writes plain maps with string keys, so serializing them cannot fail; were it
/// ever to, the row would read `null` rather than take the request down.
fn to_row<T: Serialize>(row: &T) -> Value {
    serde_json::to_value(row).unwrap_or(Value::Null)
}

/// What a write answers: the document, linli-core's effect, the change's hash, and for a
/// confirmed booking the slot in the resource's local time (`slot`).
#[derive(Serialize)]
struct WriteRow {
    doc: String,
    effect: Value,
    change: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    slot: Option<String>,
}

/// The answer to a write of `effect` by change `change` on `doc`; `slot` is the confirmed
/// slot in local time, when there is one.
pub(crate) fn written(
    doc: DocId,
    effect: &linli_core::Effect,
    change: String,
    slot: Option<String>,
) -> Value {
    to_row(&WriteRow {
        doc: doc.to_string(),
        effect: serde_json::to_value(effect).unwrap_or(Value::Null),
        change,
        slot,
    })
}

#[derive(Serialize)]
struct CreatedRow {
    doc: String,
    kind: DocKind,
    effect: &'static str,
}

/// The answer to creating a document.
pub(crate) fn created(doc: DocId, kind: DocKind) -> Value {
    to_row(&CreatedRow {
        doc: doc.to_string(),
        kind,
        effect: "created",
    })
}

#[derive(Serialize)]
struct AuditOut<'a> {
    at: String,
    doc: String,
    op: &'a str,
    class: &'a str,
    error: &'a str,
}

/// A refused local operation of the audit as a row.
pub(crate) fn audit(r: &AuditRow) -> Value {
    to_row(&AuditOut {
        at: r.at.to_string(),
        doc: r.doc.to_string(),
        op: &r.op,
        class: &r.class,
        error: &r.error,
    })
}

#[derive(Serialize)]
struct RejectedRow<'a> {
    pos: i64,
    doc: String,
    hash: String,
    signer: String,
    reason: &'a str,
    received_at: String,
}

/// A refused change as a row.
pub(crate) fn rejected(r: &RejectedChange) -> Value {
    to_row(&RejectedRow {
        pos: r.pos,
        doc: r.doc.to_string(),
        hash: r.hash.to_string(),
        signer: ln(&r.signer),
        reason: &r.reason,
        received_at: r.received_at.to_string(),
    })
}

#[derive(Serialize)]
struct CertificateRow<'a> {
    subject: String,
    role: &'static str,
    org: String,
    parent: Option<String>,
    name: &'a str,
    issuer: String,
    not_before: String,
    not_after: String,
    revoked: bool,
}

/// A federation certificate as a row; `revoked` when some revocation withdraws it.
pub(crate) fn certificate(c: &Certificate, revoked: bool) -> Value {
    to_row(&CertificateRow {
        subject: ln(&c.subject),
        role: c.role.as_str(),
        org: c.org.to_string(),
        parent: c.parent.as_ref().map(ToString::to_string),
        name: &c.name,
        issuer: ln(&c.issuer),
        not_before: c.not_before.to_string(),
        not_after: c.not_after.to_string(),
        revoked,
    })
}

#[derive(Serialize)]
struct ResourceRow<'a> {
    id: String,
    name: &'a str,
    kind: ResourceKind,
    owner: String,
    capacity: u32,
    opening: String,
    zone: &'a Zone,
    bookings: usize,
}

/// A resource as a row: its spec, its owner and how many bookings it holds.
pub(crate) fn resource(id: DocId, spec: &ResourceSpec, owner: &OrgId, bookings: usize) -> Value {
    to_row(&ResourceRow {
        id: id.to_string(),
        name: &spec.name,
        kind: spec.kind,
        owner: owner.to_string(),
        capacity: spec.capacity,
        opening: spec.opening_text(),
        zone: &spec.zone,
        bookings,
    })
}

#[derive(Serialize)]
struct KitchenOrderRow<'a> {
    id: String,
    household: String,
    portions: u32,
    items: String,
    placed: String,
    status: &'a str,
}

#[derive(Serialize)]
struct KitchenDayRow<'a> {
    date: String,
    service: &'a str,
    cutoff: String,
    capacity: u32,
    accepted_portions: u32,
    waiting_portions: u32,
    orders: Vec<KitchenOrderRow<'a>>,
}

/// A kitchen's day sheet with its orders, times in `zone`; `household` gives the household
/// shown for an order (the full one where this node is in its audience).
pub(crate) fn kitchen_day(
    day: &KitchenDay,
    zone: &Zone,
    household: impl Fn(&OrderView) -> String,
) -> Value {
    let orders = day
        .orders
        .iter()
        .map(|o| KitchenOrderRow {
            id: o.id.to_string(),
            household: household(o),
            portions: o.order.portions,
            items: o.order.items.join(", "),
            placed: o.order.placed_at.display_in(zone),
            status: o.status.label(),
        })
        .collect();
    to_row(&KitchenDayRow {
        date: day.date.to_string(),
        service: &day.service,
        cutoff: day.cutoff.display_in(zone),
        capacity: day.capacity,
        accepted_portions: day.accepted_portions,
        waiting_portions: day.waiting_portions,
        orders,
    })
}

#[derive(Serialize)]
struct BalanceRow {
    volunteer: String,
    balance: String,
    hundredths: i64,
}

/// A volunteer's balance, as text and in hundredths of a point.
pub(crate) fn balance(volunteer: &VolunteerId, p: Points) -> Value {
    to_row(&BalanceRow {
        volunteer: volunteer.to_string(),
        balance: p.to_string(),
        hundredths: p.0,
    })
}

#[derive(Serialize)]
struct LeaderboardRow {
    rank: usize,
    volunteer: String,
    earned: String,
    hours: String,
    stars: u8,
}

/// A leaderboard standing as a row, ranked from 1.
pub(crate) fn leaderboard(rank: usize, s: &Standing) -> Value {
    to_row(&LeaderboardRow {
        rank,
        volunteer: s.volunteer.to_string(),
        earned: s.earned.to_string(),
        hours: format!("{:.2}", s.minutes as f64 / 60.0),
        stars: s.stars,
    })
}

#[derive(Serialize)]
struct ResidentRow<'a> {
    name: &'a str,
    contact: Option<&'a str>,
    address: Option<&'a str>,
}

#[derive(Serialize)]
struct WishRow<'a> {
    id: String,
    kind: ItemKind,
    at: String,
    year: Option<i16>,
    title: &'a str,
    category: &'a str,
    by: String,
    claims: String,
    status: &'a str,
    resident: Option<ResidentRow<'a>>,
}

/// A posted item as a row: its status, its claims' ids, and the resident concerned where
/// this node holds the personal record (`resident`, else `null`). Times in Shanghai time.
pub(crate) fn wish<'a>(
    id: &WishId,
    item: &'a Item,
    status: &'a str,
    claims: &[String],
    resident: Option<&'a PersonalData>,
) -> Value {
    let resident = match resident {
        Some(PersonalData::Resident {
            name,
            contact,
            address,
        }) => Some(ResidentRow {
            name,
            contact: contact.as_deref(),
            address: address.as_deref(),
        }),
        _ => None,
    };
    let zone = Zone::shanghai();
    let year = item.at.local(&zone).map(|(d, _)| d.year()).ok();
    to_row(&WishRow {
        id: id.to_string(),
        kind: item.kind,
        at: item.at.display_in(&zone),
        year,
        title: &item.title,
        category: &item.category,
        by: item.by.to_string(),
        claims: claims.join(" "),
        status,
        resident,
    })
}

#[derive(Serialize)]
struct VolunteerRow<'a> {
    id: String,
    name: &'a str,
    phone: Option<&'a str>,
    id_number: Option<&'a str>,
    kind: linli_core::volunteers::VolunteerType,
    unit: Option<String>,
    teams: String,
    posts: String,
    status: &'static str,
    since: String,
    history: Vec<String>,
    moved_from: Option<String>,
    release: Option<String>,
}

/// A registered volunteer as a row: the masked name, or the full name, phone and ID number
/// where this node holds them (the home community); posts as `team:duty`; its history as
/// `time event` lines; a moved volunteer's signed release as JSON (what the destination's
/// `volunteers.move_in` takes). Times in Shanghai time.
pub(crate) fn volunteer<'a>(
    id: &VolunteerId,
    v: &'a linli_core::volunteers::Volunteer,
    history: &[linli_core::volunteers::Event],
    release: Option<&linli_core::volunteers::SignedRelease>,
    identity: Option<&'a PersonalData>,
) -> Value {
    use linli_core::volunteers::Change;
    let zone = Zone::shanghai();
    let (name, phone, id_number) = match identity {
        Some(PersonalData::Volunteer {
            name,
            phone,
            id_number,
        }) => (name.as_str(), phone.as_deref(), id_number.as_deref()),
        _ => (v.display.as_str(), None, None),
    };
    let history = history
        .iter()
        .map(|e| {
            let what = match &e.change {
                Change::Registered => "registered".to_string(),
                Change::Updated => "updated".to_string(),
                Change::Status { to, reason } => format!("{} {reason}", to.label()),
                Change::MovedOut { to } => format!("moved to {to}"),
                Change::MovedIn { from, previous } => format!("moved in from {from} ({previous})"),
            };
            format!("{} {}", e.at.display_in(&zone), what.trim_end())
        })
        .collect();
    to_row(&VolunteerRow {
        id: id.to_string(),
        name,
        phone,
        id_number,
        kind: v.kind,
        unit: v.unit.as_ref().map(ToString::to_string),
        teams: v.teams.join(" "),
        posts: v
            .posts
            .iter()
            .map(|p| format!("{}:{}", p.team, p.duty))
            .collect::<Vec<_>>()
            .join(", "),
        status: v.status.label(),
        since: v.at.display_in(&zone),
        history,
        moved_from: v.arrived.as_ref().map(|r| r.release.volunteer.to_string()),
        release: release.and_then(|r| serde_json::to_string(r).ok()),
    })
}

#[derive(Serialize)]
struct ExportRow {
    path: String,
    changes: u64,
    bytes: u64,
}

/// What an export wrote.
pub(crate) fn export(s: &ExportSummary) -> Value {
    to_row(&ExportRow {
        path: s.path.display().to_string(),
        changes: s.changes,
        bytes: s.bytes,
    })
}

#[derive(Serialize)]
struct InvalidEntryRow<'a> {
    entry: u64,
    error: &'a str,
}

#[derive(Serialize)]
struct ImportRow<'a> {
    path: String,
    entries: u64,
    applied: u64,
    duplicates: u64,
    pending: u64,
    refused: u64,
    invalid: Vec<InvalidEntryRow<'a>>,
    complete: bool,
    problem: Option<&'a str>,
}

/// What an import of the file at `path` did.
pub(crate) fn import(path: &Path, r: &ImportReport) -> Value {
    to_row(&ImportRow {
        path: path.display().to_string(),
        entries: r.entries,
        applied: r.applied,
        duplicates: r.duplicates,
        pending: r.pending,
        refused: r.refused,
        invalid: r
            .invalid
            .iter()
            .map(|(i, why)| InvalidEntryRow {
                entry: *i,
                error: why,
            })
            .collect(),
        complete: r.complete,
        problem: r.problem.as_deref(),
    })
}

#[derive(Serialize)]
struct ServiceImportRow<'a> {
    doc: String,
    changes: &'a [String],
    recorded: u64,
    already_imported: u64,
    rejected: u64,
    rows: Vec<Value>,
}

/// What a service import did: the changes written, the counts of rows recorded, already
/// imported and rejected, and each row's outcome in order.
pub(crate) fn service_import(
    doc: DocId,
    changes: &[String],
    (recorded, already_imported, rejected): (u64, u64, u64),
    rows: Vec<Value>,
) -> Value {
    to_row(&ServiceImportRow {
        doc: doc.to_string(),
        changes,
        recorded,
        already_imported,
        rejected,
        rows,
    })
}

/// An operation of the catalogue as a row.
pub fn operation_row(o: &catalogue::Operation) -> Value {
    let fields: Vec<Value> = o
        .fields
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "required": f.required,
                "type": f.hint(),
                "doc": f.doc,
                "schema": f.schema,
            })
        })
        .collect();
    json!({
        "op": o.id(),
        "kind": catalogue::kind_name(o.kind),
        "doc": o.doc,
        "fields": fields,
    })
}

/// A personal record as a row: the record, its kind and audience, and the data itself
/// (this node is in the audience, or it would not hold it).
pub(crate) fn personal_row_of(
    p: &linli_core::personal::PersonalRecord,
    audience: Option<&linli_core::personal::Audience>,
) -> Value {
    let readers: Vec<String> = audience
        .map(|a| a.readers.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    // The fields of the data; the kind is its own column.
    let mut data = serde_json::to_value(&p.data).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut data {
        m.remove("kind");
    }
    json!({
        "doc": p.doc.to_string(),
        "record": p.record,
        "kind": p.data.as_ref().map_or("erased", PersonalData::label),
        "data": data,
        "audience": readers,
        "at": p.at.to_string(),
    })
}

pub(crate) fn entry_row(id: &EntryId, e: &linli_core::ledger::Entry) -> Value {
    use linli_core::ledger::EntryBody;
    let mut row = json!({
        "id": id.to_string(),
        "volunteer": e.volunteer.to_string(),
        "issuer": e.issuer.to_string(),
        "points": e.balance_delta().to_string(),
        "at": e.at.to_string(),
    });
    let extra = match &e.body {
        EntryBody::Service {
            activity,
            team,
            date,
            minutes,
            evidence,
            ..
        } => json!({
            "type": "service",
            "activity": activity,
            "team": team,
            "date": date.to_string(),
            "hours": format!("{:.2}", f64::from(*minutes) / 60.0),
            "evidence": evidence,
            "source": e.source,
            "method": if e.method().verified() { "check_in" } else { "by_hand" },
        }),
        EntryBody::Redemption { item, outlet, .. } => json!({
            "type": "redemption",
            "item": item,
            "outlet": outlet,
        }),
        EntryBody::Correction {
            corrects, reason, ..
        } => json!({
            "type": "correction",
            "corrects": corrects.as_ref().map(|c| c.to_string()),
            "reason": reason,
        }),
    };
    if let (Value::Object(m), Value::Object(x)) = (&mut row, extra) {
        m.extend(x);
    }
    row
}

/// The node's time in the default zone with seconds and offset, e.g.
/// `2026-11-20 19:59:12 +08:00`.
fn clock_time(t: Timestamp) -> String {
    let tz = jiff::tz::db()
        .get(Zone::DEFAULT)
        .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
    match jiff::Timestamp::from_millisecond(t.millis()) {
        Ok(ts) => ts
            .to_zoned_datetime(tz)
            .strftime("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        Err(_) => t.to_string(),
    }
}

pub(crate) async fn status(node: &Node, net: Option<&Network>) -> Result<Value, OpsError> {
    let s = node.status().await?;
    let now = node.now();
    let docs: BTreeMap<String, usize> = s
        .documents
        .iter()
        .map(|(k, n)| (kind_name(*k).to_string(), *n))
        .collect();
    let me = node
        .read(move |r| r.principal(&r.author().node, now).ok())
        .await?;
    let mut v = json!({
        "node": ln(&s.node),
        "org": s.org.to_string(),
        "role": me.as_ref().map(|p| p.role.map_or("root", |r| r.as_str())),
        "scope": me.as_ref().map(|p| p.scope.to_string()),
        "root": ln(&s.root),
        "dir": s.dir.display().to_string(),
        "documents": docs,
        "changes": s.log,
        "accepted": s.accepted,
        "pending": s.pending,
        "refused": s.refused,
        "quota_refused": s.quota_refused,
        "snapshots": s.snapshots,
        "awaiting_verification": s.awaiting_verification,
        "incarnation": hex::encode(s.incarnation),
        "equivocating_keys": s.equivocators.len(),
        "version": crate::VERSION,
        "clock": if node.training_clock().is_some() { "training" } else { "system" },
        "time": clock_time(now),
        "time_ms": now.millis(),
    });
    if !s.equivocators.is_empty()
        && let Value::Object(m) = &mut v
    {
        // Keys that signed two different changes in one slot: the smaller hash was kept.
        let flagged: Vec<Value> = s
            .equivocators
            .iter()
            .map(|(k, e)| {
                json!({
                    "signer": ln(k),
                    "doc": e.doc.short(),
                    "seq": e.seq,
                    "kept": hex::encode(&e.kept.0[..4]),
                    "refused": e.refused.iter().map(|h| hex::encode(&h.0[..4])).collect::<Vec<_>>(),
                })
            })
            .collect();
        m.insert("equivocating".into(), Value::Array(flagged));
    }
    if s.refused > 0
        && let Value::Object(m) = &mut v
    {
        let all = node.rejected().await?;
        let recent: Vec<Value> = all
            .iter()
            .rev()
            .take(5)
            .map(|r| {
                json!({
                    "doc": r.doc.short(),
                    "signer": ln(&r.signer),
                    "reason": r.reason,
                    "received_at": r.received_at.to_string(),
                })
            })
            .collect();
        m.insert("recent_rejections".into(), Value::Array(recent));
    }
    if let (Some(net), Value::Object(m)) = (net, &mut v) {
        let stats = net.stats();
        m.insert("peers".into(), json!(stats.peers));
        m.insert(
            "network".into(),
            serde_json::to_value(stats).unwrap_or(Value::Null),
        );
        if let Ok(addrs) = net.listen_addrs().await {
            m.insert("listen".into(), json!(addrs));
        }
    } else if let Value::Object(m) = &mut v {
        m.insert("peers".into(), json!(node.peers().await?.len()));
    }
    Ok(v)
}

pub(crate) async fn peers(node: &Node, net: Option<&Network>) -> Result<Value, OpsError> {
    if let Some(net) = net {
        let rows: Vec<Value> = net
            .peers()
            .await
            .map_err(|e| OpsError::Network(e.to_string()))?
            .into_iter()
            .map(|p| {
                json!({
                    "node": ln(&p.node),
                    "org": p.org,
                    "connected": p.connected,
                    "addrs": p.addrs.join(" "),
                    "last_sync": p.last_sync.map(|t| t.to_string()),
                    "sessions_ok": p.sessions_ok,
                    "sessions_failed": p.sessions_failed,
                    "dropped": p.dropped,
                })
            })
            .collect();
        return Ok(Value::Array(rows));
    }
    let rows: Vec<Value> = node
        .peers()
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "node": ln(&p.node),
                "connected": false,
                "last_seen": p.last_seen.to_string(),
            })
        })
        .collect();
    Ok(Value::Array(rows))
}

pub(crate) async fn documents(node: &Node, kind: Option<DocKind>) -> Result<Value, OpsError> {
    let rows: Vec<Value> = node
        .documents()
        .await?
        .into_iter()
        .filter(|d| kind.is_none_or(|k| d.header.kind == k))
        .map(|d| {
            let h = &d.header;
            json!({
                "id": d.id.to_string(),
                "kind": h.kind,
                "title": h.title,
                "owner": h.owner.to_string(),
                "street": h.street.to_string(),
                "community": h.community.as_ref().map(|c| c.to_string()),
                "year": h.year,
                "heads": d.heads.len(),
            })
        })
        .collect();
    Ok(Value::Array(rows))
}

pub(crate) async fn compound_rows(node: &Node, doc: DocId, year: i16) -> Result<Value, OpsError> {
    let rows = node
        .read(move |r| -> Result<Vec<Value>, linli_core::Error> {
            let reg = r.registry(doc)?;
            Ok(reg
                .compounds()
                .into_iter()
                .map(|(id, c)| {
                    let manager = match reg.appointment(&id) {
                        AppointmentView::Vacant => String::new(),
                        AppointmentView::Current(a) => a.manager,
                        AppointmentView::Contested(all) => format!(
                            "CONTESTED: {}",
                            all.iter()
                                .map(|a| a.manager.as_str())
                                .collect::<Vec<_>>()
                                .join(" / ")
                        ),
                    };
                    let comp = reg.composite(&id, year);
                    json!({
                        "id": id.to_string(),
                        "name": c.name,
                        "address": c.address,
                        "households": c.households,
                        "mode": c.mode.label(),
                        "manager": manager,
                        "year": year,
                        "score": comp.score.map(|s| (s * 10.0).round() / 10.0),
                        "complete": comp.complete,
                        "below_threshold": comp.below_threshold,
                    })
                })
                .collect())
        })
        .await??;
    Ok(Value::Array(rows))
}

pub(crate) async fn booking_rows(node: &Node, doc: DocId) -> Result<Value, OpsError> {
    let rows = node
        .read(move |r| -> Result<Vec<Value>, linli_core::Error> {
            let res = r.resource(doc)?;
            let zone = res.spec().zone.clone();
            Ok(res
                .bookings()
                .into_iter()
                .map(|b| {
                    let slot = b.confirmed_slot().unwrap_or(b.request.form.slot);
                    let reason = match &b.status {
                        BookingStatus::Rejected { reason }
                        | BookingStatus::Revoked { reason }
                        | BookingStatus::Cancelled { reason }
                        | BookingStatus::Contested { reason, .. } => reason.clone(),
                        _ => String::new(),
                    };
                    // Every occurrence of a weekly series, in local time.
                    let occurrences: Vec<String> = b
                        .request
                        .form
                        .occurrences(&slot, &zone)
                        .unwrap_or_default()
                        .iter()
                        .map(|o| o.display_in(&zone))
                        .collect();
                    // The full name and contact where this node is in the audience (the
                    // owner, the requester), else the masked name the document holds.
                    let (booker, contact) =
                        match r.personal_data(doc, &format!("requests/{}", b.id)) {
                            Some(PersonalData::Booker { name, contact }) => {
                                (name.clone(), contact.clone())
                            }
                            _ => (b.request.form.booker.clone(), None),
                        };
                    json!({
                        "id": b.id.to_string(),
                        "status": b.status.label(),
                        "start": slot.start.display_in(&zone),
                        "end": slot.end.display_in(&zone),
                        "booker": booker,
                        "contact": contact,
                        "organisation": b.request.form.organisation,
                        "purpose": b.request.form.purpose,
                        "attendees": b.request.form.attendees,
                        "weeks": b.request.form.weeks(),
                        "alternates": b
                            .request
                            .form
                            .alternates
                            .iter()
                            .map(|a| a.display_in(&zone))
                            .collect::<Vec<_>>(),
                        "occurrences": occurrences,
                        "reason": reason,
                    })
                })
                .collect())
        })
        .await??;
    Ok(Value::Array(rows))
}

/// Every volunteer's earned points (expired ones included: see the ledger's module doc),
/// spendable balance at `now` (what a redemption checks), hours and stars.
pub(crate) fn balance_rows(r: &Replica, now: linli_core::Timestamp) -> Vec<Value> {
    leaderboard_across(
        r.docs().of_kind(linli_core::DocKind::Ledger),
        &LedgerRules::default(),
        |_| true,
        None,
    )
    .into_iter()
    .map(|s| {
        json!({
            "volunteer": s.volunteer.to_string(),
            "earned": s.earned.to_string(),
            "balance": r.balance(&s.volunteer, now).to_string(),
            "hours": format!("{:.2}", s.minutes as f64 / 60.0),
            "stars": s.stars,
        })
    })
    .collect()
}

/// A room's calendar feed (its path carries the feed's secret).
pub(crate) fn calendar_feed(doc: DocId, name: &str, path: &str, rotated: bool) -> Value {
    json!({
        "resource": doc.to_string(),
        "name": name,
        "path": path,
        "rotated": rotated,
    })
}

/// A node event for the API's event stream: its kind and the document, peer or reason it
/// names (never personal data: a personal record is named by its key).
pub(crate) fn event(e: &crate::node::NodeEvent) -> Value {
    use crate::node::NodeEvent as E;
    let mut v = json!({ "kind": e.kind() });
    let (doc, peer, reason): (Option<DocId>, Option<NodeId>, Option<String>) = match e {
        E::DocumentChanged { doc, origin, .. } => {
            v["origin"] = json!(format!("{origin:?}").to_lowercase());
            (Some(*doc), None, None)
        }
        E::ChangeRejected {
            doc,
            signer,
            reason,
            ..
        } => (Some(*doc), Some(*signer), Some(reason.clone())),
        E::Equivocation { signer, doc, .. } => (Some(*doc), Some(*signer), None),
        E::PeerUpdated { peer }
        | E::PeerConnected { peer }
        | E::PeerDisconnected { peer }
        | E::AnnouncementBroken { peer } => (None, Some(*peer), None),
        E::PersonalChanged { doc, record, .. } => (Some(*doc), None, Some(record.clone())),
        E::QuotaExceeded { doc, signer, .. } => (Some(*doc), Some(*signer), None),
        E::PullEnded { doc } => (Some(*doc), None, None),
        E::PeerDropped { peer, reason } => (None, Some(*peer), Some(reason.clone())),
        E::Reachability {
            reachability,
            address,
        } => {
            v["reachability"] = json!(reachability);
            (None, None, address.clone())
        }
        E::RelayReserved { relay } => (None, Some(*relay), None),
        E::DocumentVerified { doc } => (Some(*doc), None, None),
        E::SnapshotRefused {
            doc,
            source,
            reason,
        } => (Some(*doc), Some(*source), Some(reason.clone())),
        E::HolePunch { peer, failure } => (None, Some(*peer), failure.clone()),
    };
    if let Some(d) = doc {
        v["doc"] = json!(d.to_string());
    }
    if let Some(p) = peer {
        v["peer"] = json!(ln(&p));
    }
    if let Some(r) = reason {
        v["reason"] = json!(r);
    }
    v
}

/// The event stream fell behind by `n` events: the client should reload what it shows.
pub(crate) fn lagged(n: u64) -> Value {
    json!({ "kind": "lagged", "missed": n })
}

/// A join code made by `linli invite`: the code and what it invites.
pub(crate) fn invite_row(code: &crate::invite::JoinCode, text: &str, qr_svg: &str) -> Value {
    json!({
        "code": text,
        "qr_svg": qr_svg,
        "role": code.role.to_string(),
        "org": code.org.to_string(),
        "parent": code.parent.as_ref().map(ToString::to_string),
        "expires": code.expires.to_string(),
        "addrs": code.addrs,
        "issuer": ln(&code.issuer),
        "root": ln(&code.root),
    })
}

/// `service_csv`: each record of the file, `{line, row}` or `{line, error}`.
pub(crate) fn service_csv(rows: &[crate::cli::CsvRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|(line, r)| match r {
                Ok(row) => json!({ "line": line, "row": row }),
                Err(e) => json!({ "line": line, "error": e }),
            })
            .collect(),
    )
}

/// The commands that create a document, with the kind each creates (the dashboard offers
/// those linli-core would let this node run: [`catalogue`]).
const CREATE_COMMANDS: [(&str, DocKind); 4] = [
    ("resource_publish", DocKind::Resource),
    ("registry_create", DocKind::Registry),
    ("ledger_create", DocKind::Ledger),
    ("wishes_create", DocKind::Wishes),
];

/// The alternative of `Request`'s schema for command `cmd`, as `{doc, fields}` (the fields
/// without `cmd`, each with its name, whether required, help text and schema).
fn command_form(request: &Value, cmd: &str) -> Option<Value> {
    let alt = request
        .get("oneOf")
        .and_then(Value::as_array)?
        .iter()
        .find(|a| a.pointer("/properties/cmd/const").and_then(Value::as_str) == Some(cmd))?;
    let required: Vec<&str> = alt
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields: Vec<Value> = alt
        .get("properties")
        .and_then(Value::as_object)?
        .iter()
        .filter(|(name, _)| name.as_str() != "cmd")
        .map(|(name, schema)| {
            json!({
                "name": name,
                "required": required.contains(&name.as_str()),
                "doc": schema.get("description").and_then(Value::as_str).unwrap_or_default(),
                "schema": schema,
            })
        })
        .collect();
    Some(json!({
        "doc": alt.get("description").and_then(Value::as_str).unwrap_or_default(),
        "fields": fields,
    }))
}

/// `catalogue`: what this node may do (see [`Request::Catalogue`]).
pub(crate) async fn catalogue(node: &Node) -> Result<Value, OpsError> {
    let now = node.now();
    let org = node.org().clone();
    // The documents a create command would make, as the command makes them by default.
    let street = super::parse::scope(node, None).await;
    let year = super::parse::this_year(node)?;
    let probes: Vec<(&str, DocKind, Result<NewDoc, String>)> = CREATE_COMMANDS
        .iter()
        .map(|(cmd, kind)| {
            let new = street
                .as_ref()
                .map_err(ToString::to_string)
                .map(|(street, community)| {
                    let street = street.clone();
                    match kind {
                        DocKind::Registry => NewDoc::Registry {
                            street,
                            community: org.clone(),
                            title: String::new(),
                        },
                        DocKind::Ledger => NewDoc::Ledger {
                            street,
                            community: org.clone(),
                            year,
                            rules: linli_core::ledger::LedgerRules::default(),
                        },
                        DocKind::Wishes => NewDoc::Wishes {
                            street,
                            community: org.clone(),
                            title: String::new(),
                        },
                        _ => NewDoc::Resource {
                            street,
                            community: community.clone(),
                            spec: ResourceSpec::room("probe", 1),
                        },
                    }
                });
            (*cmd, *kind, new)
        })
        .collect();
    let ops = catalogue::operations();
    let (principals, allowed, creatable, manages) = node
        .read(move |r| {
            let principals = r.my_principals(now).unwrap_or_default();
            // Each principal's standings towards each document held, computed once.
            let held: BTreeMap<DocId, Vec<Vec<catalogue::Standing>>> = r
                .docs()
                .iter()
                .map(|(id, d)| {
                    let s = principals.iter().map(|p| catalogue::standings(d, p));
                    (*id, s.collect())
                })
                .collect();
            let allowed: Vec<Vec<String>> = ops
                .iter()
                .map(|o| {
                    r.ids_of(o.kind)
                        .into_iter()
                        .filter(|id| {
                            r.doc(*id).is_ok_and(|d| {
                                held.get(id)
                                    .is_some_and(|per| per.iter().any(|s| o.may_perform_as(d, s)))
                            })
                        })
                        .map(|id| id.to_string())
                        .collect()
                })
                .collect();
            // The documents this node manages: a standing towards them beyond what any
            // certified organisation (or one their records name) holds.
            let mut manages: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
            for o in &ops {
                let entry = manages.entry(kind_name(o.kind).to_string()).or_default();
                for id in r.ids_of(o.kind) {
                    let own = held.get(&id).is_some_and(|per| {
                        per.iter().flatten().any(|s| {
                            o.performers.contains(s)
                                && !matches!(
                                    s,
                                    catalogue::Standing::Certified | catalogue::Standing::Named
                                )
                        })
                    });
                    if own {
                        entry.insert(id.to_string());
                    }
                }
            }
            let creatable: Vec<Result<(), String>> = probes
                .into_iter()
                .map(|(_, _, new)| {
                    new.and_then(|n| r.check_create(n, now).map_err(|e| e.to_string()))
                })
                .collect();
            (principals, allowed, creatable, manages)
        })
        .await?;
    let ops = catalogue::operations();
    let operations: Vec<Value> = ops
        .iter()
        .zip(allowed)
        .map(|(o, docs)| {
            let mut row = operation_row(o);
            if let Value::Object(m) = &mut row {
                m.insert("name".into(), json!(o.name));
                m.insert("performers".into(), json!(o.performers));
                m.insert("docs".into(), json!(docs));
            }
            row
        })
        .collect();
    let request = schemars::schema_for!(Request).to_value();
    let create: Vec<Value> = CREATE_COMMANDS
        .iter()
        .zip(creatable)
        .filter_map(|((cmd, kind), ok)| {
            let mut form = command_form(&request, cmd)?;
            if let Value::Object(m) = &mut form {
                m.insert("cmd".into(), json!(cmd));
                m.insert("kind".into(), json!(kind_name(*kind)));
                m.insert("allowed".into(), json!(ok.is_ok()));
                if let Err(why) = ok {
                    m.insert("refused".into(), json!(why));
                }
            }
            Some(form)
        })
        .collect();
    let defs: serde_json::Map<String, Value> = catalogue::KINDS
        .iter()
        .map(|k| {
            let s = catalogue::kind_schema(*k);
            (
                kind_name(*k).to_string(),
                s.get("$defs").cloned().unwrap_or_else(|| json!({})),
            )
        })
        .collect();
    let who: Vec<Value> = principals
        .iter()
        .map(|p| {
            json!({
                "role": p.role.map_or("root", |r| r.as_str()),
                "scope": p.scope.to_string(),
            })
        })
        .collect();
    Ok(json!({
        "org": node.org().to_string(),
        "role": who.first().and_then(|w| w.get("role")).cloned().unwrap_or(Value::Null),
        "scope": who.first().and_then(|w| w.get("scope")).cloned().unwrap_or(Value::Null),
        "principals": who,
        "operations": operations,
        "create": create,
        "manages": manages,
        "defs": defs,
        "request_defs": request.get("$defs").cloned().unwrap_or_else(|| json!({})),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_json_shape() {
        let v: VolunteerId = "dianye:7".parse().unwrap();
        assert_eq!(
            balance(&v, Points(150)).to_string(),
            json!({ "volunteer": v.to_string(), "balance": Points(150).to_string(), "hundredths": 150 })
                .to_string()
        );
        let r = ImportReport {
            entries: 3,
            invalid: vec![(2, "truncated".into())],
            problem: Some("no end part".into()),
            ..ImportReport::default()
        };
        assert_eq!(
            import(Path::new("/tmp/x.linli"), &r).to_string(),
            json!({
                "path": "/tmp/x.linli",
                "entries": 3,
                "applied": 0,
                "duplicates": 0,
                "pending": 0,
                "refused": 0,
                "invalid": [{ "entry": 2, "error": "truncated" }],
                "complete": false,
                "problem": "no end part",
            })
            .to_string()
        );
    }
}
