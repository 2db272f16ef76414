//! The `sustained` workload through the whole pipeline against the built-in reference
//! server: a correct server passes in the closed and the open model, the `toctou` bug
//! loses updates and fails, the open model runs exactly the attempts it scheduled, and
//! the saved history re-checks to the same figures, and over https both of its clients
//! (contend's own HTTP/1.1 one, reqwest for `single-packet`) give the same verdicts;
//! with `sync = "auto"` (the default) the run takes contend's own HTTP/1.1 client where
//! the target answers HTTP/1.1, and a target that speaks neither protocol stops it with
//! both reasons.
//!
//! Runs are bounded by a request count, never by a duration, and nothing here asserts
//! a time: a verdict or a count is certain, a latency is only required to be measured.

use std::path::{Path, PathBuf};

use contend::check::{check_all, ViolationKind};
use contend::history::{read_csv, Outcome, Phase};
use contend::report::ScenarioResult;
use contend::run::{run, RunOptions};
use contend::scenario::{SyncMode, SyncRan};
use contend::server::{Bug, ServerConfig};

use crate::common::files::write_scenario;
use crate::{run_over_tls_with, with_bug};

/// A sustained scenario on the built-in server's notes, with an If-Match write of the
/// count read plus one; `workload` is the rest of the [workload] table.
fn sustained_scenario(dir: &Path, workload: &str) -> PathBuf {
    let text = format!(
        r#"name = "sustained-test"
target = "builtin"

[workload]
kind = "sustained"
{workload}

[resource]
create = {{ method = "POST", path = "/notes", json = {{ count = 0 }}, expect = [201], id = "header:Location" }}
read = {{ path = "{{id}}" }}
version = "header:ETag"
value = "json:/count"

[write]
method = "PUT"
path = "{{id}}"
headers = {{ "If-Match" = "{{version}}" }}
json = {{ count = "{{next}}", by = "{{marker}}" }}

[expect]
winner = [200, 204]
conflict = [412]
"#
    );
    write_scenario(dir, "sustained.toml", &text)
}

/// Runs one sustained scenario and returns its result and the report directory.
async fn run_sustained(workload: &str, bug: Option<Bug>) -> (ScenarioResult, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = sustained_scenario(dir.path(), workload);
    let mut opts = RunOptions::new(vec![path]);
    opts.out = Some(dir.path().join("out"));
    opts.server = with_bug(bug);
    let mut report = run(opts).await.expect("run starts");
    assert_eq!(report.results.len(), 1);
    (report.results.remove(0), dir)
}

fn assert_passes(r: &ScenarioResult) {
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        r.status(),
        "PASS",
        "{:?}",
        r.verdict
            .violations
            .iter()
            .map(|v| &v.evidence)
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_server_passes_the_closed_model_and_every_acknowledged_write_counts() {
    let (r, dir) = run_sustained("connections = 4\nresources = 3\nrequests = 120", None).await;
    assert_passes(&r);
    let k = r.verdict.sustained.as_ref().expect("sustained figures");
    assert_eq!(k.attempts, 120, "exactly the requested attempts");
    assert_eq!(
        k.writes, 120,
        "every read succeeded, so every attempt wrote"
    );
    assert_eq!(k.resources, 3);
    assert_eq!(k.connections, 4);
    assert!(!k.open_model);
    assert_eq!(k.acknowledged + k.conflicts, k.writes);
    assert!(k.acknowledged > 0);
    assert_eq!(k.lost_updates, 0);
    assert!(
        k.corrected.is_empty(),
        "no timetable, so no corrected latency"
    );
    assert!(k.write_throughput().is_some() && k.request_rate().is_some());
    assert!(k.conflict_rate().is_some());
    let winners = k.raw.iter().find(|(o, _)| *o == Outcome::Winner);
    assert_eq!(winners.map(|(_, p)| p.count), Some(k.acknowledged));

    // Each resource's counter grew by exactly its acknowledged writes.
    let records = read_csv(&dir.path().join("out").join("requests.csv")).expect("history");
    for resource in 0..3u32 {
        let mine: Vec<_> = records
            .iter()
            .filter(|x| x.resource == Some(resource))
            .collect();
        let initial = mine
            .iter()
            .find(|x| x.phase == Phase::Setup && x.value.is_some());
        let last = mine.iter().rev().find(|x| x.phase == Phase::Final);
        let won = mine
            .iter()
            .filter(|x| x.phase == Phase::Write && x.outcome == Outcome::Winner)
            .count() as i64;
        let grew =
            last.and_then(|x| x.value).unwrap_or(-1) - initial.and_then(|x| x.value).unwrap_or(0);
        assert_eq!(grew, won, "resource {resource}");
        assert_eq!(
            mine.iter().filter(|x| x.phase == Phase::Read).count(),
            40,
            "attempts go round-robin over the resources"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_model_runs_exactly_the_attempts_it_scheduled_and_corrects_latency() {
    let (r, dir) = run_sustained(
        "connections = 3\nresources = 2\nrequests = 60\nrate = 400",
        None,
    )
    .await;
    assert_passes(&r);
    let k = r.verdict.sustained.as_ref().expect("sustained figures");
    assert!(k.open_model);
    assert_eq!(k.attempts, 60);
    let records = read_csv(&dir.path().join("out").join("requests.csv")).expect("history");
    let mut due: Vec<u64> = records
        .iter()
        .filter(|x| x.phase == Phase::Read)
        .map(|x| {
            x.scheduled_ns
                .expect("every attempt has its scheduled start")
        })
        .collect();
    due.sort_unstable();
    due.dedup();
    assert_eq!(
        due.len(),
        60,
        "60 distinct slots on the timetable, each run once"
    );
    // 400/s: the slots are 2.5 ms apart, so 60 of them span 59 intervals.
    let span = due[59] - due[0];
    assert!(
        (147_000_000..=148_000_000).contains(&span),
        "the timetable spans 59 × 2.5 ms, found {span} ns"
    );
    let rate = k.scheduled_rate.expect("scheduled rate");
    assert!((399.0..=401.0).contains(&rate), "{rate}");
    // Measured from the scheduled start, an attempt can only be as slow or slower.
    let corrected: u64 = k.corrected.iter().map(|(_, p)| p.count).sum();
    assert_eq!(corrected, k.writes);
    for ((o, raw), (o2, cor)) in k.raw.iter().zip(&k.corrected) {
        assert_eq!(o, o2);
        assert!(cor.max >= raw.max, "{o:?}: corrected {cor:?} raw {raw:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toctou_loses_acknowledged_writes_and_fails_with_lost_update() {
    // A 50 ms window between check and commit, 4 connections on one resource: the first
    // attempts all read the same version and all pass the check.
    let (r, _dir) = run_sustained(
        "connections = 4\nresources = 1\nrequests = 16",
        Some(Bug::Toctou),
    )
    .await;
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.status(), "FAIL");
    assert!(r.verdict.count(ViolationKind::LostUpdate) > 0);
    let k = r.verdict.sustained.as_ref().expect("sustained figures");
    assert!(k.lost_updates > 0);
    assert_eq!(r.verdict.lost_updates, k.lost_updates);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_saved_history_rechecks_to_the_same_verdict_and_figures() {
    // The run checks its attempts as they are spooled, in batches (600 attempts are
    // several batches per connection); `contend check` reads the saved file.
    let (r, dir) = run_sustained(
        "connections = 4\nresources = 1\nrequests = 600",
        Some(Bug::Toctou),
    )
    .await;
    let records = read_csv(&dir.path().join("out").join("requests.csv")).expect("history");
    let again = check_all(&records);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].violations, r.verdict.violations);
    assert_eq!(again[0].sustained, r.verdict.sustained);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_stream_to_disk_and_only_set_up_and_final_reads_stay_in_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = sustained_scenario(dir.path(), "connections = 2\nresources = 2\nrequests = 30");
    let s = contend::scenario::load_file(&path).expect("valid scenario");
    let server = contend::server::start(ServerConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("server starts");
    let base = url::Url::parse(&server.base_url()).expect("base url");
    let ctx = contend::engine::RunContext::new(7);
    let run = contend::engine::run(&s, base, &ctx).await;
    server.stop().await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let phases: Vec<Phase> = run.records.iter().map(|r| r.phase).collect();
    assert!(
        phases
            .iter()
            .all(|p| matches!(p, Phase::Setup | Phase::Final)),
        "{phases:?}"
    );
    let spool = run.spool.expect("the attempts went to a spool file");
    let spooled = read_csv(&spool).expect("spool is a history");
    std::fs::remove_file(&spool).expect("spool removed");
    assert_eq!(
        spooled.iter().filter(|r| r.phase == Phase::Read).count(),
        30
    );
    assert_eq!(
        spooled.iter().filter(|r| r.phase == Phase::Write).count(),
        30
    );
}

/// Runs a sustained scenario over https against the reference server on TLS, trusting
/// its self-signed certificate, in `sync` mode (HTTP/1.1 through contend's own client,
/// or HTTP/2 through reqwest for `single-packet`).
async fn run_over_tls(workload: &str, sync: SyncMode, bug: Option<Bug>) -> ScenarioResult {
    let mut results = run_over_tls_with(bug, sync, |dir| {
        RunOptions::new(vec![sustained_scenario(dir, workload)])
    })
    .await;
    assert_eq!(results.len(), 1);
    results.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_either_client_passes_a_correct_server_and_catches_toctou() {
    for sync in [SyncMode::Barrier, SyncMode::SinglePacket] {
        let r = run_over_tls("connections = 4\nresources = 2\nrequests = 200", sync, None).await;
        assert_passes(&r);
        let k = r.verdict.sustained.as_ref().expect("sustained figures");
        assert_eq!((k.attempts, k.writes), (200, 200), "{sync}");
        assert_eq!(k.acknowledged + k.conflicts, 200, "{sync}");
        assert_eq!((k.indeterminate, k.lost_updates), (0, 0), "{sync}");

        let r = run_over_tls(
            "connections = 4\nresources = 1\nrequests = 16",
            sync,
            Some(Bug::Toctou),
        )
        .await;
        assert!(r.error.is_none(), "{sync}: {:?}", r.error);
        assert_eq!(r.status(), "FAIL", "{sync}");
        assert!(r.verdict.count(ViolationKind::LostUpdate) > 0, "{sync}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sync_auto_a_sustained_run_takes_contends_own_http1_client() {
    let (r, _dir) = run_sustained("connections = 2\nresources = 1\nrequests = 40", None).await;
    assert_passes(&r);
    assert_eq!(
        r.sync,
        Some(SyncRan {
            mode: SyncMode::LastByte,
            auto: true
        }),
        "the built-in server answers HTTP/1.1, so auto chooses contend's own client"
    );
    let k = r.verdict.sustained.as_ref().expect("sustained figures");
    assert_eq!((k.attempts, k.writes), (40, 40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sync_auto_a_target_that_answers_neither_protocol_stops_with_both_reasons() {
    // A server that accepts connections and closes them unanswered.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let serve = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(vec![sustained_scenario(dir.path(), "requests = 10")]);
    opts.out = Some(dir.path().join("out"));
    opts.target = Some(format!("http://127.0.0.1:{port}"));
    opts.timeout = Some(std::time::Duration::from_secs(2));
    let mut report = run(opts).await.expect("run starts");
    serve.abort();
    let r = report.results.remove(0);
    assert_eq!(r.status(), "ERROR");
    let error = r.error.unwrap_or_default();
    assert!(
        error.starts_with("sync auto found no mode the target takes (")
            && error.contains("last-byte: ")
            && error.contains("single-packet: "),
        "both refusals are named: {error}"
    );
}
