//! OTLP/gRPC: one unary `MetricsService/Export` call per request, over HTTP/2 (`h2`), plaintext
//! (h2c) or TLS, on a private current-thread tokio runtime. The runtime only runs while `send`
//! waits, on the output's own host thread; nothing async crosses the plugin boundary.
//!
//! The status policy follows the OTLP specification: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED,
//! ABORTED, OUT_OF_RANGE and DATA_LOSS are retried, RESOURCE_EXHAUSTED only when the server
//! sends a `RetryInfo` (its delay becomes the retry delay); UNAUTHENTICATED, PERMISSION_DENIED
//! and UNIMPLEMENTED are fatal; anything else rejects this request only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use loadrun_http_support::{request_budget, stop_cap, Budget, Endpoint, Outcome, Url};
use loadrun_plugin_api::Host;
use tokio::net::TcpStream;

use crate::grpc_tls::{self, CallError, Phase, TlsSide, WatchClientAuth};
use crate::proto;

const PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
/// The most bytes of a response message read (an Export response is a few bytes).
const MAX_RESPONSE: usize = 64 * 1024;

pub struct GrpcTransport {
    rt: tokio::runtime::Runtime,
    inner: Inner,
    /// The output's host, for its stop deadline (API 1.2): see [`GrpcTransport::set_host`].
    host: Option<Host>,
}

/// How often a call under way checks whether the stop deadline is near.
const WATCH_EVERY: Duration = Duration::from_millis(20);

struct Inner {
    host: String,
    port: u16,
    uri: http::Uri,
    tls: Option<Arc<rustls::ClientConfig>>,
    headers: Vec<(HeaderName, HeaderValue)>,
    gzip: bool,
    timeout: Duration,
    endpoint: Endpoint,
    conn: Option<h2::client::SendRequest<Bytes>>,
    /// The TLS settings, for telling what a failure means ([`grpc_tls::diagnose`]).
    side: TlsSide,
    /// Set when the server asks for a client certificate; cleared before each handshake.
    client_auth_asked: Arc<std::sync::atomic::AtomicBool>,
    /// The last call failed in a way only configuration can fix: its reason.
    fatal: Option<String>,
}

/// What came back from one call.
struct Reply {
    http_status: u16,
    headers: HeaderMap,
    trailers: Option<HeaderMap>,
    message: Vec<u8>,
}

impl GrpcTransport {
    pub fn new(
        url: &Url,
        headers: &[(String, loadrun_plugin_api::Secret)],
        tls: &loadrun_http_support::TlsOptions,
        gzip: bool,
        timeout: Duration,
    ) -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start the gRPC runtime: {e}"))?;
        let host = url
            .host_str()
            .unwrap_or("")
            .trim_matches(['[', ']'])
            .to_string();
        let secure = url.scheme() == "https";
        let port = url.port().unwrap_or(if secure { 443 } else { 80 });
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_string(),
        };
        let uri = http::Uri::builder()
            .scheme(if secure { "https" } else { "http" })
            .authority(authority)
            .path_and_query(PATH)
            .build()
            .map_err(|e| format!("endpoint {}: {e}", Endpoint::new(url)))?;
        let side = TlsSide {
            secure,
            host: host.clone(),
            ca_file: tls.ca_file.clone(),
            client_cert: tls.client_cert.clone(),
        };
        let (tls, client_auth_asked) = if secure {
            let mut config = Arc::unwrap_or_clone(
                tls.client_config_with_alpn(&[b"h2"])
                    .map_err(|e| e.to_string())?,
            );
            let asked = WatchClientAuth::install(&mut config);
            (Some(Arc::new(config)), asked)
        } else {
            (None, Arc::default())
        };
        let mut hs = Vec::new();
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("header {k:?} is not a valid HTTP/2 header name"))?;
            let value = HeaderValue::from_str(v.expose())
                .map_err(|_| format!("the value of header {k:?} is not valid"))?;
            hs.push((name, value));
        }
        Ok(Self {
            rt,
            inner: Inner {
                host,
                port,
                uri,
                tls,
                headers: hs,
                gzip,
                timeout,
                endpoint: Endpoint::new(url),
                conn: None,
                side,
                client_auth_asked,
                fatal: None,
            },
            host: None,
        })
    }

    /// Gives the transport the output's host: once stopping has begun, each call's timeout is
    /// capped by the time left before the stop deadline (minus `STOP_MARGIN`, as the HTTP
    /// client does), and a call under way when stopping begins is abandoned at that point.
    pub fn set_host(&mut self, host: &Host) {
        self.host = Some(host.clone());
    }

    /// Sends one `ExportMetricsServiceRequest` and classifies the answer. A connection that
    /// went stale while idle is replaced once before the call counts as failed.
    pub fn send(&mut self, message: &[u8], deadline: Option<Instant>) -> Outcome {
        let what = format!("gRPC Export to {}", self.inner.endpoint);
        let frame = match frame(message, self.inner.gzip) {
            Ok(f) => f,
            Err(e) => {
                return Outcome::Fatal {
                    reason: format!("{what}: gzip failed: {e}"),
                }
            }
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (timeout, cut_by_stop) =
                match request_budget(self.inner.timeout, deadline, self.host.as_ref()) {
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
            let reused = self.inner.conn.is_some();
            let inner = &mut self.inner;
            let host = self.host.as_ref();
            let result = self.rt.block_on(async {
                let call = tokio::time::timeout(timeout, inner.call(frame.clone()));
                if host.is_none() {
                    return Some(call.await);
                }
                // Stopping may begin during the call: give up on it at the stop deadline.
                let mut call = std::pin::pin!(call);
                loop {
                    if let Ok(done) = tokio::time::timeout(WATCH_EVERY, &mut call).await {
                        return Some(done);
                    }
                    if stop_cap(host).is_some_and(|cap| cap.is_zero()) {
                        return None;
                    }
                }
            });
            let Some(result) = result else {
                self.inner.conn = None;
                return Outcome::Retry {
                    after_ms: None,
                    reason: format!(
                        "{what}: no answer before the output's stop deadline (call abandoned)"
                    ),
                };
            };
            let reply = match result {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => {
                    self.inner.conn = None;
                    if let Some(reason) = self.inner.fatal.take() {
                        return Outcome::Fatal {
                            reason: format!("{what}: {reason}"),
                        };
                    }
                    if reused && attempts == 1 {
                        continue;
                    }
                    return Outcome::Retry {
                        after_ms: None,
                        reason: format!("{what}: {e}"),
                    };
                }
                Err(_) => {
                    self.inner.conn = None;
                    let cut = if cut_by_stop {
                        " (cut short at the output's stop deadline)"
                    } else {
                        ""
                    };
                    return Outcome::Retry {
                        after_ms: None,
                        reason: format!("{what}: timed out after {timeout:?}{cut}"),
                    };
                }
            };
            return classify(&what, &reply);
        }
    }
}

impl Inner {
    async fn connect(&mut self) -> Result<h2::client::SendRequest<Bytes>, CallError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| CallError::io(Phase::Tcp, "connect: ", &e))?;
        let _ = tcp.set_nodelay(true);
        let send = match &self.tls {
            None => {
                let (send, conn) = h2::client::handshake(tcp)
                    .await
                    .map_err(|e| CallError::h2(Phase::Exchange, "HTTP/2 handshake: ", &e))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                send
            }
            Some(cfg) => {
                let name =
                    rustls_pki_types::ServerName::try_from(self.host.clone()).map_err(|_| {
                        CallError::new(
                            Phase::Tls,
                            format!("{:?} is not a valid TLS server name", self.host),
                        )
                    })?;
                self.client_auth_asked
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                let stream = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| CallError::io(Phase::Tls, "TLS: ", &e))?;
                let (send, conn) = h2::client::handshake(stream)
                    .await
                    .map_err(|e| CallError::h2(Phase::Exchange, "HTTP/2 handshake: ", &e))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                send
            }
        };
        self.conn = Some(send.clone());
        Ok(send)
    }

    /// One call; a failure is explained ([`grpc_tls::diagnose`]), and noted in `fatal` when
    /// only configuration can fix it.
    async fn call(&mut self, frame: Bytes) -> Result<Reply, String> {
        let fresh = self.conn.is_none();
        let e = match self.exchange(frame).await {
            Ok(reply) => return Ok(reply),
            Err(e) => e,
        };
        // A plaintext call that broke after the TCP connect: does the port speak TLS?
        let speaks_tls = !self.side.secure
            && fresh
            && e.phase == Phase::Exchange
            && grpc_tls::speaks_tls(&self.host, self.port, Duration::from_secs(2)).await;
        let asked = fresh
            && self
                .client_auth_asked
                .load(std::sync::atomic::Ordering::Relaxed);
        let d = grpc_tls::diagnose(&self.side, &e, asked, speaks_tls);
        if d.fatal {
            self.fatal = Some(d.text.clone());
        }
        Err(d.text)
    }

    async fn exchange(&mut self, frame: Bytes) -> Result<Reply, CallError> {
        let send = match self.conn.clone() {
            Some(s) => s,
            None => self.connect().await?,
        };
        let exchange = |e: h2::Error| CallError::h2(Phase::Exchange, "", &e);
        let mut send = send.ready().await.map_err(exchange)?;
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header(
                "user-agent",
                concat!("loadrun-otlp-grpc/", env!("CARGO_PKG_VERSION")),
            )
            .header(
                "grpc-timeout",
                format!("{}m", self.timeout.as_millis().max(1)),
            );
        if self.gzip {
            req = req
                .header("grpc-encoding", "gzip")
                .header("grpc-accept-encoding", "identity,gzip");
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let req = req
            .body(())
            .map_err(|e| CallError::new(Phase::Exchange, e.to_string()))?;
        let (response, mut stream) = send.send_request(req, false).map_err(exchange)?;
        stream.send_data(frame, true).map_err(exchange)?;
        let response = response.await.map_err(exchange)?;
        let (parts, mut body) = response.into_parts();
        let mut message = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(exchange)?;
            let _ = body.flow_control().release_capacity(chunk.len());
            if message.len() < MAX_RESPONSE {
                message.extend_from_slice(&chunk);
            }
        }
        let trailers = body.trailers().await.map_err(exchange)?;
        Ok(Reply {
            http_status: parts.status.as_u16(),
            headers: parts.headers,
            trailers,
            message,
        })
    }
}

/// gRPC's length-prefixed message: a compressed flag, a big-endian u32 length, the message.
fn frame(message: &[u8], gzip: bool) -> std::io::Result<Bytes> {
    let body = if gzip {
        loadrun_http_support::gzip(message)?
    } else {
        message.to_vec()
    };
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(u8::from(gzip));
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(Bytes::from(out))
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .trailers
        .as_ref()
        .and_then(|t| t.get(name))
        .or_else(|| reply.headers.get(name))
        .and_then(|v| v.to_str().ok())
}

fn classify(what: &str, reply: &Reply) -> Outcome {
    let code = match header(reply, "grpc-status").and_then(|s| s.trim().parse::<u32>().ok()) {
        Some(c) => c,
        // No gRPC status: map the HTTP status as gRPC clients do.
        None => match reply.http_status {
            200 => 2, // UNKNOWN: a 200 without a status is a broken server
            401 => 16,
            403 => 7,
            404 => 12,
            429 | 502 | 503 | 504 => 14,
            _ => 2,
        },
    };
    let message = header(reply, "grpc-message")
        .map(loadrun_plugin_api::options::percent_decode)
        .unwrap_or_default();
    let reason = if message.is_empty() {
        format!("{what}: {} (HTTP {})", code_name(code), reply.http_status)
    } else {
        format!(
            "{what}: {}: {}",
            code_name(code),
            message.chars().take(300).collect::<String>()
        )
    };
    let retry_info = header(reply, "grpc-status-details-bin").and_then(retry_delay_ms);
    match code {
        0 => Outcome::Delivered {
            status: 200,
            body: partial_success(&reply.message).unwrap_or_default(),
        },
        1 | 4 | 10 | 11 | 14 | 15 => Outcome::Retry {
            after_ms: retry_info,
            reason,
        },
        8 if retry_info.is_some() => Outcome::Retry {
            after_ms: retry_info,
            reason,
        },
        7 | 12 | 16 => Outcome::Fatal { reason },
        _ => Outcome::Rejected {
            status: code as u16,
            reason,
        },
    }
}

fn code_name(code: u32) -> String {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES
        .get(code as usize)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("status {code}"))
}

/// `ExportMetricsServiceResponse.partial_success` as a warning text, if the server rejected
/// some data points of an otherwise accepted request.
pub fn partial_success(message: &[u8]) -> Option<String> {
    // Skip the 5-byte gRPC prefix; a compressed response is not asked for.
    let msg = message.get(5..)?;
    if message.first() != Some(&0) {
        return None;
    }
    let f = proto::fields(msg).ok()?;
    let ps = proto::fields(proto::one(&f, 1)?.as_bytes()?).ok()?;
    let rejected = proto::one(&ps, 1).and_then(|v| v.as_u64()).unwrap_or(0) as i64;
    let text = proto::one(&ps, 2).and_then(|v| v.as_str()).unwrap_or("");
    (rejected != 0 || !text.is_empty())
        .then(|| format!("the receiver rejected {rejected} data points: {text}"))
}

/// The delay of a `google.rpc.RetryInfo` in a `grpc-status-details-bin` header.
fn retry_delay_ms(b64: &str) -> Option<u64> {
    let status = base64_decode(b64)?;
    let f = proto::fields(&status).ok()?;
    for any in proto::all(&f, 3) {
        let a = proto::fields(any.as_bytes()?).ok()?;
        let type_url = proto::one(&a, 1).and_then(|v| v.as_str()).unwrap_or("");
        if !type_url.ends_with("google.rpc.RetryInfo") {
            continue;
        }
        let info = proto::fields(proto::one(&a, 2)?.as_bytes()?).ok()?;
        let delay = proto::fields(proto::one(&info, 1)?.as_bytes()?).ok()?;
        let secs = proto::one(&delay, 1).and_then(|v| v.as_u64()).unwrap_or(0);
        let nanos = proto::one(&delay, 2).and_then(|v| v.as_u64()).unwrap_or(0);
        let ms = secs.saturating_mul(1000).saturating_add(nanos / 1_000_000);
        return Some(ms.min(loadrun_http_support::MAX_RETRY_AFTER_MS));
    }
    None
}

/// gRPC's `-bin` header values: base64 with or without padding, standard or URL-safe alphabet.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let bare: String = s
        .chars()
        .filter(|c| !matches!(c, '=' | ' ' | '\n' | '\r'))
        .collect();
    STANDARD_NO_PAD
        .decode(&bare)
        .or_else(|_| URL_SAFE_NO_PAD.decode(&bare))
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reply(status: &str, details: Option<&str>) -> Reply {
        let mut t = HeaderMap::new();
        t.insert("grpc-status", HeaderValue::from_str(status).unwrap());
        t.insert("grpc-message", HeaderValue::from_static("try%20later"));
        if let Some(d) = details {
            t.insert("grpc-status-details-bin", HeaderValue::from_str(d).unwrap());
        }
        Reply {
            http_status: 200,
            headers: HeaderMap::new(),
            trailers: Some(t),
            message: Vec::new(),
        }
    }

    fn retry_info_b64(secs: u64) -> String {
        let mut delay = Vec::new();
        proto::uint(&mut delay, 1, secs);
        let mut info = Vec::new();
        proto::bytes(&mut info, 1, &delay);
        let mut any = Vec::new();
        proto::string(&mut any, 1, "type.googleapis.com/google.rpc.RetryInfo");
        proto::bytes(&mut any, 2, &info);
        let mut status = Vec::new();
        proto::uint(&mut status, 1, 8);
        proto::bytes(&mut status, 3, &any);
        // standard base64, unpadded as gRPC sends it
        const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in status.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..=c.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn status_codes_follow_the_otlp_spec() {
        assert!(classify("x", &reply("0", None)).is_delivered());
        let o = classify("x", &reply("14", None));
        assert!(matches!(o, Outcome::Retry { after_ms: None, .. }), "{o:?}");
        assert!(o.reason().contains("UNAVAILABLE: try later"), "{o:?}");
        assert!(matches!(
            classify("x", &reply("4", None)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify("x", &reply("8", None)),
            Outcome::Rejected { .. }
        ));
        let o = classify("x", &reply("8", Some(&retry_info_b64(3))));
        assert_eq!(
            o,
            Outcome::Retry {
                after_ms: Some(3000),
                reason: "x: RESOURCE_EXHAUSTED: try later".into()
            }
        );
        assert!(matches!(
            classify("x", &reply("16", None)),
            Outcome::Fatal { .. }
        ));
        assert!(matches!(
            classify("x", &reply("3", None)),
            Outcome::Rejected { .. }
        ));
        let mut r = reply("0", None);
        r.trailers = None;
        r.http_status = 503;
        assert!(matches!(classify("x", &r), Outcome::Retry { .. }));
    }

    #[test]
    fn frames_have_the_grpc_prefix() {
        let f = frame(b"abc", false).unwrap();
        assert_eq!(&f[..], &[0, 0, 0, 0, 3, b'a', b'b', b'c']);
        let z = frame(b"abc", true).unwrap();
        assert_eq!(z[0], 1);
        assert_eq!(
            u32::from_be_bytes([z[1], z[2], z[3], z[4]]) as usize,
            z.len() - 5
        );
    }

    #[test]
    fn a_dead_server_is_a_retry() {
        let url = Url::parse("http://127.0.0.1:9").unwrap();
        let mut t =
            GrpcTransport::new(&url, &[], &Default::default(), true, Duration::from_secs(2))
                .unwrap();
        let o = t.send(b"", None);
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
    }

    /// Accepts connections and never answers.
    fn blackhole() -> Url {
        let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = hole.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in hole.incoming().flatten() {
                held.push(c);
            }
        });
        Url::parse(&format!("http://{addr}")).unwrap()
    }

    #[test]
    fn a_call_under_way_when_stopping_begins_ends_at_the_stop_deadline() {
        let url = blackhole();
        let mut t = GrpcTransport::new(
            &url,
            &[],
            &Default::default(),
            false,
            Duration::from_secs(10),
        )
        .unwrap();
        let (host, recorded) = loadrun_plugin_api::testkit::recording_host();
        t.set_host(&host);
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            recorded.begin_stop(Duration::from_millis(700));
        });
        let started = Instant::now();
        let o = t.send(b"", None);
        let took = started.elapsed();
        stopper.join().unwrap();
        assert!(o.reason().contains("stop deadline"), "{o:?}");
        // Well before its own 10 s timeout: a hang, not slowness, fails this.
        assert!(took < Duration::from_secs(3), "{took:?}");
        // Once the deadline is (about) spent, nothing more is sent.
        std::thread::sleep(Duration::from_millis(100));
        let o = t.send(b"", None);
        assert!(o.reason().contains("not sent"), "{o:?}");
    }
}
