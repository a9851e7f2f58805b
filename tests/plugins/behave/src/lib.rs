//! A test plugin whose outputs misbehave on purpose, to prove the host contains them.
//!
//! Outputs (all take `-o NAME=key=value,...`):
//! - `tb-null`: does nothing with each batch (measures the host-to-plugin path alone).
//! - `tb-count`: counts samples per metric; at stop writes `metric count` lines to `file`.
//! - `tb-panic`: panics in the entry point named by `in` (`new`, `start`, `write`, `stop`);
//!   `after` = how many writes with samples succeed first.
//! - `tb-slow`: sleeps `delay` (ms) in every write that has samples, counting what it writes to `file`.
//! - `tb-hang`: never returns from `stop` (or from `write` with `in=write`).
//! - `tb-retry`: answers `Retry` `times` times per batch (with `afterMs` if given), then `Ok`;
//!   or always, with `times=forever`. Counts written samples to `file`.
//! - `tb-fatal`: answers `Fatal` to the first batch with samples.
//! - `tb-abort`: asks the host to stop the test at the first batch with samples.
//! - `tb-failstart`: `start` returns an error; `tb-failnew`: the constructor does.
//! - `tb-deadline`: every write with samples waits `delay` ms like a request to a server that
//!   never answers, but gives up 100 ms before the host's stop deadline (API 1.2's
//!   `Host::stop_time_left`), then answers `Retry`. At stop it writes what the host told it,
//!   `stop_time_left <ms|none>`, to `file`.
//! - `tb-secret`: accepts and discards every batch, like `tb-null`, but declares its options
//!   (API 1.3), secrets among them, so the host checks them and must never show a secret.

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_plugin_api::{
    Batch, Catalog, Host, Kind, OptionSpec, Options, Output, OutputDescriptor, OutputInit, Plugin,
    PluginError, Positional, RunOutcome, WriteStatus,
};

pub struct Behave;

const OUTPUTS: &[(&str, &str)] = &[
    ("tb-count", "counts samples per metric into a file at stop"),
    (
        "tb-null",
        "accepts and discards every batch (for measuring the ABI path)",
    ),
    ("tb-panic", "panics in a chosen entry point"),
    ("tb-slow", "sleeps in every write"),
    ("tb-hang", "hangs in stop (or write)"),
    ("tb-retry", "asks for retries"),
    ("tb-fatal", "fails fatally at the first batch"),
    ("tb-abort", "asks the host to abort the test"),
    ("tb-failstart", "fails in start"),
    ("tb-failnew", "fails in its constructor"),
    (
        "tb-deadline",
        "waits in every write like a request to a dead server, cut at the stop deadline",
    ),
];

/// `tb-secret`'s declared options: a URL argument whose query pairs are options, secrets by
/// name, by alias and in a mode, and a secret with a kind a bad value can miss.
const SECRET_OPTIONS: &[loadrun_plugin_api::OptionSpec] = &[
    OptionSpec::new("url", Kind::Url).doc("where nothing is sent"),
    OptionSpec::new("token", Kind::Str)
        .secret()
        .env(&["TB_SECRET_TOKEN"])
        .doc("a token"),
    OptionSpec::new("apiKey", Kind::Str)
        .secret()
        .aliases(&["api_key"])
        .default("default-api-key")
        .doc("a key with a default"),
    OptionSpec::new("pin", Kind::Int { min: 0, max: 9999 })
        .secret()
        .env(&["TB_SECRET_PIN"])
        .doc("a secret number"),
    OptionSpec::new("count", Kind::Int { min: 1, max: 10 }).default("1"),
];

impl Plugin for Behave {
    const NAME: &'static str = "out_testbehave";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DECLARED_OUTPUTS: &'static [loadrun_plugin_api::DeclaredOutput] = &[
        loadrun_plugin_api::DeclaredOutput::new("tb-count", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-null", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-panic", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-slow", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-hang", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-retry", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-fatal", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-abort", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-failstart", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-failnew", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-deadline", &[]),
        loadrun_plugin_api::DeclaredOutput::new("tb-secret", &[])
            .describe("discards every batch; declares secret options")
            .options(SECRET_OPTIONS)
            .positional(Positional::Url("url")),
    ];

    fn outputs() -> Vec<OutputDescriptor> {
        OUTPUTS
            .iter()
            .map(|(name, description)| OutputDescriptor {
                name: (*name).into(),
                aliases: Default::default(),
                description: (*description).into(),
                options: Default::default(),
            })
            .chain(Self::DECLARED_OUTPUTS.last().map(|d| d.descriptor()))
            .collect()
    }

    fn new_output(init: OutputInit) -> Result<Box<dyn Output>, PluginError> {
        if init.output_name.as_str() == "tb-secret" {
            if let Some(declared) = Self::declared("tb-secret") {
                let values = loadrun_plugin_api::Values::from_init(&init, declared)?;
                let _ = (values.secret("token")?, values.secret("apiKey")?);
            }
        }
        let o = Options::from_init(&init)?;
        let name = init.output_name.to_string();
        let panic_in = o.get_or("in", &[], "write");
        if name == "tb-panic" && panic_in == "new" {
            panic!("tb-panic: deliberate panic in new_output");
        }
        if name == "tb-failnew" {
            return Err(PluginError::new(
                "tb-failnew: deliberate constructor failure",
            ));
        }
        let file = o.get("file", &[]);
        if let Some(f) = &file {
            // A new instance starts a new count, as a file output truncates its file.
            std::fs::write(f, "").map_err(|e| PluginError::new(format!("{f}: {e}")))?;
        }
        Ok(Box::new(Behaving {
            kind: name,
            panic_in,
            after: o.get_u64("after", &[], 0)?,
            delay: Duration::from_millis(o.get_u64("delay", &[], 100)?),
            times: o.get_or("times", &[], "2"),
            after_ms: o.get("afterMs", &[]).and_then(|v| v.parse().ok()),
            file,
            catalog: Catalog::new(),
            counts: BTreeMap::new(),
            writes: 0,
            attempts: 0,
            host: None,
        }))
    }
}

struct Behaving {
    kind: String,
    panic_in: String,
    after: u64,
    delay: Duration,
    times: String,
    after_ms: Option<u64>,
    file: Option<String>,
    catalog: Catalog,
    counts: BTreeMap<String, u64>,
    writes: u64,
    attempts: u64,
    host: Option<Host>,
}

impl Behaving {
    fn count(&mut self, batch: &Batch<'_>) {
        for s in batch.samples.iter() {
            let name = match self.catalog.resolve(s) {
                Some((m, _)) => m.name.clone(),
                None => "<undefined series>".to_string(),
            };
            *self.counts.entry(name).or_insert(0) += 1;
        }
    }

    fn write_counts(&self) -> Result<(), PluginError> {
        if let Some(f) = &self.file {
            let mut text = String::new();
            for (k, v) in &self.counts {
                text.push_str(&format!("{k} {v}\n"));
            }
            std::fs::write(f, text).map_err(|e| PluginError::new(format!("{f}: {e}")))?;
        }
        Ok(())
    }
}

impl Output for Behaving {
    fn start(&mut self, host: Host) -> Result<(), PluginError> {
        if self.kind == "tb-panic" && self.panic_in == "start" {
            panic!("tb-panic: deliberate panic in start");
        }
        if self.kind == "tb-failstart" {
            return Err(PluginError::new("tb-failstart: deliberate start failure"));
        }
        self.host = Some(host);
        Ok(())
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        if self.kind == "tb-null" {
            return WriteStatus::Ok;
        }
        self.catalog.absorb(&batch);
        if batch.samples.is_empty() {
            return WriteStatus::Ok;
        }
        match self.kind.as_str() {
            "tb-panic" if self.panic_in == "write" && self.writes >= self.after => {
                panic!("tb-panic: deliberate panic in write")
            }
            "tb-slow" => std::thread::sleep(self.delay),
            "tb-hang" if self.panic_in == "write" => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            "tb-retry" => {
                let limit = self.times.parse::<u64>().unwrap_or(u64::MAX);
                if self.attempts < limit {
                    self.attempts += 1;
                    let reason = "tb-retry: server says try again";
                    return match self.after_ms {
                        Some(ms) => WriteStatus::retry_after(Duration::from_millis(ms), reason),
                        None => WriteStatus::retry(reason),
                    };
                }
                self.attempts = 0;
            }
            "tb-fatal" => return WriteStatus::fatal("tb-fatal: deliberate fatal error"),
            "tb-deadline" => {
                let until = std::time::Instant::now() + self.delay;
                let margin = Duration::from_millis(100);
                while std::time::Instant::now() < until {
                    let left = self.host.as_ref().and_then(Host::stop_time_left);
                    if left.is_some_and(|l| l <= margin) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                return WriteStatus::retry("tb-deadline: no answer");
            }
            "tb-abort" => {
                if let Some(h) = &self.host {
                    h.request_abort("tb-abort: deliberate abort request");
                }
            }
            _ => {}
        }
        self.writes += 1;
        self.count(&batch);
        WriteStatus::Ok
    }

    fn stop(&mut self, _outcome: &RunOutcome, _timeout: Duration) -> Result<(), PluginError> {
        if self.kind == "tb-panic" && self.panic_in == "stop" {
            panic!("tb-panic: deliberate panic in stop");
        }
        if self.kind == "tb-hang" && self.panic_in != "write" {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        if self.kind == "tb-deadline" {
            if let Some(f) = &self.file {
                let left = match self.host.as_ref().and_then(Host::stop_time_left) {
                    Some(d) => d.as_millis().to_string(),
                    None => "none".into(),
                };
                std::fs::write(f, format!("stop_time_left {left}\n"))
                    .map_err(|e| PluginError::new(format!("{f}: {e}")))?;
            }
            return Ok(());
        }
        self.write_counts()
    }
}

loadrun_plugin_api::export_plugin!(Behave);
