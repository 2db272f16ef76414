//! The reference server, `contend serve` (with `--processes N`, or in one process), run
//! as a child process for the tests, and a raw HTTP/1.1 connection to it that says which worker
//! answered (`x-contend-worker`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use contend::server::workers::{WORKER_HEADER, WORKER_PID_HEADER};

/// How long the server may take to start, and a stopped one to exit.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Most fresh connections a test opens looking for a worker before it gives up.
pub const MAX_CONNECTIONS: usize = 1_000;

/// A `contend serve --processes N` run as a child process on a free port of 127.0.0.1.
pub struct MultiProcessServer {
    pub parent: Child,
    pub addr: SocketAddr,
}

impl MultiProcessServer {
    /// Starts the server with `processes` workers, `--lock lock` and `--window window`,
    /// and returns once every worker serves (the parent prints its address only then)
    /// and it answers.
    pub fn start(processes: u32, lock: &str, window: &str) -> MultiProcessServer {
        let processes = processes.to_string();
        MultiProcessServer::serve(&[
            "--processes",
            &processes,
            "--lock",
            lock,
            "--window",
            window,
        ])
    }

    /// As [`MultiProcessServer::start`], with more `serve` arguments (`--http2`).
    pub fn start_with(
        processes: u32,
        lock: &str,
        window: &str,
        more: &[&str],
    ) -> MultiProcessServer {
        let processes = processes.to_string();
        let mut args = vec![
            "--processes",
            &processes,
            "--lock",
            lock,
            "--window",
            window,
        ];
        args.extend_from_slice(more);
        MultiProcessServer::serve(&args)
    }

    /// Starts `contend serve` with `args` (one process unless they say `--processes`) on
    /// a free port of 127.0.0.1, and returns once it answers.
    pub fn serve(args: &[&str]) -> MultiProcessServer {
        let mut parent = Command::new(env!("CARGO_BIN_EXE_contend"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
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
    pub fn connect(&self) -> Connection {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout");
        Connection { stream }
    }

    /// Opens fresh connections until it holds one on each of `workers` (every worker
    /// index wanted, in that order; an index may repeat to get two on one worker).
    pub fn connections_on(&self, workers: &[u32]) -> Vec<Connection> {
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
    pub fn stop(mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_for_exit()
    }

    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.parent.id()).expect("a pid");
        // SAFETY: our own child, not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    pub fn wait_for_exit(&mut self) -> ExitStatus {
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
        // A parent killed (here, or by a test) cannot remove its temporary state file.
        let state = std::env::temp_dir().join(format!("contend-serve-{}.json", self.parent.id()));
        let _ = std::fs::remove_file(state);
    }
}

/// One raw HTTP/1.1 connection, kept open between requests.
pub struct Connection {
    stream: TcpStream,
}

impl Connection {
    /// Writes a request without waiting for the answer.
    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) {
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
    pub fn receive(&mut self) -> Reply {
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
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        self.send(method, path, headers, body);
        self.receive()
    }
}

/// An answer: status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The index of the worker that answered.
    pub fn worker(&self) -> u32 {
        self.header(WORKER_HEADER).parse().expect("a worker index")
    }

    /// The process id of the worker that answered.
    pub fn worker_pid(&self) -> u32 {
        self.header(WORKER_PID_HEADER)
            .parse()
            .expect("a worker pid")
    }
}
