//! Test helpers: a recording k6-Cloud server implementing the three endpoints (create, metrics
//! push v2, finish), a `MetricSet` decoder (the same schema, every field), and shortcuts to drive
//! the output in-process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use loadrun_plugin_api::testkit::{self, Recorded};
use loadrun_plugin_api::{EndReason, Output, OutputInit, Plugin, RunOutcome, ThresholdVerdict};
use loadrun_test_support::recorder::{Recorder, Request, Response};
use out_cloud::proto::read::{self, Value};

// ---------------------------------------------------------------- decoding

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedSet {
    pub test_run_id: String,
    pub aggregation_period: u64,
    pub metrics: Vec<DecodedMetric>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedMetric {
    pub name: String,
    pub type_code: u64,
    pub series: Vec<DecodedSeries>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedSeries {
    pub labels: Vec<(String, String)>,
    /// 2 counter, 3 gauge, 4 rate, 5 trend.
    pub kind: u32,
    pub values: Vec<DecodedValue>,
    /// The TimeSeries message as it was on the wire.
    pub raw: Vec<u8>,
}

/// One bucket's value, every field of every kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecodedValue {
    pub seconds: i64,
    pub nanos: u64,
    // counter value / gauge last
    pub value: f64,
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub nonzero: u64,
    pub total: u64,
    pub counters: Vec<u64>,
    pub spans: Vec<(u64, u64)>,
    pub sum: f64,
    pub extra_low: Option<u64>,
    pub extra_high: Option<u64>,
    pub min_resolution: Option<f64>,
    pub significant_digits: Option<u64>,
}

fn s(v: &Value<'_>) -> String {
    v.as_str().expect("string field").to_string()
}

pub fn decode_set(pb: &[u8]) -> DecodedSet {
    let mut set = DecodedSet {
        test_run_id: String::new(),
        aggregation_period: 0,
        metrics: vec![],
    };
    for (f, v) in read::fields(pb).expect("MetricSet") {
        match f {
            1 => set.test_run_id = s(&v),
            2 => set.aggregation_period = v.as_u64().unwrap(),
            3 => set.metrics.push(decode_metric(v.as_bytes().unwrap())),
            other => panic!("MetricSet: unexpected field {other}"),
        }
    }
    set
}

fn decode_metric(b: &[u8]) -> DecodedMetric {
    let mut m = DecodedMetric {
        name: String::new(),
        type_code: 0,
        series: vec![],
    };
    for (f, v) in read::fields(b).expect("Metric") {
        match f {
            1 => m.name = s(&v),
            2 => m.type_code = v.as_u64().unwrap(),
            3 => m.series.push(decode_series(v.as_bytes().unwrap())),
            other => panic!("Metric: unexpected field {other}"),
        }
    }
    m
}

fn decode_series(b: &[u8]) -> DecodedSeries {
    let mut ts = DecodedSeries {
        labels: vec![],
        kind: 0,
        values: vec![],
        raw: b.to_vec(),
    };
    for (f, v) in read::fields(b).expect("TimeSeries") {
        match f {
            1 => {
                let (mut k, mut val) = (String::new(), String::new());
                for (lf, lv) in read::fields(v.as_bytes().unwrap()).unwrap() {
                    match lf {
                        1 => k = s(&lv),
                        2 => val = s(&lv),
                        other => panic!("Label: unexpected field {other}"),
                    }
                }
                ts.labels.push((k, val));
            }
            2..=5 => {
                assert_eq!(ts.kind, 0, "two sample kinds in one series");
                ts.kind = f;
                for (sf, sv) in read::fields(v.as_bytes().unwrap()).unwrap() {
                    assert_eq!(sf, 1, "samples: unexpected field");
                    ts.values.push(decode_value(f, sv.as_bytes().unwrap()));
                }
            }
            other => panic!("TimeSeries: unexpected field {other}"),
        }
    }
    ts
}

fn decode_value(kind: u32, b: &[u8]) -> DecodedValue {
    let mut d = DecodedValue::default();
    for (f, v) in read::fields(b).expect("value") {
        match (kind, f) {
            (_, 1) => {
                for (tf, tv) in read::fields(v.as_bytes().unwrap()).unwrap() {
                    match tf {
                        1 => d.seconds = tv.as_u64().unwrap() as i64,
                        2 => d.nanos = tv.as_u64().unwrap(),
                        other => panic!("Timestamp: unexpected field {other}"),
                    }
                }
            }
            (2, 2) | (3, 2) => d.value = v.as_f64().unwrap(),
            (3, 3) | (5, 6) => d.count = v.as_u64().unwrap(),
            (3, 4) | (5, 7) => d.min = v.as_f64().unwrap(),
            (3, 5) | (5, 8) => d.max = v.as_f64().unwrap(),
            (3, 6) => d.avg = v.as_f64().unwrap(),
            (4, 2) => d.nonzero = v.as_u64().unwrap(),
            (4, 3) => d.total = v.as_u64().unwrap(),
            (5, 2) => d.counters = read::packed(v.as_bytes().unwrap()).unwrap(),
            (5, 3) => {
                let (mut o, mut l) = (0, 0);
                for (sf, sv) in read::fields(v.as_bytes().unwrap()).unwrap() {
                    match sf {
                        1 => o = sv.as_u64().unwrap(),
                        2 => l = sv.as_u64().unwrap(),
                        other => panic!("BucketSpan: unexpected field {other}"),
                    }
                }
                d.spans.push((o, l));
            }
            (5, 5) => d.sum = v.as_f64().unwrap(),
            (5, 9) => d.extra_low = v.as_u64(),
            (5, 10) => d.extra_high = v.as_u64(),
            (5, 11) => d.min_resolution = v.as_f64(),
            (5, 12) => d.significant_digits = v.as_u64(),
            (k, f) => panic!("value of kind {k}: unexpected field {f}"),
        }
    }
    d
}

pub fn unsnappy(body: &[u8]) -> Vec<u8> {
    snap::raw::Decoder::new().decompress_vec(body).unwrap()
}

// ---------------------------------------------------------------- the recording server

/// A request as received (`body` is the push's snappy bytes, as sent) and the status it got.
pub use loadrun_test_support::recorder::Exchange as Received;

/// The MetricSet a push carries.
pub fn metric_set(r: &Received) -> DecodedSet {
    decode_set(&unsnappy(&r.body))
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Reply {
            status,
            body: body.into(),
        }
    }
}

#[derive(Default)]
struct State {
    create_replies: VecDeque<Reply>,
    push_replies: VecDeque<Reply>,
    create_default: Option<Reply>,
}

/// A k6-Cloud-like server: `POST /v1/tests` answers with a reference id (4242 unless told
/// otherwise), `POST /v2/metrics/{id}` accepts the set (204) after checking the protocol
/// headers, `POST /v1/tests/{id}` records the finish (200). Queued replies override the default
/// answers, in order; `fault` makes every push answer with that status until cleared.
#[derive(Clone)]
pub struct CloudServer {
    pub url: String,
    /// Shared by the clones; the server stops when the last one is dropped.
    server: Arc<Recorder>,
    state: Arc<Mutex<State>>,
    fault: Arc<AtomicU16>,
}

pub const CREATED: &str = r#"{"reference_id":"4242","config":{"aggregationPeriod":"2s"},"logs":[{"level":"warning","message":"this is a test server"}]}"#;

impl CloudServer {
    pub fn start() -> CloudServer {
        let state = Arc::new(Mutex::new(State::default()));
        let fault = Arc::new(AtomicU16::new(0));
        let (st, f) = (state.clone(), fault.clone());
        let server = Recorder::start(move |req| {
            let r = answer(&mut st.lock().unwrap(), &f, req);
            Response::json(r.status, &r.body)
        });
        CloudServer {
            url: server.url(),
            server: Arc::new(server),
            state,
            fault,
        }
    }

    pub fn set_create_reply(&self, r: Reply) {
        self.state.lock().unwrap().create_default = Some(r);
    }
    pub fn queue_create(&self, r: Reply) {
        self.state.lock().unwrap().create_replies.push_back(r);
    }
    pub fn queue_push(&self, r: Reply) {
        self.state.lock().unwrap().push_replies.push_back(r);
    }
    pub fn set_fault(&self, status: u16) {
        self.fault.store(status, Ordering::SeqCst);
    }
    pub fn received(&self) -> Vec<Received> {
        self.server.received()
    }
    pub fn requests_to(&self, prefix: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
    /// The sets of the pushes the server accepted (the data it holds).
    pub fn stored(&self) -> Vec<DecodedSet> {
        self.requests_to("/v2/metrics/")
            .iter()
            .filter(|r| r.status < 300)
            .map(metric_set)
            .collect()
    }
    /// The sum of the counter values of `metric` across every accepted push.
    pub fn counter_sum(&self, metric: &str) -> f64 {
        self.stored()
            .iter()
            .flat_map(|s| s.metrics.iter())
            .filter(|m| m.name == metric)
            .flat_map(|m| m.series.iter())
            .flat_map(|s| s.values.iter())
            .map(|v| v.value)
            .sum()
    }
}

/// The API's answer to one request.
fn answer(st: &mut State, fault: &AtomicU16, req: &Request) -> Reply {
    if req.method != "POST" {
        return Reply::new(405, r#"{"error":{"code":0,"message":"method"}}"#);
    }
    if req.path == "/v1/tests" {
        return st.create_replies.pop_front().unwrap_or_else(|| {
            st.create_default
                .clone()
                .unwrap_or_else(|| Reply::new(200, CREATED))
        });
    }
    if req.path.starts_with("/v2/metrics/") {
        let fault = fault.load(Ordering::SeqCst);
        if fault != 0 {
            return Reply::new(
                fault,
                r#"{"error":{"code":0,"message":"broken on purpose"}}"#,
            );
        }
        if let Some(r) = st.push_replies.pop_front() {
            return r;
        }
        // Check the protocol headers on every push, as a strict service would.
        let ok = req.header("content-type") == Some("application/x-protobuf")
            && req.header("content-encoding") == Some("snappy")
            && req.header("k6-metrics-protocol-version") == Some("2.0");
        if !ok {
            return Reply::new(400, r#"{"error":{"code":1,"message":"bad headers"}}"#);
        }
        return Reply::new(204, "");
    }
    if req.path.starts_with("/v1/tests/") {
        return Reply::new(200, "{}");
    }
    Reply::new(404, r#"{"error":{"code":0,"message":"no such endpoint"}}"#)
}

// ---------------------------------------------------------------- driving the output

pub fn init(arg: Option<&str>, env: &[(&str, &str)]) -> OutputInit {
    testkit::init("cloud", arg, "{}", env)
}

pub fn output_from(init: OutputInit) -> Box<dyn Output> {
    match out_cloud::CloudPlugin::new_output(init) {
        Ok(o) => o,
        Err(e) => panic!("new_output: {e}"),
    }
}

pub fn started(init: OutputInit) -> (Box<dyn Output>, Arc<Recorded>) {
    testkit::started::<out_cloud::CloudPlugin>(init)
}

pub fn outcome(verdicts: &[(&str, &str, bool)]) -> RunOutcome {
    RunOutcome {
        passed: verdicts.iter().all(|v| v.2),
        reason: EndReason::Completed,
        thresholds: verdicts
            .iter()
            .map(|(m, s, p)| ThresholdVerdict {
                metric: (*m).into(),
                source: (*s).into(),
                passed: *p,
            })
            .collect(),
        duration_ms: 1000,
        extra: "{}".into(),
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}
