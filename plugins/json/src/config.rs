//! The json output's options. k6's json output has none beyond the file; ours adds the flush
//! interval, metric filters and array framing. Declared once in [`OUTPUT`]; sources, lowest to
//! highest: the plan's `[outputs.json]` table, `LOADRUN_JSON_*` environment variables, the
//! `-o json=...` argument.

use std::time::Duration;

use file_sink::Target;
use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Values,
};

use crate::filter::Filter;

pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(200);

#[rustfmt::skip]
const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("file", Kind::Str).aliases(&["fileName"]).env(&["LOADRUN_JSON_FILE"]).default("-").doc("the file to write (`-` is stdout, a .gz name is gzip); also the bare `-o json=FILE` argument"),
    OptionSpec::new("flushInterval", Kind::Duration).env(&["LOADRUN_JSON_FLUSH_INTERVAL"]).default("200ms").nonzero().doc("how often buffered records are written (k6: fixed 200ms)"),
    // `;` and `|` survive `K6_OUT`-style comma splitting.
    OptionSpec::new("include", Kind::List(',')).separators(";|").env(&["LOADRUN_JSON_INCLUDE"]).doc("only these metrics (names; `prefix*` matches by prefix; separate with , ; or |)"),
    OptionSpec::new("exclude", Kind::List(',')).separators(";|").env(&["LOADRUN_JSON_EXCLUDE"]).doc("leave these metrics out (as include)"),
    OptionSpec::new("jsonArray", Kind::Bool).env(&["LOADRUN_JSON_ARRAY"]).default("false").doc("frame the file as one JSON array instead of NDJSON (valid only once the run has stopped)"),
];

/// The json output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("json", &[])
    .describe("k6-compatible NDJSON (stdout by default; gzip when the name ends in .gz)")
    .options(OPTIONS)
    .positional(Positional::Value("file"));

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
        let v = Values::from_init(init, &OUTPUT)?;
        let list = |name| Ok::<_, PluginError>(v.opt(name)?.unwrap_or_default());
        Ok(Self {
            target: Target::from_name(&v.string("file")?),
            flush_interval: v.duration("flushInterval")?,
            filter: Filter::new(list("include")?, list("exclude")?),
            json_array: v.bool("jsonArray")?,
        })
    }
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
