//! Options → [`Config`]: k6's `K6_CLOUD_*` environment names, its JSON option names, and the
//! deprecated `-o cloud=NAME` form (the test name).

use std::time::Duration;

use loadrun_http_support::{Endpoint, HttpConfig, Url};
use loadrun_plugin_api::{OptionDoc, Options, OutputInit, PluginError};

/// Everything the output needs, validated.
#[derive(Clone)]
pub struct Config {
    /// Never printed: see the `Debug` impl.
    pub token: Option<String>,
    /// The base URL (`K6_CLOUD_HOST`), without a trailing slash.
    pub host: Url,
    pub project_id: i64,
    pub name: String,
    pub timeout: Duration,
    pub aggregation_period: Duration,
    pub aggregation_wait_period: Duration,
    pub push_interval: Duration,
    pub push_concurrency: usize,
    pub max_series_in_batch: usize,
    pub stop_on_error: bool,
    /// Push into this existing run: no create, no finish.
    pub push_ref_id: Option<String>,
    pub web_app_url: String,
    /// The most (series, time bucket) aggregates held in memory before the oldest buckets are
    /// sent early.
    pub max_held_aggregates: usize,
    /// From the test metadata.
    pub vus: u64,
    pub duration_s: Option<u64>,
    /// (metric, source) in plan order.
    pub thresholds: Vec<(String, String)>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("host", &Endpoint::new(&self.host).to_string())
            .field("project_id", &self.project_id)
            .field("name", &self.name)
            .field("aggregation_period", &self.aggregation_period)
            .field("push_ref_id", &self.push_ref_id)
            .finish_non_exhaustive()
    }
}

/// (option, env names, default, description, secret).
type Doc = (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    bool,
);

const DOCS: &[Doc] = &[
    (
        "token",
        &["K6_CLOUD_TOKEN"],
        "",
        "API token, sent as `Authorization: Token …`",
        true,
    ),
    (
        "host",
        &["K6_CLOUD_HOST"],
        "https://ingest.k6.io",
        "base URL of the results service (`/v1/tests`, `/v2/metrics` are appended)",
        false,
    ),
    (
        "projectID",
        &["K6_CLOUD_PROJECT_ID"],
        "0",
        "project the test run belongs to (0: the account's default)",
        false,
    ),
    (
        "name",
        &["K6_CLOUD_NAME"],
        "the plan name",
        "test run name (also `-o cloud=NAME`, deprecated in k6)",
        false,
    ),
    (
        "timeout",
        &["K6_CLOUD_TIMEOUT"],
        "1m",
        "per-request timeout",
        false,
    ),
    (
        "aggregationPeriod",
        &["K6_CLOUD_AGGREGATION_PERIOD"],
        "3s",
        "time bucket width (whole seconds)",
        false,
    ),
    (
        "aggregationWaitPeriod",
        &["K6_CLOUD_AGGREGATION_WAIT_PERIOD"],
        "8s",
        "how long after its start a bucket stays open for late samples (whole seconds)",
        false,
    ),
    (
        "metricPushInterval",
        &["K6_CLOUD_METRIC_PUSH_INTERVAL"],
        "1s",
        "how often closed buckets are pushed",
        false,
    ),
    (
        "metricPushConcurrency",
        &["K6_CLOUD_METRIC_PUSH_CONCURRENCY"],
        "1",
        "requests sent in parallel when a push needs several",
        false,
    ),
    (
        "maxTimeSeriesInBatch",
        &["K6_CLOUD_MAX_TIME_SERIES_IN_BATCH"],
        "1000",
        "most series in one request",
        false,
    ),
    (
        "stopOnError",
        &["K6_CLOUD_STOP_ON_ERROR"],
        "false",
        "abort the test when the service says to stop (needs abortOnError=true for this output)",
        false,
    ),
    (
        "pushRefID",
        &["K6_CLOUD_PUSH_REF_ID", "K6_CLOUDRUN_TEST_RUN_ID"],
        "",
        "push into this existing test run (no create, no finish)",
        false,
    ),
    (
        "webAppURL",
        &["K6_CLOUD_WEB_APP_URL"],
        "https://app.k6.io",
        "where the run's page is shown (printed at start)",
        false,
    ),
    (
        "apiVersion",
        &["K6_CLOUD_API_VERSION"],
        "2",
        "metrics push protocol version; only 2 is supported (as in k6)",
        false,
    ),
    (
        "maxHeldAggregates",
        &[],
        "200000",
        "most (series, bucket) aggregates held before the oldest are sent early (bounded memory)",
        false,
    ),
];

/// The option documentation shown by `loadrun plugins info`.
pub fn option_docs() -> Vec<OptionDoc> {
    DOCS.iter()
        .map(|(name, env, default, description, secret)| OptionDoc {
            name: (*name).into(),
            env: env.join(",").into(),
            default: (*default).into(),
            description: (*description).into(),
            secret: *secret,
        })
        .collect()
}

fn env_of(name: &str) -> &'static [&'static str] {
    DOCS.iter()
        .find(|d| d.0 == name)
        .map(|d| d.1)
        .unwrap_or(&[])
}

fn whole_seconds(
    o: &Options,
    name: &str,
    d: Duration,
    allow_zero: bool,
) -> Result<Duration, PluginError> {
    if d.subsec_nanos() != 0 || (!allow_zero && d.is_zero()) {
        let what = if allow_zero {
            "whole seconds such as 8s"
        } else {
            "whole seconds above zero such as 3s"
        };
        return Err(o.invalid(name, &format!("{d:?}"), what));
    }
    Ok(d)
}

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let o = Options::from_init(init)?;
        let known: Vec<&str> = DOCS.iter().map(|d| d.0).collect();
        o.reject_unknown(&known)?;
        let get = |name: &str| o.get(name, env_of(name)).filter(|v| !v.trim().is_empty());

        let host_text = o.get_or("host", env_of("host"), "https://ingest.k6.io");
        let host = Url::parse(host_text.trim().trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                o.invalid(
                    "host",
                    &Endpoint::from_text(&host_text).to_string(),
                    "an http(s) URL such as https://ingest.k6.io",
                )
            })?;

        let project_id = match get("projectID") {
            None => 0,
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|p| *p >= 0)
                .ok_or_else(|| o.invalid("projectID", &v, "a project number"))?,
        };
        let name = get("name")
            .or_else(|| o.positional().map(str::to_string))
            .unwrap_or_else(|| init.test.plan_name.to_string());

        let timeout = o.get_duration("timeout", env_of("timeout"), Duration::from_secs(60))?;
        if timeout.is_zero() {
            return Err(o.invalid("timeout", "0s", "a duration above zero"));
        }
        let aggregation_period = whole_seconds(
            &o,
            "aggregationPeriod",
            o.get_duration(
                "aggregationPeriod",
                env_of("aggregationPeriod"),
                Duration::from_secs(3),
            )?,
            false,
        )?;
        let aggregation_wait_period = whole_seconds(
            &o,
            "aggregationWaitPeriod",
            o.get_duration(
                "aggregationWaitPeriod",
                env_of("aggregationWaitPeriod"),
                Duration::from_secs(8),
            )?,
            true,
        )?;
        let push_interval = o.get_duration(
            "metricPushInterval",
            env_of("metricPushInterval"),
            Duration::from_secs(1),
        )?;
        let push_concurrency =
            o.get_u64("metricPushConcurrency", env_of("metricPushConcurrency"), 1)?;
        if !(1..=64).contains(&push_concurrency) {
            return Err(o.invalid(
                "metricPushConcurrency",
                &push_concurrency.to_string(),
                "1 to 64",
            ));
        }
        let max_series = o.get_u64("maxTimeSeriesInBatch", env_of("maxTimeSeriesInBatch"), 1000)?;
        if max_series == 0 {
            return Err(o.invalid("maxTimeSeriesInBatch", "0", "at least 1"));
        }
        let max_held = o.get_u64("maxHeldAggregates", &[], 200_000)?;
        if max_held == 0 {
            return Err(o.invalid("maxHeldAggregates", "0", "at least 1"));
        }
        if let Some(v) = get("apiVersion") {
            if v.trim() != "2" {
                return Err(o.invalid(
                    "apiVersion",
                    &v,
                    "2 (version 1 is not supported anymore, as in k6)",
                ));
            }
        }
        let web_app_url = o
            .get_or("webAppURL", env_of("webAppURL"), "https://app.k6.io")
            .trim()
            .trim_end_matches('/')
            .to_string();

        let duration_s = init
            .test
            .planned_duration_ms
            .as_ref()
            .into_option()
            .map(|ms| ms.div_ceil(1000));
        Ok(Config {
            token: get("token").map(|t| t.trim().to_string()),
            host,
            project_id,
            name,
            timeout,
            aggregation_period,
            aggregation_wait_period,
            push_interval,
            push_concurrency: push_concurrency as usize,
            max_series_in_batch: usize::try_from(max_series).unwrap_or(usize::MAX),
            stop_on_error: o.get_bool("stopOnError", env_of("stopOnError"), false)?,
            push_ref_id: get("pushRefID").map(|v| v.trim().to_string()),
            web_app_url,
            max_held_aggregates: usize::try_from(max_held).unwrap_or(usize::MAX),
            vus: init.test.max_vus,
            duration_s,
            thresholds: init
                .test
                .thresholds
                .iter()
                .map(|t| (t.metric.to_string(), t.source.to_string()))
                .collect(),
        })
    }

    /// `host` + `path` (path starts with `/`).
    pub fn url(&self, path: &str) -> Result<Url, PluginError> {
        let base = self.host.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}")).map_err(|e| {
            PluginError::new(format!(
                "cloud: bad URL {}{path}: {e}",
                Endpoint::new(&self.host)
            ))
        })
    }

    pub fn http(&self) -> HttpConfig {
        HttpConfig {
            timeout: self.timeout,
            connect_timeout: self.timeout.min(Duration::from_secs(10)),
            user_agent: format!("loadrun-cloud/{}", env!("CARGO_PKG_VERSION")),
            // The JSON calls go plain, the metrics go snappy-compressed: never gzip.
            gzip: false,
            ..HttpConfig::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use loadrun_plugin_api::testkit;

    fn cfg(arg: Option<&str>, env: &[(&str, &str)]) -> Result<Config, PluginError> {
        Config::from_init(&testkit::init("cloud", arg, "{}", env))
    }

    #[test]
    fn defaults_are_k6s() {
        let c = cfg(None, &[]).unwrap();
        assert_eq!(c.host.as_str(), "https://ingest.k6.io/");
        assert_eq!(c.aggregation_period, Duration::from_secs(3));
        assert_eq!(c.aggregation_wait_period, Duration::from_secs(8));
        assert_eq!(c.push_interval, Duration::from_secs(1));
        assert_eq!(c.max_series_in_batch, 1000);
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert_eq!(c.name, "testkit");
        assert_eq!(c.duration_s, Some(10));
        assert!(c.token.is_none() && c.push_ref_id.is_none() && !c.stop_on_error);
    }

    #[test]
    fn env_arg_and_positional_name() {
        let env = [
            ("K6_CLOUD_TOKEN", "secrettoken"),
            ("K6_CLOUD_HOST", "http://127.0.0.1:27001/"),
            ("K6_CLOUD_PROJECT_ID", "77"),
            ("K6_CLOUDRUN_TEST_RUN_ID", "4242"),
        ];
        let c = cfg(Some("script.js"), &env).unwrap();
        assert_eq!(c.name, "script.js");
        assert_eq!(c.project_id, 77);
        assert_eq!(c.push_ref_id.as_deref(), Some("4242"));
        assert_eq!(
            c.url("/v1/tests").unwrap().as_str(),
            "http://127.0.0.1:27001/v1/tests"
        );
        assert!(!format!("{c:?}").contains("secrettoken"));
        let c = cfg(Some("name=n1,aggregationPeriod=2s"), &env).unwrap();
        assert_eq!(
            (c.name.as_str(), c.aggregation_period),
            ("n1", Duration::from_secs(2))
        );
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        for (arg, word) in [
            ("aggregationPeriod=1500ms", "aggregationPeriod"),
            ("aggregationPeriod=0s", "aggregationPeriod"),
            ("maxTimeSeriesInBatch=0", "maxTimeSeriesInBatch"),
            ("apiVersion=1", "apiVersion"),
            ("host=ftp://x", "host"),
            ("colour=blue", "colour"),
        ] {
            let e = cfg(Some(arg), &[]).unwrap_err().to_string();
            assert!(e.contains(word), "{arg}: {e}");
        }
    }
}
