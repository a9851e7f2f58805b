//! The live progress: on a terminal, a total line and a bar per scenario; on a pipe or a file,
//! plain lines every 10 s and at the end (no carriage return, no escape code); with `--quiet`,
//! nothing.

mod bars;
mod text;

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadrun_engine::compile::ScenarioRt;
use loadrun_engine::{Control, Engine};
use loadrun_summary::format::escape_controls;

use bars::Bars;
use text::{Planned, Totals};

/// How often a plain line is written.
const PLAIN_EVERY: Duration = Duration::from_secs(10);
/// The req/s shown is over at least this long, so it does not flicker at each redraw.
const RATE_WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Quiet,
    Plain,
    Bars,
}

/// Bars need a terminal that moves its cursor; `TERM=dumb` (Emacs shells, some CI consoles)
/// gets the plain lines.
fn kind(quiet: bool, stderr_is_terminal: bool, term: Option<&std::ffi::OsStr>) -> Kind {
    if quiet {
        Kind::Quiet
    } else if stderr_is_terminal && !matches!(term, Some(t) if t == "dumb") {
        Kind::Bars
    } else {
        Kind::Plain
    }
}

enum View {
    Quiet,
    Plain { last: Instant },
    Bars(Bars),
}

struct Scenario {
    rt: Arc<ScenarioRt>,
    planned: Planned,
    /// The name with control characters escaped: a plan's name must not send escape codes.
    name: String,
}

pub struct Progress {
    view: View,
    scenarios: Vec<Scenario>,
    name_width: usize,
    max_vus: u64,
    planned: Duration,
    /// (when, requests) at the start of the current req/s window, and the last rate.
    window: (Instant, u64),
    rate: f64,
}

impl Progress {
    pub fn new(quiet: bool, engine: &Engine) -> Self {
        let scenarios: Vec<Scenario> = engine
            .scenarios()
            .iter()
            .map(|rt| Scenario {
                planned: Planned::of(rt),
                name: escape_controls(&rt.name).into_owned(),
                rt: rt.clone(),
            })
            .collect();
        let view = match kind(
            quiet,
            std::io::stderr().is_terminal(),
            std::env::var_os("TERM").as_deref(),
        ) {
            Kind::Quiet => View::Quiet,
            Kind::Plain => View::Plain {
                last: Instant::now(),
            },
            Kind::Bars => {
                let bars = Bars::new(
                    scenarios.iter().map(|s| s.name.as_str()),
                    crate::logging::colour_on_stderr(),
                );
                crate::logging::route_around(bars.multi());
                View::Bars(bars)
            }
        };
        Self {
            view,
            name_width: scenarios
                .iter()
                .map(|s| s.name.chars().count())
                .max()
                .unwrap_or(0),
            scenarios,
            max_vus: engine.max_vus(),
            planned: engine.max_duration(),
            window: (Instant::now(), 0),
            rate: 0.0,
        }
    }

    fn totals(&mut self, c: &Control) -> Totals {
        let s = &c.stats;
        let requests = s.requests.load(Ordering::Relaxed);
        let (since, before) = self.window;
        let span = since.elapsed();
        // The first window shows its rate so far, rather than 0 for a second.
        if span >= RATE_WINDOW || (self.rate == 0.0 && span >= RATE_WINDOW / 4) {
            self.rate = requests.saturating_sub(before) as f64 / span.as_secs_f64();
        }
        if span >= RATE_WINDOW {
            self.window = (Instant::now(), requests);
        }
        Totals {
            elapsed: c.elapsed(),
            planned: self.planned,
            vus: s.vus.load(Ordering::Relaxed).max(0) as u64,
            max_vus: self.max_vus.max(s.vus_max.load(Ordering::Relaxed)),
            iterations: s.iterations.load(Ordering::Relaxed),
            interrupted: s.interrupted.load(Ordering::Relaxed),
            requests,
            requests_per_second: self.rate,
        }
    }

    fn bars(&self, c: &Control) -> Vec<text::Bar> {
        let run_elapsed = c.elapsed();
        self.scenarios
            .iter()
            .map(|s| {
                let now = s.rt.progress.snapshot(run_elapsed);
                text::bar(
                    &s.planned,
                    &now,
                    s.rt.start_time.saturating_sub(run_elapsed),
                )
            })
            .collect()
    }

    fn plain_block(&self, first: String, bars: &[text::Bar]) -> String {
        let mut block = first;
        for (s, bar) in self.scenarios.iter().zip(bars) {
            block.push('\n');
            block.push_str(&text::plain_bar_line(&s.name, self.name_width, bar));
        }
        block
    }

    /// Redraws the bars, or writes the plain lines when they are due.
    pub fn tick(&mut self, c: &Control) {
        match &self.view {
            View::Quiet => {}
            View::Plain { last } => {
                if last.elapsed() < PLAIN_EVERY {
                    return;
                }
                let totals = self.totals(c);
                let block = self.plain_block(text::total_line(&totals), &self.bars(c));
                crate::errln!("{block}");
                self.view = View::Plain {
                    last: Instant::now(),
                };
            }
            View::Bars(_) => {
                let totals = self.totals(c);
                let shown = self.bars(c);
                if let View::Bars(bars) = &self.view {
                    bars.show_total(text::total_line(&totals));
                    for (i, (s, bar)) in self.scenarios.iter().zip(&shown).enumerate() {
                        bars.show(i, &s.name, bar);
                    }
                }
            }
        }
    }

    /// A message that must be seen now (the run is stopping, and why).
    pub fn note(&self, line: &str) {
        match &self.view {
            View::Bars(bars) => bars.println(line),
            View::Quiet | View::Plain { .. } => crate::errln!("{line}"),
        }
    }

    /// Ends the view with the run's last state: every bar as its scenario ended, and a `done`
    /// line with the totals.
    pub fn finish(&mut self, c: &Control, total: Duration) {
        let s = &c.stats;
        let done = text::done_line(
            total,
            s.iterations.load(Ordering::Relaxed),
            s.interrupted.load(Ordering::Relaxed),
            s.requests.load(Ordering::Relaxed),
        );
        let last = self.bars(c);
        match &self.view {
            View::Quiet => {}
            View::Plain { .. } => crate::errln!("{}", self.plain_block(done, &last)),
            View::Bars(bars) => {
                for (i, (s, bar)) in self.scenarios.iter().zip(&last).enumerate() {
                    bars.show(i, &s.name, bar);
                }
                bars.finish(done);
                crate::logging::stop_routing();
            }
        }
    }
}

impl Drop for Progress {
    /// A run that failed never reaches `finish`: its error must not be drawn around bars.
    fn drop(&mut self) {
        if matches!(self.view, View::Bars(_)) {
            crate::logging::stop_routing();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn bars_only_on_a_terminal_that_is_not_dumb() {
        assert_eq!(
            kind(false, true, Some(OsStr::new("xterm-256color"))),
            Kind::Bars
        );
        assert_eq!(kind(false, true, None), Kind::Bars);
        assert_eq!(kind(false, true, Some(OsStr::new("dumb"))), Kind::Plain);
        assert_eq!(kind(false, false, Some(OsStr::new("xterm"))), Kind::Plain);
        assert_eq!(kind(true, true, None), Kind::Quiet);
        assert_eq!(kind(true, false, None), Kind::Quiet);
    }
}
