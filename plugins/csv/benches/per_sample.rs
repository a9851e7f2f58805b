//! Cost per sample, write included: `cargo bench -p out-csv --bench per_sample`, or
//! `scripts/bench-file-outputs.sh` for the same with instruction counts. k6's sample mix
//! (`file_sink::bench::k6_mix`: 13 samples per request, about 3 600 series) to a real file.

use file_sink::bench::per_sample_main;
use out_csv::CsvPlugin;

fn main() {
    per_sample_main::<CsvPlugin>(
        "csv",
        "fileName",
        &[
            ("csv", "bench.csv", ""),
            (
                "csv (rfc3339_nano)",
                "bench-nano.csv",
                ",timeFormat=rfc3339_nano",
            ),
            ("csv -> /dev/null", "/dev/null", ""),
            ("csv.gz", "bench.csv.gz", ""),
        ],
    );
}
