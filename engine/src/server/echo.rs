//! The JSON echo of a request (`/get`, `/post`, `/anything`, ...), bounded in size so that a
//! request cannot make the server build a response many times larger than itself.

use std::io;

use base64::Engine as _;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::routes::{headers_obj, split_target, Request, Response};
use crate::util::{parse_query, percent_decode};

/// Fields in httpbin's (sorted) order.
#[derive(Serialize)]
struct Echo<'a> {
    args: Map<String, Value>,
    data: String,
    form: Map<String, Value>,
    headers: Value,
    json: JsonBody<'a>,
    method: &'a str,
    path: String,
    url: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonBody<'a> {
    None(Option<()>),
    /// Re-indented with the rest of the echo, as httpbin does.
    Parsed(Value),
    /// The body's own text: pretty-printing a deeply nested document adds indentation to every
    /// element, so it is used when the indented echo would be too large.
    Raw(&'a RawValue),
}

pub fn response(req: &Request, query: &str) -> Response {
    let (mut echo, raw) = build(req, query);
    let mut out = Limited {
        buf: Vec::new(),
        limit: bound(req),
    };
    if serde_json::to_writer_pretty(&mut out, &echo).is_err() {
        // Only the indented `json` can pass the bound; its own text cannot.
        echo.json = raw.map_or(JsonBody::None(None), JsonBody::Raw);
        out.buf.clear();
        out.limit = usize::MAX;
        if serde_json::to_writer_pretty(&mut out, &echo).is_err() {
            return Response::text(500, "cannot render the echo\n");
        }
    }
    Response::json_bytes(200, out.buf)
}

/// What the echo may take: `data` and `form` are each at most twice the body (see
/// `body_text`), `json` once, and the head-derived fields (url, path, args, headers) at most a
/// few times the head.
fn bound(req: &Request) -> usize {
    let head: usize = req.target.len()
        + req.host.len()
        + req
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>();
    3 * req.body.len() + 8 * head + 4096
}

/// The body as `data`: its text when that is UTF-8 without control characters (JSON escapes at
/// most double it), otherwise a base64 `data:` URL as httpbin does for binary bodies, since
/// escaping each control byte as `\u00XX` would make it six times larger.
fn body_text(body: &[u8]) -> (String, bool) {
    match std::str::from_utf8(body) {
        Ok(s)
            if !s
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) =>
        {
            (s.to_string(), true)
        }
        _ => (
            format!(
                "data:application/octet-stream;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(body)
            ),
            false,
        ),
    }
}

fn build<'a>(req: &'a Request, query: &str) -> (Echo<'a>, Option<&'a RawValue>) {
    let mut args = Map::new();
    for (k, v) in parse_query(query) {
        args.insert(k, Value::String(v));
    }
    let ctype = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    let (data, is_text) = body_text(&req.body);
    let is_form = ctype.starts_with("application/x-www-form-urlencoded");
    let mut form = Map::new();
    if is_text && is_form {
        for (k, v) in parse_query(&data) {
            form.insert(k, Value::String(v));
        }
    }
    // A body is a form or JSON, not both, so at most one of them adds to the echo.
    let raw = if !is_form && ctype.contains("json") {
        serde_json::from_slice::<&RawValue>(&req.body).ok()
    } else {
        None
    };
    let json = match raw.and_then(|r| serde_json::from_str::<Value>(r.get()).ok()) {
        Some(v) => JsonBody::Parsed(v),
        None => JsonBody::None(None),
    };
    let echo = Echo {
        args,
        data,
        form,
        headers: headers_obj(req),
        json,
        method: &req.method,
        path: percent_decode(split_target(&req.target).0, false),
        url: format!("http://{}{}", req.host, req.target),
    };
    (echo, raw)
}

/// A buffer that refuses to grow past `limit`, so an oversized rendering stops early instead of
/// being built and thrown away.
struct Limited {
    buf: Vec<u8>,
    limit: usize,
}

impl io::Write for Limited {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.limit {
            return Err(io::Error::other("echo over its bound"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
