//! Messages that say exactly what is wrong with a flag or a file, and a workload's
//! settings stated as its file gives them.

use crate::common::binary::{contend, text};
use crate::common::files::{shipped, sustained_scenario};

#[test]
fn validate_states_a_sustained_workload_in_connections_resources_limit_rate_and_sync() {
    let dir = tempfile::tempdir().unwrap();
    let file = sustained_scenario(dir.path(), "/notes", "requests = 40\nrate = 500");
    let o = contend(&["validate", file.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(
            "(sustained, 4 connections, 2 resources, 40 requests, open model at 500 attempts/s, sync auto)"
        ),
        "{}",
        text(&o)
    );
    let shipped = shipped().join("notes-etag-sustained.toml");
    let o = contend(&["validate", shipped.to_str().unwrap()], dir.path());
    assert!(
        text(&o).contains("(sustained, 8 connections, 4 resources, 3s, closed model, sync auto)"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("rounds"), "{}", text(&o));
}

#[test]
fn a_sustained_scenario_that_fails_at_set_up_shows_its_real_settings() {
    let dir = tempfile::tempdir().unwrap();
    // The built-in server has nothing at /nowhere: the first create gets 404.
    let file = sustained_scenario(dir.path(), "/nowhere", "requests = 40\nrate = 500");
    let o = contend(&["run", file.to_str().unwrap(), "--out", "r"], dir.path());
    assert_eq!(o.status.code(), Some(2), "an ERROR: {}", text(&o));
    let t = text(&o);
    assert!(t.contains("answered 404"), "{t}");
    assert!(
        t.contains("open model at 500 attempts/s, 4 connections, 2 resources: 0 attempts"),
        "the file's settings, not what no attempt showed: {t}"
    );
}

#[test]
fn a_target_with_a_port_out_of_range_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--target",
            "http://127.0.0.1:99999",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .contains("--target \"http://127.0.0.1:99999\" has a port out of range (1 to 65535)"),
        "{}",
        text(&o)
    );
    let o = contend(
        &["run", file.to_str().unwrap(), "--target", "localhost:8080"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("http://localhost:8080?"), "{}", text(&o));
}

#[test]
fn a_zero_timeout_is_refused_like_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    for command in ["run", "compare"] {
        let mut args = vec![command, file.to_str().unwrap(), "--timeout", "0s"];
        if command == "compare" {
            args.extend(["--target", "builtin", "--target", "builtin:toctou"]);
        }
        let o = contend(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{command}: {}", text(&o));
        assert!(
            text(&o).contains("the timeout must be greater than zero"),
            "{command}: {}",
            text(&o)
        );
    }
}

#[test]
fn check_of_an_empty_history_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    let o = contend(&["check", "empty.csv"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("holds no records"), "{}", text(&o));
}

/// README's example of a broken file: what `contend validate docs/examples/bad.toml` says
/// there is what it says here, so the example stays true.
#[test]
fn readmes_bad_file_example_names_both_mistakes_with_their_line_column_and_fix() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = contend(&["validate", "docs/examples/bad.toml"], root);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let said = text(&o);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for line in said.lines().filter(|l| !l.trim().is_empty()) {
        assert!(readme.contains(line), "README lacks the line {line:?}");
    }
    assert!(
        said.contains("docs/examples/bad.toml:7:1: unknown key `writerz`"),
        "{said}"
    );
    assert!(said.contains("did you mean `{version}`"), "{said}");
    assert!(said.contains("2 error(s) in 1 scenario file(s)"), "{said}");
}
