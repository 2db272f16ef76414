//! The charts of a scenario's section of `report.html`, in the order the page shows
//! them: throughput and latency over time for writers that run free, the latency
//! percentile curves per outcome, the writes per round by outcome, a counter's attempts
//! per increment, and the send and arrival spread per round.

use crate::history::Outcome;
use crate::metrics;
use crate::report::chart::{self, Curve, Layer, StackedBar, TimeLine};
use crate::report::ScenarioResult;

/// Throughput over time: requests, winners and conflicts per second.
fn throughput_lines(r: &ScenarioResult) -> Vec<TimeLine> {
    let points = r.series.points();
    let half = r.series.slot_seconds() / 2.0;
    let line = |label: &str, colour: &str, value: fn(&crate::series::Point) -> f64| TimeLine {
        label: label.to_string(),
        colour: colour.to_string(),
        dashed: false,
        points: points
            .iter()
            .map(|p| (p.at_s + half, Some(value(p))))
            .collect(),
    };
    vec![
        line("requests / s", "#6b7280", |p| p.requests_per_s),
        line("winners / s", chart::outcome_colour(Outcome::Winner), |p| {
            p.winners_per_s
        }),
        line(
            "conflicts / s",
            chart::outcome_colour(Outcome::Conflict),
            |p| p.conflicts_per_s,
        ),
    ]
}

/// The writes' latency over time, p50 and p99 per slot, in ms.
fn latency_lines(r: &ScenarioResult) -> Vec<TimeLine> {
    let points = r.series.points();
    let half = r.series.slot_seconds() / 2.0;
    let line =
        |label: &str, dashed: bool, value: fn(&crate::series::Point) -> Option<u64>| TimeLine {
            label: label.to_string(),
            colour: "#8e44ad".to_string(),
            dashed,
            points: points
                .iter()
                .map(|p| (p.at_s + half, value(p).map(|ns| ns as f64 / 1e6)))
                .collect(),
        };
    vec![
        line("write latency p50", false, |p| p.p50_ns),
        line("write latency p99", true, |p| p.p99_ns),
    ]
}

/// A scenario's charts, in the order the page shows them.
pub(super) fn charts(r: &ScenarioResult) -> Vec<String> {
    let v = &r.verdict;
    let rules = v.workload.rules();
    let mut charts = Vec::new();
    // Free-running writers: what happened over time is the first thing to see.
    if !rules.released_together && !r.series.is_empty() {
        let slot = metrics::format_duration_ns(r.series.slot_seconds() * 1e9);
        charts.push(chart::time_lines(
            &format!("throughput over time (per {slot})"),
            "per second",
            "",
            &throughput_lines(r),
        ));
        charts.push(chart::time_lines(
            &format!("write latency over time (per {slot})"),
            "latency",
            "ms",
            &latency_lines(r),
        ));
    }
    let curves: Vec<Curve> = Outcome::TIMED
        .iter()
        .map(|o| Curve {
            label: o.name().to_string(),
            colour: chart::outcome_colour(*o).to_string(),
            dashed: false,
            points: r.latency.distribution(*o),
        })
        .collect();
    charts.push(chart::percentile_curves(
        "write latency by outcome",
        &curves,
    ));
    // A sustained run's rounds are only the versions with a finding: no chart of them.
    if v.sustained.is_none() {
        charts.push(rounds_chart(
            r,
            if v.counter.is_some() {
                "writes per version by outcome"
            } else {
                "writes per round by outcome"
            },
        ));
    }
    if let Some(k) = &v.counter {
        let bars: Vec<(String, f64)> = match k.attempts_per_increment.keys().max() {
            Some(most) => (1..=*most)
                .map(|a| {
                    (
                        a.to_string(),
                        k.attempts_per_increment.get(&a).copied().unwrap_or(0) as f64,
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        charts.push(chart::bars(
            "attempts each increment took",
            "write attempts (1 = no conflict)",
            "increments",
            chart::outcome_colour(Outcome::Conflict),
            &bars,
        ));
    }
    // Writers that run free are not released together, so their spread says nothing.
    if rules.released_together && v.rounds.iter().any(|x| x.send_spread_ns > 0) {
        let bars: Vec<(String, f64)> = v
            .rounds
            .iter()
            .map(|x| (x.round.to_string(), x.send_spread_ns as f64 / 1e3))
            .collect();
        charts.push(chart::bars(
            "send spread per round: first to last write sent",
            "round",
            "µs",
            "#6b7280",
            &bars,
        ));
    }
    if rules.released_together && v.rounds.iter().any(|x| x.arrival_spread_ns.is_some()) {
        let bars: Vec<(String, f64)> = v
            .rounds
            .iter()
            .map(|x| {
                let us = x.arrival_spread_ns.map_or(0.0, |ns| ns as f64 / 1e3);
                (x.round.to_string(), us)
            })
            .collect();
        charts.push(chart::bars(
            "arrival spread per round: first to last write's last byte at the server",
            "round",
            "µs",
            "#6b7280",
            &bars,
        ));
    }
    charts
}

/// How many of a round's writes ended one way.
type RoundCount = fn(&crate::check::RoundReport) -> u32;

/// Writes per round (or per version) stacked by outcome; the legend names only the
/// outcomes that occurred.
pub(super) fn rounds_chart(r: &ScenarioResult, title: &str) -> String {
    let rounds = &r.verdict.rounds;
    let layers: [(&str, Outcome, RoundCount); 5] = [
        ("winners", Outcome::Winner, |x| x.winners),
        ("conflicts", Outcome::Conflict, |x| x.conflicts),
        ("unexpected", Outcome::Unexpected, |x| x.unexpected),
        ("indeterminate", Outcome::Indeterminate, |x| x.indeterminate),
        ("not sent", Outcome::NotSent, |x| x.not_sent),
    ];
    let present: Vec<_> = layers
        .iter()
        .filter(|(_, _, count)| rounds.iter().any(|x| count(x) > 0))
        .collect();
    let bars: Vec<StackedBar> = rounds
        .iter()
        .map(|x| StackedBar {
            label: match &x.version_sent {
                Some(version) => format!("round {} (version {version})", x.round),
                None => format!("round {}", x.round),
            },
            values: present
                .iter()
                .map(|(_, _, count)| f64::from(count(x)))
                .collect(),
            flagged: !x.violations.is_empty(),
        })
        .collect();
    let layers: Vec<Layer> = present
        .iter()
        .map(|(label, o, _)| Layer {
            label: label.to_string(),
            colour: chart::outcome_colour(*o).to_string(),
        })
        .collect();
    let x_label = if r.verdict.counter.is_some() {
        "version (in the order first written)"
    } else {
        "round"
    };
    chart::stacked_bars(title, x_label, "writes", &layers, &bars)
}
