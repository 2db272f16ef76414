//! `contend serve --processes N`: the reference server as production API servers run,
//! several worker processes behind one port, sharing their state through a file.
//!
//! gunicorn, uvicorn's `--workers`, Puma and Node's cluster module (with the operating
//! system's scheduling) all pre-fork: the parent binds and listens once, and every worker
//! inherits the listening socket and accepts from it, so the kernel decides which worker
//! gets each connection. This module does the same, portably for a Rust binary: the
//! parent binds, then re-executes its own binary once per worker with the listening
//! socket left open across `exec` (hidden `--worker-*` arguments name its descriptor),
//! forwards SIGINT and SIGTERM to the workers (each in a process group of its own, so a
//! terminal's Ctrl-C reaches the parent alone) and reaps them; a worker dies with its
//! parent (`PR_SET_PDEATHSIG` on Linux), so stopping the parent leaves no orphan. Every
//! response says which worker answered (`x-contend-worker`, `x-contend-worker-pid`).
//!
//! The inherited socket is the default because it places connections as those servers
//! do, unevenly: the workers race to accept, and a busy or just-woken one takes more.
//! Measured on this 2-core machine (load 3-5), 200 batches of 16 connections opened
//! together: with the inherited socket, all 16 landed in one worker in 2 batches and the
//! larger worker's share averaged 0.64 (200 sequential fresh connections split 165/35 in
//! one run, 99/101 in another); Node's cluster with the system's scheduling, the same
//! mechanism, gave 1 batch and 0.61; `--accept reuseport` (one `SO_REUSEPORT` socket per
//! worker, placed by a hash of the addresses) gave 0 batches and 0.60, and 95/105. So
//! `reuseport` spreads more evenly than a real pre-fork server and would understate how
//! often a whole scenario's kept connections sit in one worker; it stays as an option.
//!
//! The workers serve one resource family, `/notes` (create, read, conditional `PUT` with
//! `If-Match`, 412 when stale, the stored body echoed so a checker sees who won), kept in
//! one JSON state file that every statement reads or rewrites under `flock`, the way a
//! database makes each statement atomic. What guards a conditional write's
//! check-then-write is the [`LockMode`]: `shared` takes the file's lock around the whole
//! of it, which is correct; `per-process` takes only an in-process mutex, which is
//! correct inside one worker and broken across two: two writers with the same `If-Match`
//! that reach different workers within the window both check the old version and both
//! win. The window (`--window`) sits between the check and the write in both modes.
//!
//! The workers speak HTTP/1.1 only, as gunicorn, uvicorn and Puma do, so a client that
//! chooses its protocol by what the server speaks (`sync = "auto"`) races them with one
//! connection per writer; `--http2` adds HTTP/2 with prior knowledge (h2c), as hypercorn
//! serves, where such a client puts a round's writes on one connection, in one worker.
//!
//! Each request reads the whole file, so this server is for tests and benchmarks, not for
//! long sustained runs.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::etag::IfMatch;
use super::problem::{parse_object, Problem};
use super::store::Body;

/// The response header naming the worker that answered (0 to N-1).
pub const WORKER_HEADER: &str = "x-contend-worker";

/// The response header carrying the answering worker's process id.
pub const WORKER_PID_HEADER: &str = "x-contend-worker-pid";

/// Most worker processes `--processes` accepts.
const MAX_PROCESSES: u32 = 64;

/// How long a stopping worker lets requests in flight finish before it exits anyway.
const WORKER_GRACE: Duration = Duration::from_secs(2);

/// How long the parent waits for a worker it told to stop before it kills it.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the parent waits for every worker to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a worker prints on its standard output once it serves: the parent's signal to
/// go on.
const READY_LINE: &str = "contend-worker-ready";

/// The `contend serve` options of the multi-process server (flattened into `serve`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WorkerOptions {
    /// Serve /notes from N worker processes on one port (pre-fork, like gunicorn or Node's
    /// cluster), sharing their state through a file; every answer names its worker in
    /// x-contend-worker.
    #[arg(long, value_name = "N", conflicts_with_all = ["bug", "tls"],
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PROCESSES)))]
    pub processes: Option<u32>,
    /// With --processes: what guards a conditional write's check-then-write: shared (a
    /// flock on the state file: correct) or per-process (an in-process mutex: correct in
    /// one worker, broken across workers) [default: shared].
    #[arg(long, value_name = "MODE", requires = "processes")]
    pub lock: Option<LockMode>,
    /// With --processes: the state file [default: a temporary file, removed on exit].
    #[arg(long, value_name = "FILE", requires = "processes")]
    pub state: Option<PathBuf>,
    /// With --processes: how connections reach the workers: inherit (one listening
    /// socket, inherited by every worker, as pre-fork servers do) or reuseport (one
    /// SO_REUSEPORT socket per worker, spread by a hash of the connection) [default: inherit].
    #[arg(long, value_name = "HOW", requires = "processes")]
    pub accept: Option<Accept>,
    /// With --processes: speak HTTP/2 with prior knowledge (h2c) besides HTTP/1.1, as
    /// hypercorn does; without it the workers speak HTTP/1.1 only, as gunicorn, uvicorn
    /// and Puma do.
    #[arg(long, requires = "processes")]
    pub http2: bool,
    /// Internal: this process is worker INDEX of a `--processes` server.
    #[arg(long, value_name = "INDEX", hide = true, requires = "processes")]
    pub worker_index: Option<u32>,
    /// Internal: the worker's inherited listening socket.
    #[arg(long, value_name = "FD", hide = true, requires = "worker_index")]
    pub worker_listener_fd: Option<i32>,
}

impl WorkerOptions {
    /// Whether `serve` should run the multi-process server (or one of its workers).
    pub fn wanted(&self) -> bool {
        self.processes.is_some()
    }
}

/// What guards a conditional write's check-then-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LockMode {
    /// An exclusive `flock` on the state file around read, check, window and write: no
    /// other worker's statement comes between them.
    #[default]
    Shared,
    /// An in-process mutex around read, check, window and write, as a `threading.Lock`
    /// would be: the file is locked only for each read and each write, so another
    /// worker can check the same version in between.
    PerProcess,
}

impl LockMode {
    /// The name used on the command line and in the health report.
    pub fn name(self) -> &'static str {
        match self {
            LockMode::Shared => "shared",
            LockMode::PerProcess => "per-process",
        }
    }
}

/// How new connections reach the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Accept {
    /// One listening socket, bound by the parent and inherited by every worker: the
    /// workers race to accept each connection, as under gunicorn, uvicorn and Puma.
    #[default]
    Inherit,
    /// One `SO_REUSEPORT` socket per worker on the same port: the kernel picks the worker
    /// by a hash of the connection's addresses.
    Reuseport,
}

impl Accept {
    fn name(self) -> &'static str {
        match self {
            Accept::Inherit => "inherit",
            Accept::Reuseport => "reuseport",
        }
    }
}

/// Runs `contend serve --processes N`: the parent, or (with the hidden `--worker-index`)
/// one worker. Returns the exit code.
pub async fn serve(addr: SocketAddr, window: Duration, options: WorkerOptions) -> u8 {
    let result = match options.worker_index {
        Some(index) => run_worker(addr, window, &options, index).await,
        None => run_parent(addr, window, &options).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

// ---------------------------------------------------------------------------------
// The parent: bind, start the workers, forward signals, reap.
// ---------------------------------------------------------------------------------

/// The parent's life: binds, starts and supervises the workers, stops them on SIGINT or
/// SIGTERM (or when one of them dies), and removes a temporary state file.
async fn run_parent(
    addr: SocketAddr,
    window: Duration,
    options: &WorkerOptions,
) -> Result<u8, String> {
    let plan = Plan::from_options(addr, window, options);
    StateFile::new(plan.state.clone())
        .reset()
        .map_err(|e| format!("cannot create the state file {}: {e}", plan.state.display()))?;
    let outcome = supervise(&plan).await;
    if options.state.is_none() {
        let _ = std::fs::remove_file(&plan.state);
    }
    outcome
}

/// Everything every worker is started with.
struct Plan {
    addr: SocketAddr,
    window: Duration,
    processes: u32,
    lock: LockMode,
    accept: Accept,
    http2: bool,
    /// The state file: `--state`, or a temporary one named after the parent.
    state: PathBuf,
}

impl Plan {
    fn from_options(addr: SocketAddr, window: Duration, options: &WorkerOptions) -> Plan {
        Plan {
            addr,
            window,
            processes: options.processes.unwrap_or(1),
            lock: options.lock.unwrap_or_default(),
            accept: options.accept.unwrap_or_default(),
            http2: options.http2,
            state: options.state.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("contend-serve-{}.json", std::process::id()))
            }),
        }
    }

    /// The command line of worker `index`, serving on `bound`: `serve` again, with the
    /// hidden worker arguments.
    fn worker_arguments(&self, index: u32, bound: SocketAddr, fd: Option<i32>) -> Vec<String> {
        let mut arguments = vec![
            "serve".to_owned(),
            "--addr".to_owned(),
            bound.to_string(),
            "--window".to_owned(),
            humantime::format_duration(self.window).to_string(),
            "--processes".to_owned(),
            self.processes.to_string(),
            "--lock".to_owned(),
            self.lock.name().to_owned(),
            "--accept".to_owned(),
            self.accept.name().to_owned(),
            "--state".to_owned(),
            self.state.to_string_lossy().into_owned(),
            "--worker-index".to_owned(),
            index.to_string(),
        ];
        if let Some(fd) = fd {
            arguments.extend(["--worker-listener-fd".to_owned(), fd.to_string()]);
        }
        if self.http2 {
            arguments.push("--http2".to_owned());
        }
        arguments
    }
}

/// Signals that stop the server, registered before any worker starts.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> io::Result<StopSignals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for SIGINT or SIGTERM and names it.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// A worker process as the parent sees it.
struct Worker {
    index: u32,
    child: Child,
}

/// Binds, starts every worker, says where it listens once they all serve, then waits for
/// a stop signal or a worker's death and stops them all.
async fn supervise(plan: &Plan) -> Result<u8, String> {
    let addr = plan.addr;
    let mut signals =
        StopSignals::register().map_err(|e| format!("cannot handle SIGINT/SIGTERM: {e}"))?;
    let socket = ParentSocket::bind(addr, plan.accept)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = socket
        .local_addr()
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let mut workers = Vec::new();
    for index in 0..plan.processes {
        match spawn_worker(plan, index, bound, &socket).await {
            Ok(worker) => workers.push(worker),
            Err(e) => {
                stop_workers(&mut workers).await;
                return Err(format!("cannot start worker {index}: {e}"));
            }
        }
    }
    // The workers hold the socket now; without them, connections are refused.
    drop(socket);
    println!(
        "contend reference server ({} worker processes, lock {}, window {:?}) listening on http://{bound}",
        plan.processes,
        plan.lock.name(),
        plan.window,
    );
    println!("  state shared through {}", plan.state.display());
    println!(
        "  {}; every answer names its worker in {WORKER_HEADER} and {WORKER_PID_HEADER}",
        match plan.accept {
            Accept::Inherit => "one listening socket inherited by every worker",
            Accept::Reuseport => "one SO_REUSEPORT socket per worker",
        }
    );
    println!("  /notes     ETag + If-Match (412; 428 without If-Match)");
    println!("Ctrl-C stops it.");
    let _ = io::stdout().flush();

    let code = tokio::select! {
        biased;
        name = signals.recv() => {
            eprintln!("contend serve: {name}: stopping the workers");
            0
        }
        (index, status) = first_exit(&mut workers) => {
            eprintln!("error: worker {index} exited ({status}); stopping the others");
            2
        }
    };
    stop_workers(&mut workers).await;
    Ok(code)
}

/// The listening socket (or, for `reuseport`, the port reservation) the parent holds
/// while it starts the workers.
enum ParentSocket {
    /// Bound and listening; every worker inherits it.
    Inherited(std::net::TcpListener),
    /// Bound with `SO_REUSEPORT` but not listening, so it takes no connections: it only
    /// keeps the port while the workers bind their own.
    Reservation(tokio::net::TcpSocket),
}

impl ParentSocket {
    fn bind(addr: SocketAddr, accept: Accept) -> io::Result<ParentSocket> {
        match accept {
            Accept::Inherit => Ok(ParentSocket::Inherited(std::net::TcpListener::bind(addr)?)),
            Accept::Reuseport => {
                let socket = reuseport_socket(addr)?;
                socket.bind(addr)?;
                Ok(ParentSocket::Reservation(socket))
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            ParentSocket::Inherited(listener) => listener.local_addr(),
            ParentSocket::Reservation(socket) => socket.local_addr(),
        }
    }

    /// The descriptor a worker inherits, if it inherits one.
    fn inherited_fd(&self) -> Option<i32> {
        use std::os::fd::AsRawFd;
        match self {
            ParentSocket::Inherited(listener) => Some(listener.as_raw_fd()),
            ParentSocket::Reservation(_) => None,
        }
    }
}

/// A TCP socket for `addr`'s family with `SO_REUSEADDR` and `SO_REUSEPORT` set.
fn reuseport_socket(addr: SocketAddr) -> io::Result<tokio::net::TcpSocket> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    Ok(socket)
}

/// Starts worker `index`: this binary again, as `serve` with the hidden worker
/// arguments, and waits until it says it serves.
async fn spawn_worker(
    plan: &Plan,
    index: u32,
    bound: SocketAddr,
    socket: &ParentSocket,
) -> io::Result<Worker> {
    let inherited = socket.inherited_fd();
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(plan.worker_arguments(index, bound, inherited))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    // The parent-death signal follows the thread that forks; this runs on the runtime's
    // main thread (the `block_on` future), which lives as long as the process.
    // SAFETY: the closure runs in the child between fork and exec, and calls only
    // async-signal-safe functions (prctl, getppid, setpgid, fcntl); it allocates nothing.
    let parent = std::process::id();
    unsafe {
        command.pre_exec(move || prepare_worker_process(parent, inherited));
    }
    let mut child = command.spawn()?;
    let Some(stdout) = child.stdout.take() else {
        return Err(io::Error::other(
            "the worker's standard output was not piped",
        ));
    };
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(READY_TIMEOUT, lines.next_line()).await;
    match ready {
        Ok(Ok(Some(line))) if line.starts_with(READY_LINE) => {}
        Ok(Ok(line)) => {
            let _ = child.kill().await;
            return Err(io::Error::other(format!(
                "it exited before serving{}",
                line.map(|l| format!(" (printed {l:?})"))
                    .unwrap_or_default()
            )));
        }
        Ok(Err(e)) => {
            let _ = child.kill().await;
            return Err(e);
        }
        Err(_) => {
            let _ = child.kill().await;
            return Err(io::Error::other(format!(
                "it did not say it serves within {READY_TIMEOUT:?}"
            )));
        }
    }
    // Anything else the worker prints goes to the parent's own output.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            println!("worker {index}: {line}");
        }
    });
    Ok(Worker { index, child })
}

/// In the worker, between fork and exec: die with the parent, leave the terminal's
/// signals to it, and keep the inherited listening socket open across exec.
fn prepare_worker_process(parent: u32, listener: Option<i32>) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and only changes this process.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    // The parent may have died before the line above: then no signal will come.
    // SAFETY: getppid has no preconditions.
    if u32::try_from(unsafe { libc::getppid() }).ok() != Some(parent) {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // Its own process group: a terminal's Ctrl-C reaches the parent alone, which stops
    // the workers itself, so a worker never exits before the parent knows it should.
    // SAFETY: setpgid(0, 0) only moves this process into a new group of its own.
    if unsafe { libc::setpgid(0, 0) } == -1 {
        return Err(io::Error::last_os_error());
    }
    if let Some(fd) = listener {
        // SAFETY: fcntl on a descriptor this process owns; clearing FD_CLOEXEC only
        // changes this process's descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits until some worker exits; returns its index and status.
async fn first_exit(workers: &mut [Worker]) -> (u32, String) {
    let waits = workers.iter_mut().map(|worker| {
        Box::pin(async move {
            let status = worker.child.wait().await;
            (
                worker.index,
                status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            )
        })
    });
    futures::future::select_all(waits).await.0
}

/// Sends SIGTERM to every worker still running and reaps them all, killing any that has
/// not exited within [`STOP_TIMEOUT`].
async fn stop_workers(workers: &mut [Worker]) {
    for worker in workers.iter() {
        if let Some(pid) = worker
            .child
            .id()
            .and_then(|pid| libc::pid_t::try_from(pid).ok())
        {
            // SAFETY: kill sends a signal to our own child, which we have not reaped yet,
            // so the pid cannot belong to another process.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
    for worker in workers.iter_mut() {
        if tokio::time::timeout(STOP_TIMEOUT, worker.child.wait())
            .await
            .is_err()
        {
            eprintln!(
                "worker {} did not stop within {STOP_TIMEOUT:?}: killing it",
                worker.index
            );
            let _ = worker.child.kill().await;
        }
    }
}

// ---------------------------------------------------------------------------------
// A worker: serve /notes from the shared state file.
// ---------------------------------------------------------------------------------

/// What every handler of one worker shares.
struct WorkerState {
    index: u32,
    processes: u32,
    lock: LockMode,
    window: Duration,
    file: StateFile,
    /// The per-process lock: held around check-then-write in [`LockMode::PerProcess`].
    process_lock: Mutex<()>,
}

type SharedWorkerState = Arc<WorkerState>;

/// One worker's life: takes its listening socket, serves until SIGINT or SIGTERM, then
/// lets requests in flight finish for at most [`WORKER_GRACE`].
async fn run_worker(
    addr: SocketAddr,
    window: Duration,
    options: &WorkerOptions,
    index: u32,
) -> Result<u8, String> {
    let mut signals =
        StopSignals::register().map_err(|e| format!("cannot handle SIGINT/SIGTERM: {e}"))?;
    let listener = worker_listener(addr, options)
        .map_err(|e| format!("worker {index}: cannot listen on {addr}: {e}"))?;
    let state_path = options
        .state
        .clone()
        .ok_or_else(|| format!("worker {index}: no --state file"))?;
    let state = Arc::new(WorkerState {
        index,
        processes: options.processes.unwrap_or(1),
        lock: options.lock.unwrap_or_default(),
        window,
        file: StateFile::new(state_path),
        process_lock: Mutex::new(()),
    });
    let (shutdown, shutdown_requested) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(super::connection::accept(
        listener,
        worker_router(state),
        options.http2,
        None,
        shutdown_requested,
    ));
    println!("{READY_LINE} {}", std::process::id());
    let _ = io::stdout().flush();
    tokio::select! {
        _ = signals.recv() => {
            let _ = shutdown.send(());
            let _ = tokio::time::timeout(WORKER_GRACE, &mut server).await;
            Ok(0)
        }
        ended = &mut server => match ended {
            Ok(Ok(())) => Ok(0),
            Ok(Err(e)) => Err(format!("worker {index}: {e}")),
            Err(e) => Err(format!("worker {index}: {e}")),
        },
    }
}

/// The worker's listening socket: the inherited descriptor, or its own `SO_REUSEPORT`
/// socket on the parent's port.
fn worker_listener(
    addr: SocketAddr,
    options: &WorkerOptions,
) -> io::Result<tokio::net::TcpListener> {
    match options.worker_listener_fd {
        Some(fd) => {
            use std::os::fd::FromRawFd;
            // SAFETY: the parent passed this descriptor for us to own: it is the
            // listening socket it left open across exec, and nothing else uses it here.
            let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
            // A descriptor that is not a listening TCP socket fails here, not later.
            listener.local_addr()?;
            listener.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(listener)
        }
        None => {
            let socket = reuseport_socket(addr)?;
            socket.bind(addr)?;
            socket.listen(1024)
        }
    }
}

/// The worker's routes: `/notes` and `/_contend/health`, every answer stamped with the
/// worker's index and pid.
fn worker_router(state: SharedWorkerState) -> Router {
    let stamp = WorkerStamp {
        index: HeaderValue::from(state.index),
        pid: HeaderValue::from(std::process::id()),
    };
    Router::new()
        .route("/_contend/health", get(health))
        .route("/notes", post(create_note))
        .route("/notes/{id}", get(read_note).put(replace_note))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(stamp, stamp_worker))
}

/// The values of [`WORKER_HEADER`] and [`WORKER_PID_HEADER`] for this worker.
#[derive(Clone)]
struct WorkerStamp {
    index: HeaderValue,
    pid: HeaderValue,
}

/// Middleware: names the worker on every response.
async fn stamp_worker(State(stamp): State<WorkerStamp>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(WORKER_HEADER, stamp.index);
    headers.insert(WORKER_PID_HEADER, stamp.pid);
    response
}

/// `GET /_contend/health`: up, which worker, how many, which lock and window.
async fn health(State(state): State<SharedWorkerState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "bug": null,
        "processes": state.processes,
        "worker": state.index,
        "pid": std::process::id(),
        "lock": state.lock.name(),
        "window_ms": u64::try_from(state.window.as_millis()).unwrap_or(u64::MAX),
        "endpoints": ["/notes"],
    }))
}

/// A note's `ETag`: its version as a strong entity-tag, as `/notes` of the built-in
/// server gives it.
fn etag_of(version: u64) -> String {
    format!("\"{version}\"")
}

/// 200 (or 201) with the note's `ETag` and its body.
fn note_response(status: StatusCode, note: &StoredNote, location: Option<String>) -> Response {
    let mut response = (status, Json(&note.body)).into_response();
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::try_from(etag_of(note.version)) {
        headers.insert(header::ETAG, etag);
    }
    if let Some(location) = location.and_then(|l| HeaderValue::try_from(l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// 404 for a note id that does not exist.
fn note_not_found(id: &str) -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("there is no note with id {id:?}"),
    )
    .into_response()
}

/// 500 for a state file that cannot be read or written.
fn storage_failed(e: impl std::fmt::Display) -> Response {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the shared state file failed: {e}"),
    )
    .into_response()
}

/// Runs a blocking step (file locks, reads, writes, the window) off the async threads.
async fn blocking<T: Send + 'static>(
    step: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(step).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(storage_failed(e)),
        Err(e) => Err(storage_failed(e)),
    }
}

/// `POST /notes`: stores a JSON object as a new note at version 1 (one atomic statement
/// in either lock mode: ids never collide).
async fn create_note(State(state): State<SharedWorkerState>, body: Bytes) -> Response {
    let fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return Problem::new(StatusCode::BAD_REQUEST, reason).into_response(),
    };
    let created = blocking(move || {
        state.file.update(|notes| {
            notes.last_id += 1;
            let id = notes.last_id.to_string();
            let note = StoredNote {
                version: 1,
                body: fields,
            };
            notes.notes.insert(id.clone(), note.clone());
            (id, note)
        })
    })
    .await;
    match created {
        Ok((id, note)) => note_response(StatusCode::CREATED, &note, Some(format!("/notes/{id}"))),
        Err(failed) => failed,
    }
}

/// `GET /notes/{id}`: the note as last written, with its `ETag`.
async fn read_note(
    State(state): State<SharedWorkerState>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let wanted = id.clone();
    match blocking(move || Ok(state.file.read()?.notes.remove(&wanted))).await {
        Ok(Some(note)) => note_response(StatusCode::OK, &note, None),
        Ok(None) => note_not_found(&id),
        Err(failed) => failed,
    }
}

/// What a conditional write did.
enum WriteOutcome {
    /// No such note.
    Missing,
    /// The precondition held and the body was written: the note as written.
    Applied(StoredNote),
    /// The precondition failed: the current note.
    Rejected(StoredNote),
}

/// `PUT /notes/{id}`: replaces the note if `If-Match` matches its current `ETag`, under
/// the worker's [`LockMode`].
async fn replace_note(
    State(state): State<SharedWorkerState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return Problem::new(StatusCode::BAD_REQUEST, reason).into_response(),
    };
    let if_match = IfMatch::from_headers(&headers);
    let wanted = id.clone();
    let precondition = if_match.clone();
    let outcome = blocking(move || state.conditional_write(&wanted, precondition, fields)).await;
    match (outcome, if_match) {
        (Err(failed), _) => failed,
        (Ok(WriteOutcome::Missing), _) => note_not_found(&id),
        (Ok(WriteOutcome::Applied(note)), _) => note_response(StatusCode::OK, &note, None),
        (Ok(WriteOutcome::Rejected(_)), None) => Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "this API requires conditional writes: send If-Match with the ETag you read",
        )
        .into_response(),
        (Ok(WriteOutcome::Rejected(current)), Some(if_match)) => {
            let current = etag_of(current.version);
            Problem::new(
                StatusCode::PRECONDITION_FAILED,
                format!(
                    "If-Match {} does not match the current ETag {current}",
                    if_match.raw
                ),
            )
            .with_member("current_etag", current.clone())
            .with_etag(current)
            .into_response()
        }
    }
}

impl WorkerState {
    /// Read, check `If-Match`, wait the window, write: under the file's lock
    /// ([`LockMode::Shared`]) or under this process's mutex only
    /// ([`LockMode::PerProcess`]). A missing `If-Match` is rejected (428) after the
    /// note is known to exist, as a missing note answers 404 first.
    fn conditional_write(
        &self,
        id: &str,
        if_match: Option<IfMatch>,
        body: Body,
    ) -> io::Result<WriteOutcome> {
        let check = |notes: &SharedNotes| -> Result<StoredNote, WriteOutcome> {
            let Some(current) = notes.notes.get(id) else {
                return Err(WriteOutcome::Missing);
            };
            match &if_match {
                Some(if_match) if if_match.matches(&etag_of(current.version)) => Ok(StoredNote {
                    version: current.version + 1,
                    body: body.clone(),
                }),
                _ => Err(WriteOutcome::Rejected(current.clone())),
            }
        };
        match self.lock {
            LockMode::Shared => self.file.update(|notes| match check(notes) {
                Ok(written) => {
                    std::thread::sleep(self.window);
                    notes.notes.insert(id.to_owned(), written.clone());
                    WriteOutcome::Applied(written)
                }
                Err(refused) => refused,
            }),
            LockMode::PerProcess => {
                let _held = self
                    .process_lock
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let written = match check(&self.file.read()?) {
                    Ok(written) => written,
                    Err(refused) => return Ok(refused),
                };
                std::thread::sleep(self.window);
                self.file.update(|notes| {
                    notes.notes.insert(id.to_owned(), written.clone());
                })?;
                Ok(WriteOutcome::Applied(written))
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// The shared state file.
// ---------------------------------------------------------------------------------

/// One note as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredNote {
    /// Starts at 1; a write advances it by one.
    version: u64,
    /// The fields last written.
    body: Body,
}

/// Everything the workers share: the notes, and the last id handed out.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SharedNotes {
    last_id: u64,
    notes: BTreeMap<String, StoredNote>,
}

/// The state file: JSON, read under a shared `flock` and rewritten in place under an
/// exclusive one, so every statement sees a whole state.
struct StateFile {
    path: PathBuf,
}

impl StateFile {
    fn new(path: PathBuf) -> StateFile {
        StateFile { path }
    }

    /// Creates the file, or empties it: every server starts with no notes.
    fn reset(&self) -> io::Result<()> {
        let mut file = Flock::exclusive(self.open()?)?;
        file.set_len(0)?;
        file.write_all(&serde_json::to_vec(&SharedNotes::default())?)?;
        Ok(())
    }

    /// The state as one statement sees it.
    fn read(&self) -> io::Result<SharedNotes> {
        let mut file = Flock::shared(self.open()?)?;
        Self::parse(&mut file)
    }

    /// Reads, changes and rewrites the state under one exclusive lock.
    fn update<T>(&self, change: impl FnOnce(&mut SharedNotes) -> T) -> io::Result<T> {
        let mut file = Flock::exclusive(self.open()?)?;
        let mut notes = Self::parse(&mut file)?;
        let answer = change(&mut notes);
        let bytes = serde_json::to_vec(&notes)?;
        file.rewind()?;
        file.write_all(&bytes)?;
        file.set_len(u64::try_from(bytes.len()).unwrap_or(u64::MAX))?;
        Ok(answer)
    }

    fn open(&self) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
    }

    fn parse(file: &mut File) -> io::Result<SharedNotes> {
        let mut bytes = Vec::new();
        file.rewind()?;
        file.read_to_end(&mut bytes)?;
        if bytes.is_empty() {
            return Ok(SharedNotes::default());
        }
        serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// A file with an `flock` on it, released when dropped (closing the file would release
/// it too).
struct Flock {
    file: File,
}

impl Flock {
    fn shared(file: File) -> io::Result<Flock> {
        Flock::take(file, libc::LOCK_SH)
    }

    fn exclusive(file: File) -> io::Result<Flock> {
        Flock::take(file, libc::LOCK_EX)
    }

    fn take(file: File, operation: libc::c_int) -> io::Result<Flock> {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: flock on a descriptor the `File` keeps open.
            if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
                return Ok(Flock { file });
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

impl std::ops::Deref for Flock {
    type Target = File;

    fn deref(&self) -> &File {
        &self.file
    }
}

impl std::ops::DerefMut for Flock {
    fn deref_mut(&mut self) -> &mut File {
        &mut self.file
    }
}

impl Drop for Flock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `take`.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    fn body(value: serde_json::Value) -> Body {
        match value {
            serde_json::Value::Object(fields) => fields,
            _ => Body::new(),
        }
    }

    fn if_match(value: &str) -> Option<IfMatch> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_MATCH,
            HeaderValue::from_str(value).expect("header"),
        );
        IfMatch::from_headers(&headers)
    }

    fn worker(lock: LockMode, dir: &Path) -> WorkerState {
        let file = StateFile::new(dir.join("state.json"));
        file.reset().expect("state file");
        WorkerState {
            index: 0,
            processes: 1,
            lock,
            window: Duration::ZERO,
            file,
            process_lock: Mutex::new(()),
        }
    }

    #[test]
    fn a_conditional_write_with_the_current_etag_advances_the_version_and_a_stale_one_is_rejected()
    {
        for lock in [LockMode::Shared, LockMode::PerProcess] {
            let dir = tempfile::tempdir().expect("temp dir");
            let state = worker(lock, dir.path());
            state
                .file
                .update(|notes| {
                    notes.notes.insert(
                        "1".into(),
                        StoredNote {
                            version: 1,
                            body: body(json!({"text": "seed"})),
                        },
                    )
                })
                .expect("seeded");
            let current = if_match("\"1\"");
            let first = state
                .conditional_write("1", current.clone(), body(json!({"text": "a"})))
                .expect("written");
            assert!(
                matches!(first, WriteOutcome::Applied(StoredNote { version: 2, .. })),
                "{lock:?}"
            );
            let stale = state
                .conditional_write("1", current, body(json!({"text": "b"})))
                .expect("checked");
            assert!(
                matches!(stale, WriteOutcome::Rejected(StoredNote { version: 2, .. })),
                "{lock:?}"
            );
            let stored = state
                .file
                .read()
                .expect("read")
                .notes
                .remove("1")
                .expect("note");
            assert_eq!(json!(stored.body), json!({"text": "a"}), "{lock:?}");
            let missing = state
                .conditional_write("9", if_match("*"), Body::new())
                .expect("checked");
            assert!(matches!(missing, WriteOutcome::Missing), "{lock:?}");
        }
    }

    #[test]
    fn a_state_file_that_is_not_json_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, "not json").expect("written");
        let error = StateFile::new(path).read().expect_err("garbage");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
