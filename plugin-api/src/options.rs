//! Option resolution shared by every output, so all of them behave alike.
//!
//! Precedence, lowest to highest: the plugin's defaults, the plan's `[outputs.NAME]` table,
//! environment variables (k6's names included), the `-o NAME=ARG` argument.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::abi::{OutputInit, PluginError};

/// The layered options of one output instance.
#[derive(Debug, Clone, Default)]
pub struct Options {
    output: String,
    arg_pairs: BTreeMap<String, String>,
    positional: Option<String>,
    config: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
}

impl Options {
    /// Reads the plan table, the environment and the `-o` argument.
    ///
    /// The argument is split into `key=value` pairs when every comma-separated piece has an `=`;
    /// otherwise the whole of it is the positional value (a file name or a URL, see
    /// [`Options::positional`]).
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let output = init.output_name.to_string();
        let config = parse_config(&output, init.config_json.as_str())?;
        let env = init
            .env
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect();
        let mut options = Options {
            output,
            config,
            env,
            ..Default::default()
        };
        if let Some(arg) = init.arg.as_ref().into_option() {
            let arg = arg.as_str();
            match try_split_pairs(arg) {
                Ok(Some(pairs)) => options.arg_pairs = pairs,
                Ok(None) => options.positional = Some(arg.to_string()),
                Err(e) => {
                    return Err(PluginError::new(format!("{}: {e}", options.output)));
                }
            }
        }
        Ok(options)
    }

    /// The `-o` argument when it is not `key=value` pairs: a file name or a URL.
    pub fn positional(&self) -> Option<&str> {
        self.positional.as_deref()
    }

    /// Adds pairs that come with the positional argument (e.g. a URL's query), at the `-o`
    /// argument's precedence.
    pub fn add_arg_pair(&mut self, key: &str, value: &str) {
        self.arg_pairs.insert(key.to_string(), value.to_string());
    }

    /// The name of the output these options are for.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// The highest-precedence value of option `name`, also looked up under `env_names`.
    pub fn get(&self, name: &str, env_names: &[&str]) -> Option<String> {
        if let Some(v) = self.arg_pairs.get(name) {
            return Some(v.clone());
        }
        for e in env_names {
            if let Some(v) = self.env.get(*e) {
                return Some(v.clone());
            }
        }
        self.config.get(name).cloned()
    }

    /// Like [`Options::get`], with a default.
    pub fn get_or(&self, name: &str, env_names: &[&str], default: &str) -> String {
        self.get(name, env_names)
            .unwrap_or_else(|| default.to_string())
    }

    pub fn get_bool(
        &self,
        name: &str,
        env_names: &[&str],
        default: bool,
    ) -> Result<bool, PluginError> {
        match self.get(name, env_names) {
            None => Ok(default),
            Some(v) => parse_bool(&v).ok_or_else(|| self.invalid(name, &v, "true or false")),
        }
    }

    pub fn get_u64(
        &self,
        name: &str,
        env_names: &[&str],
        default: u64,
    ) -> Result<u64, PluginError> {
        match self.get(name, env_names) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| self.invalid(name, &v, "a whole number")),
        }
    }

    pub fn get_f64(
        &self,
        name: &str,
        env_names: &[&str],
        default: f64,
    ) -> Result<f64, PluginError> {
        match self.get(name, env_names) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| self.invalid(name, &v, "a number")),
        }
    }

    pub fn get_duration(
        &self,
        name: &str,
        env_names: &[&str],
        default: Duration,
    ) -> Result<Duration, PluginError> {
        match self.get(name, env_names) {
            None => Ok(default),
            Some(v) => parse_duration(&v)
                .ok_or_else(|| self.invalid(name, &v, "a duration such as 1s, 500ms or 1m30s")),
        }
    }

    /// A comma-separated list (a JSON array in the plan works too).
    pub fn get_list(&self, name: &str, env_names: &[&str]) -> Option<Vec<String>> {
        self.get(name, env_names).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    /// Fails on a key in the `-o` argument or the plan table that is not in `known`.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), PluginError> {
        for (key, place) in self
            .arg_pairs
            .keys()
            .map(|k| (k, "-o argument"))
            .chain(self.config.keys().map(|k| (k, "plan table")))
        {
            if !known.contains(&key.as_str()) {
                return Err(PluginError::new(format!(
                    "{}: unknown option {key:?} in the {place}; known options: {}",
                    self.output,
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// An error naming the option, the bad value and what was expected.
    pub fn invalid(&self, name: &str, value: &str, expected: &str) -> PluginError {
        PluginError::new(format!(
            "{}: option {name}={value:?} is not valid: expected {expected}",
            self.output
        ))
    }
}

fn parse_config(output: &str, json: &str) -> Result<BTreeMap<String, String>, PluginError> {
    let json = json.trim();
    if json.is_empty() {
        return Ok(BTreeMap::new());
    }
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        PluginError::new(format!("{output}: the plan table is not valid JSON: {e}"))
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(PluginError::new(format!(
            "{output}: the plan table must be a table of options"
        )));
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            serde_json::Value::Null => continue,
            other => other.to_string(),
        };
        out.insert(k, text);
    }
    Ok(out)
}

/// A value in the `-o` argument opens a quote it never closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnterminatedQuote {
    /// The option whose value it is.
    pub key: String,
}

impl std::fmt::Display for UnterminatedQuote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the value of option {} opens a quote that is never closed",
            self.key
        )
    }
}

impl std::error::Error for UnterminatedQuote {}

/// One comma-separated piece of an `-o` argument: `key=value`, or a bare value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub key: Option<String>,
    pub value: String,
    /// The value was quoted (so its commas and a leading quote are its own).
    pub quoted: bool,
    /// The piece as written, quotes included.
    pub raw: String,
}

/// Splits an `-o` argument on the commas outside quotes. A value may be wrapped in double or
/// single quotes (`exclude="a,b"`, `file='x y.json'`): the quotes are removed and commas inside
/// them do not split. Keys are not trimmed here.
pub fn split_pieces(arg: &str) -> Result<Vec<Piece>, UnterminatedQuote> {
    let mut out = Vec::new();
    let mut rest = arg;
    loop {
        let stop = rest.find([',', '=']).unwrap_or(rest.len());
        if rest[stop..].starts_with('=') {
            let key = &rest[..stop];
            let after = &rest[stop + 1..];
            let (value, quoted, tail) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                    Some(end) => (after[1..1 + end].to_string(), true, &after[2 + end..]),
                    None => {
                        return Err(UnterminatedQuote {
                            key: key.trim().to_string(),
                        })
                    }
                },
                _ => (String::new(), false, after),
            };
            // Text after a closing quote, up to the next comma, belongs to the value too.
            let end = tail.find(',').unwrap_or(tail.len());
            let mut value = value;
            value.push_str(&tail[..end]);
            let raw_len = rest.len() - tail.len() + end;
            out.push(Piece {
                key: Some(key.to_string()),
                value,
                quoted,
                raw: rest[..raw_len].to_string(),
            });
            if end == tail.len() {
                return Ok(out);
            }
            rest = &tail[end + 1..];
        } else {
            out.push(Piece {
                key: None,
                value: rest[..stop].to_string(),
                quoted: false,
                raw: rest[..stop].to_string(),
            });
            if stop == rest.len() {
                return Ok(out);
            }
            rest = &rest[stop + 1..];
        }
    }
}

/// Writes one pair so that [`split_pairs`] reads it back unchanged: values holding a comma or
/// starting with a quote are quoted.
pub fn join_pair(key: &str, value: &str) -> String {
    let needs = value.contains(',') || value.starts_with(['"', '\'']);
    if needs && !value.contains('"') {
        format!("{key}=\"{value}\"")
    } else if needs && !value.contains('\'') {
        format!("{key}='{value}'")
    } else {
        format!("{key}={value}")
    }
}

/// Splits `a=1,b=2` into pairs; `None` if the first piece lacks an `=` or a key looks like part
/// of a URL (then the argument is positional). A piece without `=` continues the previous value,
/// so lists work: `tagBlocklist=vu,iter,url` is one pair. An unterminated quote makes it `None`;
/// use [`try_split_pairs`] to report it.
pub fn split_pairs(arg: &str) -> Option<BTreeMap<String, String>> {
    try_split_pairs(arg).ok().flatten()
}

/// [`split_pairs`], with an unterminated quote in a pair's value as an error.
pub fn try_split_pairs(arg: &str) -> Result<Option<BTreeMap<String, String>>, UnterminatedQuote> {
    if arg.is_empty() {
        return Ok(Some(BTreeMap::new()));
    }
    let positional = |k: &str| k.is_empty() || k.contains(['/', ':', '?', ' ']);
    // Decide positional before quotes matter: a URL may hold a lone quote.
    let first = arg.split(',').find(|p| !p.trim().is_empty()).unwrap_or("");
    match first.split_once('=') {
        Some((k, _)) if !positional(k.trim()) => {}
        _ => return Ok(None),
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in split_pieces(arg)? {
        match piece.key {
            Some(k) => {
                let k = k.trim();
                if positional(k) {
                    return Ok(None);
                }
                out.push((k.to_string(), piece.value));
            }
            // A trailing or doubled comma (`a=1,` or `a=1,,b=2`) separates nothing.
            None if piece.value.trim().is_empty() => {}
            None => {
                let Some((_, last)) = out.last_mut() else {
                    return Ok(None);
                };
                last.push(',');
                last.push_str(&piece.value);
            }
        }
    }
    Ok(Some(out.into_iter().collect()))
}

/// One key or value of a URL query as an output reads it: `%XX` escapes and `+` as space; a
/// malformed escape stays as written. Public so that the host masks a secret query pair whose
/// key is written escaped (`?tok%65n=...` is `token`) exactly as the plugin will read it.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Parses k6-style durations: `1s`, `500ms`, `1m30s`, `1h30m`, `2h`, `100us`, `1.5s`, `1d`; a
/// bare number is milliseconds (as k6 reads bare numbers). `None` for anything else, including
/// negative, non-finite or out-of-range values.
pub fn parse_duration(v: &str) -> Option<Duration> {
    parse_duration_with_bare_unit(v, Duration::from_millis(1))
}

/// [`parse_duration`], but a bare number counts in `bare_unit` (loadrun's plan files count
/// bare numbers in seconds).
pub fn parse_duration_with_bare_unit(v: &str, bare_unit: Duration) -> Option<Duration> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(number) = v.parse::<f64>() {
        return Duration::try_from_secs_f64(number * bare_unit.as_secs_f64()).ok();
    }
    let mut total = 0f64;
    let mut rest = v;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let number: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            // Go accepts both the micro sign (U+00B5) and the Greek mu (U+03BC).
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    // `try_`: a huge input (`99999999999999999999h`) must be an error, not a panic.
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_percent_decoded() {
        assert_eq!(percent_decode("tok%65n"), "token");
        assert_eq!(percent_decode("api%4Bey"), "apiKey");
        assert_eq!(percent_decode("a+b%2Cc"), "a b,c");
        // Malformed or cut escapes stay as written.
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn durations_in_every_k6_form() {
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d2h"), Some(Duration::from_secs(93_600)));
        assert_eq!(parse_duration("250us"), Some(Duration::from_micros(250)));
        assert_eq!(
            parse_duration("250\u{b5}s"),
            Some(Duration::from_micros(250))
        );
        assert_eq!(
            parse_duration("250\u{3bc}s"),
            Some(Duration::from_micros(250))
        );
        assert_eq!(parse_duration(" 10ns "), Some(Duration::from_nanos(10)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("-1"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("1s2"), None);
        assert_eq!(parse_duration("99999999999999999999999h"), None);
        assert_eq!(parse_duration("1e400"), None);
        assert_eq!(parse_duration("NaN"), None);
    }

    #[test]
    fn bare_numbers_in_another_unit() {
        let secs = |v| parse_duration_with_bare_unit(v, Duration::from_secs(1));
        assert_eq!(secs("2"), Some(Duration::from_secs(2)));
        assert_eq!(secs("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(secs("2ms"), Some(Duration::from_millis(2)));
        assert_eq!(secs("1e30"), None);
    }

    #[test]
    fn quoted_values_keep_their_commas_and_lose_their_quotes() {
        let p = split_pairs(r#"exclude="a,b",file='x y.json',n=1"#).unwrap_or_default();
        assert_eq!(p.get("exclude").map(String::as_str), Some("a,b"));
        assert_eq!(p.get("file").map(String::as_str), Some("x y.json"));
        assert_eq!(p.get("n").map(String::as_str), Some("1"));
        let p = split_pairs(r#"a='say "hi", then go'"#).unwrap_or_default();
        assert_eq!(p.get("a").map(String::as_str), Some(r#"say "hi", then go"#));
        // Quotes inside a value (not around it) are the value's own.
        let p = split_pairs("tag=it's").unwrap_or_default();
        assert_eq!(p.get("tag").map(String::as_str), Some("it's"));
        let e = try_split_pairs(r#"file=x,exclude="a,b"#);
        assert_eq!(
            e.err().map(|e| e.to_string()).unwrap_or_default(),
            "the value of option exclude opens a quote that is never closed"
        );
        assert!(split_pairs(r#"exclude="a"#).is_none());
        // A URL stays positional even with a quote in it.
        assert_eq!(try_split_pairs(r#"http://h/x?a="b"#), Ok(None));
        // join_pair round-trips through split_pairs.
        for v in ["a,b", "\"q", "'q", "plain", "a\"b,c", "x'y,\"z"] {
            let joined = join_pair("k", v);
            let back = split_pairs(&joined).unwrap_or_default();
            if !(v.contains('"') && v.contains('\'') && v.contains(',')) {
                assert_eq!(back.get("k").map(String::as_str), Some(v), "{joined}");
            }
        }
    }

    #[test]
    fn pairs_or_positional() {
        assert!(split_pairs("out.csv").is_none());
        assert!(split_pairs("http://h:1/db?x=1").is_none());
        let p = split_pairs("fileName=x.csv,timeFormat=unix").unwrap_or_default();
        assert_eq!(p.get("timeFormat").map(String::as_str), Some("unix"));
        let p = split_pairs("tagBlocklist=vu,iter,url,namespace=k6.").unwrap_or_default();
        assert_eq!(
            p.get("tagBlocklist").map(String::as_str),
            Some("vu,iter,url")
        );
        assert_eq!(p.get("namespace").map(String::as_str), Some("k6."));
        // Stray commas separate nothing: the value keeps no comma.
        let p = split_pairs("exportInterval=1ms,").unwrap_or_default();
        assert_eq!(p.get("exportInterval").map(String::as_str), Some("1ms"));
        let p = split_pairs("a=1,,b=2").unwrap_or_default();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (
                p.get("a").map(String::as_str),
                p.get("b").map(String::as_str)
            ),
            (Some("1"), Some("2"))
        );
    }
}
