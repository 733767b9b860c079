//! Folding the log into snapshots: a document's snapshot (`Document::save`, automerge's
//! compressed encoding of every change it holds) plus the 64-byte signature of each of those
//! changes (`snapshots.sigs`, in ascending order of change hash) is all the store needs to give
//! back their exact signed changes: automerge rebuilds the uncompressed change chunks from the
//! saved document byte for byte (their hashes chain to the heads it checks on load), the
//! signer is the key in the change's actor id (checked before the change was accepted) and the
//! document is the snapshot's. So once a snapshot is written with its signatures, the log rows
//! of the accepted changes it holds are deleted in the same transaction.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash};
use linli_core::identity::Signature;
use linli_core::{DocId, SignedChange};

/// Bytes of one signature in `snapshots.sigs`.
pub(crate) const SIG: usize = 64;

/// The signed changes a folded snapshot holds, in causal order, with their hashes.
pub(crate) fn regenerate(
    doc: DocId,
    snapshot: &[u8],
    sigs: &[u8],
) -> Result<Vec<(ChangeHash, SignedChange)>, String> {
    regenerate_with_heads(doc, snapshot, sigs).map(|(changes, _)| changes)
}

/// Signed changes with their hashes, and heads.
pub(crate) type Regenerated = (Vec<(ChangeHash, SignedChange)>, Vec<ChangeHash>);

/// [`regenerate`], with the snapshot's heads.
pub(crate) fn regenerate_with_heads(
    doc: DocId,
    snapshot: &[u8],
    sigs: &[u8],
) -> Result<Regenerated, String> {
    let am = Automerge::load(snapshot).map_err(|e| format!("its snapshot does not load: {e}"))?;
    let changes = regenerate_loaded(doc, &am, sigs)?;
    Ok((changes, am.get_heads()))
}

/// [`regenerate`] of a snapshot already loaded (`am`).
pub(crate) fn regenerate_loaded(
    doc: DocId,
    am: &Automerge,
    sigs: &[u8],
) -> Result<Vec<(ChangeHash, SignedChange)>, String> {
    let changes = am.get_changes(&[]);
    if changes.len() * SIG != sigs.len() {
        return Err(format!(
            "its snapshot holds {} changes but {} signatures are stored",
            changes.len(),
            sigs.len() / SIG
        ));
    }
    let mut sorted: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
    sorted.sort_unstable();
    let sig_of: HashMap<ChangeHash, usize> =
        sorted.iter().enumerate().map(|(i, h)| (*h, i)).collect();
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        let hash = c.hash();
        let at = sig_of[&hash] * SIG;
        let mut signature = [0u8; SIG];
        signature.copy_from_slice(&sigs[at..at + SIG]);
        let signer = linli_core::document::actor_node(c.actor_id())
            .map_err(|e| format!("change {hash}: {e}"))?;
        out.push((
            hash,
            SignedChange {
                doc,
                change: c.raw_bytes().to_vec(),
                signer,
                signature: Signature(signature),
            },
        ));
    }
    Ok(out)
}

/// The `sigs` column of a new snapshot holding the changes `held` (any order): each
/// signature from the log rows being folded (`rows`) or, for the changes an earlier folded
/// snapshot held, from its `old` signatures (in order of hash, as stored). Fails when the
/// two do not make up `held` exactly.
pub(crate) fn signatures(
    mut held: Vec<ChangeHash>,
    rows: &HashMap<ChangeHash, Signature>,
    old: &[u8],
) -> Result<Vec<u8>, String> {
    held.sort_unstable();
    let mut out = Vec::with_capacity(held.len() * SIG);
    let mut old_sigs = old.chunks_exact(SIG);
    if !old_sigs.remainder().is_empty() {
        return Err(format!(
            "the stored signatures are {} bytes, not a multiple of {SIG}",
            old.len()
        ));
    }
    for hash in &held {
        match rows.get(hash) {
            Some(sig) => out.extend_from_slice(sig.as_bytes()),
            None => match old_sigs.next() {
                Some(sig) => out.extend_from_slice(sig),
                None => return Err(format!("no signature is stored for change {hash}")),
            },
        }
    }
    if old_sigs.next().is_some() {
        return Err("the earlier snapshot held changes the new one does not".into());
    }
    Ok(out)
}
