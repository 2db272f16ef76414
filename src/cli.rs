//! The command line: `run`, `validate`, `check` and `serve`, parsed with clap derive.
//! Each command maps its flags onto the library and turns the result into an exit code.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::check;
use crate::history;
use crate::latency::Latency;
use crate::report::{csv_files, progress, terminal, ScenarioResult};
use crate::run::{self, RunOptions};
use crate::scenario;
use crate::server::{self, Bug, ServerConfig};

/// Proves or disproves an API's conflict detection under truly simultaneous writes.
#[derive(Debug, Parser)]
#[command(name = "contend", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 the contract held; 1 a violation; 2 usage, scenario-file or connection error; 130 interrupted (reports still written, marked incomplete).";

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
        #[arg(long, value_parser = humantime::parse_duration)]
        timeout: Option<Duration>,
        /// Built-in server only: inject a bug (toctou, ignore-precondition, stale-token, loser-applied, dup-create, double-transition, oversell, idem-double, no-428, opaque-conflict, conflict-500, phantom-success).
        #[arg(long)]
        bug: Option<Bug>,
        /// Built-in server only: the race window the bug opens.
        #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
        window: Duration,
        /// No progress bar.
        #[arg(long)]
        no_progress: bool,
    },
    /// Check scenario files without sending any traffic.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Check a saved history (requests.csv) again, without sending traffic.
    Check {
        /// A requests.csv written by `contend run`.
        history: PathBuf,
        /// Write summary.csv, rounds.csv and latency.csv here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the reference server on its own.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Inject a bug (toctou, ignore-precondition, stale-token, loser-applied, dup-create, double-transition, oversell, idem-double, no-428, opaque-conflict, conflict-500, phantom-success).
        #[arg(long)]
        bug: Option<Bug>,
        /// The race window the bug opens.
        #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
        window: Duration,
    },
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
            bug,
            window,
            no_progress,
        } => {
            let mut opts = RunOptions::new(paths);
            opts.target = target;
            opts.out = out;
            opts.writers = writers;
            opts.rounds = rounds;
            opts.timeout = timeout;
            opts.seed = seed.unwrap_or_else(rand::random);
            opts.server = ServerConfig { bug, window };
            if !no_progress && progress::wanted() {
                opts.progress = Arc::new(progress::Bar::default());
            }
            run_command(opts).await
        }
        Command::Validate { paths } => validate(&paths),
        Command::Check { history, out } => check_history(&history, out),
        Command::Serve { addr, bug, window } => serve(addr, ServerConfig { bug, window }).await,
    };
    ExitCode::from(code)
}

fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

async fn run_command(opts: RunOptions) -> u8 {
    let stop = opts.stop.clone();
    match interrupts() {
        Ok(mut interrupt) => {
            tokio::spawn(async move {
                if interrupt.recv().await.is_some() {
                    eprintln!("\ninterrupted: finishing the current round, then writing reports (marked incomplete)");
                    stop.store(true, Ordering::Relaxed);
                }
            });
        }
        Err(e) => eprintln!("warning: Ctrl-C will not stop the run cleanly: {e}"),
    }
    eprintln!(
        "contend: running; Ctrl-C stops after the current round and still writes the reports"
    );
    let seed = opts.seed;
    match run::run(opts).await {
        Ok(report) => {
            println!("contend run, seed {seed}\n");
            print!(
                "{}",
                terminal::render(&report.results, Some(&report.report_dir), colour())
            );
            if !report.skipped.is_empty() {
                println!("Not run (interrupted): {}", report.skipped.join(", "));
            }
            report.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// Ctrl-C (SIGINT), registered now so that an interrupt right after start is not lost.
#[cfg(unix)]
fn interrupts() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

#[cfg(not(unix))]
fn interrupts() -> std::io::Result<tokio::sync::mpsc::Receiver<()>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(()).await;
        }
    });
    Ok(rx)
}

fn validate(paths: &[PathBuf]) -> u8 {
    match scenario::load_paths(paths) {
        Ok(scenarios) => {
            for s in &scenarios {
                println!(
                    "ok  {}  {} ({}, {} writers × {} {})",
                    s.path.display(),
                    s.name,
                    s.workload.kind.name(),
                    s.workload.writers,
                    s.workload.rounds,
                    if s.workload.kind == scenario::WorkloadKind::StaleWrite {
                        "rounds"
                    } else {
                        "increments"
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

fn check_history(path: &std::path::Path, out: Option<PathBuf>) -> u8 {
    let records = match history::read_csv(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read the history {}: {e}", path.display());
            return 2;
        }
    };
    let results: Vec<ScenarioResult> = check::check_all(&records)
        .into_iter()
        .map(|verdict| {
            let latency =
                Latency::from_records(records.iter().filter(|r| r.scenario == verdict.scenario));
            ScenarioResult {
                verdict,
                latency,
                target: String::new(),
                error: None,
                complete: true,
                duration: Duration::ZERO,
            }
        })
        .collect();
    if let Some(dir) = &out {
        if let Err(e) = csv_files::write_all(dir, &results, &records) {
            eprintln!("error: cannot write reports to {}: {e}", dir.display());
            return 2;
        }
    }
    print!("{}", terminal::render(&results, out.as_deref(), colour()));
    run::exit_code(&results, false)
}

async fn serve(addr: SocketAddr, config: ServerConfig) -> u8 {
    let behaviour = match config.bug {
        Some(bug) => format!("bug {} with a {:?} window", bug.name(), config.window),
        None => "correct".to_string(),
    };
    match server::start(config, addr).await {
        Ok(running) => {
            println!(
                "contend reference server ({behaviour}) listening on {}",
                running.base_url()
            );
            println!("  /notes     ETag + If-Match (412; 428 without If-Match)");
            println!("  /docs      JSON version field (409 with current_version)");
            println!("  /db        CouchDB-style _rev (409)");
            println!("  /users     unique email (409 with conflicting_field and existing)");
            println!("  /files     create-only PUT with If-None-Match: * (412 with ETag)");
            println!("  /orders    state transitions (409 with current_state)");
            println!("  /items     stock purchases (409 with available)");
            println!("  /slots     bookings up to capacity (409 with available)");
            println!("  /payments  Idempotency-Key (409 in flight, 422 other payload, replay)");
            println!("Ctrl-C stops it.");
            let _ = tokio::signal::ctrl_c().await;
            running.stop().await;
            0
        }
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            2
        }
    }
}
