//! The endpoints of the test server: a parsed request in, a response out.

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::http::head::{field_value_problem, is_token};
use crate::util::parse_query;

/// The largest `/bytes/N`.
pub const MAX_BYTES: usize = 100 * 1024 * 1024;

pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub host: String,
}

pub enum Body {
    Bytes(Vec<u8>),
    /// `/bytes/N`: generated while it is written, so a large one is never held in memory.
    Pattern(usize),
}

impl Body {
    pub fn len(&self) -> usize {
        match self {
            Body::Bytes(b) => b.len(),
            Body::Pattern(n) => *n,
        }
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub delay: Option<Duration>,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
            delay: None,
        }
    }

    pub fn json<T: Serialize>(status: u16, v: &T) -> Self {
        Self::json_bytes(status, serde_json::to_vec_pretty(v).unwrap_or_default())
    }

    /// `body` is already JSON text.
    pub fn json_bytes(status: u16, mut body: Vec<u8>) -> Self {
        let mut r = Self::new(status);
        r.headers
            .push(("Content-Type".into(), "application/json".into()));
        body.push(b'\n');
        r.body = Body::Bytes(body);
        r
    }

    pub fn text(status: u16, body: &str) -> Self {
        let mut r = Self::new(status);
        r.headers
            .push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
        r.body = Body::Bytes(body.as_bytes().to_vec());
        r
    }

    /// A redirect to `location`, which comes from the request: 400 when it cannot be a header.
    fn redirect(status: u16, location: &str) -> Self {
        // CR and LF would end the header (response splitting): the client's rule, one copy.
        if let Some(why) = field_value_problem(location) {
            return Self::text(400, &format!("url {why}\n"));
        }
        let mut r = Self::new(status);
        r.headers.push(("Location".into(), location.into()));
        r
    }
}

/// RFC 6265 cookie-octets: no control bytes, whitespace, `"`, `,`, `;` or `\`.
fn cookie_value_ok(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b > 0x20 && b != 0x7f && !b"\",;\\".contains(&b))
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Renders the head (and a `Bytes` body) into `out`. A `Pattern` body is left to the caller.
pub fn render(head_only: bool, resp: &Response, keep_alive: bool, out: &mut Vec<u8>) {
    use std::io::Write;
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    out.extend_from_slice(b"Server: loadrun-test-server\r\n");
    for (k, v) in &resp.headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    if resp.status != 204 && resp.status != 304 {
        let _ = write!(out, "Content-Length: {}\r\n", resp.body.len());
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if let (false, Body::Bytes(b)) = (head_only || no_body(resp.status), &resp.body) {
        out.extend_from_slice(b);
    }
}

pub fn no_body(status: u16) -> bool {
    status == 204 || status == 304
}

pub fn split_target(target: &str) -> (&str, &str) {
    match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    }
}

pub fn route(req: &Request) -> Response {
    let (path, query) = split_target(&req.target);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        [""] => Response::text(200, "loadrun test server: see /get, /status/N, /delay/S, /bytes/N, /json, /html, /forms/post, /redirect/N, /cookies\n"),
        ["get"] | ["post"] | ["put"] | ["patch"] | ["delete"] => {
            let want = segs[0].to_ascii_uppercase();
            if req.method != want {
                return Response::text(405, "method not allowed\n");
            }
            super::echo::response(req, query)
        }
        ["anything", ..] => super::echo::response(req, query),
        ["headers"] => Response::json(200, &json!({ "headers": headers_obj(req) })),
        ["status", code] => match code.parse::<u16>() {
            Ok(c) if (200..=999).contains(&c) => Response::new(c),
            _ => Response::text(400, "invalid status code\n"),
        },
        ["delay", secs] => match secs.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => {
                let mut r = super::echo::response(req, query);
                r.delay = Some(Duration::from_secs_f64(s.min(60.0)));
                r
            }
            _ => Response::text(400, "invalid delay\n"),
        },
        ["bytes", n] => match n.parse::<usize>() {
            Ok(n) if n <= MAX_BYTES => {
                let mut r = Response::new(200);
                r.headers
                    .push(("Content-Type".into(), "application/octet-stream".into()));
                r.body = Body::Pattern(n);
                r
            }
            _ => Response::text(400, "invalid size\n"),
        },
        ["json"] => Response::json(
            200,
            &json!({
                "slideshow": {
                    "author": "Yours Truly",
                    "date": "date of publication",
                    "slides": [
                        { "title": "Wake up to WonderWidgets!", "type": "all" },
                        { "items": ["Why WonderWidgets are great", "Who buys WonderWidgets"],
                          "title": "Overview", "type": "all" }
                    ],
                    "title": "Sample Slide Show"
                }
            }),
        ),
        ["redirect", n] => match n.parse::<u32>() {
            Ok(0) | Ok(1) => Response::redirect(302, "/get"),
            Ok(n) if n <= 100 => Response::redirect(302, &format!("/redirect/{}", n - 1)),
            _ => Response::text(400, "invalid redirect count\n"),
        },
        ["redirect-to"] => {
            let args = parse_query(query);
            let url = args.iter().find(|(k, _)| k == "url").map(|(_, v)| v.clone());
            let code = args
                .iter()
                .find(|(k, _)| k == "status_code")
                .and_then(|(_, v)| v.parse::<u16>().ok())
                .filter(|c| (300..400).contains(c))
                .unwrap_or(302);
            match url {
                Some(u) => Response::redirect(code, &u),
                None => Response::text(400, "missing url\n"),
            }
        }
        ["html"] => super::pages::html(),
        ["forms", "post"] => super::pages::forms(),
        ["basic-auth", user, pass] => super::auth::basic(req, user, pass),
        ["digest-auth", qop, user, pass] => super::auth::digest(req, qop, user, pass),
        ["cookies"] => Response::json(200, &json!({ "cookies": cookies_obj(req) })),
        ["cookies", "set"] => {
            let mut r = Response::redirect(302, "/cookies");
            for (k, v) in parse_query(query) {
                // A cookie name must be a token; anything else could add attributes or headers.
                if !is_token(&k) {
                    return Response::text(400, "cookie name must be a token (letters, digits, !#$%&'*+-.^_`|~)\n");
                }
                if !cookie_value_ok(&v) {
                    return Response::text(400, "cookie value cannot hold control characters, spaces, '\"', ',', ';' or '\\'\n");
                }
                r.headers
                    .push(("Set-Cookie".into(), format!("{k}={v}; Path=/")));
            }
            r
        }
        ["cookies", "delete"] => {
            let mut r = Response::redirect(302, "/cookies");
            for (k, _) in parse_query(query) {
                if !is_token(&k) {
                    return Response::text(400, "cookie name must be a token (letters, digits, !#$%&'*+-.^_`|~)\n");
                }
                r.headers.push((
                    "Set-Cookie".into(),
                    format!("{k}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"),
                ));
            }
            r
        }
        _ => Response::text(404, "not found\n"),
    }
}

pub fn headers_obj(req: &Request) -> Value {
    let mut m = Map::new();
    for (k, v) in &req.headers {
        m.insert(canonical(k), Value::String(v.clone()));
    }
    Value::Object(m)
}

fn canonical(name: &str) -> String {
    name.split('-')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn cookies_obj(req: &Request) -> Value {
    let mut m = Map::new();
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("cookie") {
            for pair in v.split(';') {
                if let Some((n, val)) = pair.trim().split_once('=') {
                    m.insert(n.to_string(), Value::String(val.to_string()));
                }
            }
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_with_control_bytes_are_refused() {
        assert!(field_value_problem("http://x/a b\tc").is_none());
        assert!(field_value_problem("x\r\nX-Evil: 1").is_some());
        assert!(field_value_problem("x\n").is_some());
        assert!(field_value_problem("x\0").is_some());
        assert!(field_value_problem("x\u{7f}").is_some());
        assert!(is_token("session_id"));
        assert!(!is_token("a=b"));
        assert!(!is_token("a;b"));
        assert!(cookie_value_ok("abc%41"));
        assert!(!cookie_value_ok("b; Domain=evil"));
    }
}
