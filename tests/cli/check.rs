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

/// A passing run of the version stale-write scenario, its reports in `r/` under `dir`.
fn passing_run(dir: &std::path::Path) {
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
        dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn check_gates_a_saved_history_with_thresholds_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    passing_run(dir.path());
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

#[test]
fn check_of_a_history_with_a_bad_cell_or_a_byte_that_is_not_utf8_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    passing_run(dir.path());
    let history = std::fs::read(dir.path().join("r/requests.csv")).unwrap();
    let lines: Vec<&[u8]> = history.split(|&b| b == b'\n').collect();
    // Line 3 with its outcome misspelt; line 4 with a byte that is not UTF-8 in its
    // content type (a row that is not all ASCII is checked byte by byte).
    let broken = |line: usize, from: &[u8], to: &[u8]| {
        let mut lines: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
        let at = lines[line - 1]
            .windows(from.len())
            .position(|w| w == from)
            .expect("the cell to break");
        lines[line - 1].splice(at..at + from.len(), to.iter().copied());
        lines.join(&b'\n')
    };
    let cases: [(&str, Vec<u8>, &str); 2] = [
        (
            "outcome.csv",
            broken(3, b",ok,", b",okay,"),
            "line 3: column `outcome`: \"okay\" is not a valid value",
        ),
        (
            "utf8.csv",
            broken(4, b"application/json", b"application/js\xffon"),
            "line 4: column `content_type` is not UTF-8",
        ),
    ];
    for (name, bytes, said) in cases {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let o = contend(&["check", name], dir.path());
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        assert!(text(&o).contains(name), "{name}: {}", text(&o));
        assert!(text(&o).contains(said), "{name}: {}", text(&o));
    }
}
