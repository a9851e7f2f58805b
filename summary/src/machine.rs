//! k6's machine-readable end-of-test summary (k6 ≥ 1.5, `--new-machine-readable-summary`),
//! schema 1.0.0 of grafana/k6-summary (a copy is in `summary/schema/`, checked in the tests):
//! `version`, `config`, `metadata`, `results.checks`, `results.metrics` with per-type values.

use loadrun_metrics::{MetricType, ValueKind};
use serde_json::{json, Map, Value};

use crate::report::{MetricSummary, Summary};

/// The schema version this module writes.
pub const MACHINE_READABLE_VERSION: &str = "1.0.0";

/// What the document says about the run besides the summary.
#[derive(Debug, Clone)]
pub struct MachineMeta<'a> {
    /// The plan file, or the URL of a quick run (already free of passwords).
    pub script: Option<&'a str>,
    /// RFC 3339.
    pub generated_at: &'a str,
    /// Written as `metadata.k6Version` (the schema's only version field): loadrun's version.
    pub version: &'a str,
    /// Thresholds held and the run was not stopped by an error.
    pub passed: bool,
}

/// Trend stats the schema allows (k6 writes only these, whatever `--summary-trend-stats` says).
const TREND_STATS: [&str; 6] = ["avg", "min", "med", "max", "p(90)", "p(95)"];

fn type_name(t: MetricType) -> &'static str {
    match t {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Rate => "rate",
        MetricType::Trend => "trend",
    }
}

fn contains_name(c: ValueKind) -> &'static str {
    match c {
        ValueKind::Default => "default",
        ValueKind::Time => "time",
        ValueKind::Data => "data",
    }
}

fn metric(name: &str, t: MetricType, contains: ValueKind, values: Value) -> Value {
    json!({
        "name": name,
        "type": type_name(t),
        "contains": contains_name(contains),
        "values": values,
    })
}

/// A rate's values; `matches` and `total` are whole counts.
fn rate_values(matches: f64, total: f64) -> Value {
    let rate = if total > 0.0 { matches / total } else { 0.0 };
    json!({ "matches": matches as u64, "total": total as u64, "rate": rate })
}

fn metric_json(m: &MetricSummary) -> Value {
    let get = |k: &str| m.values.get(k).copied().unwrap_or(0.0);
    let values = match m.metric_type {
        MetricType::Counter => json!({ "count": get("count") }),
        MetricType::Gauge => json!({ "value": get("value"), "min": get("min"), "max": get("max") }),
        MetricType::Rate => rate_values(get("passes"), get("passes") + get("fails")),
        MetricType::Trend => Value::Object(
            TREND_STATS
                .iter()
                .filter_map(|s| m.values.get(*s).map(|v| (s.to_string(), json!(v))))
                .collect::<Map<_, _>>(),
        ),
    };
    metric(&m.name, m.metric_type, m.contains, values)
}

impl Summary {
    /// The machine-readable summary document (schema 1.0.0).
    pub fn machine_readable_json(&self, meta: &MachineMeta) -> Value {
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .filter(|m| m.observed)
            .filter(|m| {
                crate::text::shown_in_totals(
                    m.parent.as_deref().unwrap_or(&m.name),
                    self.options.mode,
                )
            })
            .map(metric_json)
            .collect();
        let mut results = Map::new();
        results.insert("passed".into(), Value::Bool(meta.passed));
        results.insert("metrics".into(), Value::Array(metrics));
        if let Some(checks) = self.metric("checks").filter(|m| m.observed) {
            let passes = checks.values.get("passes").copied().unwrap_or(0.0);
            let fails = checks.values.get("fails").copied().unwrap_or(0.0);
            let total = passes + fails;
            let (counter, rate) = (MetricType::Counter, MetricType::Rate);
            let plain = ValueKind::Default;
            results.insert(
                "checks".into(),
                json!({
                    "metrics": [
                        metric("checks_total", counter, plain, json!({ "count": total })),
                        metric("checks_failed", rate, plain, rate_values(fails, total)),
                        metric("checks_succeeded", rate, plain, rate_values(passes, total)),
                    ],
                    "results": self.checks.iter().map(|c| json!({
                        "name": c.name,
                        "passes": c.passes,
                        "fails": c.fails,
                    })).collect::<Vec<_>>(),
                }),
            );
        }
        let mut config = Map::new();
        config.insert("execution".into(), json!("local"));
        if let Some(script) = meta.script {
            config.insert("script".into(), json!(script));
        }
        config.insert("duration".into(), json!(self.duration.as_secs_f64()));
        json!({
            "version": MACHINE_READABLE_VERSION,
            "metadata": { "generatedAt": meta.generated_at, "k6Version": meta.version },
            "config": config,
            "results": results,
        })
    }
}
