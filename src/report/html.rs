//! `report.html` and `compare.html`: one self-contained file each (inline CSS and SVG,
//! no script, nothing fetched), readable straight from disk.
//!
//! The pages are askama templates (`templates/`, at the top of the repository):
//! `page.html` is the frame, `report.html` and `compare.html` the pages, `overview.html`
//! the table of scenarios, `scenario.html` and `findings.html` a scenario's section.
//! This module builds what they show (views with every figure already in words) and
//! the charts ([`super::chart`]); the templates only lay it out, and askama escapes
//! every text they print, so a witness or a server's answer cannot break the page.
//!
//! Per scenario, `report.html` shows the verdict and why (the reason of an ERROR or an
//! INCONCLUSIVE scenario, never in green), the tiles, the causes of writes without a
//! whole answer, the counter strategies, the thresholds, the violations and warnings
//! with their witnesses, the violating rounds' timelines (a slot, [`ScenarioView`]'s
//! `timelines`), and the charts: throughput and latency over time first for workloads
//! whose writers run free (counter, sustained), the latency percentile curves per
//! outcome, the writes per round by outcome (rounds with a violation flagged), the send
//! and arrival spread per round, and for counters the attempts each increment took.
//! `compare.html` puts several targets side by side under one verdict and overlays their
//! curves.

use askama::Template;

use super::chart::{self, Curve, Layer, StackedBar, TimeLine, TARGET_COLOURS};
use super::{by_kind, Finding, KindGroup, RunInfo, RunStatus, ScenarioResult};
use crate::convergence::Metric;
use crate::gate::Status;
use crate::history::Outcome;
use crate::metrics::{self, Origin};

/// Witnesses shown per finding kind before the rest fold away.
const EVIDENCE_SHOWN: usize = 5;
/// Witnesses in the folded part; the rest are counted (and are in rounds.csv).
const EVIDENCE_FOLDED: usize = 200;

/// A verdict as the pages colour it: its name and its CSS class.
struct VerdictTag {
    name: &'static str,
    class: String,
}

impl VerdictTag {
    fn of(status: RunStatus) -> VerdictTag {
        VerdictTag {
            name: status.name(),
            class: status.name().to_ascii_lowercase(),
        }
    }
}

/// "2 FAIL, 11 PASS": how many results stand each way, the worst first.
fn verdict_counts<'a>(results: impl Iterator<Item = &'a ScenarioResult> + Clone) -> String {
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

/// A line across a page or a section: warn (orange), err (red) or unknown (purple).
struct Banner {
    class: &'static str,
    title: String,
    text: String,
}

/// A target's swatch.
struct TargetTag {
    name: String,
    colour: &'static str,
    url: String,
}

fn target_colour(i: usize) -> &'static str {
    TARGET_COLOURS[i % TARGET_COLOURS.len()]
}

/// The table of scenarios (`overview.html`).
struct Overview {
    with_target: bool,
    winner_unit: &'static str,
    conflict_unit: &'static str,
    rows: Vec<OverviewRow>,
}

struct OverviewRow {
    group_start: bool,
    /// The scenario's name; `None` on its second and later targets' rows.
    scenario: Option<String>,
    anchor: String,
    target: Option<TargetTag>,
    verdict: VerdictTag,
    incomplete: bool,
    /// Why it is INCONCLUSIVE or could not run.
    reason: Option<String>,
    findings: Vec<String>,
    writes: u64,
    winners: u64,
    conflicts: u64,
    unexpected: u64,
    indeterminate: u64,
    not_sent: u64,
    lost: u64,
    rate: String,
    winner: String,
    conflict: String,
    thresholds: usize,
    failed: usize,
}

/// The unit of a latency column: ms when any row's p99 reaches a millisecond, else µs,
/// so a column never mixes the two.
fn column_unit<'a>(
    results: impl Iterator<Item = &'a ScenarioResult>,
    outcome: Outcome,
) -> (&'static str, f64) {
    let most = results
        .map(|r| r.latency.percentiles(outcome).p99)
        .max()
        .unwrap_or(0);
    if most >= 1_000_000 {
        ("ms", 1e6)
    } else {
        ("µs", 1e3)
    }
}

/// `0.92 / 1.97`: two latencies in the column's unit, three significant digits.
fn latency_pair(p: &crate::latency::Percentiles, per: f64) -> String {
    if p.count == 0 {
        return "–".into();
    }
    let three = |v: f64| {
        if v >= 100.0 {
            format!("{v:.0}")
        } else if v >= 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        }
    };
    format!(
        "{} / {}",
        three(p.p50 as f64 / per),
        three(p.p99 as f64 / per)
    )
}

/// Why a result is ERROR or INCONCLUSIVE, in words.
fn reason(r: &ScenarioResult) -> Option<String> {
    match (&r.error, r.inconclusive()) {
        (Some(e), _) => Some(format!("could not run to the end: {e}")),
        (None, Some(why)) => Some(why),
        (None, None) => None,
    }
}

impl Overview {
    fn of(rows: &[(Option<TargetTag>, &ScenarioResult)]) -> Overview {
        let results = || rows.iter().map(|(_, r)| *r);
        let (winner_unit, winner_per) = column_unit(results(), Outcome::Winner);
        let (conflict_unit, conflict_per) = column_unit(results(), Outcome::Conflict);
        let mut previous: Option<&str> = None;
        let rows: Vec<OverviewRow> = rows
            .iter()
            .map(|(target, r)| {
                let v = &r.verdict;
                let repeat = previous == Some(v.scenario.as_str());
                previous = Some(&v.scenario);
                OverviewRow {
                    group_start: target.is_some() && !repeat,
                    scenario: (!repeat).then(|| v.scenario.clone()),
                    anchor: v.scenario.clone(),
                    target: target.as_ref().map(|t| TargetTag {
                        name: t.name.clone(),
                        colour: t.colour,
                        url: t.url.clone(),
                    }),
                    verdict: VerdictTag::of(r.run_status()),
                    incomplete: !r.complete,
                    reason: reason(r),
                    findings: by_kind(&v.violations)
                        .iter()
                        .map(|g| format!("{} ×{}", g.kind, g.found.len()))
                        .collect(),
                    writes: v.counts.writes,
                    winners: v.counts.winners,
                    conflicts: v.counts.conflicts,
                    unexpected: v.counts.unexpected,
                    indeterminate: v.counts.indeterminate,
                    not_sent: v.counts.not_sent,
                    lost: v.lost_updates,
                    rate: r
                        .figures()
                        .get("writes_per_second")
                        .map_or("–".into(), |x| format!("{x:.0}")),
                    winner: latency_pair(&r.latency.percentiles(Outcome::Winner), winner_per),
                    conflict: latency_pair(&r.latency.percentiles(Outcome::Conflict), conflict_per),
                    thresholds: r.thresholds.len(),
                    failed: r.failed_thresholds().count(),
                }
            })
            .collect();
        Overview {
            with_target: rows_have_targets(&rows),
            winner_unit,
            conflict_unit,
            rows,
        }
    }
}

fn rows_have_targets(rows: &[OverviewRow]) -> bool {
    rows.iter().any(|r| r.target.is_some())
}

/// One tile: a figure and what it is.
struct Tile {
    value: String,
    label: String,
    class: &'static str,
}

fn tile(value: impl Into<String>, label: impl Into<String>, class: &'static str) -> Tile {
    Tile {
        value: value.into(),
        label: label.into(),
        class,
    }
}

struct StrategyRow {
    name: String,
    acknowledged: u64,
    gave_up: u64,
    attempts: String,
    attempts_p99: String,
    conflicts: String,
    converged: String,
}

struct AttemptLatencyRow {
    from: &'static str,
    outcome: &'static str,
    count: u64,
    p50: String,
    p99: String,
    p999: String,
    max: String,
}

struct ThresholdRow {
    class: &'static str,
    mark: &'static str,
    expression: String,
    measured: bool,
    shown: String,
    origin: &'static str,
}

/// One witness of a finding.
struct Evidence {
    round: Option<u32>,
    version: Option<String>,
    text: String,
}

/// One kind of violation or warning with its witnesses (`findings.html`).
struct FindingGroup {
    warning: bool,
    kind: String,
    /// " in 3 of 50 rounds", or nothing.
    rounds: String,
    shown: Vec<Evidence>,
    folded: Vec<Evidence>,
    /// Witnesses neither shown nor folded.
    rest: usize,
}

impl FindingGroup {
    fn of<F: Finding>(
        group: &KindGroup<'_, F>,
        rounds: usize,
        warning: bool,
        evidence: impl Fn(&F) -> Evidence,
    ) -> FindingGroup {
        let all = &group.found;
        FindingGroup {
            warning,
            kind: group.kind.to_string(),
            rounds: group.in_rounds(rounds),
            shown: all
                .iter()
                .take(EVIDENCE_SHOWN)
                .map(|x| evidence(x))
                .collect(),
            folded: all
                .iter()
                .skip(EVIDENCE_SHOWN)
                .take(EVIDENCE_FOLDED)
                .map(|x| evidence(x))
                .collect(),
            rest: all.len().saturating_sub(EVIDENCE_SHOWN + EVIDENCE_FOLDED),
        }
    }
}

/// One scenario's section of `report.html` (`scenario.html`).
pub struct ScenarioView {
    anchor: String,
    name: String,
    verdict: VerdictTag,
    sub: String,
    banners: Vec<Banner>,
    tiles: Vec<Tile>,
    causes: Vec<String>,
    strategies: Vec<StrategyRow>,
    attempt_latency: Vec<AttemptLatencyRow>,
    thresholds: Vec<ThresholdRow>,
    violations: Vec<FindingGroup>,
    warnings: Vec<FindingGroup>,
    /// The timelines of the violating rounds, each a complete `<svg>` element: the slot
    /// `scenario.html` shows under the violations, when there is one. Empty until the
    /// timeline drawing (issue 17's `report::timeline`) fills it from the result.
    pub timelines: Vec<String>,
    charts: Vec<String>,
}

fn ms(ns: u64) -> String {
    if ns == 0 {
        "–".into()
    } else {
        format!("{:.2}", ns as f64 / 1e6)
    }
}

impl ScenarioView {
    /// What `report.html` shows of one result.
    pub fn of(r: &ScenarioResult) -> ScenarioView {
        let v = &r.verdict;
        let status = r.run_status();
        ScenarioView {
            anchor: v.scenario.clone(),
            name: v.scenario.clone(),
            verdict: VerdictTag::of(status),
            sub: format!(
                "{} · {} · {:.2} s",
                v.workload.name(),
                r.target,
                r.duration.as_secs_f64()
            ),
            banners: banners(r),
            tiles: tiles(r),
            causes: super::undecided_causes(r),
            strategies: strategies(r),
            attempt_latency: attempt_latency(r),
            thresholds: thresholds(r),
            violations: by_kind(&v.violations)
                .iter()
                .map(|g| {
                    FindingGroup::of(g, v.rounds.len(), false, |x| Evidence {
                        round: x.round,
                        version: x.version.clone(),
                        text: x.evidence.clone(),
                    })
                })
                .collect(),
            warnings: by_kind(&v.warnings)
                .iter()
                .map(|g| {
                    FindingGroup::of(g, v.rounds.len(), true, |x| Evidence {
                        round: x.round,
                        version: None,
                        text: x.evidence.clone(),
                    })
                })
                .collect(),
            timelines: Vec::new(),
            charts: charts(r),
        }
    }
}

/// Why a scenario is not a plain verdict: could not run (red), INCONCLUSIVE (purple),
/// interrupted (orange).
fn banners(r: &ScenarioResult) -> Vec<Banner> {
    let mut banners = Vec::new();
    if let Some(e) = &r.error {
        banners.push(Banner {
            class: "err",
            title: "Could not run to the end".into(),
            text: format!("{e}; the figures cover only what ran."),
        });
    } else if let Some(why) = r.inconclusive() {
        banners.push(Banner {
            class: "unknown",
            title: "INCONCLUSIVE".into(),
            text: format!("{why}. A verdict needs writes with a definite outcome, so this is neither a pass nor a failure."),
        });
    }
    if r.error.is_none() && !r.complete {
        banners.push(Banner {
            class: "warn",
            title: "Interrupted".into(),
            text: "the figures cover only what was measured.".into(),
        });
    }
    banners
}

/// The figures at a glance. Green marks only what is good news: winners and conflicts
/// in their outcome colours when there were some, no lost update only when the
/// scenario passed (an ERROR's or INCONCLUSIVE's zeros prove nothing).
fn tiles(r: &ScenarioResult) -> Vec<Tile> {
    let v = &r.verdict;
    let c = &v.counts;
    let passed = r.run_status() == RunStatus::Pass;
    let figures = r.figures();
    let raced = v.workload.rules().released_together;
    let unit = if v.judged.unit.is_empty() {
        "rounds"
    } else {
        v.judged.unit
    };
    let warn_if = |n: u64| if n > 0 { "t-warn" } else { "" };
    let mut tiles = vec![
        tile(v.judged.total.to_string(), unit, ""),
        tile(c.writes.to_string(), "writes", ""),
        tile(
            c.winners.to_string(),
            "winners",
            if c.winners > 0 { "t-winner" } else { "" },
        ),
        tile(
            c.conflicts.to_string(),
            "conflicts",
            if c.conflicts > 0 { "t-conflict" } else { "" },
        ),
        tile(
            c.unexpected.to_string(),
            "unexpected",
            if c.unexpected > 0 { "t-bad" } else { "" },
        ),
        tile(
            c.indeterminate.to_string(),
            "indeterminate",
            warn_if(c.indeterminate),
        ),
        tile(c.not_sent.to_string(), "not sent", warn_if(c.not_sent)),
        tile(
            v.lost_updates.to_string(),
            "lost updates",
            match (v.lost_updates > 0, passed) {
                (true, _) => "t-bad",
                (false, true) => "t-good",
                (false, false) => "",
            },
        ),
    ];
    if raced {
        for (name, label) in [
            ("send_spread.p50", "send spread p50"),
            ("arrival_spread.p50", "arrival spread p50"),
        ] {
            if let Some(spread) = figures.get(name) {
                tiles.push(tile(metrics::format_duration_ns(spread), label, ""));
            }
        }
        if let Some(mode) = r.sync {
            tiles.push(tile(mode.name(), "sync", ""));
        }
        if let Some(policy) = r.writer_connections {
            tiles.push(tile(policy.name(), "connections", ""));
        }
    }
    if let Some(rate) = figures.get("writes_per_second") {
        tiles.push(tile(format!("{rate:.0}"), "writes / s", ""));
    }
    if let Some(k) = &v.sustained {
        if let Some(rate) = k.request_rate() {
            tiles.push(tile(format!("{rate:.0}"), "requests / s", ""));
        }
        if let Some(rate) = k.write_throughput() {
            tiles.push(tile(format!("{rate:.0}"), "acknowledged / s", ""));
        }
        if let Some(rate) = k.conflict_rate() {
            tiles.push(tile(format!("{:.1}%", rate * 100.0), "conflict rate", ""));
        }
        tiles.push(tile(k.connections.to_string(), "connections", ""));
        tiles.push(tile(k.resources.to_string(), "hot resources", ""));
        tiles.push(tile(
            match (k.open_model, k.scheduled_rate) {
                (true, Some(rate)) => format!("open {rate:.0}/s"),
                (true, None) => "open".into(),
                (false, _) => "closed".into(),
            },
            "model",
            "",
        ));
    }
    if let Some(k) = &v.counter {
        tiles.push(tile(
            format!("{} / {}", k.acknowledged, k.increments),
            "acknowledged",
            "",
        ));
        if let Some(a) = k.attempts_per_success() {
            tiles.push(tile(format!("{a:.2}"), "attempts / success", ""));
        }
        if let Some(a) = k.conflicts_per_success() {
            tiles.push(tile(format!("{a:.2}"), "conflicts / success", ""));
        }
        // Several strategies ran on counters of their own: their table says how each
        // went, and no one value stands for them all.
        if r.convergence.strategies.len() <= 1 {
            match (k.initial, k.final_value) {
                (Some(from), Some(to)) => {
                    tiles.push(tile(format!("{from} → {to}"), "counter value", ""))
                }
                _ => tiles.push(tile("–", "counter value (not read back)", "")),
            }
        }
    }
    tiles
}

/// A counter's client strategies, one row each.
fn strategies(r: &ScenarioResult) -> Vec<StrategyRow> {
    r.convergence
        .strategies
        .iter()
        .map(|s| {
            let attempts = s.percentiles(Metric::Attempts);
            let converge = s.percentiles(Metric::ConvergeUs);
            let two = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.2}"));
            StrategyRow {
                name: if s.strategy.is_empty() {
                    "–".into()
                } else {
                    s.strategy.clone()
                },
                acknowledged: s.acknowledged,
                gave_up: s.gave_up,
                attempts: two(s.attempts_per_success()),
                attempts_p99: if attempts.count == 0 {
                    "–".into()
                } else {
                    attempts.p99.to_string()
                },
                conflicts: two(s.conflicts_per_success()),
                converged: format!("{} / {}", ms(converge.p50), ms(converge.p99)),
            }
        })
        .collect()
}

/// A sustained run's attempt latency per outcome, raw and corrected.
fn attempt_latency(r: &ScenarioResult) -> Vec<AttemptLatencyRow> {
    let Some(k) = &r.verdict.sustained else {
        return Vec::new();
    };
    [
        ("from the actual start", &k.raw),
        ("from the scheduled start", &k.corrected),
    ]
    .into_iter()
    .flat_map(|(from, rows)| {
        rows.iter().map(move |(outcome, p)| AttemptLatencyRow {
            from,
            outcome: outcome.name(),
            count: p.count,
            p50: ms(p.p50),
            p99: ms(p.p99),
            p999: ms(p.p999),
            max: ms(p.max),
        })
    })
    .collect()
}

fn thresholds(r: &ScenarioResult) -> Vec<ThresholdRow> {
    r.thresholds
        .iter()
        .map(|t| {
            let (mark, class) = match t.status {
                Status::Pass => ("✓", "good"),
                Status::Fail => ("✗", "bad"),
                Status::NoData => ("–", "muted"),
            };
            ThresholdRow {
                class,
                mark,
                expression: t.threshold.to_string(),
                measured: t.measured.is_some(),
                shown: t.shown.clone(),
                origin: match t.threshold.origin {
                    Origin::Scenario => "scenario file",
                    Origin::CommandLine => "--threshold",
                },
            }
        })
        .collect()
}

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
fn charts(r: &ScenarioResult) -> Vec<String> {
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
fn rounds_chart(r: &ScenarioResult, title: &str) -> String {
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

#[derive(Template)]
#[template(path = "report.html")]
struct RunPage<'a> {
    title: String,
    run_id: &'a str,
    verdict: VerdictTag,
    verdict_counts: String,
    started: String,
    seed: String,
    version: &'static str,
    banners: Vec<Banner>,
    overview: Overview,
    scenarios: Vec<ScenarioView>,
    files: String,
}

/// The run report for one run folder.
pub fn run_page(run_id: &str, info: &RunInfo, results: &[ScenarioResult]) -> String {
    let status = RunStatus::of(results);
    let mut banners = Vec::new();
    if !info.complete(results) {
        let mut text = String::from(
            "it was interrupted or a scenario stopped early; the figures cover only what was measured.",
        );
        if !info.not_run.is_empty() {
            text.push_str(&format!(" Not run: {}.", info.not_run.join(", ")));
        }
        banners.push(Banner {
            class: "warn",
            title: "Incomplete run".into(),
            text,
        });
    }
    let rows: Vec<(Option<TargetTag>, &ScenarioResult)> =
        results.iter().map(|r| (None, r)).collect();
    RunPage {
        title: format!("contend run {run_id}: {}", status.name()),
        run_id,
        verdict: VerdictTag::of(status),
        verdict_counts: verdict_counts(results.iter()),
        started: info.started(),
        seed: info.seed.map_or("–".to_string(), |s| s.to_string()),
        version: env!("CARGO_PKG_VERSION"),
        banners,
        overview: Overview::of(&rows),
        scenarios: results.iter().map(ScenarioView::of).collect(),
        files: super::run_files().join(", "),
    }
    .render()
    .unwrap_or_else(|e| unrenderable(&e))
}

/// The page said instead, should a template fail to render (askama fails only on a
/// formatting error, which these views cannot raise).
fn unrenderable(e: &askama::Error) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>contend</title></head><body><p>The report could not be rendered: {}</p></body></html>",
        askama::filters::escape(e.to_string(), askama::filters::Html)
            .map(|s| s.to_string())
            .unwrap_or_default()
    )
}

/// One target of a comparison: its name and the results of its run.
pub struct TargetRun<'a> {
    pub name: &'a str,
    pub info: &'a RunInfo,
    pub results: &'a [ScenarioResult],
}

/// One scenario's section of `compare.html`.
struct CompareSection {
    anchor: String,
    name: String,
    verdict: VerdictTag,
    banners: Vec<Banner>,
    charts: Vec<String>,
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    title: String,
    verdict: VerdictTag,
    verdict_counts: String,
    started: String,
    seed: String,
    version: &'static str,
    targets: Vec<TargetTag>,
    banners: Vec<Banner>,
    overview: Overview,
    scenarios: Vec<CompareSection>,
}

/// The comparison page: the verdict over every target, targets side by side, latency
/// curves overlaid. `not_run` names the targets an interruption left out.
pub fn compare_page(run_id: &str, targets: &[TargetRun<'_>], not_run: &[String]) -> String {
    let all: Vec<&ScenarioResult> = targets.iter().flat_map(|t| t.results.iter()).collect();
    let status = RunStatus::of(all.iter().copied());
    let mut banners = Vec::new();
    if !not_run.is_empty() {
        banners.push(Banner {
            class: "warn",
            title: "Incomplete".into(),
            text: format!(
                "the comparison was interrupted; not run: {}.",
                not_run.join(", ")
            ),
        });
    }
    for t in targets {
        if !t.info.complete(t.results) {
            banners.push(Banner {
                class: "warn",
                title: "Incomplete".into(),
                text: format!(
                    "the run against {} was interrupted; its figures cover only what was measured.",
                    t.name
                ),
            });
        }
    }
    let tags: Vec<TargetTag> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| TargetTag {
            name: t.name.to_string(),
            colour: target_colour(i),
            url: t
                .results
                .first()
                .map(|r| r.target.clone())
                .unwrap_or_default(),
        })
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for r in &all {
        if !names.contains(&r.verdict.scenario.as_str()) {
            names.push(&r.verdict.scenario);
        }
    }
    let rows: Vec<(Option<TargetTag>, &ScenarioResult)> = names
        .iter()
        .flat_map(|n| {
            targets.iter().enumerate().filter_map(move |(i, t)| {
                t.results
                    .iter()
                    .find(|r| r.verdict.scenario == *n)
                    .map(|r| {
                        (
                            Some(TargetTag {
                                name: t.name.to_string(),
                                colour: target_colour(i),
                                url: r.target.clone(),
                            }),
                            r,
                        )
                    })
            })
        })
        .collect();
    let scenarios = names
        .iter()
        .map(|name| compare_section(name, targets))
        .collect();
    ComparePage {
        title: format!("contend compare {run_id}: {}", status.name()),
        verdict: VerdictTag::of(status),
        verdict_counts: verdict_counts(all.iter().copied()),
        started: targets
            .first()
            .map(|t| t.info.started())
            .unwrap_or_default(),
        seed: targets
            .first()
            .and_then(|t| t.info.seed)
            .map_or("–".to_string(), |s| s.to_string()),
        version: env!("CARGO_PKG_VERSION"),
        targets: tags,
        banners,
        overview: Overview::of(&rows),
        scenarios,
    }
    .render()
    .unwrap_or_else(|e| unrenderable(&e))
}

/// One scenario across the targets: why a target's run is ERROR or INCONCLUSIVE, the
/// latency curves overlaid per outcome, throughput over time overlaid for workloads
/// whose writers run free, and each target's writes per round.
fn compare_section(name: &str, targets: &[TargetRun<'_>]) -> CompareSection {
    let runs: Vec<(usize, &TargetRun<'_>, &ScenarioResult)> = targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            t.results
                .iter()
                .find(|r| r.verdict.scenario == name)
                .map(|r| (i, t, r))
        })
        .collect();
    let mut banners = Vec::new();
    for (_, t, r) in &runs {
        let causes = super::undecided_causes(r);
        match (&r.error, r.inconclusive()) {
            (Some(e), _) => banners.push(Banner {
                class: "err",
                title: format!("{}: could not run to the end", t.name),
                text: e.clone(),
            }),
            (None, Some(why)) => banners.push(Banner {
                class: "unknown",
                title: format!("{}: INCONCLUSIVE", t.name),
                text: why,
            }),
            (None, None) if !causes.is_empty() => banners.push(Banner {
                class: "warn",
                title: format!("{}: writes without a whole answer", t.name),
                text: causes.join("; "),
            }),
            (None, None) => {}
        }
    }
    let mut charts = Vec::new();
    let free = runs
        .first()
        .is_some_and(|(_, _, r)| !r.verdict.workload.rules().released_together);
    if free {
        let lines: Vec<TimeLine> = runs
            .iter()
            .map(|(i, t, r)| {
                let half = r.series.slot_seconds() / 2.0;
                TimeLine {
                    label: t.name.to_string(),
                    colour: target_colour(*i).to_string(),
                    dashed: false,
                    points: r
                        .series
                        .points()
                        .iter()
                        .map(|p| (p.at_s + half, Some(p.requests_per_s)))
                        .collect(),
                }
            })
            .collect();
        charts.push(chart::time_lines(
            "requests per second over time, by target",
            "per second",
            "",
            &lines,
        ));
    }
    for outcome in Outcome::TIMED {
        let curves: Vec<Curve> = runs
            .iter()
            .map(|(i, t, r)| Curve {
                label: t.name.to_string(),
                colour: target_colour(*i).to_string(),
                dashed: false,
                points: r.latency.distribution(outcome),
            })
            .collect();
        if curves.iter().any(|c| !c.points.is_empty()) {
            charts.push(chart::percentile_curves(
                &format!("{} latency by target", outcome.name()),
                &curves,
            ));
        }
    }
    for (_, t, r) in &runs {
        if r.verdict.sustained.is_none() {
            charts.push(rounds_chart(
                r,
                &format!("{}: writes per round by outcome", t.name),
            ));
        }
    }
    CompareSection {
        anchor: name.to_string(),
        name: name.to_string(),
        verdict: VerdictTag::of(RunStatus::of(runs.iter().map(|(_, _, r)| *r))),
        banners,
        charts,
    }
}
