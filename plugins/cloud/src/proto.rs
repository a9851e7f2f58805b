//! The `metrics.MetricSet` protobuf of k6's metrics push v2, encoded by hand.
//!
//! Field numbers and proto3 rules (zero scalars omitted, `optional` fields present when set,
//! packed `counters`, fields in number order) follow k6's `pbcloud/metric.proto`, so a set
//! encodes to the same bytes Go's protobuf encoder produces for it. [`read`] is a tiny
//! schema-less reader for tests and tools.

use crate::aggregate::{Accumulator, Closed};
use crate::hdr::MIN_RESOLUTION;

/// k6's `MetricType` enum.
pub fn metric_type_code(t: loadrun_plugin_api::MetricType) -> u64 {
    use loadrun_plugin_api::MetricType as M;
    match t {
        M::Counter => 1,
        M::Gauge => 2,
        M::Rate => 3,
        M::Trend => 4,
    }
}

/// One metric of a set: its name, type and the series to send.
pub struct MetricOut<'a> {
    pub name: &'a str,
    pub type_code: u64,
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
    let mut out = Vec::new();
    put_str(&mut out, 1, test_run_id);
    put_varint_field(&mut out, 2, u64::from(aggregation_period_s));
    for m in metrics {
        put_message(&mut out, 3, |b| encode_metric(b, m));
    }
    out
}

fn encode_metric(b: &mut Vec<u8>, m: &MetricOut<'_>) {
    put_str(b, 1, m.name);
    put_varint_field(b, 2, m.type_code);
    for s in &m.series {
        put_message(b, 3, |b| encode_series(b, s));
    }
}

/// Encodes one `TimeSeries` (exposed so tests can compare series byte for byte).
pub fn encode_series(b: &mut Vec<u8>, s: &SeriesOut<'_>) {
    for (k, v) in &s.labels {
        put_message(b, 1, |b| {
            put_str(b, 1, k);
            put_str(b, 2, v);
        });
    }
    let Some(first) = s.values.first() else {
        return;
    };
    let field = match first.accumulator {
        Accumulator::Counter { .. } => 2,
        Accumulator::Gauge { .. } => 3,
        Accumulator::Rate { .. } => 4,
        Accumulator::Trend(_) => 5,
    };
    put_message(b, field, |b| {
        for c in s.values {
            put_message(b, 1, |b| encode_value(b, c));
        }
    });
}

fn encode_value(b: &mut Vec<u8>, c: &Closed) {
    put_message(b, 1, |b| {
        // google.protobuf.Timestamp; bucket starts are whole seconds, so nanos is normally 0.
        put_varint_field(b, 1, c.time_ns.div_euclid(1_000_000_000) as u64);
        put_varint_field(b, 2, c.time_ns.rem_euclid(1_000_000_000) as u64);
    });
    match &c.accumulator {
        Accumulator::Counter { sum } => put_double(b, 2, *sum),
        Accumulator::Gauge {
            last,
            min,
            max,
            sum,
            count,
        } => {
            put_double(b, 2, *last);
            put_varint_field(b, 3, u64::from(*count));
            put_double(b, 4, *min);
            put_double(b, 5, *max);
            put_double(
                b,
                6,
                if *count > 0 {
                    sum / f64::from(*count)
                } else {
                    0.0
                },
            );
        }
        Accumulator::Rate { nonzero, total } => {
            put_varint_field(b, 2, u64::from(*nonzero));
            put_varint_field(b, 3, u64::from(*total));
        }
        Accumulator::Trend(h) => {
            let (counters, spans) = h.counters_and_spans();
            if !counters.is_empty() {
                let mut packed = Vec::with_capacity(counters.len());
                for c in &counters {
                    put_varint(&mut packed, u64::from(*c));
                }
                put_bytes(b, 2, &packed);
            }
            for s in &spans {
                put_message(b, 3, |b| {
                    put_varint_field(b, 1, u64::from(s.offset));
                    put_varint_field(b, 2, u64::from(s.length));
                });
            }
            put_double(b, 5, h.sum);
            put_varint_field(b, 6, u64::from(h.count));
            put_double(b, 7, h.min);
            put_double(b, 8, h.max);
            // `optional` fields: k6 sets them only when non-zero, and then they are sent.
            if h.extra_low > 0 {
                put_key(b, 9, 0);
                put_varint(b, u64::from(h.extra_low));
            }
            if h.extra_high > 0 {
                put_key(b, 10, 0);
                put_varint(b, u64::from(h.extra_high));
            }
            put_key(b, 11, 1);
            b.extend_from_slice(&MIN_RESOLUTION.to_le_bytes());
        }
    }
}

fn put_key(b: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(b, (u64::from(field) << 3) | u64::from(wire));
}

pub(crate) fn put_varint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

/// A proto3 scalar: omitted when zero.
fn put_varint_field(b: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_key(b, field, 0);
        put_varint(b, v);
    }
}

/// A proto3 double: omitted when +0.0 (Go's encoder compares the bits, so -0.0 is sent).
fn put_double(b: &mut Vec<u8>, field: u32, v: f64) {
    if v.to_bits() != 0 {
        put_key(b, field, 1);
        b.extend_from_slice(&v.to_le_bytes());
    }
}

fn put_str(b: &mut Vec<u8>, field: u32, s: &str) {
    if !s.is_empty() {
        put_bytes(b, field, s.as_bytes());
    }
}

fn put_bytes(b: &mut Vec<u8>, field: u32, data: &[u8]) {
    put_key(b, field, 2);
    put_varint(b, data.len() as u64);
    b.extend_from_slice(data);
}

/// A sub-message, always written (an empty message is still a present oneof member).
fn put_message(b: &mut Vec<u8>, field: u32, f: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    f(&mut inner);
    put_bytes(b, field, &inner);
}

/// A minimal protobuf reader: enough to decode a `MetricSet` in tests and check every field.
pub mod read {
    /// One field as read from the wire.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value<'a> {
        Varint(u64),
        Fixed64(u64),
        Bytes(&'a [u8]),
        Fixed32(u32),
    }

    impl<'a> Value<'a> {
        pub fn as_u64(&self) -> Option<u64> {
            match self {
                Value::Varint(v) => Some(*v),
                _ => None,
            }
        }
        pub fn as_f64(&self) -> Option<f64> {
            match self {
                Value::Fixed64(v) => Some(f64::from_bits(*v)),
                _ => None,
            }
        }
        pub fn as_bytes(&self) -> Option<&'a [u8]> {
            match self {
                Value::Bytes(b) => Some(b),
                _ => None,
            }
        }
        pub fn as_str(&self) -> Option<&'a str> {
            self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
        }
    }

    fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
        let mut r = 0u64;
        let mut shift = 0;
        loop {
            let c = *b.get(*i)?;
            *i += 1;
            if shift >= 64 {
                return None;
            }
            r |= u64::from(c & 0x7f) << shift;
            shift += 7;
            if c < 0x80 {
                return Some(r);
            }
        }
    }

    /// Every (field number, value) of a message, in wire order; `None` if it is malformed.
    pub fn fields(b: &[u8]) -> Option<Vec<(u32, Value<'_>)>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let key = varint(b, &mut i)?;
            let field = u32::try_from(key >> 3).ok()?;
            let v = match key & 7 {
                0 => Value::Varint(varint(b, &mut i)?),
                1 => {
                    let raw = b.get(i..i + 8)?;
                    i += 8;
                    Value::Fixed64(u64::from_le_bytes(raw.try_into().ok()?))
                }
                2 => {
                    let n = usize::try_from(varint(b, &mut i)?).ok()?;
                    let raw = b.get(i..i.checked_add(n)?)?;
                    i += n;
                    Value::Bytes(raw)
                }
                5 => {
                    let raw = b.get(i..i + 4)?;
                    i += 4;
                    Value::Fixed32(u32::from_le_bytes(raw.try_into().ok()?))
                }
                _ => return None,
            };
            out.push((field, v));
        }
        Some(out)
    }

    /// The packed varints of a `repeated uint32` field.
    pub fn packed(b: &[u8]) -> Option<Vec<u64>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            out.push(varint(b, &mut i)?);
        }
        Some(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zero_omission() {
        let mut b = Vec::new();
        put_varint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        let mut b = Vec::new();
        put_varint_field(&mut b, 3, 0);
        put_double(&mut b, 2, 0.0);
        put_str(&mut b, 1, "");
        assert!(b.is_empty());
        put_double(&mut b, 2, -0.0);
        assert_eq!(b.len(), 9);
    }
}
