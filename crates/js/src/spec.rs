//! What every VU of a script shares: the source, the environment, which function each
//! scenario runs, the request defaults from the options, and the data `setup()` returned.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// Defaults for every request, from `export const options`.
#[derive(Debug, Clone)]
pub struct RequestDefaults {
    pub user_agent: Arc<str>,
    /// `maxRedirects`, when the script set it.
    pub max_redirects: Option<u32>,
    pub discard_bodies: bool,
    pub no_connection_reuse: bool,
    pub timeout: Duration,
    /// k6's `batch`: the most requests of one `http.batch` under way at once.
    pub batch: usize,
    /// k6's `batchPerHost`: the most to one host at once; 0 is no limit.
    pub batch_per_host: usize,
}

impl Default for RequestDefaults {
    fn default() -> Self {
        Self {
            user_agent: Arc::from(format!("loadrun/{}", env!("CARGO_PKG_VERSION")).as_str()),
            max_redirects: None,
            discard_bodies: false,
            no_connection_reuse: false,
            // k6's default request timeout.
            timeout: Duration::from_secs(60),
            // k6's defaults.
            batch: 20,
            batch_per_host: 6,
        }
    }
}

pub struct Spec {
    /// The script as given on the command line (module name, log lines).
    pub path: String,
    pub source: String,
    /// Bytecode of the script and every module it imports, from the probe (module name to
    /// bytes); VUs load it rather than parse. Kept as long as any runtime may reference it.
    pub bytecode: HashMap<String, Box<[u8]>>,
    pub env: BTreeMap<String, String>,
    /// Scenario name to (function, scenario `env`).
    pub scenarios: HashMap<String, (String, BTreeMap<String, String>)>,
    pub defaults: RequestDefaults,
    /// Custom metric names, in the plan's order (index = [`loadrun_engine::script::Event::Custom`]).
    pub metrics: Vec<String>,
    pub setup_timeout: Duration,
    pub teardown_timeout: Duration,
    pub has_setup: bool,
    pub has_teardown: bool,
    /// `setup()`'s return value as JSON (k6 copies it to every VU).
    pub setup_data: Mutex<Option<String>>,
    /// `setup()` threw: the test does not run (k6 exits with an error).
    pub setup_failed: AtomicBool,
    /// Exception messages already logged (each is logged once).
    pub logged: Mutex<HashSet<String>>,
    /// Files `open()` read and `SharedArray`s, made once per run (the probe's are kept).
    pub shared: Arc<crate::natives::Shared>,
}

impl Spec {
    /// Logs `line` at error level unless the same line was logged before.
    pub fn log_once(&self, line: &str) {
        let mut seen = self.logged.lock();
        // Bounded, so a script whose messages all differ cannot grow it without end (past
        // the bound, new messages are no longer logged).
        if seen.len() < 10_000 && seen.insert(line.to_string()) {
            tracing::error!(source = "script", "{line}");
        }
    }
}
