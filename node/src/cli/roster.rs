//! `linli volunteers import roster.csv` and `linli report monthly|yearly`: the roster import
//! in batches with a progress bar and a report per row (by line), and the reports as CSV.

use std::io::IsTerminal;
use std::path::Path;

use linli_core::DocId;
use linli_core::views::report::{MonthlyReport, YearlyReport};
use linli_core::volunteers::{MAX_ROSTER_ROWS, RosterRow};
use serde::Serialize;
use serde_json::Value;

use super::{CliError, EXIT_FAILED, EXIT_PARTIAL, Exec, output};
use crate::ops::Request;
use crate::ops::roster::{RosterCsvRow, RosterImportAnswer, monthly_csv, roster_rows, yearly_csv};
use crate::results::Read;

/// JSON bytes of rows per import request at most (the daemon's API takes bodies of 2 MiB).
const IMPORT_BYTES: usize = 1 << 20;

/// One rejected line of the report.
#[derive(Serialize)]
struct Rejected {
    line: u64,
    error: String,
}

/// What the import did, as `--json` prints it.
#[derive(Serialize, Default)]
struct Summary {
    file: String,
    registered: u64,
    already_registered: u64,
    rejected: Vec<Rejected>,
}

struct Progress {
    bar: Option<indicatif::ProgressBar>,
    sum: Summary,
}

impl Progress {
    fn say(&self, text: String) {
        match &self.bar {
            Some(b) => b.println(text),
            None => eprintln!("{text}"),
        }
    }
    fn rejected(&mut self, line: u64, error: String) {
        self.say(format!("line {line}: rejected: {error}"));
        self.sum.rejected.push(Rejected { line, error });
    }
    fn answer(&mut self, line: u64, o: Option<&linli_core::volunteers::RosterOutcome>) {
        use linli_core::volunteers::RosterOutcome as O;
        match o {
            Some(O::Registered { volunteer, .. }) => {
                self.sum.registered += 1;
                if self.bar.is_none() {
                    eprintln!("line {line}: registered {volunteer}");
                }
            }
            Some(O::AlreadyRegistered { volunteer }) => {
                self.sum.already_registered += 1;
                if self.bar.is_none() {
                    eprintln!("line {line}: already registered ({volunteer})");
                }
            }
            Some(O::Rejected { error }) => self.rejected(line, error.clone()),
            Some(O::Deferred) | None => self.rejected(line, "not written (deferred)".into()),
        }
    }
}

/// Sends one batch and reports its rows in line order. A refusal of the whole batch (exit
/// code 1: no registry, not allowed) rejects its rows; any other failure stops the import.
async fn batch(
    exec: &Exec,
    doc: Option<DocId>,
    batch: Vec<RosterCsvRow>,
    p: &mut Progress,
) -> Result<(), CliError> {
    let rows: Vec<RosterRow> = batch
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .collect();
    let count = batch.len() as u64;
    let answer: Result<Vec<linli_core::volunteers::RosterOutcome>, String> = if rows.is_empty() {
        Ok(Vec::new())
    } else {
        match exec.call(Request::RosterImport { doc, rows }).await {
            Ok(v) => serde_json::from_value::<RosterImportAnswer>(v)
                .map(|a| a.rows)
                .map_err(|e| format!("unreadable answer: {e}")),
            Err(e) if e.code == EXIT_FAILED => Err(e.message),
            Err(e) => {
                let line = batch.first().map_or(0, |(l, _)| *l);
                return Err(CliError::new(
                    e.code,
                    format!(
                        "{} (stopped at line {line} after {} volunteers were registered; \
                         importing the file again skips them)",
                        e.message, p.sum.registered
                    ),
                ));
            }
        }
    };
    let mut answers = answer.as_ref().map(|a| a.iter());
    for (line, row) in batch {
        match (row, &mut answers) {
            (Err(e), _) => p.rejected(line, e),
            (Ok(_), Err(msg)) => p.rejected(line, msg.clone()),
            (Ok(_), Ok(it)) => p.answer(line, it.next()),
        }
    }
    if let Some(b) = &p.bar {
        b.inc(count);
    }
    Ok(())
}

/// `linli volunteers import FILE`.
pub(super) async fn import(
    json: bool,
    exec: &Exec,
    file: &Path,
    doc: Option<DocId>,
) -> Result<u8, CliError> {
    let name = file.display().to_string();
    let data =
        std::fs::read(file).map_err(|e| CliError::new(EXIT_FAILED, format!("{name}: {e}")))?;
    let records =
        roster_rows(&data).map_err(|e| CliError::new(EXIT_FAILED, format!("{name}: {e}")))?;
    let bar = (std::io::stderr().is_terminal() && !records.is_empty()).then(|| {
        let b = indicatif::ProgressBar::new(records.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} volunteers ({eta})")
        {
            b.set_style(style);
        }
        b
    });
    let mut p = Progress {
        bar,
        sum: Summary {
            file: name,
            ..Summary::default()
        },
    };
    let mut pending: Vec<RosterCsvRow> = Vec::new();
    let (mut rows, mut bytes) = (0usize, 0usize);
    let mut result = Ok(());
    for rec in records {
        let size = rec
            .1
            .as_ref()
            .map_or(0, |r| serde_json::to_vec(r).map_or(0, |v| v.len()));
        if rows > 0 && (rows == MAX_ROSTER_ROWS || bytes + size > IMPORT_BYTES) {
            result = batch(exec, doc, std::mem::take(&mut pending), &mut p).await;
            if result.is_err() {
                break;
            }
            (rows, bytes) = (0, 0);
        }
        if rec.1.is_ok() {
            rows += 1;
            bytes += size;
        }
        pending.push(rec);
    }
    if result.is_ok() && !pending.is_empty() {
        result = batch(exec, doc, pending, &mut p).await;
    }
    if let Some(b) = p.bar.take() {
        b.finish_and_clear();
    }
    result?;
    let s = &p.sum;
    let n = s.rejected.len();
    if json {
        let v = serde_json::to_value(s).unwrap_or(Value::Null);
        output::print(&v, true);
    } else {
        output::out(&format!(
            "registered {} volunteers, rejected {n}, already registered {}\n",
            s.registered, s.already_registered
        ));
    }
    Ok(if n > 0 { EXIT_PARTIAL } else { 0 })
}

/// `linli report monthly|yearly`: the report as CSV on stdout or into a file (or its JSON
/// with `--json`).
pub(super) async fn report(
    json: bool,
    exec: &Exec,
    cmd: &super::args::ReportCmd,
) -> Result<u8, CliError> {
    use super::args::ReportCmd as R;
    let bad = |e: String| CliError::new(EXIT_FAILED, e);
    let (read, out) = match cmd {
        R::Monthly {
            month,
            community,
            out,
        } => (
            Read::MonthlyReport {
                month: month.clone(),
                community: community.clone(),
            },
            out,
        ),
        R::Yearly {
            year,
            community,
            out,
        } => (
            Read::YearlyReport {
                year: *year,
                community: community.clone(),
            },
            out,
        ),
    };
    let monthly = matches!(read, Read::MonthlyReport { .. });
    let v = exec.call(Request::Read { read }).await?;
    if json {
        output::print(&v, true);
        return Ok(0);
    }
    let text = if monthly {
        monthly_csv(&serde_json::from_value::<MonthlyReport>(v).map_err(|e| bad(e.to_string()))?)
    } else {
        yearly_csv(&serde_json::from_value::<YearlyReport>(v).map_err(|e| bad(e.to_string()))?)
    }
    .map_err(bad)?;
    match out {
        None => output::out(&text),
        Some(path) => {
            use std::io::Write;
            crate::private::create(path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(0)
}
