//! The remote-write 1.0 protobuf messages: prost types generated from `proto/remote.proto`
//! ([`crate::prompb`]), and snappy block compression.

use prost::Message;

pub use crate::prompb::{BucketSpan, Label, Sample, TimeSeries, WriteRequest};

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl TimeSeries {
    /// The `__name__` label's value.
    pub fn name(&self) -> &str {
        self.labels
            .iter()
            .find(|l| l.name == "__name__")
            .map(|l| l.value.as_str())
            .unwrap_or("")
    }
}

/// A native (sparse, exponential) histogram with integer counts, as [`crate::sketch`] builds
/// it; [`From`] makes the wire message (its counts sit in `oneof`s there).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub count: u64,
    pub sum: f64,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: u64,
    pub negative_spans: Vec<BucketSpan>,
    /// The first bucket's count, then each bucket's difference to the previous one.
    pub negative_deltas: Vec<i64>,
    pub positive_spans: Vec<BucketSpan>,
    pub positive_deltas: Vec<i64>,
    pub timestamp_ms: i64,
}

impl From<Histogram> for crate::prompb::Histogram {
    fn from(h: Histogram) -> Self {
        use crate::prompb::histogram::{Count, ZeroCount};
        Self {
            count: Some(Count::CountInt(h.count)),
            sum: h.sum,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: Some(ZeroCount::ZeroCountInt(h.zero_count)),
            negative_spans: h.negative_spans,
            negative_deltas: h.negative_deltas,
            positive_spans: h.positive_spans,
            positive_deltas: h.positive_deltas,
            timestamp: h.timestamp_ms,
            ..Default::default()
        }
    }
}

/// Encodes one series as the `timeseries` field (1) of a `WriteRequest`: a request body is the
/// concatenation of such entries, which is what lets a push be split without re-encoding.
pub fn encode_series_entry(ts: &TimeSeries, out: &mut Vec<u8>) {
    prost::encoding::message::encode(1, ts, out);
}

/// Encodes a whole `WriteRequest` (uncompressed).
pub fn encode_write_request(series: &[TimeSeries]) -> Vec<u8> {
    let mut out = Vec::with_capacity(series.iter().map(|ts| ts.encoded_len() + 4).sum());
    for ts in series {
        encode_series_entry(ts, &mut out);
    }
    out
}

/// Snappy block compression, as remote write requires (not the framed stream format).
pub fn snappy_compress(data: &[u8]) -> Result<Vec<u8>, snap::Error> {
    snap::raw::Encoder::new().compress_vec(data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sample_matches_prw_write_py() {
        // The bytes tests/services/prw-write.py produces for value 1.0 at ts 1000.
        let s = Sample {
            value: 1.0,
            timestamp: 1000,
        };
        let mut want = vec![0x09];
        want.extend_from_slice(&1.0f64.to_le_bytes());
        want.extend_from_slice(&[0x10, 0xe8, 0x07]);
        assert_eq!(s.encode_to_vec(), want);
    }

    #[test]
    fn a_split_request_is_the_whole_request_cut_between_series() {
        let series: Vec<TimeSeries> = (0..3)
            .map(|i| TimeSeries {
                labels: vec![Label::new("__name__", format!("m{i}"))],
                samples: vec![Sample {
                    value: f64::from(i),
                    timestamp: 1,
                }],
                ..Default::default()
            })
            .collect();
        let whole = WriteRequest {
            timeseries: series.clone(),
            ..Default::default()
        };
        assert_eq!(encode_write_request(&series), whole.encode_to_vec());
        assert_eq!(
            WriteRequest::decode(encode_write_request(&series).as_slice())
                .unwrap()
                .timeseries,
            series
        );
    }

    #[test]
    fn an_empty_native_histogram_keeps_its_zero_counts() {
        // count_int and zero_count_int sit in oneofs: present even when zero, as Go sends them.
        let h: crate::prompb::Histogram = Histogram {
            count: 0,
            sum: 0.0,
            schema: 3,
            zero_threshold: 1e-128,
            zero_count: 0,
            negative_spans: vec![],
            negative_deltas: vec![],
            positive_spans: vec![],
            positive_deltas: vec![],
            timestamp_ms: 5,
        }
        .into();
        let bytes = h.encode_to_vec();
        assert_eq!(&bytes[..2], &[0x08, 0x00], "count_int = 0");
        assert!(
            bytes.windows(2).any(|w| w == [0x30, 0x00]),
            "zero_count_int = 0"
        );
    }
}
