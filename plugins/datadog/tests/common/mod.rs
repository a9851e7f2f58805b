//! A recording stand-in for Datadog's metrics intake (no Datadog server runs here): it checks
//! each request the way the "Submit metrics" v2 and "Submit distribution points" references
//! describe (path, `DD-API-KEY`, `Content-Encoding` gzip/deflate, 512 000 bytes on the wire,
//! < 5 242 880 decompressed, the JSON schemas in `fixtures/`, timestamps within one hour past and
//! ten minutes future), answers with Datadog's codes (202, 400, 403, 413), and keeps what it
//! accepted. Canned answers (429 with rate-limit headers, 5xx) can be queued first.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;
use std::time::SystemTime;

use loadrun_test_support::json_schema;
use loadrun_test_support::recorder::{self, Request, Response};
use serde_json::Value;

pub const KEY: &str = "0123456789abcdef0123456789abcdef";

/// A request with the status it got and the `problems` found in it.
pub use recorder::Exchange as Received;

/// The intake. Derefs to the shared recorder: `queue_raw` (a canned answer, for the next
/// request), `set_down` (every request gets 503), `received`.
pub struct Recorder {
    pub url: String,
    server: recorder::Recorder,
}

impl Deref for Recorder {
    type Target = recorder::Recorder;
    fn deref(&self) -> &recorder::Recorder {
        &self.server
    }
}

impl Recorder {
    pub fn start() -> Self {
        let server = recorder::Recorder::start(intake);
        server.set_down_answer(reply(503, "{\"errors\":[\"Service Unavailable\"]}"));
        Self {
            url: server.url(),
            server,
        }
    }

    /// Every series of the accepted (202) requests to `path`.
    pub fn accepted_series(&self, path: &str) -> Vec<Value> {
        self.received()
            .iter()
            .filter(|r| r.status == 202 && r.path == path)
            .flat_map(Series::series)
            .collect()
    }
}

/// The `series` of a request's JSON body.
pub trait Series {
    fn series(&self) -> Vec<Value>;
}

impl Series for Received {
    fn series(&self) -> Vec<Value> {
        self.json()["series"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// Datadog's answer to one request; every request goes through it, also one a canned or down
/// answer answers, so none goes unchecked.
fn intake(req: &Request) -> Response {
    let mut problems = Vec::new();
    match req.header("content-encoding") {
        None | Some("gzip" | "deflate") => {}
        Some(other) => problems.push(format!("Content-Encoding {other} not accepted")),
    }
    if let Some(e) = &req.decode_error {
        problems.push(format!("body does not decompress: {e}"));
    }
    let body = req.text();
    if req.header("dd-api-key") != Some(KEY) {
        return reply(403, "{\"errors\":[\"Forbidden\"]}").problems(problems);
    }
    if req.wire_len > 512_000 || body.len() >= 5_242_880 {
        problems.push(format!(
            "too large: {} wire, {} raw",
            req.wire_len,
            body.len()
        ));
        return reply(413, "{\"errors\":[\"Payload too large\"]}").problems(problems);
    }
    problems.extend(validate(&req.path, req.header("content-type"), &body));
    if problems.is_empty() {
        reply(202, "{\"errors\":[]}")
    } else {
        let body = serde_json::json!({ "errors": problems }).to_string();
        reply(400, &body).problems(problems)
    }
}

/// Each answer closes its connection, as the intake stand-in always has.
fn reply(status: u16, body: &str) -> Response {
    Response::json(status, body).header("Connection", "close")
}

fn validate(path: &str, content_type: Option<&str>, body: &str) -> Vec<String> {
    let schema_text = match path {
        "/api/v2/series" => include_str!("../fixtures/series-v2.schema.json"),
        "/api/v1/distribution_points" => {
            include_str!("../fixtures/distribution-points.schema.json")
        }
        other => return vec![format!("no such endpoint {other}")],
    };
    let mut problems = Vec::new();
    if content_type != Some("application/json") {
        problems.push(format!("Content-Type {content_type:?}"));
    }
    let doc: Value = match serde_json::from_str(body) {
        Ok(d) => d,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    let schema: Value = serde_json::from_str(schema_text).unwrap();
    problems.extend(json_schema::validate(&schema, &doc));
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for s in doc["series"].as_array().into_iter().flatten() {
        for p in s["points"].as_array().into_iter().flatten() {
            let ts = p["timestamp"]
                .as_i64()
                .or_else(|| p[0].as_i64())
                .unwrap_or(0);
            if ts < now - 3600 || ts > now + 600 {
                problems.push(format!("timestamp {ts} outside [-1 h, +10 min]"));
            }
        }
    }
    problems
}
