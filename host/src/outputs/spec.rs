//! `-o NAME[=ARG]` and the host-owned options every output shares.

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_plugin_api::options::{join_pair, parse_bool, parse_duration, try_split_pairs};

use super::OutputError;

/// One `-o` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub name: String,
    pub arg: Option<String>,
}

impl OutputSpec {
    /// Parses `NAME` or `NAME=ARG`.
    pub fn parse(text: &str) -> Result<Self, OutputError> {
        let (name, arg) = match text.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.to_string())),
            None => (text.trim(), None),
        };
        if name.is_empty() {
            return Err(OutputError::Spec {
                spec: text.to_string(),
                reason: "the output name is empty".into(),
            });
        }
        Ok(Self {
            name: name.to_string(),
            arg,
        })
    }
}

/// What to do when an output's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Drop the oldest queued batch and count it (default: the test is never slowed).
    DropOldest,
    /// Wait for room. This slows the collector and then the VUs: it distorts the test.
    Block,
}

/// Options the host applies to every output, whatever its plugin. They are taken out of the
/// `-o` argument's `key=value` pairs and the plan table before the plugin sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOptions {
    /// Samples the queue may hold before `when_full` applies.
    pub queue_size: usize,
    pub when_full: WhenFull,
    /// First retry delay; doubles with jitter on each further retry.
    pub retry_initial: Duration,
    /// Longest single retry delay.
    pub retry_max_delay: Duration,
    /// After this long retrying one batch, drop it (counted as retries_exhausted).
    pub retry_max_elapsed: Duration,
    /// A failure of this output fails the run (exit 104) instead of quarantining the output.
    pub required: bool,
    /// The plugin may stop the test through the host API.
    pub abort_on_error: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        Self {
            queue_size: 1_000_000,
            when_full: WhenFull::DropOldest,
            retry_initial: Duration::from_millis(100),
            retry_max_delay: Duration::from_secs(5),
            retry_max_elapsed: Duration::from_secs(30),
            required: false,
            abort_on_error: false,
        }
    }
}

/// The reserved option names.
pub const HOST_OPTION_NAMES: &[&str] = &[
    "queueSize",
    "whenFull",
    "retryInitial",
    "retryMaxDelay",
    "retryMaxElapsed",
    "required",
    "abortOnError",
];

impl HostOptions {
    /// Takes the host options out of an output's `-o` argument and plan table; returns them and
    /// what is left for the plugin.
    pub fn extract(
        output: &str,
        arg: Option<&str>,
        table: Option<&serde_json::Value>,
    ) -> Result<(HostOptions, Option<String>, serde_json::Value), OutputError> {
        let mut found: BTreeMap<String, String> = BTreeMap::new();
        let mut table = table
            .cloned()
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
        if let serde_json::Value::Object(map) = &mut table {
            for name in HOST_OPTION_NAMES {
                if let Some(v) = map.remove(*name) {
                    let text = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    found.insert(name.to_string(), text);
                }
            }
        }
        let mut rest_arg = arg.map(str::to_string);
        if let Some(a) = arg {
            let split = try_split_pairs(a).map_err(|e| OutputError::Spec {
                spec: format!("{output}={a}"),
                reason: e.to_string(),
            })?;
            if split.is_none() {
                // A file or URL argument may be followed by host options:
                // `influxdb=http://h:8086/k6,retryMaxElapsed=2s`.
                let mut pieces: Vec<&str> = a.split(',').collect();
                while pieces.len() > 1 {
                    let last = pieces[pieces.len() - 1];
                    match last.split_once('=') {
                        Some((k, v)) if HOST_OPTION_NAMES.contains(&k.trim()) => {
                            found.insert(k.trim().to_string(), v.to_string());
                            pieces.pop();
                        }
                        _ => break,
                    }
                }
                rest_arg = Some(pieces.join(","));
            }
            if let Some(pairs) = split {
                let mut kept = Vec::new();
                for (k, v) in pairs {
                    if HOST_OPTION_NAMES.contains(&k.as_str()) {
                        found.insert(k, v);
                    } else {
                        // Quoted again where needed, so the plugin splits it the same way.
                        kept.push(join_pair(&k, &v));
                    }
                }
                rest_arg = if kept.is_empty() && !a.is_empty() {
                    None
                } else {
                    Some(kept.join(","))
                };
            }
        }
        let mut o = HostOptions::default();
        let bad = |name: &str, value: &str, expected: &str| OutputError::HostOption {
            output: output.to_string(),
            option: name.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        };
        for (k, v) in &found {
            match k.as_str() {
                "queueSize" => {
                    o.queue_size = v
                        .trim()
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad(k, v, "a number of samples above 0"))?
                }
                "whenFull" => {
                    o.when_full = match v.trim() {
                        "drop_oldest" | "dropOldest" => WhenFull::DropOldest,
                        "block" => WhenFull::Block,
                        _ => return Err(bad(k, v, "drop_oldest or block")),
                    }
                }
                "retryInitial" => {
                    o.retry_initial = parse_duration(v).ok_or_else(|| bad(k, v, "a duration"))?
                }
                "retryMaxDelay" => {
                    o.retry_max_delay = parse_duration(v).ok_or_else(|| bad(k, v, "a duration"))?
                }
                "retryMaxElapsed" => {
                    o.retry_max_elapsed =
                        parse_duration(v).ok_or_else(|| bad(k, v, "a duration"))?
                }
                "required" => {
                    o.required = parse_bool(v).ok_or_else(|| bad(k, v, "true or false"))?
                }
                "abortOnError" => {
                    o.abort_on_error = parse_bool(v).ok_or_else(|| bad(k, v, "true or false"))?
                }
                _ => {}
            }
        }
        Ok((o, rest_arg, table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parsing() {
        let s =
            OutputSpec::parse("influxdb=http://h:8086/k6?a=b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, "influxdb");
        assert_eq!(s.arg.as_deref(), Some("http://h:8086/k6?a=b"));
        assert!(OutputSpec::parse("=x").is_err());
    }

    #[test]
    fn host_options_are_taken_out() {
        let table = serde_json::json!({"queueSize": 10, "addr": "x"});
        let (o, arg, rest) = HostOptions::extract(
            "statsd",
            Some("namespace=k6.,whenFull=block,required=true"),
            Some(&table),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.queue_size, 10);
        assert_eq!(o.when_full, WhenFull::Block);
        assert!(o.required);
        assert_eq!(arg.as_deref(), Some("namespace=k6."));
        assert_eq!(rest, serde_json::json!({"addr": "x"}));
        let (_, arg, _) =
            HostOptions::extract("csv", Some("out.csv"), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arg.as_deref(), Some("out.csv"));
        let (o, arg, _) = HostOptions::extract(
            "influxdb",
            Some("http://h:8086/k6?a=b,retryMaxElapsed=2s,required=true"),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arg.as_deref(), Some("http://h:8086/k6?a=b"));
        assert_eq!(o.retry_max_elapsed, Duration::from_secs(2));
        assert!(o.required);
        let err = HostOptions::extract("csv", Some("whenFull=never"), None);
        assert!(err.is_err());
    }

    #[test]
    fn quoted_values_reach_the_plugin_split_the_same_way() {
        let (o, arg, _) = HostOptions::extract(
            "json",
            Some(r#"file='out.json',exclude="http_reqs,vus",required='true'"#),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.required);
        let arg = arg.unwrap_or_default();
        let pairs = loadrun_plugin_api::options::split_pairs(&arg).unwrap_or_default();
        assert_eq!(pairs.get("file").map(String::as_str), Some("out.json"));
        assert_eq!(
            pairs.get("exclude").map(String::as_str),
            Some("http_reqs,vus")
        );
        let e = HostOptions::extract("json", Some(r#"file="out.json"#), None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("the value of option file opens a quote that is never closed"),
            "{e}"
        );
    }
}
