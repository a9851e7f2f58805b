//! Feeds a run resembling the k6 fixture run through the Aggregator and compares the summary
//! with what k6 v1.1.0 printed and exported for it.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use loadrun_summary::{md5_hex, SummaryOptions, ThresholdSpec};
use serde_json::Value;

fn fixture_summary() -> loadrun_summary::Summary {
    let registry = registry();
    let log = fixture_samples(registry.clone());
    let handle = aggregate(registry, &fixture_thresholds(), &log.samples);
    handle.finish_report(&SummaryOptions::default(), &run_info())
}

/// The summary block of k6-run-stdout.txt, from the THRESHOLDS title to the NETWORK group.
fn k6_summary_text() -> String {
    let stdout = fixture("k6-run-stdout.txt");
    let start = stdout.find("\n  █ THRESHOLDS").unwrap();
    let end = stdout.find("296 B/s\n").unwrap() + "296 B/s\n\n".len();
    stdout[start..end].to_string()
}

#[test]
fn text_summary_matches_k6_byte_for_byte() {
    let ours = fixture_summary().render_text();
    let theirs = k6_summary_text();
    for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        assert_eq!(a, b, "line {i} differs");
    }
    assert_eq!(ours, theirs);
}

/// Same keys at every level and the same kind of value (number, bool, string, object).
fn same_shape(ours: &Value, theirs: &Value, path: &str) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: BTreeSet<_> = a.keys().collect();
            let kb: BTreeSet<_> = b.keys().collect();
            assert_eq!(ka, kb, "keys of {path}");
            for k in ka {
                same_shape(&a[k], &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::String(_), Value::String(_)) => {}
        _ => panic!("{path}: {ours} vs {theirs}"),
    }
}

fn close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * y.abs().max(1.0),
        _ => false,
    }
}

#[test]
fn export_has_k6_shape_and_values() {
    let ours = fixture_summary().export_json();
    let theirs: Value = serde_json::from_str(&fixture("k6-summary-export.json")).unwrap();
    same_shape(&ours, &theirs, "$");

    // Values this run reproduces exactly.
    for metric in [
        "http_req_duration",
        "http_req_duration{expected_response:true}",
        "iteration_duration",
        "http_reqs",
        "iterations",
        "data_sent",
        "data_received",
        "checks",
        "checks{mytag:hello}",
        "http_req_failed",
        "my_counter",
        "my_gauge",
        "my_rate",
        "my_trend",
        "vus",
    ] {
        let (a, b) = (&ours["metrics"][metric], &theirs["metrics"][metric]);
        for (k, v) in b.as_object().unwrap() {
            if k == "thresholds" {
                assert_eq!(&a[k], v, "{metric}.thresholds");
            } else {
                assert!(close(&a[k], v), "{metric}.{k}: {} vs {v}", a[k]);
            }
        }
    }
    // Inverted booleans: false = did not fail.
    assert_eq!(
        ours["metrics"]["http_req_duration"]["thresholds"]["p(95)<500"],
        false
    );
    // Whole numbers are written as integers, as Go does.
    assert_eq!(ours["metrics"]["http_reqs"]["count"].to_string(), "8");
    assert_eq!(ours["metrics"]["checks"]["value"].to_string(), "1");
    // Group and check ids are md5 of their paths.
    assert_eq!(ours["root_group"], theirs["root_group"]);
    assert_eq!(ours["root_group"]["id"], md5_hex(b""));
}

#[test]
fn verdicts_and_failures() {
    let s = fixture_summary();
    assert!(!s.thresholds_failed());
    assert_eq!(
        s.threshold_verdicts(),
        vec![
            (
                "checks{mytag:hello}".to_string(),
                "rate>0.5".to_string(),
                true
            ),
            (
                "http_req_duration".to_string(),
                "p(95)<500".to_string(),
                true
            ),
        ]
    );

    let registry = registry();
    let log = fixture_samples(registry.clone());
    let mut t = fixture_thresholds();
    t.insert(
        "http_req_duration{status:404}".into(),
        vec!["max<1".into(), "max<1.2".into()],
    );
    t.insert("http_reqs".into(), vec!["count>=8".into(), "rate>4".into()]);
    t.insert("my_gauge".into(), vec!["value==42".into()]);
    t.insert("group_duration{group:::g1}".into(), vec!["avg==2.5".into()]);
    let handle = aggregate(registry, &t, &log.samples);
    let s = handle.finish_report(&SummaryOptions::default(), &run_info());
    let verdict = |m: &str, src: &str| {
        s.threshold_verdicts()
            .into_iter()
            .find(|(a, b, _)| a == m && b == src)
            .map(|v| v.2)
    };
    // The 404s' slowest was 1.199324 ms: the submetric only sees those four requests.
    assert_eq!(
        verdict("http_req_duration{status:404}", "max<1"),
        Some(false)
    );
    assert_eq!(
        verdict("http_req_duration{status:404}", "max<1.2"),
        Some(true)
    );
    assert_eq!(verdict("http_reqs", "count>=8"), Some(true));
    // 8 requests in 2.017 s is 3.97/s.
    assert_eq!(verdict("http_reqs", "rate>4"), Some(false));
    assert_eq!(verdict("my_gauge", "value==42"), Some(true));
    assert_eq!(
        verdict("group_duration{group:::g1}", "avg==2.5"),
        Some(true)
    );
    assert!(s.thresholds_failed());

    let text = s.render_text();
    assert!(text.contains("    ✗ 'max<1' max=1.19ms\n"), "{text}");
    assert!(text.contains("    ✗ 'rate>4' rate=3.965882/s\n"), "{text}");
    assert!(text.contains("    ✓ 'count>=8' count=8\n"), "{text}");
    // A submetric whose parent has thresholds too is shown indented under it.
    assert!(text.contains("    http_req_duration\n    ✓ 'p(95)<500' p(95)=3.85ms\n\n      {status:404}\n      ✗ 'max<1'"), "{text}");

    let export = s.export_json();
    assert_eq!(
        export["metrics"]["http_req_duration{status:404}"]["thresholds"]["max<1"],
        true
    );
    assert_eq!(
        export["metrics"]["http_req_duration{status:404}"]["max"],
        1.199324
    );
}

#[test]
fn no_thresholds_hides_them() {
    let registry = registry();
    let log = fixture_samples(registry.clone());
    let handle = aggregate(registry, &fixture_thresholds(), &log.samples);
    let opts = SummaryOptions {
        no_thresholds: true,
        ..Default::default()
    };
    let s = handle.finish_report(&opts, &run_info());
    assert!(s.threshold_verdicts().is_empty());
    assert!(!s.render_text().contains("THRESHOLDS"));
    assert!(s.export_json()["metrics"]["http_req_duration"]
        .get("thresholds")
        .is_none());
}

#[test]
fn trend_stats_and_time_unit_options() {
    let registry = registry();
    let log = fixture_samples(registry.clone());
    let handle = aggregate(registry, &fixture_thresholds(), &log.samples);
    let opts = SummaryOptions {
        trend_stats: vec!["p(99)".into(), "count".into()],
        time_unit: Some("ms".into()),
        ..Default::default()
    };
    let s = handle.finish_report(&opts, &run_info());
    let text = s.render_text();
    assert!(text.contains("my_trend"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("    iteration_duration"))
        .unwrap();
    assert!(line.ends_with(": p(99)=506.48ms count=4"), "{line}");
    // The threshold's p(95) is not among the stats but is still shown, in the chosen unit.
    assert!(text.contains("✓ 'p(95)<500' p(95)=3.86ms"), "{text}");
    let export = s.export_json();
    let keys: Vec<&String> = export["metrics"]["http_req_duration"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["count", "p(99)", "thresholds"]);
}

#[test]
fn failed_checks_render_like_k6() {
    let registry = registry();
    let mut log = SampleLog::new(registry.clone());
    for v in [1.0, 1.0, 1.0, 0.0] {
        log.add("checks", &[("check", "status is 200"), ("group", "")], v);
        log.add("checks", &[("check", "fast"), ("group", "::a::b")], 1.0);
    }
    let handle = aggregate(registry, &BTreeMap::new(), &log.samples);
    let s = handle.finish_report(&SummaryOptions::default(), &run_info());
    let text = s.render_text();
    assert!(
        text.contains("\n    ✗ status is 200\n      ↳  75% — ✓ 3 / ✗ 1\n    ✓ fast\n"),
        "{text}"
    );
    assert!(
        text.contains("checks_succeeded...................: 87.50% 7 out of 8"),
        "{text}"
    );
    assert!(
        text.contains("checks_failed......................: 12.50% 1 out of 8"),
        "{text}"
    );
    let root = &s.export_json()["root_group"];
    assert_eq!(root["checks"]["status is 200"]["fails"], 1);
    assert_eq!(root["checks"]["status is 200"]["path"], "::status is 200");
    let b = &root["groups"]["a"]["groups"]["b"];
    assert_eq!(b["path"], "::a::b");
    assert_eq!(b["id"], md5_hex(b"::a::b"));
    assert_eq!(b["checks"]["fast"]["id"], md5_hex(b"::a::b::fast"));
}

#[test]
fn abort_on_fail_respects_delay_and_empty_metrics() {
    let registry = registry();
    let mut t: BTreeMap<String, Vec<ThresholdSpec>> = toml::from_str(
        r#"
        http_req_failed = [{ threshold = "rate<0.1", abortOnFail = true, delayAbortEval = "10s" }]
        my_rate = [{ threshold = "rate>0.5", abortOnFail = true }]
        "#,
    )
    .unwrap();
    t.insert("http_req_duration".into(), vec!["p(95)<0.001".into()]);
    let log = fixture_samples(registry.clone());
    let set = loadrun_summary::ThresholdSet::parse(&t).unwrap();
    set.register(&registry).unwrap();
    let (mut agg, handle) = loadrun_summary::Aggregator::new(registry.clone(), set);
    use loadrun_metrics::SampleConsumer;

    // my_rate has no sample yet: not judged; nothing else aborts (no abortOnFail or delayed).
    assert_eq!(handle.abort_check(Duration::from_secs(1)), None);
    agg.consume(&registry, &log.samples);
    // http_req_failed is at 50% but its evaluation is delayed by 10 s.
    assert_eq!(handle.abort_check(Duration::from_secs(5)), None);
    let reason = handle.abort_check(Duration::from_secs(11)).unwrap();
    assert!(
        reason.contains("'http_req_failed'") && reason.contains("abortOnFail"),
        "{reason}"
    );
    assert!(!reason.contains("http_req_duration"), "{reason}");
}

#[test]
fn long_runs_keep_accurate_percentiles() {
    let registry = registry();
    let mut log = SampleLog::new(registry.clone());
    let mut all = Vec::new();
    for i in 0..50_000u32 {
        // Two series of the same metric, merged for the summary.
        let v = 1.0 + f64::from(i % 997) * 0.37 + f64::from(i % 13);
        let status = if i % 3 == 0 { "500" } else { "200" };
        log.add(
            "http_req_duration",
            &[("status", status), ("expected_response", "true")],
            v,
        );
        all.push(v);
    }
    let handle = aggregate(registry, &BTreeMap::new(), &log.samples);
    let s = handle.finish_report(&SummaryOptions::default(), &run_info());
    all.sort_by(f64::total_cmp);
    let m = s.metric("http_req_duration").unwrap();
    for (stat, q) in [("med", 0.5), ("p(90)", 0.9), ("p(95)", 0.95)] {
        let i = q * (all.len() as f64 - 1.0);
        let want = all[i.floor() as usize]
            + (all[i.ceil() as usize] - all[i.floor() as usize]) * (i - i.floor());
        let got = m.values[stat];
        assert!(
            ((got - want) / want).abs() < 0.001,
            "{stat}: {got} vs {want}"
        );
    }
    assert_eq!(m.values["min"], all[0]);
    assert_eq!(m.values["max"], all[all.len() - 1]);
    let sub = s
        .metric("http_req_duration{expected_response:true}")
        .unwrap();
    assert_eq!(sub.values["max"], all[all.len() - 1]);
}
