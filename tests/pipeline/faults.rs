//! One classification of a broken answer, whatever the client: the built-in server with
//! each fault injected into its answers to writes (`--fault`), run in every sync mode
//! (reqwest in `barrier`, contend's own HTTP/1.1 client in `last-byte`, HTTP/2 in
//! `single-packet`) and in `counter` (reqwest) and `sustained` (contend's HTTP/1.1
//! client, and HTTP/2 through reqwest with `sync = "single-packet"`). Every mode must
//! give each write the same outcome, keep the status that came before a broken body,
//! record the cause, and account for every write the same way in the terminal,
//! `summary.csv`, `summary.json` and `requests.csv`: writes = winners + conflicts +
//! unexpected + indeterminate + not sent.
//!
//! Runs are a few rounds with a 1 s timeout; nothing here asserts a time.

use std::path::{Path, PathBuf};

use contend::history::{self, Cause, Outcome, Phase};
use contend::report::{terminal, ScenarioResult};
use contend::run::{run, RunOptions};
use contend::scenario::SyncMode;
use contend::server::Fault;

use crate::common::files::write_scenario;
use crate::common::reports::{read_json, read_table};

/// The way a scenario's writes were sent.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// A stale-write race in this sync mode.
    Race(SyncMode),
    /// The counter workload (reqwest, writers free).
    Counter,
    /// The sustained workload in this sync mode: contend's own HTTP/1.1 client, or
    /// HTTP/2 through reqwest for `single-packet`.
    Sustained(SyncMode),
}

const MODES: [Mode; 6] = [
    Mode::Race(SyncMode::Barrier),
    Mode::Race(SyncMode::LastByte),
    Mode::Race(SyncMode::SinglePacket),
    Mode::Counter,
    Mode::Sustained(SyncMode::Barrier),
    Mode::Sustained(SyncMode::SinglePacket),
];

const RESOURCE: &str = r#"
[resource]
create = { method = "POST", path = "/notes", json = { text = "seed", count = 0 }, expect = [201], id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"
"#;

/// The scenario file for `mode`, on the built-in server's `/notes`.
fn scenario(dir: &Path, mode: Mode) -> PathBuf {
    let (workload, value, write) = match mode {
        Mode::Race(sync) => (
            format!("sync = \"{sync}\"\n[workload]\nkind = \"stale-write\"\nwriters = 3\nrounds = 2\n"),
            "",
            r#"json = { text = "{marker}" }"#,
        ),
        Mode::Counter => (
            "[workload]\nkind = \"counter\"\nwriters = 2\nincrements = 2\nretry = { budget = 3, base = \"1ms\", max = \"2ms\" }\n"
                .to_string(),
            "value = \"json:/count\"\n",
            r#"json = { count = "{next}", text = "{marker}" }"#,
        ),
        Mode::Sustained(sync) => (
            format!("sync = \"{sync}\"\n[workload]\nkind = \"sustained\"\nconnections = 2\nrequests = 4\n"),
            "value = \"json:/count\"\n",
            r#"json = { count = "{next}", text = "{marker}" }"#,
        ),
    };
    let text = format!(
        "name = \"faulty\"\ntarget = \"builtin\"\ntimeout = \"1s\"\n{workload}{RESOURCE}{value}\n[write]\nmethod = \"PUT\"\npath = \"{{id}}\"\nheaders = {{ \"If-Match\" = \"{{version}}\" }}\n{write}\n\n[expect]\nwinner = [200]\nconflict = [412]\n"
    );
    write_scenario(dir, "faulty.toml", &text)
}

/// Runs `mode` against the built-in server with `fault`; the result and the report folder.
async fn run_faulty(mode: Mode, fault: Fault) -> (ScenarioResult, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(vec![scenario(dir.path(), mode)]);
    opts.out = Some(dir.path().join("out"));
    opts.fault = Some(fault);
    let mut report = run(opts).await.expect("run starts");
    assert_eq!(report.results.len(), 1);
    let result = report.results.remove(0);
    assert!(
        result.error.is_none(),
        "{mode:?} {fault}: {:?}",
        result.error
    );
    (result, dir)
}

/// A count in the first row of a CSV report, by column name.
fn field(path: &Path, name: &str) -> u64 {
    let (header, rows) = read_table(path);
    let col = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    rows[0][col]
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a count"))
}

/// Writes = winners + conflicts + unexpected + indeterminate + not sent, in the
/// terminal, `summary.csv`, `summary.json` and `requests.csv`, all with the same
/// figures.
fn assert_every_write_is_accounted_for(r: &ScenarioResult, out: &Path, what: &str) {
    let c = &r.verdict.counts;
    let figures = [
        c.writes,
        c.winners,
        c.conflicts,
        c.unexpected,
        c.indeterminate,
        c.not_sent,
    ];
    assert!(c.writes > 0, "{what}: no write");
    assert_eq!(
        c.writes,
        c.winners + c.conflicts + c.unexpected + c.indeterminate + c.not_sent,
        "{what}"
    );

    // The terminal: WRITES WINNERS CONFLICT UNEXP INDET NOT SENT, after the name and the
    // verdict.
    let text = terminal::render(std::slice::from_ref(r), None, false);
    let line = text
        .lines()
        .find(|l| l.starts_with("faulty "))
        .unwrap_or_else(|| panic!("{what}: no row in {text}"));
    let cells: Vec<u64> = line
        .split_whitespace()
        .skip(2)
        .take(6)
        .map(|x| x.parse().unwrap_or_else(|_| panic!("{what}: {line}")))
        .collect();
    assert_eq!(cells, figures, "{what}: the terminal row {line}");

    let summary = out.join("summary.csv");
    let from_csv = [
        "writes",
        "winners",
        "conflicts",
        "unexpected",
        "indeterminate",
        "not_sent",
    ]
    .map(|name| field(&summary, name));
    assert_eq!(from_csv, figures, "{what}: summary.csv");

    let json = read_json(&out.join("summary.json"));
    let metrics = &json["scenarios"][0]["metrics"];
    let from_json = [
        "writes",
        "winners",
        "conflicts",
        "unexpected",
        "indeterminate",
        "not_sent",
    ]
    .map(|name| metrics[name].as_f64().unwrap_or(-1.0) as u64);
    assert_eq!(from_json, figures, "{what}: summary.json");

    let records = history::read_csv(&out.join("requests.csv")).expect("history");
    let writes: Vec<_> = records
        .iter()
        .filter(|w| matches!(w.phase, Phase::Write | Phase::Probe))
        .collect();
    let of = |o: Outcome| writes.iter().filter(|w| w.outcome == o).count() as u64;
    let from_history = [
        writes.len() as u64,
        of(Outcome::Winner),
        of(Outcome::Conflict),
        of(Outcome::Unexpected),
        of(Outcome::Indeterminate),
        of(Outcome::NotSent),
    ];
    assert_eq!(from_history, figures, "{what}: requests.csv");
}

/// Runs every mode with `fault` and checks what every write of each got: its outcome,
/// whether its status was kept, and its cause (one of `causes`); and the verdict.
async fn every_mode(
    fault: Fault,
    outcome: Outcome,
    status_kept: bool,
    causes: &[Option<Cause>],
    verdict: impl Fn(Mode) -> &'static str,
) {
    for mode in MODES {
        let (r, dir) = run_faulty(mode, fault).await;
        let what = format!("{fault} in {mode:?}");
        let out = dir.path().join("out");
        assert_every_write_is_accounted_for(&r, &out, &what);
        let records = history::read_csv(&out.join("requests.csv")).expect("history");
        let writes: Vec<_> = records
            .iter()
            .filter(|w| matches!(w.phase, Phase::Write | Phase::Probe))
            .collect();
        for w in &writes {
            assert_eq!(w.outcome, outcome, "{what}: {w:?}");
            assert_eq!(w.status.is_some(), status_kept, "{what}: status of {w:?}");
            assert!(causes.contains(&w.cause), "{what}: cause of {w:?}");
        }
        assert_eq!(r.status(), verdict(mode), "{what}: {:?}", r.inconclusive());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_in_the_body_is_indeterminate_with_its_status_kept_in_every_mode() {
    every_mode(
        Fault::ResetMidBody,
        Outcome::Indeterminate,
        true,
        &[Some(Cause::BodyReset)],
        |_| "INCONCLUSIVE",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_slower_than_the_timeout_is_indeterminate_with_its_status_kept_in_every_mode() {
    every_mode(
        Fault::SlowBody,
        Outcome::Indeterminate,
        true,
        &[Some(Cause::BodyTimeout)],
        |_| "INCONCLUSIVE",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_short_of_its_content_length_is_indeterminate_with_its_status_kept_in_every_mode() {
    // HTTP/1.1 sees the connection end early; HTTP/2 sees END_STREAM before the length,
    // a protocol error.
    every_mode(
        Fault::ShortLength,
        Outcome::Indeterminate,
        true,
        &[Some(Cause::ShortBody), Some(Cause::BadFraming)],
        |_| "INCONCLUSIVE",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_framing_is_indeterminate_with_its_status_kept_in_every_mode() {
    every_mode(
        Fault::BadChunking,
        Outcome::Indeterminate,
        true,
        &[Some(Cause::BadFraming)],
        |_| "INCONCLUSIVE",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_is_not_http_is_indeterminate_without_a_status_in_every_mode() {
    every_mode(
        Fault::Garbage,
        Outcome::Indeterminate,
        false,
        &[Some(Cause::Garbage)],
        |_| "INCONCLUSIVE",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_never_answered_is_indeterminate_and_a_run_of_them_is_inconclusive() {
    every_mode(
        Fault::NoAnswer,
        Outcome::Indeterminate,
        false,
        &[Some(Cause::Timeout)],
        |_| "INCONCLUSIVE",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_past_the_limit_is_cut_and_judged_by_its_status_in_every_mode() {
    for mode in MODES {
        let (r, dir) = run_faulty(mode, Fault::HugeBody).await;
        let what = format!("huge-body in {mode:?}");
        let out = dir.path().join("out");
        assert_every_write_is_accounted_for(&r, &out, &what);
        assert_eq!(r.status(), "PASS", "{what}: {:?}", r.verdict.violations);
        let c = &r.verdict.counts;
        assert!(c.winners > 0, "{what}");
        assert_eq!(c.indeterminate + c.not_sent, 0, "{what}");
        let records = history::read_csv(&out.join("requests.csv")).expect("history");
        for w in records.iter().filter(|w| w.phase == Phase::Write) {
            assert_eq!(w.cause, Some(Cause::Cut), "{what}: {w:?}");
            assert!(
                w.body.len() <= 64 * 1024,
                "{what}: the body kept is at most the limit"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_before_the_request_ends_is_the_writes_answer_in_every_mode() {
    for mode in MODES {
        let (r, dir) = run_faulty(mode, Fault::EarlyAnswer).await;
        let what = format!("early-answer in {mode:?}");
        let out = dir.path().join("out");
        assert_every_write_is_accounted_for(&r, &out, &what);
        let c = &r.verdict.counts;
        assert_eq!(
            (c.conflicts, c.not_sent, c.indeterminate),
            (c.writes, 0, 0),
            "{what}: every early 412 is kept as the write's answer"
        );
        let records = history::read_csv(&out.join("requests.csv")).expect("history");
        let writes: Vec<_> = records.iter().filter(|w| w.phase == Phase::Write).collect();
        for w in &writes {
            assert_eq!(w.status, Some(412), "{what}: {w:?}");
        }
        if mode == Mode::Race(SyncMode::SinglePacket) {
            // The answer came (and the stream was reset with NO_ERROR) before the
            // write's final frame was released, and the record says so. (An answer
            // that reaches contend only after its release is a plain answer.)
            assert!(
                writes
                    .iter()
                    .all(|w| matches!(w.cause, Some(Cause::Early) | None)),
                "{what}: {writes:?}"
            );
            assert!(
                writes.iter().any(|w| w.cause == Some(Cause::Early)),
                "{what}: {writes:?}"
            );
        }
        match mode {
            // Every writer refused although the version was current: the server's fault
            // is named as such.
            Mode::Race(_) => {
                assert_eq!(r.status(), "FAIL", "{what}");
                assert!(
                    r.verdict
                        .violations
                        .iter()
                        .all(|v| v.kind == contend::check::ViolationKind::NoWinner),
                    "{what}: {:?}",
                    r.verdict.violations
                );
            }
            Mode::Counter | Mode::Sustained(_) => assert_eq!(r.status(), "PASS", "{what}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_groups_the_causes_of_writes_without_a_whole_answer() {
    let (r, _dir) = run_faulty(Mode::Race(SyncMode::LastByte), Fault::ResetMidBody).await;
    let text = terminal::render(std::slice::from_ref(&r), None, false);
    assert!(
        text.contains("faulty: 6 of 6 writes indeterminate (6 reset in the body)"),
        "{text}"
    );
    assert!(
        text.contains("faulty INCONCLUSIVE: nothing was judged"),
        "{text}"
    );
}
