//! A recording HTTP/1.1 server, for tests of outputs whose service does not run here (Datadog's
//! and New Relic's APIs, k6 Cloud) or will not misbehave on demand (an InfluxDB answering 429).
//!
//! It listens on a loopback port, answers every request through the caller's handler (where a
//! stand-in's own checks and state machine live), keeps every exchange for read-back, and stops
//! when dropped. Canned answers and a "down" switch inject the failures a handler would not give.
//! Only the plumbing is here: what a service accepts stays with the test that imitates it.

mod decode;
mod http;

use std::collections::{HashMap, VecDeque};
use std::io::BufReader;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a kept-alive connection may sit idle: longer than any push interval the tests use,
/// so an output's pooled connection is not closed under it mid-test.
const IDLE: Duration = Duration::from_secs(30);

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request line as sent, without its CRLF (`POST /write?db=x HTTP/1.1`).
    pub line: String,
    pub method: String,
    /// The target: path and query, as sent.
    pub path: String,
    /// In the order sent, names as sent (look up with [`Request::header`]).
    pub headers: Vec<(String, String)>,
    /// Body bytes on the wire, before any Content-Encoding is undone (chunking removed).
    pub wire_len: usize,
    /// The body, gunzipped or inflated for `Content-Encoding: gzip` / `deflate`; any other
    /// coding (snappy…) is left as sent, for the handler to judge.
    pub body: Vec<u8>,
    /// Why the gzip/deflate body did not decode (the body is then left as sent).
    pub decode_error: Option<String>,
}

impl Request {
    /// The first header named `name`, in any case (HTTP names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (failing the test) when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} {}: body is not JSON: {e}", self.method, self.path))
    }
}

/// A handler's answer. `Content-Length` is written by the recorder.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What the handler found wrong with the request: recorded with the exchange, never sent.
    pub problems: Vec<String>,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: vec![],
            body: vec![],
            problems: vec![],
        }
    }

    /// A JSON body with its Content-Type.
    pub fn json(status: u16, body: &str) -> Self {
        Self::new(status)
            .header("Content-Type", "application/json")
            .body(body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn problems(mut self, problems: Vec<String>) -> Self {
        self.problems = problems;
        self
    }
}

/// One request and how it was answered.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Request,
    /// The status sent (a canned or "down" answer's, when one answered).
    pub status: u16,
    /// The handler's [`Response::problems`] for this request.
    pub problems: Vec<String>,
}

/// Reads through to the request, so a test says `exchange.path`.
impl Deref for Exchange {
    type Target = Request;
    fn deref(&self) -> &Request {
        &self.request
    }
}

enum Canned {
    Answer(Response),
    /// Sent byte for byte; the connection is closed after it, as its framing is unknown.
    Raw(Vec<u8>),
    /// Nothing is sent: the connection is closed once the request was read.
    Hangup,
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    log: Mutex<Vec<Exchange>>,
    canned: Mutex<VecDeque<Canned>>,
    down: AtomicBool,
    down_answer: Mutex<Response>,
    stopping: AtomicBool,
    /// A handle on every open connection, to end them when the recorder is dropped.
    open: Mutex<HashMap<u64, TcpStream>>,
}

/// The server. Every request is recorded and answered, in order of precedence, by the next
/// queued canned answer, by the "down" answer while down, or by the handler. The handler sees
/// every request even when something else answers it, so a checking handler checks them all:
/// keep state that must follow what was *sent* (like data a service stored) out of it and
/// derive it from [`Recorder::received`] instead.
pub struct Recorder {
    addr: String,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Recorder {
    /// On a free loopback port.
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Recorder {
        Self::start_on("127.0.0.1:0", handler)
    }

    /// On `addr`: brings a server up on a port an output already uses (one that was down).
    pub fn start_on(
        addr: &str,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Recorder {
        let listener =
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("recorder: bind {addr}: {e}"));
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            log: Mutex::default(),
            canned: Mutex::default(),
            down: AtomicBool::new(false),
            down_answer: Mutex::new(Response::new(503)),
            stopping: AtomicBool::new(false),
            open: Mutex::default(),
        });
        let addr = listener.local_addr().unwrap().to_string();
        let s = shared.clone();
        let acceptor = std::thread::Builder::new()
            .name(format!("recorder {addr}"))
            .spawn(move || accept(&listener, &s))
            .unwrap();
        Recorder {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next request with `answer` instead of the handler.
    pub fn queue(&self, answer: Response) {
        lock(&self.shared.canned).push_back(Canned::Answer(answer));
    }

    /// Answers the next request with these bytes, as they are (status line, headers, body), and
    /// closes the connection after them.
    pub fn queue_raw(&self, raw: impl Into<Vec<u8>>) {
        lock(&self.shared.canned).push_back(Canned::Raw(raw.into()));
    }

    /// Takes the next request whole, then closes the connection instead of answering: a
    /// server that kept the request and whose answer was lost on the way. The exchange is
    /// recorded with the handler's status, as the server's state would say it took it.
    pub fn queue_hangup(&self) {
        lock(&self.shared.canned).push_back(Canned::Hangup);
    }

    /// While down, requests get the down answer (503 with no body unless set).
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// What requests get while down.
    pub fn set_down_answer(&self, answer: Response) {
        *lock(&self.shared.down_answer) = answer;
    }

    /// Every exchange so far, in the order answered.
    pub fn received(&self) -> Vec<Exchange> {
        lock(&self.shared.log).clone()
    }

    /// The exchanges answered 2xx: what a real service would hold.
    pub fn accepted(&self) -> Vec<Exchange> {
        self.received()
            .into_iter()
            .filter(|e| (200..300).contains(&e.status))
            .collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // `accept` blocks: a connection of our own wakes it to see `stopping`.
        let woken = self
            .addr
            .parse()
            .ok()
            .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).ok())
            .is_some();
        if let (true, Some(t)) = (woken, self.acceptor.take()) {
            let _ = t.join();
        }
        // Then no connection is added any more; ending the open ones unblocks their threads.
        for c in lock(&self.shared.open).values() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// A poisoned lock (a handler panicked) must not hide what was recorded.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for (id, stream) in (0u64..).zip(listener.incoming()) {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        if let Ok(handle) = stream.try_clone() {
            lock(&shared.open).insert(id, handle);
        }
        let s = shared.clone();
        std::thread::spawn(move || {
            serve(stream, &s);
            lock(&s.open).remove(&id);
        });
    }
}

/// One connection: requests in turn until the client closes, goes idle, or a request or an
/// answer says `Connection: close`.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Some(request) = http::read_request(&mut reader) {
        let client_closes = http::wants_close(&request);
        let (wire, server_closes) = shared.answer(request);
        if http::send(&mut writer, &wire).is_err() || client_closes || server_closes {
            break;
        }
    }
    // A FIN, not a reset: the client must still read the answer just sent.
    let _ = writer.shutdown(Shutdown::Write);
}

impl Shared {
    /// Records the request and returns the answer's bytes and whether to close after them.
    fn answer(&self, request: Request) -> (Vec<u8>, bool) {
        let own = (self.handler)(&request);
        let canned = lock(&self.canned).pop_front();
        let sent = match canned {
            Some(Canned::Raw(raw)) => {
                let status = http::status_of(&raw);
                (status, raw, true)
            }
            Some(Canned::Answer(r)) => (r.status, http::encode(&r), http::closes(&r)),
            Some(Canned::Hangup) => (own.status, Vec::new(), true),
            None if self.down.load(Ordering::SeqCst) => {
                let r = lock(&self.down_answer).clone();
                (r.status, http::encode(&r), http::closes(&r))
            }
            None => (own.status, http::encode(&own), http::closes(&own)),
        };
        let (status, wire, close) = sent;
        // Recorded before the answer goes out: a test reading back after its request returned
        // must find it.
        lock(&self.log).push(Exchange {
            request,
            status,
            problems: own.problems,
        });
        (wire, close)
    }
}
