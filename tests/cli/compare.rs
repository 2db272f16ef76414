//! `contend compare`: two targets side by side in the terminal, `compare.csv` and
//! `compare.html`, and at least two distinct targets required.

use crate::common::binary::{contend, text};
use crate::common::files::{core_scenarios, scenario_arg};

#[test]
fn compare_shows_the_correct_and_the_bugged_builtin_server_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "compare",
            &scenario_arg("notes-etag-stale-write.toml"),
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
