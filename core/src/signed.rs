//! The signed-change envelope: the unit that moves between nodes and is stored.
//!
//! A [`SignedChange`] carries one raw automerge change for one document, the key that
//! signed it and an ed25519 signature over [`signing_message`] — a domain tag, the document
//! id and the change hash. Since the automerge actor of a linli change is the signer's
//! public key followed by an 8-byte incarnation, [`SignedChange::verify`] also binds the
//! change's author to the signer.
//!
//! A change may also travel and be stored **covered**, without a signature of its own
//! (`signature: None`): a change's hash covers its dependencies' hashes, so a signature over
//! a later change of the same key vouches for every change of that key in its history
//! (ARCHITECTURE.md, "Covered changes"). A covered change is only ever accepted in a batch
//! that also holds such a later signed change ([`cover`]); alone it is
//! [`SignedError::Uncovered`]. Writers sign every change; stores keep the signatures needed
//! to cover the rest ([`signatures_to_keep`]).
//!
//! Only uncompressed change chunks with a correct header checksum are accepted: the change
//! hash does not cover the header checksum, and a compressed chunk has the hash of its
//! inflated contents, so either would let different bytes carry the same signature (and
//! inflating a compressed chunk is unbounded). This makes `change` canonical for its hash.
//!
//! # Binary encoding (version 1)
//!
//! | offset | size | field                                   |
//! |--------|------|-----------------------------------------|
//! | 0      | 1    | version, `1`                            |
//! | 1      | 32   | `doc`                                   |
//! | 33     | 32   | `signer`                                |
//! | 65     | 64   | `signature`                             |
//! | 129    | 4    | `n`, length of the change, `u32` LE     |
//! | 133    | `n`  | raw automerge change bytes              |
//!
//! Nothing may follow the change. `n` may be at most [`MAX_CHANGE_BYTES`].
//!
//! # Binary encoding (version 2: a covered change)
//!
//! Version 1 without the signature: `2`, `doc` (32), `signer` (32), `n` (4, `u32` LE), then
//! the `n` change bytes.

use automerge::Change;

use crate::document::{MAX_CHANGE_BYTES, actor_node};
use crate::identity::{self, Keypair, Signature};
use crate::ids::{DocId, NodeId};

/// Domain-separation tag at the start of the signed message of a change.
pub const CHANGE_DOMAIN: &[u8] = b"linli/change/v1\0";

/// The version of the binary encoding of a signed change.
pub const ENCODING_VERSION: u8 = 1;

/// The version of the binary encoding of a covered change (no signature).
pub const COVERED_VERSION: u8 = 2;

/// Length of the fixed part of the encoding, before the change bytes.
pub const HEADER_LEN: usize = 1 + 32 + 32 + 64 + 4;

/// Length of the fixed part of the covered encoding, before the change bytes.
pub const COVERED_HEADER_LEN: usize = 1 + 32 + 32 + 4;

/// A store keeps the signature of every change whose sequence number is a multiple of this
/// (besides those no kept signature covers), so a sender can cut a long history into
/// batches that each carry their own cover ([`signatures_to_keep`]).
pub const CHECKPOINT_EVERY: u64 = 64;

/// First bytes of every automerge chunk.
const AUTOMERGE_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Chunk type byte (offset 8) of an uncompressed change.
const CHUNK_TYPE_CHANGE: u8 = 1;

/// Why a signed change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedError {
    /// The encoding ended early.
    #[error("signed change is truncated: needed {needed} bytes, got {got}")]
    Truncated {
        /// Bytes needed to go on.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The encoding's version byte is not one this code reads.
    #[error("unknown signed-change encoding version {0} (this build reads versions 1 and 2)")]
    UnknownVersion(u8),
    /// The change is larger than [`MAX_CHANGE_BYTES`].
    #[error("change of {size} bytes exceeds the limit of {limit} bytes")]
    Oversized {
        /// Size of the change (or the size announced by the length field).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes follow the change.
    #[error("{0} unexpected bytes after the signed change")]
    TrailingBytes(usize),
    /// The change bytes are not a canonical uncompressed automerge change.
    #[error("malformed change bytes: {0}")]
    MalformedChange(String),
    /// The signature does not verify for the document, the change hash and the signer.
    #[error("signature does not verify for this signer, document and change")]
    BadSignature,
    /// The change's author is a different key than the signer.
    #[error("change was authored by key {actor} but signed by {signer}")]
    ActorMismatch {
        /// Short form of the key in the change's actor id.
        actor: String,
        /// Short form of the signer.
        signer: String,
    },
    /// The change's actor id is not a linli actor (32-byte key + 8-byte incarnation).
    #[error("actor id of {0} bytes is not a linli actor (expected 40)")]
    BadActor(usize),
    /// A change without a signature of its own, and no later signed change of its signer in
    /// the same batch has it in its history. Not a verdict on the change: it is taken when it
    /// comes again with its cover.
    #[error(
        "change {change} carries no signature and nothing in its batch covers it \
         (a later change of {signer}, signed)"
    )]
    Uncovered {
        /// Short form of the change hash.
        change: String,
        /// Short form of the signer.
        signer: String,
    },
}

/// The message a signer signs for a change: `b"linli/change/v1\0" ‖ doc ‖ change_hash`.
pub fn signing_message(doc: &DocId, change_hash: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHANGE_DOMAIN.len() + 64);
    m.extend_from_slice(CHANGE_DOMAIN);
    m.extend_from_slice(doc.as_bytes());
    m.extend_from_slice(change_hash);
    m
}

/// Decodes raw change bytes: size limit first, then only an uncompressed change chunk whose
/// header checksum matches its hash.
fn parse_canonical(bytes: &[u8]) -> Result<Change, SignedError> {
    if bytes.len() > MAX_CHANGE_BYTES {
        return Err(SignedError::Oversized {
            size: bytes.len(),
            limit: MAX_CHANGE_BYTES,
        });
    }
    if bytes.len() < 9 || bytes[..4] != AUTOMERGE_MAGIC {
        return Err(SignedError::MalformedChange(
            "not an automerge chunk (too short or wrong magic bytes)".into(),
        ));
    }
    if bytes[8] != CHUNK_TYPE_CHANGE {
        return Err(SignedError::MalformedChange(format!(
            "chunk type {} is not an uncompressed change (type {CHUNK_TYPE_CHANGE})",
            bytes[8]
        )));
    }
    let change = Change::from_bytes(bytes.to_vec())
        .map_err(|e| SignedError::MalformedChange(e.to_string()))?;
    if bytes[4..8] != change.hash().0[..4] {
        return Err(SignedError::MalformedChange(
            "header checksum does not match the change hash".into(),
        ));
    }
    Ok(change)
}

/// The signer key in a change's actor id.
fn author_key(change: &Change) -> Result<NodeId, SignedError> {
    actor_node(change.actor_id())
        .map_err(|_| SignedError::BadActor(change.actor_id().to_bytes().len()))
}

/// A signed change whose envelope was checked (size, canonical bytes, actor ↔ signer,
/// signature), with its decoded change. Only [`SignedChange::verified`] makes one, so holding a
/// `Verified` proves the check was done; certificates, revocations and write policies are
/// still checked when it is applied.
#[derive(Debug, Clone)]
pub struct Verified {
    signed: SignedChange,
    change: Change,
}

impl Verified {
    /// The signed change.
    pub fn signed(&self) -> &SignedChange {
        &self.signed
    }
    /// The decoded automerge change.
    pub fn change(&self) -> &Change {
        &self.change
    }
    /// The change hash.
    pub fn hash(&self) -> automerge::ChangeHash {
        self.change.hash()
    }
    /// The signed change and its decoded change.
    pub fn into_parts(self) -> (SignedChange, Change) {
        (self.signed, self.change)
    }
    /// A change whose envelope stands without a signature of its own: covered by a verified
    /// change ([`cover`]) or held by the replica before. Only linli-core makes one.
    pub(crate) fn vouched(signed: SignedChange, change: Change) -> Verified {
        Verified { signed, change }
    }
}

/// Signers' keys decompressed for verifying (`None`: not a usable key).
type Keys = std::collections::HashMap<NodeId, Option<ed25519_dalek::VerifyingKey>>;

/// A received change after the envelope check of [`SignedChange::checked`], what
/// [`Replica::apply_batch`](crate::Replica::apply_batch) takes.
// `Verified` (with its decoded change) is the common variant: boxing it would allocate once
// more per change for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Checked {
    /// The envelope verified: applied without checking it again.
    Verified(Verified),
    /// The envelope did not verify (or its bytes do not decode): `Replica::apply` gives the
    /// verdict where it stands in the batch (a duplicate of a held change, else the error).
    Unverified(SignedChange),
    /// A covered change (no signature) whose bytes and actor binding check: verified when a
    /// later signed change of its signer in the batch covers it ([`cover`]).
    Covered(Verified),
}

impl Checked {
    /// The signed change.
    pub fn signed(&self) -> &SignedChange {
        match self {
            Checked::Verified(v) | Checked::Covered(v) => v.signed(),
            Checked::Unverified(sc) => sc,
        }
    }
}

/// Turns the covered changes of `batch` that a verified *signed* change of the same signer
/// has in its history — through changes of the batch — into verified ones, in place, and
/// returns the indexes of the others (uncovered, left as [`Checked::Covered`]). A change's
/// hash covers its dependencies' hashes, so a valid signature over a change vouches for the
/// bytes of its whole history, and the actor binding makes the signer the author of the
/// changes of its own key in it. The walk passes through every change of the batch whose
/// bytes decode, whatever its standing: only the hashes matter.
pub fn cover(batch: &mut [Checked]) -> Vec<usize> {
    use std::collections::{HashMap, HashSet};
    if !batch.iter().any(|c| matches!(c, Checked::Covered(_))) {
        return Vec::new();
    }
    // The batch's changes whose bytes decode: hash → (index, dependencies).
    let mut graph: HashMap<automerge::ChangeHash, (usize, Vec<automerge::ChangeHash>)> =
        HashMap::new();
    for (i, c) in batch.iter().enumerate() {
        let parsed = match c {
            Checked::Verified(v) | Checked::Covered(v) => {
                Some((v.hash(), v.change.deps().to_vec()))
            }
            Checked::Unverified(sc) => sc.parse().ok().map(|p| (p.hash(), p.deps().to_vec())),
        };
        if let Some((h, deps)) = parsed {
            graph.entry(h).or_insert((i, deps));
        }
    }
    // Walk back from each signed change, per signer; a change is visited once per signer.
    let mut seen: HashSet<(NodeId, automerge::ChangeHash)> = HashSet::new();
    let mut covered: HashSet<usize> = HashSet::new();
    for c in batch.iter() {
        let Checked::Verified(v) = c else { continue };
        if v.signed.signature.is_none() {
            continue;
        }
        let key = v.signed.signer;
        let mut stack: Vec<automerge::ChangeHash> = v.change.deps().to_vec();
        while let Some(h) = stack.pop() {
            if !seen.insert((key, h)) {
                continue;
            }
            let Some((i, deps)) = graph.get(&h) else {
                continue;
            };
            if let Some(Checked::Covered(cv)) = batch.get(*i)
                && cv.signed.signer == key
            {
                covered.insert(*i);
            }
            stack.extend(deps.iter().copied());
        }
    }
    let mut uncovered = Vec::new();
    for (i, c) in batch.iter_mut().enumerate() {
        if let Checked::Covered(v) = c {
            if covered.contains(&i) {
                *c = Checked::Verified(v.clone());
            } else {
                uncovered.push(i);
            }
        }
    }
    uncovered
}

/// Packs the signatures of a document's changes (in ascending order of change hash; `None`
/// for a covered change): a bitmap of which are present (bit `i % 8` of byte `i / 8`), then
/// the 64 bytes of each present one, in order.
pub fn pack_signatures(sigs: &[Option<Signature>]) -> Vec<u8> {
    let present = sigs.iter().filter(|s| s.is_some()).count();
    let mut out = vec![0u8; sigs.len().div_ceil(8)];
    out.reserve(present * 64);
    for (i, s) in sigs.iter().enumerate() {
        if s.is_some()
            && let Some(b) = out.get_mut(i / 8)
        {
            *b |= 1 << (i % 8);
        }
    }
    for s in sigs.iter().flatten() {
        out.extend_from_slice(s.as_bytes());
    }
    out
}

/// The signatures of `n` changes packed by [`pack_signatures`]; an error naming what does not
/// fit (the length, or bits set beyond `n`).
pub fn unpack_signatures(bytes: &[u8], n: usize) -> Result<Vec<Option<Signature>>, String> {
    let map_len = n.div_ceil(8);
    let Some((map, rest)) = bytes.split_at_checked(map_len) else {
        return Err(format!(
            "the signatures of {n} changes need a {map_len}-byte bitmap, only {} bytes are there",
            bytes.len()
        ));
    };
    if !n.is_multiple_of(8) && map.last().is_some_and(|b| b >> (n % 8) != 0) {
        return Err(format!(
            "the bitmap marks signatures beyond the {n} changes"
        ));
    }
    let present: usize = map.iter().map(|b| b.count_ones() as usize).sum();
    if rest.len() != present * 64 {
        return Err(format!(
            "the bitmap marks {present} signatures ({} bytes) but {} bytes follow it",
            present * 64,
            rest.len()
        ));
    }
    let mut sigs = rest.chunks_exact(64);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let bit = map.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        let sig = if bit { sigs.next() } else { None };
        out.push(sig.map(|s| {
            let mut a = [0u8; 64];
            a.copy_from_slice(s);
            Signature(a)
        }));
    }
    Ok(out)
}

/// Where a list of changes (in causal order, as a sender sends them) may be cut into
/// batches that each carry the cover of their covered changes: `cuts[i]` is whether a batch
/// may end after change `i`, i.e. every covered change up to `i` has a later signed change of
/// its key up to `i` with it in its history (the path between them lies in between, the list
/// being causal). A covered change nothing in the list covers does not hold a cut back (no
/// batch would cover it).
pub fn cover_cuts(changes: &[SignedChange]) -> Vec<bool> {
    use std::collections::{HashMap, HashSet};
    if changes.iter().all(|sc| sc.signature.is_some()) {
        return vec![true; changes.len()];
    }
    let parsed: Vec<Option<Change>> = changes.iter().map(|sc| sc.parse().ok()).collect();
    let pos: HashMap<automerge::ChangeHash, usize> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().map(|c| (c.hash(), i)))
        .collect();
    // The first position of a signed change of its key that covers each covered change.
    let mut covered_at: Vec<Option<usize>> = vec![None; changes.len()];
    let mut seen: HashSet<(NodeId, usize)> = HashSet::new();
    for (d, sc) in changes.iter().enumerate() {
        let Some(c) = parsed.get(d).and_then(Option::as_ref) else {
            continue;
        };
        if sc.signature.is_none() {
            continue;
        }
        let key = sc.signer;
        let mut stack: Vec<usize> = c
            .deps()
            .iter()
            .filter_map(|h| pos.get(h).copied())
            .collect();
        while let Some(i) = stack.pop() {
            if !seen.insert((key, i)) {
                continue;
            }
            if changes[i].signature.is_none() && changes[i].signer == key {
                covered_at[i].get_or_insert(d);
            }
            if let Some(ci) = parsed.get(i).and_then(Option::as_ref) {
                stack.extend(ci.deps().iter().filter_map(|h| pos.get(h).copied()));
            }
        }
    }
    let mut need = 0usize;
    let mut cuts = Vec::with_capacity(changes.len());
    for (i, sc) in changes.iter().enumerate() {
        if sc.signature.is_none() {
            need = need.max(covered_at[i].unwrap_or(i));
        }
        cuts.push(need <= i);
    }
    cuts
}

/// One change of a document's history, for [`signatures_to_keep`].
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// Its hash.
    pub hash: automerge::ChangeHash,
    /// Its signer (the key in its actor id).
    pub signer: NodeId,
    /// Its sequence number.
    pub seq: u64,
    /// Its dependencies.
    pub deps: Vec<automerge::ChangeHash>,
    /// Whether its own signature is at hand.
    pub signed: bool,
}

/// Which signatures a store keeps for a document's accepted changes (`history`, in causal
/// order): a change's signature is dropped when a kept signature of a later change of the
/// same key has it in its history (it is covered), except at every [`CHECKPOINT_EVERY`]-th
/// sequence number, so a long history can be sent in batches that each carry their cover.
/// The newest change of each key always keeps its signature (nothing later covers it).
pub fn signatures_to_keep(
    history: &[HistoryEntry],
) -> std::collections::HashSet<automerge::ChangeHash> {
    use std::collections::{HashMap, HashSet};
    // For each change, the keys whose kept signatures cover it (from its descendants).
    let mut covering: HashMap<automerge::ChangeHash, HashSet<NodeId>> = HashMap::new();
    let mut keep = HashSet::new();
    for e in history.iter().rev() {
        let mut keys = covering.remove(&e.hash).unwrap_or_default();
        let kept = e.signed && (e.seq % CHECKPOINT_EVERY == 0 || !keys.contains(&e.signer));
        if kept {
            keep.insert(e.hash);
            keys.insert(e.signer);
        }
        for d in &e.deps {
            covering.entry(*d).or_default().extend(keys.iter().copied());
        }
    }
    keep
}

/// Checks the envelopes of `changes` (decoding and ed25519 signature, the costly part of
/// receiving a change) on `workers` threads (this one included), each taking a contiguous
/// share; the result is in the order of `changes`. Every signature is verified on its own
/// ([`identity::verify`], strict): ed25519 batch verification accepts, in about half of the
/// batches, a signature whose `R` carries a small torsion component that the strict check
/// refuses, so which batch a change arrived in would decide whether it is accepted (see
/// ARCHITECTURE.md, "Batched receive").
pub fn check_all(changes: Vec<SignedChange>, workers: usize) -> Vec<Checked> {
    /// Below this many changes per thread, starting threads costs more than it saves.
    const MIN_PER_WORKER: usize = 16;
    let workers = workers.clamp(1, (changes.len() / MIN_PER_WORKER).max(1));
    // A batch has few signers: each key is decompressed and checked once per thread.
    let check = |part: Vec<SignedChange>| -> Vec<Checked> {
        let mut keys = Keys::new();
        part.into_iter()
            .map(|sc| sc.checked_with(&mut keys))
            .collect()
    };
    if workers == 1 {
        return check(changes);
    }
    let share = changes.len().div_ceil(workers);
    let mut parts: Vec<Vec<SignedChange>> = Vec::with_capacity(workers);
    let mut it = changes.into_iter().peekable();
    while it.peek().is_some() {
        parts.push(it.by_ref().take(share).collect());
    }
    let mut parts = parts.into_iter();
    let mine = parts.next().unwrap_or_default();
    std::thread::scope(|s| {
        let handles: Vec<_> = parts.map(|part| s.spawn(move || check(part))).collect();
        let mut out: Vec<Checked> = check(mine);
        for h in handles {
            match h.join() {
                Ok(part) => out.extend::<Vec<Checked>>(part),
                // A verification never panics on any input; if one did, pass it on.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// One automerge change for one document, signed by a node key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedChange {
    /// The document the change belongs to.
    pub doc: DocId,
    /// Raw automerge change bytes (an uncompressed change chunk).
    pub change: Vec<u8>,
    /// The signing key; must be the key in the change's actor id.
    pub signer: NodeId,
    /// Signature by `signer` over [`signing_message`] of `doc` and the change hash; `None`
    /// for a covered change (module docs).
    pub signature: Option<Signature>,
}

impl SignedChange {
    /// Signs `change` (raw bytes, e.g. `Change::raw_bytes()`) for `doc`. The change must be
    /// a canonical uncompressed change authored by `keypair`'s key (actor = key ‖ 8 bytes).
    pub fn sign(keypair: &Keypair, doc: DocId, change: &[u8]) -> Result<SignedChange, SignedError> {
        let parsed = parse_canonical(change)?;
        let signer = keypair.node_id();
        let author = author_key(&parsed)?;
        if author != signer {
            return Err(SignedError::ActorMismatch {
                actor: author.short(),
                signer: signer.short(),
            });
        }
        let signature = keypair.sign(&signing_message(&doc, &parsed.hash().0));
        Ok(SignedChange {
            doc,
            change: change.to_vec(),
            signer,
            signature: Some(signature),
        })
    }

    /// Checks the envelope and returns the decoded change: size limit, canonical change bytes
    /// (never panics on garbage), actor ↔ signer binding, then the signature over the
    /// document id and change hash (a covered change is [`SignedError::Uncovered`]: alone it
    /// proves nothing). Certificates, revocations and write policies are checked by the
    /// caller.
    pub fn verify(&self) -> Result<Change, SignedError> {
        let change = parse_canonical(&self.change)?;
        self.check_parsed(&change)?;
        Ok(change)
    }

    /// Actor ↔ signer binding and signature of a change decoded from `self.change`.
    fn check_parsed(&self, change: &Change) -> Result<(), SignedError> {
        self.check_parsed_with(change, &mut Keys::new())
    }

    /// Actor ↔ signer binding of a change decoded from `self.change`.
    pub(crate) fn check_author(&self, change: &Change) -> Result<(), SignedError> {
        let author = author_key(change)?;
        if author != self.signer {
            return Err(SignedError::ActorMismatch {
                actor: author.short(),
                signer: self.signer.short(),
            });
        }
        Ok(())
    }

    /// The error of a covered change that nothing covers.
    pub(crate) fn uncovered(&self, change: &Change) -> SignedError {
        SignedError::Uncovered {
            change: hex::encode(&change.hash().0[..4]),
            signer: self.signer.short(),
        }
    }

    /// [`SignedChange::check_parsed`] with the signers' keys decompressed once in `keys`.
    fn check_parsed_with(&self, change: &Change, keys: &mut Keys) -> Result<(), SignedError> {
        self.check_author(change)?;
        let Some(signature) = &self.signature else {
            return Err(self.uncovered(change));
        };
        let key = keys
            .entry(self.signer)
            .or_insert_with(|| identity::verifying_key(&self.signer).ok())
            .as_ref()
            .ok_or(SignedError::BadSignature)?;
        identity::verify_with(
            key,
            &self.signer,
            &signing_message(&self.doc, &change.hash().0),
            signature,
        )
        .map_err(|_| SignedError::BadSignature)
    }

    /// [`SignedChange::checked`] with the signers' keys decompressed once in `keys`.
    fn checked_with(self, keys: &mut Keys) -> Checked {
        let checked = parse_canonical(&self.change).and_then(|change| {
            if self.signature.is_none() {
                self.check_author(&change).map(|()| change)
            } else {
                self.check_parsed_with(&change, keys).map(|()| change)
            }
        });
        match checked {
            Ok(change) if self.signature.is_none() => Checked::Covered(Verified {
                signed: self,
                change,
            }),
            Ok(change) => Checked::Verified(Verified {
                signed: self,
                change,
            }),
            Err(_) => Checked::Unverified(self),
        }
    }

    /// Checks the envelope like [`SignedChange::verify`] and keeps the decoded change with
    /// it: the only way to make a [`Verified`], which
    /// [`Replica::apply_verified`](crate::Replica::apply_verified) takes without checking the
    /// envelope again. Pure, so it can run on other threads than the replica's. On failure the
    /// change is handed back with the error.
    // The change is handed back by value on the (rare) error path, as large as the `Ok` one.
    #[allow(clippy::result_large_err)]
    pub fn verified(self) -> Result<Verified, (SignedChange, SignedError)> {
        match self.verify() {
            Ok(change) => Ok(Verified {
                signed: self,
                change,
            }),
            Err(e) => Err((self, e)),
        }
    }

    /// [`SignedChange::verified`], keeping a change whose envelope fails for the replica to
    /// judge in its place in a batch.
    pub fn checked(self) -> Checked {
        match self.verified() {
            Ok(v) => Checked::Verified(v),
            Err((sc, _)) => Checked::Unverified(sc),
        }
    }

    /// The decoded change bytes (canonical, within the size limit), without checking the
    /// signature.
    pub(crate) fn parse(&self) -> Result<Change, SignedError> {
        parse_canonical(&self.change)
    }

    /// The rest of [`SignedChange::verify`] for a change already decoded by
    /// [`SignedChange::parse`] from these bytes: actor ↔ signer binding and signature.
    pub(crate) fn verify_parsed(self, change: Change) -> Result<Verified, SignedError> {
        self.check_parsed(&change)?;
        Ok(Verified {
            signed: self,
            change,
        })
    }

    /// The hash of the change, when the change bytes decode.
    pub fn change_hash(&self) -> Result<automerge::ChangeHash, SignedError> {
        parse_canonical(&self.change).map(|c| c.hash())
    }

    /// The versioned binary encoding (layout in the [module documentation](self)). A change
    /// longer than [`MAX_CHANGE_BYTES`] is encoded as is but refused by
    /// [`SignedChange::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.change.len());
        out.push(if self.signature.is_some() {
            ENCODING_VERSION
        } else {
            COVERED_VERSION
        });
        out.extend_from_slice(self.doc.as_bytes());
        out.extend_from_slice(self.signer.as_bytes());
        if let Some(signature) = &self.signature {
            out.extend_from_slice(signature.as_bytes());
        }
        let len = u32::try_from(self.change.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.change);
        out
    }

    /// Decodes [`SignedChange::encode`]'s output. Checks the structure only (version,
    /// lengths, no trailing bytes); call [`SignedChange::verify`] before trusting it.
    pub fn decode(bytes: &[u8]) -> Result<SignedChange, SignedError> {
        let Some(&version) = bytes.first() else {
            return Err(SignedError::Truncated {
                needed: HEADER_LEN,
                got: 0,
            });
        };
        let header_len = match version {
            ENCODING_VERSION => HEADER_LEN,
            COVERED_VERSION => COVERED_HEADER_LEN,
            other => return Err(SignedError::UnknownVersion(other)),
        };
        let Some((header, rest)) = bytes.split_at_checked(header_len) else {
            return Err(SignedError::Truncated {
                needed: header_len,
                got: bytes.len(),
            });
        };
        let mut doc = [0u8; 32];
        let mut signer = [0u8; 32];
        let mut len = [0u8; 4];
        doc.copy_from_slice(&header[1..33]);
        signer.copy_from_slice(&header[33..65]);
        let signature = (version == ENCODING_VERSION).then(|| {
            let mut signature = [0u8; 64];
            signature.copy_from_slice(&header[65..129]);
            Signature(signature)
        });
        len.copy_from_slice(&header[header_len - 4..header_len]);
        let len = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
        if len > MAX_CHANGE_BYTES {
            return Err(SignedError::Oversized {
                size: len,
                limit: MAX_CHANGE_BYTES,
            });
        }
        if rest.len() < len {
            return Err(SignedError::Truncated {
                needed: header_len + len,
                got: bytes.len(),
            });
        }
        if rest.len() > len {
            return Err(SignedError::TrailingBytes(rest.len() - len));
        }
        Ok(SignedChange {
            doc: DocId(doc),
            change: rest.to_vec(),
            signer: NodeId(signer),
            signature,
        })
    }

    /// The same change without its signature (covered by a later signed change of its
    /// signer, module docs).
    pub fn without_signature(mut self) -> SignedChange {
        self.signature = None;
        self
    }
}

#[cfg(test)]
#[path = "signed_tests.rs"]
mod tests;
