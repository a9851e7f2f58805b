//! A per-VU HTTP/1.1 client: keep-alive connections reused per host, and k6's timing phases
//! measured around each step (blocked, connecting, TLS handshaking, sending, waiting, receiving).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::url::{Scheme, Url};
use super::wire::{self, Framing, InBuf};

/// Responses larger than this are read off the wire but only this much is kept for checks.
pub const BODY_KEEP_LIMIT: usize = 16 * 1024 * 1024;

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

struct Conn {
    scheme: Scheme,
    host: String,
    port: u16,
    stream: Stream,
    inb: InBuf,
    tls_version: Option<&'static str>,
}

/// Which HTTP versions the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/2 when a TLS server offers it (ALPN), HTTP/1.1 otherwise (what k6 does).
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 always: ALPN on TLS, prior knowledge (h2c) on cleartext.
    Http2,
}

/// Shared by every VU's client.
pub struct ClientShared {
    pub tls: Arc<rustls::ClientConfig>,
    pub version: HttpVersion,
    /// Free a connection's read buffer while it waits and the last response's buffers before
    /// each request, so a VU waiting on its server holds none of them: one allocation per
    /// request, chosen for runs of many VUs (memory) and not for a few fast ones (throughput).
    pub release_idle_buffers: bool,
}

/// One VU's HTTP/2 connection to a host; the connection itself is driven by its own task.
struct H2Conn {
    scheme: Scheme,
    host: String,
    port: u16,
    send: h2::client::SendRequest<bytes::Bytes>,
    tls_version: Option<&'static str>,
}

enum Connected {
    H1(Conn),
    H2(H2Conn),
}

/// k6's timing phases of one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub blocked: Duration,
    pub connecting: Duration,
    pub tls_handshaking: Duration,
    pub sending: Duration,
    pub waiting: Duration,
    pub receiving: Duration,
    /// When the request ended, the moment its samples are stamped with.
    pub end: Option<Instant>,
}

impl Timings {
    /// `http_req_duration`: sending + waiting + receiving.
    pub fn duration(&self) -> Duration {
        self.sending + self.waiting + self.receiving
    }
}

/// A failed request, with k6's `error_code` and `error` text.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub code: u32,
    pub message: String,
}

/// The response of the last request; buffers are reused between requests.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    pub proto: &'static str,
    pub tls_version: Option<&'static str>,
    /// The raw head (status line and headers).
    pub head: Vec<u8>,
    pub body: Vec<u8>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The head has a Set-Cookie header: known from the parse, so the cookie jar does not
    /// search every head for one.
    pub set_cookie: bool,
}

impl Response {
    /// Header values with this name (case-insensitive), in order; a value that is not UTF-8
    /// is left out.
    pub fn headers<'a, 'n: 'a>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + 'a {
        header_lines(&self.head).filter_map(move |(key, value)| header_value(key, value, name))
    }

    pub fn header<'a>(&'a self, name: &str) -> Option<&'a str> {
        header_lines(&self.head).find_map(|(key, value)| header_value(key, value, name))
    }

    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Like [`Response::reset`], and gives the buffers' memory back.
    fn release(&mut self) {
        self.reset();
        self.head = Vec::new();
        self.body = Vec::new();
    }

    pub(crate) fn reset(&mut self) {
        self.status = 0;
        self.proto = "";
        self.tls_version = None;
        self.head.clear();
        self.body.clear();
        self.bytes_sent = 0;
        self.bytes_received = 0;
        self.set_cookie = false;
    }
}

/// A head's header lines as (name, value) before trimming. Asked after every request
/// (Set-Cookie): the head is scanned as bytes, with neither a UTF-8 check of all of it nor a
/// substring search for each CRLF.
fn header_lines(head: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    head.split(|&b| b == b'\n').skip(1).filter_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        Some((&line[..colon], &line[colon + 1..]))
    })
}

fn header_value<'a>(key: &[u8], value: &'a [u8], name: &str) -> Option<&'a str> {
    if !key.trim_ascii().eq_ignore_ascii_case(name.as_bytes()) {
        return None;
    }
    std::str::from_utf8(value.trim_ascii()).ok()
}

#[derive(Default)]
struct Marks {
    conn_start: Option<Instant>,
    conn_end: Option<Instant>,
    tls_start: Option<Instant>,
    tls_end: Option<Instant>,
    send_start: Option<Instant>,
    send_end: Option<Instant>,
    first_byte: Option<Instant>,
    end: Option<Instant>,
}

/// One VU's client.
pub struct Client {
    shared: Arc<ClientShared>,
    conns: Vec<Conn>,
    h2conns: Vec<H2Conn>,
    /// The request timeout's timer, kept from request to request: moving a registered timer
    /// later is an atomic store, where `tokio::time::timeout` would insert a fresh timer into
    /// the runtime's wheel and remove it again (a lock each) for every request.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

enum Failure {
    /// Nothing of the response arrived on a reused connection: the server may have closed it
    /// while idle, so the request is safe to send again on a fresh one.
    Stale(io::Error),
    Other(HttpError),
}

impl Client {
    pub fn new(shared: Arc<ClientShared>) -> Self {
        Self {
            shared,
            conns: Vec::new(),
            h2conns: Vec::new(),
            deadline: None,
        }
    }

    /// Drops every connection (after an interrupted request left one in an unknown state).
    pub fn reset(&mut self) {
        self.conns.clear();
        self.h2conns.clear();
    }

    /// Sends the request bytes `req` (built for `url`) and reads the response into `resp`.
    pub async fn send(
        &mut self,
        url: &Url,
        req: &[u8],
        head_request: bool,
        timeout: Duration,
        resp: &mut Response,
    ) -> (Timings, Result<(), HttpError>) {
        let t0 = Instant::now();
        if self.shared.release_idle_buffers {
            resp.release();
        } else {
            resp.reset();
        }
        let mut marks = Marks::default();
        let at = deadline_at(t0, timeout);
        let mut timer = self.take_timer(at);
        // Pinned where they are made: a future passed by value is copied into every future
        // that takes it, and a request's future is large.
        let first = {
            let attempt = pin!(self.attempt(url, req, head_request, resp, &mut marks, true));
            within(timer.as_mut(), attempt).await
        };
        let mut result = first.unwrap_or_else(|| Err(Failure::Other(timeout_error(&marks, url))));
        if let Err(Failure::Stale(_)) = result {
            marks = Marks::default();
            resp.reset();
            let again = {
                let attempt = pin!(self.attempt(url, req, head_request, resp, &mut marks, false));
                within(timer.as_mut(), attempt).await
            };
            result = again.unwrap_or_else(|| Err(Failure::Other(timeout_error(&marks, url))));
        }
        self.deadline = Some(timer);
        let now = marks.end.unwrap_or_else(Instant::now);
        let timings = timings_from(t0, &marks, now);
        let res = match result {
            Ok(()) => Ok(()),
            Err(Failure::Stale(e)) => Err(io_error(&e, url, false)),
            Err(Failure::Other(e)) => {
                // The connection may hold half a response.
                self.conns.retain(|c| {
                    !(c.host == url.host && c.port == url.port && c.scheme == url.scheme)
                });
                Err(e)
            }
        };
        (timings, res)
    }

    /// The timer, set to go off at `at`.
    fn take_timer(&mut self, at: tokio::time::Instant) -> Pin<Box<tokio::time::Sleep>> {
        match self.deadline.take() {
            Some(mut timer) => {
                timer.as_mut().reset(at);
                timer
            }
            None => Box::pin(tokio::time::sleep_until(at)),
        }
    }

    async fn attempt(
        &mut self,
        url: &Url,
        req: &[u8],
        head_request: bool,
        resp: &mut Response,
        marks: &mut Marks,
        allow_reuse: bool,
    ) -> Result<(), Failure> {
        let same = |scheme: Scheme, host: &str, port: u16| {
            port == url.port && scheme == url.scheme && host == url.host
        };
        if let Some(i) = self
            .h2conns
            .iter()
            .position(|c| same(c.scheme, &c.host, c.port))
        {
            let c = self.h2conns.swap_remove(i);
            if allow_reuse {
                // Boxed here and below: every VU's request future is as large as its largest
                // branch, and the HTTP/2 and connect branches (TLS handshake included) are
                // several KiB while the keep-alive HTTP/1.1 path that most requests take is
                // small. Boxing costs one allocation per connect / HTTP/2 request.
                return Box::pin(self.attempt_h2(c, url, req, head_request, resp, marks, true))
                    .await;
            }
        }
        let pos = self
            .conns
            .iter()
            .position(|c| same(c.scheme, &c.host, c.port));
        let reuse = match pos {
            Some(i) if allow_reuse => Some(self.conns.swap_remove(i)),
            Some(i) => {
                self.conns.swap_remove(i);
                None
            }
            None => None,
        };
        let (mut conn, reused) = match reuse {
            Some(c) => (c, true),
            None => match Box::pin(self.connect(url, marks))
                .await
                .map_err(Failure::Other)?
            {
                Connected::H1(c) => (c, false),
                Connected::H2(c) => {
                    return Box::pin(self.attempt_h2(c, url, req, head_request, resp, marks, false))
                        .await
                }
            },
        };
        let fail = |e: io::Error, got_bytes: bool| -> Failure {
            if reused && !got_bytes {
                Failure::Stale(e)
            } else {
                Failure::Other(io_error(&e, url, got_bytes))
            }
        };
        marks.send_start = Some(Instant::now());
        if let Err(e) = conn.stream.write_all(req).await {
            return Err(fail(e, false));
        }
        if let Err(e) = conn.stream.flush().await {
            return Err(fail(e, false));
        }
        marks.send_end = Some(Instant::now());
        resp.bytes_sent = req.len() as u64;
        resp.tls_version = conn.tls_version;

        // Wait for the first byte separately: that moment splits waiting from receiving.
        if conn.inb.available().is_empty() {
            if let (true, Stream::Plain(s)) = (self.shared.release_idle_buffers, &conn.stream) {
                // The wait for the server is spent holding no read buffer: a one-byte peek
                // first, and the buffer is taken once there is something to read.
                if let Err(e) = s.peek(&mut [0u8; 1]).await {
                    return Err(fail(e, false));
                }
            }
            match conn.inb.fill(&mut conn.stream).await {
                Ok(0) => {
                    return Err(fail(
                        io::Error::new(io::ErrorKind::UnexpectedEof, "EOF"),
                        false,
                    ))
                }
                Ok(_) => {}
                Err(e) => return Err(fail(e, false)),
            }
        }
        marks.first_byte = Some(Instant::now());
        let (keep_alive, framing) = loop {
            let head_len = match wire::read_head(&mut conn.stream, &mut conn.inb).await {
                Ok(Some(n)) => n,
                Ok(None) => {
                    return Err(fail(
                        io::Error::new(io::ErrorKind::UnexpectedEof, "EOF"),
                        true,
                    ))
                }
                Err(e) => return Err(fail(e, true)),
            };
            // Uninitialised: httparse writes the headers it finds, and filling 96 empty ones
            // (3 KiB) first was a memset per response.
            let mut hbuf = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 96];
            let mut parsed = httparse::Response::new(&mut []);
            let head = &conn.inb.available()[..head_len];
            match httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut parsed,
                head,
                &mut hbuf,
            ) {
                Ok(httparse::Status::Complete(_)) => {}
                Ok(httparse::Status::Partial) | Err(_) => {
                    return Err(Failure::Other(HttpError {
                        code: 1000,
                        message: format!("malformed HTTP response from {}", url.authority()),
                    }))
                }
            }
            let status = parsed.code.unwrap_or(0);
            resp.bytes_received += head_len as u64;
            if (100..200).contains(&status) && status != 101 {
                conn.inb.consume(head_len);
                continue;
            }
            let version = parsed.version.unwrap_or(1);
            resp.status = status;
            resp.proto = if version == 0 { "HTTP/1.0" } else { "HTTP/1.1" };
            let conn_hdr = wire::header(parsed.headers, "connection").unwrap_or_default();
            let keep_alive = if version == 0 {
                conn_hdr.eq_ignore_ascii_case(b"keep-alive")
            } else {
                !conn_hdr.eq_ignore_ascii_case(b"close")
            };
            resp.set_cookie = parsed
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("set-cookie"));
            let framing = match wire::response_framing(parsed.headers, status, head_request) {
                Ok(f) => f,
                Err(e) => return Err(fail(e, true)),
            };
            resp.head.extend_from_slice(head);
            conn.inb.consume(head_len);
            break (keep_alive, framing);
        };
        match wire::read_body(
            &mut conn.stream,
            &mut conn.inb,
            framing,
            &mut resp.body,
            BODY_KEEP_LIMIT,
        )
        .await
        {
            Ok(n) => resp.bytes_received += n,
            Err(e) => return Err(fail(e, true)),
        }
        marks.end = Some(Instant::now());
        if keep_alive && framing != Framing::UntilClose {
            if self.shared.release_idle_buffers {
                conn.inb.release_if_empty();
            }
            // Room for one connection, not the four a first push makes room for: most VUs
            // talk to one host.
            self.conns.reserve_exact(1);
            self.conns.push(conn);
        }
        Ok(())
    }

    async fn connect(&self, url: &Url, marks: &mut Marks) -> Result<Connected, HttpError> {
        let addr = resolve(url).await?;
        marks.conn_start = Some(Instant::now());
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| dial_error(&e, addr))?;
        marks.conn_end = Some(Instant::now());
        let _ = tcp.set_nodelay(true);
        let h2;
        let (stream, tls_version) = match url.scheme {
            Scheme::Http => {
                h2 = self.shared.version == HttpVersion::Http2;
                (Stream::Plain(tcp), None)
            }
            Scheme::Https => {
                marks.tls_start = Some(Instant::now());
                let name =
                    rustls::pki_types::ServerName::try_from(url.host.clone()).map_err(|_| {
                        HttpError {
                            code: 1020,
                            message: format!("invalid TLS server name {:?}", url.host),
                        }
                    })?;
                let connector = tokio_rustls::TlsConnector::from(self.shared.tls.clone());
                // Boxed, as the HTTP/2 handshake below: the handshakes are the largest states
                // of a connect, and every VU connecting at once (a run's start) would hold
                // room for them even on plain HTTP/1.1.
                let tls = Box::pin(connector.connect(name, tcp))
                    .await
                    .map_err(|e| tls_error(&e))?;
                marks.tls_end = Some(Instant::now());
                let session = tls.get_ref().1;
                h2 = session.alpn_protocol() == Some(b"h2");
                let version = match session.protocol_version() {
                    Some(rustls::ProtocolVersion::TLSv1_3) => Some("tls1.3"),
                    Some(rustls::ProtocolVersion::TLSv1_2) => Some("tls1.2"),
                    Some(_) => Some("tls"),
                    None => None,
                };
                (Stream::Tls(Box::new(tls)), version)
            }
        };
        if h2 {
            let (send, connection) = Box::pin(h2::client::handshake(stream))
                .await
                .map_err(|e| h2_error(&e, url))?;
            // The connection future drives the socket; it ends when the VU drops `send`.
            tokio::spawn(async move {
                let _ = connection.await;
            });
            return Ok(Connected::H2(H2Conn {
                scheme: url.scheme,
                host: url.host.clone(),
                port: url.port,
                send,
                tls_version,
            }));
        }
        Ok(Connected::H1(Conn {
            scheme: url.scheme,
            host: url.host.clone(),
            port: url.port,
            stream,
            // No read buffer before the response starts when idle buffers are released.
            inb: if self.shared.release_idle_buffers {
                InBuf::default()
            } else {
                InBuf::new(1024)
            },
            tls_version,
        }))
    }

    /// One request over HTTP/2. The request arrives as HTTP/1.1 bytes (what the VU builds for
    /// every protocol); it is re-read here into HTTP/2 headers and a body.
    #[allow(clippy::too_many_arguments)]
    async fn attempt_h2(
        &mut self,
        conn: H2Conn,
        url: &Url,
        req: &[u8],
        head_request: bool,
        resp: &mut Response,
        marks: &mut Marks,
        reused: bool,
    ) -> Result<(), Failure> {
        let fail = |e: h2::Error| -> Failure {
            if reused && (e.is_go_away() || e.is_io()) {
                Failure::Stale(io::Error::other(e.to_string()))
            } else {
                Failure::Other(h2_error(&e, url))
            }
        };
        let mut hbuf = [httparse::EMPTY_HEADER; 96];
        let mut parsed = httparse::Request::new(&mut hbuf);
        let head_len = match parsed.parse(req) {
            Ok(httparse::Status::Complete(n)) => n,
            _ => {
                return Err(Failure::Other(HttpError {
                    code: 1000,
                    message: "cannot build the HTTP/2 request".into(),
                }))
            }
        };
        let body = &req[head_len..];
        let mut builder = http::Request::builder()
            .method(parsed.method.unwrap_or("GET"))
            .uri(url.to_string())
            .version(http::Version::HTTP_2);
        for h in parsed.headers.iter() {
            if [
                "host",
                "connection",
                "transfer-encoding",
                "keep-alive",
                "upgrade",
            ]
            .iter()
            .any(|n| h.name.eq_ignore_ascii_case(n))
            {
                continue;
            }
            builder = builder.header(h.name, h.value);
        }
        let request = builder.body(()).map_err(|e| {
            Failure::Other(HttpError {
                code: 1000,
                message: format!("invalid HTTP/2 request: {e}"),
            })
        })?;
        marks.send_start = Some(Instant::now());
        let mut send = conn.send.clone().ready().await.map_err(fail)?;
        let (response, mut stream) = send.send_request(request, body.is_empty()).map_err(fail)?;
        if !body.is_empty() {
            stream
                .send_data(bytes::Bytes::copy_from_slice(body), true)
                .map_err(fail)?;
        }
        marks.send_end = Some(Instant::now());
        resp.bytes_sent = req.len() as u64;
        resp.tls_version = conn.tls_version;
        let response = response.await.map_err(fail)?;
        marks.first_byte = Some(Instant::now());
        let (parts, mut recv) = response.into_parts();
        resp.status = parts.status.as_u16();
        resp.proto = "HTTP/2.0";
        {
            use std::io::Write;
            let _ = write!(resp.head, "HTTP/2.0 {}\r\n", resp.status);
            resp.set_cookie = parts.headers.contains_key(http::header::SET_COOKIE);
            for (k, v) in parts.headers.iter() {
                resp.head.extend_from_slice(k.as_str().as_bytes());
                resp.head.extend_from_slice(b": ");
                resp.head.extend_from_slice(v.as_bytes());
                resp.head.extend_from_slice(b"\r\n");
            }
            resp.head.extend_from_slice(b"\r\n");
        }
        resp.bytes_received += resp.head.len() as u64;
        if !head_request {
            while let Some(chunk) = recv.data().await {
                let chunk = chunk.map_err(|e| Failure::Other(h2_error(&e, url)))?;
                let _ = recv.flow_control().release_capacity(chunk.len());
                resp.bytes_received += chunk.len() as u64;
                if resp.body.len() < BODY_KEEP_LIMIT {
                    let keep = chunk.len().min(BODY_KEEP_LIMIT - resp.body.len());
                    resp.body.extend_from_slice(&chunk[..keep]);
                }
            }
        }
        marks.end = Some(Instant::now());
        self.h2conns.push(conn);
        Ok(())
    }
}

/// When a request started at `t0` times out; a timeout too large for the clock is none.
fn deadline_at(t0: Instant, timeout: Duration) -> tokio::time::Instant {
    let t0 = tokio::time::Instant::from_std(t0);
    // About 30 years, as tokio's own `sleep` does for a duration it cannot add.
    t0.checked_add(timeout)
        .unwrap_or_else(|| t0 + Duration::from_secs(86400 * 365 * 30))
}

/// Runs `fut` until it ends, or `None` once `timer` goes off. The request is polled first, so a
/// response that is complete when the deadline passes still counts.
fn within<'a, F: std::future::Future>(
    mut timer: Pin<&'a mut tokio::time::Sleep>,
    mut fut: Pin<&'a mut F>,
) -> impl std::future::Future<Output = Option<F::Output>> + 'a {
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
}

fn h2_error(e: &h2::Error, url: &Url) -> HttpError {
    let code = if e.is_go_away() {
        1610
    } else if e.is_reset() {
        1630
    } else {
        1600
    };
    HttpError {
        code,
        message: format!("request to \"{url}\": http2: {e}"),
    }
}

async fn resolve(url: &Url) -> Result<SocketAddr, HttpError> {
    if let Ok(ip) = url.host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, url.port));
    }
    let mut addrs = tokio::net::lookup_host((url.host.as_str(), url.port))
        .await
        .map_err(|e| HttpError {
            code: 1101,
            message: format!("lookup {}: {}", url.host, no_such_host(&e)),
        })?;
    addrs.next().ok_or_else(|| HttpError {
        code: 1101,
        message: format!("lookup {}: no such host", url.host),
    })
}

fn no_such_host(e: &io::Error) -> String {
    let s = e.to_string();
    if s.contains("not known") || s.contains("No address") || s.contains("not found") {
        "no such host".into()
    } else {
        s
    }
}

fn timings_from(t0: Instant, m: &Marks, now: Instant) -> Timings {
    let d = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
        (Some(a), Some(b)) => b.saturating_duration_since(a),
        (Some(a), None) => now.saturating_duration_since(a),
        _ => Duration::ZERO,
    };
    let blocked = match m.send_start {
        Some(s) => s.saturating_duration_since(t0),
        None => now.saturating_duration_since(t0),
    };
    Timings {
        blocked,
        connecting: d(m.conn_start, m.conn_end),
        tls_handshaking: d(m.tls_start, m.tls_end),
        sending: if m.send_start.is_some() {
            d(m.send_start, m.send_end)
        } else {
            Duration::ZERO
        },
        waiting: if m.send_end.is_some() {
            d(m.send_end, m.first_byte)
        } else {
            Duration::ZERO
        },
        receiving: if m.first_byte.is_some() {
            d(m.first_byte, m.end)
        } else {
            Duration::ZERO
        },
        end: Some(now),
    }
}

fn timeout_error(m: &Marks, url: &Url) -> HttpError {
    if m.conn_start.is_some() && m.conn_end.is_none() {
        HttpError {
            code: 1211,
            message: format!("dial tcp {}: i/o timeout", url.authority()),
        }
    } else {
        HttpError {
            code: 1050,
            message: "request timeout".into(),
        }
    }
}

fn dial_error(e: &io::Error, addr: SocketAddr) -> HttpError {
    let (code, what) = match e.kind() {
        io::ErrorKind::ConnectionRefused => (1212, "connect: connection refused".to_string()),
        io::ErrorKind::TimedOut => (1211, "i/o timeout".to_string()),
        _ => match e.raw_os_error() {
            Some(113) | Some(101) => (1213, format!("connect: {e}")),
            _ => (1210, format!("connect: {e}")),
        },
    };
    HttpError {
        code,
        message: format!("dial tcp {addr}: {what}"),
    }
}

fn tls_error(e: &io::Error) -> HttpError {
    let text = e.to_string();
    let code = if text.contains("UnknownIssuer")
        || text.contains("unknown issuer")
        || text.contains("CaUsedAsEndEntity")
    {
        1310
    } else if text.contains("NotValidForName") || text.contains("not valid for name") {
        1311
    } else {
        1300
    };
    HttpError {
        code,
        message: format!("tls: {text}"),
    }
}

fn io_error(e: &io::Error, url: &Url, got_bytes: bool) -> HttpError {
    let (code, msg) = match e.kind() {
        io::ErrorKind::ConnectionReset => (1220, "read: connection reset by peer".to_string()),
        io::ErrorKind::BrokenPipe => (1201, "write: broken pipe".to_string()),
        io::ErrorKind::UnexpectedEof if !got_bytes => (1000, "EOF".to_string()),
        io::ErrorKind::UnexpectedEof => (1000, "unexpected EOF".to_string()),
        io::ErrorKind::InvalidData => (1000, format!("malformed HTTP response: {e}")),
        _ => (1200, e.to_string()),
    };
    HttpError {
        code,
        message: format!("{} \"{}\": {msg}", "request to", url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_by_name_in_order_whatever_their_case() {
        let resp = Response {
            head: b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Type: text/plain\r\nset-cookie:b=2; Path=/ \r\nX-Bin: \xff\r\nSET-COOKIE : c=3\r\n\r\n"
                .to_vec(),
            ..Response::default()
        };
        assert_eq!(
            resp.headers("set-cookie").collect::<Vec<_>>(),
            ["a=1", "b=2; Path=/", "c=3"]
        );
        assert_eq!(resp.header("content-type"), Some("text/plain"));
        assert_eq!(resp.header("x-bin"), None);
        assert_eq!(resp.header("location"), None);
        // The status line is not a header, even with a colon in its reason.
        let odd = Response {
            head: b"HTTP/1.1 200 Status: fine\r\n\r\n".to_vec(),
            ..Response::default()
        };
        assert_eq!(odd.header("HTTP/1.1 200 Status"), None);
    }
}
