//! The versioned binary encoding of sync messages, with explicit size limits.
//!
//! Every message is `[WIRE_VERSION: u8][tag: u8][fields…]`. Integers are little-endian;
//! byte strings and lists are prefixed with a `u32` length (lists: element count), and every
//! length is checked against the bytes that remain and the limits below before anything is
//! allocated.

use automerge::ChangeHash;

use crate::cert::Certificate;
use crate::ids::{DocId, NodeId};
use crate::signed::SignedChange;

use super::{Message, SyncError, WantDoc};

/// Version of the message encoding.
pub const WIRE_VERSION: u8 = 1;
/// Largest encoded message.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// Most heads listed for one document.
pub const MAX_HEADS: usize = 1024;
/// Most documents in one want list.
pub const MAX_WANTS: usize = 100_000;
/// Most certificates in a hello.
pub const MAX_CERTS: usize = 8;

const HELLO: u8 = 1;
const RECONCILE: u8 = 2;
const WANT: u8 = 3;
const CHANGES: u8 = 4;
const DONE: u8 = 5;
const ANNOUNCE: u8 = 6;
const ABORT: u8 = 7;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: usize) {
        // Invariant: every list and byte string is bounded far below u32::MAX by the limits
        // of this module (the encoder is only fed what the decoder would accept).
        let v = u32::try_from(v).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len());
        self.0.extend_from_slice(b);
    }
    fn id(&mut self, b: &[u8; 32]) {
        self.0.extend_from_slice(b);
    }
    fn wants(&mut self, wants: &[WantDoc]) {
        self.u32(wants.len());
        for w in wants {
            self.id(&w.doc.0);
            self.u16(u16::try_from(w.heads.len()).unwrap_or(u16::MAX));
            for h in &w.heads {
                self.id(&h.0);
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SyncError> {
        if self.buf.len() < n {
            return Err(SyncError::Malformed(format!(
                "{what}: needs {n} bytes, {} left",
                self.buf.len()
            )));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, SyncError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, SyncError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn len(&mut self, what: &'static str, max: usize) -> Result<usize, SyncError> {
        let b = self.take(4, what)?;
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if n > max {
            return Err(SyncError::TooLarge {
                what,
                size: n,
                limit: max,
            });
        }
        Ok(n)
    }
    fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], SyncError> {
        let n = self.len(what, max)?;
        self.take(n, what)
    }
    fn id(&mut self, what: &'static str) -> Result<[u8; 32], SyncError> {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.take(32, what)?);
        Ok(out)
    }
    fn wants(&mut self) -> Result<Vec<WantDoc>, SyncError> {
        let n = self.len("want list", MAX_WANTS)?;
        // Each entry is at least 34 bytes: refuse counts the buffer cannot hold.
        if n.saturating_mul(34) > self.buf.len() {
            return Err(SyncError::Malformed(
                "want list longer than the message".into(),
            ));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let doc = DocId(self.id("want doc")?);
            let k = usize::from(self.u16("want heads")?);
            if k > MAX_HEADS {
                return Err(SyncError::TooLarge {
                    what: "heads",
                    size: k,
                    limit: MAX_HEADS,
                });
            }
            let mut heads = Vec::with_capacity(k);
            for _ in 0..k {
                heads.push(ChangeHash(self.id("head")?));
            }
            out.push(WantDoc { doc, heads });
        }
        Ok(out)
    }
}

/// Encodes a message.
pub fn encode(m: &Message) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64));
    w.u8(WIRE_VERSION);
    match m {
        Message::Hello {
            version,
            node,
            chain,
            live,
            relay,
        } => {
            w.u8(HELLO);
            w.u16(*version);
            w.id(&node.0);
            w.u8(u8::from(*live) | (u8::from(*relay) << 1));
            w.u32(chain.len());
            for c in chain {
                w.bytes(&crate::document::to_json(c).into_bytes());
            }
        }
        Message::Reconcile(frame) => {
            w.u8(RECONCILE);
            w.bytes(frame);
        }
        Message::Want { offer, need } => {
            w.u8(WANT);
            w.wants(offer);
            w.u32(need.len());
            for key in need {
                w.0.extend_from_slice(key);
            }
        }
        Message::Changes {
            changes,
            want,
            more,
        } => {
            w.u8(CHANGES);
            w.u32(changes.len());
            for c in changes {
                w.bytes(&c.encode());
            }
            w.wants(want);
            w.u8(u8::from(*more));
        }
        Message::Done => w.u8(DONE),
        Message::Announce { doc, heads } => {
            w.u8(ANNOUNCE);
            w.wants(&[WantDoc {
                doc: *doc,
                heads: heads.clone(),
            }]);
        }
        Message::Abort(reason) => {
            w.u8(ABORT);
            w.bytes(reason.as_bytes());
        }
    }
    w.0
}

/// Decodes a message, refusing anything malformed, oversized or of an unknown version.
pub fn decode(bytes: &[u8]) -> Result<Message, SyncError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(SyncError::TooLarge {
            what: "message",
            size: bytes.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    let mut r = Reader { buf: bytes };
    let version = r.u8("version")?;
    if version != WIRE_VERSION {
        return Err(SyncError::Version {
            got: u16::from(version),
            supported: u16::from(WIRE_VERSION),
        });
    }
    let m = match r.u8("tag")? {
        HELLO => {
            let version = r.u16("protocol version")?;
            let node = NodeId(r.id("node")?);
            let flags = r.u8("flags")?;
            if flags > 3 {
                return Err(SyncError::Malformed(format!(
                    "unknown hello flags {flags:#x}"
                )));
            }
            let (live, relay) = (flags & 1 != 0, flags & 2 != 0);
            let n = r.len("certificates", MAX_CERTS)?;
            let mut chain = Vec::with_capacity(n);
            for _ in 0..n {
                let b = r.bytes("certificate", 64 * 1024)?;
                let c: Certificate = serde_json::from_slice(b)
                    .map_err(|e| SyncError::Malformed(format!("certificate: {e}")))?;
                chain.push(c);
            }
            Message::Hello {
                version,
                node,
                chain,
                live,
                relay,
            }
        }
        RECONCILE => Message::Reconcile(r.bytes("reconcile frame", MAX_MESSAGE_BYTES)?.to_vec()),
        WANT => {
            let offer = r.wants()?;
            let n = r.len("need list", MAX_WANTS)?;
            if n.saturating_mul(12) > r.buf.len() {
                return Err(SyncError::Malformed(
                    "need list longer than the message".into(),
                ));
            }
            let mut need = Vec::with_capacity(n);
            for _ in 0..n {
                let mut key = [0u8; 12];
                key.copy_from_slice(r.take(12, "need key")?);
                need.push(key);
            }
            Message::Want { offer, need }
        }
        CHANGES => {
            let n = r.len("changes", MAX_MESSAGE_BYTES / 133)?;
            let mut changes = Vec::with_capacity(n.min(r.buf.len() / 133));
            for _ in 0..n {
                let b = r.bytes("change", crate::document::MAX_CHANGE_BYTES + 256)?;
                changes.push(
                    SignedChange::decode(b).map_err(|e| SyncError::Malformed(e.to_string()))?,
                );
            }
            let want = r.wants()?;
            let more = r.u8("more")? != 0;
            Message::Changes {
                changes,
                want,
                more,
            }
        }
        DONE => Message::Done,
        ANNOUNCE => {
            let mut w = r.wants()?;
            if w.len() != 1 {
                return Err(SyncError::Malformed(
                    "an announcement names one document".into(),
                ));
            }
            let w = w.remove(0);
            Message::Announce {
                doc: w.doc,
                heads: w.heads,
            }
        }
        ABORT => {
            let b = r.bytes("abort reason", 4096)?;
            Message::Abort(String::from_utf8_lossy(b).into_owned())
        }
        t => return Err(SyncError::Malformed(format!("unknown message tag {t}"))),
    };
    if !r.buf.is_empty() {
        return Err(SyncError::Malformed(format!(
            "{} trailing bytes after the message",
            r.buf.len()
        )));
    }
    Ok(m)
}
