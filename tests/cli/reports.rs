//! The report files as CI reads them: `summary.json` with every metric under its
//! threshold name, `report.html` as one self-contained file, and secrets kept out of
//! every report and message.

use serde_json::Value;

use crate::common::binary::{contend, contend_with_env, text};
use crate::common::files::core_scenarios;
use crate::common::reports::read_json;

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
    for path in crate::common::files::every_file(&dir.path().join("r")) {
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
    for path in crate::common::files::every_file(&dir.path().join("e")) {
        let content = std::fs::read_to_string(&path).unwrap();
        assert!(
            !content.contains(SECRET),
            "{} shows the secret",
            path.display()
        );
    }
}
