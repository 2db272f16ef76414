//! The pipeline's second half: a scenario's records (in memory, or streamed to a spool)
//! to its result: the verdict with its witnesses, the write latency, the time series,
//! the counter strategies' convergence, and the thresholds evaluated on the figures.
//! `contend run`, `contend check` ([`recheck`]) and `contend merge` all go through
//! [`scenario_result`], so a saved history re-checks to the same result.

use super::*;

/// What a scenario's result says about how it ran, beside the figures its records give.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    /// How the reports name the target (empty for a re-checked history).
    pub target: String,
    /// How the writes were released (for `sustained`, the mode that chose its client);
    /// `None` for a counter, or when it is not known (a re-checked history).
    pub sync: Option<SyncRan>,
    /// The modes `auto` tried before `sync`, each with why the target could not take it.
    pub sync_passed_over: Vec<PassedOver>,
    /// How the writers' connections lived; `None` when the writes were not released
    /// together, or when it is not known.
    pub writer_connections: Option<ConnectionPolicy>,
    /// Why the scenario could not run to the end, if it could not.
    pub error: Option<String>,
    /// False when the run was interrupted or aborted.
    pub complete: bool,
    pub duration: Duration,
    /// The share of writes that may be indeterminate or not sent before the scenario
    /// is INCONCLUSIVE; `None` for the default ([`DEFAULT_INCONCLUSIVE_ABOVE`]).
    pub inconclusive_above: Option<f64>,
}

/// Where a scenario's records are, beyond those in memory.
pub enum Spooled<'a> {
    /// Nowhere: every record is in memory.
    No,
    /// In a spool file, read back once to check them (a merge's).
    File(&'a Spool),
    /// They were spooled by the run and checked as they went ([`LiveCheck`]).
    Checked(Box<StreamCheck>),
}

/// Turns one scenario's history into its result: checks the records (those in memory,
/// and the spooled ones, read back once or checked as they were spooled), measures the
/// contended writes' latency and the counter strategies' convergence, and evaluates
/// `thresholds` on the figures. `contend run` and `contend check` both go through here,
/// so a saved history re-checks to the same result.
pub fn scenario_result(
    scenario: &str,
    workload: WorkloadId,
    records: &[&RequestRecord],
    spooled: Spooled<'_>,
    thresholds: &[Threshold],
    facts: RunFacts,
) -> Result<ScenarioResult, RunError> {
    // A spooled (sustained) history is not held, so its violations have no witness.
    let held = matches!(spooled, Spooled::No);
    let (verdict, latency, series) = match spooled {
        Spooled::No => (
            check::check(scenario, workload, records),
            Latency::from_records(records.iter().copied()),
            TimeSeries::from_records(records.iter().copied()),
        ),
        Spooled::File(spool) => check_spooled(scenario, records, spool)?,
        Spooled::Checked(mut live) => {
            for r in records {
                live.add((*r).clone());
            }
            live.finish()
        }
    };
    let convergence = Convergence::from_records(records.iter().copied());
    let witness = match held {
        true => check::witness::witnesses(&verdict, records),
        false => check::WitnessSet::default(),
    };
    let mut result = finish(
        verdict,
        (latency, series),
        convergence,
        workload,
        thresholds,
        facts,
    );
    result.witness = witness;
    Ok(result)
}

/// A sustained scenario checked one record at a time, in bounded memory, as its records
/// go by: the verdict, the write latency and the time series.
pub struct StreamCheck {
    check: check::SustainedCheck,
    latency: Latency,
    series: TimeSeries,
}

impl StreamCheck {
    pub fn new(scenario: &str) -> StreamCheck {
        StreamCheck {
            check: check::SustainedCheck::new(scenario),
            latency: Latency::empty(),
            series: TimeSeries::empty(),
        }
    }

    /// Takes the scenario's next record.
    pub fn add(&mut self, r: RequestRecord) {
        if r.phase == Phase::Write {
            self.latency.record(r.outcome, r.latency_ns);
        }
        self.series.record(&r);
        self.check.add(r);
    }

    /// The verdict on every record taken, the write latency and the time series.
    pub fn finish(self) -> (check::Verdict, Latency, TimeSeries) {
        (self.check.finish(), self.latency, self.series)
    }
}

/// Checks a sustained run's attempts as its spool writer writes them (the engine's
/// [`engine::RecordTap`]), so that the spool is not read back at the end of the run.
pub struct LiveCheck(std::sync::Mutex<Option<Box<StreamCheck>>>);

impl LiveCheck {
    pub fn new(scenario: &str) -> LiveCheck {
        LiveCheck(std::sync::Mutex::new(Some(Box::new(StreamCheck::new(
            scenario,
        )))))
    }

    /// The check of every record taken so far; `None` if taken already.
    pub fn take(&self) -> Option<Box<StreamCheck>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl engine::RecordTap for LiveCheck {
    fn take(&self, records: Vec<RequestRecord>) {
        let mut live = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(live) = live.as_mut() {
            for r in records {
                live.add(r);
            }
        }
    }
}

/// A scenario's result from its verdict and figures: the thresholds evaluated on them.
fn finish(
    verdict: check::Verdict,
    (latency, series): (Latency, TimeSeries),
    convergence: Convergence,
    workload: WorkloadId,
    thresholds: &[Threshold],
    facts: RunFacts,
) -> ScenarioResult {
    let mut result = ScenarioResult {
        verdict,
        latency,
        series,
        convergence,
        target: facts.target,
        sync: facts.sync,
        sync_passed_over: facts.sync_passed_over,
        writer_connections: facts.writer_connections,
        error: facts.error,
        complete: facts.complete,
        duration: facts.duration,
        thresholds: Vec::new(),
        inconclusive_above: facts
            .inconclusive_above
            .unwrap_or(DEFAULT_INCONCLUSIVE_ABOVE),
        witness: check::WitnessSet::default(),
    };
    result.thresholds = gate::evaluate(thresholds, &result.figures(), workload);
    result
}

/// Checks a sustained scenario whose attempts were streamed to `spool` (its set-up and
/// final reads are `memory`), reading the spool once: the verdict, the write latency
/// and the time series.
fn check_spooled(
    scenario: &str,
    memory: &[&RequestRecord],
    spool: &Spool,
) -> Result<(check::Verdict, Latency, TimeSeries), RunError> {
    let mut check = StreamCheck::new(scenario);
    for r in memory {
        check.add((*r).clone());
    }
    let spooled = spool.records().map_err(|e| unreadable(spool.path(), e))?;
    for r in spooled.bodies(check::reads_body) {
        check.add(r.map_err(|e| unreadable(spool.path(), e))?);
    }
    Ok(check.finish())
}

fn unreadable(path: &std::path::Path, e: impl std::fmt::Display) -> RunError {
    RunError::Io(format!("cannot read the history {}: {e}", path.display()))
}

/// Checks a saved history (`contend check`: a `requests.csv` or a `--jsonl` file)
/// scenario by scenario, reading the file once, as a stream: a sustained scenario's
/// records are checked as they go by, in bounded memory however long its run; the other
/// workloads' records are held for their scenario (their checkers read a round's records
/// together). Every result goes through the same second half of the pipeline as a run's.
pub fn recheck(
    path: &std::path::Path,
    thresholds: &[Threshold],
    inconclusive_above: Option<f64>,
) -> Result<Vec<ScenarioResult>, RunError> {
    /// A scenario's records: held, or checked as they go by (sustained), with the
    /// write latency and the time series.
    enum Check {
        Held(Vec<RequestRecord>),
        Streamed(Box<StreamCheck>),
    }
    struct Seen {
        name: crate::history::Text,
        workload: WorkloadId,
        first_ns: u64,
        last_ns: u64,
        check: Check,
    }
    let mut seen: Vec<Seen> = Vec::new();
    crate::history::each_saved(path, check::reads_body, |r| {
        // A history is one scenario after another: the last one seen is the likely one.
        let i = match seen.iter().rposition(|s| s.name == r.scenario) {
            Some(i) => i,
            None => {
                seen.push(Seen {
                    name: r.scenario.clone(),
                    workload: r.workload,
                    first_ns: r.start_ns,
                    last_ns: r.end_ns,
                    check: match r.workload {
                        WorkloadId::Sustained => {
                            Check::Streamed(Box::new(StreamCheck::new(&r.scenario)))
                        }
                        _ => Check::Held(Vec::new()),
                    },
                });
                seen.len() - 1
            }
        };
        let s = &mut seen[i];
        s.first_ns = s.first_ns.min(r.start_ns);
        s.last_ns = s.last_ns.max(r.end_ns);
        match &mut s.check {
            Check::Held(records) => records.push(r),
            Check::Streamed(streamed) => streamed.add(r),
        }
    })
    .map_err(|e| unreadable(path, e))?;
    let mut results = Vec::new();
    for s in seen {
        let facts = RunFacts {
            complete: true,
            duration: Duration::from_nanos(s.last_ns.saturating_sub(s.first_ns)),
            inconclusive_above,
            ..RunFacts::default()
        };
        match s.check {
            Check::Held(records) => {
                let refs: Vec<&RequestRecord> = records.iter().collect();
                results.push(scenario_result(
                    &s.name,
                    s.workload,
                    &refs,
                    Spooled::No,
                    thresholds,
                    facts,
                )?);
            }
            Check::Streamed(streamed) => {
                let (verdict, latency, series) = streamed.finish();
                results.push(finish(
                    verdict,
                    (latency, series),
                    Convergence::default(),
                    s.workload,
                    thresholds,
                    facts,
                ));
            }
        }
    }
    Ok(results)
}
