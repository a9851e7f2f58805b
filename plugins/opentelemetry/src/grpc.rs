//! OTLP/gRPC: one unary `MetricsService/Export` call per request on a tonic channel, plaintext
//! (h2c) or TLS, on a private current-thread tokio runtime. The runtime only runs while `send`
//! waits, on the output's own host thread; nothing async crosses the plugin boundary.
//!
//! tonic does the protocol (framing, gzip, metadata, `grpc-timeout`, status and
//! `grpc-status-details-bin` decoding). What is ours: the connection (TCP, then rustls with our
//! TLS options, so a failure can be explained: [`grpc_tls`]), the stop deadline, and the status
//! policy, which follows the OTLP specification: UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED,
//! ABORTED, OUT_OF_RANGE and DATA_LOSS are retried, RESOURCE_EXHAUSTED only when the server
//! sends a `RetryInfo` (its delay becomes the retry delay); UNAUTHENTICATED, PERMISSION_DENIED
//! and UNIMPLEMENTED are fatal; anything else rejects this request only.

use std::error::Error;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use loadrun_http_support::{request_budget, stop_cap, Budget, Endpoint, Outcome, Unconfirmed, Url};
use loadrun_plugin_api::Host;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Uri};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::grpc_tls::{self, CallError, Phase, TlsSide, WatchClientAuth};
use crate::grpc_watch::{Heard, Probe, TrackedCodec};
use crate::otlp::opentelemetry::proto::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};

const PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
/// The most bytes of a response message decoded (an Export response is a few bytes).
const MAX_RESPONSE: usize = 64 * 1024;
/// How often a call under way checks whether the stop deadline is near (the host tells it
/// only when asked).
const WATCH_EVERY: Duration = Duration::from_millis(20);

pub struct GrpcTransport {
    rt: tokio::runtime::Runtime,
    endpoint: tonic::transport::Endpoint,
    /// Made lazily, dropped after a failed call so that the next one starts a fresh connection.
    channel: Option<Channel>,
    connector: Connector,
    metadata: MetadataMap,
    gzip: bool,
    timeout: Duration,
    what: String,
    /// The output's host, for its stop deadline (API 1.2): see [`GrpcTransport::set_host`].
    host: Option<Host>,
}

/// TCP, then TLS with our rustls configuration: the connector tonic's channel calls.
#[derive(Clone)]
struct Connector {
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The TLS settings, for telling what a failure means ([`grpc_tls::diagnose`]).
    side: TlsSide,
    /// Set when the server asks for a client certificate; cleared before each handshake.
    client_auth_asked: Arc<AtomicBool>,
    /// Connections made, so a call knows whether it ran on a fresh one.
    connects: Arc<AtomicU64>,
    /// The receiver has sent something on the newest connection (its HTTP/2 settings, first
    /// thing, then answers). One that broke before that was never a working gRPC connection:
    /// a proxy refusing it, a port that resets: the request cannot have been taken there.
    heard: Arc<AtomicBool>,
    /// The newest connection's socket, to look at between calls.
    probe: Probe,
}

/// A plaintext or TLS stream.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

impl Connector {
    async fn connect(self) -> Result<TokioIo<Box<dyn Io>>, CallError> {
        self.connects.fetch_add(1, Ordering::Relaxed);
        self.heard.store(false, Ordering::Release);
        let heard = Arc::clone(&self.heard);
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| CallError::io(Phase::Tcp, "connect: ", &e))?;
        let _ = tcp.set_nodelay(true);
        let tcp = self
            .probe
            .keep(tcp)
            .map_err(|e| CallError::io(Phase::Tcp, "connect: ", &e))?;
        let Some(cfg) = self.tls else {
            return Ok(TokioIo::new(Box::new(Heard { inner: tcp, heard })));
        };
        let name = rustls_pki_types::ServerName::try_from(self.host.clone()).map_err(|_| {
            CallError::new(
                Phase::Tls,
                format!("{:?} is not a valid TLS server name", self.host),
            )
        })?;
        self.client_auth_asked.store(false, Ordering::Relaxed);
        let stream = tokio_rustls::TlsConnector::from(cfg)
            .connect(name, tcp)
            .await
            .map_err(|e| CallError::io(Phase::Tls, "TLS: ", &e))?;
        // After the handshake: what counts is the receiver's HTTP/2, not a TLS terminator's.
        Ok(TokioIo::new(Box::new(Heard {
            inner: stream,
            heard,
        })))
    }
}

/// How one call ended, before the status policy.
enum Called {
    Answered(Result<ExportMetricsServiceResponse, Status>),
    TimedOut,
    /// Stopping began and its deadline came during the call.
    Abandoned,
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
        let uri = Uri::builder()
            .scheme(if secure { "https" } else { "http" })
            .authority(authority)
            .path_and_query("/")
            .build()
            .map_err(|e| format!("endpoint {}: {e}", Endpoint::new(url)))?;
        let endpoint = tonic::transport::Endpoint::from(uri)
            .user_agent(concat!("loadrun-otlp-grpc/", env!("CARGO_PKG_VERSION")))
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
        let mut metadata = MetadataMap::new();
        for (k, v) in headers {
            let name = MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("header {k:?} is not a valid HTTP/2 header name"))?;
            let value = MetadataValue::try_from(v.expose())
                .map_err(|_| format!("the value of header {k:?} is not valid"))?;
            metadata.insert(name, value);
        }
        Ok(Self {
            rt,
            endpoint,
            channel: None,
            connector: Connector {
                host,
                port,
                tls,
                side,
                client_auth_asked,
                connects: Arc::default(),
                heard: Arc::default(),
                probe: Probe::default(),
            },
            metadata,
            gzip,
            timeout,
            what: format!("gRPC Export to {}", Endpoint::new(url)),
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
    ///
    /// `once`: the receiver counts a request it gets twice twice (see transport.rs), so a
    /// request that went out whole on a connection the receiver spoke on, and got no answer
    /// (the wait ran out, or the connection broke), is `Err(Unconfirmed)`, never sent again,
    /// not even on a fresh connection.
    pub fn send(
        &mut self,
        message: &ExportMetricsServiceRequest,
        deadline: Option<Instant>,
        once: bool,
    ) -> Result<Outcome, Unconfirmed> {
        let what = self.what.clone();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (timeout, cut_by_stop) =
                match request_budget(self.timeout, deadline, self.host.as_ref()) {
                    Budget::Send {
                        timeout,
                        cut_by_stop,
                    } => (timeout, cut_by_stop),
                    Budget::NotSent(why) => {
                        return Ok(Outcome::Retry {
                            after_ms: None,
                            reason: format!("{what}: not sent, {why}"),
                        })
                    }
                };
            if self.channel.is_some() && self.connector.probe.gone() {
                self.channel = None;
            }
            let connects = self.connector.connects.load(Ordering::Relaxed);
            let handed = Arc::new(AtomicBool::new(false));
            let called = self.call(message.clone(), timeout, &handed);
            let fresh = self.connector.connects.load(Ordering::Relaxed) != connects;
            // Taken by a connection the receiver spoke on: it may hold the request.
            let taken = once
                && handed.load(Ordering::Acquire)
                && self.connector.heard.load(Ordering::Acquire);
            let unconfirmed = |reason: String| -> Result<Outcome, Unconfirmed> {
                if taken {
                    Err(Unconfirmed {
                        reason: format!("{reason} after the whole request was sent"),
                    })
                } else {
                    Ok(Outcome::Retry {
                        after_ms: None,
                        reason,
                    })
                }
            };
            let status = match called {
                Called::Answered(Ok(response)) => {
                    return Ok(Outcome::Delivered {
                        status: 200,
                        body: partial_success(&response).unwrap_or_default(),
                    })
                }
                // The server's own answer.
                Called::Answered(Err(status)) if status.source().is_none() => {
                    return Ok(classify(&what, &status))
                }
                Called::Answered(Err(status)) => status,
                Called::Abandoned => {
                    self.channel = None;
                    return unconfirmed(format!(
                        "{what}: no answer before the output's stop deadline (call abandoned)"
                    ));
                }
                Called::TimedOut => {
                    self.channel = None;
                    let cut = if cut_by_stop {
                        " (cut short at the output's stop deadline)"
                    } else {
                        ""
                    };
                    return unconfirmed(format!("{what}: timed out after {timeout:?}{cut}"));
                }
            };
            // The call failed on our side of the wire: explain it.
            self.channel = None;
            let d = self.diagnose(&status, fresh);
            if d.fatal {
                return Ok(Outcome::Fatal {
                    reason: format!("{what}: {}", d.text),
                });
            }
            if taken {
                return unconfirmed(format!("{what}: {}", d.text));
            }
            if !fresh && attempts == 1 {
                continue;
            }
            return Ok(Outcome::Retry {
                after_ms: None,
                reason: format!("{what}: {}", d.text),
            });
        }
    }

    /// One call, bounded by `timeout` and, once stopping has begun, by the stop deadline.
    fn call(
        &mut self,
        message: ExportMetricsServiceRequest,
        timeout: Duration,
        handed: &Arc<AtomicBool>,
    ) -> Called {
        let channel =
            match &self.channel {
                Some(c) => c.clone(),
                None => {
                    // The channel's worker task is spawned on our runtime.
                    let _entered = self.rt.enter();
                    let connector = self.connector.clone();
                    let c = self.endpoint.connect_with_connector_lazy(tower::service_fn(
                        move |_: Uri| connector.clone().connect(),
                    ));
                    self.channel = Some(c.clone());
                    c
                }
            };
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = self.metadata.clone();
        request.set_timeout(timeout);
        let gzip = self.gzip;
        let host = self.host.clone();
        let codec = TrackedCodec {
            handed: Arc::clone(handed),
        };
        self.rt.block_on(async move {
            let export = export(channel, request, gzip, codec);
            tokio::select! {
                done = tokio::time::timeout(timeout, export) => match done {
                    Ok(answer) => Called::Answered(answer),
                    Err(_) => Called::TimedOut,
                },
                () = stop_deadline(host.as_ref()) => Called::Abandoned,
            }
        })
    }

    /// What a failed call means, and whether only configuration can fix it.
    fn diagnose(&self, status: &Status, fresh: bool) -> grpc_tls::Diagnosis {
        let c = &self.connector;
        let e = match status.source().and_then(find_call_error) {
            Some(e) => CallError {
                phase: e.phase,
                text: e.text.clone(),
                tls: e.tls.clone(),
            },
            None => CallError {
                phase: Phase::Exchange,
                text: chain_text(status),
                tls: status.source().and_then(grpc_tls::rustls_error),
            },
        };
        // A plaintext call that broke after the TCP connect: does the port speak TLS?
        let speaks_tls = !c.side.secure
            && fresh
            && e.phase == Phase::Exchange
            && self.rt.block_on(grpc_tls::speaks_tls(
                &c.host,
                c.port,
                Duration::from_secs(2),
            ));
        let asked = fresh && c.client_auth_asked.load(Ordering::Relaxed);
        grpc_tls::diagnose(&c.side, &e, asked, speaks_tls)
    }
}

async fn export(
    channel: Channel,
    request: tonic::Request<ExportMetricsServiceRequest>,
    gzip: bool,
    codec: TrackedCodec,
) -> Result<ExportMetricsServiceResponse, Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(MAX_RESPONSE);
    if gzip {
        grpc = grpc
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
    }
    grpc.ready()
        .await
        .map_err(|e| Status::from_error(e.into()))?;
    let path = http::uri::PathAndQuery::from_static(PATH);
    grpc.unary(request, path, codec)
        .await
        .map(tonic::Response::into_inner)
}

/// Resolves once stopping has begun and its deadline (less the margin) has come; never
/// without a host.
async fn stop_deadline(host: Option<&Host>) {
    if host.is_none() {
        return std::future::pending().await;
    }
    loop {
        if stop_cap(host).is_some_and(|cap| cap.is_zero()) {
            return;
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

/// Our connector's error, somewhere in the chain tonic built around it.
fn find_call_error<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a CallError> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(call) = c.downcast_ref::<CallError>() {
            return Some(call);
        }
        cause = c.source();
    }
    None
}

/// The innermost error of a failed call says what happened ("connection reset", "peer closed
/// connection ..."); tonic's and hyper's wrappers around it add nothing a user can act on.
fn chain_text(status: &Status) -> String {
    let mut cause: Option<&(dyn Error + 'static)> = status.source();
    let mut text = status.message().to_string();
    while let Some(c) = cause {
        let t = c.to_string();
        if !t.is_empty() {
            text = t;
        }
        cause = c.source();
    }
    text
}

fn classify(what: &str, status: &Status) -> Outcome {
    let code = status.code();
    let message = status.message();
    let reason = if message.is_empty() {
        format!("{what}: {}", code_name(code))
    } else {
        format!(
            "{what}: {}: {}",
            code_name(code),
            message.chars().take(300).collect::<String>()
        )
    };
    let retry_info = status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .map(|d| {
            (d.as_millis().min(u128::from(u64::MAX)) as u64)
                .min(loadrun_http_support::MAX_RETRY_AFTER_MS)
        });
    match code {
        Code::Ok => Outcome::Delivered {
            status: 200,
            body: String::new(),
        },
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => Outcome::Retry {
            after_ms: retry_info,
            reason,
        },
        Code::ResourceExhausted if retry_info.is_some() => Outcome::Retry {
            after_ms: retry_info,
            reason,
        },
        Code::PermissionDenied | Code::Unimplemented | Code::Unauthenticated => {
            Outcome::Fatal { reason }
        }
        _ => Outcome::Rejected {
            status: code as u16,
            reason,
        },
    }
}

/// The code's name as gRPC writes it (`RESOURCE_EXHAUSTED`).
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `ExportMetricsServiceResponse.partial_success` as a warning text, if the server rejected
/// some data points of an otherwise accepted request.
pub fn partial_success(response: &ExportMetricsServiceResponse) -> Option<String> {
    let ps = response.partial_success.as_ref()?;
    (ps.rejected_data_points != 0 || !ps.error_message.is_empty()).then(|| {
        format!(
            "the receiver rejected {} data points: {}",
            ps.rejected_data_points, ps.error_message
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    fn status(code: Code) -> Status {
        Status::new(code, "try later")
    }

    #[test]
    fn status_codes_follow_the_otlp_spec() {
        assert!(classify("x", &status(Code::Ok)).is_delivered());
        let o = classify("x", &status(Code::Unavailable));
        assert!(matches!(o, Outcome::Retry { after_ms: None, .. }), "{o:?}");
        assert!(o.reason().contains("UNAVAILABLE: try later"), "{o:?}");
        assert!(matches!(
            classify("x", &status(Code::DeadlineExceeded)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            classify("x", &status(Code::ResourceExhausted)),
            Outcome::Rejected { .. }
        ));
        let with_retry_info = Status::with_error_details(
            Code::ResourceExhausted,
            "try later",
            ErrorDetails::with_retry_info(Some(Duration::from_secs(3))),
        );
        assert_eq!(
            classify("x", &with_retry_info),
            Outcome::Retry {
                after_ms: Some(3000),
                reason: "x: RESOURCE_EXHAUSTED: try later".into()
            }
        );
        assert!(matches!(
            classify("x", &status(Code::Unauthenticated)),
            Outcome::Fatal { .. }
        ));
        assert!(matches!(
            classify("x", &status(Code::InvalidArgument)),
            Outcome::Rejected { status: 3, .. }
        ));
    }

    #[test]
    fn retry_info_survives_the_details_header() {
        // What a server sends: the details as grpc-status-details-bin, read back by tonic.
        let sent = Status::with_error_details(
            Code::ResourceExhausted,
            "slow down",
            ErrorDetails::with_retry_info(Some(Duration::from_millis(1500))),
        );
        let mut headers = http::HeaderMap::new();
        sent.add_header(&mut headers).unwrap();
        let received = Status::from_header_map(&headers).unwrap();
        let o = classify("x", &received);
        assert!(
            matches!(
                o,
                Outcome::Retry {
                    after_ms: Some(1500),
                    ..
                }
            ),
            "{o:?}"
        );
    }

    #[test]
    fn partial_success_is_a_warning() {
        use crate::otlp::opentelemetry::proto::collector::metrics::v1::ExportMetricsPartialSuccess;
        let mut r = ExportMetricsServiceResponse::default();
        assert_eq!(partial_success(&r), None);
        r.partial_success = Some(ExportMetricsPartialSuccess {
            rejected_data_points: 2,
            error_message: "bad unit".into(),
        });
        assert_eq!(
            partial_success(&r).as_deref(),
            Some("the receiver rejected 2 data points: bad unit")
        );
    }

    #[test]
    fn a_dead_server_is_a_retry() {
        let url = Url::parse("http://127.0.0.1:9").unwrap();
        let mut t =
            GrpcTransport::new(&url, &[], &Default::default(), true, Duration::from_secs(2))
                .unwrap();
        let o = t.send(&Default::default(), None, true).unwrap();
        assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
        assert!(o.reason().contains("connect: "), "{o:?}");
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
        let o = t.send(&Default::default(), None, false).unwrap();
        let took = started.elapsed();
        stopper.join().unwrap();
        assert!(o.reason().contains("stop deadline"), "{o:?}");
        // Well before its own 10 s timeout: a hang, not slowness, fails this.
        assert!(took < Duration::from_secs(3), "{took:?}");
        // Once the deadline is (about) spent, nothing more is sent.
        std::thread::sleep(Duration::from_millis(100));
        let o = t.send(&Default::default(), None, true).unwrap();
        assert!(o.reason().contains("not sent"), "{o:?}");
    }
}
