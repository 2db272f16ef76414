//! The release gate as CI meets it: thresholds on the command line and in scenario
//! files, the exit code, and violations and failed thresholds as JUnit failures.
//!
//! Verdicts here are certain: a threshold of `< 1ns` cannot hold (latency is recorded
//! from 1 µs up), `< 1h` cannot fail, and bug windows are 50 ms against writers released
//! within about a millisecond of each other.

use serde_json::Value;

use crate::common::binary::{contend, text};
use crate::common::files::{core_scenarios, scenario, scenario_arg};
use crate::common::reports::read_json;
use crate::{attr, xml_elements};

#[test]
fn a_failed_threshold_fails_the_scenario_with_exit_1_and_its_measured_value() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-stale-write.toml"),
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "r",
            "--threshold",
            "latency.winner.p99 < 1ns",
            "--threshold",
            "lost_updates == 0",
            "--junit",
            "junit.xml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("threshold failed: latency.winner.p99 < 1ns: measured "),
        "{t}"
    );
    assert!(t.contains("FAIL"), "{t}");

    let junit = xml_elements(&dir.path().join("junit.xml"));
    let failures: Vec<_> = junit.iter().filter(|e| e.0 == "failure").collect();
    assert_eq!(failures.len(), 1, "{junit:?}");
    assert_eq!(attr(failures[0], "type"), "threshold");
    assert!(attr(failures[0], "message").contains("latency.winner.p99 < 1ns: measured"));
    let suite = junit.iter().find(|e| e.0 == "testsuite").unwrap();
    assert_eq!(attr(suite, "failures"), "1");

    let summary = read_json(&dir.path().join("r/summary.json"));
    let s = &summary["scenarios"][0];
    assert_eq!(s["verdict"], "FAIL");
    assert_eq!(s["violations"].as_array().unwrap().len(), 0);
    assert_eq!(s["thresholds"][0]["status"], "fail");
    assert_eq!(s["thresholds"][1]["status"], "pass");
    assert!(s["thresholds"][0]["measured"].as_f64().unwrap() > 0.0);
    assert_eq!(summary["run"]["exit_code"], 1);
}

#[test]
fn thresholds_that_hold_keep_the_run_passing() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-counter.toml"),
            "--writers",
            "2",
            "--rounds",
            "2",
            "--out",
            "r",
            "--threshold",
            "latency.winner.p99 < 1h",
            "--threshold",
            "lost_updates == 0",
            "--threshold",
            "conflicts_per_success < 1000",
            "--junit",
            "junit.xml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let junit = xml_elements(&dir.path().join("junit.xml"));
    assert!(junit.iter().all(|e| e.0 != "failure"), "{junit:?}");
    let summary = read_json(&dir.path().join("r/summary.json"));
    let statuses: Vec<&Value> = summary["scenarios"][0]["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["status"])
        .collect();
    assert_eq!(statuses, ["pass", "pass", "pass"]);
}

#[test]
fn a_bad_threshold_on_the_command_line_is_a_usage_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    for (expression, expected) in [
        (
            "latency.winer.p99 < 5ms",
            "did you mean `latency.winner.p99`?",
        ),
        ("latency.winner.p99 < 5", "needs a unit"),
        ("lost_updates = 0", "expected a comparison"),
    ] {
        let o = contend(
            &[
                "run",
                &core_scenarios(dir.path()),
                "--threshold",
                expression,
                "--out",
                "r",
            ],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(expected), "{expression}: {}", text(&o));
        assert!(!dir.path().join("r").exists(), "nothing ran");
    }
}

#[test]
fn a_scenario_threshold_on_an_unknown_metric_is_a_located_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(scenario("notes-etag-stale-write.toml")).unwrap();
    let file = dir.path().join("gated.toml");
    std::fs::write(
        &file,
        format!("thresholds = [\"unexpected == 0\", \"indeterminate_rat < 0.01\"]\n{original}"),
    )
    .unwrap();
    let o = contend(&["validate", file.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("gated.toml:1:35: unknown metric `indeterminate_rat`"),
        "{t}"
    );
    assert!(t.contains("did you mean `indeterminate_rate`?"), "{t}");
}

#[test]
fn scenario_file_thresholds_gate_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(scenario("docs-version-stale-write.toml")).unwrap();
    let file = dir.path().join("gated.toml");
    std::fs::write(
        &file,
        format!(
            "{original}\n[thresholds]\nlatency.winner.max = \"< 1ns\"\nunexpected = \"== 0\"\n"
        ),
    )
    .unwrap();
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--writers",
            "2",
            "--rounds",
            "1",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let summary = read_json(&dir.path().join("r/summary.json"));
    let thresholds = &summary["scenarios"][0]["thresholds"];
    assert_eq!(thresholds[0]["expression"], "latency.winner.max < 1ns");
    assert_eq!(thresholds[0]["origin"], "scenario");
    assert_eq!(thresholds[0]["status"], "fail");
    assert_eq!(thresholds[1]["status"], "pass");
}

#[test]
fn violations_become_junit_failures_with_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-stale-write.toml"),
            &scenario_arg("docs-version-stale-write.toml"),
            "--bug",
            "toctou",
            "--window",
            "50ms",
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "r",
            "--junit",
            "ci/junit.xml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let junit = xml_elements(&dir.path().join("ci/junit.xml"));
    let suites: Vec<_> = junit.iter().filter(|e| e.0 == "testsuite").collect();
    assert_eq!(suites.len(), 2, "one test suite per scenario");
    assert_eq!(attr(suites[0], "name"), "notes-etag-stale-write");
    let failures: Vec<_> = junit.iter().filter(|e| e.0 == "failure").collect();
    assert_eq!(
        failures.len(),
        2,
        "one failure per violation kind and scenario, its rounds inside it"
    );
    for f in failures {
        assert_eq!(attr(f, "type"), "multiple_winners");
        assert!(
            attr(f, "message").starts_with("multiple_winners in 2 of 2 rounds: round 0"),
            "{f:?}"
        );
        assert!(
            attr(f, "message").contains("3 writers won with the same version"),
            "{f:?}"
        );
    }
    let text = std::fs::read_to_string(dir.path().join("ci/junit.xml")).unwrap();
    assert_eq!(
        text.matches("round 1, version").count(),
        2,
        "the second round's witness is in each failure's body: {text}"
    );
}
