//! Each network output: how to point it at an address, and how to read back what its server
//! holds for one run (identified by a `key`: a database, a namespace, a test-wide tag or a
//! recorder of its own).
//!
//! Every output reports the samples it accepted but could not deliver (refused by the server,
//! unsent at the stop deadline, lost to a write error) through the standard `samples_rejected`
//! / `samples_lost` counters, and the host moves them from `written` to `dropped`. So `written`
//! is what the server should hold, in every state, faults or not. What "matches `written`"
//! means, per output:
//! - influxdb, timescaledb: one point/row per sample, so the server's count for the run must
//!   EQUAL `written` (`Held::Samples`), whatever the fault.
//! - prometheus, grafana-cloud, opentelemetry, datadog (api), new relic, cloudwatch, cloud: the
//!   plugin aggregates, so the server holds sums, not samples; we compare the server's
//!   `http_reqs` total with the run's `http_reqs` count (`Held::Total`). With nothing dropped
//!   they must be EQUAL. With drops they cannot be compared exactly from outside: `dropped` is
//!   counted across all metrics (a request carries `http_reqs` together with `http_req_duration`,
//!   `data_sent`, `vus`… in proportions that depend on timing), and the host does not report
//!   drops per metric. The tightest bound that is always true is
//!   `reqs - dropped <= total <= reqs`: at most `dropped` of the run's `http_reqs` samples can be
//!   missing (every missing sample is dropped, since `written` is exact), and none can be
//!   counted twice. For the cumulative outputs (prometheus, grafana-cloud) a push that failed is
//!   made good by any later push of the same series, and the plugins settle that at stop, so
//!   the bound holds there too.
//! - statsd, netdata, datadog (dogstatsd): UDP (or StatsD over TCP) to an aggregating daemon;
//!   a datagram lost on the way cannot be known to the sender, so only the baseline run's
//!   totals are compared (statsd), and Netdata (charts per second) is not read back.
//!
//! Request timeouts: a request blocked past the stop deadline leaves the plugin no chance to
//! report what it held: the host waits 500 ms more, then abandons it (`stop_timeout`) and its
//! accepted samples stay in `written`. The host may start a `write` just before the deadline,
//! so only a request timeout under that 500 ms grace guarantees the plugin reaches `stop`
//! (which, its deadline passed, reports what it holds at once). Every network output here gets
//! `timeout=400ms`. Since plugin API 1.2 the host also tells outputs the stop deadline, and the
//! HTTP outputs (http-support, datadog's API client, OTLP gRPC) cut a request under way at it,
//! so their 10 s defaults reach `stop` too (see `tests/e2e/stop_deadline.rs`); the short
//! timeout keeps this table's runs short and covers the outputs that are not told.
//! (TimescaleDB connects at start and refuses to run without its server, so a hung server never
//! gets that far; its statements keep their default timeout.)

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadrun_test_support::recorder::{Recorder, Request, Response};
use loadrun_test_support::Service;
use serde_json::Value;

use super::harness::Finished;

/// What the server holds for one run.
#[derive(Debug, Clone)]
pub enum Held {
    /// One stored point per sample.
    Samples(u64),
    /// The server's `http_reqs` total.
    Total(f64),
    /// Nothing to compare, with why.
    Unreadable(&'static str),
}

/// How an output is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// HTTP over TCP: every proxy fault applies.
    Http,
    /// A TCP protocol that is not HTTP (PostgreSQL, StatsD over TCP).
    Tcp,
    /// A one-way TCP stream (StatsD over TCP): the server never answers, so a blackhole or
    /// garbage cannot be noticed.
    Stream,
    /// UDP datagrams: no proxy; only "down", "killed" and DNS.
    Udp,
}

pub trait Target: Send + Sync {
    /// The `-o` name (and the report's name).
    fn output(&self) -> &'static str;
    /// The plugin file's name (`libout_NAME.so`).
    fn plugin(&self) -> &'static str;
    fn wire(&self) -> Wire;
    /// `host:port` of the backend (what the proxy forwards to).
    fn upstream(&self, key: &str) -> String;
    /// The `-o` value (after `NAME=`) sending to `addr` (`host:port`), without host options.
    fn out(&self, addr: &str, key: &str) -> String;
    /// Extra command-line arguments (tags) and environment.
    fn extra(&self, _key: &str) -> (Vec<String>, Vec<(String, String)>) {
        (vec![], vec![])
    }
    fn held(&self, key: &str, run: &Finished) -> Held;
}

// ------------------------------------------------------------------ small HTTP client

/// One request with `Connection: close`; (status, body).
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

fn tag(key: &str) -> (Vec<String>, Vec<(String, String)>) {
    (vec!["--tag".into(), format!("rtest={key}")], vec![])
}

// ------------------------------------------------------------------ influxdb

pub struct Influx(pub Arc<Service>);

impl Target for Influx {
    fn output(&self) -> &'static str {
        "influxdb"
    }
    fn plugin(&self) -> &'static str {
        "influxdb"
    }
    fn wire(&self) -> Wire {
        Wire::Http
    }
    fn upstream(&self, key: &str) -> String {
        let addr = host_port(self.0.var("INFLUXDB_URL"));
        // The database exists before the run: "down at start" must not be about CREATE DATABASE.
        let (st, b) = http(
            &addr,
            "POST",
            "/query",
            &format!("q={}", enc(&format!("CREATE DATABASE \"{key}\""))),
        );
        assert_eq!(st, 200, "{b}");
        addr
    }
    fn out(&self, addr: &str, key: &str) -> String {
        // k6's URL form; the host's options follow it (`,retryMaxElapsed=…`).
        format!("http://{addr}/{key}?createDatabase=false&pushInterval=300ms&timeout=400ms")
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        let addr = host_port(self.0.var("INFLUXDB_URL"));
        let q = enc("SELECT count(\"value\") FROM /.*/");
        let (st, body) = http(&addr, "GET", &format!("/query?db={key}&q={q}"), "");
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let n = v["results"][0]["series"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["values"][0][1].as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        Held::Samples(n)
    }
}

// ------------------------------------------------------------------ prometheus, grafana-cloud

/// `sum(METRIC{SELECTOR})` now, from Prometheus' query API.
fn prom_sum(svc: &Service, selector: &str) -> f64 {
    let addr = host_port(svc.var("PROMETHEUS_URL"));
    let q = enc(&format!("sum(k6_http_reqs_total{{{selector}}})"));
    let (st, body) = http(&addr, "GET", &format!("/api/v1/query?query={q}"), "");
    assert_eq!(st, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

pub struct Prometheus(pub Arc<Service>);

impl Target for Prometheus {
    fn output(&self) -> &'static str {
        "prometheus"
    }
    fn plugin(&self) -> &'static str {
        "prometheus"
    }
    fn wire(&self) -> Wire {
        Wire::Http
    }
    fn upstream(&self, _: &str) -> String {
        host_port(self.0.var("PROMETHEUS_URL"))
    }
    fn out(&self, addr: &str, _: &str) -> String {
        format!("url=http://{addr}/api/v1/write,pushInterval=300ms,timeout=400ms")
    }
    fn extra(&self, key: &str) -> (Vec<String>, Vec<(String, String)>) {
        tag(key)
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        Held::Total(prom_sum(&self.0, &format!("rtest=\"{key}\"")))
    }
}

pub struct GrafanaCloud(pub Arc<Service>);

impl Target for GrafanaCloud {
    fn output(&self) -> &'static str {
        "grafana-cloud"
    }
    fn plugin(&self) -> &'static str {
        "grafana_cloud"
    }
    fn wire(&self) -> Wire {
        Wire::Http
    }
    fn upstream(&self, _: &str) -> String {
        host_port(self.0.var("PROMETHEUS_URL"))
    }
    fn out(&self, addr: &str, key: &str) -> String {
        format!("url=http://{addr}/api/v1/write,instanceId=12345,token=glc_not_a_real_token,testId={key},pushInterval=300ms,timeout=400ms")
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        Held::Total(prom_sum(&self.0, &format!("testid=\"{key}\"")))
    }
}

// ------------------------------------------------------------------ timescaledb

pub struct Timescale(pub Arc<Service>);

impl Timescale {
    fn url_parts(&self) -> (String, String) {
        // postgres://USER@127.0.0.1:PORT/DB?sslmode=disable
        let url = self.0.var("PG_URL");
        let rest = url.split_once("://").unwrap().1;
        let (user, rest) = rest.split_once('@').unwrap();
        let db = rest.split_once('/').unwrap().1.split('?').next().unwrap();
        (user.to_string(), db.to_string())
    }
}

impl Target for Timescale {
    fn output(&self) -> &'static str {
        "timescaledb"
    }
    fn plugin(&self) -> &'static str {
        "timescaledb"
    }
    fn wire(&self) -> Wire {
        Wire::Tcp
    }
    fn upstream(&self, _: &str) -> String {
        host_port(self.0.var("PG_URL").split('@').nth(1).unwrap())
    }
    fn out(&self, addr: &str, _: &str) -> String {
        let (user, db) = self.url_parts();
        format!("url=postgresql://{user}@{addr}/{db},sslmode=disable,pushInterval=300ms,connectTimeout=2s")
    }
    fn extra(&self, key: &str) -> (Vec<String>, Vec<(String, String)>) {
        tag(key)
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        let out = Command::new("psql")
            .arg(self.0.var("PG_URL"))
            .args(["-At", "-c"])
            .arg(format!(
                "SELECT count(*) FROM samples WHERE tags->>'rtest' = '{key}'"
            ))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim().parse() {
            Ok(n) => Held::Samples(n),
            // No table yet: nothing was ever written.
            Err(_) => Held::Samples(0),
        }
    }
}

// ------------------------------------------------------------------ cloudwatch (moto)

pub struct CloudWatch(pub Arc<Service>);

const CW_READ: &str = r#"
import sys, boto3, datetime
url, ns = sys.argv[1], sys.argv[2]
cw = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
now = datetime.datetime.now(datetime.timezone.utc)
total = 0.0
dims = {tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
        for m in cw.list_metrics(Namespace=ns, MetricName="http_reqs")["Metrics"]}
for d in dims:
    r = cw.get_metric_statistics(Namespace=ns, MetricName="http_reqs",
        Dimensions=[{"Name": k, "Value": v} for k, v in d],
        StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(hours=1),
        Period=60, Statistics=["Sum"])
    total += sum(p["Sum"] for p in r["Datapoints"])
print(total)
"#;

impl Target for CloudWatch {
    fn output(&self) -> &'static str {
        "cloudwatch"
    }
    fn plugin(&self) -> &'static str {
        "cloudwatch"
    }
    fn wire(&self) -> Wire {
        Wire::Http
    }
    fn upstream(&self, _: &str) -> String {
        host_port(self.0.var("MOTO_URL"))
    }
    fn out(&self, addr: &str, key: &str) -> String {
        format!("endpoint=http://{addr},region=us-east-1,namespace=rel-{key},timeout=1s,period=1s,storageResolution=1")
    }
    fn extra(&self, _: &str) -> (Vec<String>, Vec<(String, String)>) {
        (
            vec![],
            vec![
                ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ],
        )
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        let out = Command::new("python3")
            .args(["-c", CW_READ, self.0.var("MOTO_URL"), &format!("rel-{key}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim().parse() {
            Ok(v) => Held::Total(v),
            Err(_) => panic!(
                "cloudwatch read-back: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}

// ------------------------------------------------------------------ recorded services

/// One recorder per run key, made on first use.
#[derive(Default)]
pub struct Recorders(Mutex<HashMap<String, std::sync::Arc<Recorder>>>);

impl Recorders {
    fn get(&self, key: &str, make: impl FnOnce() -> Recorder) -> std::sync::Arc<Recorder> {
        self.0
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_insert_with(|| std::sync::Arc::new(make()))
            .clone()
    }
}

fn ok_json(_: &Request) -> Response {
    Response::json(202, r#"{"status":"ok"}"#)
}

/// Datadog's series API (`.1` is the version, 1 or 2) against the recorder.
pub struct DatadogApi(pub Recorders, pub u8);

impl Target for DatadogApi {
    fn output(&self) -> &'static str {
        "datadog"
    }
    fn plugin(&self) -> &'static str {
        "datadog"
    }
    fn wire(&self) -> Wire {
        Wire::Http
    }
    fn upstream(&self, key: &str) -> String {
        self.0
            .get(key, || Recorder::start(ok_json))
            .addr()
            .to_string()
    }
    fn out(&self, addr: &str, _: &str) -> String {
        format!(
            "transport=api,apiVersion={},endpoint=http://{addr},apiKey=dd0123456789abcdef,gzip=false,pushInterval=300ms,timeout=400ms",
            self.1
        )
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        let rec = self.0.get(key, || Recorder::start(ok_json));
        let mut total = 0.0;
        for r in rec.accepted() {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            for s in v["series"].as_array().into_iter().flatten() {
                if s["metric"] == "k6.http_reqs" {
                    for p in s["points"].as_array().into_iter().flatten() {
                        total += p[1].as_f64().or_else(|| p["value"].as_f64()).unwrap_or(0.0);
                    }
                }
            }
        }
        Held::Total(total)
    }
}

pub struct NewRelic(pub Recorders);

impl Target for NewRelic {
    fn output(&self) -> &'static str {
        "newrelic"
    }
    fn plugin(&self) -> &'static str {
        "newrelic"
    }
    fn wire(&self) -> Wire {
        Wire::Http
    }
    fn upstream(&self, key: &str) -> String {
        self.0
            .get(key, || Recorder::start(ok_json))
            .addr()
            .to_string()
    }
    fn out(&self, addr: &str, _: &str) -> String {
        format!("endpoint=http://{addr}/metric/v1,apiKey=NRAK-not-a-real-key,gzip=false,pushInterval=300ms,timeout=400ms")
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        let rec = self.0.get(key, || Recorder::start(ok_json));
        let mut total = 0.0;
        for r in rec.accepted() {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            for block in v.as_array().into_iter().flatten() {
                for m in block["metrics"].as_array().into_iter().flatten() {
                    if m["name"] == "k6.http_reqs" {
                        total += m["value"].as_f64().unwrap_or(0.0);
                    }
                }
            }
        }
        Held::Total(total)
    }
}

pub const CLOUD_CREATED: &str = r#"{"reference_id":"4242","config":{"aggregationPeriod":"1s"}}"#;

fn cloud_answer(r: &Request) -> Response {
    if r.method != "POST" {
        Response::json(405, "{}")
    } else if r.path == "/v1/tests" {
        Response::json(200, CLOUD_CREATED)
    } else if r.path.starts_with("/v2/metrics/") {
        Response::json(204, "")
    } else {
        Response::json(200, "{}")
    }
}

pub struct Cloud(pub Recorders);

impl Target for Cloud {
    fn output(&self) -> &'static str {
        "cloud"
    }
    fn plugin(&self) -> &'static str {
        "cloud"
    }
    fn wire(&self) -> Wire {
        Wire::Http
    }
    fn upstream(&self, key: &str) -> String {
        self.0
            .get(key, || Recorder::start(cloud_answer))
            .addr()
            .to_string()
    }
    fn out(&self, addr: &str, _: &str) -> String {
        format!("host=http://{addr},token=k6cloud-not-a-real-token,aggregationPeriod=1s,aggregationWaitPeriod=0s,metricPushInterval=300ms,timeout=400ms")
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        let rec = self.0.get(key, || Recorder::start(cloud_answer));
        let mut total = 0.0;
        // The service counts a push once per idempotency key: the output sends a push whose
        // answer was lost again under its first key (see plugins/cloud's output.rs).
        let mut keys = std::collections::HashSet::new();
        for r in rec.accepted() {
            if !r.path.starts_with("/v2/metrics/") {
                continue;
            }
            if !keys.insert(r.header("K6-Idempotency-Key").map(str::to_string)) {
                continue;
            }
            let Some(set) = cloud_wire::unsnappy(&r.body) else {
                return Held::Unreadable("a metrics push is not valid snappy");
            };
            match cloud_wire::counter_total(&set, "http_reqs") {
                Some(v) => total += v,
                None => return Held::Unreadable("a metrics push is not a valid MetricSet"),
            }
        }
        Held::Total(total)
    }
}

/// Reading a counter back from a k6 Cloud metrics push: snappy, then the plugin's own prost
/// `MetricSet`.
mod cloud_wire {
    use out_cloud::pbcloud::{time_series::Samples, MetricSet};
    use prost::Message;

    /// Snappy's raw (unframed) format.
    pub fn unsnappy(b: &[u8]) -> Option<Vec<u8>> {
        snap::raw::Decoder::new().decompress_vec(b).ok()
    }

    /// The sum of every counter sample of metric `name` in a `MetricSet`.
    pub fn counter_total(set: &[u8], name: &str) -> Option<f64> {
        let set = MetricSet::decode(set).ok()?;
        let total = set
            .metrics
            .iter()
            .filter(|m| m.name == name)
            .flat_map(|m| &m.time_series)
            .filter_map(|ts| match &ts.samples {
                Some(Samples::CounterSamples(c)) => {
                    Some(c.values.iter().map(|v| v.value).sum::<f64>())
                }
                _ => None,
            })
            .sum();
        Some(total)
    }
}

// ------------------------------------------------------------------ opentelemetry

pub struct Otel(pub Arc<Service>);

impl Target for Otel {
    fn output(&self) -> &'static str {
        "opentelemetry"
    }
    fn plugin(&self) -> &'static str {
        "opentelemetry"
    }
    fn wire(&self) -> Wire {
        Wire::Http
    }
    fn upstream(&self, _: &str) -> String {
        host_port(self.0.var("OTLP_HTTP_URL"))
    }
    fn out(&self, addr: &str, key: &str) -> String {
        format!("endpoint=http://{addr},temporality=delta,exportInterval=300ms,timeout=400ms,resourceAttributes=rtest={key}")
    }
    fn held(&self, key: &str, _: &Finished) -> Held {
        let (st, body) = http(
            &host_port(self.0.var("OTLP_HTTP_URL")),
            "GET",
            "/points",
            "",
        );
        assert_eq!(st, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let total = v
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["resource"]["rtest"] == key)
            .filter(|p| {
                p["metric"]
                    .as_str()
                    .is_some_and(|m| m.ends_with("http_reqs"))
            })
            .map(|p| {
                p["asDouble"]
                    .as_f64()
                    .or_else(|| p["asInt"].as_str().and_then(|s| s.parse().ok()))
                    .or_else(|| p["asInt"].as_f64())
                    .unwrap_or(0.0)
            })
            .sum();
        Held::Total(total)
    }
}

// ------------------------------------------------------------------ statsd family

/// Two servers: the one "killed mid-run" stops must not be the one the other runs read back.
pub struct Statsd(pub Arc<Service>, pub Arc<Service>);

impl Target for Statsd {
    fn output(&self) -> &'static str {
        "statsd"
    }
    fn plugin(&self) -> &'static str {
        "statsd"
    }
    fn wire(&self) -> Wire {
        Wire::Udp
    }
    fn upstream(&self, key: &str) -> String {
        let svc = if key.ends_with("killed_mid_run") {
            &self.1
        } else {
            &self.0
        };
        svc.var("STATSD_ADDR").to_string()
    }
    fn out(&self, addr: &str, _: &str) -> String {
        format!("addr={addr},pushInterval=200ms")
    }
    fn held(&self, _: &str, _: &Finished) -> Held {
        let mut total = 0.0;
        for line in std::fs::read_to_string(self.0.var("STATSD_FLUSH_FILE"))
            .unwrap_or_default()
            .lines()
        {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            total += v["counters"]["k6.http_reqs"].as_f64().unwrap_or(0.0);
        }
        Held::Total(total)
    }
}

/// Netdata's StatsD over TCP (so the proxy's faults apply); Netdata charts per second and
/// cannot be read back sample-exactly.
pub struct Netdata(pub Arc<Service>);

impl Target for Netdata {
    fn output(&self) -> &'static str {
        "netdata"
    }
    fn plugin(&self) -> &'static str {
        "netdata"
    }
    fn wire(&self) -> Wire {
        Wire::Stream
    }
    fn upstream(&self, _: &str) -> String {
        self.0.var("NETDATA_STATSD_ADDR").to_string()
    }
    fn out(&self, addr: &str, _: &str) -> String {
        format!("addr={addr},protocol=tcp,pushInterval=200ms")
    }
    fn held(&self, _: &str, _: &Finished) -> Held {
        Held::Unreadable("Netdata charts per second")
    }
}

/// Datadog through the agent (DogStatsD, UDP); no agent runs here.
pub struct Dogstatsd;

impl Target for Dogstatsd {
    fn output(&self) -> &'static str {
        "datadog"
    }
    fn plugin(&self) -> &'static str {
        "datadog"
    }
    fn wire(&self) -> Wire {
        Wire::Udp
    }
    fn upstream(&self, _: &str) -> String {
        // A UDP port nobody listens on.
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().to_string()
    }
    fn out(&self, addr: &str, _: &str) -> String {
        format!("addr={addr},pushInterval=200ms")
    }
    fn held(&self, _: &str, _: &Finished) -> Held {
        Held::Unreadable("no DogStatsD agent here")
    }
}
