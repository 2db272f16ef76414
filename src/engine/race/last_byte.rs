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
//! fewer windows idle and loaded alike (see the README's detection-power section).
//!
//! A request that fails before its last byte is written is `not_sent`: the server never
//! had all of it. After that, a failure is `indeterminate`.

use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::h1::{encode, H1Client};
use super::release::{Batch, Sent, Took};
use super::{tls_config, Origin, Race, SETTLE};
use crate::engine::exchange::{failed, ClientSettings, Exchange, Prepared};
use crate::history::Outcome;
use crate::scenario::SyncMode;

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
/// returns when the last byte was written, or the failure (`not_sent` when the socket
/// refused it, `indeterminate` when the batch cannot say).
async fn finish(
    client: &mut H1Client,
    sealed: &[u8],
    sent: Sent,
    staging_started: Instant,
) -> Result<Instant, Exchange> {
    match sent.took {
        Took::Bytes(n) if n >= sealed.len() => Ok(sent.at),
        Took::Bytes(n) => client
            .finish_release(&sealed[n..])
            .await
            .map_err(|e| failed(staging_started, Outcome::NotSent, e)),
        Took::Failed(e) => {
            client.drop_connection();
            Err(failed(
                staging_started,
                Outcome::NotSent,
                format!("writing the last byte failed: {e}"),
            ))
        }
        Took::Unknown(e) => {
            client.drop_connection();
            Err(failed(
                staging_started,
                Outcome::Indeterminate,
                e.to_string(),
            ))
        }
    }
}

/// Writes all of a request but its last byte; the failure (if any) is `not_sent`.
async fn stage(client: &mut H1Client, bytes: &[u8], url: &url::Url) -> Result<(), String> {
    let origin = Origin::of(url, SyncMode::LastByte)?;
    let head = &bytes[..bytes.len().saturating_sub(1)];
    client
        .write(&origin, head)
        .await
        .map_err(|e| format!("{e} before its last byte"))
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
            match (answer.status, answer.failure) {
                (Some(_), _) | (None, None) => Ok(()),
                (None, Some(failure)) => Err(format!(
                    "sync = \"last-byte\" needs HTTP/1.1, and {origin} did not answer GET {url} \
                     over it: {}",
                    failure.message
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
            let staged: Vec<Result<(), String>> = futures::future::join_all(
                conns
                    .iter_mut()
                    .zip(&encoded)
                    .zip(&requests)
                    .map(|((client, bytes), p)| stage(client, bytes, &p.url)),
            )
            .await;
            tokio::time::sleep(SETTLE).await;

            // Seal: each staged request's last byte as its socket must carry it.
            let sealed: Vec<Result<Vec<u8>, String>> = conns
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
            let mut released: Vec<Result<Instant, Exchange>> = Vec::with_capacity(conns.len());
            for (client, sealed) in conns.iter_mut().zip(sealed) {
                // The writes were batched in this order, for the connections still open.
                let batched = match &sealed {
                    Ok(_) if client.socket().is_some() => sent.next(),
                    _ => None,
                };
                released.push(match (sealed, batched) {
                    (Err(e), _) => Err(failed(staging_started, Outcome::NotSent, e)),
                    (Ok(bytes), Some(sent)) => finish(client, &bytes, sent, staging_started).await,
                    (Ok(_), None) => Err(failed(
                        staging_started,
                        Outcome::NotSent,
                        "the connection was lost before the release".into(),
                    )),
                });
            }

            // Answers, read on every connection at once.
            let reads = conns.iter_mut().zip(released).zip(&requests).map(
                |((client, released), p)| async move {
                    match released {
                        Ok(at) => client.receive(&p.method, at).await,
                        Err(exchange) => exchange,
                    }
                },
            );
            futures::future::join_all(reads).await
        }
        .boxed()
    }
}
