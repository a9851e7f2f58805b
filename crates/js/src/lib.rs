//! k6 scripts on loadrun's engine: `loadrun run script.js`.
//!
//! Each VU has its own QuickJS runtime (through `rquickjs`), run on a stackful coroutine
//! (`corosensei`) that the engine VU's task resumes inline. A blocking call such as `http.get`
//! suspends the coroutine and hands the request to that task, which sends it with the engine's
//! HTTP client, records its samples and resumes the coroutine with the response. See
//! README.md for the design and its figures.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod core;
mod coroutine;
mod driver;
mod load;
mod modules;
mod natives;
mod options;
mod spec;
mod summary;
mod typescript;
mod vm;

pub use driver::JsScript;
pub use load::{is_script, load, LoadError, Loaded};
pub use options::OptionsError;
pub use summary::SummaryOutput;
pub use vm::normalize as lexical_path;

/// The `tracing` target of a script's `console.*` lines (the host shows them by default).
pub const CONSOLE_TARGET: &str = "console";
