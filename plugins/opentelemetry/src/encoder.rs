//! Encodes aggregates as an OTLP `ExportMetricsServiceRequest` (protobuf).
//!
//! Field numbers are those of opentelemetry-proto's `metrics/v1/metrics.proto`,
//! `common/v1/common.proto`, `resource/v1/resource.proto` and
//! `collector/metrics/v1/metrics_service.proto`.

use loadrun_plugin_api::MetricType;

use crate::aggregate::{Aggregator, MetricMeta, Point, State};
use crate::config::Temporality;
use loadrun_sketch::{Buckets, Sketch};

use crate::histogram::ExplicitHistogram;
use crate::proto::{
    boolean, double, fixed64, message, packed_fixed64, packed_varint, sint, string, uint,
};

/// The instrumentation scope, as k6 names it (dashboards built for k6 may filter on it).
pub const SCOPE_NAME: &str = "k6";

/// What every request carries besides the points.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub resource: Vec<(String, String)>,
    pub temporality: Temporality,
    pub single_counter_for_rate: bool,
}

/// Encodes the points `idxs` (grouped by metric, as [`Aggregator::due`] returns them), stamped
/// `time_ns`.
pub fn encode_request(env: &Envelope, agg: &Aggregator, idxs: &[usize], time_ns: i64) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256 + idxs.len() * 128);
    // ExportMetricsServiceRequest.resource_metrics
    message(&mut buf, 1, |rm| {
        // ResourceMetrics.resource
        message(rm, 1, |r| {
            for (k, v) in &env.resource {
                key_value(r, 1, k, v);
            }
        });
        // ResourceMetrics.scope_metrics
        message(rm, 2, |sm| {
            message(sm, 1, |scope| {
                string(scope, 1, SCOPE_NAME);
                string(scope, 2, env!("CARGO_PKG_VERSION"));
            });
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
                    encode_metric(sm, env, meta, &points, time_ns);
                }
                rest = &rest[n..];
            }
        });
    });
    buf
}

/// `KeyValue{key, value: AnyValue{string_value}}`.
fn key_value(buf: &mut Vec<u8>, field: u32, k: &str, v: &str) {
    message(buf, field, |kv| {
        string(kv, 1, k);
        message(kv, 2, |av| string(av, 1, v));
    });
}

fn end_time(p: &Point, time_ns: i64) -> u64 {
    time_ns.max(p.last_ns).max(p.start_ns).max(0) as u64
}

fn encode_metric(
    sm: &mut Vec<u8>,
    env: &Envelope,
    meta: &MetricMeta,
    points: &[&Point],
    time_ns: i64,
) {
    let temporality = env.temporality.wire();
    match meta.metric_type {
        MetricType::Counter => metric(sm, &meta.name, meta.unit, |m| {
            // Metric.sum
            message(m, 7, |s| {
                for p in points {
                    if let State::Counter { sum } = p.state {
                        number_point(s, p, time_ns, &[], Number::Double(sum), true);
                    }
                }
                uint(s, 2, temporality);
                boolean(s, 3, true);
            })
        }),
        MetricType::Gauge => metric(sm, &meta.name, meta.unit, |m| {
            // Metric.gauge
            message(m, 5, |g| {
                for p in points {
                    if let State::Gauge { value } = p.state {
                        number_point(g, p, time_ns, &[], Number::Double(value), true);
                    }
                }
            })
        }),
        MetricType::Rate if env.single_counter_for_rate => metric(sm, &meta.name, meta.unit, |m| {
            message(m, 7, |s| {
                for p in points {
                    if let State::Rate { zero, nonzero } = p.state {
                        for (cond, n) in [("zero", zero), ("nonzero", nonzero)] {
                            let extra = [("condition", cond)];
                            number_point(s, p, time_ns, &extra, Number::Int(n), true);
                        }
                    }
                }
                uint(s, 2, temporality);
                boolean(s, 3, true);
            })
        }),
        MetricType::Rate => {
            // k6 v1.1's layout: `<name>.occurred` (non-zero samples) and `<name>.total`.
            for (suffix, pick) in [
                (".occurred", (|_z, nz| nz) as fn(u64, u64) -> u64),
                (".total", |z, nz| z + nz),
            ] {
                metric(sm, &format!("{}{suffix}", meta.name), meta.unit, |m| {
                    message(m, 7, |s| {
                        for p in points {
                            if let State::Rate { zero, nonzero } = p.state {
                                let n = pick(zero, nonzero);
                                number_point(s, p, time_ns, &[], Number::Int(n), true);
                            }
                        }
                        uint(s, 2, temporality);
                        boolean(s, 3, true);
                    })
                });
            }
        }
        MetricType::Trend => metric(sm, &meta.name, meta.unit, |m| {
            let exponential = points
                .iter()
                .any(|p| matches!(p.state, State::Exponential(_)));
            // Metric.exponential_histogram or Metric.histogram
            message(m, if exponential { 10 } else { 9 }, |h| {
                for p in points {
                    match &p.state {
                        State::Exponential(e) => exp_point(h, p, e, time_ns),
                        State::Explicit(e) => {
                            explicit_point(h, p, e, meta.bounds.as_deref().unwrap_or(&[]), time_ns)
                        }
                        _ => {}
                    }
                }
                uint(h, 2, temporality);
            })
        }),
    }
}

fn metric(sm: &mut Vec<u8>, name: &str, unit: &str, body: impl FnOnce(&mut Vec<u8>)) {
    // ScopeMetrics.metrics
    message(sm, 2, |m| {
        string(m, 1, name);
        if !unit.is_empty() {
            string(m, 3, unit);
        }
        body(m);
    });
}

enum Number {
    Double(f64),
    Int(u64),
}

/// `NumberDataPoint` (field 1 of Sum and Gauge).
fn number_point(
    buf: &mut Vec<u8>,
    p: &Point,
    time_ns: i64,
    extra: &[(&str, &str)],
    value: Number,
    with_start: bool,
) {
    message(buf, 1, |dp| {
        for (k, v) in &p.attrs {
            key_value(dp, 7, k, v);
        }
        for (k, v) in extra {
            key_value(dp, 7, k, v);
        }
        if with_start {
            fixed64(dp, 2, p.start_ns.max(0) as u64);
        }
        fixed64(dp, 3, end_time(p, time_ns));
        match value {
            Number::Double(v) => double(dp, 4, v),
            // as_int is sfixed64
            Number::Int(n) => fixed64(dp, 6, n),
        }
    });
}

/// `HistogramDataPoint`.
fn explicit_point(
    buf: &mut Vec<u8>,
    p: &Point,
    h: &ExplicitHistogram,
    bounds: &[f64],
    time_ns: i64,
) {
    message(buf, 1, |dp| {
        for (k, v) in &p.attrs {
            key_value(dp, 9, k, v);
        }
        fixed64(dp, 2, p.start_ns.max(0) as u64);
        fixed64(dp, 3, end_time(p, time_ns));
        fixed64(dp, 4, h.count);
        double(dp, 5, h.sum);
        packed_fixed64(dp, 6, h.counts.iter().copied());
        packed_fixed64(dp, 7, bounds.iter().map(|b| b.to_bits()));
        if h.count > 0 {
            double(dp, 11, h.min);
            double(dp, 12, h.max);
        }
    });
}

/// `ExponentialHistogramDataPoint`.
fn exp_point(buf: &mut Vec<u8>, p: &Point, h: &Sketch, time_ns: i64) {
    let buckets = |b: &mut Vec<u8>, field: u32, x: &Buckets| {
        message(b, field, |m| {
            sint(m, 1, i64::from(x.offset));
            packed_varint(m, 2, &x.counts);
        })
    };
    message(buf, 1, |dp| {
        for (k, v) in &p.attrs {
            key_value(dp, 1, k, v);
        }
        fixed64(dp, 2, p.start_ns.max(0) as u64);
        fixed64(dp, 3, end_time(p, time_ns));
        fixed64(dp, 4, h.count());
        double(dp, 5, h.sum());
        sint(dp, 6, i64::from(h.scale()));
        fixed64(dp, 7, h.zero_count());
        if !h.positive().is_empty() {
            buckets(dp, 8, h.positive());
        }
        if !h.negative().is_empty() {
            buckets(dp, 9, h.negative());
        }
        if h.count() > 0 {
            double(dp, 12, h.min());
            double(dp, 13, h.max());
        }
    });
}
