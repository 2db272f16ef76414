//! Verdicts you can gate a release on: a scenario that judged nothing is INCONCLUSIVE
//! (exit 3), never PASS, in every report; a violation in what was judged still FAILs;
//! phantom acknowledgements are named; the progress bar counts what the verdict counts;
//! and `sustained` speaks the protocol its sync mode names. (Weak version tokens, named
//! `weak_version_token` and judged not at all, are met on the reference server's `/dav`:
//! `real_apis.rs`.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use contend::check::{Judged, Verdict, Violation, ViolationKind};
use contend::convergence::Convergence;
use contend::engine::Progress;
use contend::history::RequestRecord;
use contend::latency::Latency;
use contend::report::progress::Tally;
use contend::report::{self, exit_code, junit, RunInfo, RunStatus, ScenarioResult};
use contend::run::{run, RunOptions};
use contend::scenario::{SyncMode, SyncRan, WorkloadId};
use contend::server::{Bug, Fault};

use crate::common::files::scenario;
use crate::common::reports::{read_json, read_table};
use crate::with_bug_and_window as server;

/// A result with these counts and this much judged, and nothing else.
fn result(writes: u64, undecided: u64, judged: u64, rounds: u64) -> ScenarioResult {
    let mut verdict = Verdict::new("s", WorkloadId::StaleWrite);
    verdict.counts.writes = writes;
    verdict.counts.indeterminate = undecided;
    verdict.counts.winners = writes - undecided;
    verdict.judged = Judged {
        unit: "rounds",
        total: rounds,
        judged,
    };
    ScenarioResult {
        verdict,
        latency: Latency::empty(),
        series: contend::series::TimeSeries::empty(),
        convergence: Convergence::default(),
        target: "builtin".into(),
        sync: Some(SyncRan {
            mode: SyncMode::Barrier,
            auto: false,
        }),
        sync_passed_over: Vec::new(),
        writer_connections: None,
        error: None,
        complete: true,
        duration: Duration::from_secs(1),
        thresholds: Vec::new(),
        inconclusive_above: 0.1,
        witness: Default::default(),
    }
}

fn violated(mut r: ScenarioResult) -> ScenarioResult {
    r.verdict.violations.push(Violation {
        kind: ViolationKind::MultipleWinners,
        round: Some(0),
        version: None,
        evidence: "two won".into(),
    });
    r
}

#[test]
fn a_scenario_that_judged_nothing_is_inconclusive_and_exits_3() {
    let r = result(80, 80, 0, 5);
    assert_eq!(r.status(), "INCONCLUSIVE");
    let why = r.inconclusive().expect("a reason");
    assert!(
        why.starts_with("nothing was judged: none of the 5 rounds had a definite outcome"),
        "{why}"
    );
    assert_eq!(exit_code([&r], false), 3);
}

#[test]
fn too_many_undecided_writes_are_inconclusive_above_the_limit_and_pass_below_it() {
    let mut r = result(100, 20, 5, 5);
    assert_eq!(r.status(), "INCONCLUSIVE");
    assert!(
        r.inconclusive()
            .unwrap_or_default()
            .starts_with("20.0% of writes were indeterminate or not sent, above the 10.0% limit"),
        "{:?}",
        r.inconclusive()
    );
    r.inconclusive_above = 0.25;
    assert_eq!(r.status(), "PASS");
    r.inconclusive_above = 0.2;
    assert_eq!(r.status(), "PASS", "the limit itself is allowed");
}

#[test]
fn a_violation_seen_in_what_was_judged_still_fails() {
    let r = violated(result(100, 90, 1, 5));
    assert_eq!(r.status(), "FAIL");
    assert_eq!(r.inconclusive(), None);
    assert_eq!(exit_code([&r], false), 1);
}

#[test]
fn fail_wins_over_error_over_inconclusive_over_an_interruption_over_pass() {
    let pass = result(10, 0, 2, 2);
    let unknown = result(10, 10, 0, 2);
    let mut error = result(0, 0, 0, 0);
    error.error = Some("unreachable".into());
    let fail = violated(result(10, 0, 2, 2));
    let mut interrupted = pass.clone();
    interrupted.complete = false;
    assert_eq!(exit_code([&pass, &unknown, &error, &fail], false), 1);
    assert_eq!(exit_code([&pass, &unknown, &error], false), 2);
    assert_eq!(exit_code([&pass, &unknown, &interrupted], true), 3);
    assert_eq!(exit_code([&pass, &interrupted], false), 130);
    assert_eq!(exit_code([&pass], false), 0);
    assert_eq!(
        RunStatus::of([&pass, &unknown]),
        RunStatus::Inconclusive,
        "one inconclusive scenario makes the run inconclusive"
    );
}

#[test]
fn every_report_says_inconclusive_and_why() {
    let r = result(16, 16, 0, 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let info = RunInfo {
        started_at: std::time::SystemTime::now(),
        seed: Some(1),
        not_run: Vec::new(),
    };
    report::write_run(dir.path(), &info, std::slice::from_ref(&r), &[]).expect("reports");

    let (header, rows) = read_table(&dir.path().join("summary.csv"));
    let col = |name: &str| rows[0][header.iter().position(|h| h == name).expect(name)].clone();
    assert_eq!(col("verdict"), "INCONCLUSIVE");
    assert!(col("inconclusive").starts_with("nothing was judged"));
    assert_eq!((col("judged"), col("to_judge")), ("0".into(), "1".into()));

    let json = read_json(&dir.path().join("summary.json"));
    assert_eq!(json["run"]["verdict"], "INCONCLUSIVE");
    assert_eq!(json["run"]["exit_code"], 3);
    assert_eq!(json["scenarios"][0]["verdict"], "INCONCLUSIVE");
    assert!(json["scenarios"][0]["inconclusive"]
        .as_str()
        .unwrap_or_default()
        .starts_with("nothing was judged"));

    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(html.contains(r#"class="badge b-inconclusive">INCONCLUSIVE"#));
    assert!(
        html.contains("<b>INCONCLUSIVE</b> — nothing was judged"),
        "{html}"
    );

    let xml = junit::render(&info, std::slice::from_ref(&r), None).expect("JUnit");
    assert!(
        xml.contains(r#"<error message="INCONCLUSIVE: nothing was judged"#),
        "{xml}"
    );
    assert!(xml.contains(r#"type="inconclusive""#), "{xml}");
    assert!(xml.contains(r#"errors="1""#), "{xml}");

    let text = report::terminal::render(std::slice::from_ref(&r), None, false);
    assert!(
        text.contains("s INCONCLUSIVE: nothing was judged"),
        "{text}"
    );
    let compare =
        report::terminal::render_compare(&[("staging", std::slice::from_ref(&r))], None, false);
    assert!(
        compare.contains("staging / s: INCONCLUSIVE: nothing was judged"),
        "{compare}"
    );
}

async fn run_one(opts: RunOptions) -> ScenarioResult {
    let mut report = run(opts).await.expect("run starts");
    assert_eq!(report.results.len(), 1);
    report.results.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_every_write_timed_out_is_inconclusive_not_a_pass() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(vec![scenario("notes-etag-stale-write.toml")]);
    opts.out = Some(dir.path().join("out"));
    opts.writers = Some(4);
    opts.rounds = Some(2);
    opts.timeout = Some(Duration::from_millis(300));
    opts.fault = Some(Fault::NoAnswer);
    let r = run_one(opts).await;
    assert_eq!(r.verdict.counts.winners, 0);
    assert_eq!(r.verdict.counts.indeterminate, 8);
    assert_eq!(r.status(), "INCONCLUSIVE", "{:?}", r.verdict.violations);
    assert!(r
        .inconclusive()
        .unwrap_or_default()
        .contains("8 indeterminate: 8 timed out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_that_share_one_new_version_are_phantom_successes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(vec![scenario("notes-etag-stale-write.toml")]);
    opts.out = Some(dir.path().join("out"));
    opts.writers = Some(4);
    opts.rounds = Some(3);
    opts.server = server(Some(Bug::PhantomSuccess), Duration::ZERO);
    let r = run_one(opts).await;
    assert_eq!(
        r.verdict.count(ViolationKind::PhantomSuccess),
        3,
        "{:?}",
        r.verdict.violations
    );
    let evidence = &r
        .verdict
        .violations
        .iter()
        .find(|v| v.kind == ViolationKind::PhantomSuccess)
        .expect("phantom")
        .evidence;
    assert!(
        evidence.contains("3 writes were acknowledged with the same new version"),
        "{evidence}"
    );
    assert!(
        evidence.contains("acknowledged writes it did not store"),
        "{evidence}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconditional_write_acknowledged_but_absent_from_the_state_is_a_phantom() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(vec![scenario("notes-precondition-required.toml")]);
    opts.out = Some(dir.path().join("out"));
    opts.writers = Some(3);
    opts.rounds = Some(2);
    opts.server = server(Some(Bug::PhantomSuccess), Duration::ZERO);
    let r = run_one(opts).await;
    assert_eq!(r.verdict.count(ViolationKind::PreconditionNotRequired), 2);
    assert_eq!(
        r.verdict.count(ViolationKind::PhantomSuccess),
        2,
        "{:?}",
        r.verdict.violations
    );
}

/// A progress listener that tallies as the bar does and keeps the last tally.
#[derive(Default)]
struct Watch {
    tally: Mutex<Option<Tally>>,
    most: Mutex<u64>,
}

impl Progress for Watch {
    fn start(&self, scenario: &str, workload: WorkloadId, _steps: u64) {
        *self.tally.lock().expect("lock") = Some(Tally::new(scenario, workload));
    }

    fn step(&self, records: &[RequestRecord]) {
        if let Some(tally) = self.tally.lock().expect("lock").as_mut() {
            tally.step(records);
            let mut most = self.most.lock().expect("lock");
            *most = (*most).max(tally.violations());
        }
    }

    fn finish(&self) {}
}

/// A progress listener that keeps what it was told, in order.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Progress for Log {
    fn start(&self, scenario: &str, _: WorkloadId, _: u64) {
        self.0
            .lock()
            .expect("lock")
            .push(format!("start {scenario}"));
    }

    fn doing(&self, what: &str) {
        self.0.lock().expect("lock").push(what.to_string());
    }

    fn step(&self, _: &[RequestRecord]) {
        self.0.lock().expect("lock").push("step".to_string());
    }

    fn finish(&self) {
        self.0.lock().expect("lock").push("finish".to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_bar_says_which_sync_mode_is_checked_and_when_the_set_up_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Arc::new(Log::default());
    let mut opts = RunOptions::new(vec![scenario("notes-etag-stale-write.toml")]);
    opts.out = Some(dir.path().join("out"));
    opts.rounds = Some(2);
    opts.writers = Some(2);
    opts.progress = log.clone();
    let r = run_one(opts).await;
    assert_eq!(r.status(), "PASS", "{:?}", r.error);
    let told = log.0.lock().expect("lock").clone();
    assert_eq!(
        told,
        [
            "start notes-etag-stale-write",
            "probe single-packet",
            "setting up",
            "step",
            "step",
            "finish"
        ],
        "the probe and the set-up come before the first round"
    );
}

async fn progress_and_verdict(file: &str, bug: Option<Bug>) -> (u64, usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let watch = Arc::new(Watch::default());
    let mut opts = RunOptions::new(vec![scenario(file)]);
    opts.out = Some(dir.path().join("out"));
    opts.rounds = Some(20);
    opts.progress = watch.clone();
    opts.server = server(bug, Duration::from_millis(30));
    let r = run_one(opts).await;
    let most = *watch.most.lock().expect("lock");
    (most, r.verdict.violations.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_progress_bar_shows_no_violation_the_verdict_does_not_have() {
    // The stale-write checker would call every idempotency round a violation.
    let (shown, found) = progress_and_verdict("payments-idempotency.toml", None).await;
    assert_eq!((shown, found), (0, 0));
    let (shown, found) =
        progress_and_verdict("payments-idempotency.toml", Some(Bug::IdemDouble)).await;
    assert!(found > 0);
    assert_eq!(
        shown, found as u64,
        "the bar counts what the verdict counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sustained_speaks_http2_when_its_sync_mode_says_single_packet() {
    // A server that speaks HTTP/1.1 only.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let serve = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut scratch = [0u8; 4096];
                while let Ok(n) = socket.read(&mut scratch).await {
                    if n == 0
                        || socket
                            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = scenario("notes-etag-sustained.toml");
    let mut opts = RunOptions::new(vec![file]);
    opts.out = Some(dir.path().join("out"));
    opts.target = Some(format!("http://127.0.0.1:{port}"));
    opts.sync = Some(SyncMode::SinglePacket.into());
    opts.timeout = Some(Duration::from_secs(2));
    let r = run_one(opts).await;
    serve.abort();
    let error = r.error.unwrap_or_default();
    assert!(
        error.contains("needs HTTP/2"),
        "the scenario's sync mode is honoured: {error}"
    );
}
