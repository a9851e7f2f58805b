//! A recording stand-in for New Relic's Metric API (no New Relic server runs here): it checks
//! each request the way the published docs describe (headers, gzip, the JSON Schema in
//! `fixtures/metric-api.schema.json`, the size/attribute/timestamp limits), answers with New
//! Relic's status codes, and keeps what it accepted.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub use loadrun_test_support::json_schema as schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use loadrun_plugin_api::testkit::{self, Recorded};
use loadrun_plugin_api::{Output, Plugin};
use loadrun_test_support::recorder::{Recorder, Request};
use serde_json::Value;

pub const KEY: &str = "NRAK-TESTSECRETKEY0123456789";

/// One request as received, with the status it got and the `problems` (schema and limit
/// violations) found in it.
pub use loadrun_test_support::recorder::Exchange as Received;
/// A canned answer.
pub use loadrun_test_support::recorder::Response as Reply;

/// The data points of a request.
pub trait Points {
    fn points(&self) -> Vec<Value>;
}

impl Points for Received {
    fn points(&self) -> Vec<Value> {
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

/// The Metric API. Cloning gives another handle on the same server (for the conformance
/// kit's 'static closures); it stops when the last one is dropped.
#[derive(Clone)]
pub struct MetricApi {
    pub url: String,
    server: Arc<Recorder>,
}

impl MetricApi {
    pub fn start() -> MetricApi {
        let ids = AtomicU64::new(0);
        let server = Recorder::start(move |req| metric_api(req, &ids));
        server.set_down_answer(Reply::new(503).body("{\"error\":\"service unavailable\"}"));
        MetricApi {
            url: format!("{}/metric/v1", server.url()),
            server: Arc::new(server),
        }
    }

    /// Queues the answer to the next request (otherwise New Relic's own rules apply).
    pub fn push(&self, reply: Reply) {
        self.server.queue(reply);
    }

    /// While broken, every request gets 503.
    pub fn set_broken(&self, broken: bool) {
        self.server.set_down(broken);
    }

    pub fn received(&self) -> Vec<Received> {
        self.server.received()
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
    pub fn handle(&self) -> MetricApi {
        self.clone()
    }
}

/// New Relic's answer to one request. Every request is judged, also one a queued reply or the
/// broken switch answers, so that none goes unchecked.
fn metric_api(req: &Request, ids: &AtomicU64) -> Reply {
    let (problems, status) = judge(req);
    let body = match status {
        202 => format!(
            "{{\"requestId\":\"{:08x}\"}}",
            ids.fetch_add(1, Ordering::SeqCst)
        ),
        403 => "{\"error\":\"Authentication failure\"}".to_string(),
        _ => serde_json::json!({ "error": problems.join("; ") }).to_string(),
    };
    let reply = Reply::new(status).body(body).problems(problems);
    if status == 202 {
        reply.header("Content-Type", "application/json")
    } else {
        reply
    }
}

fn schema() -> Value {
    serde_json::from_str(include_str!("../fixtures/metric-api.schema.json")).unwrap()
}

/// What New Relic's docs say about one request; returns the problems and the status New Relic
/// would answer.
fn judge(req: &Request) -> (Vec<String>, u16) {
    let h = |n: &str| req.header(n);
    let mut problems = Vec::new();
    if h("api-key") != Some(KEY) {
        return (vec![], 403); // "Authentication failure"
    }
    if h("content-type") != Some("application/json") {
        problems.push(format!("Content-Type is {:?}", h("content-type")));
    }
    // "1MB (10^6 bytes) maximum per POST"
    if req.wire_len > 1_000_000 {
        return (vec!["payload over 10^6 bytes".into()], 413);
    }
    match h("content-encoding") {
        Some("gzip") => {
            if let Some(e) = &req.decode_error {
                return (vec![format!("bad gzip: {e}")], 400);
            }
        }
        other => problems.push(format!("Content-Encoding is {other:?}, gzip expected")),
    }
    if req.body.len() > 1_000_000 {
        return (vec!["decompressed payload over 10^6 bytes".into()], 413);
    }
    let doc: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return (vec![format!("not JSON: {e}")], 400),
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
    (problems, status)
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
    let init = testkit::init(
        "newrelic",
        Some(&arg),
        "{}",
        &[("NEW_RELIC_LICENSE_KEY", KEY)],
    );
    testkit::started::<out_newrelic::NewRelicPlugin>(init)
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
