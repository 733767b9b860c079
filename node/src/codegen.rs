//! Generated code derived from linli-core's operation catalogue: the Python module
//! `linli.ops` (one typed function per operation, its docstring from the core's doc
//! comments). The file is checked in; the test `python_ops_module_is_generated_from_the_catalogue`
//! regenerates it and fails on any difference (`LINLI_BLESS=1` rewrites it).

use std::fmt::Write as _;

use linli_core::catalogue::{self, Field, Operation};
use serde_json::Value;

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

fn py_name(name: &str) -> String {
    if KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

fn py_type(f: &Field) -> &'static str {
    if f.is_text() {
        return "str";
    }
    let t = match f.schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or(""),
        _ => "",
    };
    match t {
        "integer" => "int",
        "number" => "float",
        "boolean" => "bool",
        "array" => "list[Any]",
        "object" => "dict[str, Any]",
        _ => "Any",
    }
}

fn docstring(o: &Operation) -> String {
    let mut d = quote(&o.doc).replace('\n', "\n    ");
    if !o.fields.is_empty() {
        d.push_str("\n\n    Fields:\n");
        for f in &o.fields {
            let need = if f.required { "" } else { ", optional" };
            let doc = quote(&f.doc);
            let _ = writeln!(
                d,
                "        {} ({}{need}): {}",
                f.name,
                f.hint(),
                doc.replace('\n', " ")
            );
        }
        d = d.trim_end().to_string();
    }
    d
}

/// Text safe inside a Python triple-quoted docstring.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace("\"\"\"", "'''")
}

/// The source of `linli/ops.py`.
pub fn python_ops() -> String {
    let mut out = String::from(
        "\"\"\"Every operation of linli-core, one typed function each (generated from the\n\
         operation catalogue by linli-node's codegen; do not edit: `LINLI_BLESS=1 cargo test -p\n\
         linli-node --test it python_ops` rewrites it).\n\n\
         Each function runs ``node.operation(\"kind.name\", doc=doc, **fields)``: ``doc`` defaults\n\
         to the node's only document of the operation's kind; values are what the operation's\n\
         JSON form takes (dates and times as strings).\n\"\"\"\n\n\
         from __future__ import annotations\n\n\
         from typing import Any, Optional\n\n\
         from ._linli import Node\n\n\
         __all__ = [\n",
    );
    let ops = catalogue::operations();
    for o in &ops {
        let _ = writeln!(out, "    \"{}\",", o.id().replace('.', "_"));
    }
    out.push_str("]\n");
    for o in &ops {
        let fname = o.id().replace('.', "_");
        let mut params = vec!["node: Node".to_string()];
        let mut kw = vec!["*".to_string()];
        for f in o.fields.iter().filter(|f| f.required) {
            kw.push(format!("{}: {}", py_name(&f.name), py_type(f)));
        }
        for f in o.fields.iter().filter(|f| !f.required) {
            kw.push(format!(
                "{}: Optional[{}] = None",
                py_name(&f.name),
                py_type(f)
            ));
        }
        kw.push("doc: Optional[str] = None".into());
        params.extend(kw);
        let _ = write!(
            out,
            "\n\ndef {fname}({}) -> Any:\n    \"\"\"{}\n    \"\"\"\n",
            params.join(", "),
            docstring(o)
        );
        out.push_str("    fields: dict[str, Any] = {}\n");
        for f in &o.fields {
            let p = py_name(&f.name);
            if f.required {
                let _ = writeln!(out, "    fields[\"{}\"] = {p}", f.name);
            } else {
                let _ = writeln!(
                    out,
                    "    if {p} is not None:\n        fields[\"{}\"] = {p}",
                    f.name
                );
            }
        }
        let _ = writeln!(
            out,
            "    return node.operation(\"{}\", doc, **fields)",
            o.id()
        );
    }
    out
}
