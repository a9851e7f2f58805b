//! Options: loadrun's camelCase names, k6's `K6_OTEL_*` variables and the standard
//! `OTEL_EXPORTER_OTLP_*` ones (the K6 names win, as in k6).

use std::path::PathBuf;
use std::time::Duration;

use loadrun_http_support::{Endpoint, TlsOptions, Url};
use loadrun_plugin_api::{OptionDoc, OutputInit, PluginError};

use crate::histogram::{DATA_BOUNDS, SDK_DEFAULT_BOUNDS, TIME_BOUNDS};

/// How data points travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `POST <endpoint>/v1/metrics`, `application/x-protobuf`.
    HttpProtobuf,
    /// Unary `MetricsService/Export` over HTTP/2.
    Grpc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporality {
    Cumulative,
    Delta,
}

impl Temporality {
    /// OTLP's `AggregationTemporality` enum value.
    pub fn wire(self) -> u64 {
        match self {
            Temporality::Delta => 1,
            Temporality::Cumulative => 2,
        }
    }
}

/// How trends are aggregated.
#[derive(Debug, Clone, PartialEq)]
pub enum HistogramMode {
    Exponential {
        max_scale: i32,
        max_buckets: usize,
    },
    Explicit {
        time: Vec<f64>,
        data: Vec<f64>,
        default: Vec<f64>,
    },
}

/// Which metadata entries (k6's `vu`, `iter`) become data point attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataAttrs {
    None,
    All,
    Some(Vec<String>),
}

impl MetadataAttrs {
    pub fn wants(&self, key: &str) -> bool {
        match self {
            MetadataAttrs::None => false,
            MetadataAttrs::All => true,
            MetadataAttrs::Some(keys) => keys.iter().any(|k| k == key),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub protocol: Protocol,
    /// HTTP: the full URL requests go to. gRPC: `scheme://host:port`.
    pub url: Url,
    /// Extra request headers (names lowercased for gRPC at send time). Values may be secret.
    pub headers: Vec<(String, String)>,
    pub tls: TlsOptions,
    pub timeout: Duration,
    pub gzip: bool,
    pub export_interval: Duration,
    pub metric_prefix: String,
    pub temporality: Temporality,
    pub histogram: HistogramMode,
    pub single_counter_for_rate: bool,
    pub metadata: MetadataAttrs,
    /// Resource attributes, in the order they are sent.
    pub resource: Vec<(String, String)>,
    pub max_points_per_request: usize,
    pub warnings: Vec<String>,
}

/// Every option name accepted in `-o` and in the plan table.
pub const KNOWN: &[&str] = &[
    "protocol",
    "endpoint",
    "insecure",
    "urlPath",
    "headers",
    "username",
    "password",
    "tlsInsecureSkipVerify",
    "tlsCertificate",
    "tlsClientCertificate",
    "tlsClientKey",
    "timeout",
    "compression",
    "exportInterval",
    "flushInterval",
    "metricPrefix",
    "serviceName",
    "serviceVersion",
    "resourceAttributes",
    "temporality",
    "histogram",
    "histogramMaxScale",
    "histogramMaxBuckets",
    "timeBuckets",
    "dataBuckets",
    "defaultBuckets",
    "singleCounterForRate",
    "metadataAttributes",
    "maxPointsPerRequest",
];

const DEFAULT_HTTP: &str = "http://localhost:4318";
const DEFAULT_GRPC: &str = "http://localhost:4317";

/// The environment alone: `Options::get` with a name no argument or plan table uses.
fn env(o: &loadrun_plugin_api::Options, var: &str) -> Option<String> {
    o.get("\u{0}env", &[var]).filter(|v| !v.trim().is_empty())
}

fn invalid(what: &str, value: &str, expected: &str) -> PluginError {
    PluginError::new(format!(
        "opentelemetry: option {what}={value:?} is not valid: expected {expected}"
    ))
}

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let o = loadrun_plugin_api::Options::from_init(init)?;
        if let Some(p) = o.positional() {
            return Err(PluginError::new(format!(
                "opentelemetry: the -o argument must be key=value pairs (e.g. endpoint=http://host:4318), not {:?}",
                Endpoint::from_text(p).as_str()
            )));
        }
        o.reject_unknown(KNOWN)?;
        let mut warnings = Vec::new();

        let protocol_text = o
            .get(
                "protocol",
                &[
                    "K6_OTEL_EXPORTER_PROTOCOL",
                    "K6_OTEL_EXPORTER_TYPE",
                    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                    "OTEL_EXPORTER_OTLP_PROTOCOL",
                ],
            )
            .unwrap_or_else(|| "http/protobuf".into());
        let protocol = match protocol_text.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" | "http" => Protocol::HttpProtobuf,
            "grpc" => Protocol::Grpc,
            "http/json" => {
                return Err(invalid(
                    "protocol",
                    &protocol_text,
                    "http/protobuf or grpc (OTLP/JSON is not supported: protobuf is smaller and every receiver takes it)",
                ))
            }
            _ => return Err(invalid("protocol", &protocol_text, "http/protobuf or grpc")),
        };
        let grpc = protocol == Protocol::Grpc;

        let (k6_endpoint, k6_insecure) = if grpc {
            (
                "K6_OTEL_GRPC_EXPORTER_ENDPOINT",
                "K6_OTEL_GRPC_EXPORTER_INSECURE",
            )
        } else {
            (
                "K6_OTEL_HTTP_EXPORTER_ENDPOINT",
                "K6_OTEL_HTTP_EXPORTER_INSECURE",
            )
        };
        let insecure = o.get_bool(
            "insecure",
            &[
                k6_insecure,
                "OTEL_EXPORTER_OTLP_METRICS_INSECURE",
                "OTEL_EXPORTER_OTLP_INSECURE",
            ],
            false,
        )?;
        let url_path = o.get_or(
            "urlPath",
            &["K6_OTEL_HTTP_EXPORTER_URL_PATH"],
            "/v1/metrics",
        );
        // (text, whether the text is the whole URL rather than a base to append the path to)
        let (text, full) = if let Some(v) = o.get("endpoint", &[k6_endpoint]) {
            (v, false)
        } else if let Some(v) = env(&o, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
            (v, true)
        } else if let Some(v) = env(&o, "OTEL_EXPORTER_OTLP_ENDPOINT") {
            (v, false)
        } else if grpc {
            (DEFAULT_GRPC.to_string(), false)
        } else {
            (DEFAULT_HTTP.to_string(), false)
        };
        let url = endpoint_url(&text, full, insecure, grpc, &url_path)?;

        let mut headers = Vec::new();
        for var in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ] {
            if let Some(h) = env(&o, var) {
                merge_headers(&mut headers, parse_headers(&h, var)?);
            }
        }
        if let Some(h) = o.get("headers", &["K6_OTEL_HEADERS"]) {
            merge_headers(&mut headers, parse_headers(&h, "headers")?);
        }
        let username = o.get("username", &["K6_OTEL_HTTP_EXPORTER_USERNAME"]);
        let password = o.get("password", &["K6_OTEL_HTTP_EXPORTER_PASSWORD"]);
        if username.is_some() || password.is_some() {
            let auth = loadrun_http_support::basic_auth_header(
                username.as_deref().unwrap_or(""),
                password.as_deref().unwrap_or(""),
            );
            merge_headers(&mut headers, vec![("Authorization".into(), auth)]);
        }
        if grpc {
            for (k, v) in &headers {
                let ok_name =
                    http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).is_ok();
                if !ok_name || http::HeaderValue::from_str(v).is_err() {
                    return Err(PluginError::new(format!(
                        "opentelemetry: header {k:?} is not a valid HTTP/2 header"
                    )));
                }
            }
        }

        let path = |name: &str, vars: &[&str]| o.get(name, vars).map(PathBuf::from);
        let tls = TlsOptions {
            insecure_skip_verify: o.get_bool(
                "tlsInsecureSkipVerify",
                &["K6_OTEL_TLS_INSECURE_SKIP_VERIFY"],
                false,
            )?,
            ca_file: path(
                "tlsCertificate",
                &[
                    "K6_OTEL_TLS_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_CERTIFICATE",
                ],
            ),
            client_cert: path(
                "tlsClientCertificate",
                &[
                    "K6_OTEL_TLS_CLIENT_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                ],
            ),
            client_key: path(
                "tlsClientKey",
                &[
                    "K6_OTEL_TLS_CLIENT_KEY",
                    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
                    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                ],
            ),
            ..TlsOptions::default()
        };
        if tls.client_cert.is_some() != tls.client_key.is_some() {
            return Err(PluginError::new(
                "opentelemetry: tlsClientCertificate and tlsClientKey go together",
            ));
        }

        let timeout = o.get_duration(
            "timeout",
            &[
                "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
                "OTEL_EXPORTER_OTLP_TIMEOUT",
            ],
            Duration::from_secs(10),
        )?;
        if timeout.is_zero() {
            return Err(invalid("timeout", "0", "a duration above zero"));
        }
        let compression = o.get_or(
            "compression",
            &[
                "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
                "OTEL_EXPORTER_OTLP_COMPRESSION",
            ],
            "gzip",
        );
        let gzip = match compression.trim().to_ascii_lowercase().as_str() {
            "gzip" => true,
            "none" | "" => false,
            _ => return Err(invalid("compression", &compression, "gzip or none")),
        };

        let export_interval = o.get_duration(
            "exportInterval",
            &["K6_OTEL_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL"],
            Duration::from_secs(10),
        )?;
        if export_interval < Duration::from_millis(1) {
            return Err(invalid(
                "exportInterval",
                &format!("{export_interval:?}"),
                "at least 1ms",
            ));
        }
        // Validated for k6 compatibility; samples are aggregated as they arrive, so there is
        // no second buffer to flush.
        o.get_duration(
            "flushInterval",
            &["K6_OTEL_FLUSH_INTERVAL"],
            Duration::from_secs(1),
        )?;

        let metric_prefix = o.get_or("metricPrefix", &["K6_OTEL_METRIC_PREFIX"], "");

        let temporality_text = o.get_or(
            "temporality",
            &["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"],
            "cumulative",
        );
        let temporality = match temporality_text.trim().to_ascii_lowercase().as_str() {
            "cumulative" => Temporality::Cumulative,
            // lowmemory is delta for counters and histograms, which is all this output sends
            // besides gauges (which have no temporality).
            "delta" | "lowmemory" => Temporality::Delta,
            _ => {
                return Err(invalid(
                    "temporality",
                    &temporality_text,
                    "cumulative or delta",
                ))
            }
        };

        let hist_text = o.get_or(
            "histogram",
            &["OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"],
            "exponential",
        );
        let histogram = match hist_text.trim().to_ascii_lowercase().as_str() {
            "exponential" | "base2_exponential_bucket_histogram" => {
                let max_scale = o.get_u64("histogramMaxScale", &[], 5)?;
                if max_scale > 20 {
                    return Err(invalid(
                        "histogramMaxScale",
                        &max_scale.to_string(),
                        "0 to 20",
                    ));
                }
                let max_buckets = o.get_u64("histogramMaxBuckets", &[], 320)?;
                if !(2..=16384).contains(&max_buckets) {
                    return Err(invalid(
                        "histogramMaxBuckets",
                        &max_buckets.to_string(),
                        "2 to 16384",
                    ));
                }
                HistogramMode::Exponential {
                    max_scale: max_scale as i32,
                    max_buckets: max_buckets as usize,
                }
            }
            "explicit" | "explicit_bucket_histogram" => HistogramMode::Explicit {
                time: buckets(&o, "timeBuckets", TIME_BOUNDS)?,
                data: buckets(&o, "dataBuckets", DATA_BOUNDS)?,
                default: buckets(&o, "defaultBuckets", SDK_DEFAULT_BOUNDS)?,
            },
            _ => return Err(invalid("histogram", &hist_text, "exponential or explicit")),
        };

        let single_counter_for_rate = o.get_bool(
            "singleCounterForRate",
            &["K6_OTEL_SINGLE_COUNTER_FOR_RATE"],
            true,
        )?;
        let metadata = match o.get("metadataAttributes", &[]) {
            None => MetadataAttrs::None,
            Some(v) => match loadrun_plugin_api::options::parse_bool(&v) {
                Some(true) => MetadataAttrs::All,
                Some(false) => MetadataAttrs::None,
                None => MetadataAttrs::Some(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                ),
            },
        };
        let max_points_per_request = o.get_u64("maxPointsPerRequest", &[], 5000)?;
        if max_points_per_request == 0 {
            return Err(invalid("maxPointsPerRequest", "0", "at least 1"));
        }

        let mut resource: Vec<(String, String)> = Vec::new();
        if let Some(attrs) = o.get("resourceAttributes", &["OTEL_RESOURCE_ATTRIBUTES"]) {
            for (k, v) in parse_pairs(&attrs, "resourceAttributes")? {
                set(&mut resource, &k, v);
            }
        }
        let service_name = o
            .get(
                "serviceName",
                &["K6_OTEL_SERVICE_NAME", "OTEL_SERVICE_NAME"],
            )
            .or_else(|| {
                resource
                    .iter()
                    .find(|(k, _)| k == "service.name")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| "k6".into());
        let service_version = o
            .get("serviceVersion", &["K6_OTEL_SERVICE_VERSION"])
            .or_else(|| {
                resource
                    .iter()
                    .find(|(k, _)| k == "service.version")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").into());
        set(&mut resource, "service.name", service_name);
        set(&mut resource, "service.version", service_version);
        let test_id = init.test.test_id.to_string();
        if !test_id.is_empty() {
            set(&mut resource, "loadrun.test_id", test_id);
        }
        set(&mut resource, "telemetry.sdk.language", "rust".into());
        set(&mut resource, "telemetry.sdk.name", "loadrun".into());
        set(
            &mut resource,
            "telemetry.sdk.version",
            env!("CARGO_PKG_VERSION").into(),
        );

        if export_interval > Duration::from_secs(60) {
            warnings.push(format!(
                "exportInterval is {export_interval:?}: dashboards will see one point per interval"
            ));
        }

        Ok(Config {
            protocol,
            url,
            headers,
            tls,
            timeout,
            gzip,
            export_interval,
            metric_prefix,
            temporality,
            histogram,
            single_counter_for_rate,
            metadata,
            resource,
            max_points_per_request: max_points_per_request as usize,
            warnings,
        })
    }

    /// The endpoint as it may be shown.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.url)
    }
}

fn set(list: &mut Vec<(String, String)>, key: &str, value: String) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => list.push((key.to_string(), value)),
    }
}

/// Builds the target URL. k6 takes `host:port` (its HTTP exporter even rejects a scheme) and
/// picks TLS unless `insecure`; the OTEL_ variables take URLs. Both are accepted here.
fn endpoint_url(
    text: &str,
    full: bool,
    insecure: bool,
    grpc: bool,
    url_path: &str,
) -> Result<Url, PluginError> {
    let text = text.trim();
    let shown = Endpoint::from_text(text);
    let bad = |why: &str| {
        PluginError::new(format!(
            "opentelemetry: endpoint {:?} is not valid: {why}",
            shown.as_str()
        ))
    };
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("{}://{text}", if insecure { "http" } else { "https" })
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if grpc {
        // gRPC addresses the service by its method path; a path in the endpoint is ignored.
        url.set_path("");
        url.set_query(None);
    } else if !full {
        let base = url.path().trim_end_matches('/').to_string();
        let suffix = if url_path.starts_with('/') {
            url_path.to_string()
        } else {
            format!("/{url_path}")
        };
        url.set_path(&format!("{base}{suffix}"));
    }
    Ok(url)
}

/// `k1=v1,k2=v2`, keys and values percent-decoded (the OTel spec's format, also k6's). In a
/// `-o` argument the pairs may be separated by `;` as well, since `,` separates options there.
fn parse_pairs(text: &str, what: &str) -> Result<Vec<(String, String)>, PluginError> {
    let mut out = Vec::new();
    for piece in text.split([',', ';']) {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let Some((k, v)) = piece.split_once('=') else {
            // The piece is not shown: it may be a token pasted without its key.
            return Err(PluginError::new(format!(
                "opentelemetry: {what}: an entry is not key=value"
            )));
        };
        out.push((percent_decode(k.trim()), percent_decode(v.trim())));
    }
    Ok(out)
}

fn parse_headers(text: &str, what: &str) -> Result<Vec<(String, String)>, PluginError> {
    let pairs = parse_pairs(text, what)?;
    for (k, _) in &pairs {
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b))
        {
            return Err(PluginError::new(format!(
                "opentelemetry: {what}: {k:?} is not a valid header name"
            )));
        }
    }
    Ok(pairs)
}

fn merge_headers(into: &mut Vec<(String, String)>, from: Vec<(String, String)>) {
    for (k, v) in from {
        into.retain(|(old, _)| !old.eq_ignore_ascii_case(&k));
        into.push((k, v));
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn buckets(
    o: &loadrun_plugin_api::Options,
    name: &str,
    default: &[f64],
) -> Result<Vec<f64>, PluginError> {
    let Some(list) = o.get_list(name, &[]) else {
        return Ok(default.to_vec());
    };
    let mut out = Vec::with_capacity(list.len());
    for item in &list {
        let v: f64 = item
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| invalid(name, item, "a comma-separated list of numbers"))?;
        if out.last().is_some_and(|last| *last >= v) {
            return Err(invalid(name, &list.join(","), "strictly increasing bounds"));
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err(invalid(name, "", "at least one bound"));
    }
    Ok(out)
}

/// What `loadrun plugins info` shows.
pub fn option_docs() -> Vec<OptionDoc> {
    let d = |name: &str, env: &str, default: &str, description: &str, secret: bool| OptionDoc {
        name: name.into(),
        env: env.into(),
        default: default.into(),
        description: description.into(),
        secret,
    };
    vec![
        d("protocol", "K6_OTEL_EXPORTER_PROTOCOL,K6_OTEL_EXPORTER_TYPE,OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "http/protobuf or grpc", false),
        d("endpoint", "K6_OTEL_HTTP_EXPORTER_ENDPOINT,K6_OTEL_GRPC_EXPORTER_ENDPOINT,OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318 (grpc: http://localhost:4317)", "URL or host:port (host:port means https unless insecure=true)", false),
        d("insecure", "K6_OTEL_HTTP_EXPORTER_INSECURE,K6_OTEL_GRPC_EXPORTER_INSECURE,OTEL_EXPORTER_OTLP_INSECURE", "false", "plaintext for a host:port endpoint", false),
        d("urlPath", "K6_OTEL_HTTP_EXPORTER_URL_PATH", "/v1/metrics", "path appended to the HTTP endpoint", false),
        d("headers", "K6_OTEL_HEADERS,OTEL_EXPORTER_OTLP_HEADERS,OTEL_EXPORTER_OTLP_METRICS_HEADERS", "", "k1=v1;k2=v2 (URL-escaped; `,` works in env)", true),
        d("username", "K6_OTEL_HTTP_EXPORTER_USERNAME", "", "HTTP Basic user", false),
        d("password", "K6_OTEL_HTTP_EXPORTER_PASSWORD", "", "HTTP Basic password", true),
        d("tlsInsecureSkipVerify", "K6_OTEL_TLS_INSECURE_SKIP_VERIFY", "false", "accept any server certificate", false),
        d("tlsCertificate", "K6_OTEL_TLS_CERTIFICATE,OTEL_EXPORTER_OTLP_CERTIFICATE", "", "PEM CA file to trust", false),
        d("tlsClientCertificate", "K6_OTEL_TLS_CLIENT_CERTIFICATE,OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "", "PEM client certificate (mutual TLS)", false),
        d("tlsClientKey", "K6_OTEL_TLS_CLIENT_KEY,OTEL_EXPORTER_OTLP_CLIENT_KEY", "", "PEM client key", false),
        d("timeout", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "per request (a bare number is ms)", false),
        d("compression", "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", "gzip or none", false),
        d("exportInterval", "K6_OTEL_EXPORT_INTERVAL,OTEL_METRIC_EXPORT_INTERVAL", "10s", "how often data points are exported", false),
        d("flushInterval", "K6_OTEL_FLUSH_INTERVAL", "1s", "accepted for k6 compatibility; samples are aggregated as they arrive", false),
        d("metricPrefix", "K6_OTEL_METRIC_PREFIX", "", "prepended to every metric name (k6's docs use k6_)", false),
        d("serviceName", "K6_OTEL_SERVICE_NAME,OTEL_SERVICE_NAME", "k6", "resource attribute service.name", false),
        d("serviceVersion", "K6_OTEL_SERVICE_VERSION", "the plugin version", "resource attribute service.version", false),
        d("resourceAttributes", "OTEL_RESOURCE_ATTRIBUTES", "", "extra resource attributes k=v;k2=v2", false),
        d("temporality", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "cumulative", "cumulative or delta", false),
        d("histogram", "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "exponential", "trend aggregation: exponential or explicit", false),
        d("histogramMaxScale", "", "5", "exponential: starting scale (5 = buckets within ±1.1%)", false),
        d("histogramMaxBuckets", "", "320", "exponential: most buckets per sign before the scale is lowered", false),
        d("timeBuckets", "", "0.1,0.25,…,60000", "explicit: bounds for time trends (ms)", false),
        d("dataBuckets", "", "64,256,…,16777216", "explicit: bounds for data trends (bytes)", false),
        d("defaultBuckets", "", "the OTel SDK defaults", "explicit: bounds for other trends", false),
        d("singleCounterForRate", "K6_OTEL_SINGLE_COUNTER_FOR_RATE", "true", "rates as one counter with condition=zero|nonzero (false: <name>.occurred and <name>.total)", false),
        d("metadataAttributes", "", "", "metadata keys (vu, iter) sent as attributes, or true for all", false),
        d("maxPointsPerRequest", "", "5000", "data points per export request", false),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::init;

    fn cfg(arg: Option<&str>, env: &[(&str, &str)]) -> Result<Config, PluginError> {
        Config::from_init(&init("opentelemetry", arg, "{}", env))
    }

    #[test]
    fn defaults() {
        let c = cfg(None, &[]).unwrap();
        assert_eq!(c.protocol, Protocol::HttpProtobuf);
        assert_eq!(c.url.as_str(), "http://localhost:4318/v1/metrics");
        assert_eq!(c.temporality, Temporality::Cumulative);
        assert!(matches!(
            c.histogram,
            HistogramMode::Exponential { max_scale: 5, .. }
        ));
        assert!(c.resource.contains(&("service.name".into(), "k6".into())));
        assert!(c
            .resource
            .contains(&("loadrun.test_id".into(), "test-run-1".into())));
    }

    #[test]
    fn k6_variables() {
        let c = cfg(
            None,
            &[
                ("K6_OTEL_EXPORTER_TYPE", "grpc"),
                ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", "collector:4317"),
                ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"),
                ("K6_OTEL_HEADERS", "X-Api-Key=abc,Other=a%20b"),
                ("K6_OTEL_SERVICE_NAME", "svc"),
                ("K6_OTEL_METRIC_PREFIX", "k6_"),
                ("K6_OTEL_EXPORT_INTERVAL", "2s"),
            ],
        )
        .unwrap();
        assert_eq!(c.protocol, Protocol::Grpc);
        assert_eq!(c.url.as_str(), "http://collector:4317/");
        assert_eq!(
            c.headers,
            vec![
                ("X-Api-Key".into(), "abc".into()),
                ("Other".into(), "a b".into())
            ]
        );
        assert_eq!(c.metric_prefix, "k6_");
        assert_eq!(c.export_interval, Duration::from_secs(2));
        assert!(c.resource.contains(&("service.name".into(), "svc".into())));

        let c = cfg(
            None,
            &[
                ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", "collector:4318"),
                ("K6_OTEL_HTTP_EXPORTER_URL_PATH", "/otlp/v1/metrics"),
            ],
        )
        .unwrap();
        assert_eq!(c.url.as_str(), "https://collector:4318/otlp/v1/metrics");
    }

    #[test]
    fn standard_variables() {
        let c = cfg(
            None,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/base/"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment=ci,service.name=x",
                ),
                ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
            ],
        )
        .unwrap();
        assert_eq!(c.url.as_str(), "http://c:4318/base/v1/metrics");
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert!(!c.gzip);
        assert_eq!(c.temporality, Temporality::Delta);
        assert!(c.resource.contains(&("service.name".into(), "x".into())));
        assert!(c
            .resource
            .contains(&("deployment.environment".into(), "ci".into())));
        let c = cfg(
            None,
            &[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://c:9/exact")],
        )
        .unwrap();
        assert_eq!(c.url.as_str(), "http://c:9/exact");
        // the -o argument beats the environment
        let c = cfg(
            Some("endpoint=http://a:1,headers=x=1;y=2"),
            &[
                ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", "b:2"),
                ("K6_OTEL_HEADERS", "z=3"),
            ],
        )
        .unwrap();
        assert_eq!(c.url.as_str(), "http://a:1/v1/metrics");
        assert_eq!(c.headers.len(), 2);
    }

    #[test]
    fn explicit_buckets_and_errors() {
        let c = cfg(Some("histogram=explicit,timeBuckets=1,2,3"), &[]).unwrap();
        match c.histogram {
            HistogramMode::Explicit { time, default, .. } => {
                assert_eq!(time, vec![1.0, 2.0, 3.0]);
                assert_eq!(default, SDK_DEFAULT_BOUNDS.to_vec());
            }
            other => panic!("{other:?}"),
        }
        for (arg, expect) in [
            ("histogram=explicit,timeBuckets=3,2", "timeBuckets"),
            ("protocol=http/json", "protocol"),
            ("protocol=smoke", "protocol"),
            ("endpoint=ftp://x", "endpoint"),
            ("temporality=sometimes", "temporality"),
            ("colour=blue", "colour"),
            ("compression=zstd", "compression"),
        ] {
            let e = cfg(Some(arg), &[]).err().unwrap().to_string();
            assert!(e.contains(expect), "{arg}: {e}");
        }
        let e = cfg(None, &[("K6_OTEL_HEADERS", "novalue-secret")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("key=value"), "{e}");
    }
}
