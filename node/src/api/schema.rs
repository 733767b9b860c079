//! The request schema of the local API, generated from the types: [`crate::ops::Request`]
//! (every command, with its fields and help text) and linli-core's operations inside it,
//! as OpenAPI components. `openapi.json` holds them; the test
//! `openapi_schemas_are_generated_from_the_types` regenerates them and fails on any
//! difference (`LINLI_BLESS=1` rewrites the file).

use serde_json::{Map, Value};

/// Components of `openapi.json` written by hand (everything else under
/// `components.schemas` is generated).
pub const HAND_WRITTEN: [&str; 2] = ["Row", "Error"];

fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/components/schemas/{name}");
            }
            for x in m.values_mut() {
                rewrite_refs(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// The generated schemas: `Request` and every type it refers to, by name.
pub fn generated() -> Map<String, Value> {
    let mut root = schemars::schema_for!(crate::ops::Request).to_value();
    let mut out = Map::new();
    if let Value::Object(m) = &mut root {
        if let Some(Value::Object(defs)) = m.remove("$defs") {
            out.extend(defs);
        }
        m.remove("$schema");
        m.remove("title");
    }
    out.insert("Request".into(), root);
    for v in out.values_mut() {
        rewrite_refs(v);
    }
    out
}

/// `openapi` (the document's text) with its generated components replaced by what the
/// types give now; the hand-written parts are kept as they are.
pub fn regenerate(openapi: &str) -> Result<String, serde_json::Error> {
    let mut doc: Value = serde_json::from_str(openapi)?;
    if let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") {
        schemas.retain(|k, _| HAND_WRITTEN.contains(&k.as_str()));
        schemas.extend(generated());
    }
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}
