//! How an output instance ended up: kept by its worker, reported in the summary and in
//! `--summary-export` (`outputs[].state`, whose strings are part of the export format).

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    /// Running, or stopped normally.
    #[default]
    Ok,
    /// A fatal write (or a panic) disabled it for the rest of the run.
    Quarantined,
    /// Its `stop` returned an error.
    StopFailed,
    /// It was still busy at the stop deadline and was abandoned; decided by the waiter, never
    /// by the worker, which is the one stuck.
    StopTimeout,
}

impl OutputState {
    /// The name used in the summary and the export (the same as serde's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Quarantined => "quarantined",
            Self::StopFailed => "stop_failed",
            Self::StopTimeout => "stop_timeout",
        }
    }
}

impl fmt::Display for OutputState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers that read the report compare with the exported name.
impl PartialEq<&str> for OutputState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::OutputState;

    #[test]
    fn serde_names_are_the_display_names() {
        for s in [
            OutputState::Ok,
            OutputState::Quarantined,
            OutputState::StopFailed,
            OutputState::StopTimeout,
        ] {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::String(s.to_string()))
            );
        }
    }
}
