//! The requests this output sends, compared with what real k6 v1.1.0 sent
//! (`/work/shared/reference/fixtures/wire/influx/`, copied under tests/fixtures/): the same
//! points give the same lines, byte for byte, timestamps included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use loadrun_plugin_api::testkit::{completed_outcome, BatchBuilder};
use loadrun_plugin_api::{MetricType, ValueKind, WriteStatus};

const K6_BODY: &str = include_str!("fixtures/k6-influx-write.body");
const K6_META: &str = include_str!("fixtures/k6-influx-write.meta");

/// A fixture line back into (measurement, tags, url field, value, ts). The fixture has no
/// escaped characters, so plain splitting is exact.
fn parse(line: &str) -> (String, Vec<(String, String)>, Option<String>, f64, i64) {
    let mut parts = line.splitn(3, ' ');
    let (key, fields, ts) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut key = key.split(',');
    let name = key.next().unwrap().to_string();
    let tags = key
        .map(|kv| kv.split_once('=').unwrap())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut url = None;
    let mut value = f64::NAN;
    for f in fields.split(',') {
        let (k, v) = f.split_once('=').unwrap();
        match k {
            "url" => url = Some(v.trim_matches('"').to_string()),
            "value" => value = v.parse().unwrap(),
            other => panic!("unexpected field {other}"),
        }
    }
    (name, tags, url, value, ts.parse().unwrap())
}

fn metric_type(name: &str) -> (MetricType, ValueKind) {
    match name {
        "http_reqs" | "iterations" => (MetricType::Counter, ValueKind::Default),
        "data_sent" | "data_received" => (MetricType::Counter, ValueKind::Data),
        "http_req_failed" | "checks" => (MetricType::Rate, ValueKind::Default),
        _ => (MetricType::Trend, ValueKind::Time),
    }
}

/// The samples k6 had, as the host would define them: `url` is a tag (k6's tagsAsFields moved
/// it), and the root `group` is present with an empty value where k6's line lacks it.
fn fixture_batch() -> BatchBuilder {
    let mut b = BatchBuilder::new();
    let mut metrics = BTreeMap::new();
    let mut series = BTreeMap::new();
    for line in K6_BODY.lines() {
        let (name, mut tags, url, value, ts) = parse(line);
        let (t, k) = metric_type(&name);
        let m = *metrics
            .entry(name.clone())
            .or_insert_with(|| b.metric(&name, t, k));
        if let Some(u) = url {
            tags.push(("url".into(), u));
        }
        if !tags.iter().any(|(k, _)| k == "group") {
            tags.push(("group".into(), String::new()));
        }
        let key = format!("{name}{tags:?}");
        let tag_refs: Vec<(&str, &str)> =
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let s = *series
            .entry(key)
            .or_insert_with(|| b.series(m, &tag_refs, &[("iter", "0"), ("vu", "1")]));
        b.sample(s, ts, value);
    }
    b
}

#[test]
fn same_lines_as_k6_for_the_same_points() {
    let r = Responder::start();
    let arg = format!("{}/mydb", r.url.replace("http://", "http://u:p@"));
    // k6 writes no vu/iter (they are metadata); turn metadataAsFields off to compare.
    let (mut out, _rec) = started(
        &arg,
        &[
            ("LOADRUN_INFLUXDB_METADATA_AS_FIELDS", ""),
            ("K6_INFLUXDB_PUSH_INTERVAL", "1h"),
        ],
    );
    let b = fixture_batch();
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    // Buffered until the push interval: nothing written yet.
    assert!(r.writes().is_empty());
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();

    let got = r.received();
    assert_eq!(got.len(), 2, "{got:#?}");
    // 1. CREATE DATABASE, as k6 does (quoted name: k6's unquoted form breaks on dashes).
    assert!(
        got[0]
            .line
            .starts_with("POST /query?q=CREATE+DATABASE+%22mydb%22 "),
        "{}",
        got[0].line
    );
    assert_eq!(got[0].header("authorization"), Some("Basic dTpw"));
    // 2. The write: k6's request line is `POST /write?consistency=&db=mydb&precision=ns&rp=`;
    //    ours leaves the empty parameters out, which InfluxDB reads the same way.
    let k6_line = K6_META.lines().next().unwrap();
    assert_eq!(k6_line, "POST /write?consistency=&db=mydb&precision=ns&rp=");
    assert_eq!(got[1].line, "POST /write?db=mydb&precision=ns HTTP/1.1");
    assert!(K6_META.contains("Authorization: Basic dTpw"));
    assert_eq!(got[1].header("authorization"), Some("Basic dTpw"));
    assert_eq!(got[1].header("content-encoding"), Some("gzip"));
    assert_eq!(got[1].text(), K6_BODY, "same bytes as k6's body");
}

#[test]
fn vu_and_iter_metadata_become_int_fields_by_default() {
    let r = Responder::start();
    let (mut out, _rec) = started(&format!("{}/mydb", r.url), &[]);
    let b = fixture_batch();
    assert_eq!(out.write(b.batch()), WriteStatus::Ok);
    out.stop(&completed_outcome(), Duration::from_secs(5))
        .unwrap();
    let body = r.writes()[0].text();
    let first = body.lines().next().unwrap();
    assert!(
        first.ends_with(
            " iter=0i,url=\"http://127.0.0.1:18080/\",value=1,vu=1i 1795608256902267372"
        ),
        "{first}"
    );
    let k6_first = K6_BODY.lines().next().unwrap();
    assert_eq!(
        first.split(' ').next(),
        k6_first.split(' ').next(),
        "same measurement and tags"
    );
}
