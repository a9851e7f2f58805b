//! k6's threshold syntax: `p(95) < 500` and `metric{tag:value,...}` keys.

use std::fmt;

/// The left-hand side of a threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    Avg,
    Min,
    Max,
    Med,
    /// `p(N)`, N in 0..=100.
    Percentile(f64),
    Count,
    Rate,
    Value,
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::Avg => f.write_str("avg"),
            Aggregation::Min => f.write_str("min"),
            Aggregation::Max => f.write_str("max"),
            Aggregation::Med => f.write_str("med"),
            Aggregation::Percentile(p) => write!(f, "p({p})"),
            Aggregation::Count => f.write_str("count"),
            Aggregation::Rate => f.write_str("rate"),
            Aggregation::Value => f.write_str("value"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Lt,
    Le,
    Gt,
    Ge,
    /// `==` and `===` (k6 treats them alike).
    Eq,
    Ne,
}

impl Operator {
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Operator::Lt => lhs < rhs,
            Operator::Le => lhs <= rhs,
            Operator::Gt => lhs > rhs,
            Operator::Ge => lhs >= rhs,
            Operator::Eq => lhs == rhs,
            Operator::Ne => lhs != rhs,
        }
    }
}

/// A parsed threshold expression such as `p(95)<500`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expression {
    pub aggregation: Aggregation,
    pub operator: Operator,
    pub value: f64,
}

const EXPECTED: &str = "expected '<aggregation> <operator> <number>' such as 'p(95)<500', \
with an aggregation among avg, min, max, med, p(N), count, rate, value \
and an operator among <, <=, >, >=, ==, ===, !=";

// Longer spellings first, so `<=` is not read as `<` followed by `=500`.
const OPERATORS: [(&str, Operator); 7] = [
    (">=", Operator::Ge),
    ("<=", Operator::Le),
    ("===", Operator::Eq),
    ("==", Operator::Eq),
    ("!=", Operator::Ne),
    (">", Operator::Gt),
    ("<", Operator::Lt),
];

/// Parses a threshold expression; the error says what was expected.
pub fn parse_expression(input: &str) -> Result<Expression, String> {
    let src = input.trim();
    let found = src.char_indices().find_map(|(i, _)| {
        OPERATORS
            .iter()
            .find(|(tok, _)| src[i..].starts_with(tok))
            .map(|(tok, op)| (i, tok.len(), *op))
    });
    let Some((at, len, operator)) = found else {
        return Err(format!("no comparison operator found; {EXPECTED}"));
    };
    let lhs = src[..at].trim();
    let rhs = src[at + len..].trim();
    if lhs.is_empty() {
        return Err(format!(
            "the aggregation before the operator is missing; {EXPECTED}"
        ));
    }
    let aggregation = parse_aggregation(lhs)?;
    if rhs.is_empty() {
        return Err(format!(
            "the number after the operator is missing; {EXPECTED}"
        ));
    }
    let value = rhs
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("'{rhs}' is not a number; {EXPECTED}"))?;
    Ok(Expression {
        aggregation,
        operator,
        value,
    })
}

fn parse_aggregation(lhs: &str) -> Result<Aggregation, String> {
    Ok(match lhs {
        "avg" => Aggregation::Avg,
        "min" => Aggregation::Min,
        "max" => Aggregation::Max,
        "med" => Aggregation::Med,
        "count" => Aggregation::Count,
        "rate" => Aggregation::Rate,
        "value" => Aggregation::Value,
        _ => {
            let inner = lhs
                .strip_prefix("p(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("unknown aggregation '{lhs}'; {EXPECTED}"))?
                .trim();
            let p: f64 = inner.parse().map_err(|_| {
                format!("'{lhs}' is not a valid percentile; expected p(N) with N a number from 0 to 100")
            })?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!(
                    "'{lhs}' is out of range; expected p(N) with N a number from 0 to 100"
                ));
            }
            Aggregation::Percentile(p)
        }
    })
}

/// A threshold key: a metric name with an optional submetric tag filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricKey {
    pub metric: String,
    /// Sorted by key.
    pub tags: Vec<(String, String)>,
}

impl MetricKey {
    /// The name the registry gives this (sub)metric: `metric{k:v,k2:v2}` with sorted tags.
    pub fn name(&self) -> String {
        if self.tags.is_empty() {
            return self.metric.clone();
        }
        let inner: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{}{{{}}}", self.metric, inner.join(","))
    }
}

/// Parses `metric`, `metric{tag:value,tag2:value}`, `metric{group:::g1}` (the value may contain
/// `:`; quotes around keys or values are dropped, as k6 does).
pub fn parse_metric_key(key: &str) -> Result<MetricKey, String> {
    let key = key.trim();
    let open = key.find('{');
    let close = key.rfind('}');
    let (metric, tags) = match (open, close) {
        (None, None) => (key, Vec::new()),
        (Some(o), Some(c)) if c == key.len() - 1 && c > o => {
            let mut tags = Vec::new();
            for part in key[o + 1..c].split(',').filter(|p| !p.trim().is_empty()) {
                let Some((k, v)) = part.split_once(':') else {
                    return Err(format!(
                        "the tag filter '{}' has no ':'; expected metric{{tag:value,...}}",
                        part.trim()
                    ));
                };
                let k = k.trim().trim_matches(|c| c == '"' || c == '\'');
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                if k.is_empty() || v.is_empty() {
                    return Err(format!(
                        "the tag filter '{}' needs both a tag and a value; expected metric{{tag:value,...}}",
                        part.trim()
                    ));
                }
                tags.push((k.to_string(), v.to_string()));
            }
            if tags.is_empty() {
                return Err(
                    "the tag filter between the braces is empty; expected metric{tag:value,...}"
                        .into(),
                );
            }
            (&key[..o], tags)
        }
        _ => {
            return Err(
                "unmatched or misplaced curly braces; expected metric or metric{tag:value,...}"
                    .into(),
            )
        }
    };
    let metric = metric.trim();
    let valid = metric
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && metric
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "'{metric}' is not a metric name; expected letters, digits and '_', not starting with a digit"
        ));
    }
    let mut tags = tags;
    tags.sort();
    tags.dedup_by(|a, b| a.0 == b.0);
    Ok(MetricKey {
        metric: metric.to_string(),
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Expression {
        parse_expression(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn k6_expressions_parse() {
        let e = ok("p(95)<500");
        assert_eq!(e.aggregation, Aggregation::Percentile(95.0));
        assert_eq!(e.operator, Operator::Lt);
        assert_eq!(e.value, 500.0);
        assert_eq!(
            ok(" p(99.9) <= 1.5 ").aggregation,
            Aggregation::Percentile(99.9)
        );
        assert_eq!(ok("rate<0.01").aggregation, Aggregation::Rate);
        assert_eq!(ok("count >= 100").operator, Operator::Ge);
        assert_eq!(ok("value===42").operator, Operator::Eq);
        assert_eq!(ok("avg==3").operator, Operator::Eq);
        assert_eq!(ok("med != 0").operator, Operator::Ne);
        assert_eq!(ok("max>1e3").value, 1000.0);
        assert_eq!(ok("min > -5").value, -5.0);
        assert_eq!(ok("p( 50 )<1").aggregation, Aggregation::Percentile(50.0));
    }

    #[test]
    fn bad_expressions_say_what_was_expected() {
        let cases = [
            ("p(95)", "no comparison operator"),
            ("<500", "aggregation before the operator is missing"),
            ("p(95)<", "number after the operator is missing"),
            ("p95<500", "unknown aggregation 'p95'"),
            ("p(101)<5", "out of range"),
            ("p(x)<5", "not a valid percentile"),
            ("avg<abc", "'abc' is not a number"),
            ("mean<5", "unknown aggregation 'mean'"),
            ("avg=5", "no comparison operator"),
        ];
        for (src, want) in cases {
            let err = parse_expression(src).err().unwrap_or_default();
            assert!(err.contains(want), "{src}: {err}");
        }
        let err = parse_expression("mean<5").err().unwrap_or_default();
        assert!(err.contains("p(N)") && err.contains("<="), "{err}");
    }

    #[test]
    fn metric_keys_with_submetric_selectors() {
        let k = parse_metric_key("http_req_duration").unwrap();
        assert!(k.tags.is_empty());
        let k = parse_metric_key("checks{mytag:hello}").unwrap();
        assert_eq!(k.metric, "checks");
        assert_eq!(k.tags, vec![("mytag".into(), "hello".into())]);
        assert_eq!(k.name(), "checks{mytag:hello}");
        let k = parse_metric_key("http_req_duration{ status : 200 , method:'GET' }").unwrap();
        assert_eq!(k.name(), "http_req_duration{method:GET,status:200}");
        let k = parse_metric_key("group_duration{group:::g1}").unwrap();
        assert_eq!(k.tags, vec![("group".into(), "::g1".into())]);
        let k = parse_metric_key("http_reqs{url:http://x/y?a=b}").unwrap();
        assert_eq!(k.tags[0].1, "http://x/y?a=b");
    }

    #[test]
    fn bad_metric_keys() {
        for (key, want) in [
            ("checks{a:b", "curly braces"),
            ("checks}a:b{", "curly braces"),
            ("checks{a:b}x", "curly braces"),
            ("checks{ab}", "has no ':'"),
            ("checks{a:}", "both a tag and a value"),
            ("checks{}", "empty"),
            ("9lives", "not a metric name"),
            ("my-metric", "not a metric name"),
        ] {
            let err = parse_metric_key(key).err().unwrap_or_default();
            assert!(err.contains(want), "{key}: {err}");
        }
    }
}
