//! Against real servers started by `tests/services/start-*.sh`: InfluxDB 1.6 (v1 API) and
//! VictoriaMetrics (its InfluxDB v2 `/api/v2/write`). The output is driven in-process; what the
//! server then holds is read back and compared with what was sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use loadrun_plugin_api::testkit::{completed_outcome, now_ns, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};
use loadrun_test_support::http_get::get_text;
use loadrun_test_support::services::Service;
use serde_json::Value;

/// What was sent, per metric: (tags without the moved ones, url, vu, iter, value, ts).
struct Sent {
    batches: Vec<BatchBuilder>,
    /// metric → list of values sent
    values: BTreeMap<&'static str, Vec<f64>>,
}

/// Three batches: definitions in the first, samples in all, 1 ms apart, near now (VM hides old
/// and future points; InfluxDB does not care).
fn workload() -> Sent {
    let t0 = now_ns() - 5_000_000_000;
    let mut b = BatchBuilder::new();
    let reqs = b.metric("lr_http_reqs", MetricType::Counter, ValueKind::Default);
    let dur = b.metric("lr_http_req_duration", MetricType::Trend, ValueKind::Time);
    let vus = b.metric("lr_vus", MetricType::Gauge, ValueKind::Default);
    let checks = b.metric("lr_checks", MetricType::Rate, ValueKind::Default);
    let http_tags = |status: &'static str, url: &'static str| {
        vec![
            ("group", ""),
            ("method", "GET"),
            ("name", url),
            ("scenario", "default"),
            ("status", status),
            ("url", url),
        ]
    };
    let s_ok = b.series(
        reqs,
        &http_tags("200", "http://t/a b"),
        &[("iter", "3"), ("vu", "1")],
    );
    let s_nf = b.series(
        reqs,
        &http_tags("404", "http://t/missing"),
        &[("iter", "4"), ("vu", "2")],
    );
    let d_ok = b.series(
        dur,
        &http_tags("200", "http://t/a b"),
        &[("iter", "3"), ("vu", "1")],
    );
    // Every character line protocol escapes, and a trailing backslash.
    let v = b.series(vus, &[("we ird,k=", "a,b=c d\\")], &[]);
    let c = b.series(
        checks,
        &[("check", "status is 200"), ("group", "::g1")],
        &[("vu", "1")],
    );
    let mut values: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut batches = Vec::new();
    let mut t = t0;
    for round in 0..3 {
        if round > 0 {
            b.clear_samples();
            b.metrics.clear();
            b.series.clear();
        }
        for i in 0..20 {
            t += 1_000_000;
            b.sample(s_ok, t, 1.0);
            b.sample(d_ok, t, 10.0 + i as f64 + round as f64 / 10.0);
            values.entry("lr_http_reqs").or_default().push(1.0);
            values
                .entry("lr_http_req_duration")
                .or_default()
                .push(10.0 + i as f64 + round as f64 / 10.0);
            if i % 4 == 0 {
                b.sample(s_nf, t, 1.0);
                values.entry("lr_http_reqs").or_default().push(1.0);
            }
            if i % 5 == 0 {
                b.sample(v, t, (i / 5) as f64);
                values.entry("lr_vus").or_default().push((i / 5) as f64);
            }
            b.sample(c, t, (i % 2) as f64);
            values.entry("lr_checks").or_default().push((i % 2) as f64);
        }
        batches.push(b.clone());
    }
    Sent { batches, values }
}

fn drive(arg: &str, env: &[(&str, &str)], sent: &Sent) {
    let (mut out, rec) = started(arg, env);
    for b in &sent.batches {
        let st = out.write(b.batch());
        assert_eq!(st, WriteStatus::Ok, "logs: {:?}", rec.logs());
    }
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(rec.counter("samples_rejected"), 0, "{:?}", rec.logs());
}

fn get_json(url: &str, query: &[(&str, &str)]) -> Value {
    loadrun_test_support::http_get::get_json(url, query).unwrap()
}

fn influx_query(base: &str, db: &str, q: &str) -> Value {
    let v = get_json(
        &format!("{base}/query"),
        &[("db", db), ("q", q), ("epoch", "ns")],
    );
    v["results"][0].clone()
}

#[test]
fn influxdb_v1_holds_what_was_sent() {
    let Some(svc) = Service::start("influxdb", &[]) else {
        return;
    };
    let base = svc.var("INFLUXDB_URL").to_string();
    let sent = workload();
    // Small requests so the push is split; the database does not exist yet (created at start).
    drive(
        &format!("{base}/lr_k6?pushInterval=50ms&tagsAsFields=url,status:int"),
        &[("LOADRUN_INFLUXDB_MAX_BATCH_LINES", "17")],
        &sent,
    );

    // Counts and sums per measurement, like comparing with the end-of-test summary.
    for (metric, values) in &sent.values {
        let r = influx_query(
            &base,
            "lr_k6",
            &format!("SELECT count(value), sum(value) FROM {metric}"),
        );
        let row = &r["series"][0]["values"][0];
        assert_eq!(row[1].as_u64(), Some(values.len() as u64), "{metric}: {r}");
        let sum: f64 = values.iter().sum();
        assert!(
            (row[2].as_f64().unwrap() - sum).abs() < 1e-9,
            "{metric}: {r} vs {sum}"
        );
    }

    // Tags, typed fields and metadata fields, point for point.
    let r = influx_query(
        &base,
        "lr_k6",
        "SELECT * FROM lr_http_reqs WHERE status = 404 ORDER BY time",
    );
    let s = &r["series"][0];
    let cols: Vec<&str> = s["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        cols,
        ["time", "iter", "method", "name", "scenario", "status", "url", "value", "vu"],
        "{r}"
    );
    let rows = s["values"].as_array().unwrap();
    assert_eq!(rows.len(), 15);
    for row in rows {
        assert_eq!(row[1], 4, "iter is an int field");
        assert_eq!(row[2], "GET");
        assert_eq!(row[3], "http://t/missing", "name stays a tag");
        assert_eq!(row[5], 404, "status:int made it an int field");
        assert_eq!(row[6], "http://t/missing", "url is a string field");
        assert_eq!(row[8], 2, "vu from metadata");
    }
    // Tag keys hold only real tags (no url/status, no empty group), a space survives escaping.
    let r = influx_query(&base, "lr_k6", "SHOW TAG KEYS FROM lr_http_reqs");
    let keys: Vec<String> = r["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, ["method", "name", "scenario"]);
    let r = influx_query(&base, "lr_k6", "SHOW FIELD KEYS FROM lr_http_reqs");
    let fields: BTreeMap<String, String> = r["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v[0].as_str().unwrap().to_string(),
                v[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(fields.get("value").map(String::as_str), Some("float"));
    assert_eq!(fields.get("vu").map(String::as_str), Some("integer"));
    assert_eq!(fields.get("status").map(String::as_str), Some("integer"));
    assert_eq!(fields.get("url").map(String::as_str), Some("string"));
    let r = influx_query(
        &base,
        "lr_k6",
        "SHOW TAG VALUES FROM lr_vus WITH KEY = \"we ird,k=\"",
    );
    assert_eq!(r["series"][0]["values"][0][1], "a,b=c d\\ ", "{r}");
    let r = influx_query(
        &base,
        "lr_k6",
        "SELECT count(value) FROM lr_http_reqs WHERE \"name\" = 'http://t/a b'",
    );
    assert_eq!(r["series"][0]["values"][0][1], 60, "{r}");
    let r = influx_query(&base, "lr_k6", "SELECT count(value) FROM lr_checks WHERE \"check\" = 'status is 200' AND \"group\" = '::g1'");
    assert_eq!(r["series"][0]["values"][0][1], 60, "{r}");
}

#[test]
fn influxdb_v1_real_errors_are_reported() {
    let Some(svc) = Service::start("influxdb", &[]) else {
        return;
    };
    let base = svc.var("INFLUXDB_URL").to_string();

    // No database and createDatabase=false: InfluxDB's 404 is fatal, with its message.
    let (mut out, _rec) = started(
        &format!("{base}/nodb?pushInterval=0s&createDatabase=false"),
        &[],
    );
    let sent = workload();
    let st = out.write(sent.batches[0].batch());
    let WriteStatus::Fatal(e) = st else {
        panic!("{st:?}")
    };
    assert!(
        e.message.contains("HTTP 404") && e.message.contains("database not found"),
        "{e}"
    );

    // A field type conflict: InfluxDB's 400 drops the batch, the output goes on and says why.
    let (mut a, _) = started(
        &format!("{base}/conflict?pushInterval=0s&tagsAsFields=status"),
        &[],
    );
    assert_eq!(a.write(sent.batches[0].batch()), WriteStatus::Ok);
    let (mut b, rec) = started(
        &format!("{base}/conflict?pushInterval=0s&tagsAsFields=status:int"),
        &[],
    );
    assert_eq!(b.write(sent.batches[0].batch()), WriteStatus::Ok);
    assert!(rec.counter("samples_rejected") > 0);
    let logs = format!("{:?}", rec.logs());
    assert!(
        logs.contains("HTTP 400") && logs.contains("field type conflict"),
        "{logs}"
    );
}

#[test]
fn victoriametrics_v2_write_holds_what_was_sent() {
    let Some(svc) = Service::start("victoriametrics", &[]) else {
        return;
    };
    let base = svc.var("VM_URL").to_string();
    let sent = workload();
    drive(
        &format!("{base}?org=acme&bucket=k6&pushInterval=50ms"),
        &[
            ("K6_INFLUXDB_TOKEN", "any-token"),
            ("LOADRUN_INFLUXDB_MAX_BATCH_LINES", "25"),
        ],
        &sent,
    );
    get_text(&format!("{base}/internal/force_flush"), &[]).unwrap();
    let end = (now_ns() / 1_000_000_000 + 60).to_string();
    let body = get_text(
        &format!("{base}/api/v1/export"),
        &[("match[]", "{__name__=~\"lr_.*\"}"), ("end", &end)],
    )
    .unwrap();
    // VM names series <measurement>_<field>.
    let mut got: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut labels: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in body.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let name = v["metric"]["__name__"].as_str().unwrap().to_string();
        let vals: Vec<f64> = v["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        got.entry(name.clone()).or_default().extend(vals);
        labels.entry(name).or_default().push(v["metric"].clone());
    }
    for (metric, values) in &sent.values {
        let key = format!("{metric}_value");
        let mut a = got.get(&key).cloned().unwrap_or_default();
        let mut b = values.clone();
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        assert_eq!(a, b, "{key}: {body}");
    }
    // vu/iter metadata arrived as fields: one vu value per point of lr_http_reqs.
    let mut vu = got.get("lr_http_reqs_vu").cloned().unwrap_or_default();
    vu.sort_by(f64::total_cmp);
    assert_eq!(vu.len(), 75);
    assert_eq!(vu.iter().filter(|v| **v == 2.0).count(), 15);
    let l = &labels["lr_http_reqs_value"];
    assert!(
        l.iter().any(|m| m["status"] == "404"
            && m["method"] == "GET"
            && m["name"] == "http://t/missing"
            && m.get("group").is_none()),
        "{l:?}"
    );
    assert!(
        l.iter().all(|m| m.get("url").is_none()),
        "url is a field, not a label: {l:?}"
    );
}

#[test]
fn influxdb_v1_stops_mid_run_and_comes_back() {
    let Some(svc) = Service::start("influxdb", &[]) else {
        return;
    };
    let base = svc.var("INFLUXDB_URL").to_string();
    let port = svc.var("INFLUXDB_PORT").to_string();
    let sent = workload();
    let (mut out, rec) = started(
        &format!("{base}/lr_restart?pushInterval=0s"),
        &[("LOADRUN_INFLUXDB_TIMEOUT", "2s")],
    );
    assert_eq!(out.write(sent.batches[0].batch()), WriteStatus::Ok);

    svc.stop();
    let st = out.write(sent.batches[1].batch());
    assert!(matches!(st, WriteStatus::Retry { .. }), "{st:?}");
    // The host backs off and re-sends; the server is still down.
    assert!(matches!(
        out.write(sent.batches[1].batch()),
        WriteStatus::Retry { .. }
    ));

    let script =
        loadrun_test_support::artifacts::workspace_root().join("tests/services/start-influxdb.sh");
    let o = std::process::Command::new("bash")
        .arg(script)
        .arg(svc.state_dir())
        .arg(&port)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        out.write(sent.batches[1].batch()),
        WriteStatus::Ok,
        "{:?}",
        rec.logs()
    );
    assert_eq!(out.write(sent.batches[2].batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(rec.counter("samples_lost"), 0);

    for (metric, values) in &sent.values {
        let r = influx_query(
            &base,
            "lr_restart",
            &format!("SELECT count(value) FROM {metric}"),
        );
        assert_eq!(
            r["series"][0]["values"][0][1].as_u64(),
            Some(values.len() as u64),
            "{metric}: {r}"
        );
    }
}

/// Points InfluxDB would key alike — two VUs ending an iteration in the same nanosecond, or
/// two requests whose only difference is the url moved to a field — are all held by the
/// server; at a coarse precision the collisions are counted as lost instead of vanishing.
#[test]
fn influxdb_v1_keeps_points_that_share_a_timestamp() {
    let Some(svc) = Service::start("influxdb", &[]) else {
        return;
    };
    let base = svc.var("INFLUXDB_URL").to_string();
    let t = now_ns() - 5_000_000_000;
    let mut b = BatchBuilder::new();
    let iters = b.metric("iterations", MetricType::Counter, ValueKind::Default);
    let reqs = b.metric("http_reqs", MetricType::Counter, ValueKind::Default);
    let it = b.series(iters, &[("scenario", "default")], &[]);
    let a = b.series(reqs, &[("status", "200"), ("url", "http://t/a")], &[]);
    let c = b.series(reqs, &[("status", "200"), ("url", "http://t/c")], &[]);
    for _ in 0..3 {
        b.sample(it, t, 1.0);
    }
    b.sample(a, t, 1.0);
    b.sample(c, t, 1.0);
    let sum = |db: &str, m: &str| {
        influx_query(&base, db, &format!("SELECT count(value) FROM {m}"))["series"][0]["values"][0]
            [1]
        .as_f64()
    };

    let (mut out, rec) = started(&format!("{base}/same_ns?tagsAsFields=url"), &[]);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(sum("same_ns", "iterations"), Some(3.0));
    assert_eq!(sum("same_ns", "http_reqs"), Some(2.0));
    assert_eq!(rec.counter("samples_lost"), 0, "{:?}", rec.logs());

    let (mut out, rec) = started(&format!("{base}/same_s?precision=s&tagsAsFields=url"), &[]);
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(sum("same_s", "iterations"), Some(1.0));
    assert_eq!(rec.counter("overwritten_points"), 3);
    assert_eq!(rec.counter("samples_lost"), 3);
    let logs = format!("{:?}", rec.logs());
    assert!(logs.contains("precision=s: points of one series"), "{logs}");
}
