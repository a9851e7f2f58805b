//! Options → [`Config`]: endpoint/region, the key, the push interval and what is sent.

use std::path::PathBuf;
use std::time::Duration;

use loadrun_http_support::{Endpoint, HttpConfig, TlsOptions, Url};
use loadrun_plugin_api::{OptionDoc, Options, OutputInit, PluginError};

/// New Relic's US Metric API endpoint.
pub const US_ENDPOINT: &str = "https://metric-api.newrelic.com/metric/v1";
/// New Relic's EU Metric API endpoint.
pub const EU_ENDPOINT: &str = "https://metric-api.eu.newrelic.com/metric/v1";

/// The published limits this output keeps to (see the README for the sources).
pub mod limits {
    /// "1MB (10^6 bytes) maximum per POST". The docs do not say whether before or after
    /// compression, so the uncompressed body is bounded, which satisfies both readings.
    pub const MAX_PAYLOAD_BYTES: usize = 1_000_000;
    /// "Max attributes per metric": 150 on the English page, 100 on an older translation; the
    /// stricter figure is kept, common attributes included.
    pub const MAX_ATTRIBUTES: usize = 100;
    /// "Max metric attribute name length: 255 characters".
    pub const MAX_NAME_CHARS: usize = 255;
    /// "Max metric attribute value length: 4096 characters".
    pub const MAX_VALUE_CHARS: usize = 4096;
    /// "Metrics reported with a timestamp older than 48 hours ago or newer than 24 hours from the
    /// time they are reported are dropped." One hour of margin each way, for the time a data
    /// point may wait (push interval, retries) between here and New Relic.
    pub const MAX_AGE_MS: i64 = 47 * 3600 * 1000;
    pub const MAX_AHEAD_MS: i64 = 23 * 3600 * 1000;
}

/// Everything a [`crate::NewRelicOutput`] needs, validated.
#[derive(Clone)]
pub struct Config {
    pub url: Url,
    /// The `Api-Key` header value. Never shown: not in `Debug`, logs or errors.
    pub api_key: String,
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

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.endpoint())
            .field("api_key", &"***")
            .field("push_interval", &self.push_interval)
            .field("prefix", &self.prefix)
            .field("percentiles", &self.percentiles)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The endpoint as it may be shown.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.url)
    }
}

struct Opt {
    name: &'static str,
    env: &'static [&'static str],
    default: &'static str,
    doc: &'static str,
    secret: bool,
}

const fn opt(
    name: &'static str,
    env: &'static [&'static str],
    default: &'static str,
    doc: &'static str,
) -> Opt {
    Opt {
        name,
        env,
        default,
        doc,
        secret: false,
    }
}

const API_KEY: Opt = Opt {
    secret: true,
    ..opt(
        "apiKey",
        &["NEW_RELIC_LICENSE_KEY", "NEW_RELIC_API_KEY"],
        "",
        "License key or Insert key of the account (`Api-Key` header). Required.",
    )
};
const REGION: Opt = opt(
    "region",
    &["NEW_RELIC_REGION"],
    "us",
    "Data center: us (metric-api.newrelic.com) or eu (metric-api.eu.newrelic.com).",
);
const ENDPOINT: Opt = opt(
    "endpoint",
    &["NEW_RELIC_METRIC_URL"],
    "",
    "Full Metric API URL; overrides region (a proxy, FedRAMP, a test server).",
);
const PUSH_INTERVAL: Opt = opt(
    "pushInterval",
    &["LOADRUN_NEWRELIC_PUSH_INTERVAL"],
    "10s",
    "Aggregation window: one count/gauge/summary per series per window (interval.ms).",
);
const PREFIX: Opt = opt(
    "prefix",
    &["LOADRUN_NEWRELIC_PREFIX"],
    "k6.",
    "Prepended to every metric name (k6.http_req_duration), as New Relic's StatsD recipe names them.",
);
const PERCENTILES: Opt = opt(
    "percentiles",
    &["LOADRUN_NEWRELIC_PERCENTILES"],
    "50,90,95,99",
    "Percentile gauges sent for trends (NAME.p95); empty for none.",
);
const TAG_BLOCKLIST: Opt = opt(
    "tagBlocklist",
    &["LOADRUN_NEWRELIC_TAG_BLOCKLIST"],
    "",
    "Tag keys not sent as attributes, comma-separated.",
);
const INCLUDE_METADATA: Opt = opt(
    "includeMetadata",
    &["LOADRUN_NEWRELIC_INCLUDE_METADATA"],
    "false",
    "Send sample metadata (vu, iter) as attributes: one time series per VU and iteration, so off by default.",
);
const TIMEOUT: Opt = opt(
    "timeout",
    &["LOADRUN_NEWRELIC_TIMEOUT"],
    "10s",
    "The most one HTTP request may take.",
);
const GZIP: Opt = opt(
    "gzip",
    &["LOADRUN_NEWRELIC_GZIP"],
    "true",
    "gzip request bodies (New Relic strongly recommends it).",
);
const MAX_PAYLOAD_BYTES: Opt = opt(
    "maxPayloadBytes",
    &["LOADRUN_NEWRELIC_MAX_PAYLOAD_BYTES"],
    "1000000",
    "Most uncompressed bytes per POST (New Relic's limit is 10^6); larger pushes are split.",
);
const MAX_ATTRIBUTES: Opt = opt(
    "maxAttributes",
    &["LOADRUN_NEWRELIC_MAX_ATTRIBUTES"],
    "100",
    "Most attributes per data point, common ones included; further tags are dropped and counted.",
);
const PROXY: Opt = opt(
    "proxy",
    &["LOADRUN_NEWRELIC_PROXY"],
    "",
    "HTTP proxy URL (http://[user:pass@]host:port).",
);
const CA_FILE: Opt = opt(
    "caFile",
    &["LOADRUN_NEWRELIC_CA_FILE"],
    "",
    "PEM file of extra CA certificates to trust (a TLS-inspecting proxy).",
);

const ALL: &[&Opt] = &[
    &API_KEY,
    &REGION,
    &ENDPOINT,
    &PUSH_INTERVAL,
    &PREFIX,
    &PERCENTILES,
    &TAG_BLOCKLIST,
    &INCLUDE_METADATA,
    &TIMEOUT,
    &GZIP,
    &MAX_PAYLOAD_BYTES,
    &MAX_ATTRIBUTES,
    &PROXY,
    &CA_FILE,
];

/// The option docs `loadrun plugins info` shows.
pub fn option_docs() -> Vec<OptionDoc> {
    ALL.iter()
        .map(|o| OptionDoc {
            name: o.name.into(),
            env: o.env.join(",").into(),
            default: o.default.into(),
            description: o.doc.into(),
            secret: o.secret,
        })
        .collect()
}

fn get(o: &Options, opt: &Opt) -> Option<String> {
    o.get(opt.name, opt.env)
}

fn err(output: &str, msg: impl std::fmt::Display) -> PluginError {
    PluginError::new(format!("{output}: {msg}"))
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
        let o = Options::from_init(init)?;
        let out = o.output().to_string();
        if let Some(p) = o.positional() {
            // A URL given as the whole argument is taken as the endpoint.
            if !(p.starts_with("http://") || p.starts_with("https://")) {
                return Err(err(
                    &out,
                    format!(
                        "the argument {:?} is neither key=value options nor an http(s) URL",
                        Endpoint::from_text(p).as_str()
                    ),
                ));
            }
        }
        let known: Vec<&str> = ALL.iter().map(|o| o.name).collect();
        o.reject_unknown(&known)?;

        let region = get(&o, &REGION).unwrap_or_else(|| REGION.default.into());
        let region_url = match region.trim().to_ascii_lowercase().as_str() {
            "" | "us" => US_ENDPOINT,
            "eu" => EU_ENDPOINT,
            _ => return Err(o.invalid("region", &region, "us or eu")),
        };
        let url_text = o
            .positional()
            .map(str::to_string)
            .or_else(|| get(&o, &ENDPOINT).filter(|e| !e.trim().is_empty()))
            .unwrap_or_else(|| region_url.to_string());
        let url = Url::parse(url_text.trim()).map_err(|e| {
            err(
                &out,
                format!(
                    "endpoint {} is not a URL: {e}",
                    Endpoint::from_text(&url_text)
                ),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(err(
                &out,
                format!(
                    "endpoint {} must be an http:// or https:// URL",
                    Endpoint::new(&url)
                ),
            ));
        }

        let api_key = get(&o, &API_KEY).unwrap_or_default().trim().to_string();
        if api_key.is_empty() {
            return Err(err(
                &out,
                "no API key: set NEW_RELIC_LICENSE_KEY (or NEW_RELIC_API_KEY, or the apiKey option) to a license or Insert key of the account",
            ));
        }
        if api_key.chars().any(|c| c.is_control() || c == ' ') {
            // Not echoed: it is a secret even when malformed.
            return Err(err(&out, "the API key holds spaces or control characters"));
        }

        let push_interval = o.get_duration(
            PUSH_INTERVAL.name,
            PUSH_INTERVAL.env,
            Duration::from_secs(10),
        )?;
        if push_interval < Duration::from_millis(100) {
            return Err(o.invalid(
                "pushInterval",
                &format!("{push_interval:?}"),
                "a duration of at least 100ms",
            ));
        }
        let prefix = get(&o, &PREFIX).unwrap_or_else(|| PREFIX.default.into());
        let percentile_list = o
            .get_list(PERCENTILES.name, PERCENTILES.env)
            .unwrap_or_else(|| PERCENTILES.default.split(',').map(String::from).collect());
        let percentiles = parse_percentiles(&percentile_list).map_err(|bad| {
            o.invalid(
                "percentiles",
                &bad,
                "numbers between 0 and 100 (50,90,p95,99.9)",
            )
        })?;
        let tag_blocklist = o
            .get_list(TAG_BLOCKLIST.name, TAG_BLOCKLIST.env)
            .unwrap_or_default();
        let include_metadata = o.get_bool(INCLUDE_METADATA.name, INCLUDE_METADATA.env, false)?;
        let timeout = o.get_duration(TIMEOUT.name, TIMEOUT.env, Duration::from_secs(10))?;
        if timeout.is_zero() {
            return Err(o.invalid("timeout", "0", "a duration greater than 0"));
        }
        let max_payload_bytes = o.get_u64(
            MAX_PAYLOAD_BYTES.name,
            MAX_PAYLOAD_BYTES.env,
            limits::MAX_PAYLOAD_BYTES as u64,
        )?;
        if !(1024..=limits::MAX_PAYLOAD_BYTES as u64).contains(&max_payload_bytes) {
            return Err(o.invalid(
                "maxPayloadBytes",
                &max_payload_bytes.to_string(),
                "a number of bytes between 1024 and 1000000",
            ));
        }
        let max_attributes = o.get_u64(
            MAX_ATTRIBUTES.name,
            MAX_ATTRIBUTES.env,
            limits::MAX_ATTRIBUTES as u64,
        )?;
        if !(1..=limits::MAX_ATTRIBUTES as u64).contains(&max_attributes) {
            return Err(o.invalid(
                "maxAttributes",
                &max_attributes.to_string(),
                "a number between 1 and 100",
            ));
        }
        let http = HttpConfig {
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(5)),
            user_agent: format!("loadrun-newrelic/{}", env!("CARGO_PKG_VERSION")),
            gzip: o.get_bool(GZIP.name, GZIP.env, true)?,
            tls: TlsOptions {
                ca_file: get(&o, &CA_FILE)
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from),
                ..TlsOptions::default()
            },
            proxy: get(&o, &PROXY).filter(|p| !p.is_empty()),
            max_response_bytes: 16 * 1024,
        };
        Ok(Config {
            url,
            api_key,
            push_interval,
            prefix,
            percentiles,
            tag_blocklist,
            include_metadata,
            max_payload_bytes: usize::try_from(max_payload_bytes).unwrap_or(usize::MAX),
            max_attributes: usize::try_from(max_attributes).unwrap_or(usize::MAX),
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
        assert_eq!(c.api_key, KEY.1);
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
        assert_eq!(c.api_key, "fromarg");
        let c = cfg(None, &[("NEW_RELIC_API_KEY", "fromenv")]).unwrap();
        assert_eq!(c.api_key, "fromenv");
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
    fn percentile_spellings() {
        let l: Vec<String> = ["p(95)", "p99.9", "50", "50"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(parse_percentiles(&l).unwrap(), vec![95.0, 99.9, 50.0]);
        assert!(parse_percentiles(&["0".to_string()]).is_err());
    }
}
