//! Log setup: `tracing` to stderr, level from `-v`/`-q` or `LOADRUN_LOG`.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::MultiProgress;
use parking_lot::RwLock;
use tracing_subscriber::EnvFilter;

/// The progress bars on the terminal while they are drawn: a log line written past them would
/// be drawn over at the next redraw, so it is written with the bars taken away and put back.
static BARS: RwLock<Option<MultiProgress>> = RwLock::new(None);

/// `--no-color`, which turns colour off as `NO_COLOR` does.
static NO_COLOR_FLAG: AtomicBool = AtomicBool::new(false);

/// Routes the logs around `bars` until [`stop_routing`].
pub fn route_around(bars: &MultiProgress) {
    *BARS.write() = Some(bars.clone());
}

pub fn stop_routing() {
    *BARS.write() = None;
}

/// stderr, around the progress bars when there are any. The formatter writes each event in one
/// `write_all`, so an event is never split by a redraw.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Not `MultiProgress::suspend`: it unwraps its terminal writes, so a terminal that went
        // away would turn a log line into a panic. `println` returns the error instead.
        let above_bars = match BARS.read().as_ref() {
            Some(bars) => {
                let text = String::from_utf8_lossy(buf);
                bars.println(text.trim_end_matches('\n')).is_ok()
            }
            None => false,
        };
        if !above_bars {
            // A closed stderr (`2>&1 | head`) loses the line, never the run: an error here
            // would only reach tracing-subscriber, which reports it with `eprintln!`.
            let _ = std::io::stderr().write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// `no_color` is `--no-color`.
pub fn init(default_level: &str, no_color: bool) {
    NO_COLOR_FLAG.store(no_color, Ordering::Relaxed);
    let filter = EnvFilter::try_from_env("LOADRUN_LOG")
        .unwrap_or_else(|_| EnvFilter::new(with_console(default_level)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Stderr)
        .with_ansi(colour_on_stderr())
        .with_target(false)
        // Its report of a failed write is an `eprintln!`, which panics on a closed stderr.
        .log_internal_errors(false)
        .without_time()
        .try_init();
}

/// A script's `console.log/info` is shown at the default level, as k6 shows it; `-v` adds
/// `console.debug`.
fn with_console(level: &str) -> String {
    match level {
        "warn" | "error" => format!("{level},{}=info", loadrun_js::CONSOLE_TARGET),
        other => other.to_string(),
    }
}

/// k6's `noColor`: `--no-color`, or `NO_COLOR` set to anything but the empty string.
pub fn no_color() -> bool {
    NO_COLOR_FLAG.load(Ordering::Relaxed)
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether stderr gets colour (the logs and the progress bars).
pub fn colour_on_stderr() -> bool {
    !NO_COLOR_FLAG.load(Ordering::Relaxed)
        && use_colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
}

/// Escape codes would land as noise in a file or a CI log; `NO_COLOR` (https://no-color.org)
/// turns them off when it is set to anything but the empty string.
fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && !matches!(no_color, Some(v) if !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }
}
