//! The terminal summary printed at the end of a run: one line per scenario with every
//! outcome (writes = winners + conflicts + unexpected + indeterminate + not sent), the
//! causes of the writes that got no whole answer, a loud line for a race released far
//! wider than a race needs, then each counter's strategies, each failing scenario's
//! violations, why a scenario is INCONCLUSIVE, and every scenario's warnings, with their
//! evidence.

use std::fmt::Write as _;
use std::path::Path;

use console::Style;

use crate::convergence::Metric;
use crate::gate::Status;
use crate::history::{Outcome, Phase};
use crate::scenario::{SyncMode, SyncRan};

use super::{by_kind, causes_text, RunStatus, ScenarioResult, SpreadStat};

/// A release spread (a round's first to last write) wider than this is far wider than
/// a race needs: every mode releases tens of writes within a few hundred µs.
const WIDE_RELEASE_NS: u64 = 1_000_000;
/// A round released this many times wider than the scenario's median round (and wider
/// than [`WIDE_RELEASE_NS`]) raced loosely.
const WIDE_FACTOR: u64 = 10;

/// A sustained run's figures: rates, conflict rate and attempt latency per outcome, and
/// (when known) which client its connections spoke, as its sync mode chose.
fn sustained_lines(
    scenario: &str,
    k: &crate::check::SustainedReport,
    sync: Option<SyncRan>,
) -> String {
    let mut out = String::new();
    let model = match (k.open_model, k.scheduled_rate) {
        (true, Some(rate)) => format!("open model at {rate:.0} attempts/s"),
        (true, None) => "open model".to_string(),
        (false, _) => "closed model".to_string(),
    };
    let _ = writeln!(
        out,
        "\n{scenario}: {model}, {} connections, {} resources: {} attempts in {:.2} s ({} requests/s); {} writes acknowledged ({}/s), conflict rate {}, {} indeterminate, {} reads failed, {} lost",
        k.connections,
        k.resources,
        k.attempts,
        k.elapsed_ns as f64 / 1e9,
        k.request_rate().map_or("-".into(), |x| format!("{x:.0}")),
        k.acknowledged,
        k.write_throughput().map_or("-".into(), |x| format!("{x:.0}")),
        k.conflict_rate().map_or("-".into(), |x| format!("{:.1}%", x * 100.0)),
        k.indeterminate,
        k.failed_reads,
        k.lost_updates,
    );
    if let Some(sync) = sync {
        let client = match sync.mode {
            SyncMode::SinglePacket => "HTTP/2 through reqwest",
            SyncMode::Barrier | SyncMode::LastByte => "HTTP/1.1 through contend's own client",
        };
        let _ = writeln!(out, "  connections spoke {client} (sync {sync})");
    }
    let mut table = |name: &str, rows: &[(Outcome, crate::latency::Percentiles)]| {
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(out, "  attempt latency, {name}, p50/p99/p99.9/max ms:");
        for (outcome, p) in rows {
            let _ = writeln!(
                out,
                "    {:<13} {:>8}  {}/{}/{}/{}",
                outcome.name(),
                p.count,
                ms(p.p50),
                ms(p.p99),
                ms(p.p999),
                ms(p.max)
            );
        }
    };
    table("from the actual start (raw)", &k.raw);
    table(
        "from the scheduled start (corrected for coordinated omission)",
        &k.corrected,
    );
    out
}

/// Evidence lines shown per violation kind; the rest are in `rounds.csv`.
const EVIDENCE_SHOWN: usize = 3;

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

/// "name (sync auto → last-byte, fresh connections): release 12/30, responses 250/400,
/// arrival at the server 9/21".
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

/// The verdict column's width: `INCONCLUSIVE`.
const VERDICT_WIDTH: usize = 12;

/// "80 of 80 writes indeterminate (80 timed out); 3 not sent (3 could not connect)", for
/// a scenario with writes that got no whole answer; also the answers judged by their
/// status only (cut at the body limit, early).
fn undecided_line(r: &ScenarioResult) -> Option<String> {
    let c = &r.verdict.counts;
    let mut parts = Vec::new();
    for (outcome, n, what) in [
        (Outcome::Indeterminate, c.indeterminate, "indeterminate"),
        (Outcome::NotSent, c.not_sent, "not sent"),
    ] {
        if n > 0 {
            let causes = causes_text(&c.causes_of(outcome));
            parts.push(if causes.is_empty() {
                format!("{n} of {} writes {what}", c.writes)
            } else {
                format!("{n} of {} writes {what} ({causes})", c.writes)
            });
        }
    }
    let judged_by_status: Vec<(crate::history::Cause, u64)> =
        [Outcome::Winner, Outcome::Conflict, Outcome::Unexpected]
            .iter()
            .flat_map(|o| c.causes_of(*o))
            .fold(Vec::new(), |mut all, (cause, n)| {
                match all.iter_mut().find(|(c, _)| *c == cause) {
                    Some((_, m)) => *m += n,
                    None => all.push((cause, n)),
                }
                all
            });
    if !judged_by_status.is_empty() {
        parts.push(format!(
            "judged by status: {}",
            causes_text(&judged_by_status)
        ));
    }
    let failed_reads: u64 = c.failed_reads.values().sum();
    if failed_reads > 0 {
        let causes: Vec<String> = c
            .failed_reads
            .iter()
            .map(|(cause, n)| match cause {
                Some(cause) => format!("{n} {}", cause.describe()),
                None => format!("{n} unexpected status"),
            })
            .collect();
        parts.push(format!(
            "{failed_reads} reads failed before their write ({}), so those attempts never wrote",
            causes.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| format!("{}: {}", r.verdict.scenario, parts.join("; ")))
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

/// Renders the summary; `colour` adds ANSI colours to verdicts.
pub fn render(results: &[ScenarioResult], report_dir: Option<&Path>, colour: bool) -> String {
    let paint = |text: &str, style: Style| {
        let padded = format!("{text:<VERDICT_WIDTH$}");
        if colour {
            style.apply_to(padded).force_styling(true).to_string()
        } else {
            padded
        }
    };
    let kinds = results
        .iter()
        .map(|r| r.verdict.workload.name().len())
        .max()
        .unwrap_or(8)
        .max(8);
    let width = results
        .iter()
        .map(|r| r.verdict.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:<kinds$}  {:<VERDICT_WIDTH$}  {:>6}  {:>7}  {:>7}  {:>8}  {:>6}  {:>6}  {:>8}  {:>6}  {:>15}  {:>15}  {:>9}",
        "SCENARIO", "WORKLOAD", "VERDICT", "ROUNDS", "WRITES", "WINNERS", "CONFLICT", "UNEXP", "INDET", "NOT SENT", "LOST",
        "WIN p50/p99 ms", "CONF p50/p99 ms", "SPREAD µs"
    );
    for r in results {
        let v = &r.verdict;
        let status = r.run_status();
        let verdict = paint(status.name(), verdict_style(status));
        let win = r.latency.percentiles(Outcome::Winner);
        let conf = r.latency.percentiles(Outcome::Conflict);
        let mut spreads: Vec<u64> = v.rounds.iter().map(|r| r.send_spread_ns).collect();
        spreads.sort_unstable();
        let spread = spreads
            .get(spreads.len() / 2)
            .map_or("-".into(), |s| format!("{:.0}", *s as f64 / 1e3));
        let _ = writeln!(
            out,
            "{:<width$}  {:<kinds$}  {}  {:>6}  {:>7}  {:>7}  {:>8}  {:>6}  {:>6}  {:>8}  {:>6}  {:>15}  {:>15}  {:>9}",
            v.scenario,
            v.workload.name(),
            verdict,
            v.rounds.len(),
            v.counts.writes,
            v.counts.winners,
            v.counts.conflicts,
            v.counts.unexpected,
            v.counts.indeterminate,
            v.counts.not_sent,
            v.lost_updates,
            format!("{}/{}", ms(win.p50), ms(win.p99)),
            format!("{}/{}", ms(conf.p50), ms(conf.p99)),
            spread,
        );
    }
    let raced: Vec<&ScenarioResult> = results
        .iter()
        .filter(|r| r.sync.is_some() && !r.verdict.rounds.is_empty())
        .collect();
    let undecided: Vec<String> = results.iter().filter_map(undecided_line).collect();
    if !undecided.is_empty() {
        let _ = writeln!(out, "\nWrites without a whole answer, by cause:");
        for line in undecided {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !raced.is_empty() {
        let _ = writeln!(
            out,
            "\nRace spread per round, p50/max µs (first to last write):"
        );
        for r in &raced {
            let _ = writeln!(out, "  {}", spread_line(r));
        }
        for line in raced.iter().filter_map(|r| wide_release(r)) {
            let _ = writeln!(out, "{line}");
        }
    }
    thresholds(&mut out, results, width, colour);
    for r in results {
        let v = &r.verdict;
        if let Some(k) = &v.sustained {
            out.push_str(&sustained_lines(&v.scenario, k, r.sync));
        }
        if let Some(k) = &v.counter {
            let _ = writeln!(
                out,
                "\n{}: {} increments, {} acknowledged, {} indeterminate, {} gave up; {}{} attempts/success, {} conflicts/success",
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
            );
        }
        for s in &r.convergence.strategies {
            let attempts = s.percentiles(Metric::Attempts);
            let converge = s.percentiles(Metric::ConvergeUs);
            let _ = writeln!(
                out,
                "  {:<10} {} acknowledged, {} gave up; {} attempts/success (p99 {}), {} conflicts/success; converged in p50/p99 {}/{} ms",
                if s.strategy.is_empty() { "-" } else { &s.strategy },
                s.acknowledged,
                s.gave_up,
                s.attempts_per_success().map_or("-".into(), |x| format!("{x:.2}")),
                if attempts.count == 0 { "-".to_string() } else { attempts.p99.to_string() },
                s.conflicts_per_success().map_or("-".into(), |x| format!("{x:.2}")),
                ms(converge.p50),
                ms(converge.p99),
            );
        }
        if !r.passed() {
            let _ = writeln!(out, "\n{} FAILED:", v.scenario);
            for group in by_kind(&v.violations) {
                let (kind, found) = (group.kind, &group.found);
                let _ = writeln!(out, "  {kind}{}", group.in_rounds(v.rounds.len()));
                if let Some(w) = r.witness.first_of(kind) {
                    out.push_str(&witness_lines(r, w, report_dir));
                }
                for x in found.iter().take(EVIDENCE_SHOWN) {
                    let at = match (&x.round, &x.version) {
                        (Some(round), Some(version)) => {
                            format!("round {round}, version {version}: ")
                        }
                        (Some(round), None) => format!("round {round}: "),
                        _ => String::new(),
                    };
                    let _ = writeln!(out, "    {at}{}", x.evidence);
                }
                if found.len() > EVIDENCE_SHOWN {
                    let _ = writeln!(
                        out,
                        "    … {} more (see rounds.csv)",
                        found.len() - EVIDENCE_SHOWN
                    );
                }
            }
            for t in r.failed_thresholds() {
                let _ = writeln!(out, "  threshold failed: {}", t.describe());
            }
        }
        if !v.warnings.is_empty() {
            let _ = writeln!(out, "\n{} warnings:", v.scenario);
            for group in by_kind(&v.warnings) {
                let (kind, found) = (group.kind, &group.found);
                let _ = writeln!(out, "  {kind}{}", group.in_rounds(v.rounds.len()));
                for x in found.iter().take(EVIDENCE_SHOWN) {
                    let at = x.round.map_or(String::new(), |r| format!("round {r}: "));
                    let _ = writeln!(out, "    {at}{}", x.evidence);
                }
                if found.len() > EVIDENCE_SHOWN {
                    let _ = writeln!(
                        out,
                        "    … {} more (see rounds.csv)",
                        found.len() - EVIDENCE_SHOWN
                    );
                }
            }
        }
        if let Some(why) = r.inconclusive() {
            let _ = writeln!(
                out,
                "\n{} INCONCLUSIVE: {why}; so it is neither a pass nor a failure",
                v.scenario
            );
        }
        if let Some(e) = &r.error {
            let _ = writeln!(out, "\n{} could not run to the end: {e}", v.scenario);
        } else if !r.complete {
            let _ = writeln!(
                out,
                "\n{} was interrupted: the figures cover only what was measured",
                v.scenario
            );
        }
    }
    if results.iter().any(|r| r.verdict.counts.indeterminate > 0) {
        let _ = writeln!(
            out,
            "\nIndeterminate writes (timeouts, resets after sending) may or may not have been applied; they are never counted as lost or as winners."
        );
    }
    if let Some(dir) = report_dir {
        let _ = writeln!(
            out,
            "\nReports: {}/ ({})",
            dir.display(),
            super::run_files().join(", ")
        );
        if results.iter().any(|r| !r.witness.witnesses.is_empty()) {
            // A history checked again has no replay file: it was not run from here.
            let replay = if dir.join(super::witness::REPLAY_FILE).is_file() {
                format!("; fire them again with: contend replay {}", dir.display())
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "Witnesses: {}/{}/ (JSON and curl), timelines: {}/{}/{replay}",
                dir.display(),
                super::witness::WITNESS_DIR,
                dir.display(),
                super::witness::TIMELINE_DIR,
            );
        }
    }
    out
}

/// A violation's minimal witness, shown before its evidence: what it shows, and its
/// files (in the report folder, when there is one).
fn witness_lines(r: &ScenarioResult, w: &crate::check::Witness, dir: Option<&Path>) -> String {
    let at = w.round.map_or(String::new(), |n| format!(", round {n}"));
    let mut out = format!("    witness{at}: {}\n", w.shows);
    let steps: Vec<String> = w
        .steps
        .iter()
        .map(|s| {
            let rec = &s.record;
            let who = match (s.role, rec.writer) {
                (crate::check::witness::Role::Write, Some(n)) => format!("w{n}"),
                (role, _) => role.name().replace('_', " "),
            };
            let sent = rec
                .version_sent
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            let status = rec
                .status
                .map_or_else(|| rec.outcome.name().to_string(), |s| s.to_string());
            let got = rec
                .version_returned
                .clone()
                .or_else(|| rec.state.clone().filter(|_| rec.phase != Phase::Write))
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            // A counter's or a stock's count, beside the version it came with.
            let count = rec
                .value
                .filter(|_| rec.phase != Phase::Write)
                .map(|v| format!(" (value {v})"))
                .unwrap_or_default();
            format!("{who} {}{sent} → {status}{got}{count}", rec.method)
        })
        .collect();
    let _ = writeln!(out, "      {}", steps.join("; "));
    if let Some(dir) = dir {
        let scenario = &r.verdict.scenario;
        let timeline = w
            .round
            .filter(|n| r.witness.rounds.iter().any(|t| t.round == *n))
            .map(|n| {
                format!(
                    ", timeline {}",
                    dir.join(super::witness::timeline_file(scenario, n))
                        .display()
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "      {} (curl: {}){timeline}",
            dir.join(super::witness::witness_file(scenario, w))
                .display(),
            dir.join(super::witness::curl_file(scenario, w)).display(),
        );
    }
    out
}

/// One line per threshold: a mark, the scenario (once), the expression, the figure.
fn thresholds(out: &mut String, results: &[ScenarioResult], width: usize, colour: bool) {
    if results.iter().all(|r| r.thresholds.is_empty()) {
        return;
    }
    let _ = writeln!(out, "\nTHRESHOLDS");
    let expression_width = results
        .iter()
        .flat_map(|r| {
            r.thresholds
                .iter()
                .map(|t| t.threshold.to_string().chars().count())
        })
        .max()
        .unwrap_or(0);
    for r in results {
        for (i, t) in r.thresholds.iter().enumerate() {
            let (mark, style) = match t.status {
                Status::Pass => ("ok  ", Style::new().green().bold()),
                Status::Fail => ("FAIL", Style::new().red().bold()),
                Status::NoData => ("n/a ", Style::new().dim()),
            };
            let mark = if colour {
                style.apply_to(mark).force_styling(true).to_string()
            } else {
                mark.to_string()
            };
            let name = if i == 0 {
                r.verdict.scenario.as_str()
            } else {
                ""
            };
            let figure = match t.measured {
                Some(_) => t.shown.clone(),
                None => format!("no data: {}", t.shown),
            };
            let _ = writeln!(
                out,
                "{name:<width$}  {mark}  {:<expression_width$}  {figure}",
                t.threshold.to_string()
            );
        }
    }
}

/// The side-by-side table of `contend compare`: per scenario, one line per target.
pub fn render_compare(
    targets: &[(&str, &[ScenarioResult])],
    report_dir: Option<&Path>,
    colour: bool,
) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (_, results) in targets {
        for r in results.iter() {
            if !names.contains(&r.verdict.scenario.as_str()) {
                names.push(&r.verdict.scenario);
            }
        }
    }
    let width = targets
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let pair = |r: &ScenarioResult, o: Outcome| {
        let p = r.latency.percentiles(o);
        format!("{}/{}", ms(p.p50), ms(p.p99))
    };
    let mut out = String::new();
    for name in names {
        let _ = writeln!(out, "{name}");
        let _ = writeln!(
            out,
            "  {:<width$}  {:<VERDICT_WIDTH$}  {:>10}  {:>6}  {:>9}  {:>15}  {:>15}  {:>15}  {:>15}",
            "TARGET",
            "VERDICT",
            "VIOLATIONS",
            "LOST",
            "WRITES/s",
            "WIN p50/p99 ms",
            "CONF p50/p99 ms",
            "UNEX p50/p99 ms",
            "INDET p50/p99 ms"
        );
        for (target, results) in targets {
            let Some(r) = results.iter().find(|r| r.verdict.scenario == name) else {
                continue;
            };
            let status = r.run_status();
            let padded = format!("{:<VERDICT_WIDTH$}", status.name());
            let verdict = if colour {
                verdict_style(status)
                    .apply_to(padded)
                    .force_styling(true)
                    .to_string()
            } else {
                padded
            };
            let rate = r
                .figures()
                .get("writes_per_second")
                .map_or("-".into(), |x| format!("{x:.0}"));
            let _ = writeln!(
                out,
                "  {:<width$}  {}  {:>10}  {:>6}  {:>9}  {:>15}  {:>15}  {:>15}  {:>15}",
                target,
                verdict,
                r.verdict.violations.len(),
                r.verdict.lost_updates,
                rate,
                pair(r, Outcome::Winner),
                pair(r, Outcome::Conflict),
                pair(r, Outcome::Unexpected),
                pair(r, Outcome::Indeterminate),
            );
        }
        out.push('\n');
    }
    for (target, results) in targets {
        for r in results.iter() {
            if let Some(why) = r.inconclusive() {
                let _ = writeln!(
                    out,
                    "{target} / {}: INCONCLUSIVE: {why}",
                    r.verdict.scenario
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
            let _ = writeln!(
                out,
                "{target} / {}: {}",
                r.verdict.scenario,
                kinds.join(", ")
            );
        }
    }
    if let Some(dir) = report_dir {
        let _ = writeln!(
            out,
            "\nReports: {}/ (compare.csv, compare.html, and each target's run in its own folder)",
            dir.display()
        );
    }
    out
}
