//! k6's cloud histogram for trends, bucket for bucket.
//!
//! The cloud merges histograms from many load generators, so an index that differs from k6's by
//! one is a wrong percentile on the dashboard: the bucketing below follows k6's
//! `output/cloud/expv2/hdr.go` exactly (values divided by the minimum resolution, rounded up,
//! 128 sub-buckets per power of two above 255), and the wire form (sorted indexes, run-length
//! spans) is what k6 sends.

use std::collections::BTreeMap;

/// k6's `defaultMinimumResolution`: ms-valued trends get µs buckets.
pub const MIN_RESOLUTION: f64 = 0.001;

/// k6's `lowestTrackable`: negative values are only counted.
const LOWEST_TRACKABLE: f64 = 0.0;

/// One run of consecutive non-empty buckets: `offset` is the first index for the first span and
/// the number of empty buckets since the previous span for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u32,
    pub length: u32,
}

/// A trend's samples within one time bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    buckets: BTreeMap<u32, u32>,
    pub extra_low: u32,
    pub extra_high: u32,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u32,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            buckets: BTreeMap::new(),
            extra_low: 0,
            extra_high: 0,
            min: f64::MAX,
            max: -f64::MAX,
            sum: 0.0,
            count: 0,
        }
    }

    /// Adds a value (the caller keeps NaN out: k6 would put it in a bucket near 2^63).
    pub fn add(&mut self, v: f64) {
        if v > self.max {
            self.max = v;
        }
        if v < self.min {
            self.min = v;
        }
        self.count = self.count.saturating_add(1);
        self.sum += v;

        let scaled = v / MIN_RESOLUTION;
        if scaled < LOWEST_TRACKABLE {
            self.extra_low = self.extra_low.saturating_add(1);
            return;
        }
        // Go compares against float64(math.MaxInt64), which is 2^63.
        if scaled > 9_223_372_036_854_775_807_f64 {
            self.extra_high = self.extra_high.saturating_add(1);
            return;
        }
        let c = self.buckets.entry(bucket_index(scaled)).or_insert(0);
        *c = c.saturating_add(1);
    }

    /// The non-empty buckets' counters, in index order, and their spans.
    pub fn counters_and_spans(&self) -> (Vec<u32>, Vec<Span>) {
        let mut counters = Vec::with_capacity(self.buckets.len());
        let mut spans: Vec<Span> = Vec::new();
        let mut prev: Option<u32> = None;
        for (&index, &count) in &self.buckets {
            counters.push(count);
            match (prev, spans.last_mut()) {
                (Some(p), Some(last)) if index == p + 1 => last.length += 1,
                (Some(p), _) => spans.push(Span {
                    offset: index - p - 1,
                    length: 1,
                }),
                (None, _) => spans.push(Span {
                    offset: index,
                    length: 1,
                }),
            }
            prev = Some(index);
        }
        (counters, spans)
    }

    /// How many distinct buckets are held (for memory accounting).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }
}

/// k6's `resolveBucketIndex` for a value already divided by the resolution.
pub fn bucket_index(scaled: f64) -> u32 {
    if scaled < LOWEST_TRACKABLE {
        return 0;
    }
    // `as` saturates, as Go's conversion does on amd64 for the values that reach here (≤ 2^63).
    let upscaled = scaled.ceil() as u64;
    const K: u64 = 7;
    if upscaled < 256 {
        return upscaled as u32;
    }
    let nkdiff = u64::from(64 - (upscaled >> K).leading_zeros()) - 1;
    ((nkdiff << K) + (upscaled >> nkdiff)) as u32
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn index_of(ms: f64) -> u32 {
        bucket_index(ms / MIN_RESOLUTION)
    }

    #[test]
    fn indexes_match_k6() {
        // From k6's hdr_test.go (upscaled inputs) and the reference's worked examples (ms).
        for (u, want) in [
            (0.0, 0),
            (1.0, 1),
            (255.0, 255),
            (256.0, 256),
            (282.0, 269),
            (1029.0, 512),
            ((1u64 << 30) as f64, 3072),
            ((1u64 << 30) as f64 - 1.0, 3071),
        ] {
            assert_eq!(bucket_index(u), want, "u={u}");
        }
        assert_eq!(index_of(0.1), 100);
        assert_eq!(index_of(1.0), 506);
        assert_eq!(index_of(12.5), 963);
        assert_eq!(index_of(250.0), 1524);
        assert_eq!(index_of(1000.0), 1780);
        assert_eq!(index_of(60_000.0), 2532);
    }

    #[test]
    fn spans_are_run_length_with_gaps() {
        let mut h = Histogram::new();
        // The fixture's http_req_connecting: buckets 160, 164, 166, 179.
        for v in [0.159287, 0.163519, 0.165519, 0.178325] {
            h.add(v);
        }
        let (c, s) = h.counters_and_spans();
        assert_eq!(c, vec![1, 1, 1, 1]);
        let pairs: Vec<(u32, u32)> = s.iter().map(|s| (s.offset, s.length)).collect();
        assert_eq!(pairs, vec![(160, 1), (3, 1), (1, 1), (12, 1)]);
        let mut h = Histogram::new();
        for v in [503.2, 505.0, 507.3, 505.0] {
            h.add(v);
        }
        let (c, s) = h.counters_and_spans();
        assert_eq!(c, vec![1, 2, 1]);
        assert_eq!(
            s,
            vec![Span {
                offset: 1653,
                length: 3
            }]
        );
    }

    #[test]
    fn out_of_range_values_are_counted_apart() {
        let mut h = Histogram::new();
        h.add(-1.0);
        h.add(f64::MAX);
        h.add(f64::INFINITY);
        h.add(0.0);
        assert_eq!((h.extra_low, h.extra_high, h.count), (1, 2, 4));
        assert_eq!(h.counters_and_spans().0, vec![1]);
        assert_eq!(h.min, -1.0);
    }
}
