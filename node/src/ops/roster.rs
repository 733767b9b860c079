//! Roster import and volunteer reports: the roster CSV format (parsed here, for the CLI and
//! the dashboard alike), the batched import ([`linli_core::volunteers::VolunteersOp::ImportRoster`]
//! as one change per batch, rows a full change deferred sent again), and the CSV of the
//! reports linli-core computes (`Replica::monthly_report`, `yearly_report`). Nothing here
//! decides a domain rule: each row is judged by linli-core.

use linli_core::views::report::{MonthlyReport, TeamLine, YearlyReport};
use linli_core::volunteers::{
    Post, RosterOutcome, RosterRow, VolunteerType, VolunteersError, VolunteersOp,
};
use linli_core::{DocId, DocKind, Op, Scope, VolunteerId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{OpsError, resolve};
use crate::{Node, NodeError};

/// The columns of a roster CSV (`name` is required; Chinese headers are read too: 姓名,
/// 电话/手机, 身份证号, 类型, 报到单位/单位, 队伍, 岗位, 编号).
pub const ROSTER_COLUMNS: &str = "name, phone, id_number, type, unit, teams, posts, id";

/// Header names read for each column (lowercase English first).
const ALIASES: [(&str, &[&str]); 8] = [
    ("name", &["name", "姓名"]),
    ("phone", &["phone", "电话", "手机", "手机号", "联系电话"]),
    ("id_number", &["id_number", "身份证号", "身份证"]),
    ("type", &["type", "类型"]),
    ("unit", &["unit", "报到单位", "单位"]),
    ("teams", &["teams", "team", "队伍", "服务队"]),
    ("posts", &["posts", "岗位"]),
    ("id", &["id", "volunteer", "编号"]),
];

/// One record of a roster CSV: the line it starts on, and the row or why it cannot be read.
pub type RosterCsvRow = (u64, Result<RosterRow, String>);

/// Parses a roster CSV into one row or error per record, each with the line it starts on
/// (lines end at `\n`, `\r\n` or `\r`; a quoted cell may span lines); an error for the
/// whole file without a `name` column.
pub fn roster_rows(data: &[u8]) -> Result<Vec<RosterCsvRow>, String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let lines = crate::cli::Lines::new(data);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let column = |name: &str| -> Option<usize> {
        let names = ALIASES.iter().find(|(n, _)| *n == name)?.1;
        headers
            .iter()
            .position(|h| names.iter().any(|a| h.trim().eq_ignore_ascii_case(a)))
    };
    if column("name").is_none() {
        return Err(format!("no `name` column (columns: {ROSTER_COLUMNS})"));
    }
    let cols: Vec<(&str, Option<usize>)> = ALIASES.iter().map(|(n, _)| (*n, column(n))).collect();
    Ok(rdr
        .records()
        .map(|r| {
            let pos = match &r {
                Ok(rec) => rec.position(),
                Err(e) => e.position(),
            };
            let line = pos.map_or(0, |p| lines.line(crate::cli::record_start(data, p.byte())));
            let row = r
                .map_err(|e| format!("unreadable: {e}"))
                .and_then(|rec| roster_row(&cols, &rec));
            (line, row)
        })
        .collect())
}

/// Splits a list cell (`;`, `；`, `,`, `，`, `、` or spaces between items).
fn items(cell: &str) -> Vec<String> {
    cell.split([';', '；', ',', '，', '、', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn roster_row(
    cols: &[(&str, Option<usize>)],
    rec: &csv::StringRecord,
) -> Result<RosterRow, String> {
    let get = |name: &str| -> Option<String> {
        cols.iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, i)| *i)
            .and_then(|i| rec.get(i))
            .map(|s| s.trim().replace("\r\n", "\n").replace('\r', "\n"))
            .filter(|s| !s.is_empty())
    };
    let kind = match get("type").as_deref() {
        None | Some("resident" | "居民" | "社区居民") => VolunteerType::Resident,
        Some("in_service" | "in-service" | "在职党员" | "双报到") => {
            VolunteerType::InService
        }
        Some(other) => {
            return Err(format!(
                "type {other:?}: resident (居民) or in_service (在职党员)"
            ));
        }
    };
    let unit = get("unit")
        .map(|u| u.parse::<Scope>().map_err(|e| format!("unit {u:?}: {e}")))
        .transpose()?;
    let posts = get("posts")
        .map(|cell| {
            cell.split([';', '；', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|p| {
                    let (team, duty) = p
                        .split_once([':', '：'])
                        .ok_or_else(|| format!("post {p:?}: write team:duty"))?;
                    Ok(Post {
                        team: team.trim().to_string(),
                        duty: duty.trim().to_string(),
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .transpose()?
        .unwrap_or_default();
    let volunteer = get("id")
        .map(|v| {
            v.parse::<VolunteerId>().map_err(|e| {
                format!("id {v:?}: a volunteer id of this registry (e.g. dianye:7): {e}")
            })
        })
        .transpose()?;
    Ok(RosterRow {
        volunteer,
        name: get("name").unwrap_or_default(),
        phone: get("phone"),
        id_number: get("id_number"),
        kind,
        unit,
        teams: get("teams").map(|t| items(&t)).unwrap_or_default(),
        posts,
    })
}

/// A parsed roster record, as the dashboard reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParsedRow {
    /// The line the record starts on.
    pub line: u64,
    /// The row, if it reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<RosterRow>,
    /// Why it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer to `roster_csv`: every record in file order.
pub(super) fn parsed(text: &str) -> Result<Value, OpsError> {
    let rows: Vec<ParsedRow> = roster_rows(text.as_bytes())
        .map_err(OpsError::Invalid)?
        .into_iter()
        .map(|(line, r)| match r {
            Ok(row) => ParsedRow {
                line,
                row: Some(row),
                error: None,
            },
            Err(e) => ParsedRow {
                line,
                row: None,
                error: Some(e),
            },
        })
        .collect();
    to_value(&rows)
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, OpsError> {
    serde_json::to_value(v).map_err(|e| OpsError::Invalid(format!("cannot encode: {e}")))
}

/// The answer to `roster_import`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RosterImportAnswer {
    /// The registry.
    pub doc: String,
    /// The changes written (hex hashes), one per batch a change held.
    pub changes: Vec<String>,
    /// Rows registered.
    pub registered: u64,
    /// Rows already registered.
    pub already_registered: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Each row's outcome, in order.
    pub rows: Vec<RosterOutcome>,
}

/// `roster_import`: the rows as one change (rows a full change deferred go into the next),
/// each row's outcome in order.
pub(super) async fn import(
    node: &Node,
    doc: Option<DocId>,
    rows: Vec<RosterRow>,
) -> Result<Value, OpsError> {
    let doc = resolve(node, DocKind::Volunteers, doc).await?;
    let (out, changes) = super::in_rounds(
        node,
        doc,
        &rows,
        |batch| Op::Volunteers(VolunteersOp::ImportRoster { rows: batch }),
        |r| match r {
            Ok(linli_core::Effect::Roster(o)) => Ok(o),
            Ok(other) => Err(OpsError::Invalid(format!(
                "linli-core answered a roster import with {other:?}"
            ))),
            Err(NodeError::Core(linli_core::Error::Volunteers(
                VolunteersError::NothingToWrite(o),
            ))) => Ok(o),
            Err(e) => Err(e.into()),
        },
        |o| matches!(o, RosterOutcome::Deferred),
    )
    .await?;
    let rows: Vec<RosterOutcome> = out
        .into_iter()
        .map(|o| o.unwrap_or(RosterOutcome::Deferred))
        .collect();
    let count = |f: fn(&RosterOutcome) -> bool| rows.iter().filter(|o| f(o)).count() as u64;
    to_value(&RosterImportAnswer {
        doc: doc.to_string(),
        changes,
        registered: count(|o| matches!(o, RosterOutcome::Registered { .. })),
        already_registered: count(|o| matches!(o, RosterOutcome::AlreadyRegistered { .. })),
        rejected: count(|o| matches!(o, RosterOutcome::Rejected { .. } | RosterOutcome::Deferred)),
        rows,
    })
}

/// The community a report is about: `community` if given, else this node's own (its first
/// certified scope).
pub(crate) async fn community(node: &Node, community: Option<Scope>) -> Result<Scope, OpsError> {
    if let Some(c) = community {
        return Ok(c);
    }
    let now = node.now();
    let mine = node.read(move |r| r.my_principals(now)).await??;
    mine.into_iter()
        .next()
        .map(|p| p.scope)
        .ok_or_else(|| OpsError::Invalid("this node has no certificate: name the community".into()))
}

/// The columns of a report's CSV, one line per team then the total.
const TEAM_COLUMNS: [&str; 9] = [
    "team",
    "name",
    "members",
    "served",
    "registered",
    "services",
    "minutes",
    "hours",
    "points",
];

fn team_cells(t: &TeamLine) -> Vec<String> {
    vec![
        t.team.clone(),
        t.name.clone(),
        t.members.to_string(),
        t.served.to_string(),
        t.registered.to_string(),
        t.services.to_string(),
        t.minutes.to_string(),
        t.hours.clone(),
        t.points.clone(),
    ]
}

fn write_csv(head: &[&str], rows: Vec<Vec<String>>) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(head).map_err(|e| e.to_string())?;
    for r in rows {
        w.write_record(&r).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// The monthly report as CSV: `month` and the team columns, one line per team and the total
/// (team `*`).
pub fn monthly_csv(r: &MonthlyReport) -> Result<String, String> {
    let mut head = vec!["community", "month"];
    head.extend(TEAM_COLUMNS);
    let rows = r
        .teams
        .iter()
        .map(|t| {
            let mut cells = vec![r.community.clone(), r.month.clone()];
            cells.extend(team_cells(t));
            cells
        })
        .collect();
    write_csv(&head, rows)
}

/// The yearly public report as CSV: the year's figures (repeated on every line) and the
/// team columns, one line per team and the total (team `*`).
pub fn yearly_csv(r: &YearlyReport) -> Result<String, String> {
    let mut head = vec![
        "community",
        "year",
        "matters_received",
        "wishes_posted",
        "wishes_fulfilled",
        "problems_resolved",
        "volunteers",
    ];
    head.extend(TEAM_COLUMNS);
    let rows = r
        .teams
        .iter()
        .map(|t| {
            let mut cells = vec![
                r.community.clone(),
                r.year.to_string(),
                r.matters_received.to_string(),
                r.wishes_posted.to_string(),
                r.wishes_fulfilled.to_string(),
                r.problems_resolved.to_string(),
                r.volunteers.to_string(),
            ];
            cells.extend(team_cells(t));
            cells
        })
        .collect();
    write_csv(&head, rows)
}
