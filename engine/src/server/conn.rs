//! One connection of the test server: reads requests within the limits, writes responses, and
//! keeps its memory small between requests.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use super::routes::{self, Body, Request, Response};
use super::Limits;
use crate::http::wire::{self, Framing, InBuf};

/// What the output buffer keeps between responses; a larger one is released after it is sent.
pub const RETAINED_OUT: usize = 64 * 1024;
/// The generated `/bytes/N` body is written in pieces of this size (a multiple of 26, so each
/// piece continues the a..z pattern).
const PATTERN_CHUNK: usize = 26 * 2520;
/// A peer that takes none of a response piece for this long is dropped.
const WRITE_STALL: Duration = Duration::from_secs(30);
/// After a refused request, how long unread request bytes are drained before closing, so the
/// close does not reset the connection before the client has read the refusal.
const LINGER: Duration = Duration::from_secs(2);

pub struct Conn {
    limits: Limits,
    inb: InBuf,
    pub(super) out: Vec<u8>,
    served: u64,
}

/// What became of one request.
enum Next {
    KeepGoing,
    Close,
}

/// The refusals decided before a request is routed.
enum Refusal {
    Timeout,
    TooLarge,
    Bad(String),
}

impl Conn {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            inb: InBuf::new(8192),
            out: Vec::with_capacity(8192),
            served: 0,
        }
    }

    pub async fn run<R, W>(&mut self, rd: &mut R, wr: &mut W)
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        loop {
            match self.exchange(rd, wr).await {
                Ok(Next::KeepGoing) => {}
                Ok(Next::Close) | Err(_) => return,
            }
        }
    }

    /// Reads one request and answers it.
    async fn exchange<R, W>(&mut self, rd: &mut R, wr: &mut W) -> io::Result<Next>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let (req, keep_alive) = match self.read_request(rd).await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(Next::Close),
            Err(refusal) => {
                let (status, msg) = match refusal {
                    Refusal::Timeout => (408, "request head not received in time\n".to_string()),
                    Refusal::TooLarge => (
                        413,
                        format!(
                            "request body larger than the server's limit of {} bytes\n",
                            self.limits.max_body
                        ),
                    ),
                    Refusal::Bad(e) => (400, format!("bad request: {e}\n")),
                };
                self.out.clear();
                routes::render(false, &Response::text(status, &msg), false, &mut self.out);
                let _ = timeout(WRITE_STALL, wr.write_all(&self.out)).await;
                let _ = wr.shutdown().await;
                let _ = timeout(LINGER, drain(rd)).await;
                return Ok(Next::Close);
            }
        };
        self.served += 1;
        let resp = routes::route(&req);
        let head_only = req.method.eq_ignore_ascii_case("HEAD");
        drop(req);
        self.out.clear();
        routes::render(head_only, &resp, keep_alive, &mut self.out);
        if let Some(d) = resp.delay {
            tokio::time::sleep(d).await;
        }
        let written = self.write_out(wr).await;
        if written.is_ok() && !head_only && !routes::no_body(resp.status) {
            if let Body::Pattern(n) = resp.body {
                write_pattern(wr, n).await?;
            }
        }
        self.release_out();
        written?;
        Ok(if keep_alive {
            Next::KeepGoing
        } else {
            Next::Close
        })
    }

    async fn write_out<W: AsyncWrite + Unpin>(&self, wr: &mut W) -> io::Result<()> {
        for piece in self.out.chunks(PATTERN_CHUNK) {
            timeout(WRITE_STALL, wr.write_all(piece))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write stalled"))??;
        }
        Ok(())
    }

    /// A connection that once sent a large echo would otherwise hold that much memory for as
    /// long as it stays open.
    fn release_out(&mut self) {
        self.out.clear();
        if self.out.capacity() > RETAINED_OUT {
            self.out.shrink_to(RETAINED_OUT);
        }
    }

    /// `Ok(None)` when the peer closed or stayed idle between requests.
    async fn read_request<R: AsyncRead + Unpin>(
        &mut self,
        rd: &mut R,
    ) -> Result<Option<(Request, bool)>, Refusal> {
        // Between keep-alive requests the peer may think for a while; once the first byte of a
        // head is here (or on a new connection) the whole head must follow within the timeout,
        // however slowly it trickles.
        if self.served > 0 && self.inb.available().is_empty() {
            match timeout(self.limits.idle_timeout, self.inb.fill(rd)).await {
                Ok(Ok(0)) | Err(_) => return Ok(None),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(Refusal::Bad(e.to_string())),
            }
        }
        let head_len =
            match timeout(self.limits.head_timeout, wire::read_head(rd, &mut self.inb)).await {
                Err(_) if self.inb.available().is_empty() => return Ok(None),
                Err(_) => return Err(Refusal::Timeout),
                Ok(Ok(None)) => return Ok(None),
                Ok(Ok(Some(n))) => n,
                Ok(Err(e)) => return Err(Refusal::Bad(e.to_string())),
            };
        let (mut req, framing, keep_alive) = parse_head(&self.inb.available()[..head_len])?;
        self.inb.consume(head_len);
        let cap = self.limits.max_body;
        match framing {
            Framing::Empty => {}
            Framing::Length(n) if n > cap as u64 => return Err(Refusal::TooLarge),
            framing => {
                // One byte past the cap tells a chunked body that is too large; the reader keeps
                // no more than the limit it is given.
                let read = wire::read_body(
                    rd,
                    &mut self.inb,
                    framing,
                    &mut req.body,
                    cap.saturating_add(1),
                );
                match timeout(self.limits.body_timeout, read).await {
                    Err(_) => return Err(Refusal::Bad("request body not received in time".into())),
                    Ok(Err(e)) => return Err(Refusal::Bad(e.to_string())),
                    Ok(Ok(_)) if req.body.len() > cap => return Err(Refusal::TooLarge),
                    Ok(Ok(_)) => {}
                }
            }
        }
        Ok(Some((req, keep_alive)))
    }
}

fn parse_head(head: &[u8]) -> Result<(Request, Framing, bool), Refusal> {
    let mut hbuf = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut hbuf);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Refusal::Bad("incomplete head".into())),
        Err(e) => return Err(Refusal::Bad(e.to_string())),
    }
    let version = parsed.version.unwrap_or(1);
    let conn = wire::header(parsed.headers, "connection")
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_default();
    let keep_alive = if version == 0 {
        conn == b"keep-alive"
    } else {
        conn != b"close"
    };
    let framing = wire::framing(parsed.headers, false).map_err(|e| Refusal::Bad(e.to_string()))?;
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "localhost".into());
    let req = Request {
        method: parsed.method.unwrap_or("GET").to_string(),
        target: parsed.path.unwrap_or("/").to_string(),
        headers,
        body: Vec::new(),
        host,
    };
    Ok((req, framing, keep_alive))
}

async fn write_pattern<W: AsyncWrite + Unpin>(wr: &mut W, n: usize) -> io::Result<()> {
    let piece: Vec<u8> = (0..PATTERN_CHUNK.min(n))
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    let mut left = n;
    while left > 0 {
        let k = left.min(piece.len());
        timeout(WRITE_STALL, wr.write_all(&piece[..k]))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write stalled"))??;
        left -= k;
    }
    Ok(())
}

async fn drain<R: AsyncRead + Unpin>(rd: &mut R) {
    let mut discard = [0u8; 8192];
    while let Ok(n) = rd.read(&mut discard).await {
        if n == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_output_buffer_shrinks_after_a_large_response() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let (mut rd, mut wr) = tokio::io::split(server);
        let mut conn = Conn::new(Limits::default());
        let body = "z".repeat(2 * 1024 * 1024);
        let req = format!(
            "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let talk = async {
            client.write_all(req.as_bytes()).await.unwrap();
            // The echo holds the body: read until all of it came back.
            let mut got = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            while got.len() < body.len() {
                let n = client.read(&mut buf).await.unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            got.len()
        };
        let (served, got) = tokio::join!(conn.exchange(&mut rd, &mut wr), talk);
        assert!(matches!(served, Ok(Next::KeepGoing)));
        assert!(got >= body.len());
        assert!(
            conn.out.capacity() <= RETAINED_OUT,
            "{} bytes kept",
            conn.out.capacity()
        );
    }
}
