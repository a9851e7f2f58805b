#!/usr/bin/env bash
# Samples per second the HTTP outputs deliver to their real servers (InfluxDB, Prometheus remote
# write), release builds. To compare with another build, give its plugin folder:
#   HTTP_BENCH_DIRS=before=/path/to/old/release,after=target/release scripts/bench-http-outputs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p out-influxdb -p out-prometheus
LOADRUN_TEST_PROFILE=release cargo bench -p loadrun-e2e --bench http_outputs
