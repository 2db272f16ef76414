//! The command line: `run`, `compare`, `replay`, `merge`, `validate`, `check`, `serve`,
//! `relay`, and the shell's `completions` and `man` (in `cli/shell.rs`), parsed with
//! clap derive. Each command maps its flags onto the library and turns the result into
//! an exit code: those that fire writes in `cli/runs.rs`, the others in `cli/local.rs`.

mod local;
mod runs;
mod shell;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::compare::{self, CompareOptions, CompareTarget};
use crate::engine::Abort;
use crate::history;
use crate::metrics::{Origin, Threshold};
use crate::report::{self, junit, progress, terminal, write_atomically, RunInfo, ScenarioResult};
use crate::run::{self, RunError, RunOptions};
use crate::scenario::{
    self, workload::Steps, ConnectionPolicy, SustainedLimit, SyncChoice, Workload, WorkloadKind,
};
use crate::server::{self, Bug, Fault, ServerConfig};
use crate::shard::ShardSpec;
use local::{check_history, serve, validate};
use runs::{compare_command, merge_command, replay_command, run_command};

/// Proves or disproves an API's conflict detection under truly simultaneous writes.
#[derive(Debug, Parser)]
#[command(name = "contend", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 the contract held; 1 a violation; 2 usage, scenario-file or connection error; 3 inconclusive (too few writes had a definite outcome to judge); 130 interrupted by SIGINT or SIGTERM (reports still written, marked incomplete).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios (files or directories) and write reports.
    Run {
        /// Scenario files, or directories searched for *.toml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `builtin` or a base URL; overrides every scenario's `target`.
        #[arg(long)]
        target: Option<String>,
        /// Report folder [default: reports/<run-id>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Writers per round (overrides the scenario).
        #[arg(long)]
        writers: Option<u32>,
        /// Rounds, or increments per writer for counter workloads (overrides the scenario).
        #[arg(long)]
        rounds: Option<u32>,
        /// Seed for markers and retry jitter [default: random, printed].
        #[arg(long)]
        seed: Option<u64>,
        /// Per-request timeout, e.g. 10s (overrides the scenario).
        #[arg(long, value_parser = parse_timeout)]
        timeout: Option<Duration>,
        /// How writes are released together: auto (the strongest the target takes: single-packet, else last-byte, else barrier), barrier, last-byte (HTTP/1.1) or single-packet (HTTP/2); for sustained, the client (auto: HTTP/1.1, else HTTP/2); overrides the scenario.
        #[arg(long)]
        sync: Option<SyncChoice>,
        /// How writers' connections live: fresh (new, warmed connections every round, which a server of several worker processes places again) or kept (for the whole scenario); overrides the scenario.
        #[arg(long, value_name = "POLICY")]
        writer_connections: Option<ConnectionPolicy>,
        #[command(flatten)]
        tls: TlsArgs,
        /// The target is a `contend serve` reference server: fetch its arrival stamps (always done for builtin).
        #[arg(long)]
        arrivals: bool,
        #[arg(long, help = bug_help("Built-in server only: inject a bug"))]
        bug: Option<Bug>,
        /// Built-in server only: the race window the bug opens.
        #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
        window: Duration,
        #[arg(long, help = fault_help("Built-in server only: break its answers to writes"))]
        fault: Option<Fault>,
        /// No progress bar.
        #[arg(long)]
        no_progress: bool,
        /// A release-gate condition on every scenario, e.g. 'latency.winner.p99 < 50ms'
        /// (repeatable; see README for the metrics).
        #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
        thresholds: Vec<Threshold>,
        #[arg(long, value_name = "RATE", value_parser = parse_rate, help = INCONCLUSIVE_HELP)]
        inconclusive_above: Option<f64>,
        /// Also write the results as JUnit XML here, for CI.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Also stream every request record to FILE as JSON Lines while the run goes on,
        /// one per line with the fields of requests.csv, for `tail -f`, jq or a
        /// dashboard (`-`: stdout, and the summary goes to stderr).
        #[arg(long, value_name = "FILE")]
        jsonl: Option<PathBuf>,
        /// Print the summary with every figure of a scenario on one line, wrapping nothing
        /// (the default when stdout is not a terminal; on one, it is fitted to its width).
        #[arg(long)]
        wide: bool,
        #[command(flatten)]
        sharding: ShardArgs,
    },
    /// Run the same scenarios against several targets and report them side by side.
    Compare {
        /// Scenario files, or directories searched for *.toml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// NAME=URL, a URL, `builtin` or `builtin:BUG` (repeat: at least two).
        #[arg(long = "target", value_name = "TARGET", required = true, value_parser = parse_compare_target)]
        targets: Vec<CompareTarget>,
        /// Report folder [default: reports/<run-id>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Writers per round (overrides the scenario).
        #[arg(long)]
        writers: Option<u32>,
        /// Rounds, or increments per writer for counter workloads (overrides the scenario).
        #[arg(long)]
        rounds: Option<u32>,
        /// Seed for markers and retry jitter, the same for every target [default: random, printed].
        #[arg(long)]
        seed: Option<u64>,
        /// Per-request timeout, e.g. 10s (overrides the scenario).
        #[arg(long, value_parser = parse_timeout)]
        timeout: Option<Duration>,
        /// How writers' connections live: fresh (new, warmed connections every round, which a server of several worker processes places again) or kept (for the whole scenario); overrides the scenario.
        #[arg(long, value_name = "POLICY")]
        writer_connections: Option<ConnectionPolicy>,
        /// How writes are released together: auto (the strongest the target takes: single-packet, else last-byte, else barrier), barrier, last-byte (HTTP/1.1) or single-packet (HTTP/2); for sustained, the client (auto: HTTP/1.1, else HTTP/2); overrides the scenario.
        #[arg(long)]
        sync: Option<SyncChoice>,
        #[command(flatten)]
        tls: TlsArgs,
        /// The URL targets are `contend serve` reference servers: fetch their arrival stamps (always done for builtin).
        #[arg(long)]
        arrivals: bool,
        /// The race window of bugs in `builtin:BUG` targets.
        #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
        window: Duration,
        /// A release-gate condition on every scenario (repeatable).
        #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
        thresholds: Vec<Threshold>,
        #[arg(long, value_name = "RATE", value_parser = parse_rate, help = INCONCLUSIVE_HELP)]
        inconclusive_above: Option<f64>,
        /// Also write every target's results as JUnit XML here, for CI (a test suite per target and scenario, a test case per check).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Print the summary with every figure of a scenario on one line, wrapping nothing
        /// (the default when stdout is not a terminal; on one, it is fitted to its width).
        #[arg(long)]
        wide: bool,
    },
    /// Fire a failed run's witness (or a round's writes) again and check it: reproduce a failure, or see it pass after a fix.
    #[command(after_help = REPLAY_EXIT_CODES)]
    Replay {
        /// A report folder written by `contend run`, or one of its witness files (REPORT_DIR/witnesses/*.json).
        from: PathBuf,
        /// Only this scenario of the report.
        #[arg(long)]
        scenario: Option<String>,
        /// Fire every write of this round again, rather than the first witness's.
        #[arg(long, value_name = "N")]
        round: Option<u32>,
        /// Where to fire them: a URL, NAME=URL, `builtin` or `builtin:BUG` [default: the run's target, with its bug].
        #[arg(long, value_parser = parse_compare_target)]
        target: Option<CompareTarget>,
        /// The race window of a `builtin:BUG` target [default: the run's, else 20ms].
        #[arg(long, value_parser = humantime::parse_duration)]
        window: Option<Duration>,
        /// The most attempts per scenario; replay stops at the first that reproduces.
        #[arg(long, value_name = "K", default_value_t = crate::replay::DEFAULT_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..))]
        attempts: u32,
        /// The scenario file, when it is no longer where the run found it.
        #[arg(long, value_name = "FILE")]
        scenario_file: Option<PathBuf>,
        /// Where the attempts' reports go [default: reports/<run-id>/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed for the first attempt's markers [default: random, printed].
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        tls: TlsArgs,
        /// The target is a `contend serve` reference server: fetch its arrival stamps (always done for builtin).
        #[arg(long)]
        arrivals: bool,
    },
    /// Merge the folders of a sharded run's shards into one verdict and one report.
    Merge {
        /// The shards' folders (each the --out of `contend run --shard I/N`).
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// The target the shards ran against: read the split scenarios' hot resources
        /// once more, now that every shard has finished, to judge lost updates.
        #[arg(long, value_name = "URL")]
        target: Option<String>,
        /// Report folder [default: reports/<time>-merged/].
        #[arg(long)]
        out: Option<PathBuf>,
        /// A release-gate condition on every scenario (repeatable).
        #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
        thresholds: Vec<Threshold>,
        #[arg(long, value_name = "RATE", value_parser = parse_rate, help = INCONCLUSIVE_HELP)]
        inconclusive_above: Option<f64>,
        /// Also write the results as JUnit XML here, one test case per check.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        #[command(flatten)]
        tls: TlsArgs,
        /// Print the summary with every figure of a scenario on one line, wrapping nothing
        /// (the default when stdout is not a terminal; on one, it is fitted to its width).
        #[arg(long)]
        wide: bool,
    },
    /// Check scenario files without sending any traffic.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Check a saved history (requests.csv) again, without sending traffic.
    Check {
        /// A requests.csv written by `contend run`, or its `--jsonl` history.
        history: PathBuf,
        /// Write the reports here (summary.csv, rounds.csv, latency.csv, strategies.csv,
        /// convergence.csv, requests.csv, summary.json, report.html).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A release-gate condition on every scenario (repeatable).
        #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold)]
        thresholds: Vec<Threshold>,
        #[arg(long, value_name = "RATE", value_parser = parse_rate, help = INCONCLUSIVE_HELP)]
        inconclusive_above: Option<f64>,
        /// Also write the results as JUnit XML here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print the summary with every figure of a scenario on one line, wrapping nothing
        /// (the default when stdout is not a terminal; on one, it is fitted to its width).
        #[arg(long)]
        wide: bool,
    },
    /// Run the reference server on its own.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[arg(long, help = bug_help("Inject a bug"))]
        bug: Option<Bug>,
        /// The race window the bug opens.
        #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
        window: Duration,
        #[arg(long, conflicts_with = "processes", help = fault_help("Break the answers to writes"))]
        fault: Option<Fault>,
        /// Serve https (HTTP/1.1 and HTTP/2 by ALPN) with a fresh self-signed certificate,
        /// written to FILE (PEM) for `contend run --ca-cert FILE`.
        #[arg(long, value_name = "FILE")]
        tls: Option<PathBuf>,
        /// With --tls: require every client to present a certificate signed by a CA in
        /// this PEM file (mutual TLS; a client without one is refused in the handshake).
        #[arg(long, value_name = "FILE", requires = "tls")]
        client_ca: Option<PathBuf>,
        /// Worker threads serving requests [default: one per CPU]; 1 runs every request
        /// on one event loop, as a Node.js or asyncio server does.
        #[arg(long, value_name = "N", conflicts_with = "processes")]
        threads: Option<std::num::NonZeroUsize>,
        #[command(flatten)]
        workers: server::workers::WorkerOptions,
    },
    /// Relay TCP connections with a delay and jitter per chunk: a WAN in a box.
    Relay(crate::relay::RelayArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page contend(1), or write a page per command into a folder.
    Man {
        /// Write contend.1 and contend-COMMAND.1 for every command into DIR (made if
        /// missing), e.g. ~/.cargo/share/man/man1, instead of printing contend.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

impl Command {
    /// Whether the command fires writes at a target (and so wants its threads woken
    /// promptly: [`crate::engine::slice`]).
    pub fn races(&self) -> bool {
        matches!(
            self,
            Command::Run { .. } | Command::Compare { .. } | Command::Replay { .. }
        )
    }

    /// The worker threads the command's runtime should have, when it says.
    pub fn worker_threads(&self) -> Option<usize> {
        match self {
            Command::Serve { threads, .. } => threads.map(std::num::NonZeroUsize::get),
            _ => None,
        }
    }
}

/// How the commands that send traffic (`run`, `compare`) speak TLS.
#[derive(Debug, clap::Args)]
pub struct TlsArgs {
    /// A PEM file of extra root certificates to trust for https targets (a self-signed server).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// A PEM client certificate (chain) for https targets that require one (mutual TLS); needs --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// The PEM private key of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Accept any server certificate, unchecked (a throw-away self-signed host; warned about on every run). --ca-cert is the safe way.
    #[arg(long)]
    insecure: bool,
}

/// How `run` takes its part of a sharded run (README: Beyond one machine).
#[derive(Debug, clap::Args)]
pub struct ShardArgs {
    /// Run shard I of N (from 1) of a sharded run and write a shard folder for `contend merge`; also read from JOB_COMPLETION_INDEX (with --shards) or CI_NODE_INDEX and CI_NODE_TOTAL.
    #[arg(long, value_name = "I/N", env = "CONTEND_SHARD", value_parser = parse_shard)]
    shard: Option<ShardSpec>,
    /// How many shards, for a Kubernetes Indexed Job whose JOB_COMPLETION_INDEX says which this is.
    #[arg(long, value_name = "N", env = "CONTEND_SHARDS")]
    shards: Option<u32>,
    /// The key every shard of the run shares (e.g. the CI run's id) [default: made from --start-at].
    #[arg(long, value_name = "KEY", env = "CONTEND_RUN_KEY")]
    run_key: Option<String>,
    /// Start the sustained attempts at this RFC 3339 time (e.g. 2025-06-01T12:00:00Z), so that shards started at different moments contend together.
    #[arg(long, value_name = "TIME", env = "CONTEND_START_AT", value_parser = parse_start_at)]
    start_at: Option<std::time::SystemTime>,
}

impl ShardArgs {
    /// Sets the run options' sharding from the flags and the environment, and the seed
    /// (when none was given) from the run key, the same on every shard.
    fn apply(self, opts: &mut RunOptions, seed: Option<u64>) -> Result<(), String> {
        let found = crate::shard::from_environment(self.shard, self.shards, |name| {
            std::env::var(name).ok()
        })?;
        opts.shard = found.map(|(spec, _)| spec);
        opts.run_key = self.run_key;
        opts.start_at = self.start_at;
        let key = opts.shard.and(opts.shared_key());
        opts.seed = match (seed, key) {
            (Some(seed), _) => seed,
            (None, Some(key)) => crate::shard::seed(&key),
            (None, None) => rand::random(),
        };
        Ok(())
    }
}

fn parse_shard(text: &str) -> Result<ShardSpec, String> {
    ShardSpec::parse(text)
}

fn parse_start_at(text: &str) -> Result<std::time::SystemTime, String> {
    crate::shard::parse_start_at(text)
}

impl TlsArgs {
    /// Sets the run options' TLS settings.
    fn apply(self, opts: &mut RunOptions) {
        opts.ca_cert = self.ca_cert;
        opts.client_cert = self.client_cert;
        opts.client_key = self.client_key;
        opts.insecure = self.insecure;
    }
}

/// Runs a parsed command line and returns the process exit code.
pub async fn main(cli: Cli) -> ExitCode {
    let code = match cli.command {
        Command::Run {
            paths,
            target,
            out,
            writers,
            rounds,
            seed,
            timeout,
            sync,
            writer_connections,
            tls,
            arrivals,
            bug,
            window,
            fault,
            no_progress,
            thresholds,
            inconclusive_above,
            junit,
            jsonl,
            wide,
            sharding,
        } => {
            let mut opts = RunOptions::new(paths);
            if let Err(e) = sharding.apply(&mut opts, seed) {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            opts.thresholds = thresholds;
            opts.inconclusive_above = inconclusive_above;
            opts.fault = fault;
            opts.target = target;
            opts.out = out;
            opts.writers = writers;
            opts.rounds = rounds;
            opts.timeout = timeout;
            opts.sync = sync;
            opts.writer_connections = writer_connections;
            tls.apply(&mut opts);
            opts.arrivals = arrivals;
            opts.server = ServerConfig {
                bug,
                window,
                ..ServerConfig::default()
            };
            if !no_progress && progress::wanted() {
                opts.progress = Arc::new(progress::Bar::default());
            }
            run_command(opts, junit, jsonl, wide).await
        }
        Command::Compare {
            paths,
            targets,
            out,
            writers,
            rounds,
            seed,
            timeout,
            writer_connections,
            sync,
            tls,
            arrivals,
            window,
            thresholds,
            inconclusive_above,
            junit,
            no_progress,
            wide,
        } => {
            let mut opts = RunOptions::new(paths);
            opts.thresholds = thresholds;
            opts.inconclusive_above = inconclusive_above;
            opts.out = out;
            opts.writers = writers;
            opts.rounds = rounds;
            opts.timeout = timeout;
            opts.writer_connections = writer_connections;
            opts.sync = sync;
            tls.apply(&mut opts);
            opts.arrivals = arrivals;
            opts.seed = seed.unwrap_or_else(rand::random);
            if !no_progress && progress::wanted() {
                opts.progress = Arc::new(progress::Bar::default());
            }
            compare_command(
                CompareOptions {
                    run: opts,
                    targets,
                    window,
                },
                junit,
                terminal::Layout::for_stdout(wide),
            )
            .await
        }
        Command::Replay {
            from,
            scenario,
            round,
            target,
            window,
            attempts,
            scenario_file,
            out,
            seed,
            tls,
            arrivals,
        } => {
            let mut opts = crate::replay::ReplayOptions::new(from);
            opts.scenario = scenario;
            opts.round = round;
            opts.target = target;
            opts.window = window;
            opts.attempts = attempts;
            opts.scenario_file = scenario_file;
            opts.out = out;
            opts.seed = seed.unwrap_or_else(rand::random);
            tls.apply(&mut opts.run);
            opts.run.arrivals = arrivals;
            replay_command(opts).await
        }
        Command::Merge {
            dirs,
            target,
            out,
            thresholds,
            inconclusive_above,
            junit,
            tls,
            wide,
        } => {
            let mut run = RunOptions::new(Vec::new());
            tls.apply(&mut run);
            merge_command(
                crate::merge::MergeOptions {
                    dirs,
                    target,
                    out,
                    thresholds,
                    inconclusive_above,
                    tls: run,
                },
                junit,
                terminal::Layout::for_stdout(wide),
            )
            .await
        }
        Command::Validate { paths } => validate(&paths),
        Command::Check {
            history,
            out,
            thresholds,
            inconclusive_above,
            junit,
            wide,
        } => check_history(
            &history,
            out,
            &thresholds,
            inconclusive_above,
            junit.as_deref(),
            terminal::Layout::for_stdout(wide),
        ),
        Command::Serve {
            addr,
            window,
            workers,
            ..
        } if workers.wanted() => server::workers::serve(addr, window, workers).await,
        Command::Serve {
            addr,
            bug,
            window,
            fault,
            tls,
            client_ca,
            ..
        } => {
            serve(
                addr,
                ServerConfig {
                    bug,
                    window,
                    ..ServerConfig::default()
                },
                fault,
                tls,
                client_ca,
            )
            .await
        }
        Command::Relay(args) => crate::relay::run(args).await,
        Command::Completions { shell } => shell::print(&shell::completion_script(shell)),
        Command::Man { dir: None } => match shell::man_page() {
            Ok(page) => shell::print(&page),
            Err(e) => {
                eprintln!("error: cannot render the man page: {e}");
                2
            }
        },
        Command::Man { dir: Some(dir) } => match shell::write_man_pages(&dir) {
            Ok(pages) => {
                println!("{} man pages in {}", pages.len(), dir.display());
                0
            }
            Err(e) => {
                eprintln!(
                    "error: cannot write the man pages to {}: {e}",
                    dir.display()
                );
                2
            }
        },
    };
    ExitCode::from(code)
}

/// Colour when stdout is a terminal that supports it (console's rules: `TERM=dumb`,
/// `CLICOLOR=0` and `CLICOLOR_FORCE`), and `NO_COLOR` is not set.
fn colour() -> bool {
    console::colors_enabled() && std::env::var_os("NO_COLOR").is_none()
}

/// `--bug`'s help: what it does, then every bug's name, from [`Bug::ALL`].
fn bug_help(what: &str) -> String {
    let names: Vec<&str> = Bug::ALL.iter().map(|bug| bug.name()).collect();
    format!("{what} ({})", names.join(", "))
}

/// `--fault`'s help: what it does, then every fault's name, from [`Fault::ALL`].
fn fault_help(what: &str) -> String {
    let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
    format!("{what} ({}; README: Fault injection)", names.join(", "))
}

const REPLAY_EXIT_CODES: &str = "Exit codes: 1 reproduced (or the contract broke another way), as a FAIL; 0 not reproduced: every attempt was judged and the contract held in each (no proof of a fix: a race may be missed); 2 usage or connection error; 3 inconclusive (an attempt's writes had no definite outcome); 130 interrupted.";

const INCONCLUSIVE_HELP: &str = "The share of writes that may be indeterminate or not sent before a scenario is INCONCLUSIVE (exit 3), e.g. 10% or 0.1; overrides each scenario's inconclusive_above [default: 10%]";

fn parse_rate(text: &str) -> Result<f64, String> {
    crate::metrics::parse_rate(text)
}

/// `--timeout`: a duration greater than zero, as the file's `timeout` must be.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => {
            Err("the timeout must be greater than zero, for example --timeout 10s".into())
        }
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text, Origin::CommandLine)
        .map_err(|e| format!("{}\n  hint: {}", e.message, e.hint))
}

fn parse_compare_target(text: &str) -> Result<CompareTarget, String> {
    CompareTarget::parse(text).map_err(|e| e.to_string())
}

/// Stops the run after the current round on Ctrl-C (SIGINT) or SIGTERM, as CI
/// cancellation, `timeout(1)`, `docker stop` and Kubernetes send it; a second one stops
/// it at once, cancelling the requests in flight. Either way the reports are written,
/// marked incomplete. Says so at the start.
fn handle_interrupts(stop: Arc<std::sync::atomic::AtomicBool>, abort: Abort) {
    match Signals::new() {
        Ok(mut signals) => {
            tokio::spawn(async move {
                let Some(first) = signals.next().await else {
                    return;
                };
                eprintln!("\n{first}: interrupted: finishing the current round, then writing reports (marked incomplete); send it again to stop at once");
                stop.store(true, Ordering::Relaxed);
                let Some(second) = signals.next().await else {
                    return;
                };
                eprintln!("\n{second} again: stopping at once: requests in flight are cancelled; what was recorded is still written");
                abort.abort();
            });
        }
        Err(e) => eprintln!("warning: Ctrl-C and SIGTERM will not stop the run cleanly: {e}"),
    }
    // Under 80 columns, so it never wraps on a terminal.
    eprintln!("contend: running; Ctrl-C or SIGTERM stops after this round; reports are written");
}

/// Says, in one line, that proxy variables set in the environment are ignored, and why.
fn note_ignored_proxies() {
    let set = crate::engine::exchange::proxy_variables_set();
    if !set.is_empty() {
        eprintln!(
            "contend: {} ignored: every request goes straight to the target, since a proxy \
             in between would change the race the server sees",
            set.join(", ")
        );
    }
}

/// Prints why a run could not start and returns exit code 2. Scenario-file diagnostics
/// carry their own `error:` prefix.
fn print_error(e: &RunError) -> u8 {
    match e {
        RunError::Scenario(_) => eprintln!("{e}"),
        _ => eprintln!("error: {e}"),
    }
    2
}

/// SIGINT and SIGTERM, registered now so that a signal right after start is not lost.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    /// The next signal's name; `None` when no more can come.
    #[cfg(unix)]
    async fn next(&mut self) -> Option<&'static str> {
        tokio::select! {
            got = self.interrupt.recv() => got.map(|()| "SIGINT"),
            got = self.terminate.recv() => got.map(|()| "SIGTERM"),
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Option<&'static str> {
        tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
    }
}
