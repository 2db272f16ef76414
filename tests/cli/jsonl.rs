//! `contend run --jsonl FILE|-`: every record of the run, as JSON Lines, while it runs.

use contend::history::{Phase, RequestRecord};

use crate::common::binary::{contend, text};
use crate::common::files::{shipped, sustained_scenario};

#[test]
fn the_jsonl_history_holds_every_record_the_run_saved_and_checks_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let sustained = sustained_scenario(dir.path(), "/notes", "requests = 300");
    let stale_write = shipped().join("notes-etag-stale-write.toml");
    let counter = shipped().join("notes-etag-counter.toml");
    let o = contend(
        &[
            "run",
            stale_write.to_str().unwrap(),
            counter.to_str().unwrap(),
            sustained.to_str().unwrap(),
            "--writers",
            "4",
            "--rounds",
            "3",
            "--out",
            "r",
            "--jsonl",
            "live/history.jsonl",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let streamed = contend::history::read_jsonl(&dir.path().join("live/history.jsonl")).unwrap();
    let saved = contend::history::read_csv(&dir.path().join("r/requests.csv")).unwrap();
    assert_eq!(
        canonical(&streamed),
        canonical(&saved),
        "the stream has each record of requests.csv, once, with the same fields"
    );
    let spooled = streamed
        .iter()
        .filter(|r| r.scenario == "short-sustained" && r.phase == Phase::Write)
        .count();
    assert_eq!(spooled, 300, "a sustained run's attempts are streamed too");
    assert!(
        text(&o).contains(&format!(
            "JSON Lines: live/history.jsonl ({} records)",
            saved.len()
        )),
        "{}",
        text(&o)
    );

    let o = contend(
        &["check", "live/history.jsonl", "--out", "rechecked"],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "a JSON Lines history re-checks: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("Run verdict: PASS (3 PASS)"),
        "{}",
        text(&o)
    );
    // Read as a stream (the sustained scenario's attempts too); its requests.csv is CSV.
    let rewritten = contend::history::read_csv(&dir.path().join("rechecked/requests.csv"))
        .expect("a requests.csv, not a copy of the JSON Lines");
    assert_eq!(canonical(&rewritten), canonical(&saved));
}

#[test]
fn jsonl_to_stdout_leaves_stdout_to_the_records_and_the_summary_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("docs-version-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "r",
            "--jsonl",
            "-",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let records: Vec<RequestRecord> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is a record"))
        .collect();
    let saved = contend::history::read_csv(&dir.path().join("r/requests.csv")).unwrap();
    assert_eq!(canonical(&records), canonical(&saved));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("docs-version-stale-write") && stderr.contains("PASS"),
        "{stderr}"
    );
}

#[test]
fn a_follower_of_the_jsonl_history_sees_records_before_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    // Two attempts a second for a minute: far longer than the test waits.
    let file = sustained_scenario(dir.path(), "/notes", "duration = \"60s\"\nrate = 2");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_contend"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            "r",
            "--jsonl",
            "history.jsonl",
        ])
        .current_dir(dir.path())
        .env("CI", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("contend starts");
    let stream = dir.path().join("history.jsonl");
    let writes_so_far = || {
        std::fs::read_to_string(&stream)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<RequestRecord>(l).ok())
            .filter(|r| r.phase == Phase::Write)
            .count()
    };
    let mut seen = 0;
    for _ in 0..300 {
        seen = writes_so_far();
        if seen >= 2 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(
        seen >= 2,
        "the attempts' writes were in the file while the run went on"
    );
    assert_eq!(
        status.code(),
        Some(130),
        "stopped by the interrupt, not done"
    );
    let streamed = contend::history::read_jsonl(&stream).unwrap();
    let saved = contend::history::read_csv(&dir.path().join("r/requests.csv")).unwrap();
    assert_eq!(
        canonical(&streamed),
        canonical(&saved),
        "and the rest at the end"
    );
}

/// Every record of a requests.csv, in a canonical order (as JSON text, sorted).
fn canonical(records: &[RequestRecord]) -> Vec<String> {
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    lines.sort();
    lines
}
