//! The `-o NAME=ARG` path on arbitrary text, as the host and then a plugin see it: the spec,
//! the host options taken out of it (and out of a plan table), the key=value split, and the
//! plugin-side option accessors. Errors are fine; panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadrun::outputs::{HostOptions, OutputSpec};
use loadrun_plugin_api::options::{parse_bool, parse_duration, split_pairs, Options};
use loadrun_plugin_api::testkit;

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
    let env = [("K6_FUZZ", "1s")];
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
});
