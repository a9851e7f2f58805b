//! `--summary-mode full` (per-scenario and per-group parts) and the machine-readable summary,
//! validated against k6's published schema (`summary/schema/`, from grafana/k6-summary).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::*;
use loadrun_summary::{MachineMeta, Summary, SummaryMode, SummaryOptions};
use serde_json::{json, Value};

fn with_mode(mode: SummaryMode) -> Summary {
    let registry = registry();
    let log = fixture_samples(registry.clone());
    let handle = aggregate(registry, &fixture_thresholds(), &log.samples);
    let opts = SummaryOptions {
        mode,
        ..Default::default()
    };
    handle.finish_report(&opts, &run_info())
}

/// Two scenarios, one with a nested group, and the default scenario with a group.
fn scenarios_run(mode: SummaryMode) -> Summary {
    let registry = registry();
    let mut log = SampleLog::new(registry.clone());
    let api = [("scenario", "api"), ("group", "")];
    let api_login = [("scenario", "api"), ("group", "::login")];
    let api_form = [("scenario", "api"), ("group", "::login::form")];
    let web = [("scenario", "web"), ("group", "")];
    let default_cart = [("scenario", "default"), ("group", "::cart")];
    for (tags, duration) in [(&api, 10.0), (&api_login, 20.0), (&web, 40.0)] {
        log.add("http_req_duration", tags, duration);
        log.add("http_reqs", tags, 1.0);
    }
    log.add("http_req_duration", &api_form, 30.0);
    log.add("http_req_waiting", &api_form, 25.0);
    log.add(
        "checks",
        &[api_login[0], api_login[1], ("check", "logged in")],
        1.0,
    );
    log.add(
        "checks",
        &[api_login[0], api_login[1], ("check", "logged in")],
        0.0,
    );
    log.add("my_counter", &default_cart, 3.0);
    log.add("my_counter", &[("group", "::cart")], 2.0);
    let handle = aggregate(registry, &Default::default(), &log.samples);
    let opts = SummaryOptions {
        mode,
        ..Default::default()
    };
    handle.finish_report(&opts, &run_info())
}

#[test]
fn compact_mode_has_no_parts_and_full_mode_adds_them() {
    let compact = scenarios_run(SummaryMode::Compact);
    assert!(compact.scenarios.is_empty() && compact.groups.is_empty());
    let text = compact.render_text();
    assert!(
        !text.contains("SCENARIO:") && !text.contains("GROUP:"),
        "{text}"
    );
    assert!(!text.contains("http_req_waiting"), "{text}");

    let full = scenarios_run(SummaryMode::Full);
    let names: Vec<&str> = full.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["api", "web"]);
    let api = &full.scenarios[0];
    let reqs = |metrics: &[loadrun_summary::MetricSummary], name: &str| {
        metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.values.clone())
    };
    // The scenario adds up all of its samples, groups included.
    assert_eq!(reqs(&api.metrics, "http_reqs").unwrap()["count"], 2.0);
    assert_eq!(
        reqs(&api.metrics, "http_req_duration").unwrap()["max"],
        30.0
    );
    // A group holds only its own samples; the nested one is under it.
    assert_eq!(api.groups.len(), 1);
    let login = &api.groups[0];
    assert_eq!(login.name, "login");
    assert_eq!(
        reqs(&login.metrics, "http_req_duration").unwrap()["max"],
        20.0
    );
    assert_eq!(login.checks[0].name, "logged in");
    assert_eq!((login.checks[0].passes, login.checks[0].fails), (1, 1));
    assert_eq!(login.groups[0].name, "form");
    assert_eq!(
        reqs(&login.groups[0].metrics, "http_req_duration").unwrap()["max"],
        30.0
    );
    // Groups of the default scenario (or of no scenario) are at the top.
    assert_eq!(full.groups.len(), 1);
    assert_eq!(full.groups[0].name, "cart");
    assert_eq!(
        reqs(&full.groups[0].metrics, "my_counter").unwrap()["count"],
        5.0
    );

    let text = full.render_text();
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing in\n{text}"))
    };
    assert!(at("█ TOTAL RESULTS") < at("█ GROUP: cart"));
    assert!(at("█ GROUP: cart") < at("█ SCENARIO: api"));
    assert!(at("█ SCENARIO: api") < at("↳ GROUP: login"));
    assert!(at("↳ GROUP: login") < at("↳ GROUP: form"));
    assert!(at("█ SCENARIO: api") < at("█ SCENARIO: web"));
    // Full mode shows the timing parts compact mode leaves out.
    assert!(text.contains("http_req_waiting"), "{text}");
}

#[test]
fn full_mode_keeps_the_compact_totals() {
    let compact = with_mode(SummaryMode::Compact).render_text();
    let full = with_mode(SummaryMode::Full).render_text();
    assert!(full.contains("█ GROUP: g1"), "{full}");
    // The fixture's default scenario has no scenario part.
    assert!(!full.contains("SCENARIO:"), "{full}");
    // The same values; dots and padding differ, as the columns fit full mode's longer lines.
    let values = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}.")))
            .and_then(|l| l.split_once(": "))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    for name in ["http_reqs", "http_req_duration", "iterations", "my_trend"] {
        assert_eq!(values(&compact, name), values(&full, name), "{name}");
        assert!(values(&full, name).is_some(), "{name}");
    }
}

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema")
}

fn read_schema(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(schema_dir().join(rel)).unwrap()).unwrap()
}

/// The published schema, with its relative references served from the copies.
fn validator() -> jsonschema::Validator {
    let registry = jsonschema::Registry::new()
        .add(
            "https://schemas.k6.io/metric/1.0.0/schema.json",
            read_schema("metric/1.0.0/schema.json"),
        )
        .unwrap()
        .add(
            "https://schemas.k6.io/semver/2.0.0/schema.json",
            read_schema("semver/2.0.0/schema.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&read_schema("summary/1.0.0/schema.json"))
        .unwrap()
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn meta() -> MachineMeta<'static> {
    MachineMeta {
        script: Some("plan.toml"),
        generated_at: "2026-12-07T18:30:00.123Z",
        version: "0.1.0",
        passed: true,
    }
}

#[test]
fn machine_readable_summary_follows_the_published_schema() {
    let v = validator();
    for summary in [
        with_mode(SummaryMode::Compact),
        with_mode(SummaryMode::Full),
        scenarios_run(SummaryMode::Full),
    ] {
        let doc = summary.machine_readable_json(&meta());
        assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{doc:#}");
    }
    let doc = with_mode(SummaryMode::Compact).machine_readable_json(&meta());
    assert_eq!(doc["version"], "1.0.0");
    assert_eq!(doc["config"]["script"], "plan.toml");
    let metric = |name: &str| {
        doc["results"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .cloned()
    };
    assert_eq!(
        metric("http_reqs").unwrap()["values"],
        json!({ "count": 8.0 })
    );
    let rate = metric("http_req_failed").unwrap();
    assert_eq!(rate["type"], "rate");
    assert_eq!(rate["values"]["total"], 8);
    let trend = metric("http_req_duration").unwrap();
    assert_eq!(trend["contains"], "time");
    assert!(trend["values"]["p(95)"].as_f64().unwrap() > 0.0);
    // As k6: checks have their own block, not a line among the metrics.
    assert!(metric("checks").is_none());
    let checks = &doc["results"]["checks"];
    assert_eq!(checks["metrics"][0]["name"], "checks_total");
    assert!(!checks["results"].as_array().unwrap().is_empty());
}

#[test]
fn trend_stats_outside_the_schema_are_left_out() {
    let registry = registry();
    let log = fixture_samples(registry.clone());
    let handle = aggregate(registry, &fixture_thresholds(), &log.samples);
    let opts = SummaryOptions {
        trend_stats: vec!["p(99)".into(), "count".into(), "avg".into()],
        ..Default::default()
    };
    let doc = handle
        .finish_report(&opts, &run_info())
        .machine_readable_json(&meta());
    assert_eq!(errors(&validator(), &doc), Vec::<String>::new());
}

#[test]
fn the_schema_check_catches_a_wrong_document() {
    let v = validator();
    let mut doc = with_mode(SummaryMode::Compact).machine_readable_json(&meta());
    doc["version"] = json!("1.0");
    doc["results"]["metrics"][0]["values"] = json!({ "count": 1, "rate": 2 });
    doc["metadata"]["generatedAt"] = json!("yesterday");
    let found = errors(&v, &doc);
    for path in [
        "/version",
        "/results/metrics/0/values",
        "/metadata/generatedAt",
    ] {
        assert!(
            found.iter().any(|e| e.starts_with(path)),
            "{path} not reported: {found:?}"
        );
    }
}
