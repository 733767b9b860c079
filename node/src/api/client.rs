//! A minimal HTTP/1.1 client for the local API (one request per connection).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::server::ADDR_FILE;
use crate::config::Config;
use crate::ops::Request;

/// Most bytes of a response the client reads.
const MAX_RESPONSE: usize = 64 << 20;

/// Errors of the API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing answers at the address (the daemon is not running).
    #[error("no daemon answers at {addr}: {source}")]
    Unreachable {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The daemon answered with an error.
    #[error("{message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Error kind from the body (`invalid`, `not_found`, `refused`, `unauthorized` …).
        kind: String,
        /// Error message from the body.
        message: String,
    },
    /// The connection broke or the answer was not HTTP/JSON.
    #[error("API at {addr}: {reason}")]
    Protocol {
        /// The address.
        addr: SocketAddr,
        /// What went wrong.
        reason: String,
    },
    /// Reading `api.addr` or the token file failed.
    #[error("{0}")]
    Setup(String),
}

/// A raw HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header lines (name lower-cased, value).
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body parsed as JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Client of a running daemon's API.
#[derive(Debug, Clone)]
pub struct ApiClient {
    addr: SocketAddr,
    token: String,
    timeout: Duration,
}

impl ApiClient {
    /// A client for `addr` with `token`.
    pub fn new(addr: SocketAddr, token: String) -> Self {
        ApiClient {
            addr,
            token,
            timeout: Duration::from_secs(120),
        }
    }

    /// The client for the daemon of data directory `dir`, if `<dir>/api.addr` exists.
    pub fn from_dir(dir: &Path, cfg: &Config) -> Result<Option<ApiClient>, ApiError> {
        let addr_path = dir.join(ADDR_FILE);
        let text = match std::fs::read_to_string(&addr_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ApiError::Setup(format!("{}: {e}", addr_path.display())));
            }
        };
        let addr: SocketAddr = text.trim().parse().map_err(|e| {
            ApiError::Setup(format!(
                "{}: {:?} is not an address: {e}",
                addr_path.display(),
                text.trim()
            ))
        })?;
        let token_path = cfg.token_path(dir);
        let token = std::fs::read_to_string(&token_path)
            .map_err(|e| ApiError::Setup(format!("API token {}: {e}", token_path.display())))?;
        Ok(Some(ApiClient::new(addr, token.trim().to_string())))
    }

    /// The same client, waiting at most `timeout` for each answer (default 120 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The daemon's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `req` to `POST /api/v1/call`; the result JSON or the daemon's error.
    pub async fn call(&self, req: &Request) -> Result<Value, ApiError> {
        let body = serde_json::to_vec(req).map_err(|e| ApiError::Protocol {
            addr: self.addr,
            reason: format!("cannot encode the request: {e}"),
        })?;
        let r = self
            .request("POST", "/api/v1/call", Some(&body), Some(&self.token))
            .await?;
        self.decode(r)
    }

    /// `GET path` with the token; the JSON body or the daemon's error.
    pub async fn get_json(&self, path: &str) -> Result<Value, ApiError> {
        let r = self.request("GET", path, None, Some(&self.token)).await?;
        self.decode(r)
    }

    /// `GET path` with the token; the raw response (any status).
    pub async fn get(&self, path: &str) -> Result<HttpResponse, ApiError> {
        self.request("GET", path, None, Some(&self.token)).await
    }

    fn decode(&self, r: HttpResponse) -> Result<Value, ApiError> {
        let v = r.json();
        if (200..300).contains(&r.status) {
            return v.ok_or_else(|| ApiError::Protocol {
                addr: self.addr,
                reason: format!("the answer is not JSON: {}", r.text()),
            });
        }
        let (kind, message) = match v {
            Some(Value::Object(m)) => (
                m.get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_string(),
                m.get("error")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| r.text()),
            ),
            _ => ("error".to_string(), r.text()),
        };
        Err(ApiError::Status {
            status: r.status,
            kind,
            message,
        })
    }

    /// One raw request (`token` `None` sends no Authorization header).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        token: Option<&str>,
    ) -> Result<HttpResponse, ApiError> {
        tokio::time::timeout(self.timeout, self.exchange(method, path, body, token))
            .await
            .map_err(|_| ApiError::Protocol {
                addr: self.addr,
                reason: format!("no answer within {} s", self.timeout.as_secs()),
            })?
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        token: Option<&str>,
    ) -> Result<HttpResponse, ApiError> {
        let addr = self.addr;
        let proto = |reason: String| ApiError::Protocol { addr, reason };
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|source| ApiError::Unreachable { addr, source })?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n"
        );
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())
            .await
            .map_err(|e| proto(format!("sending: {e}")))?;
        if let Some(b) = body {
            s.write_all(b)
                .await
                .map_err(|e| proto(format!("sending: {e}")))?;
        }
        s.flush()
            .await
            .map_err(|e| proto(format!("sending: {e}")))?;
        let mut buf = Vec::new();
        (&mut s)
            .take(MAX_RESPONSE as u64)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| proto(format!("reading: {e}")))?;
        parse_response(&buf).map_err(proto)
    }
}

/// Parses a whole HTTP/1.1 response (read to the end of the connection).
fn parse_response(buf: &[u8]) -> Result<HttpResponse, String> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| "the answer has no complete HTTP header".to_string())?;
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "non-UTF-8 header".to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let raw = &buf[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(raw)?
    } else {
        match headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
        {
            Some(n) if n <= raw.len() => raw[..n].to_vec(),
            Some(n) => return Err(format!("body cut short ({} of {n} bytes)", raw.len())),
            None => raw.to_vec(),
        }
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| "bad chunked body".to_string())?;
        let size_text = std::str::from_utf8(&raw[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size + 2 {
            return Err("chunked body cut short".into());
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_and_chunked_bodies() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        let r = parse_response(
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.text().as_str()), (401, "abcde"));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
