//! One `contend run`: load scenarios, start the built-in server if a scenario needs it,
//! run each scenario through engine → check → latency → gate, and write the reports.
//!
//! This is the pipeline wired end to end; the CLI and the tests both call [`run`].
//! [`scenario_result`] is its second half, from a scenario's records to its result, and
//! `contend check` calls it on a saved history, so a re-check is the same pipeline.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::check;
use crate::convergence::Convergence;
use crate::engine::{self, Abort, Progress, RunContext};
use crate::gate;
use crate::history::{JsonlStream, Phase, RequestRecord, Spool};
use crate::latency::Latency;
use crate::metrics::Threshold;
use crate::report::{self, RunInfo, ScenarioResult};
use crate::scenario::{
    self, ConnectionPolicy, Diagnostic, PassedOver, Scenario, SyncChoice, SyncMode, SyncRan,
    Target, WorkloadId, WorkloadKind, DEFAULT_INCONCLUSIVE_ABOVE,
};
use crate::series::TimeSeries;
use crate::server::{self, Fault, ServerConfig};
use crate::shard::{self, Part, Placement, ShardSpec};

mod result;

pub use result::{recheck, scenario_result, LiveCheck, RunFacts, Spooled, StreamCheck};

/// What a run is asked to do; `None` means "as the scenario file says".
#[derive(Clone)]
pub struct RunOptions {
    pub paths: Vec<PathBuf>,
    /// `builtin` or a base URL, overriding every scenario's `target`.
    pub target: Option<String>,
    /// The report folder; default `reports/<run-id>/`.
    pub out: Option<PathBuf>,
    pub writers: Option<u32>,
    pub rounds: Option<u32>,
    pub timeout: Option<Duration>,
    /// How writes are released together (`auto` or a mode), overriding every
    /// scenario's `sync`.
    pub sync: Option<SyncChoice>,
    /// How the writers' connections live, overriding every scenario's
    /// `writer_connections` (where the workload's writes are released together).
    pub writer_connections: Option<ConnectionPolicy>,
    /// A PEM file of extra root certificates to trust for https targets.
    pub ca_cert: Option<PathBuf>,
    /// A PEM client certificate (chain) to offer https targets that ask for one, with
    /// its key in `client_key` (mutual TLS).
    pub client_cert: Option<PathBuf>,
    /// The PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate (a throw-away self-signed host); warned about on
    /// every run.
    pub insecure: bool,
    /// The target is a `contend serve` reference server: fetch its arrival stamps.
    pub arrivals: bool,
    pub seed: u64,
    /// How the built-in server behaves (a bug to inject, its window).
    pub server: ServerConfig,
    /// A fault the built-in server injects into its answers to writes (`--fault`).
    pub fault: Option<Fault>,
    pub progress: Arc<dyn Progress>,
    /// Set to stop after the current round (Ctrl-C, SIGTERM).
    pub stop: Arc<AtomicBool>,
    /// Set to stop at once, cancelling requests in flight (a second Ctrl-C or SIGTERM).
    pub abort: Abort,
    /// `--threshold`s, applied to every scenario on top of its own.
    pub thresholds: Vec<Threshold>,
    /// `--inconclusive-above`: overrides every scenario's `inconclusive_above`.
    pub inconclusive_above: Option<f64>,
    /// Where every record goes as soon as it is complete (`--jsonl`); the caller
    /// finishes it after the run.
    pub jsonl: Option<Arc<JsonlStream>>,
    /// `contend replay`: the writers a round sends, in their release order (see
    /// [`RunContext::writer_order`]); `None` for a run.
    pub writer_order: Option<Arc<Vec<u32>>>,
    /// This process's shard of a sharded run (`--shard I/N`): it runs its part of the
    /// split ([`shard::plan`]) and writes a shard folder for `contend merge`.
    pub shard: Option<ShardSpec>,
    /// The key the shards of a run share (`--run-key`); without it, one is made from
    /// `start_at` ([`shard::run_key`]).
    pub run_key: Option<String>,
    /// No sustained attempt starts before this time (`--start-at`).
    pub start_at: Option<std::time::SystemTime>,
}

impl RunOptions {
    /// Options for `paths` with every default: built-in server correct, no progress.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        RunOptions {
            paths,
            target: None,
            out: None,
            writers: None,
            rounds: None,
            timeout: None,
            sync: None,
            writer_connections: None,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            insecure: false,
            arrivals: false,
            seed: 1,
            server: ServerConfig::default(),
            fault: None,
            progress: Arc::new(engine::NoProgress),
            stop: Arc::new(AtomicBool::new(false)),
            abort: Abort::default(),
            thresholds: Vec::new(),
            inconclusive_above: None,
            jsonl: None,
            writer_order: None,
            shard: None,
            run_key: None,
            start_at: None,
        }
    }

    /// The key this run's shards share, if it is sharded and has one.
    pub fn shared_key(&self) -> Option<String> {
        shard::run_key(self.run_key.as_deref(), self.start_at)
    }
}

/// Why a run could not start; all are exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{}", render_diagnostics(.0))]
    Scenario(Vec<Diagnostic>),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

/// Diagnostics one after another, then a count.
pub fn render_diagnostics(diagnostics: &[Diagnostic]) -> String {
    let mut files: Vec<&PathBuf> = diagnostics.iter().map(|d| &d.file).collect();
    files.sort();
    files.dedup();
    let body: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    format!(
        "{}\n{} error(s) in {} scenario file(s)",
        body.join("\n"),
        diagnostics.len(),
        files.len()
    )
}

/// A finished run.
pub struct RunReport {
    pub results: Vec<ScenarioResult>,
    /// Where the CSV files are.
    pub report_dir: PathBuf,
    /// Scenarios never started because the run was stopped.
    pub skipped: Vec<String>,
    pub seed: u64,
    /// What the reports say about the run as a whole.
    pub info: RunInfo,
    /// The shard this run was, if it was one of a sharded run.
    pub shard: Option<ShardSpec>,
}

impl RunReport {
    /// 1 when any contract broke, else 2 when a scenario could not run, else 3 when one
    /// was INCONCLUSIVE, else 130 when interrupted, else 0.
    pub fn exit_code(&self) -> u8 {
        report::exit_code(&self.results, !self.skipped.is_empty())
    }
}

/// Loads the scenarios and applies command-line overrides.
pub fn load(opts: &RunOptions) -> Result<Vec<Scenario>, RunError> {
    let mut scenarios = scenario::load_paths(&opts.paths).map_err(RunError::Scenario)?;
    let target = opts.target.as_deref().map(parse_target).transpose()?;
    for s in &mut scenarios {
        if let Some(t) = &target {
            s.target = t.clone();
            // A password given on the command line is as secret as one from the
            // environment, in every form it takes.
            if let Target::Url(url) = t {
                s.secrets.add_credentials(url);
            }
        }
        if let Some(w) = opts.writers {
            s.workload.writers = w;
        }
        if let Some(r) = opts.rounds {
            s.workload.rounds = r;
        }
        if let Some(t) = opts.timeout {
            s.timeout = t;
        }
        if let Some(choice) = opts.sync {
            s.sync = choice;
        }
        let raced = s.workload.kind.rules().released_together;
        if let Some(policy) = opts.writer_connections.filter(|_| raced) {
            s.writer_connections = policy;
        }
        if let Some(why) = s.writer_connections.refused_in(s.sync).filter(|_| raced) {
            let given = match opts.writer_connections {
                Some(policy) => format!("--writer-connections {policy}"),
                None => format!("writer_connections = \"{}\"", s.writer_connections),
            };
            return Err(RunError::Usage(format!(
                "{}: {given} cannot be used: {why}; pass --writer-connections fresh",
                s.name
            )));
        }
        // The parser checked the file's counts; the overrides are checked here.
        if s.workload.writers == 0 || s.workload.rounds == 0 {
            return Err(RunError::Usage(
                "--writers and --rounds must be at least 1".into(),
            ));
        }
        let min = s.workload.kind.rules().min_writers;
        if s.workload.writers < min {
            return Err(RunError::Usage(format!(
                "{}: a {} race needs at least {min} writers (got {})",
                s.name,
                s.workload.kind.name(),
                s.workload.writers
            )));
        }
        if let WorkloadKind::Stock { units } = s.workload.kind {
            if s.workload.writers <= units {
                return Err(RunError::Usage(format!(
                    "{}: a stock race needs more writers than its {units} unit(s) (got {}); \
                     raise --writers",
                    s.name, s.workload.writers
                )));
            }
        }
    }
    if opts.fault.is_some() {
        if let Some(s) = scenarios.iter().find(|s| s.target != Target::Builtin) {
            return Err(RunError::Usage(format!(
                "--fault breaks the answers of the built-in server, and {} runs against {}; \
                 use --target builtin (or serve the fault with `contend serve --fault`)",
                s.name,
                match &s.target {
                    Target::Url(u) => s.secrets.redact(u.as_str()),
                    Target::Builtin => "builtin".into(),
                }
            )));
        }
    }
    if let Some(spec) = opts.shard {
        let placements = shard::plan(&scenarios, spec.count);
        shard::check_plan(&scenarios, &placements, spec, opts.shared_key().as_deref())
            .map_err(RunError::Usage)?;
    }
    let fds = descriptor_limit();
    for s in &scenarios {
        check_descriptors(s, opts.writers.is_some(), fds)?;
    }
    if opts.writer_connections.is_some()
        && !scenarios
            .iter()
            .any(|s| s.workload.kind.rules().released_together)
    {
        let owners = scenario::workload::names_where(|w| w.released_together);
        return Err(RunError::Usage(format!(
            "--writer-connections is for workloads whose writes are released together ({}), \
             and none of these scenarios is one: their writers run free, each on one \
             connection kept for the run",
            owners.join(", ")
        )));
    }
    Ok(scenarios)
}

/// File descriptors a run keeps for itself besides its connections: the reader and
/// arrivals connections, the report and spool files, stdio, the runtime's own.
const FD_SPARE: u64 = 64;

/// File descriptors a `barrier` writer's runtime holds besides its connection: two epoll
/// instances, an eventfd and its copy of the signal socket (counted on Linux, tokio 1.54).
const BARRIER_WRITER_FDS: u64 = 4;

/// Raises the soft limit on open file descriptors to the hard limit, as Go's runtime does
/// at start: many systems start processes at 1,024 (soft) under a hard limit far above
/// it, and a scenario's connections should not fail for a limit the process may lift
/// itself. Where the kernel refuses (a hard limit it does not allow as a soft one), the
/// limit stays as it was.
pub fn raise_descriptor_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given and reads nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return;
        }
        if limit.rlim_cur >= limit.rlim_max {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given; a refusal leaves the limit as
        // it was.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
    }
}

/// The limits on open file descriptors, and how many are open now.
#[derive(Debug, Clone, Copy)]
struct Descriptors {
    /// What this process may open (`ulimit -Sn`).
    soft: u64,
    /// What the soft limit may be raised to without privilege (`ulimit -Hn`).
    hard: u64,
    open: u64,
}

/// The limits on open file descriptors and how many are open now; `None` where the
/// platform does not say.
fn descriptor_limit() -> Option<Descriptors> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given and reads nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        let open = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count() as u64)
            .unwrap_or(16);
        // rlim_t is not u64 on every platform.
        #[allow(clippy::unnecessary_cast)]
        Some(Descriptors {
            soft: limit.rlim_cur as u64,
            hard: limit.rlim_max as u64,
            open,
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Refuses a scenario whose connections cannot all be open at once under the
/// file-descriptor limit: past it, connections fail with "Too many open files", and a
/// run would record thousands of writes that never left. Against the built-in server,
/// which runs in this process, every connection costs two descriptors (its two ends). A
/// `barrier` writer's thread has a runtime of its own, which holds
/// [`BARRIER_WRITER_FDS`] more.
fn check_descriptors(
    s: &Scenario,
    from_command_line: bool,
    limit: Option<Descriptors>,
) -> Result<(), RunError> {
    let Some(Descriptors { soft, hard, open }) = limit else {
        return Ok(());
    };
    let limit = soft;
    let writers = u64::from(s.workload.writers);
    let rules = s.workload.kind.rules();
    // Single-packet puts a round's writes on one connection (`auto` may choose another
    // mode, with a connection per writer).
    let connections =
        if rules.released_together && s.sync == SyncChoice::Fixed(SyncMode::SinglePacket) {
            2
        } else {
            writers
        };
    let ends = if s.target == Target::Builtin { 2 } else { 1 };
    let threads = if rules.released_together && s.sync == SyncChoice::Fixed(SyncMode::Barrier) {
        writers
    } else {
        0
    };
    let needed = connections * ends + threads * BARRIER_WRITER_FDS + FD_SPARE + open;
    if needed <= limit {
        return Ok(());
    }
    let per_writer = ends + if threads > 0 { BARRIER_WRITER_FDS } else { 0 };
    let most = (limit.saturating_sub(FD_SPARE + open) / per_writer).max(1);
    let whose = if from_command_line {
        format!("--writers {writers}")
    } else {
        format!("writers = {writers} in {}", s.path.display())
    };
    let builtin = if ends == 2 {
        format!(" and {connections} more for the built-in server in this process")
    } else {
        String::new()
    };
    let runtimes = if threads > 0 {
        format!(
            ", and {} for the writers' threads in `barrier` mode",
            threads * BARRIER_WRITER_FDS
        )
    } else {
        String::new()
    };
    let enough = needed.next_multiple_of(1000);
    // contend raised its soft limit to the hard one when it started: past the hard one,
    // only the environment that starts it can give more.
    let fix = if enough <= hard {
        format!("raise it with `ulimit -Sn {enough}` before running contend")
    } else {
        format!(
            "raise it where contend is started: `ulimit -n {enough}` in its shell (past the \
             hard limit, {}, only as root), `--ulimit nofile={enough}` for `docker run`, \
             `LimitNOFILE={enough}` in a systemd unit",
            if hard == u64::MAX {
                "unlimited".to_string()
            } else {
                hard.to_string()
            }
        )
    };
    Err(RunError::Usage(format!(
        "{}: {whose} needs about {needed} file descriptors ({connections} connections{builtin}{runtimes}), \
         but this process may open {limit} (`ulimit -n`); {fix}, or use at most {most} writers",
        s.name,
    )))
}

/// Parses a `--target` value: `builtin` or an http(s) URL.
pub fn parse_target(text: &str) -> Result<Target, RunError> {
    target_or_why(text).map_err(|why| RunError::Usage(format!("--target {text:?} {why}")))
}

/// `builtin` or an http(s) URL; otherwise what is wrong with `text`, said of it
/// ("has a port out of range (1 to 65535)").
pub fn target_or_why(text: &str) -> Result<Target, String> {
    if text == "builtin" {
        return Ok(Target::Builtin);
    }
    Err(match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => return Ok(Target::Url(u)),
        // `localhost:8080` parses as the scheme `localhost`.
        Ok(_) if !text.contains("://") => {
            format!("is not a URL: a base URL starts with http:// or https:// (http://{text}?)")
        }
        Ok(u) => format!(
            "uses the `{}` scheme; contend speaks http:// and https://",
            u.scheme()
        ),
        Err(url::ParseError::InvalidPort) => "has a port out of range (1 to 65535)".into(),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            "is neither `builtin` nor a URL: a base URL starts with http:// or https://".into()
        }
        Err(e) => format!("is not a valid URL: {e}"),
    })
}

/// Runs every scenario and writes the reports.
pub async fn run(opts: RunOptions) -> Result<RunReport, RunError> {
    let scenarios = load(&opts)?;
    run_loaded(opts, scenarios).await
}

/// Runs scenarios already loaded with [`load`] (so a caller can report file errors
/// before anything starts) and writes the reports.
pub async fn run_loaded(opts: RunOptions, scenarios: Vec<Scenario>) -> Result<RunReport, RunError> {
    let started_at = std::time::SystemTime::now();
    // A shard runs its part of each scenario: all, a slice, or none.
    let placements = opts.shard.map(|spec| shard::plan(&scenarios, spec.count));
    let parts: Vec<Part> = match (&placements, opts.shard) {
        (Some(placements), Some(spec)) => {
            placements.iter().map(|p| shard::part(*p, spec)).collect()
        }
        _ => vec![Part::Whole; scenarios.len()],
    };
    let here = |i: usize| parts[i] != Part::Absent;
    let builtin = if scenarios
        .iter()
        .enumerate()
        .any(|(i, s)| here(i) && s.target == Target::Builtin)
    {
        let addr = ([127, 0, 0, 1], 0).into();
        let running = server::start_with(opts.server.clone(), opts.fault, addr)
            .await
            .map_err(|e| RunError::Io(format!("cannot start the built-in server: {e}")))?;
        Some(running)
    } else {
        None
    };
    let ca_certs = match &opts.ca_cert {
        Some(path) => Arc::new(load_certificates(path)?),
        None => Arc::default(),
    };
    let client_identity = load_client_identity(&opts)?.map(Arc::new);
    if opts.insecure {
        eprintln!("{INSECURE_WARNING}");
    }
    let ctx = RunContext {
        progress: opts.progress.clone(),
        stop: opts.stop.clone(),
        abort: opts.abort.clone(),
        ca_certs,
        jsonl: opts.jsonl.clone(),
        client_identity,
        insecure: opts.insecure,
        judge: Some(Arc::new(CheckEachRound)),
        writer_order: opts.writer_order.clone(),
        start_at: opts.start_at,
        ..RunContext::new(opts.seed)
    };
    let run_key = opts.shard.and(opts.shared_key());
    let ctx = RunContext {
        // Every shard makes the same `{unique}` ids from the key they share.
        nonce: run_key.as_deref().map_or(ctx.nonce, shard::nonce),
        ..ctx
    };
    let origin = std::time::SystemTime::now()
        .checked_sub(ctx.origin.elapsed())
        .unwrap_or(started_at);
    let mut ran: Vec<Option<shard::PartRun>> = vec![None; scenarios.len()];

    let mut results = Vec::new();
    let mut records: Vec<RequestRecord> = Vec::new();
    // Sustained runs' records, streamed to disk rather than held in `records`; the files
    // go when the run is over, whatever happened.
    let mut spools: Vec<Spool> = Vec::new();
    let mut skipped = Vec::new();
    // The exchanges kept as they went for the witnesses, and the scenarios that ran.
    let mut exchanges = Vec::new();
    let mut replayable = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let slice = match parts[i] {
            Part::Absent => continue,
            Part::Whole => None,
            Part::Slice(slice) => Some(slice),
        };
        if ctx.stop.load(std::sync::atomic::Ordering::Relaxed) {
            skipped.push(s.name.clone());
            ran[i] = Some(shard::PartRun {
                not_run: true,
                ..shard::PartRun::default()
            });
            continue;
        }
        let base = match (&s.target, &builtin) {
            (Target::Url(u), _) => with_trailing_slash(u.clone()),
            (Target::Builtin, Some(server)) => url::Url::parse(&server.base_url())
                .map_err(|e| RunError::Io(format!("built-in server address: {e}")))?,
            (Target::Builtin, None) => {
                return Err(RunError::Io("the built-in server is not running".into()))
            }
        };
        let shown_target = match &s.target {
            Target::Builtin => builtin_label(&opts.server, &base),
            Target::Url(_) => s.secrets.redact(base.as_str()),
        };
        // A sustained run's attempts are checked as they are spooled.
        let live = (s.workload.kind.id() == WorkloadId::Sustained)
            .then(|| Arc::new(LiveCheck::new(&s.name)));
        let scenario_ctx = RunContext {
            arrival_stamps: s.target == Target::Builtin || opts.arrivals,
            slice,
            tap: live.clone().map(|live| live as Arc<dyn engine::RecordTap>),
            ..ctx.clone()
        };
        let run = engine::run(s, base, &scenario_ctx).await;
        // The file's secrets, and those learned while running (captured tokens, cookies).
        let secrets = &run.secrets;
        let mine: Vec<&RequestRecord> = run.records.iter().collect();
        let thresholds: Vec<Threshold> = s
            .thresholds
            .iter()
            .chain(&opts.thresholds)
            .cloned()
            .collect();
        let facts = RunFacts {
            target: shown_target,
            sync: run.sync.map(|mode| SyncRan {
                mode,
                auto: s.sync == SyncChoice::Auto,
            }),
            sync_passed_over: run.sync_passed_over,
            writer_connections: s
                .workload
                .kind
                .rules()
                .released_together
                .then_some(s.writer_connections),
            error: run.error,
            complete: run.complete,
            duration: run.duration,
            inconclusive_above: opts.inconclusive_above.or(s.inconclusive_above),
        };
        let mut result = scenario_result(
            &s.name,
            s.workload.kind.id(),
            &mine,
            match (&run.spool, live.and_then(|live| live.take())) {
                (Some(_), Some(checked)) => Spooled::Checked(checked),
                (Some(spool), None) => Spooled::File(spool),
                (None, _) => Spooled::No,
            },
            &thresholds,
            facts,
        )?;
        show_sustained_settings(&mut result, s);
        if let (Some(slice), Some(Placement::Connections)) =
            (slice, placements.as_ref().map(|p| p[i]))
        {
            result.verdict.cannot_judge.push(format!(
                "its connections are split over {} shards against the same hot resources, \
                 so whether an acknowledged write was lost is judged by `contend merge`, \
                 over every shard's history and a read of the resources once all have \
                 finished",
                slice.count
            ));
        }
        result.redact(secrets);
        ran[i] = Some(shard::PartRun {
            writers: match slice {
                Some(slice) if s.workload.kind.id() == WorkloadId::Sustained => {
                    slice.connections(s.workload.writers)
                }
                _ => Vec::new(),
            },
            complete: result.complete,
            error: result.error.clone(),
            not_run: false,
            target: result.target.clone(),
            sync: result.sync.map(|m| m.to_string()),
            sync_passed_over: result
                .sync_passed_over
                .iter()
                .map(PassedOver::to_string)
                .collect(),
            writer_connections: result.writer_connections.map(|p| p.to_string()),
            duration_ns: u64::try_from(result.duration.as_nanos()).unwrap_or(u64::MAX),
            inconclusive_above: opts.inconclusive_above.or(s.inconclusive_above),
        });
        results.push(result);
        spools.extend(run.spool);
        records.extend(run.records);
        exchanges.extend(run.exchanges);
        replayable.push(s);
    }
    if let Some(server) = builtin {
        if ctx.abort.is_set() {
            // Stopped at once: do not wait for answers the server still owes.
            let _ = tokio::time::timeout(Duration::from_millis(500), server.stop()).await;
        } else {
            server.stop().await;
        }
    }

    let report_dir = match (&opts.out, opts.shard) {
        (Some(dir), _) => dir.clone(),
        (None, Some(spec)) => fresh_dir(&format!("-shard-{}-of-{}", spec.index + 1, spec.count)),
        (None, None) => fresh_run_dir(),
    };
    let info = RunInfo {
        started_at,
        seed: Some(opts.seed),
        not_run: skipped.clone(),
    };
    report::write_run(&report_dir, &info, &results, &records)
        .and_then(|_| {
            let requests = report_dir.join("requests.csv");
            spools
                .iter()
                .try_for_each(|spool| spool.append_to(&requests))
        })
        .and_then(|_| {
            let manifest = replay_manifest(&opts, &replayable);
            report::witness::write_all(&report_dir, &results, &exchanges, Some(manifest))
                .map(|_| ())
        })
        .map_err(|e| {
            RunError::Io(format!(
                "cannot write reports to {}: {e}",
                report_dir.display()
            ))
        })?;
    if let (Some(spec), Some(placements), Some(run_key)) = (opts.shard, &placements, run_key) {
        let complete = info.complete(&results);
        let mut entries = shard::entries(&scenarios, placements);
        for (entry, part) in entries.iter_mut().zip(ran) {
            entry.here = part;
        }
        let manifest = shard::Manifest {
            format: shard::FORMAT,
            contend: env!("CARGO_PKG_VERSION").to_string(),
            shard: spec.index + 1,
            shards: spec.count,
            run_key,
            seed: opts.seed,
            start_at: opts
                .start_at
                .map(|at| humantime::format_rfc3339_nanos(at).to_string()),
            origin_unix_ns: shard::unix_ns(origin),
            started_at: info.started(),
            finished_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            complete,
            scenarios: entries,
        };
        shard::write_folder(&report_dir, manifest, &scenarios, &results).map_err(|e| {
            RunError::Io(format!(
                "cannot write the shard's files to {}: {e}",
                report_dir.display()
            ))
        })?;
    }
    Ok(RunReport {
        results,
        report_dir,
        skipped,
        seed: opts.seed,
        info,
        shard: opts.shard,
    })
}

/// Judges each finished round with the scenario's own checker, so that the engine keeps
/// the exchanges its violations' witnesses need.
struct CheckEachRound;

impl engine::RoundJudge for CheckEachRound {
    fn judge(&self, records: &[RequestRecord]) -> engine::Flagged {
        let (kinds, records) = check::witness::needed(records);
        engine::Flagged { kinds, records }
    }
}

/// What `contend replay` needs to know about the scenarios that ran (`replay.json`).
fn replay_manifest(opts: &RunOptions, ran: &[&Scenario]) -> report::witness::ReplayManifest {
    let builtin =
        ran.iter()
            .any(|s| s.target == Target::Builtin)
            .then(|| report::witness::ReplayBuiltin {
                bug: opts.server.bug.map(|b| b.name().to_string()),
                window_ms: u64::try_from(opts.server.window.as_millis()).unwrap_or(u64::MAX),
            });
    let scenarios = ran
        .iter()
        .map(|s| {
            let raced = s.workload.kind.rules().released_together;
            report::witness::ReplayScenario {
                name: s.name.clone(),
                file: std::path::absolute(&s.path).unwrap_or_else(|_| s.path.clone()),
                workload: s.workload.kind.name().to_string(),
                target: match &s.target {
                    Target::Builtin => "builtin".to_string(),
                    Target::Url(u) => s.secrets.redact(u.as_str()),
                },
                sync: raced.then(|| s.sync.name().to_string()),
                writer_connections: raced.then(|| s.writer_connections.name().to_string()),
                timeout_ms: u64::try_from(s.timeout.as_millis()).unwrap_or(u64::MAX),
                writers: s.workload.writers,
                rounds: s.workload.rounds,
                witnesses: Vec::new(),
            }
        })
        .collect();
    report::witness::ReplayManifest {
        contend: env!("CARGO_PKG_VERSION").to_string(),
        seed: opts.seed,
        builtin,
        scenarios,
    }
}

/// A sustained run's figures name the scenario's settings (connections, hot resources,
/// open or closed model) rather than only what its records show: a run that failed at
/// set-up made no attempt, yet was asked for what the file says.
fn show_sustained_settings(result: &mut ScenarioResult, s: &Scenario) {
    let WorkloadKind::Sustained {
        resources, rate, ..
    } = s.workload.kind
    else {
        return;
    };
    if let Some(report) = result.verdict.sustained.as_mut() {
        report.connections = s.workload.writers;
        report.resources = resources;
        report.open_model = rate.is_some();
        report.scheduled_rate = report.scheduled_rate.or(rate.map(f64::from));
    }
}

/// `ctx` with the TLS settings of `opts` (`--ca-cert`, `--client-cert` and
/// `--client-key`, `--insecure`, warned about), for traffic sent outside a run:
/// `contend merge --target`'s final reads.
pub fn with_tls(opts: &RunOptions, ctx: RunContext) -> Result<RunContext, RunError> {
    let ca_certs = match &opts.ca_cert {
        Some(path) => Arc::new(load_certificates(path)?),
        None => Arc::default(),
    };
    if opts.insecure {
        eprintln!("{INSECURE_WARNING}");
    }
    Ok(RunContext {
        ca_certs,
        client_identity: load_client_identity(opts)?.map(Arc::new),
        insecure: opts.insecure,
        ..ctx
    })
}

/// What `--insecure` prints on every run that uses it.
pub const INSECURE_WARNING: &str = "warning: --insecure: contend is NOT checking the TLS \
    certificates of the targets, so anyone on the path can read and change this run's \
    traffic, credentials included. Use it only for a throw-away self-signed host; \
    --ca-cert FILE trusts that host's certificate instead.";

/// `--client-cert` and `--client-key`, read; both or neither.
fn load_client_identity(
    opts: &RunOptions,
) -> Result<Option<engine::exchange::ClientIdentity>, RunError> {
    let read = |flag: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|e| RunError::Usage(format!("{flag} {}: {e}", path.display())))
    };
    match (&opts.client_cert, &opts.client_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let (cert_pem, key_pem) = (read("--client-cert", cert)?, read("--client-key", key)?);
            engine::exchange::ClientIdentity::from_pem(&cert_pem, &key_pem)
                .map(Some)
                .map_err(RunError::Usage)
        }
        (Some(_), None) => Err(RunError::Usage(
            "--client-cert needs --client-key (the certificate's private key, PEM)".into(),
        )),
        (None, Some(_)) => Err(RunError::Usage(
            "--client-key needs --client-cert (the certificate it is the key of, PEM)".into(),
        )),
    }
}

/// The certificates (DER) in a PEM file; an error when it has none or cannot be read.
fn load_certificates(path: &std::path::Path) -> Result<Vec<Vec<u8>>, RunError> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    let bad = |why: String| RunError::Usage(format!("--ca-cert {}: {why}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
        ));
    }
    Ok(certs)
}

/// How reports name the built-in server: its behaviour and its loopback address.
fn builtin_label(config: &ServerConfig, base: &url::Url) -> String {
    let address = base.as_str().trim_end_matches('/');
    match config.bug {
        Some(bug) => format!(
            "builtin, bug {} with a {:?} window ({address})",
            bug.name(),
            config.window
        ),
        None => format!("builtin ({address})"),
    }
}

/// Relative paths in scenarios join under the base URL's path, not beside it.
pub(crate) fn with_trailing_slash(mut url: url::Url) -> url::Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// `reports/<UTC time>/`, with a suffix if two runs start in the same second.
pub fn fresh_run_dir() -> PathBuf {
    fresh_dir("")
}

/// `reports/<UTC time><suffix>/`, with a number after it if two runs start in the same
/// second.
pub fn fresh_dir(suffix: &str) -> PathBuf {
    let mut stamp: String = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    stamp.push_str(suffix);
    let base = PathBuf::from("reports");
    let mut dir = base.join(&stamp);
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    dir
}
