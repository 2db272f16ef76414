//! The run folder's CSV files: `summary.csv`, `rounds.csv`, `latency.csv`,
//! `requests.csv`, and for counter strategies `strategies.csv` and `convergence.csv`.
//! Columns are documented in README.md; units are in the column names.

use std::io;
use std::path::{Path, PathBuf};

use crate::check::{ViolationKind, WarningKind};
use crate::convergence::{Metric, METRICS};
use crate::history::{self, Outcome, RequestRecord};

use super::{write_atomically, ScenarioResult, SpreadStat};

/// The report files, in the order they are written.
pub const FILES: [&str; 6] = [
    "summary.csv",
    "rounds.csv",
    "latency.csv",
    "requests.csv",
    "strategies.csv",
    "convergence.csv",
];

/// Where `requests.csv` comes from.
#[derive(Debug, Clone, Copy)]
pub enum History<'a> {
    /// The records of a run (those not spooled).
    Records(&'a [RequestRecord]),
    /// A saved history file: a `requests.csv` copied as it is, a JSON Lines one
    /// rewritten as CSV.
    CopyOf(&'a Path),
}

/// Writes every CSV file into `dir` (created if missing) and returns their paths.
pub fn write_all(
    dir: &Path,
    results: &[ScenarioResult],
    history: History<'_>,
) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let paths: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f)).collect();
    write_atomically(&paths[0], |p| {
        write_table(p, summary_header(), results.iter().map(summary_row))
    })?;
    write_atomically(&paths[1], |p| {
        write_table(p, rounds_header(), results.iter().flat_map(rounds_rows))
    })?;
    write_atomically(&paths[2], |p| {
        write_table(p, latency_header(), results.iter().flat_map(latency_rows))
    })?;
    match history {
        History::Records(records) => write_atomically(&paths[3], |p| {
            history::write_csv(p, records).map_err(io::Error::other)
        })?,
        History::CopyOf(from) if history::is_jsonl(from)? => {
            // A JSON Lines history becomes a requests.csv, record by record.
            write_atomically(&paths[3], |p| {
                let mut out = history::CsvWriter::new(std::fs::File::create(p)?);
                for r in history::read_saved_iter(from).map_err(io::Error::other)? {
                    out.write(&r.map_err(io::Error::other)?)?;
                }
                out.flush()
            })?
        }
        History::CopyOf(from) => {
            let same = std::fs::canonicalize(from).ok() == std::fs::canonicalize(&paths[3]).ok();
            if !same {
                write_atomically(&paths[3], |p| std::fs::copy(from, p).map(|_| ()))?;
            }
        }
    }
    write_atomically(&paths[4], |p| {
        write_table(
            p,
            strategies_header(),
            results.iter().flat_map(strategies_rows),
        )
    })?;
    write_atomically(&paths[5], |p| {
        write_table(
            p,
            convergence_header(),
            results.iter().flat_map(convergence_rows),
        )
    })?;
    Ok(paths)
}

/// Writes `compare.csv`: one row per scenario and target, the target's name first and
/// then the columns of `summary.csv`.
pub fn write_compare(path: &Path, rows: &[(&str, &ScenarioResult)]) -> io::Result<()> {
    let mut header = vec!["target_name".to_string()];
    header.extend(summary_header());
    write_table(
        path,
        header,
        rows.iter().map(|(name, r)| {
            let mut row = vec![name.to_string()];
            row.extend(summary_row(r));
            row
        }),
    )
}

fn write_table(
    path: &Path,
    header: Vec<String>,
    rows: impl Iterator<Item = Vec<String>>,
) -> io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(&header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    w.flush()
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

fn ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.3}")).unwrap_or_default()
}

/// The `summary.csv` columns.
pub fn summary_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "scenario",
        "workload",
        "target",
        "sync",
        "sync_requested",
        "writer_connections",
        "sync_passed_over",
        "verdict",
        "complete",
        "error",
        "inconclusive",
        "judged",
        "to_judge",
        "rounds",
        "requests",
        "writes",
        "winners",
        "conflicts",
        "unexpected",
        "indeterminate",
        "not_sent",
        "lost_updates",
    ]
    .map(String::from)
    .to_vec();
    h.extend(ViolationKind::ALL.iter().map(|k| k.name().to_string()));
    h.push("warnings".into());
    h.extend(
        WarningKind::ALL
            .iter()
            .map(|k| format!("warn_{}", k.name())),
    );
    h.extend(
        [
            "send_spread_p50_us",
            "send_spread_max_us",
            "response_spread_p50_us",
            "response_spread_max_us",
            "arrival_spread_p50_us",
            "arrival_spread_p99_us",
            "arrival_spread_max_us",
            "increments",
            "acknowledged",
            "gave_up",
            "attempts_per_success",
            "conflicts_per_success",
        ]
        .map(String::from),
    );
    for o in Outcome::TIMED {
        for p in ["count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
            h.push(format!("{}_{p}", o.name()));
        }
    }
    h.push("duration_s".into());
    h
}

/// The modes `auto` passed over, `MODE: why`, joined by ` | ` (a reason may hold `;`).
fn passed_over(r: &ScenarioResult) -> String {
    let each: Vec<String> = r.sync_passed_over.iter().map(ToString::to_string).collect();
    each.join(" | ")
}

fn summary_row(r: &ScenarioResult) -> Vec<String> {
    let v = &r.verdict;
    let c = &v.counts;
    let mut row = vec![
        v.scenario.clone(),
        v.workload.to_string(),
        r.target.clone(),
        r.sync
            .map(|m| m.mode.name().to_string())
            .unwrap_or_default(),
        r.sync
            .map(|m| m.asked().name().to_string())
            .unwrap_or_default(),
        r.writer_connections
            .map(|p| p.name().to_string())
            .unwrap_or_default(),
        passed_over(r),
        r.status().to_string(),
        r.complete.to_string(),
        r.error.clone().unwrap_or_default(),
        r.inconclusive().unwrap_or_default(),
        v.judged.judged.to_string(),
        v.judged.total.to_string(),
        v.rounds.len().to_string(),
        c.requests.to_string(),
        c.writes.to_string(),
        c.winners.to_string(),
        c.conflicts.to_string(),
        c.unexpected.to_string(),
        c.indeterminate.to_string(),
        c.not_sent.to_string(),
        v.lost_updates.to_string(),
    ];
    row.extend(ViolationKind::ALL.iter().map(|k| v.count(*k).to_string()));
    row.push(v.warnings.len().to_string());
    row.extend(WarningKind::ALL.iter().map(|k| v.warned(*k).to_string()));
    let spreads = r.spreads();
    let stat = |s: Option<SpreadStat>, pick: fn(&SpreadStat) -> u64| {
        s.as_ref().map(|s| us(pick(s))).unwrap_or_default()
    };
    row.extend([
        stat(spreads.send, |s| s.p50),
        stat(spreads.send, |s| s.max),
        stat(spreads.response, |s| s.p50),
        stat(spreads.response, |s| s.max),
        stat(spreads.arrival, |s| s.p50),
        stat(spreads.arrival, |s| s.p99),
        stat(spreads.arrival, |s| s.max),
    ]);
    match &v.counter {
        Some(k) => row.extend([
            k.increments.to_string(),
            k.acknowledged.to_string(),
            k.gave_up.to_string(),
            ratio(k.attempts_per_success()),
            ratio(k.conflicts_per_success()),
        ]),
        None => row.extend(std::iter::repeat_n(String::new(), 5)),
    }
    for o in Outcome::TIMED {
        let p = r.latency.percentiles(o);
        row.push(p.count.to_string());
        for value in [p.p50, p.p90, p.p99, p.p999, p.max] {
            row.push(if p.count == 0 {
                String::new()
            } else {
                us(value)
            });
        }
    }
    row.push(format!("{:.3}", r.duration.as_secs_f64()));
    row
}

/// The `rounds.csv` columns.
pub fn rounds_header() -> Vec<String> {
    [
        "scenario",
        "round",
        "version_sent",
        "writers",
        "winners",
        "conflicts",
        "unexpected",
        "indeterminate",
        "not_sent",
        "final_version",
        "winning_writers",
        "applied",
        "send_spread_us",
        "response_spread_us",
        "arrival_p50_us",
        "arrival_p99_us",
        "arrival_spread_us",
        "violations",
        "warnings",
    ]
    .map(String::from)
    .to_vec()
}

fn rounds_rows(r: &ScenarioResult) -> impl Iterator<Item = Vec<String>> + '_ {
    r.verdict.rounds.iter().map(move |round| {
        vec![
            r.verdict.scenario.clone(),
            round.round.to_string(),
            round.version_sent.clone().unwrap_or_default(),
            round.writers.to_string(),
            round.winners.to_string(),
            round.conflicts.to_string(),
            round.unexpected.to_string(),
            round.indeterminate.to_string(),
            round.not_sent.to_string(),
            round.final_version.clone().unwrap_or_default(),
            round
                .winning_writers
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            round.applied.clone(),
            us(round.send_spread_ns),
            us(round.response_spread_ns),
            round.arrival_p50_ns.map(us).unwrap_or_default(),
            round.arrival_p99_ns.map(us).unwrap_or_default(),
            round.arrival_spread_ns.map(us).unwrap_or_default(),
            round
                .violations
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(" "),
            round
                .warnings
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(" "),
        ]
    })
}

/// The `latency.csv` columns.
pub fn latency_header() -> Vec<String> {
    [
        "scenario",
        "outcome",
        "value_us",
        "percentile",
        "total_count",
    ]
    .map(String::from)
    .to_vec()
}

fn latency_rows(r: &ScenarioResult) -> impl Iterator<Item = Vec<String>> + '_ {
    Outcome::TIMED.iter().flat_map(move |o| {
        r.latency
            .distribution(*o)
            .into_iter()
            .map(move |(value, percentile, total)| {
                vec![
                    r.verdict.scenario.clone(),
                    o.name().to_string(),
                    us(value),
                    format!("{percentile:.6}"),
                    total.to_string(),
                ]
            })
    })
}

/// The `strategies.csv` columns: one row per counter scenario and client strategy.
pub fn strategies_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "scenario",
        "strategy",
        "increments",
        "acknowledged",
        "indeterminate",
        "gave_up",
        "attempts_per_success",
        "conflicts_per_success",
    ]
    .map(String::from)
    .to_vec();
    for (_, name) in METRICS {
        for p in ["p50", "p90", "p99", "max"] {
            h.push(format!("{name}_{p}"));
        }
    }
    h
}

fn strategies_rows(r: &ScenarioResult) -> impl Iterator<Item = Vec<String>> + '_ {
    r.convergence.strategies.iter().map(move |s| {
        let mut row = vec![
            r.verdict.scenario.clone(),
            s.strategy.clone(),
            s.increments.to_string(),
            s.acknowledged.to_string(),
            s.indeterminate.to_string(),
            s.gave_up.to_string(),
            ratio(s.attempts_per_success()),
            ratio(s.conflicts_per_success()),
        ];
        for (metric, _) in METRICS {
            let p = s.percentiles(metric);
            for value in [p.p50, p.p90, p.p99, p.max] {
                row.push(match (p.count, metric) {
                    (0, _) => String::new(),
                    (_, Metric::ConvergeUs) => us(value),
                    _ => value.to_string(),
                });
            }
        }
        row
    })
}

/// The `convergence.csv` columns: the HdrHistogram distributions of each strategy's
/// attempts, conflicts and time to converge per acknowledged increment.
pub fn convergence_header() -> Vec<String> {
    [
        "scenario",
        "strategy",
        "metric",
        "value",
        "percentile",
        "total_count",
    ]
    .map(String::from)
    .to_vec()
}

fn convergence_rows(r: &ScenarioResult) -> impl Iterator<Item = Vec<String>> + '_ {
    r.convergence.strategies.iter().flat_map(move |s| {
        METRICS.iter().flat_map(move |(metric, name)| {
            s.distribution(*metric)
                .into_iter()
                .map(move |(value, percentile, total)| {
                    vec![
                        r.verdict.scenario.clone(),
                        s.strategy.clone(),
                        name.to_string(),
                        if *metric == Metric::ConvergeUs {
                            us(value)
                        } else {
                            value.to_string()
                        },
                        format!("{percentile:.6}"),
                        total.to_string(),
                    ]
                })
        })
    })
}
