//! Cost per sample, write included: `cargo bench -p out-json --bench per_sample`, or
//! `scripts/bench-file-outputs.sh` for the same with instruction counts. k6's sample mix
//! (`file_sink::bench::k6_mix`: 13 samples per request, about 3 600 series) to a real file.

use file_sink::bench::per_sample_main;
use out_json::JsonPlugin;

fn main() {
    per_sample_main::<JsonPlugin>(
        "json",
        "file",
        &[
            ("json", "bench.json", ""),
            ("json -> /dev/null", "/dev/null", ""),
            ("json.gz", "bench.json.gz", ""),
        ],
    );
}
