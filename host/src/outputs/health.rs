//! The live health of every output, for the bundled web dashboard's `health` event (the Output
//! ABI carries no such thing; see `out_web_dashboard::host_link`).

use std::sync::Arc;

use out_web_dashboard::host_link::HealthSource;
use serde_json::json;

use super::worker::WorkerShared;

pub struct LiveHealth {
    pub(super) outputs: Vec<Arc<WorkerShared>>,
}

impl HealthSource for LiveHealth {
    fn health(&self) -> serde_json::Value {
        let list: Vec<serde_json::Value> = self
            .outputs
            .iter()
            .map(|o| {
                let r = o.stats.report(&o.name, *o.state.lock());
                // During the run, what the end-of-run report counts as lost at shutdown is
                // still on its way: queued, or in the plugin's hands.
                json!({
                    "output": r.name,
                    "state": r.state.as_str(),
                    "received": r.received,
                    "written": r.written,
                    "queued": r.dropped.shutdown,
                    "retries": r.retries,
                    "dropped": {
                        "queue_full": r.dropped.queue_full,
                        "retries_exhausted": r.dropped.retries_exhausted,
                        "rejected": r.dropped.rejected,
                        "lost": r.dropped.lost,
                        "fatal": r.dropped.fatal,
                        "shutdown": 0,
                    },
                })
            })
            .collect();
        serde_json::Value::Array(list)
    }
}
