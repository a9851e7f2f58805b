//! OTLP over HTTP (protobuf, the shared HTTP client) or gRPC ([`crate::grpc`]): one request in,
//! one classified [`Outcome`] out.
//!
//! Resending a request the receiver may already hold (it went out whole and its answer was
//! lost: the wait ran out, or the connection broke before the answer): OTLP has no
//! idempotency key (the specification's retry rules assume a failed export was not taken),
//! and a receiver adds up delta sums and histograms it gets, so under delta temporality such a
//! request is not sent again: it is `Unconfirmed`, its samples counted lost
//! ([`loadrun_http_support::UnconfirmedLog`]). A cumulative point is the running total at its
//! time, the same in every copy, and a receiver keeps one value per series and time: sending it
//! again cannot count anything twice, so under cumulative temporality (the default) a lost
//! answer is retried like any other failure.

use std::time::{Duration, Instant};

use loadrun_http_support::{HttpClient, HttpConfig, Outcome, Unconfirmed, Url};
use loadrun_plugin_api::{Host, PluginError, Secret};
use prost::Message;

use crate::config::{Config, Protocol, Temporality};
use crate::grpc::GrpcTransport;
use crate::otlp::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;

pub struct Transport {
    wire: Wire,
    /// A request that went out whole is never sent again (delta temporality).
    once: bool,
}

// One per output instance: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Wire {
    Http {
        client: HttpClient,
        url: Url,
        headers: Vec<(String, Secret)>,
    },
    Grpc(GrpcTransport),
}

impl Transport {
    pub fn new(cfg: &Config) -> Result<Self, PluginError> {
        let wire = match cfg.protocol {
            Protocol::HttpProtobuf => {
                let client = HttpClient::new(HttpConfig {
                    timeout: cfg.timeout,
                    connect_timeout: cfg.timeout.min(Duration::from_secs(5)),
                    user_agent: format!("loadrun-otlp-http/{}", env!("CARGO_PKG_VERSION")),
                    gzip: cfg.gzip,
                    tls: cfg.tls.clone(),
                    proxy: None,
                    max_response_bytes: 64 * 1024,
                })
                .map_err(|e| PluginError::new(format!("opentelemetry: {e}")))?;
                Wire::Http {
                    client,
                    url: cfg.url.clone(),
                    headers: cfg.headers.clone(),
                }
            }
            Protocol::Grpc => Wire::Grpc(
                GrpcTransport::new(&cfg.url, &cfg.headers, &cfg.tls, cfg.gzip, cfg.timeout)
                    .map_err(|e| PluginError::new(format!("opentelemetry: {e}")))?,
            ),
        };
        Ok(Self {
            wire,
            once: cfg.temporality == Temporality::Delta,
        })
    }

    /// Requests are cut short by the host's stop deadline once stopping has begun.
    pub fn set_host(&mut self, host: &Host) {
        match &mut self.wire {
            Wire::Http { client, .. } => client.set_host(host),
            Wire::Grpc(g) => g.set_host(host),
        }
    }

    /// Sends one request. `Err` only under delta temporality, for a request that went out
    /// whole and got no answer: it must not be sent again (see the module documentation).
    pub fn send(
        &mut self,
        request: &ExportMetricsServiceRequest,
        deadline: Option<Instant>,
    ) -> Result<Outcome, Unconfirmed> {
        let once = self.once;
        match &mut self.wire {
            Wire::Http {
                client,
                url,
                headers,
            } => {
                let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/x-protobuf")];
                h.extend(headers.iter().map(|(k, v)| (k.as_str(), v.expose())));
                let body = request.encode_to_vec();
                let outcome = if once {
                    client.post_once(url, &h, &body, deadline)?
                } else {
                    client.post(url, &h, &body, deadline)
                };
                Ok(match outcome {
                    // The body of an HTTP answer is protobuf: not text worth keeping.
                    Outcome::Delivered { status, .. } => Outcome::Delivered {
                        status,
                        body: String::new(),
                    },
                    other => other,
                })
            }
            Wire::Grpc(g) => g.send(request, deadline, once),
        }
    }
}
