//! The `barrier` mode: one reqwest connection per writer, each writer on an OS thread of
//! its own; every writer's thread waits at a gate and the last one to arrive opens it for
//! all of them.
//!
//! Each writer owns a `reqwest::Client` whose pool holds one idle connection, so no two
//! writers share a connection and no pool limit or lock sits between them. Each client
//! lives on its writer's thread, in a current-thread runtime that drives its connection
//! too, so once the gate opens nothing queues one writer's send behind another's: the
//! kernel runs the released threads on every CPU at once. It used to be a task per
//! writer on the shared runtime, and there a round's sends queued on the runtime's
//! threads: when the thread that wrote first lost its CPU (its write had woken a server
//! thread), the next writes followed 0.3 to 4 ms later. Set against it in one interleaved
//! run, 5 runs of 300 rounds each way beside two busy processes, the threads caught 295
//! rounds of 100 µs windows with 32 writers at the median against 287, every run more
//! than any run of the tasks (see docs/benchmarks.md, "Detection power").
//!
//! The threads last the run: a new connection per round (`writer_connections = "fresh"`)
//! hands each thread a new client, not a new thread, so a round's old runtimes never
//! hold their descriptors beside the new ones.

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::{mpsc, oneshot};

use super::{Race, SETTLE};
use crate::engine::exchange::{
    connection, describe, execute, failed, send, to_request, ClientSettings, Exchange, Incident,
    Prepared,
};
use crate::history::Cause;

/// A writer thread's stack: room for a request's futures and a TLS handshake, however
/// many writers there are (a scenario may have 4,096).
const STACK: usize = 512 * 1024;

/// One writer thread (one connection) per writer.
pub(super) struct Barrier {
    writers: Vec<Writer>,
    /// How long the gate waits for a writer that never arrives (its thread is gone).
    timeout: Duration,
    /// For the clients [`Race::reconnect`] hands the threads.
    settings: ClientSettings,
}

/// What a writer's thread is asked to do; the answer goes back on the channel.
enum Job {
    /// Send the request now (warm-ups, reads on the writer's connection).
    Send(Prepared, oneshot::Sender<Exchange>),
    /// Build the request, wait at the gate, then send it.
    Race(Prepared, Arc<Gate>, oneshot::Sender<Exchange>),
    /// Use this client from now on; the old one's connection closes.
    Reconnect(reqwest::Client),
}

/// A writer: the queue of its thread, which ends when the writer is dropped.
struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Writer {
    /// Starts a writer's thread with its own client and runtime.
    fn start(settings: &ClientSettings) -> Result<Writer, String> {
        let mut client = connection(settings)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a writer's runtime: {e}"))?;
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("contend-writer".into())
            .stack_size(STACK)
            .spawn(move || {
                // Waiting for the next job drives the runtime, and so the connection: it
                // goes back to its pool, and a close by the server is seen.
                while let Some(job) = runtime.block_on(queue.recv()) {
                    match job {
                        Job::Send(prepared, reply) => {
                            runtime.block_on(answer(reply, send(&client, prepared)));
                        }
                        Job::Race(prepared, gate, reply) => {
                            let request = to_request(&client, prepared);
                            gate.wait();
                            let start = Instant::now();
                            runtime.block_on(answer(reply, async {
                                match request {
                                    Ok(request) => execute(&client, request, start).await,
                                    Err(e) => {
                                        failed(start, Incident::new(Cause::Unsent, describe(&e)))
                                    }
                                }
                            }));
                        }
                        Job::Reconnect(fresh) => client = fresh,
                    }
                }
            })
            .map_err(|e| format!("cannot start a writer's thread: {e}"))?;
        Ok(Writer { jobs })
    }

    /// Hands `job` to the thread; the answer comes back on the receiver, which fails if
    /// the thread is gone.
    fn submit(&self, job: impl FnOnce(oneshot::Sender<Exchange>) -> Job) -> Submitted {
        let (reply, answer) = oneshot::channel();
        match self.jobs.send(job(reply)) {
            Ok(()) => Submitted::Queued(answer),
            Err(_) => Submitted::Gone,
        }
    }
}

/// A job handed to a writer's thread, or not (the thread is gone).
enum Submitted {
    Queued(oneshot::Receiver<Exchange>),
    Gone,
}

impl Submitted {
    /// The answer; a writer whose thread is gone never sent, one whose thread ended
    /// without an answer may have.
    async fn answer(self) -> Exchange {
        match self {
            Submitted::Queued(answer) => {
                let asked = Instant::now();
                answer.await.unwrap_or_else(|_| {
                    failed(
                        asked,
                        Incident::new(Cause::Reset, "the writer's thread ended without an answer"),
                    )
                })
            }
            Submitted::Gone => failed(
                Instant::now(),
                Incident::new(Cause::Unsent, "the writer's thread is gone"),
            ),
        }
    }
}

/// Runs `exchange` and hands its answer to `reply`, or drops it (closing its
/// connection) once no one waits for the answer (a run stopped at once).
async fn answer(mut reply: oneshot::Sender<Exchange>, exchange: impl Future<Output = Exchange>) {
    tokio::select! {
        done = exchange => {
            let _ = reply.send(done);
        }
        () = reply.closed() => {}
    }
}

/// Where the writers of a round wait for each other: it opens when as many have arrived
/// as were sent a job, or after the timeout, so a writer that never comes cannot hold the
/// others for ever.
///
/// The opener lets go of the lock before it wakes the others: a woken writer takes the
/// lock again on its way out, and finding it still held it would sleep a second time.
/// Measured beside two busy processes (32 writers, 100 µs windows, 9 runs of 300 rounds
/// each way, alternating): 299 rounds caught at the median against 296.
struct Gate {
    state: Mutex<Arrivals>,
    open: Condvar,
    timeout: Duration,
}

struct Arrivals {
    arrived: usize,
    /// How many are coming; `None` until every job is handed out.
    expected: Option<usize>,
}

impl Gate {
    fn new(timeout: Duration) -> Gate {
        Gate {
            state: Mutex::new(Arrivals {
                arrived: 0,
                expected: None,
            }),
            open: Condvar::new(),
            timeout,
        }
    }

    fn is_open(a: &Arrivals) -> bool {
        a.expected.is_some_and(|n| a.arrived >= n)
    }

    /// Says how many writers are coming (opening the gate if they are all there).
    fn expect(&self, n: usize) {
        let mut a = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        a.expected = Some(n);
        if Gate::is_open(&a) {
            drop(a);
            self.open.notify_all();
        }
    }

    /// Arrives, and waits until the gate opens.
    fn wait(&self) {
        let mut a = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        a.arrived += 1;
        if Gate::is_open(&a) {
            drop(a);
            self.open.notify_all();
            return;
        }
        let _ = self
            .open
            .wait_timeout_while(a, self.timeout, |a| !Gate::is_open(a));
    }
}

impl Barrier {
    /// `n` writers, each on a thread of its own; their connections open at the first
    /// request.
    pub fn new(n: usize, settings: &ClientSettings) -> Result<Self, String> {
        let writers = (0..n)
            .map(|_| Writer::start(settings))
            .collect::<Result<_, _>>()?;
        Ok(Barrier {
            writers,
            timeout: settings.timeout,
            settings: settings.clone(),
        })
    }
}

impl Race for Barrier {
    /// Nothing to check: reqwest speaks whatever the target does, and the warm-ups open
    /// the connections.
    fn ready<'a>(&'a self, _url: &'a url::Url) -> BoxFuture<'a, Result<(), String>> {
        async { Ok(()) }.boxed()
    }

    /// After the answers, waits [`SETTLE`] so that every connection is back in its
    /// client's pool before the race (each writer's runtime runs meanwhile): a response
    /// is fully read a moment before its connection is idle again, and a request sent in
    /// that moment opens a new connection, which would put a connection's set-up inside
    /// the race.
    fn each(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        let submitted: Vec<Submitted> = self
            .writers
            .iter()
            .zip(requests)
            .map(|(writer, p)| writer.submit(|reply| Job::Send(p, reply)))
            .collect();
        async move {
            let answers =
                futures::future::join_all(submitted.into_iter().map(Submitted::answer)).await;
            tokio::time::sleep(SETTLE).await;
            answers
        }
        .boxed()
    }

    /// Every writer's thread builds its request and waits at the gate before any byte
    /// is sent; the last to arrive opens it for all.
    fn race(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        let gate = Arc::new(Gate::new(self.timeout));
        let submitted: Vec<Submitted> = self
            .writers
            .iter()
            .zip(requests)
            .map(|(writer, p)| writer.submit(|reply| Job::Race(p, gate.clone(), reply)))
            .collect();
        gate.expect(
            submitted
                .iter()
                .filter(|s| matches!(s, Submitted::Queued(_)))
                .count(),
        );
        async move { futures::future::join_all(submitted.into_iter().map(Submitted::answer)).await }
            .boxed()
    }

    /// Hands every thread a new client, so the threads (and their runtimes' descriptors)
    /// last the run and only the connections are new. A thread that is gone is left
    /// alone: its next job says so.
    fn reconnect(&mut self) -> Result<(), String> {
        for writer in &self.writers {
            let _ = writer
                .jobs
                .send(Job::Reconnect(connection(&self.settings)?));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gate for `n` writers, `n` threads waiting at it, and when each got through.
    fn through(gate: &Arc<Gate>, n: usize) -> Vec<std::thread::JoinHandle<Instant>> {
        (0..n)
            .map(|_| {
                let gate = gate.clone();
                std::thread::spawn(move || {
                    gate.wait();
                    Instant::now()
                })
            })
            .collect()
    }

    #[test]
    fn the_gate_opens_when_the_last_writer_arrives_and_not_before() {
        let gate = Arc::new(Gate::new(Duration::from_secs(60)));
        let waiting = through(&gate, 3);
        gate.expect(4);
        std::thread::sleep(Duration::from_millis(100));
        assert!(waiting.iter().all(|t| !t.is_finished()), "opened early");
        let opened = Instant::now();
        let last = through(&gate, 1);
        for t in waiting.into_iter().chain(last) {
            assert!(t.join().unwrap() >= opened);
        }
    }

    #[test]
    fn the_gate_waits_for_the_count_even_when_every_writer_came_first() {
        let gate = Arc::new(Gate::new(Duration::from_secs(60)));
        let waiting = through(&gate, 2);
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            waiting.iter().all(|t| !t.is_finished()),
            "opened before the count"
        );
        gate.expect(2);
        for t in waiting {
            t.join().unwrap();
        }
    }

    #[test]
    fn a_writer_that_never_comes_holds_the_gate_no_longer_than_its_timeout() {
        let gate = Arc::new(Gate::new(Duration::from_millis(200)));
        gate.expect(3);
        let started = Instant::now();
        for t in through(&gate, 2) {
            t.join().unwrap();
        }
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    fn request(method: reqwest::Method, url: &url::Url) -> Prepared {
        Prepared {
            method,
            url: url.clone(),
            headers: reqwest::header::HeaderMap::new(),
            body: Some(b"{}".to_vec()),
        }
    }

    /// An HTTP/1.1 server that answers every request with the number of its connection,
    /// in the order they were accepted.
    /// A server that answers with the number of the connection a request came on, and
    /// the count of its connections open.
    async fn numbering_server() -> (url::Url, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::Ordering::SeqCst;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}/x", listener.local_addr().unwrap())).unwrap();
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = open.clone();
        tokio::spawn(async move {
            let mut next = 0u32;
            while let Ok((socket, _)) = listener.accept().await {
                let (id, open) = (next, counted.clone());
                next += 1;
                open.fetch_add(1, SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_request| async move {
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            axum::body::Body::from(id.to_string()),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                        .await;
                    open.fetch_sub(1, SeqCst);
                });
            }
        });
        (url, open)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_writer_keeps_its_own_connection_and_the_answers_come_in_writer_order() {
        let (url, _) = numbering_server().await;
        let settings = ClientSettings::new(Duration::from_secs(5));
        let mode = Barrier::new(4, &settings).unwrap();
        let mut seen: Option<Vec<String>> = None;
        for _ in 0..3 {
            let reads = (0..4)
                .map(|_| request(reqwest::Method::GET, &url))
                .collect();
            let writes = (0..4)
                .map(|_| request(reqwest::Method::PUT, &url))
                .collect();
            for answers in [mode.each(reads).await, mode.race(writes).await] {
                assert!(answers.iter().all(|a| a.status == Some(200)), "{answers:?}");
                let connections: Vec<String> = answers.iter().map(|a| a.body.clone()).collect();
                let mut distinct = connections.clone();
                distinct.sort();
                distinct.dedup();
                assert_eq!(
                    distinct.len(),
                    4,
                    "two writers shared a connection: {connections:?}"
                );
                match &seen {
                    None => seen = Some(connections),
                    Some(first) => assert_eq!(&connections, first, "a writer changed connection"),
                }
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reconnect_closes_every_writers_connection_and_the_next_requests_open_new_ones() {
        let (url, open) = numbering_server().await;
        let settings = ClientSettings::new(Duration::from_secs(5));
        let mut mode = Barrier::new(3, &settings).unwrap();
        let connections = |answers: Vec<Exchange>| -> Vec<String> {
            assert!(answers.iter().all(|a| a.status == Some(200)), "{answers:?}");
            answers.into_iter().map(|a| a.body).collect()
        };
        let reads = || {
            (0..3)
                .map(|_| request(reqwest::Method::GET, &url))
                .collect()
        };
        let mut first = connections(mode.each(reads()).await);
        first.sort();
        assert_eq!(first, ["0", "1", "2"]);
        mode.reconnect().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while open.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "connections left open after the reconnect"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut second = connections(mode.each(reads()).await);
        second.sort();
        assert_eq!(second, ["3", "4", "5"]);
        let writes = (0..3)
            .map(|_| request(reqwest::Method::PUT, &url))
            .collect();
        let mut raced = connections(mode.race(writes).await);
        raced.sort();
        assert_eq!(raced, second, "the race left on the new connections");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_race_no_one_waits_for_any_more_closes_its_connections() {
        // A server that reads what comes and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}/x", listener.local_addr().unwrap())).unwrap();
        let (closed_tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let closed_tx = closed_tx.clone();
                tokio::spawn(async move {
                    use tokio::io::AsyncReadExt;
                    let mut buf = [0u8; 4096];
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                    let _ = closed_tx.send(());
                });
            }
        });
        let settings = ClientSettings::new(Duration::from_secs(60));
        let mode = Barrier::new(2, &settings).unwrap();
        let writes = (0..2)
            .map(|_| request(reqwest::Method::PUT, &url))
            .collect();
        let given_up = tokio::time::timeout(Duration::from_millis(300), mode.race(writes)).await;
        assert!(given_up.is_err(), "the server answered: {given_up:?}");
        for _ in 0..2 {
            tokio::time::timeout(Duration::from_secs(10), closed.recv())
                .await
                .expect("a connection stayed open after its race was given up")
                .unwrap();
        }
    }
}
