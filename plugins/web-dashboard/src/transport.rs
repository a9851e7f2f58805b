//! The live server: `GET /` (to `/ui/`), `/ui/` and `/ui/ASSET` (the embedded page), `/events`
//! (SSE: every kept event replayed, then new ones as they come, closed after `stop`) and
//! `/report` (the report of the run so far). Only GET and HEAD.
//!
//! A few dozen lines of HTTP/1.0-style serving on std's `TcpListener` (every response closes its
//! connection) rather than a server crate: the dashboard must end its SSE streams and free its
//! port at the test's end whatever a browser does (k6#3619), which needs the sockets in hand;
//! tiny_http keeps a handed-over stream's write half in its connection thread, and hyper with a
//! runtime is a large build for a handful of GETs. Bounded: [`MAX_CONNECTIONS`] at once (more get
//! 503), request heads up to 16 KiB, reads time out.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::assets;
use crate::encoder::Event;
use crate::report;

/// Connections served at once (SSE streams included).
pub const MAX_CONNECTIONS: usize = 64;
const MAX_HEAD: u64 = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A stalled browser must not hold the end of the run.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// A comment line this often keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);
const ACCEPT_POLL: Duration = Duration::from_millis(50);

/// Every event of the run, in order, for the streams and the report.
#[derive(Default)]
pub struct Hub {
    state: Mutex<HubState>,
    changed: Condvar,
}

#[derive(Default)]
struct HubState {
    events: Vec<Arc<Event>>,
    closed: bool,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A panicking stream thread cannot leave the list half-written: pushes are one call.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, event: Event) {
        self.lock().events.push(Arc::new(event));
        self.changed.notify_all();
    }

    /// No event follows: streams send what is left and end.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The events so far (shared, not copied).
    pub fn events(&self) -> Vec<Arc<Event>> {
        self.lock().events.clone()
    }

    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events from `from` on, waiting up to `wait` for one; `None` once closed and all sent.
    fn next(&self, from: usize, wait: Duration) -> Option<Vec<Arc<Event>>> {
        let mut st = self.lock();
        if st.events.len() <= from && !st.closed {
            st = self
                .changed
                .wait_timeout(st, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        if st.events.len() > from {
            Some(st.events[from..].to_vec())
        } else if st.closed {
            None
        } else {
            Some(Vec::new())
        }
    }
}

struct Shared {
    hub: Arc<Hub>,
    stopping: AtomicBool,
    active: AtomicUsize,
    /// Clones of the open connections, to cut the ones still open at shutdown.
    open: Mutex<Vec<(u64, TcpStream)>>,
    next_id: AtomicUsize,
}

/// The running server.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds and starts serving; the error is the bind's (a port in use, a bad address).
    pub fn start(host: &str, port: u16, hub: Arc<Hub>) -> io::Result<Server> {
        let listener = TcpListener::bind((host, port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            hub,
            stopping: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            open: Mutex::new(Vec::new()),
            next_id: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("web-dashboard".into())
            .spawn(move || accept_loop(listener, s))?;
        Ok(Server {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address, as printed at start.
    pub fn url(&self) -> String {
        let host = match self.addr.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        };
        format!("http://{host}:{}/ui/", self.addr.port())
    }

    /// Stops accepting, lets the streams send their last events (the hub must be closed) for
    /// up to `within`, then cuts what is still open and frees the port.
    pub fn shutdown(mut self, within: Duration) {
        let deadline = Instant::now() + within;
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let open = std::mem::take(&mut *lock(&self.shared.open));
        for (_, s) in open {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stopping.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if shared.active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
                    let _ = respond(
                        &stream,
                        "503 Service Unavailable",
                        "text/plain",
                        b"busy\n",
                        false,
                    );
                    continue;
                }
                shared.active.fetch_add(1, Ordering::SeqCst);
                let s = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("web-dashboard-conn".into())
                    .spawn(move || {
                        let id = s.next_id.fetch_add(1, Ordering::SeqCst) as u64;
                        if let Ok(c) = stream.try_clone() {
                            lock(&s.open).push((id, c));
                        }
                        let _ = serve(&stream, &s);
                        let _ = stream.shutdown(Shutdown::Both);
                        lock(&s.open).retain(|(i, _)| *i != id);
                        s.active.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    shared.active.fetch_sub(1, Ordering::SeqCst);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
}

fn respond(
    mut stream: &TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

fn redirect(mut stream: &TcpStream, to: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())
}

/// Reads the request head; `(method, path)` without the query.
fn read_head(stream: &TcpStream) -> io::Result<(String, String)> {
    let mut reader = BufReader::new(stream.take(MAX_HEAD));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default();
    let path = target
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_string();
    // The rest of the head: nothing in it changes the answer.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    Ok((method, path))
}

fn serve(stream: &TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let (method, path) = read_head(stream)?;
    let head_only = match method.as_str() {
        "GET" => false,
        "HEAD" => true,
        _ => {
            return respond(
                stream,
                "405 Method Not Allowed",
                "text/plain",
                b"only GET and HEAD\n",
                false,
            )
        }
    };
    match path.as_str() {
        "/" | "/ui" => redirect(stream, "/ui/"),
        "/ui/" => page(stream, "index.html", head_only),
        "/events" => events(stream, &shared.hub, head_only),
        "/report" => {
            let events = shared.hub.events();
            let html = report::build_html(events.iter().map(|e| &**e));
            respond(
                stream,
                "200 OK",
                "text/html; charset=utf-8",
                html.as_bytes(),
                head_only,
            )
        }
        p => match p.strip_prefix("/ui/") {
            Some(name) if !name.contains('/') => page(stream, name, head_only),
            _ => respond(
                stream,
                "404 Not Found",
                "text/plain",
                b"not found\n",
                head_only,
            ),
        },
    }
}

fn page(stream: &TcpStream, name: &str, head_only: bool) -> io::Result<()> {
    match assets::get(name) {
        Some(body) => respond(
            stream,
            "200 OK",
            assets::content_type(name),
            body,
            head_only,
        ),
        None => respond(
            stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            head_only,
        ),
    }
}

fn events(mut stream: &TcpStream, hub: &Hub, head_only: bool) -> io::Result<()> {
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n",
    )?;
    if head_only {
        return stream.flush();
    }
    // A late client's replay is the whole run: written through a buffer, not built as one text.
    let mut out = io::BufWriter::with_capacity(64 * 1024, stream);
    let mut sent = 0;
    while let Some(batch) = hub.next(sent, KEEPALIVE) {
        if batch.is_empty() {
            out.write_all(b": keepalive\n\n")?;
        }
        for e in &batch {
            out.write_all(e.sse().as_bytes())?;
        }
        out.flush()?;
        sent += batch.len();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn routes_and_sse_replay_until_close() {
        let hub = Arc::new(Hub::default());
        hub.push(Event::new("config", &serde_json::json!({"a": 1})));
        let server = Server::start("127.0.0.1", 0, hub.clone()).unwrap();
        let addr = server.addr();
        assert!(get(addr, "/").starts_with("HTTP/1.1 302"));
        assert!(get(addr, "/ui/").contains("text/html"));
        assert!(get(addr, "/ui/nope.js").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "/etc/passwd").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "/ui/../x").starts_with("HTTP/1.1 404"));
        // A stream opened now replays `config`, then gets `stop` and ends.
        let reader = std::thread::spawn(move || get(addr, "/events"));
        std::thread::sleep(Duration::from_millis(100));
        hub.push(Event::new("stop", &serde_json::json!({})));
        hub.close();
        let text = reader.join().unwrap();
        let config = text.find("event: config\n").unwrap();
        let stop = text.find("event: stop\nretry: 2147483647\n").unwrap();
        assert!(config < stop, "{text}");
        server.shutdown(Duration::from_secs(1));
        assert!(TcpStream::connect(addr).is_err(), "the port is free again");
    }
}
