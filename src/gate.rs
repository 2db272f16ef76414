//! The release gate, the stage between the checker and the reports: a scenario's
//! figures measured from its verdict and latency ([`measure`]), and the thresholds in
//! the manner of k6 (`latency.winner.p99 < 50ms`, `lost_updates == 0`) evaluated over
//! them ([`evaluate`]).
//!
//! Metric names, units and the threshold expressions are in [`crate::metrics`]. A figure
//! is `None` when there is nothing to measure (a percentile of an outcome no write
//! ended with, a ratio over zero successes, a counter figure of a stale-write run). A
//! failed threshold fails its scenario just as a violation does. A threshold whose
//! metric has no figure in a scenario is reported as `no data` and does not fail it, as
//! in k6.

use std::time::Duration;

use crate::check::{Verdict, ViolationKind};
use crate::history::Outcome;
use crate::latency::Latency;
use crate::metrics::{self, Metric, Threshold, Unit, LATENCY_STATS};
use crate::scenario::WorkloadId;

/// How a threshold came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The condition holds.
    Pass,
    /// The condition does not hold: the scenario fails.
    Fail,
    /// The metric has no figure for this scenario; the threshold does not fail it.
    NoData,
}

impl Status {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NoData => "no_data",
        }
    }
}

/// One threshold evaluated for one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdResult {
    /// The threshold, as parsed.
    pub threshold: Threshold,
    /// The figure, in the metric's base unit.
    pub measured: Option<f64>,
    pub status: Status,
    /// The figure for people (`62.10 ms`), or why there is none.
    pub shown: String,
}

impl ThresholdResult {
    /// `latency.winner.p99 < 50ms: measured 62.10 ms`.
    pub fn describe(&self) -> String {
        match self.measured {
            Some(_) => format!("{}: measured {}", self.threshold, self.shown),
            None => format!("{}: no data ({})", self.threshold, self.shown),
        }
    }
}

/// Evaluates thresholds over one scenario's figures.
pub fn evaluate(
    thresholds: &[Threshold],
    figures: &Figures,
    workload: WorkloadId,
) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let measured = figures.get(&t.metric.name);
            let (status, shown) = match measured {
                Some(v) if t.op.holds(v, t.limit) => {
                    (Status::Pass, metrics::format(t.metric.unit, v))
                }
                Some(v) => (Status::Fail, metrics::format(t.metric.unit, v)),
                None => (Status::NoData, why_missing(&t.metric, workload)),
            };
            ThresholdResult {
                threshold: t.clone(),
                measured,
                status,
                shown,
            }
        })
        .collect()
}

/// One scenario's figures, by metric name, in catalogue order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    /// (metric name, figure in its base unit; `None` when not measured).
    pub values: Vec<(String, Option<f64>)>,
}

impl Figures {
    /// The figure of a metric: `None` when it is unknown or was not measured.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| *v)
    }
}

/// Measures every metric of the catalogue for one scenario.
pub fn measure(verdict: &Verdict, latency: &Latency, duration: Duration) -> Figures {
    let c = &verdict.counts;
    let per_write = |n: u64| (c.writes > 0).then(|| n as f64 / c.writes as f64);
    let seconds = duration.as_secs_f64();
    let per_second = |n: u64| (seconds > 0.0).then(|| n as f64 / seconds);
    let mut spreads: Vec<u64> = verdict.rounds.iter().map(|r| r.send_spread_ns).collect();
    spreads.sort_unstable();
    let mut responses: Vec<u64> = verdict
        .rounds
        .iter()
        .map(|r| r.response_spread_ns)
        .collect();
    responses.sort_unstable();
    let mut arrivals: Vec<u64> = verdict
        .rounds
        .iter()
        .filter_map(|r| r.arrival_spread_ns)
        .collect();
    arrivals.sort_unstable();
    let all_writes = latency.combined();
    let counter = verdict.counter.as_ref();

    let values = metrics::catalogue()
        .into_iter()
        .map(|m| {
            let value = match m.name.as_str() {
                "rounds" => Some(verdict.rounds.len() as f64),
                "requests" => Some(c.requests as f64),
                "writes" => Some(c.writes as f64),
                "winners" => Some(c.winners as f64),
                "conflicts" => Some(c.conflicts as f64),
                "unexpected" => Some(c.unexpected as f64),
                "indeterminate" => Some(c.indeterminate as f64),
                "not_sent" => Some(c.not_sent as f64),
                "lost_updates" => Some(verdict.lost_updates as f64),
                "violations" => Some(verdict.violations.len() as f64),
                "conflict_rate" => per_write(c.conflicts),
                "unexpected_rate" => per_write(c.unexpected),
                "indeterminate_rate" => per_write(c.indeterminate),
                "not_sent_rate" => per_write(c.not_sent),
                "increments" => counter.map(|k| k.increments as f64),
                "acknowledged" => counter.map(|k| k.acknowledged as f64),
                "gave_up" => counter.map(|k| k.gave_up as f64),
                "attempts_per_success" => counter.and_then(|k| k.attempts_per_success()),
                "conflicts_per_success" => counter.and_then(|k| k.conflicts_per_success()),
                "requests_per_second" => per_second(c.requests),
                "writes_per_second" => per_second(c.writes),
                "duration" => Some(duration.as_nanos() as f64),
                name => {
                    if let Some(kind) = name.strip_prefix("violations.") {
                        ViolationKind::ALL
                            .iter()
                            .find(|k| k.name() == kind)
                            .map(|k| verdict.count(*k) as f64)
                    } else if let Some(stat) = name.strip_prefix("send_spread.") {
                        spread(&spreads, stat)
                    } else if let Some(stat) = name.strip_prefix("response_spread.") {
                        spread(&responses, stat)
                    } else if let Some(stat) = name.strip_prefix("arrival_spread.") {
                        spread(&arrivals, stat)
                    } else if let Some(rest) = name.strip_prefix("latency.") {
                        let (group, stat) = rest.split_once('.').unwrap_or((rest, ""));
                        let histogram = if group == "all" {
                            all_writes.as_ref()
                        } else {
                            Outcome::TIMED
                                .iter()
                                .find(|o| o.name() == group)
                                .and_then(|o| latency.histogram(*o))
                        };
                        histogram.and_then(|h| latency_stat(h, stat))
                    } else {
                        None
                    }
                }
            };
            (m.name, value)
        })
        .collect();
    Figures { values }
}

fn spread(sorted: &[u64], stat: &str) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let index = match stat {
        "p50" => last / 2,
        "p99" => (last as f64 * 0.99).round() as usize,
        _ => last,
    };
    sorted.get(index.min(last)).map(|v| *v as f64)
}

fn latency_stat(h: &hdrhistogram::Histogram<u64>, stat: &str) -> Option<f64> {
    if h.is_empty() {
        return None;
    }
    let value = match stat {
        "min" => h.min() as f64,
        "mean" => h.mean(),
        "max" => h.max() as f64,
        _ => {
            let q = LATENCY_STATS.iter().find(|(s, _)| *s == stat)?.1?;
            h.value_at_quantile(q) as f64
        }
    };
    Some(value)
}

/// Why a metric has no figure for a scenario, for reports.
fn why_missing(metric: &Metric, workload: WorkloadId) -> String {
    if !workload.measures(metric.scope) {
        return format!("not measured by {workload} workloads");
    }
    if let Some(rest) = metric.name.strip_prefix("latency.") {
        let group = rest.split('.').next().unwrap_or(rest);
        return if group == "all" {
            "no write was measured".to_string()
        } else {
            format!("no write ended {group}")
        };
    }
    match metric.unit {
        Unit::Ratio => "nothing succeeded".to_string(),
        Unit::Rate => "no write was sent".to_string(),
        _ => "nothing was measured".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Origin, ThresholdError};

    fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        Threshold::parse(text, Origin::CommandLine)
    }

    fn figures(values: &[(&str, f64)]) -> Figures {
        Figures {
            values: values
                .iter()
                .map(|(n, v)| (n.to_string(), Some(*v)))
                .collect(),
        }
    }

    #[test]
    fn a_threshold_fails_with_the_measured_value() {
        let t = parse("latency.winner.p99 < 50ms").unwrap();
        let results = evaluate(
            &[t],
            &figures(&[("latency.winner.p99", 62_100_000.0)]),
            WorkloadId::StaleWrite,
        );
        assert_eq!(results[0].status, Status::Fail);
        assert_eq!(
            results[0].describe(),
            "latency.winner.p99 < 50ms: measured 62.10 ms"
        );
    }

    #[test]
    fn a_threshold_that_holds_passes() {
        let t = parse("lost_updates == 0").unwrap();
        let results = evaluate(
            &[t],
            &figures(&[("lost_updates", 0.0)]),
            WorkloadId::Counter,
        );
        assert_eq!(results[0].status, Status::Pass);
    }

    #[test]
    fn a_metric_without_a_figure_is_no_data_and_says_why() {
        let t = parse("conflicts_per_success < 3").unwrap();
        let results = evaluate(
            &[t],
            &Figures {
                values: vec![("conflicts_per_success".into(), None)],
            },
            WorkloadId::StaleWrite,
        );
        assert_eq!(results[0].status, Status::NoData);
        assert_eq!(
            results[0].describe(),
            "conflicts_per_success < 3: no data (not measured by stale-write workloads)"
        );
    }
}
