//! `report.html` and `compare.html`: one self-contained file each (inline CSS and SVG,
//! no script, nothing fetched), readable straight from disk.
//!
//! The pages are askama templates (`templates/`, at the top of the repository):
//! `page.html` is the frame, `report.html` and `compare.html` the pages, `overview.html`
//! the table of scenarios, `scenario.html`, `findings.html` and `witness.html` a
//! scenario's section.
//! This module builds what they show (views with every figure already in words),
//! `charts` a scenario's charts (drawn by [`super::chart`]) and `compare` the
//! comparison page; the templates only lay it out, and askama escapes
//! every text they print, so a witness or a server's answer cannot break the page.
//!
//! Per scenario, `report.html` shows the verdict and why (the reason of an ERROR or an
//! INCONCLUSIVE scenario, never in green), the tiles, the causes of writes without a
//! whole answer, the counter strategies, the thresholds, the violations and warnings
//! with their evidence (a violation's minimal witness first), the violating rounds'
//! timelines (`witness`: the SVG `report::timeline` draws), and the charts: throughput and latency over time first for workloads
//! whose writers run free (counter, sustained), the latency percentile curves per
//! outcome, the writes per round by outcome (rounds with a violation flagged), the send
//! and arrival spread per round, and for counters the attempts each increment took.
//! `compare.html` puts several targets side by side under one verdict and overlays their
//! curves.

use askama::Template;

mod charts;
mod compare;
mod witness;

pub use compare::{compare_page, TargetRun};
use witness::{TimelinesView, WitnessView};

use super::chart::TARGET_COLOURS;
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

use super::verdict_counts;

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
    /// A violation's minimal witness, shown before its evidence.
    witness: Option<WitnessView>,
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
            witness: None,
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
    /// Each mode `sync = "auto"` passed over, and why ("single-packet: …").
    passed_over: Vec<String>,
    strategies: Vec<StrategyRow>,
    attempt_latency: Vec<AttemptLatencyRow>,
    thresholds: Vec<ThresholdRow>,
    violations: Vec<FindingGroup>,
    warnings: Vec<FindingGroup>,
    /// The timelines of the first violating rounds, shown under the violations.
    timelines: Option<TimelinesView>,
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
            passed_over: r.sync_passed_over.iter().map(|p| p.to_string()).collect(),
            strategies: strategies(r),
            attempt_latency: attempt_latency(r),
            thresholds: thresholds(r),
            violations: by_kind(&v.violations)
                .iter()
                .map(|g| FindingGroup {
                    witness: r.witness.first_of(g.kind).map(|w| WitnessView::of(r, w)),
                    ..FindingGroup::of(g, v.rounds.len(), false, |x| Evidence {
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
            timelines: TimelinesView::of(r),
            charts: charts::charts(r),
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
            text: format!("{why}; so this is neither a pass nor a failure."),
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
            tiles.push(tile(mode.to_string(), "sync", ""));
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
