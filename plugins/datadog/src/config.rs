//! Options of `-o datadog`. k6's `K6_STATSD_*` names work for the agent settings they share,
//! and Datadog's own `DD_*` names for the rest (`DD_AGENT_HOST`, `DD_DOGSTATSD_PORT`,
//! `DD_API_KEY`, `DD_SITE`, `DD_URL`, `DD_HOSTNAME`, `DD_TAGS`, `DD_ENV`, `DD_SERVICE`,
//! `DD_VERSION`).

use std::path::PathBuf;
use std::time::Duration;

use loadrun_http_support::{HttpConfig, TlsOptions, TlsVersion};
use loadrun_plugin_api::{OptionDoc, Options, OutputInit, PluginError};
use loadrun_statsd::config::{doc, parse_buffer_size, parse_tag_list, split_list};
use loadrun_statsd::{ChecksAs, MappingConfig, Protocol, StatsdConfig, TrendType};

const KNOWN: &[&str] = &[
    "transport",
    "addr",
    "namespace",
    "pushInterval",
    "bufferSize",
    "enableTags",
    "tagBlocklist",
    "tags",
    "checksAs",
    "distribution",
    "maxTrendSamples",
    "apiKey",
    "site",
    "endpoint",
    "host",
    "gzip",
    "timeout",
    "apiVersion",
    "trendsAs",
    "proxy",
    "caFile",
    "clientCert",
    "clientKey",
    "tlsMinimumVersion",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    DogStatsd,
    Api,
}

/// The parsed options: one of the two transports.
#[derive(Debug, Clone)]
pub enum DatadogConfig {
    DogStatsd(StatsdConfig),
    Api(Box<ApiConfig>),
}

/// Which series API `transport=api` posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    V2,
}

/// How `transport=api` sends trends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendsAs {
    /// `.avg .min .max .median .95percentile .count`, the names the agent makes of a timing.
    Gauges,
    /// Every value to `/api/v1/distribution_points`, for global percentiles.
    Distribution,
}

/// Settings of `transport=api`.
#[derive(Clone)]
pub struct ApiConfig {
    pub output: String,
    /// The full series URL, e.g. `https://api.datadoghq.com/api/v2/series`.
    pub url: String,
    /// `https://api.<site>` or the `endpoint`, for the distribution points URL.
    pub base_url: String,
    pub api_version: ApiVersion,
    pub trends_as: TrendsAs,
    pub api_key: String,
    pub host: String,
    pub push_interval: Duration,
    /// Compress bodies (gzip; deflate for distribution points). The encoder does it, so
    /// `http.gzip` is off.
    pub gzip: bool,
    /// Timeouts, TLS and proxy of the shared HTTP client.
    pub http: HttpConfig,
    pub mapping: MappingConfig,
    /// Uncompressed bytes per request; Datadog's v1 limit is 3.2 MB compressed, 62 MB raw (v2:
    /// see `api_v2::Limits`).
    pub max_body_bytes: usize,
    /// Bodies held while Datadog is unreachable; the oldest is dropped beyond it.
    pub max_pending_bytes: usize,
}

/// Keeps the API key out of every `{:?}`.
impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("url", &self.url)
            .field("trends_as", &self.trends_as)
            .field("api_key", &"<redacted>")
            .field("host", &self.host)
            .field("push_interval", &self.push_interval)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

pub fn option_docs() -> Vec<OptionDoc> {
    let mut api_key = doc(
        "apiKey",
        "DD_API_KEY",
        "",
        "Datadog API key (transport=api); never printed",
    );
    api_key.secret = true;
    vec![
        doc("transport", "", "dogstatsd", "dogstatsd (to an agent) or api (Datadog's HTTP series API)"),
        doc("addr", "K6_STATSD_ADDR,DD_AGENT_HOST+DD_DOGSTATSD_PORT", "localhost:8125", "DogStatsD agent host:port (UDP)"),
        doc("namespace", "K6_STATSD_NAMESPACE", "k6.", "metric name prefix, trailing dot included"),
        doc("pushInterval", "K6_STATSD_PUSH_INTERVAL", "1s (api: 10s)", "how often folded samples are sent"),
        doc("bufferSize", "K6_STATSD_BUFFER_SIZE", "1432", "largest DogStatsD datagram in bytes"),
        doc("enableTags", "K6_STATSD_ENABLE_TAGS", "true", "send tags"),
        doc("tagBlocklist", "K6_STATSD_TAG_BLOCKLIST", "vu,iter,url", "tag keys never sent (separate with , or ;)"),
        doc("tags", "DD_TAGS (+DD_ENV, DD_SERVICE, DD_VERSION)", "", "tags on every metric, key:value separated by , ; or space"),
        doc("checksAs", "K6_STATSD_CHECKS_AS", "k6", "k6: check.<name>.pass|fail (k6 dashboard); tag: checks with check and result tags"),
        doc("distribution", "", "false", "dogstatsd: send trends as distributions (|d) instead of timings (|ms)"),
        doc("maxTrendSamples", "K6_STATSD_MAX_TREND_SAMPLES", "1000", "dogstatsd: trend values per series and interval before sampling with |@rate"),
        api_key,
        doc("site", "DD_SITE", "datadoghq.com", "api: datadoghq.com, datadoghq.eu, us3.datadoghq.com, us5.datadoghq.com, ap1.datadoghq.com, ddog-gov.com (or us1, eu, us3, us5, ap1, gov)"),
        doc("endpoint", "DD_URL", "https://api.<site>", "api: base URL (proxies, tests); /api/v2/series (or v1) is appended unless present"),
        doc("apiVersion", "", "2", "api: 2 (/api/v2/series) or 1 (/api/v1/series)"),
        doc("trendsAs", "", "gauges", "api: gauges (.avg .min .max .median .95percentile .count) or distribution (/api/v1/distribution_points)"),
        doc("host", "DD_HOSTNAME", "this machine's hostname", "api: the host of every series"),
        doc("gzip", "", "true", "api: gzip request bodies"),
        doc("timeout", "", "10s", "api: HTTP request timeout"),
        doc("proxy", "LOADRUN_DATADOG_PROXY", "", "api: HTTP proxy URL (http://[user:pass@]host:port)"),
        doc("caFile", "LOADRUN_DATADOG_CA_FILE", "", "api: PEM file of extra CA certificates to trust (a TLS-inspecting proxy)"),
        doc("clientCert", "LOADRUN_DATADOG_CLIENT_CERT", "", "api: PEM client certificate (mutual TLS)"),
        doc("clientKey", "LOADRUN_DATADOG_CLIENT_KEY", "", "api: PEM key of clientCert"),
        doc("tlsMinimumVersion", "LOADRUN_DATADOG_TLS_MINIMUM_VERSION", "1.2", "api: oldest TLS version accepted: 1.2 or 1.3"),
    ]
}

pub fn parse_config(init: &OutputInit) -> Result<DatadogConfig, PluginError> {
    let options = Options::from_init(init)?;
    options.reject_unknown(KNOWN)?;
    let output = options.output().to_string();
    let transport = match options
        .get_or("transport", &[], "dogstatsd")
        .to_ascii_lowercase()
        .as_str()
    {
        "dogstatsd" | "agent" | "statsd" => Transport::DogStatsd,
        "api" | "http" => Transport::Api,
        other => return Err(options.invalid("transport", other, "dogstatsd or api")),
    };

    let mut mapping = MappingConfig {
        signed_gauge_is_delta: false,
        ..MappingConfig::default()
    };
    mapping.namespace = options.get_or("namespace", &["K6_STATSD_NAMESPACE"], "k6.");
    mapping.enable_tags = options.get_bool("enableTags", &["K6_STATSD_ENABLE_TAGS"], true)?;
    if let Some(list) = options.get("tagBlocklist", &["K6_STATSD_TAG_BLOCKLIST"]) {
        mapping.tag_blocklist = split_list(&list).into_iter().collect();
    }
    mapping.global_tags = global_tags(&options);
    mapping.checks_as = ChecksAs::parse(&options, "checksAs", &["K6_STATSD_CHECKS_AS"])?;
    if options.get_bool("distribution", &[], false)? {
        mapping.trend_type = TrendType::Distribution;
    }
    mapping.max_trend_samples =
        options.get_u64("maxTrendSamples", &["K6_STATSD_MAX_TREND_SAMPLES"], 1000)? as usize;
    mapping.validate(&output)?;

    match transport {
        Transport::DogStatsd => {
            let mut cfg = StatsdConfig::new(&output);
            cfg.addr = agent_addr(&options);
            if !loadrun_statsd::config::valid_addr(&cfg.addr) {
                return Err(options.invalid("addr", &cfg.addr, "host:port with a port number"));
            }
            cfg.push_interval = interval(&options, Duration::from_secs(1))?;
            cfg.buffer_size = parse_buffer_size(
                &options,
                "bufferSize",
                &["K6_STATSD_BUFFER_SIZE"],
                Protocol::Udp,
            )?;
            cfg.mapping = mapping;
            Ok(DatadogConfig::DogStatsd(cfg))
        }
        Transport::Api => {
            let api_key = options.get("apiKey", &["DD_API_KEY"]).unwrap_or_default();
            if api_key.trim().is_empty() {
                return Err(PluginError::new(format!(
                    "{output}: transport=api needs an API key: set DD_API_KEY (or apiKey in the plan)"
                )));
            }
            let api_version = match options.get_or("apiVersion", &[], "2").trim() {
                "2" | "v2" => ApiVersion::V2,
                "1" | "v1" => ApiVersion::V1,
                other => return Err(options.invalid("apiVersion", other, "1 or 2")),
            };
            let trends_as = match options
                .get_or("trendsAs", &[], "gauges")
                .trim()
                .to_ascii_lowercase()
                .as_str()
            {
                "gauges" | "gauge" => TrendsAs::Gauges,
                "distribution" | "distributions" => TrendsAs::Distribution,
                other => return Err(options.invalid("trendsAs", other, "gauges or distribution")),
            };
            let base_url = base_url(&options)?;
            let url = match api_version {
                ApiVersion::V1 => format!("{base_url}/api/v1/series"),
                ApiVersion::V2 => format!("{base_url}/api/v2/series"),
            };
            let timeout = options.get_duration("timeout", &[], Duration::from_secs(10))?;
            let http = http_config(&options, timeout)?;
            Ok(DatadogConfig::Api(Box::new(ApiConfig {
                output,
                url,
                base_url,
                api_version,
                trends_as,
                api_key: api_key.trim().to_string(),
                host: options
                    .get("host", &["DD_HOSTNAME"])
                    .unwrap_or_else(hostname),
                // Datadog bills and rolls up per 10 s; pushing every second buys nothing.
                push_interval: interval(&options, Duration::from_secs(10))?,
                gzip: options.get_bool("gzip", &[], true)?,
                http,
                mapping,
                max_body_bytes: 3_000_000,
                max_pending_bytes: 64 * 1024 * 1024,
            })))
        }
    }
}

/// The shared HTTP client's settings, with the TLS and proxy options every HTTP output has.
fn http_config(options: &Options, timeout: Duration) -> Result<HttpConfig, PluginError> {
    let text = |name: &str, env: &str| options.get(name, &[env]).filter(|v| !v.trim().is_empty());
    let path = |name: &str, env: &str| text(name, env).map(PathBuf::from);
    let min_version = match text("tlsMinimumVersion", "LOADRUN_DATADOG_TLS_MINIMUM_VERSION") {
        None => TlsVersion::default(),
        Some(v) => v
            .parse::<TlsVersion>()
            .map_err(|_| options.invalid("tlsMinimumVersion", &v, "1.2 or 1.3"))?,
    };
    Ok(HttpConfig {
        timeout,
        connect_timeout: timeout.min(Duration::from_secs(5)),
        user_agent: concat!("loadrun-out-datadog/", env!("CARGO_PKG_VERSION")).to_string(),
        gzip: false,
        tls: TlsOptions {
            ca_file: path("caFile", "LOADRUN_DATADOG_CA_FILE"),
            client_cert: path("clientCert", "LOADRUN_DATADOG_CLIENT_CERT"),
            client_key: path("clientKey", "LOADRUN_DATADOG_CLIENT_KEY"),
            min_version,
            ..TlsOptions::default()
        },
        proxy: text("proxy", "LOADRUN_DATADOG_PROXY"),
        max_response_bytes: 16 * 1024,
    })
}

fn interval(options: &Options, default: Duration) -> Result<Duration, PluginError> {
    let d = options.get_duration("pushInterval", &["K6_STATSD_PUSH_INTERVAL"], default)?;
    if d.is_zero() {
        return Err(options.invalid("pushInterval", "0", "a duration above zero"));
    }
    Ok(d)
}

/// `-o` positional, `addr`, `K6_STATSD_ADDR`, then Datadog's `DD_AGENT_HOST`/`DD_DOGSTATSD_PORT`.
fn agent_addr(options: &Options) -> String {
    if let Some(p) = options.positional() {
        return p.trim_start_matches("udp://").to_string();
    }
    if let Some(a) = options.get("addr", &["K6_STATSD_ADDR"]) {
        return a;
    }
    match options.get("\0dd_agent_host", &["DD_AGENT_HOST"]) {
        Some(host) => {
            let port = options
                .get("\0dd_port", &["DD_DOGSTATSD_PORT"])
                .unwrap_or_else(|| "8125".into());
            if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        }
        None => "localhost:8125".into(),
    }
}

/// `tags` (or `DD_TAGS`), plus Datadog's unified service tags from `DD_ENV`, `DD_SERVICE` and
/// `DD_VERSION`, as the official clients add them.
fn global_tags(options: &Options) -> Vec<(String, String)> {
    let mut tags = options
        .get("tags", &["DD_TAGS"])
        .map(|t| parse_tag_list(&t))
        .unwrap_or_default();
    for (key, env) in [
        ("env", "DD_ENV"),
        ("service", "DD_SERVICE"),
        ("version", "DD_VERSION"),
    ] {
        if let Some(v) = options.get(&format!("\0{key}"), &[env]) {
            if !v.is_empty() && !tags.iter().any(|(k, _)| k == key) {
                tags.push((key.to_string(), v));
            }
        }
    }
    tags
}

/// The API base URL from `endpoint`/`DD_URL`, else from `site`/`DD_SITE`.
fn base_url(options: &Options) -> Result<String, PluginError> {
    let base = match options.get("endpoint", &["DD_URL"]) {
        Some(e) => e.trim().trim_end_matches('/').to_string(),
        None => {
            let site = options.get_or("site", &["DD_SITE"], "datadoghq.com");
            let host = match site.trim().to_ascii_lowercase().as_str() {
                "us1" | "us" | "datadoghq.com" => "datadoghq.com".to_string(),
                "eu" | "eu1" | "datadoghq.eu" => "datadoghq.eu".to_string(),
                "us3" => "us3.datadoghq.com".to_string(),
                "us5" => "us5.datadoghq.com".to_string(),
                "ap1" => "ap1.datadoghq.com".to_string(),
                "gov" | "us1-fed" => "ddog-gov.com".to_string(),
                other if other.contains('.') && !other.contains(['/', ' ']) => other.to_string(),
                other => {
                    return Err(options.invalid(
                        "site",
                        other,
                        "datadoghq.com, datadoghq.eu, us3.datadoghq.com, us5.datadoghq.com, \
                         ap1.datadoghq.com or ddog-gov.com",
                    ))
                }
            };
            format!("https://api.{host}")
        }
    };
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(options.invalid("endpoint", &base, "an http:// or https:// URL"));
    }
    // A full series URL (as older setups give) names the base too.
    let base = ["/api/v1/series", "/api/v2/series"]
        .iter()
        .find_map(|suffix| base.strip_suffix(suffix))
        .map_or(base.clone(), str::to_string);
    Ok(base)
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "loadrun".into())
}
