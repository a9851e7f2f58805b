//! k6's legacy `--summary-export` JSON: `{"metrics": {...}, "root_group": {...}}`.

use loadrun_metrics::MetricType;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use crate::report::{GroupSummary, MetricSummary, Summary};

/// The lowercase hex MD5 of `data`: k6's group and check ids are the MD5 of their path (an
/// identifier, not a security measure).
pub fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A number as Go's encoder writes a float64: whole values without a fraction.
fn num(v: f64) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn metric_json(m: &MetricSummary, summary: &Summary) -> Value {
    let mut obj = Map::new();
    let get = |k: &str| m.values.get(k).copied().unwrap_or(0.0);
    match m.metric_type {
        MetricType::Trend => {
            for stat in &summary.options.trend_stats {
                if let Some(v) = m.values.get(stat) {
                    obj.insert(stat.clone(), num(*v));
                }
            }
        }
        MetricType::Counter => {
            obj.insert("count".into(), num(get("count")));
            obj.insert("rate".into(), num(get("rate")));
        }
        MetricType::Rate => {
            obj.insert("passes".into(), num(get("passes")));
            obj.insert("fails".into(), num(get("fails")));
            obj.insert("value".into(), num(get("rate")));
        }
        MetricType::Gauge => {
            obj.insert("value".into(), num(get("value")));
            obj.insert("min".into(), num(get("min")));
            obj.insert("max".into(), num(get("max")));
        }
    }
    let verdicts: Map<String, Value> = summary
        .thresholds
        .iter()
        .filter(|t| t.metric == m.name)
        // Inverted as in k6's legacy export: `true` means the threshold failed.
        .map(|t| (t.source.clone(), Value::Bool(!t.passed)))
        .collect();
    if !verdicts.is_empty() {
        obj.insert("thresholds".into(), Value::Object(verdicts));
    }
    Value::Object(obj)
}

fn group_json(g: &GroupSummary) -> Value {
    let groups: Map<String, Value> = g
        .groups
        .iter()
        .map(|sub| (sub.name.clone(), group_json(sub)))
        .collect();
    let checks: Map<String, Value> = g
        .checks
        .iter()
        .map(|c| {
            let path = format!("{}::{}", g.path, c.name);
            let check = json!({
                "name": c.name,
                "id": md5_hex(path.as_bytes()),
                "path": path,
                "passes": c.passes,
                "fails": c.fails,
            });
            (c.name.clone(), check)
        })
        .collect();
    json!({
        "name": g.name,
        "path": g.path,
        "id": md5_hex(g.path.as_bytes()),
        "groups": groups,
        "checks": checks,
    })
}

impl Summary {
    /// k6's legacy `--summary-export` document.
    pub fn export_json(&self) -> Value {
        let metrics: Map<String, Value> = self
            .metrics
            .iter()
            .map(|m| (m.name.clone(), metric_json(m, self)))
            .collect();
        json!({
            "metrics": metrics,
            "root_group": group_json(&self.root_group),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_and_check_ids_are_k6s() {
        // Ids from k6-summary-export.json.
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"::g1"), "9ccb03cc5acd728a2fe595bbd1f14da3");
        assert_eq!(
            md5_hex(b"::g1::status is 200"),
            "0df6227902dcfc9797d43c864193824d"
        );
    }
}
