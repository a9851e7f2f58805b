//! One output instance in a child process, driven through the same [`OutputFfi`] as a Rust
//! plugin's, so the host's queue, retries, quarantine and stop deadline apply unchanged.

use std::time::{Duration, Instant};

use abi_stable::std_types::{ROption, RResult, RString};

use super::child::{Child, Reply};
use super::{json, protocol::kind};
use crate::abi::{Batch, HostBox, OutputFfi, PluginError, RunOutcome, WriteStatus};

pub struct ProcessOutput {
    child: Child,
    call_timeout: Duration,
}

impl ProcessOutput {
    pub(super) fn new(child: Child, call_timeout: Duration) -> Self {
        Self {
            child,
            call_timeout,
        }
    }

    /// A cold call: `OK` is success, anything else an error with its reason.
    fn simple(
        &mut self,
        what: &str,
        k: u8,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<(), PluginError> {
        match self.child.call(what, &[(k, payload)], None, timeout) {
            Ok(Reply::Ok(_)) => Ok(()),
            Ok(Reply::Error(reason)) => Err(PluginError::new(reason)),
            Ok(Reply::Retry { reason, .. }) => Err(PluginError::new(format!(
                "answered {what} with a retry, which only a write may: {reason}"
            ))),
            Err(dead) => Err(PluginError::new(dead)),
        }
    }

    /// What the host allows for a call ending by `timeout_ms` from now: the child gets the
    /// time, and a moment to answer that it ran out.
    fn bounded(&self, timeout_ms: u64) -> Duration {
        self.call_timeout
            .min(Duration::from_millis(timeout_ms.saturating_add(500)))
    }
}

impl OutputFfi for ProcessOutput {
    fn start(&mut self, host: HostBox) -> RResult<(), PluginError> {
        self.child.set_host(host);
        self.simple("start", kind::START, b"{}", self.call_timeout)
            .into()
    }

    fn write(&mut self, batch: Batch<'_>) -> WriteStatus {
        let defs = json::defs(&batch);
        let frames: Vec<(u8, &[u8])> = defs.iter().map(|d| (kind::DEFS, d.as_slice())).collect();
        match self.child.call(
            "write",
            &frames,
            Some(batch.samples.as_slice()),
            self.call_timeout,
        ) {
            Ok(Reply::Ok(_)) => WriteStatus::Ok,
            Ok(Reply::Retry { after_ms, reason }) => WriteStatus::Retry {
                after_ms: after_ms.map_or(ROption::RNone, ROption::RSome),
                reason: RString::from(reason),
            },
            Ok(Reply::Error(reason)) => WriteStatus::fatal(reason),
            Err(dead) => WriteStatus::fatal(dead),
        }
    }

    fn flush(&mut self, timeout_ms: u64) -> RResult<(), PluginError> {
        let doc = serde_json::json!({ "timeoutMs": timeout_ms }).to_string();
        self.simple(
            "flush",
            kind::FLUSH,
            doc.as_bytes(),
            self.bounded(timeout_ms),
        )
        .into()
    }

    fn stop(&mut self, outcome: &RunOutcome, timeout_ms: u64) -> RResult<(), PluginError> {
        let until = Instant::now() + Duration::from_millis(timeout_ms);
        let doc = json::stop(outcome, timeout_ms);
        let result = self.simple("stop", kind::STOP, &doc, self.bounded(timeout_ms));
        self.child.close(until);
        result.into()
    }
}
