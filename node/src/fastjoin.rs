//! Fast join: a node that holds nothing yet takes a peer's documents as snapshots (the
//! store's own form: saved automerge document + the signature of every change it holds),
//! is usable at once, and verifies them in the background.
//!
//! * Federation documents are never provisional: their changes are rebuilt from the
//!   snapshot and go through the ordinary receive path (`Node::apply_batch`: every
//!   signature, chain and policy checked) before anything else is restored, so the trust
//!   store only ever holds verified certificates and revocations.
//! * Every other document the peer sent is checked for this node's audience
//!   (`sync::may_receive_doc`, the rule sessions use), then restored without verification
//!   (`LoadedSnapshot::prepare_folded` on worker threads, `Replica::restore_prepared`) and
//!   marked *provisional* in memory (`Replica::mark_provisional`) and in the store (table
//!   `provisional`, with the peer it came from). A provisional document is read and written
//!   like any other but never served to peers (linli-core's sync skips it).
//! * The verifier ([`verify`], on a thread of its own) feeds a scratch `Replica` the
//!   federation documents' changes and then each provisional document, loaded from its
//!   snapshot, with its changes rebuilt with their signatures: `Replica::verify_restored`
//!   decides them exactly as `Replica::receive_batch` of them would — the decisions of a full
//!   sync — but authorizes each on the loaded document as of its own dependencies instead of
//!   applying it again. A document whose changes are all accepted is verified; any other is
//!   rolled back: its snapshot unfolded into the log
//!   without the changes whose envelope failed, and the replica rebuilt from the store,
//!   which replays it through `Replica::apply` with what arrived meanwhile — so it ends as
//!   full verification of everything received decides. The source is reported
//!   ([`NodeEvent::SnapshotRefused`](crate::NodeEvent::SnapshotRefused)) and the network
//!   drops and bans it.

use automerge::ChangeHash;
use linli_core::identity::Keypair;
use linli_core::replica::RestoredVerdict;
use linli_core::{DocId, NodeId, OrgId, Replica, SignedChange};

pub(crate) use crate::actor::Restorable;
use crate::store::fold;

/// One document as a peer serves it for a fast join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSnapshot {
    /// The document.
    pub doc: DocId,
    /// Its saved automerge document (`Document::save`).
    pub bytes: Vec<u8>,
    /// The signatures of the changes it holds, in ascending order of change hash, packed by
    /// `linli_core::signed::pack_signatures` (a covered change has none).
    pub sigs: Vec<u8>,
}

impl PeerSnapshot {
    /// Wire form: `[doc 32][len u32][bytes][sigs…]`.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(36 + self.bytes.len() + self.sigs.len());
        out.extend(self.doc.0);
        out.extend((self.bytes.len() as u32).to_le_bytes());
        out.extend(&self.bytes);
        out.extend(&self.sigs);
        out
    }

    /// Reads the wire form; names what is wrong.
    pub(crate) fn decode(b: &[u8]) -> Result<PeerSnapshot, String> {
        if b.len() < 36 {
            return Err(format!("a snapshot entry of {} bytes", b.len()));
        }
        let mut doc = [0u8; 32];
        doc.copy_from_slice(&b[..32]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&b[32..36]);
        let len = u32::from_le_bytes(len) as usize;
        let rest = &b[36..];
        if rest.len() < len {
            return Err(format!(
                "a snapshot entry announces {len} bytes of document and has {}",
                rest.len()
            ));
        }
        let sigs = &rest[len..];
        Ok(PeerSnapshot {
            doc: DocId(doc),
            bytes: rest[..len].to_vec(),
            sigs: sigs.to_vec(),
        })
    }
}

/// What [`Node::fast_join_import`](crate::Node::fast_join_import) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FastJoinReport {
    /// Federation changes applied (verified on the ordinary path).
    pub federation_changes: usize,
    /// Documents restored provisionally.
    pub provisional: Vec<DocId>,
    /// Documents left out: held already, or the snapshot was bad or outside this node's
    /// audience (those are also reported as
    /// [`NodeEvent::SnapshotRefused`](crate::NodeEvent::SnapshotRefused)).
    pub left_out: Vec<(DocId, String)>,
}

/// Peers' snapshots sorted for [`Node::fast_join_import`](crate::Node::fast_join_import):
/// the federation documents' changes (for the ordinary receive path), the other documents
/// prepared for a provisional restore, and the snapshots that are bad (with why).
pub(crate) struct Sorted {
    pub(crate) federation: Vec<(DocId, SignedChange)>,
    pub(crate) restorable: Vec<Restorable>,
    pub(crate) bad: Vec<(DocId, String)>,
}

/// Loads and prepares snapshots on every core: a snapshot that does not load as its
/// document, or holds another number of changes than it carries signatures, is bad.
pub(crate) fn sort(snapshots: Vec<PeerSnapshot>) -> Sorted {
    enum One {
        Federation(Vec<(DocId, SignedChange)>),
        Restore(Box<Restorable>),
        Bad(DocId, String),
    }
    let one = |s: PeerSnapshot| -> One {
        let PeerSnapshot { doc, bytes, sigs } = s;
        let loaded = match Replica::load_snapshot(doc, &bytes) {
            Ok(l) => l,
            Err(e) => return One::Bad(doc, format!("its snapshot does not load: {e}")),
        };
        if let Err(e) = linli_core::signed::unpack_signatures(&sigs, loaded.held()) {
            return One::Bad(
                doc,
                format!(
                    "its snapshot holds {} changes and its signatures do not fit: {e}",
                    loaded.held()
                ),
            );
        }
        if loaded.document().kind() == linli_core::document::DocKind::Federation {
            return match fold::regenerate(doc, &bytes, &sigs) {
                Ok(changes) => {
                    One::Federation(changes.into_iter().map(|(_, sc)| (doc, sc)).collect())
                }
                Err(e) => One::Bad(doc, e),
            };
        }
        match loaded.prepare_folded(Vec::new()) {
            Ok(prepared) => One::Restore(Box::new(Restorable {
                prepared,
                bytes,
                sigs,
            })),
            Err(e) => One::Bad(doc, format!("its snapshot does not restore: {e}")),
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let mut shares: Vec<Vec<PeerSnapshot>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, s) in snapshots.into_iter().enumerate() {
        shares[i % workers].push(s);
    }
    let results: Vec<One> = std::thread::scope(|sc| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| sc.spawn(move || share.into_iter().map(one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut out = Sorted {
        federation: Vec::new(),
        restorable: Vec::new(),
        bad: Vec::new(),
    };
    for r in results {
        match r {
            One::Federation(c) => out.federation.extend(c),
            One::Restore(r) => out.restorable.push(*r),
            One::Bad(d, why) => out.bad.push((d, why)),
        }
    }
    out
}

/// What verification decided for one provisional document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Full verification accepts every change it holds.
    Verified,
    /// Something is refused, waits, or the snapshot does not rebuild: roll back. `forged`
    /// are the changes that are not authentic — their envelope failed, or they are covered
    /// changes nothing valid covers — (never stored).
    Refused {
        forged: Vec<ChangeHash>,
        reason: String,
    },
}

/// What the verifier needs: the identity of the node (decisions do not depend on it, but a
/// replica needs one), the verified federation changes, and the provisional documents'
/// snapshots, own scope first.
pub(crate) struct VerifyJob {
    pub(crate) keypair: Keypair,
    pub(crate) org: OrgId,
    pub(crate) root: NodeId,
    pub(crate) federation: Vec<SignedChange>,
    /// The federation heads the job was built at (a verdict reached against other
    /// certificates is judged again).
    pub(crate) fed_heads: Vec<(DocId, Vec<ChangeHash>)>,
    /// (document, own scope, saved bytes, signatures).
    pub(crate) docs: Vec<(DocId, bool, Vec<u8>, Vec<u8>)>,
}

/// Verifies the job's documents as a full sync would decide them, calling `report` with the
/// verdicts of the own scope's documents first, then with the rest's.
pub(crate) fn verify(job: VerifyJob, mut report: impl FnMut(Vec<(DocId, Verdict)>) -> bool) {
    let VerifyJob {
        keypair,
        org,
        root,
        federation,
        docs,
        ..
    } = job;
    let mut scratch = Replica::new(keypair, [0; 8], org, root);
    scratch.receive_batch(federation);
    let (own, rest): (Vec<_>, Vec<_>) = docs.into_iter().partition(|d| d.1);
    for part in [own, rest] {
        if part.is_empty() {
            continue;
        }
        let verdicts = part
            .into_iter()
            .map(|(doc, _, bytes, sigs)| (doc, verify_one(&mut scratch, doc, &bytes, &sigs)))
            .collect();
        if !report(verdicts) {
            return;
        }
    }
}

fn verify_one(scratch: &mut Replica, doc: DocId, bytes: &[u8], sigs: &[u8]) -> Verdict {
    let refused = |reason: String| Verdict::Refused {
        forged: Vec::new(),
        reason,
    };
    let verdict = match Replica::load_restored(doc, bytes) {
        // The restored document already holds every change: each is decided on it, as of its
        // own dependencies, instead of being applied a second time.
        Ok(restored) => match fold::regenerate_loaded(doc, restored.automerge(), sigs) {
            Ok(changes) => scratch.verify_restored(restored, changes),
            Err(e) => return refused(e),
        },
        // Not a document of this id: the full receive decides (and words) it.
        Err(_) => match fold::regenerate_with_heads(doc, bytes, sigs) {
            Ok((changes, heads)) => scratch.verify_by_receive(doc, changes, heads),
            Err(e) => return refused(e),
        },
    };
    match verdict {
        RestoredVerdict::Verified => Verdict::Verified,
        RestoredVerdict::Refused { forged, reason } => Verdict::Refused { forged, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_entries_round_trip_and_bad_ones_are_named() {
        let s = PeerSnapshot {
            doc: DocId([7; 32]),
            bytes: vec![1, 2, 3],
            sigs: vec![9; 128],
        };
        assert_eq!(PeerSnapshot::decode(&s.encode()).unwrap(), s);
        let mut short = s.encode();
        short.truncate(38);
        assert!(
            PeerSnapshot::decode(&short)
                .unwrap_err()
                .contains("announces 3 bytes")
        );
        // Signatures that do not fit the document's changes are found when it is loaded
        // (`sort`: the packed form says how many it holds only with the document).
        assert!(
            PeerSnapshot::decode(&[0; 10])
                .unwrap_err()
                .contains("10 bytes")
        );
    }
}
