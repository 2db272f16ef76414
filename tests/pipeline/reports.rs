//! The report files of a run: the documented columns, a column for every violation and
//! warning, and a history that re-checks to the same verdict.

use contend::check::{ViolationKind, WarningKind};
use contend::server::Bug;

use crate::common::files::scenario;
use crate::common::reports::read_table;
use crate::{files, run_with, SLOTS};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_violation_and_warning_has_a_summary_column_and_rounds_csv_a_warnings_column() {
    let (_results, dir) = run_with(files(&[SLOTS]), None, 4, 3).await;
    let (summary, _) = read_table(&dir.path().join("summary.csv"));
    for kind in ViolationKind::ALL {
        assert!(summary.contains(&kind.name().to_string()), "{kind}");
    }
    for kind in WarningKind::ALL {
        assert!(summary.contains(&format!("warn_{}", kind.name())), "{kind}");
    }
    assert!(summary.contains(&"warnings".to_string()));
    let (rounds, _) = read_table(&dir.path().join("rounds.csv"));
    assert_eq!(rounds[rounds.len() - 2..], ["violations", "warnings"]);
}
