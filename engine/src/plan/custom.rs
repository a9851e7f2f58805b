//! Custom metrics of a plan, k6's `new Trend('login_time', true)` and friends:
//! `[metrics.NAME]` declares one, a request step's `metrics = [...]` adds samples to it.
//!
//! Names and values are checked while the plan is parsed, so a bad one is reported with its
//! line and column like any other plan error.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// k6's built-in metrics: a custom metric cannot take one of these names.
pub const BUILTIN_METRICS: [&str; 18] = [
    "http_reqs",
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
    "http_req_failed",
    "iterations",
    "iteration_duration",
    "vus",
    "vus_max",
    "checks",
    "data_sent",
    "data_received",
    "dropped_iterations",
    "group_duration",
];

/// k6's rule (`metrics/registry.go`: `^[a-zA-Z_][a-zA-Z0-9_]{1,128}$`), and its wording.
const NAME_RULE: &str = "Metric names must only include up to 128 ASCII letters, numbers, or \
                         underscores and start with a letter or an underscore.";

fn name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest = name.len().saturating_sub(1);
    let rest_ok = (1..=128).contains(&rest) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !(first_ok && rest_ok) {
        return Some(format!("invalid metric name {name:?}: {NAME_RULE}"));
    }
    if BUILTIN_METRICS.contains(&name) {
        return Some(format!(
            "metric {name:?} is a built-in metric; give the custom metric another name"
        ));
    }
    None
}

/// The name of a custom metric, checked against k6's rule and the built-in names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricName(pub String);

impl MetricName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for MetricName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match name_problem(&name) {
            Some(problem) => Err(de::Error::custom(problem)),
            None => Ok(MetricName(name)),
        }
    }
}

/// k6's four metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomType {
    Counter,
    Gauge,
    Rate,
    Trend,
}

/// `[metrics.NAME]`: `type`, and `time = true` for values in milliseconds (k6's `isTime`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDecl {
    #[serde(rename = "type")]
    pub metric_type: CustomType,
    #[serde(default)]
    pub time: bool,
}

/// A response timing, in milliseconds, as k6's `res.timings` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Duration,
    Blocked,
    Connecting,
    TlsHandshaking,
    Sending,
    Waiting,
    Receiving,
}

const TIMINGS: [(&str, Timing); 7] = [
    ("duration", Timing::Duration),
    ("blocked", Timing::Blocked),
    ("connecting", Timing::Connecting),
    ("tls_handshaking", Timing::TlsHandshaking),
    ("sending", Timing::Sending),
    ("waiting", Timing::Waiting),
    ("receiving", Timing::Receiving),
];

/// One term of a sample's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Constant(f64),
    Timing(Timing),
    /// The response status (0 when there was none).
    Status,
    /// The response body's length in bytes.
    BodySize,
    /// An extracted variable, read as a number.
    Var(String),
}

/// A sample's value: a number, or terms added up (`timings.connecting + timings.tls_handshaking`).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueExpr(pub Vec<Term>);

const VALUE_FORMS: &str = "expected a number, timings.NAME (duration, blocked, connecting, \
                           tls_handshaking, sending, waiting, receiving), status, body_size or \
                           ${variable}, joined by +";

fn parse_term(text: &str) -> Result<Term, String> {
    let t = text.trim();
    if let Some(name) = t.strip_prefix("timings.") {
        return TIMINGS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, timing)| Term::Timing(*timing))
            .ok_or_else(|| format!("unknown timing {t:?}; {VALUE_FORMS}"));
    }
    if let Some(var) = t.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        if var.is_empty() {
            return Err(format!("empty variable in {t:?}"));
        }
        return Ok(Term::Var(var.to_string()));
    }
    match t {
        "status" => Ok(Term::Status),
        "body_size" => Ok(Term::BodySize),
        _ => match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Term::Constant(v)),
            _ => Err(format!("cannot read {t:?} as a value; {VALUE_FORMS}")),
        },
    }
}

impl std::str::FromStr for ValueExpr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        s.split('+')
            .map(parse_term)
            .collect::<Result<_, _>>()
            .map(ValueExpr)
    }
}

impl<'de> Deserialize<'de> for ValueExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ValueExpr;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(VALUE_FORMS)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ValueExpr, E> {
                if v.is_finite() {
                    Ok(ValueExpr(vec![Term::Constant(v)]))
                } else {
                    Err(E::custom(format!("{v} is not a finite number")))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ValueExpr, E> {
                Ok(ValueExpr(vec![Term::Constant(v as f64)]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ValueExpr, E> {
                Ok(ValueExpr(vec![Term::Constant(v as f64)]))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ValueExpr, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A request step's `metrics = [{ metric = "login_time", value = "timings.waiting" }, ...]`:
/// one sample per entry after each response, with `value`, or with `check` (the named check
/// of this step: 1 when it passed, 0 when it failed), and optional `tags`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSample {
    pub metric: String,
    pub value: Option<ValueExpr>,
    pub check: Option<String>,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_k6_rule() {
        for ok in ["login_time", "_x1", "Ab", &"a".repeat(129)] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for bad in [
            "a",
            "1abc",
            "my-metric",
            "with space",
            "é_t",
            "",
            &"a".repeat(130),
        ] {
            let p = name_problem(bad).unwrap();
            assert!(p.contains("Metric names must only include"), "{bad}: {p}");
        }
        assert!(name_problem("http_reqs").unwrap().contains("built-in"));
    }

    #[test]
    fn values_are_sums_of_terms() {
        let v: ValueExpr = "timings.connecting + timings.tls_handshaking"
            .parse()
            .unwrap();
        assert_eq!(
            v.0,
            [
                Term::Timing(Timing::Connecting),
                Term::Timing(Timing::TlsHandshaking)
            ]
        );
        let v: ValueExpr = "${size} + 2.5 + status + body_size".parse().unwrap();
        assert_eq!(
            v.0,
            [
                Term::Var("size".into()),
                Term::Constant(2.5),
                Term::Status,
                Term::BodySize
            ]
        );
        let e = "timings.wait".parse::<ValueExpr>().unwrap_err();
        assert!(e.starts_with("unknown timing \"timings.wait\""), "{e}");
        assert!("res.status".parse::<ValueExpr>().is_err());
        assert!("".parse::<ValueExpr>().is_err());
    }
}

#[cfg(test)]
mod plan_tests {
    use crate::plan::{parse_str, Format};

    fn error(text: &str, format: Format) -> String {
        parse_str(text, format, "p").unwrap_err().to_string()
    }

    #[test]
    fn bad_names_and_values_have_their_line_and_column() {
        let e = error("[metrics.my-metric]\ntype = \"trend\"\n", Format::Toml);
        assert!(
            e.starts_with("p:1:10: invalid metric name \"my-metric\""),
            "{e}"
        );
        let e = error("\n[metrics.checks]\ntype = \"rate\"\n", Format::Toml);
        assert!(
            e.starts_with("p:2:10: metric \"checks\" is a built-in metric"),
            "{e}"
        );
        let e = error("[metrics.x1]\ntype = \"trend\"\ntime = 1\n", Format::Toml);
        assert!(e.starts_with("p:3:8:"), "{e}");
        let text = "[[steps]]\nurl = \"http://h/\"\nmetrics = [{ metric = \"a\", value = \"timings.wait\" }]\n";
        let e = error(text, Format::Toml);
        assert!(e.starts_with("p:3:"), "{e}");
        assert!(e.contains("unknown timing \"timings.wait\""), "{e}");
        let e = error(r#"{"metrics": {"1st": {"type": "counter"}}}"#, Format::Json);
        assert!(e.starts_with("p:1:"), "{e}");
        assert!(e.contains("invalid metric name \"1st\""), "{e}");
    }

    #[test]
    fn declarations_and_samples_parse() {
        let text = r#"
[metrics.login_time]
type = "trend"
time = true

[[steps]]
url = "http://h/"
metrics = [
  { metric = "login_time", value = "timings.waiting" },
  { metric = "login_time", value = 3, tags = { kind = "constant" } },
  { metric = "ok", check = "status is 200" },
]
"#;
        let p = parse_str(text, Format::Toml, "p").unwrap();
        let decl = &p.metrics[&super::MetricName("login_time".into())];
        assert!(decl.time);
        assert_eq!(decl.metric_type, super::CustomType::Trend);
        assert_eq!(p.steps[0].metrics.len(), 3);
        assert_eq!(p.steps[0].metrics[1].tags["kind"], "constant");
    }
}
