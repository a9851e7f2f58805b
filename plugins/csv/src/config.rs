//! The csv output's options: `-o csv[=FILE]`, `-o csv=fileName=F,timeFormat=T,saveInterval=D`,
//! the plan's `[outputs.csv]` table (camelCase, or k6's config-file snake_case keys) and the
//! environment (`K6_CSV_*`, as k6).

use std::time::Duration;

use file_sink::Target;
use loadrun_plugin_api::options::split_pairs;
use loadrun_plugin_api::{OutputInit, PluginError};

use crate::system_tags;

/// `(camelCase name, k6 config-file name, environment variables)`.
const FILE_NAME: (&str, &str, &[&str]) = ("fileName", "file_name", &["K6_CSV_FILENAME"]);
const TIME_FORMAT: (&str, &str, &[&str]) = ("timeFormat", "time_format", &["K6_CSV_TIME_FORMAT"]);
const SAVE_INTERVAL: (&str, &str, &[&str]) =
    ("saveInterval", "save_interval", &["K6_CSV_SAVE_INTERVAL"]);

const KNOWN: &[&str] = &[
    "fileName",
    "file_name",
    "timeFormat",
    "time_format",
    "saveInterval",
    "save_interval",
];

pub const DEFAULT_FILE: &str = "file.csv";
pub const DEFAULT_SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// How the `timestamp` column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Whole seconds (k6's default).
    Unix,
    UnixMilli,
    UnixMicro,
    UnixNano,
    /// `2026-11-25T12:03:27Z`
    Rfc3339,
    /// `2026-11-25T12:03:27.55398078Z`
    Rfc3339Nano,
}

impl TimeFormat {
    pub const NAMES: &'static [&'static str] = &[
        "unix",
        "unix_milli",
        "unix_micro",
        "unix_nano",
        "rfc3339",
        "rfc3339_nano",
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim() {
            "unix" => TimeFormat::Unix,
            "unix_milli" => TimeFormat::UnixMilli,
            "unix_micro" => TimeFormat::UnixMicro,
            "unix_nano" => TimeFormat::UnixNano,
            "rfc3339" => TimeFormat::Rfc3339,
            "rfc3339_nano" => TimeFormat::Rfc3339Nano,
            _ => return None,
        })
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
        let mut init = init.clone();
        let mut positional = None;
        if let Some(arg) = init.arg.as_ref().into_option().map(|a| a.to_string()) {
            let (file, pairs) = split_arg(&arg)?;
            positional = file;
            init.arg = pairs.map(Into::into).into();
        }
        check_keys(&init)?;
        let options = loadrun_plugin_api::Options::from_init(&init)?;
        let get = |(camel, snake, env): (&str, &str, &[&str])| {
            options.get(camel, env).or_else(|| options.get(snake, &[]))
        };
        let file = positional
            .or_else(|| get(FILE_NAME))
            .unwrap_or_else(|| DEFAULT_FILE.to_string());
        let time_format = match get(TIME_FORMAT) {
            None => TimeFormat::Unix,
            Some(t) => TimeFormat::parse(&t).ok_or_else(|| {
                options.invalid(
                    "timeFormat",
                    &t,
                    &format!("one of {}", TimeFormat::NAMES.join(", ")),
                )
            })?,
        };
        let save_interval = match get(SAVE_INTERVAL) {
            None => DEFAULT_SAVE_INTERVAL,
            Some(v) => loadrun_plugin_api::options::parse_duration(&v)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    options.invalid(
                        "saveInterval",
                        &v,
                        "a duration above zero such as 1s or 500ms",
                    )
                })?,
        };
        Ok(Self {
            target: Target::from_name(&file),
            time_format,
            save_interval,
            system_tags: system_tags::enabled(&init),
        })
    }
}

/// Splits the `-o` argument into a file name and `key=value` pairs. As k6: with no `=` at all,
/// the whole argument is the file name; otherwise it is pairs. Beyond k6: `out.csv,timeFormat=unix_milli`
/// (a file name, then pairs) is accepted too.
fn split_arg(arg: &str) -> Result<(Option<String>, Option<String>), PluginError> {
    if arg.is_empty() {
        return Ok((None, None));
    }
    if !arg.contains('=') {
        return Ok((Some(arg.to_string()), None));
    }
    if split_pairs(arg).is_some() {
        return Ok((None, Some(arg.to_string())));
    }
    if let Some((first, rest)) = arg.split_once(',') {
        if !first.contains('=') && split_pairs(rest).is_some() {
            return Ok((Some(first.to_string()), Some(rest.to_string())));
        }
    }
    Err(PluginError::new(format!(
        "csv: cannot read the argument {arg:?}: expected FILE, or key=value pairs such as fileName=out.csv,timeFormat=unix_milli"
    )))
}

/// k6's message for an unknown key in the argument; the plan table gets the same treatment.
fn check_keys(init: &OutputInit) -> Result<(), PluginError> {
    if let Some(arg) = init.arg.as_ref().into_option() {
        for key in split_pairs(arg.as_str()).unwrap_or_default().keys() {
            if !KNOWN.contains(&key.as_str()) {
                return Err(PluginError::new(format!(
                    "unknown key {key:?} as argument for csv output"
                )));
            }
        }
    }
    if let Ok(serde_json::Value::Object(map)) =
        serde_json::from_str::<serde_json::Value>(init.config_json.as_str())
    {
        for key in map.keys() {
            if !KNOWN.contains(&key.as_str()) {
                return Err(PluginError::new(format!(
                    "unknown key {key:?} in the [outputs.csv] table; known keys: {}",
                    KNOWN.join(", ")
                )));
            }
        }
    }
    Ok(())
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
        let c = cfg(Some("timeFormat=rfc3339"), table, &env).unwrap();
        assert_eq!(c.time_format, TimeFormat::Rfc3339);
        let c = cfg(Some("a.csv"), table, &env).unwrap();
        assert_eq!(c.target, Target::from_name("a.csv"));
    }

    #[test]
    fn errors() {
        let e = cfg(Some("fileName=a.csv,foo=1"), "", &[]).err().unwrap();
        assert_eq!(
            e.to_string(),
            "unknown key \"foo\" as argument for csv output"
        );
        let e = cfg(None, r#"{"bogus":1}"#, &[]).err().unwrap();
        assert!(e.to_string().contains("unknown key \"bogus\""), "{e}");
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
