//! The cold path's JSON documents the host sends a child.

use serde_json::{json, Map, Value};

use crate::abi::{Batch, MetricDef, OutputInit, RunOutcome, SeriesDef};

/// `INIT`: `options` holds the checked values of the declared options.
pub fn init(init: &OutputInit, options: Value) -> Vec<u8> {
    let t = &init.test;
    let mut test = Map::new();
    // Fields a later host adds to `TestMeta::extra` (e.g. `systemTags`) reach the child too.
    if let Ok(Value::Object(extra)) = serde_json::from_str::<Value>(t.extra.as_str()) {
        test.extend(extra);
    }
    test.insert("testId".into(), json!(t.test_id.as_str()));
    test.insert("planName".into(), json!(t.plan_name.as_str()));
    test.insert("startUnixNs".into(), json!(t.start_unix_ns));
    test.insert(
        "plannedDurationMs".into(),
        json!(t.planned_duration_ms.into_option()),
    );
    test.insert("maxVus".into(), json!(t.max_vus));
    test.insert(
        "tags".into(),
        pairs(t.tags.iter().map(|kv| (&kv.key, &kv.value))),
    );
    test.insert(
        "thresholds".into(),
        t.thresholds
            .iter()
            .map(|th| {
                json!({"metric": th.metric.as_str(), "source": th.source.as_str(),
                       "abortOnFail": th.abort_on_fail})
            })
            .collect(),
    );
    // A malformed plan table reaches the child as null: the host refused it already when
    // the output declares options.
    let config: Value = serde_json::from_str(init.config_json.as_str()).unwrap_or(Value::Null);
    json!({
        "output": init.output_name.as_str(),
        "arg": init.arg(),
        "config": config,
        "options": options,
        "test": Value::Object(test),
    })
    .to_string()
    .into_bytes()
}

/// `STOP`.
pub fn stop(outcome: &RunOutcome, timeout_ms: u64) -> Vec<u8> {
    let mut doc = Map::new();
    if let Ok(Value::Object(extra)) = serde_json::from_str::<Value>(outcome.extra.as_str()) {
        doc.extend(extra);
    }
    doc.insert("passed".into(), json!(outcome.passed));
    doc.insert("reason".into(), json!(outcome.reason.as_str()));
    doc.insert("durationMs".into(), json!(outcome.duration_ms));
    doc.insert(
        "thresholds".into(),
        outcome
            .thresholds
            .iter()
            .map(|v| {
                json!({"metric": v.metric.as_str(), "source": v.source.as_str(),
                       "passed": v.passed})
            })
            .collect(),
    );
    json!({"timeoutMs": timeout_ms, "outcome": Value::Object(doc)})
        .to_string()
        .into_bytes()
}

/// `DEFS`, or `None` when the batch defines nothing new.
pub fn defs(batch: &Batch<'_>) -> Option<Vec<u8>> {
    if batch.metrics.is_empty() && batch.series.is_empty() {
        return None;
    }
    let metrics: Vec<Value> = batch.metrics.iter().map(metric).collect();
    let series: Vec<Value> = batch.series.iter().map(series).collect();
    Some(
        json!({"metrics": metrics, "series": series})
            .to_string()
            .into_bytes(),
    )
}

fn metric(m: &MetricDef) -> Value {
    json!({
        "id": m.id,
        "name": m.name.as_str(),
        "type": m.metric_type.as_str(),
        "contains": m.contains.as_str(),
        "thresholds": m.thresholds.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "submetrics": m.submetrics.iter().map(|s| json!({
            "name": s.name.as_str(),
            "suffix": s.suffix.as_str(),
            "tags": pairs(s.tags.iter().map(|kv| (&kv.key, &kv.value))),
        })).collect::<Vec<_>>(),
    })
}

fn series(s: &SeriesDef) -> Value {
    json!({
        "id": s.id,
        "metric": s.metric,
        "tags": pairs(s.tags.iter().map(|kv| (&kv.key, &kv.value))),
        "metadata": pairs(s.metadata.iter().map(|kv| (&kv.key, &kv.value))),
    })
}

/// Sorted key/value pairs as a JSON object (keys are unique within a tag set).
fn pairs<'a>(
    kvs: impl Iterator<
        Item = (
            &'a abi_stable::std_types::RString,
            &'a abi_stable::std_types::RString,
        ),
    >,
) -> Value {
    Value::Object(
        kvs.map(|(k, v)| (k.to_string(), json!(v.as_str())))
            .collect(),
    )
}
