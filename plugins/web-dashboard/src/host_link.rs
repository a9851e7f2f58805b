//! What the host tells the bundled dashboard that the Output ABI does not carry: the health of
//! every output of the run, live. The host installs a [`HealthSource`] after building its outputs
//! and before starting them; an external build of this output (or a unit test) has none, and
//! reports its own health only.
//!
//! The scenarios reach it in `TestMeta.extra` (`"scenarios"`), and the end-of-test summary in
//! `RunOutcome.extra` (`"summary"`), both ABI fields meant for such additions.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The host's live view of its outputs.
pub trait HealthSource: Send + Sync {
    /// Every output now, as the `health` event's items:
    /// `{"output","state","received","written","dropped":{reason: n}}`.
    fn health(&self) -> serde_json::Value;
}

static SOURCE: Mutex<Option<Arc<dyn HealthSource>>> = Mutex::new(None);

/// Installs the host's source for this run (the last one installed wins).
pub fn install(source: Arc<dyn HealthSource>) {
    *SOURCE.lock().unwrap_or_else(|p| p.into_inner()) = Some(source);
}

pub(crate) fn health() -> Option<serde_json::Value> {
    let source = SOURCE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    source.map(|s| s.health())
}

static LINGERING: Mutex<Vec<crate::transport::Server>> = Mutex::new(Vec::new());

/// Keeps a server (`linger=true`) for [`linger_until`] instead of closing it at `stop`.
pub(crate) fn linger(server: crate::transport::Server) {
    LINGERING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(server);
}

/// Called by the host once everything else is done: while a dashboard lingers, keeps serving
/// until `done` says so (Ctrl-C), then closes. Returns at once when none lingers.
pub fn linger_until(done: impl Fn() -> bool) {
    let servers = std::mem::take(&mut *LINGERING.lock().unwrap_or_else(|p| p.into_inner()));
    if servers.is_empty() {
        return;
    }
    for s in &servers {
        let _ = writeln!(
            std::io::stderr(),
            "web dashboard: still serving {} (linger); press Ctrl-C to exit",
            s.url()
        );
    }
    while !done() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for s in servers {
        s.shutdown(std::time::Duration::from_millis(200));
    }
}
