//! `-o datadog` through the `loadrun` binary: `transport=api` into the real VictoriaMetrics
//! (which speaks Datadog's series API), and `transport=dogstatsd` into a UDP socket standing in
//! for the agent. What arrives must add up to the run's summary export.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use loadrun_test_support::Service;
use serde_json::Value;

use crate::support::{http, quick_run, url_encode};

/// Every exported sample of `k6.*` series: (name, labels, values).
fn export(vm: &str) -> Vec<(String, BTreeMap<String, String>, Vec<f64>)> {
    http("GET", &format!("{vm}/internal/force_flush"), &[], b"");
    let end = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60)
        .to_string();
    let query = url_encode(r#"{__name__=~"k6\\..*"}"#);
    let (status, text) = http(
        "GET",
        &format!("{vm}/api/v1/export?match[]={query}&end={end}"),
        &[],
        b"",
    );
    assert_eq!(status, 200, "{text}");
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let mut labels: BTreeMap<String, String> = v["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            let name = labels.remove("__name__").unwrap();
            let values = v["values"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            (name, labels, values)
        })
        .collect()
}

fn total(series: &[(String, BTreeMap<String, String>, Vec<f64>)], name: &str) -> f64 {
    series
        .iter()
        .filter(|(n, _, _)| n == name)
        .flat_map(|(_, _, v)| v)
        .sum()
}

#[test]
fn datadog_api_series_match_the_summary() {
    let Some(vm) = Service::start("victoriametrics", &[]) else {
        return;
    };
    let url = vm.var("VM_URL").to_string();
    // As a user points the plugin at a proxy: endpoint and host on `-o`, the key, the env tag
    // and a push interval shorter than the api default (10s) from the environment.
    let out =
        format!("datadog=transport=api,apiVersion=1,endpoint={url}/datadog,host=e2e-generator");
    let run = quick_run(
        "/",
        2,
        "2s",
        &["datadog"],
        &["--rate", "50", "-o", &out],
        &[
            ("DD_API_KEY", "e2e-secret-key"),
            ("DD_ENV", "e2e"),
            ("K6_STATSD_PUSH_INTERVAL", "1s"),
        ],
    );
    run.assert_clean();
    assert!(!run.stderr().contains("e2e-secret-key"), "{}", run.stderr());
    let reqs = run.metric("http_reqs", "count");
    let iterations = run.metric("iterations", "count");
    assert!(reqs > 0.0);

    let until = Instant::now() + Duration::from_secs(10);
    let series = loop {
        let s = export(&url);
        if total(&s, "k6.http_reqs") >= reqs || Instant::now() > until {
            break s;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let names: Vec<&String> = series.iter().map(|(n, _, _)| n).collect();
    assert_eq!(total(&series, "k6.http_reqs"), reqs, "{names:?}");
    assert_eq!(total(&series, "k6.iterations"), iterations);
    assert_eq!(total(&series, "k6.http_req_duration.count"), reqs);
    for name in [
        "k6.http_req_duration.avg",
        "k6.http_req_duration.95percentile",
        "k6.vus",
        "k6.data_sent",
    ] {
        assert!(names.iter().any(|n| *n == name), "no {name} in {names:?}");
    }
    // The labels the Datadog k6 dashboard filters by.
    let (_, labels, _) = series.iter().find(|(n, _, _)| n == "k6.http_reqs").unwrap();
    for (k, v) in [
        ("method", "GET"),
        ("status", "200"),
        ("scenario", "default"),
        ("env", "e2e"),
        ("host", "e2e-generator"),
    ] {
        assert_eq!(
            labels.get(k).map(String::as_str),
            Some(v),
            "{k} in {labels:?}"
        );
    }
    assert!(
        !labels.contains_key("url"),
        "url is blocklisted by default: {labels:?}"
    );
}

/// One DogStatsD line: `name:value|type|@rate|#tags`.
struct Line {
    name: String,
    value: f64,
    kind: String,
    tags: Vec<String>,
}

fn parse(line: &str) -> Line {
    let (name, rest) = line.split_once(':').unwrap_or_else(|| panic!("{line}"));
    let mut parts = rest.split('|');
    let value = parts
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{line}"));
    let kind = parts.next().unwrap_or_else(|| panic!("{line}")).to_string();
    let tags = parts
        .find_map(|p| p.strip_prefix('#'))
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    Line {
        name: name.to_string(),
        value,
        kind,
        tags,
    }
}

#[test]
fn dogstatsd_lines_match_the_summary() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (received, done) = (received.clone(), done.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(n) = socket.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    received
                        .lock()
                        .unwrap()
                        .extend(text.lines().map(str::to_string));
                }
            }
        })
    };
    // The agent's address as `-o datadog=HOST:PORT`, a global tag from DD_ENV.
    let out = format!("datadog={addr}");
    let run = quick_run(
        "/",
        2,
        "2s",
        &["datadog"],
        &["--rate", "50", "-o", &out],
        &[("DD_ENV", "e2e")],
    );
    // Loopback UDP needs no time to arrive; a moment for the reader to drain its buffer.
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    reader.join().unwrap();
    run.assert_clean();
    assert_eq!(
        run.output_report("datadog")["counters"]["send_errors"]
            .as_u64()
            .unwrap_or(0),
        0
    );

    let lines: Vec<Line> = received.lock().unwrap().iter().map(|l| parse(l)).collect();
    let sum = |name: &str| -> f64 {
        lines
            .iter()
            .filter(|l| l.name == name && l.kind == "c")
            .map(|l| l.value)
            .sum()
    };
    assert_eq!(sum("k6.http_reqs"), run.metric("http_reqs", "count"));
    assert_eq!(sum("k6.iterations"), run.metric("iterations", "count"));
    let timings = lines
        .iter()
        .filter(|l| l.name == "k6.http_req_duration" && l.kind == "ms")
        .count();
    assert_eq!(timings as f64, run.metric("http_reqs", "count"));
    let reqs = lines.iter().find(|l| l.name == "k6.http_reqs").unwrap();
    for tag in [
        "env:e2e",
        "method:GET",
        "status:200",
        "scenario:default",
        "expected_response:true",
    ] {
        assert!(
            reqs.tags.iter().any(|t| t == tag),
            "no {tag} in {:?}",
            reqs.tags
        );
    }
    assert!(
        !reqs.tags.iter().any(|t| t.starts_with("url:")),
        "{:?}",
        reqs.tags
    );
}
