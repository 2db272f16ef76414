//! `contend run` as a user meets it: exit codes 0, 1, 2 and 130, what it prints, the
//! report files it writes (also when interrupted), and usage errors that list the
//! choices.

use std::process::Command;

use crate::common::binary::{contend, text};
use crate::common::files::shipped;

#[test]
fn a_run_on_the_correct_builtin_server_exits_0_and_writes_four_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = contend(
        &[
            "run",
            shipped().to_str().unwrap(),
            "--writers",
            "4",
            "--rounds",
            "3",
            "--seed",
            "7",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS"));
    for f in contend::report::run_files() {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}

#[test]
fn a_run_without_out_writes_under_reports_run_id() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("docs-version-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--writers",
            "2",
            "--rounds",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].as_ref().unwrap().path();
    assert!(run.join("summary.csv").is_file());
    assert!(text(&o).contains(&run.file_name().unwrap().to_string_lossy().to_string()));
}

#[test]
fn a_bugged_builtin_server_exits_1_naming_the_violation() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--bug",
            "toctou",
            "--window",
            "50ms",
            "--writers",
            "4",
            "--rounds",
            "2",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAIL"));
    assert!(text(&o).contains("multiple_winners"));
}

#[test]
fn an_unreachable_target_exits_2_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--target",
            "http://127.0.0.1:1",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // Said once, with the reason and the advice.
    assert_eq!(
        text(&o).matches("cannot connect").count(),
        1,
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("cannot connect (Connection refused"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("is the server running and is the target right?"),
        "{}",
        text(&o)
    );
    assert!(
        dir.path().join("r/summary.csv").is_file(),
        "what was measured is still reported"
    );
}

#[test]
fn an_unknown_bug_name_is_a_usage_error_listing_the_names() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(&["run", "scenarios", "--bug", "nope"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("toctou"), "{}", text(&o));
}

#[test]
fn an_interrupted_run_writes_what_it_measured_marked_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    // Far more rounds than can finish before the interrupt.
    let mut child = Command::new(env!("CARGO_BIN_EXE_contend"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--writers",
            "2",
            "--rounds",
            "100000000",
            "--out",
            "r",
            "--junit",
            "junit.xml",
        ])
        .current_dir(dir.path())
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("contend starts");
    // Wait until the run has started (its Ctrl-C handler is in place), let it record
    // some rounds, then interrupt.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Ctrl-C") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0,
            "contend exited early"
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(o.status.code(), Some(130), "{}{rest}", text(&o));
    assert!(rest.contains("interrupted"), "{rest}");
    let mut summary = csv::Reader::from_path(dir.path().join("r/summary.csv")).unwrap();
    let header = summary.headers().unwrap().clone();
    let row = summary.records().next().unwrap().unwrap();
    let col = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(col("complete"), "false");
    assert_eq!(col("verdict"), "PASS");
    assert!(
        col("rounds").parse::<u64>().unwrap() > 0,
        "rounds measured before the interrupt are kept"
    );
    // Every other report says so too.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["run"]["complete"], false);
    assert_eq!(summary["run"]["exit_code"], 130);
    assert_eq!(summary["scenarios"][0]["complete"], false);
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains(r#"type="incomplete""#), "{junit}");
    assert!(
        junit.contains(r#"<property name="complete" value="false"/>"#),
        "{junit}"
    );
    let html = std::fs::read_to_string(dir.path().join("r/report.html")).unwrap();
    assert!(html.contains("Incomplete run"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("r"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_unknown_sync_mode_is_a_usage_error_listing_the_modes() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &["run", shipped().to_str().unwrap(), "--sync", "fast"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the modes are auto (the default), barrier, last-byte and single-packet"),
        "{}",
        text(&o)
    );
}

#[test]
fn the_summary_states_how_tight_each_race_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--sync",
            "last-byte",
            "--wide",
            "--writers",
            "4",
            "--rounds",
            "2",
            "--out",
            dir.path().join("r").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| {
            l.contains("notes-etag-stale-write (sync last-byte, fresh connections): release ")
        })
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no spread line in {}", text(&o)));
    assert!(line.contains(", responses "), "{line}");
    assert!(line.contains(", arrival at the server "), "{line}");
}

#[test]
fn without_sync_the_summary_names_the_mode_auto_chose() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--writers",
            "4",
            "--rounds",
            "2",
            "--out",
            dir.path().join("r").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(
            "notes-etag-stale-write (sync auto → single-packet, fresh connections): release "
        ),
        "the built-in server speaks h2c: {}",
        text(&o)
    );
}

#[test]
fn a_ca_cert_file_without_a_certificate_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let o = contend(
        &[
            "run",
            shipped().to_str().unwrap(),
            "--ca-cert",
            not_pem.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no PEM certificate"), "{}", text(&o));
}
