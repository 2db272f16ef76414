//! Stage 2 of the pipeline: the engine runs a scenario's workload against a target and
//! turns every HTTP exchange into a [`RequestRecord`].
//!
//! The engine decides nothing about correctness; it only classifies each answer by the
//! statuses the scenario promises (`winner`, `conflict`, `unexpected`) or by how it
//! failed (`indeterminate`, `not_sent`). The checker reads the records afterwards.
//!
//! Each workload is one file here, dispatched by an exhaustive match on
//! [`WorkloadKind`]. The round-based ones (stale-write, unique-create, transition,
//! stock, idempotency, precondition-required) each give `round.rs`, the one round
//! driver, what their round reads and writes; `counter.rs` and `sustained.rs` run their
//! writers free. Underneath: `exchange.rs` holds what one request and its answer are,
//! `client.rs` renders requests and holds `Writers`, the façade through which every
//! race is released, and `race/` the sync modes behind it. Which rules a workload
//! follows (released together, a resource per round, its fewest writers) is read from
//! the registry, [`crate::scenario::WorkloadRules`].

pub mod client;
mod counter;
pub mod exchange;
mod idempotency;
mod precondition_required;
mod race;
mod round;
mod stale_write;
mod stock;
mod sustained;
mod transition;
mod unique_create;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::history::{Outcome, Phase, RequestRecord};
use crate::scenario::template::{value_text, Vars};
use crate::scenario::BodyMatch;
use crate::scenario::{Actionable, Expect, Locator, Scenario, Setup, SyncMode, WorkloadKind};
use client::RequestBuilder;
use exchange::{ClientSettings, Exchange, Prepared};

/// Told about progress while a scenario runs (the terminal's progress bar listens).
pub trait Progress: Send + Sync {
    /// A scenario starts; `steps` is its number of rounds (or increments in all).
    fn start(&self, scenario: &str, steps: u64);
    /// One step finished; `records` are the requests it made.
    fn step(&self, records: &[RequestRecord]);
    /// The scenario is over.
    fn finish(&self);
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn step(&self, _: &[RequestRecord]) {}
    fn finish(&self) {}
}

/// What every scenario of one run shares.
#[derive(Clone)]
pub struct RunContext {
    /// Time zero of the run: record times are measured from here.
    pub origin: Instant,
    /// Seeds markers and backoff jitter, so a run can be repeated.
    pub seed: u64,
    /// Unique to this run (from the wall clock): makes `{unique}` keys differ between
    /// runs against an API that keeps what earlier runs created.
    pub nonce: u64,
    /// Set (by Ctrl-C) to stop after the current round; the run is then incomplete.
    pub stop: Arc<AtomicBool>,
    pub progress: Arc<dyn Progress>,
    /// The target is a reference server (the built-in one, or `contend serve` with
    /// `--arrivals`), so arrival stamps can be fetched from it.
    pub arrival_stamps: bool,
    /// Extra root certificates (DER) trusted for https targets (`--ca-cert`).
    pub ca_certs: Arc<Vec<Vec<u8>>>,
    /// Where every record goes as soon as it is complete (`--jsonl`), if anywhere.
    pub jsonl: Option<Arc<crate::history::JsonlStream>>,
}

impl RunContext {
    pub fn new(seed: u64) -> Self {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        RunContext {
            origin: Instant::now(),
            seed,
            nonce,
            stop: Arc::new(AtomicBool::new(false)),
            progress: Arc::new(NoProgress),
            arrival_stamps: false,
            ca_certs: Arc::default(),
            jsonl: None,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Streams complete records to the run's JSON Lines history, if it has one.
    async fn publish(&self, records: &[RequestRecord]) {
        if let Some(jsonl) = &self.jsonl {
            jsonl.publish(records).await;
        }
    }
}

/// The outcome of running one scenario: its history and whether it ran to the end.
#[derive(Debug)]
pub struct ScenarioRun {
    pub records: Vec<RequestRecord>,
    /// A long run's records, streamed to disk as they were made (sustained runs); they
    /// are not in `records`. The caller reads them back once; the file goes with it.
    pub spool: Option<crate::history::Spool>,
    /// Why the scenario could not run (or stopped): an unreachable or misbehaving server.
    pub error: Option<String>,
    /// False when the run was interrupted or aborted before its last round.
    pub complete: bool,
    pub duration: Duration,
    /// The mode the writes were released in (or were to be, when it could not be used):
    /// the scenario's own, or what `auto` chose; `None` for a workload whose writers run
    /// free.
    pub sync: Option<SyncMode>,
}

/// Runs one scenario against `base` (the target's base URL).
pub async fn run(scenario: &Scenario, base: url::Url, ctx: &RunContext) -> ScenarioRun {
    let started = Instant::now();
    let mut session = Session::new(scenario, base.clone(), ctx);
    let steps = steps(scenario);
    ctx.progress.start(&scenario.name, steps);
    let (sync, chosen) = choose_sync_mode(scenario, &session.settings, &base).await;
    let result = match chosen {
        Err(e) => Err(e),
        Ok(()) => {
            if let Some(mode) = sync {
                session.settings.sync = mode;
            }
            run_workload(&mut session).await
        }
    };
    session.publish().await;
    ctx.progress.finish();
    let error = result.err().map(|e| redact(&e, &scenario.secrets));
    ScenarioRun {
        complete: error.is_none() && !ctx.stopped(),
        error,
        records: session.records,
        spool: session.spool,
        duration: started.elapsed(),
        sync,
    }
}

/// How many steps the progress bar counts for a scenario: its rounds, a counter's
/// increments of every writer with every strategy, or a sustained run's attempts.
fn steps(scenario: &Scenario) -> u64 {
    let workload = &scenario.workload;
    match &workload.kind {
        WorkloadKind::Counter { strategies, .. } => {
            u64::from(workload.rounds) * u64::from(workload.writers) * strategies.len() as u64
        }
        WorkloadKind::Sustained { limit, rate, .. } => sustained::expected_attempts(*limit, *rate),
        WorkloadKind::StaleWrite
        | WorkloadKind::UniqueCreate
        | WorkloadKind::Transition { .. }
        | WorkloadKind::Stock { .. }
        | WorkloadKind::Idempotency
        | WorkloadKind::PreconditionRequired => u64::from(workload.rounds),
    }
}

/// The mode the scenario's writes are released in, checked against the target before
/// any request of the scenario is sent, on connections of its own (the set-up would
/// otherwise fail first, with a protocol error for a reason): the scenario's own mode,
/// or with `auto` the first of its candidates whose check passes (barrier's always
/// does). `None` for a workload whose writers run free. The error, when the scenario's
/// own mode cannot be used, says why; the mode is returned with it, for the reports.
async fn choose_sync_mode(
    scenario: &Scenario,
    settings: &ClientSettings,
    base: &url::Url,
) -> (Option<SyncMode>, Result<(), String>) {
    if !scenario.workload.kind.rules().released_together {
        return (None, Ok(()));
    }
    let candidates = scenario.sync.candidates(scenario.writer_connections);
    let mut last = None;
    for mode in candidates {
        let trial = ClientSettings {
            sync: mode,
            ..settings.clone()
        };
        match client::Writers::check(mode, scenario.workload.writers, &trial, base).await {
            Ok(()) => return (Some(mode), Ok(())),
            Err(e) => last = Some((mode, e)),
        }
    }
    match last {
        Some((mode, e)) => (Some(mode), Err(e)),
        None => (None, Err("no sync mode can be used".into())),
    }
}

/// Runs the scenario's workload.
async fn run_workload(session: &mut Session<'_>) -> Result<(), String> {
    let scenario = session.scenario;
    match &scenario.workload.kind {
        WorkloadKind::StaleWrite => stale_write::run(session).await,
        WorkloadKind::Counter { strategies, .. } => counter::run(session, strategies).await,
        WorkloadKind::UniqueCreate => unique_create::run(session).await,
        WorkloadKind::Transition { targets } => transition::run(session, targets).await,
        WorkloadKind::Stock { units } => stock::run(session, *units).await,
        WorkloadKind::Idempotency => idempotency::run(session).await,
        WorkloadKind::PreconditionRequired => precondition_required::run(session).await,
        WorkloadKind::Sustained {
            resources,
            limit,
            rate,
        } => sustained::run(session, *resources, *limit, *rate).await,
    }
}

/// Replaces every secret in `text` with `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
}

/// Labels of a record that the engine knows before it sends.
#[derive(Debug, Clone, Default)]
struct Meta {
    round: u32,
    writer: Option<u32>,
    attempt: u32,
    version_sent: Option<String>,
    marker: Option<String>,
    value: Option<i64>,
    /// Transition: the state a write asks for.
    state: Option<String>,
    /// Counter: the client strategy.
    strategy: Option<String>,
    /// Sustained: the hot resource.
    resource: Option<u32>,
    /// Sustained, open model: when the attempt was due.
    scheduled: Option<Instant>,
}

/// One scenario's state while it runs: its builder, reader connection and history.
struct Session<'a> {
    scenario: &'a Scenario,
    ctx: &'a RunContext,
    builder: RequestBuilder,
    settings: ClientSettings,
    reader: Option<reqwest::Client>,
    recorder: Recorder,
    records: Vec<RequestRecord>,
    /// How many of `records` went to the JSON Lines history (or were sent there by the
    /// writer tasks that made them).
    published: usize,
    /// Where the workload streamed records it does not keep in `records`.
    spool: Option<crate::history::Spool>,
}

/// Turns exchanges into records; cheap to clone into writer tasks.
#[derive(Clone)]
struct Recorder {
    scenario: String,
    workload: crate::scenario::WorkloadId,
    version: Option<Locator>,
    secrets: Vec<String>,
    origin: Instant,
    /// The promised conflict statuses, as recorded on writes.
    promised: String,
    /// What a conflict answer must carry, if the scenario says.
    actionable: Option<Actionable>,
}

impl Recorder {
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Builds a record from an exchange; `outcome` is the engine's classification.
    fn record(
        &self,
        phase: Phase,
        meta: Meta,
        prepared: &Prepared,
        exchange: &Exchange,
        outcome: Outcome,
    ) -> RequestRecord {
        let secrets = &self.secrets;
        let contended = matches!(phase, Phase::Write | Phase::Probe);
        let content_type = exchange
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let conflict_missing = match &self.actionable {
            Some(actionable) if contended && outcome == Outcome::Conflict => {
                let missing = actionable.missing(&content_type, |l| {
                    locate(l, exchange).is_some_and(|v| !value_text(&v).trim().is_empty())
                });
                if missing.is_empty() {
                    String::new()
                } else {
                    format!("{}: {}", actionable.level.name(), missing.join(" "))
                }
            }
            _ => String::new(),
        };
        RequestRecord {
            scenario: self.scenario.clone(),
            workload: self.workload,
            phase,
            round: meta.round,
            writer: meta.writer,
            attempt: meta.attempt.max(1),
            method: prepared.method.to_string(),
            url: redact(prepared.url.as_str(), secrets),
            version_sent: meta.version_sent.map(|v| redact(&v, secrets)),
            marker: meta.marker,
            value: meta.value,
            status: exchange.status,
            outcome,
            start_ns: self.nanos(exchange.start),
            end_ns: self.nanos(exchange.end),
            latency_ns: u64::try_from(
                exchange
                    .end
                    .saturating_duration_since(exchange.start)
                    .as_nanos(),
            )
            .unwrap_or(u64::MAX),
            version_returned: self
                .version
                .as_ref()
                .and_then(|l| locate(l, exchange))
                .as_ref()
                .map(|v| redact(&value_text(v), secrets)),
            body: redact(&exchange.body, secrets),
            error: exchange
                .failure
                .as_ref()
                .map(|f| redact(&f.message, secrets))
                .unwrap_or_default(),
            arrival_ns: exchange.arrival_ns,
            resource: meta.resource,
            scheduled_ns: meta.scheduled.map(|at| self.nanos(at)),
            content_type,
            state: meta.state,
            strategy: meta.strategy,
            promised: if contended {
                self.promised.clone()
            } else {
                String::new()
            },
            conflict_missing,
        }
    }
}

impl<'a> Session<'a> {
    fn new(scenario: &'a Scenario, base: url::Url, ctx: &'a RunContext) -> Self {
        Session {
            scenario,
            ctx,
            builder: RequestBuilder::new(base.clone(), scenario.headers.clone()),
            settings: ClientSettings {
                timeout: scenario.timeout,
                // Writers that run free (counter, sustained) ignore `sync`; for the
                // others, `run` sets the mode once it is chosen and checked.
                sync: SyncMode::Barrier,
                arrivals: ctx
                    .arrival_stamps
                    .then(|| base.join(crate::protocol::ARRIVALS_PATH).ok())
                    .flatten(),
                ca_certs: ctx.ca_certs.clone(),
            },
            reader: None,
            recorder: Recorder {
                scenario: scenario.name.clone(),
                workload: scenario.workload.kind.id(),
                version: scenario.resource.version.clone(),
                secrets: scenario.secrets.clone(),
                origin: ctx.origin,
                promised: scenario
                    .expect
                    .conflict
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                actionable: scenario.expect.actionable.clone(),
            },
            records: Vec::new(),
            published: 0,
            spool: None,
        }
    }

    /// Streams the records made since the last call to the JSON Lines history. Called
    /// where they are complete: after each round, before writer tasks start, and when
    /// the scenario ends.
    async fn publish(&mut self) {
        let fresh = self.records.get(self.published..).unwrap_or_default();
        self.ctx.publish(fresh).await;
        self.published = self.records.len();
    }

    /// The connection used for set-up, reads and verification (not a writer's).
    fn reader(&mut self) -> Result<reqwest::Client, String> {
        if self.reader.is_none() {
            self.reader = Some(exchange::connection(&self.settings)?);
        }
        self.reader
            .clone()
            .ok_or_else(|| "no reader connection".to_string())
    }

    /// Sends a non-contended request (set-up, read, verify) on the reader connection,
    /// records it, and returns the exchange when it got a 2xx answer.
    async fn read_like(
        &mut self,
        phase: Phase,
        meta: Meta,
        template: &crate::scenario::RequestTemplate,
        vars: &Vars,
        expect: &[u16],
    ) -> Result<Exchange, String> {
        let prepared = self.builder.prepare(template, vars)?;
        let reader = self.reader()?;
        let exchange = exchange::send(&reader, prepared.clone()).await;
        let ok = exchange.status.is_some_and(|s| {
            if expect.is_empty() {
                (200..300).contains(&s)
            } else {
                expect.contains(&s)
            }
        });
        let outcome = match (&exchange.failure, ok) {
            (Some(f), _) if exchange.status.is_none() => f.outcome,
            (_, true) => Outcome::Ok,
            (_, false) => Outcome::Unexpected,
        };
        let record = self
            .recorder
            .record(phase, meta, &prepared, &exchange, outcome);
        self.records.push(record);
        if ok {
            Ok(exchange)
        } else {
            Err(describe_failure(&prepared, &exchange, expect))
        }
    }

    /// Creates the resource (or takes the existing one) and returns its `{id}`: empty
    /// when the scenario has no resource (`Setup::Nothing`, so no `{id}`).
    async fn set_up(&mut self) -> Result<String, String> {
        let vars = Vars {
            unique: Some(self.unique(None)),
            ..Vars::default()
        };
        self.create(Meta::default(), &vars).await
    }

    /// Runs `[resource].create` with `vars` (or takes the existing resource) and returns
    /// the new resource's `{id}`.
    async fn create(&mut self, meta: Meta, vars: &Vars) -> Result<String, String> {
        match &self.scenario.resource.setup {
            Setup::Existing { id } => Ok(id.clone()),
            Setup::Nothing => Ok(String::new()),
            Setup::CreateAt {
                request,
                expect,
                id,
            } => {
                let vars = Vars {
                    id: Some(id.clone()),
                    ..vars.clone()
                };
                self.read_like(Phase::Setup, meta, request, &vars, expect)
                    .await
                    .map_err(|e| format!("creating the resource failed: {e}"))?;
                Ok(id.clone())
            }
            Setup::Create {
                request,
                expect,
                id,
            } => {
                let exchange = self
                    .read_like(Phase::Setup, meta, request, vars, expect)
                    .await
                    .map_err(|e| format!("creating the resource failed: {e}"))?;
                locate(id, &exchange).map(|v| value_text(&v)).ok_or_else(|| {
                    format!(
                        "the create response has no resource id at {}; check `id` in [resource].create (status {}, body {})",
                        locator_text(id),
                        exchange.status.unwrap_or(0),
                        excerpt(&exchange.body)
                    )
                })
            }
        }
    }

    /// `{unique}` for a round (`None`: for the create that runs once): differs between
    /// runs, scenarios and rounds, and is made of lower-case letters and digits only, so
    /// it fits an email, a slug, a file name or a header.
    fn unique(&self, round: Option<u32>) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.ctx.nonce, self.ctx.seed, &self.scenario.name).hash(&mut h);
        let run = h.finish() & 0xffff_ffff_ffff;
        match round {
            Some(round) => format!("u{run:012x}r{round:06}"),
            None => format!("u{run:012x}s"),
        }
    }

    /// Reads the resource and returns its version token (and the whole exchange).
    async fn read_version(
        &mut self,
        phase: Phase,
        meta: Meta,
        id: &str,
    ) -> Result<(Value, Exchange), String> {
        let vars = Vars {
            id: Some(id.to_string()),
            ..Vars::default()
        };
        let read = self.scenario.resource.read.clone();
        let exchange = self.read_like(phase, meta, &read, &vars, &[]).await?;
        let Some(at) = &self.scenario.resource.version else {
            return Err("this workload needs `version` in [resource]".to_string());
        };
        let version = locate(at, &exchange).ok_or_else(|| {
            format!(
                "the read response has no version token at {}; check `version` in [resource] (body {})",
                locator_text(at),
                excerpt(&exchange.body)
            )
        })?;
        Ok((version, exchange))
    }
}

/// Classifies a write's answer by the statuses the scenario promises and, when the
/// scenario says the body decides (`winner_when`), by its JSON body.
fn classify(expect: &Expect, exchange: &Exchange) -> Outcome {
    if let (Some(s), Some(when)) = (exchange.status, &expect.winner_when) {
        if expect.winner.contains(&s) {
            return match body_matches(when, &exchange.body) {
                Some(true) => Outcome::Winner,
                Some(false) if expect.conflict.contains(&s) => Outcome::Conflict,
                Some(false) => Outcome::Unexpected,
                // The status promised a body that says who won, and the body was lost.
                None if exchange.failure.is_some() => Outcome::Indeterminate,
                // A body that is not JSON cannot say either.
                None => Outcome::Unexpected,
            };
        }
    }
    match (exchange.status, &exchange.failure) {
        (Some(s), _) if expect.winner.contains(&s) => Outcome::Winner,
        (Some(s), _) if expect.conflict.contains(&s) => Outcome::Conflict,
        (Some(_), _) => Outcome::Unexpected,
        (None, Some(f)) => f.outcome,
        (None, None) => Outcome::Indeterminate,
    }
}

/// Whether a JSON body has the value `when` asks for; `None` when the body is not JSON.
fn body_matches(when: &BodyMatch, body: &str) -> Option<bool> {
    let body: Value = serde_json::from_str(body).ok()?;
    Some(body.pointer(&when.pointer) == Some(&when.equals))
}

/// Finds a value in a response: a header's text, or a JSON pointer into the body.
fn locate(locator: &Locator, exchange: &Exchange) -> Option<Value> {
    match locator {
        Locator::Header(name) => exchange
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .map(|v| Value::String(v.to_string())),
        Locator::Json(pointer) => serde_json::from_str::<Value>(&exchange.body)
            .ok()
            .and_then(|body| body.pointer(pointer).cloned())
            .filter(|v| !v.is_null()),
        Locator::Decoded(inner, filter) => locate(inner, exchange)
            .and_then(|v| filter.decode(&value_text(&v)))
            .map(Value::String),
    }
}

fn locator_text(locator: &Locator) -> String {
    match locator {
        Locator::Header(h) => format!("header:{h}"),
        Locator::Json(p) => format!("json:{p}"),
        Locator::Decoded(inner, filter) => format!("{}|{}", locator_text(inner), filter.name()),
    }
}

fn excerpt(body: &str) -> String {
    const MAX: usize = 200;
    if body.is_empty() {
        return "(empty)".into();
    }
    let mut end = body.len().min(MAX);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < body.len() { "…" } else { "" };
    format!("{:?}{more}", &body[..end])
}

fn describe_failure(prepared: &Prepared, exchange: &Exchange, expect: &[u16]) -> String {
    let what = format!("{} {}", prepared.method, prepared.url);
    match (exchange.status, &exchange.failure) {
        (None, Some(f)) if f.outcome == Outcome::NotSent => {
            format!(
                "{what}: cannot connect ({}); is the server running and is the target right?",
                f.message
            )
        }
        (None, Some(f)) => format!("{what}: no answer ({})", f.message),
        (Some(s), _) => {
            let wanted = if expect.is_empty() {
                "2xx".to_string()
            } else {
                expect
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            };
            format!(
                "{what} answered {s}, expected {wanted}; body {}",
                excerpt(&exchange.body)
            )
        }
        (None, None) => format!("{what}: no answer"),
    }
}

/// The marker for one writer's write in one round: fixed width, so no marker is a
/// prefix of another and a body search cannot confuse writer 1 with writer 10.
fn marker(seed: u64, round: u32, writer: Option<u32>) -> String {
    match writer {
        Some(w) => format!("ct{seed:016x}r{round:07}w{w:05}"),
        None => format!("ct{seed:016x}r{round:07}probe"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_every_secret() {
        let secrets = vec!["s3cret".to_string(), String::new()];
        assert_eq!(
            redact("Bearer s3cret and s3cret", &secrets),
            "Bearer *** and ***"
        );
    }

    fn answer(status: u16, body: &str) -> Exchange {
        let now = Instant::now();
        Exchange {
            status: Some(status),
            headers: reqwest::header::HeaderMap::new(),
            body: body.to_string(),
            failure: None,
            start: now,
            end: now,
            arrival_ns: None,
        }
    }

    fn etcd_expect() -> Expect {
        Expect {
            winner: vec![200],
            conflict: vec![200],
            actionable: None,
            winner_when: Some(BodyMatch {
                pointer: "/succeeded".into(),
                equals: Value::Bool(true),
            }),
        }
    }

    #[test]
    fn a_body_condition_tells_a_winner_from_a_conflict_with_the_same_status() {
        let expect = etcd_expect();
        let won = answer(200, r#"{"header":{"revision":"3"},"succeeded":true}"#);
        let lost = answer(200, r#"{"header":{"revision":"3"}}"#);
        assert_eq!(classify(&expect, &won), Outcome::Winner);
        assert_eq!(classify(&expect, &lost), Outcome::Conflict);
        assert_eq!(
            classify(&expect, &answer(200, r#"{"succeeded":"true"}"#)),
            Outcome::Conflict,
            "the value must equal exactly, type included"
        );
    }

    #[test]
    fn a_body_condition_never_turns_an_unpromised_answer_into_an_outcome() {
        let expect = etcd_expect();
        assert_eq!(
            classify(&expect, &answer(500, r#"{"succeeded":true}"#)),
            Outcome::Unexpected
        );
        assert_eq!(
            classify(&expect, &answer(200, "<html>proxy error</html>")),
            Outcome::Unexpected,
            "a body that is not JSON says neither"
        );
        let only_winner = Expect {
            conflict: vec![409],
            ..etcd_expect()
        };
        assert_eq!(
            classify(&only_winner, &answer(200, "{}")),
            Outcome::Unexpected,
            "a 200 whose body does not say it won is no promised answer"
        );
        assert_eq!(
            classify(&only_winner, &answer(409, "{}")),
            Outcome::Conflict
        );
        let mut cut = answer(200, "");
        cut.failure = Some(exchange::Failure {
            outcome: Outcome::Indeterminate,
            message: "reading the body: connection reset".into(),
        });
        assert_eq!(
            classify(&expect, &cut),
            Outcome::Indeterminate,
            "a lost body leaves the outcome unknown"
        );
    }

    #[test]
    fn without_a_body_condition_the_status_alone_decides() {
        let expect = Expect {
            winner: vec![200, 204],
            conflict: vec![412],
            actionable: None,
            winner_when: None,
        };
        assert_eq!(classify(&expect, &answer(204, "")), Outcome::Winner);
        assert_eq!(classify(&expect, &answer(412, "")), Outcome::Conflict);
        assert_eq!(classify(&expect, &answer(409, "")), Outcome::Unexpected);
    }

    #[test]
    fn a_decoding_locator_finds_base64_values() {
        let at = Locator::Decoded(
            Box::new(Locator::Json("/kvs/0/value".into())),
            crate::scenario::Filter::Base64,
        );
        let read = answer(200, r#"{"kvs":[{"mod_revision":"9","value":"NDI="}]}"#);
        assert_eq!(locate(&at, &read), Some(Value::String("42".into())));
        assert_eq!(
            locate(&at, &answer(200, r#"{"kvs":[{"value":"*"}]}"#)),
            None
        );
        assert_eq!(locate(&at, &answer(200, r#"{"header":{}}"#)), None);
        assert_eq!(locator_text(&at), "json:/kvs/0/value|base64");
    }

    #[test]
    fn markers_are_fixed_width_so_none_is_a_prefix_of_another() {
        let a = marker(1, 3, Some(1));
        let b = marker(1, 3, Some(10));
        assert_eq!(a.len(), b.len());
        assert!(!b.contains(&a) && !a.contains(&b));
        assert_ne!(marker(1, 3, None), a);
    }
}
