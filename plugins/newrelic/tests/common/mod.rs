//! A recording stand-in for New Relic's Metric API (no New Relic server runs here): it checks
//! each request the way the published docs describe (headers, gzip, the JSON Schema in
//! `fixtures/metric-api.schema.json`, the size/attribute/timestamp limits), answers with New
//! Relic's status codes, and keeps what it accepted.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub use loadrun_test_support::json_schema as schema;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use loadrun_plugin_api::testkit::{self, Recorded};
use loadrun_plugin_api::{EndReason, Output, Plugin, RunOutcome};
use serde_json::Value;

pub const KEY: &str = "NRAK-TESTSECRETKEY0123456789";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub line: String,
    pub headers: Vec<(String, String)>,
    /// Bytes on the wire (compressed).
    pub wire_len: usize,
    /// The decompressed body.
    pub body: String,
    /// Schema and limit violations found (empty for a valid request).
    pub problems: Vec<String>,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// Every data point of the request.
    pub fn points(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if let Value::Array(objs) = self.json() {
            for o in objs {
                if let Some(Value::Array(m)) = o.get("metrics") {
                    out.extend(m.iter().cloned());
                }
            }
        }
        out
    }
}

/// A canned answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16) -> Self {
        Reply {
            status,
            headers: vec![],
            body: String::new(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn body(mut self, b: &str) -> Self {
        self.body = b.into();
        self
    }
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    replies: Mutex<VecDeque<Reply>>,
    broken: AtomicBool,
    ids: AtomicU64,
}

pub struct MetricApi {
    pub url: String,
    state: Arc<State>,
}

impl MetricApi {
    pub fn start() -> MetricApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/metric/v1", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        let st = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let st = st.clone();
                std::thread::spawn(move || serve(stream, &st));
            }
        });
        MetricApi { url, state }
    }

    /// Queues the answer to the next request (otherwise New Relic's own rules apply).
    pub fn push(&self, reply: Reply) {
        self.state.replies.lock().unwrap().push_back(reply);
    }

    /// While broken, every request gets 503.
    pub fn set_broken(&self, broken: bool) {
        self.state.broken.store(broken, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.status == 202)
            .collect()
    }

    /// Every violation of every request.
    pub fn problems(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .flat_map(|r| r.problems)
            .collect()
    }

    /// The sum of the `count` data points named `name` New Relic accepted.
    pub fn count_sum(&self, name: &str) -> f64 {
        self.accepted()
            .iter()
            .flat_map(|r| r.points())
            .filter(|p| p["name"] == name && p["type"] == "count")
            .map(|p| p["value"].as_f64().unwrap())
            .sum()
    }

    /// A handle for closures ('static) used by the conformance kit.
    pub fn handle(&self) -> MetricApiHandle {
        MetricApiHandle {
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub struct MetricApiHandle {
    state: Arc<State>,
}

impl MetricApiHandle {
    pub fn set_broken(&self, broken: bool) {
        self.state.broken.store(broken, Ordering::SeqCst);
    }

    pub fn count_sum(&self, name: &str) -> f64 {
        MetricApi {
            url: String::new(),
            state: self.state.clone(),
        }
        .count_sum(name)
    }

    pub fn problems(&self) -> Vec<String> {
        MetricApi {
            url: String::new(),
            state: self.state.clone(),
        }
        .problems()
    }
}

fn schema() -> Value {
    serde_json::from_str(include_str!("../fixtures/metric-api.schema.json")).unwrap()
}

/// What New Relic's docs say about one request; returns the problems and the status New Relic
/// would answer.
fn judge(headers: &[(String, String)], raw: &[u8]) -> (String, Vec<String>, u16) {
    let h = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    let mut problems = Vec::new();
    if h("api-key") != Some(KEY) {
        return (
            String::new(),
            vec![],
            403, // "Authentication failure"
        );
    }
    if h("content-type") != Some("application/json") {
        problems.push(format!("Content-Type is {:?}", h("content-type")));
    }
    // "1MB (10^6 bytes) maximum per POST"
    if raw.len() > 1_000_000 {
        return (String::new(), vec!["payload over 10^6 bytes".into()], 413);
    }
    let body = match h("content-encoding") {
        Some("gzip") => {
            let mut s = String::new();
            if let Err(e) = flate2::read::GzDecoder::new(raw).read_to_string(&mut s) {
                return (String::new(), vec![format!("bad gzip: {e}")], 400);
            }
            s
        }
        other => {
            problems.push(format!("Content-Encoding is {other:?}, gzip expected"));
            String::from_utf8_lossy(raw).into_owned()
        }
    };
    if body.len() > 1_000_000 {
        return (
            body,
            vec!["decompressed payload over 10^6 bytes".into()],
            413,
        );
    }
    let doc: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => return (body, vec![format!("not JSON: {e}")], 400),
    };
    problems.extend(schema::validate(&schema(), &doc));
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for obj in doc.as_array().into_iter().flatten() {
        let common = obj
            .pointer("/common/attributes")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
        for p in obj["metrics"].as_array().into_iter().flatten() {
            let own = p["attributes"].as_object().map_or(0, |m| m.len());
            if common + own > 100 {
                problems.push(format!("{} attributes on {}", common + own, p["name"]));
            }
            let ts = p["timestamp"].as_i64().unwrap_or(0);
            if ts < now - 48 * 3_600_000 || ts > now + 24 * 3_600_000 {
                problems.push(format!("timestamp {ts} outside 48 h / 24 h of now"));
            }
        }
    }
    let status = if problems.is_empty() { 202 } else { 400 };
    (body, problems, status)
}

fn reason(status: u16) -> &'static str {
    match status {
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

fn serve(stream: TcpStream, st: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut raw = vec![0u8; len];
        if reader.read_exact(&mut raw).is_err() {
            return;
        }
        let (body, problems, mut status) = judge(&headers, &raw);
        let mut reply = if st.broken.load(Ordering::SeqCst) {
            Reply::new(503).body("{\"error\":\"service unavailable\"}")
        } else if let Some(r) = st.replies.lock().unwrap().pop_front() {
            r
        } else {
            let b = match status {
                202 => format!(
                    "{{\"requestId\":\"{:08x}\"}}",
                    st.ids.fetch_add(1, Ordering::SeqCst)
                ),
                403 => "{\"error\":\"Authentication failure\"}".to_string(),
                _ => serde_json::json!({ "error": problems.join("; ") }).to_string(),
            };
            Reply::new(status).body(&b)
        };
        status = reply.status;
        if reply.headers.is_empty() && reply.status == 202 {
            reply = reply.header("Content-Type", "application/json");
        }
        st.received.lock().unwrap().push(Received {
            line: line.trim_end().to_string(),
            headers,
            wire_len: raw.len(),
            body,
            problems,
            status,
        });
        let mut resp = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
            reply.status,
            reason(reply.status),
            reply.body.len()
        );
        for (k, v) in &reply.headers {
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        resp.push_str("\r\n");
        resp.push_str(&reply.body);
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// Builds the output for `-o newrelic=ARG` with the given environment.
pub fn output(arg: &str, env: &[(&str, &str)]) -> Box<dyn Output> {
    let init = testkit::init("newrelic", Some(arg), "{}", env);
    match out_newrelic::NewRelicPlugin::new_output(init) {
        Ok(o) => o,
        Err(e) => panic!("new_output: {e}"),
    }
}

/// The output against `api`, started with a recording host.
pub fn started(api: &MetricApi, extra: &str) -> (Box<dyn Output>, Arc<Recorded>) {
    let arg = if extra.is_empty() {
        format!("endpoint={}", api.url)
    } else {
        format!("endpoint={},{extra}", api.url)
    };
    let mut o = output(&arg, &[("NEW_RELIC_LICENSE_KEY", KEY)]);
    let (host, rec) = testkit::recording_host();
    o.start(host).unwrap();
    (o, rec)
}

pub fn outcome() -> RunOutcome {
    RunOutcome {
        passed: true,
        reason: EndReason::Completed,
        thresholds: Default::default(),
        duration_ms: 1000,
        extra: "{}".into(),
    }
}

/// Unix ns now.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Every log line and the error texts given, checked for the key.
pub fn assert_no_key(rec: &Recorded, extra: &[String]) {
    for (_, line) in rec.logs() {
        assert!(!line.contains(KEY), "key in a log line: {line}");
    }
    for e in extra {
        assert!(!e.contains(KEY), "key in a message: {e}");
    }
}
