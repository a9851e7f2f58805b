//! Options → [`Config`]: endpoint/region, the key, the push interval and what is sent,
//! declared once in [`OUTPUT`].

use std::time::Duration;

use crate::limits;
use loadrun_http_support::{tls_files, Endpoint, HttpConfig, SafeUrl, TlsOptions};
use loadrun_plugin_api::{
    options, DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret, Values,
};

/// New Relic's US Metric API endpoint.
pub const US_ENDPOINT: &str = "https://metric-api.newrelic.com/metric/v1";
/// New Relic's EU Metric API endpoint.
pub const EU_ENDPOINT: &str = "https://metric-api.eu.newrelic.com/metric/v1";

/// Everything a [`crate::NewRelicOutput`] needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub url: SafeUrl,
    /// The `Api-Key` header value.
    pub api_key: Secret,
    pub push_interval: Duration,
    /// Metric names are `prefix + k6 name`.
    pub prefix: String,
    /// Percentiles (0 < p < 100) sent as gauges `NAME.pXX` for trends.
    pub percentiles: Vec<f64>,
    /// Tag keys not sent as attributes.
    pub tag_blocklist: Vec<String>,
    /// Send sample metadata (`vu`, `iter`) as attributes too.
    pub include_metadata: bool,
    pub max_payload_bytes: usize,
    pub max_attributes: usize,
    pub http: HttpConfig,
}

impl Config {
    /// The endpoint as it may be shown.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.url)
    }
}

#[rustfmt::skip]
const OWN: &[OptionSpec] = &[
    OptionSpec::new("apiKey", Kind::Str).env(&["NEW_RELIC_LICENSE_KEY", "NEW_RELIC_API_KEY"]).secret().empty_is_unset().doc("License key or Insert key of the account (`Api-Key` header). Required."),
    OptionSpec::new("region", Kind::Enum(&["us", "eu"])).ignore_case().empty_is_unset().env(&["NEW_RELIC_REGION"]).default("us").doc("Data center: us (metric-api.newrelic.com) or eu (metric-api.eu.newrelic.com), any case."),
    // Str, not Url: its errors show the URL without a password (Endpoint).
    OptionSpec::new("endpoint", Kind::Str).empty_is_unset().env(&["NEW_RELIC_METRIC_URL"]).default_by("region", &[("us", US_ENDPOINT), ("eu", EU_ENDPOINT)]).doc("Full Metric API URL; overrides region (a proxy, FedRAMP, a test server); also the bare `-o newrelic=URL` argument."),
    OptionSpec::new("pushInterval", Kind::Duration).env(&["LOADRUN_NEWRELIC_PUSH_INTERVAL"]).default("10s").at_least("100ms").doc("Aggregation window, at least 100ms: one count/gauge/summary per series per window (interval.ms)."),
    OptionSpec::new("prefix", Kind::Str).env(&["LOADRUN_NEWRELIC_PREFIX"]).default("k6.").doc("Prepended to every metric name (k6.http_req_duration), as New Relic's StatsD recipe names them."),
    OptionSpec::new("percentiles", Kind::List(',')).env(&["LOADRUN_NEWRELIC_PERCENTILES"]).default("50,90,95,99").doc("Percentile gauges sent for trends (NAME.p95; 50,90,p95,p(99),99.9); empty for none."),
    OptionSpec::new("tagBlocklist", Kind::List(',')).env(&["LOADRUN_NEWRELIC_TAG_BLOCKLIST"]).default("").doc("Tag keys not sent as attributes, comma-separated."),
    OptionSpec::new("includeMetadata", Kind::Bool).env(&["LOADRUN_NEWRELIC_INCLUDE_METADATA"]).default("false").doc("Send sample metadata (vu, iter) as attributes: one time series per VU and iteration, so off by default."),
    OptionSpec::new("timeout", Kind::Duration).env(&["LOADRUN_NEWRELIC_TIMEOUT"]).default("10s").nonzero().doc("The most one HTTP request may take."),
    OptionSpec::new("gzip", Kind::Bool).env(&["LOADRUN_NEWRELIC_GZIP"]).default("true").doc("gzip request bodies (New Relic strongly recommends it)."),
    OptionSpec::new("maxPayloadBytes", Kind::Int { min: 1024, max: limits::MAX_PAYLOAD_BYTES as i64 }).env(&["LOADRUN_NEWRELIC_MAX_PAYLOAD_BYTES"]).default("1000000").doc("Most uncompressed bytes per POST (New Relic's limit is 10^6); larger pushes are split."),
    OptionSpec::new("maxAttributes", Kind::Int { min: 1, max: limits::MAX_ATTRIBUTES as i64 }).env(&["LOADRUN_NEWRELIC_MAX_ATTRIBUTES"]).default("100").doc("Most attributes per data point, common ones included; further tags are dropped and counted."),
    // Secret: a proxy URL may carry a password.
    OptionSpec::new("proxy", Kind::Str).secret().empty_is_unset().env(&["LOADRUN_NEWRELIC_PROXY"]).doc("HTTP proxy URL (http://[user:pass@]host:port) for every request; unset: HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment, loopback always direct."),
];

const OPTIONS: &[OptionSpec] = options![OWN, tls_files!("LOADRUN_NEWRELIC")];

/// The newrelic output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("newrelic", &["new-relic"])
    .describe("New Relic Metric API: count, gauge, summary and percentile gauges (gzip JSON)")
    .options(OPTIONS)
    .positional(Positional::Url("endpoint"));

fn err(msg: impl std::fmt::Display) -> PluginError {
    PluginError::new(format!("newrelic: {msg}"))
}

/// Parses `50,90,p95,p(99),99.9` into fractions of 100.
pub fn parse_percentiles(list: &[String]) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for item in list {
        let t = item.trim();
        let t = t
            .strip_prefix("p(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(t);
        let t = t.strip_prefix('p').unwrap_or(t);
        match t.parse::<f64>() {
            Ok(p) if p > 0.0 && p < 100.0 => {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            _ => return Err(item.clone()),
        }
    }
    Ok(out)
}

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        let url_text = v.string("endpoint")?;
        let url = Endpoint::parse_http("endpoint", &url_text).map_err(err)?;
        let api_key = Secret::new(v.secret("apiKey")?.unwrap_or_default().expose().trim());
        if api_key.is_empty() {
            return Err(err(
                "no API key: set NEW_RELIC_LICENSE_KEY (or NEW_RELIC_API_KEY, or the apiKey option) to a license or Insert key of the account",
            ));
        }
        if api_key.expose().chars().any(|c| c.is_control() || c == ' ') {
            // Not echoed: it is a secret even when malformed.
            return Err(err("the API key holds spaces or control characters"));
        }
        let percentiles = parse_percentiles(&v.list("percentiles")?).map_err(|bad| {
            let expected = "numbers between 0 and 100 (50,90,p95,99.9)";
            err(format_args!(
                "option percentiles={bad:?} is not valid: expected {expected}"
            ))
        })?;
        let timeout = v.duration("timeout")?;
        let http = HttpConfig {
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(5)),
            user_agent: format!("loadrun-newrelic/{}", env!("CARGO_PKG_VERSION")),
            gzip: v.bool("gzip")?,
            tls: TlsOptions::from_values(&v)?,
            proxy: v.opt("proxy")?,
            max_response_bytes: 16 * 1024,
        };
        Ok(Config {
            url,
            api_key,
            push_interval: v.duration("pushInterval")?,
            prefix: v.string("prefix")?,
            percentiles,
            tag_blocklist: v.list("tagBlocklist")?,
            include_metadata: v.bool("includeMetadata")?,
            max_payload_bytes: v.get("maxPayloadBytes")?,
            max_attributes: v.get("maxAttributes")?,
            http,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit::init;

    const KEY: (&str, &str) = ("NEW_RELIC_LICENSE_KEY", "eu01xxSECRETKEYNRAL");

    fn cfg(arg: Option<&str>, env: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_init(&init("newrelic", arg, "{}", env)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_to_the_us_endpoint_every_10s() {
        let c = cfg(None, &[KEY]).unwrap();
        assert_eq!(c.url.as_str(), US_ENDPOINT);
        assert_eq!(c.push_interval, Duration::from_secs(10));
        assert_eq!(c.prefix, "k6.");
        assert_eq!(c.percentiles, vec![50.0, 90.0, 95.0, 99.0]);
        assert_eq!(c.api_key.expose(), KEY.1);
        assert!(!format!("{c:?}").contains(KEY.1));
    }

    #[test]
    fn region_endpoint_and_env_precedence() {
        let c = cfg(Some("region=eu"), &[KEY]).unwrap();
        assert_eq!(c.url.as_str(), EU_ENDPOINT);
        let c = cfg(
            Some("region=eu"),
            &[
                KEY,
                ("NEW_RELIC_METRIC_URL", "http://127.0.0.1:9/metric/v1"),
            ],
        )
        .unwrap();
        assert_eq!(c.url.as_str(), "http://127.0.0.1:9/metric/v1");
        let c = cfg(Some("http://127.0.0.1:7/m"), &[KEY]).unwrap();
        assert_eq!(c.url.as_str(), "http://127.0.0.1:7/m");
        let c = cfg(Some("apiKey=fromarg"), &[("NEW_RELIC_API_KEY", "fromenv")]).unwrap();
        assert_eq!(c.api_key.expose(), "fromarg");
        let c = cfg(None, &[("NEW_RELIC_API_KEY", "fromenv")]).unwrap();
        assert_eq!(c.api_key.expose(), "fromenv");
    }

    #[test]
    fn bad_options_are_refused_without_the_key() {
        for (arg, needle) in [
            ("region=ap", "region"),
            ("percentiles=50,101", "percentiles"),
            ("pushInterval=soon", "pushInterval"),
            ("maxPayloadBytes=2000000", "maxPayloadBytes"),
            ("maxAttributes=0", "maxAttributes"),
            ("endpoint=ftp://x/y", "http"),
            ("colour=blue", "colour"),
        ] {
            let e = cfg(Some(arg), &[KEY]).unwrap_err();
            assert!(e.contains(needle), "{arg}: {e}");
            assert!(!e.contains(KEY.1), "{e}");
        }
        let e = cfg(None, &[]).unwrap_err();
        assert!(e.contains("NEW_RELIC_LICENSE_KEY"), "{e}");
    }

    #[test]
    fn under_a_1_3_host_the_same() {
        let mut i = init("newrelic", Some("https://h:1/m?region=EU"), "{}", &[KEY]);
        let raw = loadrun_plugin_api::values::RawOptions::from_init(&i).unwrap();
        let checked = Values::resolve(&OUTPUT, &raw).unwrap().to_json();
        i.extra = serde_json::json!({ "options": checked }).to_string().into();
        let c = Config::from_init(&i).unwrap();
        assert_eq!(c.url.as_str(), "https://h:1/m");
        assert_eq!(c.api_key.expose(), KEY.1);
        assert_eq!(c.max_payload_bytes, 1_000_000);
        assert!(cfg(Some("region=EU"), &[KEY]).is_ok());
    }

    #[test]
    fn percentile_spellings() {
        let l: Vec<String> = ["p(95)", "p99.9", "50", "50"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(parse_percentiles(&l).unwrap(), vec![95.0, 99.9, 50.0]);
        assert!(parse_percentiles(&["0".to_string()]).is_err());
    }
}
