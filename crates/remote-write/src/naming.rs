//! k6's series naming, so k6's Grafana dashboards (19665, 18030) keep working, minus k6's
//! defects: label names are sanitised, `_count` is a count, gauges carry the documented unit.
//!
//! | k6 type | series | value |
//! |---|---|---|
//! | counter | `k6_<name>_total` | running total since the start |
//! | gauge | `k6_<name>` + `_seconds` (time) / `_bytes` (data) | last value (time in seconds) |
//! | rate | `k6_<name>_rate` | non-zero samples / all samples since the start |
//! | trend | `k6_<name>_<stat>` per configured stat | over every value since the start; time in seconds, `_count` a plain count |
//! | trend as native histogram | `k6_<name>` + `_seconds` / `_bytes` | exponential histogram |

use loadrun_plugin_api::ValueKind;

/// The prefix of every series name.
pub const PREFIX: &str = "k6_";

/// Makes `name` a valid metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`: invalid characters become `_`.
pub fn sanitize_metric_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let ok = c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit());
        if ok {
            out.push(c);
        } else if i == 0 && c.is_ascii_digit() {
            out.push('_');
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

/// Makes a tag name a valid label name, `[a-zA-Z_][a-zA-Z0-9_]*`; `None` for an empty name.
///
/// Invalid characters become `_` (`test-id` → `test_id`), a leading digit gets a `_` in front,
/// and names starting with `__` (reserved by Prometheus, `__name__` among them) get a `tag`
/// prefix so a tag can never replace the metric name.
pub fn sanitize_label_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(name.len() + 1);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()) {
            out.push(c);
        } else if i == 0 && c.is_ascii_digit() {
            out.push('_');
            out.push(c);
        } else {
            out.push('_');
        }
    }
    if out.starts_with("__") {
        out.insert_str(0, "tag");
    }
    Some(out)
}

/// The unit suffix k6's documentation gives gauges and native histograms.
pub fn unit_suffix(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Time => "_seconds",
        ValueKind::Data => "_bytes",
        ValueKind::Default => "",
    }
}

/// A trend statistic (k6's `K6_PROMETHEUS_RW_TREND_STATS` vocabulary).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrendStat {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Med,
    /// A percentile, 0–100.
    Percentile(f64),
}

impl TrendStat {
    /// Parses `count`, `sum`, `min`, `max`, `avg`, `med` or `p(N)` with 0 ≤ N ≤ 100.
    pub fn parse(text: &str) -> Option<TrendStat> {
        let t = text.trim();
        Some(match t {
            "count" => TrendStat::Count,
            "sum" => TrendStat::Sum,
            "min" => TrendStat::Min,
            "max" => TrendStat::Max,
            "avg" => TrendStat::Avg,
            "med" => TrendStat::Med,
            _ => {
                let inner = t.strip_prefix("p(")?.strip_suffix(')')?;
                if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    return None;
                }
                let p: f64 = inner.parse().ok()?;
                if !(0.0..=100.0).contains(&p) {
                    return None;
                }
                TrendStat::Percentile(p)
            }
        })
    }

    /// The series-name suffix as k6 writes it: `p(99)` → `p99`, `p(99.9)` → `p999`,
    /// `p(0.95)` → `p095`.
    pub fn suffix(&self, source: &str) -> String {
        match self {
            TrendStat::Count => "count".into(),
            TrendStat::Sum => "sum".into(),
            TrendStat::Min => "min".into(),
            TrendStat::Max => "max".into(),
            TrendStat::Avg => "avg".into(),
            TrendStat::Med => "med".into(),
            TrendStat::Percentile(_) => source
                .trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect(),
        }
    }
}

/// Parses k6's comma list of trend stats into `(stat, series suffix)` pairs, in the given order,
/// duplicates removed.
pub fn parse_trend_stats(list: &[String]) -> Result<Vec<(TrendStat, String)>, String> {
    let mut out: Vec<(TrendStat, String)> = Vec::new();
    for item in list {
        let stat = TrendStat::parse(item).ok_or_else(|| {
            format!("unknown trend stat {item:?} (use count, sum, min, max, avg, med or p(N))")
        })?;
        let suffix = stat.suffix(item);
        if !out.iter().any(|(_, s)| *s == suffix) {
            out.push((stat, suffix));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn label_names() {
        assert_eq!(sanitize_label_name("test-id").as_deref(), Some("test_id"));
        assert_eq!(sanitize_label_name("status").as_deref(), Some("status"));
        assert_eq!(sanitize_label_name("1st").as_deref(), Some("_1st"));
        assert_eq!(sanitize_label_name("a.b c").as_deref(), Some("a_b_c"));
        assert_eq!(
            sanitize_label_name("__name__").as_deref(),
            Some("tag__name__")
        );
        assert_eq!(sanitize_label_name("é").as_deref(), Some("_"));
        assert_eq!(sanitize_label_name(""), None);
    }

    #[test]
    fn metric_names() {
        assert_eq!(sanitize_metric_name("http_reqs"), "http_reqs");
        assert_eq!(sanitize_metric_name("my-metric.x"), "my_metric_x");
    }

    #[test]
    fn stat_suffixes_as_k6() {
        let stats = parse_trend_stats(
            &[
                "p(99)", "p(99.9)", "p(0.95)", "avg", "count", "med", "p(99)",
            ]
            .map(String::from),
        )
        .unwrap();
        let suffixes: Vec<_> = stats.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(suffixes, ["p99", "p999", "p095", "avg", "count", "med"]);
        assert_eq!(stats[1].0, TrendStat::Percentile(99.9));
        assert!(parse_trend_stats(&["p(101)".into()]).is_err());
        assert!(parse_trend_stats(&["p95".into()]).is_err());
        assert!(parse_trend_stats(&["mean".into()]).is_err());
    }
}
