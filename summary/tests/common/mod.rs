//! Builders for runs resembling the k6 fixture run (`k6-script.js`): same metric names and tags.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use loadrun_metrics::{MetricType, Registry, Sample, SampleConsumer, ValueKind};
use loadrun_summary::{Aggregator, RunInfo, SummaryHandle, ThresholdSet, ThresholdSpec};

pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/k6")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// k6's built-in metrics, defined as the engine defines them, plus the script's custom ones.
pub fn registry() -> Arc<Registry> {
    use MetricType::*;
    use ValueKind::*;
    let r = Registry::new();
    for (name, t, k) in [
        ("vus", Gauge, Default),
        ("vus_max", Gauge, Default),
        ("iterations", Counter, Default),
        ("iteration_duration", Trend, Time),
        ("dropped_iterations", Counter, Default),
        ("data_sent", Counter, Data),
        ("data_received", Counter, Data),
        ("checks", Rate, Default),
        ("group_duration", Trend, Time),
        ("http_reqs", Counter, Default),
        ("http_req_failed", Rate, Default),
        ("http_req_duration", Trend, Time),
        ("http_req_blocked", Trend, Time),
        ("http_req_connecting", Trend, Time),
        ("http_req_tls_handshaking", Trend, Time),
        ("http_req_sending", Trend, Time),
        ("http_req_waiting", Trend, Time),
        ("http_req_receiving", Trend, Time),
        ("my_counter", Counter, Default),
        ("my_gauge", Gauge, Default),
        ("my_rate", Rate, Default),
        ("my_trend", Trend, Time),
    ] {
        r.metric(name, t, k);
    }
    Arc::new(r)
}

/// The fixture's thresholds table.
pub fn fixture_thresholds() -> BTreeMap<String, Vec<ThresholdSpec>> {
    let mut t = BTreeMap::new();
    t.insert(
        "http_req_duration".to_string(),
        vec![ThresholdSpec::from("p(95)<500")],
    );
    t.insert(
        "checks{mytag:hello}".to_string(),
        vec![ThresholdSpec::from("rate>0.5")],
    );
    t
}

/// Collects samples against a registry, as the engine's VUs would.
pub struct SampleLog {
    pub registry: Arc<Registry>,
    pub samples: Vec<Sample>,
    time_ns: i64,
}

impl SampleLog {
    pub fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            samples: Vec::new(),
            time_ns: 1_700_000_000_000_000_000,
        }
    }

    pub fn add(&mut self, metric: &str, tags: &[(&str, &str)], value: f64) {
        let id = self
            .registry
            .metric_by_name(metric)
            .unwrap_or_else(|| panic!("{metric} not defined"));
        let series = self.registry.series(id, tags, &[]);
        self.time_ns += 1_000;
        self.samples
            .push(Sample::new(series.0, self.time_ns, value));
    }
}

/// The fixture run's measurements: per-request values chosen so the summary's statistics equal
/// those in k6-summary-export.json (http_req_duration, its expected_response submetric and
/// iteration_duration exactly; the other timings only in shape).
pub const DURATION_OK: [f64; 4] = [0.649064, 0.675063, 2.431201, 4.62569];
pub const DURATION_404: [f64; 4] = [0.442738, 0.5, 0.779919, 1.199324];
pub const ITERATION: [f64; 4] = [502.859967, 503.006254, 504.610442, 506.538145];
pub const RUN_DURATION: Duration = Duration::from_nanos(2_017_205_631);

fn request(log: &mut SampleLog, tags: &[(&str, &str)], duration: f64, failed: f64) {
    for (metric, v) in [
        ("http_reqs", 1.0),
        ("http_req_duration", duration),
        ("http_req_blocked", 0.3),
        ("http_req_connecting", 0.25),
        ("http_req_tls_handshaking", 0.0),
        ("http_req_sending", 0.05),
        ("http_req_waiting", duration * 0.8),
        ("http_req_receiving", duration * 0.1),
        ("http_req_failed", failed),
    ] {
        log.add(metric, tags, v);
    }
}

/// Four iterations of the fixture script.
pub fn fixture_samples(registry: Arc<Registry>) -> SampleLog {
    let mut log = SampleLog::new(registry);
    let base = [("scenario", "default"), ("testid", "demo")];
    log.add("vus", &[("testid", "demo")], 1.0);
    log.add("vus_max", &[("testid", "demo")], 1.0);
    for i in 0..4 {
        let ok = [
            ("scenario", "default"),
            ("testid", "demo"),
            ("group", "::g1"),
            ("mytag", "hello"),
            ("method", "GET"),
            ("name", "http://127.0.0.1:18080/"),
            ("url", "http://127.0.0.1:18080/"),
            ("proto", "HTTP/1.1"),
            ("status", "200"),
            ("expected_response", "true"),
        ];
        request(&mut log, &ok, DURATION_OK[i], 0.0);
        log.add(
            "checks",
            &[
                ("scenario", "default"),
                ("testid", "demo"),
                ("group", "::g1"),
                ("mytag", "hello"),
                ("check", "status is 200"),
            ],
            1.0,
        );
        log.add(
            "group_duration",
            &[
                ("scenario", "default"),
                ("testid", "demo"),
                ("group", "::g1"),
            ],
            2.5,
        );
        let missing = [
            ("scenario", "default"),
            ("testid", "demo"),
            ("group", ""),
            ("method", "GET"),
            ("name", "missing"),
            ("url", "missing"),
            ("proto", "HTTP/1.1"),
            ("status", "404"),
            ("expected_response", "false"),
            ("error_code", "1404"),
        ];
        request(&mut log, &missing, DURATION_404[i], 1.0);
        let custom = [("scenario", "default"), ("testid", "demo"), ("group", "")];
        log.add(
            "my_counter",
            &[custom[0], custom[1], custom[2], ("k", "v")],
            2.0,
        );
        log.add("my_gauge", &custom, 42.0);
        log.add("my_rate", &custom, 1.0);
        log.add("my_trend", &custom, 12.5);
        let iter = [base[0], base[1], ("group", "")];
        log.add("data_sent", &iter, 149.0);
        log.add("data_received", &iter, 724.0);
        log.add("iteration_duration", &iter, ITERATION[i]);
        log.add("iterations", &iter, 1.0);
    }
    log.add("vus", &[("testid", "demo")], 1.0);
    log
}

/// Parses and registers `thresholds`, feeds `samples` through an Aggregator in chunks.
pub fn aggregate(
    registry: Arc<Registry>,
    thresholds: &BTreeMap<String, Vec<ThresholdSpec>>,
    samples: &[Sample],
) -> SummaryHandle {
    let set = ThresholdSet::parse(thresholds).unwrap_or_else(|e| panic!("{e}"));
    set.register(&registry).unwrap_or_else(|e| panic!("{e}"));
    let (mut agg, handle) = Aggregator::new(registry.clone(), set);
    for chunk in samples.chunks(7) {
        agg.consume(&registry, chunk);
    }
    agg.finish(&registry);
    handle
}

pub fn run_info() -> RunInfo {
    RunInfo {
        duration: RUN_DURATION,
    }
}
