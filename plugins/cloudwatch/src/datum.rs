//! The CloudWatch side of the data model: one `MetricDatum` of `PutMetricData`.

use crate::time::UtcTime;

/// The CloudWatch units this output uses (k6's value kinds map onto them, see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Count,
    Milliseconds,
    Bytes,
    None,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::None => "None",
        }
    }
}

/// What a datum carries.
#[derive(Debug, Clone, PartialEq)]
pub enum DatumValue {
    /// One value (counters: the period's sum; gauges: the period's last value).
    Value(f64),
    /// `StatisticValues` (rates: SampleCount n, Sum = how many were true, Min, Max).
    Stats {
        count: f64,
        sum: f64,
        min: f64,
        max: f64,
    },
    /// `Values`/`Counts` (trends), at most [`MAX_VALUES_PER_DATUM`] pairs, so CloudWatch can
    /// compute percentiles.
    Distribution { values: Vec<f64>, counts: Vec<f64> },
}

/// CloudWatch's limit on `Values` per datum.
pub const MAX_VALUES_PER_DATUM: usize = 150;
/// CloudWatch's limit on dimensions per metric.
pub const MAX_DIMENSIONS: usize = 30;
/// CloudWatch's limit on a dimension value's length.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

/// One `MetricData.member.N`.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric_name: String,
    /// Sorted by name.
    pub dimensions: Vec<(String, String)>,
    pub timestamp: UtcTime,
    pub unit: Unit,
    pub value: DatumValue,
    /// 1 (high resolution) or 60.
    pub storage_resolution: u32,
    /// How many samples were folded into it (for the host's accounting of what is lost).
    pub samples: u64,
}

/// CloudWatch refuses values beyond ±2^360 and rounds the tiniest ones badly: keep every value
/// sent inside what it takes.
pub fn clamp_value(v: f64) -> f64 {
    const MAX: f64 = 1.0e108;
    const MIN_MAGNITUDE: f64 = 1.0e-108;
    if v.abs() < MIN_MAGNITUDE {
        0.0
    } else {
        v.clamp(-MAX, MAX)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn values_are_kept_in_range() {
        assert_eq!(clamp_value(1.5), 1.5);
        assert_eq!(clamp_value(1e-200), 0.0);
        assert_eq!(clamp_value(-1e300), -1.0e108);
        assert_eq!(clamp_value(0.0), 0.0);
    }
}
