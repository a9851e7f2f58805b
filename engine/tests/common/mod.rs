//! Running a plan through the engine in-process and reading back what the collector got, and
//! the loopback servers (`servers`), shared by the engine's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loadrun_engine::plan::{parse_str, Format};
use loadrun_engine::{Engine, EngineOptions, RunResult};
use loadrun_metrics::{Collector, MetricId, Registry, Sample, SampleConsumer, SeriesId};

pub mod servers;

/// One sample as the collector got it, with its metric name, tags and metadata resolved.
#[derive(Clone, Debug)]
pub struct Row {
    pub metric: String,
    pub tags: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
    pub value: f64,
    /// When the collector got it, since the run began.
    pub at: Duration,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(Instant, Sample)>>>);

impl SampleConsumer for Capture {
    fn consume(&mut self, _r: &Registry, samples: &[Sample]) {
        let now = Instant::now();
        self.0
            .lock()
            .unwrap()
            .extend(samples.iter().map(|s| (now, *s)));
    }
}

fn pairs(kvs: &[loadrun_plugin_api::KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect()
}

/// Runs `plan` (TOML) with `opts` and a collector ticking every `tick`, failing the test if
/// the run has not ended after `limit` (a run that ignores its stop would hang the test).
pub fn run_plan(
    plan: &str,
    opts: &EngineOptions,
    tick: Duration,
    limit: Duration,
) -> (Vec<Row>, RunResult) {
    let plan = parse_str(plan, Format::Toml, "t.toml").unwrap();
    let registry = Arc::new(Registry::new());
    let engine = Engine::new(&plan, opts, registry.clone()).unwrap();
    let cap = Capture::default();
    let collector = Collector::spawn(registry.clone(), vec![Box::new(cap.clone())], tick).unwrap();
    let sender = collector.sender();
    let (tx, rx) = std::sync::mpsc::channel();
    let start = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(engine.run(sender).unwrap());
    });
    let result = rx
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("the run did not end within {limit:?}"));
    collector.finish();
    let rows = cap
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(at, s)| {
            let sd = registry.series_def(SeriesId(s.series)).unwrap();
            let md = registry.metric_def(MetricId(sd.metric)).unwrap();
            Row {
                metric: md.name.to_string(),
                tags: pairs(&sd.tags),
                metadata: pairs(&sd.metadata),
                value: s.value,
                at: at.saturating_duration_since(start),
            }
        })
        .collect();
    (rows, result)
}
