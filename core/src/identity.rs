//! Node identity: ed25519 keys and signatures.
//!
//! A node's identity is its ed25519 public key ([`NodeId`]). This module holds the signing
//! half ([`Keypair`]), the 64-byte [`Signature`], strict verification ([`verify`]) and a
//! readable text form of a node id ([`node_id_to_base32`]).
//!
//! Nothing here generates keys: the caller (the node crate) passes in 32 bytes from its own
//! source of randomness, so this crate stays free of OS randomness.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::NodeId;

/// Errors about keys, signatures and their text forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The 32 bytes of a node id are not a usable ed25519 public key (not a curve point, or a
    /// weak small-order point).
    #[error("node id {0} is not a valid ed25519 public key")]
    BadPublicKey(String),
    /// The signature does not verify for the message under the given key.
    #[error("signature does not verify for key {0}")]
    BadSignature(String),
    /// A text form of a node id could not be parsed.
    #[error("{got:?} is not a base32 node id (`ln` + 52 characters a-z, 2-7): {reason}")]
    BadNodeText {
        /// The offending text (shortened).
        got: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// A signature's hex text form had the wrong length or a non-hex character.
    #[error("signature must be 128 hex characters, got {0:?}")]
    BadSignatureHex(String),
}

/// A node's ed25519 signing key. `Debug` shows only the public key; the secret is zeroized
/// when the value is dropped.
#[derive(Clone)]
pub struct Keypair(SigningKey);

impl Keypair {
    /// The key pair of a 32-byte ed25519 secret (seed). The caller provides the randomness.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(secret))
    }
    /// The 32-byte secret, e.g. to store it. Handle with care.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// The public key: this node's identity.
    pub fn node_id(&self) -> NodeId {
        NodeId(self.0.verifying_key().to_bytes())
    }
    /// Signs `msg` (deterministic ed25519, RFC 8032).
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret hidden)", self.node_id().short())
    }
}

/// An ed25519 signature (64 bytes). Text and serde form: 128 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
    /// First 8 hex characters, for logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}
impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", self.short())
    }
}
impl FromStr for Signature {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, IdentityError> {
        let mut out = [0u8; 64];
        hex::decode_to_slice(s, &mut out)
            .map_err(|_| IdentityError::BadSignatureHex(s.chars().take(140).collect()))?;
        Ok(Self(out))
    }
}
impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Verifies `sig` over `msg` by the key `node`, strictly: non-canonical signatures and weak
/// (small-order) keys are refused. Never panics on arbitrary key or signature bytes.
pub fn verify(node: &NodeId, msg: &[u8], sig: &Signature) -> Result<(), IdentityError> {
    verify_with(&verifying_key(node)?, node, msg, sig)
}

/// The key `node` decompressed for verifying, refused when it is not a point or weak
/// (small-order): the key half of [`verify`], to do once for many signatures of one key.
pub(crate) fn verifying_key(node: &NodeId) -> Result<VerifyingKey, IdentityError> {
    let key = VerifyingKey::from_bytes(node.as_bytes())
        .map_err(|_| IdentityError::BadPublicKey(node.short()))?;
    if key.is_weak() {
        return Err(IdentityError::BadPublicKey(node.short()));
    }
    Ok(key)
}

/// The signature half of [`verify`], with the key from [`verifying_key`] of `node`.
pub(crate) fn verify_with(
    key: &VerifyingKey,
    node: &NodeId,
    msg: &[u8],
    sig: &Signature,
) -> Result<(), IdentityError> {
    key.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig.0))
        .map_err(|_| IdentityError::BadSignature(node.short()))
}

const BASE32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Prefix of the base32 text form of a node id.
pub const NODE_TEXT_PREFIX: &str = "ln";
/// Number of base32 characters after the prefix (256 bits / 5, rounded up).
const NODE_BASE32_LEN: usize = 52;

/// The readable text form of a node id: `ln` followed by the 32 key bytes in lower-case
/// RFC 4648 base32 without padding (52 characters; 54 in all).
pub fn node_id_to_base32(node: &NodeId) -> String {
    let mut out = String::with_capacity(NODE_TEXT_PREFIX.len() + NODE_BASE32_LEN);
    out.push_str(NODE_TEXT_PREFIX);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &b in node.as_bytes() {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32_ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[((acc << (5 - bits)) & 31) as usize],
        ));
    }
    out
}

/// Parses the text form written by [`node_id_to_base32`]. Strict: the `ln` prefix, exactly
/// 52 lower-case base32 characters, and zero padding bits (so every node id has exactly one
/// text form).
pub fn node_id_from_base32(text: &str) -> Result<NodeId, IdentityError> {
    let bad = |reason| IdentityError::BadNodeText {
        got: text.chars().take(60).collect(),
        reason,
    };
    let body = text
        .strip_prefix(NODE_TEXT_PREFIX)
        .ok_or_else(|| bad("missing the `ln` prefix"))?;
    if body.len() != NODE_BASE32_LEN {
        return Err(bad("wrong length"));
    }
    let mut out = [0u8; 32];
    let mut n = 0;
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for c in body.bytes() {
        let v = match c {
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return Err(bad("character outside a-z, 2-7")),
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // 52 characters carry 260 bits: exactly 32 whole bytes plus 4 padding bits, so
            // `n` stays below 32 (the length was checked above).
            if let Some(slot) = out.get_mut(n) {
                *slot = ((acc >> bits) & 0xff) as u8;
            }
            n += 1;
        }
        acc &= (1 << bits) - 1;
    }
    if n != 32 || acc != 0 {
        return Err(bad("non-zero padding bits"));
    }
    Ok(NodeId(out))
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
