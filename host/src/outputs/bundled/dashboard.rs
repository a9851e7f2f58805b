//! The host's side of the bundled web dashboard: `K6_WEB_DASHBOARD=true` adds it as if
//! `-o web-dashboard` were given, and what the Output ABI does not carry reaches it through
//! fields reserved for later additions: the scenarios in `TestMeta.extra` (`"scenarios"`), the
//! end-of-test summary in `RunOutcome.extra` (`"summary"`), and the outputs' live health through
//! `out_web_dashboard::host_link` (installed by `OutputSet::link_dashboard`).

use loadrun_engine::Engine;
use serde_json::{json, Value};

/// The output's `-o` name.
pub const NAME: &str = "web-dashboard";

/// The environment variable that enables the dashboard, as k6 names it.
pub const ENABLE_ENV: &str = "K6_WEB_DASHBOARD";

/// `-o` arguments with the dashboard added when `K6_WEB_DASHBOARD` is true and no `-o` names it.
pub fn with_env(out: &[String], env: Option<&str>) -> Result<Vec<String>, String> {
    let mut out = out.to_vec();
    let Some(value) = env else {
        return Ok(out);
    };
    let enabled = match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => true,
        "false" | "0" | "no" | "off" | "" => false,
        _ => return Err(format!("{ENABLE_ENV}={value:?}: expected true or false")),
    };
    let named = out
        .iter()
        .any(|o| o.split('=').next().map(str::trim) == Some(NAME));
    if enabled && !named {
        out.push(NAME.to_string());
    }
    Ok(out)
}

/// The scenarios as the dashboard's `config` event lists them.
pub fn scenarios(engine: &Engine) -> Value {
    Value::Array(
        engine
            .scenarios()
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "executor": s.executor.name(),
                    "startMs": s.start_time.as_millis() as u64,
                    "plannedMs": s.exec.duration().as_millis() as u64,
                    "gracefulStopMs": s.graceful_stop.as_millis() as u64,
                })
            })
            .collect(),
    )
}

/// `RunOutcome.extra` carrying the summary (the `--summary-export` JSON plus the text as
/// printed), for the dashboard's `stop` event; other outputs ignore it.
pub fn outcome_extra(mut export: Value, text: &str) -> String {
    if let Some(obj) = export.as_object_mut() {
        obj.insert("text".into(), Value::String(text.to_string()));
    }
    json!({ "summary": export }).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn env_adds_the_dashboard_once() {
        assert_eq!(with_env(&s(&["csv"]), None), Ok(s(&["csv"])));
        assert_eq!(
            with_env(&s(&["csv"]), Some("true")),
            Ok(s(&["csv", "web-dashboard"]))
        );
        assert_eq!(with_env(&s(&[]), Some("false")), Ok(s(&[])));
        assert_eq!(
            with_env(&s(&["web-dashboard=port=0"]), Some("TRUE")),
            Ok(s(&["web-dashboard=port=0"]))
        );
        let e = with_env(&s(&[]), Some("maybe")).unwrap_err();
        assert!(e.starts_with("K6_WEB_DASHBOARD=\"maybe\""), "{e}");
    }
}
