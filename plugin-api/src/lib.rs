//! # loadrun-plugin-api
//!
//! The stable ABI between the `loadrun` host and its output plugins, and the SDK to write one.
//!
//! A plugin is a `cdylib` that depends on this crate alone. It implements [`sdk::Plugin`] (what it
//! provides) and [`sdk::Output`] (one running output), and exports itself with
//! [`export_plugin!`]. The host loads it at run time with `loadrun --plugin ./libout_NAME.so -o NAME`.
//!
//! See the crate README for a complete example and the ABI contract (threads, lifetimes,
//! errors, panics, shutdown, versioning).

pub mod abi;
pub mod cabi;
pub mod catalog;
mod cold_json;
pub mod declaration;
pub mod face;
pub mod k6;
pub mod options;
#[cfg(unix)]
pub mod process;
pub mod sdk;
pub mod spec;
pub mod values;

pub use abi::{
    Batch, EndReason, KeyValue, LogLevel, MetricDef, MetricType, OptionDoc, OutputDescriptor,
    OutputInit, PluginError, PluginInfo, RunOutcome, Sample, SeriesDef, SubmetricDef, TestMeta,
    ThresholdDef, ThresholdVerdict, ValueKind, WriteStatus, API_VERSION,
};
pub use catalog::{Catalog, MetricInfo, SeriesInfo};
pub use declaration::DeclaredOutput;
pub use k6::{DEFAULT_SYSTEM_TAGS, NON_INDEXABLE_SYSTEM_TAGS, SYSTEM_TAG_NAMES};
pub use options::Options;
pub use sdk::{Host, Output, Plugin, COUNTER_SAMPLES_LOST, COUNTER_SAMPLES_REJECTED};
pub use spec::{Items, Kind, OptionSpec, Positional};
pub use values::{Secret, Source, Values};

/// Re-exports for the [`export_plugin!`] macro; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
}

/// The abi_stable types of the ABI's fields. Plugin code needs none of them since 1.3 (build a
/// `WriteStatus` with `retry`/`retry_after`/`fatal`, read one with `is_retry`, `retry_delay`,
/// `retry_reason`...); kept because removing a public module would break 1.x plugins that
/// still name them.
pub mod types {
    pub use abi_stable::std_types::{RNone, ROption, RSlice, RSome, RString, RVec};
}

#[cfg(feature = "testkit")]
pub mod testkit;
