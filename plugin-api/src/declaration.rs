//! The outputs a plugin file provides, stored as data the host can read without loading it.
//!
//! Loading a shared object runs its constructors, and a damaged one can crash the process, so
//! the host should only ever load the one file that provides the output asked for. For that it
//! must know what a file provides before loading it: [`export_plugin!`](crate::export_plugin)
//! writes the plugin's name, versions and [`Plugin::DECLARED_OUTPUTS`](crate::sdk::Plugin) as a
//! small JSON document into the ELF section [`SECTION`], which the host reads with an ELF
//! parser. The document is built at compile time by [`encode`], so nothing runs to produce it.
//!
//! Format (version 1):
//! `{"format":1,"plugin":"out_x","version":"0.1.0","api":"1.2.0","outputs":[{"name":"x","aliases":["y"]}]}`.
//! An empty `outputs` list means the plugin declared nothing (the default): the host then falls
//! back to the file-name convention, as for builds from before the declaration existed.

/// The ELF section holding the declaration.
pub const SECTION: &str = ".loadrun_outputs";

/// The format version written by this SDK.
pub const FORMAT: u64 = 1;

use crate::spec::{ByOption, Items, Kind, OptionSpec, Positional};

/// One output as a plugin declares it: its `-o` name, the other names it accepts and, since
/// 1.3, its description, options and how a bare `-o NAME=ARG` is read. This one `const` is the
/// source of [`Plugin::outputs`](crate::Plugin::outputs), of the ELF declaration, of option
/// checking ([`crate::Values`]) and of `plugins info`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeclaredOutput {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// One line for `plugins info`.
    pub description: &'static str,
    /// The options. An output that declares none (and no positional) is left to parse its own
    /// from the raw argument, as before 1.3.
    pub options: &'static [OptionSpec],
    pub positional: Positional,
    /// The option that selects the output's mode, when options apply to some modes only.
    pub mode_option: Option<&'static str>,
    /// k6's naming rule for variables: an option that declares none is read from
    /// `<prefix><NAME>` (`K6_INFLUXDB_` + `pushInterval` → `K6_INFLUXDB_PUSH_INTERVAL`). The JSON
    /// declaration lists the names it gives, so a host needs no rule.
    pub env_prefix: Option<&'static str>,
}

impl DeclaredOutput {
    pub const fn new(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Self {
            name,
            aliases,
            description: "",
            options: &[],
            positional: Positional::None,
            mode_option: None,
            env_prefix: None,
        }
    }

    pub const fn describe(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    pub const fn options(mut self, options: &'static [OptionSpec]) -> Self {
        self.options = options;
        self
    }

    pub const fn positional(mut self, positional: Positional) -> Self {
        self.positional = positional;
        self
    }

    pub const fn mode_option(mut self, option: &'static str) -> Self {
        self.mode_option = Some(option);
        self
    }

    pub const fn env_prefix(mut self, prefix: &'static str) -> Self {
        self.env_prefix = Some(prefix);
        self
    }

    /// The variables of an option: its own, or else the one [`Self::env_prefix`] names.
    pub fn env_names(&self, spec: &OptionSpec) -> Vec<String> {
        match (self.env_prefix, spec.env) {
            (Some(prefix), []) => vec![format!("{prefix}{}", screaming_snake(spec.name))],
            (_, env) => env.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// Whether the output declares its options (1.3), so the host checks them.
    pub fn declares_options(&self) -> bool {
        !self.options.is_empty()
    }

    /// Whether `name` is this output's name or an alias.
    pub fn is_called(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// The descriptor `Plugin::outputs` returns for it, options documented from their specs.
    pub fn descriptor(&self) -> crate::abi::OutputDescriptor {
        crate::abi::OutputDescriptor {
            name: self.name.into(),
            aliases: self.aliases.iter().map(|a| (*a).into()).collect(),
            description: self.description.into(),
            options: self.options.iter().map(|o| option_doc(self, o)).collect(),
        }
    }
}

/// The `plugins info` line of one option: its doc, then what the spec adds (kind, aliases,
/// modes), so the text shown is generated from the declaration.
pub fn option_doc(decl: &DeclaredOutput, spec: &OptionSpec) -> crate::abi::OptionDoc {
    let mut description = spec.doc.to_string();
    let mut notes = vec![spec.kind.label()];
    if !spec.aliases.is_empty() {
        notes.push(format!("also {}", spec.aliases.join(", ")));
    }
    if !spec.modes.is_empty() {
        notes.push(format!("mode {}", spec.modes.join(", ")));
    }
    if spec.nonzero {
        notes.push("not zero".into());
    }
    notes.extend(spec.notes());
    if !description.is_empty() {
        description.push(' ');
    }
    description.push_str(&format!("[{}]", notes.join("; ")));
    crate::abi::OptionDoc {
        name: spec.name.into(),
        env: decl.env_names(spec).join(",").into(),
        default: spec.default.unwrap_or("").into(),
        description: description.into(),
        secret: spec.secret,
    }
}

/// The full declaration of a plugin's outputs, options included, as the JSON the root
/// module's `declaration` function (since 1.3) returns: what a host needs to check the options
/// itself. Format: `{"format":1,"outputs":[{"name","aliases","description","positional",
/// "modeOption","options":[{"name","kind","aliases","env","default","doc","secret","nonzero",
/// "modes"}]}]}`; a kind is `{"type":"int","min":1,"max":9}` and the like.
pub fn options_json(outputs: &[DeclaredOutput]) -> String {
    use serde_json::json;
    let kind = |k: &Kind| match k {
        Kind::Str => json!({"type": "string"}),
        Kind::Bool => json!({"type": "bool"}),
        Kind::Int { min, max } => json!({"type": "int", "min": min, "max": max}),
        Kind::Float { min, max } => json!({"type": "float", "min": min, "max": max}),
        Kind::Duration => json!({"type": "duration"}),
        Kind::Size => json!({"type": "size"}),
        Kind::Url => json!({"type": "url"}),
        Kind::Enum(values) => json!({"type": "enum", "values": values}),
        Kind::List(sep) => json!({"type": "list", "separator": sep.to_string()}),
        Kind::Map(pair) => json!({"type": "map", "pair": pair.to_string()}),
    };
    let items = |i: &Items| match i {
        Items::Text => json!({"type": "text"}),
        Items::Numbers => json!({"type": "numbers"}),
        Items::Increasing => json!({"type": "increasing"}),
        Items::OneOf(words) => json!({"type": "oneOf", "values": words}),
    };
    let by =
        |b: &Option<ByOption>| b.map(|(option, pairs)| json!({"option": option, "pairs": pairs}));
    let outputs: Vec<_> = outputs
        .iter()
        .map(|o| {
            let positional = match o.positional {
                Positional::None => serde_json::Value::Null,
                Positional::Value(n) => json!({"value": n}),
                Positional::Url(n) => json!({"url": n}),
            };
            let options: Vec<_> = o
                .options
                .iter()
                .map(|s| {
                    json!({
                        "name": s.name, "kind": kind(&s.kind), "aliases": s.aliases,
                        "env": o.env_names(s), "default": s.default, "doc": s.doc, "secret": s.secret,
                        "nonzero": s.nonzero, "modes": s.modes,
                        // Added within 1.3: a host reading an older 1.3 declaration takes the defaults.
                        "ignoreCase": s.ignore_case, "synonyms": s.synonyms,
                        "emptyIsUnset": s.empty_is_unset, "envBelowPlan": s.env_below_plan,
                        "envBy": by(&s.env_by), "envPrefix": s.env_prefix,
                        "defaultBy": by(&s.default_by), "defaultFrom": s.default_from,
                        "atLeast": s.at_least, "separators": s.separators,
                        "items": items(&s.items), "bare": s.bare,
                        "percentDecoded": s.percent_decoded, "headerNames": s.header_names,
                        "queryOptions": s.query_options,
                    })
                })
                .collect();
            json!({
                "name": o.name, "aliases": o.aliases, "description": o.description,
                "positional": positional, "modeOption": o.mode_option, "options": options,
            })
        })
        .collect();
    json!({"format": FORMAT, "outputs": outputs}).to_string()
}

/// Reads [`options_json`] back into declarations. The text is kept for the life of the process
/// (leaked), like the plugin library it comes from, which is never unloaded: a host reads each
/// plugin's declaration once.
pub fn parse_options_json(text: &str) -> Result<Vec<DeclaredOutput>, String> {
    use serde_json::Value as J;
    fn leak(s: &str) -> &'static str {
        Box::leak(s.to_string().into_boxed_str())
    }
    fn strs(v: Option<&J>) -> &'static [&'static str] {
        let list: Vec<&'static str> = v
            .and_then(J::as_array)
            .map(|a| a.iter().filter_map(J::as_str).map(leak).collect())
            .unwrap_or_default();
        Box::leak(list.into_boxed_slice())
    }
    fn pairs(v: Option<&J>) -> &'static [(&'static str, &'static str)] {
        let list: Vec<(&'static str, &'static str)> =
            (v.and_then(J::as_array).into_iter().flatten())
                .filter_map(|p| Some((leak(p.get(0)?.as_str()?), leak(p.get(1)?.as_str()?))))
                .collect();
        Box::leak(list.into_boxed_slice())
    }
    fn by(v: Option<&J>) -> Option<ByOption> {
        let v = v?;
        Some((leak(v.get("option")?.as_str()?), pairs(v.get("pairs"))))
    }
    let text_of = |v: &J, key: &str| v.get(key).and_then(J::as_str).map(leak);
    let value: J =
        serde_json::from_str(text).map_err(|e| format!("unreadable declaration: {e}"))?;
    if value.get("format").and_then(J::as_u64) != Some(FORMAT) {
        return Err(format!("declaration format is not {FORMAT}"));
    }
    let mut outputs = Vec::new();
    for o in value
        .get("outputs")
        .and_then(J::as_array)
        .ok_or("declaration has no outputs")?
    {
        let name = text_of(o, "name").ok_or("a declared output has no name")?;
        let mut options = Vec::new();
        for s in o.get("options").and_then(J::as_array).into_iter().flatten() {
            let opt = text_of(s, "name").ok_or("a declared option has no name")?;
            let k = s.get("kind").ok_or("a declared option has no kind")?;
            let num = |key: &str| k.get(key).and_then(J::as_i64);
            let float = |key: &str| k.get(key).and_then(J::as_f64);
            let kind = match k.get("type").and_then(J::as_str) {
                Some("string") => Kind::Str,
                Some("bool") => Kind::Bool,
                Some("int") => Kind::Int {
                    min: num("min").unwrap_or(i64::MIN),
                    max: num("max").unwrap_or(i64::MAX),
                },
                Some("float") => Kind::Float {
                    min: float("min").unwrap_or(f64::MIN),
                    max: float("max").unwrap_or(f64::MAX),
                },
                Some("duration") => Kind::Duration,
                Some("size") => Kind::Size,
                Some("url") => Kind::Url,
                Some("enum") => Kind::Enum(strs(k.get("values"))),
                Some("list") => Kind::List(
                    k.get("separator")
                        .and_then(J::as_str)
                        .and_then(|s| s.chars().next())
                        .unwrap_or(','),
                ),
                Some("map") => Kind::Map(
                    k.get("pair")
                        .and_then(J::as_str)
                        .and_then(|s| s.chars().next())
                        .unwrap_or('='),
                ),
                other => return Err(format!("option {opt} has an unknown kind {other:?}")),
            };
            let items = match s
                .get("items")
                .and_then(|i| i.get("type"))
                .and_then(J::as_str)
            {
                None | Some("text") => Items::Text,
                Some("numbers") => Items::Numbers,
                Some("increasing") => Items::Increasing,
                Some("oneOf") => Items::OneOf(strs(s.get("items").and_then(|i| i.get("values")))),
                Some(other) => return Err(format!("option {opt} has unknown items {other:?}")),
            };
            let default_from = s
                .get("defaultFrom")
                .and_then(J::as_array)
                .and_then(|a| Some((leak(a.first()?.as_str()?), leak(a.get(1)?.as_str()?))));
            let flag = |key: &str| s.get(key).and_then(J::as_bool).unwrap_or(false);
            options.push(OptionSpec {
                name: opt,
                kind,
                aliases: strs(s.get("aliases")),
                env: strs(s.get("env")),
                default: text_of(s, "default"),
                doc: text_of(s, "doc").unwrap_or(""),
                secret: flag("secret"),
                nonzero: flag("nonzero"),
                modes: strs(s.get("modes")),
                ignore_case: flag("ignoreCase"),
                synonyms: pairs(s.get("synonyms")),
                empty_is_unset: flag("emptyIsUnset"),
                env_below_plan: strs(s.get("envBelowPlan")),
                env_by: by(s.get("envBy")),
                env_prefix: text_of(s, "envPrefix"),
                default_by: by(s.get("defaultBy")),
                default_from,
                at_least: text_of(s, "atLeast"),
                separators: text_of(s, "separators").unwrap_or(""),
                items,
                bare: text_of(s, "bare"),
                percent_decoded: flag("percentDecoded"),
                header_names: flag("headerNames"),
                query_options: flag("queryOptions"),
            });
        }
        let positional = match o.get("positional") {
            Some(p) if p.get("value").is_some() => {
                Positional::Value(text_of(p, "value").ok_or("bad positional")?)
            }
            Some(p) if p.get("url").is_some() => {
                Positional::Url(text_of(p, "url").ok_or("bad positional")?)
            }
            _ => Positional::None,
        };
        outputs.push(DeclaredOutput {
            name,
            aliases: strs(o.get("aliases")),
            description: text_of(o, "description").unwrap_or(""),
            options: Box::leak(options.into_boxed_slice()),
            positional,
            mode_option: text_of(o, "modeOption"),
            env_prefix: None,
        });
    }
    Ok(outputs)
}

/// `pushInterval` → `PUSH_INTERVAL`, `insecureSkipTLSVerify` → `INSECURE_SKIP_TLS_VERIFY`.
pub fn screaming_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p));
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let word_starts = prev.is_some_and(|p| {
            p.is_ascii_lowercase() || p.is_ascii_digit() || (p.is_ascii_uppercase() && next_lower)
        });
        if c.is_ascii_uppercase() && word_starts {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A declaration as the host reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub plugin: String,
    pub version: String,
    pub api: String,
    /// `(name, aliases)` of each output, in declaration order.
    pub outputs: Vec<(String, Vec<String>)>,
}

impl Declaration {
    /// Reads a section's bytes. Trailing NUL padding is ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let end = bytes
            .iter()
            .rposition(|b| *b != 0)
            .map_or(0, |last| last + 1);
        let value: serde_json::Value = serde_json::from_slice(&bytes[..end])
            .map_err(|e| format!("unreadable output declaration: {e}"))?;
        let format = value.get("format").and_then(|v| v.as_u64());
        if format != Some(FORMAT) {
            return Err(format!(
                "output declaration format {} is not {FORMAT}",
                format.map_or_else(|| "missing".to_string(), |f| f.to_string())
            ));
        }
        let text = |key: &str| -> Result<String, String> {
            value
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("output declaration has no {key:?}"))
        };
        let mut outputs = Vec::new();
        for o in value
            .get("outputs")
            .and_then(|v| v.as_array())
            .ok_or("output declaration has no \"outputs\" list")?
        {
            let name = o
                .get("name")
                .and_then(|v| v.as_str())
                .ok_or("an output in the declaration has no name")?;
            let aliases = o
                .get("aliases")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            outputs.push((name.to_string(), aliases));
        }
        Ok(Self {
            plugin: text("plugin")?,
            version: text("version")?,
            api: text("api")?,
            outputs,
        })
    }

    /// Whether `name` is one of the declared outputs or aliases.
    pub fn provides(&self, name: &str) -> bool {
        self.outputs
            .iter()
            .any(|(n, aliases)| n == name || aliases.iter().any(|a| a == name))
    }

    /// The declared output names (not the aliases).
    pub fn output_names(&self) -> Vec<String> {
        self.outputs.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// Appends bytes to a fixed buffer while counting them, so one routine serves both to size the
/// buffer and to fill it. Passed by value: `&mut` in `const fn` needs Rust 1.83.
#[doc(hidden)]
pub struct Encoder<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Encoder<N> {
    const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    const fn byte(mut self, b: u8) -> Self {
        if self.len < N {
            self.buf[self.len] = b;
        }
        self.len += 1;
        self
    }

    const fn raw(mut self, s: &str) -> Self {
        let s = s.as_bytes();
        let mut i = 0;
        while i < s.len() {
            self = self.byte(s[i]);
            i += 1;
        }
        self
    }

    /// A JSON string: quotes, backslashes and control characters escaped.
    const fn string(mut self, s: &str) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let s = s.as_bytes();
        self = self.byte(b'"');
        let mut i = 0;
        while i < s.len() {
            let b = s[i];
            if b == b'"' || b == b'\\' {
                self = self.byte(b'\\').byte(b);
            } else if b < 0x20 {
                self = self
                    .raw("\\u00")
                    .byte(HEX[(b >> 4) as usize])
                    .byte(HEX[(b & 0xf) as usize]);
            } else {
                self = self.byte(b);
            }
            i += 1;
        }
        self.byte(b'"')
    }

    const fn document(
        mut self,
        plugin: &str,
        version: &str,
        api: &str,
        outputs: &[DeclaredOutput],
    ) -> Self {
        self = self
            .raw("{\"format\":1,\"plugin\":")
            .string(plugin)
            .raw(",\"version\":")
            .string(version)
            .raw(",\"api\":")
            .string(api)
            .raw(",\"outputs\":[");
        let mut i = 0;
        while i < outputs.len() {
            if i > 0 {
                self = self.byte(b',');
            }
            self = self
                .raw("{\"name\":")
                .string(outputs[i].name)
                .raw(",\"aliases\":[");
            let mut j = 0;
            while j < outputs[i].aliases.len() {
                if j > 0 {
                    self = self.byte(b',');
                }
                self = self.string(outputs[i].aliases[j]);
                j += 1;
            }
            self = self.raw("]}");
            i += 1;
        }
        self.raw("]}")
    }
}

/// The length of [`encode`]'s document.
pub const fn encoded_len(
    plugin: &str,
    version: &str,
    api: &str,
    outputs: &[DeclaredOutput],
) -> usize {
    Encoder::<0>::new()
        .document(plugin, version, api, outputs)
        .len
}

/// The declaration document, `N` being [`encoded_len`] of the same arguments.
pub const fn encode<const N: usize>(
    plugin: &str,
    version: &str,
    api: &str,
    outputs: &[DeclaredOutput],
) -> [u8; N] {
    let e = Encoder::<N>::new().document(plugin, version, api, outputs);
    if e.len != N {
        panic!("loadrun-plugin-api: declaration length mismatch");
    }
    e.buf
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OUTS: &[DeclaredOutput] = &[
        DeclaredOutput::new("prometheus", &["experimental-prometheus-rw"]),
        DeclaredOutput::new("odd\"name\\\n", &[]),
    ];
    const LEN: usize = encoded_len("out_p", "0.1.0", "1.2.0", OUTS);
    static DOC: [u8; LEN] = encode::<LEN>("out_p", "0.1.0", "1.2.0", OUTS);

    #[test]
    fn a_declaration_built_at_compile_time_reads_back() {
        let d = Declaration::parse(&DOC).unwrap();
        assert_eq!(d.plugin, "out_p");
        assert_eq!(d.version, "0.1.0");
        assert_eq!(d.api, "1.2.0");
        assert_eq!(
            d.outputs,
            vec![
                (
                    "prometheus".to_string(),
                    vec!["experimental-prometheus-rw".to_string()]
                ),
                ("odd\"name\\\n".to_string(), vec![]),
            ]
        );
        assert!(d.provides("experimental-prometheus-rw"));
        assert!(d.provides("prometheus"));
        assert!(!d.provides("prom"));
    }

    #[test]
    fn the_options_declaration_reads_back_the_same() {
        const OPTS: &[OptionSpec] = &[
            OptionSpec::new("a", Kind::Int { min: -1, max: 7 })
                .aliases(&["a_a"])
                .env(&["K6_A", "A"])
                .default("3")
                .doc("d")
                .secret()
                .nonzero()
                .modes(&["api"]),
            OptionSpec::new("b", Kind::Float { min: 0.5, max: 1.5 }),
            OptionSpec::new("c", Kind::Enum(&["x", "y"])),
            OptionSpec::new("d", Kind::List(';')),
            OptionSpec::new("e", Kind::Duration),
            OptionSpec::new("f", Kind::Size),
            OptionSpec::new("g", Kind::Url),
            OptionSpec::new("h", Kind::Bool),
            OptionSpec::new("i", Kind::Str),
            OptionSpec::new("j", Kind::Map(':'))
                .separators(";")
                .items(Items::OneOf(&["int", "string"]))
                .bare("string")
                .percent_decoded()
                .header_names()
                .ignore_case()
                .env_prefix("J_")
                .env_below_plan(&["STD_J"]),
            OptionSpec::new("k", Kind::Enum(&["x", "y"]))
                .synonyms(&[("z", "x")])
                .empty_is_unset()
                .env_by("c", &[("x", "K_X")])
                .default_by("c", &[("y", "y")])
                .default_from("j", "k"),
            OptionSpec::new("l", Kind::List(',')).items(Items::Increasing),
            OptionSpec::new("m", Kind::Duration).at_least("1ms"),
            OptionSpec::new("n", Kind::Str).query_options(),
        ];
        let outs = [
            DeclaredOutput::new("o", &["p"])
                .describe("desc")
                .options(OPTS)
                .positional(Positional::Url("g"))
                .mode_option("c"),
            DeclaredOutput::new("q", &[]).positional(Positional::Value("i")),
        ];
        let back = parse_options_json(&options_json(&outs)).unwrap();
        assert_eq!(back, outs);
        assert!(parse_options_json("{}").is_err());
    }

    #[test]
    fn a_declaration_from_before_the_typed_items_still_reads() {
        // As the 1.3 SDK wrote it before maps, synonyms and dependent options existed.
        let old = r#"{"format":1,"outputs":[{"name":"o","aliases":[],"description":"",
            "positional":null,"modeOption":null,"options":[{"name":"a","kind":{"type":"list",
            "separator":","},"aliases":[],"env":["K6_A"],"default":"x","doc":"d",
            "secret":false,"nonzero":false,"modes":[]}]}]}"#;
        let back = parse_options_json(old).unwrap();
        let expected = OptionSpec::new("a", Kind::List(','))
            .env(&["K6_A"])
            .default("x")
            .doc("d");
        assert_eq!(back[0].options, [expected]);
    }

    #[test]
    fn a_naming_rule_gives_the_variables_and_the_json_lists_them() {
        assert_eq!(screaming_snake("pushInterval"), "PUSH_INTERVAL");
        assert_eq!(
            screaming_snake("insecureSkipTLSVerify"),
            "INSECURE_SKIP_TLS_VERIFY"
        );
        assert_eq!(screaming_snake("db"), "DB");
        const O: &[OptionSpec] = &[
            OptionSpec::new("pushInterval", Kind::Duration),
            OptionSpec::new("timeout", Kind::Duration).env(&["LOADRUN_X_TIMEOUT"]),
        ];
        let d = DeclaredOutput::new("x", &[]).options(O).env_prefix("K6_X_");
        let back = parse_options_json(&options_json(&[d])).unwrap();
        assert_eq!(back[0].options[0].env, ["K6_X_PUSH_INTERVAL"]);
        assert_eq!(back[0].options[1].env, ["LOADRUN_X_TIMEOUT"]);
        assert_eq!(d.descriptor().options[0].env.as_str(), "K6_X_PUSH_INTERVAL");
    }

    #[test]
    fn padding_is_ignored_and_garbage_is_an_error() {
        let mut padded = DOC.to_vec();
        padded.extend([0, 0, 0]);
        assert_eq!(
            Declaration::parse(&padded).unwrap(),
            Declaration::parse(&DOC).unwrap()
        );
        assert!(Declaration::parse(b"{\"format\":2}")
            .unwrap_err()
            .contains("format 2"));
        assert!(Declaration::parse(b"\x7fELF").is_err());
        assert!(Declaration::parse(b"").is_err());
    }
}
