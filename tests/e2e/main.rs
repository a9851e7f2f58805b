//! End-to-end tests: one binary, a module per topic. They drive the built `loadrun` binary
//! and the built plugins (run `cargo build --workspace` first; `scripts/test.sh` does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod c_face;
mod conformance;
mod dashboard_browser;
mod distributed;
mod engine;
mod files;
mod go_face;
mod injection;
mod interrupt_all;
mod kubernetes;
mod out_cloudwatch;
mod out_csv;
mod out_datadog;
mod out_grafana_cloud;
mod out_influxdb;
mod out_json;
mod out_netdata;
mod out_opentelemetry;
mod out_prometheus;
mod out_statsd;
mod out_timescaledb;
mod packaging;
mod pipeline;
mod plain_output;
mod plugin_files;
mod plugin_loading;
mod process_plugins;
mod reliability;
mod secrets;
mod segments;
mod sizes;
mod stop_deadline;
mod support;
mod web_dashboard;
