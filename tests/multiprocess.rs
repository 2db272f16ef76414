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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use contend::server::workers::{WORKER_HEADER, WORKER_PID_HEADER};

/// How long the server may take to start, and a stopped one to exit.
const PATIENCE: Duration = Duration::from_secs(30);

/// Most fresh connections a test opens looking for a worker before it gives up.
const MAX_CONNECTIONS: usize = 1_000;

/// A `contend serve --processes N` run as a child process on a free port of 127.0.0.1.
struct MultiProcessServer {
    parent: Child,
    addr: SocketAddr,
}

impl MultiProcessServer {
    /// Starts the server with `processes` workers, `--lock lock` and `--window window`,
    /// and returns once every worker serves (the parent prints its address only then)
    /// and it answers.
    fn start(processes: u32, lock: &str, window: &str) -> MultiProcessServer {
        let mut parent = Command::new(env!("CARGO_BIN_EXE_contend"))
            .args(["serve", "--addr", "127.0.0.1:0", "--processes"])
            .arg(processes.to_string())
            .args(["--lock", lock, "--window", window])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("contend serve starts");
        let stdout = parent.stdout.take().expect("piped stdout");
        let (found, address) = mpsc::channel();
        // Reads the banner, then keeps draining the parent's output until it exits.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on http://").nth(1) {
                    if let Some(found) = found.take() {
                        let _ = found.send(url.trim().to_owned());
                    }
                }
            }
        });
        let addr = address
            .recv_timeout(PATIENCE)
            .expect("the server says where it listens")
            .parse()
            .expect("an address");
        let server = MultiProcessServer { parent, addr };
        let health = server.connect().request("GET", "/_contend/health", &[], "");
        assert_eq!(health.status, 200, "{health:?}");
        server
    }

    /// A fresh connection.
    fn connect(&self) -> Connection {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout");
        Connection { stream }
    }

    /// Opens fresh connections until it holds one on each of `workers` (every worker
    /// index wanted, in that order; an index may repeat to get two on one worker).
    fn connections_on(&self, workers: &[u32]) -> Vec<Connection> {
        let mut held: Vec<Option<Connection>> = workers.iter().map(|_| None).collect();
        for _ in 0..MAX_CONNECTIONS {
            let mut connection = self.connect();
            let reply = connection.request("GET", "/_contend/health", &[], "");
            let worker = reply.worker();
            let free_seat = workers
                .iter()
                .zip(&held)
                .position(|(wanted, seat)| *wanted == worker && seat.is_none());
            if let Some(seat) = free_seat {
                held[seat] = Some(connection);
            }
            if held.iter().all(Option::is_some) {
                return held.into_iter().flatten().collect();
            }
        }
        panic!("{MAX_CONNECTIONS} fresh connections never reached workers {workers:?}");
    }

    /// Sends SIGTERM to the parent and waits for it to exit.
    fn stop(mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_for_exit()
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.parent.id()).expect("a pid");
        // SAFETY: our own child, not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.parent.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MultiProcessServer {
    fn drop(&mut self) {
        // A failed test still ends its server (the workers die with the parent).
        if matches!(self.parent.try_wait(), Ok(None)) {
            let _ = self.parent.kill();
            let _ = self.parent.wait();
        }
    }
}

/// One raw HTTP/1.1 connection, kept open between requests.
struct Connection {
    stream: TcpStream,
}

impl Connection {
    /// Writes a request without waiting for the answer.
    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        self.stream
            .write_all(request.as_bytes())
            .expect("request written");
    }

    /// Reads one answer.
    fn receive(&mut self) -> Reply {
        let mut bytes = Vec::new();
        let mut buffer = [0; 4096];
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response.parse(&bytes).expect("HTTP") {
                let status = response.code.expect("a status");
                let headers: BTreeMap<String, String> = response
                    .headers
                    .iter()
                    .map(|h| {
                        let value = String::from_utf8_lossy(h.value).into_owned();
                        (h.name.to_ascii_lowercase(), value)
                    })
                    .collect();
                let length: usize = headers
                    .get("content-length")
                    .map_or(0, |l| l.parse().expect("a length"));
                while bytes.len() < head + length {
                    let n = self.stream.read(&mut buffer).expect("body");
                    assert!(n > 0, "the connection closed mid-body");
                    bytes.extend_from_slice(&buffer[..n]);
                }
                let body = String::from_utf8_lossy(&bytes[head..head + length]).into_owned();
                return Reply {
                    status,
                    headers,
                    body,
                };
            }
            let n = self.stream.read(&mut buffer).expect("response");
            assert!(n > 0, "the connection closed before an answer");
            bytes.extend_from_slice(&buffer[..n]);
        }
    }

    /// Sends a request and reads its answer.
    fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        self.send(method, path, headers, body);
        self.receive()
    }
}

/// An answer: status, headers (lower-case names) and body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The index of the worker that answered.
    fn worker(&self) -> u32 {
        self.header(WORKER_HEADER).parse().expect("a worker index")
    }

    /// The process id of the worker that answered.
    fn worker_pid(&self) -> u32 {
        self.header(WORKER_PID_HEADER)
            .parse()
            .expect("a worker pid")
    }
}

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
    // The engine keeps its connections for the whole scenario, so where they land is
    // up to the kernel: only the shared lock gives a verdict that cannot depend on it.
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
    assert!(server.stop().success());
}
