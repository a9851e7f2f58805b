//! Options declared once, as data: what each option is called, where it may come from, what it
//! must look like, and whether it is a secret.
//!
//! An output lists its options in a `const` table of [`OptionSpec`] inside its
//! [`DeclaredOutput`](crate::DeclaredOutput). From that one table come the option checking
//! ([`crate::values::Values`]), `loadrun plugins info`, the man page and the redaction of secrets,
//! so the lists cannot drift apart.

use std::time::Duration;

/// What values an option takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Any text.
    Str,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool,
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A finite number in `min..=max`.
    Float { min: f64, max: f64 },
    /// k6's durations: `1s`, `500ms`, `1m30s`; a bare number is milliseconds.
    Duration,
    /// Bytes: `1432`, `64KiB`, `1MB`, `2GiB`.
    Size,
    /// An absolute URL, `scheme://...`.
    Url,
    /// One of these words.
    Enum(&'static [&'static str]),
    /// Items separated by this character (a plan array works too); empty items are dropped.
    List(char),
}

impl Kind {
    /// What a value must look like, for error messages and `plugins info`.
    pub fn expected(&self) -> String {
        match self {
            Kind::Str => "text".into(),
            Kind::Bool => "true or false".into(),
            Kind::Int { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Float { min, max } => format!("a number from {min} to {max}"),
            Kind::Duration => "a duration such as 1s, 500ms or 1m30s".into(),
            Kind::Size => "a size in bytes such as 1432, 64KiB or 1MB".into(),
            Kind::Url => "a URL such as http://host:port/path".into(),
            Kind::Enum(values) => format!("one of {}", values.join(", ")),
            Kind::List(sep) => format!("a list separated by {sep:?}"),
        }
    }

    /// A short name of the kind for `plugins info`.
    pub fn label(&self) -> String {
        match self {
            Kind::Str => "string".into(),
            Kind::Bool => "bool".into(),
            Kind::Int { min, max } => format!("integer {min}..={max}"),
            Kind::Float { min, max } => format!("number {min}..={max}"),
            Kind::Duration => "duration".into(),
            Kind::Size => "size".into(),
            Kind::Url => "URL".into(),
            Kind::Enum(values) => values.join("|"),
            Kind::List(sep) => format!("list ({sep:?}-separated)"),
        }
    }
}

/// One option of an output, built with `const` methods so the table lives in the binary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSpec {
    /// The camelCase name used in `-o NAME=key=value` and in the plan table.
    pub name: &'static str,
    pub kind: Kind,
    /// Other accepted keys (k6's snake_case config-file names, older spellings).
    pub aliases: &'static [&'static str],
    /// Environment variables, k6's first, in order of precedence.
    pub env: &'static [&'static str],
    /// The default as it would be written by a user; `None`: no value unless given.
    pub default: Option<&'static str>,
    /// One line for `plugins info` and the man page.
    pub doc: &'static str,
    /// Never printed: redacted in `plugins info`, the banner, logs and errors.
    pub secret: bool,
    /// Zero is refused (durations, numbers, sizes).
    pub nonzero: bool,
    /// The modes this option applies to (see [`DeclaredOutput::mode_option`](crate::DeclaredOutput));
    /// empty: every mode.
    pub modes: &'static [&'static str],
}

impl OptionSpec {
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            aliases: &[],
            env: &[],
            default: None,
            doc: "",
            secret: false,
            nonzero: false,
            modes: &[],
        }
    }

    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    pub const fn env(mut self, env: &'static [&'static str]) -> Self {
        self.env = env;
        self
    }

    pub const fn default(mut self, default: &'static str) -> Self {
        self.default = Some(default);
        self
    }

    pub const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    pub const fn nonzero(mut self) -> Self {
        self.nonzero = true;
        self
    }

    pub const fn modes(mut self, modes: &'static [&'static str]) -> Self {
        self.modes = modes;
        self
    }

    /// Whether `key` names this option (its name or an alias).
    pub fn is_called(&self, key: &str) -> bool {
        self.name == key || self.aliases.contains(&key)
    }
}

/// How a bare `-o NAME=ARG` (not `key=value` pairs) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positional {
    /// Not accepted: the argument must be `key=value` pairs.
    None,
    /// The whole argument is this option's value (a file name: `-o csv=out.csv`). As a
    /// convenience, `FILE,key=value,...` is read too.
    Value(&'static str),
    /// The argument is a URL given to this option; the pairs of its query
    /// (`?org=x&bucket=y`) are options too, at the `-o` argument's precedence.
    Url(&'static str),
}

/// A value read from some source, typed by its [`Kind`].
#[derive(Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    Duration(Duration),
    Size(u64),
    List(Vec<String>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Duration(d) => write!(f, "{d:?}"),
            Value::Size(s) => write!(f, "{s}B"),
            Value::List(l) => write!(f, "{l:?}"),
        }
    }
}

impl Value {
    /// Reads `text` as a value of `kind`; `None` if it is not one (range and zero checks
    /// included, see [`OptionSpec::nonzero`]).
    pub fn parse(spec: &OptionSpec, text: &str) -> Option<Value> {
        let t = text.trim();
        let value = match spec.kind {
            Kind::Str => Value::Str(text.to_string()),
            Kind::Bool => Value::Bool(crate::options::parse_bool(t)?),
            Kind::Int { min, max } => {
                let n: i64 = t.parse().ok()?;
                (min..=max).contains(&n).then_some(Value::Int(n))?
            }
            Kind::Float { min, max } => {
                let x: f64 = t.parse().ok()?;
                (x.is_finite() && x >= min && x <= max).then_some(Value::Float(x))?
            }
            Kind::Duration => Value::Duration(crate::options::parse_duration(t)?),
            Kind::Size => Value::Size(parse_size(t)?),
            Kind::Url => {
                is_url(t).then_some(())?;
                Value::Str(t.to_string())
            }
            Kind::Enum(values) => Value::Str(values.iter().find(|v| **v == t)?.to_string()),
            Kind::List(sep) => Value::List(
                t.split(sep)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
        };
        if spec.nonzero && value.is_zero() {
            return None;
        }
        Some(value)
    }

    fn is_zero(&self) -> bool {
        match self {
            Value::Int(i) => *i == 0,
            Value::Float(x) => *x == 0.0,
            Value::Duration(d) => d.is_zero(),
            Value::Size(s) => *s == 0,
            _ => false,
        }
    }

    /// The JSON form the host hands the plugin: durations in nanoseconds, sizes in bytes.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Str(s) => J::String(s.clone()),
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(x) => J::from(*x),
            Value::Duration(d) => J::from(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            Value::Size(s) => J::from(*s),
            Value::List(l) => J::Array(l.iter().cloned().map(J::String).collect()),
        }
    }

    /// Reads back [`Value::to_json`] for an option of `kind`.
    pub fn from_json(kind: &Kind, json: &serde_json::Value) -> Option<Value> {
        Some(match kind {
            Kind::Str | Kind::Url | Kind::Enum(_) => Value::Str(json.as_str()?.to_string()),
            Kind::Bool => Value::Bool(json.as_bool()?),
            Kind::Int { .. } => Value::Int(json.as_i64()?),
            Kind::Float { .. } => Value::Float(json.as_f64()?),
            Kind::Duration => Value::Duration(Duration::from_nanos(json.as_u64()?)),
            Kind::Size => Value::Size(json.as_u64()?),
            Kind::List(_) => Value::List(
                json.as_array()?
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<_>>()?,
            ),
        })
    }
}

/// `scheme://rest`, the scheme being letters, digits, `+`, `-`, `.`, starting with a letter.
fn is_url(t: &str) -> bool {
    let Some((scheme, rest)) = t.split_once("://") else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !t.contains(char::is_whitespace)
}

/// Bytes: a whole number with an optional unit, `B`, `KB`/`MB`/`GB` (powers of 1000) or
/// `KiB`/`MiB`/`GiB` (powers of 1024), any case.
pub fn parse_size(t: &str) -> Option<u64> {
    let t = t.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let number: u64 = t[..split].parse().ok()?;
    let scale: u64 = match t[split..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000 * 1000,
        "g" | "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(scale)
}

/// A closely matching name, for "did you mean".
pub fn did_you_mean<'a>(key: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let key_l = key.to_ascii_lowercase().replace(['_', '-'], "");
    names
        .map(|n| {
            let n_l = n.to_ascii_lowercase().replace(['_', '-'], "");
            (edit_distance(&key_l, &n_l), n)
        })
        .filter(|(d, n)| *d <= 2.min(n.len() / 3 + 1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(kind: Kind, t: &str) -> Option<Value> {
        Value::parse(&OptionSpec::new("x", kind), t)
    }

    #[test]
    fn every_kind_parses_and_refuses() {
        assert_eq!(p(Kind::Str, " a b "), Some(Value::Str(" a b ".into())));
        assert_eq!(p(Kind::Bool, "yes"), Some(Value::Bool(true)));
        assert_eq!(p(Kind::Bool, "maybe"), None);
        let int = Kind::Int { min: 1, max: 10 };
        assert_eq!(p(int, "10"), Some(Value::Int(10)));
        assert_eq!(p(int, "11"), None);
        assert_eq!(p(int, "0"), None);
        assert_eq!(p(int, "1.5"), None);
        let float = Kind::Float { min: 0.0, max: 1.0 };
        assert_eq!(p(float, "0.25"), Some(Value::Float(0.25)));
        assert_eq!(p(float, "1.5"), None);
        assert_eq!(p(float, "NaN"), None);
        assert_eq!(
            p(Kind::Duration, "1m30s"),
            Some(Value::Duration(Duration::from_secs(90)))
        );
        assert_eq!(p(Kind::Duration, "soon"), None);
        assert_eq!(p(Kind::Size, "64KiB"), Some(Value::Size(65536)));
        assert_eq!(p(Kind::Size, "1MB"), Some(Value::Size(1_000_000)));
        assert_eq!(p(Kind::Size, "1432"), Some(Value::Size(1432)));
        assert_eq!(p(Kind::Size, "1XB"), None);
        assert_eq!(p(Kind::Size, "99999999999GiB"), None);
        assert_eq!(
            p(Kind::Url, "http://h:1/p"),
            Some(Value::Str("http://h:1/p".into()))
        );
        assert_eq!(p(Kind::Url, "h:1"), None);
        assert_eq!(
            p(Kind::Enum(&["udp", "tcp"]), "tcp"),
            Some(Value::Str("tcp".into()))
        );
        assert_eq!(p(Kind::Enum(&["udp", "tcp"]), "TCP"), None);
        assert_eq!(
            p(Kind::List(','), "vu, iter,,url"),
            Some(Value::List(vec!["vu".into(), "iter".into(), "url".into()]))
        );
    }

    #[test]
    fn nonzero_refuses_zero() {
        let spec = OptionSpec::new("x", Kind::Duration).nonzero();
        assert_eq!(Value::parse(&spec, "0s"), None);
        assert!(Value::parse(&spec, "1ms").is_some());
    }

    #[test]
    fn json_round_trip() {
        for (kind, text) in [
            (Kind::Duration, "1.5s"),
            (Kind::Size, "2KiB"),
            (Kind::List(';'), "a;b"),
            (Kind::Int { min: -5, max: 5 }, "-3"),
            (Kind::Float { min: 0.0, max: 9.0 }, "2.5"),
            (Kind::Bool, "false"),
        ] {
            let v = p(kind, text).unwrap();
            assert_eq!(Value::from_json(&kind, &v.to_json()), Some(v));
        }
    }

    #[test]
    fn suggestions() {
        let names = ["timeFormat", "fileName", "saveInterval"];
        assert_eq!(
            did_you_mean("timeformat", names.into_iter()),
            Some("timeFormat")
        );
        assert_eq!(
            did_you_mean("time_format", names.into_iter()),
            Some("timeFormat")
        );
        assert_eq!(did_you_mean("filName", names.into_iter()), Some("fileName"));
        assert_eq!(did_you_mean("foo", names.into_iter()), None);
    }
}
