//! Stage 5 of the pipeline: reports. A [`ScenarioResult`] (a verdict, its latency and how
//! the run went) becomes CSV files in a run folder and a summary in the terminal.

pub mod csv_files;
pub mod progress;
pub mod terminal;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::check::Verdict;
use crate::convergence::Convergence;
use crate::latency::Latency;

/// Everything the reports say about one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub verdict: Verdict,
    pub latency: Latency,
    /// Counter scenarios: how each client strategy converged.
    pub convergence: Convergence,
    /// The target's base URL (`builtin` runs show the loopback URL).
    pub target: String,
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
