//! Shared test support: start real backend servers, find built artifacts.
//!
//! Services are started with the scripts in `tests/services/` (one state dir per service, a free
//! loopback port) and stopped when the [`Service`] is dropped. A service whose server binary is
//! not installed skips the test with a loud message, unless `LOADRUN_REQUIRE_SERVICES=1`, in
//! which case the test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed setup must stop the test

pub mod artifacts;
pub mod compat;
pub mod cplugin;
pub mod emf;
pub mod http_get;
pub mod json_schema;
pub mod prometheus;
pub mod recorder;
pub mod services;
pub mod synthetic;

pub use artifacts::{loadrun_bin, plugin_path, workspace_root};
pub use services::{Service, TestPki};
