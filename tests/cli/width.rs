//! The terminal summary fits the width it is given (`CONTEND_WIDTH`, as a terminal's
//! width would): every line of a run with every workload, its failures (with their
//! witnesses), thresholds, strategies and sustained figures fits in 80 and in 100
//! columns, with every outcome column kept; `--wide` puts each scenario on one line
//! instead.

use std::path::Path;

use crate::common::binary::{contend_with_env, text};
use crate::common::files::{shipped, sustained_scenario};

/// A folder with one scenario of every workload: the shipped ones, the sustained one
/// cut to 200 requests (4 writers: the stock race has 3 units).
fn every_workload(dir: &Path) -> String {
    let folder = dir.join("every-workload");
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(shipped()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".toml") && !name.contains("sustained") {
            std::fs::copy(&path, folder.join(&name)).unwrap();
        }
    }
    sustained_scenario(&folder, "/notes", "requests = 200");
    folder.to_string_lossy().into_owned()
}

/// The run's summary at `width` columns, or `--wide` when `width` is `None`.
fn summary(dir: &Path, width: Option<usize>) -> String {
    let folder = every_workload(dir);
    let mut args = vec![
        "run",
        folder.as_str(),
        "--bug",
        "toctou",
        "--window",
        "50ms",
        "--writers",
        "4",
        "--rounds",
        "2",
        "--threshold",
        "latency.winner.p99 < 1ns",
        "--out",
        "r",
    ];
    if width.is_none() {
        args.push("--wide");
    }
    let columns = width.map(|w| w.to_string()).unwrap_or_default();
    let o = contend_with_env(&args, dir, &[("CONTEND_WIDTH", &columns)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every scenario name of the shipped folder and the sustained one.
fn names(summary: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(shipped())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| !p.to_string_lossy().contains("sustained"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.push("short-sustained".into());
    for name in &names {
        assert!(
            summary
                .lines()
                .any(|l| l.trim_start().starts_with(name.as_str())),
            "{name} has no row: {summary}"
        );
    }
    names
}

fn assert_fits(summary: &str, width: usize) {
    for line in summary.lines() {
        assert!(
            console::measure_text_width(line) <= width,
            "a line of {} columns at {width}: {line:?}\n{summary}",
            console::measure_text_width(line)
        );
    }
    let header = summary
        .lines()
        .find(|l| l.contains("WRITES"))
        .unwrap_or_else(|| panic!("no table header: {summary}"));
    let columns: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert!(
        columns.ends_with(&[
            "VERDICT", "WRITES", "WINNERS", "CONFLICT", "UNEXP", "INDET", "NOT SENT", "LOST"
        ]),
        "every outcome keeps its column: {header}"
    );
    assert!(summary.contains("Run verdict: FAIL"), "{summary}");
    assert!(summary.contains("THRESHOLDS"), "{summary}");
    assert!(
        summary.contains("multiple_winners in 2 of 2 rounds"),
        "{summary}"
    );
    // The witness lines (what a witness shows, its exchanges, its files) fit too.
    assert!(summary.contains("witness, round "), "{summary}");
    assert!(summary.contains("Witnesses: r/witnesses/"), "{summary}");
}

#[test]
fn the_summary_of_every_workload_fits_80_columns() {
    let dir = tempfile::tempdir().unwrap();
    let summary = summary(dir.path(), Some(80));
    assert_fits(&summary, 80);
    assert!(
        names(&summary).len() >= 8,
        "one scenario of each of the eight workloads"
    );
}

#[test]
fn the_summary_of_every_workload_fits_100_columns_with_a_row_per_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let summary = summary(dir.path(), Some(100));
    assert_fits(&summary, 100);
    for name in names(&summary) {
        let row = summary
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("at 100 columns {name} shares its row: {summary}"));
        assert!(row.contains("FAIL") || row.contains("PASS"), "{row}");
    }
}

#[test]
fn wide_puts_every_figure_of_a_scenario_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let summary = summary(dir.path(), None);
    let header = summary
        .lines()
        .find(|l| l.starts_with("SCENARIO"))
        .unwrap_or_else(|| panic!("{summary}"));
    for column in [
        "WORKLOAD",
        "STEPS",
        "NOT SENT",
        "WIN p50/p99 ms",
        "SPREAD µs",
    ] {
        assert!(header.contains(column), "{column}: {header}");
    }
    let row = summary
        .lines()
        .find(|l| l.starts_with("notes-etag-stale-write "))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        row.contains("stale-write") && row.contains("2 rounds"),
        "{row}"
    );
    assert!(
        console::measure_text_width(row) > 100,
        "the wide form is not fitted: {row}"
    );
}
