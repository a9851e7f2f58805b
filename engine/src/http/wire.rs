//! HTTP/1.1 message framing shared by the client and the test server: a read buffer that keeps
//! what was read past one message (pipelining, keep-alive), head reading and body decoding.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest request/response head accepted.
pub const MAX_HEAD: usize = 64 * 1024;

/// Bytes read from a connection and not consumed yet.
#[derive(Debug, Default)]
pub struct InBuf {
    data: Vec<u8>,
    pos: usize,
    /// The last read filled all the room there was: a large message is streaming in.
    filled_last: bool,
}

/// The most room one read asks for once a large message streams in.
const MAX_READ_ROOM: usize = 64 * 1024;

impl InBuf {
    pub fn new(capacity: usize) -> Self {
        Self {
            data: Vec::with_capacity(capacity),
            pos: 0,
            filled_last: false,
        }
    }

    pub fn available(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.data.len());
        if self.pos == self.data.len() {
            self.data.clear();
            self.pos = 0;
        }
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.pos = 0;
    }

    /// Reads more bytes; `Ok(0)` is end of stream.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> io::Result<usize> {
        if self.pos > 0 && self.pos * 2 >= self.data.len() {
            self.data.drain(..self.pos);
            self.pos = 0;
        }
        // Small to start: most heads and bodies of a load test are small, and every VU holds
        // one buffer per connection. While reads keep filling all the room (a large body),
        // the room doubles up to `MAX_READ_ROOM`, so a large body still takes few reads; the
        // grown capacity is kept for the connection's next response.
        let room = self.data.capacity() - self.data.len();
        if room < 512 {
            self.data.reserve(2048);
        } else if self.filled_last && room < MAX_READ_ROOM {
            self.data.reserve((room * 2).min(MAX_READ_ROOM));
        }
        let room = self.data.capacity() - self.data.len();
        let n = r.read_buf(&mut self.data).await?;
        self.filled_last = n == room;
        Ok(n)
    }
}

/// Where the head ends (index just past the blank line), if it is complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    memchr_crlfcrlf(buf).map(|i| i + 4)
}

fn memchr_crlfcrlf(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Reads until a full head is buffered; returns its length. `Ok(None)` when the stream ended
/// cleanly before any byte of a new message.
pub async fn read_head<R: AsyncRead + Unpin>(
    r: &mut R,
    inb: &mut InBuf,
) -> io::Result<Option<usize>> {
    let mut scanned = 0usize;
    loop {
        let avail = inb.available();
        let from = scanned.saturating_sub(3);
        if let Some(i) = memchr_crlfcrlf(&avail[from..]) {
            return Ok(Some(from + i + 4));
        }
        scanned = avail.len();
        if scanned > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "message head too large",
            ));
        }
        if inb.fill(r).await? == 0 {
            if inb.available().is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed in the middle of a message head",
            ));
        }
    }
}

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// Response body ending with the connection (HTTP/1.0 style).
    UntilClose,
}

/// Reads a body into `out` (appending). Returns the number of bytes taken off the wire.
pub async fn read_body<R: AsyncRead + Unpin>(
    r: &mut R,
    inb: &mut InBuf,
    framing: Framing,
    out: &mut Vec<u8>,
    limit: usize,
) -> io::Result<u64> {
    match framing {
        Framing::Empty => Ok(0),
        Framing::Length(n) => read_length(r, inb, n, out, limit).await,
        Framing::UntilClose => {
            let mut total = 0u64;
            loop {
                let avail = inb.available();
                if !avail.is_empty() {
                    let n = avail.len();
                    if out.len() < limit {
                        let keep = n.min(limit - out.len());
                        out.extend_from_slice(&avail[..keep]);
                    }
                    total += n as u64;
                    inb.consume(n);
                }
                if inb.fill(r).await? == 0 {
                    return Ok(total);
                }
            }
        }
        Framing::Chunked => read_chunked(r, inb, out, limit).await,
    }
}

async fn read_length<R: AsyncRead + Unpin>(
    r: &mut R,
    inb: &mut InBuf,
    n: u64,
    out: &mut Vec<u8>,
    limit: usize,
) -> io::Result<u64> {
    let mut left = n;
    while left > 0 {
        if inb.available().is_empty() && inb.fill(r).await? == 0 {
            return Err(eof("body"));
        }
        let avail = inb.available();
        let take = (avail.len() as u64).min(left) as usize;
        if out.len() < limit {
            let keep = take.min(limit - out.len());
            out.extend_from_slice(&avail[..keep]);
        }
        inb.consume(take);
        left -= take as u64;
    }
    Ok(n)
}

fn eof(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("connection closed in the middle of the {what}"),
    )
}

async fn read_line<R: AsyncRead + Unpin>(r: &mut R, inb: &mut InBuf) -> io::Result<Vec<u8>> {
    loop {
        if let Some(i) = inb.available().windows(2).position(|w| w == b"\r\n") {
            let line = inb.available()[..i].to_vec();
            inb.consume(i + 2);
            return Ok(line);
        }
        if inb.available().len() > 8192 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk line too long",
            ));
        }
        if inb.fill(r).await? == 0 {
            return Err(eof("chunked body"));
        }
    }
}

async fn read_chunked<R: AsyncRead + Unpin>(
    r: &mut R,
    inb: &mut InBuf,
    out: &mut Vec<u8>,
    limit: usize,
) -> io::Result<u64> {
    let mut wire = 0u64;
    loop {
        let line = read_line(r, inb).await?;
        wire += line.len() as u64 + 2;
        let size_text = line.split(|&b| b == b';').next().unwrap_or(&[]);
        let size_str = std::str::from_utf8(size_text)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        let size = u64::from_str_radix(size_str.trim(), 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                let t = read_line(r, inb).await?;
                wire += t.len() as u64 + 2;
                if t.is_empty() {
                    return Ok(wire);
                }
            }
        }
        wire += read_length(r, inb, size, out, limit).await?;
        let crlf = read_line(r, inb).await?;
        if !crlf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk not followed by CRLF",
            ));
        }
        wire += 2;
    }
}

/// Finds a header value (case-insensitive name) in parsed headers.
pub fn header<'a>(headers: &'a [httparse::Header<'a>], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// Body framing of a message from its headers. `response_to_head`/status 1xx/204/304 have none.
pub fn framing(headers: &[httparse::Header<'_>], is_response: bool) -> io::Result<Framing> {
    if let Some(te) = header(headers, "transfer-encoding") {
        if te.to_ascii_lowercase().windows(7).any(|w| w == b"chunked") {
            return Ok(Framing::Chunked);
        }
    }
    if let Some(cl) = header(headers, "content-length") {
        let n = std::str::from_utf8(cl)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        return Ok(if n == 0 {
            Framing::Empty
        } else {
            Framing::Length(n)
        });
    }
    Ok(if is_response {
        Framing::UntilClose
    } else {
        Framing::Empty
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunked_body_is_decoded() {
        let wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT".to_vec();
        let mut r = &wire[..];
        let mut inb = InBuf::new(64);
        let mut out = Vec::new();
        let n = read_body(&mut r, &mut inb, Framing::Chunked, &mut out, 1 << 20)
            .await
            .unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(n as usize, wire.len() - 4);
        assert_eq!(inb.available(), b"NEXT");
    }

    #[tokio::test]
    async fn head_then_length_body() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP".to_vec();
        let mut r = &wire[..];
        let mut inb = InBuf::new(8);
        let n = read_head(&mut r, &mut inb).await.unwrap().unwrap();
        assert_eq!(n, 38);
        inb.consume(n);
        let mut out = Vec::new();
        read_body(&mut r, &mut inb, Framing::Length(3), &mut out, 100)
            .await
            .unwrap();
        assert_eq!(out, b"abc");
        assert_eq!(inb.available(), b"HTTP");
    }

    #[tokio::test]
    async fn reads_grow_while_a_large_body_streams_and_stay_small_otherwise() {
        let body = vec![7u8; 1 << 20];
        let mut r: &[u8] = &body;
        let mut inb = InBuf::new(1024);
        let (mut reads, mut total) = (0, 0);
        loop {
            let n = inb.fill(&mut r).await.unwrap();
            if n == 0 {
                break;
            }
            reads += 1;
            total += n;
            let len = inb.available().len();
            inb.consume(len);
        }
        assert_eq!(total, body.len());
        // 1 MiB in reads of up to 64 KiB once grown: 16 plus the few while growing.
        assert!(reads <= 24, "{reads} reads");

        let small = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
        let mut r: &[u8] = &small;
        let mut inb = InBuf::new(1024);
        assert_eq!(inb.fill(&mut r).await.unwrap(), small.len());
        assert_eq!(inb.data.capacity(), 1024);
    }
}
