//! Stage 2 of the pipeline: the engine runs a scenario's workload against a target and
//! turns every HTTP exchange into a [`RequestRecord`].
//!
//! The engine decides nothing about correctness; it only classifies each answer, by one
//! rule whatever the client (`exchange.rs`: a whole answer by the statuses the scenario
//! promises, `winner`, `conflict` or `unexpected`; one that did not come whole as
//! `indeterminate` or `not_sent`, its cause kept). The checker reads the records
//! afterwards. A run stops after its round on the first Ctrl-C or SIGTERM
//! ([`RunContext::stop`]) and at once on the second ([`Abort`]), cancelling the requests
//! in flight.
//!
//! Each workload is one file here, dispatched by an exhaustive match on
//! [`WorkloadKind`]. The round-based ones (stale-write, unique-create, transition,
//! stock, idempotency, precondition-required) each give `round.rs`, the one round
//! driver, what their round reads and writes; `counter.rs` and `sustained.rs` run their
//! writers free. Underneath: `exchange.rs` holds what one request and its answer are,
//! `client.rs` renders requests and holds `Writers`, the façade through which every
//! race is released, and `race/` the sync modes behind it. Which rules a workload
//! follows (released together, a resource per round, its fewest writers) is read from
//! the registry, [`crate::scenario::WorkloadRules`]. Beside the records, `capture.rs`
//! keeps the few exchanges a violation's witness shows as they went, for the rounds a
//! [`RoundJudge`] flags.

pub mod capture;
pub mod client;
pub mod cookies;
mod counter;
pub mod exchange;
mod idempotency;
mod precondition_required;
mod race;
mod recorder;
mod round;
pub mod setup;
pub mod slice;
mod stale_write;
mod stock;
mod sustained;
mod transition;

pub use sustained::distinct_ids;
mod unique_create;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::history::{Cause, Outcome, Phase, RequestRecord};
use crate::scenario::template::{value_text, Vars};
use crate::scenario::{
    Locator, PassedOver, Scenario, Secrets, Setup, SyncMode, WorkloadId, WorkloadKind,
};
pub use capture::{Flagged, RoundJudge};
use client::RequestBuilder;
use exchange::{ClientSettings, Exchange, Incident, Prepared};
use recorder::{Meta, Recorder};

/// Told about progress while a scenario runs (the terminal's progress bar listens).
pub trait Progress: Send + Sync {
    /// A scenario of `workload` starts; `steps` is its number of rounds (or increments
    /// in all, or attempts).
    fn start(&self, scenario: &str, workload: WorkloadId, steps: u64);
    /// What the scenario is doing before its first step ("probe single-packet",
    /// "setting up"): a probe or a set-up request can wait out a whole timeout.
    fn doing(&self, _what: &str) {}
    /// One step finished; `records` are the requests it made.
    fn step(&self, records: &[RequestRecord]);
    /// The scenario is over.
    fn finish(&self);
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: WorkloadId, _: u64) {}
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
    /// Set (by Ctrl-C or SIGTERM) to stop after the current round; the run is then
    /// incomplete.
    pub stop: Arc<AtomicBool>,
    /// Set (by a second Ctrl-C or SIGTERM) to stop at once: requests in flight are
    /// cancelled and recorded as `indeterminate` (cause `interrupted`).
    pub abort: Abort,
    pub progress: Arc<dyn Progress>,
    /// The target is a reference server (the built-in one, or `contend serve` with
    /// `--arrivals`), so arrival stamps can be fetched from it.
    pub arrival_stamps: bool,
    /// Extra root certificates (DER) trusted for https targets (`--ca-cert`).
    pub ca_certs: Arc<Vec<Vec<u8>>>,
    /// Where every record goes as soon as it is complete (`--jsonl`), if anywhere.
    pub jsonl: Option<Arc<crate::history::JsonlStream>>,
    /// The client certificate and key offered to https targets (`--client-cert`,
    /// `--client-key`: mutual TLS).
    pub client_identity: Option<Arc<exchange::ClientIdentity>>,
    /// Trust any certificate (`--insecure`): for a throw-away self-signed host only.
    pub insecure: bool,
    /// Judges each round as it ends, so that the engine keeps the wire exchanges of the
    /// witnesses of its violations (`capture.rs`); `None`: nothing is captured.
    pub judge: Option<Arc<dyn RoundJudge>>,
    /// Replaying a round (`contend replay`): the writers whose writes a round sends, in
    /// the order they are released. Lane `i` sends writer `writer_order[i]`'s write, with
    /// that writer's marker and labels; `None`: writers 0 to n-1.
    pub writer_order: Option<Arc<Vec<u32>>>,
    /// The part of the scenario this process runs in a sharded run (`contend run
    /// --shard I/N`); `None`: all of it.
    pub slice: Option<Slice>,
    /// No sustained attempt starts before this time (`--start-at`), so that the shards of
    /// a run, started at different moments, contend together.
    pub start_at: Option<std::time::SystemTime>,
    /// Takes a sustained run's attempts as they are spooled (the checker does, in
    /// `run`), so the spool is not read back to check them; `None`: it is read back.
    pub tap: Option<Arc<dyn RecordTap>>,
}

/// Takes a sustained run's records as they are written to its spool, batch by batch, on
/// the spool writer's thread.
pub trait RecordTap: Send + Sync {
    fn take(&self, records: Vec<RequestRecord>);
}

/// The part of a scenario that one shard of a sharded run takes: shard `index` (from 0)
/// of `count` runs the connections, attempts and rounds whose global number `n` has
/// `n mod count == index`, so that the shards together run what one process would, each
/// number exactly once and under the same name (writer `w7` is the same writer whichever
/// shard runs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub index: u32,
    pub count: u32,
}

impl Slice {
    /// Whether this shard takes global number `n` (a connection, an attempt, a round).
    pub fn takes(&self, n: u64) -> bool {
        n % u64::from(self.count.max(1)) == u64::from(self.index)
    }

    /// The global number of this shard's `local`-th item.
    pub fn global(&self, local: u64) -> u64 {
        local * u64::from(self.count.max(1)) + u64::from(self.index)
    }

    /// How many of the global numbers `0..total` this shard takes.
    pub fn share(&self, total: u64) -> u64 {
        let count = u64::from(self.count.max(1));
        (total + count - 1 - u64::from(self.index).min(count - 1)) / count
    }

    /// This shard's connections (writer numbers) of `total`.
    pub fn connections(&self, total: u32) -> Vec<u32> {
        (0..total).filter(|w| self.takes(u64::from(*w))).collect()
    }

    /// Whether this shard creates the resources every shard shares (the first does; the
    /// others wait until they can read them).
    pub fn creates(&self) -> bool {
        self.index == 0
    }
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
            abort: Abort::default(),
            progress: Arc::new(NoProgress),
            arrival_stamps: false,
            ca_certs: Arc::default(),
            jsonl: None,
            client_identity: None,
            insecure: false,
            judge: None,
            writer_order: None,
            slice: None,
            start_at: None,
            tap: None,
        }
    }

    /// The writer whose write lane `lane` of a round sends (see
    /// [`RunContext::writer_order`]).
    fn writer_of(&self, lane: u32) -> u32 {
        self.writer_order
            .as_ref()
            .and_then(|order| order.get(lane as usize).copied())
            .unwrap_or(lane)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.abort.is_set()
    }

    /// Runs `send` (a request sent at `start`) unless the run is stopped at once first:
    /// then the request is cancelled and its exchange says so.
    async fn unless_aborted(
        &self,
        start: Instant,
        send: impl Future<Output = Exchange>,
    ) -> Exchange {
        tokio::select! {
            exchange = send => exchange,
            () = self.abort.wait() => exchange::failed(start, Incident::new(
                Cause::Interrupted,
                "cancelled: the run was stopped at once (a second Ctrl-C or SIGTERM)",
            )),
        }
    }

    /// Streams complete records to the run's JSON Lines history, if it has one.
    async fn publish(&self, records: &[RequestRecord]) {
        if let Some(jsonl) = &self.jsonl {
            jsonl.publish(records).await;
        }
    }

    /// Like [`RunContext::unless_aborted`] for a round's requests, sent together.
    async fn all_unless_aborted(
        &self,
        n: usize,
        send: impl Future<Output = Vec<Exchange>>,
    ) -> Vec<Exchange> {
        let start = Instant::now();
        tokio::select! {
            exchanges = send => exchanges,
            () = self.abort.wait() => (0..n).map(|_| exchange::failed(start, Incident::new(
                Cause::Interrupted,
                "cancelled: the run was stopped at once (a second Ctrl-C or SIGTERM)",
            ))).collect(),
        }
    }
}

/// The signal to stop a run at once, shared by everything that waits on the network.
#[derive(Clone, Default)]
pub struct Abort {
    set: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

impl Abort {
    /// Stops the run at once: every wait on the network ends now.
    pub fn abort(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`Abort::abort`] was called.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Returns once the run is aborted (at once, if it already is).
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if self.is_set() {
            return;
        }
        notified.await;
    }
}

/// The outcome of running one scenario: its history and whether it ran to the end.
#[derive(Debug)]
pub struct ScenarioRun {
    pub records: Vec<RequestRecord>,
    /// A long run's records, streamed to disk as they were made (sustained runs); they
    /// are not in `records` (a run checks them as they are spooled: `RunContext::tap`).
    pub spool: Option<crate::history::Spool>,
    /// Why the scenario could not run (or stopped): an unreachable or misbehaving server.
    pub error: Option<String>,
    /// False when the run was interrupted or aborted before its last round.
    pub complete: bool,
    pub duration: Duration,
    /// The mode the writes were released in (or were to be, when it could not be used):
    /// the scenario's own, or what `auto` chose; for `sustained`, the mode that chose its
    /// connections' client; `None` for a counter, whose writers run free.
    pub sync: Option<SyncMode>,
    /// The modes `auto` tried before `sync` and why the target could not take them.
    pub sync_passed_over: Vec<PassedOver>,
    /// Every secret of the scenario: its file's, and those learned while it ran (captured
    /// credentials, cookies), for redacting what is written from its result. (The
    /// scenario's own set: the two are one, shared.)
    pub secrets: Secrets,
    /// The exchanges kept as they went for witnesses (`capture.rs`): the set-up, and
    /// those the flagged rounds' witnesses need; empty without a [`RoundJudge`].
    pub exchanges: Vec<crate::history::wire::WireExchange>,
}

/// Runs one scenario against `base` (the target's base URL).
pub async fn run(scenario: &Scenario, base: url::Url, ctx: &RunContext) -> ScenarioRun {
    let started = Instant::now();
    let mut session = Session::new(scenario, base.clone(), ctx);
    let steps = match ctx.slice {
        Some(slice) => slice.share(steps(scenario)),
        None => steps(scenario),
    };
    ctx.progress
        .start(&scenario.name, scenario.workload.kind.id(), steps);
    let (sync, sync_passed_over, chosen) =
        choose_sync_mode(scenario, &session.settings, &base, &*ctx.progress).await;
    let result = match chosen {
        Err(e) => Err(e),
        Ok(()) => {
            if let Some(mode) = sync {
                session.settings.sync = mode;
            }
            ctx.progress.doing("setting up");
            match session.run_setup_steps().await {
                Err(e) => Err(e),
                Ok(()) => run_workload(&mut session).await,
            }
        }
    };
    session.take_step_records();
    session.publish().await;
    ctx.progress.finish();
    let mut exchanges = session.steps.take_wire();
    if let Some(capture) = &mut session.capture {
        exchanges.extend(capture.take());
    }
    for e in &mut exchanges {
        e.redact(&session.secrets);
    }
    // A run stopped at once fails wherever it was; that is the interruption, not an error.
    let error = result.err().filter(|_| !ctx.abort.is_set()).map(|e| {
        let e = match session.settings.client_cert_advice() {
            Some(advice) if !exchange::is_tls_failure(&e) => format!("{e}; {advice}"),
            _ => e,
        };
        session.secrets.redact(&e)
    });
    ScenarioRun {
        complete: error.is_none() && !ctx.stopped(),
        error,
        records: session.records,
        spool: session.spool,
        duration: started.elapsed(),
        sync,
        sync_passed_over,
        secrets: session.secrets.clone(),
        exchanges,
    }
}

/// Reads a sustained scenario's hot resources once more, as its final read, from a
/// process that did not run it: `contend merge --target`, after every shard of a sharded
/// run has finished, so the value read holds every shard's writes. Runs the scenario's
/// `[[setup]]` steps first (a login), finds the resources at the ids every shard used
/// (the same [`RunContext::nonce`] and seed make the same `{unique}`), and returns the
/// records of its reads (phase `final`, each with the value it read), or why it could
/// not read them.
pub async fn final_reads(
    scenario: &Scenario,
    base: url::Url,
    ctx: &RunContext,
) -> Result<Vec<RequestRecord>, String> {
    let mut session = Session::new(scenario, base, ctx);
    let result = match session.run_setup_steps().await {
        Ok(()) => sustained::read_finals(&mut session).await,
        Err(e) => Err(e),
    };
    result
        .map(|()| {
            std::mem::take(&mut session.records)
                .into_iter()
                .filter(|r| r.phase == Phase::Final)
                .collect()
        })
        .map_err(|e| session.secrets.redact(&e))
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
/// does). For `sustained`, whose writes are never released together, the mode chooses
/// its connections' client, and `auto` the first the target takes: contend's own
/// HTTP/1.1 client (as `last-byte`), else HTTP/2 (as `single-packet`). `None` for a
/// counter, whose writers run free. With the mode come the candidates passed over
/// before it, each with why. The error, when no mode can be used, says why for each;
/// the mode is returned with it, for the reports.
async fn choose_sync_mode(
    scenario: &Scenario,
    settings: &ClientSettings,
    base: &url::Url,
    progress: &dyn Progress,
) -> (Option<SyncMode>, Vec<PassedOver>, Result<(), String>) {
    let (candidates, writers) = match scenario.workload.kind {
        // Each connection is one writer: a stream each is all single-packet needs.
        WorkloadKind::Sustained { .. } => (scenario.sync.sustained_candidates(), 1),
        _ if scenario.workload.kind.rules().released_together => (
            scenario.sync.candidates(scenario.writer_connections),
            scenario.workload.writers,
        ),
        _ => return (None, Vec::new(), Ok(())),
    };
    // A target that takes no connection refuses every mode alike: say that, once.
    if let Err(why) = reachable(base, settings.timeout).await {
        return (None, Vec::new(), Err(why));
    }
    let mut refusals = Vec::new();
    for &mode in &candidates {
        progress.doing(&format!("probe {mode}"));
        let trial = ClientSettings {
            sync: mode,
            ..settings.clone()
        };
        match client::Writers::check(mode, writers, &trial, base).await {
            Ok(()) => return (Some(mode), refusals, Ok(())),
            Err(why) => refusals.push(PassedOver { mode, why }),
        }
    }
    let error = match refusals.as_slice() {
        [] => "no sync mode can be used".to_string(),
        [one] => one.why.clone(),
        all => {
            let why: Vec<String> = all.iter().map(PassedOver::to_string).collect();
            format!(
                "sync auto found no mode the target takes ({})",
                why.join("; ")
            )
        }
    };
    (refusals.last().map(|p| p.mode), Vec::new(), Err(error))
}

/// Whether `base`'s host takes a TCP connection on its port within `timeout`; the error
/// says why not, and what to check.
async fn reachable(base: &url::Url, timeout: Duration) -> Result<(), String> {
    let origin = base.origin().ascii_serialization();
    let (Some(host), Some(port)) = (base.host_str(), base.port_or_known_default()) else {
        return Ok(());
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let why =
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no connection within {timeout:?}"),
        };
    Err(cannot_connect(&origin, &why))
}

/// "WHAT: cannot connect (WHY)", with what to check.
fn cannot_connect(what: &str, why: &str) -> String {
    format!("{what}: cannot connect ({why}); is the server running and is the target right?")
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
    /// The set-up steps and the login they may repeat.
    steps: Arc<setup::Steps>,
    /// The file's secrets and those learned while running (the scenario's own set,
    /// shared, so its final reports see what was learned).
    secrets: Secrets,
    /// The wire capture, when the run judges rounds (`capture.rs`).
    capture: Option<capture::Capture>,
}

impl<'a> Session<'a> {
    fn new(scenario: &'a Scenario, base: url::Url, ctx: &'a RunContext) -> Self {
        let secrets = scenario.secrets.clone();
        let captures = setup::Captures::default();
        let cookies = scenario
            .auth
            .cookies
            .then(|| Arc::new(cookies::Cookies::new(secrets.clone())));
        let builder =
            RequestBuilder::for_scenario(base.clone(), scenario, captures.clone(), cookies);
        let recorder = Recorder::new(
            &scenario.name,
            scenario.workload.kind.id(),
            scenario.resource.version.clone(),
            scenario.resource.write_version.clone(),
            secrets.clone(),
            ctx.origin,
            &scenario.expect.conflict,
            scenario.expect.actionable.clone(),
        );
        let refresh = scenario.auth.refresh.as_ref().and_then(|refresh| {
            let step = scenario.setup.get(refresh.step)?;
            Some((step.clone(), refresh.clone()))
        });
        let steps = Arc::new(setup::Steps::new(
            builder.clone(),
            recorder.clone(),
            captures,
            secrets.clone(),
            refresh,
            unique(ctx, scenario, None),
            ctx.clone(),
        ));
        let capture = ctx.judge.clone().map(capture::Capture::new);
        Session {
            scenario,
            ctx,
            builder,
            steps,
            secrets,
            settings: ClientSettings {
                timeout: scenario.timeout,
                // The counter's writers run free and ignore `sync`; for the others
                // (a sustained run's connections take it as the choice of client,
                // single-packet: HTTP/2), `run` sets the mode once it is chosen and
                // checked.
                sync: SyncMode::Barrier,
                arrivals: ctx
                    .arrival_stamps
                    .then(|| base.join(crate::protocol::ARRIVALS_PATH).ok())
                    .flatten(),
                ca_certs: ctx.ca_certs.clone(),
                client_identity: ctx.client_identity.clone(),
                insecure: ctx.insecure,
                asked_for_client_cert: Arc::default(),
            },
            reader: None,
            recorder,
            records: Vec::new(),
            published: 0,
            spool: None,
            capture,
        }
    }

    /// Notes the request of the record just pushed, for the wire capture.
    fn note_wire(&mut self, prepared: &Prepared, exchange: &Exchange) {
        if let Some(capture) = &mut self.capture {
            let at = self.records.len().saturating_sub(1);
            capture.note(at, prepared, &exchange.headers);
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

    /// Runs the `[[setup]]` steps in order, before anything else is sent.
    async fn run_setup_steps(&mut self) -> Result<(), String> {
        if self.scenario.setup.is_empty() {
            return Ok(());
        }
        let reader = self.reader()?;
        let capture = self.capture.is_some();
        let result = self
            .steps
            .run_all(&reader, &self.scenario.setup, capture)
            .await;
        self.take_step_records();
        result
    }

    /// Runs the login step again if `[auth] refresh` says it is due.
    async fn refresh_if_due(&mut self) -> Result<(), String> {
        let reader = self.reader()?;
        let result = self.steps.refresh_if_due(&reader).await;
        self.take_step_records();
        result
    }

    /// Moves the set-up steps' records (logins from tasks too) into the history.
    fn take_step_records(&mut self) {
        self.records.extend(self.steps.take_records());
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
        let mut prepared = self.builder.prepare(template, vars)?;
        let reader = self.reader()?;
        let accepts = |s: u16| {
            if expect.is_empty() {
                (200..300).contains(&s)
            } else {
                expect.contains(&s)
            }
        };
        let mut exchange = self
            .ctx
            .unless_aborted(Instant::now(), exchange::send(&reader, prepared.clone()))
            .await;
        self.builder
            .remember(cookies::Conn::Reader, &prepared, &exchange);
        if self.steps.refreshes_on(exchange.answered()) {
            // Refused for an expired login, say: log in again and send it once more.
            let refused = self.recorder.record(
                phase,
                meta.clone(),
                &prepared,
                &exchange,
                exchange::read_outcome(&exchange, accepts),
            );
            self.records.push(refused);
            self.note_wire(&prepared, &exchange);
            let logged_in = self.steps.refresh_after(&reader, exchange.start).await;
            self.take_step_records();
            logged_in?;
            prepared = self.builder.prepare(template, vars)?;
            exchange = self
                .ctx
                .unless_aborted(Instant::now(), exchange::send(&reader, prepared.clone()))
                .await;
            self.builder
                .remember(cookies::Conn::Reader, &prepared, &exchange);
        }
        let outcome = exchange::read_outcome(&exchange, accepts);
        let record = self
            .recorder
            .record(phase, meta, &prepared, &exchange, outcome);
        self.records.push(record);
        self.note_wire(&prepared, &exchange);
        if outcome == Outcome::Ok {
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
            Setup::Existing { id } => Ok(self.builder.render(id, vars)),
            Setup::Nothing => Ok(String::new()),
            Setup::CreateAt {
                request,
                expect,
                id,
            } => {
                let id = self.builder.render(id, vars);
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
        unique(self.ctx, self.scenario, round)
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

/// `{unique}` for a round of `scenario` (`None`: for what runs once per scenario).
fn unique(ctx: &RunContext, scenario: &Scenario, round: Option<u32>) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (ctx.nonce, ctx.seed, &scenario.name).hash(&mut h);
    let run = h.finish() & 0xffff_ffff_ffff;
    match round {
        Some(round) => format!("u{run:012x}r{round:06}"),
        None => format!("u{run:012x}s"),
    }
}

/// Finds a value in a response: a header's text, or a JSON pointer into the body.
fn locate(locator: &Locator, exchange: &Exchange) -> Option<Value> {
    match locator {
        Locator::Header(field) => field
            .name()
            .and_then(|name| exchange.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(|v| Value::String(v.to_string())),
        Locator::Json(pointer) => {
            counter::json_value_at(&exchange.body, pointer).filter(|v| !v.is_null())
        }
        Locator::Regex(pattern) => {
            let found = pattern.0.captures(&exchange.body)?;
            let text = found.get(1).or_else(|| found.get(0))?.as_str();
            Some(Value::String(text.to_string()))
        }
        Locator::Cookie(name) => exchange
            .headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|line| line.to_str().ok())
            .filter_map(cookies::parse_set_cookie)
            .find(|(n, _, _)| n == name)
            .map(|(_, value, _)| Value::String(value)),
        Locator::Decoded(inner, filter) => locate(inner, exchange)
            .and_then(|v| filter.decode(&value_text(&v)))
            .map(Value::String),
    }
}

fn locator_text(locator: &Locator) -> String {
    locator.to_string()
}

fn excerpt(body: &str) -> String {
    const MAX: usize = 200;
    if body.is_empty() {
        return "(empty)".into();
    }
    if body.len() >= exchange::BODY_LIMIT {
        let start: String = body.chars().take(MAX).collect();
        return format!(
            "{start:?}… (cut at the body limit, {} bytes)",
            exchange::BODY_LIMIT
        );
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
    match (exchange.answered(), &exchange.incident) {
        (None, Some(i)) if exchange::is_tls_failure(&i.message) => {
            format!("{what}: {}", i.message)
        }
        (None, Some(i)) if i.cause == Cause::Connect => {
            // The message may say "cannot connect" already (`exchange::describe`).
            let why = i
                .message
                .strip_prefix("cannot connect: ")
                .unwrap_or(&i.message);
            cannot_connect(&what, why)
        }
        (None, Some(i)) => format!("{what}: no whole answer ({})", i.message),
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
/// prefix of another and a body search cannot confuse writer 1 with writer 10
/// (`ct{seed:016x}r{round:07}w{writer:05}`, or `…probe`), written without `format!`:
/// a sustained run makes one per attempt.
fn marker(seed: u64, round: u32, writer: Option<u32>) -> String {
    /// `n` in decimal, zero-padded to `width` digits.
    fn padded(out: &mut Vec<u8>, n: u32, width: usize) {
        let mut digits = [b'0'; 10];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[digits.len() - width.max(digits.len() - i)..]);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(34);
    out.extend_from_slice(b"ct");
    for shift in (0..16).rev() {
        out.push(HEX[((seed >> (shift * 4)) & 0xf) as usize]);
    }
    out.push(b'r');
    padded(&mut out, round, 7);
    match writer {
        Some(w) => {
            out.push(b'w');
            padded(&mut out, w, 5);
        }
        None => out.extend_from_slice(b"probe"),
    }
    // ASCII throughout.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Exchange {
        let now = Instant::now();
        Exchange {
            status: Some(status),
            headers: reqwest::header::HeaderMap::new(),
            body: body.to_string(),
            incident: None,
            start: now,
            end: now,
            arrival_ns: None,
        }
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

    #[test]
    fn a_marker_reads_as_its_format_says() {
        for (seed, round, writer) in [
            (0, 0, Some(0)),
            (0xdead_beef_0123_4567, 1_234, Some(42)),
            (u64::MAX, u32::MAX, Some(u32::MAX)),
            (7, 99, None),
        ] {
            let expected = match writer {
                Some(w) => format!("ct{seed:016x}r{round:07}w{w:05}"),
                None => format!("ct{seed:016x}r{round:07}probe"),
            };
            assert_eq!(marker(seed, round, writer), expected);
        }
    }
}
