//! The layout enforces itself (in the style of rust-analyzer's `tidy.rs`): these tests read
//! the sources and fail when
//!
//! * core/src has an import cycle between its modules (the kinds sit between the shared
//!   layer below them — ids, time, certificates, document, the kind contract, policy
//!   helpers — and the list of kinds, the replica, sync and the views above them);
//! * a document kind other than the federation (the trust root, which the replica and
//!   sync build on) is named outside its own module and the list of kinds (`kinds.rs`,
//!   with `views.rs`, the typed accessors derived from it);
//! * node code builds JSON rows by hand outside the modules that hold the rows;
//! * a generated file is stale (the OpenAPI document and the Python operations module:
//!   `api::openapi_schemas_are_generated_from_the_types`,
//!   `api::python_ops_module_is_generated_from_the_catalogue`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the node crate is in the workspace")
        .to_path_buf()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The lines of `text` that are code outside tests: comment lines are skipped and the
/// text ends at a trailing `#[cfg(test)] mod …`.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        if t.starts_with("#[cfg(test)]") {
            let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
            if next.is_some_and(|n| n.trim_start().starts_with("mod ")) {
                break;
            }
        }
        if t.starts_with("//") {
            continue;
        }
        out.push((i + 1, *l));
    }
    out
}

/// The top-level module a core source file belongs to (`None` for tests and the crate
/// root). `replica_*.rs` are the replica's submodules (declared with `#[path]`).
fn core_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    let stem = file.file_stem()?.to_str()?;
    let test = name.ends_with("_tests")
        || stem.ends_with("tests")
        || rel.components().any(|c| c.as_os_str() == "tests")
        || name == "testutil"
        || name == "lib";
    if test {
        return None;
    }
    Some(match name.strip_prefix("replica_") {
        Some(_) => "replica".to_string(),
        None => name,
    })
}

/// The top-level modules a line names through `crate::…` paths (braced groups included).
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Names at depth 1 of the group: after `{` or a `,` at that depth.
            let mut depth = 1;
            let mut start = true;
            let mut ident = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => start = true,
                    c if start && depth == 1 && (c.is_alphanumeric() || c == '_') => {
                        ident.push(c);
                        continue;
                    }
                    _ => {}
                }
                if !ident.is_empty() {
                    out.push(std::mem::take(&mut ident));
                    start = false;
                }
                if depth == 0 {
                    break;
                }
            }
        } else {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(ident);
        }
    }
    out
}

/// Module → (module it names → first `file:line` naming it), for core/src.
fn core_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = workspace().join("core/src");
    let files: Vec<(String, PathBuf)> = rust_files(&src)
        .into_iter()
        .filter_map(|f| core_module(&src, &f).map(|m| (m, f)))
        .collect();
    let names: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (m, f) in &files {
        let text = std::fs::read_to_string(f).unwrap();
        // The list of kinds is a macro whose paths resolve where it is expanded with every
        // field: in `kinds` (the shared layer's expansion reads only names and labels).
        let at = if m == "kind_list" {
            "kinds"
        } else {
            m.as_str()
        };
        let edges = g.entry(at.to_string()).or_default();
        for (n, line) in code_lines(&text) {
            for target in crate_paths(line) {
                if names.contains(&target) && target != *m && target != at {
                    edges.entry(target).or_insert_with(|| {
                        format!("{}:{n}", f.strip_prefix(&src).unwrap().display())
                    });
                }
            }
        }
    }
    g
}

#[test]
fn core_modules_have_no_import_cycle() {
    let g = core_graph();
    // Depth-first search; a back edge is a cycle.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in g.get(m).into_iter().flat_map(BTreeMap::keys) {
            if let Some(c) = visit(next, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(cycle) = visit(m, &g, &mut Vec::new(), &mut done) {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} -> {} ({})", w[0], w[1], g[&w[0]][&w[1]]))
                .collect();
            panic!(
                "import cycle in core/src:\n  {}\n(the kinds sit between the shared layer and the list; see ARCHITECTURE.md, \"Layers of linli-core\")",
                steps.join("\n  ")
            );
        }
    }
    // The graph is read at all (a parser that finds nothing would pass vacuously).
    assert!(g["kinds"].contains_key("ledger"), "{:?}", g["kinds"]);
    assert!(g["ledger"].contains_key("document"), "{:?}", g["ledger"]);
}

/// The kinds a module may not name unless it is the kind itself or the list.
const KINDS: [(&str, &str); 5] = [
    ("registry", "Registry"),
    ("ledger", "Ledger"),
    ("resource", "Resource"),
    ("wishes", "Wishes"),
    ("volunteers", "Volunteers"),
];

/// Modules that derive something from the list of kinds and so name every kind.
const LIST: [&str; 2] = ["kinds", "views"];

#[test]
fn a_kind_is_named_only_in_its_module_and_the_list() {
    let g = core_graph();
    let mut bad = Vec::new();
    for (m, edges) in &g {
        for (kind, _) in KINDS {
            if let Some(at) = edges.get(kind)
                && m != kind
                && !LIST.contains(&m.as_str())
            {
                bad.push(format!("{at}: module {m} names kind {kind}"));
            }
        }
    }
    // `DocKind::Ledger` and the like: the enum's own module (document) may name them too.
    let src = workspace().join("core/src");
    for f in rust_files(&src) {
        let Some(m) = core_module(&src, &f) else {
            continue;
        };
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in code_lines(&text) {
            for (kind, variant) in KINDS {
                if line.contains(&format!("DocKind::{variant}"))
                    && m != kind
                    && m != "document"
                    && !LIST.contains(&m.as_str())
                {
                    bad.push(format!(
                        "{}:{n}: module {m} names DocKind::{variant}",
                        f.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "a kind is named outside its module and the list (reach it through kinds::of or the kind contract):\n  {}",
        bad.join("\n  ")
    );
    // The check reads the list at all.
    assert!(g["kinds"].contains_key("resource"));
}

/// Node modules that hold JSON rows and envelopes built by hand; anywhere else in node code
/// a result is a core type's serde form or comes from these.
const JSON_ROWS: [&str; 4] = [
    // The rows of every operation's result.
    "ops/rows.rs",
    // The error envelope of the HTTP API.
    "api/server.rs",
    // Command-line reports (import progress, node info) and the human renderer's tests.
    "cli/mod.rs",
    "cli/output.rs",
];

#[test]
fn node_code_builds_json_rows_only_where_the_rows_are() {
    let src = workspace().join("node/src");
    let mut bad = Vec::new();
    for f in rust_files(&src) {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().to_string();
        if JSON_ROWS.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in code_lines(&text) {
            if line.contains("json!(") {
                bad.push(format!("node/src/{rel}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "JSON built by hand outside {JSON_ROWS:?} (put the row in ops/rows.rs, or serialize a type):\n  {}",
        bad.join("\n  ")
    );
}

#[test]
fn the_tidy_parser_reads_paths_and_groups() {
    assert_eq!(crate_paths("use crate::ledger::Entry;"), vec!["ledger"]);
    assert_eq!(
        crate_paths("use crate::{kind::Kind, resource::{self, X}, time};"),
        vec!["kind", "resource", "time"]
    );
    assert_eq!(
        crate_paths("let x = crate::kinds::of(k); crate::wishes::Wishes::new(d)"),
        vec!["kinds", "wishes"]
    );
    let text =
        "use a;\n// crate::ledger\nfn f() {}\n#[cfg(test)]\nmod tests {\n use crate::ledger;\n}\n";
    let lines: Vec<usize> = code_lines(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1, 3]);
}
