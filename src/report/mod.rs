//! Stage 5 of the pipeline: reports. A [`ScenarioResult`] (a verdict, its latency, its
//! thresholds and how the run went) becomes the files of a run folder (CSV,
//! `summary.json`, `report.html`), a JUnit file, and a summary in the terminal.
//!
//! The rules every report shares live here, beside the types: how a scenario or a run
//! stands ([`RunStatus`]: PASS, FAIL, ERROR or INCONCLUSIVE, with
//! [`ScenarioResult::inconclusive`] saying when too little was judged), the exit code
//! that follows from it ([`exit_code`]), and findings grouped by kind ([`by_kind`]).

pub mod chart;
pub mod csv_files;
pub mod html;
pub mod json;
pub mod junit;
pub mod progress;
pub mod terminal;
pub mod timeline;
pub mod witness;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::check::{
    percentile, Verdict, Violation, ViolationKind, Warning, WarningKind, WitnessSet,
};
use crate::convergence::Convergence;
use crate::gate::{Figures, ThresholdResult};
use crate::history::Outcome;
use crate::latency::Latency;
use crate::scenario::{ConnectionPolicy, PassedOver, Secrets, SyncRan};
use crate::series::TimeSeries;

/// Everything the reports say about one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub verdict: Verdict,
    pub latency: Latency,
    /// Throughput and write latency over time (drawn for workloads whose writers run
    /// free).
    pub series: TimeSeries,
    /// Counter scenarios: how each client strategy converged.
    pub convergence: Convergence,
    /// The target's base URL (`builtin` runs show the loopback URL).
    pub target: String,
    /// How the writes were released (for `sustained`, the mode that chose its client),
    /// and whether `auto` chose the mode; `None` for a counter, whose writers run free,
    /// or when unknown (a re-checked history).
    pub sync: Option<SyncRan>,
    /// The modes `auto` tried before the one that ran, each with why the target could
    /// not take it; empty when the first candidate ran, or the scenario named its mode.
    pub sync_passed_over: Vec<PassedOver>,
    /// How the writers' connections lived (kept, or fresh every round); `None` when the
    /// writes were not released together, or when unknown.
    pub writer_connections: Option<ConnectionPolicy>,
    /// Why the scenario could not run to the end, if it could not.
    pub error: Option<String>,
    /// False when interrupted or aborted: the figures cover only what was measured.
    pub complete: bool,
    pub duration: Duration,
    /// The release-gate thresholds, evaluated ([`crate::gate`]).
    pub thresholds: Vec<ThresholdResult>,
    /// The share of writes that may be indeterminate or not sent before the scenario is
    /// INCONCLUSIVE (`inconclusive_above`, `--inconclusive-above`).
    pub inconclusive_above: f64,
    /// The violations' minimal witnesses and the first violating rounds' records, for
    /// the witness files and the timelines ([`witness`]).
    pub witness: WitnessSet,
}

impl ScenarioResult {
    /// No violation and no failed threshold.
    pub fn passed(&self) -> bool {
        self.verdict.passed() && self.failed_thresholds().next().is_none()
    }

    /// The thresholds that failed.
    pub fn failed_thresholds(&self) -> impl Iterator<Item = &ThresholdResult> {
        self.thresholds
            .iter()
            .filter(|t| t.status == crate::gate::Status::Fail)
    }

    /// Why this scenario is INCONCLUSIVE, or `None`: when nothing broke (no violation,
    /// no failed threshold) and it could run, but it judged nothing (no round,
    /// increment or attempt had a definite outcome), or more of its writes than
    /// [`ScenarioResult::inconclusive_above`] allows were indeterminate or not sent, or
    /// the checker was not given all it needs ([`Verdict::cannot_judge`]: a sharded
    /// run's missing shard).
    /// Like Jepsen's *unknown*: saying PASS would claim what was not seen.
    pub fn inconclusive(&self) -> Option<String> {
        if !self.passed() || self.error.is_some() {
            return None;
        }
        let v = &self.verdict;
        let c = &v.counts;
        let undecided = c.undecided();
        let summary = || {
            let mut parts = Vec::new();
            for outcome in [Outcome::Indeterminate, Outcome::NotSent] {
                let n = match outcome {
                    Outcome::Indeterminate => c.indeterminate,
                    _ => c.not_sent,
                };
                if n > 0 {
                    let causes = causes_text(&c.causes_of(outcome));
                    let what = outcome.name().replace('_', " ");
                    parts.push(if causes.is_empty() {
                        format!("{n} {what}")
                    } else {
                        format!("{n} {what}: {causes}")
                    });
                }
            }
            if parts.is_empty() {
                String::new()
            } else {
                format!("; of {} writes, {}", c.writes, parts.join("; "))
            }
        };
        if !v.cannot_judge.is_empty() {
            return Some(format!("not judged: {}", v.cannot_judge.join("; ")));
        }
        let j = &v.judged;
        if j.judged == 0 {
            let unit = if j.unit.is_empty() { "rounds" } else { j.unit };
            let weak = v.warned(crate::check::WarningKind::WeakVersionToken);
            return Some(if j.total == 0 {
                format!("nothing was judged: no {unit} ran{}", summary())
            } else if weak > 0 {
                format!(
                    "nothing was judged: none of the {} {unit} could be judged ({weak} raced only a weak version token, which never matches){}",
                    j.total,
                    summary()
                )
            } else {
                format!(
                    "nothing was judged: none of the {} {unit} had a definite outcome{}",
                    j.total,
                    summary()
                )
            });
        }
        if c.writes > 0 {
            let share = undecided as f64 / c.writes as f64;
            if share > self.inconclusive_above {
                return Some(format!(
                    "{:.1}% of writes were indeterminate or not sent, above the {} limit \
                     (inconclusive_above){}",
                    share * 100.0,
                    crate::metrics::format(crate::metrics::Unit::Rate, self.inconclusive_above),
                    summary()
                ));
            }
        }
        None
    }

    /// Replaces secrets with `***`, in every form, in every text the reports show
    /// (records are redacted by the engine as they are made).
    pub fn redact(&mut self, secrets: &Secrets) {
        if secrets.is_empty() {
            return;
        }
        let hide = |text: &mut String| secrets.hide(text);
        let hide_text = |text: &mut crate::history::Text| {
            if !secrets.is_empty() {
                *text = secrets.redact(text).into();
            }
        };
        hide(&mut self.target);
        if let Some(e) = &mut self.error {
            hide(e);
        }
        for passed in &mut self.sync_passed_over {
            hide(&mut passed.why);
        }
        for v in &mut self.verdict.violations {
            hide(&mut v.evidence);
            if let Some(version) = &mut v.version {
                hide(version);
            }
        }
        for w in &mut self.verdict.warnings {
            hide(&mut w.evidence);
        }
        for r in &mut self.verdict.rounds {
            for text in [&mut r.version_sent, &mut r.final_version]
                .into_iter()
                .flatten()
            {
                hide(text);
            }
            hide(&mut r.applied);
        }
        for t in &mut self.thresholds {
            hide(&mut t.threshold.limit_text);
        }
        let witnessed = self.witness.witnesses.iter_mut().flat_map(|w| {
            hide(&mut w.evidence);
            hide(&mut w.shows);
            w.setup
                .iter_mut()
                .chain(w.steps.iter_mut().map(|s| &mut s.record))
        });
        let drawn = self
            .witness
            .rounds
            .iter_mut()
            .flat_map(|t| t.records.iter_mut());
        for record in witnessed.chain(drawn) {
            hide_text(&mut record.url);
            hide(&mut record.body);
            hide(&mut record.error);
            for text in [&mut record.version_sent, &mut record.version_returned]
                .into_iter()
                .flatten()
            {
                hide_text(text);
            }
        }
    }

    /// Every figure of the scenario, by metric name ([`crate::metrics`]).
    pub fn figures(&self) -> Figures {
        crate::gate::measure(&self.verdict, &self.latency, self.duration)
    }

    /// How this scenario stands ([`RunStatus::of`] over it alone).
    pub fn run_status(&self) -> RunStatus {
        RunStatus::of([self])
    }

    /// `FAIL` when the contract broke or a threshold failed, `ERROR` when the scenario
    /// could not run, `INCONCLUSIVE` when too little was judged, else `PASS`:
    /// [`ScenarioResult::run_status`] as reports write it.
    pub fn status(&self) -> &'static str {
        self.run_status().name()
    }
}

/// Why a scenario's writes got no whole answer, by cause: "80 of 80 writes
/// indeterminate (80 timed out)", "3 of 80 writes not sent (3 could not connect)", the
/// answers judged by their status only (cut at the body limit, early), and the reads
/// that failed before their write; empty when every write got a whole answer.
pub fn undecided_causes(r: &ScenarioResult) -> Vec<String> {
    let c = &r.verdict.counts;
    let mut parts = Vec::new();
    for (outcome, n, what) in [
        (Outcome::Indeterminate, c.indeterminate, "indeterminate"),
        (Outcome::NotSent, c.not_sent, "not sent"),
    ] {
        if n > 0 {
            let causes = causes_text(&c.causes_of(outcome));
            parts.push(if causes.is_empty() {
                format!("{n} of {} writes {what}", c.writes)
            } else {
                format!("{n} of {} writes {what} ({causes})", c.writes)
            });
        }
    }
    let judged_by_status: Vec<(crate::history::Cause, u64)> =
        [Outcome::Winner, Outcome::Conflict, Outcome::Unexpected]
            .iter()
            .flat_map(|o| c.causes_of(*o))
            .fold(Vec::new(), |mut all, (cause, n)| {
                match all.iter_mut().find(|(c, _)| *c == cause) {
                    Some((_, m)) => *m += n,
                    None => all.push((cause, n)),
                }
                all
            });
    if !judged_by_status.is_empty() {
        parts.push(format!(
            "judged by status: {}",
            causes_text(&judged_by_status)
        ));
    }
    let failed_reads: u64 = c.failed_reads.values().sum();
    if failed_reads > 0 {
        let causes: Vec<String> = c
            .failed_reads
            .iter()
            .map(|(cause, n)| match cause {
                Some(cause) => format!("{n} {}", cause.describe()),
                None => format!("{n} unexpected status"),
            })
            .collect();
        parts.push(format!(
            "{failed_reads} reads failed before their write ({}), so those attempts never wrote",
            causes.join(", ")
        ));
    }
    parts
}

/// "24 reset after sending, 3 timed out": causes and their counts, most frequent first.
pub fn causes_text(causes: &[(crate::history::Cause, u64)]) -> String {
    causes
        .iter()
        .map(|(cause, n)| format!("{n} {}", cause.describe()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How a scenario, or a run of several, stands: the one rule behind every verdict the
/// reports print and behind the exit code. Precedence: FAIL over ERROR over
/// INCONCLUSIVE over PASS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every contract held, every threshold passed, and enough was judged.
    Pass,
    /// A violation or a failed threshold; this wins over everything else.
    Fail,
    /// No failure, but a scenario could not run to the end.
    Error,
    /// No failure and no error, but a scenario judged too little to pass
    /// ([`ScenarioResult::inconclusive`]).
    Inconclusive,
}

/// "2 FAIL, 11 PASS": how many results stand each way, the worst first (the counts
/// beside the run's verdict in the terminal and the HTML pages).
pub fn verdict_counts<'a>(results: impl Iterator<Item = &'a ScenarioResult> + Clone) -> String {
    let parts: Vec<String> = [
        RunStatus::Fail,
        RunStatus::Error,
        RunStatus::Inconclusive,
        RunStatus::Pass,
    ]
    .iter()
    .filter_map(|s| {
        let n = results.clone().filter(|r| r.run_status() == *s).count();
        (n > 0).then(|| format!("{n} {}", s.name()))
    })
    .collect();
    parts.join(", ")
}

impl RunStatus {
    /// `Fail` when any result failed, else `Error` when any could not run, else
    /// `Inconclusive` when any judged too little, else `Pass`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a ScenarioResult>) -> RunStatus {
        let mut status = RunStatus::Pass;
        for r in results {
            if !r.passed() {
                return RunStatus::Fail;
            }
            if r.error.is_some() {
                status = RunStatus::Error;
            } else if status == RunStatus::Pass && r.inconclusive().is_some() {
                status = RunStatus::Inconclusive;
            }
        }
        status
    }

    /// `PASS`, `FAIL`, `ERROR` or `INCONCLUSIVE`, as every report writes it.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Pass => "PASS",
            RunStatus::Fail => "FAIL",
            RunStatus::Error => "ERROR",
            RunStatus::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// The exit code for a set of results: 1 when any contract broke (or a threshold
/// failed), else 2 when a scenario could not run, else 3 when one was INCONCLUSIVE,
/// else 130 when the run was `stopped` (SIGINT or SIGTERM) or a scenario was
/// interrupted, else 0.
pub fn exit_code<'a, I>(results: I, stopped: bool) -> u8
where
    I: IntoIterator<Item = &'a ScenarioResult>,
    I::IntoIter: Clone,
{
    let results = results.into_iter();
    match RunStatus::of(results.clone()) {
        RunStatus::Fail => 1,
        RunStatus::Error => 2,
        RunStatus::Inconclusive => 3,
        RunStatus::Pass if stopped || results.clone().any(|r| !r.complete) => 130,
        RunStatus::Pass => 0,
    }
}

/// What violations and warnings share, so that reports group and show both one way.
pub trait Finding {
    /// Its kind: [`ViolationKind`] or [`WarningKind`].
    type Kind: Copy + PartialEq + std::fmt::Display + 'static;
    /// Every kind, in report order.
    const KINDS: &'static [Self::Kind];
    /// This finding's kind.
    fn kind(&self) -> Self::Kind;
    /// The round it was seen in, if it belongs to one.
    fn round(&self) -> Option<u32>;
}

impl Finding for Violation {
    type Kind = ViolationKind;
    const KINDS: &'static [ViolationKind] = &ViolationKind::ALL;
    fn kind(&self) -> ViolationKind {
        self.kind
    }
    fn round(&self) -> Option<u32> {
        self.round
    }
}

impl Finding for Warning {
    type Kind = WarningKind;
    const KINDS: &'static [WarningKind] = &WarningKind::ALL;
    fn kind(&self) -> WarningKind {
        self.kind
    }
    fn round(&self) -> Option<u32> {
        self.round
    }
}

/// The findings of one kind, in the order the checker gave them.
#[derive(Debug)]
pub struct KindGroup<'a, F: Finding> {
    pub kind: F::Kind,
    pub found: Vec<&'a F>,
}

impl<F: Finding> KindGroup<'_, F> {
    /// ` in 3 of 50 rounds` when the findings belong to rounds, else nothing.
    pub fn in_rounds(&self, rounds: usize) -> String {
        if self.found.iter().any(|x| x.round().is_some()) {
            format!(" in {} of {rounds} rounds", self.found.len())
        } else {
            String::new()
        }
    }
}

/// Findings grouped by kind, kinds in report order; kinds not seen are left out.
pub fn by_kind<F: Finding>(findings: &[F]) -> Vec<KindGroup<'_, F>> {
    F::KINDS
        .iter()
        .map(|&kind| KindGroup {
            kind,
            found: findings.iter().filter(|x| x.kind() == kind).collect(),
        })
        .filter(|group| !group.found.is_empty())
        .collect()
}

/// One per-round spread summarised over a scenario's rounds, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadStat {
    /// The median round's spread.
    pub p50: u64,
    /// The 99th percentile round's spread.
    pub p99: u64,
    /// The widest round's spread.
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

/// What the reports say about the run as a whole.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub started_at: SystemTime,
    /// The seed of markers and jitter; `None` for a history checked again.
    pub seed: Option<u64>,
    /// Scenarios never started because the run was interrupted.
    pub not_run: Vec<String>,
}

impl RunInfo {
    /// False when the run was interrupted or a scenario stopped early.
    pub fn complete(&self, results: &[ScenarioResult]) -> bool {
        self.not_run.is_empty() && results.iter().all(|r| r.complete)
    }

    /// The start time, RFC 3339 in UTC to the second.
    pub fn started(&self) -> String {
        humantime::format_rfc3339_seconds(self.started_at).to_string()
    }
}

/// Every file a run folder holds, in the order they are written: the CSV files, then
/// `summary.json` and `report.html`.
pub fn run_files() -> Vec<&'static str> {
    csv_files::FILES
        .iter()
        .copied()
        .chain(["summary.json", "report.html"])
        .collect()
}

/// Writes every report of a run into `dir` (created if missing): the CSV files,
/// `summary.json` and `report.html`. Each file is written atomically.
pub fn write_run(
    dir: &Path,
    info: &RunInfo,
    results: &[ScenarioResult],
    records: &[crate::history::RequestRecord],
) -> std::io::Result<Vec<PathBuf>> {
    write_reports(dir, info, results, csv_files::History::Records(records))
}

/// [`write_run`] for a history checked again (`contend check`): its `requests.csv` is a
/// copy of the history file, never held in memory (and left alone when it is that file).
pub fn write_rechecked(
    dir: &Path,
    info: &RunInfo,
    results: &[ScenarioResult],
    history: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    write_reports(dir, info, results, csv_files::History::CopyOf(history))
}

fn write_reports(
    dir: &Path,
    info: &RunInfo,
    results: &[ScenarioResult],
    history: csv_files::History<'_>,
) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = csv_files::write_all(dir, results, history)?;
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let summary = json::summary(&run_id, info, results);
    let json_path = dir.join("summary.json");
    write_atomically(&json_path, |p| {
        let text = serde_json::to_string_pretty(&summary).map_err(std::io::Error::other)?;
        std::fs::write(p, text + "\n")
    })?;
    paths.push(json_path);
    let html_path = dir.join("report.html");
    write_atomically(&html_path, |p| {
        std::fs::write(p, html::run_page(&run_id, info, results))
    })?;
    paths.push(html_path);
    Ok(paths)
}

/// Writes a file through a temporary name and a rename, so a crash never leaves a
/// half-written report where a complete one is expected. The data reaches the disk
/// before the rename; if writing fails, the temporary file is removed and whatever was
/// at `path` before is left as it was.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let written = write(&tmp).and_then(|()| std::fs::File::open(&tmp)?.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_previous_file_and_no_partial_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        std::fs::write(&path, "complete,old\n").unwrap();
        let failed = write_atomically(&path, |p| {
            std::fs::write(p, "half a ro")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "complete,old\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no .partial file is left behind");
    }

    #[test]
    fn a_successful_write_replaces_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        std::fs::write(&path, "old\n").unwrap();
        write_atomically(&path, |p| std::fs::write(p, "new\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert!(!dir.path().join("summary.csv.partial").exists());
    }
}
