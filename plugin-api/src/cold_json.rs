//! The cold path's documents, the same for every foreign face (the C face's `new_output` and
//! `stop`, the process face's `INIT` and `STOP`): what an output is told about the test and how it
//! ended.

use serde_json::{json, Map, Value};

use crate::abi::{OutputInit, RunOutcome};

/// The init document; `options` are the checked values of the declared options.
pub fn init(init: &OutputInit, options: Value) -> Value {
    let t = &init.test;
    let mut test = Map::new();
    // Fields a later host adds to `TestMeta::extra` (e.g. `systemTags`) reach foreign plugins too.
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
        Value::Object(
            t.tags
                .iter()
                .map(|kv| (kv.key.to_string(), json!(kv.value.as_str())))
                .collect(),
        ),
    );
    test.insert(
        "thresholds".into(),
        Value::Array(
            t.thresholds
                .iter()
                .map(|th| {
                    json!({"metric": th.metric.as_str(), "source": th.source.as_str(),
                           "abortOnFail": th.abort_on_fail})
                })
                .collect(),
        ),
    );
    // A malformed plan table reaches the plugin as null rather than failing here: the host
    // has refused it already when the output declares options.
    let config: Value = serde_json::from_str(init.config_json.as_str()).unwrap_or(Value::Null);
    json!({
        "output": init.output_name.as_str(),
        "arg": init.arg(),
        "config": config,
        "options": options,
        "test": Value::Object(test),
    })
}

/// The outcome document `stop` receives.
pub fn outcome(outcome: &RunOutcome) -> Value {
    let mut doc = Map::new();
    if let Ok(Value::Object(extra)) = serde_json::from_str::<Value>(outcome.extra.as_str()) {
        doc.extend(extra);
    }
    doc.insert("passed".into(), json!(outcome.passed));
    doc.insert("reason".into(), json!(outcome.reason.as_str()));
    doc.insert("durationMs".into(), json!(outcome.duration_ms));
    doc.insert(
        "thresholds".into(),
        Value::Array(
            outcome
                .thresholds
                .iter()
                .map(|v| {
                    json!({"metric": v.metric.as_str(), "source": v.source.as_str(),
                           "passed": v.passed})
                })
                .collect(),
        ),
    );
    Value::Object(doc)
}
