//! The whole pipeline against the built-in reference server, one module per workload
//! (plus the answers, every workload at once, the report files, the sustained
//! workload, the sync modes, the writers' connection policy, real APIs' features, the
//! injected faults and the verdicts): the correct server passes every scenario, and
//! each injected bug fails with the violation that names it, in the terminal verdict, in
//! `summary.csv` and in `rounds.csv`; a run that judged too little is INCONCLUSIVE.
//!
//! Bug windows are 50 ms against writers released within about a millisecond of each
//! other, so every verdict here is certain, not likely.

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod connection_policy;
mod counter;
mod every_workload;
mod faults;
mod idempotency;
mod precondition_required;
mod real_apis;
mod reports;
mod stale_write;
mod stock;
mod sustained;
mod sync_modes;
mod transition;
mod unique_create;
mod verdicts;
mod witness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use contend::check::ViolationKind;
use contend::report::ScenarioResult;
use contend::run::{run, RunOptions};
use contend::scenario::SyncChoice;
use contend::server::{Bug, ServerConfig};

use common::files::scenario;
use common::reports::read_table;
use common::servers::start_trusted_tls;

const DIALECTS: [&str; 3] = [
    "notes-etag-stale-write.toml",
    "docs-version-stale-write.toml",
    "db-rev-stale-write.toml",
];

const USERS: &str = "users-unique-create.toml";
const FILES: &str = "files-create-only.toml";
const ORDERS: &str = "orders-transition.toml";
const ITEMS: &str = "items-stock.toml";
const SLOTS: &str = "slots-booking.toml";
const PAYMENTS: &str = "payments-idempotency.toml";
const PRECONDITION: &str = "notes-precondition-required.toml";
const STRATEGIES: &str = "notes-etag-counter-strategies.toml";

/// The reference server with `bug` (if any) and a 50 ms window.
fn with_bug(bug: Option<Bug>) -> ServerConfig {
    with_bug_and_window(bug, Duration::from_millis(50))
}

/// The reference server with `bug` (if any) and `window`, the rest as by default.
fn with_bug_and_window(bug: Option<Bug>, window: Duration) -> ServerConfig {
    ServerConfig {
        bug,
        window,
        ..ServerConfig::default()
    }
}

/// Options for running `paths` with `writers` and `rounds`.
fn options(paths: Vec<PathBuf>, writers: u32, rounds: u32) -> RunOptions {
    let mut opts = RunOptions::new(paths);
    opts.writers = Some(writers);
    opts.rounds = Some(rounds);
    opts
}

/// Runs `opts` against the built-in server with `bug`, and returns the results and the
/// report folder.
async fn run_builtin(
    mut opts: RunOptions,
    bug: Option<Bug>,
) -> (Vec<ScenarioResult>, tempfile::TempDir) {
    let out = tempfile::tempdir().expect("temp dir");
    opts.target = Some("builtin".into());
    opts.out = Some(out.path().to_path_buf());
    opts.server = with_bug(bug);
    let report = run(opts).await.expect("run starts");
    (report.results, out)
}

/// Runs scenario files against the built-in server with `bug`, `writers` and `rounds`.
async fn run_with(
    paths: Vec<PathBuf>,
    bug: Option<Bug>,
    writers: u32,
    rounds: u32,
) -> (Vec<ScenarioResult>, tempfile::TempDir) {
    run_builtin(options(paths, writers, rounds), bug).await
}

/// Runs over https in `sync` mode (or `auto`) against the reference server on TLS with `bug`,
/// trusting its self-signed certificate; `options` gets the temporary folder (for a
/// scenario file to write) and says what to run. The reports go to its `out` folder.
async fn run_over_tls_with(
    bug: Option<Bug>,
    sync: impl Into<SyncChoice>,
    options: impl FnOnce(&Path) -> RunOptions,
) -> Vec<ScenarioResult> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, cert) = start_trusted_tls(with_bug(bug), dir.path()).await;
    let mut opts = options(dir.path());
    opts.target = Some(format!("https://127.0.0.1:{}", server.addr().port()));
    opts.ca_cert = Some(cert);
    opts.sync = Some(sync.into());
    opts.out = Some(dir.path().join("out"));
    let report = run(opts).await.expect("run starts");
    server.stop().await;
    report.results
}

/// Shipped scenario files, by file name.
fn files(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| scenario(n)).collect()
}

/// The kinds of a result's violations, in order.
fn kinds(r: &ScenarioResult) -> Vec<ViolationKind> {
    r.verdict.violations.iter().map(|v| v.kind).collect()
}

/// Every result failed, with `kind` among its violations, and no error.
fn assert_fails_with(results: &[ScenarioResult], kind: ViolationKind) {
    for r in results {
        assert_eq!(
            r.status(),
            "FAIL",
            "{} should fail with {kind}",
            r.verdict.scenario
        );
        assert!(
            r.verdict.count(kind) > 0,
            "{} should show {kind}, found {:?}",
            r.verdict.scenario,
            kinds(r)
        );
        assert!(r.error.is_none(), "{:?}", r.error);
    }
}

/// Every result failed with `kind` in every round, and the reports say so: the
/// summary's `kind` column counts it and a `rounds.csv` row lists it.
fn assert_reports_fail_with(results: &[ScenarioResult], dir: &Path, kind: ViolationKind) {
    assert_fails_with(results, kind);
    for r in results {
        let name = &r.verdict.scenario;
        assert_eq!(
            summary_value(dir, name, kind.name()),
            r.verdict.count(kind).to_string(),
            "{name}: summary.csv column {kind}"
        );
        assert!(
            rounds_violations(dir, name)
                .iter()
                .any(|v| v.split(' ').any(|k| k == kind.name())),
            "{name}: no rounds.csv row lists {kind}"
        );
    }
}

/// A scenario's value in one `summary.csv` column.
fn summary_value(dir: &Path, scenario: &str, column: &str) -> String {
    let (header, rows) = read_table(&dir.join("summary.csv"));
    let col = header
        .iter()
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("summary.csv has no column {column}"));
    rows.iter()
        .find(|row| row[0] == scenario)
        .map(|row| row[col].clone())
        .unwrap_or_else(|| panic!("summary.csv has no row for {scenario}"))
}

/// The `violations` column of a scenario's `rounds.csv` rows.
fn rounds_violations(dir: &Path, scenario: &str) -> Vec<String> {
    let (header, rows) = read_table(&dir.join("rounds.csv"));
    let col = header
        .iter()
        .position(|c| c == "violations")
        .expect("violations column");
    rows.iter()
        .filter(|row| row[0] == scenario)
        .map(|row| row[col].clone())
        .collect()
}
