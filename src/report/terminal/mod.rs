//! The terminal summary printed at the end of a run: a table with one row per scenario
//! and every outcome (writes = winners + conflicts + unexpected + indeterminate + not
//! sent), the causes of the writes that got no whole answer, a loud line for a race
//! released far wider than a race needs, then each counter's strategies, each failing
//! scenario's violations, why a scenario is INCONCLUSIVE, and every scenario's
//! warnings, with their evidence; last, the run's verdict.
//!
//! It fits the width it is given ([`Layout::Fit`]): the table keeps the outcome counts
//! on one row and puts each scenario's workload, steps, latency and spread on the line
//! below; when the names leave no room, each name goes on a line of its own above its
//! row; every other line wraps at the width. [`Layout::Wide`] (`--wide`) puts every
//! figure of a scenario on one line and wraps nothing. On a terminal the width is the
//! terminal's; elsewhere (a pipe, a file, CI logs) the summary is wide, unless
//! `CONTEND_WIDTH` sets a width ([`Layout::choose`]).

use std::path::Path;

use console::Style;

mod layout;
mod witness;

pub use layout::Layout;
use layout::{Cell, Out, Table};

use crate::convergence::Metric;
use crate::gate::Status;
use crate::history::Outcome;
use crate::scenario::SyncMode;

use super::{by_kind, RunStatus, ScenarioResult, SpreadStat};

/// A release spread (a round's first to last write) wider than this is far wider than
/// a race needs: every mode releases tens of writes within a few hundred µs.
const WIDE_RELEASE_NS: u64 = 1_000_000;
/// A round released this many times wider than the scenario's median round (and wider
/// than [`WIDE_RELEASE_NS`]) raced loosely.
const WIDE_FACTOR: u64 = 10;
/// Evidence lines shown per violation kind; the rest are in `rounds.csv`.
const EVIDENCE_SHOWN: usize = 3;

/// Green for a pass, red for a failure, yellow for an error, magenta for a verdict
/// that could not be reached.
fn verdict_style(status: RunStatus) -> Style {
    match status {
        RunStatus::Pass => Style::new().green().bold(),
        RunStatus::Fail => Style::new().red().bold(),
        RunStatus::Error => Style::new().yellow().bold(),
        RunStatus::Inconclusive => Style::new().magenta().bold(),
    }
}

fn verdict_cell(status: RunStatus) -> Cell {
    Cell {
        text: status.name().to_string(),
        style: Some(verdict_style(status)),
    }
}

fn ms(ns: u64) -> String {
    if ns == 0 {
        "-".into()
    } else {
        format!("{:.2}", ns as f64 / 1e6)
    }
}

fn us(ns: u64) -> String {
    format!("{:.0}", ns as f64 / 1e3)
}

/// "50 rounds", "240 increments", "2486 attempts": what the scenario's checker judged.
fn steps(r: &ScenarioResult) -> String {
    let j = &r.verdict.judged;
    let unit = if j.unit.is_empty() { "rounds" } else { j.unit };
    format!("{} {unit}", j.total)
}

/// The median round's release spread in µs, for scenarios whose writes were released
/// together.
fn median_release(r: &ScenarioResult) -> Option<String> {
    if !r.verdict.workload.rules().released_together {
        return None;
    }
    r.spreads().send.map(|s| us(s.p50))
}

/// `3.11/40.40`: an outcome's write latency, p50/p99 in ms.
fn latency_pair(r: &ScenarioResult, outcome: Outcome) -> String {
    let p = r.latency.percentiles(outcome);
    format!("{}/{}", ms(p.p50), ms(p.p99))
}

/// The counts every layout shows, in column order.
fn count_cells(r: &ScenarioResult) -> Vec<Cell> {
    let v = &r.verdict;
    let c = &v.counts;
    [
        c.writes,
        c.winners,
        c.conflicts,
        c.unexpected,
        c.indeterminate,
        c.not_sent,
        v.lost_updates,
    ]
    .iter()
    .map(|n| Cell::plain(n.to_string()))
    .collect()
}

const COUNT_HEADERS: [&str; 7] = [
    "WRITES", "WINNERS", "CONFLICT", "UNEXP", "INDET", "NOT SENT", "LOST",
];

/// Renders the summary laid out to [`Layout::DEFAULT_WIDTH`] columns; `colour` adds
/// ANSI colours to verdicts.
pub fn render(results: &[ScenarioResult], report_dir: Option<&Path>, colour: bool) -> String {
    render_in(results, report_dir, colour, Layout::default())
}

/// Renders the summary in `layout`; `colour` adds ANSI colours to verdicts.
pub fn render_in(
    results: &[ScenarioResult],
    report_dir: Option<&Path>,
    colour: bool,
    layout: Layout,
) -> String {
    let mut out = Out::new(layout);
    match layout {
        Layout::Wide => wide_table(&mut out, results, colour),
        Layout::Fit(_) => fitted_table(&mut out, results, colour),
    }
    undecided(&mut out, results);
    spreads(&mut out, results);
    thresholds(&mut out, results, layout, colour);
    for r in results {
        details(&mut out, r, report_dir);
    }
    if results.iter().any(|r| r.verdict.counts.indeterminate > 0) {
        out.blank();
        out.para(0, 0, "Indeterminate writes (timeouts, resets after sending) may or may not have been applied; they are never counted as lost or as winners.");
    }
    overall(&mut out, results.iter(), colour);
    if let Some(dir) = report_dir {
        out.blank();
        out.para(
            0,
            4,
            &format!(
                "Reports: {}/ ({})",
                dir.display(),
                super::run_files().join(", ")
            ),
        );
        witness::files_line(&mut out, results, dir);
    }
    out.text
}

/// One line per scenario with every figure.
fn wide_table(out: &mut Out, results: &[ScenarioResult], colour: bool) {
    let mut headers = vec!["SCENARIO", "WORKLOAD", "VERDICT", "STEPS"];
    headers.extend(COUNT_HEADERS);
    headers.extend(["WIN p50/p99 ms", "CONF p50/p99 ms", "SPREAD µs"]);
    let rows = results
        .iter()
        .map(|r| {
            let mut row = vec![
                Cell::plain(&r.verdict.scenario),
                Cell::plain(r.verdict.workload.name()),
                verdict_cell(r.run_status()),
                Cell::plain(steps(r)),
            ];
            row.extend(count_cells(r));
            row.push(Cell::plain(latency_pair(r, Outcome::Winner)));
            row.push(Cell::plain(latency_pair(r, Outcome::Conflict)));
            row.push(Cell::plain(median_release(r).unwrap_or_else(|| "-".into())));
            row
        })
        .collect();
    let table = Table {
        headers,
        text_columns: 3,
        rows,
    };
    out.line(&table.header());
    for i in 0..results.len() {
        out.line(&table.row(i, colour));
    }
}

/// The counts on one row per scenario, the rest on the line below; each name on a line
/// of its own when the names leave no room for the row.
fn fitted_table(out: &mut Out, results: &[ScenarioResult], colour: bool) {
    let width = out.width.unwrap_or(Layout::DEFAULT_WIDTH);
    let row = |r: &ScenarioResult, named: bool| {
        let mut cells = Vec::new();
        if named {
            cells.push(Cell::plain(&r.verdict.scenario));
        }
        cells.push(verdict_cell(r.run_status()));
        cells.extend(count_cells(r));
        cells
    };
    let headers = |named: bool| {
        let mut h = Vec::new();
        if named {
            h.push("SCENARIO");
        }
        h.push("VERDICT");
        h.extend(COUNT_HEADERS);
        h
    };
    let named = Table {
        headers: headers(true),
        text_columns: 2,
        rows: results.iter().map(|r| row(r, true)).collect(),
    };
    let stacked = named.width() > width;
    let table = if stacked {
        Table {
            headers: headers(false),
            text_columns: 1,
            rows: results.iter().map(|r| row(r, false)).collect(),
        }
    } else {
        named
    };
    if stacked {
        out.line("SCENARIO");
        out.line(&format!("  {}", table.header()));
    } else {
        out.line(&table.header());
    }
    for (i, r) in results.iter().enumerate() {
        if stacked {
            out.para(0, 2, &r.verdict.scenario);
            out.line(&format!("  {}", table.row(i, colour)));
        } else {
            out.line(&table.row(i, colour));
        }
        out.para(2, 4, &detail_line(r));
    }
}

/// "stale-write · 50 rounds · p50/p99 ms: winner 3.11/40.40, conflict 5.36/41.29 ·
/// spread p50 1805 µs" (the median round's release spread).
fn detail_line(r: &ScenarioResult) -> String {
    let mut parts = vec![r.verdict.workload.name().to_string(), steps(r)];
    let timed: Vec<String> = [Outcome::Winner, Outcome::Conflict]
        .iter()
        .filter(|o| r.latency.percentiles(**o).count > 0)
        .map(|o| format!("{} {}", o.name(), latency_pair(r, *o)))
        .collect();
    if !timed.is_empty() {
        parts.push(format!("p50/p99 ms: {}", timed.join(", ")));
    }
    if let Some(spread) = median_release(r) {
        parts.push(format!("spread p50 {spread} µs"));
    }
    parts.join(" · ")
}

/// The causes of the writes that got no whole answer, scenario by scenario.
fn undecided(out: &mut Out, results: &[ScenarioResult]) {
    let lines: Vec<String> = results.iter().filter_map(undecided_line).collect();
    if lines.is_empty() {
        return;
    }
    out.blank();
    out.line("Writes without a whole answer, by cause:");
    for line in lines {
        out.para(2, 4, &line);
    }
}

/// "name: 80 of 80 writes indeterminate (80 timed out); …", for a scenario with writes
/// that got no whole answer ([`super::undecided_causes`]).
fn undecided_line(r: &ScenarioResult) -> Option<String> {
    let parts = super::undecided_causes(r);
    (!parts.is_empty()).then(|| format!("{}: {}", r.verdict.scenario, parts.join("; ")))
}

/// How simultaneous each raced scenario's writes were, and a loud line for the loose.
fn spreads(out: &mut Out, results: &[ScenarioResult]) {
    let raced: Vec<&ScenarioResult> = results
        .iter()
        .filter(|r| r.sync.is_some() && !r.verdict.rounds.is_empty())
        .collect();
    if raced.is_empty() {
        return;
    }
    out.blank();
    out.line("Race spread per round, p50/max µs (first to last write):");
    for r in &raced {
        out.para(2, 4, &spread_line(r));
        passed_over(out, r);
    }
    for line in raced.iter().filter_map(|r| wide_release(r)) {
        out.para(0, 2, &line);
    }
}

/// "name (sync last-byte, fresh connections): release 12/30, responses 250/400, arrival
/// at the server 9/21".
fn spread_line(r: &ScenarioResult) -> String {
    let spreads = r.spreads();
    let pair =
        |s: Option<SpreadStat>| s.map_or("-".into(), |s| format!("{}/{}", us(s.p50), us(s.max)));
    let arrival = match spreads.arrival {
        Some(s) => format!(
            "arrival at the server {}/{} (p99 {})",
            us(s.p50),
            us(s.max),
            us(s.p99)
        ),
        None => {
            "arrival at the server not measured (only contend's reference server stamps it)".into()
        }
    };
    let connections = r
        .writer_connections
        .map(|p| format!(", {p} connections"))
        .unwrap_or_default();
    format!(
        "{} (sync {}{connections}): release {}, responses {}, {arrival}",
        r.verdict.scenario,
        r.sync.map_or_else(|| "?".to_string(), |m| m.to_string()),
        pair(spreads.send),
        pair(spreads.response),
    )
}

/// A loud line when a scenario's releases were far wider than a race needs: its median
/// round, or some rounds far wider than its median.
fn wide_release(r: &ScenarioResult) -> Option<String> {
    let spreads: Vec<u64> = r.verdict.rounds.iter().map(|x| x.send_spread_ns).collect();
    let stat = SpreadStat::of(spreads.clone())?;
    let name = &r.verdict.scenario;
    if stat.p50 > WIDE_RELEASE_NS {
        return Some(format!(
            "WARNING: {name}: the writes of the median round were released over {} ms, far wider than a race needs (well under 1 ms): the client could not release them together (too many writers for this machine, or it is overloaded), so a race window narrower than that was probably missed",
            ms(stat.p50)
        ));
    }
    let loose = spreads
        .iter()
        .filter(|s| **s > WIDE_RELEASE_NS && **s > stat.p50.saturating_mul(WIDE_FACTOR))
        .count();
    (loose > 0).then(|| {
        format!(
            "WARNING: {name}: {loose} of {} rounds were released over more than {WIDE_FACTOR}× the median round ({} µs) and over 1 ms (the widest {} ms): those rounds raced loosely",
            spreads.len(),
            us(stat.p50),
            ms(stat.max)
        )
    })
}

/// One line per threshold: a mark, the expression, the figure; the scenario's name
/// once, before its first threshold (on a line of its own when the layout is fitted).
fn thresholds(out: &mut Out, results: &[ScenarioResult], layout: Layout, colour: bool) {
    if results.iter().all(|r| r.thresholds.is_empty()) {
        return;
    }
    out.blank();
    out.line("THRESHOLDS");
    let rows: Vec<(&ScenarioResult, Vec<Cell>)> = results
        .iter()
        .flat_map(|r| {
            r.thresholds.iter().map(move |t| {
                let (mark, style) = match t.status {
                    Status::Pass => ("ok", Style::new().green().bold()),
                    Status::Fail => ("FAIL", Style::new().red().bold()),
                    Status::NoData => ("n/a", Style::new().dim()),
                };
                let figure = match t.measured {
                    Some(_) => t.shown.clone(),
                    None => format!("no data: {}", t.shown),
                };
                (
                    r,
                    vec![
                        Cell {
                            text: mark.to_string(),
                            style: Some(style),
                        },
                        Cell::plain(t.threshold.to_string()),
                        Cell::plain(figure),
                    ],
                )
            })
        })
        .collect();
    let names = |r: &ScenarioResult, i: usize| {
        let first = i == 0 || !std::ptr::eq(rows[i - 1].0, r);
        first.then(|| r.verdict.scenario.clone())
    };
    match layout {
        Layout::Wide => {
            let table = Table {
                headers: vec!["", "", "", ""],
                text_columns: 4,
                rows: rows
                    .iter()
                    .enumerate()
                    .map(|(i, (r, cells))| {
                        let mut row = vec![Cell::plain(names(r, i).unwrap_or_default())];
                        row.extend(cells.iter().map(|c| Cell {
                            text: c.text.clone(),
                            style: c.style.clone(),
                        }));
                        row
                    })
                    .collect(),
            };
            for i in 0..rows.len() {
                out.line(&table.row(i, colour));
            }
        }
        Layout::Fit(_) => {
            let marks = Table {
                headers: vec![""],
                text_columns: 1,
                rows: rows
                    .iter()
                    .map(|(_, cells)| {
                        vec![Cell {
                            text: cells[0].text.clone(),
                            style: cells[0].style.clone(),
                        }]
                    })
                    .collect(),
            };
            for (i, (r, cells)) in rows.iter().enumerate() {
                if let Some(name) = names(r, i) {
                    out.para(0, 2, &name);
                }
                let mark = marks.row(i, colour);
                let pad = " ".repeat(4usize.saturating_sub(cells[0].text.len()));
                out.para(
                    2,
                    8,
                    &format!("{mark}{pad}  {}: {}", cells[1].text, cells[2].text),
                );
            }
        }
    }
}

/// A scenario's own sections: sustained figures, counter strategies, violations (each
/// kind's minimal witness first), warnings, why it is INCONCLUSIVE, why it stopped.
fn details(out: &mut Out, r: &ScenarioResult, report_dir: Option<&Path>) {
    let v = &r.verdict;
    if let Some(k) = &v.sustained {
        sustained(out, &v.scenario, k, r);
    }
    if let Some(k) = &v.counter {
        out.blank();
        out.para(
            0,
            2,
            &format!(
                "{}: {} increments, {} acknowledged, {} indeterminate, {} gave up; {}{} attempts/success, {} conflicts/success",
                v.scenario,
                k.increments,
                k.acknowledged,
                k.indeterminate,
                k.gave_up,
                // Several strategies ran on counters of their own: no one value to show.
                if r.convergence.strategies.len() > 1 {
                    String::new()
                } else {
                    format!(
                        "value {} → {}; ",
                        k.initial.map_or("?".into(), |x| x.to_string()),
                        k.final_value.map_or("?".into(), |x| x.to_string())
                    )
                },
                k.attempts_per_success().map_or("-".into(), |x| format!("{x:.2}")),
                k.conflicts_per_success().map_or("-".into(), |x| format!("{x:.2}")),
            ),
        );
    }
    for s in &r.convergence.strategies {
        let attempts = s.percentiles(Metric::Attempts);
        let converge = s.percentiles(Metric::ConvergeUs);
        out.para(
            2,
            4,
            &format!(
                "{:<10} {} acknowledged, {} gave up; {} attempts/success (p99 {}), {} conflicts/success; converged in p50/p99 {}/{} ms",
                if s.strategy.is_empty() { "-" } else { &s.strategy },
                s.acknowledged,
                s.gave_up,
                s.attempts_per_success().map_or("-".into(), |x| format!("{x:.2}")),
                if attempts.count == 0 { "-".to_string() } else { attempts.p99.to_string() },
                s.conflicts_per_success().map_or("-".into(), |x| format!("{x:.2}")),
                ms(converge.p50),
                ms(converge.p99),
            ),
        );
    }
    if !r.passed() {
        out.blank();
        out.line(&format!("{} FAILED:", v.scenario));
        for group in by_kind(&v.violations) {
            let (kind, found) = (group.kind, &group.found);
            out.para(2, 4, &format!("{kind}{}", group.in_rounds(v.rounds.len())));
            if let Some(w) = r.witness.first_of(kind) {
                witness::witness_lines(out, r, w, report_dir);
            }
            for x in found.iter().take(EVIDENCE_SHOWN) {
                let at = match (&x.round, &x.version) {
                    (Some(round), Some(version)) => format!("round {round}, version {version}: "),
                    (Some(round), None) => format!("round {round}: "),
                    _ => String::new(),
                };
                out.para(4, 6, &format!("{at}{}", x.evidence));
            }
            if found.len() > EVIDENCE_SHOWN {
                out.para(
                    4,
                    6,
                    &format!("… {} more (see rounds.csv)", found.len() - EVIDENCE_SHOWN),
                );
            }
        }
        for t in r.failed_thresholds() {
            out.para(2, 4, &format!("threshold failed: {}", t.describe()));
        }
    }
    if !v.warnings.is_empty() {
        out.blank();
        out.line(&format!("{} warnings:", v.scenario));
        for group in by_kind(&v.warnings) {
            let (kind, found) = (group.kind, &group.found);
            out.para(2, 4, &format!("{kind}{}", group.in_rounds(v.rounds.len())));
            for x in found.iter().take(EVIDENCE_SHOWN) {
                let at = x.round.map_or(String::new(), |r| format!("round {r}: "));
                out.para(4, 6, &format!("{at}{}", x.evidence));
            }
            if found.len() > EVIDENCE_SHOWN {
                out.para(
                    4,
                    6,
                    &format!("… {} more (see rounds.csv)", found.len() - EVIDENCE_SHOWN),
                );
            }
        }
    }
    if let Some(why) = r.inconclusive() {
        out.blank();
        out.para(
            0,
            2,
            &format!(
                "{} INCONCLUSIVE: {why}; so it is neither a pass nor a failure",
                v.scenario
            ),
        );
    }
    if let Some(e) = &r.error {
        out.blank();
        out.para(
            0,
            2,
            &format!("{} could not run to the end: {e}", v.scenario),
        );
        // Probes that waited out a timeout explain a long wait before the error.
        if !passed_over_shown(r) {
            passed_over(out, r);
        }
    } else if !r.complete {
        out.blank();
        out.para(
            0,
            2,
            &format!(
                "{} was interrupted: the figures cover only what was measured",
                v.scenario
            ),
        );
    }
}

/// Whether a section before the error shows the modes `auto` passed over: the spread
/// lines of a raced scenario, or a sustained run's "connections spoke" line.
fn passed_over_shown(r: &ScenarioResult) -> bool {
    r.sync.is_some() && (!r.verdict.rounds.is_empty() || r.verdict.sustained.is_some())
}

/// Each mode `auto` passed over for the one that ran, and why: "auto passed over
/// single-packet: ...".
fn passed_over(out: &mut Out, r: &ScenarioResult) {
    for passed in &r.sync_passed_over {
        out.para(4, 6, &format!("auto passed over {passed}"));
    }
}

/// `n` and the noun, plural unless `n` is 1: "1 connection", "8 connections".
fn counted(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A sustained run's figures: rates, conflict rate and attempt latency per outcome, and
/// (when known) which client its connections spoke, as its sync mode chose.
fn sustained(out: &mut Out, scenario: &str, k: &crate::check::SustainedReport, r: &ScenarioResult) {
    let model = match (k.open_model, k.scheduled_rate) {
        (true, Some(rate)) => format!("open model at {rate:.0} attempts/s"),
        (true, None) => "open model".to_string(),
        (false, _) => "closed model".to_string(),
    };
    out.blank();
    out.para(
        0,
        2,
        &format!(
            "{scenario}: {model}, {}, {}: {} in {:.2} s ({} requests/s); {} acknowledged ({}/s), conflict rate {}, {} indeterminate, {} failed, {} lost",
            counted(k.connections.into(), "connection"),
            counted(k.resources.into(), "resource"),
            counted(k.attempts, "attempt"),
            k.elapsed_ns as f64 / 1e9,
            k.request_rate().map_or("-".into(), |x| format!("{x:.0}")),
            counted(k.acknowledged, "write"),
            k.write_throughput().map_or("-".into(), |x| format!("{x:.0}")),
            k.conflict_rate().map_or("-".into(), |x| format!("{:.1}%", x * 100.0)),
            k.indeterminate,
            counted(k.failed_reads, "read"),
            k.lost_updates,
        ),
    );
    if let Some(sync) = r.sync {
        let client = match sync.mode {
            SyncMode::SinglePacket => "HTTP/2 through reqwest",
            SyncMode::Barrier | SyncMode::LastByte => "HTTP/1.1 through contend's own client",
        };
        out.para(2, 4, &format!("connections spoke {client} (sync {sync})"));
        passed_over(out, r);
    }
    for (name, rows) in [
        ("from the actual start (raw)", &k.raw),
        (
            "from the scheduled start (corrected for coordinated omission)",
            &k.corrected,
        ),
    ] {
        if rows.is_empty() {
            continue;
        }
        out.para(
            2,
            4,
            &format!("attempt latency, {name}, p50/p99/p99.9/max ms:"),
        );
        for (outcome, p) in rows {
            out.line(&format!(
                "    {:<13} {:>8}  {}/{}/{}/{}",
                outcome.name(),
                p.count,
                ms(p.p50),
                ms(p.p99),
                ms(p.p999),
                ms(p.max)
            ));
        }
    }
}

/// "Run verdict: FAIL (2 FAIL, 11 PASS)": the rule of [`RunStatus::of`], counted.
fn overall<'a>(
    out: &mut Out,
    results: impl Iterator<Item = &'a ScenarioResult> + Clone,
    colour: bool,
) {
    let status = RunStatus::of(results.clone());
    let name = Table {
        headers: vec![""],
        text_columns: 1,
        rows: vec![vec![verdict_cell(status)]],
    }
    .row(0, colour);
    out.blank();
    out.para(
        0,
        2,
        &format!("Run verdict: {name} ({})", super::verdict_counts(results)),
    );
}

/// The side-by-side table of `contend compare` laid out to [`Layout::DEFAULT_WIDTH`]
/// columns.
pub fn render_compare(
    targets: &[(&str, &[ScenarioResult])],
    report_dir: Option<&Path>,
    colour: bool,
) -> String {
    render_compare_in(targets, report_dir, colour, Layout::default())
}

/// The side-by-side table of `contend compare`: per scenario, one row per target with
/// its verdict, violations, lost updates and write rate, and its latency per outcome
/// (on the row's line in the wide layout, on the line below when fitted); then why
/// each failing or INCONCLUSIVE one is so, and the comparison's verdict.
pub fn render_compare_in(
    targets: &[(&str, &[ScenarioResult])],
    report_dir: Option<&Path>,
    colour: bool,
    layout: Layout,
) -> String {
    let mut out = Out::new(layout);
    let mut names: Vec<&str> = Vec::new();
    for (_, results) in targets {
        for r in results.iter() {
            if !names.contains(&r.verdict.scenario.as_str()) {
                names.push(&r.verdict.scenario);
            }
        }
    }
    let wide = layout == Layout::Wide;
    for name in names {
        let runs: Vec<(&str, &ScenarioResult)> = targets
            .iter()
            .filter_map(|(t, results)| {
                results
                    .iter()
                    .find(|r| r.verdict.scenario == name)
                    .map(|r| (*t, r))
            })
            .collect();
        let mut headers = vec!["TARGET", "VERDICT", "VIOLATIONS", "LOST", "WRITES/s"];
        if wide {
            headers.extend([
                "WIN p50/p99 ms",
                "CONF p50/p99 ms",
                "UNEX p50/p99 ms",
                "INDET p50/p99 ms",
            ]);
        }
        let rows = runs
            .iter()
            .map(|(target, r)| {
                let mut row = vec![
                    Cell::plain(*target),
                    verdict_cell(r.run_status()),
                    Cell::plain(r.verdict.violations.len().to_string()),
                    Cell::plain(r.verdict.lost_updates.to_string()),
                    Cell::plain(
                        r.figures()
                            .get("writes_per_second")
                            .map_or("-".into(), |x| format!("{x:.0}")),
                    ),
                ];
                if wide {
                    row.extend(Outcome::TIMED.map(|o| Cell::plain(latency_pair(r, o))));
                }
                row
            })
            .collect();
        let table = Table {
            headers,
            text_columns: 2,
            rows,
        };
        out.para(0, 2, name);
        out.line(&format!("  {}", table.header()));
        for (i, (_, r)) in runs.iter().enumerate() {
            out.line(&format!("  {}", table.row(i, colour)));
            if !wide {
                let timed: Vec<String> = Outcome::TIMED
                    .iter()
                    .filter(|o| r.latency.percentiles(**o).count > 0)
                    .map(|o| format!("{} {}", o.name(), latency_pair(r, *o)))
                    .collect();
                if !timed.is_empty() {
                    out.para(4, 6, &format!("p50/p99 ms: {}", timed.join(", ")));
                }
            }
        }
        out.blank();
    }
    for (target, results) in targets {
        for r in results.iter() {
            if let Some(why) = r.inconclusive() {
                out.para(
                    0,
                    2,
                    &format!("{target} / {}: INCONCLUSIVE: {why}", r.verdict.scenario),
                );
            }
        }
        for r in results.iter().filter(|r| !r.passed()) {
            let kinds: Vec<String> = by_kind(&r.verdict.violations)
                .iter()
                .map(|group| format!("{} ×{}", group.kind, group.found.len()))
                .chain(
                    r.failed_thresholds()
                        .map(|t| format!("threshold {}", t.describe())),
                )
                .collect();
            out.para(
                0,
                2,
                &format!("{target} / {}: {}", r.verdict.scenario, kinds.join(", ")),
            );
        }
        for r in results.iter() {
            if let Some(e) = &r.error {
                out.para(
                    0,
                    2,
                    &format!(
                        "{target} / {}: could not run to the end: {e}",
                        r.verdict.scenario
                    ),
                );
            }
        }
    }
    overall(
        &mut out,
        targets.iter().flat_map(|(_, results)| results.iter()),
        colour,
    );
    if let Some(dir) = report_dir {
        out.blank();
        out.para(
            0,
            4,
            &format!(
                "Reports: {}/ (compare.csv, compare.html, and each target's run in its own folder)",
                dir.display()
            ),
        );
    }
    out.text
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn a_count_of_one_takes_the_singular() {
        assert_eq!(counted(1, "resource"), "1 resource");
        assert_eq!(counted(0, "resource"), "0 resources");
        assert_eq!(counted(8, "connection"), "8 connections");
    }
}
