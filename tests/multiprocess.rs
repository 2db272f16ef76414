//! The multi-process reference server, `contend serve --processes N`, as a test server
//! for races that reach several workers: two worker processes really serve one port;
//! with a per-process lock, two writers with one `If-Match` that reach different workers
//! inside the window both win (and within one worker, only one does); with the shared
//! lock exactly one wins and the other gets 412; a stale-write scenario runs against it
//! end to end; and stopping or killing the parent leaves no worker behind.
//!
//! The races are driven over raw HTTP/1.1 connections, opened until the test holds one
//! on each worker it needs (every answer names its worker in `x-contend-worker`). Windows
//! are 100 ms while the two writes leave within microseconds of each other, so every
//! verdict is certain.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::multiprocess::{Connection, MultiProcessServer, Reply, MAX_CONNECTIONS, PATIENCE};

/// Creates a note and returns its path and `ETag`.
fn create_note(connection: &mut Connection) -> (String, String) {
    let created = connection.request("POST", "/notes", &[], r#"{"text": "seed"}"#);
    assert_eq!(created.status, 201, "{created:?}");
    (
        created.header("location").to_owned(),
        created.header("etag").to_owned(),
    )
}

/// Sends the same conditional write (`If-Match: etag`), with the connection's position
/// as its marker, on every connection back to back, then reads every answer.
fn race(connections: &mut [Connection], path: &str, etag: &str) -> Vec<Reply> {
    for (writer, connection) in connections.iter_mut().enumerate() {
        let body = format!(r#"{{"text": "writer-{writer}"}}"#);
        connection.send("PUT", path, &[("if-match", etag)], &body);
    }
    connections.iter_mut().map(Connection::receive).collect()
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    let mut statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    statuses.sort_unstable();
    statuses
}

/// Whether process `pid` is gone: no such process, or a zombie left to a parent that
/// will reap it (it runs no code and holds no socket).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Waits (bounded) until every process in `pids` is gone; false if one is still there.
fn all_gone(pids: &BTreeSet<u32>) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if pids.iter().all(|pid| process_gone(*pid)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn two_worker_processes_serve_one_port_and_each_answer_names_its_worker() {
    let server = MultiProcessServer::start(2, "shared", "1ms");
    let mut seen = BTreeMap::new();
    for _ in 0..MAX_CONNECTIONS {
        let reply = server.connect().request("GET", "/_contend/health", &[], "");
        seen.insert(reply.worker(), reply.worker_pid());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        [0, 1],
        "fresh connections reach both workers"
    );
    let pids: BTreeSet<u32> = seen.values().copied().collect();
    assert_eq!(pids.len(), 2, "two processes: {seen:?}");
    assert!(
        !pids.contains(&server.parent.id()),
        "the parent serves nothing"
    );
    assert!(server.stop().success());
}

#[test]
fn a_per_process_lock_lets_two_writers_with_one_if_match_both_win_on_different_workers() {
    let server = MultiProcessServer::start(2, "per-process", "100ms");
    let mut connections = server.connections_on(&[0, 1]);
    let (path, etag) = create_note(&mut connections[0]);

    let replies = race(&mut connections, &path, &etag);

    assert_eq!(
        statuses(&replies),
        [200, 200],
        "multiple winners: {replies:?}"
    );
    let workers: BTreeSet<u32> = replies.iter().map(Reply::worker).collect();
    assert_eq!(workers.len(), 2, "the writes reached both workers");
    // Both checked version 1 and both wrote version 2: one write is lost.
    assert!(replies.iter().all(|reply| reply.header("etag") == "\"2\""));
    let read = connections[0].request("GET", &path, &[], "");
    let stored = read.body.contains("writer-0") as u8 + read.body.contains("writer-1") as u8;
    assert_eq!(stored, 1, "one marker survives: {read:?}");
    assert!(server.stop().success());
}

#[test]
fn a_per_process_lock_is_correct_within_one_worker() {
    let server = MultiProcessServer::start(2, "per-process", "100ms");
    let mut connections = server.connections_on(&[0, 0]);
    let (path, etag) = create_note(&mut connections[0]);

    let replies = race(&mut connections, &path, &etag);

    assert_eq!(statuses(&replies), [200, 412], "one winner: {replies:?}");
    assert!(replies.iter().all(|reply| reply.worker() == 0));
    assert!(server.stop().success());
}

#[test]
fn a_shared_lock_lets_exactly_one_of_two_writers_on_different_workers_win() {
    let server = MultiProcessServer::start(2, "shared", "100ms");
    let mut connections = server.connections_on(&[0, 1]);
    let (path, etag) = create_note(&mut connections[0]);

    let replies = race(&mut connections, &path, &etag);

    assert_eq!(statuses(&replies), [200, 412], "one winner: {replies:?}");
    let winner = replies
        .iter()
        .position(|r| r.status == 200)
        .expect("a winner");
    let loser = &replies[1 - winner];
    assert_eq!(
        loser.header("etag"),
        "\"2\"",
        "the 412 names the current ETag"
    );
    let read = connections[1].request("GET", &path, &[], "");
    assert!(read.body.contains(&format!("writer-{winner}")), "{read:?}");
    assert!(server.stop().success());
}

#[test]
fn stopping_the_parent_stops_and_reaps_every_worker() {
    let server = MultiProcessServer::start(3, "shared", "1ms");
    let pids: BTreeSet<u32> = server
        .connections_on(&[0, 1, 2])
        .iter_mut()
        .map(|c| c.request("GET", "/_contend/health", &[], "").worker_pid())
        .collect();
    assert_eq!(pids.len(), 3);

    let status = server.stop();

    assert!(status.success(), "{status:?}");
    assert!(all_gone(&pids), "a worker outlived its parent: {pids:?}");
}

#[test]
fn killing_the_parent_takes_every_worker_with_it() {
    let mut server = MultiProcessServer::start(2, "shared", "1ms");
    let pids: BTreeSet<u32> = server
        .connections_on(&[0, 1])
        .iter_mut()
        .map(|c| c.request("GET", "/_contend/health", &[], "").worker_pid())
        .collect();

    // SIGKILL: the parent forwards nothing; the workers' parent-death signal stops them.
    server.signal(libc::SIGKILL);
    server.wait_for_exit();

    assert!(all_gone(&pids), "a worker outlived its parent: {pids:?}");
}

#[test]
fn the_stale_write_scenario_runs_end_to_end_against_two_worker_processes() {
    // Where the writers' connections land is up to the kernel: only the shared lock
    // gives a verdict that cannot depend on it (tests/connection_policy.rs races the
    // per-process lock).
    let server = MultiProcessServer::start(2, "shared", "2ms");
    let out = tempfile::tempdir().expect("temp dir");
    let scenario = common::files::scenario("notes-etag-stale-write.toml");
    let target = format!("http://{}", server.addr);
    let report = out.path().join("report");
    let run = common::binary::contend(
        &[
            "run",
            scenario.to_str().expect("utf-8 path"),
            "--target",
            &target,
            "--writers",
            "8",
            "--rounds",
            "5",
            "--seed",
            "1",
            "--no-progress",
            "--out",
            report.to_str().expect("utf-8 path"),
        ],
        out.path(),
    );
    assert_eq!(run.status.code(), Some(0), "{}", common::binary::text(&run));
    let summary = std::fs::read_to_string(report.join("summary.csv")).expect("summary.csv");
    let mut rows = csv::Reader::from_reader(summary.as_bytes());
    let columns = rows.headers().expect("header").clone();
    let row = rows.records().next().expect("one row").expect("a row");
    let field = |name: &str| {
        let at = columns.iter().position(|c| c == name).expect(name);
        row.get(at).unwrap_or_default().to_owned()
    };
    assert_eq!(field("verdict"), "PASS");
    assert_eq!(field("rounds"), "5");
    assert_eq!(field("winners"), "5", "one winner per round");
    assert_eq!(
        (field("sync").as_str(), field("sync_requested").as_str()),
        ("last-byte", "auto"),
        "the workers speak HTTP/1.1 only, so auto chooses last-byte"
    );
    assert!(server.stop().success());
}

/// Runs the stale-write scenario against `target` in `auto`, and returns what
/// `summary.csv` says ran.
fn auto_chose(target: &str) -> String {
    let out = tempfile::tempdir().expect("temp dir");
    let scenario = common::files::scenario("notes-etag-stale-write.toml");
    let report = out.path().join("report");
    let run = common::binary::contend(
        &[
            "run",
            scenario.to_str().expect("utf-8 path"),
            "--target",
            target,
            "--writers",
            "4",
            "--rounds",
            "2",
            "--no-progress",
            "--out",
            report.to_str().expect("utf-8 path"),
        ],
        out.path(),
    );
    assert_eq!(run.status.code(), Some(0), "{}", common::binary::text(&run));
    let summary = common::reports::summary_by_scenario(&report.join("summary.csv"));
    let row = summary.values().next().expect("a row");
    assert_eq!(row["sync_requested"], "auto");
    row["sync"].clone()
}

#[test]
fn with_http2_the_workers_also_speak_h2c_and_auto_chooses_single_packet() {
    let server = MultiProcessServer::start_with(2, "shared", "0ms", &["--http2"]);
    assert_eq!(
        auto_chose(&format!("http://{}", server.addr)),
        "single-packet",
        "h2c is spoken: one connection per round, so one worker per round"
    );
    assert!(server.stop().success());
}
