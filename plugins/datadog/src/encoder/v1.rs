//! Entries as Datadog v1 series (`POST /api/v1/series`), split into bodies under a size limit.
//!
//! | k6 | Datadog |
//! |---|---|
//! | counter, rate, check pass/fail | `count` with `interval` = push interval |
//! | gauge | `gauge` |
//! | trend | what the agent makes of a timing: gauges `.avg .min .max .median .95percentile` and a `.count` count |

use loadrun_statsd::aggregate::Trend;
use loadrun_statsd::{Entry, EntryValue};
use serde_json::{json, Value};

use crate::limits::metric_name;

/// The series of one interval, stamped `ts` (unix seconds).
pub fn series(entries: &[Entry], host: &str, ts: i64, interval_s: u64) -> Vec<Value> {
    let mut out = Vec::new();
    for e in entries {
        // Always set host and tags: VictoriaMetrics 1.79 leaks them from an earlier request
        // into series that lack them, and the agent sets both too.
        let tags = crate::limits::tag_strings(e);
        let count = |metric: String, v: f64| {
            json!({"metric": metric, "type": "count", "interval": interval_s,
                   "points": [[ts, v]], "host": host, "tags": tags})
        };
        let gauge = |metric: String, v: f64| json!({"metric": metric, "type": "gauge", "points": [[ts, v]], "host": host, "tags": tags});
        match &e.value {
            EntryValue::Count(v) => out.push(count(metric_name(&e.name, ""), *v)),
            EntryValue::Gauge(v) => out.push(gauge(metric_name(&e.name, ""), *v)),
            EntryValue::Trend(t) => {
                for (suffix, is_count, v) in trend_points(t) {
                    let metric = metric_name(&e.name, suffix);
                    out.push(if is_count {
                        count(metric, v)
                    } else {
                        gauge(metric, v)
                    });
                }
            }
        }
    }
    out
}

/// A trend's series as the Agent makes them of a timer (so both transports feed one
/// dashboard): `(name suffix, is a count, value)` — exact avg/min/max, median and 95th
/// percentile over the interval's values, and the count.
pub fn trend_points(t: &Trend) -> [(&'static str, bool, f64); 6] {
    let mut sorted = t.values.clone();
    sorted.sort_by(f64::total_cmp);
    [
        (".avg", false, t.mean()),
        (".min", false, t.min),
        (".max", false, t.max),
        (".median", false, percentile(&sorted, 0.5)),
        (".95percentile", false, percentile(&sorted, 0.95)),
        (".count", true, t.count as f64),
    ]
}

/// [`series`], each with the number of samples behind it: an entry's samples go with its
/// first series (a trend's `.avg`), so a body's count is the samples folded into what it carries.
pub fn series_counted(
    entries: &[Entry],
    host: &str,
    ts: i64,
    interval_s: u64,
) -> Vec<(Value, u64)> {
    let mut out = Vec::new();
    for e in entries {
        let mut first = true;
        for v in series(std::slice::from_ref(e), host, ts, interval_s) {
            out.push((v, if first { e.samples } else { 0 }));
            first = false;
        }
    }
    out
}

/// Nearest-rank percentile of sorted values (0 for none).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `{"series":[...]}` bodies of at most `max_bytes` each (a single larger series goes alone).
pub fn bodies(series: Vec<Value>, max_bytes: usize) -> Vec<Vec<u8>> {
    bodies_counted(series.into_iter().map(|s| (s, 0)).collect(), max_bytes)
        .into_iter()
        .map(|(b, _)| b)
        .collect()
}

/// [`bodies`], each with the sum of its series' sample counts.
pub fn bodies_counted(series: Vec<(Value, u64)>, max_bytes: usize) -> Vec<(Vec<u8>, u64)> {
    const HEAD: &[u8] = b"{\"series\":[";
    const TAIL: &[u8] = b"]}";
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut samples = 0u64;
    let mut n = 0usize;
    for (s, k) in series {
        let text = s.to_string();
        if n > 0 && cur.len() + 1 + text.len() + TAIL.len() > max_bytes {
            cur.extend_from_slice(TAIL);
            out.push((std::mem::take(&mut cur), std::mem::take(&mut samples)));
            n = 0;
        }
        samples += k;
        if n == 0 {
            cur.extend_from_slice(HEAD);
        } else {
            cur.push(b',');
        }
        cur.extend_from_slice(text.as_bytes());
        n += 1;
    }
    if n > 0 {
        cur.extend_from_slice(TAIL);
        out.push((cur, samples));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadrun_statsd::aggregate::Trend;

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn bodies_respect_the_limit_and_stay_valid_json() {
        let s: Vec<Value> = (0..100)
            .map(|i| json!({"metric": format!("m{i}"), "points": [[1, i]]}))
            .collect();
        let b = bodies(s, 300);
        assert!(b.len() > 5);
        let mut total = 0;
        for body in &b {
            assert!(body.len() <= 300, "{}", body.len());
            let v: Value = serde_json::from_slice(body).unwrap_or_default();
            total += v["series"].as_array().map_or(0, Vec::len);
        }
        assert_eq!(total, 100);
    }

    #[test]
    fn bodies_carry_the_samples_of_their_series() {
        let s: Vec<(Value, u64)> = (0..100)
            .map(|i| {
                (
                    json!({"metric": format!("m{i}"), "points": [[1, i]]}),
                    i as u64,
                )
            })
            .collect();
        let b = bodies_counted(s, 300);
        assert!(b.len() > 5);
        assert_eq!(b.iter().map(|(_, n)| n).sum::<u64>(), (0..100).sum::<u64>());
        for (body, n) in &b {
            let v: Value = serde_json::from_slice(body).unwrap_or_default();
            let held: u64 = v["series"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["points"][0][1].as_u64())
                .sum();
            assert_eq!(held, *n);
        }
    }

    #[test]
    fn trend_becomes_agent_style_gauges() {
        let e = Entry {
            name: "k6.http_req_duration".into(),
            value: EntryValue::Trend(Trend {
                count: 4,
                sum: 10.0,
                min: 1.0,
                max: 4.0,
                values: vec![4.0, 1.0, 3.0, 2.0],
            }),
            tags: vec![
                ("method".into(), "GET".into()),
                ("flag".into(), String::new()),
            ],
            samples: 4,
        };
        let s = series(&[e], "h1", 100, 10);
        let names: Vec<&str> = s.iter().filter_map(|x| x["metric"].as_str()).collect();
        assert_eq!(
            names,
            [
                "k6.http_req_duration.avg",
                "k6.http_req_duration.min",
                "k6.http_req_duration.max",
                "k6.http_req_duration.median",
                "k6.http_req_duration.95percentile",
                "k6.http_req_duration.count"
            ]
        );
        assert_eq!(s[0]["points"], json!([[100, 2.5]]));
        assert_eq!(s[3]["points"], json!([[100, 2.0]]));
        assert_eq!(s[4]["points"], json!([[100, 4.0]]));
        assert_eq!(
            s[5],
            json!({"metric": "k6.http_req_duration.count", "type": "count",
            "interval": 10, "points": [[100, 4.0]], "host": "h1", "tags": ["method:GET", "flag"]})
        );
    }
}
