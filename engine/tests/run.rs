//! The engine end to end, in-process: a plan against the built-in server, samples captured
//! from the collector and checked for k6's metrics, tags and values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use loadrun_engine::plan::{parse_str, Format};
use loadrun_engine::server::TestServer;
use loadrun_engine::{Engine, EngineOptions};
use loadrun_metrics::Registry;

mod common;

/// (metric, tags, metadata, value) of every sample.
type Row = (
    String,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    f64,
);

fn run(
    plan: &str,
    env: &[(&str, &str)],
    system_tags: Option<Vec<String>>,
) -> (Vec<Row>, loadrun_engine::RunResult) {
    let server = TestServer::start("127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let mut opts = EngineOptions {
        system_tags,
        ..Default::default()
    };
    opts.env.insert("TEST_SERVER".into(), server.url());
    for (k, v) in env {
        opts.env.insert(k.to_string(), v.to_string());
    }
    let (rows, result) = common::run_plan(
        plan,
        &opts,
        Duration::from_millis(50),
        Duration::from_secs(120),
    );
    let rows = rows
        .into_iter()
        .map(|r| (r.metric, r.tags, r.metadata, r.value))
        .collect();
    (rows, result)
}

fn count(rows: &[Row], metric: &str) -> usize {
    rows.iter().filter(|r| r.0 == metric).count()
}

#[test]
fn requests_checks_groups_and_k6_tags() {
    let plan = r#"
tags = { testid = "demo" }
iterations = 3
vus = 1

[[steps]]
group = "g1"
steps = [
  { url = "${TEST_SERVER}/get?x=1", tags = { mytag = "hello" }, checks = [
      { status = 200 },
      { json = "/args/x", equals = "1" },
      { header = "content-type", contains = "json" },
      { name = "fast", duration = "5s" },
  ] },
]

[[steps]]
url = "${TEST_SERVER}/status/404"
name = "missing"
checks = [{ status = 200, name = "should fail" }]
"#;
    let (rows, result) = run(plan, &[], None);
    assert_eq!(result.iterations, 3);
    for m in [
        "http_reqs",
        "http_req_duration",
        "http_req_blocked",
        "http_req_connecting",
        "http_req_tls_handshaking",
        "http_req_sending",
        "http_req_waiting",
        "http_req_receiving",
        "http_req_failed",
    ] {
        assert_eq!(count(&rows, m), 6, "{m}");
    }
    assert_eq!(count(&rows, "iterations"), 3);
    assert_eq!(count(&rows, "iteration_duration"), 3);
    assert_eq!(count(&rows, "group_duration"), 3);
    assert_eq!(count(&rows, "checks"), 15);
    assert!(count(&rows, "vus") >= 1 && count(&rows, "vus_max") >= 1);

    let ok = rows
        .iter()
        .find(|r| r.0 == "http_reqs" && r.1.get("status").map(String::as_str) == Some("200"))
        .unwrap();
    let url = ok.1["url"].clone();
    assert!(url.ends_with("/get?x=1"), "{url}");
    assert_eq!(ok.1["name"], url);
    assert_eq!(ok.1["group"], "::g1");
    assert_eq!(ok.1["method"], "GET");
    assert_eq!(ok.1["proto"], "HTTP/1.1");
    assert_eq!(ok.1["scenario"], "default");
    assert_eq!(ok.1["expected_response"], "true");
    assert_eq!(ok.1["mytag"], "hello");
    assert_eq!(ok.1["testid"], "demo");
    assert!(!ok.1.contains_key("error_code"));

    let missing = rows
        .iter()
        .find(|r| r.0 == "http_reqs" && r.1.get("status").map(String::as_str) == Some("404"))
        .unwrap();
    assert_eq!(missing.1["url"], "missing");
    assert_eq!(missing.1["name"], "missing");
    assert_eq!(missing.1["error_code"], "1404");
    assert_eq!(missing.1["expected_response"], "false");
    assert_eq!(missing.1["group"], "");
    let failed: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 == "http_req_failed" && r.1["status"] == "404")
        .map(|r| r.3)
        .collect();
    assert_eq!(failed, vec![1.0; 3]);

    // Checks: 4 pass per iteration, "should fail" fails.
    let pass: f64 = rows.iter().filter(|r| r.0 == "checks").map(|r| r.3).sum();
    assert_eq!(pass, 12.0);
    let c = rows
        .iter()
        .find(|r| r.0 == "checks" && r.1["check"] == "json /args/x is 1")
        .unwrap();
    assert_eq!(c.1["group"], "::g1");
    assert!(!c.1.contains_key("mytag"));

    // Durations add up like k6's: duration = sending + waiting + receiving, and the first
    // request of the VU connected.
    let connecting: f64 = rows
        .iter()
        .filter(|r| r.0 == "http_req_connecting")
        .map(|r| r.3)
        .sum();
    assert!(connecting > 0.0);
    let received: f64 = rows
        .iter()
        .filter(|r| r.0 == "data_received")
        .map(|r| r.3)
        .sum();
    let sent: f64 = rows
        .iter()
        .filter(|r| r.0 == "data_sent")
        .map(|r| r.3)
        .sum();
    assert!(received > 600.0 && sent > 200.0, "{received} {sent}");
}

#[test]
fn extraction_cookies_redirects_feeds_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "name,pass\nalice,a1\nbob,b2\n").unwrap();
    let plan = format!(
        r#"
iterations = 2
[data.users]
file = "{}"

[[steps]]
method = "POST"
url = "${{TEST_SERVER}}/post"
json = {{ user = "${{users.name}}", env = "${{GREETING}}" }}
extract = [
  {{ var = "echoed", json = "/json/user" }},
  {{ var = "ctype", header = "Content-Type" }},
  {{ var = "word", regex = "\"env\": \"(\\w+)\"" }},
]

[[steps]]
url = "${{TEST_SERVER}}/anything?u=${{echoed}}&w=${{word}}&i=${{__ITER}}"
name = "echo"
checks = [{{ json = "/args/w", equals = "hi" }}, {{ json = "/args/u", matches = "^(alice|bob)$" }}]

[[steps]]
url = "${{TEST_SERVER}}/cookies/set?session=s1"
checks = [{{ json = "/cookies/session", equals = "s1" }}]

[[steps]]
url = "${{TEST_SERVER}}/cookies"
checks = [{{ json = "/cookies/session", equals = "s1", name = "cookie kept" }}]

[[steps]]
url = "${{TEST_SERVER}}/redirect/3"
maxRedirects = 2
checks = [{{ status = 302, name = "stopped after 2 redirects" }}]
"#,
        csv.display()
    );
    let (rows, result) = run(&plan, &[("GREETING", "hi")], None);
    assert_eq!(result.iterations, 2);
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| r.0 == "checks" && r.3 == 0.0)
        .map(|r| r.1["check"].clone())
        .collect();
    assert!(failed.is_empty(), "failed checks: {failed:?}");
    assert_eq!(count(&rows, "checks"), 10);
    // Each hop is a request with its own metrics: per iteration /cookies/set (302) and
    // /redirect/3, /redirect/2, /redirect/1 (302 each; the third is returned, maxRedirects = 2).
    let redirects = rows
        .iter()
        .filter(|r| r.0 == "http_reqs" && r.1["status"] == "302")
        .count();
    assert_eq!(redirects, 2 * 4);
}

#[test]
fn connection_refused_is_a_failed_request_with_k6_error_code() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plan = format!("[[steps]]\nurl = \"http://127.0.0.1:{port}/\"\ntimeout = \"2s\"\n");
    let (rows, result) = run(&plan, &[], None);
    assert_eq!(result.iterations, 1);
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["error_code"], "1212");
    assert_eq!(r.1["status"], "0");
    assert!(r.1["error"].contains("connection refused"), "{:?}", r.1);
    let f = rows.iter().find(|r| r.0 == "http_req_failed").unwrap();
    assert_eq!(f.3, 1.0);
}

#[test]
fn timeout_gives_1050() {
    let plan = "[[steps]]\nurl = \"${TEST_SERVER}/delay/2\"\ntimeout = \"200ms\"\n";
    let (rows, _) = run(plan, &[], None);
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["error_code"], "1050");
    assert_eq!(r.1["error"], "request timeout");
}

#[test]
fn every_request_gets_its_own_timeout_from_the_vus_one_timer() {
    // The client keeps one timer from request to request: it has to move earlier for a short
    // timeout after a long one, go off, and be armed again for the requests after it.
    let plan = r#"
iterations = 2
[[steps]]
url = "${TEST_SERVER}/get"
timeout = "60s"
[[steps]]
url = "${TEST_SERVER}/delay/2"
timeout = "200ms"
[[steps]]
url = "${TEST_SERVER}/get"
timeout = "60s"
"#;
    let (rows, result) = run(plan, &[], None);
    assert_eq!(result.iterations, 2);
    let reqs: Vec<_> = rows.iter().filter(|r| r.0 == "http_reqs").collect();
    assert_eq!(reqs.len(), 6);
    let outcomes = |path: &str| -> Vec<(String, String)> {
        reqs.iter()
            .filter(|r| r.1["url"].ends_with(path))
            .map(|r| {
                let code = r.1.get("error_code").cloned().unwrap_or_default();
                (r.1["status"].clone(), code)
            })
            .collect()
    };
    assert_eq!(outcomes("/get"), vec![("200".into(), String::new()); 4]);
    assert_eq!(outcomes("/delay/2"), vec![("0".into(), "1050".into()); 2]);
}

#[test]
fn a_step_built_once_without_cookies_sends_them_once_the_vu_has_some() {
    // The first iteration's /cookies request has no cookie, and its bytes are kept for the
    // step; the second iteration's must not reuse them: the VU has a cookie by then.
    let plan = r#"
iterations = 2
[[steps]]
url = "${TEST_SERVER}/cookies"
name = "echo"
checks = [{ json = "/cookies/session", exists = true, name = "sent" }]
[[steps]]
url = "${TEST_SERVER}/cookies/set?session=s1"
"#;
    let (rows, result) = run(plan, &[], None);
    assert_eq!(result.iterations, 2);
    let sent: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 == "checks" && r.1.get("check").map(String::as_str) == Some("sent"))
        .map(|r| r.3)
        .collect();
    assert_eq!(sent, [0.0, 1.0]);
}

#[test]
fn vu_and_iter_are_metadata_when_enabled() {
    let plan = "iterations = 2\n[[steps]]\nurl = \"${TEST_SERVER}/get\"\n";
    let tags = ["url", "status", "vu", "iter", "scenario"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (rows, _) = run(plan, &[], Some(tags));
    let r: Vec<_> = rows.iter().filter(|r| r.0 == "http_reqs").collect();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].2["vu"], "1");
    assert_eq!(r[0].2["iter"], "0");
    assert_eq!(r[1].2["iter"], "1");
    assert!(!r[0].1.contains_key("vu"));
    assert!(!r[0].1.contains_key("method"));
    assert!(r[0].1.contains_key("status"));
}

#[test]
fn constant_vus_runs_for_its_duration() {
    let plan = r#"
[scenarios.steady]
executor = "constant-vus"
vus = 3
duration = "1s"
tags = { kind = "steady" }
[[steps]]
url = "${TEST_SERVER}/delay/0.05"
"#;
    let start = std::time::Instant::now();
    let (rows, result) = run(plan, &[], None);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    // 3 VUs x ~1s / ~50ms.
    assert!(
        (30..=66).contains(&result.iterations),
        "{}",
        result.iterations
    );
    let r = rows.iter().find(|r| r.0 == "http_reqs").unwrap();
    assert_eq!(r.1["scenario"], "steady");
    assert_eq!(r.1["kind"], "steady");
    let max_vus = rows
        .iter()
        .filter(|r| r.0 == "vus_max")
        .map(|r| r.3)
        .fold(0.0, f64::max);
    assert_eq!(max_vus, 3.0);
}

#[test]
fn constant_arrival_rate_keeps_its_rate_and_drops_when_vus_run_out() {
    let plan = r#"
[scenarios.open]
executor = "constant-arrival-rate"
rate = 200
timeUnit = "1s"
duration = "1s"
preAllocatedVUs = 5
# Room to grow: on a loaded machine a request can outlast 5 VUs' share of the 5 ms pace, and
# a drop here would be the machine's, not the scheduler's.
maxVUs = 100
[[steps]]
url = "${TEST_SERVER}/get"

[scenarios.starved]
executor = "constant-arrival-rate"
rate = 50
duration = "1s"
preAllocatedVUs = 1
maxVUs = 2
exec = "slow"
[[flows.slow]]
url = "${TEST_SERVER}/delay/0.3"
"#;
    let (rows, result) = run(plan, &[], None);
    let open = rows
        .iter()
        .filter(|r| r.0 == "iterations" && r.1["scenario"] == "open")
        .count();
    assert!((199..=201).contains(&open), "{open}");
    let dropped: f64 = rows
        .iter()
        .filter(|r| r.0 == "dropped_iterations")
        .inspect(|r| assert_eq!(r.1["scenario"], "starved"))
        .map(|r| r.3)
        .sum();
    assert!(dropped >= 35.0, "{dropped}");
    assert_eq!(dropped as u64, result.dropped);
    // Queueing shows: the slow scenario's iterations take at least the server delay.
    let min_iter = rows
        .iter()
        .filter(|r| r.0 == "iteration_duration" && r.1["scenario"] == "starved")
        .map(|r| r.3)
        .fold(f64::MAX, f64::min);
    assert!(min_iter >= 300.0, "{min_iter}");
}

#[test]
fn ramping_vus_follows_its_stages() {
    let plan = r#"
[scenarios.ramp]
executor = "ramping-vus"
startVUs = 0
stages = [{ duration = "500ms", target = 4 }, { duration = "500ms", target = 0 }]
gracefulRampDown = "0s"
[[steps]]
url = "${TEST_SERVER}/delay/0.02"
"#;
    let (rows, result) = run(plan, &[], None);
    assert!(result.iterations > 20, "{}", result.iterations);
    let max_vus = rows
        .iter()
        .filter(|r| r.0 == "vus_max")
        .map(|r| r.3)
        .fold(0.0, f64::max);
    assert_eq!(max_vus, 4.0);
}

#[test]
fn bad_feeds_are_refused_when_the_plan_is_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let compile = |csv: &str, mode: &str, vus: u32| {
        let path = dir.path().join("users.csv");
        std::fs::write(&path, csv).unwrap();
        let plan = format!(
            "vus = {vus}\niterations = {vus}\n[data.users]\nfile = \"{}\"\nmode = \"{mode}\"\n\
             [[steps]]\nurl = \"http://127.0.0.1:1/${{users.name}}\"\n",
            path.display()
        );
        let plan = parse_str(&plan, Format::Toml, "t.toml").unwrap();
        Engine::new(&plan, &EngineOptions::default(), Arc::new(Registry::new()))
            .err()
            .map(|e| e.to_string())
    };
    let e = compile("name\nalice\nbob\n", "unique", 3).expect("3 VUs on 2 unique rows");
    assert!(e.contains("data feed users"), "{e}");
    assert!(e.contains("has 2 rows for up to 3 VUs"), "{e}");
    assert_eq!(compile("name\nalice\nbob\n", "unique", 2), None);
    assert_eq!(compile("name\nalice\nbob\n", "sequential", 3), None);

    let e = compile("name,pass\nalice,a\nbob\n", "sequential", 1).expect("ragged row");
    assert!(
        e.contains("users.csv: line 3: 1 fields, but the header has 2"),
        "{e}"
    );
    let e = compile("name,pass\nalice,\"a\nbob,b\n", "sequential", 1).expect("open quote");
    assert!(
        e.contains("users.csv: line 2: a quoted field is never closed"),
        "{e}"
    );
}

/// Runs `plan`, failing the test if it has not ended after `limit`. Returns each sample's
/// metric name, value and arrival time since the start, and the result.
fn run_within(
    plan: &str,
    limit: Duration,
) -> (Vec<(String, f64, Duration)>, loadrun_engine::RunResult) {
    let server = TestServer::start("127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let mut opts = EngineOptions::default();
    opts.env.insert("TEST_SERVER".into(), server.url());
    let (rows, result) = common::run_plan(plan, &opts, Duration::from_millis(100), limit);
    let rows = rows
        .into_iter()
        .map(|r| (r.metric, r.value, r.at))
        .collect();
    (rows, result)
}

#[test]
fn refused_requests_back_off_and_the_run_ends_on_time() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plan = format!(
        "[scenarios.s]\nexecutor = \"constant-vus\"\nvus = 20\nduration = \"2s\"\ngracefulStop = \"1s\"\n\n[[steps]]\nurl = \"http://127.0.0.1:{port}/\"\n"
    );
    // 2 s + gracefulStop, with room for a loaded machine.
    let (_, result) = run_within(&plan, Duration::from_secs(15));
    assert!(result.duration < Duration::from_secs(8), "{result:?}");
    // Each VU: 3 iterations at full speed, then waits of 100, 200, 400, 800 ms...
    assert!(result.iterations >= 20 * 3, "{result:?}");
    assert!(result.iterations <= 20 * 10, "{result:?}");
}

#[test]
fn an_absurd_rate_counts_what_it_drops_in_a_few_samples() {
    let plan = r#"
[scenarios.s]
executor = "constant-arrival-rate"
rate = 1000000000000
duration = "1s"
preAllocatedVUs = 2
maxVUs = 5
gracefulStop = "1s"

[[steps]]
url = "${TEST_SERVER}/"
"#;
    let (rows, result) = run_within(plan, Duration::from_secs(15));
    let dropped: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 == "dropped_iterations")
        .map(|r| r.1)
        .collect();
    let total: f64 = dropped.iter().sum();
    assert_eq!(total, result.dropped as f64);
    let want = 1e12 - (result.iterations + result.interrupted) as f64;
    assert!((total - want).abs() < 0.1 * want, "{total} dropped");
    // Summed about every 100 ms rather than one sample per dropped iteration.
    assert!(dropped.len() <= 40, "{} samples", dropped.len());
}

#[test]
fn a_finished_request_reaches_the_collector_during_its_think_time() {
    let plan = r#"
[scenarios.s]
executor = "constant-vus"
vus = 1
duration = "3s"
gracefulStop = "0s"

[[steps]]
url = "${TEST_SERVER}/"

[[steps]]
sleep = "5s"
"#;
    let (rows, _) = run_within(plan, Duration::from_secs(15));
    let at = rows
        .iter()
        .find(|r| r.0 == "http_reqs")
        .map(|r| r.2)
        .unwrap();
    // The request ends at once and its think time outlasts the run: before the fix its samples
    // waited in the VU's buffer until the run ended (3 s).
    assert!(
        at < Duration::from_secs(2),
        "http_reqs arrived after {at:?}"
    );
}
