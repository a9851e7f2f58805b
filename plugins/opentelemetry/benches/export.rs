//! Samples per second through the output into its real server (see
//! `loadrun_plugin_api::testkit::throughput`). A figure, not a test.
//!
//! `cargo bench -p PACKAGE --bench export` (the server must be installed: `.ci/install-deps`).

use loadrun_plugin_api::testkit::throughput::print_bench;
use loadrun_test_support::Service;

fn main() {
    run();
}

fn run() {
    let Some(svc) = Service::start("otlp-receiver", &[]) else {
        println!("SKIP: no OTLP receiver");
        return;
    };
    let grpc = format!(
        "protocol=grpc,endpoint=http://{},exportInterval=100ms,temporality=delta",
        svc.var("OTLP_GRPC_ADDR")
    );
    let http = format!(
        "endpoint={},exportInterval=100ms,temporality=delta",
        svc.var("OTLP_HTTP_URL")
    );
    print_bench::<out_opentelemetry::OtelPlugin>("otlp grpc", "opentelemetry", &grpc);
    print_bench::<out_opentelemetry::OtelPlugin>("otlp http", "opentelemetry", &http);
}
