//! The `-o NAME=ARG` path on arbitrary text, as the host and then a plugin see it: the spec,
//! the host options taken out of it (and out of a plan table), the key=value split, and the
//! plugin-side option accessors, and the declared-option checker (1.3) against a declaration with
//! every kind, every modifier (maps, synonyms, env by another option, dependent defaults, URL
//! query options), both positional forms and a mode. Errors are fine; panics are not, and checked
//! values must cross to the plugin unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadrun::outputs::{HostOptions, OutputSpec};
use loadrun_plugin_api::options::{parse_bool, parse_duration, split_pairs, Options};
use loadrun_plugin_api::testkit;
use loadrun_plugin_api::values::{RawOptions, Source, Values};
use loadrun_plugin_api::{DeclaredOutput, Items, Kind, OptionSpec, Positional};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("url", Kind::Url),
    OptionSpec::new("addr", Kind::Str).aliases(&["address"]).env(&["K6_FUZZ_ADDR"]),
    OptionSpec::new("flag", Kind::Bool).default("false"),
    OptionSpec::new("count", Kind::Int { min: -5, max: 65507 }).default("1432").nonzero(),
    OptionSpec::new("ratio", Kind::Float { min: 0.0, max: 1.0 }),
    OptionSpec::new("pushInterval", Kind::Duration).aliases(&["push_interval"]).env(&["K6_FUZZ"]).default("1s"),
    OptionSpec::new("size", Kind::Size).default("64KiB"),
    OptionSpec::new("mode", Kind::Enum(&["agent", "api"])).default("agent"),
    OptionSpec::new("tags", Kind::List(',')),
    OptionSpec::new("token", Kind::Str).secret().modes(&["api"]),
    // What a kind alone cannot say (maps, synonyms, dependent sources and defaults).
    OptionSpec::new("proto", Kind::Enum(&["http/protobuf", "grpc"]))
        .ignore_case()
        .synonyms(&[("http", "http/protobuf"), ("", "grpc")])
        .default("http"),
    OptionSpec::new("endpoint", Kind::Str)
        .env_by("proto", &[("grpc", "K6_FUZZ_GRPC")])
        .env_below_plan(&["K6_FUZZ_STD"])
        .default_by("proto", &[("grpc", "g:4317")])
        .empty_is_unset()
        .query_options(),
    OptionSpec::new("headers", Kind::Map('='))
        .separators(",;")
        .percent_decoded()
        .header_names()
        .ignore_case()
        .env_below_plan(&["K6_FUZZ_STD_HEADERS"])
        .env_prefix("K6_FUZZ_HEADER_")
        .secret(),
    OptionSpec::new("fields", Kind::Map(':'))
        .items(Items::OneOf(&["string", "int"]))
        .bare("string"),
    OptionSpec::new("service", Kind::Str).default_from("fields", "service"),
    OptionSpec::new("bounds", Kind::List(',')).items(Items::Increasing).separators("; "),
    OptionSpec::new("every", Kind::Duration).at_least("1ms"),
];
const BY_URL: DeclaredOutput = DeclaredOutput::new("u", &[])
    .options(OPTIONS)
    .positional(Positional::Url("url"))
    .mode_option("mode");
const BY_VALUE: DeclaredOutput = DeclaredOutput::new("v", &[])
    .options(OPTIONS)
    .positional(Positional::Value("addr"))
    .mode_option("mode");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A line break splits the input into the -o argument and an optional plan table (JSON).
    let (spec_text, table_text) = text.split_once('\n').unwrap_or((text, ""));
    let table: Option<serde_json::Value> = serde_json::from_str(table_text).ok();
    let Ok(spec) = OutputSpec::parse(spec_text) else {
        return;
    };
    let Ok((_host, rest, table)) =
        HostOptions::extract(&spec.name, spec.arg.as_deref(), table.as_ref())
    else {
        return;
    };
    let pairs = rest.as_deref().and_then(split_pairs).unwrap_or_default();
    let config = table.to_string();
    let env = [
        ("K6_FUZZ", "1s"),
        ("K6_FUZZ_STD", "http://std"),
        ("K6_FUZZ_STD_HEADERS", "a=1;b=%20"),
        ("K6_FUZZ_HEADER_X-Y", "z"),
    ];
    let init = testkit::init(&spec.name, rest.as_deref(), &config, &env);
    let Ok(opts) = Options::from_init(&init) else {
        return;
    };
    let _ = opts.positional();
    for (k, v) in &pairs {
        let _ = parse_bool(v);
        let _ = parse_duration(v);
        let _ = opts.get(k, &["K6_FUZZ"]);
        let _ = opts.get_bool(k, &[], false);
        let _ = opts.get_u64(k, &[], 0);
        let _ = opts.get_f64(k, &[], 0.0);
        let _ = opts.get_duration(k, &["K6_FUZZ"], std::time::Duration::ZERO);
        let _ = opts.get_list(k, &[]);
    }
    let _ = opts.reject_unknown(&["addr", "url", "token"]);

    for decl in [&BY_URL, &BY_VALUE] {
        let raw = RawOptions {
            output: spec.name.clone(),
            arg: rest.clone(),
            plan: table
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone(), Source::Plan("plan".into())))
                .collect(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        if let Ok(values) = Values::resolve(decl, &raw) {
            let json = values.to_json();
            let back = Values::from_checked(&spec.name, decl, &json)
                .unwrap_or_else(|e| panic!("checked values do not cross: {e}"));
            assert_eq!(back.to_json(), json);
            let _ = format!("{values:?}");
        }
        let _ = Values::from_init(&init, decl);
    }
});
