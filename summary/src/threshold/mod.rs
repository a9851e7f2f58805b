//! Thresholds: k6's `thresholds` option, parsed, checked against the registry and declared there.

mod eval;
mod parse;

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_metrics::{MetricType, Registry, ValueKind};
use serde::Deserialize;

pub use eval::{aggregate, supported_list, supports};
pub use parse::{parse_expression, parse_metric_key, Aggregation, Expression, MetricKey, Operator};

use crate::SummaryError;

/// One threshold as written in a plan: `"p(95)<500"` or
/// `{ threshold = "rate<0.01", abortOnFail = true, delayAbortEval = "10s" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RawSpec")]
pub struct ThresholdSpec {
    pub threshold: String,
    pub abort_on_fail: bool,
    pub delay_abort_eval: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSpec {
    Source(String),
    Table {
        threshold: String,
        #[serde(default, rename = "abortOnFail", alias = "abort_on_fail")]
        abort_on_fail: bool,
        #[serde(default, rename = "delayAbortEval", alias = "delay_abort_eval")]
        delay_abort_eval: Option<String>,
    },
}

impl From<RawSpec> for ThresholdSpec {
    fn from(raw: RawSpec) -> Self {
        match raw {
            RawSpec::Source(threshold) => ThresholdSpec {
                threshold,
                abort_on_fail: false,
                delay_abort_eval: None,
            },
            RawSpec::Table {
                threshold,
                abort_on_fail,
                delay_abort_eval,
            } => ThresholdSpec {
                threshold,
                abort_on_fail,
                delay_abort_eval,
            },
        }
    }
}

impl From<&str> for ThresholdSpec {
    fn from(s: &str) -> Self {
        RawSpec::Source(s.to_string()).into()
    }
}

/// One parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// As written (k6 keys the export's `thresholds` by it).
    pub source: String,
    pub expression: Expression,
    pub abort_on_fail: bool,
    /// No abort evaluation before this much of the run has passed.
    pub delay_abort_eval: Duration,
}

/// The thresholds of one key (`metric` or `metric{tag:value}`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricThresholds {
    /// The key as written in the plan.
    pub key: String,
    pub target: MetricKey,
    pub thresholds: Vec<Threshold>,
}

/// Every threshold of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThresholdSet {
    pub entries: Vec<MetricThresholds>,
}

impl ThresholdSet {
    /// Parses a plan's `thresholds` table (k6's syntax); errors name the key and the expression.
    pub fn parse(
        table: &BTreeMap<String, Vec<ThresholdSpec>>,
    ) -> Result<ThresholdSet, SummaryError> {
        let mut entries = Vec::with_capacity(table.len());
        for (key, specs) in table {
            let target = parse_metric_key(key).map_err(|message| SummaryError::MetricKey {
                key: key.clone(),
                message,
            })?;
            let mut thresholds = Vec::with_capacity(specs.len());
            for spec in specs {
                let bad = |message: String| SummaryError::Threshold {
                    key: key.clone(),
                    expression: spec.threshold.clone(),
                    message,
                };
                let expression = parse_expression(&spec.threshold).map_err(bad)?;
                let delay_abort_eval = match spec.delay_abort_eval.as_deref() {
                    None => Duration::ZERO,
                    Some(d) => loadrun_plugin_api::options::parse_duration(d).ok_or_else(|| {
                        bad(format!(
                            "delayAbortEval '{d}' is not a duration; expected e.g. '10s', '1m30s' or '500ms'"
                        ))
                    })?,
                };
                thresholds.push(Threshold {
                    source: spec.threshold.clone(),
                    expression,
                    abort_on_fail: spec.abort_on_fail,
                    delay_abort_eval,
                });
            }
            entries.push(MetricThresholds {
                key: key.clone(),
                target,
                thresholds,
            });
        }
        Ok(ThresholdSet { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|e| e.thresholds.is_empty())
    }

    /// Checks every threshold against the metrics the engine defined, attaches plain-metric
    /// sources to their definitions and declares submetrics (what k6's JSON output shows), plus
    /// `http_req_duration{expected_response:true}`, which k6 always declares for its summary.
    pub fn register(&self, registry: &Registry) -> Result<(), SummaryError> {
        for entry in &self.entries {
            self.check(entry, registry)?;
        }
        for entry in &self.entries {
            let Some(id) = registry.metric_by_name(&entry.target.metric) else {
                continue;
            };
            if entry.target.tags.is_empty() {
                let existing = registry
                    .metric_def(id)
                    .map(|d| {
                        d.thresholds
                            .iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                for t in &entry.thresholds {
                    if !existing.contains(&t.source) {
                        registry.add_threshold(id, &t.source);
                    }
                }
            } else {
                registry.add_submetric(id, &entry.target.tags);
            }
        }
        let duration = registry.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
        registry.add_submetric(duration, &[("expected_response".into(), "true".into())]);
        Ok(())
    }

    fn check(
        &self,
        entry: &MetricThresholds,
        registry: &Registry,
    ) -> Result<MetricType, SummaryError> {
        let def = registry
            .metric_by_name(&entry.target.metric)
            .and_then(|id| registry.metric_def(id))
            .ok_or_else(|| SummaryError::UnknownMetric {
                key: entry.key.clone(),
                metric: entry.target.metric.clone(),
            })?;
        for t in &entry.thresholds {
            let agg = t.expression.aggregation;
            if !supports(def.metric_type, agg) {
                return Err(SummaryError::Threshold {
                    key: entry.key.clone(),
                    expression: t.source.clone(),
                    message: format!(
                        "the aggregation '{agg}' does not apply to '{}', a {} metric; expected {}",
                        entry.target.metric,
                        def.metric_type.as_str(),
                        supported_list(def.metric_type)
                    ),
                });
            }
        }
        Ok(def.metric_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(toml_src: &str) -> BTreeMap<String, Vec<ThresholdSpec>> {
        toml::from_str(toml_src).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn specs_deserialize_from_strings_and_tables() {
        let t = table(
            r#"
            http_req_duration = ["p(95)<500", "avg<200"]
            "checks{mytag:hello}" = [{ threshold = "rate>0.5", abortOnFail = true, delayAbortEval = "10s" }]
            http_req_failed = [{ threshold = "rate<0.01" }]
            "#,
        );
        assert_eq!(t["http_req_duration"][1], ThresholdSpec::from("avg<200"));
        let c = &t["checks{mytag:hello}"][0];
        assert!(c.abort_on_fail);
        assert_eq!(c.delay_abort_eval.as_deref(), Some("10s"));
        assert!(!t["http_req_failed"][0].abort_on_fail);

        let set = ThresholdSet::parse(&t).unwrap();
        let checks = set
            .entries
            .iter()
            .find(|e| e.target.metric == "checks")
            .unwrap();
        assert_eq!(
            checks.thresholds[0].delay_abort_eval,
            Duration::from_secs(10)
        );
        assert_eq!(checks.target.name(), "checks{mytag:hello}");
    }

    #[test]
    fn json_tables_work_too() {
        let t: BTreeMap<String, Vec<ThresholdSpec>> = serde_json::from_str(
            r#"{"http_reqs": ["count>1", {"threshold": "rate>1", "abortOnFail": true}]}"#,
        )
        .unwrap();
        assert!(t["http_reqs"][1].abort_on_fail);
    }

    #[test]
    fn parse_errors_name_the_key_and_expression() {
        let err = ThresholdSet::parse(&table(r#"http_req_duration = ["p(95)<500", "p95<500"]"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("http_req_duration"), "{err}");
        assert!(err.contains("'p95<500'"), "{err}");
        assert!(err.contains("unknown aggregation"), "{err}");

        let err = ThresholdSet::parse(&table(r#""checks{a" = ["rate>0"]"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("checks{a") && err.contains("curly"), "{err}");

        let err = ThresholdSet::parse(&table(
            r#"checks = [{ threshold = "rate>0", delayAbortEval = "soon" }]"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("delayAbortEval 'soon'"), "{err}");
    }

    fn registry() -> Registry {
        let r = Registry::new();
        r.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
        r.metric("http_reqs", MetricType::Counter, ValueKind::Default);
        r.metric("checks", MetricType::Rate, ValueKind::Default);
        r.metric("vus", MetricType::Gauge, ValueKind::Default);
        r
    }

    #[test]
    fn register_declares_thresholds_and_submetrics() {
        let r = registry();
        let set = ThresholdSet::parse(&table(
            r#"
            http_req_duration = ["p(95)<500"]
            "checks{mytag:hello}" = ["rate>0.5"]
            "#,
        ))
        .unwrap();
        set.register(&r).unwrap();
        set.register(&r).unwrap(); // idempotent
        let d = r
            .metric_def(r.metric_by_name("http_req_duration").unwrap())
            .unwrap();
        assert_eq!(d.thresholds.len(), 1);
        assert_eq!(d.thresholds[0].as_str(), "p(95)<500");
        assert_eq!(d.submetrics.len(), 1);
        assert_eq!(
            d.submetrics[0].name.as_str(),
            "http_req_duration{expected_response:true}"
        );
        let c = r.metric_def(r.metric_by_name("checks").unwrap()).unwrap();
        assert!(c.thresholds.is_empty());
        assert_eq!(c.submetrics[0].name.as_str(), "checks{mytag:hello}");
    }

    #[test]
    fn register_rejects_unknown_metrics_and_wrong_aggregations() {
        let r = registry();
        let set = ThresholdSet::parse(&table(r#"my_trend = ["p(95)<5"]"#)).unwrap();
        let err = set.register(&r).unwrap_err().to_string();
        assert!(
            err.contains("my_trend") && err.contains("no metric"),
            "{err}"
        );

        for (src, want) in [
            (
                r#"http_reqs = ["p(95)<5"]"#,
                "a counter metric; expected count or rate",
            ),
            (r#"checks = ["count>5"]"#, "a rate metric; expected rate"),
            (r#"vus = ["avg>5"]"#, "a gauge metric; expected value"),
            (
                r#"http_req_duration = ["rate<5"]"#,
                "a trend metric; expected avg, min, max, med or p(N)",
            ),
        ] {
            let set = ThresholdSet::parse(&table(src)).unwrap();
            let err = set.register(&r).unwrap_err().to_string();
            assert!(err.contains(want), "{src}: {err}");
        }
    }
}
