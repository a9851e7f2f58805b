//! The dashboard instance: samples into the aggregator, a period's events out to the hub (the
//! live streams), the record and, at the end, the report.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use loadrun_plugin_api::{
    Batch, Host, Output, OutputInit, PluginError, RunOutcome, TestMeta, WriteStatus,
};
use serde_json::{json, Value};

use crate::aggregate::Aggregator;
use crate::config::{DashboardConfig, Listen};
use crate::encoder::{self, Event};
use crate::host_link;
use crate::report;
use crate::transport::{Hub, Server};

/// How long the server may take, after `stop`, to send open streams their last events.
const SERVER_CLOSE: Duration = Duration::from_millis(800);

enum Record {
    Plain(BufWriter<File>),
    Gz(GzEncoder<BufWriter<File>>),
}

impl Record {
    fn create(path: &PathBuf) -> Result<Self, PluginError> {
        let file = File::create(path).map_err(|e| {
            PluginError::new(format!(
                "web-dashboard: cannot create the record file {}: {e}",
                path.display()
            ))
        })?;
        let w = BufWriter::new(file);
        Ok(if path.extension().is_some_and(|e| e == "gz") {
            Record::Gz(GzEncoder::new(w, Compression::default()))
        } else {
            Record::Plain(w)
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Record::Plain(w) => w,
            Record::Gz(w) => w,
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Record::Plain(mut w) => w.flush(),
            Record::Gz(w) => w.finish()?.flush(),
        }
    }
}

pub struct DashboardOutput {
    config: DashboardConfig,
    test: TestMeta,
    period: Duration,
    aggregator: Aggregator,
    hub: Arc<Hub>,
    server: Option<Server>,
    record: Option<Record>,
    record_path: Option<PathBuf>,
    record_failed: bool,
    host: Option<Host>,
    scenarios: Value,
    started: Instant,
    last_period: Instant,
    next_period: Instant,
    received: u64,
    stopped: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl DashboardOutput {
    /// Creates the record file now, so a bad path fails before the test starts.
    pub fn new(config: DashboardConfig, init: &OutputInit) -> Result<Self, PluginError> {
        let record = config.record.as_ref().map(Record::create).transpose()?;
        if let Some(export) = &config.export {
            // The report is written at the end; a directory that does not exist is said now.
            let dir = export.parent().filter(|p| !p.as_os_str().is_empty());
            if let Some(d) = dir.filter(|d| !d.is_dir()) {
                return Err(PluginError::new(format!(
                    "web-dashboard: cannot write the report {}: no directory {}",
                    export.display(),
                    d.display()
                )));
            }
        }
        let test = init.test.clone();
        let period = config.effective_period(test.planned_duration());
        let scenarios = serde_json::from_str::<Value>(test.extra.as_str())
            .ok()
            .and_then(|v| v.get("scenarios").cloned())
            .unwrap_or_else(|| json!([]));
        let now = Instant::now();
        Ok(Self {
            aggregator: Aggregator::new(&config.group_by, config.top_n, &test),
            record_path: config.record.clone(),
            config,
            test,
            period,
            hub: Arc::new(Hub::default()),
            server: None,
            record,
            record_failed: false,
            host: None,
            scenarios,
            started: now,
            last_period: now,
            next_period: now + period,
            received: 0,
            stopped: false,
        })
    }

    fn warn(&self, message: String) {
        match &self.host {
            Some(h) => h.warn(message),
            // A closed stderr must not end the run (eprintln! would panic).
            None => {
                let _ = writeln!(std::io::stderr(), "loadrun: warning: {message}");
            }
        }
    }

    fn push(&mut self, event: Event) {
        if let Some(r) = &mut self.record {
            let mut line = event.ndjson();
            line.push('\n');
            if let Err(e) = r.writer().write_all(line.as_bytes()) {
                if !self.record_failed {
                    self.record_failed = true;
                    let path = self.record_path.as_ref().map(|p| p.display().to_string());
                    self.warn(format!(
                        "web-dashboard: cannot write the record {}: {e}",
                        path.unwrap_or_default()
                    ));
                }
            }
        }
        self.hub.push(event);
    }

    fn config_event(&self) -> Value {
        let mut thresholds: Vec<Value> = Vec::new();
        for t in self.test.thresholds.iter() {
            let metric = t.metric.as_str();
            let at = thresholds.iter().position(|v| v["metric"] == metric);
            match at {
                Some(i) => {
                    if let Some(list) = thresholds[i]["expressions"].as_array_mut() {
                        list.push(json!(t.source.as_str()));
                    }
                    if t.abort_on_fail {
                        thresholds[i]["abortOnFail"] = json!(true);
                    }
                }
                None => thresholds.push(json!({
                    "metric": metric,
                    "expressions": [t.source.as_str()],
                    "abortOnFail": t.abort_on_fail,
                })),
            }
        }
        let tags: serde_json::Map<String, Value> = self
            .test
            .tag_pairs()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "testId": self.test.test_id.as_str(),
            "plan": self.test.plan_name.as_str(),
            "started": self.test.start_unix_ns / 1_000_000,
            "periodMs": self.period.as_millis() as u64,
            "plannedMs": self.test.planned_duration().map(|d| d.as_millis() as u64),
            "maxVus": self.test.max_vus,
            "scenarios": self.scenarios,
            "thresholds": thresholds,
            "tags": tags,
            "groupBy": self.config.group_by,
            "topN": self.config.top_n,
        })
    }

    fn health(&self) -> Value {
        host_link::health().unwrap_or_else(|| {
            json!([{
                "output": "web-dashboard",
                "state": "ok",
                "received": self.received,
                "written": self.received,
                "dropped": {"queue_full": 0, "retries_exhausted": 0, "rejected": 0, "lost": 0, "fatal": 0, "shutdown": 0},
            }])
        })
    }

    /// Emits the events of the period ending now.
    fn end_period(&mut self, verdicts: &[(String, String, bool)]) {
        let now = Instant::now();
        let length = now
            .duration_since(self.last_period)
            .max(Duration::from_millis(1));
        self.last_period = now;
        let elapsed = now
            .duration_since(self.started)
            .max(Duration::from_millis(1));
        let mut ev = self.aggregator.end_period(now_ms(), length, elapsed);
        if !verdicts.is_empty() {
            ev.threshold = self.aggregator.thresholds(elapsed, verdicts);
        }
        if let Some(m) = ev.metric.take() {
            self.push(Event::new(encoder::METRIC, &m));
        }
        self.push(Event::new(encoder::SNAPSHOT, &ev.snapshot));
        self.push(Event::new(encoder::CUMULATIVE, &ev.cumulative));
        self.push(Event::new(encoder::THRESHOLD, &ev.threshold));
        let health = self.health();
        self.push(Event::new(encoder::HEALTH, &health));
        if let Some(Record::Plain(w)) = &mut self.record {
            let _ = w.flush();
        }
    }

    fn open_browser(&self, url: &str) {
        let spawned = std::process::Command::new("xdg-open")
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                // Reaped aside, so no zombie is left and the run does not wait for it.
                let _ = std::thread::Builder::new()
                    .name("web-dashboard-open".into())
                    .spawn(move || child.wait());
            }
            Err(e) => self.warn(format!(
                "web-dashboard: cannot open a browser (xdg-open: {e}); open {url} yourself"
            )),
        }
    }
}

impl Output for DashboardOutput {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        self.host = Some(host);
        let config = self.config_event();
        self.push(Event::new(encoder::CONFIG, &config));
        if let Listen::On { host, port } = self.config.listen.clone() {
            match Server::start(&host, port, self.hub.clone()) {
                Ok(server) => {
                    let url = server.url();
                    let _ = writeln!(std::io::stderr(), "web dashboard: {url}");
                    if self.config.open {
                        self.open_browser(&url);
                    }
                    self.server = Some(server);
                }
                // The test matters more than its dashboard: export and record still work.
                Err(e) => self.warn(format!(
                    "web-dashboard: cannot listen on {host}:{port} ({e}); the test runs without the live page"
                )),
            }
        }
        let now = Instant::now();
        self.started = now;
        self.last_period = now;
        self.next_period = now + self.period;
        self.push(Event::new(encoder::START, &json!({"time": now_ms()})));
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        self.received += batch.samples.len() as u64;
        let unknown = self.aggregator.write(&batch);
        if unknown > 0 {
            if let Some(h) = &self.host {
                h.add_counter("samples_unknown_series", unknown);
            }
        }
        let now = Instant::now();
        if now >= self.next_period {
            self.end_period(&[]);
            self.next_period += self.period;
            if self.next_period <= now {
                self.next_period = now + self.period;
            }
        }
        WriteStatus::Ok
    }

    fn stop(&mut self, outcome: &RunOutcome, _timeout: Duration) -> Result<(), PluginError> {
        // `stop` is the last call of the contract; a second one finds everything done.
        if std::mem::replace(&mut self.stopped, true) {
            return Ok(());
        }
        let verdicts: Vec<(String, String, bool)> = outcome
            .thresholds
            .iter()
            .map(|t| (t.metric.to_string(), t.source.to_string(), t.passed))
            .collect();
        // Always one last period, so a run shorter than a period has its snapshot too.
        self.end_period(&verdicts);
        let summary = serde_json::from_str::<Value>(outcome.extra.as_str())
            .ok()
            .and_then(|v| v.get("summary").cloned())
            .unwrap_or(Value::Null);
        let stop = json!({
            "time": now_ms(),
            "passed": outcome.passed,
            "reason": outcome.reason.as_str(),
            "durationMs": outcome.duration_ms,
            "summary": summary,
        });
        self.push(Event::new(encoder::STOP, &stop));
        self.hub.close();

        let mut failures = Vec::new();
        if let Some(r) = self.record.take() {
            if let Err(e) = r.finish() {
                let path = self.record_path.as_ref().map(|p| p.display().to_string());
                failures.push(format!(
                    "cannot write the record {}: {e}",
                    path.unwrap_or_default()
                ));
            }
        }
        if let Some(path) = &self.config.export {
            let events = self.hub.events();
            let html = report::build_html(events.iter().map(|e| &**e));
            if let Err(e) = report::write_file(path, html.as_bytes()) {
                failures.push(format!("cannot write the report {}: {e}", path.display()));
            }
        }
        if let Some(server) = self.server.take() {
            if self.config.linger {
                host_link::linger(server);
            } else {
                server.shutdown(SERVER_CLOSE);
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(PluginError::new(format!(
                "web-dashboard: {}",
                failures.join("; ")
            )))
        }
    }
}
