//! `mode=emf` end to end at the plugin boundary: the conformance kit against the built
//! `libout_cloudwatch.so` writing EMF to a file, and realistic runs through the plugin writing
//! files that are checked line by line against the JSON schema AWS publishes
//! (`fixtures/emf.schema.json`) and the spec's other rules (`loadrun_test_support::emf`).
//! No AWS configuration exists anywhere in these tests: none is needed.
//! The real `loadrun` binary writing EMF is in `tests/e2e/out_cloudwatch.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use loadrun_plugin_api::testkit::{
    completed_outcome, init, now_ns, started, BatchBuilder, Conformance,
};
use loadrun_plugin_api::{MetricType, Plugin, ValueKind, WriteStatus};
use loadrun_test_support::emf;
use out_cloudwatch::CloudWatchPlugin;
use serde_json::Value;

fn schema() -> Value {
    serde_json::from_str(include_str!("fixtures/emf.schema.json")).unwrap()
}

/// Environment that would break the API path if it were consulted: half a key pair and
/// unreadable shared files.
fn hostile_aws_env(dir: &Path) -> Vec<(String, String)> {
    let d = dir.display().to_string();
    vec![
        ("AWS_ACCESS_KEY_ID".into(), "AKIAHALFONLY".into()),
        ("AWS_CONFIG_FILE".into(), d.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE".into(), d),
        ("HOME".into(), "/nonexistent".into()),
    ]
}

/// Every line of the file, each checked; panics listing every problem.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let (docs, problems) = emf::check_text(&schema(), &text);
    assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
    docs
}

fn total(docs: &[Value], name: &str) -> (usize, f64) {
    let v: Vec<f64> = docs.iter().flat_map(|d| emf::values(d, name)).collect();
    (v.len(), v.iter().sum())
}

fn now_secs() -> i64 {
    now_ns() / NS
}

const NS: i64 = 1_000_000_000;

#[test]
fn the_cloudwatch_plugin_conforms_in_emf_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conformance.emf");
    let env = hostile_aws_env(dir.path());
    let mut kit = Conformance::new(
        loadrun_test_support::plugin_path("cloudwatch"),
        "cloudwatch",
    )
    // Hostile tag values reach the documents as dimension values.
    .arg(&format!(
        "mode=emf,emfPath={},dimensions=scenario|quote|long|empty,storageResolution=1",
        path.display()
    ))
    .invalid_arg("mode=sideways", "mode")
    .invalid_arg("mode=emf,endpoint=http://127.0.0.1:5000", "endpoint")
    .invalid_arg("mode=emf,gzip=true", "gzip")
    .invalid_arg("emfPath=out.emf", "emfPath")
    .invalid_arg(
        "mode=emf,emfPath=/no/such/dir/out.emf",
        "\"/no/such/dir/out.emf\"",
    );
    for (k, v) in &env {
        kit = kit.env(k, v);
    }
    let report = kit
        .stored_samples({
            let path = path.clone();
            move || {
                let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
                let (docs, problems) = emf::check_text(&schema(), &text);
                if !problems.is_empty() {
                    return Err(format!("invalid EMF: {problems:?}"));
                }
                Ok(total(&docs, "loadrun_conformance").1 as u64)
            }
        })
        .deadlines(Duration::from_secs(5), Duration::from_secs(1))
        .run();
    println!("{report}");
    report.assert_passed();
}

/// A few seconds of a k6-like test, two minutes ago (so every period is closed at once).
struct Load {
    batch: BatchBuilder,
    reqs: u64,
    durations: Vec<f64>,
    failed: u64,
    checks: (u64, u64),
    last_vus: Vec<(i64, f64)>,
    custom: usize,
}

fn load(t0: i64) -> Load {
    let mut b = BatchBuilder::new();
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("http_req_duration", MetricType::Trend, ValueKind::Time);
    let failed = b.metric("http_req_failed", MetricType::Rate, ValueKind::Default);
    let checks = b.metric("checks", MetricType::Rate, ValueKind::Default);
    let vus = b.metric("vus", MetricType::Gauge, ValueKind::Default);
    let sent = b.metric("data_sent", MetricType::Counter, ValueKind::Data);
    let tags = |url: &str, status: &'static str| {
        vec![
            ("scenario", "default".to_string()),
            ("method", "GET".to_string()),
            ("status", status.to_string()),
            ("name", "http://t/item?id=\"1\"\n".to_string()),
            ("url", url.to_string()),
        ]
    };
    let series = |b: &mut BatchBuilder, m: u32, t: &[(&str, String)]| {
        let t: Vec<(&str, &str)> = t.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.series(m, &t, &[])
    };
    let ok_a = tags("http://t/a", "200");
    let ok_b = tags("http://t/b", "200");
    let bad = tags("http://t/a", "500");
    let r = [
        series(&mut b, reqs, &ok_a),
        series(&mut b, reqs, &ok_b),
        series(&mut b, reqs, &bad),
    ];
    let d = [
        series(&mut b, dur, &ok_a),
        series(&mut b, dur, &ok_b),
        series(&mut b, dur, &bad),
    ];
    let f = [
        series(&mut b, failed, &ok_a),
        series(&mut b, failed, &ok_b),
        series(&mut b, failed, &bad),
    ];
    let c = b.series(checks, &[("scenario", "default"), ("check", "ok")], &[]);
    let v = b.series(vus, &[], &[]);
    let s = b.series(sent, &[("scenario", "default")], &[]);
    // 120 custom counters in one dimension set: more than 100 metrics per document.
    let custom: Vec<u32> = (0..120)
        .map(|i| {
            let m = b.metric(
                &format!("custom_{i:03}"),
                MetricType::Counter,
                ValueKind::Default,
            );
            b.series(m, &[("scenario", "default")], &[])
        })
        .collect();
    let mut l = Load {
        batch: BatchBuilder::new(),
        reqs: 0,
        durations: Vec::new(),
        failed: 0,
        checks: (0, 0),
        last_vus: Vec::new(),
        custom: custom.len(),
    };
    for sec in 0..3i64 {
        // 257 requests a second: arrays of more than 100 values.
        for i in 0..257i64 {
            let k = (i % 3) as usize;
            let t = (t0 + sec) * NS + i * 1_000_000;
            let ms = 0.5 + ((i * 37 + sec * 11) % 400) as f64 * 0.25;
            b.sample(r[k], t, 1.0).sample(d[k], t, ms);
            b.sample(f[k], t, if k == 2 { 1.0 } else { 0.0 });
            b.sample(s, t, 120.0);
            b.sample(c, t, if i % 5 == 0 { 0.0 } else { 1.0 });
            l.reqs += 1;
            l.durations.push(ms);
            l.failed += u64::from(k == 2);
            l.checks.0 += 1;
            l.checks.1 += u64::from(i % 5 != 0);
        }
        b.sample(v, (t0 + sec) * NS + 900_000_000, 10.0 + sec as f64)
            .sample(v, (t0 + sec) * NS + 100_000_000, 99.0);
        l.last_vus.push(((t0 + sec) * 1000, 10.0 + sec as f64));
        for (j, m) in custom.iter().enumerate() {
            b.sample(*m, (t0 + sec) * NS, j as f64);
        }
    }
    l.batch = b;
    l
}

#[test]
fn each_closed_period_is_written_as_valid_emf_that_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("run.emf");
    let env = hostile_aws_env(dir.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (mut output, rec) = started::<CloudWatchPlugin>(init(
        "cloudwatch",
        Some(&format!(
            "mode=emf,emfPath={},namespace=loadrun/emf,storageResolution=1",
            path.display()
        )),
        "",
        &env,
    ));
    let t0 = now_secs() - 120;
    let l = load(t0);
    assert!(matches!(output.write(l.batch.batch()), WriteStatus::Ok));

    // Written when the periods closed, before any flush or stop.
    let docs = documents(&path);
    assert!(!docs.is_empty(), "closed periods are written at once");
    output
        .stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let docs = documents(&path);

    // Every document: the namespace, second-aligned timestamps of the test, resolution 1.
    for d in &docs {
        let directive = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "loadrun/emf");
        let ts = d["_aws"]["Timestamp"].as_i64().unwrap();
        assert!(
            ts % 1000 == 0 && (t0 * 1000..(t0 + 3) * 1000).contains(&ts),
            "{ts}"
        );
        for m in directive["Metrics"].as_array().unwrap() {
            assert_eq!(m["StorageResolution"], 1);
        }
        assert!(d.get("url").is_none(), "url is not a dimension");
    }
    // Counters: sums; trends and rates: one value per sample.
    assert_eq!(total(&docs, "http_reqs").1, l.reqs as f64);
    assert_eq!(total(&docs, "data_sent").1, 120.0 * l.reqs as f64);
    let (n, sum) = total(&docs, "http_req_duration");
    assert_eq!(n as u64, l.reqs, "SampleCount");
    let exact: f64 = l.durations.iter().sum();
    assert!((sum - exact).abs() < 1e-6 * exact, "{sum} vs {exact}");
    let all: Vec<f64> = docs
        .iter()
        .flat_map(|d| emf::values(d, "http_req_duration"))
        .collect();
    let min = all.iter().copied().fold(f64::INFINITY, f64::min);
    let max = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(
        min,
        l.durations.iter().copied().fold(f64::INFINITY, f64::min)
    );
    assert_eq!(
        max,
        l.durations
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    );
    assert_eq!(
        total(&docs, "http_req_failed"),
        (l.reqs as usize, l.failed as f64)
    );
    assert_eq!(
        total(&docs, "checks"),
        (l.checks.0 as usize, l.checks.1 as f64)
    );
    // Gauges: the latest sample of each period, by sample time.
    let mut vus: Vec<(i64, f64)> = docs
        .iter()
        .filter(|d| emf::defines(d, "vus"))
        .map(|d| {
            (
                d["_aws"]["Timestamp"].as_i64().unwrap(),
                emf::values(d, "vus")[0],
            )
        })
        .collect();
    vus.sort_by_key(|v| v.0);
    assert_eq!(vus, l.last_vus);
    // Each custom counter once per period, and more than 100 metrics were split.
    for i in 0..l.custom {
        let name = format!("custom_{i:03}");
        assert_eq!(total(&docs, &name), (3, 3.0 * i as f64), "{name}");
    }
    let most = docs
        .iter()
        .map(|d| {
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len()
        })
        .max()
        .unwrap();
    assert_eq!(most, 100);
    // Dimension values keep quotes and newlines, as strings.
    assert!(docs
        .iter()
        .any(|d| d["name"] == "http://t/item?id=\"1\"\n" && d["status"] == "500"));
    // The self-metrics: every line counted, nothing lost.
    assert_eq!(rec.counter("documents_written"), docs.len() as u64);
    assert_eq!(rec.counter("samples_lost"), 0);
    assert_eq!(rec.counter("write_errors"), 0);
    let logs = format!("{:?}", rec.logs());
    assert!(logs.contains("no AWS API calls"), "{logs}");
    assert!(
        logs.contains(&format!("wrote {} EMF document(s)", docs.len())),
        "{logs}"
    );
}

#[test]
fn a_path_that_cannot_be_opened_fails_before_the_run_naming_it() {
    let e = CloudWatchPlugin::new_output(init(
        "cloudwatch",
        Some("mode=emf,emfPath=/no/such/dir/run.emf"),
        "",
        &[],
    ))
    .err()
    .unwrap()
    .to_string();
    assert_eq!(
        e,
        "cloudwatch: emfPath: cannot create \"/no/such/dir/run.emf\": No such file or directory"
    );
}

#[test]
fn write_errors_are_retried_then_reported_in_samples_never_silently() {
    let (mut output, rec) = started::<CloudWatchPlugin>(init(
        "cloudwatch",
        Some("mode=emf,emfPath=/dev/full,period=1s"),
        "",
        &[],
    ));
    let t0 = now_secs() - 120;
    let mut b = BatchBuilder::new();
    let m = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let s = b.series(m, &[("scenario", "default")], &[]);
    for i in 0..10 {
        b.sample(s, t0 * NS + i, 1.0);
    }
    // Taken (aggregated, written, failed): kept in the plugin.
    assert!(matches!(output.write(b.batch()), WriteStatus::Ok));
    // The next batch is refused while the document is stuck, with the cause.
    match output.write(b.samples_only()) {
        WriteStatus::Retry { reason, .. } => {
            assert_eq!(
                reason.as_str(),
                "writing to \"/dev/full\" failed: No space left on device"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rec.counter("samples_lost"), 0, "nothing given up yet");
    // flush retries until its deadline, then gives up and says what was lost.
    let e = output
        .flush(Duration::from_millis(300))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "cloudwatch: 1 EMF document(s) (10 samples) lost: writing to \"/dev/full\" failed: \
         No space left on device"
    );
    assert_eq!(rec.counter("samples_lost"), 10);
    assert!(rec.counter("write_errors") >= 3);
    assert_eq!(rec.counter("documents_written"), 0);
    output
        .stop(&completed_outcome(), Duration::from_millis(300))
        .unwrap();
}
