//! StatsD and DogStatsD for loadrun's outputs: one crate so the statsd, datadog and netdata
//! plugins agree on names, escaping and transport behaviour.
//!
//! The pipeline, one module per step:
//! - [`aggregate`]: samples of one push interval, folded per series (counters summed, gauges
//!   last, trends kept individually up to a cap, then reservoir-sampled);
//! - [`mapping`]: k6's metric model onto StatsD entries (names, checks, tags);
//! - [`escape`]: safe metric names and DogStatsD tag escaping;
//! - [`line`]: the text lines;
//! - [`packer`]: lines into datagrams of at most `bufferSize` bytes;
//! - [`encoder`]: one interval's folded samples through mapping, lines and packing (pure);
//! - [`transport`]: UDP or TCP with reconnect and backoff;
//! - [`output`]: an [`loadrun_plugin_api::Output`] that ties them together.

pub mod aggregate;
pub mod config;
pub mod encoder;
pub mod escape;
pub mod line;
pub mod mapping;
pub mod output;
pub mod packer;
pub mod transport;

pub use aggregate::Aggregator;
pub use config::{ChecksAs, MappingConfig, Protocol, StatsdConfig, TrendType};
pub use mapping::{Entry, EntryValue};
pub use output::StatsdOutput;
