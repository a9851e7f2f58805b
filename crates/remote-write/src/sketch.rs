//! Trend sketches (the shared [`loadrun_sketch::Sketch`]) with Prometheus' zero bucket, and
//! their native-histogram form.
//!
//! k6 keeps every trend value for the whole run (its memory grows without bound in soak tests);
//! a sketch keeps one counter per bucket between the extremes instead. Its buckets are native
//! histograms' own (Prometheus' schema is the sketch's scale), so a trend's histogram is its
//! sketch merged down to the schema asked for. Percentiles are within 0.54 % at the default
//! schema 6; past [`MAX_BUCKETS`] per sign the sketch halves its resolution, as Prometheus'
//! client does.

use loadrun_sketch::{scale, Buckets, Layout};

pub use loadrun_sketch::Sketch;

use crate::proto::{BucketSpan, Histogram};

/// The zero bucket's threshold, as client_golang's native histograms use (2^-128).
pub const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// Most buckets one sign may span before the sketch halves its resolution.
pub const MAX_BUCKETS: usize = 8192;

/// The schema percentiles are computed at unless a finer one is asked for.
pub const DEFAULT_SCHEMA: i32 = 6;

/// An empty trend sketch at `schema` (clamped to Prometheus' −4..=8).
pub fn new_sketch(schema: i32) -> Sketch {
    Sketch::new(Layout {
        max_scale: schema.clamp(-4, 8),
        max_buckets: MAX_BUCKETS,
        zero_threshold: ZERO_THRESHOLD,
    })
}

/// The sketch as a native histogram at `schema` (coarser than or equal to its own; a finer one
/// is served at the sketch's own schema).
pub fn to_native(sketch: &Sketch, schema: i32, timestamp_ms: i64) -> Histogram {
    let (schema, pos, neg) = sketch.buckets_at(schema.clamp(-4, 8));
    let (positive_spans, positive_deltas) = spans_and_deltas(&pos);
    let (negative_spans, negative_deltas) = spans_and_deltas(&neg);
    Histogram {
        count: sketch.count(),
        sum: sketch.sum(),
        schema,
        zero_threshold: ZERO_THRESHOLD,
        zero_count: sketch.zero_count(),
        negative_spans,
        negative_deltas,
        positive_spans,
        positive_deltas,
        timestamp_ms,
    }
}

/// Spans of consecutive occupied buckets (in Prometheus' numbering) and delta-encoded counts,
/// as the protobuf wants them.
fn spans_and_deltas(buckets: &Buckets) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.counts.len());
    let mut prev_idx: Option<i32> = None;
    let mut prev_count = 0i64;
    for (idx, n) in buckets.iter() {
        let idx = scale::prometheus_index(idx);
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        match prev_idx {
            Some(p) if idx == p + 1 => {
                if let Some(last) = spans.last_mut() {
                    last.length += 1;
                }
            }
            Some(p) => spans.push(BucketSpan {
                offset: idx - p - 1,
                length: 1,
            }),
            None => spans.push(BucketSpan {
                offset: idx,
                length: 1,
            }),
        }
        deltas.push(n - prev_count);
        prev_count = n;
        prev_idx = Some(idx);
    }
    (spans, deltas)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// k6's trend-sink percentile over all values.
    fn exact(values: &mut [f64], pct: f64) -> f64 {
        values.sort_by(f64::total_cmp);
        loadrun_sketch::percentile_of_sorted(values, pct / 100.0)
    }

    #[test]
    fn percentiles_within_the_default_schemas_bound() {
        // A skewed latency-like distribution over five decades, negative and zero values too.
        let mut values: Vec<f64> = (0..20_000u64)
            .map(|i| {
                let x = (i * 7919 % 20_000) as f64 / 20_000.0;
                0.0005 * (x * 11.0).exp()
            })
            .collect();
        values.extend([0.0, 0.0, -3.0, -0.25]);
        let mut s = new_sketch(DEFAULT_SCHEMA);
        for v in &values {
            s.add(*v);
        }
        for p in [1.0, 10.0, 50.0, 90.0, 95.0, 99.0, 99.9] {
            let want = exact(&mut values, p);
            let got = s.percentile(p / 100.0);
            assert!(
                ((got - want) / want).abs() <= scale::relative_accuracy(DEFAULT_SCHEMA),
                "p({p}): got {got}, want {want}"
            );
        }
        assert_eq!(s.percentile(0.0), -3.0);
        assert_eq!(
            s.percentile(1.0),
            values.iter().cloned().fold(f64::MIN, f64::max)
        );
        assert_eq!(s.count(), values.len() as u64);
        assert!(s.buckets() < 2000, "{}", s.buckets());
    }

    #[test]
    fn native_histogram_layout() {
        let mut s = new_sketch(6);
        for v in [1.0, 1.0, 2.0, 3.0, 0.0, -1.5] {
            s.add(v);
        }
        let h = to_native(&s, 0, 42);
        // schema 0 buckets: 1 → 0, 2 → 1, 3 → 2 (consecutive); -1.5 → 1 negative.
        assert_eq!(h.schema, 0);
        assert_eq!(h.count, 6);
        assert_eq!(h.zero_count, 1);
        assert_eq!(
            h.positive_spans,
            vec![BucketSpan {
                offset: 0,
                length: 3
            }]
        );
        assert_eq!(h.positive_deltas, vec![2, -1, 0]);
        assert_eq!(
            h.negative_spans,
            vec![BucketSpan {
                offset: 1,
                length: 1
            }]
        );
        assert_eq!(h.negative_deltas, vec![1]);
        let mut t = new_sketch(3);
        for v in [1.0, 4.0] {
            t.add(v);
        }
        let h = to_native(&t, 3, 0);
        assert_eq!(
            h.positive_spans,
            vec![
                BucketSpan {
                    offset: 0,
                    length: 1
                },
                BucketSpan {
                    offset: 15,
                    length: 1
                }
            ]
        );
        assert_eq!(h.positive_deltas, vec![1, 0]);
        // A finer schema than the sketch's is served at the sketch's own.
        assert_eq!(to_native(&t, 8, 0).schema, 3);
    }
}
