//! Writer throughput, samples/s on one core: `cargo bench -p out-csv`.
//! Realistic series (k6's HTTP tags), batches of 10 000 as the host sends them, to a real file.

use file_sink::bench::run_cases;
use out_csv::CsvPlugin;

fn main() {
    run_cases::<CsvPlugin>(
        "csv",
        "fileName",
        &[
            ("csv (unix)", "bench.csv", ""),
            (
                "csv (rfc3339_nano)",
                "bench-nano.csv",
                ",timeFormat=rfc3339_nano",
            ),
            ("csv.gz", "bench.csv.gz", ""),
            ("csv -> /dev/null (encoding only)", "/dev/null", ""),
        ],
    );
}
