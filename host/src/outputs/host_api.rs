//! The host services a plugin gets in `start`.

use std::sync::Arc;

use abi_stable::std_types::{RNone, ROption, RSome, RString};
use loadrun_plugin_api::abi::{HostApi, LogLevel};
use parking_lot::Mutex;

use super::worker::WorkerShared;

/// Why the run should stop early, set by an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortKind {
    /// A `required` output failed.
    RequiredOutputFailed,
    /// An output asked (and was allowed) to stop the test.
    Requested,
}

/// Shared by every output of a run; the engine polls it.
#[derive(Debug, Default)]
pub struct AbortSignal {
    state: Mutex<Option<(AbortKind, String)>>,
}

impl AbortSignal {
    /// Records the first reason only.
    pub fn set(&self, kind: AbortKind, reason: String) {
        let mut st = self.state.lock();
        if st.is_none() {
            *st = Some((kind, reason));
        }
    }

    pub fn get(&self) -> Option<(AbortKind, String)> {
        self.state.lock().clone()
    }

    pub fn is_set(&self) -> bool {
        self.state.lock().is_some()
    }
}

/// Implements [`HostApi`] for one output instance.
pub struct HostBridge {
    pub shared: Arc<WorkerShared>,
}

impl HostApi for HostBridge {
    fn log(&self, level: LogLevel, message: RString) {
        let name = &self.shared.name;
        match level {
            LogLevel::Error => tracing::error!("output {name}: {message}"),
            LogLevel::Warn => tracing::warn!("output {name}: {message}"),
            LogLevel::Info => tracing::info!("output {name}: {message}"),
            LogLevel::Debug => tracing::debug!("output {name}: {message}"),
            LogLevel::Trace => tracing::trace!("output {name}: {message}"),
        }
        if level == LogLevel::Error {
            self.shared.stats.note_error(message.as_str());
        }
    }

    fn add_counter(&self, name: RString, delta: u64) {
        *self
            .shared
            .stats
            .plugin_counters
            .lock()
            .entry(name.into_string())
            .or_insert(0) += delta;
    }

    fn request_abort(&self, reason: RString) -> bool {
        let name = &self.shared.name;
        if self.shared.options.abort_on_error {
            tracing::error!("output {name} stops the test: {reason}");
            self.shared
                .abort
                .set(AbortKind::Requested, format!("output {name}: {reason}"));
            true
        } else {
            tracing::warn!(
                "output {name} asked to stop the test ({reason}); ignored (set abortOnError=true on the output to allow it)"
            );
            false
        }
    }

    /// Since API 1.2: the time left before the stop deadline, once [`OutputSet::stop`] (or a
    /// failed start) has set it for this output. Plugins built against 1.0/1.1 never ask.
    ///
    /// [`OutputSet::stop`]: super::OutputSet::stop
    fn stop_time_left_ms(&self) -> ROption<u64> {
        match self.shared.stop_time_left() {
            Some(left) => RSome(u64::try_from(left.as_millis()).unwrap_or(u64::MAX)),
            None => RNone,
        }
    }
}
