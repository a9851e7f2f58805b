//! loadrun's load engine: k6-style plans and executors, an HTTP/1.1 client with k6's timing
//! metrics, checks, extraction, data feeds, and a built-in httpbin-like test server.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod clock;
pub mod compile;
pub mod cookies;
pub mod engine;
pub mod exec;
pub mod feed;
mod hard_stop;
pub mod http;
pub mod metrics;
pub mod pace;
pub mod partition;
pub mod plan;
pub mod progress;
pub mod script;
pub mod segment;
pub mod server;
pub mod template;
pub mod util;
pub mod vu;

pub use compile::{CompileError, EngineOptions};
pub use engine::{Control, Engine, RunResult, Stats};
