//! Options → [`Config`]: k6's `K6_CLOUD_*` environment names, its JSON option names, and the
//! deprecated `-o cloud=NAME` form (the test name). Declared once in [`OUTPUT`].

use std::time::Duration;

use loadrun_http_support::{Endpoint, SafeUrl};
use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Secret, Values,
};

const COUNT: Kind = Kind::int_from(1);

#[rustfmt::skip]
const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("token", Kind::Str).secret().empty_is_unset().env(&["K6_CLOUD_TOKEN"]).doc("API token, sent as `Authorization: Token …`"),
    OptionSpec::new("host", Kind::Url).env(&["K6_CLOUD_HOST"]).default("https://ingest.k6.io").doc("base URL of the results service (`/v1/tests`, `/v2/metrics` are appended)"),
    OptionSpec::new("projectID", Kind::int_from(0)).env(&["K6_CLOUD_PROJECT_ID"]).default("0").doc("project the test run belongs to (0: the account's default)"),
    // No declared default: the plan's name, known only when the output is created.
    OptionSpec::new("name", Kind::Str).empty_is_unset().env(&["K6_CLOUD_NAME"]).doc("test run name (default: the plan name; also `-o cloud=NAME`, deprecated in k6)"),
    OptionSpec::new("timeout", Kind::Duration).env(&["K6_CLOUD_TIMEOUT"]).default("1m").nonzero().doc("per-request timeout"),
    OptionSpec::new("aggregationPeriod", Kind::Duration).env(&["K6_CLOUD_AGGREGATION_PERIOD"]).default("3s").nonzero().doc("time bucket width (whole seconds)"),
    OptionSpec::new("aggregationWaitPeriod", Kind::Duration).env(&["K6_CLOUD_AGGREGATION_WAIT_PERIOD"]).default("8s").doc("how long after its start a bucket stays open for late samples (whole seconds)"),
    OptionSpec::new("metricPushInterval", Kind::Duration).env(&["K6_CLOUD_METRIC_PUSH_INTERVAL"]).default("1s").doc("how often closed buckets are pushed"),
    OptionSpec::new("metricPushConcurrency", Kind::Int { min: 1, max: 64 }).env(&["K6_CLOUD_METRIC_PUSH_CONCURRENCY"]).default("1").doc("requests sent in parallel when a push needs several"),
    OptionSpec::new("maxTimeSeriesInBatch", COUNT).env(&["K6_CLOUD_MAX_TIME_SERIES_IN_BATCH"]).default("1000").doc("most series in one request"),
    OptionSpec::new("stopOnError", Kind::Bool).env(&["K6_CLOUD_STOP_ON_ERROR"]).default("false").doc("abort the test when the service says to stop (needs abortOnError=true for this output)"),
    OptionSpec::new("pushRefID", Kind::Str).empty_is_unset().env(&["K6_CLOUD_PUSH_REF_ID", "K6_CLOUDRUN_TEST_RUN_ID"]).doc("push into this existing test run (no create, no finish)"),
    OptionSpec::new("webAppURL", Kind::Str).env(&["K6_CLOUD_WEB_APP_URL"]).default("https://app.k6.io").doc("where the run's page is shown (printed at start)"),
    OptionSpec::new("apiVersion", Kind::Enum(&["2"])).env(&["K6_CLOUD_API_VERSION"]).default("2").doc("metrics push protocol version; only 2 is supported (version 1 is not anymore, as in k6)"),
    OptionSpec::new("maxHeldAggregates", COUNT).default("200000").doc("most (series, bucket) aggregates held before the oldest are sent early (bounded memory)"),
];

/// The cloud output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("cloud", &[])
    .describe("k6 Cloud / Grafana Cloud k6 results (test runs + metrics push v2)")
    .options(OPTIONS)
    .positional(Positional::Value("name"));

/// Everything the output needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub token: Option<Secret>,
    /// The base URL (`K6_CLOUD_HOST`), without a trailing slash.
    pub host: SafeUrl,
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

/// A text option trimmed (blanks are declared unset).
fn text(v: &Values, name: &str) -> Result<Option<String>, PluginError> {
    Ok(v.opt::<String>(name)?.map(|s| s.trim().to_string()))
}

/// The buckets are whole seconds (k6's protocol counts them so).
fn whole_seconds(v: &Values, name: &str) -> Result<Duration, PluginError> {
    let d = v.duration(name)?;
    if d.subsec_nanos() != 0 {
        return Err(PluginError::new(format!(
            "{}: option {name}={d:?} is not valid: expected whole seconds such as 3s",
            v.output()
        )));
    }
    Ok(d)
}

impl Config {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        let host_text = v.string("host")?;
        let host = Endpoint::parse_http("host", host_text.trim().trim_end_matches('/'))
            .map_err(|e| PluginError::new(format!("{}: {e}", v.output())))?;
        Ok(Config {
            token: text(&v, "token")?.map(Secret::new),
            host,
            project_id: v.int("projectID")?,
            // As written (not trimmed), as before.
            name: v
                .opt("name")?
                .unwrap_or_else(|| init.test.plan_name.to_string()),
            timeout: v.duration("timeout")?,
            aggregation_period: whole_seconds(&v, "aggregationPeriod")?,
            aggregation_wait_period: whole_seconds(&v, "aggregationWaitPeriod")?,
            push_interval: v.duration("metricPushInterval")?,
            push_concurrency: v.get("metricPushConcurrency")?,
            max_series_in_batch: v.get("maxTimeSeriesInBatch")?,
            stop_on_error: v.bool("stopOnError")?,
            push_ref_id: text(&v, "pushRefID")?,
            web_app_url: v
                .string("webAppURL")?
                .trim()
                .trim_end_matches('/')
                .to_string(),
            max_held_aggregates: v.get("maxHeldAggregates")?,
            vus: init.test.max_vus,
            duration_s: init
                .test
                .planned_duration()
                .map(|d| d.as_millis().div_ceil(1000) as u64),
            thresholds: init
                .test
                .thresholds
                .iter()
                .map(|t| (t.metric.to_string(), t.source.to_string()))
                .collect(),
        })
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
