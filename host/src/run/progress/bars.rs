//! The terminal view: a total line and one bar per scenario, drawn by `indicatif` on stderr.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::text::Bar;

/// Bar positions are in thousandths, enough for a 38-character bar and cheap to compare.
const SCALE: u64 = 1000;

pub struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    scenarios: Vec<ProgressBar>,
    name_width: usize,
}

impl Bars {
    pub fn new<'a>(names: impl Iterator<Item = &'a str>, colour: bool) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let total = multi.add(
            ProgressBar::new(0).with_style(
                ProgressStyle::with_template("{wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        );
        let names: Vec<&str> = names.collect();
        let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        // k6 draws what is left of the bar faint; without colour the bar is plain ASCII.
        let template = if colour {
            "{prefix} [{bar:38.cyan/dim}] {wide_msg}"
        } else {
            "{prefix} [{bar:38}] {wide_msg}"
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=>-");
        let scenarios = names
            .iter()
            .map(|name| {
                let bar = multi.add(ProgressBar::new(SCALE).with_style(style.clone()));
                bar.set_prefix(format!("{name:<name_width$}  "));
                bar
            })
            .collect();
        Self {
            multi,
            total,
            scenarios,
            name_width,
        }
    }

    /// For the logs and messages, which must not draw over the bars.
    pub fn multi(&self) -> &MultiProgress {
        &self.multi
    }

    pub fn show_total(&self, line: String) {
        self.total.set_message(line);
    }

    pub fn show(&self, index: usize, name: &str, bar: &Bar) {
        let Some(pb) = self.scenarios.get(index) else {
            return;
        };
        let width = self.name_width;
        pb.set_prefix(format!("{name:<width$} {}", bar.mark.symbol()));
        pb.set_position((bar.fraction.clamp(0.0, 1.0) * SCALE as f64) as u64);
        pb.set_message(bar.right.clone());
    }

    /// Leaves every bar drawn as it ends, with the total line replaced by `done`.
    pub fn finish(&self, done: String) {
        // Printed as a line, not as the total bar's message: `{wide_msg}` would cut the last
        // word of the run's result on a terminal narrower than the line.
        self.total.finish_and_clear();
        self.println(&done);
        // `finish` would fill every bar; a scenario stopped early keeps what it did.
        for pb in &self.scenarios {
            pb.abandon();
        }
    }

    /// A line above the bars (a message that must be seen now).
    pub fn println(&self, line: &str) {
        if self.multi.println(line).is_err() {
            crate::errln!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    /// A typo in a template would only show at run time, as a bar without its text.
    #[test]
    fn templates_parse() {
        for t in [
            "{wide_msg}",
            "{prefix} [{bar:38.cyan/dim}] {wide_msg}",
            "{prefix} [{bar:38}] {wide_msg}",
        ] {
            assert!(indicatif::ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}
