//! The `barrier` mode: one reqwest connection per writer; every writer's task waits at a
//! barrier and the last one to arrive releases all the sends.
//!
//! Each writer owns a `reqwest::Client` whose pool holds one idle connection, so no two
//! writers share a connection and no pool limit or lock sits between them. Tasks run on
//! the multi-threaded runtime, so the sends proceed in parallel, not one after another.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{Race, SETTLE};
use crate::engine::exchange::{
    connection, describe, execute, failed, send, to_request, ClientSettings, Exchange, Incident,
    Prepared,
};
use crate::history::Cause;

/// One reqwest client (one connection) per writer.
pub(super) struct Barrier {
    clients: Vec<reqwest::Client>,
}

impl Barrier {
    /// `n` independent clients; their connections open at the first request.
    pub fn new(n: usize, settings: &ClientSettings) -> Result<Self, String> {
        let clients = (0..n)
            .map(|_| connection(settings))
            .collect::<Result<_, _>>()?;
        Ok(Barrier { clients })
    }
}

impl Race for Barrier {
    /// Nothing to check: reqwest speaks whatever the target does, and the warm-ups open
    /// the connections.
    fn ready<'a>(&'a self, _url: &'a url::Url) -> BoxFuture<'a, Result<(), String>> {
        async { Ok(()) }.boxed()
    }

    /// After the answers, waits [`SETTLE`] so that every connection is back in its
    /// client's pool before the race: a response is fully read a moment before its
    /// connection is idle again, and a request sent in that moment opens a new
    /// connection, which would put a connection's set-up inside the race.
    fn each(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        let sends = self
            .clients
            .iter()
            .zip(requests)
            .map(|(client, p)| send(client, p));
        async move {
            let answers = futures::future::join_all(sends).await;
            tokio::time::sleep(SETTLE).await;
            answers
        }
        .boxed()
    }

    /// Every request is built and every writer's task is parked at a barrier before any
    /// byte is sent; the last task to arrive releases them all.
    fn race(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        async move {
            let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
            let mut tasks = Vec::with_capacity(requests.len());
            for (client, prepared) in self.clients.iter().zip(requests) {
                let client = client.clone();
                let barrier = barrier.clone();
                tasks.push(tokio::spawn(async move {
                    let request = to_request(&client, prepared);
                    barrier.wait().await;
                    let start = Instant::now();
                    match request {
                        Ok(request) => execute(&client, request, start).await,
                        Err(e) => failed(start, Incident::new(Cause::Unsent, describe(&e))),
                    }
                }));
            }
            let mut out = Vec::with_capacity(tasks.len());
            for task in tasks {
                let now = Instant::now();
                out.push(task.await.unwrap_or_else(|e| {
                    failed(
                        now,
                        Incident::new(Cause::Reset, format!("writer task failed: {e}")),
                    )
                }));
            }
            out
        }
        .boxed()
    }
}
