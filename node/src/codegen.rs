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

// ---- linli/results.py ---------------------------------------------------------------------

/// A field of a generated result class: its Python type and the converter (a Python
/// callable's source) from its JSON form, `None` where the JSON value is the value.
struct PyField {
    ty: String,
    conv: Option<String>,
}

fn ref_name(s: &serde_json::Map<String, Value>) -> Option<&str> {
    s.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// The Python type and converter of a JSON schema (the shapes `results::schemas` gives).
fn py_field(schema: &Value) -> PyField {
    let any = PyField {
        ty: "Any".into(),
        conv: None,
    };
    let Value::Object(s) = schema else {
        return any;
    };
    if let Some(name) = ref_name(s) {
        return PyField {
            ty: name.to_string(),
            conv: Some(format!("{name}.from_json")),
        };
    }
    // `anyOf: [X, {"type": "null"}]` (an optional reference).
    if let Some(Value::Array(alts)) = s.get("anyOf") {
        let mut rest: Vec<&Value> = alts
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if rest.len() == 1 && rest.len() < alts.len() {
            return optional(py_field(rest.remove(0)));
        }
        return any;
    }
    let (ty, nullable) = match s.get("type") {
        Some(Value::String(t)) => (t.as_str(), false),
        Some(Value::Array(ts)) => {
            let non_null: Vec<&str> = ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            match non_null.as_slice() {
                [t] => (*t, non_null.len() < ts.len()),
                _ => return any,
            }
        }
        _ => return any,
    };
    let field = match ty {
        "string" => {
            let (ty, conv) = match s.get("format").and_then(Value::as_str) {
                Some("date-time") => ("datetime.datetime", Some("_datetime")),
                Some("date") => ("datetime.date", Some("_date")),
                Some("decimal") => ("Decimal", Some("Decimal")),
                Some("hex") => ("bytes", Some("bytes.fromhex")),
                Some("path") => ("Path", Some("Path")),
                _ => ("str", None),
            };
            PyField {
                ty: ty.into(),
                conv: conv.map(str::to_string),
            }
        }
        "integer" => PyField {
            ty: "int".into(),
            conv: None,
        },
        "number" => PyField {
            ty: "float".into(),
            conv: None,
        },
        "boolean" => PyField {
            ty: "bool".into(),
            conv: None,
        },
        "array" => {
            if let Some(Value::Array(items)) = s.get("prefixItems") {
                let parts: Vec<PyField> = items.iter().map(py_field).collect();
                let tys: Vec<&str> = parts.iter().map(|p| p.ty.as_str()).collect();
                let convs: Vec<String> = parts
                    .iter()
                    .map(|p| p.conv.clone().unwrap_or_else(|| "_same".into()))
                    .collect();
                PyField {
                    ty: format!("tuple[{}]", tys.join(", ")),
                    conv: Some(format!("_fixed({})", convs.join(", "))),
                }
            } else {
                let item = s.get("items").map(py_field).unwrap_or(PyField {
                    ty: "Any".into(),
                    conv: None,
                });
                // Records of another result class come as a tuple (immutable), plain values
                // as a list.
                let is_ref = s
                    .get("items")
                    .and_then(Value::as_object)
                    .and_then(ref_name)
                    .is_some();
                let conv = item.conv.clone().unwrap_or_else(|| "_same".into());
                if is_ref {
                    PyField {
                        ty: format!("tuple[{}, ...]", item.ty),
                        conv: Some(format!("_tuple({conv})")),
                    }
                } else {
                    PyField {
                        ty: format!("list[{}]", item.ty),
                        conv: Some(format!("_list({conv})")),
                    }
                }
            }
        }
        "object" => {
            let value = s
                .get("additionalProperties")
                .map(py_field)
                .unwrap_or(PyField {
                    ty: "Any".into(),
                    conv: None,
                });
            let conv = value.conv.clone().unwrap_or_else(|| "_same".into());
            PyField {
                ty: format!("dict[str, {}]", value.ty),
                conv: Some(format!("_dict({conv})")),
            }
        }
        _ => any,
    };
    if nullable { optional(field) } else { field }
}

fn optional(f: PyField) -> PyField {
    PyField {
        ty: format!("Optional[{}]", f.ty),
        conv: f.conv.map(|c| format!("_opt({c})")),
    }
}

/// Text on one docstring line (no triple quotes, no backslashes).
fn doc_line(s: &str) -> String {
    quote(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The source of `linli/results.py`: one frozen dataclass per result type of
/// `linli_node::results`, its docstring from the type's doc comments, typed fields, and
/// `from_json` building it from the type's JSON form.
pub fn python_results() -> String {
    let schemas = crate::results::schemas();
    let mut out = String::from(
        "\"\"\"The result classes of linli (generated from linli-node's result types, `linli_node::results`,\n\
         by its codegen; do not edit: `LINLI_BLESS=1 cargo test -p linli-node --test it\n\
         python_results` rewrites it).\n\n\
         Every class is a frozen dataclass; ``Class.from_json(data)`` builds one from the JSON form the\n\
         node answers (also over the HTTP API): times become timezone-aware ``datetime`` objects,\n\
         dates ``date`` objects, points exact ``Decimal`` values.\n\"\"\"\n\n\
         from __future__ import annotations\n\n\
         import datetime\n\
         from dataclasses import dataclass\n\
         from decimal import Decimal\n\
         from pathlib import Path\n\
         from typing import Any, Callable, Optional\n\n\
         __all__ = [\n",
    );
    for (name, _) in &schemas {
        let _ = writeln!(out, "    \"{name}\",");
    }
    out.push_str(
        "]\n\n\
         _Conv = Callable[[Any], Any]\n\n\n\
         def _datetime(v: Any) -> datetime.datetime:\n\
         \x20   text = str(v)\n\
         \x20   if text.endswith(\"Z\"):\n\
         \x20       text = text[:-1] + \"+00:00\"\n\
         \x20   return datetime.datetime.fromisoformat(text).astimezone(datetime.timezone.utc)\n\n\n\
         def _date(v: Any) -> datetime.date:\n\
         \x20   return datetime.date.fromisoformat(str(v))\n\n\n\
         def _same(v: Any) -> Any:\n\
         \x20   return v\n\n\n\
         def _opt(f: _Conv) -> _Conv:\n\
         \x20   return lambda v: None if v is None else f(v)\n\n\n\
         def _list(f: _Conv) -> _Conv:\n\
         \x20   return lambda v: [f(x) for x in v]\n\n\n\
         def _tuple(f: _Conv) -> _Conv:\n\
         \x20   return lambda v: tuple(f(x) for x in v)\n\n\n\
         def _dict(f: _Conv) -> _Conv:\n\
         \x20   return lambda v: {str(k): f(x) for k, x in v.items()}\n\n\n\
         def _fixed(*fs: _Conv) -> _Conv:\n\
         \x20   return lambda v: tuple(f(x) for f, x in zip(fs, v))\n",
    );
    for (name, schema) in &schemas {
        let desc = schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or(name);
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut doc = quote(desc).replace('\n', " ");
        doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = write!(
            out,
            "\n\n@dataclass(frozen=True)\nclass {name}:\n    \"\"\"{}",
            wrap(&doc, 88, "    ")
        );
        if !props.is_empty() {
            out.push_str("\n\n    Attributes:\n");
            for (field, s) in &props {
                let d = s.get("description").and_then(Value::as_str).unwrap_or("");
                let line = format!("{field}: {}", doc_line(d));
                let _ = writeln!(out, "{}", wrap(&line, 88, "        ").trim_end());
            }
            out.push_str("    \"\"\"\n\n");
        } else {
            out.push_str("\"\"\"\n\n");
        }
        let fields: Vec<(String, PyField)> = props
            .iter()
            .map(|(f, s)| (f.clone(), py_field(s)))
            .collect();
        for (f, p) in &fields {
            let _ = writeln!(out, "    {f}: {}", p.ty);
        }
        let _ = write!(
            out,
            "\n    @classmethod\n    def from_json(cls, data: Any) -> {name}:\n        \"\"\"A {name} from its JSON form (a dict, as `json.loads` gives it).\"\"\"\n        return cls(\n"
        );
        for (f, p) in &fields {
            match &p.conv {
                Some(c) => {
                    let _ = writeln!(out, "            {f}={c}(data[\"{f}\"]),");
                }
                None => {
                    let _ = writeln!(out, "            {f}=data[\"{f}\"],");
                }
            }
        }
        out.push_str("        )\n");
    }
    out
}

/// `text` wrapped at `width` columns, continuation lines indented with `indent` (the first
/// line is not indented: it follows what precedes it).
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in text.split_whitespace() {
        let room = width.saturating_sub(indent.len());
        if !cur.is_empty() && cur.len() + 1 + w.len() > room {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    lines.push(cur);
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(indent);
            if indent.len() > 4 {
                out.push_str("    ");
            }
        }
        out.push_str(l);
    }
    if indent.len() > 4 {
        format!("{indent}{out}")
    } else {
        out
    }
}
