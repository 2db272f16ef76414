//! Every figure a run measures, by one name: the namespace that thresholds
//! (`--threshold 'latency.winner.p99 < 50ms'`), `summary.json` and `compare` share.
//!
//! [`catalogue`] lists every metric with its unit and the workloads that measure it;
//! [`measure`] reads the figures of one scenario from its verdict and latency. A figure
//! is `None` when there is nothing to measure (a percentile of an outcome no write
//! ended with, a ratio over zero successes, a counter figure of a stale-write run).
//! Durations are held in nanoseconds.

use std::time::Duration;

use crate::check::{Verdict, ViolationKind};
use crate::latency::{Latency, OUTCOMES};

/// What a metric's number means, and how it is written in a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things (requests, rounds, violations).
    Count,
    /// A share of writes between 0 and 1; thresholds may write `1%`.
    Rate,
    /// A quotient such as attempts per success.
    Ratio,
    /// A time; thresholds must give a unit (`50ms`). Held in nanoseconds.
    Duration,
    /// Events per second of wall time.
    PerSecond,
}

/// Which workloads measure a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every workload.
    All,
    /// Only `counter` workloads.
    Counter,
}

impl Scope {
    /// Whether a workload (by its name in scenario files) measures metrics of this scope.
    pub fn covers(self, workload: crate::scenario::WorkloadId) -> bool {
        match self {
            Scope::All => true,
            Scope::Counter => workload == crate::scenario::WorkloadId::Counter,
        }
    }
}

/// One metric of the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    /// The name thresholds and `summary.json` use, e.g. `latency.winner.p99`.
    pub name: String,
    /// What its number means.
    pub unit: Unit,
    /// Which workloads measure it.
    pub scope: Scope,
    /// One line for README and `--help` style listings.
    pub doc: String,
}

/// The latency statistics each outcome offers, with their quantile (None: not one).
pub const LATENCY_STATS: [(&str, Option<f64>); 10] = [
    ("min", None),
    ("mean", None),
    ("p50", Some(0.50)),
    ("p75", Some(0.75)),
    ("p90", Some(0.90)),
    ("p95", Some(0.95)),
    ("p99", Some(0.99)),
    ("p999", Some(0.999)),
    ("p9999", Some(0.9999)),
    ("max", None),
];

/// The latency groups: every outcome with a histogram, and `all` contended writes.
pub fn latency_groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = OUTCOMES.iter().map(|o| o.name()).collect();
    groups.push("all");
    groups
}

const COUNTS: [(&str, &str); 9] = [
    ("rounds", "rounds run (counter: distinct versions written)"),
    ("requests", "every request, reads included"),
    ("writes", "contended writes and probes"),
    ("winners", "writes answered with a winner status"),
    (
        "conflicts",
        "writes answered with the promised conflict status",
    ),
    (
        "unexpected",
        "writes answered with any other status (5xx, an unpromised 409/412, ...)",
    ),
    (
        "indeterminate",
        "writes that timed out or were reset after sending",
    ),
    ("not_sent", "writes that could not connect"),
    ("lost_updates", "acknowledged updates that did not survive"),
];

const RATES: [(&str, &str); 4] = [
    ("conflict_rate", "conflicts / writes"),
    ("unexpected_rate", "unexpected / writes"),
    ("indeterminate_rate", "indeterminate / writes"),
    ("not_sent_rate", "not_sent / writes"),
];

const COUNTER_FIGURES: [(&str, Unit, &str); 5] = [
    ("increments", Unit::Count, "increments tried"),
    ("acknowledged", Unit::Count, "increments acknowledged"),
    (
        "gave_up",
        Unit::Count,
        "increments abandoned after the retry budget",
    ),
    (
        "attempts_per_success",
        Unit::Ratio,
        "write attempts per acknowledged increment",
    ),
    (
        "conflicts_per_success",
        Unit::Ratio,
        "conflicts per acknowledged increment",
    ),
];

const SPREAD_STATS: [&str; 3] = ["p50", "p99", "max"];

/// Every metric, in documentation order.
pub fn catalogue() -> Vec<Metric> {
    let mut all = Vec::new();
    let mut add = |name: String, unit: Unit, scope: Scope, doc: String| {
        all.push(Metric {
            name,
            unit,
            scope,
            doc,
        })
    };
    for (name, doc) in COUNTS {
        add(name.into(), Unit::Count, Scope::All, doc.into());
    }
    add(
        "violations".into(),
        Unit::Count,
        Scope::All,
        "violations of every kind (each round or version that showed one, once per kind)".into(),
    );
    for kind in ViolationKind::ALL {
        add(
            format!("violations.{}", kind.name()),
            Unit::Count,
            Scope::All,
            format!("`{}` violations", kind.name()),
        );
    }
    for (name, doc) in RATES {
        add(name.into(), Unit::Rate, Scope::All, doc.into());
    }
    for (name, unit, doc) in COUNTER_FIGURES {
        add(name.into(), unit, Scope::Counter, doc.into());
    }
    for group in latency_groups() {
        for (stat, _) in LATENCY_STATS {
            let whose = if group == "all" {
                "every contended write".to_string()
            } else {
                format!("writes that ended `{group}`")
            };
            add(
                format!("latency.{group}.{stat}"),
                Unit::Duration,
                Scope::All,
                format!("{stat} latency of {whose}"),
            );
        }
    }
    for stat in SPREAD_STATS {
        add(
            format!("send_spread.{stat}"),
            Unit::Duration,
            Scope::All,
            format!("{stat} over rounds of the first-to-last write's send time"),
        );
    }
    for stat in SPREAD_STATS {
        add(
            format!("response_spread.{stat}"),
            Unit::Duration,
            Scope::All,
            format!("{stat} over rounds of the first-to-last write's answer time"),
        );
    }
    for stat in SPREAD_STATS {
        add(
            format!("arrival_spread.{stat}"),
            Unit::Duration,
            Scope::All,
            format!(
                "{stat} over rounds of the first-to-last write's arrival at the server \
                 (built-in server, or `--arrivals`)"
            ),
        );
    }
    add(
        "requests_per_second".into(),
        Unit::PerSecond,
        Scope::All,
        "requests / wall time".into(),
    );
    add(
        "writes_per_second".into(),
        Unit::PerSecond,
        Scope::All,
        "contended writes / wall time".into(),
    );
    add(
        "duration".into(),
        Unit::Duration,
        Scope::All,
        "wall time of the scenario".into(),
    );
    all
}

/// Looks a metric up by name.
pub fn find(name: &str) -> Option<Metric> {
    catalogue().into_iter().find(|m| m.name == name)
}

/// The closest metric name to a misspelt one, if any is close.
pub fn suggest(wrong: &str) -> Option<String> {
    let wrong = wrong.to_ascii_lowercase();
    catalogue()
        .into_iter()
        .map(|m| {
            let score = strsim::jaro_winkler(&wrong, &m.name);
            (m.name, score)
        })
        .filter(|(_, score)| *score >= 0.85)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, _)| name)
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

    let values = catalogue()
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
                            OUTCOMES
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

/// Writes a figure for people: `12.3 ms`, `1.2%`, `3.21`, `5234/s`, `16`.
pub fn format(unit: Unit, value: f64) -> String {
    match unit {
        Unit::Count => format!("{value:.0}"),
        Unit::Rate => {
            let percent = value * 100.0;
            if percent == 0.0 || percent >= 1.0 {
                format!("{percent:.1}%")
            } else {
                format!("{percent:.3}%")
            }
        }
        Unit::Ratio => format!("{value:.2}"),
        Unit::PerSecond => format!("{value:.0}/s"),
        Unit::Duration => format_duration_ns(value),
    }
}

/// A duration in ns written with a unit that keeps three significant digits.
pub fn format_duration_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Why a metric has no figure for a scenario, for reports.
pub fn why_missing(metric: &Metric, workload: crate::scenario::WorkloadId) -> String {
    if !metric.scope.covers(workload) {
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

    #[test]
    fn names_are_unique_and_dotted_lower_case() {
        let all = catalogue();
        let mut names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "duplicate metric names");
        assert!(all.iter().all(|m| m
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')));
    }

    #[test]
    fn the_issue_examples_are_metrics() {
        for name in [
            "latency.winner.p99",
            "latency.conflict.p999",
            "unexpected",
            "lost_updates",
            "indeterminate_rate",
            "conflicts_per_success",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
        assert_eq!(find("conflicts_per_success").unwrap().scope, Scope::Counter);
    }

    #[test]
    fn misspelt_names_get_the_closest_metric() {
        assert_eq!(
            suggest("latency.winer.p99").as_deref(),
            Some("latency.winner.p99")
        );
        assert_eq!(suggest("lost_update").as_deref(), Some("lost_updates"));
        assert_eq!(suggest("zzz"), None);
    }

    #[test]
    fn readme_documents_every_metric() {
        let readme = include_str!("../README.md");
        let table = readme
            .split("### Metrics")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("README has a Metrics section");
        for m in catalogue() {
            let documented = match m.name.strip_prefix("latency.") {
                Some(rest) => {
                    let (group, stat) = rest.split_once('.').unwrap_or((rest, ""));
                    table.contains(&format!("`{group}`")) && table.contains(&format!("`{stat}`"))
                }
                None => table.contains(&format!("`{}`", m.name)),
            };
            assert!(documented, "README's metric table lacks {}", m.name);
        }
    }

    #[test]
    fn figures_are_written_with_their_unit() {
        assert_eq!(format(Unit::Duration, 62_100_000.0), "62.10 ms");
        assert_eq!(format(Unit::Duration, 850_000.0), "850.0 µs");
        assert_eq!(format(Unit::Rate, 0.012), "1.2%");
        assert_eq!(format(Unit::Rate, 0.0001), "0.010%");
        assert_eq!(format(Unit::Count, 3.0), "3");
        assert_eq!(format(Unit::PerSecond, 5234.4), "5234/s");
    }
}
