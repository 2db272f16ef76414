//! How each counter client strategy converges: per strategy, the write attempts and the
//! conflicts each acknowledged increment took, and the time from its first read to its
//! acknowledged write, each as an HdrHistogram.
//!
//! Computed from the history alone (like [`crate::latency`]), so a saved `requests.csv`
//! reports the same figures again.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::history::{Outcome, Phase, RequestRecord};
use crate::latency::Percentiles;
use crate::scenario::workload::Steps;

/// The measures kept per strategy, with their names in `convergence.csv`.
pub const METRICS: [(Metric, &str); 3] = [
    (Metric::Attempts, "attempts"),
    (Metric::Conflicts, "conflicts"),
    (Metric::ConvergeUs, "converge_us"),
];

/// One measure of an acknowledged increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Write attempts, the acknowledged one included.
    Attempts,
    /// Conflict answers before the acknowledged write.
    Conflicts,
    /// From the first read to the acknowledged write's answer (recorded in ns, reported
    /// in µs).
    ConvergeUs,
}

/// One strategy's figures.
#[derive(Debug, Clone)]
pub struct StrategyFigures {
    /// `backoff`, `immediate`, `give-up` (empty for a history without strategies).
    pub strategy: String,
    pub increments: u64,
    pub acknowledged: u64,
    /// Increments whose last write was indeterminate.
    pub indeterminate: u64,
    /// Increments abandoned after the strategy's budget.
    pub gave_up: u64,
    /// Write attempts of every increment, abandoned ones included.
    pub attempts_total: u64,
    /// Conflict answers of every increment.
    pub conflicts_total: u64,
    attempts: Histogram<u64>,
    conflicts: Histogram<u64>,
    converge_ns: Histogram<u64>,
}

impl StrategyFigures {
    /// Every write attempt per acknowledged increment.
    pub fn attempts_per_success(&self) -> Option<f64> {
        (self.acknowledged > 0).then(|| self.attempts_total as f64 / self.acknowledged as f64)
    }

    /// Every conflict per acknowledged increment.
    pub fn conflicts_per_success(&self) -> Option<f64> {
        (self.acknowledged > 0).then(|| self.conflicts_total as f64 / self.acknowledged as f64)
    }

    fn histogram(&self, metric: Metric) -> &Histogram<u64> {
        match metric {
            Metric::Attempts => &self.attempts,
            Metric::Conflicts => &self.conflicts,
            Metric::ConvergeUs => &self.converge_ns,
        }
    }

    /// Percentiles of one measure over the acknowledged increments (ns for time).
    pub fn percentiles(&self, metric: Metric) -> Percentiles {
        Percentiles::of(self.histogram(metric))
    }

    /// The HdrHistogram percentile table of one measure: (value, percentile, count at or
    /// below), as [`crate::latency::Latency::distribution`] gives it.
    pub fn distribution(&self, metric: Metric) -> Vec<(u64, f64, u64)> {
        crate::latency::percentile_table(self.histogram(metric))
    }
}

/// A scenario's strategies, in the order they ran (empty unless it is a counter).
#[derive(Debug, Clone, Default)]
pub struct Convergence {
    pub strategies: Vec<StrategyFigures>,
}

const HIGHEST_NS: u64 = 3_600_000_000_000;
const HIGHEST_COUNT: u64 = 1 << 32;

/// One increment's requests: how it ended and what it took.
#[derive(Default)]
struct Increment {
    first_start: Option<u64>,
    attempts: u64,
    conflicts: u64,
    won_at: Option<u64>,
    indeterminate: bool,
}

impl Convergence {
    /// Collects the figures of every counter record (reads and writes of increments).
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a RequestRecord>) -> Convergence {
        let mut order: Vec<String> = Vec::new();
        let mut increments: BTreeMap<(String, u32, u32), Increment> = BTreeMap::new();
        // Strategies converge per increment: only workloads counted in increments.
        for r in records
            .into_iter()
            .filter(|r| r.workload.rules().steps == Steps::Increments)
        {
            let (Some(writer), true) = (r.writer, matches!(r.phase, Phase::Read | Phase::Write))
            else {
                continue;
            };
            let strategy = r.strategy.clone().unwrap_or_default();
            if !order.contains(&strategy) {
                order.push(strategy.clone());
            }
            let i = increments.entry((strategy, writer, r.round)).or_default();
            i.first_start = Some(i.first_start.map_or(r.start_ns, |s| s.min(r.start_ns)));
            if r.phase == Phase::Write {
                i.attempts += 1;
                match r.outcome {
                    Outcome::Conflict => i.conflicts += 1,
                    Outcome::Winner => i.won_at = Some(r.end_ns),
                    Outcome::Indeterminate => i.indeterminate = true,
                    _ => {}
                }
            }
        }
        let strategies = order
            .into_iter()
            .map(|name| {
                let mut f = StrategyFigures {
                    strategy: name.clone(),
                    increments: 0,
                    acknowledged: 0,
                    indeterminate: 0,
                    gave_up: 0,
                    attempts_total: 0,
                    conflicts_total: 0,
                    attempts: histogram(HIGHEST_COUNT),
                    conflicts: histogram(HIGHEST_COUNT),
                    converge_ns: histogram(HIGHEST_NS),
                };
                for ((_, _, _), i) in increments.iter().filter(|((s, _, _), _)| *s == name) {
                    f.increments += 1;
                    f.attempts_total += i.attempts;
                    f.conflicts_total += i.conflicts;
                    match (i.won_at, i.indeterminate) {
                        (Some(end), _) => {
                            f.acknowledged += 1;
                            f.attempts.saturating_record(i.attempts);
                            f.conflicts.saturating_record(i.conflicts);
                            let took = end.saturating_sub(i.first_start.unwrap_or(end));
                            f.converge_ns
                                .saturating_record(took.clamp(1_000, HIGHEST_NS));
                        }
                        (None, true) => f.indeterminate += 1,
                        (None, false) => f.gave_up += 1,
                    }
                }
                f
            })
            .collect();
        Convergence { strategies }
    }
}

/// A histogram from 1 to `highest` with three significant digits; counts of 0 are
/// recorded too.
fn histogram(highest: u64) -> Histogram<u64> {
    Histogram::new_with_bounds(1, highest, 3)
        .unwrap_or_else(|e| unreachable!("constant histogram bounds are valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        strategy: &str,
        writer: u32,
        round: u32,
        phase: Phase,
        outcome: Outcome,
        start_us: u64,
    ) -> RequestRecord {
        RequestRecord {
            scenario: "c".into(),
            workload: crate::scenario::WorkloadId::Counter,
            phase,
            round,
            writer: Some(writer),
            attempt: 1,
            method: "PUT".into(),
            url: String::new(),
            version_sent: None,
            marker: None,
            value: None,
            status: None,
            outcome,
            start_ns: start_us * 1000,
            end_ns: start_us * 1000 + 100_000,
            latency_ns: 100_000,
            version_returned: None,
            body: String::new(),
            error: String::new(),
            content_type: String::new(),
            state: None,
            strategy: Some(strategy.into()),
            promised: String::new(),
            conflict_missing: String::new(),
            arrival_ns: None,
            resource: None,
            scheduled_ns: None,
            cause: None,
        }
    }

    #[test]
    fn per_strategy_attempts_conflicts_and_time_to_converge() {
        use Outcome::*;
        use Phase::*;
        let records = vec![
            // backoff, w0 increment 0: conflict, then win; first read at 0, win ends at 1100 µs.
            rec("backoff", 0, 0, Read, Ok, 0),
            rec("backoff", 0, 0, Write, Conflict, 200),
            rec("backoff", 0, 0, Read, Ok, 500),
            rec("backoff", 0, 0, Write, Winner, 1000),
            // backoff, w1 increment 0: won at once.
            rec("backoff", 1, 0, Read, Ok, 0),
            rec("backoff", 1, 0, Write, Winner, 100),
            // give-up, w0 increment 0: two conflicts, abandoned.
            rec("give-up", 0, 0, Read, Ok, 2000),
            rec("give-up", 0, 0, Write, Conflict, 2100),
            rec("give-up", 0, 0, Write, Conflict, 2300),
        ];
        let c = Convergence::from_records(&records);
        let names: Vec<&str> = c.strategies.iter().map(|s| s.strategy.as_str()).collect();
        assert_eq!(names, ["backoff", "give-up"]);

        let backoff = &c.strategies[0];
        assert_eq!(
            (backoff.increments, backoff.acknowledged, backoff.gave_up),
            (2, 2, 0)
        );
        assert_eq!(backoff.attempts_per_success(), Some(1.5));
        assert_eq!(backoff.conflicts_per_success(), Some(0.5));
        let attempts = backoff.percentiles(Metric::Attempts);
        assert_eq!((attempts.count, attempts.p50, attempts.max), (2, 1, 2));
        let conflicts = backoff.percentiles(Metric::Conflicts);
        assert_eq!((conflicts.p50, conflicts.max), (0, 1));
        let converge = backoff.percentiles(Metric::ConvergeUs);
        assert!(
            (1_099_000..=1_101_000).contains(&converge.max),
            "{converge:?}"
        );

        let give_up = &c.strategies[1];
        assert_eq!((give_up.acknowledged, give_up.gave_up), (0, 1));
        assert_eq!(give_up.attempts_per_success(), None);
        assert!(give_up.distribution(Metric::Attempts).is_empty());
        assert_eq!(
            backoff.distribution(Metric::Attempts).last().map(|r| r.2),
            Some(2)
        );
    }
}
