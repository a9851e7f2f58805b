//! Ctrl-C during a run: the first asks for a graceful stop, the second exits at once.

use std::sync::atomic::{AtomicUsize, Ordering};

static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_sig: libc::c_int) {
    if INTERRUPTS.fetch_add(1, Ordering::SeqCst) >= 1 {
        // Second signal: leave now. Only async-signal-safe calls here.
        const MSG: &[u8] = b"\nloadrun: interrupted again, exiting now\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe; MSG is a static buffer.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::_exit(crate::exit::INTERRUPTED as libc::c_int);
        }
    }
}

/// Installs the SIGINT/SIGTERM handler for the rest of the process.
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only touches an atomic and async-signal-safe calls.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// How many interrupts arrived so far.
pub fn count() -> usize {
    INTERRUPTS.load(Ordering::SeqCst)
}
