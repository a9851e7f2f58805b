//! Test helpers: a recording k6-Cloud server implementing the three endpoints (create, metrics
//! push v2, finish), a `MetricSet` decoder (the generated prost types), and shortcuts to drive
//! the output in-process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadrun_plugin_api::testkit::{self, Recorded};
use loadrun_plugin_api::{EndReason, Output, OutputInit, Plugin, RunOutcome, ThresholdVerdict};
use loadrun_test_support::recorder::{Recorder, Request, Response};
use out_cloud::pbcloud::{self as pb, time_series::Samples};
use prost::Message;

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

/// `MetricSet` and `Metric` with each series kept as its wire bytes (a message field and a
/// `bytes` field are the same on the wire), so series can be compared byte for byte.
mod raw {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricSet {
        #[prost(string, tag = "1")]
        pub test_run_id: String,
        #[prost(uint32, tag = "2")]
        pub aggregation_period: u32,
        #[prost(message, repeated, tag = "3")]
        pub metrics: Vec<Metric>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Metric {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(int32, tag = "2")]
        pub r#type: i32,
        #[prost(bytes = "vec", repeated, tag = "3")]
        pub time_series: Vec<Vec<u8>>,
    }
}

pub fn decode_set(pb: &[u8]) -> DecodedSet {
    let set = raw::MetricSet::decode(pb).expect("MetricSet");
    DecodedSet {
        test_run_id: set.test_run_id,
        aggregation_period: u64::from(set.aggregation_period),
        metrics: set
            .metrics
            .into_iter()
            .map(|m| DecodedMetric {
                name: m.name,
                type_code: u64::try_from(m.r#type).expect("a MetricType"),
                series: m.time_series.iter().map(|b| decode_series(b)).collect(),
            })
            .collect(),
    }
}

/// One `TimeSeries` message.
pub fn decode_series(b: &[u8]) -> DecodedSeries {
    let ts = pb::TimeSeries::decode(b).expect("TimeSeries");
    let time = |t: &Option<prost_types::Timestamp>| {
        let t = t.expect("a bucket has its time");
        (t.seconds, u64::try_from(t.nanos).expect("nanos >= 0"))
    };
    let (kind, values) = match ts.samples.expect("a series has samples") {
        Samples::CounterSamples(c) => (
            2,
            c.values
                .iter()
                .map(|v| {
                    let (seconds, nanos) = time(&v.time);
                    DecodedValue {
                        seconds,
                        nanos,
                        value: v.value,
                        ..Default::default()
                    }
                })
                .collect(),
        ),
        Samples::GaugeSamples(g) => (
            3,
            g.values
                .iter()
                .map(|v| {
                    let (seconds, nanos) = time(&v.time);
                    DecodedValue {
                        seconds,
                        nanos,
                        value: v.last,
                        count: u64::from(v.count),
                        min: v.min,
                        max: v.max,
                        avg: v.avg,
                        ..Default::default()
                    }
                })
                .collect(),
        ),
        Samples::RateSamples(r) => (
            4,
            r.values
                .iter()
                .map(|v| {
                    let (seconds, nanos) = time(&v.time);
                    DecodedValue {
                        seconds,
                        nanos,
                        nonzero: u64::from(v.nonzero_count),
                        total: u64::from(v.total_count),
                        ..Default::default()
                    }
                })
                .collect(),
        ),
        Samples::TrendHdrSamples(t) => (
            5,
            t.values
                .iter()
                .map(|v| {
                    let (seconds, nanos) = time(&v.time);
                    DecodedValue {
                        seconds,
                        nanos,
                        count: u64::from(v.count),
                        min: v.min_value,
                        max: v.max_value,
                        counters: v.counters.iter().map(|&c| u64::from(c)).collect(),
                        spans: v
                            .spans
                            .iter()
                            .map(|s| (u64::from(s.offset), u64::from(s.length)))
                            .collect(),
                        sum: v.sum,
                        extra_low: v.extra_low_values_counter.map(u64::from),
                        extra_high: v.extra_high_values_counter.map(u64::from),
                        // proto3: a zero double is not on the wire.
                        min_resolution: (v.min_resolution != 0.0).then_some(v.min_resolution),
                        significant_digits: v.significant_digits.map(u64::from),
                        ..Default::default()
                    }
                })
                .collect(),
        ),
    };
    DecodedSeries {
        labels: ts.labels.into_iter().map(|l| (l.name, l.value)).collect(),
        kind,
        values,
        raw: b.to_vec(),
    }
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
    /// How long the next pushes wait before their answer, in order.
    push_delays: VecDeque<Duration>,
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
            let (r, delay) = {
                let mut st = st.lock().unwrap();
                let delay = if req.path.starts_with("/v2/metrics/") {
                    st.push_delays.pop_front()
                } else {
                    None
                };
                (answer(&mut st, &f, req), delay)
            };
            if let Some(d) = delay {
                std::thread::sleep(d);
            }
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
    /// The next push is taken, then answered only after `delay`.
    pub fn queue_push_delay(&self, delay: Duration) {
        self.state.lock().unwrap().push_delays.push_back(delay);
    }
    /// The next request is taken whole, then the connection is closed unanswered.
    pub fn queue_hangup(&self) {
        self.server.queue_hangup();
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
    /// The sets of the pushes the server accepted (the data it holds): a push is held once per
    /// idempotency key, as the service de-duplicates (see the output's module documentation).
    pub fn stored(&self) -> Vec<DecodedSet> {
        let mut keys = std::collections::HashSet::new();
        self.requests_to("/v2/metrics/")
            .iter()
            .filter(|r| r.status < 300)
            .filter(|r| keys.insert(r.header("k6-idempotency-key").map(str::to_string)))
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
