//! A kind may add record maps later (`Layout::late_maps`): a document an older build created
//! without them still loads, a write to a map it lacks is refused naming why, and no other
//! map may be missing or added.

use crate::document::{Author, DocError, DocHeader, DocKind, Document, Layout, Put};
use crate::identity::Keypair;
use crate::ids::OrgId;
use crate::time::{Timestamp, Zone};

struct Layer(&'static [&'static str], &'static [&'static str]);

impl Layout for Layer {
    fn maps(&self) -> &'static [&'static str] {
        self.0
    }
    fn late_maps(&self) -> &'static [&'static str] {
        self.1
    }
    fn check_record(&self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
}

static OLD: Layer = Layer(&["a"], &[]);
static NEW: Layer = Layer(&["a", "b"], &["b"]);
static OTHER: Layer = Layer(&["a", "c"], &[]);

fn old(_: DocKind) -> &'static dyn Layout {
    &OLD
}
fn new(_: DocKind) -> &'static dyn Layout {
    &NEW
}
fn other(_: DocKind) -> &'static dyn Layout {
    &OTHER
}

fn genesis(layouts: crate::document::Layouts) -> automerge::Change {
    let org = OrgId::new("dianye").expect("valid");
    let author = Author {
        node: Keypair::from_secret(&[7; 32]).node_id(),
        incarnation: [1; 8],
        org: org.clone(),
    };
    let mut header = DocHeader::new(
        DocKind::Wishes,
        org.clone(),
        OrgId::new("beishi").expect("valid"),
        Some(org),
        None,
        "t".into(),
        Zone::default(),
    );
    header.created = Timestamp(1_790_000_000_000);
    Document::create(&author, header, &[], layouts)
        .expect("created")
        .1
}

#[test]
fn an_older_document_without_a_late_map_loads_and_refuses_writes_to_it() {
    // Made by an older build (no map b), read by the newer one.
    let mut doc = Document::from_genesis(genesis(old), new).expect("an older document loads");
    let put = |map: &'static str| Put {
        map,
        key: "k".into(),
        value: "\"v\"".into(),
    };
    doc.commit(Timestamp(1_790_000_001_000), "a", &[put("a")])
        .expect("its first maps are written as before");
    let e = doc
        .commit(Timestamp(1_790_000_002_000), "b", &[put("b")])
        .unwrap_err();
    assert!(
        matches!(&e, DocError::BadShape { reason, .. } if reason.contains("created by an older linli, before its b records existed")),
        "{e}"
    );
    // A new document has every map.
    let fresh = Document::from_genesis(genesis(new), new).expect("a new document loads");
    let mut fresh = fresh;
    fresh
        .commit(Timestamp(1_790_000_001_000), "b", &[put("b")])
        .expect("a new document takes the late map");
    // A document missing a map that is not late, or with a map the kind does not have, is
    // refused.
    let pairs: [(crate::document::Layouts, crate::document::Layouts); 2] =
        [(old, other), (other, new)];
    for (made, read) in pairs {
        let e = Document::from_genesis(genesis(made), read).unwrap_err();
        assert!(matches!(e, DocError::BadGenesis(_)), "{e}");
    }
}
