//! OTLP over HTTP (protobuf, the shared HTTP client) or gRPC ([`crate::grpc`]): one request in,
//! one classified [`Outcome`] out.

use std::time::{Duration, Instant};

use loadrun_http_support::{HttpClient, HttpConfig, Outcome, Url};
use loadrun_plugin_api::{Host, PluginError, Secret};
use prost::Message;

use crate::config::{Config, Protocol};
use crate::grpc::GrpcTransport;
use crate::otlp::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;

// One per output instance: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Transport {
    Http {
        client: HttpClient,
        url: Url,
        headers: Vec<(String, Secret)>,
    },
    Grpc(GrpcTransport),
}

impl Transport {
    pub fn new(cfg: &Config) -> Result<Self, PluginError> {
        let transport = match cfg.protocol {
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
                Transport::Http {
                    client,
                    url: cfg.url.clone(),
                    headers: cfg.headers.clone(),
                }
            }
            Protocol::Grpc => Transport::Grpc(
                GrpcTransport::new(&cfg.url, &cfg.headers, &cfg.tls, cfg.gzip, cfg.timeout)
                    .map_err(|e| PluginError::new(format!("opentelemetry: {e}")))?,
            ),
        };
        Ok(transport)
    }

    /// Requests are cut short by the host's stop deadline once stopping has begun.
    pub fn set_host(&mut self, host: &Host) {
        match self {
            Transport::Http { client, .. } => client.set_host(host),
            Transport::Grpc(g) => g.set_host(host),
        }
    }

    pub fn send(
        &mut self,
        request: &ExportMetricsServiceRequest,
        deadline: Option<Instant>,
    ) -> Outcome {
        match self {
            Transport::Http {
                client,
                url,
                headers,
            } => {
                let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/x-protobuf")];
                h.extend(headers.iter().map(|(k, v)| (k.as_str(), v.expose())));
                match client.post(url, &h, &request.encode_to_vec(), deadline) {
                    // The body of an HTTP answer is protobuf: not text worth keeping.
                    Outcome::Delivered { status, .. } => Outcome::Delivered {
                        status,
                        body: String::new(),
                    },
                    other => other,
                }
            }
            Transport::Grpc(g) => g.send(request, deadline),
        }
    }
}
