//! Options of `-o datadog`. k6's `K6_STATSD_*` names work for the agent settings they share,
//! and Datadog's own `DD_*` names for the rest (`DD_AGENT_HOST`, `DD_DOGSTATSD_PORT`,
//! `DD_API_KEY`, `DD_SITE`, `DD_URL`, `DD_HOSTNAME`, `DD_TAGS`, `DD_ENV`, `DD_SERVICE`,
//! `DD_VERSION`).

use std::time::Duration;

use loadrun_http_support::{tls_files, Endpoint, HttpConfig, TlsOptions};
use loadrun_plugin_api::{
    options, words, DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret,
    Values,
};
use loadrun_statsd::config::{invalid, opt, read_mapping, read_statsd};
use loadrun_statsd::{MappingConfig, StatsdConfig, TrendType};

/// The modes of `transport`, as the options they restrict name them.
const AGENT: &[&str] = &["dogstatsd"];
const API: &[&str] = &["api"];

#[rustfmt::skip]
const OWN: &[OptionSpec] = &[
    OptionSpec::new("transport", Kind::Enum(Transport::WORDS)).ignore_case().synonyms(&[("agent", "dogstatsd"), ("statsd", "dogstatsd"), ("http", "api")]).default("dogstatsd").doc("dogstatsd (to an agent) or api (Datadog's HTTP series API)"),
    // No declared default: the fallback depends on other sources.
    OptionSpec { default: None, ..opt::ADDR }.doc("DogStatsD agent host:port (UDP); else DD_AGENT_HOST with DD_DOGSTATSD_PORT, else localhost:8125"),
    opt::NAMESPACE.doc("metric name prefix, trailing dot included"),
    // Datadog bills and rolls up per 10 s; pushing every second to the API buys nothing.
    OptionSpec { default: None, ..opt::PUSH_INTERVAL }.default_by("transport", &[("dogstatsd", "1s"), ("api", "10s")]).doc("how often folded samples are sent"),
    opt::BUFFER_SIZE.doc("largest DogStatsD datagram in bytes"),
    opt::ENABLE_TAGS.default("true").doc("send tags"),
    opt::TAG_BLOCKLIST,
    OptionSpec::new("tags", Kind::Map(':')).separators(",; \t").bare("").env(&["DD_TAGS"]).doc("tags on every metric, key:value separated by , ; or space (DD_ENV, DD_SERVICE, DD_VERSION add env, service, version)"),
    opt::CHECKS_AS.doc("k6: check.<name>.pass|fail (k6 dashboard); tag: checks with check and result tags"),
    OptionSpec::new("distribution", Kind::Bool).default("false").modes(AGENT).doc("send trends as distributions (|d) instead of timings (|ms)"),
    opt::MAX_TREND_SAMPLES.doc("dogstatsd: trend values per series and interval before sampling with |@rate"),
    // No mode: a DD_API_KEY exported for other tools must not break transport=dogstatsd.
    OptionSpec::new("apiKey", Kind::Str).secret().empty_is_unset().env(&["DD_API_KEY"]).doc("Datadog API key (transport=api)"),
    OptionSpec::new("site", Kind::Str).env(&["DD_SITE"]).default("datadoghq.com").doc("api: datadoghq.com, datadoghq.eu, us3.datadoghq.com, us5.datadoghq.com, ap1.datadoghq.com, ddog-gov.com (or us1, eu, us3, us5, ap1, gov)"),
    OptionSpec::new("endpoint", Kind::Str).env(&["DD_URL"]).doc("api: base URL (proxies, tests; default https://api.<site>); /api/v2/series (or v1) is appended unless present"),
    OptionSpec::new("apiVersion", Kind::Enum(ApiVersion::WORDS)).ignore_case().synonyms(&[("v2", "2"), ("v1", "1")]).default("2").modes(API).doc("2 (/api/v2/series) or 1 (/api/v1/series)"),
    OptionSpec::new("trendsAs", Kind::Enum(TrendsAs::WORDS)).ignore_case().synonyms(&[("gauge", "gauges"), ("distributions", "distribution")]).default("gauges").modes(API).doc("gauges (.avg .min .max .median .95percentile .count) or distribution (/api/v1/distribution_points)"),
    OptionSpec::new("host", Kind::Str).env(&["DD_HOSTNAME"]).doc("api: the host of every series (default: this machine's hostname)"),
    OptionSpec::new("gzip", Kind::Bool).default("true").modes(API).doc("gzip request bodies"),
    OptionSpec::new("timeout", Kind::Duration).default("10s").modes(API).doc("HTTP request timeout"),
    OptionSpec::new("proxy", Kind::Str).secret().empty_is_unset().env(&["LOADRUN_DATADOG_PROXY"]).doc("api: HTTP proxy URL (http://[user:pass@]host:port) for every request; unset: HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment, loopback always direct."),
    OptionSpec::new("tlsMinimumVersion", Kind::Str).empty_is_unset().env(&["LOADRUN_DATADOG_TLS_MINIMUM_VERSION"]).default("1.2").doc("api: oldest TLS version accepted: 1.2 or 1.3"),
];

const OPTIONS: &[OptionSpec] = options![OWN, tls_files!("LOADRUN_DATADOG")];

pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("datadog", &[])
    .describe("Datadog: DogStatsD to an agent, or the HTTP series API")
    .options(OPTIONS)
    .positional(Positional::Value("addr"))
    .mode_option("transport");

words! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Transport { DogStatsd = "dogstatsd", Api = "api" }
}

/// The parsed options: one of the two transports.
#[derive(Debug, Clone)]
pub enum DatadogConfig {
    DogStatsd(StatsdConfig),
    Api(Box<ApiConfig>),
}

words! {
    /// Which series API `transport=api` posts to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ApiVersion { V2 = "2", V1 = "1" }
}

words! {
    /// How `transport=api` sends trends.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TrendsAs {
        /// `.avg .min .max .median .95percentile .count`, the names the agent makes of a timing.
        Gauges = "gauges",
        /// Every value to `/api/v1/distribution_points`, for global percentiles.
        Distribution = "distribution",
    }
}

/// Settings of `transport=api`.
#[derive(Debug, Clone)]
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

pub fn parse_config(init: &OutputInit) -> Result<DatadogConfig, PluginError> {
    let v = Values::from_init(init, &OUTPUT)?;
    let output = v.output().to_string();
    let transport = v.get("transport")?;
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
            let Some(api_key) = v.secret("apiKey")? else {
                return Err(PluginError::new(format!(
                    "{output}: transport=api needs an API key: set DD_API_KEY (or apiKey in the plan)"
                )));
            };
            let api_version = v.get("apiVersion")?;
            let trends_as = v.get("trendsAs")?;
            let base_url = base_url(&v)?;
            let url = format!("{base_url}/api/v{}/series", v.string("apiVersion")?);
            Ok(DatadogConfig::Api(Box::new(ApiConfig {
                output,
                url,
                base_url,
                api_version,
                trends_as,
                api_key: Secret::new(api_key.expose().trim()),
                host: v.opt("host")?.unwrap_or_else(hostname),
                push_interval: v.duration("pushInterval")?,
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
    let timeout = v.duration("timeout")?;
    Ok(HttpConfig {
        timeout,
        connect_timeout: timeout.min(Duration::from_secs(5)),
        user_agent: concat!("loadrun-out-datadog/", env!("CARGO_PKG_VERSION")).to_string(),
        gzip: false,
        tls: TlsOptions::from_values(v)?,
        proxy: v.opt("proxy")?,
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
    let mut tags: Vec<(String, String)> = v.opt("tags")?.unwrap_or_default();
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

/// Datadog's short names of its sites (any case); any other name with a dot is a site's host.
#[rustfmt::skip]
const SITES: &[(&str, &str)] = &[("us1", "datadoghq.com"), ("us", "datadoghq.com"), ("eu", "datadoghq.eu"), ("eu1", "datadoghq.eu"), ("us3", "us3.datadoghq.com"), ("us5", "us5.datadoghq.com"), ("ap1", "ap1.datadoghq.com"), ("gov", "ddog-gov.com"), ("us1-fed", "ddog-gov.com")];

/// The API base URL from `endpoint`/`DD_URL`, else from `site`/`DD_SITE`.
fn base_url(v: &Values) -> Result<String, PluginError> {
    let base = match v.opt::<String>("endpoint")? {
        Some(e) => e.trim().trim_end_matches('/').to_string(),
        None => {
            let site = v.string("site")?.trim().to_ascii_lowercase();
            let host = SITES
                .iter()
                .find(|(s, _)| *s == site)
                .map_or(site.as_str(), |e| e.1);
            if !host.contains('.') || host.contains(['/', ' ']) {
                let expected = "datadoghq.com, datadoghq.eu, us3.datadoghq.com, us5.datadoghq.com, ap1.datadoghq.com or ddog-gov.com";
                return Err(invalid(v, "site", &site, expected));
            }
            format!("https://api.{host}")
        }
    };
    Endpoint::parse_http("endpoint", &base)
        .map_err(|e| PluginError::new(format!("{}: {e}", v.output())))?;
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
