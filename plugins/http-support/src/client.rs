//! A blocking HTTP client with the timeouts, TLS and compression every output needs.
//!
//! Blocking is right here: the host calls each output's `write` on a dedicated thread, so a
//! request may block that thread, bounded by the timeouts below, without slowing anything else.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flate2::{write::GzEncoder, Compression};
use url::Url;

use crate::classify::{classify, Outcome};
use crate::endpoint::Endpoint;
use crate::tls::TlsOptions;
use crate::tls_version::{is_version_mismatch, TLS_VERSION_MISMATCH};
use crate::ConfigError;

/// How an [`HttpClient`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A configured client. Cheap to clone (the connection pool and the hold are shared).
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
}

/// How long requests from `write` wait after a quick failure (refused, reset, DNS).
pub const QUICK_FAILURE_HOLD: Duration = Duration::from_millis(250);

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
        })
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
        let mut timeout = self.config.timeout;
        if deadline.is_none() {
            if let Some(reason) = self.held() {
                return Outcome::Retry {
                    after_ms: None,
                    reason,
                };
            }
        }
        if let Some(d) = deadline {
            match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => timeout = timeout.min(left),
                _ => {
                    return Outcome::Retry {
                        after_ms: None,
                        reason: format!("{what}: not sent, the deadline has passed"),
                    }
                }
            }
        }

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
        let started = Instant::now();
        let result = match body {
            None => req.call(),
            Some(body) if self.config.gzip => match gzip(body) {
                Ok(z) => req.set("Content-Encoding", "gzip").send_bytes(&z),
                Err(e) => {
                    return Outcome::Fatal {
                        reason: format!("{what}: gzip failed: {e}"),
                    }
                }
            },
            Some(body) => req.send_bytes(body),
        };
        let no_answer = matches!(result, Err(ureq::Error::Transport(_)));
        let version_mismatch =
            matches!(&result, Err(ureq::Error::Transport(t)) if is_version_mismatch(t));
        let mut outcome = classify(&what, result, self.config.max_response_bytes);
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
        match (&outcome, no_answer) {
            (Outcome::Retry { reason, .. }, true) => {
                let took = started.elapsed();
                let hold = if took + took / 10 >= timeout {
                    (self.config.timeout * 4).max(Duration::from_secs(1))
                } else {
                    QUICK_FAILURE_HOLD
                };
                self.set_hold(Some((Instant::now() + hold, reason.clone())));
            }
            (Outcome::Delivered { .. } | Outcome::Rejected { .. }, _) => self.set_hold(None),
            _ => {}
        }
        outcome
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

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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

    #[test]
    fn passed_deadline_is_retry_without_sending() {
        let c = HttpClient::new(HttpConfig::default()).unwrap();
        let u = Url::parse("http://u:secret@127.0.0.1:9/write").unwrap();
        let o = c.post(&u, &[], b"x", Some(Instant::now()));
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
        assert!(!o.reason().contains("secret"));
    }
}
