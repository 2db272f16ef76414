//! The `sustained` checker: every hot resource is a counter, checked with the counter
//! checker's lost-update logic (acknowledged writes against the counter's growth); the
//! scenario's figures add throughput, conflict rate and attempt latency per outcome.
//!
//! An attempt is one read and the conditional write after it. Its latency runs from its
//! start to the write's answer: in the closed model the start is when the read was sent
//! (`raw`); in the open model it is also measured from when the timetable said the
//! attempt was due (`corrected`, as wrk2 does), so a server that stalls is charged for
//! the attempts that queued behind the stall rather than only for the stalled one.

use std::collections::{BTreeMap, HashMap};

use crate::history::{Outcome, Phase, RequestRecord};
use crate::latency::{Latency, Percentiles, OUTCOMES};

use super::{counter, CounterReport, Verdict};

/// Figures of a sustained run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SustainedReport {
    /// Hot resources the writes went to.
    pub resources: u32,
    /// Connections that ran attempts (distinct writers seen).
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
    /// Acknowledged writes missing from their resource's counter, over all resources.
    pub lost_updates: u64,
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

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    let mut by_resource: BTreeMap<u32, Vec<&RequestRecord>> = BTreeMap::new();
    for r in records {
        if let Some(k) = r.resource {
            by_resource.entry(k).or_default().push(r);
        }
    }
    let several = by_resource.len() > 1;
    let mut report = SustainedReport {
        resources: by_resource.len() as u32,
        ..SustainedReport::default()
    };
    let mut total = CounterReport::default();
    for (k, mine) in &by_resource {
        let label = if several {
            format!("resource {k}: ")
        } else {
            String::new()
        };
        let c = counter::check_strategy(mine, &label, verdict);
        total.indeterminate += c.indeterminate;
        total.lost_updates += c.lost_updates;
        report.per_resource.push((*k, c));
    }
    verdict.lost_updates = total.lost_updates;

    // An attempt is (writer, round): its read, then its write if the read succeeded.
    let mut reads: HashMap<(Option<u32>, u32), &RequestRecord> = HashMap::new();
    let mut writers = std::collections::BTreeSet::new();
    let (mut first, mut last) = (u64::MAX, 0u64);
    for r in records.iter().filter(|r| r.phase == Phase::Read) {
        reads.insert((r.writer, r.round), r);
        writers.extend(r.writer);
        report.attempts += 1;
        first = first.min(r.scheduled_ns.unwrap_or(r.start_ns).min(r.start_ns));
        last = last.max(r.end_ns);
    }
    let mut raw = Vec::new();
    let mut corrected = Vec::new();
    let mut scheduled = Vec::new();
    for w in records.iter().filter(|r| r.phase == Phase::Write) {
        report.writes += 1;
        last = last.max(w.end_ns);
        match w.outcome {
            Outcome::Winner => report.acknowledged += 1,
            Outcome::Conflict => report.conflicts += 1,
            _ => {}
        }
        let started = reads
            .get(&(w.writer, w.round))
            .map_or(w.start_ns, |r| r.start_ns);
        raw.push((w.outcome, w.end_ns.saturating_sub(started)));
        if let Some(due) = w.scheduled_ns {
            corrected.push((w.outcome, w.end_ns.saturating_sub(due)));
        }
    }
    for r in records.iter().filter(|r| r.phase == Phase::Read) {
        scheduled.extend(r.scheduled_ns);
    }
    report.connections = writers.len() as u32;
    report.elapsed_ns = last.saturating_sub(first.min(last));
    report.open_model = !scheduled.is_empty();
    if scheduled.len() > 1 {
        let (lo, hi) = (
            scheduled.iter().min().copied().unwrap_or(0),
            scheduled.iter().max().copied().unwrap_or(0),
        );
        // n attempts due over (hi - lo) means n - 1 intervals.
        report.scheduled_rate =
            (hi > lo).then(|| (scheduled.len() - 1) as f64 * 1e9 / (hi - lo) as f64);
    }
    let table = |latency: Latency| -> Vec<(Outcome, Percentiles)> {
        OUTCOMES
            .iter()
            .map(|o| (*o, latency.percentiles(*o)))
            .filter(|(_, p)| p.count > 0)
            .collect()
    };
    report.raw = table(Latency::from_values(raw));
    report.corrected = table(Latency::from_values(corrected));
    report.indeterminate = total.indeterminate;
    report.lost_updates = total.lost_updates;
    verdict.sustained = Some(report);
}
