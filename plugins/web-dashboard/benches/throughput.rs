//! The dashboard's aggregation, samples/s on one core: `cargo bench -p out-web-dashboard`.
//! The same realistic load as the csv and json outputs' benchmarks (k6's HTTP tags, 25 URLs,
//! batches of 10 000 as the host sends them), with no server (`port=-1`), so their figures
//! compare. A request makes about a dozen samples: samples/s / 12 is the request rate at which
//! the dashboard would take a whole core.

use file_sink::bench::throughput;
use out_web_dashboard::DashboardPlugin;

fn main() {
    for (label, arg) in [
        ("web-dashboard (period=1s)", "port=-1,period=1s"),
        ("web-dashboard (period=100ms)", "port=-1,period=100ms"),
    ] {
        let total = 5_000_000;
        let rate = throughput::<DashboardPlugin>("web-dashboard", arg, total);
        println!("{label:<30} {rate:>12.0} samples/s  ({total} samples)");
    }
}
