//! District-wide settings: the compound checklist and the weights of the annual scoring.
//!
//! The root writes them in the federation document (`meta/config`); the registry's
//! operations and views read them (through [`crate::kind::Ctx`]). They are shared types,
//! not a kind, so both kinds use them without naming each other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// District-wide settings that validation and queries need: the checklist template and the
/// scoring weights. Written by the root in the federation document (`meta/config`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DistrictConfig {
    /// The compound quality checklist.
    pub checklist: ChecklistTemplate,
    /// Weights and pass mark of the annual scoring.
    pub scoring: ScoringConfig,
}

/// Compliance of one checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// The compound must have it (七有).
    MustHave,
    /// The compound must not have it (七无).
    MustNotHave,
    /// Anything else scored.
    Other,
}

/// One item of the district checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChecklistItem {
    /// Stable id, e.g. "h1".
    pub id: String,
    /// Text shown to inspectors.
    pub label: String,
    /// Kind of item.
    pub kind: ItemKind,
    /// Points when compliant.
    pub points: u32,
}

/// The district's configurable checklist (stands in for 七有七无; no built-in items).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChecklistTemplate {
    /// Template id and version, e.g. "heping-2026".
    pub id: String,
    /// Items.
    pub items: Vec<ChecklistItem>,
}

impl ChecklistTemplate {
    /// A synthetic 7 + 7 template for tests and the demo: seven "must have" and seven
    /// "must not have" items worth `100 / 14` points each (rounded so they sum to 98).
    pub fn synthetic_7_7(id: &str) -> Self {
        let mut items = Vec::new();
        for i in 1..=7 {
            items.push(ChecklistItem {
                id: format!("h{i}"),
                label: format!("has item {i}"),
                kind: ItemKind::MustHave,
                points: 7,
            });
        }
        for i in 1..=7 {
            items.push(ChecklistItem {
                id: format!("n{i}"),
                label: format!("has no problem {i}"),
                kind: ItemKind::MustNotHave,
                points: 7,
            });
        }
        Self {
            id: id.into(),
            items,
        }
    }
    /// Highest possible inspection score.
    pub fn max_points(&self) -> u32 {
        self.items.iter().map(|i| i.points).sum()
    }
}

/// Who scores a property manager every year.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ScorerRole {
    /// Owners' committee or representatives.
    Owners,
    /// The community.
    Community,
    /// The street.
    Street,
    /// The competent department.
    Department,
}

impl ScorerRole {
    /// All roles in display order.
    pub const ALL: [ScorerRole; 4] = [
        ScorerRole::Owners,
        ScorerRole::Community,
        ScorerRole::Street,
        ScorerRole::Department,
    ];
    /// Key text.
    pub fn as_str(self) -> &'static str {
        match self {
            ScorerRole::Owners => "owners",
            ScorerRole::Community => "community",
            ScorerRole::Street => "street",
            ScorerRole::Department => "department",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Weights of the four scorers and the pass mark (all configurable by the district).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoringConfig {
    /// Weight of each role.
    pub weights: BTreeMap<ScorerRole, u32>,
    /// Composite below this (0–100) is flagged.
    pub pass_mark: u32,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            weights: ScorerRole::ALL.into_iter().map(|r| (r, 1)).collect(),
            pass_mark: 60,
        }
    }
}
