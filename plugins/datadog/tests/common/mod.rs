//! A recording stand-in for Datadog's metrics intake (no Datadog server runs here): it checks
//! each request the way the "Submit metrics" v2 and "Submit distribution points" references
//! describe (path, `DD-API-KEY`, `Content-Encoding` gzip/deflate, 512 000 bytes on the wire,
//! < 5 242 880 decompressed, the JSON schemas in `fixtures/`, timestamps within one hour past and
//! ten minutes future), answers with Datadog's codes (202, 400, 403, 413), and keeps what it
//! accepted. Canned answers (429 with rate-limit headers, 5xx) can be queued first.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use loadrun_test_support::json_schema;
use serde_json::Value;

pub const KEY: &str = "0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub wire_len: usize,
    pub body: String,
    pub problems: Vec<String>,
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    pub fn series(&self) -> Vec<Value> {
        self.json()["series"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    canned: VecDeque<String>,
}

pub struct Recorder {
    pub url: String,
    state: Arc<Mutex<State>>,
    down: Arc<AtomicBool>,
}

impl Recorder {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let down = Arc::new(AtomicBool::new(false));
        let (st, dn) = (state.clone(), down.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (st, dn) = (st.clone(), dn.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &st, &dn);
                });
            }
        });
        Self { url, state, down }
    }

    /// Queues a raw HTTP answer for the next request (which is then recorded, not validated).
    pub fn queue(&self, raw: &str) {
        self.state.lock().unwrap().canned.push_back(raw.to_string());
    }

    /// While down, every request gets a 503.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Every series of the accepted (202) requests to `path`.
    pub fn accepted_series(&self, path: &str) -> Vec<Value> {
        self.received()
            .iter()
            .filter(|r| r.status == 202 && r.path == path)
            .flat_map(Received::series)
            .collect()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, down: &AtomicBool) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut wire = vec![0; len];
    reader.read_exact(&mut wire)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut problems = Vec::new();
    let body = match header("content-encoding").as_deref() {
        None => wire.clone(),
        Some("gzip") => inflate(flate2::read::GzDecoder::new(&wire[..]), &mut problems),
        Some("deflate") => inflate(flate2::read::ZlibDecoder::new(&wire[..]), &mut problems),
        Some(other) => {
            problems.push(format!("Content-Encoding {other} not accepted"));
            Vec::new()
        }
    };
    let body = String::from_utf8_lossy(&body).to_string();
    let canned = state.lock().unwrap().canned.pop_front();
    let (status, answer) = if let Some(raw) = canned {
        let status = raw
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, raw)
    } else if down.load(Ordering::SeqCst) {
        (503, reply(503, "{\"errors\":[\"Service Unavailable\"]}"))
    } else if header("dd-api-key").as_deref() != Some(KEY) {
        (403, reply(403, "{\"errors\":[\"Forbidden\"]}"))
    } else if wire.len() > 512_000 || body.len() >= 5_242_880 {
        problems.push(format!(
            "too large: {} wire, {} raw",
            wire.len(),
            body.len()
        ));
        (413, reply(413, "{\"errors\":[\"Payload too large\"]}"))
    } else {
        problems.extend(validate(&path, &header("content-type"), &body));
        if problems.is_empty() {
            (202, reply(202, "{\"errors\":[]}"))
        } else {
            (
                400,
                reply(400, &serde_json::json!({ "errors": problems }).to_string()),
            )
        }
    };
    state.lock().unwrap().received.push(Received {
        path,
        headers,
        wire_len: wire.len(),
        body,
        problems,
        status,
    });
    let mut s = stream;
    s.write_all(answer.as_bytes())?;
    s.flush()
}

fn inflate(mut r: impl Read, problems: &mut Vec<String>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = r.read_to_end(&mut out) {
        problems.push(format!("body does not decompress: {e}"));
    }
    out
}

fn reply(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn validate(path: &str, content_type: &Option<String>, body: &str) -> Vec<String> {
    let schema_text = match path {
        "/api/v2/series" => include_str!("../fixtures/series-v2.schema.json"),
        "/api/v1/distribution_points" => {
            include_str!("../fixtures/distribution-points.schema.json")
        }
        other => return vec![format!("no such endpoint {other}")],
    };
    let mut problems = Vec::new();
    if content_type.as_deref() != Some("application/json") {
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
