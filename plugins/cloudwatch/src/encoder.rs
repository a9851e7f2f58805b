//! `PutMetricData` in the Query protocol: a form-encoded POST body
//! (`Action=PutMetricData&Version=2010-08-01&Namespace=…&MetricData.member.N.…`), cut into
//! requests that respect CloudWatch's limits (1000 datums, 1 MB per request).

use std::fmt::Write;

use crate::datum::{Datum, DatumValue};
use crate::sigv4::uri_encode;

/// CloudWatch's limit on datums per `PutMetricData`.
pub const MAX_DATUMS_PER_REQUEST: usize = 1000;
/// CloudWatch's limit on a `PutMetricData` POST body (1 MB).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// One request body and how many datums it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub text: String,
    pub datums: usize,
    /// The samples folded into its datums.
    pub samples: u64,
}

/// Encodes `datums` into as few bodies as the limits allow, in order. A single datum larger than
/// `max_bytes` (impossible with CloudWatch's own limits on names and values) still gets a body
/// of its own, for the server to judge.
pub fn encode(namespace: &str, datums: &[Datum], max_datums: usize, max_bytes: usize) -> Vec<Body> {
    let header = format!(
        "Action=PutMetricData&Version=2010-08-01&Namespace={}",
        uri_encode(namespace)
    );
    let mut out = Vec::new();
    let mut body = header.clone();
    let mut count = 0usize;
    let mut samples = 0u64;
    for d in datums {
        let mut piece = member(d, count + 1);
        if count > 0 && (count >= max_datums || body.len() + piece.len() > max_bytes) {
            out.push(Body {
                text: std::mem::replace(&mut body, header.clone()),
                datums: count,
                samples: std::mem::take(&mut samples),
            });
            count = 0;
            piece = member(d, 1);
        }
        body.push_str(&piece);
        count += 1;
        samples += d.samples;
    }
    if count > 0 {
        out.push(Body {
            text: body,
            datums: count,
            samples,
        });
    }
    out
}

/// `&MetricData.member.N.…` for one datum.
fn member(d: &Datum, n: usize) -> String {
    let p = format!("&MetricData.member.{n}.");
    let mut s = String::with_capacity(256);
    let _ = write!(s, "{p}MetricName={}", uri_encode(&d.metric_name));
    for (i, (k, v)) in d.dimensions.iter().enumerate() {
        let i = i + 1;
        let _ = write!(
            s,
            "{p}Dimensions.member.{i}.Name={}{p}Dimensions.member.{i}.Value={}",
            uri_encode(k),
            uri_encode(v)
        );
    }
    let _ = write!(s, "{p}Timestamp={}", uri_encode(&d.timestamp.iso8601()));
    match &d.value {
        DatumValue::Value(v) => {
            let _ = write!(s, "{p}Value={}", num(*v));
        }
        DatumValue::Stats {
            count,
            sum,
            min,
            max,
        } => {
            let _ = write!(
                s,
                "{p}StatisticValues.SampleCount={}{p}StatisticValues.Sum={}\
                 {p}StatisticValues.Minimum={}{p}StatisticValues.Maximum={}",
                num(*count),
                num(*sum),
                num(*min),
                num(*max)
            );
        }
        DatumValue::Distribution { values, counts } => {
            for (i, v) in values.iter().enumerate() {
                let _ = write!(s, "{p}Values.member.{}={}", i + 1, num(*v));
            }
            for (i, c) in counts.iter().enumerate() {
                let _ = write!(s, "{p}Counts.member.{}={}", i + 1, num(*c));
            }
        }
    }
    let _ = write!(
        s,
        "{p}Unit={}{p}StorageResolution={}",
        d.unit.as_str(),
        d.storage_resolution
    );
    s
}

/// Shortest round-trip decimal, never an exponent (Rust's `Display` for f64), `-0` as `0`.
fn num(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::datum::Unit;
    use crate::time::UtcTime;

    fn datum(name: &str, value: DatumValue) -> Datum {
        Datum {
            metric_name: name.into(),
            dimensions: vec![
                ("method".into(), "GET".into()),
                ("name".into(), "http://x/a b?c=1&d".into()),
            ],
            timestamp: UtcTime::from_unix_secs(1_700_000_000),
            unit: Unit::Milliseconds,
            value,
            storage_resolution: 60,
            samples: 0,
        }
    }

    #[test]
    fn exact_body_for_a_small_batch() {
        let datums = vec![
            Datum {
                metric_name: "http_reqs".into(),
                dimensions: vec![("status".into(), "200".into())],
                timestamp: UtcTime::from_unix_secs(1_700_000_000),
                unit: Unit::Count,
                value: DatumValue::Value(3.0),
                storage_resolution: 1,
                samples: 0,
            },
            Datum {
                metric_name: "http_req_failed".into(),
                dimensions: vec![],
                timestamp: UtcTime::from_unix_secs(1_700_000_001),
                unit: Unit::None,
                value: DatumValue::Stats {
                    count: 4.0,
                    sum: 1.0,
                    min: 0.0,
                    max: 1.0,
                },
                storage_resolution: 1,
                samples: 0,
            },
            datum(
                "http_req_duration",
                DatumValue::Distribution {
                    values: vec![0.25, 12.5],
                    counts: vec![2.0, 1.0],
                },
            ),
        ];
        let bodies = encode("k6/load test", &datums, 1000, MAX_REQUEST_BYTES);
        assert_eq!(bodies.len(), 1);
        assert_eq!(bodies[0].datums, 3);
        let expected = [
            "Action=PutMetricData&Version=2010-08-01&Namespace=k6%2Fload%20test",
            "&MetricData.member.1.MetricName=http_reqs",
            "&MetricData.member.1.Dimensions.member.1.Name=status",
            "&MetricData.member.1.Dimensions.member.1.Value=200",
            "&MetricData.member.1.Timestamp=2023-11-14T22%3A13%3A20Z",
            "&MetricData.member.1.Value=3",
            "&MetricData.member.1.Unit=Count",
            "&MetricData.member.1.StorageResolution=1",
            "&MetricData.member.2.MetricName=http_req_failed",
            "&MetricData.member.2.Timestamp=2023-11-14T22%3A13%3A21Z",
            "&MetricData.member.2.StatisticValues.SampleCount=4",
            "&MetricData.member.2.StatisticValues.Sum=1",
            "&MetricData.member.2.StatisticValues.Minimum=0",
            "&MetricData.member.2.StatisticValues.Maximum=1",
            "&MetricData.member.2.Unit=None",
            "&MetricData.member.2.StorageResolution=1",
            "&MetricData.member.3.MetricName=http_req_duration",
            "&MetricData.member.3.Dimensions.member.1.Name=method",
            "&MetricData.member.3.Dimensions.member.1.Value=GET",
            "&MetricData.member.3.Dimensions.member.2.Name=name",
            "&MetricData.member.3.Dimensions.member.2.Value=http%3A%2F%2Fx%2Fa%20b%3Fc%3D1%26d",
            "&MetricData.member.3.Timestamp=2023-11-14T22%3A13%3A20Z",
            "&MetricData.member.3.Values.member.1=0.25",
            "&MetricData.member.3.Values.member.2=12.5",
            "&MetricData.member.3.Counts.member.1=2",
            "&MetricData.member.3.Counts.member.2=1",
            "&MetricData.member.3.Unit=Milliseconds",
            "&MetricData.member.3.StorageResolution=60",
        ]
        .concat();
        assert_eq!(bodies[0].text, expected);
    }

    #[test]
    fn numbers_never_use_exponents() {
        assert_eq!(num(1e21), "1000000000000000000000");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(1.5e-7), "0.00000015");
    }

    #[test]
    fn splits_by_count_and_by_bytes_and_renumbers() {
        let datums: Vec<Datum> = (0..2500)
            .map(|i| datum(&format!("m{i}"), DatumValue::Value(f64::from(i))))
            .collect();
        let bodies = encode("k6", &datums, MAX_DATUMS_PER_REQUEST, MAX_REQUEST_BYTES);
        assert_eq!(
            bodies.iter().map(|b| b.datums).collect::<Vec<_>>(),
            vec![1000, 1000, 500]
        );
        for b in &bodies {
            assert!(b.text.contains("&MetricData.member.1.MetricName="));
            assert!(!b.text.contains(&format!("member.{}.", b.datums + 1)));
            assert!(b.text.len() <= MAX_REQUEST_BYTES);
        }
        assert!(bodies[1].text.contains("member.1.MetricName=m1000&"));

        let small = encode("k6", &datums[..50], 1000, 4096);
        assert!(small.len() > 1);
        assert!(small.iter().all(|b| b.text.len() <= 4096), "byte limit");
        assert_eq!(small.iter().map(|b| b.datums).sum::<usize>(), 50);
        assert!(encode("k6", &[], 1000, 4096).is_empty());
    }
}
