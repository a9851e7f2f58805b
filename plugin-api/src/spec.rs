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
    /// [`OptionSpec::separators`] adds more separators, [`OptionSpec::items`] types the items.
    List(char),
    /// `key<char>value` entries (`k1=v1,k2=v2` with `Map('=')`), separated like a list's items
    /// (`,` unless [`OptionSpec::separators`] says otherwise); a plan table works too. Handed
    /// over as ordered pairs; see [`OptionSpec::items`] for typed values, [`OptionSpec::bare`]
    /// for a key given alone and [`OptionSpec::env_prefix`] for a family of variables.
    Map(char),
}

/// What the items of a [`Kind::List`] (or the values of a [`Kind::Map`]) must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Items {
    /// Any text.
    Text,
    /// Finite numbers.
    Numbers,
    /// At least one finite number, each above the one before (histogram bounds).
    Increasing,
    /// One of these words ([`OptionSpec::ignore_case`] applies).
    OneOf(&'static [&'static str]),
}

impl Items {
    fn expected(&self) -> Option<String> {
        match self {
            Items::Text => None,
            Items::Numbers => Some("numbers".into()),
            Items::Increasing => Some("increasing numbers".into()),
            Items::OneOf(words) => Some(words.join("|")),
        }
    }
}

impl Kind {
    /// A whole number from `min` up, with no upper bound but the type's own.
    pub const fn int_from(min: i64) -> Kind {
        Kind::Int { min, max: i64::MAX }
    }

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
            Kind::Map(pair) => format!("key{pair}value pairs"),
        }
    }

    /// A short name of the kind for `plugins info`.
    pub fn label(&self) -> String {
        match self {
            Kind::Str => "string".into(),
            Kind::Bool => "bool".into(),
            Kind::Int { min, max } => range_label("integer", min, max, &i64::MIN, &i64::MAX),
            Kind::Float { min, max } => range_label("number", min, max, &f64::MIN, &f64::MAX),
            Kind::Duration => "duration".into(),
            Kind::Size => "size".into(),
            Kind::Url => "URL".into(),
            Kind::Enum(values) => values.join("|"),
            Kind::List(sep) => format!("list ({sep:?}-separated)"),
            Kind::Map(pair) => format!("map (key{pair}value)"),
        }
    }
}

/// `integer 1..=9`, or `integer >= 1` when the upper bound is the type's own.
fn range_label<T: std::fmt::Display + PartialEq>(
    what: &str,
    min: &T,
    max: &T,
    lowest: &T,
    highest: &T,
) -> String {
    match (min == lowest, max == highest) {
        (true, true) => what.to_string(),
        (false, true) => format!("{what} >= {min}"),
        (true, false) => format!("{what} <= {max}"),
        (false, false) => format!("{what} {min}..={max}"),
    }
}

/// A choice made by another option's value: `(option, [(its value, what follows)])`.
pub type ByOption = (&'static str, &'static [(&'static str, &'static str)]);

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
    /// Words ([`Kind::Enum`], [`Items::OneOf`]) and map keys are compared in any ASCII case.
    pub ignore_case: bool,
    /// `(word, canonical)`: other words an enum accepts; the plugin gets the canonical one.
    pub synonyms: &'static [(&'static str, &'static str)],
    /// A blank value is as if not given: the next source down (or the default) applies.
    pub empty_is_unset: bool,
    /// Environment variables ranked below the plan table (a standard's own variables that the
    /// k6 configuration overrides), first wins; all of them merge into a map.
    pub env_below_plan: &'static [&'static str],
    /// An environment variable chosen by another option's value, ranked above [`Self::env`].
    pub env_by: Option<ByOption>,
    /// For a map: every variable `PREFIX<key>` is an entry, at the environment's precedence.
    pub env_prefix: Option<&'static str>,
    /// The default chosen by another option's value (else [`Self::default`]).
    pub default_by: Option<ByOption>,
    /// The default taken from an entry of a map option: `(option, key)` (else [`Self::default`]).
    pub default_from: Option<(&'static str, &'static str)>,
    /// The least value accepted, written as a value of the kind (`1ms`, `1KiB`, `2`).
    pub at_least: Option<&'static str>,
    /// More item separators of a list or map than its kind's (`",;"`: either).
    pub separators: &'static str,
    /// What list items or map values must be.
    pub items: Items,
    /// For a map: the value of a key given alone (`vu` for `vu:string`); `None`: an error.
    pub bare: Option<&'static str>,
    /// For a map: keys and values are percent-decoded (`%2C` for a comma), as OTel's are.
    pub percent_decoded: bool,
    /// For a map: keys must be HTTP header names (RFC 9110 tokens).
    pub header_names: bool,
    /// A URL whose query pairs are options too, at the `-o` argument's precedence, wherever
    /// the URL came from (a connection URL given in the plan or the environment).
    pub query_options: bool,
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
            ignore_case: false,
            synonyms: &[],
            empty_is_unset: false,
            env_below_plan: &[],
            env_by: None,
            env_prefix: None,
            default_by: None,
            default_from: None,
            at_least: None,
            separators: "",
            items: Items::Text,
            bare: None,
            percent_decoded: false,
            header_names: false,
            query_options: false,
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

    pub const fn ignore_case(mut self) -> Self {
        self.ignore_case = true;
        self
    }

    pub const fn synonyms(mut self, synonyms: &'static [(&'static str, &'static str)]) -> Self {
        self.synonyms = synonyms;
        self
    }

    pub const fn empty_is_unset(mut self) -> Self {
        self.empty_is_unset = true;
        self
    }

    pub const fn env_below_plan(mut self, env: &'static [&'static str]) -> Self {
        self.env_below_plan = env;
        self
    }

    /// `.env_by("protocol", &[("grpc", "K6_OTEL_GRPC_EXPORTER_ENDPOINT"), ...])`. The option
    /// named must not itself depend on another one.
    pub const fn env_by(
        mut self,
        option: &'static str,
        vars: &'static [(&'static str, &'static str)],
    ) -> Self {
        self.env_by = Some((option, vars));
        self
    }

    pub const fn env_prefix(mut self, prefix: &'static str) -> Self {
        self.env_prefix = Some(prefix);
        self
    }

    /// `.default_by("protocol", &[("grpc", "http://localhost:4317")])`.
    pub const fn default_by(
        mut self,
        option: &'static str,
        defaults: &'static [(&'static str, &'static str)],
    ) -> Self {
        self.default_by = Some((option, defaults));
        self
    }

    /// `.default_from("resourceAttributes", "service.name")`.
    pub const fn default_from(mut self, option: &'static str, key: &'static str) -> Self {
        self.default_from = Some((option, key));
        self
    }

    pub const fn at_least(mut self, least: &'static str) -> Self {
        self.at_least = Some(least);
        self
    }

    pub const fn separators(mut self, separators: &'static str) -> Self {
        self.separators = separators;
        self
    }

    pub const fn items(mut self, items: Items) -> Self {
        self.items = items;
        self
    }

    pub const fn bare(mut self, value: &'static str) -> Self {
        self.bare = Some(value);
        self
    }

    pub const fn query_options(mut self) -> Self {
        self.query_options = true;
        self
    }

    pub const fn header_names(mut self) -> Self {
        self.header_names = true;
        self
    }

    pub const fn percent_decoded(mut self) -> Self {
        self.percent_decoded = true;
        self
    }

    /// Whether the option's value depends on another option's (resolved after the others).
    pub fn depends(&self) -> bool {
        self.env_by.is_some() || self.default_by.is_some() || self.default_from.is_some()
    }

    /// What the declaration says beyond name, kind, default and env, for `plugins info` and
    /// the man page: generated, so the text cannot drift from what is checked.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let by = |(option, pairs): &ByOption| -> String {
            let each: Vec<String> = pairs
                .iter()
                .map(|(v, x)| format!("{option}={v}: {x}"))
                .collect();
            each.join(", ")
        };
        if let Some(least) = self.at_least {
            notes.push(format!("at least {least}"));
        }
        if let Some(items) = self.items.expected() {
            notes.push(format!("items: {items}"));
        }
        if !self.separators.is_empty() {
            notes.push(format!("separated by any of {:?}", self.separators));
        }
        if let Some(bare) = self.bare {
            notes.push(format!("a key alone means {bare}"));
        }
        if self.percent_decoded {
            notes.push("percent-decoded".into());
        }
        if self.header_names {
            notes.push("keys: HTTP header names".into());
        }
        if self.query_options {
            notes.push("its query's pairs are options".into());
        }
        if !self.synonyms.is_empty() {
            let each: Vec<String> = self
                .synonyms
                .iter()
                .map(|(w, c)| format!("{w:?} is {c}"))
                .collect();
            notes.push(each.join(", "));
        }
        if self.ignore_case {
            notes.push("any case".into());
        }
        if self.empty_is_unset {
            notes.push("empty: not set".into());
        }
        if let Some(env_by) = &self.env_by {
            notes.push(format!("env first by {}", by(env_by)));
        }
        if let Some(prefix) = self.env_prefix {
            notes.push(format!("env {prefix}<key> adds an entry"));
        }
        if !self.env_below_plan.is_empty() {
            notes.push(format!(
                "env below the plan: {}",
                self.env_below_plan.join(", ")
            ));
        }
        if let Some(default_by) = &self.default_by {
            notes.push(format!("default by {}", by(default_by)));
        }
        if let Some((option, key)) = self.default_from {
            notes.push(format!("default: the {key} entry of {option}"));
        }
        notes
    }

    /// Whether two map keys are the same ([`Self::ignore_case`] applies).
    pub fn same_key(&self, a: &str, b: &str) -> bool {
        match self.ignore_case {
            true => a.eq_ignore_ascii_case(b),
            false => a == b,
        }
    }

    /// The separators of a list or map's items.
    pub fn item_separators(&self) -> Vec<char> {
        let mut seps: Vec<char> = match self.kind {
            Kind::List(sep) => vec![sep],
            _ => Vec::new(),
        };
        seps.extend(self.separators.chars());
        if seps.is_empty() {
            seps.push(',');
        }
        seps
    }

    /// Whether `key` names this option (its name or an alias).
    pub fn is_called(&self, key: &str) -> bool {
        self.name == key || self.aliases.contains(&key)
    }
}

/// The options of several groups in one table, for a `const`: see [`options!`](crate::options!).
pub const fn join<const N: usize>(groups: &[&[OptionSpec]]) -> [OptionSpec; N] {
    let mut out = [OptionSpec::new("", Kind::Str); N];
    let (mut g, mut at) = (0, 0);
    while g < groups.len() {
        let mut i = 0;
        while i < groups[g].len() {
            out[at] = groups[g][i];
            at += 1;
            i += 1;
        }
        g += 1;
    }
    assert!(at == N, "join: N is not the sum of the groups' lengths");
    out
}

/// One option table from several groups, so a shared group (TLS files, a proxy) is declared
/// once and included by each output:
/// `const OPTIONS: &[OptionSpec] = options![OWN, loadrun_http_support::tls_files!("LOADRUN_X")];`
#[macro_export]
macro_rules! options {
    ($($group:expr),+ $(,)?) => {
        &$crate::spec::join::<{ 0 $(+ $group.len())+ }>(&[$(&$group as &[$crate::spec::OptionSpec]),+])
    };
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
    /// Ordered `(key, value)` entries; a key may repeat.
    Map(Vec<(String, String)>),
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
            Value::Map(m) => write!(f, "{m:?}"),
        }
    }
}

impl Value {
    /// Reads `text` as a value of `kind`; `None` if it is not one (range, zero, least value
    /// and item checks included).
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
            Kind::Enum(values) => Value::Str(spec.word(values, t)?.to_string()),
            Kind::List(_) => {
                let items: Vec<String> = t
                    .split(spec.item_separators().as_slice())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                Value::List(spec.check_items(items)?)
            }
            Kind::Map(pair) => {
                let mut entries = Vec::new();
                for piece in t.split(spec.item_separators().as_slice()) {
                    let piece = piece.trim();
                    if piece.is_empty() {
                        continue;
                    }
                    let (k, v) = match piece.split_once(pair) {
                        Some((k, v)) => (k, v),
                        None => (piece, spec.bare?),
                    };
                    entries.push((k.trim().to_string(), v.trim().to_string()));
                }
                return Value::from_pairs(spec, entries);
            }
        };
        if spec.nonzero && value.is_zero() {
            return None;
        }
        if let Some(least) = spec.at_least {
            let least = Value::parse(&OptionSpec::new(spec.name, spec.kind), least)?;
            value.at_least(&least).then_some(())?;
        }
        Some(value)
    }

    /// A map's entries (a plan table, a family of variables), checked and decoded as declared.
    pub fn from_pairs(spec: &OptionSpec, entries: Vec<(String, String)>) -> Option<Value> {
        let decode = |s: String| match spec.percent_decoded {
            true => percent_decode(&s),
            false => s,
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let (k, v) = (decode(k), decode(v));
            if k.is_empty() || (spec.header_names && !is_header_name(&k)) {
                return None;
            }
            let v = match spec.items {
                Items::OneOf(words) => spec.word(words, v.trim())?.to_string(),
                Items::Numbers | Items::Increasing => {
                    v.trim().parse::<f64>().ok().filter(|x| x.is_finite())?;
                    v
                }
                Items::Text => v,
            };
            out.push((k, v));
        }
        Some(Value::Map(out))
    }

    fn at_least(&self, least: &Value) -> bool {
        match (self, least) {
            (Value::Int(a), Value::Int(b)) => a >= b,
            (Value::Float(a), Value::Float(b)) => a >= b,
            (Value::Duration(a), Value::Duration(b)) => a >= b,
            (Value::Size(a), Value::Size(b)) => a >= b,
            _ => true,
        }
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
            Value::Map(m) => J::Array(
                m.iter()
                    .map(|(k, v)| J::Array(vec![J::String(k.clone()), J::String(v.clone())]))
                    .collect(),
            ),
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
            Kind::Map(_) => Value::Map(
                json.as_array()?
                    .iter()
                    .map(|pair| {
                        let k = pair.get(0)?.as_str()?.to_string();
                        Some((k, pair.get(1)?.as_str()?.to_string()))
                    })
                    .collect::<Option<_>>()?,
            ),
        })
    }
}

impl OptionSpec {
    /// `text` as one of `words` (or a synonym), in the canonical spelling.
    fn word(&self, words: &'static [&'static str], text: &str) -> Option<&'static str> {
        let same = |a: &str, b: &str| match self.ignore_case {
            true => a.eq_ignore_ascii_case(b),
            false => a == b,
        };
        let text = self
            .synonyms
            .iter()
            .find(|(w, _)| same(w, text))
            .map_or(text, |(_, canonical)| canonical);
        words.iter().find(|w| same(w, text)).copied()
    }

    fn check_items(&self, items: Vec<String>) -> Option<Vec<String>> {
        match self.items {
            Items::Text => Some(items),
            Items::OneOf(words) => items
                .iter()
                .map(|i| self.word(words, i).map(str::to_string))
                .collect(),
            Items::Numbers | Items::Increasing => {
                let mut last: Option<f64> = None;
                for i in &items {
                    let x = i.parse::<f64>().ok().filter(|x| x.is_finite())?;
                    if self.items == Items::Increasing && last.is_some_and(|l| l >= x) {
                        return None;
                    }
                    last = Some(x);
                }
                (self.items != Items::Increasing || last.is_some()).then_some(items)
            }
        }
    }

    /// What a value must look like, the kind's words plus what the declaration adds.
    pub fn expected(&self) -> String {
        let mut text = self.kind.expected();
        if let (Kind::Map(_) | Kind::List(_), Some(items)) = (self.kind, self.items.expected()) {
            text.push_str(&format!(" of {items}"));
        }
        if matches!(self.kind, Kind::Map(_) | Kind::List(_)) && !self.separators.is_empty() {
            text.push_str(&format!(
                " separated by any of {:?}",
                self.item_separators().iter().collect::<String>()
            ));
        }
        if !self.synonyms.is_empty() {
            let words: Vec<&str> = self
                .synonyms
                .iter()
                .map(|(w, _)| *w)
                .filter(|w| !w.is_empty())
                .collect();
            text.push_str(&format!(" (or {})", words.join(", ")));
        }
        if self.header_names {
            text.push_str(" (keys: HTTP header names)");
        }
        if let Some(least) = self.at_least {
            text.push_str(&format!(" of at least {least}"));
        }
        if self.nonzero {
            text.push_str(" above zero");
        }
        text
    }
}

/// An HTTP header name: an RFC 9110 token.
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `%XX` escapes decoded; a malformed one stays as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod declared_tests {
    use super::*;

    const A: &[OptionSpec] = &[OptionSpec::new("a", Kind::Str)];
    const B: [OptionSpec; 2] = [
        OptionSpec::new("b", Kind::Bool),
        OptionSpec::new("c", Kind::Size),
    ];
    const ALL: &[OptionSpec] = crate::options![A, B];

    fn p(spec: OptionSpec, t: &str) -> Option<Value> {
        Value::parse(&spec, t)
    }

    #[test]
    fn groups_join_in_order() {
        let names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn words_any_case_with_synonyms() {
        let spec = OptionSpec::new("protocol", Kind::Enum(&["http/protobuf", "grpc"]))
            .ignore_case()
            .synonyms(&[("http", "http/protobuf")]);
        assert_eq!(p(spec, "GRPC"), Some(Value::Str("grpc".into())));
        assert_eq!(p(spec, "Http"), Some(Value::Str("http/protobuf".into())));
        assert_eq!(p(spec, "http/json"), None);
        assert_eq!(spec.expected(), "one of http/protobuf, grpc (or http)");
    }

    #[test]
    fn typed_lists_and_maps() {
        let bounds = OptionSpec::new("b", Kind::List(',')).items(Items::Increasing);
        assert_eq!(
            p(bounds, "1,2.5"),
            Some(Value::List(vec!["1".into(), "2.5".into()]))
        );
        assert_eq!(p(bounds, "2,1"), None);
        assert_eq!(p(bounds, ""), None);
        assert_eq!(p(bounds, "1,x"), None);
        let dims = OptionSpec::new("d", Kind::List(',')).separators(";| ");
        assert_eq!(
            p(dims, "a;b|c d"),
            Some(Value::List(vec![
                "a".into(),
                "b".into(),
                "c".into(),
                "d".into()
            ]))
        );
        let headers = OptionSpec::new("h", Kind::Map('='))
            .separators(",;")
            .percent_decoded();
        assert_eq!(
            p(headers, "a=1%2C2; b = x=y"),
            Some(Value::Map(vec![
                ("a".into(), "1,2".into()),
                ("b".into(), "x=y".into())
            ]))
        );
        assert_eq!(p(headers, "token"), None);
        let fields = OptionSpec::new("f", Kind::Map(':'))
            .items(Items::OneOf(&["string", "int"]))
            .bare("string");
        assert_eq!(
            p(fields, "vu:int,url"),
            Some(Value::Map(vec![
                ("vu".into(), "int".into()),
                ("url".into(), "string".into())
            ]))
        );
        assert_eq!(p(fields, "vu:list"), None);
        let v = p(headers, "a=1").unwrap();
        assert_eq!(Value::from_json(&headers.kind, &v.to_json()), Some(v));
    }

    #[test]
    fn least_values_and_labels() {
        let spec = OptionSpec::new("i", Kind::Duration).at_least("1ms");
        assert_eq!(p(spec, "500us"), None);
        assert!(p(spec, "1ms").is_some());
        assert_eq!(
            Kind::Int {
                min: 1,
                max: i64::MAX
            }
            .label(),
            "integer >= 1"
        );
        assert_eq!(Kind::Int { min: 1, max: 9 }.label(), "integer 1..=9");
        assert!(spec.notes().contains(&"at least 1ms".to_string()));
    }
}
