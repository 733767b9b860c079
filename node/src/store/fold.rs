//! Folding the log into snapshots: a document's snapshot (`Document::save`, automerge's
//! compressed encoding of every change it holds) plus the signatures of those changes that a
//! store keeps (`snapshots.sigs`, packed by `signed::pack_signatures` in ascending order of
//! change hash: a bitmap, then each kept signature) is all the store needs to give back their
//! exact changes: automerge rebuilds the uncompressed change chunks from the saved document
//! byte for byte (their hashes chain to the heads it checks on load), the signer is the key in
//! the change's actor id (checked before the change was accepted), the document is the
//! snapshot's, and a change without a kept signature is *covered* by a later kept signature of
//! its key (`signed::signatures_to_keep`: the newest change of each key, and every 64th). So
//! once a snapshot is written with its signatures, the log rows of the accepted changes it
//! holds are deleted in the same transaction.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash};
use linli_core::identity::Signature;
use linli_core::signed::{HistoryEntry, pack_signatures, signatures_to_keep, unpack_signatures};
use linli_core::{DocId, SignedChange};

/// Bytes of one signature in a dense (schema 6 and 7) `snapshots.sigs`.
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
    let mut sorted: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
    sorted.sort_unstable();
    let sigs = unpack_signatures(sigs, changes.len())
        .map_err(|e| format!("its snapshot holds {} changes: {e}", changes.len()))?;
    let sig_of: HashMap<ChangeHash, Option<Signature>> = sorted.iter().copied().zip(sigs).collect();
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        let hash = c.hash();
        let signer = linli_core::document::actor_node(c.actor_id())
            .map_err(|e| format!("change {hash}: {e}"))?;
        out.push((
            hash,
            SignedChange {
                doc,
                change: c.raw_bytes().to_vec(),
                signer,
                signature: sig_of.get(&hash).copied().flatten(),
            },
        ));
    }
    Ok(out)
}

/// A dense `sigs` column (schemas 6 and 7: 64 bytes per change, every change signed) packed
/// as schema 8 stores it.
pub(crate) fn pack_dense(dense: &[u8]) -> Result<Vec<u8>, String> {
    let chunks = dense.chunks_exact(SIG);
    if !chunks.remainder().is_empty() {
        return Err(format!(
            "the stored signatures are {} bytes, not a multiple of {SIG}",
            dense.len()
        ));
    }
    let sigs: Vec<Option<Signature>> = chunks
        .map(|c| {
            let mut a = [0u8; SIG];
            a.copy_from_slice(c);
            Some(Signature(a))
        })
        .collect();
    Ok(pack_signatures(&sigs))
}

/// The `sigs` column of a new snapshot holding the changes of `history` (its accepted
/// changes in causal order): each signature from the log rows being folded (`rows`; `None`
/// for a covered one) or, for the changes an earlier folded snapshot held, from its `old`
/// packed signatures; of those, only the ones a store keeps ([`signatures_to_keep`]) — or
/// all of them while the document is not verified (`verified` false: a fast join's
/// provisional document, whose signatures were not checked, so none may be taken to cover
/// another). Fails when the two do not make up the history exactly.
pub(crate) fn signatures(
    mut history: Vec<HistoryEntry>,
    rows: &HashMap<ChangeHash, Option<Signature>>,
    old: &[u8],
    verified: bool,
) -> Result<Vec<u8>, String> {
    let mut held: Vec<ChangeHash> = history.iter().map(|e| e.hash).collect();
    held.sort_unstable();
    let from_old = held.iter().filter(|h| !rows.contains_key(h)).count();
    let mut old_sigs = if old.is_empty() && from_old > 0 {
        return Err(format!("no signature is stored for {from_old} changes"));
    } else if old.is_empty() {
        Vec::new()
    } else {
        unpack_signatures(old, from_old)
            .map_err(|e| format!("the earlier snapshot's signatures do not fit: {e}"))?
    }
    .into_iter();
    let mut sig_of: HashMap<ChangeHash, Option<Signature>> = HashMap::with_capacity(held.len());
    for hash in &held {
        let sig = match rows.get(hash) {
            Some(sig) => *sig,
            None => old_sigs
                .next()
                .ok_or_else(|| format!("no signature is stored for change {hash}"))?,
        };
        sig_of.insert(*hash, sig);
    }
    for e in &mut history {
        e.signed = sig_of.get(&e.hash).is_some_and(Option::is_some);
    }
    let keep = signatures_to_keep(&history);
    let sigs: Vec<Option<Signature>> = held
        .iter()
        .map(|h| {
            sig_of
                .get(h)
                .copied()
                .flatten()
                .filter(|_| !verified || keep.contains(h))
        })
        .collect();
    Ok(pack_signatures(&sigs))
}
