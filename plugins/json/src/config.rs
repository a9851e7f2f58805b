//! The json output's options. k6's json output has none beyond the file; ours adds the flush
//! interval, metric filters and array framing. Sources, lowest to highest: the plan's
//! `[outputs.json]` table, `LOADRUN_JSON_*` environment variables, the `-o json=...` argument.

use std::time::Duration;

use file_sink::Target;
use loadrun_plugin_api::options::{parse_bool, parse_duration};
use loadrun_plugin_api::{OutputInit, PluginError};

use crate::filter::Filter;

pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// Option names with their environment variables; `fileName` is an alias of `file`.
pub const FILE: (&str, &[&str]) = ("file", &["LOADRUN_JSON_FILE"]);
pub const FLUSH_INTERVAL: (&str, &[&str]) = ("flushInterval", &["LOADRUN_JSON_FLUSH_INTERVAL"]);
pub const INCLUDE: (&str, &[&str]) = ("include", &["LOADRUN_JSON_INCLUDE"]);
pub const EXCLUDE: (&str, &[&str]) = ("exclude", &["LOADRUN_JSON_EXCLUDE"]);
pub const JSON_ARRAY: (&str, &[&str]) = ("jsonArray", &["LOADRUN_JSON_ARRAY"]);

const KNOWN: &[&str] = &[
    "file",
    "fileName",
    "flushInterval",
    "include",
    "exclude",
    "jsonArray",
];
const LISTS: &[&str] = &["include", "exclude"];

#[derive(Debug, Clone, PartialEq)]
pub struct JsonConfig {
    pub target: Target,
    pub flush_interval: Duration,
    pub filter: Filter,
    /// Frame the whole file as one JSON array instead of NDJSON.
    pub json_array: bool,
}

impl JsonConfig {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let (positional, pairs) = match init.arg.as_ref().into_option() {
            Some(arg) => split_arg(arg.as_str())?,
            None => (None, Vec::new()),
        };
        let mut init = init.clone();
        init.arg = None.into();
        check_table_keys(&init)?;
        let mut options = loadrun_plugin_api::Options::from_init(&init)?;
        for (k, v) in &pairs {
            options.add_arg_pair(k, v);
        }
        let get = |(name, env): (&str, &[&str])| options.get(name, env);
        let file = positional
            .or_else(|| get(FILE))
            .or_else(|| options.get("fileName", &[]))
            .unwrap_or_default();
        let flush_interval = match get(FLUSH_INTERVAL) {
            None => DEFAULT_FLUSH_INTERVAL,
            Some(v) => parse_duration(&v).filter(|d| !d.is_zero()).ok_or_else(|| {
                options.invalid(
                    "flushInterval",
                    &v,
                    "a duration above zero such as 200ms or 1s",
                )
            })?,
        };
        let json_array = match get(JSON_ARRAY) {
            None => false,
            Some(v) => {
                parse_bool(&v).ok_or_else(|| options.invalid("jsonArray", &v, "true or false"))?
            }
        };
        let list = |o: (&str, &[&str])| get(o).map(|v| split_list(&v)).unwrap_or_default();
        Ok(Self {
            target: Target::from_name(&file),
            flush_interval,
            filter: Filter::new(list(INCLUDE), list(EXCLUDE)),
            json_array,
        })
    }
}

/// The file named first in the argument, and the `key=value` pairs.
type SplitArg = (Option<String>, Vec<(String, String)>);

/// `-o json=FILE` (no `=`: all of it is the file, as k6), or `key=value` pairs, optionally after
/// a file name: `out.json,jsonArray=true`. A piece without `=` after an `include`/`exclude`
/// pair continues its list: `include=http_reqs,http_req_duration`.
fn split_arg(arg: &str) -> Result<SplitArg, PluginError> {
    if arg.is_empty() {
        return Ok((None, Vec::new()));
    }
    if !arg.contains('=') {
        return Ok((Some(arg.to_string()), Vec::new()));
    }
    let mut file = None;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let pieces = loadrun_plugin_api::options::split_pieces(arg)
        .map_err(|e| PluginError::new(format!("json: {e}")))?;
    for (i, piece) in pieces.into_iter().enumerate() {
        match piece.key.map(|k| (k, piece.value.clone())) {
            Some((k, v)) => {
                let k = k.trim();
                if !KNOWN.contains(&k) {
                    return Err(PluginError::new(format!(
                        "unknown key {k:?} as argument for json output"
                    )));
                }
                pairs.push((k.to_string(), v.to_string()));
            }
            None if i == 0 => file = Some(piece.value),
            None => match pairs.last_mut() {
                Some((k, v)) if LISTS.contains(&k.as_str()) => {
                    v.push(',');
                    v.push_str(&piece.value);
                }
                _ => {
                    return Err(PluginError::new(format!(
                        "json: cannot read the argument {arg:?}: {:?} is not key=value (known keys: {})",
                        piece.value,
                        KNOWN.join(", ")
                    )))
                }
            },
        }
    }
    Ok((file, pairs))
}

fn check_table_keys(init: &OutputInit) -> Result<(), PluginError> {
    if let Ok(serde_json::Value::Object(map)) =
        serde_json::from_str::<serde_json::Value>(init.config_json.as_str())
    {
        for key in map.keys() {
            if !KNOWN.contains(&key.as_str()) {
                return Err(PluginError::new(format!(
                    "unknown key {key:?} in the [outputs.json] table; known keys: {}",
                    KNOWN.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Metric names separated by `,` `;` or `|` (`;` and `|` survive `K6_OUT`-style comma splitting).
fn split_list(v: &str) -> Vec<String> {
    v.split([',', ';', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use loadrun_plugin_api::testkit::init;

    fn cfg(
        arg: Option<&str>,
        table: &str,
        env: &[(&str, &str)],
    ) -> Result<JsonConfig, PluginError> {
        JsonConfig::from_init(&init("json", arg, table, env))
    }

    #[test]
    fn defaults_as_k6() {
        let c = cfg(None, "", &[]).unwrap();
        assert_eq!(c.target, Target::Stdout);
        assert_eq!(c.flush_interval, Duration::from_millis(200));
        assert!(!c.json_array);
        assert!(c.filter.wants("anything"));
        assert_eq!(
            cfg(Some("out.json"), "", &[]).unwrap().target,
            Target::from_name("out.json")
        );
        assert_eq!(cfg(Some("-"), "", &[]).unwrap().target, Target::Stdout);
    }

    #[test]
    fn quoted_values_are_unquoted() {
        let c = cfg(Some(r#"o.json,exclude="vus,vus_max""#), "", &[]).unwrap();
        assert_eq!(c.target, Target::from_name("o.json"));
        assert!(!c.filter.wants("vus"));
        assert!(!c.filter.wants("vus_max"));
        assert!(c.filter.wants("http_reqs"));
        let c = cfg(Some("file='x.json'"), "", &[]).unwrap();
        assert_eq!(c.target, Target::from_name("x.json"));
        let e = cfg(Some(r#"o.json,exclude="vus"#), "", &[]).err().unwrap();
        assert!(
            e.to_string()
                .contains("the value of option exclude opens a quote that is never closed"),
            "{e}"
        );
    }

    #[test]
    fn pairs_and_lists() {
        let c = cfg(
            Some("file=out.json.gz,flushInterval=1s,include=http_reqs,http_req_duration,jsonArray=true"),
            "",
            &[],
        )
        .unwrap();
        assert_eq!(c.target, Target::from_name("out.json.gz"));
        assert_eq!(c.flush_interval, Duration::from_secs(1));
        assert!(c.json_array);
        assert!(c.filter.wants("http_req_duration"));
        assert!(!c.filter.wants("vus"));
        let c = cfg(Some("o.json,exclude=vus;vus_max"), "", &[]).unwrap();
        assert_eq!(c.target, Target::from_name("o.json"));
        assert!(!c.filter.wants("vus_max"));
        assert!(c.filter.wants("http_reqs"));
    }

    #[test]
    fn precedence() {
        let table = r#"{"file":"t.json","include":["a","b"],"jsonArray":true}"#;
        let c = cfg(None, table, &[]).unwrap();
        assert_eq!(c.target, Target::from_name("t.json"));
        assert!(c.filter.wants("b") && !c.filter.wants("c"));
        assert!(c.json_array);
        let env = [
            ("LOADRUN_JSON_FILE", "e.json"),
            ("LOADRUN_JSON_ARRAY", "false"),
        ];
        let c = cfg(None, table, &env).unwrap();
        assert_eq!(c.target, Target::from_name("e.json"));
        assert!(!c.json_array);
        let c = cfg(Some("file=a.json"), table, &env).unwrap();
        assert_eq!(c.target, Target::from_name("a.json"));
    }

    #[test]
    fn errors() {
        let e = cfg(Some("file=a.json,foo=1"), "", &[]).err().unwrap();
        assert_eq!(
            e.to_string(),
            "unknown key \"foo\" as argument for json output"
        );
        assert!(cfg(None, r#"{"nope":1}"#, &[]).is_err());
        assert!(cfg(Some("jsonArray=maybe"), "", &[]).is_err());
        assert!(cfg(Some("flushInterval=soon"), "", &[]).is_err());
        assert!(cfg(Some("jsonArray=true,stray"), "", &[]).is_err());
    }
}
