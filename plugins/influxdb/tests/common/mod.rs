//! Test helpers: a tiny recording HTTP responder (for the status codes a real InfluxDB never
//! sends, and to see the exact requests), and shortcuts to drive the output in-process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadrun_plugin_api::testkit::{self, Recorded};
use loadrun_plugin_api::{EndReason, Output, Plugin, RunOutcome};

/// One request as received: request line, headers (lower-case names), body (gunzipped).
#[derive(Debug, Clone)]
pub struct Received {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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

/// Answers each request with the next queued reply (204 when the queue is empty) and records it.
pub struct Responder {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub replies: Arc<Mutex<VecDeque<Reply>>>,
}

impl Responder {
    pub fn start() -> Responder {
        Self::start_on("127.0.0.1:0")
    }

    /// On a given address (to bring a "down" server up on the port the output already uses).
    pub fn start_on(addr: &str) -> Responder {
        let listener = TcpListener::bind(addr).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::new()));
        let (rec, rep) = (received.clone(), replies.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (rec, rep) = (rec.clone(), rep.clone());
                std::thread::spawn(move || serve(stream, rec, rep));
            }
        });
        Responder {
            url,
            received,
            replies,
        }
    }

    pub fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn writes(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.line.contains("/write"))
            .collect()
    }
}

fn serve(stream: TcpStream, rec: Arc<Mutex<Vec<Received>>>, rep: Arc<Mutex<VecDeque<Reply>>>) {
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
        let gz = headers
            .iter()
            .any(|(k, v)| k == "content-encoding" && v == "gzip");
        let body = if gz {
            let mut s = String::new();
            flate2_decode(&raw, &mut s);
            s
        } else {
            String::from_utf8_lossy(&raw).into_owned()
        };
        rec.lock().unwrap().push(Received {
            line: line.trim_end().to_string(),
            headers,
            body,
        });
        let reply = rep
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Reply::new(204));
        let mut resp = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
            reply.status,
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

fn flate2_decode(raw: &[u8], out: &mut String) {
    flate2::read::GzDecoder::new(raw)
        .read_to_string(out)
        .unwrap();
}

/// Builds the output for `-o influxdb=ARG` with the given environment.
pub fn output(arg: &str, env: &[(&str, &str)]) -> Box<dyn Output> {
    let init = testkit::init("influxdb", Some(arg), "{}", env);
    match out_influxdb::InfluxPlugin::new_output(init) {
        Ok(o) => o,
        Err(e) => panic!("new_output: {e}"),
    }
}

/// The output, started with a recording host.
pub fn started(arg: &str, env: &[(&str, &str)]) -> (Box<dyn Output>, Arc<Recorded>) {
    let mut o = output(arg, env);
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
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// A loopback port with nothing listening on it.
pub fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A server that accepts connections and never answers.
pub fn blackhole() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    url
}
