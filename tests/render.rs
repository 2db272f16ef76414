//! `report.html`, `compare.html` and a violating round's timeline (the standalone SVG in
//! `timelines/`) as a person sees them: opened from disk in headless Chromium (through
//! `scripts/screenshot.sh`), with the plots drawn.
//!
//! The screenshot must be a real picture: many distinct colours, and the exact colours
//! of the charts' bars and lines (winners, conflicts, a flagged violation, throughput
//! and latency over time) among its pixels, which only a rendered chart puts there; and
//! an INCONCLUSIVE run in its own colour, with no green on the page.
//!
//! They need a browser, which a machine with only Rust lacks, so a plain `cargo test`
//! lists them as ignored, with that reason; `.ci/run` installs Chromium and runs them
//! with `cargo test --test render -- --ignored`, where a missing browser fails them.

mod common;
use common::binary::contend;
use common::files::{core_scenarios, repo, scenario, sustained_scenario};

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

/// Screenshots `page` into `shot`.
fn screenshot(page: &Path, shot: &Path) {
    let script = repo().join("scripts/screenshot.sh");
    let o = Command::new("bash")
        .arg(&script)
        .arg(page)
        .arg(shot)
        .arg("2400")
        .output()
        .expect("bash runs the screenshot script");
    let said = String::from_utf8_lossy(&o.stderr);
    match o.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "headless Chromium is needed to check that the HTML reports render: \
             install it (Debian: apt-get install -y chromium) or point CONTEND_CHROMIUM at \
             it. The script said: {said}"
        ),
        _ => panic!("the screenshot script failed: {said}"),
    }
}

/// Every pixel's RGB colour.
fn pixels(shot: &Path) -> Vec<[u8; 3]> {
    let file = std::fs::File::open(shot).expect("screenshot exists");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let step = info.color_type.samples();
    assert!(step >= 3, "a colour screenshot, got {:?}", info.color_type);
    assert!(info.width >= 1000 && info.height >= 1000, "{info:?}");
    pixels[..info.buffer_size()]
        .chunks(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}

fn rgb(hex: &str) -> [u8; 3] {
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex colour");
    [byte(1), byte(3), byte(5)]
}

/// Asserts the screenshot is a real picture with at least `least` pixels of each chart
/// colour: areas only the charts' bars and curves cover (badges and text are far
/// smaller).
fn assert_drawn(shot: &Path, chart_colours: &[(&str, &str, usize)]) {
    let all = pixels(shot);
    let distinct: HashSet<&[u8; 3]> = all.iter().collect();
    assert!(
        distinct.len() > 200,
        "{} looks blank: {} distinct colours",
        shot.display(),
        distinct.len()
    );
    for (what, hex, least) in chart_colours {
        let count = all.iter().filter(|p| **p == rgb(hex)).count();
        eprintln!("{}: {count} pixels of {what} ({hex})", shot.display());
        assert!(
            count >= *least,
            "{}: {count} pixels of {what} ({hex}), expected at least {least}: that chart was not drawn",
            shot.display()
        );
    }
}

#[test]
#[ignore = "needs headless Chromium; .ci/run installs it and runs these with --ignored"]
fn report_html_renders_its_plots_in_headless_chromium() {
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
            "4",
            "--rounds",
            "6",
            "--seed",
            "1",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let shot = dir.path().join("report.png");
    screenshot(&dir.path().join("r/report.html"), &shot);
    assert_drawn(&shot, &[("winner bars and curves", "#1f9d55", 50_000)]);
}

#[test]
#[ignore = "needs headless Chromium; .ci/run installs it and runs these with --ignored"]
fn compare_html_renders_both_targets_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "compare",
            &core_scenarios(dir.path()),
            "--target",
            "builtin",
            "--target",
            "builtin:toctou",
            "--window",
            "50ms",
            "--writers",
            "4",
            "--rounds",
            "6",
            "--seed",
            "1",
            "--out",
            "c",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let shot = dir.path().join("compare.png");
    screenshot(&dir.path().join("c/compare.html"), &shot);
    assert_drawn(
        &shot,
        &[
            ("the correct server's conflict bars", "#2f6fd6", 50_000),
            ("the bugged server's winner bars", "#1f9d55", 50_000),
            // Its swatches in the header, the table and the legends cover about 1,100
            // pixels; its latency curves the rest.
            ("the second target's curves", "#e4572e", 1_600),
        ],
    );
}

/// Pixels of exactly `hex` in the screenshot.
fn count(shot: &Path, hex: &str) -> usize {
    pixels(shot).iter().filter(|p| **p == rgb(hex)).count()
}

#[test]
#[ignore = "needs headless Chromium; .ci/run installs it and runs these with --ignored"]
fn a_sustained_run_draws_its_throughput_and_latency_over_time() {
    let dir = tempfile::tempdir().unwrap();
    let file = sustained_scenario(dir.path(), "/notes", "requests = 600");
    let o = contend(
        &["run", file.to_str().unwrap(), "--seed", "1", "--out", "r"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let html = std::fs::read_to_string(dir.path().join("r/report.html")).unwrap();
    assert!(
        html.contains("throughput over time"),
        "the chart is on the page"
    );
    assert!(
        !html.contains("writes per round by outcome"),
        "no chart of rounds"
    );
    let shot = dir.path().join("sustained.png");
    screenshot(&dir.path().join("r/report.html"), &shot);
    // Lines are two pixels wide, so their exact colour covers far fewer pixels than a
    // bar; each line runs across its chart (about 560 pixels), and nothing else on the
    // page has these colours.
    assert_drawn(
        &shot,
        &[
            ("the requests-per-second line", "#6b7280", 300),
            ("the latency p50 and p99 lines", "#8e44ad", 300),
        ],
    );
}

#[test]
#[ignore = "needs headless Chromium; .ci/run installs it and runs these with --ignored"]
fn an_inconclusive_run_is_shown_in_its_colour_and_nowhere_green() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            scenario("notes-etag-stale-write.toml").to_str().unwrap(),
            "--fault",
            "no-answer",
            "--timeout",
            "200ms",
            "--writers",
            "2",
            "--rounds",
            "2",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    let shot = dir.path().join("inconclusive.png");
    screenshot(&dir.path().join("r/report.html"), &shot);
    // The header's verdict box alone is about 240 × 60 pixels.
    assert_drawn(&shot, &[("the INCONCLUSIVE verdict", "#8a4fc7", 8_000)]);
    let green = count(&shot, "#1f9d55");
    assert!(
        green < 50,
        "{green} pixels of the PASS green on an INCONCLUSIVE page: something says it passed"
    );
}

#[test]
#[ignore = "needs headless Chromium; .ci/run installs it and runs these with --ignored"]
fn a_violating_rounds_timeline_renders_its_bars_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    // The toctou bug with a 50 ms window against writes released within about a
    // millisecond: all four writes of every round win, each bar 50 ms long.
    let o = contend(
        &[
            "run",
            &common::files::scenario_arg("notes-etag-stale-write.toml"),
            "--bug",
            "toctou",
            "--window",
            "50ms",
            "--writers",
            "4",
            "--rounds",
            "1",
            "--seed",
            "1",
            "--out",
            "r",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let shot = dir.path().join("timeline.png");
    screenshot(
        &dir.path().join("r/timelines/notes-etag-stale-write-r0.svg"),
        &shot,
    );
    // Four winning bars of at least a sixth of the plot's 620 px each, 12 px high; the
    // legend's swatch and the answers' text are far smaller.
    assert_drawn(
        &shot,
        &[("the four winning writes' bars", "#1f9d55", 4 * 100 * 12)],
    );
    let conflicts = count(&shot, "#2f6fd6");
    assert!(
        conflicts < 200,
        "no write was refused, so only the legend's swatch is in the conflict colour: {conflicts} pixels"
    );
}
