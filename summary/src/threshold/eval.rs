//! Evaluating an aggregation and a threshold against a (merged) accumulator.

use std::time::Duration;

use loadrun_metrics::MetricType;

use super::parse::{Aggregation, Expression};
use crate::accumulator::Accumulator;

/// Which aggregations a metric type supports (k6's rules).
pub fn supports(metric_type: MetricType, agg: Aggregation) -> bool {
    use Aggregation::*;
    match metric_type {
        MetricType::Trend => matches!(agg, Avg | Min | Max | Med | Percentile(_)),
        MetricType::Counter => matches!(agg, Count | Rate),
        MetricType::Rate => matches!(agg, Rate),
        MetricType::Gauge => matches!(agg, Value),
    }
}

/// What a metric type accepts, for error messages.
pub fn supported_list(metric_type: MetricType) -> &'static str {
    match metric_type {
        MetricType::Trend => "avg, min, max, med or p(N)",
        MetricType::Counter => "count or rate",
        MetricType::Rate => "rate",
        MetricType::Gauge => "value",
    }
}

/// The aggregated value, or `None` when the aggregation does not apply to this accumulator's type.
/// `elapsed` is the time base of a counter's per-second rate.
pub fn aggregate(acc: &Accumulator, agg: Aggregation, elapsed: Duration) -> Option<f64> {
    use Aggregation::*;
    match (acc, agg) {
        (Accumulator::Trend(t), Avg) => Some(t.avg()),
        (Accumulator::Trend(t), Min) => Some(if t.count == 0 { 0.0 } else { t.min }),
        (Accumulator::Trend(t), Max) => Some(if t.count == 0 { 0.0 } else { t.max }),
        (Accumulator::Trend(t), Med) => Some(t.percentile(0.5)),
        (Accumulator::Trend(t), Percentile(p)) => Some(t.percentile(p / 100.0)),
        (Accumulator::Counter { sum }, Count) => Some(*sum),
        (Accumulator::Counter { sum }, Rate) => {
            let secs = elapsed.as_secs_f64();
            Some(if secs > 0.0 { sum / secs } else { 0.0 })
        }
        (Accumulator::Rate { trues, total }, Rate) => Some(if *total == 0 {
            0.0
        } else {
            *trues as f64 / *total as f64
        }),
        (Accumulator::Gauge { last, .. }, Value) => Some(*last),
        _ => None,
    }
}

impl Expression {
    /// Whether the threshold holds; `None` when its aggregation does not apply to the accumulator.
    pub fn evaluate(&self, acc: &Accumulator, elapsed: Duration) -> Option<bool> {
        aggregate(acc, self.aggregation, elapsed).map(|v| self.operator.holds(v, self.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::parse::parse_expression;

    fn filled(t: MetricType, values: &[f64]) -> Accumulator {
        let mut s = Accumulator::new(t);
        for (i, v) in values.iter().enumerate() {
            s.add(*v, i as u64);
        }
        s
    }

    fn holds(expr: &str, s: &Accumulator) -> Option<bool> {
        parse_expression(expr)
            .map(|e| e.evaluate(s, Duration::from_secs(2)))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_aggregation_on_its_type() {
        let trend = filled(MetricType::Trend, &[1.0, 2.0, 3.0, 4.0, 10.0]);
        assert_eq!(holds("avg==4", &trend), Some(true));
        assert_eq!(holds("min===1", &trend), Some(true));
        assert_eq!(holds("max>=10", &trend), Some(true));
        assert_eq!(holds("med==3", &trend), Some(true));
        assert_eq!(holds("p(75)==4", &trend), Some(true));
        // 4 + 0.6*6 = 7.6, give or take a rounding.
        assert_eq!(holds("p(90)>7.59", &trend), Some(true));
        assert_eq!(holds("p(90)<=7.61", &trend), Some(true));
        assert_eq!(holds("p(100)!=10", &trend), Some(false));

        let counter = filled(MetricType::Counter, &[2.0, 2.0, 4.0]);
        assert_eq!(holds("count==8", &counter), Some(true));
        assert_eq!(holds("rate==4", &counter), Some(true)); // 8 over 2 s

        let rate = filled(MetricType::Rate, &[1.0, 0.0, 1.0, 1.0]);
        assert_eq!(holds("rate==0.75", &rate), Some(true));
        assert_eq!(holds("rate<0.5", &rate), Some(false));

        let gauge = filled(MetricType::Gauge, &[5.0, 42.0, 7.0]);
        assert_eq!(holds("value==7", &gauge), Some(true));
        assert_eq!(holds("value>7", &gauge), Some(false));
    }

    #[test]
    fn aggregations_of_another_type_do_not_apply() {
        let counter = filled(MetricType::Counter, &[1.0]);
        assert_eq!(holds("p(95)<1", &counter), None);
        assert!(!supports(
            MetricType::Counter,
            Aggregation::Percentile(95.0)
        ));
        assert!(!supports(MetricType::Rate, Aggregation::Count));
        assert!(!supports(MetricType::Gauge, Aggregation::Avg));
        assert!(supports(MetricType::Trend, Aggregation::Med));
    }

    #[test]
    fn empty_accumulators_read_as_zero() {
        let trend = Accumulator::new(MetricType::Trend);
        assert_eq!(holds("p(95)<500", &trend), Some(true));
        let rate = Accumulator::new(MetricType::Rate);
        assert_eq!(holds("rate>0.5", &rate), Some(false));
    }
}
