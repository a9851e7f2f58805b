//! `-o NAME[=ARG]` and the host-owned options every output shares.

use std::time::Duration;

use loadrun_plugin_api::declaration::DeclaredOutput;
use loadrun_plugin_api::options::{join_pair, try_split_pairs};
use loadrun_plugin_api::spec::{Kind, OptionSpec};
use loadrun_plugin_api::values::{RawOptions, Values};

use super::{OutputError, PlanPlaces};

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
/// `-o` argument's `key=value` pairs and the plan table before the plugin sees them. Each field
/// is the option of the same (camelCase) name in [`HOST_OPTIONS`], where it is documented.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOptions {
    pub queue_size: usize,
    pub when_full: WhenFull,
    pub retry_initial: Duration,
    pub retry_max_delay: Duration,
    pub retry_max_elapsed: Duration,
    pub required: bool,
    pub abort_on_error: bool,
}

/// The host's own options, declared once like a plugin's: checked by the same merge
/// ([`Values::resolve`]), shown by `plugins info` and the man page from this table.
pub const HOST_OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("queueSize", Kind::Int { min: 1, max: i64::MAX })
        .default("1000000")
        .doc("samples the output's queue may hold before whenFull applies"),
    OptionSpec::new("whenFull", Kind::Enum(&["drop_oldest", "dropOldest", "block"]))
        .default("drop_oldest")
        .doc("when the queue is full: drop the oldest batch (counted), or block, which slows the VUs and distorts the test"),
    OptionSpec::new("retryInitial", Kind::Duration)
        .default("100ms")
        .doc("first retry delay; doubles with jitter on each further retry"),
    OptionSpec::new("retryMaxDelay", Kind::Duration)
        .default("5s")
        .doc("longest single retry delay"),
    OptionSpec::new("retryMaxElapsed", Kind::Duration)
        .default("30s")
        .doc("after this long retrying one batch, drop it (counted as retries_exhausted)"),
    OptionSpec::new("required", Kind::Bool)
        .default("false")
        .doc("a failure of this output fails the run (exit 104) instead of quarantining the output"),
    OptionSpec::new("abortOnError", Kind::Bool)
        .default("false")
        .doc("the plugin may stop the test through the host API"),
];

/// [`HOST_OPTIONS`] as a declaration, so they go through the plugins' option checking.
pub const HOST_DECLARATION: DeclaredOutput = DeclaredOutput::new("host options", &[])
    .describe("Options the host applies to every output, whatever its plugin.")
    .options(HOST_OPTIONS);

/// Whether `key` is one of the host's options (taken out before the plugin sees its options).
pub fn is_host_option(key: &str) -> bool {
    HOST_OPTIONS.iter().any(|o| o.is_called(key))
}

impl HostOptions {
    /// [`HostOptions::extract_placed`] for a plan whose lines are not known.
    pub fn extract(
        output: &str,
        arg: Option<&str>,
        table: Option<&serde_json::Value>,
    ) -> Result<(HostOptions, Option<String>, serde_json::Value), OutputError> {
        Self::extract_placed(output, arg, table, &PlanPlaces::default())
    }

    /// Takes the host options out of an output's `-o` argument and plan table and checks them
    /// as declared in [`HOST_OPTIONS`] (errors name the source); returns them and what is left
    /// for the plugin.
    pub fn extract_placed(
        output: &str,
        arg: Option<&str>,
        table: Option<&serde_json::Value>,
        places: &PlanPlaces,
    ) -> Result<(HostOptions, Option<String>, serde_json::Value), OutputError> {
        let mut raw = RawOptions {
            output: output.to_string(),
            ..Default::default()
        };
        let mut table = table
            .cloned()
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
        if let serde_json::Value::Object(map) = &mut table {
            let keys: Vec<String> = map.keys().filter(|k| is_host_option(k)).cloned().collect();
            for key in keys {
                if let Some(v) = map.remove(&key) {
                    let place = places.source(output, &key);
                    raw.plan.push((key, v, place));
                }
            }
        }
        let mut found: Vec<(String, String)> = Vec::new();
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
                        Some((k, v)) if is_host_option(k.trim()) => {
                            found.push((k.trim().to_string(), v.to_string()));
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
                    if is_host_option(&k) {
                        found.push((k, v));
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
        if !found.is_empty() {
            raw.arg = Some(
                found
                    .iter()
                    .map(|(k, v)| join_pair(k, v))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        let values = Values::resolve(&HOST_DECLARATION, &raw)
            .map_err(|e| OutputError::Options(e.to_string()))?;
        let options =
            Self::from_values(&values).map_err(|e| OutputError::Options(e.to_string()))?;
        Ok((options, rest_arg, table))
    }

    fn from_values(v: &Values) -> Result<Self, loadrun_plugin_api::PluginError> {
        Ok(Self {
            queue_size: v.get("queueSize")?,
            when_full: match v.string("whenFull")?.as_str() {
                "block" => WhenFull::Block,
                _ => WhenFull::DropOldest,
            },
            retry_initial: v.duration("retryInitial")?,
            retry_max_delay: v.duration("retryMaxDelay")?,
            retry_max_elapsed: v.duration("retryMaxElapsed")?,
            required: v.bool("required")?,
            abort_on_error: v.bool("abortOnError")?,
        })
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
    fn a_bad_host_option_names_its_source() {
        let error = |arg: Option<&str>, table: Option<&serde_json::Value>, places: &PlanPlaces| {
            HostOptions::extract_placed("csv", arg, table, places)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let expected = "is not valid: expected one of drop_oldest, dropOldest, block";
        let plan = "[outputs.csv]\nfileName = \"a.csv\"\nwhenFull = \"never\"\n";
        let places = PlanPlaces::from_file("plan.toml", plan);
        let table = serde_json::json!({"fileName": "a.csv", "whenFull": "never"});
        assert_eq!(
            error(None, Some(&table), &places),
            format!(
                "csv: option whenFull=\"never\" from plan.toml [outputs.csv] line 3 {expected}"
            )
        );
        for arg in ["whenFull=never", "out.csv,whenFull=never"] {
            assert_eq!(
                error(Some(arg), None, &places),
                format!("csv: option whenFull=\"never\" from -o csv=... {expected}")
            );
        }
        // The `-o` argument wins over the plan, as for a plugin's options.
        let (o, _, _) =
            HostOptions::extract_placed("csv", Some("whenFull=block"), Some(&table), &places)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.when_full, WhenFull::Block);
        assert_eq!(
            error(Some("queueSize=0"), None, &places),
            format!(
                "csv: option queueSize=\"0\" from -o csv=... is not valid: expected {}",
                Kind::Int {
                    min: 1,
                    max: i64::MAX
                }
                .expected()
            )
        );
    }

    #[test]
    fn defaults_come_from_the_declaration() {
        let (o, arg, rest) =
            HostOptions::extract("csv", None, None).unwrap_or_else(|e| panic!("{e}"));
        // The defaults live in the declaration only; these are the values they always had.
        assert_eq!(
            o,
            HostOptions {
                queue_size: 1_000_000,
                when_full: WhenFull::DropOldest,
                retry_initial: Duration::from_millis(100),
                retry_max_delay: Duration::from_secs(5),
                retry_max_elapsed: Duration::from_secs(30),
                required: false,
                abort_on_error: false,
            }
        );
        assert_eq!(arg, None);
        assert_eq!(rest, serde_json::json!({}));
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
