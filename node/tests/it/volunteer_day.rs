//! Issue 20 through the `linli` binary alone: duty rotas written by name with their bad
//! input refused (nothing written), and the clerk's whole volunteer day — register, pair a
//! unit, a check-in session, a rota, activity sign-ups and the yearly report.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::Date;
use linli_core::Zone;
use serde_json::Value;

use crate::cli::{Run, changes, district, linli, stop, training_daemon};

fn today() -> Date {
    linli_node::system_clock()
        .local(&Zone::shanghai())
        .unwrap()
        .0
}

/// `linli --json ARGS`, which must succeed.
fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    linli(dir, &all).ok().json()
}

/// `linli ARGS` refused with exit 1, its message naming `what`, and nothing written.
fn refused(dir: &Path, args: &[&str], what: &str) -> Run {
    let before = changes(dir);
    let r = linli(dir, args);
    assert_eq!(r.code, 1, "{args:?}: {}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(what),
        "{args:?}: {what:?} not in {}",
        r.stderr
    );
    assert_eq!(changes(dir), before, "{args:?} wrote something");
    r
}

/// Registers a resident volunteer of team `team`; returns its id.
fn register(dir: &Path, name: &str, phone: &str, team: &str) -> String {
    let w = json(
        dir,
        &[
            "volunteers",
            "register",
            "--name",
            name,
            "--phone",
            phone,
            "--team",
            team,
        ],
    );
    let id = w["effect"]["volunteer"].as_str().unwrap_or_default();
    assert!(id.starts_with("dianye@"), "{w}");
    id.to_string()
}

/// A registry with team `team` on `dir`.
fn registry(dir: &Path, team: &str) -> String {
    let reg = json(dir, &["volunteers", "create"]);
    linli(
        dir,
        &[
            "op",
            "run",
            "volunteers.add_team",
            &format!("code={team}"),
            "name=Team",
        ],
    )
    .ok();
    reg["doc"].as_str().unwrap().to_string()
}

#[test]
fn cli_rotas_by_name_refuse_bad_input_and_write_nothing() {
    let d = district();
    let c = &d.community;
    let reg = registry(c, "patrol");
    let a = register(c, "甲", "13900000001", "patrol");
    let b = register(c, "乙", "13900000002", "patrol");
    let p = register(c, "丙", "13900000003", "patrol");
    linli(
        c,
        &[
            "op",
            "run",
            "volunteers.set_status",
            &format!("volunteer={p}"),
            "status=paused",
        ],
    )
    .ok();
    let today = today().to_string();
    let tomorrow = today_plus(1);

    // Help explains each argument.
    let help = linli(c, &["volunteers", "rota", "plan", "--help"])
        .ok()
        .stdout;
    for needle in ["START-END", "--shift", "--team", "--until", "Example:"] {
        assert!(help.contains(needle), "{needle:?} not in {help}");
    }
    let help = linli(c, &["volunteers", "rota", "swap", "--help"])
        .ok()
        .stdout;
    assert!(help.contains("active volunteer"), "{help}");

    // A malformed shift is a usage error (exit 2) naming it.
    let r = linli(
        c,
        &[
            "volunteers",
            "rota",
            "plan",
            "bikes",
            "--title",
            "Bikes",
            "--from",
            &today,
            "--shift",
            "7-8",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("expected HH:MM"), "{}", r.stderr);
    // A rota for an unknown team: refused, nothing written.
    refused(
        c,
        &[
            "volunteers",
            "rota",
            "plan",
            "bikes",
            "--title",
            "Bikes",
            "--team",
            "choir",
            "--from",
            &today,
            "--shift",
            "07:00-08:00",
        ],
        "unknown team",
    );
    let w = json(
        c,
        &[
            "volunteers",
            "rota",
            "plan",
            "bikes",
            "--title",
            "Bike tidying",
            "--team",
            "patrol",
            "--from",
            &today,
            "--shift",
            "07:00-08:00",
            "--shift",
            "17:00-18:00x2@1,3,5",
        ],
    );
    assert_eq!(w["doc"], reg.as_str(), "{w}");
    // Assignment to an unknown shift or rota, or of a paused volunteer: refused.
    refused(
        c,
        &[
            "volunteers",
            "rota",
            "assign",
            &a,
            "--rota",
            "bikes",
            "--shift",
            "5",
        ],
        "rota bikes has no shift 5",
    );
    refused(
        c,
        &["volunteers", "rota", "assign", &a, "--rota", "trains"],
        "unknown rota \"trains\"",
    );
    refused(
        c,
        &["volunteers", "rota", "assign", &p, "--rota", "bikes"],
        "is paused, not active",
    );
    linli(c, &["volunteers", "rota", "assign", &a, "--rota", "bikes"]).ok();
    // A swap to a volunteer who is not active: refused.
    let swap = |to: &str| {
        vec![
            "volunteers".to_string(),
            "rota".into(),
            "swap".into(),
            "--rota".into(),
            "bikes".into(),
            "--date".into(),
            tomorrow.clone(),
            "--from".into(),
            a.clone(),
            "--to".into(),
            to.to_string(),
        ]
    };
    let args = swap(&p);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(c, &args, &format!("volunteer {p} is paused, not active"));
    let mut args = vec!["--json".to_string()];
    args.extend(swap(&b));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let w = linli(c, &args).ok().json();
    let id = w["swap"].as_str().unwrap_or_default().to_string();
    assert!(id.starts_with("dianye@"), "the swap's id is printed: {w}");
    let swaps = json(c, &["volunteers", "rota", "swaps"]);
    assert_eq!(swaps[0]["swap"], id.as_str(), "{swaps}");
    assert_eq!(swaps[0]["status"], "pending");

    // A swap approved by a node that is not the community's: refused by linli-core there.
    let exp = d._tmp.path().join("dianye.linli");
    linli(c, &["export", exp.to_str().unwrap()]).ok();
    linli(&d.street, &["import", exp.to_str().unwrap()]).ok();
    let r = refused(
        &d.street,
        &["volunteers", "rota", "approve", &id, "--doc", &reg],
        "may not write duty rotas",
    );
    assert!(r.stderr.contains("beishi"), "names who tried: {}", r.stderr);
    // An unknown swap id, then the community's approval (the rota found from the id), once.
    refused(
        c,
        &["volunteers", "rota", "approve", "dianye@0000000000000000:9"],
        "no rota",
    );
    linli(c, &["volunteers", "rota", "approve", &id]).ok();
    refused(
        c,
        &["volunteers", "rota", "decline", &id, "--rota", "bikes"],
        "already decided",
    );
    let shown = json(
        c,
        &[
            "volunteers",
            "rota",
            "show",
            "--rota",
            "bikes",
            "--from",
            &tomorrow,
            "--to",
            &tomorrow,
        ],
    );
    let first = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["shift"] == 0)
        .unwrap();
    assert_eq!(first["assigned"], serde_json::json!([b]), "{shown}");
    assert_eq!(
        json(c, &["volunteers", "rota", "swaps", "--rota", "bikes"])[0]["status"],
        "approved"
    );
}

fn today_plus(days: i64) -> String {
    today()
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
        .to_string()
}

fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    rdr.records()
        .map(|r| {
            head.iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Moves the clock of data directory `dir` to `time`: a training daemon started there and
/// stopped again leaves the mark local-mode commands continue its time from.
fn clock_at(dir: &Path, time: &str) {
    let (status, _, stderr) = stop(training_daemon(dir, time));
    assert!(status.success(), "{stderr}");
}

/// The clerk's volunteer day (issue 20's "Done when"), every step by the `linli` binary on
/// the community's data directory, on a training clock the day after today: register
/// volunteers and pair a unit; a check-in session with a wrong code refused, check-in
/// before the start and check-out 90 minutes in, closed into a verified ledger entry; a
/// rota planned, filled, swapped and approved, a served shift recorded to the ledger; an
/// activity on a confirmed booking taking sign-ups up to its places and a waitlist; and the
/// yearly report counting it all.
#[test]
fn cli_a_clerks_volunteer_day() {
    let d = district();
    let c = &d.community;
    let day = today_plus(1);
    let year = &day[..4];
    clock_at(c, &format!("{day}T08:45:00+08:00"));

    // Morning: the ledger, the registry, volunteers, a paired unit.
    let ledger = json(c, &["ledger", "create", "--year", year])["doc"]
        .as_str()
        .unwrap()
        .to_string();
    registry(c, "care");
    let wang = register(c, "王芳", "13911112222", "care");
    let li = register(c, "李强", "13911113333", "care");
    let zhao = register(c, "赵敏", "13911114444", "care");
    let unit = "beishi/dianye/state-grid";
    refused(
        c,
        &[
            "volunteers",
            "register",
            "--name",
            "周某",
            "--phone",
            "139 1111 2222",
        ],
        "phone already registered",
    );
    let member = [
        "volunteers",
        "register",
        "--name",
        "孙党员",
        "--type",
        "in_service",
        "--unit",
        unit,
        "--team",
        "care",
    ];
    refused(c, &member, "must hold at least one post");
    let member = [&member[..], &["--post", "care:party class"]].concat();
    refused(c, &member, &format!("unit {unit} is not paired"));
    linli(c, &["volunteers", "pair", unit, "--note", "双报到"]).ok();
    let member = json(c, &member);
    let member = member["effect"]["volunteer"].as_str().unwrap().to_string();
    let list = json(c, &["volunteers", "list"]);
    let listed = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed: {list}"))
            .clone()
    };
    assert_eq!(listed(&wang)["name"], "王芳");
    assert_eq!(listed(&wang)["phone"], "13911112222");
    assert_eq!(listed(&member)["unit"], unit, "{list}");
    assert_eq!(listed(&member)["posts"], "care:party class");

    // 08:45: a check-in session from 09:00 to 11:00; Wang checks in early with the code
    // on the organiser's screen; a wrong code is refused.
    let opened = json(
        c,
        &[
            "volunteers",
            "session",
            "open",
            "--activity",
            "elder care",
            "--place",
            "activity room",
            "--team",
            "care",
            "--start",
            &format!("{day}T09:00"),
            "--end",
            &format!("{day}T11:00"),
        ],
    );
    let session = opened["effect"]["session"].as_str().unwrap().to_string();
    let code = |c: &Path| {
        json(c, &["volunteers", "session", "code", &session])["code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let wrong = if code(c) == "000000" {
        "111111"
    } else {
        "000000"
    };
    refused(
        c,
        &[
            "volunteers",
            "session",
            "checkin",
            &session,
            &li,
            "--code",
            wrong,
        ],
        "wrong or expired check-in code",
    );
    let now = code(c);
    linli(
        c,
        &[
            "volunteers",
            "session",
            "checkin",
            &session,
            &wang,
            "--code",
            &now,
        ],
    )
    .ok();
    refused(
        c,
        &[
            "volunteers",
            "session",
            "checkout",
            &session,
            &li,
            "--code",
            &now,
        ],
        "not checked in",
    );

    // 10:30: Wang checks out; the session is closed into a verified entry of 90 minutes.
    clock_at(c, &format!("{day}T10:30:00+08:00"));
    let now = code(c);
    linli(
        c,
        &[
            "volunteers",
            "session",
            "checkout",
            &session,
            &wang,
            "--code",
            &now,
        ],
    )
    .ok();
    linli(c, &["volunteers", "session", "close", &session]).ok();
    let sessions = json(c, &["volunteers", "session", "list"]);
    assert!(sessions[0]["closed"].is_string(), "{sessions}");
    assert_eq!(sessions[0]["checkins"][0]["volunteer"], wang.as_str());
    let entries = json(c, &["ledger", "entries"]);
    let verified: Vec<&Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["volunteer"] == wang.as_str())
        .collect();
    assert_eq!(verified.len(), 1, "{entries}");
    assert_eq!(verified[0]["hours"], "1.50", "{entries}");
    assert_eq!(verified[0]["method"], "check_in");
    assert_eq!(verified[0]["points"], "1.50", "verified hours earn points");

    // The rota: daily 07:00–08:00 from today; Li on it, tomorrow's occurrence swapped to
    // Zhao and approved; today's (ended) marked served by Li and recorded to the ledger.
    linli(
        c,
        &[
            "volunteers",
            "rota",
            "plan",
            "elder-calls",
            "--title",
            "Elder calls",
            "--team",
            "care",
            "--from",
            &day,
            "--shift",
            "07:00-08:00",
        ],
    )
    .ok();
    linli(
        c,
        &["volunteers", "rota", "assign", &li, "--rota", "elder-calls"],
    )
    .ok();
    let next = Date::strptime("%Y-%m-%d", &day)
        .unwrap()
        .tomorrow()
        .unwrap()
        .to_string();
    let swap = json(
        c,
        &[
            "volunteers",
            "rota",
            "swap",
            "--rota",
            "elder-calls",
            "--date",
            &next,
            "--from",
            &li,
            "--to",
            &zhao,
        ],
    );
    let swap = swap["swap"].as_str().unwrap().to_string();
    linli(c, &["volunteers", "rota", "approve", &swap]).ok();
    let shown = json(
        c,
        &["volunteers", "rota", "show", "--from", &day, "--to", &next],
    );
    let covers: Vec<(String, Value)> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["date"].as_str().unwrap().to_string(),
                s["assigned"].clone(),
            )
        })
        .collect();
    assert_eq!(
        covers,
        vec![
            (day.clone(), serde_json::json!([li])),
            (next.clone(), serde_json::json!([zhao]))
        ],
        "{shown}"
    );
    let gaps = json(
        c,
        &[
            "volunteers",
            "rota",
            "show",
            "--from",
            &day,
            "--to",
            &next,
            "--gaps",
        ],
    );
    assert_eq!(gaps, serde_json::json!([]), "both occurrences covered");
    refused(
        c,
        &[
            "volunteers",
            "rota",
            "served",
            &zhao,
            "--rota",
            "elder-calls",
            "--date",
            &next,
        ],
        "cannot be marked served before",
    );
    linli(
        c,
        &[
            "volunteers",
            "rota",
            "served",
            &li,
            "--rota",
            "elder-calls",
            "--date",
            &day,
        ],
    )
    .ok();
    let recorded = json(c, &["volunteers", "rota", "record", "--year", year]);
    assert!(
        recorded.to_string().contains("recorded"),
        "the served shift reaches the ledger: {recorded}"
    );
    let again = json(c, &["volunteers", "rota", "record", "--year", year]);
    assert!(
        again.to_string().contains("already"),
        "nothing twice: {again}"
    );
    let entries = json(c, &["ledger", "entries", "--doc", &ledger]);
    let rota_entry = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["volunteer"] == li.as_str())
        .unwrap_or_else(|| panic!("no entry of {li}: {entries}"));
    assert_eq!(rota_entry["hours"], "1.00", "{rota_entry}");
    assert_eq!(rota_entry["team"], "care");

    // Sign-ups: the activity room booked for the day after tomorrow, confirmed; an activity
    // with 2 places and 1 waitlist place; the fourth household refused; a cancellation
    // promotes the waitlisted one.
    linli(
        c,
        &[
            "resource",
            "publish",
            "--name",
            "Dianye activity room",
            "--capacity",
            "30",
        ],
    )
    .ok();
    let after = Date::strptime("%Y-%m-%d", &next)
        .unwrap()
        .tomorrow()
        .unwrap()
        .to_string();
    let booking = json(
        c,
        &[
            "booking",
            "request",
            "--booker",
            "王芳",
            "--purpose",
            "paper cutting",
            "--start",
            &format!("{after}T19:00"),
            "--end",
            &format!("{after}T21:00"),
            "--attendees",
            "20",
        ],
    );
    let booking = booking["effect"]["booking"].as_str().unwrap().to_string();
    linli(c, &["booking", "confirm", &booking]).ok();
    let help = linli(c, &["booking", "activity", "--help"]).ok().stdout;
    assert!(
        help.contains("--waitlist") && help.contains("--deadline"),
        "{help}"
    );
    linli(
        c,
        &[
            "booking",
            "activity",
            &booking,
            "--title",
            "Paper-cutting class",
            "--capacity",
            "2",
            "--waitlist",
            "1",
            "--deadline",
            &format!("{after}T18:00"),
        ],
    )
    .ok();
    for h in ["dianye:h301", "dianye:h302", "dianye:h303"] {
        linli(c, &["booking", "signup", &booking, h]).ok();
    }
    refused(c, &["booking", "signup", &booking, "dianye:h304"], "full");
    let r = linli(c, &["booking", "signup", &booking, "王芳"]);
    assert_eq!(r.code, 2, "a name is no participant: {}", r.stderr);
    assert!(r.stderr.contains("household"), "{}", r.stderr);
    let places = |c: &Path| -> Vec<(String, String)> {
        let a = json(c, &["booking", "signups", &booking]);
        a[0]["signups"]
            .as_array()
            .unwrap_or_else(|| panic!("{a}"))
            .iter()
            .filter(|s| s["status"] != "cancelled")
            .map(|s| {
                (
                    s["participant"].as_str().unwrap().to_string(),
                    s["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pair = |p: &str, s: &str| (p.to_string(), s.to_string());
    assert_eq!(
        places(c),
        vec![
            pair("dianye:h301", "placed"),
            pair("dianye:h302", "placed"),
            pair("dianye:h303", "waitlisted"),
        ]
    );
    linli(c, &["booking", "cancel-signup", &booking, "dianye:h301"]).ok();
    assert_eq!(
        places(c),
        vec![pair("dianye:h302", "placed"), pair("dianye:h303", "placed")]
    );

    // Evening: the yearly public report counts the day (2.5 hours of team care, two
    // volunteers who served), with no name in it.
    let out = d._tmp.path().join("yearly.csv");
    linli(
        c,
        &[
            "report",
            "yearly",
            "--year",
            year,
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let text = std::fs::read_to_string(&out).unwrap();
    let rows = csv_rows(&text);
    let care = rows
        .iter()
        .find(|r| r["team"] == "care")
        .unwrap_or_else(|| panic!("no care line: {text}"));
    assert_eq!(care["minutes"], "150", "{text}");
    let total = rows.iter().find(|r| r["team"] == "*").unwrap();
    assert_eq!(total["minutes"], "150", "{text}");
    for name in ["王芳", "李强", "13911112222"] {
        assert!(!text.contains(name), "{name} in the report: {text}");
    }
}
