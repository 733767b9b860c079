//! The operation catalogue: every typed operation of every document kind — its name, help
//! text and fields — read from the JSON schema of the kind's operation enum (core's own
//! serde types; their doc comments are the help text). The CLI's `linli op`, the HTTP
//! API's `operation` command, its OpenAPI document and the Python bindings' `operation`
//! and `operations` are built from it, so every core operation is reachable everywhere,
//! with the same fields and the same validation.

use serde_json::{Map, Value};

use crate::cert::Principal;
use crate::document::{DocKind, Document};
pub use crate::policy::Standing;
use crate::replica::Op;

/// The document kinds with operations, in catalogue order (the one list: [`crate::kind`]).
pub const KINDS: &[DocKind] = crate::kinds::ALL;

/// The kind's name as in JSON (`federation`, `registry`, `ledger`, `resource`, `wishes`).
pub fn kind_name(kind: DocKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The JSON schema of the operations of `kind` (the kind's `…Op` enum).
pub fn kind_schema(kind: DocKind) -> Value {
    crate::kinds::of(kind).operations()
}

/// The JSON schema of [`Op`]: `{"kind": <kind>, "op": <operation>}`.
pub fn op_schema() -> Value {
    schemars::schema_for!(Op).to_value()
}

/// How an operation's fields are carried in its serde form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No fields: the operation is its name (`"promote_waitlist"`).
    Unit,
    /// Named fields: `{"<name>": {fields…}}`.
    Fields,
    /// One value whose fields are listed: `{"<name>": {fields…}}` too (a newtype variant
    /// around a record such as a booking form).
    Record,
}

/// One field of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Help text (the field's doc comment).
    pub doc: String,
    /// Whether it must be given.
    pub required: bool,
    /// Its JSON schema (a reference resolved to the type's own schema).
    pub schema: Value,
}

impl Field {
    /// Whether the field takes a plain string (given as is on a command line).
    pub fn is_text(&self) -> bool {
        fn text(s: &Value) -> bool {
            match s.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => {
                    ts.iter().any(|t| t == "string") && !ts.iter().any(|t| t == "object")
                }
                _ => s
                    .get("oneOf")
                    .or_else(|| s.get("anyOf"))
                    .and_then(Value::as_array)
                    .is_some_and(|alts| {
                        alts.iter()
                            .all(|a| a.get("const").is_some_and(Value::is_string) || text(a))
                    }),
            }
        }
        text(&self.schema)
    }

    /// A short description of the type for help output: `string`, `integer`, `one of a, b`,
    /// `JSON (object)` …
    pub fn hint(&self) -> String {
        let s = &self.schema;
        if let Some(alts) = s
            .get("oneOf")
            .or_else(|| s.get("anyOf"))
            .and_then(Value::as_array)
        {
            let consts: Vec<&str> = alts
                .iter()
                .filter_map(|a| a.get("const").and_then(Value::as_str))
                .collect();
            if consts.len() == alts.len() {
                return format!("one of {}", consts.join(", "));
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            let names: Vec<&str> = e.iter().filter_map(Value::as_str).collect();
            return format!("one of {}", names.join(", "));
        }
        match s.get("type") {
            Some(Value::String(t)) if t == "string" => "text".into(),
            Some(Value::String(t)) if t == "integer" || t == "number" || t == "boolean" => {
                t.clone()
            }
            Some(Value::Array(ts)) => {
                let named: Vec<&str> = ts
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect();
                match named.as_slice() {
                    ["string"] => "text".into(),
                    [t] if *t != "object" && *t != "array" => (*t).to_string(),
                    _ => format!("JSON ({})", named.join(" or ")),
                }
            }
            Some(Value::String(t)) => format!("JSON ({t})"),
            _ => "JSON".into(),
        }
    }
}

/// One operation of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The kind of document it writes.
    pub kind: DocKind,
    /// Its name (`request`, `promote_waitlist` …).
    pub name: String,
    /// Help text (the variant's doc comment).
    pub doc: String,
    /// How its fields are carried.
    pub shape: Shape,
    /// Its fields, in schema order.
    pub fields: Vec<Field>,
    /// Who may perform it: standings towards the document it writes, from the kind's
    /// write rules (`Kind::performers`).
    pub performers: Vec<Standing>,
}

/// Why a set of fields does not make an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// No such operation.
    #[error("no operation {0:?} (see the list of operations: kind.name, e.g. resource.bar)")]
    Unknown(String),
    /// A field the operation does not have.
    #[error("{op} has no field {field:?} (its fields: {fields})")]
    UnknownField {
        /// The operation.
        op: String,
        /// The field given.
        field: String,
        /// Its fields.
        fields: String,
    },
    /// A required field is missing.
    #[error("{op} needs {field} ({doc})")]
    Missing {
        /// The operation.
        op: String,
        /// The field.
        field: String,
        /// Its help text.
        doc: String,
    },
    /// The values do not make the operation (a wrong type or form).
    #[error("{op}: {reason}")]
    Invalid {
        /// The operation.
        op: String,
        /// What serde said.
        reason: String,
    },
}

impl Operation {
    /// `kind.name`, e.g. `resource.bar`.
    pub fn id(&self) -> String {
        format!("{}.{}", kind_name(self.kind), self.name)
    }

    /// Whether `who` holds one of the operation's standings towards `doc` (of the
    /// operation's kind): what a surface offers. [`Standing::Named`] holds when the
    /// document's records name `who` (`Kind::named`); the write itself is still judged by
    /// the kind's rules on the record it writes (which booking, which block).
    pub fn may_perform(&self, doc: &Document, who: &Principal) -> bool {
        self.may_perform_as(doc, &standings(doc, who))
    }

    /// [`Operation::may_perform`] for a principal whose [`standings`] towards `doc` are
    /// known (computed once per document for every operation).
    pub fn may_perform_as(&self, doc: &Document, held: &[Standing]) -> bool {
        doc.kind() == self.kind && self.performers.iter().any(|s| held.contains(s))
    }

    /// Builds the operation from named field values, checking names and required fields
    /// first, so the error names what is wrong.
    pub fn build(&self, values: Map<String, Value>) -> Result<Op, CatalogueError> {
        let op = self.id();
        for k in values.keys() {
            if !self.fields.iter().any(|f| &f.name == k) {
                return Err(CatalogueError::UnknownField {
                    op,
                    field: k.clone(),
                    fields: self
                        .fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        if let Some(f) = self
            .fields
            .iter()
            .find(|f| f.required && !values.contains_key(&f.name))
        {
            return Err(CatalogueError::Missing {
                op,
                field: f.name.clone(),
                doc: f.doc.clone(),
            });
        }
        let inner = match self.shape {
            Shape::Unit => Value::String(self.name.clone()),
            Shape::Fields | Shape::Record => {
                let mut m = Map::new();
                m.insert(self.name.clone(), Value::Object(values));
                Value::Object(m)
            }
        };
        let json = serde_json::json!({ "kind": kind_name(self.kind), "op": inner });
        serde_json::from_value(json).map_err(|e| CatalogueError::Invalid {
            op,
            reason: e.to_string(),
        })
    }
}

/// Resolves `{"$ref": "#/$defs/X"}` (also inside `allOf` of one) against `defs`, keeping
/// the referring schema's description.
fn resolve(schema: &Value, defs: &Map<String, Value>) -> Value {
    // An optional reference (`anyOf: [{$ref}, {type: null}]`): the referred type (being
    // optional is the field's `required`).
    if let Some(alts) = schema.get("anyOf").and_then(Value::as_array)
        && alts.len() == 2
        && let Some(inner) = alts
            .iter()
            .find(|a| a.get("type").and_then(Value::as_str) != Some("null"))
        && alts
            .iter()
            .any(|a| a.get("type").and_then(Value::as_str) == Some("null"))
    {
        let mut out = resolve(inner, defs);
        if let (Some(d), Value::Object(m)) = (schema.get("description"), &mut out) {
            m.insert("description".into(), d.clone());
        }
        return out;
    }
    let target = schema.get("$ref").and_then(Value::as_str).or_else(|| {
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .filter(|a| a.len() == 1)
            .and_then(|a| a[0].get("$ref"))
            .and_then(Value::as_str)
    });
    let Some(name) = target.and_then(|r| r.strip_prefix("#/$defs/")) else {
        return schema.clone();
    };
    let mut out = defs.get(name).cloned().unwrap_or(Value::Null);
    if let (Some(d), Value::Object(m)) = (schema.get("description"), &mut out) {
        m.insert("description".into(), d.clone());
    }
    out
}

fn text_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn fields_of(object: &Value, defs: &Map<String, Value>) -> Vec<Field> {
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    object
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, s)| {
                    let schema = resolve(s, defs);
                    Field {
                        name: name.clone(),
                        doc: text_of(&schema, "description"),
                        required: required.contains(&name.as_str()),
                        schema,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The operations of `kind`.
pub fn operations_of(kind: DocKind) -> Vec<Operation> {
    let schema = kind_schema(kind);
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let alts = schema
        .get("oneOf")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let performers = |name: &str| -> Vec<Standing> {
        crate::kinds::of(kind)
            .performers(name)
            .map(<[Standing]>::to_vec)
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for alt in alts {
        let doc = text_of(&alt, "description");
        if let Some(name) = alt.get("const").and_then(Value::as_str) {
            out.push(Operation {
                kind,
                name: name.to_string(),
                doc,
                shape: Shape::Unit,
                fields: Vec::new(),
                performers: performers(name),
            });
            continue;
        }
        if let Some(names) = alt.get("enum").and_then(Value::as_array) {
            for n in names.iter().filter_map(Value::as_str) {
                out.push(Operation {
                    kind,
                    name: n.to_string(),
                    doc: doc.clone(),
                    shape: Shape::Unit,
                    fields: Vec::new(),
                    performers: performers(n),
                });
            }
            continue;
        }
        let Some((name, inner)) = alt
            .get("properties")
            .and_then(Value::as_object)
            .and_then(|p| p.iter().next())
        else {
            continue;
        };
        let direct = inner.get("properties").is_some();
        let body = if direct {
            inner.clone()
        } else {
            resolve(inner, defs)
        };
        out.push(Operation {
            kind,
            name: name.clone(),
            doc,
            shape: if direct { Shape::Fields } else { Shape::Record },
            fields: fields_of(&body, defs),
            performers: performers(name),
        });
    }
    out
}

/// Every standing `who` holds towards `doc`: [`Standing::holds`] on its header, and
/// [`Standing::Named`] when the document's records name `who` (`Kind::named`).
pub fn standings(doc: &Document, who: &Principal) -> Vec<Standing> {
    Standing::ALL
        .into_iter()
        .filter(|s| match s {
            Standing::Named => crate::kinds::of(doc.kind()).named(doc, who),
            _ => s.holds(doc.header(), who),
        })
        .collect()
}

/// Every operation of every kind.
pub fn operations() -> Vec<Operation> {
    KINDS.iter().flat_map(|k| operations_of(*k)).collect()
}

/// The id (`kind.name`) of a typed operation.
pub fn op_id(op: &Op) -> String {
    let v = serde_json::to_value(op).unwrap_or(Value::Null);
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("?");
    let name = match v.get("op") {
        Some(Value::String(n)) => n.clone(),
        Some(Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    format!("{kind}.{name}")
}

/// The operation `kind.name`.
pub fn find(id: &str) -> Result<Operation, CatalogueError> {
    operations()
        .into_iter()
        .find(|o| o.id() == id)
        .ok_or_else(|| CatalogueError::Unknown(id.to_string()))
}

/// In Chinese, for the people who read refusals ([`crate::zh`]).
impl crate::zh::Chinese for CatalogueError {
    fn zh(&self) -> String {
        match self {
            CatalogueError::Unknown(op) => {
                format!("没有操作 {op:?}（操作名为 种类.名称，如 resource.bar）")
            }
            CatalogueError::UnknownField { op, field, fields } => {
                format!("{op} 没有字段 {field:?}（它的字段：{fields}）")
            }
            CatalogueError::Missing { op, field, doc } => format!("{op} 需要 {field}（{doc}）"),
            CatalogueError::Invalid { op, reason } => format!("{op}：{reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::ResourceOp;

    #[test]
    fn every_variant_of_every_kind_is_in_the_catalogue() {
        let ops = operations();
        let ids: Vec<String> = ops.iter().map(Operation::id).collect();
        // A few of each shape, including those that had no typed command before.
        for id in [
            "federation.issue",
            "federation.set_config",
            "registry.update_compound",
            "ledger.set_rules",
            "resource.delegate",
            "resource.bar",
            "resource.promote_waitlist",
            "resource.request",
            "wishes.post",
        ] {
            assert!(ids.contains(&id.to_string()), "{id} missing from {ids:?}");
        }
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "duplicate ids");
        for o in &ops {
            assert!(!o.doc.is_empty(), "{} has no help text", o.id());
            for f in &o.fields {
                assert!(!f.doc.is_empty(), "{}.{} has no help text", o.id(), f.name);
            }
        }
    }

    #[test]
    fn fields_build_the_typed_operation_and_errors_name_what_is_wrong() {
        let bar = find("resource.bar").unwrap();
        let who = bar.fields.iter().find(|f| f.name == "who").unwrap();
        assert!(who.required);
        let mut v = Map::new();
        v.insert("who".into(), serde_json::json!({"group": "Li's troupe"}));
        v.insert("reason".into(), "damaged the piano".into());
        let op = bar.build(v.clone()).unwrap();
        assert_eq!(
            op,
            Op::Resource(ResourceOp::Bar {
                who: crate::resource::Barred::Group("Li's troupe".into()),
                reason: "damaged the piano".into()
            })
        );
        let mut extra = v.clone();
        extra.insert("colour".into(), "red".into());
        assert!(matches!(
            bar.build(extra),
            Err(CatalogueError::UnknownField { .. })
        ));
        let mut missing = v.clone();
        missing.remove("reason");
        let e = bar.build(missing).unwrap_err();
        assert!(e.to_string().contains("needs reason"), "{e}");
        let mut wrong = v;
        wrong.insert("who".into(), serde_json::json!(7));
        assert!(matches!(
            bar.build(wrong),
            Err(CatalogueError::Invalid { .. })
        ));
        assert_eq!(op_id(&op), "resource.bar");
        let promote = find("resource.promote_waitlist").unwrap();
        assert_eq!(promote.shape, Shape::Unit);
        assert_eq!(
            promote.build(Map::new()).unwrap(),
            Op::Resource(ResourceOp::PromoteWaitlist)
        );
        let request = find("resource.request").unwrap();
        assert_eq!(request.shape, Shape::Record);
        assert!(request.fields.iter().any(|f| f.name == "alternates"));
        let booker = request.fields.iter().find(|f| f.name == "booker").unwrap();
        assert!(booker.is_text() && booker.required);
        let att = request
            .fields
            .iter()
            .find(|f| f.name == "attendees")
            .unwrap();
        assert!(!att.is_text());
        assert!(matches!(
            find("resource.teleport"),
            Err(CatalogueError::Unknown(_))
        ));
    }

    #[test]
    fn every_operation_says_who_may_perform_it() {
        for o in operations() {
            assert!(!o.performers.is_empty(), "{} names no performer", o.id());
        }
    }

    /// The standings the catalogue serves agree with the write rules: an organisation
    /// without one is refused as unauthorized, one with a standing is not (`Named` judged
    /// on the document's records: the requester of a booking cancels it, nobody else).
    #[test]
    fn performers_agree_with_the_write_rules() {
        use crate::class::ErrorClass;
        use crate::ledger::LedgerOp;
        use crate::registry::{Compound, ManagementMode, RegistryOp};
        use crate::replica::{NewDoc, Replica};
        use crate::resource::{BookingForm, ResourceSpec};
        use crate::testutil::{date, ledger_of, org, replica, sync, t};
        let now = t("2026-06-01T10:00:00+08:00");
        let mut community = replica("dianye", 1);
        let mut street = replica("beishi", 1);
        let mut unit = replica("power-co", 1);
        let mut other = replica("hongqi", 1);
        let department = replica("housing-bureau", 1);
        let registry = community
            .create(
                NewDoc::Registry {
                    street: org("beishi"),
                    community: org("dianye"),
                    title: "Dianye".into(),
                },
                now,
            )
            .unwrap()
            .doc;
        let ledger = ledger_of(&mut community, "dianye");
        let room = unit
            .create(
                NewDoc::Resource {
                    street: org("beishi"),
                    community: Some(org("dianye")),
                    spec: ResourceSpec::room("Power-co hall", 40),
                },
                now,
            )
            .unwrap()
            .doc;
        sync(&mut community, &mut unit);
        sync(&mut community, &mut street);
        sync(&mut community, &mut other);
        // A booking of another community's (hongqi) in the unit's room: only hongqi, the
        // requester its record names, may cancel it.
        let slot = |h: u8| {
            crate::time::Slot::new(
                t(&format!("2026-06-03T{h:02}:00:00+08:00")),
                t(&format!("2026-06-03T{:02}:00:00+08:00", h + 1)),
            )
            .unwrap()
        };
        let request = |h| {
            Op::Resource(crate::resource::ResourceOp::Request(BookingForm::new(
                "Li",
                "reading",
                slot(h),
                5,
            )))
        };
        let w = other.execute(room, request(14), now).unwrap();
        let crate::Effect::Booking(booking) = w.effect else {
            panic!("{:?}", w.effect)
        };
        let mut all: Vec<Replica> = vec![community, street, unit, other, department];
        for _ in 0..2 {
            for i in 1..all.len() {
                let (a, b) = all.split_at_mut(i);
                sync(&mut a[0], &mut b[0]);
            }
        }
        let compound = Compound::new("Shimalu", "1 Shimalu", 157, ManagementMode::Unmanaged);
        let samples: Vec<(crate::DocId, Op)> = vec![
            (registry, Op::Registry(RegistryOp::AddCompound(compound))),
            (
                ledger,
                Op::Ledger(LedgerOp::RecordService {
                    volunteer: "dianye:7".parse().unwrap(),
                    activity: "patrol".into(),
                    team: None,
                    date: date(2026, 5, 1),
                    hours: 1.0,
                    evidence: None,
                }),
            ),
            (
                room,
                Op::Resource(crate::resource::ResourceOp::SetSpec {
                    spec: ResourceSpec::room("Power-co hall", 50),
                }),
            ),
            (room, request(9)),
            (
                room,
                Op::Resource(crate::resource::ResourceOp::Cancel {
                    booking,
                    reason: String::new(),
                }),
            ),
        ];
        let mut seen = (0, 0);
        for (doc, op) in samples {
            let entry = find(&op_id(&op)).unwrap();
            for r in &all {
                let who = r.principal(&r.author().node, now).unwrap();
                let may = entry.may_perform(r.doc(doc).unwrap(), &who);
                let got = r.check(doc, op.clone(), now);
                let unauthorized = matches!(&got, Err(e) if e.class() == ErrorClass::Unauthorized);
                assert_eq!(
                    may,
                    !unauthorized,
                    "{} by {}: catalogue says {may}, core says {got:?}",
                    entry.id(),
                    who.scope
                );
                if may { seen.0 += 1 } else { seen.1 += 1 }
            }
        }
        assert!(seen.0 > 0 && seen.1 > 0, "{seen:?}");
    }
}
