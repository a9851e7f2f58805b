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

    /// Frees the buffer when nothing is left in it; the next [`InBuf::fill`] allocates again.
    pub fn release_if_empty(&mut self) {
        if self.pos == self.data.len() {
            *self = Self::default();
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
    // Built once: `memmem::find` would set up its searcher again for every head.
    static BLANK_LINE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    BLANK_LINE.find(buf)
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
        // The limit is on the head, not on what one read brought: the same head is refused
        // however its bytes arrive.
        let too_large = || io::Error::new(io::ErrorKind::InvalidData, "message head too large");
        if let Some(i) = memchr_crlfcrlf(&avail[from..]) {
            let end = from + i + 4;
            if end > MAX_HEAD {
                return Err(too_large());
            }
            return Ok(Some(end));
        }
        scanned = avail.len();
        if scanned >= MAX_HEAD {
            return Err(too_large());
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
        // Boxed: its line buffers and states are most of this future, which every VU's request
        // future holds inline, while most responses have a length (about 250 B per VU).
        Framing::Chunked => Box::pin(read_chunked(r, inb, out, limit)).await,
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

/// The longest chunk-size line (with its extensions) accepted.
const MAX_CHUNK_LINE: usize = 8192;

async fn read_line<R: AsyncRead + Unpin>(r: &mut R, inb: &mut InBuf) -> io::Result<Vec<u8>> {
    // Bytes already searched are not searched again after a read (a line trickling in byte by
    // byte stays linear); one byte is kept back as it may be the CR of a CRLF split by a read.
    let mut scanned = 0usize;
    loop {
        let avail = inb.available();
        let from = scanned.saturating_sub(1);
        // As for heads, the limit is on the line, whatever the reads brought.
        let too_long = || io::Error::new(io::ErrorKind::InvalidData, "chunk line too long");
        if let Some(i) = avail[from..].windows(2).position(|w| w == b"\r\n") {
            let i = from + i;
            if i > MAX_CHUNK_LINE {
                return Err(too_long());
            }
            let line = avail[..i].to_vec();
            inb.consume(i + 2);
            return Ok(line);
        }
        scanned = avail.len();
        // Without a CRLF yet the line is at least this long (the last byte may be its CR).
        if scanned > MAX_CHUNK_LINE + 1 {
            return Err(too_long());
        }
        if inb.fill(r).await? == 0 {
            return Err(eof("chunked body"));
        }
    }
}

/// The size of a chunk from its line (`1*HEXDIG [BWS ";" ext...]`). Only hex digits: no sign,
/// no `0x`, no leading blanks, at most 16 digits (a u64), so that every reader on the path
/// (proxies included) agrees on where the chunk ends.
pub fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunk size");
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(bad());
    }
    let rest = &line[digits..];
    let after_blanks = rest.iter().position(|&b| b != b' ' && b != b'\t');
    match after_blanks {
        None => {}
        Some(i) if rest[i] == b';' => {}
        Some(_) => return Err(bad()),
    }
    let significant = line[..digits].iter().skip_while(|&&b| b == b'0').count();
    if significant > 16 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "chunk size too large",
        ));
    }
    line[..digits].iter().try_fold(0u64, |n, &b| {
        let d = (b as char).to_digit(16).ok_or_else(bad)?;
        Ok((n << 4) | u64::from(d))
    })
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
        let size = chunk_size(&line)?;
        if size == 0 {
            // Trailers, up to the blank line; as large as a head may be.
            let mut trailers = 0usize;
            loop {
                let t = read_line(r, inb).await?;
                wire += t.len() as u64 + 2;
                if t.is_empty() {
                    return Ok(wire);
                }
                trailers += t.len() + 2;
                if trailers > MAX_HEAD {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "chunked trailers too large",
                    ));
                }
            }
        }
        wire = wire.saturating_add(read_length(r, inb, size, out, limit).await?);
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

/// Body framing of a message from its headers (RFC 9112 §6.3). A Transfer-Encoding whose last
/// coding is `chunked` wins over any Content-Length; a response with another final coding runs
/// to the close, a request with one is refused. Content-Length must be digits only, and several
/// of them (repeated headers or a list) must agree: a message whose length two readers could
/// see differently is refused rather than guessed at.
pub fn framing(headers: &[httparse::Header<'_>], is_response: bool) -> io::Result<Framing> {
    let bad = |what: &'static str| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut te_seen = false;
    let mut last_coding: &[u8] = &[];
    for h in headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
    {
        te_seen = true;
        for coding in h.value.split(|&b| b == b',') {
            let coding = coding.trim_ascii();
            if !coding.is_empty() {
                last_coding = coding;
            }
        }
    }
    if te_seen {
        if last_coding.eq_ignore_ascii_case(b"chunked") {
            return Ok(Framing::Chunked);
        }
        if is_response {
            return Ok(Framing::UntilClose);
        }
        return Err(bad("Transfer-Encoding without chunked as the last coding"));
    }
    let mut length: Option<u64> = None;
    for h in headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
    {
        for item in h.value.split(|&b| b == b',') {
            let n = content_length(item.trim_ascii()).ok_or_else(|| bad("bad Content-Length"))?;
            match length {
                Some(prev) if prev != n => return Err(bad("conflicting Content-Length headers")),
                _ => length = Some(n),
            }
        }
    }
    Ok(match length {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None if is_response => Framing::UntilClose,
        None => Framing::Empty,
    })
}

/// `1*DIGIT` as a u64; no sign, no blanks, no overflow.
fn content_length(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Body framing of a response: none for a response to HEAD, for 1xx, 204 and 304 whatever
/// their headers say (RFC 9112 §6.3 rules 1 and 2); otherwise as [`framing`] reads it.
pub fn response_framing(
    headers: &[httparse::Header<'_>],
    status: u16,
    head_request: bool,
) -> io::Result<Framing> {
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }
    framing(headers, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::ReadBuf;

    /// A connection whose reads return the wire cut at the given offsets, one piece a read.
    struct Pieces {
        wire: Vec<u8>,
        pos: usize,
        cuts: Vec<usize>,
    }

    impl Pieces {
        fn new(wire: &[u8], cuts: &[usize]) -> Self {
            let mut cuts: Vec<usize> = cuts.iter().copied().filter(|&c| c <= wire.len()).collect();
            cuts.sort_unstable();
            Self {
                wire: wire.to_vec(),
                pos: 0,
                cuts,
            }
        }
    }

    impl AsyncRead for Pieces {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let pos = self.pos;
            let end = self
                .cuts
                .iter()
                .copied()
                .find(|&c| c > pos)
                .unwrap_or(self.wire.len())
                .min(pos + buf.remaining());
            buf.put_slice(&self.wire[pos..end]);
            self.pos = end;
            Poll::Ready(Ok(()))
        }
    }

    /// What a client makes of a stream of responses: per response its status, body and bytes
    /// taken off the wire; then the error that stopped it, if any.
    #[derive(Debug, PartialEq)]
    struct Decoded {
        responses: Vec<(u16, Vec<u8>, u64)>,
        error: Option<String>,
    }

    async fn decode<R: AsyncRead + Unpin>(r: &mut R, head_requests: &[bool]) -> Decoded {
        let mut inb = InBuf::new(16);
        let mut responses = Vec::new();
        let mut i = 0;
        let error = loop {
            let head_len = match read_head(r, &mut inb).await {
                Ok(Some(n)) => n,
                Ok(None) => break None,
                Err(e) => break Some(e.to_string()),
            };
            let mut hbuf = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut hbuf);
            if !matches!(
                parsed.parse(&inb.available()[..head_len]),
                Ok(httparse::Status::Complete(_))
            ) {
                break Some("malformed head".into());
            }
            let status = parsed.code.unwrap_or(0);
            let head_request = head_requests.get(i).copied().unwrap_or(false);
            let framing = match response_framing(parsed.headers, status, head_request) {
                Ok(f) => f,
                Err(e) => break Some(e.to_string()),
            };
            inb.consume(head_len);
            let mut body = Vec::new();
            match read_body(r, &mut inb, framing, &mut body, 1 << 20).await {
                Ok(n) => responses.push((status, body, head_len as u64 + n)),
                Err(e) => break Some(e.to_string()),
            }
            i += 1;
        };
        Decoded { responses, error }
    }

    async fn decode_whole(wire: &[u8], head_requests: &[bool]) -> Decoded {
        decode(&mut Pieces::new(wire, &[]), head_requests).await
    }

    /// Decodes `wire` in one read, then cut at every single offset, then one byte a read: the
    /// outcome must never depend on how the bytes arrived.
    async fn same_at_every_split(wire: &[u8], head_requests: &[bool]) -> Decoded {
        let whole = decode_whole(wire, head_requests).await;
        for cut in 1..wire.len() {
            let split = decode(&mut Pieces::new(wire, &[cut]), head_requests).await;
            assert_eq!(split, whole, "cut at {cut}");
        }
        let every: Vec<usize> = (1..wire.len()).collect();
        let bytewise = decode(&mut Pieces::new(wire, &every), head_requests).await;
        assert_eq!(bytewise, whole, "one byte a read");
        whole
    }

    fn ok(responses: &[(u16, &[u8], usize)]) -> Decoded {
        Decoded {
            responses: responses
                .iter()
                .map(|&(s, b, n)| (s, b.to_vec(), n as u64))
                .collect(),
            error: None,
        }
    }

    fn failed(d: &Decoded, what: &str) {
        let e = d.error.as_deref().unwrap_or("no error");
        assert!(
            e.contains(what),
            "wanted {what:?}, got {e:?} after {:?}",
            d.responses
        );
    }

    #[tokio::test]
    async fn pipelined_responses_of_every_framing_split_anywhere() {
        let r1 = &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"[..];
        let r2 = &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n1;x=y\r\n!\r\n0\r\nT: v\r\n\r\n"[..];
        let r3 = &b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"[..];
        let r4 = &b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"[..];
        let r5 = &b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..];
        let r6 = &b"HTTP/1.0 200 OK\r\n\r\nuntil the end"[..];
        let wire = [r1, r2, r3, r4, r5, r6].concat();
        let got = same_at_every_split(&wire, &[]).await;
        assert_eq!(
            got,
            ok(&[
                (200, b"abc", r1.len()),
                (200, b"hi!", r2.len()),
                (204, b"", r3.len()),
                (304, b"", r4.len()),
                (200, b"", r5.len()),
                (200, b"until the end", r6.len()),
            ])
        );
    }

    #[tokio::test]
    async fn a_response_to_head_has_no_body_whatever_its_headers_say() {
        let r1 = &b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"[..];
        let r2 = &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..];
        let r3 = &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[..];
        let wire = [r1, r2, r3].concat();
        let got = same_at_every_split(&wire, &[true, true, false]).await;
        assert_eq!(
            got,
            ok(&[
                (200, b"", r1.len()),
                (200, b"", r2.len()),
                (200, b"ok", r3.len())
            ])
        );
    }

    #[tokio::test]
    async fn informational_and_no_content_statuses_have_no_body() {
        let h = [httparse::Header {
            name: "Content-Length",
            value: b"5",
        }];
        for status in [100, 101, 103, 204, 304] {
            assert_eq!(response_framing(&h, status, false).unwrap(), Framing::Empty);
        }
        assert_eq!(
            response_framing(&h, 200, false).unwrap(),
            Framing::Length(5)
        );
        assert_eq!(response_framing(&h, 200, true).unwrap(), Framing::Empty);
        assert_eq!(
            response_framing(&[], 200, false).unwrap(),
            Framing::UntilClose
        );
    }

    #[tokio::test]
    async fn chunk_sizes_of_every_width_and_extensions() {
        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n".to_vec();
        let mut want = Vec::new();
        for (i, size) in [1usize, 15, 16, 255, 256, 4095, 4096, 70_000]
            .iter()
            .enumerate()
        {
            let chunk: Vec<u8> = (0..*size).map(|j| (i * 31 + j) as u8).collect();
            let line = match i % 4 {
                0 => format!("{size:x}\r\n"),
                1 => format!("{size:X};name=value\r\n"),
                2 => format!("{size:08x} ;a;b=\"q;\"\r\n"),
                _ => format!("{size:x}\t\r\n"),
            };
            wire.extend_from_slice(line.as_bytes());
            wire.extend_from_slice(&chunk);
            wire.extend_from_slice(b"\r\n");
            want.extend_from_slice(&chunk);
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let got = decode_whole(&wire, &[]).await;
        assert_eq!(got.error, None);
        assert_eq!(got.responses.len(), 1);
        assert_eq!(got.responses[0].1, want);
        assert_eq!(got.responses[0].2, wire.len() as u64);
        // Every 997th cut is enough for the large body; the small ones are cut everywhere above.
        let cuts: Vec<usize> = (1..wire.len()).step_by(997).collect();
        assert_eq!(decode(&mut Pieces::new(&wire, &cuts), &[]).await, got);
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_counted_but_not_kept() {
        let wire = b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
        let mut inb = InBuf::new(4);
        let mut out = Vec::new();
        let n = read_body(
            &mut Pieces::new(wire, &[5, 9]),
            &mut inb,
            Framing::Chunked,
            &mut out,
            5,
        )
        .await
        .unwrap();
        assert_eq!(out, b"abcde");
        assert_eq!(n, wire.len() as u64);
    }

    #[test]
    fn chunk_size_lines() {
        assert_eq!(chunk_size(b"0").unwrap(), 0);
        assert_eq!(chunk_size(b"fF").unwrap(), 255);
        assert_eq!(chunk_size(b"10;ext").unwrap(), 16);
        assert_eq!(chunk_size(b"10 \t;ext=\"a b\"").unwrap(), 16);
        assert_eq!(chunk_size(b"ffffffffffffffff").unwrap(), u64::MAX);
        assert_eq!(chunk_size(b"0000000000000000001").unwrap(), 1);
        for bad in [
            &b""[..],
            b";ext",
            b" 5",
            b"+5",
            b"-1",
            b"0x5",
            b"5 5",
            b"g",
            b"5g",
            b"\xff",
        ] {
            let e = chunk_size(bad).unwrap_err();
            assert_eq!(e.to_string(), "bad chunk size", "{bad:?}");
        }
        let e = chunk_size(b"10000000000000000").unwrap_err();
        assert_eq!(e.to_string(), "chunk size too large");
    }

    #[tokio::test]
    async fn bad_chunked_bodies_fail_with_what_is_wrong() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (body, what) in [
            ("zz\r\n", "bad chunk size"),
            ("-1\r\n", "bad chunk size"),
            ("10000000000000000\r\n", "chunk size too large"),
            ("3\r\nabcX\r\n0\r\n\r\n", "chunk not followed by CRLF"),
            ("3\r\nab", "connection closed in the middle of the body"),
            (
                "ffffffffffffffff\r\nabc",
                "connection closed in the middle of the body",
            ),
            (
                "3\r\nabc\r\n",
                "connection closed in the middle of the chunked body",
            ),
            (
                "0\r\nTrailer: 1\r\n",
                "connection closed in the middle of the chunked body",
            ),
        ] {
            let wire = format!("{head}{body}");
            let got = same_at_every_split(wire.as_bytes(), &[]).await;
            assert!(got.responses.is_empty(), "{body:?}");
            failed(&got, what);
        }
        let long_line = format!("{head}1;{}\r\n", "e".repeat(MAX_CHUNK_LINE + 10));
        failed(
            &decode_whole(long_line.as_bytes(), &[]).await,
            "chunk line too long",
        );
        let trickled = decode(&mut Pieces::new(long_line.as_bytes(), &[60, 61, 62]), &[]).await;
        failed(&trickled, "chunk line too long");
        // The longest line accepted, arriving whole or cut just before its CRLF.
        let longest = format!(
            "{head}1;{}\r\nA\r\n0\r\n\r\n",
            "e".repeat(MAX_CHUNK_LINE - 2)
        );
        let cut = head.len() + MAX_CHUNK_LINE;
        for cuts in [&[][..], &[cut], &[cut + 1]] {
            let got = decode(&mut Pieces::new(longest.as_bytes(), cuts), &[]).await;
            assert_eq!(got.error, None, "{cuts:?}");
        }
        let trailer = format!("X-T: {}\r\n", "v".repeat(1000));
        let many = format!("{head}0\r\n{}\r\n", trailer.repeat(MAX_HEAD / 1000 + 1));
        failed(
            &decode_whole(many.as_bytes(), &[]).await,
            "chunked trailers too large",
        );
    }

    #[tokio::test]
    async fn bad_and_conflicting_content_lengths_are_refused() {
        for cl in [
            "Content-Length: -1\r\n",
            "Content-Length: +3\r\n",
            "Content-Length: 3x\r\n",
            "Content-Length: 0x3\r\n",
            "Content-Length: \r\n",
            "Content-Length: 3 3\r\n",
            "Content-Length: 99999999999999999999\r\n",
            "Content-Length: 3,\r\n",
        ] {
            let wire = format!("HTTP/1.1 200 OK\r\n{cl}\r\nabc");
            failed(
                &decode_whole(wire.as_bytes(), &[]).await,
                "bad Content-Length",
            );
        }
        for cl in [
            "Content-Length: 3\r\nContent-Length: 4\r\n",
            "Content-Length: 3, 4\r\n",
        ] {
            let wire = format!("HTTP/1.1 200 OK\r\n{cl}\r\nabcd");
            failed(
                &decode_whole(wire.as_bytes(), &[]).await,
                "conflicting Content-Length headers",
            );
        }
        // The same length twice is one length (RFC 9110 §8.6).
        for cl in [
            "Content-Length: 3\r\ncontent-length: 3\r\n",
            "Content-Length: 3 , 3\r\n",
            "Content-Length: 00003\r\n",
        ] {
            let wire = format!("HTTP/1.1 200 OK\r\n{cl}\r\nabc");
            let got = decode_whole(wire.as_bytes(), &[]).await;
            assert_eq!(got.error, None, "{cl:?}");
            assert_eq!(got.responses[0].1, b"abc");
        }
    }

    #[test]
    fn transfer_encoding_decides_before_content_length() {
        let h = |pairs: &[(&'static str, &'static str)]| -> Vec<httparse::Header<'static>> {
            pairs
                .iter()
                .map(|&(name, v)| httparse::Header {
                    name,
                    value: v.as_bytes(),
                })
                .collect()
        };
        let chunked_and_length = h(&[("Content-Length", "5"), ("Transfer-Encoding", "chunked")]);
        assert_eq!(
            framing(&chunked_and_length, true).unwrap(),
            Framing::Chunked
        );
        assert_eq!(
            framing(&chunked_and_length, false).unwrap(),
            Framing::Chunked
        );
        let split = h(&[
            ("Transfer-Encoding", "gzip"),
            ("transfer-encoding", "chunked"),
        ]);
        assert_eq!(framing(&split, true).unwrap(), Framing::Chunked);
        // Not the final coding, or only a lookalike: the body is not chunked.
        for te in ["chunked, gzip", "notchunked", "xchunked", "gzip"] {
            let hs = h(&[("Transfer-Encoding", te), ("Content-Length", "5")]);
            assert_eq!(framing(&hs, true).unwrap(), Framing::UntilClose, "{te}");
            assert!(framing(&hs, false).is_err(), "{te}");
        }
        assert_eq!(framing(&[], false).unwrap(), Framing::Empty);
        assert_eq!(
            framing(&h(&[("Content-Length", "0")]), true).unwrap(),
            Framing::Empty
        );
    }

    #[tokio::test]
    async fn heads_end_at_the_first_blank_line_and_have_a_size_limit() {
        let wire = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n\r\n\r\n";
        let mut inb = InBuf::new(8);
        let mut r = Pieces::new(wire, &[17, 18, 19]);
        assert_eq!(read_head(&mut r, &mut inb).await.unwrap(), Some(25));
        assert_eq!(head_end(wire), Some(25));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r"), None);

        let mut inb = InBuf::new(8);
        assert_eq!(
            read_head(&mut Pieces::new(b"", &[]), &mut inb)
                .await
                .unwrap(),
            None
        );
        let e = read_head(&mut Pieces::new(b"HTTP/1.1 200", &[]), &mut inb)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);

        let huge = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        for cuts in [&[][..], &[100], &[MAX_HEAD - 1, MAX_HEAD, MAX_HEAD + 1]] {
            let mut inb = InBuf::new(8);
            let e = read_head(&mut Pieces::new(huge.as_bytes(), cuts), &mut inb)
                .await
                .unwrap_err();
            assert_eq!(e.to_string(), "message head too large", "{cuts:?}");
        }
        // Exactly the limit passes, however it arrives.
        let pad = MAX_HEAD - "HTTP/1.1 200 OK\r\nX: \r\n\r\n".len();
        let largest = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(pad));
        for cuts in [&[][..], &[MAX_HEAD - 2], &[MAX_HEAD - 1]] {
            let mut inb = InBuf::new(8);
            let n = read_head(&mut Pieces::new(largest.as_bytes(), cuts), &mut inb).await;
            assert_eq!(n.unwrap(), Some(MAX_HEAD), "{cuts:?}");
        }
    }

    #[tokio::test]
    async fn a_length_body_cut_short_fails() {
        let got =
            same_at_every_split(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", &[]).await;
        failed(&got, "connection closed in the middle of the body");
    }

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
