//! The remote-write output both plugins run: paces pushes inside `write`, splits them into
//! bounded requests, and maps each answer onto the host's retry contract.
//!
//! Retry contract: a due push is sent *before* the batch's samples are folded in. If it must
//! be retried, `write` answers `Retry` having kept nothing of the batch, and the push (already
//! encoded, its delivered requests remembered) resumes on the next call. Values are cumulative,
//! so a retried push loses nothing; while the server is down the host's bounded queue holds the
//! batches and counts what it drops.
//!
//! Accounting: because values are cumulative, a sample is on the server as soon as ANY later
//! push of its series is taken, even if the push that first carried it was refused or lost.
//! So nothing is reported at the time of a failure; at `stop` (or a fatal error) the samples
//! folded after the last push the server took of their series are reported through the
//! standard counters (`samples_rejected` when that series' last request was refused for good,
//! else `samples_lost`), and the host's `written` is what the server's cumulative values hold.
//!
//! SigV4: each attempt of each request is signed when it is sent (see [`crate::sigv4`]), so a
//! request retried minutes later carries a fresh date.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use loadrun_aws_sigv4::UtcTime;
use loadrun_http_support::{
    basic_auth_header, HttpClient, HttpConfig, Outcome, RejectLog, TlsVersion, TLS_VERSION_MISMATCH,
};
use loadrun_plugin_api::sdk::{COUNTER_SAMPLES_LOST, COUNTER_SAMPLES_REJECTED};
use loadrun_plugin_api::{Batch, Catalog, Host, Output, PluginError, RunOutcome, WriteStatus};

use crate::aggregate::{AggConfig, Aggregator, Owner};
use crate::config::{Auth, RwConfig};
use crate::sigv4::Signer;
use crate::split::{encode_requests, Request};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("loadrun-prometheus-rw-output/", env!("CARGO_PKG_VERSION"));

/// A push being delivered: its requests (each with the owners of its series), and how many
/// went out already.
struct Pending {
    requests: Vec<(Request, Vec<Owner>)>,
    next: usize,
}

/// What one delivery attempt ended with.
enum Delivery {
    Done,
    Retry {
        after_ms: Option<u64>,
        reason: String,
    },
    Fatal(String),
}

pub struct RemoteWriteOutput {
    cfg: RwConfig,
    client: HttpClient,
    headers: Vec<(String, String)>,
    /// Signs each request attempt when the output authenticates with SigV4.
    signer: Option<Signer>,
    catalog: Catalog,
    agg: Aggregator,
    pending: Option<Pending>,
    last_push: Instant,
    host: Option<Host>,
    rejects: RejectLog,
    warned_unknown: bool,
    reported_unknown: u64,
}

impl RemoteWriteOutput {
    pub fn new(cfg: RwConfig) -> Result<Self, PluginError> {
        let client = HttpClient::new(HttpConfig {
            timeout: cfg.timeout,
            connect_timeout: cfg.timeout.min(Duration::from_secs(5)),
            user_agent: USER_AGENT.to_string(),
            gzip: false,
            tls: cfg.tls.clone(),
            proxy: None,
            max_response_bytes: 64 * 1024,
        })
        .map_err(|e| PluginError::new(format!("{}: {e}", cfg.output)))?;
        let headers = request_headers(&cfg);
        let signer = match &cfg.auth {
            Auth::SigV4(sig) => Some(Signer::new(sig.clone(), &cfg.url).ok_or_else(|| {
                PluginError::new(format!("{}: the url has no host to sign for", cfg.output))
            })?),
            _ => None,
        };
        let agg = Aggregator::new(AggConfig {
            trend_stats: cfg.trend_stats.clone(),
            native_histogram_schema: cfg.native_histogram_schema,
            metadata_as_labels: cfg.metadata_as_labels,
            extra_labels: cfg.extra_labels.clone(),
        });
        Ok(Self {
            cfg,
            client,
            headers,
            signer,
            catalog: Catalog::new(),
            agg,
            pending: None,
            last_push: Instant::now(),
            host: None,
            rejects: RejectLog::items("series", Some("rejected_series")),
            warned_unknown: false,
            reported_unknown: 0,
        })
    }

    pub fn config(&self) -> &RwConfig {
        &self.cfg
    }

    /// Encodes what changed into a pending push (if nothing is pending already).
    fn prepare(&mut self) -> Result<(), String> {
        if self.pending.is_some() || !self.agg.has_changes() {
            return Ok(());
        }
        self.last_push = Instant::now();
        let (series, owners) = self.agg.snapshot_owned();
        self.queue(&series, owners)
    }

    fn queue(
        &mut self,
        series: &[crate::proto::TimeSeries],
        owners: Vec<Owner>,
    ) -> Result<(), String> {
        if series.is_empty() {
            return Ok(());
        }
        let requests = encode_requests(
            series,
            self.cfg.max_series_per_request,
            self.cfg.max_request_bytes,
        )
        .map_err(|e| format!("snappy compression failed: {e}"))?;
        // Requests hold consecutive runs of `series`, in order.
        let mut owners = owners.into_iter();
        let requests = requests
            .into_iter()
            .map(|r| {
                let mine: Vec<Owner> = owners.by_ref().take(r.series).collect();
                (r, mine)
            })
            .collect();
        self.pending = Some(Pending { requests, next: 0 });
        Ok(())
    }

    /// Reports what was accepted but is not on the server (see the module docs); called when
    /// nothing more will be sent.
    fn settle(&mut self) {
        self.pending = None;
        let u = self.agg.take_undelivered();
        if let Some(h) = &self.host {
            if u.rejected > 0 {
                h.count(COUNTER_SAMPLES_REJECTED, u.rejected);
            }
            if u.lost > 0 {
                h.count(COUNTER_SAMPLES_LOST, u.lost);
            }
        }
    }

    /// Sends what is left of the pending push.
    fn deliver(&mut self, deadline: Option<Instant>) -> Delivery {
        let Some(pending) = self.pending.as_mut() else {
            return Delivery::Done;
        };
        let min_tls = self.cfg.tls.min_version;
        while let Some((req, owners)) = pending.requests.get(pending.next) {
            // Signed per attempt: a retry gets a fresh date; the hash is over this exact body.
            let signed = match &self.signer {
                Some(s) => s.sign(&self.headers, &req.body, UtcTime::now()),
                None => Vec::new(),
            };
            let headers: Vec<(&str, &str)> = self
                .headers
                .iter()
                .chain(&signed)
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let explain = |reason: String| explain(self.signer.as_ref(), min_tls, reason);
            match self
                .client
                .post(&self.cfg.url, &headers, &req.body, deadline)
            {
                Outcome::Delivered { .. } => {
                    self.agg.delivered(owners);
                    if let Some(h) = &self.host {
                        h.count("requests", 1);
                        h.count("series_sent", req.series as u64);
                    }
                }
                Outcome::Rejected { status, reason } => {
                    self.agg.refused(owners);
                    // The samples are settled at stop: a later push may still carry them.
                    self.rejects.note(
                        self.host.as_ref(),
                        status,
                        &explain(reason),
                        req.series as u64,
                        0,
                    );
                }
                Outcome::Retry { after_ms, reason } => {
                    return Delivery::Retry {
                        after_ms,
                        reason: explain(reason),
                    };
                }
                Outcome::Fatal { reason } => return Delivery::Fatal(explain(reason)),
            }
            pending.next += 1;
        }
        self.pending = None;
        Delivery::Done
    }

    /// Delivers the pending push and then everything changed, within `deadline`.
    fn flush_all(&mut self, deadline: Instant) -> Result<(), PluginError> {
        self.deliver_or_err(deadline, "the last push")?;
        self.prepare().map_err(PluginError::new)?;
        self.deliver_or_err(deadline, "the last push")
    }

    fn deliver_or_err(&mut self, deadline: Instant, what: &str) -> Result<(), PluginError> {
        match self.deliver(Some(deadline)) {
            Delivery::Done => Ok(()),
            Delivery::Retry { reason, .. } | Delivery::Fatal(reason) => Err(PluginError::new(
                format!("{}: {what} was not delivered: {reason}", self.cfg.output),
            )),
        }
    }

    fn warn_unknown(&mut self) {
        let unknown = self.agg.unknown_samples();
        if unknown > self.reported_unknown {
            if let Some(h) = &self.host {
                h.count(COUNTER_SAMPLES_LOST, unknown - self.reported_unknown);
            }
            self.reported_unknown = unknown;
        }
        if !self.warned_unknown && self.agg.unknown_samples() > 0 {
            self.warned_unknown = true;
            if let Some(h) = &self.host {
                h.warn("samples of undefined series were skipped (a host bug; said once)");
            }
        }
    }
}

impl Output for RemoteWriteOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        if self.cfg.metadata_as_labels {
            host.warn(
                "metadataAsLabels is on: every VU and iteration becomes its own series, which \
                 multiplies the series count (cardinality); use it only for short debugging runs",
            );
        }
        self.last_push = Instant::now();
        // Requests are cut short by the host's stop deadline once stopping has begun.
        self.client.set_host(&host);
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.catalog.absorb(&batch);
        if self.pending.is_none() && self.last_push.elapsed() >= self.cfg.push_interval {
            if let Err(e) = self.prepare() {
                self.settle();
                return WriteStatus::fatal(e);
            }
        }
        match self.deliver(None) {
            Delivery::Done => {}
            Delivery::Retry { after_ms, reason } => {
                return match after_ms {
                    Some(ms) => WriteStatus::retry_after(Duration::from_millis(ms), reason),
                    None => WriteStatus::retry(reason),
                }
            }
            Delivery::Fatal(reason) => {
                // Neither flush nor stop follows a fatal answer; this batch was not folded.
                self.settle();
                return WriteStatus::fatal(reason);
            }
        }
        self.agg.add(&self.catalog, batch.samples.as_slice());
        self.warn_unknown();
        WriteStatus::Ok
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), PluginError> {
        self.flush_all(Instant::now() + timeout)
    }

    fn stop(&mut self, _outcome: &RunOutcome, timeout: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now() + timeout;
        let flushed = self.flush_all(deadline);
        // What the samples' last pushes left undelivered is final now.
        self.settle();
        flushed?;
        if self.cfg.stale_markers {
            let markers = self.agg.stale_markers(now_ms());
            self.queue(&markers, Vec::new()).map_err(PluginError::new)?;
            self.deliver_or_err(deadline, "the stale markers")?;
        }
        Ok(())
    }
}

/// A failure reason as shown: SigV4's secrets scrubbed out (a server may quote what it got),
/// who signed a refused request, and the option to change when client and server share no TLS
/// version.
fn explain(signer: Option<&Signer>, min_tls: TlsVersion, reason: String) -> String {
    let mut reason = match signer {
        Some(s) => {
            let mut r = s.redact(&reason);
            if r.contains("HTTP 403") || r.contains("HTTP 401") {
                r.push_str(&format!(" [{}]", s.describe()));
            }
            r
        }
        None => reason,
    };
    if min_tls == TlsVersion::Tls13 && reason.contains(TLS_VERSION_MISMATCH) {
        reason.push_str(
            "; if the server only speaks TLS 1.2, set tlsMinimumVersion=1.2 \
             (K6_PROMETHEUS_RW_TLS_MINIMUM_VERSION=1.2)",
        );
    }
    reason
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The protocol headers, then the user's, then authentication unless the user set their own
/// `Authorization` (k6 lost Basic auth whenever any header was set: k6#4581).
pub fn request_headers(cfg: &RwConfig) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = vec![
        ("Content-Encoding".into(), "snappy".into()),
        ("Content-Type".into(), "application/x-protobuf".into()),
        ("X-Prometheus-Remote-Write-Version".into(), "0.1.0".into()),
    ];
    for (k, v) in &cfg.headers {
        let reserved = ["content-encoding", "content-type", "content-length"];
        if !reserved.iter().any(|r| k.eq_ignore_ascii_case(r)) {
            h.push((k.clone(), v.expose().to_string()));
        }
    }
    let user_auth = cfg
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
    if !user_auth {
        match &cfg.auth {
            Auth::None => {}
            Auth::Basic { username, password } => h.push((
                "Authorization".into(),
                basic_auth_header(username, password.expose()),
            )),
            Auth::Bearer(t) => h.push(("Authorization".into(), format!("Bearer {}", t.expose()))),
            // Signed per attempt by `deliver`: the signature covers the date and the body.
            Auth::SigV4(_) => {}
        }
    }
    h
}
