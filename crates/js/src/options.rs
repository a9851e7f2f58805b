//! `export const options`, turned into the engine's [`Plan`] so the TOML path's checks apply
//! to it, plus the options only a script has.

use std::collections::BTreeMap;
use std::time::Duration;

use loadrun_engine::plan::{Dur, Plan};
use serde_json::{Map, Value};

use crate::spec::RequestDefaults;

/// An option loadrun refuses, in one line.
#[derive(Debug, thiserror::Error)]
#[error("{file}: export const options: {message}")]
pub struct OptionsError {
    pub file: String,
    pub message: String,
}

/// Options the engine's plan takes as they are (same names, same meaning).
const PLAN_OPTIONS: [&str; 14] = [
    "vus",
    "duration",
    "iterations",
    "stages",
    "scenarios",
    "thresholds",
    "tags",
    "summaryTrendStats",
    "summaryTimeUnit",
    "insecureSkipTLSVerify",
    "userAgent",
    "maxRedirects",
    "systemTags",
    "executionSegment",
];

/// Options only a script has, read here.
const SCRIPT_OPTIONS: [&str; 7] = [
    "batch",
    "batchPerHost",
    "noConnectionReuse",
    "discardResponseBodies",
    "setupTimeout",
    "teardownTimeout",
    "handleSummaryTimeout",
];

/// k6 options loadrun does not take from a script yet: refused rather than ignored.
const NOT_YET: [&str; 22] = [
    "blacklistIPs",
    "blockHostnames",
    "dns",
    "hosts",
    "httpDebug",
    "insecureSkipTlsVerify",
    "localIPs",
    "minIterationDuration",
    "noCookiesReset",
    "noVUConnectionReuse",
    "noUsageReport",
    "paused",
    "rps",
    "throw",
    "tlsAuth",
    "tlsCipherSuites",
    "tlsVersion",
    "discardResponseBodiesFor",
    "ext",
    "cloud",
    "executionSegmentSequence",
    "console",
];

/// What the options say, as the engine and the VUs take it.
#[derive(Debug)]
pub struct ScriptOptions {
    pub plan: Plan,
    pub defaults: RequestDefaults,
    pub setup_timeout: Duration,
    pub teardown_timeout: Duration,
    pub handle_summary_timeout: Duration,
}

/// k6's default for both lifecycle timeouts.
const LIFECYCLE_TIMEOUT: Duration = Duration::from_secs(60);
/// k6's default `handleSummaryTimeout`.
const HANDLE_SUMMARY_TIMEOUT: Duration = Duration::from_secs(120);

pub fn convert(options_json: Option<&str>, file: &str) -> Result<ScriptOptions, OptionsError> {
    let err = |message: String| OptionsError {
        file: file.to_string(),
        message,
    };
    let value: Value = match options_json {
        Some(text) => serde_json::from_str(text).map_err(|e| err(e.to_string()))?,
        None => Value::Object(Map::new()),
    };
    let Value::Object(all) = value else {
        return Err(err("options must be an object".into()));
    };
    let mut plan_part = Map::new();
    let mut defaults = RequestDefaults::default();
    let mut setup_timeout = LIFECYCLE_TIMEOUT;
    let mut teardown_timeout = LIFECYCLE_TIMEOUT;
    let mut handle_summary_timeout = HANDLE_SUMMARY_TIMEOUT;
    for (key, v) in all {
        if PLAN_OPTIONS.contains(&key.as_str()) {
            if !v.is_null() {
                plan_part.insert(key, v);
            }
            continue;
        }
        match key.as_str() {
            "noConnectionReuse" => defaults.no_connection_reuse = flag(&key, &v).map_err(err)?,
            "batch" => defaults.batch = count(&key, &v, 1).map_err(err)?,
            "batchPerHost" => defaults.batch_per_host = count(&key, &v, 0).map_err(err)?,
            "discardResponseBodies" => defaults.discard_bodies = flag(&key, &v).map_err(err)?,
            "setupTimeout" => setup_timeout = duration(&key, v).map_err(err)?,
            "teardownTimeout" => teardown_timeout = duration(&key, v).map_err(err)?,
            "handleSummaryTimeout" => {
                handle_summary_timeout = duration(&key, v).map_err(err)?;
            }
            k if NOT_YET.contains(&k) => {
                return Err(err(format!("option {k:?} is not supported by loadrun yet")))
            }
            k => {
                return Err(err(format!(
                    "unknown option {k:?}; loadrun takes {}",
                    PLAN_OPTIONS
                        .iter()
                        .chain(SCRIPT_OPTIONS.iter())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }
    let plan: Plan =
        serde_json::from_value(Value::Object(plan_part)).map_err(|e| err(e.to_string()))?;
    if let Some(ua) = &plan.user_agent {
        defaults.user_agent = ua.as_str().into();
    }
    defaults.max_redirects = plan.max_redirects;
    Ok(ScriptOptions {
        plan,
        defaults,
        setup_timeout,
        teardown_timeout,
        handle_summary_timeout,
    })
}

fn flag(key: &str, v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        other => Err(format!("{key}: expected true or false, got {other}")),
    }
}

/// A whole number of at least `min`.
fn count(key: &str, v: &Value, min: u64) -> Result<usize, String> {
    match v.as_u64() {
        Some(n) if n >= min => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(format!(
            "{key}: expected a whole number of at least {min}, got {v}"
        )),
    }
}

fn duration(key: &str, v: Value) -> Result<Duration, String> {
    serde_json::from_value::<Dur>(v)
        .map(|d| d.0)
        .map_err(|e| format!("{key}: {e}"))
}

/// Scenario name to the function it runs and its `env`: k6's default scenario runs
/// `default`.
pub fn scenario_functions(plan: &Plan) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    if plan.scenarios.is_empty() {
        return BTreeMap::from([(
            "default".to_string(),
            ("default".to_string(), BTreeMap::new()),
        )]);
    }
    plan.scenarios
        .iter()
        .map(|(name, s)| {
            (
                name.clone(),
                (
                    s.exec.clone().unwrap_or_else(|| "default".into()),
                    s.env.clone(),
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k6_options_become_the_plan() {
        let o = convert(
            Some(r#"{"vus":3,"duration":"2s","thresholds":{"http_req_duration":["p(95)<500"]},"noConnectionReuse":true,"setupTimeout":"5s","scenarios":{"a":{"executor":"constant-vus","vus":2,"duration":"1s","exec":"other"}}}"#),
            "s.js",
        )
        .unwrap();
        assert_eq!(o.plan.vus, Some(3));
        assert_eq!(o.plan.duration.map(|d| d.0), Some(Duration::from_secs(2)));
        assert!(o.plan.thresholds.contains_key("http_req_duration"));
        assert!(o.defaults.no_connection_reuse);
        assert_eq!(o.setup_timeout, Duration::from_secs(5));
        let f = scenario_functions(&o.plan);
        assert_eq!(f["a"].0, "other");
    }

    #[test]
    fn an_unsupported_option_is_one_line_naming_it() {
        let e = convert(Some(r#"{"hosts":{"a":"1.2.3.4"}}"#), "s.js").unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.js: export const options: option \"hosts\" is not supported by loadrun yet"
        );
        let e = convert(Some(r#"{"vuz":1}"#), "s.js").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("s.js: export const options: unknown option \"vuz\""),
            "{e}"
        );
        let e = convert(Some(r#"{"scenarios":{"a":{"executor":"constant-vus","vus":1,"duration":"1s","bogus":1}}}"#), "s.js").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }
}
