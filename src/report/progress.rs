//! The live progress bar: rounds done, requests per second and anomalies so far. It draws
//! on stderr only when stderr is a terminal and `CI` is not set.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::Progress;
use crate::history::{Outcome, Phase, RequestRecord};

/// Whether a live display makes sense here.
pub fn wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// An indicatif bar per scenario.
#[derive(Default)]
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    requests: AtomicU64,
    anomalies: AtomicU64,
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
        self.requests.store(0, Ordering::Relaxed);
        self.anomalies.store(0, Ordering::Relaxed);
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn step(&self, records: &[RequestRecord]) {
        let requests = self
            .requests
            .fetch_add(records.len() as u64, Ordering::Relaxed)
            + records.len() as u64;
        let writes = records.iter().filter(|r| r.phase == Phase::Write);
        let winners = writes
            .clone()
            .filter(|r| r.outcome == Outcome::Winner)
            .count();
        let odd = writes
            .filter(|r| matches!(r.outcome, Outcome::Unexpected | Outcome::Indeterminate))
            .count();
        let stale_write_round = records.iter().any(|r| r.phase == Phase::Verify);
        let anomaly = odd > 0 || (stale_write_round && winners != 1);
        let anomalies = self
            .anomalies
            .fetch_add(u64::from(anomaly), Ordering::Relaxed)
            + u64::from(anomaly);
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                let rate = requests as f64 / bar.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("{rate:.0} req/s, {anomalies} anomalous"));
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
