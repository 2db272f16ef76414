//! The live progress bar: rounds done, requests per second and violations so far. It
//! draws on stderr only when stderr is a terminal and `CI` is not set.
//!
//! A stale-write round is checked as soon as it ends, by the checker itself, so the
//! count of violations is the one the final verdict will give for those rounds. A
//! counter's lost updates are only known from the final value, so for counters the bar
//! shows conflicts per success and unexpected statuses instead.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::check;
use crate::engine::Progress;
use crate::history::{Outcome, Phase, RequestRecord};

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

/// An indicatif bar per scenario.
#[derive(Default)]
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    requests: AtomicU64,
    violations: AtomicU64,
    winners: AtomicU64,
    conflicts: AtomicU64,
    unexpected: AtomicU64,
}

impl Progress for Bar {
    fn start(&self, scenario: &str, steps: u64) {
        let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:.bold} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(scenario.to_string());
        for counter in [
            &self.requests,
            &self.violations,
            &self.winners,
            &self.conflicts,
            &self.unexpected,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn step(&self, records: &[RequestRecord]) {
        let add = |counter: &AtomicU64, n: u64| counter.fetch_add(n, Ordering::Relaxed) + n;
        let requests = add(&self.requests, records.len() as u64);
        let writes = || records.iter().filter(|r| r.phase == Phase::Write);
        let count = |o: Outcome| writes().filter(|r| r.outcome == o).count() as u64;
        let winners = add(&self.winners, count(Outcome::Winner));
        let conflicts = add(&self.conflicts, count(Outcome::Conflict));
        let unexpected = add(&self.unexpected, count(Outcome::Unexpected));
        let stale_write_round = records.iter().any(|r| r.phase == Phase::Verify);
        let summary = if stale_write_round {
            let refs: Vec<&RequestRecord> = records.iter().collect();
            let found = check::check(
                &records[0].scenario,
                crate::scenario::WorkloadId::StaleWrite,
                &refs,
            )
            .violations
            .len() as u64;
            let violations = add(&self.violations, found);
            format!("{violations} violation(s)")
        } else {
            let per_success = if winners > 0 {
                format!("{:.2}", conflicts as f64 / winners as f64)
            } else {
                "-".to_string()
            };
            format!("{per_success} conflicts/success, {unexpected} unexpected")
        };
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                let rate = requests as f64 / bar.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("{rate:.0} req/s, {summary}"));
                bar.inc(1);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
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
}
