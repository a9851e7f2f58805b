//! Closed buckets as k6's metrics push v2 `metrics.MetricSet`: the prost types generated from
//! `proto/metric.proto` ([`crate::pbcloud`]). prost, like Go's encoder, writes fields in number
//! order, leaves zero scalars out and writes `optional` fields when set, so a set encodes to
//! the bytes k6 sends for it.

use prost::Message;

use crate::aggregate::{Accumulator, Closed};
use crate::hdr::MIN_RESOLUTION;
use crate::pbcloud::{self, time_series::Samples};

/// k6's `MetricType` enum.
pub fn metric_type(t: loadrun_plugin_api::MetricType) -> pbcloud::MetricType {
    use loadrun_plugin_api::MetricType as M;
    match t {
        M::Counter => pbcloud::MetricType::Counter,
        M::Gauge => pbcloud::MetricType::Gauge,
        M::Rate => pbcloud::MetricType::Rate,
        M::Trend => pbcloud::MetricType::Trend,
    }
}

/// One metric of a set: its name, type and the series to send.
pub struct MetricOut<'a> {
    pub name: &'a str,
    pub metric_type: pbcloud::MetricType,
    pub series: Vec<SeriesOut<'a>>,
}

/// One series: its labels and its closed buckets, in time order.
pub struct SeriesOut<'a> {
    pub labels: Vec<(&'a str, &'a str)>,
    pub values: &'a [Closed],
}

/// Encodes a whole `MetricSet`.
pub fn encode_metric_set(
    test_run_id: &str,
    aggregation_period_s: u32,
    metrics: &[MetricOut<'_>],
) -> Vec<u8> {
    pbcloud::MetricSet {
        test_run_id: test_run_id.to_string(),
        aggregation_period: aggregation_period_s,
        metrics: metrics.iter().map(metric).collect(),
    }
    .encode_to_vec()
}

fn metric(m: &MetricOut<'_>) -> pbcloud::Metric {
    pbcloud::Metric {
        name: m.name.to_string(),
        r#type: m.metric_type.into(),
        time_series: m.series.iter().map(series).collect(),
    }
}

fn series(s: &SeriesOut<'_>) -> pbcloud::TimeSeries {
    let labels = s
        .labels
        .iter()
        .map(|(k, v)| pbcloud::Label {
            name: k.to_string(),
            value: v.to_string(),
        })
        .collect();
    // A series takes its kind from its buckets (all of one metric, so of one kind).
    let samples = s.values.first().map(|first| match first.accumulator {
        Accumulator::Counter { .. } => Samples::CounterSamples(pbcloud::CounterSamples {
            values: s.values.iter().filter_map(counter).collect(),
        }),
        Accumulator::Gauge { .. } => Samples::GaugeSamples(pbcloud::GaugeSamples {
            values: s.values.iter().filter_map(gauge).collect(),
        }),
        Accumulator::Rate { .. } => Samples::RateSamples(pbcloud::RateSamples {
            values: s.values.iter().filter_map(rate).collect(),
        }),
        Accumulator::Trend(_) => Samples::TrendHdrSamples(pbcloud::TrendHdrSamples {
            values: s.values.iter().filter_map(trend).collect(),
        }),
    });
    pbcloud::TimeSeries { labels, samples }
}

/// The bucket's start; bucket starts are whole seconds, so nanos is normally 0.
fn time(c: &Closed) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: c.time_ns.div_euclid(1_000_000_000),
        nanos: c.time_ns.rem_euclid(1_000_000_000) as i32,
    })
}

fn counter(c: &Closed) -> Option<pbcloud::CounterValue> {
    match c.accumulator {
        Accumulator::Counter { sum } => Some(pbcloud::CounterValue {
            time: time(c),
            value: sum,
        }),
        _ => None,
    }
}

fn gauge(c: &Closed) -> Option<pbcloud::GaugeValue> {
    match c.accumulator {
        Accumulator::Gauge {
            last,
            min,
            max,
            sum,
            count,
        } => Some(pbcloud::GaugeValue {
            time: time(c),
            last,
            count,
            min,
            max,
            avg: if count > 0 {
                sum / f64::from(count)
            } else {
                0.0
            },
        }),
        _ => None,
    }
}

fn rate(c: &Closed) -> Option<pbcloud::RateValue> {
    match c.accumulator {
        Accumulator::Rate { nonzero, total } => Some(pbcloud::RateValue {
            time: time(c),
            nonzero_count: nonzero,
            total_count: total,
        }),
        _ => None,
    }
}

fn trend(c: &Closed) -> Option<pbcloud::TrendHdrValue> {
    let Accumulator::Trend(h) = &c.accumulator else {
        return None;
    };
    let (counters, spans) = h.counters_and_spans();
    Some(pbcloud::TrendHdrValue {
        time: time(c),
        counters,
        spans: spans
            .iter()
            .map(|s| pbcloud::BucketSpan {
                offset: s.offset,
                length: s.length,
            })
            .collect(),
        sum: h.sum,
        count: h.count,
        min_value: h.min,
        max_value: h.max,
        // `optional` fields: k6 sets them only when non-zero, and then they are sent.
        extra_low_values_counter: (h.extra_low > 0).then_some(h.extra_low),
        extra_high_values_counter: (h.extra_high > 0).then_some(h.extra_high),
        min_resolution: MIN_RESOLUTION,
        significant_digits: None,
    })
}
