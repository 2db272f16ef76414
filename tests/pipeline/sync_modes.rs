//! Every sync mode (barrier, last-byte, single-packet) against the built-in reference
//! server: every write of every round is answered and recorded as in barrier mode, the
//! correct server passes, a `toctou` bug with a 50 ms window fails with
//! `multiple_winners`, every round reports its release, response and arrival spreads,
//! and a mode that cannot be used with a target stops the scenario with the reason.
//! `auto`, the default, chooses the strongest mode the target takes and the reports
//! name it.
//!
//! Spreads are checked for presence and consistency only, never against a time bound:
//! how tight a race is belongs to the detection-power benchmark, not to tests.

use std::path::PathBuf;

use contend::check::ViolationKind;
use contend::history::{self, Phase};
use contend::report::ScenarioResult;
use contend::run::{run, RunOptions};
use contend::scenario::{PassedOver, SyncChoice, SyncMode, SyncRan};
use contend::server::{Bug, ServerConfig};

use crate::common::files::{scenario, shipped, sustained_scenario, write_scenario};
use crate::common::reports::{column, csv_rows};
use crate::common::reports::{read_json, summary_by_scenario};
use crate::common::servers::{start_http1_only, start_http2_only, start_trusted_tls};
use crate::{options, run_builtin, run_over_tls_with, with_bug, DIALECTS};

/// Runs `paths` in `mode` against the built-in server and returns the results and the
/// report folder.
async fn run_in(
    mode: SyncMode,
    paths: Vec<PathBuf>,
    bug: Option<Bug>,
    writers: u32,
    rounds: u32,
) -> (Vec<ScenarioResult>, tempfile::TempDir) {
    let mut opts = options(paths, writers, rounds);
    opts.sync = Some(mode.into());
    run_builtin(opts, bug).await
}

/// Runs one scenario file written to a temporary folder, with no built-in server.
async fn run_file(toml: &str) -> ScenarioResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_scenario(dir.path(), "s.toml", toml);
    let mut opts = RunOptions::new(vec![file]);
    opts.out = Some(dir.path().join("out"));
    let mut report = run(opts).await.expect("run starts");
    assert_eq!(report.results.len(), 1);
    report.results.remove(0)
}

/// A scenario on an existing note at `target`, so no request precedes the writers'.
fn existing_note(target: &str, sync: &str, writers: u32) -> String {
    format!(
        r#"target = "{target}"
sync = "{sync}"
[workload]
kind = "stale-write"
writers = {writers}
rounds = 1
[resource]
id = "/notes/1"
read = {{ path = "{{id}}" }}
version = "header:ETag"
[write]
method = "PUT"
path = "{{id}}"
headers = {{ "If-Match" = "{{version}}" }}
json = {{ text = "{{marker}}" }}
[expect]
winner = [200]
conflict = [412]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_answers_and_records_every_write_and_the_correct_server_passes() {
    for mode in SyncMode::ALL {
        let (results, dir) = run_in(mode, DIALECTS.map(scenario).to_vec(), None, 8, 3).await;
        for r in &results {
            let v = &r.verdict;
            assert_eq!(
                r.status(),
                "PASS",
                "{mode}: {}: {:?} {:?}",
                v.scenario,
                v.violations,
                r.error
            );
            assert_eq!(r.sync.map(|s| (s.mode, s.auto)), Some((mode, false)));
            assert_eq!(v.rounds.len(), 3, "{mode}: {}", v.scenario);
            for round in &v.rounds {
                assert_eq!(
                    (round.writers, round.winners, round.conflicts),
                    (8, 1, 7),
                    "{mode}: {} round {}",
                    v.scenario,
                    round.round
                );
            }
        }
        let records = history::read_csv(&dir.path().join("requests.csv")).expect("history");
        let writes: Vec<_> = records.iter().filter(|r| r.phase == Phase::Write).collect();
        assert_eq!(writes.len(), 3 * 3 * 8, "{mode}");
        for w in &writes {
            assert!(w.status.is_some(), "{mode}: a write got no answer: {w:?}");
            assert!(!w.body.is_empty(), "{mode}: every answer has a body: {w:?}");
            assert!(w.end_ns >= w.start_ns, "{mode}: {w:?}");
            assert!(w.arrival_ns.is_some(), "{mode}: no arrival stamp: {w:?}");
        }
        let warmups = records.iter().filter(|r| r.phase == Phase::Warmup);
        assert!(warmups.clone().count() == 3 * 3 * 8, "{mode}");
        assert!(warmups.into_iter().all(|r| r.status == Some(200)), "{mode}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toctou_with_a_50ms_window_fails_with_multiple_winners_in_every_mode() {
    for mode in SyncMode::ALL {
        let (results, _dir) = run_in(
            mode,
            DIALECTS.map(scenario).to_vec(),
            Some(Bug::Toctou),
            8,
            2,
        )
        .await;
        for r in &results {
            assert_eq!(r.status(), "FAIL", "{mode}: {}", r.verdict.scenario);
            assert!(
                r.verdict.count(ViolationKind::MultipleWinners) > 0,
                "{mode}: {}: {:?}",
                r.verdict.scenario,
                r.verdict.violations
            );
            assert!(r.error.is_none(), "{mode}: {:?}", r.error);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_round_reports_consistent_release_response_and_arrival_spreads() {
    for mode in SyncMode::ALL {
        let (results, dir) = run_in(mode, vec![scenario(DIALECTS[0])], None, 8, 4).await;
        let r = &results[0];
        for round in &r.verdict.rounds {
            let (Some(p50), Some(p99), Some(spread)) = (
                round.arrival_p50_ns,
                round.arrival_p99_ns,
                round.arrival_spread_ns,
            ) else {
                panic!(
                    "{mode}: round {} has no arrival spread: {round:?}",
                    round.round
                );
            };
            assert!(p50 <= p99 && p99 <= spread, "{mode}: {round:?}");
        }
        let spreads = r.spreads();
        for (what, stat) in [
            ("release", spreads.send),
            ("response", spreads.response),
            ("arrival", spreads.arrival),
        ] {
            let s = stat.unwrap_or_else(|| panic!("{mode}: no {what} spread"));
            assert!(s.p50 <= s.p99 && s.p99 <= s.max, "{mode}: {what} {s:?}");
        }

        let rounds_csv = dir.path().join("rounds.csv");
        let at = column(&rounds_csv, "arrival_spread_us");
        let rows = csv_rows(&rounds_csv);
        assert_eq!(rows.len(), 4, "{mode}");
        for row in &rows {
            let value: f64 = row[at].parse().expect("arrival spread is a number");
            assert!(value >= 0.0, "{mode}: {row:?}");
        }
        let summary = dir.path().join("summary.csv");
        let rows = csv_rows(&summary);
        assert_eq!(&rows[0][column(&summary, "sync")], mode.name());
        for name in [
            "send_spread_p50_us",
            "response_spread_p50_us",
            "arrival_spread_p50_us",
            "arrival_spread_p99_us",
            "arrival_spread_max_us",
        ] {
            let value = &rows[0][column(&summary, name)];
            assert!(value.parse::<f64>().is_ok(), "{mode}: {name} = {value:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_packet_against_a_server_without_http2_stops_with_the_reason() {
    // A server that answers anything with an HTTP/1.1 error and closes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut scratch = [0u8; 1024];
            let _ = socket.read(&mut scratch).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                )
                .await;
        }
    });
    // A scenario with a set-up request: the mode is refused before it is sent.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(vec![scenario(DIALECTS[0])]);
    opts.target = Some(format!("http://127.0.0.1:{port}"));
    opts.sync = Some(SyncMode::SinglePacket.into());
    opts.out = Some(dir.path().to_path_buf());
    let report = run(opts).await.expect("run starts");
    server.abort();
    let r = &report.results[0];
    assert_eq!(r.status(), "ERROR");
    let error = r.error.clone().unwrap_or_default();
    assert!(
        error.contains("sync = \"single-packet\" needs HTTP/2"),
        "{error}"
    );
    assert!(error.contains("h2c"), "{error}");
    assert_eq!(r.verdict.counts.requests, 0, "nothing is sent: {error}");
}

/// Runs the three dialects over https against the reference server on TLS, trusting its
/// self-signed certificate.
async fn run_over_tls(mode: SyncMode, bug: Option<Bug>) -> Vec<ScenarioResult> {
    run_over_tls_with(bug, mode, |_| {
        options(DIALECTS.map(scenario).to_vec(), 8, 2)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_works_over_tls_with_unchanged_verdicts() {
    for mode in SyncMode::ALL {
        for r in run_over_tls(mode, None).await {
            let v = &r.verdict;
            assert_eq!(
                r.status(),
                "PASS",
                "{mode}: {}: {:?} {:?}",
                v.scenario,
                v.violations,
                r.error
            );
            assert!(
                v.rounds
                    .iter()
                    .all(|round| (round.winners, round.conflicts) == (1, 7)),
                "{mode}: {}: {:?}",
                v.scenario,
                v.rounds
            );
        }
        for r in run_over_tls(mode, Some(Bug::Toctou)).await {
            assert_eq!(r.status(), "FAIL", "{mode}: {}", r.verdict.scenario);
            assert!(
                r.verdict.count(ViolationKind::MultipleWinners) > 0,
                "{mode}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_modes_stop_with_the_tls_reason_on_an_untrusted_certificate() {
    // The certificate is written but not given to the run: it is not trusted.
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, _cert) = start_trusted_tls(ServerConfig::default(), dir.path()).await;
    let target = format!("https://127.0.0.1:{}", server.addr().port());
    for mode in ["last-byte", "single-packet"] {
        let r = run_file(&existing_note(&target, mode, 2)).await;
        assert_eq!(r.status(), "ERROR", "{mode}");
        let error = r.error.unwrap_or_default();
        assert!(error.contains("TLS handshake with"), "{mode}: {error}");
        assert!(error.contains("certificate"), "{mode}: {error}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_packet_refuses_more_writers_than_the_server_allows_streams() {
    // The built-in server, like hyper's default, allows 200 concurrent streams.
    let (results, _dir) = run_in(
        SyncMode::SinglePacket,
        vec![scenario(DIALECTS[0])],
        None,
        201,
        1,
    )
    .await;
    let r = &results[0];
    assert_eq!(r.status(), "ERROR");
    let error = r.error.clone().unwrap_or_default();
    assert!(
        error.contains("201 writes of a round as concurrent streams")
            && error.contains("allows 200; use at most 200 writers"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contend_serve_target_gives_arrival_stamps_and_reports_its_windows_as_they_lasted() {
    let config = with_bug(Some(Bug::Toctou));
    let server = contend::server::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .expect("bind");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(vec![scenario(DIALECTS[0])]);
    opts.target = Some(server.base_url());
    opts.arrivals = true;
    opts.sync = Some(SyncMode::SinglePacket.into());
    opts.writers = Some(4);
    opts.rounds = Some(2);
    opts.out = Some(dir.path().to_path_buf());
    let report = run(opts).await.expect("run starts");
    let r = &report.results[0];
    assert_eq!(r.status(), "FAIL");
    let winners = r.verdict.counts.winners;
    assert!(
        r.verdict
            .rounds
            .iter()
            .all(|round| round.arrival_spread_ns.is_some()),
        "{:?}",
        r.verdict.rounds
    );

    let windows: serde_json::Value = serde_json::from_slice(
        &reqwest::get(format!("{}/_contend/windows", server.base_url()))
            .await
            .expect("windows")
            .bytes()
            .await
            .expect("body"),
    )
    .expect("json");
    server.stop().await;
    assert_eq!(windows["count"].as_u64(), Some(winners), "{windows}");
    let p50 = windows["p50_us"].as_f64().expect("p50");
    assert!(
        p50 >= 50_000.0 * 0.999,
        "a window never ends early: {windows}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_workload_passes_the_correct_server_in_the_raw_modes() {
    let all = shipped();
    for mode in [SyncMode::LastByte, SyncMode::SinglePacket] {
        let (results, _dir) = run_in(mode, vec![all.clone()], None, 4, 2).await;
        assert!(results.len() > 3, "{mode}: the shipped scenarios");
        for r in &results {
            let v = &r.verdict;
            assert_eq!(
                r.status(),
                "PASS",
                "{mode}: {}: {:?} {:?}",
                v.scenario,
                v.violations,
                r.error
            );
            if v.workload != contend::scenario::WorkloadId::Counter {
                assert!(
                    v.rounds
                        .iter()
                        .all(|round| round.arrival_spread_ns.is_some()),
                    "{mode}: {} raced without arrival stamps",
                    v.scenario
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dup_create_with_a_50ms_window_is_caught_in_every_mode() {
    let users = scenario("users-unique-create.toml");
    for mode in SyncMode::ALL {
        let (results, _dir) = run_in(mode, vec![users.clone()], Some(Bug::DupCreate), 8, 2).await;
        let r = &results[0];
        assert_eq!(r.status(), "FAIL", "{mode}");
        assert!(
            r.verdict.count(ViolationKind::DuplicateCreate) > 0,
            "{mode}: {:?}",
            r.verdict.violations
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_history_reports_the_same_spreads_when_checked_again() {
    let (results, dir) = run_in(SyncMode::LastByte, vec![scenario(DIALECTS[1])], None, 4, 3).await;
    let records = history::read_csv(&dir.path().join("requests.csv")).expect("history");
    let again = contend::check::check_all(&records);
    assert_eq!(again.len(), 1);
    let (before, after) = (&results[0].verdict.rounds, &again[0].rounds);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        assert_eq!(
            (b.send_spread_ns, b.response_spread_ns, b.arrival_spread_ns),
            (a.send_spread_ns, a.response_spread_ns, a.arrival_spread_ns),
            "round {}",
            b.round
        );
        assert!(a.arrival_spread_ns.is_some());
    }
}

/// The one mode `auto` passed over, `single-packet`, whose reason says `why`.
fn passed_over_single_packet<'a>(r: &'a ScenarioResult, why: &str) -> &'a PassedOver {
    let [passed] = r.sync_passed_over.as_slice() else {
        panic!("one mode passed over: {:?}", r.sync_passed_over)
    };
    assert_eq!(passed.mode, SyncMode::SinglePacket);
    assert!(passed.why.contains(why), "{}", passed.why);
    passed
}

/// What a result says `auto` chose.
fn auto_chose(r: &ScenarioResult) -> Option<SyncMode> {
    r.sync.filter(|s| s.auto).map(|s| s.mode)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_is_the_default_and_picks_single_packet_against_the_built_in_server() {
    let (results, dir) = run_builtin(options(vec![scenario(DIALECTS[0])], 4, 3), None).await;
    let r = &results[0];
    assert_eq!(r.status(), "PASS", "{:?}", r.error);
    assert_eq!(
        r.sync,
        Some(SyncRan {
            mode: SyncMode::SinglePacket,
            auto: true
        }),
        "the built-in server speaks h2c and allows 200 streams"
    );
    assert_eq!(
        r.verdict.counts.writes, 12,
        "every write answered and recorded"
    );
    assert_eq!(r.sync_passed_over, [], "its first choice ran");
    let summary = summary_by_scenario(&dir.path().join("summary.csv"));
    let row = summary.values().next().expect("a row");
    assert_eq!(
        (
            row["sync"].as_str(),
            row["sync_requested"].as_str(),
            row["sync_passed_over"].as_str()
        ),
        ("single-packet", "auto", "")
    );
    let json = read_json(&dir.path().join("summary.json"));
    let section = &json["scenarios"][0];
    assert_eq!(
        (
            &section["sync"],
            &section["sync_requested"],
            &section["sync_passed_over"]
        ),
        (
            &serde_json::json!("single-packet"),
            &serde_json::json!("auto"),
            &serde_json::json!([])
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_single_packet_over_tls_where_the_server_offers_h2() {
    let results = run_over_tls_with(None, SyncChoice::Auto, |_| {
        options(vec![scenario(DIALECTS[0])], 4, 2)
    })
    .await;
    let r = &results[0];
    assert_eq!(r.status(), "PASS", "{:?}", r.error);
    assert_eq!(auto_chose(r), Some(SyncMode::SinglePacket));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_last_byte_against_a_server_that_speaks_only_http1_and_catches_toctou() {
    let target = start_http1_only(with_bug(Some(Bug::Toctou))).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = options(vec![scenario(DIALECTS[0])], 4, 2);
    opts.target = Some(target);
    opts.arrivals = true;
    opts.out = Some(dir.path().to_path_buf());
    let report = run(opts).await.expect("run starts");
    let r = &report.results[0];
    assert_eq!(auto_chose(r), Some(SyncMode::LastByte), "{:?}", r.error);
    assert_eq!(r.status(), "FAIL", "{:?}", r.error);
    assert!(r.verdict.count(ViolationKind::MultipleWinners) > 0);
    assert_eq!(
        r.verdict.counts.writes, 8,
        "every write answered and recorded"
    );
    assert_eq!(
        r.verdict.counts.not_sent + r.verdict.counts.indeterminate,
        0
    );
    let summary = summary_by_scenario(&dir.path().join("summary.csv"));
    let row = summary.values().next().expect("a row");
    assert_eq!(
        (row["sync"].as_str(), row["sync_requested"].as_str()),
        ("last-byte", "auto")
    );
    // Why not single-packet, in every report that names the mode.
    let passed = passed_over_single_packet(r, "does not speak HTTP/2");
    assert_eq!(
        row["sync_passed_over"],
        format!("single-packet: {}", passed.why)
    );
    let json = read_json(&dir.path().join("summary.json"));
    assert_eq!(
        json["scenarios"][0]["sync_passed_over"],
        serde_json::json!([{ "mode": "single-packet", "why": passed.why }])
    );
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    let shown = html
        .split("sync auto passed over</b> ")
        .nth(1)
        .unwrap_or_else(|| panic!("report.html says what auto passed over:\n{html}"));
    assert!(shown.starts_with("single-packet: "), "{shown:.200}");
    assert!(
        shown.contains("does not speak HTTP/2") && shown.contains("&#34;single-packet&#34;"),
        "the reason, escaped: {shown:.300}"
    );
    use contend::report::terminal::{render_in, Layout};
    let terminal = render_in(&report.results, None, false, Layout::Wide);
    assert!(
        terminal.contains(&format!("auto passed over single-packet: {}", passed.why)),
        "{terminal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sustained_run_says_which_client_its_connections_spoke_and_what_auto_passed_over() {
    // Contend's own HTTP/1.1 client, auto's first choice for a sustained run, cannot
    // speak to an h2c-only server: auto passes it over for HTTP/2 through reqwest.
    let target = start_http2_only(ServerConfig::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = sustained_scenario(dir.path(), "/notes", "requests = 40");
    let mut opts = RunOptions::new(vec![file]);
    opts.target = Some(target);
    opts.out = Some(dir.path().join("out"));
    let mut report = run(opts).await.expect("run starts");
    let r = report.results.remove(0);
    assert_eq!(
        r.status(),
        "PASS",
        "{:?} {:?}",
        r.error,
        r.verdict.violations
    );
    assert_eq!(auto_chose(&r), Some(SyncMode::SinglePacket));
    let [passed] = r.sync_passed_over.as_slice() else {
        panic!("one mode passed over: {:?}", r.sync_passed_over)
    };
    assert_eq!(passed.mode, SyncMode::LastByte);
    use contend::report::terminal::{render_in, Layout};
    let terminal = render_in(std::slice::from_ref(&r), None, false, Layout::Wide);
    let spoke = "connections spoke HTTP/2 through reqwest (sync auto → single-packet)";
    let why = format!("auto passed over last-byte: {}", passed.why);
    let (at_spoke, at_why) = (terminal.find(spoke), terminal.find(&why));
    assert!(
        matches!((at_spoke, at_why), (Some(a), Some(b)) if a < b),
        "the client, then why not single-packet:\n{terminal}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_that_stops_before_its_first_round_still_says_what_auto_passed_over() {
    // No note 1 on a fresh server: the first read is a 404, before any round.
    let target = start_http1_only(ServerConfig::default()).await;
    let r = run_file(&existing_note(&target, "auto", 2)).await;
    assert_eq!(r.status(), "ERROR", "{:?}", r.error);
    assert!(r.verdict.rounds.is_empty());
    let passed = passed_over_single_packet(&r, "does not speak HTTP/2");
    use contend::report::terminal::{render_in, Layout};
    for layout in [Layout::Wide, Layout::default()] {
        let terminal = render_in(std::slice::from_ref(&r), None, false, layout);
        let error = terminal
            .find("could not run to the end")
            .expect("the error");
        let why = terminal
            .find("auto passed over single-packet")
            .unwrap_or_else(|| panic!("why not single-packet:\n{terminal}"));
        assert!(error < why, "{terminal}");
        assert_eq!(
            terminal.matches("auto passed over").count(),
            1,
            "{terminal}"
        );
        let flat: String = terminal.split_whitespace().collect::<Vec<_>>().join(" ");
        let reason: String = passed.why.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&reason), "{terminal}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_takes_no_connection_is_no_reason_to_pass_a_mode_over() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let target = format!("http://127.0.0.1:{port}");
    let r = run_file(&existing_note(&target, "auto", 2)).await;
    assert_eq!(r.status(), "ERROR");
    let error = r.error.clone().unwrap_or_default();
    assert!(
        error.starts_with(&format!("{target}: cannot connect (")),
        "{error}"
    );
    assert!(r.sync_passed_over.is_empty(), "{:?}", r.sync_passed_over);
    assert_eq!(r.sync, None, "no mode ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_with_kept_connections_leaves_out_single_packet_and_picks_last_byte() {
    let mut opts = options(vec![scenario(DIALECTS[0])], 4, 2);
    opts.writer_connections = Some(contend::scenario::ConnectionPolicy::Kept);
    let (results, _dir) = run_builtin(opts, None).await;
    let r = &results[0];
    assert_eq!(r.status(), "PASS", "{:?}", r.error);
    assert_eq!(auto_chose(r), Some(SyncMode::LastByte));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_last_byte_when_the_server_allows_fewer_streams_than_writers() {
    // The built-in server allows 200 concurrent streams on a connection.
    let (results, _dir) = run_builtin(options(vec![scenario(DIALECTS[0])], 201, 1), None).await;
    let r = &results[0];
    assert_eq!(r.status(), "PASS", "{:?}", r.error);
    assert_eq!(auto_chose(r), Some(SyncMode::LastByte));
    assert_eq!(r.verdict.counts.writes, 201);
    passed_over_single_packet(r, "allows 200; use at most 200 writers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_mode_is_reported_as_named_not_as_chosen() {
    let (results, dir) = run_in(SyncMode::Barrier, vec![scenario(DIALECTS[0])], None, 2, 1).await;
    assert_eq!(
        results[0].sync,
        Some(SyncRan {
            mode: SyncMode::Barrier,
            auto: false
        })
    );
    let summary = summary_by_scenario(&dir.path().join("summary.csv"));
    let row = summary.values().next().expect("a row");
    assert_eq!(
        (row["sync"].as_str(), row["sync_requested"].as_str()),
        ("barrier", "barrier")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_byte_against_a_server_that_speaks_only_http2_stops_with_the_reason() {
    // An h2c server: it answers an HTTP/1.1 request with HTTP/2 frames.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut conn) = h2::server::handshake(socket).await {
                    while let Some(Ok(_)) = conn.accept().await {}
                }
            });
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut opts = RunOptions::new(vec![scenario(DIALECTS[0])]);
    opts.target = Some(format!("http://127.0.0.1:{port}"));
    opts.sync = Some(SyncMode::LastByte.into());
    opts.out = Some(dir.path().to_path_buf());
    let report = run(opts).await.expect("run starts");
    server.abort();
    let r = &report.results[0];
    assert_eq!(r.status(), "ERROR");
    let error = r.error.clone().unwrap_or_default();
    assert!(
        error.contains("sync = \"last-byte\" needs HTTP/1.1"),
        "{error}"
    );
    assert_eq!(r.verdict.counts.requests, 0, "nothing is sent: {error}");
}
