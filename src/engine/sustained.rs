//! The `sustained` workload: for a duration or a number of attempts, `connections`
//! connections run read-then-conditional-write attempts against `resources` hot
//! resources created at set-up, each write storing the value read plus one.
//!
//! Closed model (no `rate`): every connection starts its next attempt as soon as its
//! last one ended. Open model (`rate = R`): attempt `i` is due at `i / R` seconds after
//! the start, whatever happened before; a connection takes the next due attempt, waits
//! for its time if it is early and starts at once if it is late, and the record keeps
//! when it was due, so latency can be measured from there (the coordinated-omission
//! correction of wrk2). Attempt `i` goes to resource `i mod resources`. A conflict is
//! not retried: it is counted, and the connection goes on with its next attempt.
//!
//! Each connection speaks HTTP/1.1 through the engine's own small client
//! ([`H1Client`], a fraction of reqwest's cost per request) when the scenario's `sync`
//! is `barrier` or `last-byte`, and HTTP/2 through reqwest (h2c with prior knowledge,
//! or h2 by ALPN over https) when it is `single-packet`, for targets that speak only
//! HTTP/2. Both report what they saw the same way, so their outcomes agree. Each
//! resource's read is rendered once. The attempts' records are not kept: they go in
//! batches of 256 through a bounded channel to one thread that appends them to a
//! [`Spool`] (`ScenarioRun::spool`), so memory stays bounded however long the run, and
//! then to the [`super::RecordTap`], if any, which checks them as they go;
//! set-up and final reads stay in memory.
//! With a JSON Lines history (`--jsonl`), each connection also streams its attempts'
//! records there: every [`LIVE_BATCH`] records, or after an attempt once
//! [`LIVE_EVERY`] has passed since it last did, so a follower sees a slow run's attempts
//! as they end and a fast run's in batches.
//!
//! In a sharded run ([`super::Slice`]) each shard runs its share of the connections and
//! of the one timetable (attempt `i` on shard `i mod N`, due at `i / rate` as ever) against
//! the same hot resources, shard `s`'s `k`-th attempt on resource `(k + s) mod resources`
//! (so every shard contends on every resource): the first shard creates them at a known
//! id, the others read
//! them until they can; no attempt starts before `--start-at`; and no shard reads the
//! final values, which hold every shard's writes: `contend merge --target` does, once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::history::{Phase, RequestRecord, Spool};
use crate::scenario::template::Vars;
use crate::scenario::{Locator, Scenario, Setup, SustainedLimit, SyncMode, Var};

use super::client::RequestBuilder;
use super::exchange::write_outcome;
use super::exchange::{self, ClientSettings, Exchange, Prepared};
use super::race::h1::H1Client;
use super::{marker, Meta, Recorder, RunContext, Session};

/// How many attempts a run will make, as far as is known before it starts (for the
/// progress bar): the count, or the timetable's length; 0 for a closed run by duration.
pub(super) fn expected_attempts(limit: SustainedLimit, rate: Option<u32>) -> u64 {
    match (limit, rate) {
        (SustainedLimit::Requests(n), _) => n,
        (SustainedLimit::Duration(d), Some(rate)) => (d.as_secs_f64() * f64::from(rate)) as u64,
        (SustainedLimit::Duration(_), None) => 0,
    }
}

pub(super) async fn run(
    s: &mut Session<'_>,
    resources: u32,
    limit: SustainedLimit,
    rate: Option<u32>,
) -> Result<(), String> {
    let value_at = value_locator(s)?;
    if resources > 1 && !distinct_ids(&s.scenario.resource.setup) {
        return Err(format!(
            "resources = {resources} needs every hot resource at its own id: `create` with \
             an `id` locator in [resource], or a known id made with `{{unique}}` (id = \
             \"/texts/hot-{{unique}}\" with create = {{ method = \"PUT\", path = \"{{id}}\" }}); \
             a fixed id is one resource, and every hot resource needs its own counter"
        ));
    }

    let mut ids = Vec::new();
    for k in 0..resources {
        let meta = Meta {
            resource: Some(k),
            ..Meta::default()
        };
        let first = match s.ctx.slice.filter(|slice| !slice.creates()) {
            // Another shard creates the resources every shard shares.
            Some(slice) if matches!(s.scenario.resource.setup, Setup::CreateAt { .. }) => {
                let id = known_id(s, k);
                let first = wait_until_readable(s, meta, &id, slice).await?;
                ids.push(id);
                first
            }
            _ => {
                let vars = Vars {
                    unique: Some(s.unique(Some(k))),
                    ..Vars::default()
                };
                let id = s.create(meta.clone(), &vars).await?;
                let (_, first) = s.read_version(Phase::Setup, meta, &id).await?;
                ids.push(id);
                first
            }
        };
        let initial = super::counter::read_value(&value_at, &first)?;
        if let Some(last) = s.records.last_mut() {
            last.value = Some(initial);
        }
    }

    let scenario = Arc::new(s.scenario.clone());
    let reads: Vec<Result<Prepared, String>> = ids
        .iter()
        .map(|id| {
            let vars = Vars {
                id: Some(id.clone()),
                ..Vars::default()
            };
            s.builder.prepare(&scenario.resource.read, &vars)
        })
        .collect();
    let reads = Arc::new(reads);
    let ids = Arc::new(ids);
    let next = Arc::new(AtomicU64::new(0));
    // A shard runs its share of the connections, under their global numbers.
    let writers = match s.ctx.slice {
        Some(slice) => slice.connections(s.scenario.workload.writers),
        None => (0..s.scenario.workload.writers).collect(),
    };
    let mut clients = Vec::new();
    for _ in &writers {
        clients.push(Link::new(&s.settings)?);
    }
    s.publish().await; // the set-up, before the connections stream their attempts
    let (spool, mut writer) =
        Spool::create(&s.scenario.name, s.ctx.nonce).map_err(|e| e.to_string())?;
    s.spool = Some(spool);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<RequestRecord>>(SPOOL_QUEUE);
    // Writes every batch it receives, until all senders are gone, and hands it to the
    // tap once written.
    let tap = s.ctx.tap.clone();
    let spooler = tokio::task::spawn_blocking(move || {
        while let Some(batch) = receiver.blocking_recv() {
            writer.append(&batch)?;
            if let Some(tap) = &tap {
                tap.take(batch);
            }
        }
        writer.finish()
    });
    wait_for_start(s.ctx).await;
    let start = Instant::now();
    let login = (s.steps.clone(), s.reader()?);
    let mut tasks = Vec::new();
    for (w, client) in writers.into_iter().zip(clients) {
        let connection = Connection {
            scenario: scenario.clone(),
            login: login.clone(),
            dynamic: s.scenario.auth.refresh.is_some() || s.scenario.auth.cookies,
            builder: s.builder.clone(),
            recorder: s.recorder.clone(),
            client,
            ctx: s.ctx.clone(),
            value_at: value_at.clone(),
            ids: ids.clone(),
            reads: reads.clone(),
            next: next.clone(),
            writer: w,
            start,
            limit,
            rate,
            spool: sender.clone(),
            published: 0,
            published_at: Instant::now(),
        };
        tasks.push(tokio::spawn(connection.run()));
    }
    drop(sender);
    for task in tasks {
        if let Err(e) = task.await {
            return Err(format!("a connection's task failed: {e}"));
        }
    }
    match spooler.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(e) => return Err(format!("the history writer failed: {e}")),
    }
    s.take_step_records();

    if s.ctx.slice.is_some() {
        // The resources hold other shards' writes too: their final value is read once
        // every shard has finished, by `contend merge --target`.
        return Ok(());
    }
    read_each(s, &ids, &value_at).await
}

/// Where a sustained scenario's resources hold their count.
fn value_locator(s: &Session<'_>) -> Result<Locator, String> {
    s.scenario
        .resource
        .value
        .clone()
        .ok_or_else(|| "a sustained scenario needs `value` in [resource]".to_string())
}

/// Whether a set-up gives every hot resource its own id: a server-made one, or a known id
/// made with `{unique}` (which differs from resource to resource).
pub fn distinct_ids(setup: &Setup) -> bool {
    match setup {
        Setup::Create { .. } => true,
        Setup::CreateAt { id, .. } | Setup::Existing { id } => id.vars().any(|v| v == Var::Unique),
        Setup::Nothing => false,
    }
}

/// Hot resource `k`'s id, where the scenario knows it beforehand (`[resource] id`, made
/// the same on every shard by the run's nonce and seed).
fn known_id(s: &Session<'_>, k: u32) -> String {
    let vars = Vars {
        unique: Some(s.unique(Some(k))),
        ..Vars::default()
    };
    match &s.scenario.resource.setup {
        Setup::CreateAt { id, .. } | Setup::Existing { id } => s.builder.render(id, &vars),
        Setup::Create { .. } | Setup::Nothing => String::new(),
    }
}

/// How long a shard that does not create the shared resources waits for them, past the
/// start time (or past when it began waiting, without one).
const CREATE_PATIENCE: Duration = Duration::from_secs(60);
/// How often it reads them meanwhile.
const CREATE_POLL: Duration = Duration::from_millis(100);

/// Reads a resource another shard creates until the read succeeds (every failed read is
/// recorded), for up to [`CREATE_PATIENCE`] past the start time; returns the first
/// successful read.
async fn wait_until_readable(
    s: &mut Session<'_>,
    meta: Meta,
    id: &str,
    slice: super::Slice,
) -> Result<Exchange, String> {
    let deadline = Instant::now() + until(s.ctx.start_at) + CREATE_PATIENCE;
    loop {
        match s.read_version(Phase::Setup, meta.clone(), id).await {
            Ok((_, first)) => return Ok(first),
            Err(e) if Instant::now() >= deadline || s.ctx.stopped() => {
                return Err(format!(
                    "shard {} of {}: the shared resource {id}, which shard 1 creates, could \
                     not be read within {} s past the start: {e}",
                    slice.index + 1,
                    slice.count,
                    CREATE_PATIENCE.as_secs()
                ))
            }
            Err(_) => tokio::time::sleep(CREATE_POLL).await,
        }
    }
}

/// The time left until `at` (zero once it has passed, or without one).
fn until(at: Option<std::time::SystemTime>) -> Duration {
    at.and_then(|at| at.duration_since(std::time::SystemTime::now()).ok())
        .unwrap_or_default()
}

/// Waits until [`RunContext::start_at`], if it is still ahead, or until the run is
/// stopped.
async fn wait_for_start(ctx: &RunContext) {
    loop {
        let left = until(ctx.start_at);
        if left.is_zero() || ctx.stopped() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(left.min(Duration::from_millis(200))) => {}
            () = ctx.abort.wait() => return,
        }
    }
}

/// Reads every hot resource after the run (phase `final`), each record with its value.
async fn read_each(s: &mut Session<'_>, ids: &[String], value_at: &Locator) -> Result<(), String> {
    for (k, id) in ids.iter().enumerate() {
        let meta = Meta {
            resource: Some(k as u32),
            ..Meta::default()
        };
        let (_, last) = s.read_version(Phase::Final, meta, id).await?;
        let final_value = super::counter::read_value(value_at, &last)?;
        if let Some(last) = s.records.last_mut() {
            last.value = Some(final_value);
        }
    }
    Ok(())
}

/// The final read of a sustained scenario's shared hot resources, by a process that did
/// not run it ([`super::final_reads`]).
pub(super) async fn read_finals(s: &mut Session<'_>) -> Result<(), String> {
    let crate::scenario::WorkloadKind::Sustained { resources, .. } = s.scenario.workload.kind
    else {
        return Err(format!(
            "{} is a {} scenario: only a sustained one's resources are read again",
            s.scenario.name,
            s.scenario.workload.kind.name()
        ));
    };
    if matches!(s.scenario.resource.setup, Setup::Create { .. }) {
        return Err(
            "its resources have server-made ids (`create` with an `id` locator), which no \
             other process can know"
                .to_string(),
        );
    }
    let value_at = value_locator(s)?;
    let ids: Vec<String> = (0..resources).map(|k| known_id(s, k)).collect();
    read_each(s, &ids, &value_at).await
}

/// Batches waiting for the spool writer; connections wait when it falls behind.
const SPOOL_QUEUE: usize = 64;
/// Records a connection hands over at a time (fewer wake-ups of the writer's thread).
const SPOOL_BATCH: usize = 256;
/// Records a connection streams to the JSON Lines history at a time, at the most.
const LIVE_BATCH: usize = 64;
/// The longest a finished attempt waits before it is streamed to the JSON Lines history.
const LIVE_EVERY: Duration = Duration::from_millis(100);

/// A connection's client: our own HTTP/1.1 one, which costs a fraction of reqwest's
/// per request, or reqwest where the target speaks only HTTP/2 (`single-packet`).
enum Link {
    H1(H1Client),
    Reqwest(reqwest::Client),
}

impl Link {
    fn new(settings: &ClientSettings) -> Result<Link, String> {
        Ok(match settings.sync {
            SyncMode::SinglePacket => Link::Reqwest(exchange::connection(settings)?),
            SyncMode::Barrier | SyncMode::LastByte => Link::H1(H1Client::new(
                settings.timeout,
                super::race::tls_config(settings, b"http/1.1")?,
            )),
        })
    }

    async fn send(&mut self, request: &Prepared) -> Exchange {
        match self {
            Link::H1(h1) => h1.send(request).await,
            Link::Reqwest(client) => exchange::send(client, request.clone()).await,
        }
    }
}

/// One connection and everything it needs, owned so it can run in its own task.
struct Connection {
    scenario: Arc<Scenario>,
    /// Runs the login step again when due, on the scenario's reader connection.
    login: (Arc<super::setup::Steps>, reqwest::Client),
    builder: RequestBuilder,
    recorder: Recorder,
    client: Link,
    ctx: RunContext,
    value_at: Locator,
    ids: Arc<Vec<String>>,
    /// Each resource's read, rendered once (it never changes)...
    reads: Arc<Vec<Result<Prepared, String>>>,
    /// ...unless it may: a login can replace its token, or cookies are kept.
    dynamic: bool,
    /// The next attempt's index, shared by all connections.
    next: Arc<AtomicU64>,
    writer: u32,
    start: Instant,
    limit: SustainedLimit,
    rate: Option<u32>,
    /// Where the records go, in batches.
    spool: tokio::sync::mpsc::Sender<Vec<RequestRecord>>,
    /// How many of the records not yet spooled went to the JSON Lines history, and when.
    published: usize,
    published_at: Instant,
}

impl Connection {
    /// Takes attempts until the count is reached or the time is up.
    async fn run(mut self) {
        let mut records = Vec::new();
        let end = match self.limit {
            SustainedLimit::Duration(d) => Some(self.start + d),
            SustainedLimit::Requests(_) => None,
        };
        let mut round: u32 = 0;
        while !self.ctx.stopped() && round < u32::MAX {
            let local = self.next.fetch_add(1, Ordering::Relaxed);
            // A shard takes every count-th attempt of the one timetable.
            let i = self.ctx.slice.map_or(local, |slice| slice.global(local));
            if let SustainedLimit::Requests(n) = self.limit {
                if i >= n {
                    break;
                }
            }
            let due = self
                .rate
                .map(|rate| self.start + Duration::from_secs_f64(i as f64 / f64::from(rate)));
            if let Some(end) = end {
                // Nothing starts after the end, on the timetable or on the clock.
                if due.is_some_and(|d| d >= end) || Instant::now() >= end {
                    break;
                }
            }
            if let Some(due) = due {
                tokio::select! {
                    () = tokio::time::sleep_until(due.into()) => {}
                    () = self.ctx.abort.wait() => break,
                }
            }
            // Shard s's k-th attempt goes to resource (k + s) mod R: every shard goes round
            // every resource, and the attempts due together go to different ones, as
            // consecutive attempts do in one process (where this is i mod R).
            let offset = self.ctx.slice.map_or(0, |slice| u64::from(slice.index));
            let resource = ((local + offset) % self.ids.len().max(1) as u64) as u32;
            let first = records.len();
            self.attempt(resource, round, due, &mut records).await;
            self.ctx.progress.step(&records[first..]);
            self.publish(&records, false).await;
            if records.len() >= SPOOL_BATCH {
                self.publish(&records, true).await;
                self.published = 0;
                let batch = std::mem::replace(&mut records, Vec::with_capacity(SPOOL_BATCH + 2));
                if self.spool.send(batch).await.is_err() {
                    // The writer stopped on an error, which the run reports.
                    return;
                }
            }
            round += 1;
        }
        if !records.is_empty() {
            self.publish(&records, true).await;
            let _ = self.spool.send(records).await;
        }
    }

    /// Streams `records` past those already streamed to the JSON Lines history: all of
    /// them when `all`, else once [`LIVE_BATCH`] have gathered or [`LIVE_EVERY`] has
    /// passed since the last time.
    async fn publish(&mut self, records: &[RequestRecord], all: bool) {
        if self.ctx.jsonl.is_none() {
            return;
        }
        let fresh = records.get(self.published..).unwrap_or_default();
        let due = fresh.len() >= LIVE_BATCH || self.published_at.elapsed() >= LIVE_EVERY;
        if fresh.is_empty() || !(all || due) {
            return;
        }
        self.ctx.publish(fresh).await;
        self.published = records.len();
        self.published_at = Instant::now();
    }

    /// One read and the conditional write of the value read plus one.
    async fn attempt(
        &mut self,
        resource: u32,
        round: u32,
        due: Option<Instant>,
        records: &mut Vec<RequestRecord>,
    ) {
        let Some(id) = self.ids.get(resource as usize) else {
            return;
        };
        let meta = Meta {
            round,
            writer: Some(self.writer),
            attempt: 1,
            resource: Some(resource),
            scheduled: due,
            ..Meta::default()
        };
        let (steps, reader) = &self.login;
        if steps.refresh_if_due(reader).await.is_err() {
            return;
        }
        let conn = super::cookies::Conn::Writer(self.writer);
        let rendered;
        let read = if self.dynamic {
            // Rendered per attempt: it carries a token that a login may replace, or
            // this connection's cookies.
            let vars = Vars {
                id: Some(id.clone()),
                ..Vars::default()
            };
            match self
                .builder
                .prepare_on(conn, &self.scenario.resource.read, &vars)
            {
                Ok(p) => {
                    rendered = p;
                    &rendered
                }
                Err(_) => return,
            }
        } else {
            let Some(Ok(read)) = self.reads.get(resource as usize) else {
                return;
            };
            read
        };
        let mut exchange = self
            .ctx
            .unless_aborted(Instant::now(), self.client.send(read))
            .await;
        self.builder.remember(conn, read, &exchange);
        if steps.refreshes_on(exchange.answered()) {
            // Refused for an expired login: log in again; the next attempt carries it.
            let _ = steps.refresh_after(reader, exchange.start).await;
        }
        let Some((version, value)) = super::counter::record_read(
            &self.scenario,
            &self.value_at,
            &self.recorder,
            &meta,
            read,
            &mut exchange,
            records,
        ) else {
            return;
        };
        // The version as the read's record has it, shared with the write's.
        let version_sent = records.last().and_then(|r| r.version_returned.clone());

        let mark = marker(self.ctx.seed, round, Some(self.writer));
        let vars = Vars {
            id: Some(id.clone()),
            version: Some(version.clone()),
            writer: Some(self.writer),
            round: Some(round),
            marker: Some(mark.clone()),
            value: Some(value),
            ..Vars::default()
        };
        let Ok(write) = self
            .builder
            .prepare_on(conn, self.scenario.write_for(self.writer), &vars)
        else {
            return;
        };
        let mut exchange = self
            .ctx
            .unless_aborted(Instant::now(), self.client.send(&write))
            .await;
        self.builder.remember(conn, &write, &exchange);
        let outcome = write_outcome(&self.scenario.expect, &exchange);
        let meta = Meta {
            version_sent,
            marker: Some(mark),
            value: Some(value + 1),
            ..meta
        };
        records.push(self.recorder.record_taking(
            Phase::Write,
            meta,
            &write,
            &mut exchange,
            outcome,
        ));
    }
}
