//! The new workloads end to end against the built-in reference server: each passes on
//! the correct server, and each injected bug fails with the violation that names it, in
//! the terminal verdict, in `summary.csv` and in `rounds.csv`.
//!
//! Bug windows are 50 ms against writers released within about a millisecond of each
//! other, so every verdict here is certain, not likely.

use std::path::{Path, PathBuf};
use std::time::Duration;

use contend::check::{ViolationKind, WarningKind};
use contend::report::ScenarioResult;
use contend::run::{run, RunOptions};
use contend::server::{Bug, ServerConfig};

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

const USERS: &str = "users-unique-create.toml";
const FILES: &str = "files-create-only.toml";
const ORDERS: &str = "orders-transition.toml";
const ITEMS: &str = "items-stock.toml";
const SLOTS: &str = "slots-booking.toml";
const PAYMENTS: &str = "payments-idempotency.toml";
const PRECONDITION: &str = "notes-precondition-required.toml";
const STRATEGIES: &str = "notes-etag-counter-strategies.toml";

/// Runs scenario files against the built-in server with `bug`, 4 writers and 3 rounds.
async fn run_with(
    paths: Vec<PathBuf>,
    bug: Option<Bug>,
) -> (Vec<ScenarioResult>, tempfile::TempDir) {
    let out = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(paths);
    opts.writers = Some(4);
    opts.rounds = Some(3);
    opts.target = Some("builtin".into());
    opts.out = Some(out.path().to_path_buf());
    opts.server = ServerConfig {
        bug,
        window: Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let report = run(opts).await.expect("run starts");
    (report.results, out)
}

fn files(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| scenario(n)).collect()
}

fn kinds(r: &ScenarioResult) -> Vec<ViolationKind> {
    r.verdict.violations.iter().map(|v| v.kind).collect()
}

/// Every result failed with `kind` in every round, and the reports say so: the
/// summary's `kind` column counts it and a `rounds.csv` row lists it.
fn assert_fails_with(results: &[ScenarioResult], dir: &Path, kind: ViolationKind) {
    for r in results {
        let name = &r.verdict.scenario;
        assert!(r.error.is_none(), "{name}: {:?}", r.error);
        assert_eq!(r.status(), "FAIL", "{name} should fail with {kind}");
        assert!(
            r.verdict.count(kind) > 0,
            "{name} should show {kind}, found {:?}",
            kinds(r)
        );
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

fn read_table(dir: &Path, file: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(dir.join(file)).expect(file);
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|row| row.expect("row").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// A scenario's value in one `summary.csv` column.
fn summary_value(dir: &Path, scenario: &str, column: &str) -> String {
    let (header, rows) = read_table(dir, "summary.csv");
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
    let (header, rows) = read_table(dir, "rounds.csv");
    let col = header
        .iter()
        .position(|c| c == "violations")
        .expect("violations column");
    rows.iter()
        .filter(|row| row[0] == scenario)
        .map(|row| row[col].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_server_passes_every_new_workload() {
    let (results, dir) = run_with(
        files(&[
            USERS,
            FILES,
            ORDERS,
            ITEMS,
            SLOTS,
            PAYMENTS,
            PRECONDITION,
            STRATEGIES,
        ]),
        None,
    )
    .await;
    assert_eq!(results.len(), 8);
    for r in &results {
        let v = &r.verdict;
        assert_eq!(
            r.status(),
            "PASS",
            "{}: {:?} {:?}",
            v.scenario,
            v.violations,
            r.error
        );
        assert!(v.warnings.is_empty(), "{}: {:?}", v.scenario, v.warnings);
        assert_eq!(v.counts.unexpected, 0, "{}", v.scenario);
        if v.workload == contend::scenario::WorkloadId::Counter {
            continue;
        }
        assert_eq!(v.rounds.len(), 3, "{}", v.scenario);
        let winners: Vec<u32> = v.rounds.iter().map(|round| round.winners).collect();
        if v.scenario == "payments-idempotency" {
            // A duplicate that arrives after the first completed is replayed (201, same
            // body) rather than refused; either way exactly one charge is made.
            assert!(winners.iter().all(|w| *w >= 1), "{winners:?}");
            continue;
        }
        let expected = match v.scenario.as_str() {
            "items-stock" => 3,
            "notes-precondition-required" => 0,
            _ => 1,
        };
        assert_eq!(winners, [expected; 3], "{} winners per round", v.scenario);
    }
    // Transitions end in the winner's target state.
    let orders = results
        .iter()
        .find(|r| r.verdict.scenario == "orders-transition")
        .expect("orders");
    for round in &orders.verdict.rounds {
        assert_eq!(round.version_sent.as_deref(), Some("pending"));
        let end = round.final_version.as_deref().expect("state read back");
        assert!(end == "cancelled" || end == "shipped", "{end}");
        assert!(!round.applied.is_empty(), "the winner's target is applied");
    }
    // Stock ends at zero; the three client strategies each converged on a counter.
    assert_eq!(summary_value(dir.path(), "items-stock", "oversell"), "0");
    let strategies = results
        .iter()
        .find(|r| r.verdict.scenario == "notes-etag-counter-strategies")
        .expect("strategies");
    let names: Vec<&str> = strategies
        .convergence
        .strategies
        .iter()
        .map(|s| s.strategy.as_str())
        .collect();
    assert_eq!(names, ["backoff", "immediate", "give-up"]);
    for s in &strategies.convergence.strategies {
        assert_eq!(s.increments, 4 * 3, "{}", s.strategy);
        assert_eq!(s.acknowledged + s.gave_up, s.increments, "{}", s.strategy);
    }
    let (header, rows) = read_table(dir.path(), "strategies.csv");
    assert_eq!(header[..3], ["scenario", "strategy", "increments"]);
    assert_eq!(rows.len(), 3, "one row per strategy of the one counter");
    let (header, rows) = read_table(dir.path(), "convergence.csv");
    assert_eq!(
        header,
        [
            "scenario",
            "strategy",
            "metric",
            "value",
            "percentile",
            "total_count"
        ]
    );
    for metric in ["attempts", "conflicts", "converge_us"] {
        assert!(
            rows.iter()
                .any(|row| row[1] == "give-up" && row[2] == metric),
            "convergence.csv lacks give-up {metric}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dup_create_is_caught_as_duplicate_create_for_emails_and_create_only_files() {
    let (results, dir) = run_with(files(&[USERS, FILES]), Some(Bug::DupCreate)).await;
    assert_fails_with(&results, dir.path(), ViolationKind::DuplicateCreate);
    for r in &results {
        let evidence = &r.verdict.violations[0].evidence;
        assert!(
            evidence.contains("4 creates with the same key succeeded")
                && evidence.contains("the read found 4 resources with the key"),
            "{evidence}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_transition_is_caught_as_invalid_transition() {
    let (results, dir) = run_with(files(&[ORDERS]), Some(Bug::DoubleTransition)).await;
    assert_fails_with(&results, dir.path(), ViolationKind::InvalidTransition);
    let evidence = &results[0].verdict.violations[0].evidence;
    assert!(
        evidence.starts_with(
            "4 transitions from pending were accepted (w0 200 → cancelled, w1 200 → shipped"
        ),
        "{evidence}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversell_is_caught_for_stock_and_for_a_single_slot() {
    let (results, dir) = run_with(files(&[ITEMS, SLOTS]), Some(Bug::Oversell)).await;
    assert_fails_with(&results, dir.path(), ViolationKind::Oversell);
    let items = &results[0].verdict;
    assert_eq!(items.scenario, "items-stock");
    assert!(items.violations[0]
        .evidence
        .contains("4 claims succeeded but only 3 unit(s) existed"));
    assert!(items.violations[0]
        .evidence
        .contains("the count went below zero: -1 left"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idem_double_is_caught_as_idempotency_violation() {
    let (results, dir) = run_with(files(&[PAYMENTS]), Some(Bug::IdemDouble)).await;
    assert_fails_with(&results, dir.path(), ViolationKind::IdempotencyViolation);
    let evidence = &results[0].verdict.violations[0].evidence;
    assert!(evidence.starts_with("one key made 4 effects"), "{evidence}");
    assert!(
        evidence.contains("the acknowledged answers differ"),
        "{evidence}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_428_is_caught_as_precondition_not_required() {
    let (results, dir) = run_with(files(&[PRECONDITION]), Some(Bug::No428)).await;
    assert_fails_with(&results, dir.path(), ViolationKind::PreconditionNotRequired);
    let evidence = &results[0].verdict.violations[0].evidence;
    assert!(
        evidence.contains("4 of 4 writes without a precondition were accepted")
            && evidence.ends_with("where 428 was promised"),
        "{evidence}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_conflicts_are_caught_where_the_scenario_requires_actionable_ones() {
    let (results, dir) = run_with(
        files(&[USERS, FILES, ORDERS, ITEMS]),
        Some(Bug::OpaqueConflict),
    )
    .await;
    assert_fails_with(&results, dir.path(), ViolationKind::ConflictNotActionable);
    let create_only = &results[1].verdict;
    assert_eq!(create_only.scenario, "files-create-only");
    assert!(create_only.violations[0]
        .evidence
        .contains("412 lacks header:ETag"));
    let orders = &results[2].verdict;
    assert!(orders.violations[0]
        .evidence
        .contains("409 lacks json:/current_state content-type (text/plain)"));
    // The same answers pass where the scenario promises nothing about them.
    let (results, _dir) = run_with(files(&[SLOTS, PAYMENTS]), Some(Bug::OpaqueConflict)).await;
    assert!(results.iter().all(|r| r.status() == "PASS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unactionable_conflicts_are_only_a_warning_when_the_scenario_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(scenario(USERS))
        .expect("scenario")
        .replace(
            "content_type = [\"application/problem+json\"] }",
            "content_type = [\"application/problem+json\"], level = \"warning\" }",
        );
    assert!(text.contains("level = \"warning\""));
    let file = dir.path().join("users-warn.toml");
    std::fs::write(&file, text).expect("write");
    let (results, out) = run_with(vec![file], Some(Bug::OpaqueConflict)).await;
    let r = &results[0];
    assert_eq!(r.status(), "PASS", "{:?}", r.verdict.violations);
    assert_eq!(r.verdict.warned(WarningKind::ConflictNotActionable), 3);
    assert_eq!(
        summary_value(
            out.path(),
            "users-unique-create",
            "warn_conflict_not_actionable"
        ),
        "3"
    );
    assert_eq!(
        summary_value(out.path(), "users-unique-create", "warnings"),
        "3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_500_is_unexpected_status_with_counts_and_bodies_and_a_leak_warning() {
    let (results, dir) = run_with(
        files(&[
            USERS,
            ORDERS,
            ITEMS,
            PAYMENTS,
            "notes-etag-stale-write.toml",
        ]),
        Some(Bug::Conflict500),
    )
    .await;
    assert_fails_with(&results, dir.path(), ViolationKind::UnexpectedStatus);
    for r in &results {
        let v = &r.verdict;
        let evidence = &v.violations[0].evidence;
        assert!(
            evidence.contains("answered with a server error under contention (w")
                && evidence.contains("SQLSTATE 23505"),
            "{}: {evidence}",
            v.scenario
        );
        assert!(
            v.warned(WarningKind::LeaksInternals) > 0,
            "{}: {:?}",
            v.scenario,
            v.warnings
        );
        assert!(v.warnings[0]
            .evidence
            .contains("a stack trace (`at db.Pool.query (pool.js:42)`) and SQL (`SQLSTATE`)"));
        assert_ne!(
            summary_value(dir.path(), &v.scenario, "warn_leaks_internals"),
            "0"
        );
    }
}

/// `phantom-success` answers a loser 2xx but drops its write, so the API acknowledges
/// more writes than it keeps: a stale write shows it as more than one winner per
/// version, a counter as lost increments, a transition as two accepted transitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phantom_success_shows_as_multiple_winners_lost_updates_and_invalid_transitions() {
    let (results, dir) = run_with(
        files(&["notes-etag-stale-write.toml"]),
        Some(Bug::PhantomSuccess),
    )
    .await;
    assert_fails_with(&results, dir.path(), ViolationKind::MultipleWinners);
    assert!(results[0].verdict.lost_updates > 0);
    let (results, _dir) = run_with(
        files(&["notes-etag-counter.toml"]),
        Some(Bug::PhantomSuccess),
    )
    .await;
    assert_eq!(kinds(&results[0]), [ViolationKind::LostUpdate]);
    let (results, dir) = run_with(files(&[ORDERS]), Some(Bug::PhantomSuccess)).await;
    assert_fails_with(&results, dir.path(), ViolationKind::InvalidTransition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_412_where_409_was_promised_reads_as_a_broken_promise_not_a_server_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(scenario(FILES))
        .expect("scenario")
        .replace("conflict = [412]", "conflict = [409]");
    let file = dir.path().join("files-409.toml");
    std::fs::write(&file, text).expect("write");
    let (results, out) = run_with(vec![file], None).await;
    assert_fails_with(&results, out.path(), ViolationKind::UnexpectedStatus);
    let evidence = &results[0].verdict.violations[0].evidence;
    assert!(
        evidence.contains("answered 412 where 409 was promised (w"),
        "{evidence}"
    );
    assert!(!evidence.contains("server error"), "{evidence}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_violation_and_warning_has_a_summary_column_and_rounds_csv_a_warnings_column() {
    let (_results, dir) = run_with(files(&[SLOTS]), None).await;
    let (summary, _) = read_table(dir.path(), "summary.csv");
    for kind in ViolationKind::ALL {
        assert!(summary.contains(&kind.name().to_string()), "{kind}");
    }
    for kind in WarningKind::ALL {
        assert!(summary.contains(&format!("warn_{}", kind.name())), "{kind}");
    }
    assert!(summary.contains(&"warnings".to_string()));
    let (rounds, _) = read_table(dir.path(), "rounds.csv");
    assert_eq!(rounds[rounds.len() - 2..], ["violations", "warnings"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_history_of_every_new_workload_rechecks_to_the_same_verdicts() {
    let (results, dir) = run_with(
        files(&[USERS, ORDERS, ITEMS, PAYMENTS, PRECONDITION, STRATEGIES]),
        Some(Bug::Conflict500),
    )
    .await;
    let history = contend::history::read_csv(&dir.path().join("requests.csv")).expect("history");
    let again = contend::check::check_all(&history);
    assert_eq!(again.len(), results.len());
    for (a, r) in again.iter().zip(&results) {
        assert_eq!(a, &r.verdict, "{}", r.verdict.scenario);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_writers_than_units_is_a_usage_error_not_a_silent_pass() {
    let mut opts = RunOptions::new(files(&[ITEMS]));
    opts.writers = Some(3);
    match run(opts).await {
        Err(contend::run::RunError::Usage(message)) => assert_eq!(
            message,
            "items-stock: a stock race needs more writers than its 3 unit(s) (got 3); raise --writers"
        ),
        Err(other) => panic!("expected a usage error, got {other}"),
        Ok(_) => panic!("expected a usage error, the run started"),
    }
}
