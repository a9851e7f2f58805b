//! `mode=emf`: CloudWatch Embedded Metric Format instead of `PutMetricData`.
//!
//! For users without CloudWatch API access whose logs reach CloudWatch Logs anyway (the
//! CloudWatch agent tailing a file, Lambda or a container log driver reading stdout): the same
//! per-period aggregation as the API path ([`crate::aggregate`]) is written as EMF documents,
//! one JSON object per line ([`encoder`]), to a file or stdout ([`sink`]), and CloudWatch Logs
//! extracts the metrics. Nothing is sent over the network and no AWS credentials or region are
//! looked up.

pub mod encoder;
pub mod output;
pub mod sink;

pub use encoder::{encode, Document, Limits, Unencodable};
pub use output::EmfOutput;
pub use sink::{Sink, SinkError, Target};

use crate::aggregate::AggregateConfig;

/// Everything an EMF output instance needs, resolved.
#[derive(Debug, Clone)]
pub struct EmfConfig {
    /// The output's name, for messages.
    pub output: String,
    pub target: Target,
    pub namespace: String,
    pub aggregate: AggregateConfig,
    pub limits: Limits,
    /// Open aggregates held before everything is written early (bounds memory).
    pub max_open: usize,
    /// Seconds a period is kept open after it ends, for samples that arrive late.
    pub grace_secs: i64,
}
