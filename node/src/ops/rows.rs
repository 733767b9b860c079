//! Results as JSON rows for tables (CLI, HTTP, dashboard).

use super::*;

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

pub(crate) async fn status(node: &Node, net: Option<&Network>) -> Result<Value, OpsError> {
    let s = node.status().await?;
    let docs: BTreeMap<String, usize> = s
        .documents
        .iter()
        .map(|(k, n)| (kind_name(*k).to_string(), *n))
        .collect();
    let mut v = json!({
        "node": ln(&s.node),
        "org": s.org.to_string(),
        "root": ln(&s.root),
        "dir": s.dir.display().to_string(),
        "documents": docs,
        "changes": s.log,
        "accepted": s.accepted,
        "pending": s.pending,
        "refused": s.refused,
        "quota_refused": s.quota_refused,
        "snapshots": s.snapshots,
        "incarnation": hex::encode(s.incarnation),
        "equivocating_keys": s.equivocators.len(),
        "version": crate::VERSION,
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

pub(crate) fn balance_rows(r: &Replica) -> Vec<Value> {
    leaderboard_across(r.docs().values(), &LedgerRules::default(), |_| true, None)
        .into_iter()
        .map(|s| {
            json!({
                "volunteer": s.volunteer.to_string(),
                "earned": s.earned.to_string(),
                "balance": r.balance(&s.volunteer).to_string(),
                "hours": format!("{:.2}", s.minutes as f64 / 60.0),
                "stars": s.stars,
            })
        })
        .collect()
}

/// A join code made by `linli invite`: the code and what it invites.
pub(crate) fn invite_row(code: &crate::invite::JoinCode, text: &str) -> Value {
    json!({
        "code": text,
        "role": code.role.to_string(),
        "org": code.org.to_string(),
        "parent": code.parent.as_ref().map(ToString::to_string),
        "expires": code.expires.to_string(),
        "addrs": code.addrs,
        "issuer": ln(&code.issuer),
        "root": ln(&code.root),
    })
}
