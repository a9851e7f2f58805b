//! The live progress: one rewritten line on a terminal, plain periodic lines otherwise.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use loadrun_engine::Control;

pub struct Progress {
    tty: bool,
    quiet: bool,
    every: Duration,
    last: Instant,
    last_requests: u64,
    max_vus: u64,
    planned: Duration,
    shown: bool,
}

impl Progress {
    pub fn new(quiet: bool, max_vus: u64, planned: Duration) -> Self {
        let tty = std::io::stderr().is_terminal();
        Self {
            tty,
            quiet,
            every: if tty {
                Duration::from_millis(500)
            } else {
                Duration::from_secs(10)
            },
            last: Instant::now(),
            last_requests: 0,
            max_vus,
            planned,
            shown: false,
        }
    }

    fn line(&mut self, c: &Control, since_last: Duration) -> String {
        let s = &c.stats;
        let requests = s.requests.load(Ordering::Relaxed);
        let rps = (requests - self.last_requests.min(requests)) as f64
            / since_last.as_secs_f64().max(1e-3);
        self.last_requests = requests;
        let elapsed = c.elapsed();
        let pct = if self.planned.is_zero() {
            String::new()
        } else {
            format!(
                " [{:>3.0}%]",
                (elapsed.as_secs_f64() / self.planned.as_secs_f64() * 100.0).min(100.0)
            )
        };
        format!(
            "running ({:>5.1}s){pct}, {}/{} VUs, {} complete and {} interrupted iterations, {} requests, {:.0} req/s",
            elapsed.as_secs_f64(),
            s.vus.load(Ordering::Relaxed).max(0),
            self.max_vus.max(s.vus_max.load(Ordering::Relaxed)),
            s.iterations.load(Ordering::Relaxed),
            s.interrupted.load(Ordering::Relaxed),
            requests,
            rps
        )
    }

    /// Prints when due.
    pub fn tick(&mut self, c: &Control) {
        if self.quiet || self.last.elapsed() < self.every {
            return;
        }
        let since = self.last.elapsed();
        self.last = Instant::now();
        let line = self.line(c, since);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
        self.shown = true;
    }

    /// The final line, on its own.
    pub fn finish(&mut self, c: &Control, total: Duration) {
        if self.quiet {
            return;
        }
        let s = &c.stats;
        let line = format!(
            "done ({:.1}s), {} complete and {} interrupted iterations, {} requests, {:.0} req/s on average",
            total.as_secs_f64(),
            s.iterations.load(Ordering::Relaxed),
            s.interrupted.load(Ordering::Relaxed),
            s.requests.load(Ordering::Relaxed),
            s.requests.load(Ordering::Relaxed) as f64 / total.as_secs_f64().max(1e-3)
        );
        let mut err = std::io::stderr().lock();
        if self.tty && self.shown {
            let _ = writeln!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}
