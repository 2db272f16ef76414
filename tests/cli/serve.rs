//! `contend serve`: the worker threads it is told to serve on.

use std::time::{Duration, Instant};

use crate::common::binary::{command, contend, text};

/// The reference server's runtime worker threads, counted by name.
#[cfg(target_os = "linux")]
fn runtime_workers(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the server's threads")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "tokio-rt-worker")
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn serve_runs_on_as_many_worker_threads_as_it_is_told() {
    for threads in [1, 3] {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = command()
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--threads", &threads.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("contend serve starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        // A thread takes its name once it first runs, which on a busy machine may be
        // after the server listens: wait for the count to reach what was asked (or
        // the deadline), then count again after a pause, so a thread too many shows.
        while runtime_workers(server.id()) < threads && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        let counted = runtime_workers(server.id());
        server.kill().expect("stopped");
        server.wait().expect("reaped");
        assert_eq!(counted, threads, "--threads {threads}");
    }
}

#[test]
fn serve_refuses_zero_threads() {
    let dir = std::env::temp_dir();
    let out = contend(&["serve", "--threads", "0"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--threads"), "{}", text(&out));
}
