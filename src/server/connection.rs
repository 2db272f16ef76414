//! Serving connections: HTTP/1.1, or HTTP/2 with its streams kept on the connection.
//!
//! hyper runs each HTTP/2 stream as a future it hands to an executor. Spawned as tasks
//! of their own, a connection's streams are stolen by the runtime's other worker
//! threads, so two writes that came in one packet are checked on two threads, the second
//! once an idle thread has woken; on these virtual CPUs that can be after a short race
//! window has closed. Here the streams run inside the connection's own task, as nginx
//! and most HTTP/2 servers keep a connection's streams on the worker that reads it: one
//! thread reads a packet's requests and checks them all before any of them resumes
//! from a wait (a window, a database). Connections are still spread over every worker.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use futures::stream::{FuturesUnordered, StreamExt};
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// A stream's future, boxed to sit beside the others of its connection.
type Stream = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The executor hyper is given: it passes each stream to its connection's task.
#[derive(Clone)]
struct OnConnection(mpsc::UnboundedSender<Stream>);

impl<F> hyper::rt::Executor<F> for OnConnection
where
    F: Future + Send + 'static,
{
    fn execute(&self, future: F) {
        // The connection's task is gone only when the connection is: nothing to run.
        let _ = self.0.send(Box::pin(async move {
            future.await;
        }));
    }
}

/// Serves `app` on one connection until it closes: HTTP/1.1, or HTTP/2 too (by its
/// preface or ALPN) when `http2` says so, its streams polled here beside it. With a
/// `graceful` shutdown, the connection closes gracefully when it fires.
pub(super) async fn serve<I>(io: I, app: Router, http2: bool, graceful: Option<Watcher>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (executor, mut spawned) = mpsc::unbounded_channel();
    let builder = auto::Builder::new(OnConnection(executor));
    let builder = if http2 { builder } else { builder.http1_only() };
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    let mut conn: Pin<Box<dyn Future<Output = _> + Send>> = match graceful {
        Some(graceful) => Box::pin(graceful.watch(conn)),
        None => Box::pin(conn),
    };
    let mut streams = FuturesUnordered::new();
    loop {
        tokio::select! {
            Some(stream) = spawned.recv() => streams.push(stream),
            Some(()) = streams.next(), if !streams.is_empty() => {}
            _ = &mut conn => break,
        }
    }
    // The connection is done; its streams still finish their answers (and may hold
    // the executor until they do, so they are polled while it is waited for).
    drop(conn);
    drop(builder);
    loop {
        tokio::select! {
            stream = spawned.recv() => match stream {
                Some(stream) => streams.push(stream),
                None => break,
            },
            Some(()) = streams.next(), if !streams.is_empty() => {}
        }
    }
    while streams.next().await.is_some() {}
}

/// How long a stop waits for the connections still open to finish what they are doing
/// (a request in its window, a response being written); then they are closed. A client
/// that never finishes its request, or its TLS handshake, cannot hold a stop up longer.
pub(super) const GRACE: Duration = Duration::from_secs(3);

/// Accepts connections on `listener` and [`serve`]s `app` on each (with `TCP_NODELAY`,
/// so last bytes are not held back by Nagle; over TLS, after the handshake with `tls`)
/// until `shutdown`; then stops accepting, closes every connection gracefully, waits for
/// them up to [`GRACE`], and closes those still open.
pub(super) async fn accept(
    listener: TcpListener,
    app: Router,
    http2: bool,
    tls: Option<TlsAcceptor>,
    mut shutdown: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let (tcp, _) = tokio::select! {
            // Either an explicit stop or the handle being dropped ends the server.
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors, say: that connection is lost, and the next accept
                // waits a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        // The connections that have ended are let go of as new ones come.
        while connections.try_join_next().is_some() {}
        // Best effort: without it responses are merely slower, never wrong.
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let watcher = graceful.watcher();
        match &tls {
            None => connections.spawn(serve(tcp, app, http2, Some(watcher))),
            Some(tls) => {
                let tls = tls.clone();
                connections.spawn(async move {
                    // A failed handshake ends only that connection.
                    if let Ok(stream) = tls.accept(tcp).await {
                        serve(stream, app, http2, Some(watcher)).await;
                    }
                })
            }
        };
    }
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
    // Dropping the set closes the connections still open.
    drop(connections);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::routing::get;

    use super::*;

    /// How many handlers run at once, and the most that ever did.
    #[derive(Default)]
    struct Running {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    /// A route whose handler holds its thread for 20 ms (no `.await`), counting how
    /// many such handlers run at once.
    fn holding_app(running: Arc<Running>) -> Router {
        Router::new().route(
            "/hold",
            get(move || {
                let running = Arc::clone(&running);
                async move {
                    let now = running.now.fetch_add(1, Ordering::SeqCst) + 1;
                    running.most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.now.fetch_sub(1, Ordering::SeqCst);
                    "held"
                }
            }),
        )
    }

    async fn start(
        app: Router,
    ) -> (
        SocketAddr,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel();
        (
            addr,
            stop,
            tokio::spawn(accept(listener, app, true, None, stopped)),
        )
    }

    async fn get_all(client: &reqwest::Client, url: &str, n: usize) -> Vec<String> {
        let sends = (0..n).map(|_| async {
            let answer = client.get(url).send().await.expect("request");
            assert_eq!(answer.version(), reqwest::Version::HTTP_2);
            answer.text().await.expect("body")
        });
        futures::future::join_all(sends).await
    }

    // With a stream per task, four worker threads would run these handlers side by
    // side; kept on their connection they run one at a time, whatever the runtime.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_streams_of_one_http2_connection_never_run_on_two_threads_at_once() {
        let running = Arc::new(Running::default());
        let (addr, stop, server) = start(holding_app(Arc::clone(&running))).await;
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .expect("client");
        let url = format!("http://{addr}/hold");
        let answers = get_all(&client, &url, 8).await;
        assert_eq!(answers, vec!["held"; 8]);
        assert_eq!(running.most.load(Ordering::SeqCst), 1);
        stop.send(()).expect("server running");
        drop(client);
        server.await.expect("server task").expect("server");
    }

    // Two connections are two tasks: the workers serve them side by side.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_connections_are_served_side_by_side() {
        let running = Arc::new(Running::default());
        let (addr, stop, server) = start(holding_app(Arc::clone(&running))).await;
        let url = format!("http://{addr}/hold");
        let clients: Vec<reqwest::Client> = (0..2)
            .map(|_| {
                reqwest::Client::builder()
                    .http2_prior_knowledge()
                    .build()
                    .expect("client")
            })
            .collect();
        // Each connection opened and warm before the pair of holding requests.
        for client in &clients {
            client
                .get(format!("http://{addr}/nothing"))
                .send()
                .await
                .expect("warm");
        }
        let both = clients.iter().map(|c| get_all(c, &url, 1));
        let answers = futures::future::join_all(both).await;
        assert_eq!(answers, vec![vec!["held".to_string()]; 2]);
        assert_eq!(running.most.load(Ordering::SeqCst), 2);
        stop.send(()).expect("server running");
        drop(clients);
        server.await.expect("server task").expect("server");
    }

    /// Whether the peer of `tcp` closed it (a read ends), waiting at most `within`.
    async fn closed(tcp: &mut tokio::net::TcpStream, within: Duration) -> bool {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(within, tcp.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
            }
        }
    }

    // A client that sends half a request and then nothing would hold a graceful stop
    // up for ever: it waits the grace, then the connection is closed.
    #[tokio::test]
    async fn a_stop_closes_a_connection_stuck_halfway_through_its_request_after_the_grace() {
        use tokio::io::AsyncWriteExt;
        let (addr, stop, server) = start(holding_app(Arc::default())).await;
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(b"GET /hold HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("half a request");
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.send(()).expect("server running");
        tokio::time::timeout(GRACE + Duration::from_secs(10), server)
            .await
            .expect("the stop waited past its grace")
            .expect("server task")
            .expect("server");
        assert!(closed(&mut tcp, Duration::from_secs(10)).await);
    }

    // What is in flight when the stop comes still gets its answer.
    #[tokio::test]
    async fn a_stop_lets_a_request_in_flight_finish() {
        let app = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        );
        let (addr, stop, server) = start(app).await;
        let asked = tokio::spawn(async move {
            reqwest::get(format!("http://{addr}/slow"))
                .await
                .expect("request")
                .text()
                .await
                .expect("body")
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).expect("server running");
        assert_eq!(asked.await.expect("client task"), "done");
        server.await.expect("server task").expect("server");
    }
}
