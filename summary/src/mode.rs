//! k6's `--summary-mode` (k6 ≥ 1.3): how much of the end-of-test summary is shown.

use std::fmt;
use std::str::FromStr;

/// `compact` (the default), `full` (adds per-scenario and per-group sections and every timing
/// metric) or `disabled` (no summary; `--no-summary` is its old spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SummaryMode {
    #[default]
    Compact,
    Full,
    Disabled,
}

impl SummaryMode {
    /// The names, in the order `--help` and errors list them.
    pub const NAMES: [&'static str; 3] = ["compact", "full", "disabled"];

    fn name(self) -> &'static str {
        match self {
            SummaryMode::Compact => "compact",
            SummaryMode::Full => "full",
            SummaryMode::Disabled => "disabled",
        }
    }
}

impl fmt::Display for SummaryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SummaryMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "compact" => Ok(SummaryMode::Compact),
            "full" => Ok(SummaryMode::Full),
            "disabled" => Ok(SummaryMode::Disabled),
            other => Err(format!(
                "unknown summary mode '{other}'; expected {}",
                Self::NAMES.join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k6_names_and_refuses_others() {
        for name in SummaryMode::NAMES {
            assert_eq!(name.parse::<SummaryMode>().unwrap().to_string(), name);
        }
        let e = "legacy".parse::<SummaryMode>().unwrap_err();
        assert_eq!(
            e,
            "unknown summary mode 'legacy'; expected compact, full, disabled"
        );
    }
}
