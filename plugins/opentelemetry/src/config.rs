//! Options: loadrun's camelCase names, k6's `K6_OTEL_*` variables and the standard
//! `OTEL_EXPORTER_OTLP_*` ones (the K6 names win, as in k6). Declared once in [`OUTPUT`].
//!
//! Three things the declaration cannot say are done in [`Config::from_init`]: k6 picks the
//! endpoint and insecure variables by protocol (`K6_OTEL_GRPC_EXPORTER_*` or
//! `K6_OTEL_HTTP_EXPORTER_*`); the standard endpoint variables rank below the plan table (the
//! OTel SDK's own defaults, which k6's config overrides) and the headers ones merge per header;
//! the word options are case-insensitive and have synonyms (`http`, `lowmemory`), as in OTel.

use std::path::PathBuf;
use std::time::Duration;

use loadrun_http_support::{Endpoint, TlsOptions, Url};
use loadrun_plugin_api::options::parse_bool;
use loadrun_plugin_api::values::RawOptions;
use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret, Values,
};

use crate::histogram::{DATA_BOUNDS, SDK_DEFAULT_BOUNDS, TIME_BOUNDS};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("protocol", Kind::Str)
        .env(&[
            "K6_OTEL_EXPORTER_PROTOCOL",
            "K6_OTEL_EXPORTER_TYPE",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ])
        .default("http/protobuf")
        .doc("http/protobuf (or http) or grpc"),
    OptionSpec::new("endpoint", Kind::Str).doc(
        "URL or host:port (https unless insecure=true); default http://localhost:4318 (grpc: \
         :4317); env K6_OTEL_HTTP_EXPORTER_ENDPOINT or K6_OTEL_GRPC_EXPORTER_ENDPOINT by \
         protocol, then below the plan OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (the whole URL), \
         OTEL_EXPORTER_OTLP_ENDPOINT",
    ),
    OptionSpec::new("insecure", Kind::Bool)
        .env(&[
            "OTEL_EXPORTER_OTLP_METRICS_INSECURE",
            "OTEL_EXPORTER_OTLP_INSECURE",
        ])
        .default("false")
        .doc(
            "plaintext for a host:port endpoint; K6_OTEL_HTTP_EXPORTER_INSECURE or \
             K6_OTEL_GRPC_EXPORTER_INSECURE (by protocol) come first",
        ),
    OptionSpec::new("urlPath", Kind::Str)
        .env(&["K6_OTEL_HTTP_EXPORTER_URL_PATH"])
        .default("/v1/metrics")
        .doc("path appended to the HTTP endpoint"),
    OptionSpec::new("headers", Kind::Str)
        .env(&["K6_OTEL_HEADERS"])
        .secret()
        .doc(
            "k1=v1;k2=v2 (URL-escaped; `,` works in env), over OTEL_EXPORTER_OTLP_HEADERS and \
             OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ),
    OptionSpec::new("username", Kind::Str)
        .env(&["K6_OTEL_HTTP_EXPORTER_USERNAME"])
        .doc("HTTP Basic user"),
    OptionSpec::new("password", Kind::Str)
        .env(&["K6_OTEL_HTTP_EXPORTER_PASSWORD"])
        .secret()
        .doc("HTTP Basic password"),
    OptionSpec::new("tlsInsecureSkipVerify", Kind::Bool)
        .env(&["K6_OTEL_TLS_INSECURE_SKIP_VERIFY"])
        .default("false")
        .doc("accept any server certificate"),
    OptionSpec::new("tlsCertificate", Kind::Str)
        .env(&[
            "K6_OTEL_TLS_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
        ])
        .doc("PEM CA file to trust"),
    OptionSpec::new("tlsClientCertificate", Kind::Str)
        .env(&[
            "K6_OTEL_TLS_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        ])
        .doc("PEM client certificate (mutual TLS)"),
    OptionSpec::new("tlsClientKey", Kind::Str)
        .env(&[
            "K6_OTEL_TLS_CLIENT_KEY",
            "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        ])
        .doc("PEM client key"),
    OptionSpec::new("timeout", Kind::Duration)
        .env(&[
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ])
        .default("10s")
        .nonzero()
        .doc("per request (a bare number is ms)"),
    OptionSpec::new("compression", Kind::Str)
        .env(&[
            "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
            "OTEL_EXPORTER_OTLP_COMPRESSION",
        ])
        .default("gzip")
        .doc("gzip or none"),
    OptionSpec::new("exportInterval", Kind::Duration)
        .env(&["K6_OTEL_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL"])
        .default("10s")
        .doc("how often data points are exported (at least 1ms)"),
    // Checked for k6 compatibility; samples are aggregated as they arrive, so there is no second
    // buffer to flush.
    OptionSpec::new("flushInterval", Kind::Duration)
        .env(&["K6_OTEL_FLUSH_INTERVAL"])
        .default("1s")
        .doc("accepted for k6 compatibility; samples are aggregated as they arrive"),
    OptionSpec::new("metricPrefix", Kind::Str)
        .env(&["K6_OTEL_METRIC_PREFIX"])
        .default("")
        .doc("prepended to every metric name (k6's docs use k6_)"),
    OptionSpec::new("serviceName", Kind::Str)
        .env(&["K6_OTEL_SERVICE_NAME", "OTEL_SERVICE_NAME"])
        .doc("resource attribute service.name; default: resourceAttributes' service.name, else k6"),
    OptionSpec::new("serviceVersion", Kind::Str)
        .env(&["K6_OTEL_SERVICE_VERSION"])
        .doc(
            "resource attribute service.version; default: resourceAttributes' service.version, \
             else the plugin version",
        ),
    OptionSpec::new("resourceAttributes", Kind::Str)
        .env(&["OTEL_RESOURCE_ATTRIBUTES"])
        .doc("extra resource attributes k=v;k2=v2"),
    OptionSpec::new("temporality", Kind::Str)
        .env(&["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"])
        .default("cumulative")
        .doc("cumulative or delta (lowmemory is delta)"),
    OptionSpec::new("histogram", Kind::Str)
        .env(&["OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"])
        .default("exponential")
        .doc("trend aggregation: exponential or explicit"),
    OptionSpec::new("histogramMaxScale", Kind::Int { min: 0, max: 20 })
        .default("5")
        .doc("exponential: starting scale (5 = buckets within ±1.1%)"),
    OptionSpec::new("histogramMaxBuckets", Kind::Int { min: 2, max: 16384 })
        .default("320")
        .doc("exponential: most buckets per sign before the scale is lowered"),
    OptionSpec::new("timeBuckets", Kind::List(','))
        .doc("explicit: increasing bounds for time trends (ms); default 0.1,0.25,…,60000"),
    OptionSpec::new("dataBuckets", Kind::List(','))
        .doc("explicit: increasing bounds for data trends (bytes); default 64,256,…,16777216"),
    OptionSpec::new("defaultBuckets", Kind::List(','))
        .doc("explicit: increasing bounds for other trends; default the OTel SDK's"),
    OptionSpec::new("singleCounterForRate", Kind::Bool)
        .env(&["K6_OTEL_SINGLE_COUNTER_FOR_RATE"])
        .default("true")
        .doc(
            "rates as one counter with condition=zero|nonzero (false: <name>.occurred and \
             <name>.total)",
        ),
    OptionSpec::new("metadataAttributes", Kind::List(','))
        .doc("metadata keys (vu, iter) sent as attributes, or true for all"),
    OptionSpec::new(
        "maxPointsPerRequest",
        Kind::Int {
            min: 1,
            max: i64::MAX,
        },
    )
    .default("5000")
    .doc("data points per export request"),
];

/// The opentelemetry output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput =
    DeclaredOutput::new("opentelemetry", &["experimental-opentelemetry"])
        .describe("OpenTelemetry metrics over OTLP/HTTP (protobuf) or OTLP/gRPC")
        .options(OPTIONS)
        .positional(Positional::None);

const DEFAULT_HTTP: &str = "http://localhost:4318";
const DEFAULT_GRPC: &str = "http://localhost:4317";

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

#[derive(Clone)]
pub struct Config {
    pub protocol: Protocol,
    /// HTTP: the full URL requests go to. gRPC: `scheme://host:port`.
    pub url: Url,
    /// Extra request headers (names lowercased for gRPC at send time).
    pub headers: Vec<(String, Secret)>,
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

// By hand: the URL may carry a password (`http://user:pass@host`), shown here as `Endpoint` does.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("protocol", &self.protocol)
            .field("url", &self.endpoint())
            .field("headers", &self.headers)
            .field("temporality", &self.temporality)
            .field("histogram", &self.histogram)
            .finish_non_exhaustive()
    }
}

fn invalid(what: &str, value: &str, expected: &str) -> PluginError {
    PluginError::new(format!(
        "opentelemetry: option {what}={value:?} is not valid: expected {expected}"
    ))
}

/// A word option: any ASCII case, synonyms allowed (OTel's variables are case-insensitive,
/// which `Kind::Enum` cannot say).
fn word<T: Copy>(
    v: &Values,
    name: &str,
    words: &[(&str, T)],
    expected: &str,
) -> Result<T, PluginError> {
    let text = v.string(name)?;
    let key = text.trim().to_ascii_lowercase();
    words
        .iter()
        .find(|(w, _)| *w == key)
        .map(|(_, t)| *t)
        .ok_or_else(|| invalid(name, &text, expected))
}

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        let nonblank = |var: &str| {
            init.env_var(var)
                .filter(|t| !t.trim().is_empty())
                .map(str::to_string)
        };
        let protocol = word(
            &v,
            "protocol",
            &[
                ("http/protobuf", Protocol::HttpProtobuf),
                ("http", Protocol::HttpProtobuf),
                ("grpc", Protocol::Grpc),
            ],
            "http/protobuf or grpc (not http/json: protobuf is smaller and every receiver takes it)",
        )?;
        let grpc = protocol == Protocol::Grpc;

        // k6's variable of the chosen protocol ranks just below the `-o` argument, so the
        // argument is read alone to know what it sets.
        let arg = Values::resolve(
            &OUTPUT,
            &RawOptions {
                output: v.output().to_string(),
                arg: init.arg().map(str::to_string),
                ..RawOptions::default()
            },
        )?;
        let by_protocol = |name: &str, what: &str| {
            let var = format!(
                "K6_OTEL_{}_EXPORTER_{what}",
                if grpc { "GRPC" } else { "HTTP" }
            );
            let value = init.env_var(&var).filter(|_| !arg.is_set(name));
            value.map(|t| (var, t.to_string()))
        };
        let insecure = match by_protocol("insecure", "INSECURE") {
            Some((var, t)) => parse_bool(&t)
                .ok_or_else(|| invalid(&format!("insecure (env {var})"), &t, "true or false"))?,
            None => v.bool("insecure")?,
        };
        // (text, whether the text is the whole URL rather than a base to append the path to)
        let (text, full) = match by_protocol("endpoint", "ENDPOINT")
            .map(|(_, t)| t)
            .or(v.opt("endpoint")?)
        {
            Some(t) => (t, false),
            None => match nonblank("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
                Some(t) => (t, true),
                None => (
                    nonblank("OTEL_EXPORTER_OTLP_ENDPOINT")
                        .unwrap_or_else(|| (if grpc { DEFAULT_GRPC } else { DEFAULT_HTTP }).into()),
                    false,
                ),
            },
        };
        let url = endpoint_url(&text, full, insecure, grpc, &v.string("urlPath")?)?;

        let mut headers = Vec::new();
        for var in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ] {
            if let Some(h) = nonblank(var) {
                merge_headers(&mut headers, parse_headers(&h, var)?);
            }
        }
        if let Some(h) = v.secret("headers")? {
            merge_headers(&mut headers, parse_headers(h.expose(), "headers")?);
        }
        let username: Option<String> = v.opt("username")?;
        let password = v.secret("password")?;
        if username.is_some() || password.is_some() {
            let auth = loadrun_http_support::basic_auth_header(
                username.as_deref().unwrap_or(""),
                password.as_ref().map_or("", Secret::expose),
            );
            merge_headers(&mut headers, vec![("Authorization".into(), auth)]);
        }

        let path = |name: &str| v.opt::<String>(name).map(|p| p.map(PathBuf::from));
        let tls = TlsOptions {
            insecure_skip_verify: v.bool("tlsInsecureSkipVerify")?,
            ca_file: path("tlsCertificate")?,
            client_cert: path("tlsClientCertificate")?,
            client_key: path("tlsClientKey")?,
            ..TlsOptions::default()
        };
        if tls.client_cert.is_some() != tls.client_key.is_some() {
            return Err(PluginError::new(
                "opentelemetry: tlsClientCertificate and tlsClientKey go together",
            ));
        }

        let export_interval = v.duration("exportInterval")?;
        if export_interval < Duration::from_millis(1) {
            return Err(invalid(
                "exportInterval",
                &format!("{export_interval:?}"),
                "at least 1ms",
            ));
        }
        let histogram = if word(
            &v,
            "histogram",
            &[
                ("exponential", false),
                ("base2_exponential_bucket_histogram", false),
                ("explicit", true),
                ("explicit_bucket_histogram", true),
            ],
            "exponential or explicit",
        )? {
            HistogramMode::Explicit {
                time: buckets(&v, "timeBuckets", TIME_BOUNDS)?,
                data: buckets(&v, "dataBuckets", DATA_BOUNDS)?,
                default: buckets(&v, "defaultBuckets", SDK_DEFAULT_BOUNDS)?,
            }
        } else {
            HistogramMode::Exponential {
                max_scale: v.int("histogramMaxScale")? as i32, // 0 to 20, declared
                max_buckets: v.get("histogramMaxBuckets")?,
            }
        };
        let metadata = match v.opt::<Vec<String>>("metadataAttributes")? {
            None => MetadataAttrs::None,
            Some(keys) => match keys.as_slice() {
                [one] if parse_bool(one) == Some(true) => MetadataAttrs::All,
                [one] if parse_bool(one) == Some(false) => MetadataAttrs::None,
                _ => MetadataAttrs::Some(keys),
            },
        };

        let mut resource: Vec<(String, String)> = Vec::new();
        if let Some(attrs) = v.opt::<String>("resourceAttributes")? {
            for (k, val) in parse_pairs(&attrs, "resourceAttributes")? {
                set(&mut resource, &k, val);
            }
        }
        let from_resource = |key: &str| {
            resource
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, val)| val.clone())
        };
        let service_name = v
            .opt("serviceName")?
            .or_else(|| from_resource("service.name"))
            .unwrap_or_else(|| "k6".into());
        let service_version = v
            .opt("serviceVersion")?
            .or_else(|| from_resource("service.version"))
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

        let mut warnings = Vec::new();
        if export_interval > Duration::from_secs(60) {
            warnings.push(format!(
                "exportInterval is {export_interval:?}: dashboards will see one point per interval"
            ));
        }

        Ok(Config {
            protocol,
            url,
            headers: headers
                .into_iter()
                .map(|(k, val)| (k, Secret::new(val)))
                .collect(),
            tls,
            timeout: v.duration("timeout")?,
            gzip: word(
                &v,
                "compression",
                &[("gzip", true), ("none", false), ("", false)],
                "gzip or none",
            )?,
            export_interval,
            metric_prefix: v.string("metricPrefix")?,
            temporality: word(
                &v,
                "temporality",
                &[
                    ("cumulative", Temporality::Cumulative),
                    ("delta", Temporality::Delta),
                    // lowmemory is delta for counters and histograms, which is all this
                    // output sends besides gauges (which have no temporality).
                    ("lowmemory", Temporality::Delta),
                ],
                "cumulative or delta",
            )?,
            histogram,
            single_counter_for_rate: v.bool("singleCounterForRate")?,
            metadata,
            resource,
            max_points_per_request: v.get("maxPointsPerRequest")?,
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
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A list of strictly increasing finite bounds (the kind declares a list, not its items).
fn buckets(v: &Values, name: &str, default: &[f64]) -> Result<Vec<f64>, PluginError> {
    let Some(list) = v.opt::<Vec<String>>(name)? else {
        return Ok(default.to_vec());
    };
    let mut out = Vec::with_capacity(list.len());
    for item in &list {
        let b: f64 = item
            .parse()
            .ok()
            .filter(|b: &f64| b.is_finite())
            .ok_or_else(|| invalid(name, item, "a comma-separated list of numbers"))?;
        if out.last().is_some_and(|last| *last >= b) {
            return Err(invalid(name, &list.join(","), "strictly increasing bounds"));
        }
        out.push(b);
    }
    if out.is_empty() {
        return Err(invalid(name, "", "at least one bound"));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::init;

    fn cfg(arg: Option<&str>, env: &[(&str, &str)]) -> Result<Config, PluginError> {
        Config::from_init(&init("opentelemetry", arg, "{}", env))
    }

    /// Under an older host (`host` false) the plugin checks the options itself; a 1.3 host
    /// hands them over checked, in `extra`, without their sources.
    fn built(
        host: bool,
        arg: Option<&str>,
        table: &str,
        env: &[(&str, &str)],
    ) -> Result<Config, PluginError> {
        let mut i = init("opentelemetry", arg, table, env);
        if host {
            let raw = loadrun_plugin_api::values::RawOptions::from_init(&i)?;
            let checked = Values::resolve(&OUTPUT, &raw)?.to_json();
            i.extra = serde_json::json!({ "options": checked }).to_string().into();
        }
        Config::from_init(&i)
    }

    #[test]
    fn k6_variables_follow_the_protocol_and_rank_below_the_argument() {
        for host in [false, true] {
            let c = |arg, table, env| built(host, arg, table, env).unwrap().url.to_string();
            let grpc_env = [
                ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", "g:1"),
                ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"),
            ];
            assert_eq!(c(None, "", &grpc_env), "http://localhost:4318/v1/metrics");
            assert_eq!(c(Some("protocol=grpc"), "", &grpc_env), "http://g:1/");
            let plan = r#"{"endpoint":"http://p:2","insecure":false}"#;
            assert_eq!(c(Some("protocol=grpc"), plan, &grpc_env), "http://g:1/");
            let arg = Some("protocol=grpc,endpoint=a:3,insecure=false");
            assert_eq!(c(arg, plan, &grpc_env), "https://a:3/");
            // The standard variables rank below the plan, as k6's config overrides them.
            let std_env = [("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:4/x")];
            assert_eq!(c(None, plan, &std_env), "http://p:2/v1/metrics");
            assert_eq!(c(None, "", &std_env), "http://m:4/x");
            let e = built(
                host,
                None,
                "",
                &[("K6_OTEL_HTTP_EXPORTER_INSECURE", "maybe")],
            )
            .err()
            .unwrap()
            .to_string();
            assert!(e.contains("K6_OTEL_HTTP_EXPORTER_INSECURE"), "{e}");
        }
    }

    #[test]
    fn words_in_any_case_and_headers_never_shown() {
        for host in [false, true] {
            let arg =
                Some("protocol=GRPC,temporality=LowMemory,compression=NONE,histogram=Explicit");
            let env = [(
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20tok123",
            )];
            let c = built(host, arg, "", &env).unwrap();
            assert_eq!(c.protocol, Protocol::Grpc);
            assert_eq!(c.temporality, Temporality::Delta);
            assert!(!c.gzip);
            assert!(matches!(c.histogram, HistogramMode::Explicit { .. }));
            assert_eq!(c.headers[0].1.expose(), "Bearer tok123");
            assert!(!format!("{c:?}").contains("tok123"));
            let c = built(host, Some("endpoint=http://u:pw987@h:1"), "", &[]).unwrap();
            assert!(!format!("{c:?}").contains("pw987"), "{c:?}");
            let e = built(host, Some("histogramMaxScale=21"), "", &[])
                .err()
                .unwrap();
            assert!(e.to_string().contains("histogramMaxScale"), "{e}");
        }
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
