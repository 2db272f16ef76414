//! A failure seen and fired again: a run against the built-in server with `--bug toctou`
//! writes each violating round's timeline (an SVG beside `report.html` and inside it),
//! the violation's minimal witness as JSON with every request and response as they
//! went, and its curl form; `contend replay` on that report reproduces the failure
//! against `builtin:toctou` (exit 1) and says plainly that it did not against a correct
//! `builtin` (exit 0); `contend merge` of a sharded run writes the witness files and
//! timelines its summary names. The window is 50 ms against writes released within
//! about a millisecond, so every outcome here is certain.

use std::path::Path;

use serde_json::Value;

use crate::common::binary::{contend, text};
use crate::common::files::scenario_arg;
use crate::common::reports::{column, csv_rows, read_json};

const SCENARIO: &str = "notes-etag-stale-write";

/// Runs the stale-write scenario against the built-in server with the toctou bug into
/// `dir/r`: 4 writers, 3 rounds, every round a violation.
fn failing_run(dir: &Path) {
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-stale-write.toml"),
            "--bug",
            "toctou",
            "--window",
            "50ms",
            "--writers",
            "4",
            "--rounds",
            "3",
            "--seed",
            "7",
            "--out",
            "r",
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

fn witness_path(dir: &Path, round: u32) -> std::path::PathBuf {
    dir.join(format!(
        "r/witnesses/{SCENARIO}-r{round}-multiple_winners.json"
    ))
}

#[test]
fn a_toctou_failure_writes_the_timeline_the_witness_and_its_curl_form() {
    let dir = tempfile::tempdir().unwrap();
    failing_run(dir.path());

    // The timeline: a standalone SVG, with a bar per winning write, also in the page.
    let svg = std::fs::read_to_string(dir.path().join(format!("r/timelines/{SCENARIO}-r0.svg")))
        .expect("round 0's timeline");
    assert!(svg.starts_with("<svg") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(
        svg.contains("round 0, version &quot;1&quot;: multiple_winners"),
        "{svg}"
    );
    assert_eq!(
        svg.matches("fill=\"#1f9d55\" stroke").count(),
        4,
        "four winning writes drawn in the winner colour"
    );
    for lane in ["read before GET", "w0 PUT", "w3 PUT", "read back GET"] {
        assert!(svg.contains(lane), "{lane} in the timeline");
    }
    let html = std::fs::read_to_string(dir.path().join("r/report.html")).unwrap();
    assert!(html.contains("Timelines of the violating rounds"));
    assert!(html.contains(&svg), "report.html embeds the same timeline");
    assert!(html.contains("Minimal witness, round 0"));

    // The witness: the read, two winning writes carrying its version, the read back.
    let witness = read_json(&witness_path(dir.path(), 0));
    assert_eq!(witness["violation"], "multiple_winners");
    assert_eq!(witness["round"], 0);
    let steps = witness["exchanges"].as_array().expect("exchanges");
    let roles: Vec<&str> = steps.iter().map(|s| s["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["read", "write", "write", "read_back"]);
    let read_version = steps[0]["version_returned"].as_str().unwrap();
    for write in &steps[1..3] {
        assert_eq!(write["outcome"], "winner");
        assert_eq!(write["version_sent"].as_str(), Some(read_version));
        let headers: Vec<&str> = write["request"]["headers"]
            .as_array()
            .expect("the request's headers were kept")
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        assert!(
            headers.contains(&format!("if-match: {read_version}").as_str()),
            "{headers:?}"
        );
        let body = write["request"]["body"].as_str().unwrap();
        assert!(body.contains(write["marker"].as_str().unwrap()), "{body}");
        assert_eq!(write["response"]["status"], 200);
    }
    assert_eq!(witness["setup"][0]["request"]["method"], "POST");
    assert!(dir.path().join("r/exchanges.jsonl").is_file());

    // Its curl form: the set-up and the four requests, and why curl cannot race them.
    let sh = dir
        .path()
        .join(format!("r/witnesses/{SCENARIO}-r0-multiple_winners.sh"));
    let curl = std::fs::read_to_string(&sh).unwrap();
    assert_eq!(curl.matches("\ncurl ").count(), 5, "{curl}");
    assert!(
        curl.contains(&format!("-H 'if-match: {read_version}'")),
        "{curl}"
    );
    assert!(curl.contains("cannot release the writes"), "{curl}");
    assert!(curl.contains("contend replay"), "{curl}");
    let syntax = std::process::Command::new("sh")
        .arg("-n")
        .arg(&sh)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "a valid shell script: {syntax:?}");

    // The terminal shows the witness before the evidence, with its files.
    let o = contend(&["check", "r/requests.csv"], dir.path());
    let t = text(&o);
    let witness_at = t.find("witness, round 0:").expect("the witness is shown");
    let evidence_at = t.find("round 0, version").expect("the evidence");
    assert!(witness_at < evidence_at, "{t}");
}

#[test]
fn replay_reproduces_the_toctou_failure_and_says_it_did_not_against_a_correct_server() {
    let dir = tempfile::tempdir().unwrap();
    failing_run(dir.path());

    let o = contend(
        &[
            "replay",
            "r",
            "--target",
            "builtin:toctou",
            "--window",
            "50ms",
            "--out",
            "bugged",
        ],
        dir.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "reproduced is a failure: {t}");
    assert!(
        t.contains("REPRODUCED multiple_winners on attempt 1 of 10"),
        "{t}"
    );
    let writers: Vec<u64> = read_json(&witness_path(dir.path(), 0))["writers_in_release_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap())
        .collect();
    let names: Vec<String> = writers.iter().map(|w| format!("w{w}")).collect();
    assert!(
        t.contains(&names.join(", ")),
        "the witness's writers, in order: {t}"
    );
    let attempt = dir.path().join(format!("bugged/{SCENARIO}/attempt-1"));
    let requests = attempt.join("requests.csv");
    let (phase, writer) = (column(&requests, "phase"), column(&requests, "writer"));
    let fired: Vec<u64> = csv_rows(&requests)
        .iter()
        .filter(|row| row[phase] == "write")
        .map(|row| row[writer].parse().unwrap())
        .collect();
    let mut expected = writers.clone();
    expected.sort_unstable();
    let mut sorted = fired.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected, "the witness's writes, and only those");

    let o = contend(
        &[
            "replay",
            "r",
            "--target",
            "builtin",
            "--attempts",
            "3",
            "--out",
            "fixed",
        ],
        dir.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("NOT REPRODUCED in 3 attempt(s)"), "{t}");
    assert!(
        !t.contains("REPRODUCED multiple_winners"),
        "never claims it: {t}"
    );
    assert_eq!(
        t.matches("the contract held (1 won, 1 conflict)").count(),
        3,
        "{t}"
    );
}

#[test]
fn replay_fires_the_runs_own_target_a_named_witness_or_a_whole_round() {
    let dir = tempfile::tempdir().unwrap();
    failing_run(dir.path());
    let manifest: Value = read_json(&dir.path().join("r/replay.json"));
    assert_eq!(manifest["builtin"]["bug"], "toctou");
    assert_eq!(manifest["builtin"]["window_ms"], 50);

    // No --target: the built-in server as the run had it, bug and window.
    let o = contend(
        &["replay", "r", "--attempts", "1", "--out", "own"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("against builtin:toctou (50ms window)"),
        "{}",
        text(&o)
    );

    // One witness file, by its path.
    let file = witness_path(dir.path(), 2);
    let o = contend(
        &[
            "replay",
            file.to_str().unwrap(),
            "--attempts",
            "1",
            "--out",
            "one",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("the witness of multiple_winners in round 2"),
        "{}",
        text(&o)
    );

    // Every write of a round.
    let o = contend(
        &[
            "replay",
            "r",
            "--round",
            "1",
            "--attempts",
            "1",
            "--out",
            "round",
        ],
        dir.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("every write of round 1"), "{t}");
    assert!(t.contains("4 writers won with the same version"), "{t}");
}

#[test]
fn replay_of_a_run_that_broke_nothing_needs_a_round() {
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
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!dir.path().join("r/witnesses").exists());
    assert!(!dir.path().join("r/exchanges.jsonl").exists());
    let o = contend(&["replay", "r"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("pass --round N"), "{}", text(&o));
    let o = contend(
        &[
            "replay",
            "r",
            "--round",
            "0",
            "--attempts",
            "2",
            "--out",
            "again",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("NOT REPRODUCED in 2 attempt(s)"),
        "{}",
        text(&o)
    );
    let o = contend(&["replay", "nowhere"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn replay_of_a_counter_runs_its_whole_scenario_again_and_refuses_a_round() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-counter.toml"),
            "--bug",
            "toctou",
            "--window",
            "50ms",
            "--writers",
            "4",
            "--rounds",
            "3",
            "--seed",
            "7",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(dir
        .path()
        .join("r/witnesses/notes-etag-counter-lost_update.json")
        .is_file());

    // Its writers run free: no round to release again, so the run's writers and
    // increments, as they went.
    let o = contend(
        &["replay", "r", "--attempts", "2", "--out", "again"],
        dir.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "reproduced is a failure: {t}");
    assert!(
        t.contains("the whole scenario (4 writers, 3 increments each"),
        "{t}"
    );
    assert!(t.contains("REPRODUCED lost_update on attempt"), "{t}");

    let o = contend(&["replay", "r", "--round", "0"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--round does not apply"), "{}", text(&o));

    let o = contend(
        &[
            "replay",
            "r",
            "--target",
            "builtin",
            "--attempts",
            "1",
            "--out",
            "fixed",
        ],
        dir.path(),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("NOT REPRODUCED in 1 attempt(s)"), "{t}");
}

#[test]
fn a_merged_failure_has_the_witness_files_its_summary_points_to() {
    let dir = tempfile::tempdir().unwrap();
    let shards = [
        crate::junit::toctou_shard(dir.path(), 1),
        crate::junit::toctou_shard(dir.path(), 2),
    ];
    let (one, two) = (shards[0].to_str().unwrap(), shards[1].to_str().unwrap());
    let o = contend(&["merge", one, two, "--out", "merged"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let said = text(&o);
    for file in [
        "merged/witnesses/notes-etag-stale-write-r0-multiple_winners.json",
        "merged/witnesses/notes-etag-stale-write-r0-multiple_winners.sh",
        "merged/timelines/notes-etag-stale-write-r0.svg",
        "merged/witnesses/notes-etag-counter-lost_update.json",
    ] {
        assert!(said.contains(file), "the summary names {file}: {said}");
        assert!(dir.path().join(file).is_file(), "{file} is written");
    }
}
