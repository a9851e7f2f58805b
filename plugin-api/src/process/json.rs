//! The cold path's JSON documents the host sends a child.

use serde_json::{json, Value};

use crate::abi::{Batch, MetricDef, OutputInit, RunOutcome, SeriesDef};

/// `INIT`: `options` holds the checked values of the declared options.
pub fn init(init: &OutputInit, options: Value) -> Vec<u8> {
    crate::cold_json::init(init, options)
        .to_string()
        .into_bytes()
}

/// `STOP`.
pub fn stop(outcome: &RunOutcome, timeout_ms: u64) -> Vec<u8> {
    json!({"timeoutMs": timeout_ms, "outcome": crate::cold_json::outcome(outcome)})
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
