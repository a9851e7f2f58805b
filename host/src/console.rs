//! Lines for people on stdout and stderr. A reader that goes away (`loadrun run … | head`)
//! must not end the run before its outputs, exports and exit code are settled, so a failed
//! write is dropped here instead of panicking as `println!` does. Output for programs (JSON,
//! files) goes through its own error-checked writers, not through these.

use std::fmt::Arguments;
use std::io::Write;

/// Writes one line to stdout; a closed or failing stdout is ignored.
pub fn out_line(args: Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(args).and_then(|()| out.write_all(b"\n"));
}

/// Writes text to stdout as it is; a closed or failing stdout is ignored.
pub fn out_text(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Writes one line to stderr; a closed or failing stderr is ignored.
pub fn err_line(args: Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `println!` that never panics.
#[macro_export]
macro_rules! outln {
    () => { $crate::console::out_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::console::out_line(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::console::err_line(format_args!($($arg)*)) };
}
