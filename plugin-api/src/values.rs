//! The checked, typed option values of one output instance, merged from its declaration's
//! defaults < the plan table < the environment < the `-o` argument.
//!
//! A host that knows the declaration (1.3 and later) merges and checks the options itself,
//! with plan-file line numbers in its errors, and hands the result over in `OutputInit.extra`
//! as `{"options": {...}}`. Under an older host the plugin does the same work here, from the
//! raw argument, table and environment. [`Values::from_init`] takes whichever is there, so a
//! plugin reads its options the same way under both.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::abi::{OutputInit, PluginError};
use crate::declaration::DeclaredOutput;
use crate::options::try_split_pairs;
use crate::spec::{did_you_mean, Kind, OptionSpec, Positional, Value};

/// The key of `OutputInit.extra` under which a 1.3 host hands over the checked options.
pub const EXTRA_OPTIONS: &str = "options";
/// The key beside it for where each value came from (so `Values::is_set` and
/// `Values::source` answer the same under a 1.3 host as under an older one).
pub const EXTRA_SOURCES: &str = "optionSources";

/// A password, token or key: printed as `***` by `Debug` and `Display`, so a derived `Debug`
/// of a config never shows it. Use [`Secret::expose`] where the value itself is needed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: only to send it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with this secret, as written or percent-encoded (inside a URL), replaced by
    /// `***`: for a server's or a driver's message that could echo it.
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            return text.to_string();
        }
        let encoded: String = (self.0.bytes())
            .map(|b| match b.is_ascii_alphanumeric() {
                true => char::from(b).to_string(),
                false => format!("%{b:02X}"),
            })
            .collect();
        text.replace(&self.0, "***").replace(&encoded, "***")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

/// Where a value came from, as error messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The declared default.
    Default,
    /// The plan: `plan.toml [outputs.csv] line 12`, or `the [outputs.csv] table` when the
    /// line is not known.
    Plan(String),
    /// An environment variable.
    Env(String),
    /// The `-o NAME=...` argument.
    Arg(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::Plan(place) => f.write_str(place),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Arg(output) => write!(f, "-o {output}=..."),
        }
    }
}

/// The raw inputs of one output instance, each value with its source.
#[derive(Debug, Clone, Default)]
pub struct RawOptions {
    /// The `-o` name as given (a name or an alias).
    pub output: String,
    /// The `-o` argument, host-owned keys removed.
    pub arg: Option<String>,
    /// The plan table's entries (JSON values), each with where it was written.
    pub plan: Vec<(String, serde_json::Value, Source)>,
    /// The process environment.
    pub env: BTreeMap<String, String>,
}

impl RawOptions {
    /// What an [`OutputInit`] carries; plan entries are placed by table only.
    pub fn from_init(init: &OutputInit) -> Result<Self, PluginError> {
        let output = init.output_name.to_string();
        let place = Source::Plan(format!("the [outputs.{output}] table"));
        let json = init.config_json.as_str().trim();
        let mut plan = Vec::new();
        if !json.is_empty() {
            match serde_json::from_str(json) {
                Ok(serde_json::Value::Object(map)) => {
                    plan.extend(map.into_iter().map(|(k, v)| (k, v, place.clone())))
                }
                _ => {
                    return Err(PluginError::new(format!(
                        "{output}: the plan table must be a table of options"
                    )))
                }
            }
        }
        Ok(Self {
            arg: init.arg.as_ref().into_option().map(|a| a.to_string()),
            env: init
                .env
                .iter()
                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                .collect(),
            plan,
            output,
        })
    }
}

/// The options of one output instance, checked against its declaration.
#[derive(Clone)]
pub struct Values {
    output: String,
    values: BTreeMap<&'static str, (Value, Source)>,
    specs: &'static [OptionSpec],
    /// The option whose value is the bare `-o NAME=ARG` (see [`Values::is_positional`]).
    positional: Option<&'static str>,
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (name, (value, _)) in &self.values {
            if self.spec(name).is_some_and(|s| s.secret) {
                m.entry(name, &"***");
            } else {
                m.entry(name, value);
            }
        }
        m.finish()
    }
}

impl Values {
    /// The options of `init`: those the host checked, or else checked here.
    pub fn from_init(init: &OutputInit, decl: &DeclaredOutput) -> Result<Self, PluginError> {
        if let Ok(extra) = serde_json::from_str::<serde_json::Value>(init.extra.as_str()) {
            if let Some(checked) = extra.get(EXTRA_OPTIONS) {
                let mut values = Self::from_checked(init.output_name.as_str(), decl, checked)?;
                if let Some(sources) = extra.get(EXTRA_SOURCES) {
                    values.apply_sources(sources);
                }
                return Ok(values);
            }
        }
        Self::resolve(decl, &RawOptions::from_init(init)?)
    }

    /// Reads the JSON object a host built with [`Values::to_json`].
    pub fn from_checked(
        output: &str,
        decl: &DeclaredOutput,
        json: &serde_json::Value,
    ) -> Result<Self, PluginError> {
        let mut values = BTreeMap::new();
        for spec in decl.options {
            if let Some(j) = json.get(spec.name) {
                let value = Value::from_json(&spec.kind, j).ok_or_else(|| {
                    PluginError::new(format!(
                        "{output}: the host passed option {} in an unexpected form",
                        spec.name
                    ))
                })?;
                values.insert(spec.name, (value, Source::Default));
            }
        }
        Ok(Self {
            output: output.to_string(),
            values,
            specs: decl.options,
            positional: None,
        })
    }

    /// Where each value came from, as the host hands it to the plugin beside the values.
    pub fn sources_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.values
                .iter()
                .map(|(k, (_, source))| {
                    let (from, at) = match source {
                        Source::Default => ("default", ""),
                        Source::Plan(at) => ("plan", at.as_str()),
                        Source::Env(at) => ("env", at.as_str()),
                        Source::Arg(at) => ("arg", at.as_str()),
                    };
                    let mut entry = serde_json::json!({ "from": from, "at": at });
                    if self.positional == Some(*k) {
                        entry["positional"] = serde_json::Value::Bool(true);
                    }
                    (k.to_string(), entry)
                })
                .collect(),
        )
    }

    fn apply_sources(&mut self, json: &serde_json::Value) {
        for (name, (_, source)) in self.values.iter_mut() {
            let Some(s) = json.get(*name) else { continue };
            if s.get("positional").and_then(|p| p.as_bool()) == Some(true) {
                self.positional = Some(name);
            }
            let at = s
                .get("at")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            *source = match s.get("from").and_then(|v| v.as_str()) {
                Some("plan") => Source::Plan(at),
                Some("env") => Source::Env(at),
                Some("arg") => Source::Arg(at),
                _ => Source::Default,
            };
        }
    }

    /// What a host puts in `OutputInit::extra` for the plugin: the values and their sources.
    pub fn to_extra(&self) -> serde_json::Value {
        serde_json::json!({ EXTRA_OPTIONS: self.to_json(), EXTRA_SOURCES: self.sources_json() })
    }

    /// The checked values as the host hands them to the plugin.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.values
                .iter()
                .map(|(k, (v, _))| (k.to_string(), v.to_json()))
                .collect(),
        )
    }

    /// Merges and checks: defaults < plan < environment < `-o`. Unknown keys, values of the
    /// wrong kind and options set for a mode they do not apply to are errors naming the
    /// option, the value (never a secret's) and its source.
    pub fn resolve(decl: &DeclaredOutput, raw: &RawOptions) -> Result<Self, PluginError> {
        let values = Self::resolve_with(decl, raw, Vec::new())?;
        // A URL option declared `query_options` carries options in its query wherever it came
        // from: they are read again at the -o argument's precedence, after its own pairs.
        let query = decl
            .options
            .iter()
            .filter(|s| s.query_options)
            .find_map(|s| {
                let url = values.string(s.name).ok()?;
                Some(query_pairs(url.split_once('?')?.1))
            });
        match query {
            Some(pairs) if !pairs.is_empty() => Self::resolve_with(decl, raw, pairs),
            _ => Ok(values),
        }
    }

    fn resolve_with(
        decl: &DeclaredOutput,
        raw: &RawOptions,
        more_arg_pairs: Vec<(String, String)>,
    ) -> Result<Self, PluginError> {
        let output = raw.output.as_str();
        let arg_source = Source::Arg(output.to_string());
        let mut arg_pairs: Vec<(String, String)> = Vec::new();
        let mut positional_name = None;
        if let Some(arg) = &raw.arg {
            let (positional, pairs) = split_arg(output, arg, decl)?;
            if let Some((name, value)) = positional {
                arg_pairs.push((name.to_string(), value));
                positional_name = Some(name);
            }
            arg_pairs.extend(pairs);
        }
        arg_pairs.extend(more_arg_pairs);
        let find = |key: &str| decl.options.iter().find(|s| s.is_called(key));
        // The positional value stands unless a later pair sets the same option.
        let positional = positional_name.filter(|name| {
            let later = arg_pairs.iter().skip(1);
            !later.filter_map(|(k, _)| find(k)).any(|s| s.name == *name)
        });
        let unknown = |key: &str, place: &Source| {
            let hint = did_you_mean(
                key,
                decl.options
                    .iter()
                    .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied())),
            )
            .map(|n| format!("; did you mean {n}?"))
            .unwrap_or_default();
            let text = match place {
                Source::Arg(_) => format!("unknown key {key:?} as argument for {output} output"),
                other => format!("{output}: unknown key {key:?} in {other}"),
            };
            PluginError::new(format!("{text}{hint}"))
        };
        let blank = |spec: &OptionSpec, text: &str| spec.empty_is_unset && text.trim().is_empty();
        let env_of = |spec: &OptionSpec, vars: &[&str]| -> Vec<Layer> {
            let given = vars.iter().filter_map(|e| Some((*e, raw.env.get(*e)?)));
            let given = given.filter(|(_, v)| !blank(spec, v));
            given
                .map(|(e, v)| (Given::Text(v.clone()), Source::Env(e.to_string())))
                .collect()
        };
        // Each option's sources, highest first: `-o`, env (by another option, then its own),
        // the plan, env below the plan. A map merges what lies below its highest source.
        let mut layers: BTreeMap<&'static str, Vec<Layer>> = BTreeMap::new();
        for (key, v) in arg_pairs.iter().rev() {
            let spec = find(key).ok_or_else(|| unknown(key, &arg_source))?;
            if !blank(spec, v) {
                let layer = (Given::Text(v.clone()), arg_source.clone());
                layers.entry(spec.name).or_default().push(layer);
            }
        }
        for spec in decl.options {
            let names = decl.env_names(spec);
            let mut env = env_of(spec, &names.iter().map(String::as_str).collect::<Vec<_>>());
            if let Some(prefix) = spec.env_prefix {
                let family: Vec<(String, String)> = (raw.env.iter())
                    .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
                    .collect();
                if !family.is_empty() {
                    env.push((Given::Pairs(family), Source::Env(format!("{prefix}*"))));
                }
            }
            layers
                .entry(spec.name)
                .or_default()
                .extend(env.into_iter().take(1));
        }
        for (key, json, place) in raw.plan.iter().rev() {
            let spec = find(key).ok_or_else(|| unknown(key, place))?;
            let given = match json {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => Given::Text(s.clone()),
                serde_json::Value::Object(map) if matches!(spec.kind, Kind::Map(_)) => {
                    Given::Pairs(map.iter().map(|(k, v)| (k.clone(), json_text(v))).collect())
                }
                serde_json::Value::Array(items) => {
                    let sep = spec.item_separators()[0].to_string();
                    let items: Vec<String> = items.iter().map(json_text).collect();
                    Given::Text(items.join(&sep))
                }
                other => Given::Text(other.to_string()),
            };
            if !matches!(&given, Given::Text(t) if blank(spec, t)) {
                layers
                    .entry(spec.name)
                    .or_default()
                    .push((given, place.clone()));
            }
        }
        for spec in decl.options {
            let below = env_of(spec, spec.env_below_plan);
            layers.entry(spec.name).or_default().extend(below);
        }
        let mut values: BTreeMap<&'static str, (Value, Source)> = BTreeMap::new();
        // Options that depend on another's value come after the others.
        let ordered = (decl.options.iter().filter(|s| !s.depends()))
            .chain(decl.options.iter().filter(|s| s.depends()));
        for spec in ordered {
            let mut given = layers.remove(spec.name).unwrap_or_default();
            if let Some((option, vars)) = spec.env_by {
                let chosen = match values.get(option) {
                    Some((Value::Str(v), _)) => vars.iter().find(|(w, _)| w == v),
                    _ => None,
                };
                let by = env_of(
                    spec,
                    &chosen.map(|(_, var)| *var).into_iter().collect::<Vec<_>>(),
                );
                let at = usize::from(
                    given
                        .first()
                        .is_some_and(|(_, s)| matches!(s, Source::Arg(_))),
                );
                if let Some(layer) = by.into_iter().next() {
                    given.insert(at.min(given.len()), layer);
                }
            }
            let default = spec
                .default_by
                .and_then(|(option, defaults)| match values.get(option) {
                    Some((Value::Str(v), _)) => defaults.iter().find(|(w, _)| w == v).map(|d| d.1),
                    _ => None,
                })
                .map(str::to_string)
                .or_else(|| {
                    let (option, key) = spec.default_from?;
                    match values.get(option) {
                        Some((Value::Map(m), _)) => {
                            m.iter().rev().find(|(k, _)| k == key).map(|e| e.1.clone())
                        }
                        _ => None,
                    }
                })
                .or_else(|| spec.default.map(str::to_string));
            if given.is_empty() {
                if let Some(d) = default {
                    given.push((Given::Text(d), Source::Default));
                }
            }
            // A map merges its layers from the lowest up to its highest plan, env or -o one.
            let merged = match spec.kind {
                Kind::Map(_) => {
                    let below = |s: &Source| matches!(s, Source::Env(e) if spec.env_below_plan.contains(&e.as_str()));
                    // The highest source, every time it gave the map (a URL query may repeat
                    // a key), over the variables below the plan.
                    let top = given
                        .iter()
                        .find(|(_, s)| !below(s))
                        .map(|(_, s)| s.clone());
                    given.retain(|(_, s)| below(s) || Some(s) == top.as_ref());
                    given.reverse();
                    given
                }
                _ => given.into_iter().take(1).collect(),
            };
            for (text, source) in merged {
                let value = match &text {
                    Given::Text(t) => Value::parse(spec, t),
                    Given::Pairs(p) => Value::from_pairs(spec, p.clone()),
                }
                .ok_or_else(|| {
                    let shown = match (&text, spec.secret) {
                        (Given::Text(t), false) => format!("={:?}", without_secrets(decl, t)),
                        _ => String::new(),
                    };
                    PluginError::new(format!(
                        "{output}: option {}{shown} from {source} is not valid: expected {}",
                        spec.name,
                        spec.expected()
                    ))
                })?;
                let value = match (values.remove(spec.name), value) {
                    (Some((Value::Map(mut old), _)), Value::Map(new)) => {
                        for (k, v) in new {
                            old.retain(|(o, _)| !spec.same_key(o, &k));
                            old.push((k, v));
                        }
                        Value::Map(old)
                    }
                    (_, value) => value,
                };
                values.insert(spec.name, (value, source));
            }
        }
        let this = Self {
            output: output.to_string(),
            values,
            specs: decl.options,
            positional,
        };
        this.check_modes(decl)?;
        Ok(this)
    }

    fn check_modes(&self, decl: &DeclaredOutput) -> Result<(), PluginError> {
        let Some(mode_option) = decl.mode_option else {
            return Ok(());
        };
        let Some((Value::Str(mode), _)) = self.values.get(mode_option) else {
            return Ok(());
        };
        for spec in decl.options {
            if spec.modes.is_empty() || spec.modes.contains(&mode.as_str()) {
                continue;
            }
            if let Some((_, source)) = self.values.get(spec.name) {
                if *source != Source::Default {
                    return Err(PluginError::new(format!(
                        "{}: option {} (from {source}) does not apply to {mode_option}={mode}; it is for {mode_option}={}",
                        self.output,
                        spec.name,
                        spec.modes.join(" or ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// The name of the output (as given to `-o`).
    pub fn output(&self) -> &str {
        &self.output
    }

    fn spec(&self, name: &str) -> Option<&'static OptionSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    /// Whether the option has a value (given, or a default).
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Whether the user gave the option (not its default).
    pub fn is_set(&self, name: &str) -> bool {
        self.values
            .get(name)
            .is_some_and(|(_, s)| *s != Source::Default)
    }

    /// Whether the option's value is the bare `-o NAME=ARG` (`-o influxdb=http://h/db`),
    /// not a `key=value` pair or another source.
    pub fn is_positional(&self, name: &str) -> bool {
        self.positional == Some(name)
    }

    /// Where the option's value came from.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.values.get(name).map(|(_, s)| s)
    }

    /// The option's value as `T`, `None` if it has none (no default and not given).
    pub fn opt<T: FromValue>(&self, name: &str) -> Result<Option<T>, PluginError> {
        match self.values.get(name) {
            None => Ok(None),
            Some((v, _)) => T::from_value(v).map(Some).ok_or_else(|| {
                PluginError::new(format!(
                    "{}: option {name} is not a {}",
                    self.output,
                    std::any::type_name::<T>()
                ))
            }),
        }
    }

    /// The option's value as `T`; an error if it has none.
    pub fn get<T: FromValue>(&self, name: &str) -> Result<T, PluginError> {
        self.opt(name)?.ok_or_else(|| {
            PluginError::new(format!("{}: option {name} must be given", self.output))
        })
    }

    pub fn string(&self, name: &str) -> Result<String, PluginError> {
        self.get(name)
    }

    pub fn bool(&self, name: &str) -> Result<bool, PluginError> {
        self.get(name)
    }

    pub fn int(&self, name: &str) -> Result<i64, PluginError> {
        self.get(name)
    }

    pub fn float(&self, name: &str) -> Result<f64, PluginError> {
        self.get(name)
    }

    pub fn duration(&self, name: &str) -> Result<Duration, PluginError> {
        self.get(name)
    }

    /// A size in bytes.
    pub fn size(&self, name: &str) -> Result<u64, PluginError> {
        self.get(name)
    }

    pub fn list(&self, name: &str) -> Result<Vec<String>, PluginError> {
        self.get(name)
    }

    /// A secret, `None` if not given.
    pub fn secret(&self, name: &str) -> Result<Option<Secret>, PluginError> {
        self.opt(name)
    }

    /// An enum option read into the plugin's own type (`impl FromStr`).
    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<T, PluginError> {
        let text: String = self.get(name)?;
        text.parse().map_err(|_| {
            PluginError::new(format!(
                "{}: option {name}={text:?} is not valid",
                self.output
            ))
        })
    }
}

/// A plugin's enum and the words that name its variants, declared together: the enum, its
/// `WORDS` (for `Kind::Enum(Mode::WORDS)`, in the variants' order), its `ALL` variants, and
/// [`FromValue`], so `v.get::<Mode>("mode")` reads the checked word as the variant (the enum
/// must derive `Clone`, `Copy` and `PartialEq`).
///
/// ```
/// loadrun_plugin_api::words! {
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Temporality { Cumulative = "cumulative", Delta = "delta" }
/// }
/// assert_eq!(Temporality::WORDS, ["cumulative", "delta"]);
/// ```
#[macro_export]
macro_rules! words {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The words naming the variants, in their order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];
            /// The variants, in the order of [`Self::WORDS`].
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant a word names.
            pub fn from_word(word: &str) -> Option<Self> {
                let at = Self::WORDS.iter().position(|w| *w == word)?;
                Self::ALL.get(at).copied()
            }

            /// The word naming this variant.
            pub fn word(self) -> &'static str {
                Self::ALL
                    .iter()
                    .position(|v| *v == self)
                    .and_then(|at| Self::WORDS.get(at))
                    .copied()
                    .unwrap_or("")
            }
        }

        impl $crate::values::FromValue for $name {
            fn from_value(value: &$crate::spec::Value) -> Option<Self> {
                match value {
                    $crate::spec::Value::Str(s) => Self::from_word(s),
                    _ => None,
                }
            }
        }
    };
}

/// A Rust type an option's [`Value`] converts to.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Str(s) => Some(s.clone()),
            Value::List(l) => Some(l.join(",")),
            _ => None,
        }
    }
}

impl FromValue for Secret {
    fn from_value(value: &Value) -> Option<Self> {
        String::from_value(value).map(Secret)
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i),
            Value::Size(s) => i64::try_from(*s).ok(),
            _ => None,
        }
    }
}

impl FromValue for u64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::Size(s) => Some(*s),
            _ => None,
        }
    }
}

impl FromValue for usize {
    fn from_value(value: &Value) -> Option<Self> {
        u64::from_value(value).and_then(|v| usize::try_from(v).ok())
    }
}

impl FromValue for u16 {
    fn from_value(value: &Value) -> Option<Self> {
        u64::from_value(value).and_then(|v| u16::try_from(v).ok())
    }
}

impl FromValue for u32 {
    fn from_value(value: &Value) -> Option<Self> {
        u64::from_value(value).and_then(|v| u32::try_from(v).ok())
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for Duration {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Duration(d) => Some(*d),
            _ => None,
        }
    }
}

impl FromValue for Vec<f64> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::List(l) => l.iter().map(|i| i.trim().parse().ok()).collect(),
            _ => None,
        }
    }
}

impl FromValue for Vec<(String, String)> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Map(m) => Some(m.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<(String, Secret)> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Map(m) => Some(
                m.iter()
                    .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
                    .collect(),
            ),
            _ => None,
        }
    }
}

impl FromValue for Vec<String> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::List(l) => Some(l.clone()),
            _ => None,
        }
    }
}

/// `text` cut where a secret option's `key=` begins inside it (a malformed argument can run
/// one into another value): an error shows the value, never a secret.
fn without_secrets(decl: &DeclaredOutput, text: &str) -> String {
    let cut = decl
        .options
        .iter()
        .filter(|s| s.secret)
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
        .filter_map(|name| text.find(&format!("{name}=")))
        .min();
    match cut {
        Some(at) => format!("{}***", &text[..at]),
        None => text.to_string(),
    }
}

/// A value as a source gave it: text, or a map's entries (a plan table, env variables).
enum Given {
    Text(String),
    Pairs(Vec<(String, String)>),
}

type Layer = (Given, Source);

/// A plan value as text: strings as they are, other JSON as written.
fn json_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

type ArgParts = (Option<(&'static str, String)>, Vec<(String, String)>);

/// Splits an `-o` argument into the positional option's value and `key=value` pairs.
pub fn split_arg(output: &str, arg: &str, decl: &DeclaredOutput) -> Result<ArgParts, PluginError> {
    let shown = without_secrets(decl, arg);
    if arg.is_empty() {
        return Ok((None, Vec::new()));
    }
    let quote_error =
        |e: crate::options::UnterminatedQuote| PluginError::new(format!("{output}: {e}"));
    if let Some(pairs) = try_split_pairs(arg).map_err(quote_error)? {
        return Ok((None, pairs.into_iter().collect()));
    }
    match decl.positional {
        Positional::None => Err(PluginError::new(format!(
            "{output}: cannot read the argument {shown:?}: expected key=value pairs"
        ))),
        Positional::Value(name) => {
            if !arg.contains('=') {
                return Ok((Some((name, arg.to_string())), Vec::new()));
            }
            let (first, pairs) = positional_then_pairs(arg).map_err(quote_error)?.ok_or_else(|| {
                PluginError::new(format!(
                    "{output}: cannot read the argument {shown:?}: expected {name}, or key=value pairs such as {name}=..."
                ))
            })?;
            Ok((Some((name, first.to_string())), pairs))
        }
        Positional::Url(name) => {
            // `URL,key=value,...`: pairs may follow the URL, as host options do.
            let (url, mut pairs) = match positional_then_pairs(arg).map_err(quote_error)? {
                Some((url, pairs)) => (url, pairs),
                None => (arg, Vec::new()),
            };
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            // The pairs after the URL come later in the argument: they win.
            pairs.splice(0..0, query_pairs(query));
            Ok((Some((name, base.to_string())), pairs))
        }
    }
}

/// The `key=value` pairs of a URL query, decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let pair = |p: &str| match p.split_once('=') {
        Some((k, v)) => (percent_decode(k), percent_decode(v)),
        None => (percent_decode(p), String::new()),
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(pair)
        .collect()
}

/// `VALUE,key=value,...`: the value is up to the first comma after which the rest is pairs;
/// `None` if there is no such comma.
#[allow(clippy::type_complexity)]
fn positional_then_pairs(
    arg: &str,
) -> Result<Option<(&str, Vec<(String, String)>)>, crate::options::UnterminatedQuote> {
    let mut from = 0;
    while let Some(at) = arg[from..].find(',').map(|i| from + i) {
        let (first, rest) = (&arg[..at], &arg[at + 1..]);
        if let Some(pairs) = try_split_pairs(rest)? {
            if !rest.trim().is_empty() {
                return Ok(Some((first, pairs.into_iter().collect())));
            }
        }
        from = at + 1;
    }
    Ok(None)
}

/// `%XX` escapes and `+` as space, as in a URL query; a malformed escape stays as written.
fn percent_decode(s: &str) -> String {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OPTS: &[OptionSpec] = &[
        OptionSpec::new("addr", Kind::Str)
            .env(&["K6_X_ADDR", "X_ADDR"])
            .default("localhost:8125"),
        OptionSpec::new("pushInterval", Kind::Duration)
            .aliases(&["push_interval"])
            .env(&["K6_X_PUSH_INTERVAL"])
            .default("1s")
            .nonzero(),
        OptionSpec::new("apiKey", Kind::Str)
            .secret()
            .env(&["K6_X_API_KEY"])
            .modes(&["api"]),
        OptionSpec::new("mode", Kind::Enum(&["agent", "api"])).default("agent"),
        OptionSpec::new("tagBlocklist", Kind::List(',')).default("vu,iter,url"),
        OptionSpec::new("bufferSize", Kind::Int { min: 1, max: 65507 }).default("1432"),
        OptionSpec::new("url", Kind::Url),
    ];
    const DECL: DeclaredOutput = DeclaredOutput::new("x", &[])
        .options(OPTS)
        .positional(Positional::Url("url"))
        .mode_option("mode");

    fn raw(arg: Option<&str>, plan: serde_json::Value, env: &[(&str, &str)]) -> RawOptions {
        let place = Source::Plan("plan.toml [outputs.x] line 3".into());
        RawOptions {
            output: "x".into(),
            arg: arg.map(str::to_string),
            plan: plan
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.clone(), place.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn resolve(
        arg: Option<&str>,
        plan: serde_json::Value,
        env: &[(&str, &str)],
    ) -> Result<Values, String> {
        Values::resolve(&DECL, &raw(arg, plan, env)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_apply() {
        let v = resolve(None, serde_json::json!({}), &[]).unwrap();
        assert_eq!(v.string("addr").unwrap(), "localhost:8125");
        assert_eq!(v.duration("pushInterval").unwrap(), Duration::from_secs(1));
        assert_eq!(v.list("tagBlocklist").unwrap(), ["vu", "iter", "url"]);
        assert_eq!(v.int("bufferSize").unwrap(), 1432);
        assert_eq!(v.get::<usize>("bufferSize").unwrap(), 1432);
        assert!(v.secret("apiKey").unwrap().is_none());
        assert!(!v.is_set("addr"));
        assert!(v.get::<String>("url").is_err());
    }

    #[test]
    fn precedence_is_default_plan_env_arg() {
        let plan = serde_json::json!({"addr": "plan:1", "push_interval": "2s", "tagBlocklist": ["a", "b"]});
        let v = resolve(None, plan.clone(), &[]).unwrap();
        assert_eq!(v.string("addr").unwrap(), "plan:1");
        assert_eq!(v.duration("pushInterval").unwrap(), Duration::from_secs(2));
        assert_eq!(v.list("tagBlocklist").unwrap(), ["a", "b"]);
        // The first env name in declaration order wins over the later one.
        let env = [("X_ADDR", "env2:1"), ("K6_X_ADDR", "env:1")];
        let v = resolve(None, plan.clone(), &env).unwrap();
        assert_eq!(v.string("addr").unwrap(), "env:1");
        assert_eq!(v.source("addr"), Some(&Source::Env("K6_X_ADDR".into())));
        let v = resolve(Some("addr=arg:1,pushInterval=3s"), plan, &env).unwrap();
        assert_eq!(v.string("addr").unwrap(), "arg:1");
        assert_eq!(v.duration("pushInterval").unwrap(), Duration::from_secs(3));
    }

    #[test]
    fn a_url_argument_and_its_query() {
        let v = resolve(
            Some("http://h:1/p?addr=q%3A2&mode=api"),
            serde_json::json!({}),
            &[],
        )
        .unwrap();
        assert_eq!(v.string("url").unwrap(), "http://h:1/p");
        assert!(v.is_positional("url"));
        assert_eq!(v.string("addr").unwrap(), "q:2");
        assert_eq!(v.string("mode").unwrap(), "api");
    }

    #[test]
    fn pairs_after_a_url_and_secrets_inside_other_values() {
        let v = resolve(
            Some("http://h:1/p?addr=q,mode=api,apiKey=k"),
            serde_json::json!({}),
            &[],
        )
        .unwrap();
        assert_eq!(v.string("url").unwrap(), "http://h:1/p");
        assert_eq!(v.string("addr").unwrap(), "q");
        assert_eq!(v.secret("apiKey").unwrap().unwrap().expose(), "k");
        // A secret run into another value (here by a misplaced quote) is cut from the error.
        let e = resolve(
            Some("bufferSize=\"2,apiKey=hunter2\""),
            serde_json::json!({}),
            &[],
        )
        .unwrap_err();
        assert!(e.contains("bufferSize=\"2,***\""), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn each_source_is_named_in_errors() {
        let e = resolve(None, serde_json::json!({"bufferSize": 0}), &[]).unwrap_err();
        assert_eq!(
            e,
            "x: option bufferSize=\"0\" from plan.toml [outputs.x] line 3 is not valid: expected a whole number from 1 to 65507"
        );
        let e = resolve(None, serde_json::json!({}), &[("K6_X_PUSH_INTERVAL", "0s")]).unwrap_err();
        assert_eq!(
            e,
            "x: option pushInterval=\"0s\" from env K6_X_PUSH_INTERVAL is not valid: expected a duration such as 1s, 500ms or 1m30s above zero"
        );
        let e = resolve(Some("mode=web"), serde_json::json!({}), &[]).unwrap_err();
        assert_eq!(
            e,
            "x: option mode=\"web\" from -o x=... is not valid: expected one of agent, api"
        );
    }

    #[test]
    fn unknown_keys_with_a_suggestion() {
        let e = resolve(Some("adr=1"), serde_json::json!({}), &[]).unwrap_err();
        assert_eq!(
            e,
            "unknown key \"adr\" as argument for x output; did you mean addr?"
        );
        let e = resolve(None, serde_json::json!({"pushinterval": "1s"}), &[]).unwrap_err();
        assert_eq!(
            e,
            "x: unknown key \"pushinterval\" in plan.toml [outputs.x] line 3; did you mean pushInterval?"
        );
    }

    #[test]
    fn modes_and_secrets() {
        let e = resolve(None, serde_json::json!({}), &[("K6_X_API_KEY", "hunter2")]).unwrap_err();
        assert_eq!(
            e,
            "x: option apiKey (from env K6_X_API_KEY) does not apply to mode=agent; it is for mode=api"
        );
        let v = resolve(
            Some("mode=api"),
            serde_json::json!({}),
            &[("K6_X_API_KEY", "hunter2")],
        )
        .unwrap();
        let key = v.secret("apiKey").unwrap().unwrap();
        assert_eq!(key.expose(), "hunter2");
        assert_eq!(format!("{key} {key:?}"), "*** ***");
        assert_eq!(Secret::new("a b").redact("x a b y a%20b"), "x *** y ***");
        assert_eq!(Secret::new("").redact("x"), "x");
        assert!(!format!("{v:?}").contains("hunter2"));
        // A bad secret is named, its value is not shown.
        const S: &[OptionSpec] = &[OptionSpec::new("token", Kind::Int { min: 0, max: 9 }).secret()];
        let d = DeclaredOutput::new("s", &[]).options(S);
        let mut r = raw(Some("token=hunter2"), serde_json::json!({}), &[]);
        r.output = "s".into();
        let e = Values::resolve(&d, &r).unwrap_err().to_string();
        assert!(e.contains("option token from -o s=..."), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn checked_values_cross_as_json() {
        let v = resolve(
            Some("mode=api,apiKey=k,pushInterval=1.5s"),
            serde_json::json!({}),
            &[],
        )
        .unwrap();
        let back = Values::from_checked("x", &DECL, &v.to_json()).unwrap();
        assert_eq!(
            back.duration("pushInterval").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(back.secret("apiKey").unwrap().unwrap().expose(), "k");
        assert_eq!(back.list("tagBlocklist").unwrap(), ["vu", "iter", "url"]);
        assert!(Values::from_checked("x", &DECL, &serde_json::json!({"bufferSize": "x"})).is_err());
        // Through OutputInit::extra, with the sources: is_set answers as before.
        #[cfg(feature = "testkit")]
        {
            let mut init = crate::testkit::init("x", None, "", &[]);
            init.extra = v.to_extra().to_string().into();
            let back = Values::from_init(&init, &DECL).unwrap();
            assert!(back.is_set("apiKey") && !back.is_set("addr"));
            assert_eq!(back.source("mode"), Some(&Source::Arg("x".into())));
        }
    }

    #[test]
    fn dependent_envs_and_defaults_and_merged_maps() {
        const O: &[OptionSpec] = &[
            OptionSpec::new("protocol", Kind::Enum(&["http", "grpc"])).default("http"),
            OptionSpec::new("endpoint", Kind::Str)
                .env_by(
                    "protocol",
                    &[("grpc", "G_ENDPOINT"), ("http", "H_ENDPOINT")],
                )
                .env_below_plan(&["STD_ENDPOINT"])
                .default_by("protocol", &[("grpc", "g:4317"), ("http", "h:4318")])
                .empty_is_unset(),
            OptionSpec::new("headers", Kind::Map('='))
                .separators(",;")
                .env(&["K6_HEADERS"])
                .env_below_plan(&["STD_METRIC_HEADERS", "STD_HEADERS"])
                .ignore_case()
                .secret(),
            OptionSpec::new("extra", Kind::Map(':')).env_prefix("X_HEADER_"),
            OptionSpec::new("attrs", Kind::Map('=')),
            OptionSpec::new("service", Kind::Str)
                .default_from("attrs", "service.name")
                .default("k6"),
        ];
        let d = DeclaredOutput::new("x", &[]).options(O);
        let run = |arg: Option<&str>, plan: serde_json::Value, env: &[(&str, &str)]| {
            Values::resolve(&d, &raw(arg, plan, env))
        };
        let v = run(None, serde_json::json!({}), &[]).unwrap();
        assert_eq!(v.string("endpoint").unwrap(), "h:4318");
        assert_eq!(v.string("service").unwrap(), "k6");
        let v = run(Some("protocol=grpc"), serde_json::json!({}), &[]).unwrap();
        assert_eq!(v.string("endpoint").unwrap(), "g:4317");
        // Below the plan, then the plan, then env by protocol (a blank one is not set).
        let env = [("STD_ENDPOINT", "std"), ("G_ENDPOINT", " ")];
        let v = run(Some("protocol=grpc"), serde_json::json!({}), &env).unwrap();
        assert_eq!(v.string("endpoint").unwrap(), "std");
        let v = run(
            Some("protocol=grpc"),
            serde_json::json!({"endpoint": "plan"}),
            &env,
        )
        .unwrap();
        assert_eq!(v.string("endpoint").unwrap(), "plan");
        let env = [("G_ENDPOINT", "g"), ("H_ENDPOINT", "h")];
        let v = run(
            Some("protocol=grpc"),
            serde_json::json!({"endpoint": "plan"}),
            &env,
        )
        .unwrap();
        assert_eq!(v.string("endpoint").unwrap(), "g");
        assert_eq!(
            v.source("endpoint"),
            Some(&Source::Env("G_ENDPOINT".into()))
        );
        let v = run(
            Some("protocol=grpc,endpoint=arg"),
            serde_json::json!({}),
            &env,
        )
        .unwrap();
        assert_eq!(v.string("endpoint").unwrap(), "arg");
        // A map merges its below-plan variables (lowest first) under its highest source.
        let env = [
            ("STD_HEADERS", "a=1,b=2"),
            ("STD_METRIC_HEADERS", "B=3"),
            ("K6_HEADERS", "c=4"),
        ];
        let v = run(Some("headers=d=5"), serde_json::json!({}), &env).unwrap();
        let h: Vec<(String, Secret)> = v.get("headers").unwrap();
        let keys: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        assert_eq!(keys, [("a", "1"), ("B", "3"), ("d", "5")]);
        assert!(!format!("{v:?}").contains("\"5\""));
        // A plan table is a map too; a family of variables is one.
        let v = run(
            None,
            serde_json::json!({"attrs": {"service.name": "svc"}}),
            &[("X_HEADER_Y", "z")],
        )
        .unwrap();
        assert_eq!(v.string("service").unwrap(), "svc");
        let extra: Vec<(String, String)> = v.get("extra").unwrap();
        assert_eq!(extra, [("Y".to_string(), "z".to_string())]);
        let e = run(Some("attrs=oops"), serde_json::json!({}), &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "x: option attrs=\"oops\" from -o x=... is not valid: expected key=value pairs"
        );
        // The JSON a host hands over reads back the same.
        let v = run(Some("headers=d=5"), serde_json::json!({}), &env).unwrap();
        let back = Values::from_checked("x", &d, &v.to_json()).unwrap();
        assert_eq!(
            back.get::<Vec<(String, String)>>("headers").unwrap().len(),
            3
        );
    }

    crate::words! {
        /// A test enum.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Mode {
            Agent = "agent",
            Api = "api",
        }
    }

    #[test]
    fn enum_words_read_into_the_plugins_own_type() {
        assert_eq!(Mode::WORDS, ["agent", "api"]);
        assert_eq!(
            (Mode::from_word("api"), Mode::Agent.word()),
            (Some(Mode::Api), "agent")
        );
        let v = resolve(Some("mode=api"), serde_json::json!({}), &[]).unwrap();
        assert_eq!(v.get::<Mode>("mode").unwrap(), Mode::Api);
        assert!(v.get::<Mode>("addr").is_err());
    }

    #[test]
    fn write_status_helpers() {
        use crate::abi::WriteStatus;
        assert_eq!(WriteStatus::retry("x").retry_delay(), None);
        assert_eq!(
            WriteStatus::retry_after(Duration::from_secs(2), "x").retry_delay(),
            Some(Duration::from_secs(2))
        );
        assert!(matches!(WriteStatus::fatal("x"), WriteStatus::Fatal(e) if e.to_string() == "x"));
    }
}
