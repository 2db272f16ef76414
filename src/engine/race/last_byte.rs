//! The `last-byte` mode (HTTP/1.1 last-byte synchronisation): one warmed connection per
//! writer with `TCP_NODELAY` (TLS for https, each last byte then its own TLS record); every request of the round is written except its last
//! byte; once all are staged (and the server has had [`SETTLE`] to take them in), one
//! task writes the last bytes back to back, a syscall each. A server cannot act on a
//! request before its last byte, so the writes become complete within microseconds of
//! each other however long staging took.
//!
//! A request that fails before its last byte is written is `not_sent`: the server never
//! had all of it. After that, a failure is `indeterminate`.

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::Mutex;
use tokio::time::timeout;
use tokio_rustls::rustls::ClientConfig;

use super::h1::{encode, H1Conn, Response};
use super::{tls_config, Origin, Race, SETTLE};
use crate::engine::client::{cut, failed, ClientSettings, Exchange, Prepared};
use crate::history::Outcome;
use crate::scenario::SyncMode;

/// One raw HTTP/1.1 connection per writer.
pub(super) struct LastByte {
    settings: ClientSettings,
    tls: Arc<ClientConfig>,
    /// Writer i's connection; `None` until opened, or after it broke or was closed.
    conns: Mutex<Vec<Option<H1Conn>>>,
}

impl LastByte {
    /// `n` writers; connections open at [`Race::ready`] or the first request.
    pub fn new(n: usize, settings: &ClientSettings) -> Result<Self, String> {
        Ok(LastByte {
            settings: settings.clone(),
            tls: tls_config(settings, b"http/1.1")?,
            conns: Mutex::new((0..n).map(|_| None).collect()),
        })
    }
}

/// Writer's connection to `origin`, opening it if there is none (or one elsewhere).
async fn open<'a>(
    slot: &'a mut Option<H1Conn>,
    origin: &Origin,
    lb: &LastByte,
) -> Result<&'a mut H1Conn, String> {
    if slot.as_ref().is_some_and(|c| c.origin != *origin) {
        *slot = None;
    }
    if slot.is_none() {
        let conn = timeout(lb.settings.timeout, H1Conn::connect(origin, &lb.tls))
            .await
            .map_err(|_| format!("cannot connect to {origin}: timed out"))??;
        *slot = Some(conn);
    }
    slot.as_mut()
        .ok_or_else(|| format!("cannot connect to {origin}"))
}

/// Turns a response into an exchange; a connection the server will close is dropped.
fn answered(slot: &mut Option<H1Conn>, start: Instant, response: Response) -> Exchange {
    if !response.keep_alive {
        *slot = None;
    }
    Exchange {
        status: Some(response.status),
        headers: response.headers,
        body: cut(&response.body),
        failure: None,
        start,
        end: Instant::now(),
        arrival_ns: None,
    }
}

/// Reads the response on a writer's connection; a failure leaves the connection closed.
async fn receive(
    slot: &mut Option<H1Conn>,
    method: &reqwest::Method,
    start: Instant,
    settings: &ClientSettings,
) -> Exchange {
    let Some(conn) = slot.as_mut() else {
        return failed(
            start,
            Outcome::Indeterminate,
            "the connection was lost".into(),
        );
    };
    match timeout(settings.timeout, conn.read_response(method)).await {
        Ok(Ok(response)) => answered(slot, start, response),
        Ok(Err(e)) => {
            *slot = None;
            failed(start, Outcome::Indeterminate, e)
        }
        Err(_) => {
            *slot = None;
            failed(start, Outcome::Indeterminate, "timed out".into())
        }
    }
}

/// Sends one whole request on a writer's connection and reads its response.
async fn exchange(slot: &mut Option<H1Conn>, prepared: Prepared, lb: &LastByte) -> Exchange {
    let settings = &lb.settings;
    let start = Instant::now();
    let origin = match Origin::of(&prepared.url, SyncMode::LastByte) {
        Ok(o) => o,
        Err(e) => return failed(start, Outcome::NotSent, e),
    };
    let conn = match open(slot, &origin, lb).await {
        Ok(c) => c,
        Err(e) => return failed(start, Outcome::NotSent, e),
    };
    let bytes = encode(&prepared);
    match timeout(settings.timeout, conn.write(&bytes)).await {
        Ok(Ok(())) => receive(slot, &prepared.method, start, settings).await,
        Ok(Err(e)) => {
            *slot = None;
            failed(
                start,
                Outcome::Indeterminate,
                format!("writing the request failed: {e}"),
            )
        }
        Err(_) => {
            *slot = None;
            failed(start, Outcome::Indeterminate, "timed out".into())
        }
    }
}

/// Writes all of a request but its last byte; the failure (if any) is `not_sent`.
async fn stage(
    slot: &mut Option<H1Conn>,
    bytes: &[u8],
    url: &url::Url,
    lb: &LastByte,
) -> Result<(), String> {
    let settings = &lb.settings;
    let origin = Origin::of(url, SyncMode::LastByte)?;
    let conn = open(slot, &origin, lb).await?;
    let head = &bytes[..bytes.len().saturating_sub(1)];
    let written = match timeout(settings.timeout, conn.write(head)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "writing the request failed before its last byte: {e}"
        )),
        Err(_) => Err("timed out writing the request before its last byte".to_string()),
    };
    if written.is_err() {
        *slot = None;
    }
    written
}

impl Race for LastByte {
    fn ready<'a>(&'a self, url: &'a url::Url) -> BoxFuture<'a, Result<(), String>> {
        async move {
            let origin = Origin::of(url, SyncMode::LastByte)?;
            let mut conns = self.conns.lock().await;
            let opened =
                futures::future::join_all(conns.iter_mut().map(|slot| open(slot, &origin, self)))
                    .await;
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
                .map(|(slot, p)| exchange(slot, p, self));
            futures::future::join_all(sends).await
        }
        .boxed()
    }

    fn race(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        async move {
            let settings = &self.settings;
            let mut conns = self.conns.lock().await;
            let encoded: Vec<Vec<u8>> = requests.iter().map(encode).collect();

            // Stage: everything but the last byte, on every connection at once.
            let staging_started = Instant::now();
            let staged: Vec<Result<(), String>> = futures::future::join_all(
                conns
                    .iter_mut()
                    .zip(&encoded)
                    .zip(&requests)
                    .map(|((slot, bytes), p)| stage(slot, bytes, &p.url, self)),
            )
            .await;
            tokio::time::sleep(SETTLE).await;

            // Release: the last bytes, back to back, from this one task.
            let mut released: Vec<Result<Instant, Exchange>> = Vec::with_capacity(staged.len());
            for ((slot, bytes), staged) in conns.iter_mut().zip(&encoded).zip(staged) {
                let outcome = match (staged, slot.as_mut()) {
                    (Err(e), _) => Err(failed(staging_started, Outcome::NotSent, e)),
                    (Ok(()), None) => Err(failed(
                        staging_started,
                        Outcome::NotSent,
                        "the connection was lost before the release".into(),
                    )),
                    (Ok(()), Some(conn)) => {
                        let last = &bytes[bytes.len().saturating_sub(1)..];
                        match conn.write(last).await {
                            Ok(()) => Ok(Instant::now()),
                            Err(e) => {
                                *slot = None;
                                Err(failed(
                                    staging_started,
                                    Outcome::NotSent,
                                    format!("writing the last byte failed: {e}"),
                                ))
                            }
                        }
                    }
                };
                released.push(outcome);
            }

            // Answers, read on every connection at once.
            let reads = conns.iter_mut().zip(released).zip(&requests).map(
                |((slot, released), p)| async move {
                    match released {
                        Ok(at) => receive(slot, &p.method, at, settings).await,
                        Err(exchange) => exchange,
                    }
                },
            );
            futures::future::join_all(reads).await
        }
        .boxed()
    }
}
