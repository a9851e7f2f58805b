//! CloudWatch Embedded Metric Format (EMF) documents, checked the way CloudWatch Logs would take
//! them: the JSON schema AWS publishes (the caller passes it: plugins/cloudwatch/tests/fixtures/
//! emf.schema.json), plus the rules of the specification the schema does not express
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//!
//! - every dimension a `DimensionSet` names is a member of the root node with a string value of
//!   at most 1024 characters;
//! - every metric a `MetricDefinition` names is a member of the root node holding a number or
//!   an array of at most 100 numbers (and, here, at least one);
//! - at most 100 `MetricDefinition`s per `MetricDirective`;
//! - a document is one line of valid JSON with no extra data around it.

use serde_json::Value;

use crate::json_schema;

/// The spec's limit on metric definitions per directive.
pub const MAX_METRICS: usize = 100;
/// The spec's limit on the members of a metric value array.
pub const MAX_VALUES: usize = 100;
/// The spec's limit on a dimension value's length.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

/// Parses and checks one line; returns the document, or every problem found.
pub fn check_line(schema: &Value, line: &str) -> Result<Value, Vec<String>> {
    let doc: Value = serde_json::from_str(line).map_err(|e| vec![format!("not JSON: {e}")])?;
    let mut problems = json_schema::validate(schema, &doc);
    problems.extend(spec_problems(&doc));
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(problems)
    }
}

/// Checks every line of an EMF file: the documents, and the problems as `line N: problem`.
pub fn check_text(schema: &Value, text: &str) -> (Vec<Value>, Vec<String>) {
    let mut docs = Vec::new();
    let mut problems = Vec::new();
    if !text.is_empty() && !text.ends_with('\n') {
        problems.push("the last line is not terminated".to_string());
    }
    for (i, line) in text.lines().enumerate() {
        match check_line(schema, line) {
            Ok(d) => docs.push(d),
            Err(p) => problems.extend(p.into_iter().map(|p| format!("line {}: {p}", i + 1))),
        }
    }
    (docs, problems)
}

/// The specification's rules that the published schema leaves out.
pub fn spec_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(root) = doc.as_object() else {
        return vec!["the root node is not an object".into()];
    };
    let directives = doc["_aws"]["CloudWatchMetrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, directive) in directives.iter().enumerate() {
        let at = format!("CloudWatchMetrics[{i}]");
        let mut dimension_keys = Vec::new();
        for set in directive["Dimensions"].as_array().into_iter().flatten() {
            for key in set.as_array().into_iter().flatten() {
                let Some(key) = key.as_str() else { continue };
                dimension_keys.push(key);
                match root.get(key) {
                    None => problems.push(format!("{at}: dimension {key:?} is not on the root node")),
                    Some(Value::String(v)) if v.chars().count() > MAX_DIMENSION_VALUE_CHARS => {
                        problems.push(format!(
                            "{at}: dimension {key:?} has {} characters (at most {MAX_DIMENSION_VALUE_CHARS})",
                            v.chars().count()
                        ))
                    }
                    Some(Value::String(_)) => {}
                    Some(other) => problems.push(format!(
                        "{at}: dimension {key:?} is not a string: {other}"
                    )),
                }
            }
        }
        let metrics = directive["Metrics"].as_array().cloned().unwrap_or_default();
        if metrics.len() > MAX_METRICS {
            problems.push(format!(
                "{at}: {} metric definitions (at most {MAX_METRICS})",
                metrics.len()
            ));
        }
        for m in &metrics {
            let Some(name) = m["Name"].as_str() else {
                continue;
            };
            if dimension_keys.contains(&name) {
                problems.push(format!("{at}: {name:?} is both a metric and a dimension"));
            }
            match root.get(name) {
                None => problems.push(format!("{at}: metric {name:?} is not on the root node")),
                Some(Value::Number(_)) => {}
                Some(Value::Array(a)) => {
                    if a.is_empty() || a.len() > MAX_VALUES {
                        problems.push(format!(
                            "{at}: metric {name:?} has {} values (1 to {MAX_VALUES})",
                            a.len()
                        ));
                    }
                    if let Some(bad) = a.iter().find(|v| !v.is_number()) {
                        problems.push(format!("{at}: metric {name:?} holds {bad}, not a number"));
                    }
                }
                Some(other) => problems.push(format!(
                    "{at}: metric {name:?} is not a number or an array of numbers: {other}"
                )),
            }
        }
    }
    problems
}

/// The values of metric `name` in a document (a number is one value; absent is none).
pub fn values(doc: &Value, name: &str) -> Vec<f64> {
    match &doc[name] {
        Value::Number(n) => n.as_f64().into_iter().collect(),
        Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
        _ => Vec::new(),
    }
}

/// Whether the document defines metric `name` (in any directive).
pub fn defines(doc: &Value, name: &str) -> bool {
    doc["_aws"]["CloudWatchMetrics"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["Metrics"].as_array().cloned().unwrap_or_default())
        .any(|m| m["Name"] == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_spec_rules_catch_what_the_schema_lets_through() {
        let good = json!({
            "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "n",
                "Dimensions": [["a"]], "Metrics": [{"Name": "m"}, {"Name": "t"}]}]},
            "a": "x", "m": 1.5, "t": [1, 2]
        });
        assert!(
            spec_problems(&good).is_empty(),
            "{:?}",
            spec_problems(&good)
        );
        assert_eq!(values(&good, "t"), vec![1.0, 2.0]);
        assert_eq!(values(&good, "m"), vec![1.5]);
        assert!(defines(&good, "t") && !defines(&good, "a"));

        let mut d = good.clone();
        d["a"] = json!(7);
        assert!(spec_problems(&d)[0].contains("not a string"));
        let mut d = good.clone();
        d.as_object_mut().unwrap().remove("m");
        assert!(spec_problems(&d)[0].contains("not on the root node"));
        let mut d = good.clone();
        d["t"] = json!((0..101).collect::<Vec<_>>());
        assert!(spec_problems(&d)[0].contains("101 values"));
        let mut d = good.clone();
        d["t"] = json!([1, "2"]);
        assert!(spec_problems(&d)[0].contains("not a number"));
        let mut d = good.clone();
        d["a"] = json!("x".repeat(1025));
        assert!(spec_problems(&d)[0].contains("1025 characters"));
        let mut d = good.clone();
        d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!((0..101)
            .map(|i| json!({"Name": format!("m{i}")}))
            .collect::<Vec<_>>());
        assert!(spec_problems(&d)
            .iter()
            .any(|p| p.contains("101 metric definitions")));
    }
}
