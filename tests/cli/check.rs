//! `contend check`: a saved history re-checked without traffic, and gated with
//! thresholds and JUnit like a run.

use serde_json::Value;

use crate::common::binary::{contend, text};
use crate::common::files::{scenario_arg, shipped};
use crate::common::reports::read_json;
use crate::{attr, xml_elements};

#[test]
fn check_rechecks_a_saved_history_without_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("db-rev-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--bug",
            "loser-applied",
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = contend(&["check", "r/requests.csv", "--out", "again"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("loser_write_applied"));
    assert!(dir.path().join("again/rounds.csv").is_file());
}

#[test]
fn check_gates_a_saved_history_with_thresholds_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario_arg("docs-version-stale-write.toml"),
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = contend(
        &[
            "check",
            "r/requests.csv",
            "--threshold",
            "latency.conflict.max < 1ns",
            "--out",
            "again",
            "--junit",
            "again/junit.xml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let summary = read_json(&dir.path().join("again/summary.json"));
    assert_eq!(
        summary["run"]["seed"],
        Value::Null,
        "a re-check has no seed"
    );
    assert_eq!(summary["scenarios"][0]["thresholds"][0]["status"], "fail");
    assert!(dir.path().join("again/report.html").is_file());
    let junit = xml_elements(&dir.path().join("again/junit.xml"));
    assert!(junit
        .iter()
        .any(|e| e.0 == "failure" && attr(e, "type") == "threshold"));
}
