//! Aggregates as an OTLP `ExportMetricsServiceRequest`: the prost types generated from the OTLP
//! protos under `proto/` ([`crate::otlp`]), sent as they are over gRPC and encoded for
//! OTLP/HTTP.

use loadrun_plugin_api::MetricType;

use crate::aggregate::{Aggregator, MetricMeta, Point, State};
use crate::config::Temporality;
use loadrun_sketch::{Buckets as SketchBuckets, Sketch};

use crate::histogram::ExplicitHistogram;
use crate::otlp::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::otlp::opentelemetry::proto::common::v1::{
    any_value, AnyValue, InstrumentationScope, KeyValue,
};
use crate::otlp::opentelemetry::proto::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use crate::otlp::opentelemetry::proto::resource::v1::Resource;

/// The instrumentation scope, as k6 names it (dashboards built for k6 may filter on it).
pub const SCOPE_NAME: &str = "k6";

/// What every request carries besides the points.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub resource: Vec<(String, String)>,
    pub temporality: Temporality,
    pub single_counter_for_rate: bool,
}

/// The request of the points `idxs` (grouped by metric, as [`Aggregator::due`] returns them),
/// stamped `time_ns`.
pub fn encode_request(
    env: &Envelope,
    agg: &Aggregator,
    idxs: &[usize],
    time_ns: i64,
) -> ExportMetricsServiceRequest {
    let mut metrics = Vec::new();
    let mut rest = idxs;
    while let Some(&first) = rest.first() {
        let Some(metric) = agg.point(first).map(|p| p.metric) else {
            rest = &rest[1..];
            continue;
        };
        let n = rest
            .iter()
            .take_while(|&&i| agg.point(i).map(|p| p.metric) == Some(metric))
            .count()
            .max(1);
        let points: Vec<&Point> = rest[..n].iter().filter_map(|&i| agg.point(i)).collect();
        if let Some(meta) = agg.metric(metric) {
            encode_metric(&mut metrics, env, meta, &points, time_ns);
        }
        rest = &rest[n..];
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: env.resource.iter().map(|(k, v)| key_value(k, v)).collect(),
                dropped_attributes_count: 0,
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: SCOPE_NAME.to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    ..Default::default()
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn key_value(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_string())),
        }),
    }
}

fn attributes(p: &Point, extra: &[(&str, &str)]) -> Vec<KeyValue> {
    p.attrs
        .iter()
        .map(|(k, v)| key_value(k, v))
        .chain(extra.iter().map(|(k, v)| key_value(k, v)))
        .collect()
}

fn end_time(p: &Point, time_ns: i64) -> u64 {
    time_ns.max(p.last_ns).max(p.start_ns).max(0) as u64
}

fn start_time(p: &Point) -> u64 {
    p.start_ns.max(0) as u64
}

fn encode_metric(
    out: &mut Vec<Metric>,
    env: &Envelope,
    meta: &MetricMeta,
    points: &[&Point],
    time_ns: i64,
) {
    let temporality = i32::from(env.temporality.wire());
    let metric = |name: String, data: Data| Metric {
        name,
        unit: meta.unit.to_string(),
        data: Some(data),
        ..Default::default()
    };
    let sum = |data_points: Vec<NumberDataPoint>| {
        Data::Sum(Sum {
            data_points,
            aggregation_temporality: temporality,
            is_monotonic: true,
        })
    };
    match meta.metric_type {
        MetricType::Counter => {
            let dps = points
                .iter()
                .filter_map(|p| match p.state {
                    State::Counter { sum } => {
                        Some(number_point(p, time_ns, &[], Number::Double(sum)))
                    }
                    _ => None,
                })
                .collect();
            out.push(metric(meta.name.clone(), sum(dps)));
        }
        MetricType::Gauge => {
            let dps = points
                .iter()
                .filter_map(|p| match p.state {
                    State::Gauge { value } => {
                        Some(number_point(p, time_ns, &[], Number::Double(value)))
                    }
                    _ => None,
                })
                .collect();
            out.push(metric(
                meta.name.clone(),
                Data::Gauge(Gauge { data_points: dps }),
            ));
        }
        MetricType::Rate if env.single_counter_for_rate => {
            let mut dps = Vec::new();
            for p in points {
                if let State::Rate { zero, nonzero } = p.state {
                    for (cond, n) in [("zero", zero), ("nonzero", nonzero)] {
                        let extra = [("condition", cond)];
                        dps.push(number_point(p, time_ns, &extra, Number::Int(n)));
                    }
                }
            }
            out.push(metric(meta.name.clone(), sum(dps)));
        }
        MetricType::Rate => {
            // k6 v1.1's layout: `<name>.occurred` (non-zero samples) and `<name>.total`.
            for (suffix, pick) in [
                (".occurred", (|_z, nz| nz) as fn(u64, u64) -> u64),
                (".total", |z, nz| z + nz),
            ] {
                let dps = points
                    .iter()
                    .filter_map(|p| match p.state {
                        State::Rate { zero, nonzero } => Some(number_point(
                            p,
                            time_ns,
                            &[],
                            Number::Int(pick(zero, nonzero)),
                        )),
                        _ => None,
                    })
                    .collect();
                out.push(metric(format!("{}{suffix}", meta.name), sum(dps)));
            }
        }
        MetricType::Trend => {
            let exponential = points
                .iter()
                .any(|p| matches!(p.state, State::Exponential(_)));
            let data = if exponential {
                Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: points
                        .iter()
                        .filter_map(|p| match &p.state {
                            State::Exponential(e) => Some(exp_point(p, e, time_ns)),
                            _ => None,
                        })
                        .collect(),
                    aggregation_temporality: temporality,
                })
            } else {
                let bounds = meta.bounds.as_deref().unwrap_or(&[]);
                Data::Histogram(Histogram {
                    data_points: points
                        .iter()
                        .filter_map(|p| match &p.state {
                            State::Explicit(e) => Some(explicit_point(p, e, bounds, time_ns)),
                            _ => None,
                        })
                        .collect(),
                    aggregation_temporality: temporality,
                })
            };
            out.push(metric(meta.name.clone(), data));
        }
    }
}

enum Number {
    Double(f64),
    Int(u64),
}

fn number_point(p: &Point, time_ns: i64, extra: &[(&str, &str)], value: Number) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(p, extra),
        start_time_unix_nano: start_time(p),
        time_unix_nano: end_time(p, time_ns),
        value: Some(match value {
            Number::Double(v) => number_data_point::Value::AsDouble(v),
            Number::Int(n) => number_data_point::Value::AsInt(n as i64),
        }),
        flags: 0,
    }
}

fn explicit_point(
    p: &Point,
    h: &ExplicitHistogram,
    bounds: &[f64],
    time_ns: i64,
) -> HistogramDataPoint {
    let seen = h.count > 0;
    HistogramDataPoint {
        attributes: attributes(p, &[]),
        start_time_unix_nano: start_time(p),
        time_unix_nano: end_time(p, time_ns),
        count: h.count,
        sum: Some(h.sum),
        bucket_counts: h.counts.clone(),
        explicit_bounds: bounds.to_vec(),
        flags: 0,
        min: seen.then_some(h.min),
        max: seen.then_some(h.max),
    }
}

fn exp_point(p: &Point, h: &Sketch, time_ns: i64) -> ExponentialHistogramDataPoint {
    let buckets = |x: &SketchBuckets| {
        (!x.is_empty()).then(|| Buckets {
            offset: x.offset,
            bucket_counts: x.counts.clone(),
        })
    };
    let seen = h.count() > 0;
    ExponentialHistogramDataPoint {
        attributes: attributes(p, &[]),
        start_time_unix_nano: start_time(p),
        time_unix_nano: end_time(p, time_ns),
        count: h.count(),
        sum: Some(h.sum()),
        scale: h.scale(),
        zero_count: h.zero_count(),
        positive: buckets(h.positive()),
        negative: buckets(h.negative()),
        flags: 0,
        min: seen.then(|| h.min()),
        max: seen.then(|| h.max()),
        zero_threshold: 0.0,
    }
}
