//! `summary.json`: every figure of a run in one versioned document, for dashboards and
//! scripts. The schema is documented in README.md ("summary.json"); `schema_version`
//! changes only when a field is removed or changes meaning, never when one is added.
//!
//! Metric names are those of [`crate::metrics`], so `jq '.scenarios[].metrics["latency.winner.p99"]'`
//! reads the same figure a threshold on `latency.winner.p99` checks. Durations are in
//! milliseconds, rates are fractions between 0 and 1.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::history::Outcome;
use crate::metrics::{self, Origin, Unit};

use super::{RunInfo, ScenarioResult};

/// The version of the document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The version of contend that wrote it.
    pub contend_version: &'static str,
    pub run: RunSection,
    /// One entry per scenario run, in run order.
    pub scenarios: Vec<ScenarioSection>,
}

/// The run as a whole.
#[derive(Debug, Serialize)]
pub struct RunSection {
    /// The run folder's name.
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// `null` for a history checked again with `contend check`.
    pub seed: Option<u64>,
    /// False when interrupted (Ctrl-C) or a scenario stopped early.
    pub complete: bool,
    /// Scenarios never started because the run was interrupted.
    pub not_run: Vec<String>,
    /// `PASS`, `FAIL` (a violation or failed threshold), `ERROR` or `INCONCLUSIVE`, over
    /// all scenarios.
    pub verdict: &'static str,
    /// The exit code `contend` gives for this run.
    pub exit_code: u8,
}

/// A mode `auto` passed over: `{ "mode": "single-packet", "why": "..." }`.
#[derive(Debug, Serialize)]
pub struct PassedOverSection {
    pub mode: &'static str,
    pub why: String,
}

/// One scenario.
#[derive(Debug, Serialize)]
pub struct ScenarioSection {
    pub name: String,
    pub workload: String,
    pub target: String,
    /// How the writes were released (`barrier`, `last-byte`, `single-packet`; for
    /// `sustained`, the mode that chose its client: `single-packet` HTTP/2, the others
    /// contend's own HTTP/1.1 client); `null` for a counter, and for a re-checked
    /// history.
    pub sync: Option<&'static str>,
    /// What the scenario asked for: `auto` (which chose `sync`) or the mode itself;
    /// `null` as for `sync`.
    pub sync_requested: Option<&'static str>,
    /// The modes `auto` tried before `sync`, strongest first, each with why the target
    /// could not take it; empty when its first candidate ran, or a mode was named.
    pub sync_passed_over: Vec<PassedOverSection>,
    /// How the writers' connections lived: `fresh` (new every round) or `kept`; `null`
    /// when the writes were not released together (counter, sustained), and for a
    /// re-checked history.
    pub writer_connections: Option<&'static str>,
    pub verdict: &'static str,
    pub complete: bool,
    pub error: Option<String>,
    /// Why the verdict is INCONCLUSIVE; `null` otherwise.
    pub inconclusive: Option<String>,
    /// How much the checker could judge.
    pub judged: JudgedSection,
    pub duration_s: f64,
    /// Every metric by name; `null` when not measured. Durations in ms.
    pub metrics: BTreeMap<String, Option<f64>>,
    pub thresholds: Vec<ThresholdSection>,
    pub violations: Vec<ViolationSection>,
    pub counter: Option<CounterSection>,
    /// Sustained workload figures.
    pub sustained: Option<SustainedSection>,
    pub rounds: Vec<RoundSection>,
    /// Per outcome, the HdrHistogram percentile distribution of write latency.
    pub latency: BTreeMap<String, Vec<LatencyStep>>,
}

/// How much of a scenario was judged: its rounds (increments, attempts) with a
/// definite outcome, of all of them; and its writes' causes.
#[derive(Debug, Serialize)]
pub struct JudgedSection {
    /// `rounds`, `increments` or `attempts`.
    pub unit: &'static str,
    pub total: u64,
    pub judged: u64,
    /// Writes by outcome and cause, e.g. `{"indeterminate": {"timeout": 80}}`.
    pub causes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Reads before a write that got no usable answer, by cause (`unexpected_status`
    /// for a whole answer with the wrong status).
    pub failed_reads: BTreeMap<String, u64>,
}

/// One evaluated threshold.
#[derive(Debug, Serialize)]
pub struct ThresholdSection {
    pub expression: String,
    pub metric: String,
    pub op: &'static str,
    /// The limit, in the units of `metrics` (ms for durations).
    pub limit: f64,
    /// `scenario` or `command_line`.
    pub origin: &'static str,
    /// `pass`, `fail` or `no_data`.
    pub status: &'static str,
    /// The figure, in the units of `metrics`; `null` with `no_data`.
    pub measured: Option<f64>,
    /// The figure for people, or why there is none.
    pub shown: String,
}

/// One violation and its witness.
#[derive(Debug, Serialize)]
pub struct ViolationSection {
    pub kind: &'static str,
    pub round: Option<u32>,
    pub version: Option<String>,
    pub evidence: String,
}

/// Sustained workload figures; latencies in ms.
#[derive(Debug, Serialize)]
pub struct SustainedSection {
    /// `closed` or `open`.
    pub model: &'static str,
    pub connections: u32,
    pub resources: u32,
    pub attempts: u64,
    pub writes: u64,
    pub acknowledged: u64,
    pub conflicts: u64,
    pub indeterminate: u64,
    pub lost_updates: u64,
    pub elapsed_s: f64,
    pub requests_per_s: Option<f64>,
    pub acknowledged_per_s: Option<f64>,
    pub conflict_rate: Option<f64>,
    /// Open model: attempts per second on the timetable.
    pub scheduled_rate: Option<f64>,
    /// Per outcome: attempt latency from the actual start.
    pub latency_raw: BTreeMap<String, PercentileSection>,
    /// Open model, per outcome: attempt latency from the scheduled start.
    pub latency_corrected: BTreeMap<String, PercentileSection>,
}

/// One latency distribution's summary, in ms.
#[derive(Debug, Serialize)]
pub struct PercentileSection {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

fn percentile_sections(
    rows: &[(Outcome, crate::latency::Percentiles)],
) -> BTreeMap<String, PercentileSection> {
    let ms = |ns: u64| ns as f64 / 1e6;
    rows.iter()
        .map(|(o, p)| {
            (
                o.name().to_string(),
                PercentileSection {
                    count: p.count,
                    p50: ms(p.p50),
                    p90: ms(p.p90),
                    p99: ms(p.p99),
                    p999: ms(p.p999),
                    max: ms(p.max),
                },
            )
        })
        .collect()
}

/// Counter workload figures.
#[derive(Debug, Serialize)]
pub struct CounterSection {
    pub increments: u64,
    pub acknowledged: u64,
    pub indeterminate: u64,
    pub gave_up: u64,
    pub initial: Option<i64>,
    #[serde(rename = "final")]
    pub final_value: Option<i64>,
    pub lost_updates: u64,
    pub attempts: u64,
    pub conflicts: u64,
    /// `{attempts, increments}`: how many increments took that many write attempts.
    pub attempts_per_increment: Vec<AttemptsBucket>,
}

/// One bar of the attempts-per-increment distribution.
#[derive(Debug, Serialize)]
pub struct AttemptsBucket {
    pub attempts: u32,
    pub increments: u64,
}

/// One round (one version), as in `rounds.csv`.
#[derive(Debug, Serialize)]
pub struct RoundSection {
    pub round: u32,
    pub version_sent: Option<String>,
    pub writers: u32,
    pub winners: u32,
    pub conflicts: u32,
    pub unexpected: u32,
    pub indeterminate: u32,
    pub not_sent: u32,
    pub final_version: Option<String>,
    pub winning_writers: Vec<u32>,
    pub applied: String,
    pub send_spread_us: f64,
    pub response_spread_us: f64,
    /// First to last arrival at the server (built-in server, or `--arrivals`).
    pub arrival_spread_us: Option<f64>,
    pub violations: Vec<&'static str>,
}

/// One step of a percentile distribution, as in `latency.csv`.
#[derive(Debug, Serialize)]
pub struct LatencyStep {
    pub value_ms: f64,
    /// 0–100.
    pub percentile: f64,
    pub total_count: u64,
}

/// A figure in the document's units: durations in ms, everything else as measured.
pub fn in_document_units(unit: Unit, value: f64) -> f64 {
    match unit {
        Unit::Duration => value / 1e6,
        _ => value,
    }
}

/// Builds the document for a run.
pub fn summary(run_id: &str, info: &RunInfo, results: &[ScenarioResult]) -> Summary {
    let exit_code = super::exit_code(results, !info.not_run.is_empty());
    let verdict = super::RunStatus::of(results).name();
    Summary {
        schema_version: SCHEMA_VERSION,
        contend_version: env!("CARGO_PKG_VERSION"),
        run: RunSection {
            id: run_id.to_string(),
            started_at: info.started(),
            seed: info.seed,
            complete: info.complete(results),
            not_run: info.not_run.clone(),
            verdict,
            exit_code,
        },
        scenarios: results.iter().map(scenario).collect(),
    }
}

fn scenario(r: &ScenarioResult) -> ScenarioSection {
    let v = &r.verdict;
    let catalogue = metrics::catalogue();
    let figures = r.figures();
    let metrics = catalogue
        .iter()
        .map(|m| {
            let value = figures.get(&m.name).map(|x| in_document_units(m.unit, x));
            (m.name.clone(), value)
        })
        .collect();
    let thresholds = r
        .thresholds
        .iter()
        .map(|t| {
            let unit = t.threshold.metric.unit;
            ThresholdSection {
                expression: t.threshold.to_string(),
                metric: t.threshold.metric.name.clone(),
                op: t.threshold.op.symbol(),
                limit: in_document_units(unit, t.threshold.limit),
                origin: match t.threshold.origin {
                    Origin::Scenario => "scenario",
                    Origin::CommandLine => "command_line",
                },
                status: t.status.name(),
                measured: t.measured.map(|x| in_document_units(unit, x)),
                shown: t.shown.clone(),
            }
        })
        .collect();
    let violations = v
        .violations
        .iter()
        .map(|x| ViolationSection {
            kind: x.kind.name(),
            round: x.round,
            version: x.version.clone(),
            evidence: x.evidence.clone(),
        })
        .collect();
    let counter = v.counter.as_ref().map(|k| CounterSection {
        increments: k.increments,
        acknowledged: k.acknowledged,
        indeterminate: k.indeterminate,
        gave_up: k.gave_up,
        initial: k.initial,
        final_value: k.final_value,
        lost_updates: k.lost_updates,
        attempts: k.attempts,
        conflicts: k.conflicts,
        attempts_per_increment: k
            .attempts_per_increment
            .iter()
            .map(|(a, n)| AttemptsBucket {
                attempts: *a,
                increments: *n,
            })
            .collect(),
    });
    let sustained = v.sustained.as_ref().map(|k| SustainedSection {
        model: if k.open_model { "open" } else { "closed" },
        connections: k.connections,
        resources: k.resources,
        attempts: k.attempts,
        writes: k.writes,
        acknowledged: k.acknowledged,
        conflicts: k.conflicts,
        indeterminate: k.indeterminate,
        lost_updates: k.lost_updates,
        elapsed_s: k.elapsed_ns as f64 / 1e9,
        requests_per_s: k.request_rate(),
        acknowledged_per_s: k.write_throughput(),
        conflict_rate: k.conflict_rate(),
        scheduled_rate: k.scheduled_rate,
        latency_raw: percentile_sections(&k.raw),
        latency_corrected: percentile_sections(&k.corrected),
    });
    let rounds = v
        .rounds
        .iter()
        .map(|x| RoundSection {
            round: x.round,
            version_sent: x.version_sent.clone(),
            writers: x.writers,
            winners: x.winners,
            conflicts: x.conflicts,
            unexpected: x.unexpected,
            indeterminate: x.indeterminate,
            not_sent: x.not_sent,
            final_version: x.final_version.clone(),
            winning_writers: x.winning_writers.clone(),
            applied: x.applied.clone(),
            send_spread_us: x.send_spread_ns as f64 / 1e3,
            response_spread_us: x.response_spread_ns as f64 / 1e3,
            arrival_spread_us: x.arrival_spread_ns.map(|ns| ns as f64 / 1e3),
            violations: x.violations.iter().map(|k| k.name()).collect(),
        })
        .collect();
    let latency = Outcome::TIMED
        .iter()
        .map(|o| {
            let steps: Vec<LatencyStep> = r
                .latency
                .distribution(*o)
                .into_iter()
                .map(|(value, percentile, total_count)| LatencyStep {
                    value_ms: value as f64 / 1e6,
                    percentile,
                    total_count,
                })
                .collect();
            (o.name().to_string(), steps)
        })
        .filter(|(_, steps)| !steps.is_empty())
        .collect();
    ScenarioSection {
        name: v.scenario.clone(),
        workload: v.workload.to_string(),
        target: r.target.clone(),
        sync: r.sync.map(|m| m.mode.name()),
        sync_requested: r.sync.map(|m| m.asked().name()),
        sync_passed_over: r
            .sync_passed_over
            .iter()
            .map(|p| PassedOverSection {
                mode: p.mode.name(),
                why: p.why.clone(),
            })
            .collect(),
        writer_connections: r.writer_connections.map(|p| p.name()),
        verdict: r.status(),
        complete: r.complete,
        error: r.error.clone(),
        inconclusive: r.inconclusive(),
        judged: JudgedSection {
            unit: v.judged.unit,
            total: v.judged.total,
            judged: v.judged.judged,
            causes: v.counts.causes.iter().fold(
                BTreeMap::new(),
                |mut all: BTreeMap<String, BTreeMap<String, u64>>, ((outcome, cause), n)| {
                    all.entry(outcome.name().to_string())
                        .or_default()
                        .insert(cause.name().to_string(), *n);
                    all
                },
            ),
            failed_reads: v
                .counts
                .failed_reads
                .iter()
                .map(|(cause, n)| {
                    (
                        cause.map_or("unexpected_status", |c| c.name()).to_string(),
                        *n,
                    )
                })
                .collect(),
        },
        duration_s: r.duration.as_secs_f64(),
        metrics,
        thresholds,
        violations,
        counter,
        sustained,
        rounds,
        latency,
    }
}
