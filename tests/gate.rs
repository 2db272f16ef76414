//! The release gate as CI meets it: thresholds, the exit code, the JUnit file,
//! `summary.json`, `report.html`, `compare`, and secrets kept out of every report.
//!
//! Verdicts here are certain: a threshold of `< 1ns` cannot hold (latency is recorded
//! from 1 µs up), `< 1h` cannot fail, and bug windows are 50 ms against writers released
//! within about a millisecond of each other.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("file exists");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Every element name in a JUnit file, in order; fails if the XML is not well-formed.
fn xml_elements(path: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(path).expect("JUnit file exists");
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut found = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attributes = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            a.unescape_value().expect("value").into_owned(),
                        )
                    })
                    .collect();
                found.push((
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    attributes,
                ));
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    found
}

fn attr<'a>(element: &'a (String, Vec<(String, String)>), name: &str) -> &'a str {
    element
        .1
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[test]
fn a_failed_threshold_fails_the_scenario_with_exit_1_and_its_measured_value() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario("notes-etag-stale-write.toml"),
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
            &scenario("notes-etag-counter.toml"),
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
            &scenario("notes-etag-stale-write.toml"),
            &scenario("docs-version-stale-write.toml"),
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
    let cases: Vec<_> = junit.iter().filter(|e| e.0 == "testcase").collect();
    assert_eq!(cases.len(), 2, "one test case per scenario");
    assert_eq!(attr(cases[0], "name"), "notes-etag-stale-write");
    let failures: Vec<_> = junit.iter().filter(|e| e.0 == "failure").collect();
    assert_eq!(
        failures.len(),
        4,
        "one per violation: 2 rounds × 2 scenarios"
    );
    for f in failures {
        assert_eq!(attr(f, "type"), "multiple_winners");
        assert!(
            attr(f, "message").contains("3 writers won with the same version"),
            "{f:?}"
        );
    }
}

#[test]
fn summary_json_holds_every_metric_under_its_threshold_name() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &core_scenarios(dir.path()),
            "--writers",
            "3",
            "--rounds",
            "2",
            "--seed",
            "11",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary = read_json(&dir.path().join("r/summary.json"));
    assert_eq!(summary["schema_version"], 1);
    assert_eq!(summary["run"]["seed"], 11);
    assert_eq!(summary["run"]["complete"], true);
    assert_eq!(summary["run"]["verdict"], "PASS");
    assert_eq!(summary["run"]["exit_code"], 0);
    let scenarios = summary["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 4);
    let names: Vec<String> = contend::metrics::catalogue()
        .into_iter()
        .map(|m| m.name)
        .collect();
    for s in scenarios {
        let metrics = s["metrics"].as_object().unwrap();
        assert_eq!(metrics.len(), names.len());
        for name in &names {
            assert!(metrics.contains_key(name), "{name} missing");
        }
        assert_eq!(s["verdict"], "PASS");
        assert_eq!(metrics["lost_updates"], 0.0);
        assert!(metrics["latency.winner.p99"].as_f64().unwrap() > 0.0);
        assert!(!s["latency"]["winner"].as_array().unwrap().is_empty());
    }
    let counter = scenarios
        .iter()
        .find(|s| s["workload"] == "counter")
        .unwrap();
    let increments: u64 = counter["counter"]["attempts_per_increment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["increments"].as_u64().unwrap())
        .sum();
    assert_eq!(
        increments, 6,
        "every increment took some number of attempts"
    );
    let stale = scenarios
        .iter()
        .find(|s| s["workload"] == "stale-write")
        .unwrap();
    assert_eq!(stale["metrics"]["attempts_per_success"], Value::Null);
    assert_eq!(stale["rounds"].as_array().unwrap().len(), 2);
}

#[test]
fn report_html_is_one_self_contained_file_with_the_plots() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &core_scenarios(dir.path()),
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
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let html = std::fs::read_to_string(dir.path().join("r/report.html")).unwrap();
    for fetched in ["<script", "<link", "src=", "url(", "@import"] {
        assert!(
            !html.contains(fetched),
            "the page must fetch nothing: {fetched}"
        );
    }
    assert_eq!(html.matches("<section class=\"card scenario").count(), 4);
    assert!(html.contains("write latency by outcome"));
    assert!(html.contains("writes per round by outcome"));
    assert!(html.contains("attempts each increment took"));
    assert!(html.contains("multiple_winners"));
    assert!(
        html.matches("<polyline").count() >= 4,
        "a latency curve per scenario"
    );
}

#[test]
fn compare_shows_the_correct_and_the_bugged_builtin_server_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "compare",
            &scenario("notes-etag-stale-write.toml"),
            "--target",
            "builtin",
            "--target",
            "bugged=builtin:toctou",
            "--window",
            "50ms",
            "--writers",
            "3",
            "--rounds",
            "2",
            "--seed",
            "5",
            "--out",
            "cmp",
        ],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a violation in any target: {}",
        text(&o)
    );
    let t = text(&o);
    assert!(t.contains("contend compare, seed 5"), "{t}");
    let line = |name: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name}: {t}"))
            .to_string()
    };
    assert!(line("builtin ").contains("PASS"), "{t}");
    assert!(line("bugged ").contains("FAIL"), "{t}");

    let mut csv = csv::Reader::from_path(dir.path().join("cmp/compare.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let col = |row: &csv::StringRecord, name: &str| {
        row[header.iter().position(|h| h == name).unwrap()].to_string()
    };
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2, "one row per scenario and target");
    assert_eq!(col(&rows[0], "target_name"), "builtin");
    assert_eq!(col(&rows[0], "verdict"), "PASS");
    assert_eq!(col(&rows[0], "lost_updates"), "0");
    assert_eq!(col(&rows[1], "target_name"), "bugged");
    assert_eq!(col(&rows[1], "verdict"), "FAIL");
    assert_eq!(
        col(&rows[1], "lost_updates"),
        "4",
        "2 extra winners in each of 2 rounds"
    );
    assert!(col(&rows[1], "target").contains("bug toctou"));

    let html = std::fs::read_to_string(dir.path().join("cmp/compare.html")).unwrap();
    assert!(html.contains("winner latency by target"));
    assert!(!html.contains("<script"));
    for target in ["builtin", "bugged"] {
        assert!(dir
            .path()
            .join("cmp")
            .join(target)
            .join("report.html")
            .is_file());
        assert!(dir
            .path()
            .join("cmp")
            .join(target)
            .join("summary.json")
            .is_file());
    }
}

#[test]
fn compare_needs_two_distinct_targets() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "compare",
            &core_scenarios(dir.path()),
            "--target",
            "builtin",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("at least two --target"), "{}", text(&o));
    let o = contend(
        &[
            "compare",
            &core_scenarios(dir.path()),
            "--target",
            "builtin:nope",
            "--target",
            "builtin",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("toctou"), "lists the bugs: {}", text(&o));
}

#[test]
fn a_secret_from_the_environment_appears_in_no_report_or_message() {
    const SECRET: &str = "s3cr3t-t0ken-4f9a";
    let dir = tempfile::tempdir().unwrap();
    // The token goes in a header, the query string and the stored body, so the server's
    // answers (and the evidence built from them) carry it back.
    let file = dir.path().join("secret.toml");
    std::fs::write(
        &file,
        r#"name = "secret"
headers = { Authorization = "Bearer ${CONTEND_TEST_TOKEN}" }
[workload]
kind = "stale-write"
[resource]
create = { method = "POST", path = "/db", json = { note = "${CONTEND_TEST_TOKEN}" }, expect = [201], id = "header:Location" }
read = { path = "{id}" }
version = "json:/_rev"
[write]
method = "PUT"
path = "{id}"
query = { key = "${CONTEND_TEST_TOKEN}" }
json = { _rev = "{version}", note = "${CONTEND_TEST_TOKEN} {marker}" }
[expect]
winner = [201]
conflict = [409]
"#,
    )
    .unwrap();
    let env = [("CONTEND_TEST_TOKEN", SECRET)];
    let o = contend_with_env(
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
            "--junit",
            "r/junit.xml",
            "--threshold",
            "latency.all.p99 < 1ns",
        ],
        dir.path(),
        &env,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!text(&o).contains(SECRET), "{}", text(&o));
    let requests = std::fs::read_to_string(dir.path().join("r/requests.csv")).unwrap();
    assert!(requests.contains("key=***"), "redacted, not dropped");
    for entry in std::fs::read_dir(dir.path().join("r")).unwrap() {
        let path = entry.unwrap().path();
        let content = std::fs::read_to_string(&path).unwrap();
        assert!(
            !content.contains(SECRET),
            "{} shows the secret",
            path.display()
        );
    }

    // An error message that would name the secret (an unreachable target's URL).
    let o = contend_with_env(
        &[
            "run",
            file.to_str().unwrap(),
            "--target",
            "http://127.0.0.1:1",
            "--out",
            "e",
            "--junit",
            "e/junit.xml",
        ],
        dir.path(),
        &env,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot connect"), "{}", text(&o));
    assert!(!text(&o).contains(SECRET), "{}", text(&o));
    for entry in std::fs::read_dir(dir.path().join("e")).unwrap() {
        let path = entry.unwrap().path();
        let content = std::fs::read_to_string(&path).unwrap();
        assert!(
            !content.contains(SECRET),
            "{} shows the secret",
            path.display()
        );
    }
}

#[test]
fn check_gates_a_saved_history_with_thresholds_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario("docs-version-stale-write.toml"),
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
