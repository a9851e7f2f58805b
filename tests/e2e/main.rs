//! End-to-end tests: one binary, a module per topic. They drive the built `loadrun` binary
//! and the built plugins (run `cargo build --workspace` first; `scripts/test.sh` does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod pipeline;
mod files;
mod plugin_loading;
mod conformance;
mod engine;
mod out_statsd;
mod out_influxdb;
mod out_datadog;
mod out_prometheus;
mod out_grafana_cloud;
mod out_netdata;
mod reliability;
mod out_csv;
mod out_json;
mod out_timescaledb;
mod out_cloudwatch;
mod secrets;
mod interrupt_all;
// The recording server of the reliability suite, shared without editing that suite.
#[path = "reliability/recorder.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod reliability_recorder;
#[path = "reliability/harness.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod reliability_harness;
mod packaging;
