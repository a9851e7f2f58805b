//! Options: loadrun's camelCase names, k6's `K6_OTEL_*` variables and the standard
//! `OTEL_EXPORTER_OTLP_*` ones (the K6 names win, as in k6). Declared once in [`OUTPUT`],
//! including what makes OTel's configuration unusual: k6 picks the endpoint and insecure
//! variables by protocol (`env_by`), the standard endpoint and headers variables rank below the
//! plan table (`env_below_plan`; headers merge per name), and the words are case-insensitive
//! with synonyms (`http`, `lowmemory`).

use std::time::Duration;

use loadrun_http_support::{basic_auth, Endpoint, TlsNames, TlsOptions, Url};
use loadrun_plugin_api::options::parse_bool;
use loadrun_plugin_api::{
    DeclaredOutput, Items, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret, Source,
    Values,
};

use crate::histogram::{DATA_BOUNDS, SDK_DEFAULT_BOUNDS, TIME_BOUNDS};
use crate::otlp::opentelemetry::proto::metrics::v1::AggregationTemporality;

/// k6 < 1.4's name of `K6_OTEL_EXPORTER_PROTOCOL`: still read, with a warning.
const OLD_PROTOCOL_ENV: &str = "K6_OTEL_EXPORTER_TYPE";

/// The variable whose value is the whole URL, not a base the path is appended to.
const METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The variables of setting `X`: k6's own (after the `;`) first, then the standard ones, the
/// metrics signal's before the general one: `OTEL_EXPORTER_OTLP_METRICS_X`, `OTEL_EXPORTER_OTLP_X`.
macro_rules! otlp {
    ($name:literal $(; $($k6:expr),+)?) => {
        &[$($($k6,)+)? concat!("OTEL_EXPORTER_OTLP_METRICS_", $name), concat!("OTEL_EXPORTER_OTLP_", $name)]
    };
}

/// k6's variables of setting `X` by protocol: `K6_OTEL_HTTP_EXPORTER_X`, `K6_OTEL_GRPC_EXPORTER_X`.
macro_rules! by_protocol {
    ($name:literal) => {
        &[
            ("http/protobuf", concat!("K6_OTEL_HTTP_EXPORTER_", $name)),
            ("grpc", concat!("K6_OTEL_GRPC_EXPORTER_", $name)),
        ]
    };
}

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("protocol", Kind::Enum(&["http/protobuf", "grpc"]))
        .ignore_case()
        .synonyms(&[("http", "http/protobuf")])
        .env(otlp!("PROTOCOL"; "K6_OTEL_EXPORTER_PROTOCOL", OLD_PROTOCOL_ENV))
        .default("http/protobuf")
        .doc("OTLP transport (not http/json: protobuf is smaller and every receiver takes it)"),
    OptionSpec::new("endpoint", Kind::Str)
        .env_by("protocol", by_protocol!("ENDPOINT"))
        .env_below_plan(otlp!("ENDPOINT"))
        .empty_is_unset()
        .default_by(
            "protocol",
            &[
                ("http/protobuf", "http://localhost:4318"),
                ("grpc", "http://localhost:4317"),
            ],
        )
        .doc("URL or host:port (https unless insecure=true); from OTEL_EXPORTER_OTLP_METRICS_ENDPOINT the whole URL"),
    OptionSpec::new("insecure", Kind::Bool)
        .env_by("protocol", by_protocol!("INSECURE"))
        .env(otlp!("INSECURE"))
        .default("false")
        .doc("plaintext for a host:port endpoint"),
    OptionSpec::new("urlPath", Kind::Str)
        .env(&["K6_OTEL_HTTP_EXPORTER_URL_PATH"])
        .default("/v1/metrics")
        .doc("path appended to the HTTP endpoint"),
    OptionSpec::new("headers", Kind::Map('='))
        .separators(",;")
        .percent_decoded()
        .header_names()
        .ignore_case()
        .env(&["K6_OTEL_HEADERS"])
        .env_below_plan(otlp!("HEADERS"))
        .secret()
        .doc("request headers k1=v1;k2=v2 (URL-escaped; `,` works in env)"),
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
        .env(otlp!("CERTIFICATE"; "K6_OTEL_TLS_CERTIFICATE"))
        .doc("PEM CA file to trust"),
    OptionSpec::new("tlsClientCertificate", Kind::Str)
        .env(otlp!("CLIENT_CERTIFICATE"; "K6_OTEL_TLS_CLIENT_CERTIFICATE"))
        .doc("PEM client certificate (mutual TLS)"),
    OptionSpec::new("tlsClientKey", Kind::Str)
        .env(otlp!("CLIENT_KEY"; "K6_OTEL_TLS_CLIENT_KEY"))
        .doc("PEM client key"),
    OptionSpec::new("timeout", Kind::Duration)
        .env(otlp!("TIMEOUT"))
        .default("10s")
        .nonzero()
        .doc("per request (a bare number is ms)"),
    OptionSpec::new("compression", Kind::Enum(&["gzip", "none"]))
        .ignore_case()
        .synonyms(&[("", "none")])
        .env(otlp!("COMPRESSION"))
        .default("gzip")
        .doc("request body compression"),
    OptionSpec::new("exportInterval", Kind::Duration)
        .env(&["K6_OTEL_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL"])
        .default("10s")
        .at_least("1ms")
        .doc("how often data points are exported"),
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
        .default_from("resourceAttributes", "service.name")
        .default("k6")
        .doc("resource attribute service.name"),
    OptionSpec::new("serviceVersion", Kind::Str)
        .env(&["K6_OTEL_SERVICE_VERSION"])
        .default_from("resourceAttributes", "service.version")
        .default(VERSION)
        .doc("resource attribute service.version (default the plugin version)"),
    OptionSpec::new("resourceAttributes", Kind::Map('='))
        .separators(",;")
        .percent_decoded()
        .env(&["OTEL_RESOURCE_ATTRIBUTES"])
        .doc("extra resource attributes k=v;k2=v2"),
    OptionSpec::new("temporality", Kind::Enum(&["cumulative", "delta"]))
        .ignore_case()
        // lowmemory is delta for counters and histograms, which is all this output sends
        // besides gauges (which have no temporality).
        .synonyms(&[("lowmemory", "delta")])
        .env(&["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"])
        .default("cumulative")
        .doc("aggregation temporality of counters and histograms"),
    OptionSpec::new("histogram", Kind::Enum(&["exponential", "explicit"]))
        .ignore_case()
        .synonyms(&[
            ("base2_exponential_bucket_histogram", "exponential"),
            ("explicit_bucket_histogram", "explicit"),
        ])
        .env(&["OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"])
        .default("exponential")
        .doc("trend aggregation"),
    OptionSpec::new("histogramMaxScale", Kind::Int { min: 0, max: 20 })
        .default("5")
        .doc("exponential: starting scale (5 = buckets within ±1.1%)"),
    OptionSpec::new("histogramMaxBuckets", Kind::Int { min: 2, max: 16384 })
        .default("320")
        .doc("exponential: most buckets per sign before the scale is lowered"),
    OptionSpec::new("timeBuckets", Kind::List(','))
        .items(Items::Increasing)
        .doc("explicit: bounds for time trends (ms); default 0.1,0.25,…,60000"),
    OptionSpec::new("dataBuckets", Kind::List(','))
        .items(Items::Increasing)
        .doc("explicit: bounds for data trends (bytes); default 64,256,…,16777216"),
    OptionSpec::new("defaultBuckets", Kind::List(','))
        .items(Items::Increasing)
        .doc("explicit: bounds for other trends; default the OTel SDK's"),
    OptionSpec::new("singleCounterForRate", Kind::Bool)
        .env(&["K6_OTEL_SINGLE_COUNTER_FOR_RATE"])
        .default("true")
        .doc(
            "rates as one counter with condition=zero|nonzero (false: <name>.occurred and \
             <name>.total)",
        ),
    OptionSpec::new("metadataAttributes", Kind::List(','))
        .doc("metadata keys (vu, iter) sent as attributes, or true for all"),
    OptionSpec::new("maxPointsPerRequest", Kind::int_from(1))
        .default("5000")
        .doc("data points per export request"),
];

/// The opentelemetry output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput =
    DeclaredOutput::new("opentelemetry", &["experimental-opentelemetry"])
        .describe("OpenTelemetry metrics over OTLP/HTTP (protobuf) or OTLP/gRPC")
        .options(OPTIONS)
        .positional(Positional::None);

/// The TLS options, by OTel's names.
const TLS: TlsNames = TlsNames {
    skip_verify: "tlsInsecureSkipVerify",
    ca_file: "tlsCertificate",
    client_cert: "tlsClientCertificate",
    client_key: "tlsClientKey",
    min_version: "",
};

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
    /// OTLP's `AggregationTemporality`.
    pub fn wire(self) -> AggregationTemporality {
        match self {
            Temporality::Delta => AggregationTemporality::Delta,
            Temporality::Cumulative => AggregationTemporality::Cumulative,
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

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        let protocol = match v.string("protocol")?.as_str() {
            "grpc" => Protocol::Grpc,
            _ => Protocol::HttpProtobuf,
        };
        let full = v.source("endpoint") == Some(&Source::Env(METRICS_ENDPOINT.into()));
        let url = endpoint_url(
            &v.string("endpoint")?,
            full,
            v.bool("insecure")?,
            protocol == Protocol::Grpc,
            &v.string("urlPath")?,
        )?;

        let mut headers: Vec<(String, Secret)> = v.opt("headers")?.unwrap_or_default();
        if let Some(auth) = basic_auth(&v, "username", "password")? {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("Authorization"));
            headers.push(("Authorization".into(), auth));
        }

        let bounds =
            |name, default: &[f64]| Ok::<_, PluginError>(v.opt(name)?.unwrap_or(default.to_vec()));
        let histogram = match v.string("histogram")?.as_str() {
            "explicit" => HistogramMode::Explicit {
                time: bounds("timeBuckets", TIME_BOUNDS)?,
                data: bounds("dataBuckets", DATA_BOUNDS)?,
                default: bounds("defaultBuckets", SDK_DEFAULT_BOUNDS)?,
            },
            _ => HistogramMode::Exponential {
                max_scale: v.int("histogramMaxScale")? as i32, // 0 to 20, declared
                max_buckets: v.get("histogramMaxBuckets")?,
            },
        };
        let keys: Vec<String> = v.opt("metadataAttributes")?.unwrap_or_default();
        let metadata = match keys.as_slice() {
            [] => MetadataAttrs::None,
            [one] if parse_bool(one) == Some(true) => MetadataAttrs::All,
            [one] if parse_bool(one) == Some(false) => MetadataAttrs::None,
            _ => MetadataAttrs::Some(keys),
        };

        let mut resource: Vec<(String, String)> = Vec::new();
        let attributes: Vec<(String, String)> = v.opt("resourceAttributes")?.unwrap_or_default();
        let test_id = Some(init.test.test_id.to_string()).filter(|t| !t.is_empty());
        let ours = [
            ("service.name", Some(v.string("serviceName")?)),
            ("service.version", Some(v.string("serviceVersion")?)),
            ("loadrun.test_id", test_id),
            ("telemetry.sdk.language", Some("rust".into())),
            ("telemetry.sdk.name", Some("loadrun".into())),
            ("telemetry.sdk.version", Some(VERSION.into())),
        ];
        let ours = ours.into_iter().filter_map(|(k, v)| Some((k.into(), v?)));
        for (k, val) in attributes.into_iter().chain(ours) {
            match resource.iter_mut().find(|(old, _)| *old == k) {
                Some(slot) => slot.1 = val,
                None => resource.push((k, val)),
            }
        }

        let export_interval = v.duration("exportInterval")?;
        let mut warnings: Vec<String> = (export_interval > Duration::from_secs(60))
            .then(|| {
                format!(
                    "exportInterval is {export_interval:?}: dashboards will see one point per interval"
                )
            })
            .into_iter()
            .collect();
        // k6 1.4 made the output stable and renamed its protocol variable; the old names work.
        if OUTPUT.aliases.contains(&init.output_name.as_str()) {
            warnings.push(format!(
                "-o {} is the old name of -o opentelemetry (stable since k6 1.4); it still works",
                init.output_name
            ));
        }
        if v.source("protocol") == Some(&Source::Env(OLD_PROTOCOL_ENV.into())) {
            warnings.push(format!(
                "{OLD_PROTOCOL_ENV} is deprecated since k6 1.4; set K6_OTEL_EXPORTER_PROTOCOL instead"
            ));
        }

        Ok(Config {
            protocol,
            url,
            headers,
            tls: TlsOptions::from_values_named(&v, &TLS)?,
            timeout: v.duration("timeout")?,
            gzip: v.string("compression")? == "gzip",
            export_interval,
            metric_prefix: v.string("metricPrefix")?,
            temporality: match v.string("temporality")?.as_str() {
                "delta" => Temporality::Delta,
                _ => Temporality::Cumulative,
            },
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::init;

    fn cfg(arg: Option<&str>, env: &[(&str, &str)]) -> Result<Config, PluginError> {
        Config::from_init(&init("opentelemetry", arg, "{}", env))
    }

    /// Under an older host (`host` false) the plugin checks the options itself; a 1.3 host
    /// hands them over checked, in `extra`, with their sources.
    fn built(
        host: bool,
        arg: Option<&str>,
        table: &str,
        env: &[(&str, &str)],
    ) -> Result<Config, PluginError> {
        let mut i = init("opentelemetry", arg, table, env);
        if host {
            let raw = loadrun_plugin_api::values::RawOptions::from_init(&i)?;
            i.extra = Values::resolve(&OUTPUT, &raw)?
                .to_extra()
                .to_string()
                .into();
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
    fn k6_old_names_work_with_a_warning() {
        let old = init(
            "experimental-opentelemetry",
            None,
            "{}",
            &[("K6_OTEL_EXPORTER_TYPE", "grpc")],
        );
        let c = Config::from_init(&old).unwrap();
        assert_eq!(c.protocol, Protocol::Grpc);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].starts_with("-o experimental-opentelemetry is the old name"));
        assert!(c.warnings[1].starts_with("K6_OTEL_EXPORTER_TYPE is deprecated"));
        // The new variable wins over the old one, and then there is nothing to say.
        let env = [
            ("K6_OTEL_EXPORTER_PROTOCOL", "grpc"),
            ("K6_OTEL_EXPORTER_TYPE", "http/protobuf"),
        ];
        let c = cfg(None, &env).unwrap();
        assert_eq!(c.protocol, Protocol::Grpc);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
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
