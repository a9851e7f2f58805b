//! The output pipeline: a bounded queue and a worker thread per output instance.
//!
//! ```text
//! collector ──▶ Fanout (cuts batches) ──▶ queue A ──▶ worker A ──▶ plugin A write()
//!                                     └─▶ queue B ──▶ worker B ──▶ plugin B write()
//! ```
//!
//! Use: [`OutputSet::build`] (resolve plugins, construct outputs: option errors surface here,
//! before anything runs), [`OutputSet::start`], add [`OutputSet::consumer`] to the collector,
//! poll [`OutputSet::abort_signal`] during the run, then [`OutputSet::stop`] with the outcome.

pub mod bundled;
mod fanout;
mod health;
mod host_api;
mod places;
mod queue;
pub(crate) mod redact;
mod spec;
mod state;
mod stats;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RString};
use loadrun_metrics::{Registry, SampleConsumer};
use loadrun_plugin_api::abi::{HostApi_TO, KeyValue, OutputBox, OutputInit, RunOutcome, TestMeta};
use loadrun_plugin_api::declaration::DeclaredOutput;
use loadrun_plugin_api::values::{RawOptions, Values};

pub use fanout::{BatchData, Fanout};
pub use host_api::{AbortKind, AbortSignal};
pub use places::PlanPlaces;
pub use spec::{is_host_option, HostOptions, OutputSpec, WhenFull, HOST_DECLARATION, HOST_OPTIONS};
pub use state::OutputState;
pub use stats::{Dropped, OutputReport, OutputsReport};
use worker::WorkerShared;

use crate::plugins::{PluginError, PluginSet};

/// Samples per batch handed to outputs (a batch is also cut at every collector tick).
pub const BATCH_SIZE: usize = 4096;

/// The default time outputs get to drain and stop at the end of a run.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("invalid output {spec:?}: {reason}")]
    Spec { spec: String, reason: String },
    /// An option the plugin (or the host, for its own) declares is unknown, of the wrong kind or out of place: the
    /// message names the option, its value (unless secret) and its source.
    #[error("{0}")]
    Options(String),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("could not create output {output} ({source_file}): {message}")]
    Constructor {
        output: String,
        source_file: String,
        message: String,
    },
    #[error("output {output} failed to start: {message}")]
    Start { output: String, message: String },
    #[error("could not start the worker thread of output {output}: {message}")]
    Thread { output: String, message: String },
}

struct Instance {
    shared: Arc<WorkerShared>,
    output: Option<OutputBox>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Every output of one run.
pub struct OutputSet {
    instances: Vec<Instance>,
    /// Each `-o` as the user may be shown it: secrets masked.
    shown: Vec<String>,
    abort: Arc<AbortSignal>,
    registry: Arc<Registry>,
}

/// The options of a declared output, merged and checked.
fn checked_values(
    declared: &DeclaredOutput,
    output: &str,
    arg: Option<&str>,
    table: &serde_json::Value,
    env: &[KeyValue],
    places: &PlanPlaces,
) -> Result<Values, OutputError> {
    let raw = RawOptions {
        output: output.to_string(),
        arg: arg.map(str::to_string),
        plan: table
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone(), places.source(output, k)))
            .collect(),
        env: env
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect(),
    };
    Values::resolve(declared, &raw).map_err(|e| OutputError::Options(e.to_string()))
}

impl OutputSet {
    /// Resolves each `-o` spec to a plugin and constructs the output. `tables` holds the plan's
    /// `[outputs.NAME]` tables.
    pub fn build(
        specs: &[OutputSpec],
        plugins: &mut PluginSet,
        tables: &BTreeMap<String, serde_json::Value>,
        test: &TestMeta,
        registry: Arc<Registry>,
    ) -> Result<Self, OutputError> {
        Self::build_placed(
            specs,
            plugins,
            tables,
            &PlanPlaces::default(),
            test,
            registry,
        )
    }

    /// [`OutputSet::build`], with where the plan's tables were written (for option errors).
    pub fn build_placed(
        specs: &[OutputSpec],
        plugins: &mut PluginSet,
        tables: &BTreeMap<String, serde_json::Value>,
        places: &PlanPlaces,
        test: &TestMeta,
        registry: Arc<Registry>,
    ) -> Result<Self, OutputError> {
        let abort = Arc::new(AbortSignal::default());
        let env: Vec<KeyValue> = std::env::vars().map(|(k, v)| KeyValue::new(k, v)).collect();
        let mut instances: Vec<Instance> = Vec::new();
        let mut shown = Vec::new();
        for spec in specs {
            let plugin = plugins.resolve(&spec.name)?;
            let declared = plugin.declared(&spec.name);
            let descriptor = plugin.output(&spec.name);
            let is_secret = |key: &str| match declared {
                Some(d) => d.options.iter().any(|o| o.secret && o.is_called(key)),
                None => descriptor.is_some_and(|d| {
                    d.options
                        .iter()
                        .any(|o| o.secret && o.name.as_str().eq_ignore_ascii_case(key))
                }),
            };
            shown.push(redact::redacted_spec(
                &spec.name,
                spec.arg.as_deref(),
                &is_secret,
            ));
            let (options, arg, table) = HostOptions::extract_placed(
                &spec.name,
                spec.arg.as_deref(),
                tables.get(&spec.name),
                places,
            )?;
            // A plugin that declares its options gets them checked here, with their sources;
            // it still gets the raw argument, table and environment, as older plugins do.
            let extra = match declared {
                Some(d) => checked_values(d, &spec.name, arg.as_deref(), &table, &env, places)?
                    .to_extra()
                    .to_string(),
                None => "{}".to_string(),
            };
            let init = OutputInit {
                output_name: spec.name.as_str().into(),
                arg: arg.map(RString::from).into(),
                config_json: table.to_string().into(),
                env: env.clone().into(),
                test: test.clone(),
                extra: extra.into(),
            };
            let output = match plugin.module.new_output(init) {
                Ok(o) => o,
                Err(e) => {
                    return Err(OutputError::Constructor {
                        output: spec.name.clone(),
                        source_file: plugin.source.to_string(),
                        message: e.to_string(),
                    })
                }
            };
            let same = instances
                .iter()
                .filter(|i| i.shared.name.split('#').next() == Some(spec.name.as_str()))
                .count();
            let name = if same == 0 {
                spec.name.clone()
            } else {
                format!("{}#{}", spec.name, same + 1)
            };
            instances.push(Instance {
                shared: Arc::new(WorkerShared::new(name, options, abort.clone())),
                output: Some(output),
                thread: None,
            });
        }
        Ok(Self {
            instances,
            shown,
            abort,
            registry,
        })
    }

    /// The `-o` arguments as the user may be shown them, secrets masked.
    pub fn shown_specs(&self) -> &[String] {
        &self.shown
    }

    /// Calls every output's `start` (in order) and starts its worker. The first failure is
    /// returned; outputs already started are stopped.
    pub fn start(&mut self) -> Result<(), OutputError> {
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            let Some(mut output) = inst.output.take() else {
                continue;
            };
            let host = HostApi_TO::from_value(
                host_api::HostBridge {
                    shared: inst.shared.clone(),
                },
                TD_Opaque,
            );
            if let RResult::RErr(e) = output.start(host) {
                let name = inst.shared.name.clone();
                self.stop_started(i);
                return Err(OutputError::Start {
                    output: name,
                    message: e.to_string(),
                });
            }
            let shared = inst.shared.clone();
            let registry = self.registry.clone();
            let thread = std::thread::Builder::new()
                .name(format!("output-{}", inst.shared.name))
                .spawn(move || worker::run(output, shared, registry))
                .map_err(|e| OutputError::Thread {
                    output: inst.shared.name.clone(),
                    message: e.to_string(),
                })?;
            inst.thread = Some(thread);
        }
        Ok(())
    }

    fn stop_started(&mut self, upto: usize) {
        let outcome = RunOutcome {
            passed: false,
            reason: loadrun_plugin_api::EndReason::Error,
            thresholds: Default::default(),
            duration_ms: 0,
            extra: "{}".into(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        for inst in &self.instances[..upto] {
            *inst.shared.stopping.lock() = Some((outcome.clone(), deadline));
            inst.shared.queue.close();
        }
        for inst in &self.instances[..upto] {
            inst.shared.wait_done(deadline);
        }
    }

    /// The collector consumer that feeds every output.
    pub fn consumer(&self) -> Box<dyn SampleConsumer> {
        Box::new(Fanout::new(
            self.instances.iter().map(|i| i.shared.clone()).collect(),
            BATCH_SIZE,
        ))
    }

    /// Set when a required output failed or an output asked to stop the test.
    pub fn abort_signal(&self) -> Arc<AbortSignal> {
        self.abort.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Whether the bundled web dashboard is among the outputs.
    pub fn has_dashboard(&self) -> bool {
        self.instances
            .iter()
            .any(|i| i.shared.name.split('#').next() == Some(bundled::dashboard::NAME))
    }

    /// Hands the bundled web dashboard, if any, the live health of every output.
    pub fn link_dashboard(&self) {
        if self.has_dashboard() {
            out_web_dashboard::host_link::install(Arc::new(health::LiveHealth {
                outputs: self.instances.iter().map(|i| i.shared.clone()).collect(),
            }));
        }
    }

    /// Drains every queue into its plugin until `timeout`, then calls `stop` with the outcome.
    /// Call after the collector has finished. An output that does not stop in time is abandoned
    /// (its thread is left behind and its unwritten samples counted as dropped at shutdown).
    pub fn stop(mut self, outcome: &RunOutcome, timeout: Duration) -> OutputsReport {
        let deadline = Instant::now() + timeout;
        for inst in &self.instances {
            *inst.shared.stopping.lock() = Some((outcome.clone(), deadline));
            inst.shared.queue.close();
        }
        // The plugin's own stop gets the time left; allow it a moment past the deadline to
        // return before declaring it stuck.
        let grace = deadline + Duration::from_millis(500);
        let mut reports = Vec::new();
        for inst in &mut self.instances {
            let finished = inst.thread.is_none() || inst.shared.wait_done(grace);
            let state = if finished {
                if let Some(t) = inst.thread.take() {
                    let _ = t.join();
                }
                *inst.shared.state.lock()
            } else {
                let cause = match inst.shared.last_error() {
                    Some(e) => format!(" (last error: {e})"),
                    None => String::new(),
                };
                tracing::error!(
                    "output {} did not stop within {:.1}s; abandoning it: what it still held may be lost{cause}",
                    inst.shared.name,
                    timeout.as_secs_f64()
                );
                inst.shared.stats.note_error(&format!(
                    "did not stop within {:.1}s",
                    timeout.as_secs_f64()
                ));
                OutputState::StopTimeout
            };
            reports.push(inst.shared.stats.report(&inst.shared.name, state));
        }
        OutputsReport { outputs: reports }
    }
}
