//! The request-response protocol `/linli/sync/1` that carries linli-core sync messages.
//!
//! A frame is a `u32` little-endian length followed by that many bytes; frames above
//! [`FRAME_LIMIT`] are refused before anything is allocated. Inside, a tag byte:
//!
//! * request `1` Session: `u64` session id, then messages — the initiator's messages of
//!   a session (the first request carries its hello);
//! * request `2` Continue: `u64` session id — the next part of the responder's answer;
//! * request `3` Live: messages — a live pull or push outside sessions;
//! * request `4` Personal: messages — one step of the personal-record exchange
//!   (`linli_core::personal::Exchange`), answered with messages;
//! * request `5` Join: the one-time secret of a join code (`linli join`) — the only request
//!   a peer without a certificate is answered; answered with one message, the federation
//!   document's id, once the certificate was issued, else `Refused` with the reason;
//! * request `6` Snapshots: a flag byte, then (flag 1) the 32-byte id of the last document
//!   already received — a fast join asks a peer for its documents as snapshots, in order
//!   of id, page after page; answered with one message per document
//!   (`fastjoin::PeerSnapshot`, at least one a frame, ≈ [`FRAME_TARGET`] a frame) and
//!   `more` while documents follow. Sent over its own protocol ([`SNAPSHOT_PROTOCOL`]), so
//!   a peer of an older version refuses it at negotiation (and the asker falls back to
//!   sessions) instead of reading it as a malformed request;
//! * response `1` Messages: `u8` more-flag, then messages;
//! * response `2` Refused: UTF-8 reason — the peer is refused (then disconnected).
//!
//! Messages are a `u32` count then, for each, a `u32` length and the bytes.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::prelude::*;
use libp2p::StreamProtocol;
use libp2p::request_response;

/// The protocol name.
pub(crate) const PROTOCOL: StreamProtocol = StreamProtocol::new("/linli/sync/1");
/// The protocol name of nodes on a training clock: they never sync with nodes on real time.
pub(crate) const TRAINING_PROTOCOL: StreamProtocol = StreamProtocol::new("/linli/sync/1/training");

/// The protocol of fast-join snapshot requests (request type 6 only).
pub(crate) const SNAPSHOT_PROTOCOL: StreamProtocol = StreamProtocol::new("/linli/snapshots/1");
/// [`SNAPSHOT_PROTOCOL`] of nodes on a training clock.
pub(crate) const SNAPSHOT_TRAINING_PROTOCOL: StreamProtocol =
    StreamProtocol::new("/linli/snapshots/1/training");

/// The snapshot protocol of a node on real time (`training` false) or on a training clock.
pub(crate) fn snapshot_protocol(training: bool) -> StreamProtocol {
    if training {
        SNAPSHOT_TRAINING_PROTOCOL
    } else {
        SNAPSHOT_PROTOCOL
    }
}

/// The sync protocol of a node on real time (`training` false) or on a training clock.
pub(crate) fn protocol(training: bool) -> StreamProtocol {
    if training {
        TRAINING_PROTOCOL
    } else {
        PROTOCOL
    }
}
/// Largest frame accepted.
pub(crate) const FRAME_LIMIT: usize = 16 << 20;
/// Target size of the messages put in one frame.
pub(crate) const FRAME_TARGET: usize = 2 << 20;
/// Most messages in one frame.
const MAX_MESSAGES: usize = 65_536;

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    Session {
        id: u64,
        msgs: Vec<Vec<u8>>,
    },
    Continue {
        id: u64,
    },
    Live {
        msgs: Vec<Vec<u8>>,
    },
    Personal {
        msgs: Vec<Vec<u8>>,
    },
    Join {
        secret: Vec<u8>,
    },
    /// Fast join: the documents after `after` (by id) as snapshots.
    Snapshots {
        after: Option<linli_core::DocId>,
    },
    /// Not sent: what a malformed or oversized frame reads as, so the node can answer and
    /// drop the peer (libp2p does not report failed reads to the behaviour).
    Malformed(String),
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Response {
    Msgs { msgs: Vec<Vec<u8>>, more: bool },
    Refused(String),
}

/// Bytes of frames being read at once, over all connections: a frame that would pass it
/// is not read (the stream fails; the sender may retry), so slow or endless senders cannot
/// make the node hold more than this in half-read frames.
pub(crate) const READ_BUDGET: usize = 256 << 20;

/// A request frame must be read whole within this (from the stream's opening): a sender
/// that stalls or trickles is answered `Refused` and dropped. (At ≈ 2 MiB a frame, an
/// honest sender needs about 70 KB/s.) Responses have no such deadline: their wait includes
/// the peer's work on the request, bounded by the request timeout.
pub(crate) const READ_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// The codec. Clones (one per connection) share the budget of bytes being read.
#[derive(Debug, Clone)]
pub(crate) struct SyncCodec {
    reading: Arc<AtomicUsize>,
    budget: usize,
}

impl Default for SyncCodec {
    fn default() -> Self {
        SyncCodec::with_budget(READ_BUDGET)
    }
}

impl SyncCodec {
    fn with_budget(budget: usize) -> Self {
        SyncCodec {
            reading: Arc::default(),
            budget,
        }
    }

    /// Reads one frame within the shared budget. The buffer grows as bytes arrive, so a
    /// sender that announces a large frame and trickles it costs what it sent.
    async fn read_frame<T: AsyncRead + Unpin + Send>(&self, io: &mut T) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let len = u32::from_le_bytes(len) as usize;
        if len > FRAME_LIMIT {
            return Err(bad(format!(
                "sync frame of {len} bytes exceeds the limit of {FRAME_LIMIT}"
            )));
        }
        let _reserved = Reserved::take(&self.reading, len, self.budget)?;
        let mut buf = Vec::with_capacity(len.min(256 << 10));
        io.take(len as u64).read_to_end(&mut buf).await?;
        if buf.len() < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("sync frame ended after {} of {len} bytes", buf.len()),
            ));
        }
        Ok(buf)
    }
}

/// Bytes reserved from the read budget, given back when dropped (also when the read is
/// cancelled by the stream's timeout).
struct Reserved<'a> {
    reading: &'a AtomicUsize,
    n: usize,
}

impl<'a> Reserved<'a> {
    fn take(reading: &'a AtomicUsize, n: usize, budget: usize) -> io::Result<Reserved<'a>> {
        let before = reading.fetch_add(n, Ordering::AcqRel);
        if before + n > budget {
            reading.fetch_sub(n, Ordering::AcqRel);
            return Err(io::Error::other(format!(
                "busy: {before} bytes of other frames are being read"
            )));
        }
        Ok(Reserved { reading, n })
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.reading.fetch_sub(self.n, Ordering::AcqRel);
    }
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn put_msgs(out: &mut Vec<u8>, msgs: &[Vec<u8>]) {
    out.extend((msgs.len() as u32).to_le_bytes());
    for m in msgs {
        out.extend((m.len() as u32).to_le_bytes());
        out.extend(m);
    }
}

/// A cursor over a frame's bytes that never reads past the end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.0.len() < n {
            return Err(bad("truncated sync frame"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> io::Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn msgs(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let n = self.u32()? as usize;
        if n > MAX_MESSAGES {
            return Err(bad(format!(
                "{n} messages in one frame (limit {MAX_MESSAGES})"
            )));
        }
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let len = self.u32()? as usize;
            out.push(self.take(len)?.to_vec());
        }
        Ok(out)
    }
    fn end(&self) -> io::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(bad("trailing bytes after a sync frame"))
        }
    }
}

pub(crate) fn encode_request(r: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    match r {
        Request::Session { id, msgs } => {
            out.push(1);
            out.extend(id.to_le_bytes());
            put_msgs(&mut out, msgs);
        }
        Request::Continue { id } => {
            out.push(2);
            out.extend(id.to_le_bytes());
        }
        Request::Live { msgs } => {
            out.push(3);
            put_msgs(&mut out, msgs);
        }
        Request::Personal { msgs } => {
            out.push(4);
            put_msgs(&mut out, msgs);
        }
        Request::Join { secret } => {
            out.push(5);
            out.extend(secret);
        }
        Request::Snapshots { after } => {
            out.push(6);
            match after {
                Some(d) => {
                    out.push(1);
                    out.extend(d.0);
                }
                None => out.push(0),
            }
        }
        // Never sent; encodes as an unknown type.
        Request::Malformed(_) => out.push(0),
    }
    out
}

pub(crate) fn decode_request(b: &[u8]) -> io::Result<Request> {
    let mut r = Reader(b);
    let req = match r.u8()? {
        1 => Request::Session {
            id: r.u64()?,
            msgs: r.msgs()?,
        },
        2 => Request::Continue { id: r.u64()? },
        3 => Request::Live { msgs: r.msgs()? },
        4 => Request::Personal { msgs: r.msgs()? },
        5 => Request::Join {
            secret: r.take(r.0.len())?.to_vec(),
        },
        6 => Request::Snapshots {
            after: match r.u8()? {
                0 => None,
                1 => {
                    let mut d = [0u8; 32];
                    d.copy_from_slice(r.take(32)?);
                    Some(linli_core::DocId(d))
                }
                v => return Err(bad(format!("bad snapshot cursor flag {v}"))),
            },
        },
        t => return Err(bad(format!("unknown sync request type {t}"))),
    };
    r.end()?;
    Ok(req)
}

pub(crate) fn encode_response(r: &Response) -> Vec<u8> {
    let mut out = Vec::new();
    match r {
        Response::Msgs { msgs, more } => {
            out.push(1);
            out.push(u8::from(*more));
            put_msgs(&mut out, msgs);
        }
        Response::Refused(reason) => {
            out.push(2);
            out.extend(reason.as_bytes());
        }
    }
    out
}

pub(crate) fn decode_response(b: &[u8]) -> io::Result<Response> {
    let mut r = Reader(b);
    let resp = match r.u8()? {
        1 => {
            let more = match r.u8()? {
                0 => false,
                1 => true,
                v => return Err(bad(format!("bad more-flag {v}"))),
            };
            Response::Msgs {
                more,
                msgs: r.msgs()?,
            }
        }
        2 => {
            let rest = r.take(r.0.len())?;
            Response::Refused(String::from_utf8_lossy(rest).into_owned())
        }
        t => return Err(bad(format!("unknown sync response type {t}"))),
    };
    r.end()?;
    Ok(resp)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    if bytes.len() > FRAME_LIMIT {
        return Err(bad("sync frame too large to send"));
    }
    io.write_all(&(bytes.len() as u32).to_le_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let Ok(read) = tokio::time::timeout(READ_DEADLINE, self.read_frame(io)).await else {
            return Ok(Request::Malformed(format!(
                "a request frame not complete within {} s",
                READ_DEADLINE.as_secs()
            )));
        };
        let decoded = match read {
            Ok(frame) => decode_request(&frame),
            Err(e) => Err(e),
        };
        match decoded {
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                Ok(Request::Malformed(e.to_string()))
            }
            other => other,
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode_response(&self.read_frame(io).await?)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode_request(&req)).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &encode_response(&res)).await
    }
}

/// Splits `queue` into the next frame's worth of messages (at least one message).
pub(crate) fn next_frame(queue: &mut std::collections::VecDeque<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut size = 0;
    while let Some(m) = queue.front() {
        if !out.is_empty() && size + m.len() > FRAME_TARGET {
            break;
        }
        size += m.len();
        if let Some(m) = queue.pop_front() {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_refused() {
        let reqs = [
            Request::Session {
                id: 7,
                msgs: vec![b"hello".to_vec(), Vec::new()],
            },
            Request::Continue { id: u64::MAX },
            Request::Live {
                msgs: vec![vec![1, 2, 3]],
            },
            Request::Join {
                secret: vec![9; 16],
            },
            Request::Snapshots { after: None },
            Request::Snapshots {
                after: Some(linli_core::DocId([3; 32])),
            },
        ];
        for r in &reqs {
            assert_eq!(&decode_request(&encode_request(r)).unwrap(), r);
        }
        // A snapshot request with a bad cursor flag or a short id is refused by name.
        let e = decode_request(&[6, 2]).unwrap_err();
        assert!(e.to_string().contains("cursor flag 2"), "{e}");
        assert!(decode_request(&[6, 1, 0, 0]).is_err());
        let resps = [
            Response::Msgs {
                msgs: vec![b"x".to_vec()],
                more: true,
            },
            Response::Refused("not in this district".into()),
        ];
        for r in &resps {
            assert_eq!(&decode_response(&encode_response(r)).unwrap(), r);
        }
        // Truncations, unknown tags, trailing bytes and absurd counts are errors, not panics.
        let good = encode_request(&reqs[0]);
        for cut in 0..good.len() {
            assert!(decode_request(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode_request(&trailing).is_err());
        assert!(decode_request(&[9]).is_err());
        let mut huge = vec![3];
        huge.extend(u32::MAX.to_le_bytes());
        let e = decode_request(&huge).unwrap_err();
        assert!(e.to_string().contains("messages in one frame"), "{e}");
        assert!(decode_response(&[1, 2, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn frames_are_read_within_the_shared_budget() {
        let codec = SyncCodec::with_budget(100);
        let other = codec.clone();
        let frame = |n: usize| {
            let mut f = (n as u32).to_le_bytes().to_vec();
            f.extend(vec![7u8; n]);
            f
        };
        futures::executor::block_on(async {
            // Within the budget: read, and the budget is whole again afterwards.
            let got = codec.read_frame(&mut &frame(60)[..]).await.unwrap();
            assert_eq!(got, vec![7u8; 60]);
            assert_eq!(codec.reading.load(Ordering::Relaxed), 0);
            // While one clone holds 60 bytes, another cannot start a 50-byte frame.
            let held = Reserved::take(&other.reading, 60, other.budget).unwrap();
            let e = codec.read_frame(&mut &frame(50)[..]).await.unwrap_err();
            assert!(e.to_string().contains("busy"), "{e}");
            drop(held);
            assert_eq!(
                codec.read_frame(&mut &frame(50)[..]).await.unwrap().len(),
                50
            );
            // A frame that ends early is an error, and gives its reservation back.
            let mut short = frame(40);
            short.truncate(20);
            let e = codec.read_frame(&mut &short[..]).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
            assert_eq!(codec.reading.load(Ordering::Relaxed), 0);
            // Above the frame limit: refused before anything is reserved.
            let mut huge = (u32::MAX).to_le_bytes().to_vec();
            huge.extend([0u8; 8]);
            assert!(codec.read_frame(&mut &huge[..]).await.is_err());
        });
    }

    /// Yields its bytes, then never anything more (and never ends).
    struct Stalled(Vec<u8>);

    impl AsyncRead for Stalled {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<io::Result<usize>> {
            if self.0.is_empty() {
                return std::task::Poll::Pending;
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            std::task::Poll::Ready(Ok(n))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_frame_that_never_ends_reads_as_malformed_and_frees_its_budget() {
        use request_response::Codec as _;
        let mut codec = SyncCodec::default();
        // Announces 1 MiB, sends 10 bytes, then stalls.
        let mut start = (1u32 << 20).to_le_bytes().to_vec();
        start.extend([1u8; 10]);
        let req = codec
            .read_request(&PROTOCOL, &mut Stalled(start))
            .await
            .unwrap();
        let Request::Malformed(reason) = req else {
            panic!("{req:?}");
        };
        assert!(reason.contains("not complete within 30 s"), "{reason}");
        assert_eq!(codec.reading.load(Ordering::Relaxed), 0);
        // Nothing at all: the same.
        let req = codec
            .read_request(&PROTOCOL, &mut Stalled(Vec::new()))
            .await
            .unwrap();
        assert!(matches!(req, Request::Malformed(_)), "{req:?}");
    }

    #[test]
    fn frames_are_split_near_the_target_size() {
        let mut q: std::collections::VecDeque<Vec<u8>> =
            (0..5).map(|_| vec![0u8; FRAME_TARGET / 2]).collect();
        assert_eq!(next_frame(&mut q).len(), 2);
        assert_eq!(next_frame(&mut q).len(), 2);
        assert_eq!(next_frame(&mut q).len(), 1);
        assert!(next_frame(&mut q).is_empty());
        // One message above the target still goes out alone.
        let mut q: std::collections::VecDeque<Vec<u8>> = [vec![0u8; FRAME_TARGET + 1]].into();
        assert_eq!(next_frame(&mut q).len(), 1);
    }
}
