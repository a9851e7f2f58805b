//! The EMF encoder's tests: every document must pass AWS's published schema and the spec.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::datum::Unit;
use serde_json::{json, Value};

const T0: i64 = 1_700_000_000;

fn schema() -> Value {
    serde_json::from_str(include_str!("../../../tests/fixtures/emf.schema.json")).unwrap()
}

fn datum(name: &str, dims: &[(&str, &str)], unit: Unit, value: DatumValue) -> Datum {
    let samples = match &value {
        DatumValue::Value(_) => 1,
        DatumValue::Stats { count, .. } => *count as u64,
        DatumValue::Distribution { counts, .. } => counts.iter().sum::<f64>() as u64,
    };
    Datum {
        metric_name: name.into(),
        dimensions: dims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        timestamp: UtcTime::from_unix_secs(T0),
        unit,
        value,
        storage_resolution: 60,
        samples,
    }
}

fn counter(name: &str, dims: &[(&str, &str)], v: f64) -> Datum {
    datum(name, dims, Unit::Count, DatumValue::Value(v))
}

/// Encodes with `limits`; every document must pass the published schema and the spec.
fn run(datums: &[Datum], limits: Limits) -> (Vec<Document>, Vec<Value>, Vec<Unencodable>) {
    let mut docs = Vec::new();
    let refused = encode("k6", datums, limits, |d| docs.push(d));
    let schema = schema();
    let parsed = docs
        .iter()
        .map(|d| {
            assert!(!d.text.contains('\n'), "one line: {}", d.text);
            assert!(
                d.text.len() <= limits.document_bytes,
                "{} bytes",
                d.text.len()
            );
            loadrun_test_support::emf::check_line(&schema, &d.text)
                .unwrap_or_else(|p| panic!("{p:#?}\n{}", d.text))
        })
        .collect();
    (docs, parsed, refused)
}

fn values(doc: &Value, name: &str) -> Vec<f64> {
    loadrun_test_support::emf::values(doc, name)
}

#[test]
fn exact_document_for_one_period_and_dimension_set() {
    let dims = [("method", "GET"), ("status", "200")];
    let datums = vec![
        counter("http_reqs", &dims, 3.0),
        datum(
            "http_req_duration",
            &dims,
            Unit::Milliseconds,
            DatumValue::Distribution {
                values: vec![0.25, 12.5],
                counts: vec![2.0, 1.0],
            },
        ),
        datum(
            "http_req_failed",
            &dims,
            Unit::None,
            DatumValue::Stats {
                count: 3.0,
                sum: 1.0,
                min: 0.0,
                max: 1.0,
            },
        ),
    ];
    let (docs, _, refused) = run(&datums, Limits::default());
    assert!(refused.is_empty());
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0].text,
        [
            r#"{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"k6","#,
            r#""Dimensions":[["method","status"]],"Metrics":["#,
            r#"{"Name":"http_req_duration","Unit":"Milliseconds","StorageResolution":60},"#,
            r#"{"Name":"http_req_failed","Unit":"None","StorageResolution":60},"#,
            r#"{"Name":"http_reqs","Unit":"Count","StorageResolution":60}]}]},"#,
            r#""method":"GET","status":"200","#,
            r#""http_req_duration":[0.25,0.25,12.5],"http_req_failed":[0,0,1],"http_reqs":3}"#,
        ]
        .concat()
    );
    assert_eq!(docs[0].samples, 1 + 3 + 3);
    assert_eq!(docs[0].metrics, 3);
}

#[test]
fn more_than_100_metrics_are_split_into_documents_of_100() {
    let dims = [("scenario", "default")];
    let datums: Vec<Datum> = (0..250)
        .map(|i| counter(&format!("m{i:03}"), &dims, f64::from(i)))
        .collect();
    let (docs, parsed, _) = run(&datums, Limits::default());
    assert_eq!(
        docs.iter().map(|d| d.metrics).collect::<Vec<_>>(),
        vec![100, 100, 50]
    );
    let mut seen = Vec::new();
    for p in &parsed {
        assert_eq!(
            p["scenario"], "default",
            "dimensions repeat in every document"
        );
        for m in p["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            seen.push(m["Name"].as_str().unwrap().to_string());
        }
    }
    let want: Vec<String> = (0..250).map(|i| format!("m{i:03}")).collect();
    assert_eq!(seen, want, "each metric exactly once, in name order");
    assert_eq!(docs.iter().map(|d| d.samples).sum::<u64>(), 250);
}

#[test]
fn more_than_100_values_continue_in_further_documents() {
    let dims = [("status", "200")];
    // 250 samples over 3 distinct values, and a counter in the same group.
    let datums = vec![
        datum(
            "http_req_duration",
            &dims,
            Unit::Milliseconds,
            DatumValue::Distribution {
                values: vec![1.0, 2.5, 40.0],
                counts: vec![120.0, 100.0, 30.0],
            },
        ),
        counter("http_reqs", &dims, 250.0),
    ];
    let (docs, parsed, _) = run(&datums, Limits::default());
    assert_eq!(docs.len(), 3);
    let lens: Vec<usize> = parsed
        .iter()
        .map(|p| values(p, "http_req_duration").len())
        .collect();
    assert_eq!(lens, vec![100, 100, 50]);
    let all: Vec<f64> = parsed
        .iter()
        .flat_map(|p| values(p, "http_req_duration"))
        .collect();
    assert_eq!(all.iter().filter(|v| **v == 1.0).count(), 120);
    assert_eq!(all.iter().filter(|v| **v == 2.5).count(), 100);
    assert_eq!(all.iter().filter(|v| **v == 40.0).count(), 30);
    assert_eq!(all.iter().sum::<f64>(), 120.0 + 250.0 + 1200.0);
    // The counter goes once, not once per document; every document shares the timestamp.
    let reqs: Vec<f64> = parsed.iter().flat_map(|p| values(p, "http_reqs")).collect();
    assert_eq!(reqs, vec![250.0]);
    assert!(parsed
        .iter()
        .all(|p| p["_aws"]["Timestamp"] == json!(T0 * 1000)));
    assert_eq!(
        docs.iter().map(|d| d.samples).collect::<Vec<_>>(),
        vec![100 + 1, 100, 50]
    );
    // A smaller array limit, exactly: 250 values in arrays of at most 7.
    let (docs, parsed, _) = run(
        &datums[..1],
        Limits {
            values_per_array: 7,
            ..Limits::default()
        },
    );
    assert_eq!(docs.len(), 250usize.div_ceil(7));
    assert!(parsed
        .iter()
        .all(|p| values(p, "http_req_duration").len() <= 7));
    assert_eq!(docs.iter().map(|d| d.samples).sum::<u64>(), 250);
}

#[test]
fn rates_are_zeros_and_ones() {
    let d = datum(
        "checks",
        &[],
        Unit::None,
        DatumValue::Stats {
            count: 230.0,
            sum: 57.0,
            min: 0.0,
            max: 1.0,
        },
    );
    let (docs, parsed, _) = run(&[d], Limits::default());
    assert_eq!(docs.len(), 3);
    let all: Vec<f64> = parsed.iter().flat_map(|p| values(p, "checks")).collect();
    assert_eq!(all.len(), 230, "SampleCount");
    assert_eq!(all.iter().sum::<f64>(), 57.0, "Sum: how many were true");
    assert!(all.iter().all(|v| *v == 0.0 || *v == 1.0));
}

#[test]
fn dimension_sets_make_their_own_documents() {
    let datums = vec![
        counter("http_reqs", &[("method", "GET"), ("status", "200")], 1.0),
        counter("http_reqs", &[("method", "GET"), ("status", "500")], 2.0),
        counter("iterations", &[("scenario", "default")], 3.0),
        counter("vus", &[], 4.0),
        // Quotes, backslashes, newlines and control characters in values stay strings.
        counter("data_sent", &[("name", "a\"b\\c\nd\u{1}é")], 5.0),
        Datum {
            timestamp: UtcTime::from_unix_secs(T0 + 60),
            ..counter("vus", &[], 6.0)
        },
    ];
    let (docs, parsed, _) = run(&datums, Limits::default());
    assert_eq!(docs.len(), 6, "one per (time, dimension values)");
    let sets: Vec<Value> = parsed
        .iter()
        .map(|p| p["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone())
        .collect();
    assert!(sets.contains(&json!([["method", "status"]])));
    assert!(sets.contains(&json!([["scenario"]])));
    assert!(sets.contains(&json!([[]])), "no dimensions: one empty set");
    let odd = parsed.iter().find(|p| p.get("name").is_some()).unwrap();
    assert_eq!(odd["name"], "a\"b\\c\nd\u{1}é");
    let vus: Vec<(i64, f64)> = parsed
        .iter()
        .filter(|p| p.get("vus").is_some())
        .map(|p| {
            (
                p["_aws"]["Timestamp"].as_i64().unwrap(),
                values(p, "vus")[0],
            )
        })
        .collect();
    assert_eq!(vus, vec![(T0 * 1000, 4.0), ((T0 + 60) * 1000, 6.0)]);
    // 30 dimensions fit in one set.
    let thirty: Vec<(String, String)> = (0..30)
        .map(|i| (format!("k{i:02}"), format!("v{i}")))
        .collect();
    let d = Datum {
        dimensions: thirty,
        ..counter("c", &[], 1.0)
    };
    let (_, parsed, refused) = run(&[d], Limits::default());
    assert!(refused.is_empty());
    assert_eq!(
        parsed[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
            .as_array()
            .unwrap()
            .len(),
        30
    );
}

#[test]
fn a_name_twice_in_one_period_goes_in_separate_documents() {
    let datums = vec![
        counter("http_reqs", &[("status", "200")], 1.0),
        counter("http_reqs", &[("status", "200")], 2.0),
    ];
    let (docs, parsed, _) = run(&datums, Limits::default());
    assert_eq!(docs.len(), 2);
    let sum: f64 = parsed.iter().flat_map(|p| values(p, "http_reqs")).sum();
    assert_eq!(sum, 3.0);
}

#[test]
fn datums_no_document_can_carry_are_refused_with_their_samples() {
    let mut many = counter("c", &[], 1.0);
    many.dimensions = (0..31).map(|i| (format!("k{i}"), "v".into())).collect();
    let datums = vec![
        counter("status", &[("status", "200")], 1.0),
        counter("_aws", &[], 1.0),
        many,
        datum(
            "t",
            &[],
            Unit::None,
            DatumValue::Distribution {
                values: vec![],
                counts: vec![],
            },
        ),
        counter("ok", &[("status", "200")], 1.0),
    ];
    let (docs, parsed, refused) = run(&datums, Limits::default());
    assert_eq!(docs.len(), 1);
    assert!(parsed[0].get("ok").is_some());
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(matches!(refused[0], Unencodable::NameIsADimension { .. }));
    assert!(matches!(refused[1], Unencodable::ReservedName { .. }));
    assert!(matches!(
        refused[2],
        Unencodable::TooManyDimensions { count: 31, .. }
    ));
    assert!(matches!(refused[3], Unencodable::NoValues { .. }));
    assert_eq!(refused[0].samples(), 1);
    assert!(refused[0].to_string().contains("\"status\""));
}

#[test]
fn documents_stay_within_the_byte_limit() {
    let dims = [("name", "x")];
    let datums: Vec<Datum> = (0..40)
        .map(|i| {
            datum(
                &format!("trend_{i}"),
                &dims,
                Unit::Milliseconds,
                DatumValue::Distribution {
                    values: vec![123.456789, 98765.4321],
                    counts: vec![50.0, 50.0],
                },
            )
        })
        .collect();
    let limits = Limits {
        document_bytes: 8 * 1024,
        ..Limits::default()
    };
    let (docs, parsed, _) = run(&datums, limits);
    assert!(docs.len() > 1);
    let total: usize = parsed
        .iter()
        .map(|p| {
            (0..40)
                .map(|i| values(p, &format!("trend_{i}")).len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(total, 40 * 100);
    assert_eq!(docs.iter().map(|d| d.samples).sum::<u64>(), 4000);
    // The default limit holds the worst case: 100 metrics of 100 long values, 30 long
    // dimension values.
    let dims: Vec<(String, String)> = (0..30)
        .map(|i| (format!("k{i:02}"), "v".repeat(1024)))
        .collect();
    let datums: Vec<Datum> = (0..100)
        .map(|i| Datum {
            dimensions: dims.clone(),
            ..datum(
                &format!("m{i:03}_{}", "n".repeat(100)),
                &[],
                Unit::Milliseconds,
                DatumValue::Distribution {
                    values: (0..100)
                        .map(|j| -(f64::from(j) + 1.0) * 1.234_567_890_123_457e-9)
                        .collect(),
                    counts: vec![1.0; 100],
                },
            )
        })
        .collect();
    let (docs, _, _) = run(&datums, Limits::default());
    assert!(docs.len() > 1, "split by bytes, not by the metric count");
    assert_eq!(docs.iter().map(|d| d.metrics).sum::<usize>(), 100);
}

#[test]
fn numbers_are_plain_json() {
    let mut s = String::new();
    for v in [0.0, -0.0, 1e21, 1.5e-7, -2.5, 1.0e108] {
        push_num(&mut s, v);
        s.push(' ');
    }
    assert!(s.starts_with("0 0 1000000000000000000000 0.00000015 -2.5 1"));
    for n in s.split_whitespace() {
        assert!(serde_json::from_str::<f64>(n).is_ok(), "{n}");
    }
}
