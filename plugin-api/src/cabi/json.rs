//! The cold path's JSON documents as the C face passes them: NUL-free text.

use serde_json::Value;

use crate::abi::{OutputInit, RunOutcome};

/// `new_output`'s init document.
pub fn init(init: &OutputInit, options: Value) -> String {
    crate::cold_json::init(init, options).to_string()
}

/// `stop`'s outcome document.
pub fn outcome(outcome: &RunOutcome) -> String {
    crate::cold_json::outcome(outcome).to_string()
}
