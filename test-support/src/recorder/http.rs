//! Just enough HTTP/1.1 for the recorder: reading a request (Content-Length or chunked body)
//! and writing an answer.

use std::io::{self, BufRead, Write};

use super::{decode, Request, Response};

/// The next request, or `None` when the connection ended (closed, idle, reset) before a whole
/// one came.
pub(super) fn read_request(r: &mut impl BufRead) -> Option<Request> {
    // Empty lines before a request line are to be ignored (RFC 9112 §2.2).
    let line = loop {
        let line = read_line(r)?;
        if !line.is_empty() {
            break line;
        }
    };
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let h = read_line(r)?;
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut request = Request {
        line,
        method,
        path,
        headers,
        wire_len: 0,
        body: Vec::new(),
        decode_error: None,
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let raw = if chunked {
        read_chunked(r)?
    } else {
        let len = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut raw = vec![0u8; len];
        r.read_exact(&mut raw).ok()?;
        raw
    };
    request.wire_len = raw.len();
    (request.body, request.decode_error) = decode::decode(request.header("content-encoding"), raw);
    Some(request)
}

/// A line without its line end; `None` at end of stream. A read error (the idle timeout, a
/// reset) ends the connection as an end of stream would.
fn read_line(r: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
    }
}

/// A chunked body (RFC 9112 §7.1), extensions and trailers skipped; `None` if cut short.
fn read_chunked(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size = read_line(r)?;
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).ok()?;
        if n == 0 {
            // Trailer fields, up to the empty line.
            while !read_line(r)?.is_empty() {}
            return Some(body);
        }
        let start = body.len();
        body.resize(start + n, 0);
        r.read_exact(&mut body[start..]).ok()?;
        read_line(r)?; // the chunk's CRLF
    }
}

/// Whether the client asked to close after this request (HTTP/1.0 closes unless kept alive).
pub(super) fn wants_close(req: &Request) -> bool {
    let connection = req.header("connection").map(str::to_ascii_lowercase);
    match connection.as_deref() {
        Some(c) if c.contains("close") => true,
        Some(c) if c.contains("keep-alive") => false,
        _ => req.line.ends_with("HTTP/1.0"),
    }
}

/// Whether an answer says `Connection: close`.
pub(super) fn closes(resp: &Response) -> bool {
    resp.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("connection") && v.to_ascii_lowercase().contains("close")
    })
}

/// The answer on the wire: status line, `Content-Length`, the handler's headers, the body.
pub(super) fn encode(resp: &Response) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
        resp.status,
        reason(resp.status),
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut wire = head.into_bytes();
    wire.extend_from_slice(&resp.body);
    wire
}

pub(super) fn send(w: &mut impl Write, wire: &[u8]) -> io::Result<()> {
    w.write_all(wire)?;
    w.flush()
}

/// The status code of a raw answer's status line (0 when it has none).
pub(super) fn status_of(raw: &[u8]) -> u16 {
    String::from_utf8_lossy(raw)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The standard reason phrase (clients ignore it, but a readable one helps when debugging).
fn reason(status: u16) -> &'static str {
    ::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|c| c.canonical_reason())
        .unwrap_or("Status")
}
