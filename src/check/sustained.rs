//! The `sustained` checker: every hot resource is a counter, checked with the counter
//! checker's lost-update arithmetic (acknowledged writes against the counter's growth);
//! the scenario's figures add throughput, conflict rate and attempt latency per outcome.
//!
//! It reads the history once, as a stream, in memory bounded whatever the run's length
//! ([`Stream`]): per resource a few counts and, for each of its most recent versions,
//! that version's counts and its first few writes (for the witness of a lost update),
//! per outcome an HdrHistogram, and the losing answers in batches. A server whose
//! version never advances (a static ETag) puts every write on one version: that version
//! keeps counting, not the writes themselves. A saved history checks to the same verdict (`contend check`).
//!
//! An attempt is one read and the conditional write after it. Its latency runs from its
//! start to the write's answer: from when the read was sent (`raw`) and, in the open
//! model, from when the timetable said the attempt was due (`corrected`, as wrk2 does),
//! so a server that stalls is charged for the attempts that queued behind the stall
//! rather than only for the stalled one.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, VecDeque};
use std::hash::Hasher;

use rustc_hash::FxHashMap as HashMap;

use crate::history::{Outcome, Phase, RequestRecord, Text};
use crate::latency::{Latency, Percentiles};

use super::{
    answers, counter, definite, phantoms, tally, witnesses, CounterReport, Judged, Verdict,
    Violation, ViolationKind, Warning, WarningKind,
};

/// Versions per resource whose writes are kept to show who won twice.
const RECENT_VERSIONS: usize = 1024;
/// Writes kept per version of each kind (winners, and the others): witnesses for the
/// evidence; the version's counts go on past them.
const KEPT_WRITES: usize = 32;
/// Versions with a violation reported in `rounds` (all are counted).
const ROUNDS_KEPT: usize = 1000;
/// Losing answers checked together (unexpected statuses, unactionable conflicts, leaks).
const ANSWER_BATCH: usize = 1000;

/// Figures of a sustained run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SustainedReport {
    /// Hot resources the writes went to (a run sets it from its scenario, a re-checked
    /// history counts those its records name).
    pub resources: u32,
    /// Connections that ran attempts (likewise: the scenario's, or the distinct writers
    /// a re-checked history shows).
    pub connections: u32,
    /// Read-then-write attempts started (reads sent).
    pub attempts: u64,
    /// Conditional writes sent.
    pub writes: u64,
    /// Writes the API acknowledged.
    pub acknowledged: u64,
    /// Writes refused with the promised conflict status.
    pub conflicts: u64,
    /// Writes whose answer was lost (timeout, reset): they may or may not count.
    pub indeterminate: u64,
    /// Writes that got a definite answer (acknowledged, conflict, unexpected).
    pub definite: u64,
    /// Attempts whose read got no usable answer, so they never wrote.
    pub failed_reads: u64,
    /// Acknowledged writes missing from their resource's counter, over all resources.
    pub lost_updates: u64,
    /// Versions on which more than one write won, over all resources.
    pub versions_doubled: u64,
    /// First attempt's start to last answer, in nanoseconds.
    pub elapsed_ns: u64,
    /// Whether attempts ran on a timetable (open model).
    pub open_model: bool,
    /// Open model: the rate actually scheduled, attempts per second (from the timetable).
    pub scheduled_rate: Option<f64>,
    /// Acknowledged writes and lost updates per resource, in resource order.
    pub per_resource: Vec<(u32, CounterReport)>,
    /// Attempt latency per outcome, from when the attempt really started.
    pub raw: Vec<(Outcome, Percentiles)>,
    /// Open model: attempt latency per outcome from the scheduled start.
    pub corrected: Vec<(Outcome, Percentiles)>,
}

impl SustainedReport {
    /// Acknowledged writes per second.
    pub fn write_throughput(&self) -> Option<f64> {
        (self.elapsed_ns > 0).then(|| self.acknowledged as f64 * 1e9 / self.elapsed_ns as f64)
    }

    /// HTTP requests (reads and writes) per second.
    pub fn request_rate(&self) -> Option<f64> {
        (self.elapsed_ns > 0)
            .then(|| (self.attempts + self.writes) as f64 * 1e9 / self.elapsed_ns as f64)
    }

    /// Conflicts as a fraction of the writes sent.
    pub fn conflict_rate(&self) -> Option<f64> {
        (self.writes > 0).then(|| self.conflicts as f64 / self.writes as f64)
    }
}

/// Whether a sustained write's answer goes to the checks of losing answers (its body is
/// read there): every write but a winner, and a winner that is problem details.
fn answer_checked(w: &RequestRecord) -> bool {
    w.outcome != Outcome::Winner
        || crate::scenario::media_type_matches("application/problem+json", &w.content_type)
}

/// Whether a checker reads this record's body: a sustained run's only when its write's
/// answer is checked ([`answer_checked`]), every other workload's always. A saved
/// history is read with the other bodies left out (`contend check`), which spares
/// unescaping the reads' and the winners' bodies of a long sustained run.
pub fn reads_body(r: &RequestRecord) -> bool {
    r.workload != crate::scenario::WorkloadId::Sustained
        || (r.phase == Phase::Write && answer_checked(r))
}

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    let mut stream = Stream::default();
    for r in records {
        stream.add((*r).clone());
    }
    stream.finish(verdict);
}

/// A version and the value its writes stored: writes race only when both agree, since a
/// server that reuses a version (ABA) makes the same version stand for other states.
type VersionKey = (Text, Option<i64>);

/// One hot resource's counter, as the stream goes by.
#[derive(Default)]
struct Resource {
    report: CounterReport,
    /// The writes of the most recent versions, and those versions oldest first.
    recent: HashMap<VersionKey, VersionWrites>,
    order: VecDeque<VersionKey>,
    values: VersionValues,
    /// "version "3": w1 200, w4 200" for the first versions with two winners.
    doubled: Vec<String>,
    versions_doubled: usize,
}

/// Counts a finding, keeping the first one's evidence.
pub(super) fn count_first(first: &mut Option<(String, usize)>, found: Option<String>) {
    if let Some(evidence) = found {
        first.get_or_insert((evidence, 0)).1 += 1;
    }
}

/// The version a record shows standing for a value, and when: a read's, or a winner's
/// answer's (the state it made).
pub(super) fn stood_for(r: &RequestRecord) -> Option<(&str, i64, u64)> {
    let at = match (r.phase, r.outcome) {
        (Phase::Read, Outcome::Ok) => r.start_ns,
        (Phase::Write, Outcome::Winner) => r.end_ns,
        _ => return None,
    };
    Some((r.version_returned.as_deref()?, r.value?, at))
}

/// The value each of the last [`RECENT_VERSIONS`] versions stood for, by the version's
/// 64-bit hash (a hash, not the text, keeps this off the reference counts): one of them
/// seen with another value is a reused version.
#[derive(Default)]
pub(super) struct VersionValues {
    seen: HashMap<u64, (i64, u64)>,
    order: VecDeque<u64>,
    /// The version hash and value seen last: most reads repeat them, and skip the map.
    last: Option<(u64, i64)>,
}

impl VersionValues {
    /// Notes that `version` stood for `value` at `at_ns`; the evidence when it stood for
    /// another value before.
    pub(super) fn saw(&mut self, version: &str, value: i64, at_ns: u64) -> Option<String> {
        let key = {
            let mut h = rustc_hash::FxHasher::default();
            h.write(version.as_bytes());
            h.finish()
        };
        if self.last == Some((key, value)) {
            return None;
        }
        self.last = Some((key, value));
        let Some(seen) = self.seen.get_mut(&key) else {
            self.seen.insert(key, (value, at_ns));
            self.order.push_back(key);
            if self.order.len() > RECENT_VERSIONS {
                if let Some(old) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            }
            return None;
        };
        let before = std::mem::replace(seen, (value, at_ns));
        (before.0 != value).then(|| reused(version, before, (value, at_ns)))
    }
}

/// The evidence that `version` stood for two values, each with the instant it was seen
/// (in either order: connections' records interleave, so the first seen may come second).
pub(super) fn reused(version: &str, one: (i64, u64), other: (i64, u64)) -> String {
    let ((a, ta), (b, tb)) = if one.1 <= other.1 {
        (one, other)
    } else {
        (other, one)
    };
    format!(
        "version {version} stood for value {a} and, {:.3} ms later, for value {b}: one version stood for two states, so a client still holding it would pass If-Match against the later one (a strong validator is unique across all versions of a resource over time, RFC 9110 §8.8.1)",
        (tb - ta) as f64 / 1e6
    )
}

/// The writes sent with one version: the first [`KEPT_WRITES`] winners and as many
/// others, and the counts and instants of all of them.
#[derive(Default)]
struct VersionWrites {
    kept: Vec<RequestRecord>,
    kept_winners: usize,
    /// The writes not kept, by outcome.
    more: RoundCounts,
    /// First and last send; first and last answer (of the writes that got one).
    sent: Option<(u64, u64)>,
    answered: Option<(u64, u64)>,
}

/// Writes by outcome.
#[derive(Default, Clone, Copy)]
struct RoundCounts {
    writers: u32,
    winners: u32,
    conflicts: u32,
    unexpected: u32,
    indeterminate: u32,
    not_sent: u32,
    judged: bool,
}

impl VersionWrites {
    /// Takes a write: kept, or counted; a `losing` one that is not kept goes to `batch`
    /// now (a kept one goes there when its version closes).
    fn take(&mut self, w: RequestRecord, losing: bool, batch: &mut Vec<RequestRecord>) {
        if let Some(w) = self.push(w, losing) {
            batch.push(w);
        }
    }

    /// Takes a write; hands it back when it is not kept and is `wanted` elsewhere.
    fn push(&mut self, w: RequestRecord, wanted: bool) -> Option<RequestRecord> {
        let widen = |span: &mut Option<(u64, u64)>, t: u64| {
            *span = Some(span.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
        };
        widen(&mut self.sent, w.start_ns);
        if w.status.is_some() {
            widen(&mut self.answered, w.end_ns);
        }
        let winner = w.outcome == Outcome::Winner;
        let room = if winner {
            self.kept_winners < KEPT_WRITES
        } else {
            self.kept.len() - self.kept_winners < KEPT_WRITES
        };
        if room {
            self.kept_winners += usize::from(winner);
            self.kept.push(w);
            return None;
        }
        let more = &mut self.more;
        more.writers += 1;
        more.judged |= definite(w.outcome);
        match w.outcome {
            Outcome::Winner => more.winners += 1,
            Outcome::Conflict => more.conflicts += 1,
            Outcome::Unexpected => more.unexpected += 1,
            Outcome::Indeterminate => more.indeterminate += 1,
            Outcome::NotSent => more.not_sent += 1,
            Outcome::Ok => {}
        }
        wanted.then_some(w)
    }

    /// The round report of this version's writes: the counts of all of them, the arrival
    /// offsets of those kept.
    fn tally(&self, round: u32) -> super::RoundReport {
        let refs: Vec<&RequestRecord> = self.kept.iter().collect();
        let mut report = tally(round, &refs);
        let more = self.more;
        report.writers += more.writers;
        report.winners += more.winners;
        report.conflicts += more.conflicts;
        report.unexpected += more.unexpected;
        report.indeterminate += more.indeterminate;
        report.not_sent += more.not_sent;
        report.judged |= more.judged;
        let width = |span: Option<(u64, u64)>| span.map_or(0, |(lo, hi)| hi - lo);
        report.send_spread_ns = width(self.sent);
        report.response_spread_ns = width(self.answered);
        report
    }
}

/// The sustained checker's state: bounded, whatever the number of records.
#[derive(Default)]
pub(super) struct Stream {
    resources: BTreeMap<u32, Resource>,
    report: SustainedReport,
    /// Each connection's last read start, by round: its write comes after it.
    reads: HashMap<Option<u32>, (u32, u64)>,
    raw: Option<Latency>,
    corrected: Option<Latency>,
    first_ns: Option<u64>,
    last_ns: u64,
    scheduled: (u64, Option<u64>, u64),
    /// Losing answers not yet checked.
    batch: Vec<RequestRecord>,
    answers: Vec<(ViolationKind, String, usize)>,
    warned: Vec<(WarningKind, String, usize)>,
    batches: usize,
    rounds: Vec<super::RoundReport>,
    versions_with_findings: usize,
    /// The first version with phantom acknowledgements, and how many versions had them.
    phantom: Option<(String, usize)>,
    /// The first version seen with two different values (read, or answered to a winner),
    /// and how many reads and answers showed one.
    reused: Option<(String, usize)>,
}

impl Stream {
    /// Takes one record (any order within a connection's read-then-write is kept).
    pub(super) fn add(&mut self, r: RequestRecord) {
        let Some(k) = r.resource else {
            return;
        };
        if r.phase == Phase::Write {
            return self.add_write(k, r);
        }
        let resource = self.resources.entry(k).or_default();
        match r.phase {
            Phase::Setup if r.value.is_some() => resource.report.initial = r.value,
            Phase::Final => resource.report.final_value = r.value.or(resource.report.final_value),
            Phase::Read => {
                self.report.attempts += 1;
                if r.outcome != Outcome::Ok {
                    self.report.failed_reads += 1;
                }
                resource.report.increments += 1;
                if let Some((version, value, at)) = stood_for(&r) {
                    count_first(&mut self.reused, resource.values.saw(version, value, at));
                }
                self.reads.insert(r.writer, (r.round, r.start_ns));
                let began = r.scheduled_ns.map_or(r.start_ns, |s| s.min(r.start_ns));
                self.first_ns = Some(self.first_ns.map_or(began, |f| f.min(began)));
                self.last_ns = self.last_ns.max(r.end_ns);
                if let Some(due) = r.scheduled_ns {
                    let (count, lo, hi) = &mut self.scheduled;
                    *count += 1;
                    *lo = Some(lo.map_or(due, |l| l.min(due)));
                    *hi = (*hi).max(due);
                }
            }
            _ => {}
        }
    }

    fn add_write(&mut self, k: u32, w: RequestRecord) {
        let report = &mut self.report;
        report.writes += 1;
        if definite(w.outcome) {
            report.definite += 1;
        }
        self.last_ns = self.last_ns.max(w.end_ns);
        let resource = self.resources.entry(k).or_default();
        let counts = &mut resource.report;
        counts.attempts += 1;
        match w.outcome {
            Outcome::Winner => {
                report.acknowledged += 1;
                counts.acknowledged += 1;
            }
            Outcome::Conflict => {
                report.conflicts += 1;
                counts.conflicts += 1;
            }
            Outcome::Indeterminate => counts.indeterminate += 1,
            _ => counts.gave_up += 1,
        }
        let started = match self.reads.get(&w.writer) {
            Some((round, start)) if *round == w.round => *start,
            _ => w.start_ns,
        };
        self.raw
            .get_or_insert_with(Latency::empty)
            .record(w.outcome, w.end_ns.saturating_sub(started));
        if let Some(due) = w.scheduled_ns {
            self.corrected
                .get_or_insert_with(Latency::empty)
                .record(w.outcome, w.end_ns.saturating_sub(due));
        }
        // A winner's answer names the state it made: its new version and its value.
        if let Some((version, value, at)) = stood_for(&w) {
            count_first(&mut self.reused, resource.values.saw(version, value, at));
        }
        let losing = answer_checked(&w);

        // The version's writes, kept while the version is recent; a losing answer also
        // goes to the batch (moved there when the version does not keep it).
        let version = (w.version_sent.clone().unwrap_or_default(), w.value);
        let batch = &mut self.batch;
        let evicted = match resource.recent.entry(version) {
            Entry::Occupied(writes) => {
                writes.into_mut().take(w, losing, batch);
                None
            }
            Entry::Vacant(slot) => {
                resource.order.push_back(slot.key().clone());
                slot.insert(VersionWrites::default()).take(w, losing, batch);
                if resource.order.len() > RECENT_VERSIONS {
                    resource
                        .order
                        .pop_front()
                        .and_then(|old| resource.recent.remove(&old))
                } else {
                    None
                }
            }
        };
        if self.batch.len() >= ANSWER_BATCH {
            self.check_answers();
        }
        if let Some(old) = evicted {
            self.close_version(k, old);
        }
    }

    #[cfg(test)]
    /// How many records the checker holds: the writes kept for evidence, over all
    /// resources and versions, and the losing answers not yet checked.
    fn retained(&self) -> usize {
        let kept: usize = self
            .resources
            .values()
            .flat_map(|r| r.recent.values())
            .map(|v| v.kept.len())
            .sum();
        kept + self.batch.len()
    }

    /// A version leaves the recent window: its writes are judged, and the losing answers
    /// it kept go to the batch.
    fn close_version(&mut self, k: u32, writes: VersionWrites) {
        self.judge_version(k, &writes);
        for w in writes.kept {
            if answer_checked(&w) {
                self.batch.push(w);
                if self.batch.len() >= ANSWER_BATCH {
                    self.check_answers();
                }
            }
        }
    }

    /// A closing version's round report, kept when it shows a violation.
    fn judge_version(&mut self, k: u32, writes: &VersionWrites) {
        // Most versions have one winner and no unexpected answer: none of the findings
        // below (two winners, an unexpected status, phantoms among two winners) can be
        // there, so their tally is not made.
        let winners = writes.kept_winners as u32 + writes.more.winners;
        let unexpected = writes.more.unexpected > 0
            || writes.kept.iter().any(|w| w.outcome == Outcome::Unexpected);
        if winners < 2 && !unexpected {
            return;
        }
        let refs: Vec<&RequestRecord> = writes.kept.iter().collect();
        let mut round = writes.tally(self.versions_with_findings as u32);
        if round.winners > 1 {
            round.violations.push(ViolationKind::LostUpdate);
            if let Some(resource) = self.resources.get_mut(&k) {
                resource.versions_doubled += 1;
                if resource.doubled.len() < 3 {
                    resource.doubled.push(format!(
                        "version {}: {}",
                        round.version_sent.as_deref().unwrap_or("?"),
                        witnesses_of(&refs, round.winners, |w| w.outcome == Outcome::Winner)
                    ));
                }
            }
        }
        if round.unexpected > 0 {
            round.violations.push(ViolationKind::UnexpectedStatus);
        }
        if let Some(evidence) = phantoms(&refs) {
            round.violations.push(ViolationKind::PhantomSuccess);
            let version = round.version_sent.clone().unwrap_or_default();
            let first = self
                .phantom
                .get_or_insert_with(|| (format!("version {version}: {evidence}"), 0));
            first.1 += 1;
        }
        if !round.violations.is_empty() {
            if self.rounds.len() < ROUNDS_KEPT {
                self.rounds.push(round);
            }
            self.versions_with_findings += 1;
        }
    }

    /// Checks the batch of losing answers; keeps each finding's first evidence.
    fn check_answers(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let refs: Vec<&RequestRecord> = self.batch.iter().collect();
        let found = answers::check(&refs);
        self.batches += 1;
        for (kind, evidence) in found.violations {
            match self.answers.iter_mut().find(|(k, _, _)| *k == kind) {
                Some((_, _, n)) => *n += 1,
                None => self.answers.push((kind, evidence, 1)),
            }
        }
        for (kind, evidence) in found.warnings {
            match self.warned.iter_mut().find(|(k, _, _)| *k == kind) {
                Some((_, _, n)) => *n += 1,
                None => self.warned.push((kind, evidence, 1)),
            }
        }
        self.batch.clear();
    }

    /// The verdict: lost updates per resource, answers, figures.
    pub(super) fn finish(mut self, verdict: &mut Verdict) {
        let several = self.resources.len() > 1;
        let keys: Vec<u32> = self.resources.keys().copied().collect();
        for k in &keys {
            let (mut recent, order) = self
                .resources
                .get_mut(k)
                .map(|r| (std::mem::take(&mut r.recent), std::mem::take(&mut r.order)))
                .unwrap_or_default();
            for version in order {
                if let Some(writes) = recent.remove(&version) {
                    self.close_version(*k, writes);
                }
            }
        }
        self.check_answers();
        let mut report = std::mem::take(&mut self.report);
        report.resources = self.resources.len() as u32;
        for (k, mut resource) in std::mem::take(&mut self.resources) {
            let label = if several {
                format!("resource {k}: ")
            } else {
                String::new()
            };
            let c = &mut resource.report;
            if let (Some(initial), Some(final_value)) = (c.initial, c.final_value) {
                let (lost, found) = counter::growth(
                    initial,
                    final_value,
                    c.acknowledged,
                    c.indeterminate,
                    &resource.doubled,
                    resource.versions_doubled,
                );
                c.lost_updates = lost;
                for (kind, evidence) in found {
                    verdict.violations.push(Violation {
                        kind,
                        round: None,
                        version: None,
                        evidence: format!("{label}{evidence}"),
                    });
                }
            }
            report.indeterminate += c.indeterminate;
            report.lost_updates += c.lost_updates;
            report.versions_doubled += resource.versions_doubled as u64;
            report.per_resource.push((k, resource.report));
        }
        let note = |n: usize, batches: usize| {
            if batches > 1 {
                format!(" (losing answers are checked {ANSWER_BATCH} at a time: this is the first batch that shows it, of {n} of {batches})")
            } else {
                String::new()
            }
        };
        let found = [
            (
                ViolationKind::VersionReused,
                self.reused.take(),
                "reads and answers in all showed a reused version",
            ),
            (
                ViolationKind::PhantomSuccess,
                self.phantom.take(),
                "versions in all",
            ),
        ];
        for (kind, first, unit) in found {
            if let Some((evidence, n)) = first {
                let more = if n > 1 {
                    format!(" ({n} {unit})")
                } else {
                    String::new()
                };
                verdict.violations.push(Violation {
                    kind,
                    round: None,
                    version: None,
                    evidence: format!("{evidence}{more}"),
                });
            }
        }
        for (kind, evidence, n) in self.answers {
            verdict.violations.push(Violation {
                kind,
                round: None,
                version: None,
                evidence: format!("{evidence}{}", note(n, self.batches)),
            });
        }
        for (kind, evidence, n) in self.warned {
            verdict.warnings.push(Warning {
                kind,
                round: None,
                evidence: format!("{evidence}{}", note(n, self.batches)),
            });
        }
        verdict.rounds = self.rounds;
        verdict.lost_updates = report.lost_updates;
        verdict.judged = Judged {
            unit: "attempts",
            total: report.attempts,
            judged: report.definite,
        };

        report.connections = self.reads.len() as u32;
        let first = self.first_ns.unwrap_or(self.last_ns);
        report.elapsed_ns = self.last_ns.saturating_sub(first);
        let (scheduled, lo, hi) = self.scheduled;
        report.open_model = scheduled > 0;
        if let (true, Some(lo)) = (scheduled > 1, lo) {
            // n attempts due over (hi - lo) means n - 1 intervals.
            report.scheduled_rate =
                (hi > lo).then(|| (scheduled - 1) as f64 * 1e9 / (hi - lo) as f64);
        }
        let table = |latency: Option<Latency>| -> Vec<(Outcome, Percentiles)> {
            let Some(latency) = latency else {
                return Vec::new();
            };
            Outcome::TIMED
                .iter()
                .map(|o| (*o, latency.percentiles(*o)))
                .filter(|(_, p)| p.count > 0)
                .collect()
        };
        report.raw = table(self.raw);
        report.corrected = table(self.corrected);
        verdict.sustained = Some(report);
    }
}

/// "w0 200, w3 200, and 40 more": the first writes `keep` chooses among those kept,
/// counted against the `total` such writes the version had.
fn witnesses_of(
    kept: &[&RequestRecord],
    total: u32,
    keep: impl Fn(&RequestRecord) -> bool,
) -> String {
    const SHOWN: usize = 12;
    let shown: Vec<&RequestRecord> = kept
        .iter()
        .copied()
        .filter(|w| keep(w))
        .take(SHOWN)
        .collect();
    let mut list = witnesses(&shown, |_| true);
    let more = (total as usize).saturating_sub(shown.len());
    if more > 0 {
        list.push_str(&format!(", and {more} more"));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        phase: Phase,
        writer: u32,
        round: u32,
        version: u64,
        outcome: Outcome,
    ) -> RequestRecord {
        RequestRecord {
            scenario: "s".into(),
            workload: crate::scenario::WorkloadId::Sustained,
            phase,
            round,
            writer: Some(writer),
            attempt: 1,
            method: "PUT".into(),
            url: Default::default(),
            version_sent: Some(version.to_string().into()),
            marker: None,
            value: None,
            status: Some(if outcome == Outcome::Winner { 200 } else { 412 }),
            outcome,
            start_ns: u64::from(round) * 1_000,
            end_ns: u64::from(round) * 1_000 + 500,
            latency_ns: 500,
            version_returned: None,
            body: String::new(),
            error: String::new(),
            arrival_ns: None,
            resource: Some(0),
            scheduled_ns: None,
            cause: None,
            content_type: Default::default(),
            state: None,
            strategy: None,
            promised: "412".into(),
            conflict_missing: String::new(),
        }
    }

    fn verdict() -> Verdict {
        Verdict::new("s", crate::scenario::WorkloadId::Sustained)
    }

    /// A history far longer than the window of recent versions: version 0 won twice
    /// (one update lost), then 5000 versions won once each.
    fn long_history() -> Vec<RequestRecord> {
        let mut setup = record(Phase::Setup, 0, 0, 0, Outcome::Ok);
        setup.writer = None;
        setup.value = Some(0);
        let mut records = vec![setup];
        let mut add = |writer, round, version, outcome| {
            records.push(record(Phase::Read, writer, round, version, Outcome::Ok));
            records.push(record(Phase::Write, writer, round, version, outcome));
        };
        add(0, 0, 0, Outcome::Winner);
        add(1, 0, 0, Outcome::Winner);
        for v in 1..=5000u32 {
            add(0, v, u64::from(v), Outcome::Winner);
            add(1, v, u64::from(v), Outcome::Conflict);
        }
        let mut last = record(Phase::Final, 0, 0, 0, Outcome::Ok);
        last.writer = None;
        // 5002 acknowledged, but the two writes with version 0 counted once.
        last.value = Some(5001);
        records.push(last);
        records
    }

    #[test]
    fn a_lost_update_is_counted_and_witnessed_even_after_its_version_left_the_window() {
        let mut stream = Stream::default();
        let mut v = verdict();
        let mut most_kept = 0;
        for r in long_history() {
            stream.add(r);
            let kept: usize = stream.resources.values().map(|x| x.recent.len()).sum();
            most_kept = most_kept.max(kept);
        }
        assert!(most_kept <= RECENT_VERSIONS, "kept {most_kept} versions");
        stream.finish(&mut v);
        let k = v.sustained.as_ref().expect("figures");
        assert_eq!(k.acknowledged, 5002);
        assert_eq!(k.conflicts, 5000);
        assert_eq!(k.lost_updates, 1);
        assert_eq!(k.versions_doubled, 1);
        assert_eq!(v.lost_updates, 1);
        assert_eq!(v.count(ViolationKind::LostUpdate), 1);
        assert!(
            v.violations[0]
                .evidence
                .contains("version 0: w0 200, w1 200"),
            "{}",
            v.violations[0].evidence
        );
        assert_eq!(v.rounds.len(), 1, "only the version with two winners");
    }

    #[test]
    fn the_slice_checker_and_the_stream_agree() {
        let history = long_history();
        let refs: Vec<&RequestRecord> = history.iter().collect();
        let mut from_slice = verdict();
        check(&refs, &mut from_slice);
        let mut stream = super::super::SustainedCheck::new("s");
        for r in history.clone() {
            stream.add(r);
        }
        let streamed = stream.finish();
        assert_eq!(from_slice.violations, streamed.violations);
        assert_eq!(from_slice.sustained, streamed.sustained);
    }

    #[test]
    fn a_history_read_with_only_the_bodies_it_checks_gets_the_same_verdict() {
        // Every body the checks of answers read, among bodies they never read (a read's,
        // a plain winner's) that would be findings if they were.
        let leak = "SQLSTATE 23505 at db.Pool.query (pool.js:42)";
        let mut history = long_history();
        for r in history.iter_mut() {
            match (r.phase, r.outcome, r.round) {
                (Phase::Read, _, _) | (Phase::Write, Outcome::Winner, _) => {
                    r.body = leak.into();
                    r.content_type = "text/plain".into();
                }
                (Phase::Write, Outcome::Conflict, 7) => {
                    r.body = format!("{{\"error\":\"{leak}\"}}")
                }
                _ => {}
            }
        }
        let winner = history
            .iter_mut()
            .find(|r| r.phase == Phase::Write && r.round == 9 && r.outcome == Outcome::Winner)
            .expect("a winner of round 9");
        winner.content_type = "application/problem+json".into();
        winner.body = r#"{"title":"Created","status":201}"#.into();
        let unexpected = history
            .iter_mut()
            .find(|r| r.phase == Phase::Write && r.round == 11 && r.outcome == Outcome::Conflict)
            .expect("a conflict of round 11");
        unexpected.outcome = Outcome::Unexpected;
        unexpected.status = Some(500);
        unexpected.body = "deadlock detected".into();

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("requests.csv");
        crate::history::write_csv(&path, &history).expect("written");
        let read: Vec<RequestRecord> = crate::history::read_saved_bodies(&path, reads_body)
            .expect("readable")
            .map(|r| r.expect("a record"))
            .collect();
        // A JSON Lines history reads to the same records.
        let jsonl = dir.path().join("history.jsonl");
        let lines: Vec<String> = history
            .iter()
            .map(|r| serde_json::to_string(r).expect("a record serializes"))
            .collect();
        std::fs::write(&jsonl, lines.join("\n")).expect("written");
        let from_jsonl: Vec<RequestRecord> = crate::history::read_saved_bodies(&jsonl, reads_body)
            .expect("readable")
            .map(|r| r.expect("a record"))
            .collect();
        assert!(
            from_jsonl == read,
            "the JSON Lines history reads as the CSV one"
        );
        let kept = read.iter().filter(|r| !r.body.is_empty()).count();
        assert_eq!(
            kept, 3,
            "the two losing answers' bodies and the problem winner's"
        );
        for (a, b) in read.iter().zip(&history) {
            let mut b = b.clone();
            if !reads_body(&b) {
                b.body = String::new();
            }
            assert_eq!(*a, b);
        }

        let verdicts = [history, read].map(|records| {
            let mut check = super::super::SustainedCheck::new("s");
            for r in records {
                check.add(r);
            }
            check.finish()
        });
        let [full, light] = &verdicts;
        let warned = |v: &Verdict| v.warnings.iter().map(|w| w.kind).collect::<Vec<_>>();
        assert_eq!(
            warned(full),
            [
                WarningKind::LeaksInternals,
                WarningKind::ProblemStatusMismatch
            ]
        );
        assert!(
            full.violations
                .iter()
                .any(|v| v.evidence.contains("sample body: \"deadlock detected\"")),
            "{:?}",
            full.violations
        );
        assert_eq!(full.violations, light.violations);
        assert_eq!(full.warnings, light.warnings);
        assert_eq!(full.sustained, light.sustained);
    }

    #[test]
    fn every_losing_answer_is_checked_whether_its_version_left_the_window_or_not() {
        // 2,500 versions, each won once and lost once by an answer that lacks the ETag:
        // 1,476 leave the window of recent versions while the stream goes on, the rest
        // are closed at the end, and every one of the 2,500 answers is checked.
        const VERSIONS: u32 = 2_500;
        let mut stream = Stream::default();
        for round in 0..VERSIONS {
            let version = u64::from(round);
            stream.add(record(Phase::Write, 0, round, version, Outcome::Winner));
            let mut lost = record(Phase::Write, 1, round, version, Outcome::Conflict);
            lost.conflict_missing = "violation: header:ETag".into();
            stream.add(lost);
        }
        let mut v = verdict();
        stream.finish(&mut v);
        let found: Vec<&Violation> = v
            .violations
            .iter()
            .filter(|v| v.kind == ViolationKind::ConflictNotActionable)
            .collect();
        assert_eq!(found.len(), 1, "{:?}", v.violations);
        assert!(
            found[0]
                .evidence
                .starts_with("1000 of 1000 conflict answer(s) lack")
                && found[0].evidence.ends_with("of 3 of 3)"),
            "{}",
            found[0].evidence
        );
        assert!(v.rounds.is_empty(), "one winner a version: {:?}", v.rounds);
    }

    /// A counter whose state `i` has version `versions(i)`: each round one writer reads
    /// it and wins, another reads it and gets the conflict. Returns the history.
    fn counter_run(states: u32, versions: impl Fn(u32) -> String) -> Vec<RequestRecord> {
        let mut setup = record(Phase::Setup, 0, 0, 0, Outcome::Ok);
        setup.writer = None;
        setup.value = Some(0);
        let mut records = vec![setup];
        for i in 0..states {
            for (writer, outcome) in [(0, Outcome::Winner), (1, Outcome::Conflict)] {
                let mut read = record(Phase::Read, writer, i, 0, Outcome::Ok);
                read.version_returned = Some(versions(i).into());
                read.value = Some(i64::from(i));
                let mut write = record(Phase::Write, writer, i, 0, outcome);
                write.version_sent = Some(versions(i).into());
                write.value = Some(i64::from(i) + 1);
                write.marker = Some(format!("r{i}w{writer}"));
                write.version_returned =
                    (outcome == Outcome::Winner).then(|| versions(i + 1).into());
                records.extend([read, write]);
            }
        }
        let mut last = record(Phase::Final, 0, 0, 0, Outcome::Ok);
        last.writer = None;
        last.value = Some(i64::from(states));
        records.push(last);
        records
    }

    fn checked(history: Vec<RequestRecord>) -> Verdict {
        let mut stream = Stream::default();
        for r in history {
            stream.add(r);
        }
        let mut v = verdict();
        stream.finish(&mut v);
        v
    }

    #[test]
    fn a_version_that_comes_back_for_a_later_state_is_reported_as_reused_not_as_a_phantom() {
        // As lighttpd's ETag (a 32-bit hash of inode, size and mtime) did: states 500 and
        // 501 got the versions of states 0 and 1. Every write counted.
        let versions = |i: u32| format!("\"{}\"", if i == 500 || i == 501 { i - 500 } else { i });
        let v = checked(counter_run(600, versions));
        let kinds: Vec<ViolationKind> = v.violations.iter().map(|v| v.kind).collect();
        assert_eq!(kinds, [ViolationKind::VersionReused], "{:?}", v.violations);
        assert!(
            v.violations[0]
                .evidence
                .starts_with("version \"0\" stood for value 0 and, 0.499 ms later, for value 500"),
            "{}",
            v.violations[0].evidence
        );
        assert!(v.violations[0]
            .evidence
            .ends_with("(2 reads and answers in all showed a reused version)"));
        let k = v.sustained.as_ref().expect("figures");
        assert_eq!(
            (k.acknowledged, k.lost_updates, k.versions_doubled),
            (600, 0, 0)
        );
    }

    #[test]
    fn a_version_reused_by_the_next_state_lets_a_stale_write_win_and_both_are_reported() {
        // State 6 kept state 5's version, so the conflicting write of round 5 won too:
        // one increment lost.
        let versions = |i: u32| format!("\"{}\"", if i == 6 { 5 } else { i });
        let mut history = counter_run(20, versions);
        let stale = history
            .iter_mut()
            .find(|r| r.phase == Phase::Write && r.round == 5 && r.writer == Some(1))
            .expect("round 5's conflict");
        stale.outcome = Outcome::Winner;
        stale.status = Some(200);
        let v = checked(history);
        let kinds: Vec<ViolationKind> = v.violations.iter().map(|v| v.kind).collect();
        assert!(kinds.contains(&ViolationKind::LostUpdate), "{kinds:?}");
        assert!(kinds.contains(&ViolationKind::VersionReused), "{kinds:?}");
        assert_eq!(v.lost_updates, 1);
        assert_eq!(v.sustained.as_ref().map(|k| k.versions_doubled), Some(1));
    }

    #[test]
    fn a_version_that_never_advances_keeps_counting_in_bounded_memory() {
        // A static ETag: every read returns "s" and every write sends it and wins, so
        // all 20,000 writes fall on one version that never leaves the window.
        const WRITES: u32 = 20_000;
        let mut setup = record(Phase::Setup, 0, 0, 0, Outcome::Ok);
        setup.writer = None;
        setup.value = Some(0);
        let mut stream = Stream::default();
        stream.add(setup);
        let mut most = 0;
        for round in 0..WRITES {
            let writer = round % 8;
            for phase in [Phase::Read, Phase::Write] {
                let outcome = if phase == Phase::Read {
                    Outcome::Ok
                } else {
                    Outcome::Winner
                };
                let mut r = record(phase, writer, round, 0, outcome);
                r.version_sent = Some("\"s\"".into());
                r.version_returned = Some("\"s\"".into());
                stream.add(r);
            }
            most = most.max(stream.retained());
        }
        assert!(most <= 2 * KEPT_WRITES, "the checker held {most} records");
        let mut last = record(Phase::Final, 0, 0, 0, Outcome::Ok);
        last.writer = None;
        last.value = Some(1); // every write stored 0 + 1
        stream.add(last);
        let mut v = verdict();
        stream.finish(&mut v);
        let k = v.sustained.as_ref().expect("figures");
        assert_eq!((k.writes, k.acknowledged), (20_000, 20_000));
        assert_eq!(k.lost_updates, 19_999, "one write of 20,000 counted");
        assert_eq!(k.versions_doubled, 1);
        assert_eq!(v.rounds.len(), 1);
        assert_eq!(v.rounds[0].winners, WRITES, "every winner is counted");
        assert_eq!(v.rounds[0].writers, WRITES);
        assert_eq!(
            v.rounds[0].send_spread_ns,
            u64::from(WRITES - 1) * 1_000,
            "the spread spans every write, not only those kept"
        );
        let evidence = &v.violations[0].evidence;
        assert!(
            evidence.contains("version \"s\": w0 200, w1 200")
                && evidence.contains("and 19988 more"),
            "{evidence}"
        );
    }
}
