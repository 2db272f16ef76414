//! The terminal summary printed at the end of a run: one line per scenario, then each
//! counter's strategies, each failing scenario's violations and every scenario's
//! warnings, with their evidence.

use std::fmt::Write as _;
use std::path::Path;

use console::Style;

use crate::check::{ViolationKind, WarningKind};
use crate::convergence::Metric;
use crate::history::Outcome;

use super::csv_files::FILES;
use super::ScenarioResult;

/// Evidence lines shown per violation kind; the rest are in `rounds.csv`.
const EVIDENCE_SHOWN: usize = 3;

fn ms(ns: u64) -> String {
    if ns == 0 {
        "-".into()
    } else {
        format!("{:.2}", ns as f64 / 1e6)
    }
}

/// Renders the summary; `colour` adds ANSI colours to verdicts.
pub fn render(results: &[ScenarioResult], report_dir: Option<&Path>, colour: bool) -> String {
    let paint = |text: &str, style: Style| {
        let padded = format!("{text:<7}");
        if colour {
            style.apply_to(padded).force_styling(true).to_string()
        } else {
            padded
        }
    };
    let kinds = results
        .iter()
        .map(|r| r.verdict.workload.len())
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
        "{:<width$}  {:<kinds$}  {:<7}  {:>6}  {:>7}  {:>7}  {:>8}  {:>6}  {:>6}  {:>6}  {:>15}  {:>15}  {:>9}",
        "SCENARIO", "WORKLOAD", "VERDICT", "ROUNDS", "WRITES", "WINNERS", "CONFLICT", "UNEXP", "INDET", "LOST",
        "WIN p50/p99 ms", "CONF p50/p99 ms", "SPREAD µs"
    );
    for r in results {
        let v = &r.verdict;
        let verdict = match r.status() {
            "PASS" => paint("PASS", Style::new().green().bold()),
            "FAIL" => paint("FAIL", Style::new().red().bold()),
            other => paint(other, Style::new().yellow().bold()),
        };
        let win = r.latency.percentiles(Outcome::Winner);
        let conf = r.latency.percentiles(Outcome::Conflict);
        let mut spreads: Vec<u64> = v.rounds.iter().map(|r| r.send_spread_ns).collect();
        spreads.sort_unstable();
        let spread = spreads
            .get(spreads.len() / 2)
            .map_or("-".into(), |s| format!("{:.0}", *s as f64 / 1e3));
        let _ = writeln!(
            out,
            "{:<width$}  {:<kinds$}  {}  {:>6}  {:>7}  {:>7}  {:>8}  {:>6}  {:>6}  {:>6}  {:>15}  {:>15}  {:>9}",
            v.scenario,
            v.workload,
            verdict,
            v.rounds.len(),
            v.counts.writes,
            v.counts.winners,
            v.counts.conflicts,
            v.counts.unexpected,
            v.counts.indeterminate,
            v.lost_updates,
            format!("{}/{}", ms(win.p50), ms(win.p99)),
            format!("{}/{}", ms(conf.p50), ms(conf.p99)),
            spread,
        );
    }
    for r in results {
        let v = &r.verdict;
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
        if !v.passed() {
            let _ = writeln!(out, "\n{} FAILED:", v.scenario);
            for kind in ViolationKind::ALL {
                let found: Vec<_> = v.violations.iter().filter(|x| x.kind == kind).collect();
                if found.is_empty() {
                    continue;
                }
                let rounds = if found.iter().any(|x| x.round.is_some()) {
                    format!(" in {} of {} rounds", found.len(), v.rounds.len())
                } else {
                    String::new()
                };
                let _ = writeln!(out, "  {kind}{rounds}");
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
        }
        if !v.warnings.is_empty() {
            let _ = writeln!(out, "\n{} warnings:", v.scenario);
            for kind in WarningKind::ALL {
                let found: Vec<_> = v.warnings.iter().filter(|x| x.kind == kind).collect();
                if found.is_empty() {
                    continue;
                }
                let rounds = if found.iter().any(|x| x.round.is_some()) {
                    format!(" in {} of {} rounds", found.len(), v.rounds.len())
                } else {
                    String::new()
                };
                let _ = writeln!(out, "  {kind}{rounds}");
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
        let _ = writeln!(out, "\nReports: {}/ ({})", dir.display(), FILES.join(", "));
    }
    out
}
