//! `compare.html`: several targets' runs of the same scenarios under one verdict (the
//! run's over every target), the targets side by side in the overview, and per
//! scenario why a target's run is ERROR or INCONCLUSIVE, the latency curves overlaid,
//! throughput over time overlaid for writers that run free, and each target's writes
//! per round.

use askama::Template;

use super::charts::rounds_chart;
use super::{target_colour, unrenderable, Banner, Overview, TargetTag, VerdictTag};
use crate::history::Outcome;
use crate::report::chart::{self, Curve, TimeLine};
use crate::report::{RunInfo, RunStatus, ScenarioResult};

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
        verdict_counts: crate::report::verdict_counts(all.iter().copied()),
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
        let causes = crate::report::undecided_causes(r);
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
