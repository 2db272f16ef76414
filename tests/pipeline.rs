//! The whole pipeline against the built-in reference server: the correct server passes
//! every scenario, and each injected bug fails with the violation that names it.
//!
//! Bug windows are 50 ms against writers released within about a millisecond of each
//! other, so every verdict here is certain, not likely.

use std::path::PathBuf;
use std::time::Duration;

use contend::check::ViolationKind;
use contend::report::ScenarioResult;
use contend::run::{run, RunOptions};
use contend::server::{Bug, ServerConfig};

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

const DIALECTS: [&str; 3] = [
    "notes-etag-stale-write.toml",
    "docs-version-stale-write.toml",
    "db-rev-stale-write.toml",
];

async fn run_with(
    paths: Vec<PathBuf>,
    bug: Option<Bug>,
    writers: u32,
    rounds: u32,
) -> (Vec<ScenarioResult>, tempfile::TempDir) {
    let out = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(paths);
    opts.writers = Some(writers);
    opts.rounds = Some(rounds);
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
            r.verdict
                .violations
                .iter()
                .map(|v| v.kind)
                .collect::<Vec<_>>()
        );
        assert!(r.error.is_none(), "{:?}", r.error);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_server_passes_every_dialect_and_the_counter() {
    let mut files = DIALECTS.map(scenario).to_vec();
    files.push(scenario("notes-etag-counter.toml"));
    let (results, _dir) = run_with(files, None, 8, 5).await;
    assert_eq!(results.len(), 4);
    for r in &results {
        assert_eq!(
            r.status(),
            "PASS",
            "{}: {:?} {:?}",
            r.verdict.scenario,
            r.verdict.violations,
            r.error
        );
        assert!(r.complete);
        assert_eq!(r.verdict.counts.unexpected, 0);
        assert_eq!(r.verdict.lost_updates, 0);
        if r.verdict.workload == contend::scenario::WorkloadId::StaleWrite {
            assert_eq!(r.verdict.rounds.len(), 5);
            assert!(r
                .verdict
                .rounds
                .iter()
                .all(|round| round.winners == 1 && round.conflicts == 7));
        } else {
            let c = r.verdict.counter.as_ref().expect("counter figures");
            assert_eq!(c.acknowledged, 8 * 5);
            assert_eq!(c.final_value, Some(40));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toctou_is_caught_as_multiple_winners_in_every_dialect() {
    let (results, _dir) = run_with(DIALECTS.map(scenario).to_vec(), Some(Bug::Toctou), 8, 3).await;
    assert_fails_with(&results, ViolationKind::MultipleWinners);
    assert!(results.iter().all(|r| r.verdict.lost_updates > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_precondition_is_caught_as_multiple_winners_in_every_dialect() {
    let (results, _dir) = run_with(
        DIALECTS.map(scenario).to_vec(),
        Some(Bug::IgnorePrecondition),
        4,
        3,
    )
    .await;
    assert_fails_with(&results, ViolationKind::MultipleWinners);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_token_is_caught_as_version_not_advanced_in_every_dialect() {
    let (results, _dir) =
        run_with(DIALECTS.map(scenario).to_vec(), Some(Bug::StaleToken), 4, 3).await;
    assert_fails_with(&results, ViolationKind::VersionNotAdvanced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_loser_is_caught_as_loser_write_applied_in_every_dialect() {
    let (results, _dir) = run_with(
        DIALECTS.map(scenario).to_vec(),
        Some(Bug::LoserApplied),
        4,
        3,
    )
    .await;
    assert_fails_with(&results, ViolationKind::LoserWriteApplied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toctou_under_the_counter_is_caught_as_lost_updates() {
    let (results, _dir) = run_with(
        vec![scenario("notes-etag-counter.toml")],
        Some(Bug::Toctou),
        8,
        3,
    )
    .await;
    assert_fails_with(&results, ViolationKind::LostUpdate);
    let c = results[0]
        .verdict
        .counter
        .as_ref()
        .expect("counter figures");
    assert!(c.final_value.unwrap_or(0) < c.acknowledged as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_hold_the_documented_columns_and_the_history_rechecks_the_same() {
    let (results, dir) = run_with(
        vec![scenario("notes-etag-stale-write.toml")],
        Some(Bug::Toctou),
        4,
        2,
    )
    .await;
    let header = |file: &str| -> Vec<String> {
        let mut r = csv::Reader::from_path(dir.path().join(file)).expect(file);
        r.headers()
            .expect("header")
            .iter()
            .map(String::from)
            .collect()
    };
    let summary = header("summary.csv");
    for column in [
        "scenario",
        "verdict",
        "complete",
        "winners",
        "conflicts",
        "indeterminate",
        "lost_updates",
        "multiple_winners",
        "winner_p99_us",
        "conflict_p50_us",
    ] {
        assert!(
            summary.contains(&column.to_string()),
            "summary.csv lacks {column}"
        );
    }
    assert_eq!(
        header("rounds.csv")[..4],
        ["scenario", "round", "version_sent", "writers"]
    );
    assert_eq!(
        header("latency.csv"),
        [
            "scenario",
            "outcome",
            "value_us",
            "percentile",
            "total_count"
        ]
    );
    assert!(header("requests.csv").contains(&"latency_ns".to_string()));

    let mut rows = csv::Reader::from_path(dir.path().join("summary.csv")).expect("summary");
    let row = rows.records().next().expect("one row").expect("row");
    let verdict_col = summary
        .iter()
        .position(|c| c == "verdict")
        .expect("verdict column");
    assert_eq!(&row[verdict_col], "FAIL");

    let history = contend::history::read_csv(&dir.path().join("requests.csv")).expect("history");
    let again = contend::check::check_all(&history);
    assert_eq!(again[0], results[0].verdict);
}
