//! Writer throughput, samples/s on one core: `cargo bench -p out-json`.
//! Realistic series (k6's HTTP tags), batches of 10 000 as the host sends them, to a real file.

use file_sink::bench::run_cases;
use out_json::JsonPlugin;

fn main() {
    run_cases::<JsonPlugin>(
        "json",
        "file",
        &[
            ("json", "bench.json", ""),
            ("json (jsonArray)", "bench-array.json", ",jsonArray=true"),
            ("json.gz", "bench.json.gz", ""),
            ("json -> /dev/null (encoding only)", "/dev/null", ""),
        ],
    );
}
