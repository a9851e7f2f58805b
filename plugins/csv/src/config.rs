//! The csv output's options: `-o csv[=FILE]`, `-o csv=fileName=F,timeFormat=T,saveInterval=D`,
//! the plan's `[outputs.csv]` table (camelCase, or k6's config-file snake_case keys) and the
//! environment (`K6_CSV_*`, as k6). Declared once in [`OUTPUT`]; the SDK merges and checks them.

use std::time::Duration;

use file_sink::Target;
use loadrun_plugin_api::{
    DeclaredOutput, Kind, OptionSpec, OutputInit, PluginError, Positional, Values,
};

pub const DEFAULT_FILE: &str = "file.csv";
pub const DEFAULT_SAVE_INTERVAL: Duration = Duration::from_secs(1);

#[rustfmt::skip]
const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("fileName", Kind::Str).aliases(&["file_name"]).env(&["K6_CSV_FILENAME"]).default(DEFAULT_FILE).doc("the file to write; `-` is stdout, a .gz name is gzip; also the bare `-o csv=FILE` argument"),
    OptionSpec::new("timeFormat", Kind::Enum(TimeFormat::WORDS)).aliases(&["time_format"]).env(&["K6_CSV_TIME_FORMAT"]).default("unix").doc("timestamp column (rfc3339 ones in UTC)"),
    OptionSpec::new("saveInterval", Kind::Duration).aliases(&["save_interval"]).env(&["K6_CSV_SAVE_INTERVAL"]).default("1s").nonzero().doc("how often buffered lines are written to the file"),
];

/// The csv output, as the plugin declares it.
pub const OUTPUT: DeclaredOutput = DeclaredOutput::new("csv", &[])
    .describe("k6-compatible CSV file (or stdout with `-`; gzip when the name ends in .gz)")
    .options(OPTIONS)
    .positional(Positional::Value("fileName"));

loadrun_plugin_api::words! {
    /// How the `timestamp` column is written: whole seconds (k6's default), milli-, micro- or
    /// nanoseconds, or RFC 3339 in UTC (`2026-11-25T12:03:27Z`, `2026-11-25T12:03:27.55398078Z`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TimeFormat {
        Unix = "unix", UnixMilli = "unix_milli", UnixMicro = "unix_micro", UnixNano = "unix_nano",
        Rfc3339 = "rfc3339", Rfc3339Nano = "rfc3339_nano",
    }
}

/// Everything the csv output needs to know, resolved and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvConfig {
    pub target: Target,
    pub time_format: TimeFormat,
    pub save_interval: Duration,
    /// The enabled system tags (names as `--system-tags` gives them).
    pub system_tags: Vec<String>,
}

impl CsvConfig {
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let v = Values::from_init(init, &OUTPUT)?;
        Ok(Self {
            target: Target::from_name(&v.string("fileName")?),
            time_format: v.get("timeFormat")?,
            save_interval: v.duration("saveInterval")?,
            system_tags: init.test.system_tags_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use loadrun_plugin_api::testkit::init;

    fn cfg(arg: Option<&str>, table: &str, env: &[(&str, &str)]) -> Result<CsvConfig, PluginError> {
        CsvConfig::from_init(&init("csv", arg, table, env))
    }

    #[test]
    fn defaults_as_k6() {
        let c = cfg(None, "", &[]).unwrap();
        assert_eq!(c.target, Target::from_name("file.csv"));
        assert_eq!(c.time_format, TimeFormat::Unix);
        assert_eq!(c.save_interval, Duration::from_secs(1));
        assert_eq!(c.system_tags.len(), 14);
    }

    #[test]
    fn arg_forms() {
        assert_eq!(
            cfg(Some("x.csv"), "", &[]).unwrap().target,
            Target::from_name("x.csv")
        );
        assert_eq!(cfg(Some("-"), "", &[]).unwrap().target, Target::Stdout);
        let c = cfg(
            Some("fileName=y.csv.gz,timeFormat=rfc3339_nano,saveInterval=500ms"),
            "",
            &[],
        )
        .unwrap();
        assert_eq!(c.target, Target::from_name("y.csv.gz"));
        assert_eq!(c.time_format, TimeFormat::Rfc3339Nano);
        assert_eq!(c.save_interval, Duration::from_millis(500));
        let c = cfg(Some("z.csv,timeFormat=unix_milli"), "", &[]).unwrap();
        assert_eq!(c.target, Target::from_name("z.csv"));
        assert_eq!(c.time_format, TimeFormat::UnixMilli);
    }

    #[test]
    fn precedence_table_env_arg() {
        let table = r#"{"file_name":"t.csv","time_format":"unix_micro","saveInterval":"2s"}"#;
        let c = cfg(None, table, &[]).unwrap();
        assert_eq!(c.target, Target::from_name("t.csv"));
        assert_eq!(c.time_format, TimeFormat::UnixMicro);
        assert_eq!(c.save_interval, Duration::from_secs(2));
        let env = [
            ("K6_CSV_FILENAME", "e.csv"),
            ("K6_CSV_TIME_FORMAT", "unix_nano"),
        ];
        let c = cfg(None, table, &env).unwrap();
        assert_eq!(c.target, Target::from_name("e.csv"));
        assert_eq!(c.time_format, TimeFormat::UnixNano);
        let c = cfg(Some("a.csv"), table, &env).unwrap();
        assert_eq!(c.target, Target::from_name("a.csv"));
        let c = cfg(Some("timeFormat=rfc3339"), table, &env).unwrap();
        assert_eq!(c.time_format, TimeFormat::Rfc3339);
    }

    #[test]
    fn errors() {
        let e = cfg(None, r#"{"bogus":1}"#, &[]).err().unwrap();
        assert!(e.to_string().contains("unknown key \"bogus\""), "{e}");
        let e = cfg(Some("fileName=a.csv,foo=1"), "", &[]).err().unwrap();
        assert_eq!(
            e.to_string(),
            "unknown key \"foo\" as argument for csv output"
        );
        let e = cfg(Some("timeFormat=iso"), "", &[]).err().unwrap();
        assert!(e.to_string().contains("timeFormat"), "{e}");
        assert!(cfg(Some("saveInterval=0s"), "", &[]).is_err());
        assert!(cfg(Some("a.csv,b.csv=1,c"), "", &[]).is_err());
    }

    #[test]
    fn system_tags_from_test_extra() {
        let mut i = init("csv", None, "", &[]);
        i.test.extra = r#"{"systemTags":["url","status","method"]}"#.into();
        let c = CsvConfig::from_init(&i).unwrap();
        assert_eq!(c.system_tags, vec!["url", "status", "method"]);
    }
}
