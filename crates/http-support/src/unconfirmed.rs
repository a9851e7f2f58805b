//! Accounting for bodies sent once and never confirmed ([`crate::Unconfirmed`]).
//!
//! A backend without an idempotency key counts a body it gets twice twice, so such a body is
//! not sent again once it went out whole and its answer was lost (timed out, or the connection
//! broke before it). Whether the server kept it cannot be known: its
//! samples are counted as lost (`samples_lost`, the host moves them from `written` to
//! `dropped.lost`, so `written` never claims more than was confirmed), the requests under
//! `unconfirmed_requests`, and the first one is explained once.

use loadrun_plugin_api::sdk::COUNTER_SAMPLES_LOST;
use loadrun_plugin_api::Host;

/// The counter of requests sent once and never confirmed.
pub const COUNTER_UNCONFIRMED_REQUESTS: &str = "unconfirmed_requests";

/// Counts unconfirmed requests and their samples; warns once.
#[derive(Debug)]
pub struct UnconfirmedLog {
    /// The backend as users name it, for the warning (`CloudWatch`).
    backend: &'static str,
    warned: bool,
    requests: u64,
    samples: u64,
}

impl UnconfirmedLog {
    pub fn new(backend: &'static str) -> Self {
        Self {
            backend,
            warned: false,
            requests: 0,
            samples: 0,
        }
    }

    /// Records one request that went out whole, carrying `samples` samples, whose answer did
    /// not come (`reason`, from [`crate::Unconfirmed`]).
    pub fn note(&mut self, host: Option<&Host>, reason: &str, samples: u64) {
        self.requests += 1;
        self.samples += samples;
        let Some(host) = host else { return };
        host.add_counter(COUNTER_UNCONFIRMED_REQUESTS, 1);
        if samples > 0 {
            host.add_counter(COUNTER_SAMPLES_LOST, samples);
        }
        if !self.warned {
            self.warned = true;
            let backend = self.backend;
            host.warn(format!(
                "{reason}; not sent again, as {backend} would count it twice: its {samples} \
                 samples are counted as lost, though {backend} may hold them (said once; \
                 further ones are counted in `{COUNTER_UNCONFIRMED_REQUESTS}` and \
                 `{COUNTER_SAMPLES_LOST}`)"
            ));
        }
    }

    /// How many requests went unconfirmed so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// How many samples those requests held.
    pub fn samples(&self) -> u64 {
        self.samples
    }
}
