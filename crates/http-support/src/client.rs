//! An HTTP client with the timeouts, TLS, proxies and compression every output needs.
//!
//! The plugin API is blocking (the host calls each output's `write` on a thread of its own), so
//! the client is `reqwest` on a private tokio runtime, one per client (shared by its clones):
//! each call blocks its caller on one request future, wrapped in the request's deadlines with
//! `tokio::time::timeout`, and raced against the host's stop deadline while the run goes on.
//! The runtime's one worker thread keeps pooled connections alive between calls.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flate2::{write::GzEncoder, Compression};
use loadrun_plugin_api::options::percent_decode;
use loadrun_plugin_api::Host;
use url::Url;

use crate::body::TrackedBody;
use crate::classify::{classify_answer, classify_transport, Answer, Outcome, MAX_ERROR_BODY_READ};
use crate::connects::CountConnects;
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
    /// `http://[user:pass@]host:port` for every request (CONNECT for https targets). `None`:
    /// the environment's (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`; loopback always
    /// direct), else direct.
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

/// A configured client. Cheap to clone (the runtime, the connection pool, the hold and the host
/// are shared).
///
/// The stop deadline: given the output's [`Host`] ([`HttpClient::set_host`], in `start`),
/// the client asks it, before each request, how long the host still waits for the output
/// ([`Host::stop_time_left`], API 1.2). While the run goes on that is nothing and requests get
/// the configured timeout; once stopping has begun, each request's timeout is capped by the
/// time left minus [`STOP_MARGIN`] (the margin leaves the plugin time to return and report what
/// it could not deliver), no request is sent once that is spent, and a hold never outlasts the
/// deadline. A request sent while the run goes on is raced against the stop deadline: if
/// stopping begins while it is under way, it is abandoned at the deadline minus the margin
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
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
    client: reqwest::Client,
    config: HttpConfig,
    hold: Mutex<Option<(Instant, String)>>,
    host: Mutex<Option<Host>>,
    connects: CountConnects,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Not the runtime's own drop, which waits for a DNS lookup stuck in its blocking pool.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// How long requests from `write` wait after a quick failure (refused, reset, DNS).
pub const QUICK_FAILURE_HOLD: Duration = Duration::from_millis(250);

/// Once the host is stopping the output, how much of the time left a request leaves unused,
/// for the plugin to return (and report what it could not deliver) before the deadline.
pub const STOP_MARGIN: Duration = Duration::from_millis(100);

/// How often a request under way asks the host whether stopping has begun. The host API (1.2)
/// answers when asked and never calls; this is a timer in the client's runtime, no thread.
const STOP_CHECK: Duration = Duration::from_millis(50);

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

/// A request whose whole body went out and whose answer did not come in time (see
/// [`HttpClient::post_once`]): the server may hold it. Do not send that body again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Unconfirmed {
    pub reason: String,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.shared.config.timeout)
            .field("gzip", &self.shared.config.gzip)
            .finish_non_exhaustive()
    }
}

/// What one exchange came to, with what the hold and [`HttpClient::post_once`] need to know.
struct Exchanged {
    outcome: Outcome,
    /// The body went out whole and no answer came before the deadline.
    unconfirmed: bool,
}

/// How the request future ended.
enum Ended {
    Answered(Answer),
    Failed(reqwest::Error),
    TimedOut,
    /// The host's stop deadline came first.
    Abandoned,
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<Self, ConfigError> {
        let tls = Arc::unwrap_or_clone(config.tls.client_config()?);
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout.min(config.timeout))
            .user_agent(config.user_agent.as_str())
            // Header names as Go's net/http (k6) writes them, `Content-Type` rather than
            // hyper's `content-type`: the same on the wire, and kinder to picky servers.
            .http1_title_case_headers()
            // A redirected write is a misconfigured URL: report it instead of following it
            // (a redirected POST may come back as a body-less GET).
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(tls)
            // The environment is read by `proxy`, with Go's loopback rule.
            .no_proxy();
        let connects = CountConnects::default();
        builder = builder.connector_layer(connects.clone());
        for proxy in crate::proxy::proxies(config.proxy.as_deref())? {
            builder = builder.proxy(proxy);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("loadrun-http")
            .enable_all()
            .build()
            .map_err(|e| ConfigError::Runtime(e.to_string()))?;
        // reqwest's connector must be made inside a runtime.
        let client = {
            let _inside = runtime.enter();
            builder
                .build()
                .map_err(|e| ConfigError::Client(crate::classify::error_chain(&e.without_url())))?
        };
        Ok(Self {
            shared: Arc::new(Shared {
                runtime: Some(runtime),
                client,
                config,
                hold: Mutex::new(None),
                host: Mutex::new(None),
                connects,
            }),
        })
    }

    /// Gives the client (and every clone of it) the output's host, so that requests are cut
    /// short by the stop deadline once stopping has begun (see the type's documentation). Call
    /// it in `Output::start`.
    pub fn set_host(&self, host: &Host) {
        if let Ok(mut h) = self.shared.host.lock() {
            *h = Some(host.clone());
        }
    }

    fn host(&self) -> Option<Host> {
        self.shared.host.lock().ok().and_then(|h| h.clone())
    }

    /// What the host says is left before the stop deadline (`None` while the run goes on, with
    /// no host given, or under a host older than API 1.2).
    pub fn stop_time_left(&self) -> Option<Duration> {
        self.host()?.stop_time_left()
    }

    /// The reason of the failure being held, if the hold is still on.
    fn held(&self) -> Option<String> {
        let hold = self.shared.hold.lock().ok()?;
        match &*hold {
            Some((until, reason)) if Instant::now() < *until => Some(reason.clone()),
            _ => None,
        }
    }

    fn set_hold(&self, value: Option<(Instant, String)>) {
        if let Ok(mut hold) = self.shared.hold.lock() {
            *hold = value;
        }
    }

    pub fn config(&self) -> &HttpConfig {
        &self.shared.config
    }

    /// POSTs `body` (gzipped when the config says so) and classifies the answer.
    pub fn post(
        &self,
        url: &Url,
        headers: &[(&str, &str)],
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Outcome {
        self.exchange("POST", url, headers, Some(body), deadline)
            .outcome
    }

    /// [`HttpClient::post`] for a backend that counts a body it gets twice twice (no
    /// idempotency key, no last-write-wins): when the whole body went out and no answer came,
    /// because the wait ran out (the timeout, the stop deadline) or the connection broke
    /// before the answer (reset, closed, garbage) on a connection the server had answered on
    /// before, the server may have taken it, so the answer is `Err(Unconfirmed)` instead of
    /// `Retry`, and the caller must not send that body again. A failure before the body went
    /// out (refused, DNS, a connect timeout, TLS), or a new connection that broke unanswered,
    /// is `Retry` as usual.
    pub fn post_once(
        &self,
        url: &Url,
        headers: &[(&str, &str)],
        body: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Outcome, Unconfirmed> {
        let done = self.exchange("POST", url, headers, Some(body), deadline);
        if done.unconfirmed {
            return Err(Unconfirmed {
                reason: done.outcome.reason().to_string(),
            });
        }
        Ok(done.outcome)
    }

    /// Sends one request and classifies the answer (see [`Outcome`]).
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
        self.exchange(method, url, headers, body, deadline).outcome
    }

    fn exchange(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        deadline: Option<Instant>,
    ) -> Exchanged {
        let what = format!("{method} {}", Endpoint::new(url));
        let answered = |outcome| Exchanged {
            outcome,
            unconfirmed: false,
        };
        if deadline.is_none() {
            if let Some(reason) = self.held() {
                return answered(Outcome::Retry {
                    after_ms: None,
                    reason,
                });
            }
        }
        let host = self.host();
        let (timeout, cut_by_stop) =
            match request_budget(self.shared.config.timeout, deadline, host.as_ref()) {
                Budget::Send {
                    timeout,
                    cut_by_stop,
                } => (timeout, cut_by_stop),
                Budget::NotSent(why) => {
                    return answered(Outcome::Retry {
                        after_ms: None,
                        reason: format!("{what}: not sent, {why}"),
                    })
                }
            };
        let handed = Arc::new(AtomicBool::new(false));
        let request = match self.build(method, url, headers, body, &handed) {
            Ok(request) => request,
            Err(outcome) => return answered(outcome.with_what(&what)),
        };
        let Some(runtime) = self.shared.runtime.as_ref() else {
            return answered(Outcome::Fatal {
                reason: format!("{what}: the HTTP client is shut down"),
            });
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // `block_on` inside a runtime would panic the output's thread.
            return answered(Outcome::Fatal {
                reason: format!("{what}: called from inside an async runtime"),
            });
        }
        // While the run goes on, stopping may begin during the request: then it ends at the
        // stop deadline. Once stopping has begun, the budget already ends there.
        let watch = host.filter(|h| !cut_by_stop && h.stop_time_left().is_none());
        let client = self.shared.client.clone();
        let max = self.shared.config.max_response_bytes;
        let started = Instant::now();
        let connects = self.shared.connects.count();
        let ended = runtime.block_on(async move {
            let attempt = tokio::time::timeout(timeout, send(&client, request, max));
            let ended = match watch {
                Some(host) => tokio::select! {
                    done = attempt => done,
                    () = stop_reached(&host) => return Ended::Abandoned,
                },
                None => attempt.await,
            };
            match ended {
                Ok(Ok(answer)) => Ended::Answered(answer),
                Ok(Err(e)) => Ended::Failed(e.without_url()),
                Err(_elapsed) => Ended::TimedOut,
            }
        });
        let took = started.elapsed();
        // Once the whole body is handed over, no answer is no confirmation: a server slow to
        // answer may have kept the body, and so may one whose connection broke (reset, closed,
        // an answer that makes no sense) if it had answered on that connection before. A new
        // connection that broke never carried an answer: a proxy or balancer with nothing
        // behind it accepts and closes just so, and the request is sent again. (Requests made
        // side by side on one client may see each other's new connections: then a break counts
        // as on a new one, the way it was before this rule.)
        let lost_answer = match &ended {
            Ended::TimedOut | Ended::Abandoned => true,
            Ended::Failed(e) => !e.is_connect() && self.shared.connects.count() == connects,
            Ended::Answered(_) => false,
        };
        let (mut outcome, timed_out) = match ended {
            Ended::Answered(answer) => {
                let outcome = classify_answer(&what, answer);
                if matches!(
                    outcome,
                    Outcome::Delivered { .. } | Outcome::Rejected { .. }
                ) {
                    self.set_hold(None);
                }
                return answered(outcome);
            }
            Ended::Failed(e) => {
                let outcome = self.failed(&what, &e);
                if matches!(outcome, Outcome::Fatal { .. }) {
                    return answered(outcome);
                }
                // A connect timeout shorter than the request's counts as a quick failure.
                (outcome, took + took / 10 >= timeout)
            }
            Ended::TimedOut => {
                let mut reason = format!("{what}: Timeout: no answer within {}", shown(timeout));
                if cut_by_stop {
                    reason.push_str(" (cut short at the output's stop deadline)");
                }
                (
                    Outcome::Retry {
                        after_ms: None,
                        reason,
                    },
                    true,
                )
            }
            Ended::Abandoned => (
                Outcome::Retry {
                    after_ms: None,
                    reason: format!(
                        "{what}: no answer before the output's stop deadline (request abandoned)"
                    ),
                },
                true,
            ),
        };
        let unconfirmed = lost_answer && handed.load(Ordering::Acquire);
        if unconfirmed {
            if let Outcome::Retry { reason, .. } = &mut outcome {
                reason.push_str(" after the whole request was sent");
            }
        }
        let mut hold = if timed_out {
            (self.shared.config.timeout * 4).max(Duration::from_secs(1))
        } else {
            QUICK_FAILURE_HOLD
        };
        // A hold set while stopping ends with the stop deadline, not after it.
        if let Some(left) = self.stop_time_left() {
            hold = hold.min(left);
        }
        self.set_hold(Some((Instant::now() + hold, outcome.reason().to_string())));
        Exchanged {
            outcome,
            unconfirmed,
        }
    }

    /// The request as reqwest sends it: credentials from the URL's userinfo, the body gzipped
    /// when configured and tracked (see [`TrackedBody`]). `Err`: a `Fatal` outcome whose
    /// reason still lacks the request's name.
    fn build(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        handed: &Arc<AtomicBool>,
    ) -> Result<reqwest::Request, Outcome> {
        let fatal = |reason: String| Outcome::Fatal { reason };
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| fatal("not a valid HTTP method".into()))?;
        let mut target = url.clone();
        let basic = basic_from_userinfo(&target);
        let _ = target.set_username("");
        let _ = target.set_password(None);
        let mut req = self.shared.client.request(method, target);
        let mut has_auth = false;
        for (k, v) in headers {
            has_auth |= k.eq_ignore_ascii_case("authorization");
            req = req.header(*k, *v);
        }
        if let (false, Some(b)) = (has_auth, basic) {
            req = req.header("Authorization", b);
        }
        if let Some(body) = body {
            let bytes = if self.shared.config.gzip {
                req = req.header("Content-Encoding", "gzip");
                Bytes::from(gzip(body).map_err(|e| fatal(format!("gzip failed: {e}")))?)
            } else {
                Bytes::copy_from_slice(body)
            };
            req = req.body(reqwest::Body::wrap(TrackedBody::new(
                bytes,
                Arc::clone(handed),
            )));
        }
        req.build().map_err(|e| {
            fatal(format!(
                "Invalid Request: {}",
                crate::classify::error_chain(&e.without_url())
            ))
        })
    }

    /// A request that got no answer: the TLS diagnoses, else the shared classification.
    fn failed(&self, what: &str, e: &reqwest::Error) -> Outcome {
        let outcome = classify_transport(what, e);
        if let Some(why) = certificate_problem(e) {
            // The certificate or the CA setting must change: asking again cannot help.
            return Outcome::Fatal {
                reason: format!("{} ({UNTRUSTED_CERTIFICATE}: {why})", outcome.reason()),
            };
        }
        if is_version_mismatch(e) {
            // Configuration on one side or the other: asking again cannot help.
            return Outcome::Fatal {
                reason: format!(
                    "{} ({TLS_VERSION_MISMATCH}: the server speaks no TLS version this client \
                     allows, {} or later)",
                    outcome.reason(),
                    self.shared.config.tls.min_version
                ),
            };
        }
        outcome
    }
}

impl Outcome {
    /// Puts the request's name in front of a reason built without it.
    fn with_what(self, what: &str) -> Outcome {
        match self {
            Outcome::Fatal { reason } => Outcome::Fatal {
                reason: format!("{what}: {reason}"),
            },
            other => other,
        }
    }
}

/// Sends `request` and reads the answer, its body bounded (a body that breaks off half-way
/// still says something useful: what arrived is kept).
async fn send(
    client: &reqwest::Client,
    request: reqwest::Request,
    max_response_bytes: u64,
) -> Result<Answer, reqwest::Error> {
    let mut resp = client.execute(request).await?;
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut answer = Answer {
        status,
        retry_after: header("Retry-After"),
        rate_limit_reset: header("X-RateLimit-Reset"),
        location: header("Location"),
        body: Vec::new(),
    };
    let limit = if (200..300).contains(&status) {
        max_response_bytes
    } else {
        MAX_ERROR_BODY_READ
    };
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    while answer.body.len() < limit {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - answer.body.len();
                answer
                    .body
                    .extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Ok(answer)
}

/// Ends when the host's stop deadline minus [`STOP_MARGIN`] is reached; never while the run
/// goes on.
async fn stop_reached(host: &Host) {
    loop {
        match host.stop_time_left() {
            Some(left) => {
                tokio::time::sleep(left.saturating_sub(STOP_MARGIN)).await;
                return;
            }
            None => tokio::time::sleep(STOP_CHECK).await,
        }
    }
}

/// `10 s`, `1.5 s`, `400 ms`.
fn shown(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        let s = d.as_secs_f64();
        if s.fract() < 0.05 {
            format!("{s:.0} s")
        } else {
            format!("{s:.1} s")
        }
    } else {
        format!("{} ms", d.as_millis())
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
    fn post_once_tells_a_late_answer_from_a_request_that_never_went_out() {
        let c = HttpClient::new(HttpConfig {
            timeout: Duration::from_millis(300),
            ..HttpConfig::default()
        })
        .unwrap();
        let soon = || Some(Instant::now() + Duration::from_secs(5));
        // Refused: nothing went out, sending again is safe.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = Url::parse(&format!("http://{}/w", probe.local_addr().unwrap())).unwrap();
        drop(probe);
        let o = c.post_once(&dead, &[], b"x", soon());
        assert!(matches!(o, Ok(Outcome::Retry { .. })), "{o:?}");
        // Taken by a server that never answers: the body went out whole.
        let hole = Url::parse(&format!("http://{}/w", blackhole())).unwrap();
        match c.post_once(&hole, &[], b"x", soon()) {
            Err(Unconfirmed { reason }) => {
                assert!(
                    reason.contains("after the whole request was sent"),
                    "{reason}"
                )
            }
            other => panic!("expected Unconfirmed, got {other:?}"),
        }
        // `post` leaves the choice to resend to the caller's retry.
        let o = c.post(&hole, &[], b"x", soon());
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
    }

    #[test]
    fn post_once_after_the_server_took_the_body_and_hung_up_is_unconfirmed() {
        use loadrun_test_support::recorder::{Recorder, Response};
        let rec = Recorder::start(|_| Response::new(204));
        let u = Url::parse(&format!("{}/w", rec.url())).unwrap();
        let c = HttpClient::new(HttpConfig::default()).unwrap();
        // A new connection that breaks unanswered never carried an answer: sent again.
        rec.queue_hangup();
        let o = c.post_once(&u, &[], b"first", None);
        assert!(matches!(o, Ok(Outcome::Retry { .. })), "{o:?}");
        let soon = Some(Instant::now() + Duration::from_secs(5));
        let o = c.post_once(&u, &[], b"second", soon);
        assert!(matches!(o, Ok(Outcome::Delivered { .. })), "{o:?}");
        // On the connection the server answered on, the same break may follow a kept body.
        // hyper hands a connection back to its pool in the background after the answer: on a
        // loaded machine the next request can beat it and open a new connection, which is
        // rightly a plain retry. So this tries until a request goes out on an answered one.
        let mut unconfirmed = false;
        for _ in 0..20 {
            let o = c.post_once(&u, &[], b"warm", soon);
            assert!(matches!(o, Ok(Outcome::Delivered { .. })), "{o:?}");
            std::thread::sleep(Duration::from_millis(20));
            let connects = c.shared.connects.count();
            rec.queue_hangup();
            let o = c.post_once(&u, &[], b"payload", soon);
            if c.shared.connects.count() > connects {
                assert!(matches!(o, Ok(Outcome::Retry { .. })), "{o:?}");
                continue;
            }
            match o {
                Err(Unconfirmed { reason }) => {
                    assert!(
                        reason.contains("after the whole request was sent"),
                        "{reason}"
                    );
                    unconfirmed = true;
                    break;
                }
                other => panic!("expected Unconfirmed on a reused connection, got {other:?}"),
            }
        }
        assert!(
            unconfirmed,
            "no request went out on an answered connection in 20 tries"
        );
        let got = rec.received();
        assert_eq!(got.last().map(|r| r.body.as_slice()), Some(&b"payload"[..]));
        // The same break under `post` is a plain retry, for backends that may resend.
        let o = c.post(&u, &[], b"again", soon);
        assert!(matches!(o, Outcome::Delivered { .. }), "{o:?}");
        rec.queue_hangup();
        let o = c.post(
            &u,
            &[],
            b"payload",
            Some(Instant::now() + Duration::from_secs(5)),
        );
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
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
