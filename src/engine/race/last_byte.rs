//! The `last-byte` mode (HTTP/1.1 last-byte synchronisation): one warmed connection per
//! writer ([`H1Client`]) with `TCP_NODELAY` (TLS for https); every request of the round
//! is written except its last byte; once all are staged (and the server has had
//! [`SETTLE`] to take them in), each last byte is sealed (over TLS, encrypted into its
//! own record) and all of them are written to the sockets in one batch
//! ([`super::release`]: one io_uring submission where the kernel allows it). A server
//! cannot act on a request before its last byte, so the writes become complete within
//! microseconds of each other however long staging took.
//!
//! The release holds the CPU for one system call, and then the task waits for the
//! answers, so a server thread that the writes woke on contend's CPU runs as soon as the
//! batch is written. It used to be a write per connection, each followed by a
//! `yield_now` to let that thread run; on a busy machine every yield gave the CPU away
//! for up to milliseconds (32 writers' releases spread over 45 ms at the median under two
//! busy processes), and measured against the batch in one interleaved run it caught
//! fewer windows idle and loaded alike (see docs/benchmarks.md, "The `last-byte` release").
//!
//! A request that fails before its last byte is written is `not_sent`: the server never
//! had all of it, unless it had already answered (an early answer, kept as the write's
//! answer with the cause `early`). After that, a failure is `indeterminate`. Should the
//! batch itself fail once its writes were submitted, whether a last byte left is not
//! known, and what comes back decides (no answer is `indeterminate`).

use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::h1::{encode, H1Client};
use super::release::{Batch, Sent, Took};
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
    /// The batch failed after its write was submitted (why): the last byte may or may
    /// not have left, so what comes back decides.
    Unknown(Instant, String),
    /// It was never staged (or its last byte could not be sealed).
    Failed(Exchange),
}

/// One raw HTTP/1.1 connection per writer.
pub(super) struct LastByte {
    /// Writer i's connection.
    conns: Mutex<Vec<H1Client>>,
    /// Writes the release.
    batch: Mutex<Batch>,
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
            batch: Mutex::new(Batch::new(n)),
        })
    }
}

/// Completes one write of the release batch: writes what the socket did not take, and
/// says how the release went: the instant the last byte was written, or why it was not
/// (the socket refused it, or the batch cannot say).
async fn finish(client: &mut H1Client, sealed: &[u8], sent: Sent) -> Released {
    match sent.took {
        Took::Bytes(n) if n >= sealed.len() => Released::At(sent.at),
        Took::Bytes(n) => match client.finish_release(&sealed[n..]).await {
            Ok(at) => Released::At(at),
            Err(why) => Released::Broken(Instant::now(), why),
        },
        Took::Failed(e) => Released::Broken(sent.at, format!("writing the last byte failed: {e}")),
        Took::Unknown(e) => Released::Unknown(sent.at, e.to_string()),
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
            // One GET, whatever its status, proves HTTP/1.1 is answered there (a server
            // may speak only HTTP/2).
            let probe = Prepared {
                method: reqwest::Method::GET,
                url: url.clone(),
                headers: reqwest::header::HeaderMap::new(),
                body: None,
            };
            let Some(first) = conns.first_mut() else {
                return Ok(());
            };
            let answer = first.send(&probe).await;
            match (answer.status, answer.incident) {
                (Some(_), _) | (None, None) => Ok(()),
                (None, Some(incident)) => Err(format!(
                    "sync = \"last-byte\" needs HTTP/1.1, and {origin} did not answer GET {url} \
                     over it: {}",
                    incident.message
                )),
            }
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

            // Seal: each staged request's last byte as its socket must carry it.
            let sealed: Vec<Result<Vec<u8>, Incident>> = conns
                .iter_mut()
                .zip(&encoded)
                .zip(staged)
                .map(|((client, bytes), staged)| {
                    staged.and_then(|()| client.seal(&bytes[bytes.len().saturating_sub(1)..]))
                })
                .collect();

            // Release: every sealed last byte, in one batch.
            let sent = {
                let writes: Vec<(&TcpStream, &[u8])> = conns
                    .iter()
                    .zip(&sealed)
                    .filter_map(|(client, sealed)| {
                        Some((client.socket()?, sealed.as_deref().ok()?))
                    })
                    .collect();
                self.batch.lock().await.send(&writes)
            };
            let mut sent = sent.into_iter();
            let mut released: Vec<Released> = Vec::with_capacity(conns.len());
            for (client, sealed) in conns.iter_mut().zip(sealed) {
                // The writes were batched in this order, for the connections still open.
                let batched = match &sealed {
                    Ok(_) if client.socket().is_some() => sent.next(),
                    _ => None,
                };
                released.push(match (sealed, batched) {
                    (Err(incident), _) => Released::Failed(failed(staging_started, incident)),
                    (Ok(bytes), Some(sent)) => finish(client, &bytes, sent).await,
                    (Ok(_), None) => Released::Failed(failed(
                        staging_started,
                        Incident::new(Cause::Unsent, "the connection was lost before the release"),
                    )),
                });
            }

            // Answers, read on every connection at once.
            let reads = conns.iter_mut().zip(released).zip(&requests).map(
                |((client, released), p)| async move {
                    match released {
                        Released::At(at) => client.receive(&p.method, at).await,
                        Released::Broken(at, why) => client.receive_early(&p.method, at, why).await,
                        Released::Unknown(at, why) => {
                            let mut answer = client.receive(&p.method, at).await;
                            if let Some(incident) = answer.incident.as_mut() {
                                incident.message = format!(
                                    "{} (the last byte may not have left: {why})",
                                    incident.message
                                );
                            }
                            answer
                        }
                        Released::Failed(exchange) => exchange,
                    }
                },
            );
            futures::future::join_all(reads).await
        }
        .boxed()
    }

    fn reconnect(&mut self) -> Result<(), String> {
        let conns = self.conns.get_mut();
        conns.iter_mut().for_each(H1Client::close);
        Ok(())
    }
}
