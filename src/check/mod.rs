//! Stage 4 of the pipeline: the checker reads a scenario's history and gives a verdict.
//!
//! It never sends traffic and never trusts the engine's view of the run beyond the
//! records, so a saved `requests.csv` can be checked again later. Like Jepsen's checkers,
//! it never counts an `indeterminate` write as lost or as won. Every violation carries
//! its witness: the round (version), the writers and the statuses that show it.
//!
//! Each checker also says how much it could judge ([`Judged`]): the rounds (increments,
//! attempts) that had a definite outcome. A round whose every write was indeterminate or
//! not sent, or whose writers all sent a weak version token, tested nothing; the report
//! stage calls a scenario that judged nothing INCONCLUSIVE, never PASS.
//!
//! Beside the verdict, [`witness`] picks each violation's minimal witness: the fewest
//! records that show it.

use std::collections::BTreeMap;

use crate::history::{Outcome, Phase, RequestRecord};
use crate::scenario::WorkloadId;

mod answers;
mod counter;
mod idempotency;
mod precondition_required;
mod round;
mod stale_write;
mod stock;
mod sustained;
mod transition;
mod unique_create;
pub mod witness;

mod read_back;
pub use crate::outcome::{Cause, ViolationKind, WarningKind};
pub(crate) use read_back::ReadBack;
pub use sustained::{reads_body, SustainedReport};
pub use witness::{Witness, WitnessSet};

/// One warning and its witness.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub kind: WarningKind,
    /// The round it was seen in, if it belongs to one.
    pub round: Option<u32>,
    /// The exchanges that show it, in words.
    pub evidence: String,
}

/// One observed violation and its witness.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub kind: ViolationKind,
    /// The round it was seen in (stale-write), if it belongs to one.
    pub round: Option<u32>,
    /// The version token the writers sent.
    pub version: Option<String>,
    /// The exchanges that show it, in words.
    pub evidence: String,
}

/// What happened to one version: a stale-write round, or all counter writes that sent
/// the same version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoundReport {
    pub round: u32,
    pub version_sent: Option<String>,
    pub writers: u32,
    pub winners: u32,
    pub conflicts: u32,
    pub unexpected: u32,
    pub indeterminate: u32,
    pub not_sent: u32,
    /// The version token read back after the round.
    pub final_version: Option<String>,
    pub winning_writers: Vec<u32>,
    /// Whose write the final state carries: `w3`, `probe`, or empty when none is seen.
    pub applied: String,
    pub violations: Vec<ViolationKind>,
    /// First to last write's release (send) instant, in nanoseconds.
    pub send_spread_ns: u64,
    /// First to last answer of the writes that got one, in nanoseconds.
    pub response_spread_ns: u64,
    /// Where the server stamps arrivals (the built-in server, or `--arrivals`): the
    /// median of each write's arrival after the round's first, in nanoseconds.
    pub arrival_p50_ns: Option<u64>,
    /// The 99th percentile of the same offsets, in nanoseconds.
    pub arrival_p99_ns: Option<u64>,
    /// First to last arrival of the round's writes at the server, in nanoseconds.
    pub arrival_spread_ns: Option<u64>,
    /// Warnings seen in this round.
    pub warnings: Vec<WarningKind>,
    /// Whether the round could be judged: at least one write had a definite outcome
    /// (a winner, a conflict or an unexpected status), and the race tested the
    /// contract (its writers' token was not a weak one).
    pub judged: bool,
}

/// Counter workload figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CounterReport {
    /// Increments attempted (writer × increment pairs).
    pub increments: u64,
    pub acknowledged: u64,
    /// Increments whose last write was indeterminate: may or may not be counted.
    pub indeterminate: u64,
    /// Increments abandoned after the retry budget (never a violation).
    pub gave_up: u64,
    /// Increments that ended definitely: acknowledged, or abandoned after definite
    /// answers (not indeterminate, and not for want of any answer).
    pub judged: u64,
    pub initial: Option<i64>,
    pub final_value: Option<i64>,
    pub lost_updates: u64,
    /// Write attempts, retries included.
    pub attempts: u64,
    pub conflicts: u64,
    /// How many increments took each number of write attempts (attempts → increments);
    /// increments that never wrote are left out.
    pub attempts_per_increment: std::collections::BTreeMap<u32, u64>,
}

impl CounterReport {
    pub fn attempts_per_success(&self) -> Option<f64> {
        (self.acknowledged > 0).then(|| self.attempts as f64 / self.acknowledged as f64)
    }

    pub fn conflicts_per_success(&self) -> Option<f64> {
        (self.acknowledged > 0).then(|| self.conflicts as f64 / self.acknowledged as f64)
    }
}

/// Request counts by outcome (contended writes and probes only), with the causes of
/// answers that were not whole, and the reads that failed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Counts {
    /// Every request of the scenario, reads included.
    pub requests: u64,
    pub writes: u64,
    pub winners: u64,
    pub conflicts: u64,
    pub unexpected: u64,
    pub indeterminate: u64,
    pub not_sent: u64,
    /// Writes by outcome and cause, for those with a cause (every indeterminate and
    /// not-sent write of this contend has one; a cut or early answer has one too).
    pub causes: BTreeMap<(Outcome, Cause), u64>,
    /// Reads before a write (phase `read`) that got no usable answer, by cause (`None`:
    /// an unexpected status): their attempt never wrote.
    pub failed_reads: BTreeMap<Option<Cause>, u64>,
}

impl Counts {
    /// Writes whose outcome is unknown or that never reached the server.
    pub fn undecided(&self) -> u64 {
        self.indeterminate + self.not_sent
    }

    /// The causes of one outcome's writes, most frequent first: `[(reset, 24), ...]`.
    pub fn causes_of(&self, outcome: Outcome) -> Vec<(Cause, u64)> {
        let mut found: Vec<(Cause, u64)> = self
            .causes
            .iter()
            .filter(|((o, _), _)| *o == outcome)
            .map(|((_, c), n)| (*c, *n))
            .collect();
        found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        found
    }
}

/// How much of a scenario its checker could judge.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Judged {
    /// What it judges, plural: `rounds`, `increments` or `attempts`.
    pub unit: &'static str,
    /// How many there were.
    pub total: u64,
    /// How many had a definite outcome to judge.
    pub judged: u64,
}

/// A scenario's verdict: PASS when there is no violation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub scenario: String,
    pub workload: WorkloadId,
    pub counts: Counts,
    pub rounds: Vec<RoundReport>,
    pub counter: Option<CounterReport>,
    /// Sustained workload figures: throughput, conflict rate, latency.
    pub sustained: Option<SustainedReport>,
    pub violations: Vec<Violation>,
    /// Acknowledged updates that did not survive.
    pub lost_updates: u64,
    /// Findings that do not fail the scenario (an answer that leaks internals...).
    pub warnings: Vec<Warning>,
    /// How much the checker could judge.
    pub judged: Judged,
    /// What the checker was not given to judge, in words: a sharded run's missing shard,
    /// or the final state of resources other shards wrote too. Each makes an unfailed
    /// scenario INCONCLUSIVE, since a PASS would claim what was never seen.
    pub cannot_judge: Vec<String>,
}

impl Verdict {
    /// An empty verdict for one scenario: no request counted, no round, no finding. Each
    /// checker fills it in from the records.
    pub fn new(scenario: &str, workload: WorkloadId) -> Verdict {
        Verdict {
            scenario: scenario.to_string(),
            workload,
            counts: Counts::default(),
            rounds: Vec::new(),
            counter: None,
            sustained: None,
            violations: Vec::new(),
            lost_updates: 0,
            warnings: Vec::new(),
            judged: Judged::default(),
            cannot_judge: Vec::new(),
        }
    }

    /// No violation: the contract held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// How many times a kind of violation was seen.
    pub fn count(&self, kind: ViolationKind) -> usize {
        self.violations.iter().filter(|v| v.kind == kind).count()
    }

    /// How many times a kind of warning was given.
    pub fn warned(&self, kind: WarningKind) -> usize {
        self.warnings.iter().filter(|w| w.kind == kind).count()
    }
}

/// Checks every scenario in a history, in order of first appearance.
pub fn check_all(records: &[RequestRecord]) -> Vec<Verdict> {
    let mut order: Vec<(&str, WorkloadId)> = Vec::new();
    for r in records {
        if !order.iter().any(|(s, _)| *s == r.scenario) {
            order.push((&r.scenario, r.workload));
        }
    }
    order
        .into_iter()
        .map(|(name, workload)| {
            let mine: Vec<&RequestRecord> = records.iter().filter(|r| r.scenario == name).collect();
            check(name, workload, &mine)
        })
        .collect()
}

/// Checks one scenario's records.
pub fn check(scenario: &str, workload: WorkloadId, records: &[&RequestRecord]) -> Verdict {
    let mut verdict = Verdict {
        counts: counts(records),
        ..Verdict::new(scenario, workload)
    };
    match workload {
        WorkloadId::StaleWrite => stale_write::check(records, &mut verdict),
        WorkloadId::Counter => counter::check(records, &mut verdict),
        WorkloadId::Sustained => sustained::check(records, &mut verdict),
        WorkloadId::UniqueCreate => unique_create::check(records, &mut verdict),
        WorkloadId::Transition => transition::check(records, &mut verdict),
        WorkloadId::Stock => stock::check(records, &mut verdict),
        WorkloadId::Idempotency => idempotency::check(records, &mut verdict),
        WorkloadId::PreconditionRequired => precondition_required::check(records, &mut verdict),
    }
    judge_rounds(&mut verdict);
    verdict
}

/// For the round-based checkers, which leave it to their rounds: how many rounds there
/// were and how many could be judged.
fn judge_rounds(verdict: &mut Verdict) {
    if verdict.judged.unit.is_empty() {
        verdict.judged = Judged {
            unit: "rounds",
            total: verdict.rounds.len() as u64,
            judged: verdict.rounds.iter().filter(|r| r.judged).count() as u64,
        };
    }
}

/// A `sustained` scenario checked as its records go by, one at a time, in bounded
/// memory: a run's attempts as they are spooled, or a saved history's as it is read.
pub struct SustainedCheck {
    verdict: Verdict,
    stream: sustained::Stream,
}

impl SustainedCheck {
    /// A check of scenario `scenario`, before its first record.
    pub fn new(scenario: &str) -> SustainedCheck {
        SustainedCheck {
            verdict: Verdict::new(scenario, WorkloadId::Sustained),
            stream: sustained::Stream::default(),
        }
    }

    /// Takes the scenario's next record.
    pub fn add(&mut self, r: RequestRecord) {
        count(&mut self.verdict.counts, &r);
        self.stream.add(r);
    }

    /// The verdict on every record taken.
    pub fn finish(mut self) -> Verdict {
        self.stream.finish(&mut self.verdict);
        self.verdict
    }
}

fn counts(records: &[&RequestRecord]) -> Counts {
    let mut c = Counts::default();
    for r in records {
        count(&mut c, r);
    }
    c
}

/// Adds one request to the counts.
fn count(c: &mut Counts, r: &RequestRecord) {
    c.requests += 1;
    if matches!(r.phase, Phase::Write | Phase::Probe) {
        c.writes += 1;
        match r.outcome {
            Outcome::Winner => c.winners += 1,
            Outcome::Conflict => c.conflicts += 1,
            Outcome::Unexpected => c.unexpected += 1,
            Outcome::Indeterminate => c.indeterminate += 1,
            Outcome::NotSent => c.not_sent += 1,
            Outcome::Ok => {}
        }
        if let Some(cause) = r.cause {
            *c.causes.entry((r.outcome, cause)).or_insert(0) += 1;
        }
    } else if r.phase == Phase::Read && r.outcome != Outcome::Ok {
        *c.failed_reads.entry(r.cause).or_insert(0) += 1;
    }
}

/// Whether a write's outcome is definite: the API said it won, lost or failed.
pub(crate) fn definite(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Winner | Outcome::Conflict | Outcome::Unexpected
    )
}

/// Evidence of phantom acknowledgements among one race's writes: two or more writes,
/// each with its own marker, answered as winners with the same returned version, a
/// new one (a version that did not move is `version_not_advanced`'s business). At most
/// one of them can be what the server stored.
pub(crate) fn phantoms(writes: &[&RequestRecord]) -> Option<String> {
    let mut by_version: Vec<(&str, Vec<&RequestRecord>)> = Vec::new();
    for w in writes.iter().filter(|w| w.outcome == Outcome::Winner) {
        let (Some(sent), Some(returned)) = (&w.version_sent, &w.version_returned) else {
            continue;
        };
        if sent == returned {
            continue;
        }
        match by_version.iter_mut().find(|(v, _)| v == returned) {
            Some((_, list)) => list.push(w),
            None => by_version.push((returned, vec![w])),
        }
    }
    let shared: Vec<String> = by_version
        .iter()
        .filter(|(_, ws)| {
            let mut markers: Vec<Option<&str>> = ws.iter().map(|w| w.marker.as_deref()).collect();
            markers.sort_unstable();
            markers.dedup();
            markers.len() > 1
        })
        .map(|(version, ws)| {
            format!(
                "{} writes were acknowledged with the same new version {version} ({})",
                ws.len(),
                witnesses(ws, |_| true)
            )
        })
        .collect();
    (!shared.is_empty()).then(|| {
        format!(
            "{}: different writes cannot all have made the one version, so the server acknowledged writes it did not store",
            shared.join("; ")
        )
    })
}

/// Whether a version token is weak (`W/"…"`), which `If-Match` never matches.
pub(crate) fn weak(token: &str) -> bool {
    token.trim_start().starts_with("W/")
}

/// Tallies one version's writes into a round report (violations not yet set).
pub(crate) fn tally(round: u32, writes: &[&RequestRecord]) -> RoundReport {
    let mut report = RoundReport {
        round,
        version_sent: writes
            .first()
            .and_then(|w| w.version_sent.as_deref().map(str::to_owned)),
        writers: writes.len() as u32,
        ..RoundReport::default()
    };
    for w in writes {
        match w.outcome {
            Outcome::Winner => {
                report.winners += 1;
                report.winning_writers.extend(w.writer);
            }
            Outcome::Conflict => report.conflicts += 1,
            Outcome::Unexpected => report.unexpected += 1,
            Outcome::Indeterminate => report.indeterminate += 1,
            Outcome::NotSent => report.not_sent += 1,
            Outcome::Ok => {}
        }
    }
    report.judged = writes.iter().any(|w| definite(w.outcome));
    report.send_spread_ns = spread(writes.iter().map(|w| w.start_ns));
    report.response_spread_ns = spread(
        writes
            .iter()
            .filter(|w| w.status.is_some())
            .map(|w| w.end_ns),
    );
    let mut arrivals: Vec<u64> = writes.iter().filter_map(|w| w.arrival_ns).collect();
    arrivals.sort_unstable();
    if let (Some(&first), true) = (arrivals.first(), arrivals.len() >= 2) {
        let offsets: Vec<u64> = arrivals.iter().map(|a| a - first).collect();
        report.arrival_p50_ns = percentile(&offsets, 50.0);
        report.arrival_p99_ns = percentile(&offsets, 99.0);
        report.arrival_spread_ns = offsets.last().copied();
    }
    report
}

/// Last minus first of some instants; 0 when there are none.
fn spread(instants: impl Iterator<Item = u64> + Clone) -> u64 {
    let max = instants.clone().max().unwrap_or(0);
    max - instants.min().unwrap_or(max)
}

/// The nearest-rank percentile `p` (0–100) of sorted values; `None` when there are none.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// "w0 200, w3 412, w5 timed out": who sent what and how it ended.
pub(crate) fn witnesses(
    writes: &[&RequestRecord],
    keep: impl Fn(&RequestRecord) -> bool,
) -> String {
    const MAX: usize = 12;
    let chosen: Vec<&&RequestRecord> = writes.iter().filter(|w| keep(w)).collect();
    let mut parts: Vec<String> = chosen
        .iter()
        .take(MAX)
        .map(|w| {
            let who = w.writer.map_or("probe".to_string(), |n| format!("w{n}"));
            match w.status {
                Some(s) => format!("{who} {s}"),
                None => format!(
                    "{who} {}",
                    if w.error.is_empty() {
                        w.outcome.name()
                    } else {
                        &w.error
                    }
                ),
            }
        })
        .collect();
    if chosen.len() > MAX {
        parts.push(format!("and {} more", chosen.len() - MAX));
    }
    parts.join(", ")
}
