//! Rendering results: human tables or JSON.

use serde_json::{Map, Value};

/// Columns shown first, in this order; the others follow alphabetically.
const FIRST: &[&str] = &[
    "rank",
    "id",
    "node",
    "doc",
    "kind",
    "type",
    "name",
    "title",
    "status",
    "volunteer",
    "earned",
    "balance",
    "hours",
    "points",
    "stars",
    "start",
    "end",
    "booker",
    "organisation",
    "purpose",
    "household",
    "portions",
    "subject",
    "role",
    "org",
    "parent",
];

/// The column order for rows.
pub(crate) fn columns(rows: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for r in rows {
        if let Value::Object(m) = r {
            for k in m.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
    }
    keys.sort_by_key(|k| {
        (
            FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()),
            k.clone(),
        )
    });
    keys
}

/// A cell's text.
pub(crate) fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(", "),
        Value::Object(_) => v.to_string(),
    }
}

/// Formats rows as an aligned text table.
pub(crate) fn table(rows: &[Value]) -> String {
    if rows.is_empty() {
        return "(none)\n".to_string();
    }
    let cols = columns(rows);
    let width = |s: &str| s.chars().count();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| r.get(c).map(cell).unwrap_or_default())
                .collect()
        })
        .collect();
    let mut w: Vec<usize> = cols.iter().map(|c| width(c)).collect();
    for r in &cells {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(width(c));
        }
    }
    let line = |cells: Vec<String>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(w[i].saturating_sub(width(c)))))
            .collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    let mut out = line(cols.iter().map(|c| c.to_uppercase()).collect());
    for r in cells {
        out.push_str(&line(r));
    }
    out
}

fn object(m: &Map<String, Value>) -> String {
    let mut out = String::new();
    let mut tables = Vec::new();
    let keys = columns(&[Value::Object(m.clone())]);
    let w = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    for k in keys {
        let Some(v) = m.get(&k) else { continue };
        match v {
            Value::Array(a) if a.iter().any(Value::is_object) => tables.push((k, a)),
            Value::Object(inner) if inner.values().all(|x| !x.is_object() && !x.is_array()) => {
                let parts: Vec<String> = inner
                    .iter()
                    .map(|(ik, iv)| format!("{ik}={}", cell(iv)))
                    .collect();
                out.push_str(&format!("{k:<w$}  {}\n", parts.join(" ")));
            }
            other => out.push_str(&format!("{k:<w$}  {}\n", cell(other))),
        }
    }
    for (k, a) in tables {
        out.push_str(&format!("\n{k}:\n{}", table(a)));
    }
    out
}

/// The human rendering of a result.
pub(crate) fn human(v: &Value) -> String {
    match v {
        Value::Array(rows) => table(rows),
        Value::Object(m) => {
            // A write: {doc, effect, change}.
            if let (Some(effect), Some(doc)) = (m.get("effect"), m.get("doc")) {
                let doc = cell(doc);
                return match effect {
                    Value::String(s) if s == "created" => format!(
                        "created {} document {doc}\n",
                        m.get("kind").map(cell).unwrap_or_default()
                    ),
                    Value::String(s) => format!("ok: {s} (document {doc})\n"),
                    Value::Object(e) => {
                        let mut parts: Vec<String> = e
                            .iter()
                            .map(|(k, v)| match v {
                                Value::Object(inner) => format!(
                                    "{k} {}",
                                    inner
                                        .iter()
                                        // Raw instants are shown below in local time.
                                        .filter(|(_, iv)| !iv.is_object())
                                        .map(|(ik, iv)| format!("{ik}={}", cell(iv)))
                                        .collect::<Vec<_>>()
                                        .join(" ")
                                ),
                                other => format!("{k} {}", cell(other)),
                            })
                            .collect();
                        if let Some(slot) = m.get("slot") {
                            parts.push(format!("slot {}", cell(slot)));
                        }
                        format!("ok: {} (document {doc})\n", parts.join("; "))
                    }
                    other => format!("ok: {} (document {doc})\n", cell(other)),
                };
            }
            // A status on a training clock: marked first, so nobody takes it for real time.
            if m.get("clock").and_then(Value::as_str) == Some("training") {
                let time = m.get("time").map(cell).unwrap_or_default();
                return format!("TRAINING CLOCK (simulated time): {time}\n{}", object(m));
            }
            object(m)
        }
        other => format!("{}\n", cell(other)),
    }
}

/// Writes text to stdout; a closed pipe (`linli … | head`) is not an error.
pub(crate) fn out(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|()| o.flush());
}

/// Prints a result to stdout.
pub(crate) fn print(v: &Value, json: bool) {
    if json {
        let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
        out(&format!("{text}\n"));
    } else {
        out(&human(v));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_and_order_columns() {
        let t = table(&[
            json!({"status": "confirmed", "id": "a:1", "zz": 1}),
            json!({"status": "tentative", "id": "a:22", "zz": null}),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "ID    STATUS     ZZ");
        assert_eq!(lines[1], "a:1   confirmed  1");
        assert_eq!(lines[2], "a:22  tentative");
    }

    #[test]
    fn writes_print_one_line() {
        let s = human(&json!({"doc": "ab", "effect": {"booking": "x@y:1"}, "change": "c"}));
        assert_eq!(s, "ok: booking x@y:1 (document ab)\n");
        let s = human(&json!({
            "doc": "ab",
            "effect": {"confirmed": {"booking": "x@y:1", "slot": {"start": 1, "end": 2}, "slot_index": 0}},
            "slot": "2031-03-04 19:00 – 20:30",
        }));
        assert_eq!(
            s,
            "ok: confirmed booking=x@y:1 slot_index=0; slot 2031-03-04 19:00 – 20:30 (document ab)\n"
        );
        let s = human(&json!({"doc": "ab", "effect": "created", "kind": "ledger"}));
        assert_eq!(s, "created ledger document ab\n");
    }
}
