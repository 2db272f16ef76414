//! What `report.html` and `compare.html` say, read from the page's text: each latency
//! column in one unit (named in its header, never in a cell), a counter's strategies
//! in a table instead of one counter value, an ERROR scenario never green, and
//! `compare.html` under the verdict over every target. (How the pages look in a
//! browser is `tests/render.rs`.)
//!
//! Verdicts here are certain: the toctou bug's 50 ms window is far wider than the
//! spread of writers released together (and makes every winner take 50 ms or more),
//! and port 1 refuses.

use std::path::Path;

use crate::common::binary::{contend, text};
use crate::common::files::{core_scenarios, scenario_arg};

/// The report the run with `args` (and `--out r`) writes, after checking its exit code.
fn report(dir: &Path, args: &[&str], code: i32) -> String {
    let mut all = args.to_vec();
    all.extend(["--out", "r"]);
    let o = contend(&all, dir);
    assert_eq!(o.status.code(), Some(code), "{}", text(&o));
    std::fs::read_to_string(dir.join("r/report.html")).expect("report.html written")
}

/// The text between the first `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in the page"));
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[test]
fn each_latency_column_of_the_scenarios_table_has_one_unit_named_in_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let html = report(
        dir.path(),
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
        ],
        1,
    );
    let table = between(&html, "<table class=\"grid\">", "</table>");
    assert!(
        table.contains("winner p50 / p99 (ms)"),
        "winners wait out the 50 ms window, so their column is in ms: {table}"
    );
    assert!(
        table.contains("conflict p50 / p99 (ms)") || table.contains("conflict p50 / p99 (µs)"),
        "{table}"
    );
    let body = between(table, "<tbody>", "</tbody>");
    assert_eq!(body.matches("<tr").count(), 4, "a row per scenario: {body}");
    for unit in ["µs", " ms"] {
        assert!(
            !body.contains(unit),
            "no cell carries a unit of its own ({unit}): {body}"
        );
    }
}

#[test]
fn a_counter_with_several_strategies_shows_them_in_a_table_and_no_single_counter_value() {
    let dir = tempfile::tempdir().unwrap();
    let html = report(
        dir.path(),
        &[
            "run",
            &scenario_arg("notes-etag-counter-strategies.toml"),
            &scenario_arg("notes-etag-counter.toml"),
        ],
        0,
    );
    assert!(!html.contains("? → ?"), "no tile of unknown values");
    let strategies = between(
        &html,
        "id=\"s-notes-etag-counter-strategies\"",
        "</section>",
    );
    assert!(!strategies.contains("counter value"), "{strategies}");
    let table = between(strategies, "<table class=\"grid strategies\">", "</table>");
    for name in ["backoff", "immediate", "give-up"] {
        assert!(
            table.contains(&format!("<code>{name}</code>")),
            "{name} has a row: {table}"
        );
    }
    let single = between(&html, "id=\"s-notes-etag-counter\"", "</section>");
    assert!(
        single.contains(" → ") && single.contains("counter value"),
        "one strategy, one counter: its value from → to: {single}"
    );
}

#[test]
fn a_scenario_that_could_not_run_is_error_with_its_reason_and_nothing_green() {
    let dir = tempfile::tempdir().unwrap();
    let html = report(
        dir.path(),
        &[
            "run",
            &scenario_arg("notes-etag-stale-write.toml"),
            "--target",
            "http://127.0.0.1:1",
        ],
        2,
    );
    assert!(html.contains("<header class=\"top v-error\">"), "{html}");
    assert!(html.contains("<div class=\"verdict-big\">ERROR</div>"));
    assert!(html.contains("class=\"card scenario s-error\""));
    assert!(html.contains("class=\"badge b-error\">ERROR"));
    assert!(html.contains("could not run to the end: "), "the reason");
    let body = between(&html, "<body", "</body>");
    for green in ["b-pass", "t-good", "t-winner", "v-pass", "s-pass"] {
        assert!(
            !body.contains(green),
            "nothing green ({green}) on an ERROR page"
        );
    }
}

#[test]
fn compare_html_carries_the_verdict_over_every_target() {
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
            "--out",
            "cmp",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let html = std::fs::read_to_string(dir.path().join("cmp/compare.html")).unwrap();
    let header = between(&html, "<header", "</header>");
    assert!(
        header.contains("class=\"top v-fail\"")
            && header.contains("<div class=\"verdict-big\">FAIL</div>"),
        "the first target passes, the second fails: the comparison fails: {header}"
    );
    assert!(header.contains("1 FAIL, 1 PASS"), "{header}");
    let section = between(&html, "id=\"s-notes-etag-stale-write\"", "</section>");
    assert!(
        section.contains("class=\"badge b-fail\">FAIL"),
        "the scenario's verdict over both targets: {section}"
    );
}
