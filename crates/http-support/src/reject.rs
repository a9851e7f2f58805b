//! Accounting for batches a server refused for good ([`crate::Outcome::Rejected`]).
//!
//! The host counts what it drops itself, but it never sees a rejected batch (the plugin answers
//! `Ok` for it so the host does not retry it forever), so the plugin reports it here: the
//! samples through the standard `samples_rejected` counter (the host then moves them from
//! `written` to `dropped.rejected`), and, for outputs that send something else than one item
//! per sample (series, data points, datums), the items too under a counter of their own. It
//! warns once per HTTP status so a bad tag value that breaks every batch does not flood the log.

use std::collections::BTreeSet;

use loadrun_plugin_api::sdk::COUNTER_SAMPLES_REJECTED;
use loadrun_plugin_api::Host;

/// Counts rejected samples (and items) and warns once per HTTP status.
#[derive(Debug)]
pub struct RejectLog {
    /// What the server receives, in the plural (`samples`, `series`, `data points`).
    unit: &'static str,
    /// The counter of refused items, when items are not samples (`rejected_series`).
    item_counter: Option<&'static str>,
    warned: BTreeSet<u16>,
    total: u64,
    samples: u64,
}

impl RejectLog {
    /// For outputs that send one item per sample (a line, a row).
    pub fn samples() -> Self {
        Self::items("samples", None)
    }

    /// For outputs whose requests carry `unit` (e.g. `series`), also counted under
    /// `item_counter` (e.g. `rejected_series`).
    pub fn items(unit: &'static str, item_counter: Option<&'static str>) -> Self {
        Self {
            unit,
            item_counter,
            warned: BTreeSet::new(),
            total: 0,
            samples: 0,
        }
    }

    /// Records that the server refused `items` items holding `samples` samples with `status`;
    /// `reason` is logged (at warn) the first time each status is seen.
    pub fn note(
        &mut self,
        host: Option<&Host>,
        status: u16,
        reason: &str,
        items: u64,
        samples: u64,
    ) {
        self.total += items;
        self.samples += samples;
        let Some(host) = host else { return };
        if samples > 0 {
            host.add_counter(COUNTER_SAMPLES_REJECTED, samples);
        }
        if let (Some(counter), true) = (self.item_counter, items > 0) {
            host.add_counter(counter, items);
        }
        if self.warned.insert(status) {
            let what = if self.unit == "samples" {
                format!("{samples} samples")
            } else if samples == 0 {
                // Aggregating outputs that settle samples later (cumulative values).
                format!("{items} {}", self.unit)
            } else {
                format!("{items} {} ({samples} samples)", self.unit)
            };
            host.warn(format!(
                "the server refused {what} (said once per status; the samples they held are \
                 counted in `{COUNTER_SAMPLES_REJECTED}`): {reason}"
            ));
        }
    }

    /// How many items were rejected so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many samples the rejected items held.
    pub fn samples_total(&self) -> u64 {
        self.samples
    }
}
