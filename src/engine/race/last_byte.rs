//! The `last-byte` mode (HTTP/1.1 last-byte synchronisation): one warmed connection per
//! writer ([`H1Client`]) with `TCP_NODELAY` (TLS for https, each last byte then its own
//! TLS record); every request of the round is written except its last byte; once all
//! are staged (and the server has had [`SETTLE`] to take them in), one task writes the
//! last bytes back to back, a syscall each. A server cannot act on a request before its
//! last byte, so the writes become complete within microseconds of each other however
//! long staging took.
//!
//! After each last byte the task yields its CPU. A socket write wakes the server's
//! reading thread on the writer's CPU, expecting the writer to sleep; on a machine
//! shared with the server, that thread would otherwise wait for the whole release, and
//! the server would read the first write alone and the rest only after its race window
//! closed.
//!
//! A request that fails before its last byte is written is `not_sent`: the server never
//! had all of it, unless it had already answered (an early answer, kept as the write's
//! answer with the cause `early`). After that, a failure is `indeterminate`.

use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::Mutex;

use super::h1::{encode, H1Client};
use super::{tls_config, Origin, Race, SETTLE};
use crate::engine::exchange::{failed, ClientSettings, Exchange, Incident, Prepared};
use crate::history::Cause;
use crate::scenario::SyncMode;

/// How one writer's release went.
enum Released {
    /// Its last byte was written at this instant.
    At(Instant),
    /// Writing its last byte failed (why): the server may have answered early.
    Broken(Instant, String),
    /// It was never staged.
    Failed(Exchange),
}

/// One raw HTTP/1.1 connection per writer.
pub(super) struct LastByte {
    /// Writer i's connection.
    conns: Mutex<Vec<H1Client>>,
}

impl LastByte {
    /// `n` writers; connections open at [`Race::ready`] or the first request.
    pub fn new(n: usize, settings: &ClientSettings) -> Result<Self, String> {
        let tls = tls_config(settings, b"http/1.1")?;
        Ok(LastByte {
            conns: Mutex::new(
                (0..n)
                    .map(|_| H1Client::new(settings.timeout, tls.clone()))
                    .collect(),
            ),
        })
    }
}

/// Writes all of a request but its last byte; the failure (if any) is `not_sent`.
async fn stage(client: &mut H1Client, bytes: &[u8], url: &url::Url) -> Result<(), Incident> {
    let origin =
        Origin::of(url, SyncMode::LastByte).map_err(|e| Incident::new(Cause::Connect, e))?;
    let head = &bytes[..bytes.len().saturating_sub(1)];
    client.write(&origin, head).await.map_err(|i| {
        let message = format!("{} before its last byte", i.message);
        Incident::new(i.cause, message)
    })
}

impl Race for LastByte {
    fn ready<'a>(&'a self, url: &'a url::Url) -> BoxFuture<'a, Result<(), String>> {
        async move {
            let origin = Origin::of(url, SyncMode::LastByte)?;
            let mut conns = self.conns.lock().await;
            let opened = futures::future::join_all(conns.iter_mut().map(|c| c.open(&origin))).await;
            for (i, result) in opened.into_iter().enumerate() {
                result.map_err(|e| format!("sync = \"last-byte\": writer {i}: {e}"))?;
            }
            Ok(())
        }
        .boxed()
    }

    fn each(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        async move {
            let mut conns = self.conns.lock().await;
            let sends = conns
                .iter_mut()
                .zip(requests)
                .map(|(client, p)| async move { client.send(&p).await });
            futures::future::join_all(sends).await
        }
        .boxed()
    }

    fn race(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        async move {
            let mut conns = self.conns.lock().await;
            let encoded: Vec<Vec<u8>> = requests.iter().map(encode).collect();

            // Stage: everything but the last byte, on every connection at once.
            let staging_started = Instant::now();
            let staged: Vec<Result<(), Incident>> = futures::future::join_all(
                conns
                    .iter_mut()
                    .zip(&encoded)
                    .zip(&requests)
                    .map(|((client, bytes), p)| stage(client, bytes, &p.url)),
            )
            .await;
            tokio::time::sleep(SETTLE).await;

            // Release: the last bytes, back to back, from this one task.
            let mut released: Vec<Released> = Vec::with_capacity(staged.len());
            for ((client, bytes), staged) in conns.iter_mut().zip(&encoded).zip(staged) {
                let outcome = match staged {
                    Err(incident) => Released::Failed(failed(staging_started, incident)),
                    Ok(()) => {
                        let last = &bytes[bytes.len().saturating_sub(1)..];
                        let at = match client.release(last).await {
                            Ok(at) => Released::At(at),
                            Err(why) => Released::Broken(Instant::now(), why),
                        };
                        // Let a server thread that the write woke on this CPU run now.
                        std::thread::yield_now();
                        at
                    }
                };
                released.push(outcome);
            }

            // Answers, read on every connection at once.
            let reads = conns.iter_mut().zip(released).zip(&requests).map(
                |((client, released), p)| async move {
                    match released {
                        Released::At(at) => client.receive(&p.method, at).await,
                        Released::Broken(at, why) => client.receive_early(&p.method, at, why).await,
                        Released::Failed(exchange) => exchange,
                    }
                },
            );
            futures::future::join_all(reads).await
        }
        .boxed()
    }
}
