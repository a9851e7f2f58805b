//! Options of `-o datadog`. k6's `K6_STATSD_*` names work for the agent settings they share,
//! and Datadog's own `DD_*` names for the rest (`DD_AGENT_HOST`, `DD_DOGSTATSD_PORT`,
//! `DD_API_KEY`, `DD_SITE`, `DD_URL`, `DD_HOSTNAME`, `DD_TAGS`, `DD_ENV`, `DD_SERVICE`,
//! `DD_VERSION`).

use std::path::PathBuf;
use std::time::Duration;

use loadrun_http_support::{HttpConfig, TlsOptions, TlsVersion};
use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret, Values,
};
use loadrun_statsd::config::{choose, invalid, opt, parse_tag_list, read_mapping, read_statsd};
use loadrun_statsd::{MappingConfig, StatsdConfig, TrendType};

/// `transport`'s words; every synonym is listed in the modes of the options it restricts.
const AGENT: &[&str] = &["dogstatsd", "agent", "statsd"];
const API: &[&str] = &["api", "http"];

#[rustfmt::skip]
const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("transport", Kind::Str).default("dogstatsd").doc("dogstatsd (to an agent) or api (Datadog's HTTP series API)"),
    // addr and pushInterval have no declared default: the fallback depends on other sources.
    OptionSpec { default: None, ..opt::ADDR }.doc("DogStatsD agent host:port (UDP); else DD_AGENT_HOST with DD_DOGSTATSD_PORT, else localhost:8125"),
    opt::NAMESPACE.doc("metric name prefix, trailing dot included"),
    OptionSpec { default: None, ..opt::PUSH_INTERVAL }.doc("how often folded samples are sent (default 1s; api: 10s)"),
    opt::BUFFER_SIZE.doc("largest DogStatsD datagram in bytes"),
    opt::ENABLE_TAGS.default("true").doc("send tags"),
    opt::TAG_BLOCKLIST,
    OptionSpec::new("tags", Kind::Str).env(&["DD_TAGS"]).doc("tags on every metric, key:value separated by , ; or space (DD_ENV, DD_SERVICE, DD_VERSION add env, service, version)"),
    opt::CHECKS_AS.doc("k6: check.<name>.pass|fail (k6 dashboard); tag: checks with check and result tags"),
    OptionSpec::new("distribution", Kind::Bool).default("false").modes(AGENT).doc("send trends as distributions (|d) instead of timings (|ms)"),
    opt::MAX_TREND_SAMPLES.doc("dogstatsd: trend values per series and interval before sampling with |@rate"),
    // No mode: a DD_API_KEY exported for other tools must not break transport=dogstatsd.
    OptionSpec::new("apiKey", Kind::Str).secret().env(&["DD_API_KEY"]).doc("Datadog API key (transport=api)"),
    OptionSpec::new("site", Kind::Str).env(&["DD_SITE"]).default("datadoghq.com").doc("api: datadoghq.com, datadoghq.eu, us3.datadoghq.com, us5.datadoghq.com, ap1.datadoghq.com, ddog-gov.com (or us1, eu, us3, us5, ap1, gov)"),
    OptionSpec::new("endpoint", Kind::Str).env(&["DD_URL"]).doc("api: base URL (proxies, tests; default https://api.<site>); /api/v2/series (or v1) is appended unless present"),
    OptionSpec::new("apiVersion", Kind::Str).default("2").modes(API).doc("2 (/api/v2/series) or 1 (/api/v1/series)"),
    OptionSpec::new("trendsAs", Kind::Str).default("gauges").modes(API).doc("gauges (.avg .min .max .median .95percentile .count) or distribution (/api/v1/distribution_points)"),
    OptionSpec::new("host", Kind::Str).env(&["DD_HOSTNAME"]).doc("api: the host of every series (default: this machine's hostname)"),
    OptionSpec::new("gzip", Kind::Bool).default("true").modes(API).doc("gzip request bodies"),
    OptionSpec::new("timeout", Kind::Duration).default("10s").modes(API).doc("HTTP request timeout"),
    OptionSpec::new("proxy", Kind::Str).secret().env(&["LOADRUN_DATADOG_PROXY"]).doc("api: HTTP proxy URL (http://[user:pass@]host:port)"),
    OptionSpec::new("caFile", Kind::Str).env(&["LOADRUN_DATADOG_CA_FILE"]).doc("api: PEM file of extra CA certificates to trust (a TLS-inspecting proxy)"),
    OptionSpec::new("clientCert", Kind::Str).env(&["LOADRUN_DATADOG_CLIENT_CERT"]).doc("api: PEM client certificate (mutual TLS)"),
    OptionSpec::new("clientKey", Kind::Str).env(&["LOADRUN_DATADOG_CLIENT_KEY"]).doc("api: PEM key of clientCert"),
    OptionSpec::new("tlsMinimumVersion", Kind::Str).env(&["LOADRUN_DATADOG_TLS_MINIMUM_VERSION"]).default("1.2").doc("api: oldest TLS version accepted: 1.2 or 1.3"),
];

// The words each choice accepts (any case), synonyms included.
#[rustfmt::skip]
const WORDS_TRANSPORT: &[(&str, Transport)] = &[("dogstatsd", Transport::DogStatsd), ("agent", Transport::DogStatsd), ("statsd", Transport::DogStatsd), ("api", Transport::Api), ("http", Transport::Api)];
#[rustfmt::skip]
const WORDS_API_VERSION: &[(&str, ApiVersion)] = &[("2", ApiVersion::V2), ("v2", ApiVersion::V2), ("1", ApiVersion::V1), ("v1", ApiVersion::V1)];
#[rustfmt::skip]
const WORDS_TRENDS_AS: &[(&str, TrendsAs)] = &[("gauges", TrendsAs::Gauges), ("gauge", TrendsAs::Gauges), ("distribution", TrendsAs::Distribution), ("distributions", TrendsAs::Distribution)];

pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("datadog", &[])
    .describe("Datadog: DogStatsD to an agent, or the HTTP series API")
    .options(OPTIONS)
    .positional(Positional::Value("addr"))
    .mode_option("transport");

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
    pub api_key: Secret,
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

/// By hand: `http` holds the proxy URL, which may carry a password.
impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("url", &self.url)
            .field("trends_as", &self.trends_as)
            .field("api_key", &self.api_key)
            .field("host", &self.host)
            .field("push_interval", &self.push_interval)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

pub fn parse_config(init: &OutputInit) -> Result<DatadogConfig, PluginError> {
    let v = Values::from_init(init, &OUTPUT)?;
    let output = v.output().to_string();
    let transport = choose(&v, "transport", WORDS_TRANSPORT, "dogstatsd or api")?;
    let mut mapping = MappingConfig {
        signed_gauge_is_delta: false,
        global_tags: global_tags(init, &v)?,
        ..MappingConfig::default()
    };
    if v.bool("distribution")? {
        mapping.trend_type = TrendType::Distribution;
    }
    let mapping = read_mapping(&v, mapping)?;

    match transport {
        Transport::DogStatsd => {
            let cfg = read_statsd(&v, mapping, dd_agent_addr(init))?;
            Ok(DatadogConfig::DogStatsd(cfg))
        }
        Transport::Api => {
            let api_key = v
                .secret("apiKey")?
                .filter(|k| !k.expose().trim().is_empty());
            let Some(api_key) = api_key else {
                return Err(PluginError::new(format!(
                    "{output}: transport=api needs an API key: set DD_API_KEY (or apiKey in the plan)"
                )));
            };
            let api_version = choose(&v, "apiVersion", WORDS_API_VERSION, "1 or 2")?;
            let trends_as = choose(&v, "trendsAs", WORDS_TRENDS_AS, "gauges or distribution")?;
            let base_url = base_url(&v)?;
            let url = match api_version {
                ApiVersion::V1 => format!("{base_url}/api/v1/series"),
                ApiVersion::V2 => format!("{base_url}/api/v2/series"),
            };
            Ok(DatadogConfig::Api(Box::new(ApiConfig {
                output,
                url,
                base_url,
                api_version,
                trends_as,
                api_key: Secret::new(api_key.expose().trim()),
                host: v.opt("host")?.unwrap_or_else(hostname),
                // Datadog bills and rolls up per 10 s; pushing every second buys nothing.
                push_interval: v.opt("pushInterval")?.unwrap_or(Duration::from_secs(10)),
                gzip: v.bool("gzip")?,
                http: http_config(&v)?,
                mapping,
                max_body_bytes: 3_000_000,
                max_pending_bytes: 64 * 1024 * 1024,
            })))
        }
    }
}

/// The shared HTTP client's settings, with the TLS and proxy options every HTTP output has.
fn http_config(v: &Values) -> Result<HttpConfig, PluginError> {
    let text = |name: &str| -> Result<Option<String>, PluginError> {
        Ok(v.opt::<String>(name)?.filter(|t| !t.trim().is_empty()))
    };
    let path = |name: &str| Ok::<_, PluginError>(text(name)?.map(PathBuf::from));
    let min_version = match text("tlsMinimumVersion")? {
        None => TlsVersion::default(),
        Some(t) => t
            .parse::<TlsVersion>()
            .map_err(|_| invalid(v, "tlsMinimumVersion", &t, "1.2 or 1.3"))?,
    };
    let timeout = v.duration("timeout")?;
    Ok(HttpConfig {
        timeout,
        connect_timeout: timeout.min(Duration::from_secs(5)),
        user_agent: concat!("loadrun-out-datadog/", env!("CARGO_PKG_VERSION")).to_string(),
        gzip: false,
        tls: TlsOptions {
            ca_file: path("caFile")?,
            client_cert: path("clientCert")?,
            client_key: path("clientKey")?,
            min_version,
            ..TlsOptions::default()
        },
        proxy: text("proxy")?,
        max_response_bytes: 16 * 1024,
    })
}

/// Datadog's `DD_AGENT_HOST`/`DD_DOGSTATSD_PORT`, below `addr` and `K6_STATSD_ADDR`: two
/// variables make one value, which a declared env name cannot say.
fn dd_agent_addr(init: &OutputInit) -> Option<String> {
    let host = init.env_var("DD_AGENT_HOST")?;
    let port = init.env_var("DD_DOGSTATSD_PORT").unwrap_or("8125");
    Some(if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// `tags` (or `DD_TAGS`), plus Datadog's unified service tags from `DD_ENV`, `DD_SERVICE` and
/// `DD_VERSION`, as the official clients add them (each one key of a list option: not declarable).
fn global_tags(init: &OutputInit, v: &Values) -> Result<Vec<(String, String)>, PluginError> {
    let mut tags = v
        .opt::<String>("tags")?
        .map(|t| parse_tag_list(&t))
        .unwrap_or_default();
    for (key, env) in [
        ("env", "DD_ENV"),
        ("service", "DD_SERVICE"),
        ("version", "DD_VERSION"),
    ] {
        if let Some(value) = init.env_var(env).filter(|x| !x.is_empty()) {
            if !tags.iter().any(|(k, _)| k == key) {
                tags.push((key.to_string(), value.to_string()));
            }
        }
    }
    Ok(tags)
}

/// The API base URL from `endpoint`/`DD_URL`, else from `site`/`DD_SITE`.
fn base_url(v: &Values) -> Result<String, PluginError> {
    let base = match v.opt::<String>("endpoint")? {
        Some(e) => e.trim().trim_end_matches('/').to_string(),
        None => {
            let site = v.string("site")?;
            let host = match site.trim().to_ascii_lowercase().as_str() {
                "us1" | "us" | "datadoghq.com" => "datadoghq.com".to_string(),
                "eu" | "eu1" | "datadoghq.eu" => "datadoghq.eu".to_string(),
                "us3" => "us3.datadoghq.com".to_string(),
                "us5" => "us5.datadoghq.com".to_string(),
                "ap1" => "ap1.datadoghq.com".to_string(),
                "gov" | "us1-fed" => "ddog-gov.com".to_string(),
                other if other.contains('.') && !other.contains(['/', ' ']) => other.to_string(),
                other => {
                    return Err(invalid(
                        v,
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
        return Err(invalid(v, "endpoint", &base, "an http:// or https:// URL"));
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
