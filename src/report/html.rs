//! `report.html` and `compare.html`: one self-contained file each (inline CSS and SVG,
//! no script, nothing fetched), readable straight from disk.
//!
//! Per scenario, `report.html` shows the verdict, the thresholds, the violations with
//! their evidence, the latency percentile curves per outcome, the writes per round by
//! outcome (rounds with a violation flagged), the send spread per round, and for counter
//! workloads the attempts each increment took. `compare.html` puts several targets side
//! by side and overlays their latency curves.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use super::chart::{self, Curve, Layer, StackedBar, TARGET_COLOURS};
use super::{by_kind, RunInfo, RunStatus, ScenarioResult};
use crate::gate::Status;
use crate::history::Outcome;
use crate::metrics::{self, Origin};

/// Evidence lines shown per violation kind before the rest fold away.
const EVIDENCE_SHOWN: usize = 5;
/// Evidence lines in the folded part; the rest are in rounds.csv.
const EVIDENCE_FOLDED: usize = 200;

/// The run report for one run folder.
pub fn run_page(run_id: &str, info: &RunInfo, results: &[ScenarioResult]) -> String {
    let verdict = RunStatus::of(results).name();
    let mut page = head(&format!("contend run {run_id}: {verdict}"));
    let _ = write!(
        page,
        r#"<header class="top v-{}"><div class="wrap"><div class="brand">contend</div><h1>Run {}</h1><div class="meta">started {} · seed {} · contend {}</div><div class="verdict-big">{verdict}</div></div></header><main class="wrap">"#,
        verdict.to_ascii_lowercase(),
        escape(run_id),
        escape(info.started()),
        info.seed.map_or("–".to_string(), |s| s.to_string()),
        env!("CARGO_PKG_VERSION"),
    );
    incomplete_banner(&mut page, info, results);
    page.push_str(r#"<section class="card"><h2>Scenarios</h2>"#);
    overview_table(&mut page, results.iter().map(|r| (None, r)));
    page.push_str("</section>");
    for r in results {
        scenario_section(&mut page, r);
    }
    let _ = write!(
        page,
        r#"<footer>Files in this folder: {}. Durations are wall-clock; latency is per contended write, from the first byte sent to the last byte received.</footer></main></body></html>"#,
        super::run_files().join(", ")
    );
    page
}

/// One target of a comparison: its name and the results of its run.
pub struct TargetRun<'a> {
    pub name: &'a str,
    pub info: &'a RunInfo,
    pub results: &'a [ScenarioResult],
}

/// The comparison page: targets side by side, latency curves overlaid. `not_run` names
/// the targets an interruption left out.
pub fn compare_page(run_id: &str, targets: &[TargetRun<'_>], not_run: &[String]) -> String {
    let all: Vec<&ScenarioResult> = targets.iter().flat_map(|t| t.results.iter()).collect();
    let verdict = RunStatus::of(all.iter().copied()).name();
    let mut page = head(&format!("contend compare {run_id}"));
    let seed = targets
        .first()
        .and_then(|t| t.info.seed)
        .map_or("–".to_string(), |s| s.to_string());
    let started = targets
        .first()
        .map(|t| t.info.started())
        .unwrap_or_default();
    let _ = write!(
        page,
        r#"<header class="top v-{}"><div class="wrap"><div class="brand">contend compare</div><h1>{} targets, same scenarios, same seed</h1><div class="meta">started {} · seed {seed} · contend {}</div><div class="targets">"#,
        verdict.to_ascii_lowercase(),
        targets.len(),
        escape(&started),
        env!("CARGO_PKG_VERSION"),
    );
    for (i, t) in targets.iter().enumerate() {
        let target = t.results.first().map(|r| r.target.as_str()).unwrap_or("");
        let _ = write!(
            page,
            r#"<span class="target"><i style="background:{}"></i><b>{}</b> {}</span>"#,
            TARGET_COLOURS[i % TARGET_COLOURS.len()],
            escape(t.name),
            escape(target)
        );
    }
    page.push_str(r#"</div></div></header><main class="wrap">"#);
    if !not_run.is_empty() {
        let _ = write!(
            page,
            r#"<div class="banner warn"><b>Incomplete</b> — the comparison was interrupted; not run: {}.</div>"#,
            escape(not_run.join(", "))
        );
    }
    for t in targets {
        if !t.info.complete(t.results) {
            let _ = write!(
                page,
                r#"<div class="banner warn"><b>Incomplete</b> — the run against <b>{}</b> was interrupted; its figures cover only what was measured.</div>"#,
                escape(t.name)
            );
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for r in &all {
        if !names.contains(&r.verdict.scenario.as_str()) {
            names.push(&r.verdict.scenario);
        }
    }
    page.push_str(r#"<section class="card"><h2>Side by side</h2>"#);
    overview_table(
        &mut page,
        names.iter().flat_map(|n| {
            targets.iter().enumerate().filter_map(move |(i, t)| {
                t.results
                    .iter()
                    .find(|r| r.verdict.scenario == *n)
                    .map(|r| (Some((i, t.name)), r))
            })
        }),
    );
    page.push_str("</section>");
    for name in names {
        let runs: Vec<&ScenarioResult> = all
            .iter()
            .copied()
            .filter(|r| r.verdict.scenario == name)
            .collect();
        let _ = write!(
            page,
            r#"<section class="card scenario s-{}" id="s-{}"><div class="shead"><h2>{}</h2></div><div class="charts">"#,
            RunStatus::of(runs.iter().copied())
                .name()
                .to_ascii_lowercase(),
            escape(name),
            escape(name)
        );
        for outcome in Outcome::TIMED {
            let curves: Vec<Curve> = targets
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let r = t.results.iter().find(|r| r.verdict.scenario == name)?;
                    Some(Curve {
                        label: t.name.to_string(),
                        colour: TARGET_COLOURS[i % TARGET_COLOURS.len()].to_string(),
                        dashed: false,
                        points: r.latency.distribution(outcome),
                    })
                })
                .collect();
            if curves.iter().any(|c| !c.points.is_empty()) {
                let _ = write!(
                    page,
                    r#"<figure>{}</figure>"#,
                    chart::percentile_curves(
                        &format!("{} latency by target", outcome.name()),
                        &curves
                    )
                );
            }
        }
        for t in targets {
            if let Some(r) = t.results.iter().find(|r| r.verdict.scenario == name) {
                let _ = write!(
                    page,
                    r#"<figure>{}</figure>"#,
                    rounds_chart(r, &format!("{}: writes per round by outcome", t.name))
                );
            }
        }
        page.push_str("</div></section>");
    }
    page.push_str(r#"<footer>Each target's own reports (report.html, summary.json, CSV) are in its folder beside compare.html.</footer></main></body></html>"#);
    page
}

fn incomplete_banner(page: &mut String, info: &RunInfo, results: &[ScenarioResult]) {
    if info.complete(results) {
        return;
    }
    let mut text = String::from(
        "<b>Incomplete run</b> — it was interrupted or a scenario stopped early; the figures cover only what was measured.",
    );
    if !info.not_run.is_empty() {
        let _ = write!(text, " Not run: {}.", escape(info.not_run.join(", ")));
    }
    let _ = write!(page, r#"<div class="banner warn">{text}</div>"#);
}

fn badge(status: &str) -> String {
    format!(
        r#"<span class="badge b-{}">{status}</span>"#,
        status.to_ascii_lowercase()
    )
}

/// `0.92 / 1.97 ms`: two latencies in the unit of the larger.
fn latency_pair(p: &crate::latency::Percentiles) -> String {
    if p.count == 0 {
        return "–".into();
    }
    let (per, unit) = if p.p99 >= 1_000_000 {
        (1e6, "ms")
    } else {
        (1e3, "µs")
    };
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
        "{} / {} {unit}",
        three(p.p50 as f64 / per),
        three(p.p99 as f64 / per)
    )
}

fn overview_table<'a>(
    page: &mut String,
    rows: impl Iterator<Item = (Option<(usize, &'a str)>, &'a ScenarioResult)>,
) {
    let rows: Vec<_> = rows.collect();
    let with_target = rows.iter().any(|(t, _)| t.is_some());
    page.push_str(r#"<div class="scroll"><table class="grid"><thead><tr><th>scenario</th>"#);
    if with_target {
        page.push_str("<th>target</th>");
    }
    page.push_str(r#"<th>verdict</th><th>violations</th><th class="n">writes</th><th class="n">winners</th><th class="n">conflicts</th><th class="n">unexp.</th><th class="n">indet.</th><th class="n">not sent</th><th class="n">lost</th><th class="n">writes /s</th><th class="n">winner p50 / p99</th><th class="n">conflict p50 / p99</th><th>gate</th></tr></thead><tbody>"#);
    let mut previous: Option<&str> = None;
    for (target, r) in rows {
        let v = &r.verdict;
        let repeat = previous == Some(v.scenario.as_str());
        previous = Some(&v.scenario);
        let win = r.latency.percentiles(Outcome::Winner);
        let conf = r.latency.percentiles(Outcome::Conflict);
        let figures = r.figures();
        let kinds: Vec<String> = by_kind(&v.violations)
            .iter()
            .map(|group| format!("{} ×{}", group.kind, group.found.len()))
            .collect();
        let failed = r.failed_thresholds().count();
        let thresholds = if r.thresholds.is_empty() {
            "–".to_string()
        } else if failed > 0 {
            format!(
                r#"<span class="bad">✗ {failed}/{}</span>"#,
                r.thresholds.len()
            )
        } else {
            format!(r#"<span class="good">✓ {}</span>"#, r.thresholds.len())
        };
        if repeat {
            page.push_str("<tr><td></td>");
        } else {
            let _ = write!(
                page,
                r##"<tr class="{}"><td><a href="#s-{}">{}</a></td>"##,
                if with_target { "group" } else { "" },
                escape(&v.scenario),
                escape(&v.scenario)
            );
        }
        if let Some((i, name)) = target {
            let _ = write!(
                page,
                r#"<td><span class="target"><i style="background:{}"></i>{}</span></td>"#,
                TARGET_COLOURS[i % TARGET_COLOURS.len()],
                escape(name)
            );
        }
        let _ = write!(
            page,
            r#"<td>{}{}</td><td class="wrap {}">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n{}">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n{}">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{thresholds}</td></tr>"#,
            badge(r.status()),
            if r.complete {
                ""
            } else {
                r#" <span class="pill">incomplete</span>"#
            },
            if kinds.is_empty() { "muted" } else { "bad" },
            if kinds.is_empty() {
                "none".to_string()
            } else {
                escape(kinds.join(", ")).into_owned()
            },
            v.counts.writes,
            v.counts.winners,
            v.counts.conflicts,
            if v.counts.unexpected > 0 { " bad" } else { "" },
            v.counts.unexpected,
            v.counts.indeterminate,
            v.counts.not_sent,
            if v.lost_updates > 0 { " bad" } else { "" },
            v.lost_updates,
            figures
                .get("writes_per_second")
                .map_or("–".into(), |x| format!("{x:.0}")),
            latency_pair(&win),
            latency_pair(&conf),
        );
    }
    page.push_str("</tbody></table></div>");
}

fn tile(page: &mut String, label: &str, value: String, class: &str) {
    let _ = write!(
        page,
        r#"<div class="tile {class}"><div class="tv">{}</div><div class="tl">{}</div></div>"#,
        escape(&value),
        escape(label)
    );
}

fn scenario_section(page: &mut String, r: &ScenarioResult) {
    let v = &r.verdict;
    let status = r.status();
    let _ = write!(
        page,
        r#"<section class="card scenario s-{}" id="s-{}"><div class="shead"><h2>{}</h2>{}<span class="sub">{} · {} · {:.2} s</span></div>"#,
        status.to_ascii_lowercase(),
        escape(&v.scenario),
        escape(&v.scenario),
        badge(status),
        escape(v.workload.name()),
        escape(&r.target),
        r.duration.as_secs_f64()
    );
    if let Some(e) = &r.error {
        let _ = write!(
            page,
            r#"<div class="banner err"><b>Could not run to the end:</b> {}</div>"#,
            escape(e)
        );
    } else if let Some(why) = r.inconclusive() {
        let _ = write!(
            page,
            r#"<div class="banner warn"><b>Inconclusive:</b> {} — neither a pass nor a failure.</div>"#,
            escape(&why)
        );
    }
    if r.error.is_none() && !r.complete {
        page.push_str(r#"<div class="banner warn"><b>Interrupted</b> — the figures cover only what was measured.</div>"#);
    }
    let c = &v.counts;
    let figures = r.figures();
    page.push_str(r#"<div class="tiles">"#);
    let counter = v.counter.is_some();
    tile(
        page,
        if counter { "versions" } else { "rounds" },
        v.rounds.len().to_string(),
        "",
    );
    tile(page, "writes", c.writes.to_string(), "");
    tile(page, "winners", c.winners.to_string(), "t-winner");
    tile(page, "conflicts", c.conflicts.to_string(), "t-conflict");
    tile(
        page,
        "unexpected",
        c.unexpected.to_string(),
        if c.unexpected > 0 { "t-bad" } else { "" },
    );
    tile(
        page,
        "indeterminate",
        c.indeterminate.to_string(),
        if c.indeterminate > 0 { "t-warn" } else { "" },
    );
    tile(
        page,
        "not sent",
        c.not_sent.to_string(),
        if c.not_sent > 0 { "t-warn" } else { "" },
    );
    tile(
        page,
        "lost updates",
        v.lost_updates.to_string(),
        if v.lost_updates > 0 {
            "t-bad"
        } else {
            "t-good"
        },
    );
    // A counter's writers are not released together, so its spread says nothing.
    if let Some(spread) = figures.get("send_spread.p50").filter(|_| !counter) {
        tile(
            page,
            "send spread p50",
            metrics::format_duration_ns(spread),
            "",
        );
    }
    if let Some(spread) = figures.get("arrival_spread.p50").filter(|_| !counter) {
        tile(
            page,
            "arrival spread p50",
            metrics::format_duration_ns(spread),
            "",
        );
    }
    if let Some(mode) = r.sync.filter(|_| !counter) {
        tile(page, "sync", mode.to_string(), "");
    }
    if let Some(policy) = r.writer_connections.filter(|_| !counter) {
        tile(page, "connections", policy.name().to_string(), "");
    }
    if let Some(rate) = figures.get("writes_per_second") {
        tile(page, "writes / s", format!("{rate:.0}"), "");
    }
    if let Some(k) = &v.counter {
        tile(
            page,
            "acknowledged",
            format!("{} / {}", k.acknowledged, k.increments),
            "",
        );
        if let Some(a) = k.attempts_per_success() {
            tile(page, "attempts / success", format!("{a:.2}"), "");
        }
        if let Some(a) = k.conflicts_per_success() {
            tile(page, "conflicts / success", format!("{a:.2}"), "");
        }
        tile(
            page,
            "counter value",
            format!(
                "{} → {}",
                k.initial.map_or("?".into(), |x| x.to_string()),
                k.final_value.map_or("?".into(), |x| x.to_string())
            ),
            "",
        );
    }
    page.push_str("</div>");

    if !r.thresholds.is_empty() {
        page.push_str(r#"<h3>Thresholds</h3><table class="grid thresholds"><thead><tr><th></th><th>threshold</th><th class="n">measured</th><th>from</th></tr></thead><tbody>"#);
        for t in &r.thresholds {
            let (mark, class) = match t.status {
                Status::Pass => ("✓", "good"),
                Status::Fail => ("✗", "bad"),
                Status::NoData => ("–", "muted"),
            };
            let measured = match t.measured {
                Some(_) => escape(&t.shown).into_owned(),
                None => format!(
                    r#"<span class="muted">no data: {}</span>"#,
                    escape(&t.shown)
                ),
            };
            let _ = write!(
                page,
                r#"<tr class="{class}"><td class="mark">{mark}</td><td><code>{}</code></td><td class="n">{measured}</td><td class="muted">{}</td></tr>"#,
                escape(t.threshold.to_string()),
                match t.threshold.origin {
                    Origin::Scenario => "scenario file",
                    Origin::CommandLine => "--threshold",
                }
            );
        }
        page.push_str("</tbody></table>");
    }

    if !v.violations.is_empty() {
        page.push_str(r#"<h3>Violations</h3>"#);
        for group in by_kind(&v.violations) {
            let (kind, found) = (group.kind, &group.found);
            let rounds = group.in_rounds(v.rounds.len());
            let _ = write!(
                page,
                r#"<div class="violation"><div class="vk"><code>{kind}</code>{rounds}</div>"#
            );
            // The minimal witness first, then the evidence in words.
            if let Some(w) = r.witness.first_of(kind) {
                page.push_str(&super::witness::html(r, w));
            }
            page.push_str(r#"<ul class="evidence">"#);
            let line = |x: &crate::check::Violation| {
                let at = match (&x.round, &x.version) {
                    (Some(round), Some(version)) => {
                        format!(
                            "<b>round {round}</b>, version <code>{}</code>: ",
                            escape(version)
                        )
                    }
                    (Some(round), None) => format!("<b>round {round}</b>: "),
                    _ => String::new(),
                };
                format!("<li>{at}{}</li>", escape(&x.evidence))
            };
            for x in found.iter().take(EVIDENCE_SHOWN) {
                page.push_str(&line(x));
            }
            page.push_str("</ul>");
            if found.len() > EVIDENCE_SHOWN {
                let _ = write!(
                    page,
                    r#"<details><summary>{} more</summary><ul class="evidence">"#,
                    found.len() - EVIDENCE_SHOWN
                );
                for x in found.iter().skip(EVIDENCE_SHOWN).take(EVIDENCE_FOLDED) {
                    page.push_str(&line(x));
                }
                if found.len() > EVIDENCE_SHOWN + EVIDENCE_FOLDED {
                    page.push_str("<li>… the rest are in rounds.csv</li>");
                }
                page.push_str("</ul></details>");
            }
            page.push_str("</div>");
        }
    }

    // ==== Timelines of the violating rounds (issue 17): one call, for the template's slot.
    page.push_str(&super::timeline::section(r));
    // ==== end of the timelines.

    page.push_str(r#"<div class="charts">"#);
    let curves: Vec<Curve> = Outcome::TIMED
        .iter()
        .map(|o| Curve {
            label: o.name().to_string(),
            colour: chart::outcome_colour(*o).to_string(),
            dashed: false,
            points: r.latency.distribution(*o),
        })
        .collect();
    let _ = write!(
        page,
        "<figure>{}</figure>",
        chart::percentile_curves("write latency by outcome", &curves)
    );
    let _ = write!(
        page,
        "<figure>{}</figure>",
        rounds_chart(
            r,
            if v.counter.is_some() {
                "writes per version by outcome"
            } else {
                "writes per round by outcome"
            }
        )
    );
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
        let _ = write!(
            page,
            "<figure>{}</figure>",
            chart::bars(
                "attempts each increment took",
                "write attempts (1 = no conflict)",
                "increments",
                chart::outcome_colour(Outcome::Conflict),
                &bars
            )
        );
    }
    if !counter && v.rounds.iter().any(|x| x.send_spread_ns > 0) {
        let bars: Vec<(String, f64)> = v
            .rounds
            .iter()
            .map(|x| (x.round.to_string(), x.send_spread_ns as f64 / 1e3))
            .collect();
        let _ = write!(
            page,
            "<figure>{}</figure>",
            chart::bars(
                "send spread per round: first to last write sent",
                "round",
                "µs",
                "#6b7280",
                &bars
            )
        );
    }
    if !counter && v.rounds.iter().any(|x| x.arrival_spread_ns.is_some()) {
        let bars: Vec<(String, f64)> = v
            .rounds
            .iter()
            .map(|x| {
                let us = x.arrival_spread_ns.map_or(0.0, |ns| ns as f64 / 1e3);
                (x.round.to_string(), us)
            })
            .collect();
        let _ = write!(
            page,
            "<figure>{}</figure>",
            chart::bars(
                "arrival spread per round: first to last write's last byte at the server",
                "round",
                "µs",
                "#6b7280",
                &bars
            )
        );
    }
    page.push_str("</div></section>");
}

fn rounds_chart(r: &ScenarioResult, title: &str) -> String {
    let layers: Vec<Layer> = [
        ("winners", Outcome::Winner),
        ("conflicts", Outcome::Conflict),
        ("unexpected", Outcome::Unexpected),
        ("indeterminate", Outcome::Indeterminate),
        ("not sent", Outcome::NotSent),
    ]
    .iter()
    .map(|(label, o)| Layer {
        label: label.to_string(),
        colour: chart::outcome_colour(*o).to_string(),
    })
    .collect();
    let bars: Vec<StackedBar> = r
        .verdict
        .rounds
        .iter()
        .map(|x| StackedBar {
            label: match &x.version_sent {
                Some(version) => format!("round {} (version {version})", x.round),
                None => format!("round {}", x.round),
            },
            values: vec![
                f64::from(x.winners),
                f64::from(x.conflicts),
                f64::from(x.unexpected),
                f64::from(x.indeterminate),
                f64::from(x.not_sent),
            ],
            flagged: !x.violations.is_empty(),
        })
        .collect();
    let x_label = if r.verdict.counter.is_some() {
        "version (in the order first written)"
    } else {
        "round"
    };
    chart::stacked_bars(title, x_label, "writes", &layers, &bars)
}

fn head(title: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><style>{CSS}</style></head><body>"#,
        escape(title)
    )
}

const CSS: &str = r#"
:root{--bg:#f3f5f8;--card:#fff;--ink:#1c2430;--muted:#6b7380;--line:#e3e7ee;--good:#1f9d55;--bad:#d64545;--warn:#e39b1b;--blue:#2f6fd6;--unknown:#8a4fc7}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:13.5px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:1240px;margin:0 auto;padding:0 24px}
header.top{background:#121a27;color:#fff;padding:22px 0 20px;border-bottom:6px solid var(--good);margin-bottom:22px}
header.top.v-fail{border-bottom-color:var(--bad)}
header.top.v-error{border-bottom-color:var(--warn)}
header.top.v-inconclusive{border-bottom-color:var(--unknown)}
header.top .wrap{position:relative}
.brand{font-size:12px;letter-spacing:.14em;text-transform:uppercase;color:#9fb0c8}
h1{margin:4px 0 2px;font-size:26px;font-weight:650}
.meta{color:#b7c3d4;font-size:13px}
.verdict-big{position:absolute;right:24px;top:6px;font-size:34px;font-weight:800;letter-spacing:.04em;padding:6px 18px;border-radius:10px;background:var(--good)}
.v-fail .verdict-big{background:var(--bad)}
.v-error .verdict-big{background:var(--warn)}
.v-inconclusive .verdict-big{background:var(--unknown)}
.targets{margin-top:10px;display:flex;gap:18px;flex-wrap:wrap;font-size:13px;color:#dbe3ee}
.target{display:inline-flex;align-items:center;gap:6px}
.target i{display:inline-block;width:12px;height:12px;border-radius:3px}
.card{background:var(--card);border-radius:12px;box-shadow:0 1px 2px rgba(16,24,40,.06),0 1px 8px rgba(16,24,40,.05);padding:18px 20px;margin-bottom:20px;border:1px solid var(--line)}
.scenario{border-left:6px solid var(--good)}
.scenario.s-fail{border-left-color:var(--bad)}
.scenario.s-error{border-left-color:var(--warn)}
.scenario.s-inconclusive{border-left-color:var(--unknown)}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:14px;margin:18px 0 8px;color:#394353;text-transform:uppercase;letter-spacing:.06em}
.shead{display:flex;align-items:center;gap:12px;flex-wrap:wrap;margin-bottom:12px}
.shead h2{margin:0}
.sub{color:var(--muted);font-size:13px}
.badge{display:inline-block;font-weight:750;font-size:12px;letter-spacing:.06em;padding:3px 10px;border-radius:999px;color:#fff}
.b-pass{background:var(--good)}.b-fail{background:var(--bad)}.b-error{background:var(--warn)}.b-inconclusive{background:var(--unknown)}
.pill{font-size:11px;padding:2px 8px;border-radius:999px;background:#fdf1dc;color:#8a5a00}
.banner{padding:12px 16px;border-radius:10px;margin:0 0 16px;font-size:14px}
.banner.warn{background:#fff5e0;border:1px solid #f3cf85;color:#6b4700}
.banner.err{background:#fdecec;border:1px solid #f1b3b3;color:#7a1d1d}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(112px,1fr));gap:10px;margin:4px 0 8px}
.tile{background:#f7f9fc;border:1px solid var(--line);border-radius:10px;padding:10px 12px}
.tv{font-size:22px;font-weight:700;font-variant-numeric:tabular-nums;white-space:nowrap}
.tl{font-size:12px;color:var(--muted)}
.t-winner .tv{color:var(--good)}.t-conflict .tv{color:var(--blue)}
.t-bad{background:#fdeeee;border-color:#f3c2c2}.t-bad .tv{color:var(--bad)}
.t-warn{background:#fff6e6;border-color:#f3d9a6}.t-warn .tv{color:#a86a00}
.t-good .tv{color:var(--good)}
.scroll{overflow-x:auto}
table.grid{border-collapse:collapse;width:100%;font-size:13px}
table.grid th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;border-bottom:2px solid var(--line);padding:6px 5px;vertical-align:bottom}
table.grid td{border-bottom:1px solid var(--line);padding:7px 5px;white-space:nowrap}
table.grid td.wrap{white-space:normal;max-width:150px}
table.grid tr.group td{border-top:2px solid var(--line)}
table.grid tr:hover td{background:#f8fafc}
.n{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:var(--bad);font-weight:600}.good{color:var(--good);font-weight:600}.muted{color:var(--muted)}
table.thresholds{max-width:760px}
table.thresholds .mark{width:22px;font-weight:800}
tr.bad td{background:#fdf3f3}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;background:#f1f4f8;padding:1px 5px;border-radius:4px}
a{color:var(--blue);text-decoration:none}a:hover{text-decoration:underline}
.violation{border:1px solid #f1c4c4;background:#fff8f8;border-radius:10px;padding:10px 14px;margin-bottom:10px}
.vk{font-weight:650;color:#8c1d1d;margin-bottom:4px}.vk code{background:#fde2e2;color:#8c1d1d}
ul.evidence{margin:4px 0;padding-left:20px;font-size:13px}
ul.evidence li{margin:3px 0;word-break:break-word}
details summary{cursor:pointer;color:var(--blue);font-size:13px;margin-left:20px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;margin-top:16px}
figure{margin:0;background:#fbfcfe;border:1px solid var(--line);border-radius:10px;padding:8px}
svg.chart{width:100%;height:auto;display:block;font-family:inherit}
svg .title{font-size:13px;font-weight:650;fill:#263041}
svg .tick{font-size:10.5px;fill:#6b7380;font-variant-numeric:tabular-nums}
svg .axis{font-size:11px;fill:#6b7380}
svg .legend{font-size:11px;fill:#394353}
svg .grid{stroke:#e6eaf0;stroke-width:1}
svg .minor{stroke:#f0f2f6;stroke-dasharray:2 3}
svg .axisline{stroke:#b9c2cf;stroke-width:1}
svg .emptybox{fill:#f4f6f9;stroke:#e3e7ee}
svg rect:hover{opacity:.85}
footer{color:var(--muted);font-size:12px;margin:10px 0 40px}
@media print{body{background:#fff}.card{box-shadow:none}}
"#;
