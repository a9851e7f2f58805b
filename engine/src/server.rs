//! The built-in test target: a small httpbin-like HTTP/1.1 server (keep-alive), so the quick
//! start, the example plans and the tests need no other server.
//!
//! Endpoints (any method unless noted):
//! - `/` — a short text body.
//! - `/get`, `/post`, `/put`, `/patch`, `/delete`, `/anything[/...]` — JSON echo of the request:
//!   `method`, `url`, `args`, `headers`, `data`, `json` (when the body is JSON), `form`.
//! - `/headers` — `{"headers": {...}}`.
//! - `/status/CODE` — that status, empty body.
//! - `/delay/SECONDS` — the echo after a delay (fractions allowed, at most 60 s).
//! - `/bytes/N` — N bytes (at most 100 MB).
//! - `/json` — a fixed JSON document.
//! - `/redirect/N` — a chain of N 302 redirects ending at `/get`; `/redirect-to?url=U&status_code=C`.
//! - `/cookies` — the request's cookies as JSON; `/cookies/set?k=v` sets them and redirects to
//!   `/cookies`; `/cookies/delete?k` expires them and redirects to `/cookies`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::http::wire::{self, Framing, InBuf};
use crate::util::{parse_query, percent_decode};

const MAX_BODY: usize = 64 * 1024 * 1024;

/// Serves connections accepted from `listener` until `shutdown` becomes true.
pub async fn serve(listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(stream));
                }
                Err(e) => {
                    tracing::debug!("test server accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}

/// An in-process server on its own threads; stopped on drop.
pub struct TestServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Binds `addr` (port 0 for any free port) and serves on `threads` worker threads.
    pub fn start(addr: SocketAddr, threads: usize) -> io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("test-server")
            .enable_all()
            .build()?;
        let listener = rt.block_on(TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let (stop, rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || {
                rt.block_on(serve(listener, rx));
                rt.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    host: String,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Option<Duration>,
}

impl Response {
    fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: None,
        }
    }

    fn json(status: u16, v: &Value) -> Self {
        let mut r = Self::new(status);
        r.headers
            .push(("Content-Type".into(), "application/json".into()));
        r.body = serde_json::to_vec_pretty(v).unwrap_or_default();
        r.body.push(b'\n');
        r
    }

    fn text(status: u16, body: &str) -> Self {
        let mut r = Self::new(status);
        r.headers
            .push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
        r.body = body.as_bytes().to_vec();
        r
    }

    fn redirect(status: u16, location: &str) -> Self {
        let mut r = Self::new(status);
        r.headers.push(("Location".into(), location.into()));
        r
    }
}

async fn connection(stream: TcpStream) {
    let (mut rd, mut wr) = stream.into_split();
    let mut inb = InBuf::new(8192);
    let mut out = Vec::with_capacity(8192);
    loop {
        match one_exchange(&mut rd, &mut inb, &mut out).await {
            Ok(Some((keep_alive, delay))) => {
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                if wr.write_all(&out).await.is_err() || !keep_alive {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                let msg = format!("bad request: {e}\n");
                let head = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    msg.len()
                );
                let _ = wr.write_all(head.as_bytes()).await;
                let _ = wr.write_all(msg.as_bytes()).await;
                return;
            }
        }
    }
}

/// Reads one request and renders its response into `out`. `None` when the peer closed.
async fn one_exchange<R: AsyncRead + Unpin>(
    rd: &mut R,
    inb: &mut InBuf,
    out: &mut Vec<u8>,
) -> io::Result<Option<(bool, Option<Duration>)>> {
    let Some(head_len) = wire::read_head(rd, inb).await? else {
        return Ok(None);
    };
    let (mut req, framing, keep_alive) = {
        let mut hbuf = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut hbuf);
        match parsed.parse(&inb.available()[..head_len]) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "incomplete head",
                ))
            }
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
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
        let framing = wire::framing(parsed.headers, false)?;
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
        (req, framing, keep_alive)
    };
    inb.consume(head_len);
    if framing != Framing::Empty {
        wire::read_body(rd, inb, framing, &mut req.body, MAX_BODY).await?;
    }
    let resp = route(&req);
    out.clear();
    render(&req, &resp, keep_alive, out);
    Ok(Some((keep_alive, resp.delay)))
}

fn reason(status: u16) -> &'static str {
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
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn render(req: &Request, resp: &Response, keep_alive: bool, out: &mut Vec<u8>) {
    use std::io::Write;
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    out.extend_from_slice(b"Server: loadrun-test-server\r\n");
    for (k, v) in &resp.headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    let no_body =
        req.method.eq_ignore_ascii_case("HEAD") || resp.status == 204 || resp.status == 304;
    if resp.status != 204 && resp.status != 304 {
        let _ = write!(out, "Content-Length: {}\r\n", resp.body.len());
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !no_body {
        out.extend_from_slice(&resp.body);
    }
}

fn split_target(target: &str) -> (&str, &str) {
    match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    }
}

fn route(req: &Request) -> Response {
    let (path, query) = split_target(&req.target);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        [""] => Response::text(200, "loadrun test server: see /get, /status/N, /delay/S, /bytes/N, /json, /redirect/N, /cookies\n"),
        ["get"] | ["post"] | ["put"] | ["patch"] | ["delete"] => {
            let want = segs[0].to_ascii_uppercase();
            if req.method != want {
                return Response::text(405, "method not allowed\n");
            }
            Response::json(200, &echo(req, query))
        }
        ["anything", ..] => Response::json(200, &echo(req, query)),
        ["headers"] => Response::json(200, &json!({ "headers": headers_obj(req) })),
        ["status", code] => match code.parse::<u16>() {
            Ok(c) if (100..=999).contains(&c) && c >= 200 => Response::new(c),
            _ => Response::text(400, "invalid status code\n"),
        },
        ["delay", secs] => match secs.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => {
                let mut r = Response::json(200, &echo(req, query));
                r.delay = Some(Duration::from_secs_f64(s.min(60.0)));
                r
            }
            _ => Response::text(400, "invalid delay\n"),
        },
        ["bytes", n] => match n.parse::<usize>() {
            Ok(n) if n <= 100 * 1024 * 1024 => {
                let mut r = Response::new(200);
                r.headers
                    .push(("Content-Type".into(), "application/octet-stream".into()));
                r.body = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
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
        ["cookies"] => Response::json(200, &json!({ "cookies": cookies_obj(req) })),
        ["cookies", "set"] => {
            let mut r = Response::redirect(302, "/cookies");
            for (k, v) in parse_query(query) {
                r.headers
                    .push(("Set-Cookie".into(), format!("{k}={v}; Path=/")));
            }
            r
        }
        ["cookies", "delete"] => {
            let mut r = Response::redirect(302, "/cookies");
            for (k, _) in parse_query(query) {
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

fn headers_obj(req: &Request) -> Value {
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

fn echo(req: &Request, query: &str) -> Value {
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
    let data = String::from_utf8_lossy(&req.body).into_owned();
    let json_body = if ctype.contains("json") {
        serde_json::from_slice::<Value>(&req.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let mut form = Map::new();
    if ctype.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in parse_query(&data) {
            form.insert(k, Value::String(v));
        }
    }
    json!({
        "method": req.method,
        "url": format!("http://{}{}", req.host, req.target),
        "path": percent_decode(split_target(&req.target).0, false),
        "args": args,
        "headers": headers_obj(req),
        "data": data,
        "json": json_body,
        "form": form,
    })
}

/// Keeps the listener's type out of callers that only need the URL of a shared server.
pub type SharedServer = Arc<TestServer>;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn raw(addr: SocketAddr, req: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn endpoints() {
        let srv = TestServer::start("127.0.0.1:0".parse().unwrap(), 1).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let r = raw(srv.addr(), "GET /status/418 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            assert!(r.starts_with("HTTP/1.1 418 "), "{r}");
            let r = raw(srv.addr(), "POST /post?a=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"k\":2}").await;
            let body = &r[r.find("\r\n\r\n").unwrap() + 4..];
            let v: Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["json"]["k"], 2);
            assert_eq!(v["args"]["a"], "1");
            let r = raw(srv.addr(), "GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\nGET /redirect/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            assert!(r.contains("Content-Length: 10\r\n\r\nabcdefghij"), "{r}");
            assert!(r.contains("Location: /redirect/1"), "{r}");
            let r = raw(srv.addr(), "GET /cookies/set?a=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            assert!(r.contains("Set-Cookie: a=b; Path=/"), "{r}");
        });
    }
}
