//! The remote-write 1.0 protobuf messages (`prometheus.WriteRequest` of `prompb`), encoded by
//! hand: the schema is small and stable, and a hand encoder spares a protoc build step.
//!
//! Field numbers follow `prompb/remote.proto` and `prompb/types.proto` (Prometheus 2.40+).

/// A label: `name` must match `[a-zA-Z_][a-zA-Z0-9_]*` (see [`crate::naming`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    pub name: String,
    pub value: String,
}

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A float sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub value: f64,
    pub timestamp_ms: i64,
}

/// A run of consecutive native-histogram buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketSpan {
    /// Gap to the previous span's end (for the first span: the first bucket's index).
    pub offset: i32,
    pub length: u32,
}

/// A native (sparse, exponential) histogram with integer counts.
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

/// One series of a request: sorted labels (`__name__` included) and its samples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSeries {
    pub labels: Vec<Label>,
    pub samples: Vec<Sample>,
    pub histograms: Vec<Histogram>,
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

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;

fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from((field << 3) | wire));
}

pub(crate) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
    key(out, field, LEN);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn double_field(out: &mut Vec<u8>, field: u32, v: f64) {
    key(out, field, FIXED64);
    out.extend_from_slice(&v.to_le_bytes());
}

fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, VARINT);
    varint(out, v);
}

fn encode_label(l: &Label, out: &mut Vec<u8>) {
    bytes_field(out, 1, l.name.as_bytes());
    bytes_field(out, 2, l.value.as_bytes());
}

fn encode_sample(s: &Sample, out: &mut Vec<u8>) {
    // proto3 leaves zero scalars out; doing the same gives byte-for-byte the encoding
    // Prometheus' and k6's Go code produce.
    if s.value.to_bits() != 0 {
        double_field(out, 1, s.value);
    }
    if s.timestamp_ms != 0 {
        // int64 is a plain (not zigzag) varint: negative values take ten bytes.
        varint_field(out, 2, s.timestamp_ms as u64);
    }
}

fn encode_spans(out: &mut Vec<u8>, field: u32, spans: &[BucketSpan], scratch: &mut Vec<u8>) {
    for s in spans {
        scratch.clear();
        varint_field(scratch, 1, zigzag(i64::from(s.offset)));
        varint_field(scratch, 2, u64::from(s.length));
        bytes_field(out, field, scratch);
    }
}

fn encode_packed_sint64(out: &mut Vec<u8>, field: u32, values: &[i64], scratch: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    scratch.clear();
    for v in values {
        varint(scratch, zigzag(*v));
    }
    bytes_field(out, field, scratch);
}

fn encode_histogram(h: &Histogram, out: &mut Vec<u8>) {
    let mut scratch = Vec::new();
    // count_int and zero_count_int sit in oneofs: always written, even when zero.
    varint_field(out, 1, h.count);
    double_field(out, 3, h.sum);
    varint_field(out, 4, zigzag(i64::from(h.schema)));
    double_field(out, 5, h.zero_threshold);
    varint_field(out, 6, h.zero_count);
    encode_spans(out, 8, &h.negative_spans, &mut scratch);
    encode_packed_sint64(out, 9, &h.negative_deltas, &mut scratch);
    encode_spans(out, 11, &h.positive_spans, &mut scratch);
    encode_packed_sint64(out, 12, &h.positive_deltas, &mut scratch);
    varint_field(out, 15, h.timestamp_ms as u64);
}

/// Encodes one series as the `timeseries` field (1) of a `WriteRequest`: a request body is the
/// concatenation of such entries, which is what lets a push be split without re-encoding.
pub fn encode_series_entry(ts: &TimeSeries, out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(64 + ts.labels.len() * 24);
    let mut scratch = Vec::new();
    for l in &ts.labels {
        scratch.clear();
        encode_label(l, &mut scratch);
        bytes_field(&mut body, 1, &scratch);
    }
    for s in &ts.samples {
        scratch.clear();
        encode_sample(s, &mut scratch);
        bytes_field(&mut body, 2, &scratch);
    }
    for h in &ts.histograms {
        scratch.clear();
        encode_histogram(h, &mut scratch);
        bytes_field(&mut body, 4, &scratch);
    }
    bytes_field(out, 1, &body);
}

/// Encodes a whole `WriteRequest` (uncompressed).
pub fn encode_write_request(series: &[TimeSeries]) -> Vec<u8> {
    let mut out = Vec::new();
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
    fn varints_and_zigzag() {
        let mut v = Vec::new();
        varint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(-2), 3);
    }

    #[test]
    fn sample_matches_prw_write_py() {
        // The bytes tests/services/prw-write.py produces for value 1.0 at ts 1000.
        let mut out = Vec::new();
        encode_sample(
            &Sample {
                value: 1.0,
                timestamp_ms: 1000,
            },
            &mut out,
        );
        let mut want = vec![0x09];
        want.extend_from_slice(&1.0f64.to_le_bytes());
        want.extend_from_slice(&[0x10, 0xe8, 0x07]);
        assert_eq!(out, want);
    }
}
