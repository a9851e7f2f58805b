//! # loadrun-remote-write
//!
//! Prometheus remote write 1.0 for loadrun's `prometheus` and `grafana-cloud` outputs:
//!
//! - [`proto`]: the `WriteRequest` protobuf (prost types generated from `proto/remote.proto`
//!   into [`prompb`], see `xtask/README.md`) and snappy block compression.
//! - [`naming`]: k6's series names (`k6_` prefix, `_total`, `_rate`, `_<stat>`, units) and
//!   label sanitising.
//! - [`sketch`]: trend statistics on the shared `loadrun-sketch` (0.54 % relative accuracy at
//!   the default schema), and their native-histogram form.
//! - [`aggregate`]: k6's cumulative aggregation per Prometheus series between pushes.
//! - [`split`]: requests bounded in series and bytes.
//! - [`sigv4`]: AWS SigV4 signing of every request for Amazon Managed Service for Prometheus.
//! - [`config`] and [`output`]: the options (k6's `K6_PROMETHEUS_RW_*`, declared once per
//!   output) and the output itself; [`headers`]: the extra request headers.

pub mod aggregate;
pub mod config;
pub mod headers;
pub mod naming;
pub mod output;
pub mod prompb;
pub mod proto;
pub mod sigv4;
pub mod sketch;
pub mod split;

pub use config::{option_specs, parse_config, Auth, Flavor, RwConfig, GRAFANA_CLOUD, PROMETHEUS};
pub use output::{request_headers, RemoteWriteOutput, USER_AGENT};
