//! The live progress bar: steps done, requests per second and what the verdict will
//! say so far ("undecided": writes indeterminate or not sent), on one line cut to the
//! terminal's width. It draws on stderr only when stderr is a terminal and `CI` is not
//! set.
//!
//! The bar counts what the verdict will count ([`Tally`]): each finished round of a
//! round-based workload is checked at once by the scenario's own checker (its rounds
//! are judged one by one, so the count is the one the verdict gives for those rounds).
//! A counter's or a sustained run's violations are only known from the final values, so
//! for them the bar shows conflicts per success, unexpected statuses and writes whose
//! outcome is unknown so far.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::check;
use crate::engine::Progress;
use crate::history::{Outcome, Phase, RequestRecord};
use crate::scenario::workload::Steps;
use crate::scenario::WorkloadId;

/// Whether a live display makes sense here.
pub fn wanted() -> bool {
    wanted_for(
        std::io::stderr().is_terminal(),
        std::env::var_os("CI").is_some(),
    )
}

/// A bar draws on a terminal, and never in CI (`CI` set), whose logs keep every frame.
pub fn wanted_for(stderr_is_terminal: bool, ci: bool) -> bool {
    stderr_is_terminal && !ci
}

/// What a scenario's steps have shown so far, counted as the verdict counts it.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    scenario: String,
    workload: Option<WorkloadId>,
    requests: u64,
    violations: u64,
    winners: u64,
    conflicts: u64,
    unexpected: u64,
    undecided: u64,
}

impl Tally {
    /// A tally for a scenario of `workload` that starts now.
    pub fn new(scenario: &str, workload: WorkloadId) -> Tally {
        Tally {
            scenario: scenario.to_string(),
            workload: Some(workload),
            ..Tally::default()
        }
    }

    /// Whether each step is a round that the scenario's checker can judge on its own.
    fn rounds(&self) -> bool {
        self.workload
            .is_some_and(|w| w.rules().steps == Steps::Rounds)
    }

    /// Counts one finished step's records.
    pub fn step(&mut self, records: &[RequestRecord]) {
        self.requests += records.len() as u64;
        for r in records.iter().filter(|r| r.phase == Phase::Write) {
            match r.outcome {
                Outcome::Winner => self.winners += 1,
                Outcome::Conflict => self.conflicts += 1,
                Outcome::Unexpected => self.unexpected += 1,
                Outcome::Indeterminate | Outcome::NotSent => self.undecided += 1,
                Outcome::Ok => {}
            }
        }
        if let (true, Some(workload)) = (self.rounds(), self.workload) {
            let refs: Vec<&RequestRecord> = records.iter().collect();
            self.violations += check::check(&self.scenario, workload, &refs)
                .violations
                .len() as u64;
        }
    }

    /// Violations found so far by the scenario's own checker (round-based workloads).
    pub fn violations(&self) -> u64 {
        self.violations
    }

    /// The bar's message after `elapsed`, in ASCII: indicatif cuts `wide_msg` to the
    /// line by bytes, so a wider character would leave the line too long, and a cut
    /// inside one would show the message whole.
    pub fn message(&self, elapsed: Duration) -> String {
        let rate = self.requests as f64 / elapsed.as_secs_f64().max(1e-3);
        let unknown = if self.undecided > 0 {
            format!(", {} undecided", self.undecided)
        } else {
            String::new()
        };
        if self.rounds() {
            return format!("{rate:.0} req/s, {} violations{unknown}", self.violations);
        }
        let per_success = if self.winners > 0 {
            format!("{:.2}", self.conflicts as f64 / self.winners as f64)
        } else {
            "-".to_string()
        };
        format!(
            "{rate:.0} req/s, {per_success} conflicts/success, {} unexpected{unknown}",
            self.unexpected
        )
    }
}

/// An indicatif bar per scenario.
#[derive(Default)]
pub struct Bar {
    bar: Mutex<Option<(ProgressBar, Tally)>>,
}

/// The most columns a scenario's name takes in the bar; a longer one is cut.
const NAME_COLUMNS: usize = 28;

/// A bar for `steps` steps of `scenario` drawing on `target`, a terminal `columns`
/// wide: the name cut to [`NAME_COLUMNS`] (or a third of the width), and the message
/// (`wide_msg`) taking what the line leaves and cut to it, so the line never wraps (a
/// wrapped bar redraws as a new line every tick).
fn styled_bar(
    target: ProgressDrawTarget,
    scenario: &str,
    steps: u64,
    columns: usize,
) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(steps), target);
    let style = ProgressStyle::with_template(
        "{prefix:.bold} [{bar:20}] {pos}/{len} {elapsed}/{eta} {wide_msg}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    let name = console::truncate_str(scenario, NAME_COLUMNS.min(columns / 3), "…");
    bar.set_prefix(name.into_owned());
    bar
}

impl Progress for Bar {
    fn start(&self, scenario: &str, workload: WorkloadId, steps: u64) {
        let (_, columns) = console::Term::stderr().size();
        let bar = styled_bar(
            ProgressDrawTarget::stderr(),
            scenario,
            steps,
            usize::from(columns),
        );
        // The elapsed time moves on while a probe or a slow round waits.
        bar.enable_steady_tick(Duration::from_millis(250));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some((bar, Tally::new(scenario, workload)));
        }
    }

    fn doing(&self, what: &str) {
        if let Ok(slot) = self.bar.lock() {
            if let Some((bar, _)) = slot.as_ref() {
                bar.set_message(what.to_string());
            }
        }
    }

    fn step(&self, records: &[RequestRecord]) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some((bar, tally)) = slot.as_mut() {
                tally.step(records);
                bar.set_message(tally.message(bar.elapsed()));
                bar.inc(1);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some((bar, _)) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_draws_only_on_a_terminal_outside_ci() {
        assert!(wanted_for(true, false));
        assert!(
            !wanted_for(false, false),
            "not when stderr is a file or a pipe"
        );
        assert!(!wanted_for(true, true), "not when CI is set");
    }

    #[test]
    fn the_bar_is_one_line_that_fits_80_and_100_columns_whatever_the_name() {
        let name = "a-scenario-name-far-longer-than-any-bar-has-room-for-at-80-columns";
        for columns in [80u16, 100] {
            let term = indicatif::InMemoryTerm::new(4, columns);
            let bar = styled_bar(
                ProgressDrawTarget::term_like(Box::new(term.clone())),
                name,
                100_000,
                usize::from(columns),
            );
            bar.set_position(99_999);
            let mut tally = Tally::new(name, WorkloadId::Counter);
            tally.undecided = 123_456;
            tally.unexpected = 654_321;
            bar.set_message(tally.message(Duration::from_secs(1)));
            bar.tick();
            let screen = term.contents();
            let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(
                lines.len(),
                1,
                "one line, not wrapped, at {columns}: {screen:?}"
            );
            assert!(
                lines[0].starts_with("a-scenario-name-") && lines[0].contains("…"),
                "the name is cut: {screen:?}"
            );
            assert!(lines[0].contains("99999/100000"), "{screen:?}");
            assert!(lines[0].contains("req/s"), "the message starts: {screen:?}");
            assert!(
                !lines[0].contains("undecided"),
                "and is cut at the width: {screen:?}"
            );
        }
    }

    #[test]
    fn what_a_scenario_is_doing_fits_beside_a_shipped_scenario_at_80_columns() {
        let term = indicatif::InMemoryTerm::new(4, 80);
        let bar = styled_bar(
            ProgressDrawTarget::term_like(Box::new(term.clone())),
            "notes-etag-stale-write",
            1_000,
            80,
        );
        let shown = Bar {
            bar: Mutex::new(Some((bar, Tally::default()))),
        };
        for what in ["probe single-packet", "setting up"] {
            shown.doing(what);
            let screen = term.contents();
            assert!(screen.contains(what), "{what:?} whole: {screen:?}");
        }
    }
}
