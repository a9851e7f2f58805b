//! Exit codes (k6's where k6 has one).

/// Everything went well.
pub const OK: u8 = 0;
/// A usage or configuration error, or a failure before the test ran.
pub const ERROR: u8 = 255;
/// A threshold failed (k6's `ThresholdsHaveFailed`).
pub const THRESHOLDS_FAILED: u8 = 99;
/// The run was aborted by a threshold with `abortOnFail` (k6 uses 99 too).
pub const THRESHOLD_ABORT: u8 = 99;
/// A required output failed.
pub const OUTPUT_FAILED: u8 = 104;
/// A script's `setup()` threw, so the test did not run (k6's `ScriptException`).
pub const SCRIPT_EXCEPTION: u8 = 107;
/// The script called `exec.test.abort()` (k6's `ScriptAborted`).
pub const SCRIPT_ABORTED: u8 = 108;
/// Interrupted by the user (k6's 105 for external aborts).
pub const INTERRUPTED: u8 = 105;
/// `--start-at` had passed by more than the tolerance when the instance was ready: it did not
/// run (no k6 code has this meaning; 111 is free in k6's list).
pub const START_MISSED: u8 = 111;

/// An error that ends the program with its own exit code rather than [`ERROR`] (`main` looks
/// for it in the error's chain).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct WithCode {
    pub code: u8,
    pub message: String,
}
