//! The test-run calls (`POST /v1/tests`, `POST /v1/tests/{id}`): request bodies written as k6
//! writes them (Go's `encoding/json`: struct field order, map keys sorted, `<>&` escaped), and the
//! create response read leniently.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use loadrun_http_support::{Endpoint, HttpConfig, Url};
use loadrun_plugin_api::{EndReason, LogLevel, PluginError, RunOutcome};
use serde_json::Value;

use crate::config::Config;

/// Where the calls go and how.
impl Config {
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

/// A JSON string literal as Go's encoder writes it.
pub fn go_json_string(s: &str) -> String {
    let plain = serde_json::Value::String(s.to_string()).to_string();
    let mut out = String::with_capacity(plain.len());
    for ch in plain.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The body of `POST /v1/tests`.
pub fn create_body(cfg: &Config) -> String {
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (metric, source) in &cfg.thresholds {
        grouped.entry(metric).or_default().push(source);
    }
    let thresholds = grouped
        .iter()
        .map(|(m, sources)| {
            let list: Vec<String> = sources.iter().map(|s| go_json_string(s)).collect();
            format!("{}:[{}]", go_json_string(m), list.join(","))
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut body = format!("{{\"name\":{}", go_json_string(&cfg.name));
    if cfg.project_id != 0 {
        body.push_str(&format!(",\"project_id\":{}", cfg.project_id));
    }
    body.push_str(&format!(
        ",\"vus\":{},\"thresholds\":{{{thresholds}}}",
        cfg.vus
    ));
    if let Some(d) = cfg.duration_s {
        body.push_str(&format!(",\"duration\":{d}"));
    }
    body.push('}');
    body
}

/// k6's run status codes.
pub fn run_status(reason: EndReason) -> i32 {
    match reason {
        EndReason::Completed => 3,
        EndReason::Interrupted => 5,
        EndReason::OutputAbort | EndReason::Error => 6,
        EndReason::ThresholdAbort => 8,
    }
}

/// The body of `POST /v1/tests/{id}`: result status (0 passed, 1 failed), run status, and per
/// threshold whether it failed.
pub fn finish_body(outcome: &RunOutcome) -> String {
    let mut by_metric: BTreeMap<&str, BTreeMap<&str, bool>> = BTreeMap::new();
    for t in outcome.thresholds.iter() {
        by_metric
            .entry(t.metric.as_str())
            .or_default()
            .insert(t.source.as_str(), !t.passed);
    }
    let any_failed = outcome.thresholds.iter().any(|t| !t.passed);
    let result_status = i32::from(any_failed || !outcome.passed);
    let thresholds = by_metric
        .iter()
        .map(|(m, sources)| {
            let inner = sources
                .iter()
                .map(|(s, failed)| format!("{}:{failed}", go_json_string(s)))
                .collect::<Vec<_>>()
                .join(",");
            format!("{}:{{{inner}}}", go_json_string(m))
        })
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "{{\"result_status\":{result_status},\"run_status\":{},\"thresholds\":{{{thresholds}}}}}",
        run_status(outcome.reason)
    )
}

/// What the service answered to the create call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Created {
    pub reference_id: String,
    pub overrides: Overrides,
    pub logs: Vec<(LogLevel, String)>,
}

/// The config the service imposes (its `config` member); unknown members are ignored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overrides {
    pub aggregation_period: Option<Duration>,
    pub aggregation_wait_period: Option<Duration>,
    pub push_interval: Option<Duration>,
    pub push_concurrency: Option<usize>,
    pub max_series_in_batch: Option<usize>,
    pub stop_on_error: Option<bool>,
    pub timeout: Option<Duration>,
    pub web_app_url: Option<String>,
    pub test_run_details: Option<String>,
    /// Members present but unusable, for a warning.
    pub ignored: Vec<String>,
}

/// k6's duration JSON: a string (`"2s"`) or a number of milliseconds.
fn duration(v: &Value) -> Option<Duration> {
    match v {
        Value::String(s) => loadrun_plugin_api::options::parse_duration(s),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|ms| Duration::from_secs_f64(ms / 1000.0)),
        _ => None,
    }
}

fn count(v: &Value) -> Option<usize> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| *n > 0)
}

/// Reads the create response; `Err` says what is wrong with it (no reference id, not JSON).
pub fn parse_created(body: &str) -> Result<Created, String> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| format!("the response is not JSON: {e}"))?;
    let reference_id = match v.get("reference_id") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if reference_id.is_empty() {
        return Err("the response has no reference_id".into());
    }
    let mut o = Overrides::default();
    if let Some(Value::Object(cfg)) = v.get("config") {
        for (k, val) in cfg {
            if val.is_null() {
                continue;
            }
            let ok = match k.as_str() {
                "aggregationPeriod" => duration(val)
                    .filter(|d| d.subsec_nanos() == 0 && !d.is_zero())
                    .map(|d| o.aggregation_period = Some(d)),
                "aggregationWaitPeriod" => duration(val)
                    .filter(|d| d.subsec_nanos() == 0)
                    .map(|d| o.aggregation_wait_period = Some(d)),
                "metricPushInterval" => duration(val).map(|d| o.push_interval = Some(d)),
                "timeout" => duration(val)
                    .filter(|d| !d.is_zero())
                    .map(|d| o.timeout = Some(d)),
                "metricPushConcurrency" => count(val).map(|n| o.push_concurrency = Some(n.min(64))),
                "maxTimeSeriesInBatch" => count(val).map(|n| o.max_series_in_batch = Some(n)),
                "stopOnError" => val.as_bool().map(|b| o.stop_on_error = Some(b)),
                "webAppURL" => val
                    .as_str()
                    .map(|s| o.web_app_url = Some(s.trim_end_matches('/').to_string())),
                "testRunDetails" => val
                    .as_str()
                    .map(|s| o.test_run_details = Some(s.to_string())),
                _ => Some(()),
            };
            if ok.is_none() {
                o.ignored.push(k.clone());
            }
        }
    }
    let mut logs = Vec::new();
    if let Some(Value::Array(items)) = v.get("logs") {
        for item in items {
            let Some(message) = item.get("message").and_then(Value::as_str) else {
                continue;
            };
            let level = match item.get("level").and_then(Value::as_str).unwrap_or("info") {
                "error" | "fatal" | "panic" => LogLevel::Error,
                "warning" | "warn" => LogLevel::Warn,
                "debug" => LogLevel::Debug,
                _ => LogLevel::Info,
            };
            logs.push((level, message.to_string()));
        }
    }
    Ok(Created {
        reference_id,
        overrides: o,
        logs,
    })
}

/// A 16-hex-digit idempotency key, unique per request body.
pub fn idempotency_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per process; the sequence and clock make each key
    // distinct within it.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SEQ.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:016x}", h.finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn go_escaping() {
        assert_eq!(
            go_json_string("p(95)<500 & >"),
            r#""p(95)\u003c500 \u0026 \u003e""#
        );
        assert_eq!(go_json_string("a\"b\n"), r#""a\"b\n""#);
    }

    #[test]
    fn created_response_is_read_leniently() {
        let c = parse_created(
            r#"{"reference_id":"4242","config":{"aggregationPeriod":"2s","metricPushInterval":500,"maxTimeSeriesInBatch":10,"webAppURL":"https://x/","bogus":1,"aggregationWaitPeriod":"1.5s"},"logs":[{"level":"warning","message":"hi"}]}"#,
        )
        .unwrap();
        assert_eq!(c.reference_id, "4242");
        assert_eq!(c.overrides.aggregation_period, Some(Duration::from_secs(2)));
        assert_eq!(c.overrides.push_interval, Some(Duration::from_millis(500)));
        assert_eq!(c.overrides.max_series_in_batch, Some(10));
        assert_eq!(c.overrides.web_app_url.as_deref(), Some("https://x"));
        assert_eq!(
            c.overrides.ignored,
            vec!["aggregationWaitPeriod".to_string()]
        );
        assert_eq!(c.logs, vec![(LogLevel::Warn, "hi".to_string())]);
        assert!(parse_created(r#"{"reference_id":""}"#).is_err());
        assert!(parse_created("<html>").is_err());
        assert_eq!(
            parse_created(r#"{"reference_id":7}"#).unwrap().reference_id,
            "7"
        );
    }

    #[test]
    fn keys_are_16_hex_and_distinct() {
        let (a, b) = (idempotency_key(), idempotency_key());
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
