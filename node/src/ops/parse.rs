//! Input handling: parsing ids, points and local times, finding the implied document.

use super::*;

/// A node id as text: the readable `ln…` form.
pub fn ln(id: &NodeId) -> String {
    linli_core::identity::node_id_to_base32(id)
}

/// Parses a node id in its `ln…` form or as 64 hex characters.
pub fn parse_node_id(s: &str) -> Result<NodeId, OpsError> {
    let s = s.trim();
    if s.starts_with(linli_core::identity::NODE_TEXT_PREFIX) {
        linli_core::identity::node_id_from_base32(s)
            .map_err(|e| OpsError::Invalid(format!("node id {s:?}: {e}")))
    } else {
        s.parse()
            .map_err(|e| OpsError::Invalid(format!("node id {s:?}: {e}")))
    }
}

/// Parses points: `4`, `-2`, `1.5`, `0.25` (hundredths at most).
pub fn parse_points(s: &str, what: &str) -> Result<Points, OpsError> {
    let bad = || {
        OpsError::Invalid(format!(
            "{what} {s:?} is not an amount of points (e.g. 4 or 1.5)"
        ))
    };
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 2 {
        return Err(bad());
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let f: i64 = if frac.is_empty() {
        0
    } else {
        let v: i64 = frac.parse().map_err(|_| bad())?;
        if frac.len() == 1 { v * 10 } else { v }
    };
    let h = w
        .checked_mul(100)
        .and_then(|x| x.checked_add(f))
        .ok_or_else(bad)?;
    Ok(Points(if neg { -h } else { h }))
}

/// Parses an instant: RFC 3339 with an offset, or a local date-time in `zone`.
pub fn parse_instant(s: &str, zone: &Zone, what: &str) -> Result<Timestamp, OpsError> {
    if let Ok(t) = Timestamp::parse(s) {
        return Ok(t);
    }
    let dt: jiff::civil::DateTime = s.trim().parse().map_err(|e| {
        OpsError::Invalid(format!(
            "{what} {s:?} is not a time (use 2026-12-01T19:00 or 2026-12-01T19:00+08:00): {e}"
        ))
    })?;
    Timestamp::from_local(dt.date(), dt.time(), zone)
        .map_err(|e| OpsError::Invalid(format!("{what} {s:?}: {e}")))
}

/// The named document, or the only document of `kind` this node holds — preferring those
/// it owns when there are several.
pub async fn resolve(node: &Node, kind: DocKind, doc: Option<DocId>) -> Result<DocId, OpsError> {
    if let Some(d) = doc {
        return Ok(d);
    }
    let me = node.org().clone();
    let (all, own) = node
        .read(move |r| {
            let all = r.ids_of(kind);
            let own: Vec<DocId> = all
                .iter()
                .copied()
                .filter(|id| r.header(*id).map(|h| h.owner == me).unwrap_or(false))
                .collect();
            (all, own)
        })
        .await?;
    let name = kind_name(kind);
    match (all.as_slice(), own.as_slice()) {
        ([], _) => Err(OpsError::NotFound(format!(
            "this node holds no {name} document (create or import one first)"
        ))),
        ([one], _) | (_, [one]) => Ok(*one),
        _ => Err(OpsError::Invalid(format!(
            "this node holds {} {name} documents; name one with --doc: {}",
            all.len(),
            all.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub(crate) fn kind_name(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Federation => "federation",
        DocKind::Registry => "registry",
        DocKind::Ledger => "ledger",
        DocKind::Resource => "resource",
        DocKind::Wishes => "wishes",
        DocKind::Volunteers => "volunteers",
    }
}

pub(crate) async fn doc_zone(node: &Node, doc: DocId) -> Result<Zone, OpsError> {
    Ok(node
        .read(move |r| r.header(doc).map(|h| h.zone.clone()))
        .await??)
}

/// This node's street (the parent in its certificate, or given) and its community (if it
/// acts as one).
pub(crate) async fn scope(
    node: &Node,
    street: Option<OrgId>,
) -> Result<(OrgId, Option<OrgId>), OpsError> {
    let now = node.now();
    let p = node
        .read(move |r| r.principal(&r.author().node, now))
        .await?
        .map_err(linli_core::Error::NotCertified)?;
    let community = (p.role == Some(Role::Community))
        .then(|| p.org.clone())
        .flatten();
    let street = match street {
        Some(s) => s,
        None => match p.role {
            Some(Role::Street) => p.org.clone(),
            Some(Role::Community) => p.parent.clone(),
            _ => p.scope.orgs().first().cloned(),
        }
        .ok_or_else(|| {
            OpsError::Invalid("this node's certificate names no street; give --street".into())
        })?,
    };
    Ok((street, community))
}

pub(crate) async fn community_scope(
    node: &Node,
    street: Option<OrgId>,
) -> Result<(OrgId, OrgId), OpsError> {
    let (street, _) = scope(node, street).await?;
    Ok((street, node.org().clone()))
}

pub(crate) fn this_year(node: &Node) -> Result<i16, OpsError> {
    let (date, _) = node
        .now()
        .local(&Zone::shanghai())
        .map_err(linli_core::Error::from)?;
    Ok(date.year())
}
