//! The test plan: what a TOML (or JSON) plan file holds, as written. [`crate::compile`] turns it
//! into what the executors run. The schema follows k6's option names (camelCase); see
//! `engine/README.md` and `examples/` for the annotated reference.

pub mod custom;
pub mod limits;
mod load;
mod types;

pub use custom::{MetricDecl, MetricName, MetricSample};
pub use load::{load_file, parse_str, Format, PlanError};
pub use types::*;
