//! Stage 5 of the pipeline: reports. A [`ScenarioResult`] (a verdict, its latency and how
//! the run went) becomes CSV files in a run folder and a summary in the terminal.

pub mod csv_files;
pub mod progress;
pub mod terminal;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::check::{percentile, Verdict};
use crate::latency::Latency;
use crate::scenario::SyncMode;

/// Everything the reports say about one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub verdict: Verdict,
    pub latency: Latency,
    /// The target's base URL (`builtin` runs show the loopback URL).
    pub target: String,
    /// How the writes were released; `None` when unknown (a re-checked history).
    pub sync: Option<SyncMode>,
    /// Why the scenario could not run to the end, if it could not.
    pub error: Option<String>,
    /// False when interrupted or aborted: the figures cover only what was measured.
    pub complete: bool,
    pub duration: Duration,
}

impl ScenarioResult {
    /// `FAIL` when the contract broke, `ERROR` when the scenario could not run, else `PASS`.
    pub fn status(&self) -> &'static str {
        if !self.verdict.passed() {
            "FAIL"
        } else if self.error.is_some() {
            "ERROR"
        } else {
            "PASS"
        }
    }
}

/// One per-round spread summarised over a scenario's rounds, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadStat {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl SpreadStat {
    /// The median, 99th percentile and maximum of per-round values; `None` without any.
    pub fn of(mut values: Vec<u64>) -> Option<SpreadStat> {
        values.sort_unstable();
        Some(SpreadStat {
            p50: percentile(&values, 50.0)?,
            p99: percentile(&values, 99.0)?,
            max: *values.last()?,
        })
    }
}

/// How simultaneous a scenario's races were, over its rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spreads {
    /// First to last release of a round's writes (client side).
    pub send: Option<SpreadStat>,
    /// First to last answer of a round's writes (client side).
    pub response: Option<SpreadStat>,
    /// First to last arrival of a round's writes at the server (built-in server only).
    pub arrival: Option<SpreadStat>,
}

impl ScenarioResult {
    /// The per-round spreads of this scenario, summarised.
    pub fn spreads(&self) -> Spreads {
        let rounds = &self.verdict.rounds;
        Spreads {
            send: SpreadStat::of(rounds.iter().map(|r| r.send_spread_ns).collect()),
            response: SpreadStat::of(rounds.iter().map(|r| r.response_spread_ns).collect()),
            arrival: SpreadStat::of(rounds.iter().filter_map(|r| r.arrival_spread_ns).collect()),
        }
    }
}

/// Writes a file through a temporary name and a rename, so a crash never leaves a
/// half-written report where a complete one is expected.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    write(&tmp)?;
    std::fs::rename(&tmp, path)
}
