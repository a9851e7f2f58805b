//! Accounting for batches a server refused for good ([`crate::Outcome::Rejected`]).
//!
//! The host counts what it drops itself, but it never sees a rejected batch (the plugin answers
//! `Ok` for it so the host does not retry it forever), so the plugin counts it here, through
//! the host's self-metrics counters, and warns once per HTTP status so a bad tag value that
//! breaks every batch does not flood the log.

use std::collections::BTreeSet;

use loadrun_plugin_api::Host;

/// Counts rejected items under `counter` and warns once per HTTP status.
#[derive(Debug)]
pub struct RejectLog {
    counter: &'static str,
    warned: BTreeSet<u16>,
    total: u64,
}

impl RejectLog {
    /// `counter` is the name of the self-metric, e.g. `rejected_samples`.
    pub fn new(counter: &'static str) -> Self {
        Self {
            counter,
            warned: BTreeSet::new(),
            total: 0,
        }
    }

    /// Records that the server refused `items` items with `status`; `reason` is logged (at
    /// warn) the first time each status is seen.
    pub fn note(&mut self, host: Option<&Host>, status: u16, reason: &str, items: u64) {
        self.total += items;
        if let Some(host) = host {
            host.add_counter(self.counter, items);
            if self.warned.insert(status) {
                host.warn(format!(
                    "the server refused {items} {} and they are dropped (said once per status; \
                     the count is in the `{}` counter): {reason}",
                    self.counter.trim_start_matches("rejected_"),
                    self.counter
                ));
            }
        }
    }

    /// How many items were rejected so far.
    pub fn total(&self) -> u64 {
        self.total
    }
}
