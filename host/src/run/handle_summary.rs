//! A script's `handleSummary(data)`: its data is built from the same [`Summary`] the text
//! summary and `--summary-export` use, and what it returns is written where it says.

use std::io::{IsTerminal, Write};

use loadrun_js::{JsScript, Loaded, SummaryOutput};
use loadrun_summary::{Summary, SummaryState};

/// Runs the script's `handleSummary` and writes what it returned. `false` when the default
/// text summary is to be shown instead (it returned nothing, threw, or could not run), as
/// in k6; the test's exit code does not change either way. `machine_readable` is the
/// summary in k6's machine-readable form, which k6 passes instead with
/// `--new-machine-readable-summary`.
pub fn run(
    script: &JsScript,
    loaded: &Loaded,
    report: &Summary,
    machine_readable: Option<serde_json::Value>,
) -> bool {
    let data = match machine_readable {
        Some(v) => v,
        None => report.handle_summary_json(SummaryState {
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            no_color: crate::logging::no_color(),
        }),
    }
    .to_string();
    match script.handle_summary(&data, loaded.handle_summary_timeout()) {
        Ok(SummaryOutput::Default) => false,
        Ok(SummaryOutput::Write(list)) => {
            let failed: Vec<String> = list
                .iter()
                .filter_map(|(to, body)| write(to, body).err())
                .collect();
            if failed.is_empty() {
                return true;
            }
            tracing::error!(
                "failed to handle the end-of-test summary: could not save some summary information: {}; the default summary follows",
                failed.join("; ")
            );
            // k6 shows nothing more; the run's numbers would then be lost.
            false
        }
        Err(e) => {
            tracing::error!(
                "failed to handle the end-of-test summary: {e}; the default summary follows"
            );
            // k6 shows nothing when the return value is refused; the run's numbers would then
            // be lost, so the default summary is shown.
            false
        }
    }
}

/// `stdout`, `stderr`, or a file path relative to the current directory (its folder must
/// exist, as in k6).
fn write(to: &str, body: &[u8]) -> Result<(), String> {
    let done = match to {
        "stdout" => {
            let mut out = std::io::stdout().lock();
            out.write_all(body).and_then(|()| out.flush())
        }
        "stderr" => std::io::stderr().write_all(body),
        path => std::fs::write(path, body),
    };
    done.map_err(|e| format!("could not write '{to}': {e}"))
}
