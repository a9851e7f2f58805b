//! The `data` a k6 script's `handleSummary(data)` receives (k6 1.1's object, not the legacy
//! `--summary-export` document): `metrics` with `type`, `contains`, `values` and `thresholds`,
//! `root_group` with groups and checks as arrays, `options` and `state`.

use serde_json::{json, Map, Value};

use crate::export::md5_hex;
use crate::report::{GroupSummary, MetricSummary, Summary};

/// What the summary cannot know about the terminal and the flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct SummaryState {
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    /// `--no-color`.
    pub no_color: bool,
}

fn metric(m: &MetricSummary, summary: &Summary) -> Value {
    let values: Map<String, Value> = m
        .values
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let mut obj = Map::new();
    obj.insert("type".into(), json!(m.metric_type.as_str()));
    obj.insert("contains".into(), json!(m.contains.as_str()));
    obj.insert("values".into(), Value::Object(values));
    let thresholds: Map<String, Value> = summary
        .thresholds
        .iter()
        .filter(|t| t.metric == m.name)
        .map(|t| (t.source.clone(), json!({ "ok": t.passed })))
        .collect();
    if !thresholds.is_empty() {
        obj.insert("thresholds".into(), Value::Object(thresholds));
    }
    Value::Object(obj)
}

fn group(g: &GroupSummary) -> Value {
    let checks: Vec<Value> = g
        .checks
        .iter()
        .map(|c| {
            let path = format!("{}::{}", g.path, c.name);
            json!({
                "name": c.name,
                "path": path,
                "id": md5_hex(path.as_bytes()),
                "passes": c.passes,
                "fails": c.fails,
            })
        })
        .collect();
    json!({
        "name": g.name,
        "path": g.path,
        "id": md5_hex(g.path.as_bytes()),
        "groups": g.groups.iter().map(group).collect::<Vec<_>>(),
        "checks": checks,
    })
}

impl Summary {
    /// k6's `handleSummary(data)` argument for this summary.
    pub fn handle_summary_json(&self, state: SummaryState) -> Value {
        let metrics: Map<String, Value> = self
            .metrics
            .iter()
            .map(|m| (m.name.clone(), metric(m, self)))
            .collect();
        json!({
            "options": {
                "summaryTrendStats": self.options.trend_stats,
                // k6 gives the empty string when no unit was chosen.
                "summaryTimeUnit": self.options.time_unit.clone().unwrap_or_default(),
                "noColor": state.no_color,
            },
            "state": {
                "isStdOutTTY": state.stdout_tty,
                "isStdErrTTY": state.stderr_tty,
                "testRunDurationMs": self.duration.as_secs_f64() * 1000.0,
            },
            "metrics": metrics,
            "root_group": group(&self.root_group),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use loadrun_metrics::{MetricType, ValueKind};

    use super::*;
    use crate::report::{CheckSummary, ThresholdVerdict};
    use crate::SummaryOptions;

    #[test]
    fn data_has_k6s_shape() {
        let summary = Summary {
            metrics: vec![MetricSummary {
                name: "checks".into(),
                parent: None,
                metric_type: MetricType::Rate,
                contains: ValueKind::Default,
                values: BTreeMap::from([
                    ("rate".into(), 0.5),
                    ("passes".into(), 1.0),
                    ("fails".into(), 1.0),
                ]),
                observed: true,
            }],
            thresholds: vec![ThresholdVerdict {
                metric: "checks".into(),
                source: "rate>0.9".into(),
                passed: false,
                value: Some(0.5),
            }],
            checks: Vec::new(),
            root_group: GroupSummary {
                groups: vec![GroupSummary {
                    name: "g1".into(),
                    path: "::g1".into(),
                    groups: Vec::new(),
                    checks: vec![CheckSummary {
                        name: "status is 200".into(),
                        passes: 1,
                        fails: 1,
                    }],
                }],
                ..Default::default()
            },
            options: SummaryOptions::default(),
            duration: Duration::from_millis(1500),
            scenarios: Vec::new(),
            groups: Vec::new(),
        };
        let d = summary.handle_summary_json(SummaryState::default());
        assert_eq!(d["metrics"]["checks"]["type"], "rate");
        assert_eq!(
            d["metrics"]["checks"]["thresholds"]["rate>0.9"]["ok"],
            false
        );
        assert_eq!(d["metrics"]["checks"]["values"]["passes"], 1.0);
        assert_eq!(d["state"]["testRunDurationMs"], 1500.0);
        assert_eq!(d["options"]["summaryTimeUnit"], "");
        let check = &d["root_group"]["groups"][0]["checks"][0];
        // Ids from k6's own data for the same group and check.
        assert_eq!(
            d["root_group"]["groups"][0]["id"],
            "9ccb03cc5acd728a2fe595bbd1f14da3"
        );
        assert_eq!(check["id"], "0df6227902dcfc9797d43c864193824d");
        assert_eq!(check["path"], "::g1::status is 200");
    }
}
