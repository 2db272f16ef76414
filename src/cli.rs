//! The command line: `run`, `compare`, `validate`, `check`, `serve`, `relay`, and the
//! shell's `completions` and `man` (in `cli/shell.rs`), parsed with clap derive. Each
//! command maps its flags onto the library and turns the result into an exit code.

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
    self, workload::Steps, ConnectionPolicy, SustainedLimit, SyncMode, Workload, WorkloadKind,
};
use crate::server::{self, Bug, Fault, ServerConfig};

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
        /// How writes are released together: barrier, last-byte (HTTP/1.1) or single-packet (HTTP/2); overrides the scenario.
        #[arg(long)]
        sync: Option<SyncMode>,
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
        /// How writes are released together: barrier, last-byte (HTTP/1.1) or single-packet (HTTP/2); overrides the scenario.
        #[arg(long)]
        sync: Option<SyncMode>,
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
        } => {
            let mut opts = RunOptions::new(paths);
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
            opts.seed = seed.unwrap_or_else(rand::random);
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

/// Writes the JUnit file; a failure to write it is an error (exit 2) unless the run
/// already failed.
fn write_junit(
    path: &std::path::Path,
    info: &RunInfo,
    results: &[ScenarioResult],
    dir: Option<&std::path::Path>,
) -> Result<(), String> {
    let dir = dir.map(|d| d.display().to_string());
    let xml = junit::render(info, results, dir.as_deref())
        .map_err(|e| format!("cannot render the JUnit file {}: {e}", path.display()))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {} for the JUnit file: {e}", parent.display()))?;
    }
    write_atomically(path, |p| std::fs::write(p, xml))
        .map_err(|e| format!("cannot write the JUnit file {}: {e}", path.display()))
}

async fn compare_command(
    opts: CompareOptions,
    junit_path: Option<PathBuf>,
    layout: terminal::Layout,
) -> u8 {
    handle_interrupts(opts.run.stop.clone(), opts.run.abort.clone());
    note_ignored_proxies();
    let seed = opts.run.seed;
    match compare::compare(opts).await {
        Ok(report) => {
            let code = report.exit_code();
            if let Some(path) = &junit_path {
                let results = report.junit_results();
                if let Err(e) = write_junit(path, &report.info, &results, Some(&report.dir)) {
                    eprintln!("error: {e}");
                    return if code == 1 { 1 } else { 2 };
                }
            }
            println!("contend compare, seed {seed}\n");
            let tables: Vec<(&str, &[ScenarioResult])> = report
                .runs
                .iter()
                .map(|(t, r)| (t.name.as_str(), r.results.as_slice()))
                .collect();
            print!(
                "{}",
                terminal::render_compare_in(&tables, Some(&report.dir), colour(), layout)
            );
            if !report.not_run.is_empty() {
                println!("Not run (interrupted): {}", report.not_run.join(", "));
            }
            if let Some(path) = &junit_path {
                println!("JUnit: {}", path.display());
            }
            code
        }
        Err(e) => print_error(&e),
    }
}

async fn run_command(
    mut opts: RunOptions,
    junit_path: Option<PathBuf>,
    jsonl_path: Option<PathBuf>,
    wide: bool,
) -> u8 {
    let scenarios = match run::load(&opts) {
        Ok(scenarios) => scenarios,
        Err(e) => return print_error(&e),
    };
    // With the records on stdout (`--jsonl -`), what people read goes to stderr.
    let records_on_stdout = jsonl_path.as_deref() == Some(std::path::Path::new("-"));
    let layout = match records_on_stdout {
        false => terminal::Layout::for_stdout(wide),
        true => terminal::Layout::for_stderr(wide),
    };
    let say = |text: String| match records_on_stdout {
        false => print!("{text}"),
        true => eprint!("{text}"),
    };
    if let Some(path) = &jsonl_path {
        match open_jsonl(path) {
            Ok(stream) => opts.jsonl = Some(Arc::new(stream)),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    let jsonl = opts.jsonl.clone();
    handle_interrupts(opts.stop.clone(), opts.abort.clone());
    note_ignored_proxies();
    let seed = opts.seed;
    let ran = run::run_loaded(opts, scenarios).await;
    // Everything the run streamed is written before the summary says it is there.
    let streamed = jsonl.map(|stream| stream.finish());
    match ran {
        Ok(report) => {
            say(format!("contend run, seed {seed}\n\n"));
            say(terminal::render_in(
                &report.results,
                Some(&report.report_dir),
                colour(),
                layout,
            ));
            if !report.skipped.is_empty() {
                say(format!(
                    "Not run (interrupted): {}\n",
                    report.skipped.join(", ")
                ));
            }
            let mut code = report.exit_code();
            match (streamed, &jsonl_path) {
                (Some(Err(e)), Some(path)) => {
                    let at = match records_on_stdout {
                        false => path.display().to_string(),
                        true => "on stdout".to_string(),
                    };
                    eprintln!("error: the JSON Lines history {at} is incomplete: {e}");
                    // A violation (1) still wins over an error (2).
                    code = if code == 1 { 1 } else { 2 };
                }
                (Some(Ok(n)), Some(path)) if !records_on_stdout => {
                    say(format!("JSON Lines: {} ({n} records)\n", path.display()))
                }
                _ => {}
            }
            if let Some(path) = junit_path {
                if let Err(e) = write_junit(
                    &path,
                    &report.info,
                    &report.results,
                    Some(&report.report_dir),
                ) {
                    eprintln!("error: {e}");
                    // A violation (1) still wins over an error (2).
                    return if code == 1 { 1 } else { 2 };
                }
                say(format!("JUnit: {}\n", path.display()));
            }
            code
        }
        Err(e) => print_error(&e),
    }
}

/// The `--jsonl` stream: stdout for `-`, else the file, its folder made if missing.
fn open_jsonl(path: &std::path::Path) -> Result<history::JsonlStream, String> {
    if path == std::path::Path::new("-") {
        return Ok(history::JsonlStream::stdout());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            format!(
                "cannot create {} for the JSON Lines history: {e}",
                parent.display()
            )
        })?;
    }
    history::JsonlStream::create(path).map_err(|e| {
        format!(
            "cannot write the JSON Lines history {}: {e}",
            path.display()
        )
    })
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

fn validate(paths: &[PathBuf]) -> u8 {
    match scenario::load_paths(paths) {
        Ok(scenarios) => {
            for s in &scenarios {
                let rules = s.workload.kind.rules();
                let mut extras = String::new();
                match s.setup.len() {
                    0 => {}
                    1 => extras.push_str(", 1 set-up step"),
                    n => extras.push_str(&format!(", {n} set-up steps")),
                }
                if s.writes.len() > 1 {
                    extras.push_str(&format!(", {} writes in turn", s.writes.len()));
                }
                if let Some(pace) = s.workload.pace {
                    extras.push_str(&format!(", paced {}", humantime::format_duration(pace)));
                }
                println!(
                    "ok  {}  {} ({}, {}{}{}{}{}{extras})",
                    s.path.display(),
                    s.name,
                    s.workload.kind.name(),
                    workload_settings(&s.workload),
                    match s.thresholds.len() {
                        0 => String::new(),
                        1 => ", 1 threshold".to_string(),
                        n => format!(", {n} thresholds"),
                    },
                    // Barrier is the default, and workloads whose writes are not released
                    // together ignore the key: name other modes.
                    if s.sync == SyncMode::Barrier || !rules.released_together {
                        String::new()
                    } else {
                        format!(", sync {}", s.sync)
                    },
                    // Likewise fresh connections, the default.
                    if s.writer_connections == ConnectionPolicy::default()
                        || !rules.released_together
                    {
                        String::new()
                    } else {
                        format!(", {} connections", s.writer_connections)
                    },
                    match s.inconclusive_above {
                        Some(rate) => format!(
                            ", inconclusive above {}",
                            crate::metrics::format(crate::metrics::Unit::Rate, rate)
                        ),
                        None => String::new(),
                    }
                );
            }
            println!("{} scenario file(s) valid", scenarios.len());
            0
        }
        Err(diagnostics) => {
            eprintln!("{}", run::render_diagnostics(&diagnostics));
            2
        }
    }
}

/// How `validate` states a workload's size, in the words of its file: writers × rounds
/// (or increments); for sustained, its connections, hot resources, limit and model.
fn workload_settings(workload: &Workload) -> String {
    let (writers, rounds) = (workload.writers, workload.rounds);
    let WorkloadKind::Sustained {
        resources,
        limit,
        rate,
    } = &workload.kind
    else {
        let steps = match workload.kind.rules().steps {
            Steps::Increments => "increments",
            Steps::Rounds | Steps::Attempts => "rounds",
        };
        return format!("{writers} writers × {rounds} {steps}");
    };
    let limit = match limit {
        SustainedLimit::Duration(d) => humantime::format_duration(*d).to_string(),
        SustainedLimit::Requests(n) => format!("{n} requests"),
    };
    let model = match rate {
        Some(rate) => format!("open model at {rate} attempts/s"),
        None => "closed model".to_string(),
    };
    format!("{writers} connections, {resources} resources, {limit}, {model}")
}

fn check_history(
    path: &std::path::Path,
    out: Option<PathBuf>,
    thresholds: &[Threshold],
    inconclusive_above: Option<f64>,
    junit_path: Option<&std::path::Path>,
    layout: terminal::Layout,
) -> u8 {
    let started_at = std::time::SystemTime::now();
    // Each scenario through the pipeline's second half, as `run` does, the file read as
    // a stream.
    let results = match run::recheck(path, thresholds, inconclusive_above) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if results.is_empty() {
        eprintln!(
            "error: the history {} holds no records (it is empty, or only a header); \
             give the requests.csv or the --jsonl file of a run",
            path.display()
        );
        return 2;
    }
    let info = RunInfo {
        started_at,
        seed: None,
        not_run: Vec::new(),
    };
    if let Some(dir) = &out {
        if let Err(e) = report::write_rechecked(dir, &info, &results, path) {
            eprintln!("error: cannot write reports to {}: {e}", dir.display());
            return 2;
        }
    }
    print!(
        "{}",
        terminal::render_in(&results, out.as_deref(), colour(), layout)
    );
    let code = report::exit_code(&results, false);
    if let Some(junit_path) = junit_path {
        if let Err(e) = write_junit(junit_path, &info, &results, out.as_deref()) {
            eprintln!("error: {e}");
            return if code == 1 { 1 } else { 2 };
        }
    }
    code
}

async fn serve(
    addr: SocketAddr,
    config: ServerConfig,
    fault: Option<Fault>,
    tls: Option<PathBuf>,
    client_ca: Option<PathBuf>,
) -> u8 {
    let mut behaviour = match config.bug {
        Some(bug) => format!("bug {} with a {:?} window", bug.name(), config.window),
        None => "correct".to_string(),
    };
    if let Some(fault) = fault {
        if tls.is_some() {
            eprintln!("error: --fault serves plain http (HTTP/1.1 and h2c) only; leave out --tls");
            return 2;
        }
        behaviour.push_str(&format!(", fault {fault} in every answer to a write"));
    }
    let started = match &tls {
        None => server::start_with(config, fault, addr)
            .await
            .map_err(|e| e.to_string()),
        Some(cert_file) => {
            let identity = match server::SelfSigned::generate() {
                Ok(identity) => identity,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 2;
                }
            };
            if let Err(e) = std::fs::write(cert_file, &identity.cert_pem) {
                eprintln!("error: cannot write {}: {e}", cert_file.display());
                return 2;
            }
            let client_ca = match &client_ca {
                None => None,
                Some(path) => match std::fs::read(path) {
                    Ok(pem) => Some(pem),
                    Err(e) => {
                        eprintln!("error: --client-ca {}: {e}", path.display());
                        return 2;
                    }
                },
            };
            server::start_tls_with(config, addr, &identity, client_ca.as_deref())
                .await
                .map_err(|e| e.to_string())
        }
    };
    match started {
        Ok(running) => {
            let url = match &tls {
                None => running.base_url(),
                Some(_) => running.base_url().replacen("http://", "https://", 1),
            };
            println!("contend reference server ({behaviour}) listening on {url}");
            match &tls {
                None => println!("  HTTP/1.1, and HTTP/2 with prior knowledge (h2c)"),
                Some(cert) => println!(
                    "  HTTP/1.1 and HTTP/2 over TLS; self-signed certificate in {} (contend run --ca-cert {})",
                    cert.display(),
                    cert.display()
                ),
            }
            if let Some(ca) = &client_ca {
                println!(
                    "  mutual TLS: clients must present a certificate signed by a CA in {} (contend run --client-cert FILE --client-key FILE)",
                    ca.display()
                );
            }
            println!("  /notes     ETag + If-Match (412; 428 without If-Match)");
            println!("  /docs      JSON version field (409 with current_version)");
            println!("  /db        CouchDB-style _rev (409)");
            println!("  /users     unique email (409 with conflicting_field and existing)");
            println!("  /files     create-only PUT with If-None-Match: * (412 with ETag)");
            println!("  /orders    state transitions (409 with current_state)");
            println!("  /items     stock purchases (409 with available)");
            println!("  /slots     bookings up to capacity (409 with available)");
            println!("  /payments  Idempotency-Key (409 in flight, 422 other payload, replay)");
            println!("Ctrl-C (or SIGTERM) stops it.");
            match Signals::new() {
                Ok(mut signals) => {
                    let _ = signals.next().await;
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            running.stop().await;
            0
        }
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            2
        }
    }
}
