//! The plan parser on arbitrary text: TOML and JSON parsing, then compilation of whatever
//! parses. Errors are fine; panics, hangs and runaway allocations are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadrun_engine::plan::{parse_str, Format};
use loadrun_engine::EngineOptions;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = EngineOptions {
        // Relative feeds and body files resolve under a folder that does not exist.
        base_dir: "/nonexistent/loadrun-fuzz".into(),
        ..Default::default()
    };
    for format in [Format::Toml, Format::Json] {
        if let Ok(plan) = parse_str(text, format, "fuzz.plan") {
            let _ = loadrun_engine::compile::compile(&plan, &opts);
        }
    }
});
