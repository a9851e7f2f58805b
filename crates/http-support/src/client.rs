//! A blocking HTTP client with the timeouts, TLS and compression every output needs.
//!
//! Blocking is right here: the host calls each output's `write` on a dedicated thread, so a
//! request may block that thread, bounded by the timeouts below, without slowing anything else.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flate2::{write::GzEncoder, Compression};
use loadrun_plugin_api::options::percent_decode;
use loadrun_plugin_api::Host;
use url::Url;

use crate::classify::{classify, Outcome};
use crate::endpoint::Endpoint;
use crate::tls::TlsOptions;
use crate::tls_version::{
    certificate_problem, is_version_mismatch, TLS_VERSION_MISMATCH, UNTRUSTED_CERTIFICATE,
};
use crate::ConfigError;

/// How an [`HttpClient`] behaves. Its `Debug` shows the proxy as an [`Endpoint`]:
/// a proxy URL may carry a password.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The most one request may take, connect and body included. k6's outputs have none, which
    /// is how a stalled server hangs k6 at exit.
    pub timeout: Duration,
    /// The most the TCP (and TLS) connect may take; capped by `timeout`.
    pub connect_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Compress request bodies with gzip (`Content-Encoding: gzip`).
    pub gzip: bool,
    pub tls: TlsOptions,
    /// `http://[user:pass@]host:port` (CONNECT for https targets) or `socks5://…` when ureq
    /// supports it. `None`: direct.
    pub proxy: Option<String>,
    /// The most bytes of a successful response body kept in [`Outcome::Delivered`].
    pub max_response_bytes: u64,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proxy = self.proxy.as_deref().map(Endpoint::from_text);
        f.debug_struct("HttpConfig")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .field("gzip", &self.gzip)
            .field("tls", &self.tls)
            .field("proxy", &proxy)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            user_agent: format!("loadrun/{}", env!("CARGO_PKG_VERSION")),
            gzip: true,
            tls: TlsOptions::default(),
            proxy: None,
            max_response_bytes: 1024 * 1024,
        }
    }
}

/// A configured client. Cheap to clone (the connection pool, the hold and the host are shared).
///
/// The stop deadline: given the output's [`Host`] ([`HttpClient::set_host`], in `start`),
/// the client asks it, before each request, how long the host still waits for the output
/// ([`Host::stop_time_left`], API 1.2). While the run goes on that is nothing and requests get
/// the configured timeout; once stopping has begun, each request's timeout is capped by the
/// time left minus [`STOP_MARGIN`] (the margin leaves the plugin time to return and report what
/// it could not deliver), no request is sent once that is spent, and a hold never outlasts the
/// deadline. A request sent while the run goes on is made on a thread of its own and watched:
/// if stopping begins while it is under way, it is abandoned at the deadline minus the margin
/// and answered `Retry`. So a request a `write` sends (or is blocked in) when stopping begins
/// ends before the host would abandon the output, whatever the request timeout, and the output
/// reaches `stop`. Without a host, or under a host older than 1.2, the time left is unknown and
/// the configured timeout alone applies.
///
/// The hold: after a request got no answer at all (timeout, refused or reset connection, DNS
/// failure), requests made without a deadline (from `write`) are not sent for a while and get
/// the same `Retry` reason at once: after a timeout, for four times the timeout (at least 1 s),
/// so a hung server is not asked again and again; after a quick failure, for
/// [`QUICK_FAILURE_HOLD`]. A dead or hung server then costs one attempt per hold, not one per
/// batch, and an output the host is stopping answers its last batches at once instead of
/// waiting out a timeout for each (which could keep it from reaching `stop` in time, and `stop`
/// is where it reports what it could not deliver). Requests with a deadline (`flush`/`stop`)
/// are always sent.
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    config: HttpConfig,
    hold: Arc<Mutex<Option<(Instant, String)>>>,
    host: Arc<Mutex<Option<Host>>>,
}

/// How long requests from `write` wait after a quick failure (refused, reset, DNS).
pub const QUICK_FAILURE_HOLD: Duration = Duration::from_millis(250);

/// Once the host is stopping the output, how much of the time left a request leaves unused,
/// for the plugin to return (and report what it could not deliver) before the deadline.
pub const STOP_MARGIN: Duration = Duration::from_millis(100);

/// The time a request may take given the host's stop deadline: `None` while the run goes on (or
/// under a host that does not tell), else the time left minus [`STOP_MARGIN`] (zero: do not
/// send). For plugins that make requests without [`HttpClient`].
pub fn stop_cap(host: Option<&Host>) -> Option<Duration> {
    host?
        .stop_time_left()
        .map(|left| left.saturating_sub(STOP_MARGIN))
}

/// How long one request may take (see [`request_budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Send it with this timeout; `cut_by_stop` when the stop deadline is what shortened it.
    Send {
        timeout: Duration,
        cut_by_stop: bool,
    },
    /// Do not send it: which deadline has passed.
    NotSent(&'static str),
}

/// The one rule every request follows: `timeout`, shortened to `deadline` (given by
/// `flush`/`stop`) and, once the host is stopping the output, to its stop deadline minus
/// [`STOP_MARGIN`]. For plugins that make requests without [`HttpClient`] too.
pub fn request_budget(timeout: Duration, deadline: Option<Instant>, host: Option<&Host>) -> Budget {
    let mut timeout = timeout;
    if let Some(d) = deadline {
        match d.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => timeout = timeout.min(left),
            _ => return Budget::NotSent("the deadline has passed"),
        }
    }
    match stop_cap(host) {
        Some(cap) if cap.is_zero() => Budget::NotSent("the output's stop deadline has passed"),
        Some(cap) if cap < timeout => Budget::Send {
            timeout: cap,
            cut_by_stop: true,
        },
        _ => Budget::Send {
            timeout,
            cut_by_stop: false,
        },
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.config.timeout)
            .field("gzip", &self.config.gzip)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<Self, ConfigError> {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(config.connect_timeout.min(config.timeout))
            .timeout(config.timeout)
            .user_agent(&config.user_agent)
            // A redirected write is a misconfigured URL: report it instead of following it
            // (ureq would turn a redirected POST into a body-less GET).
            .redirects(0);
        if !config.tls.is_default() {
            builder = builder.tls_config(config.tls.client_config()?);
        }
        if let Some(p) = &config.proxy {
            let proxy = ureq::Proxy::new(p).map_err(|e| {
                ConfigError::Proxy(Endpoint::from_text(p).to_string(), e.kind().to_string())
            })?;
            builder = builder.proxy(proxy);
        }
        Ok(Self {
            agent: builder.build(),
            config,
            hold: Arc::new(Mutex::new(None)),
            host: Arc::new(Mutex::new(None)),
        })
    }

    /// Gives the client (and every clone of it) the output's host, so that requests are cut
    /// short by the stop deadline once stopping has begun (see the type's documentation). Call
    /// it in `Output::start`.
    pub fn set_host(&self, host: &Host) {
        if let Ok(mut h) = self.host.lock() {
            *h = Some(host.clone());
        }
    }

    /// What the host says is left before the stop deadline (`None` while the run goes on, with
    /// no host given, or under a host older than API 1.2).
    pub fn stop_time_left(&self) -> Option<Duration> {
        let host = self.host.lock().ok()?.clone();
        host?.stop_time_left()
    }

    /// The reason of the failure being held, if the hold is still on.
    fn held(&self) -> Option<String> {
        let hold = self.hold.lock().ok()?;
        match &*hold {
            Some((until, reason)) if Instant::now() < *until => Some(reason.clone()),
            _ => None,
        }
    }

    fn set_hold(&self, value: Option<(Instant, String)>) {
        if let Ok(mut hold) = self.hold.lock() {
            *hold = value;
        }
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// POSTs `body` (gzipped when the config says so) and classifies the answer.
    pub fn post(
        &self,
        url: &Url,
        headers: &[(&str, &str)],
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Outcome {
        self.request("POST", url, headers, Some(body), deadline)
    }

    /// Sends one request and classifies the answer (see [`crate::classify`]).
    ///
    /// - Userinfo in `url` becomes `Authorization: Basic` unless `headers` sets one; it is never
    ///   sent in the URL nor shown.
    /// - `deadline` shortens the configured timeout (for `flush`/`stop`); a deadline already
    ///   passed gives `Retry` without sending.
    pub fn request(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        deadline: Option<Instant>,
    ) -> Outcome {
        let endpoint = Endpoint::new(url);
        let what = format!("{method} {endpoint}");
        if deadline.is_none() {
            if let Some(reason) = self.held() {
                return Outcome::Retry {
                    after_ms: None,
                    reason,
                };
            }
        }
        let host = self.host.lock().ok().and_then(|h| h.clone());
        let (timeout, cut_by_stop) =
            match request_budget(self.config.timeout, deadline, host.as_ref()) {
                Budget::Send {
                    timeout,
                    cut_by_stop,
                } => (timeout, cut_by_stop),
                Budget::NotSent(why) => {
                    return Outcome::Retry {
                        after_ms: None,
                        reason: format!("{what}: not sent, {why}"),
                    }
                }
            };

        let mut target = url.clone();
        let basic = basic_from_userinfo(&target);
        let _ = target.set_username("");
        let _ = target.set_password(None);

        let mut req = self.agent.request_url(method, &target).timeout(timeout);
        let mut has_auth = false;
        for (k, v) in headers {
            has_auth |= k.eq_ignore_ascii_case("authorization");
            req = req.set(k, v);
        }
        if let (false, Some(b)) = (has_auth, basic) {
            req = req.set("Authorization", &b);
        }
        let body = match body {
            Some(body) if self.config.gzip => match gzip(body) {
                Ok(z) => {
                    req = req.set("Content-Encoding", "gzip");
                    Some(Cow::Owned(z))
                }
                Err(e) => {
                    return Outcome::Fatal {
                        reason: format!("{what}: gzip failed: {e}"),
                    }
                }
            },
            Some(body) => Some(Cow::Borrowed(body)),
            None => None,
        };
        let started = Instant::now();
        let max = self.config.max_response_bytes;
        // While the run goes on, stopping may begin during the request: then it is watched from
        // here and abandoned at the stop deadline (its own timeout cannot be changed once sent).
        let watch = !cut_by_stop && self.has_host() && self.stop_time_left().is_none();
        let sent = if watch {
            self.send_watched(req, body.map(Cow::into_owned), &what)
        } else {
            send(req, body.as_deref(), &what, max)
        };
        let Sent {
            mut outcome,
            no_answer,
            version_mismatch,
            untrusted,
            abandoned,
        } = sent;
        if let Some(why) = untrusted {
            // The certificate or the CA setting must change: asking again cannot help.
            outcome = Outcome::Fatal {
                reason: format!("{} ({UNTRUSTED_CERTIFICATE}: {why})", outcome.reason()),
            };
        }
        if version_mismatch {
            // Configuration on one side or the other: asking again cannot help.
            outcome = Outcome::Fatal {
                reason: format!(
                    "{} ({TLS_VERSION_MISMATCH}: the server speaks no TLS version this client \
                     allows, {} or later)",
                    outcome.reason(),
                    self.config.tls.min_version
                ),
            };
        }
        match (&mut outcome, no_answer) {
            (Outcome::Retry { reason, .. }, true) => {
                let took = started.elapsed();
                let timed_out = abandoned || took + took / 10 >= timeout;
                if timed_out && cut_by_stop {
                    reason.push_str(" (cut short at the output's stop deadline)");
                }
                let mut hold = if timed_out {
                    (self.config.timeout * 4).max(Duration::from_secs(1))
                } else {
                    QUICK_FAILURE_HOLD
                };
                // A hold set while stopping ends with the stop deadline, not after it.
                if let Some(left) = self.stop_time_left() {
                    hold = hold.min(left);
                }
                self.set_hold(Some((Instant::now() + hold, reason.clone())));
            }
            (Outcome::Delivered { .. } | Outcome::Rejected { .. }, _) => self.set_hold(None),
            _ => {}
        }
        outcome
    }
}

/// How often a watched request checks whether the stop deadline is near.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// A request's classified answer, and what the hold needs to know.
struct Sent {
    outcome: Outcome,
    /// No answer at all (a transport error).
    no_answer: bool,
    version_mismatch: bool,
    /// Why the server's certificate was not trusted, if that ended the handshake.
    untrusted: Option<String>,
    /// Given up on at the stop deadline (a watched request).
    abandoned: bool,
}

/// Sends `req` and classifies the answer, on the calling thread.
fn send(req: ureq::Request, body: Option<&[u8]>, what: &str, max_response_bytes: u64) -> Sent {
    let result = match body {
        None => req.call(),
        Some(body) => req.send_bytes(body),
    };
    let no_answer = matches!(result, Err(ureq::Error::Transport(_)));
    let version_mismatch =
        matches!(&result, Err(ureq::Error::Transport(t)) if is_version_mismatch(t));
    let untrusted = match &result {
        Err(ureq::Error::Transport(t)) => certificate_problem(t),
        _ => None,
    };
    Sent {
        outcome: classify(what, result, max_response_bytes),
        no_answer,
        version_mismatch,
        untrusted,
        abandoned: false,
    }
}

impl HttpClient {
    fn has_host(&self) -> bool {
        self.host.lock().is_ok_and(|h| h.is_some())
    }

    /// Sends `req` through [`watch_stop`]: abandoned (a `Retry` with no answer) if the host's
    /// stop deadline comes first. The server may still have taken what was sent, as with any
    /// timed-out request.
    fn send_watched(&self, req: ureq::Request, body: Option<Vec<u8>>, what: &str) -> Sent {
        let host = self.host.lock().ok().and_then(|h| h.clone());
        let max = self.config.max_response_bytes;
        let owned_what = what.to_string();
        let watched = watch_stop(host.as_ref(), move || {
            send(req, body.as_deref(), &owned_what, max)
        });
        watched.unwrap_or_else(|| Sent {
            outcome: Outcome::Retry {
                after_ms: None,
                reason: format!(
                    "{what}: no answer before the output's stop deadline (request abandoned)"
                ),
            },
            no_answer: true,
            version_mismatch: false,
            untrusted: None,
            abandoned: true,
        })
    }
}

/// Runs `call` (a blocking request made while the run goes on) on a thread of its own and waits
/// for it, unless the host begins stopping the output meanwhile and its stop deadline minus
/// [`STOP_MARGIN`] comes first: then `None`, and the thread is left to end on its own (with the
/// request's own timeout). A request's timeout cannot be changed once it is sent; this is how
/// one sent before stopping began still ends by the deadline. Without a host, or when no thread
/// can be started, `call` runs here, unwatched.
pub fn watch_stop<T: Send + 'static>(
    host: Option<&Host>,
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let Some(host) = host else {
        return Some(call());
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let call = Arc::new(Mutex::new(Some(call)));
    let in_thread = Arc::clone(&call);
    let spawned = std::thread::Builder::new()
        .name("http-request".into())
        .spawn(move || {
            let f = in_thread.lock().ok().and_then(|mut c| c.take());
            if let Some(f) = f {
                let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
            }
        });
    if spawned.is_err() {
        let f = call.lock().ok().and_then(|mut c| c.take());
        return f.map(|f| f());
    }
    loop {
        match rx.recv_timeout(WATCH_EVERY) {
            Ok(Ok(done)) => return Some(done),
            // A panic on the request's thread is the caller's, as if the call ran here.
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if host
            .stop_time_left()
            .is_some_and(|left| left <= STOP_MARGIN)
        {
            return None;
        }
    }
}

fn basic_from_userinfo(url: &Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let user = percent_decode(url.username());
    let pass = percent_decode(url.password().unwrap_or(""));
    Some(basic_auth(&user, &pass))
}

/// `Basic base64(user:pass)`.
pub(crate) fn basic_auth(user: &str, pass: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()))
}

fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Gzips a request body.
pub fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::fast());
    enc.write_all(body)?;
    enc.finish()
}

/// Builds an `Authorization: Basic` value; exposed for plugins that take user and password as
/// separate options.
pub fn basic_auth_header(user: &str, pass: &str) -> String {
    basic_auth(user, pass)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // k6's fixture: -o influxdb=http://u:p@...
        assert_eq!(basic_auth("u", "p"), "Basic dTpw");
    }

    #[test]
    fn userinfo_becomes_basic_auth() {
        let u = Url::parse("http://us%40er:p%3Ass+@h/").unwrap();
        assert_eq!(basic_from_userinfo(&u), Some(basic_auth("us@er", "p:ss+")));
        assert_eq!(basic_from_userinfo(&Url::parse("http://h/").unwrap()), None);
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let z = gzip(b"cpu value=1 1\n").unwrap();
        let mut out = String::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "cpu value=1 1\n");
    }

    #[test]
    fn after_no_answer_writes_are_held_with_the_same_reason() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let c = HttpClient::new(HttpConfig::default()).unwrap();
        let u = Url::parse(&format!("http://{addr}/write")).unwrap();
        let first = c.post(&u, &[], b"x", None);
        assert!(matches!(first, Outcome::Retry { .. }), "{first:?}");
        // The server is back at once, but a write within the hold does not try it.
        let server = std::net::TcpListener::bind(addr).unwrap();
        server.set_nonblocking(true).unwrap();
        let held = c.post(&u, &[], b"x", None);
        assert_eq!(held.reason(), first.reason());
        assert!(server.accept().is_err(), "a held request was sent");
        // flush/stop (with a deadline) always try.
        let clone = c.clone();
        let _ = clone.post(
            &u,
            &[],
            b"x",
            Some(Instant::now() + Duration::from_millis(100)),
        );
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            server.accept().is_ok(),
            "a request with a deadline was held"
        );
    }

    /// A TLS 1.2-only server that fails every handshake (it has no certificate, which only
    /// matters when a version was agreed): the alert it sends tells a version mismatch from
    /// other TLS failures.
    fn tls12_only_server(connections: usize) -> (u16, std::thread::JoinHandle<()>) {
        #[derive(Debug)]
        struct NoCert;
        impl rustls::server::ResolvesServerCert for NoCert {
            fn resolve(
                &self,
                _: rustls::server::ClientHello<'_>,
            ) -> Option<Arc<rustls::sign::CertifiedKey>> {
                None
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(NoCert));
        let cfg = Arc::new(cfg);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let mut sock = stream.unwrap();
                let mut conn = rustls::ServerConnection::new(Arc::clone(&cfg)).unwrap();
                let _ = conn.complete_io(&mut sock);
            }
        });
        (port, handle)
    }

    #[test]
    fn no_common_tls_version_is_fatal_and_says_so() {
        let (port, server) = tls12_only_server(2);
        let u = Url::parse(&format!("https://127.0.0.1:{port}/write")).unwrap();
        let strict = HttpClient::new(HttpConfig {
            tls: TlsOptions {
                min_version: crate::TlsVersion::Tls13,
                ..TlsOptions::default()
            },
            ..HttpConfig::default()
        })
        .unwrap();
        match strict.post(&u, &[], b"x", None) {
            Outcome::Fatal { reason } => {
                assert!(reason.contains(TLS_VERSION_MISMATCH), "{reason}");
                assert!(reason.contains("TLS 1.3 or later"), "{reason}");
            }
            other => panic!("expected Fatal, got {other:?}"),
        }
        // TLS 1.2 allowed: the version is agreed, the handshake fails later for another
        // reason, which is passing trouble as before.
        let lenient = HttpClient::new(HttpConfig::default()).unwrap();
        let o = lenient.post(&u, &[], b"x", None);
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
        assert!(!o.reason().contains(TLS_VERSION_MISMATCH), "{o:?}");
        server.join().unwrap();
    }

    /// Accepts connections and never answers; returns its address.
    fn blackhole() -> std::net::SocketAddr {
        let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = hole.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in hole.incoming().flatten() {
                held.push(c);
            }
        });
        addr
    }

    #[test]
    fn a_request_under_way_when_stopping_begins_ends_at_the_stop_deadline() {
        let u = Url::parse(&format!("http://{}/write", blackhole())).unwrap();
        let c = HttpClient::new(HttpConfig::default()).unwrap(); // 10 s timeout
        let (host, recorded) = loadrun_plugin_api::testkit::recording_host();
        c.set_host(&host);
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            recorded.begin_stop(Duration::from_millis(700));
        });
        let t = Instant::now();
        let o = c.post(&u, &[], b"x", None);
        let took = t.elapsed();
        stopper.join().unwrap();
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
        assert!(o.reason().contains("stop deadline"), "{o:?}");
        // 300 ms + 700 ms - STOP_MARGIN; the bound only catches waiting out the 10 s timeout.
        assert!(took >= Duration::from_millis(800), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        // Writes are held after it, but not past the stop deadline.
        assert!(c.held().is_some());
        std::thread::sleep(Duration::from_millis(250));
        assert!(c.held().is_none());
    }

    #[test]
    fn once_stopping_each_request_is_capped_by_the_time_left() {
        let u = Url::parse(&format!("http://{}/write", blackhole())).unwrap();
        let c = HttpClient::new(HttpConfig::default()).unwrap();
        let (host, recorded) = loadrun_plugin_api::testkit::recording_host();
        c.set_host(&host);
        recorded.begin_stop(Duration::from_millis(600));
        let t = Instant::now();
        // A deadline later than the stop deadline (flush/stop given more) is brought forward.
        let o = c.post(&u, &[], b"x", Some(Instant::now() + Duration::from_secs(5)));
        let took = t.elapsed();
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
        assert!(o.reason().contains("cut short"), "{o:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        // Once the time left is within the margin, nothing is sent.
        std::thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        let o = c.post(&u, &[], b"x", Some(Instant::now() + Duration::from_secs(5)));
        assert!(o.reason().contains("not sent"), "{o:?}");
        assert!(t.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn without_a_stop_answers_are_unchanged_by_the_host() {
        // A server that answers 204 to everything, through a client given a host.
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for mut s in server.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        let u = Url::parse(&format!("http://{addr}/write")).unwrap();
        let c = HttpClient::new(HttpConfig::default()).unwrap();
        let (host, _recorded) = loadrun_plugin_api::testkit::recording_host();
        c.set_host(&host);
        let o = c.post(&u, &[], b"x", None);
        assert!(matches!(o, Outcome::Delivered { status: 204, .. }), "{o:?}");
        // While the run goes on the stop deadline shortens nothing.
        assert_eq!(
            request_budget(Duration::from_secs(10), None, Some(&host)),
            Budget::Send {
                timeout: Duration::from_secs(10),
                cut_by_stop: false
            }
        );
    }

    #[test]
    fn request_budget_takes_the_nearest_deadline() {
        let (host, recorded) = loadrun_plugin_api::testkit::recording_host();
        let ten = Duration::from_secs(10);
        let later = Instant::now() + Duration::from_secs(60);
        let sent = |b: Budget| match b {
            Budget::Send {
                timeout,
                cut_by_stop,
            } => (timeout, cut_by_stop),
            other => panic!("{other:?}"),
        };
        assert_eq!(sent(request_budget(ten, Some(later), None)), (ten, false));
        assert_eq!(
            sent(request_budget(ten, Some(later), Some(&host))),
            (ten, false)
        );
        let soon = Instant::now() + Duration::from_secs(1);
        let (t, cut) = sent(request_budget(ten, Some(soon), Some(&host)));
        assert!(t <= Duration::from_secs(1) && !cut, "{t:?}");
        // Stopping: the stop deadline less the margin is the nearest.
        recorded.begin_stop(Duration::from_secs(2));
        let (t, cut) = sent(request_budget(ten, Some(later), Some(&host)));
        assert!(
            cut && t < Duration::from_secs(2) && t > Duration::from_secs(1),
            "{t:?}"
        );
        let (t, cut) = sent(request_budget(ten, None, Some(&host)));
        assert!(cut && t < Duration::from_secs(2), "{t:?}");
        // A nearer flush deadline still wins.
        let nearer = Instant::now() + Duration::from_millis(10);
        let (t, cut) = sent(request_budget(ten, Some(nearer), Some(&host)));
        assert!(!cut && t <= Duration::from_millis(10), "{t:?}");
        // Passed deadlines: not sent, saying which.
        assert_eq!(
            request_budget(ten, Some(Instant::now()), None),
            Budget::NotSent("the deadline has passed")
        );
        recorded.begin_stop(Duration::from_millis(50));
        assert_eq!(
            request_budget(ten, None, Some(&host)),
            Budget::NotSent("the output's stop deadline has passed")
        );
    }

    #[test]
    fn passed_deadline_is_retry_without_sending() {
        let c = HttpClient::new(HttpConfig::default()).unwrap();
        let u = Url::parse("http://u:secret@127.0.0.1:9/write").unwrap();
        let o = c.post(&u, &[], b"x", Some(Instant::now()));
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
        assert!(!o.reason().contains("secret"));
    }
}
