//! The `single-packet` mode (the HTTP/2 single-packet attack): every write of the round
//! is a stream on one HTTP/2 connection. Each stream's headers and its body except the
//! last byte are sent first; each stream's final DATA frame (the last byte, or an empty
//! frame when there is no body, with END_STREAM) is withheld. A PING round trip then
//! proves the server has read everything staged, and after [`SETTLE`] all the final
//! frames are queued and written to the socket in one write, so they travel together.
//!
//! The `h2` crate does the framing. Its connection is driven only from the task using it
//! (never spawned), so nothing writes between the queueing of the final frames and the
//! one flush. Over http:// it speaks HTTP/2 with prior knowledge (h2c); over https:// it
//! offers only `h2` by ALPN. A target that does not speak HTTP/2 that way, or that allows
//! fewer concurrent streams than there are writers, is refused with the reason at
//! [`Race::ready`].
//!
//! Every stream's answer is read until the round's deadline (its release plus the
//! timeout), each on its own, so a stream whose body stalls or breaks keeps its status,
//! and a body is read up to the body limit, then its stream is cancelled. A server may
//! answer a stream before its end and reset it with `NO_ERROR` (RFC 9113 §8.1); the final
//! frame then cannot be sent, and the answer already held is the write's answer, recorded
//! with the cause `early`.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use h2::client::{Connection, ResponseFuture, SendRequest};
use h2::{Ping, PingPong, SendStream};
use tokio::sync::Mutex;
use tokio::time::timeout;
use tokio_rustls::rustls::ClientConfig;

use super::{tls_config, Origin, Race, Stream, SETTLE};
use crate::engine::exchange::{
    failed, h2_cause, BodyBuf, ClientSettings, Exchange, Incident, Prepared,
};
use crate::history::Cause;
use crate::scenario::SyncMode;

/// Headers that are about one HTTP/1.1 connection and must not appear in HTTP/2
/// (RFC 9113 §8.2.2); `host` becomes `:authority`.
const CONNECTION_SPECIFIC: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// One HTTP/2 connection and its handles.
struct H2 {
    origin: Origin,
    send: SendRequest<Bytes>,
    conn: Connection<Stream, Bytes>,
    ping: PingPong,
    /// A round has been raced on it: the next round's warm-ups open a fresh one.
    raced: bool,
}

/// Every writer's request on one HTTP/2 connection.
pub(super) struct SinglePacket {
    writers: usize,
    settings: ClientSettings,
    tls: Arc<ClientConfig>,
    /// The connection; `None` until opened, or after it failed.
    h2: Mutex<Option<H2>>,
}

impl SinglePacket {
    /// `n` writers sharing one connection, opened at [`Race::ready`] or the first request.
    pub fn new(n: usize, settings: &ClientSettings) -> Result<Self, String> {
        Ok(SinglePacket {
            writers: n,
            settings: settings.clone(),
            tls: tls_config(settings, b"h2")?,
            h2: Mutex::new(None),
        })
    }
}

/// How long streams may take, after their connection ended, to say what they had seen.
const AFTER_CONNECTION: Duration = Duration::from_millis(100);

/// Polls `fut` to completion while driving the connection, so frames `fut` queues are
/// written and frames it waits for are read. Fails if the connection ends first.
async fn drive<F: Future>(
    conn: &mut Connection<Stream, Bytes>,
    fut: F,
) -> Result<F::Output, Incident> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match Pin::new(&mut *conn).poll(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Err(Incident::new(
                Cause::Reset,
                "the server closed the HTTP/2 connection",
            ))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(Incident::new(
                h2_cause(&e, false),
                format!("the HTTP/2 connection failed: {e}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Whether a kept connection can still take the next round: the frames that came in
/// since it was last driven (a GOAWAY after the server's request limit, a close) are
/// read first. A connection that has ended, or refuses new streams, is replaced.
async fn still_open(h2: &mut H2) -> bool {
    poll_fn(|cx| {
        if Pin::new(&mut h2.conn).poll(cx).is_ready() {
            return Poll::Ready(false);
        }
        Poll::Ready(matches!(h2.send.poll_ready(cx), Poll::Ready(Ok(()))))
    })
    .await
}

/// One PING round trip: once it is back, the server has read every frame sent before it.
async fn round_trip(h2: &mut H2, settings: &ClientSettings) -> Result<(), String> {
    let ping = h2.ping.ping(Ping::opaque());
    match timeout(settings.timeout, drive(&mut h2.conn, ping)).await {
        Ok(Ok(Ok(_pong))) => Ok(()),
        Ok(Ok(Err(e))) => Err(format!("PING failed: {e}")),
        Ok(Err(incident)) => Err(incident.message),
        Err(_) => Err("no answer to a PING: timed out".into()),
    }
}

/// Opens the connection to `origin` (if there is none there), warms it with a PING round
/// trip and checks it allows a stream per writer.
async fn open<'a>(
    slot: &'a mut Option<H2>,
    origin: &Origin,
    writers: usize,
    settings: &ClientSettings,
    tls_config: &Arc<ClientConfig>,
) -> Result<&'a mut H2, String> {
    if slot.as_ref().is_some_and(|h| h.origin != *origin) {
        *slot = None;
    }
    if let Some(h2) = slot.as_mut() {
        if !still_open(h2).await {
            *slot = None;
        }
    }
    if slot.is_none() {
        let tls = origin.scheme == "https";
        let not_h2 = |e: String| {
            let how = if tls {
                "over TLS (ALPN h2)"
            } else {
                "over plain TCP (h2c with prior knowledge)"
            };
            format!(
                "sync = \"single-packet\" needs HTTP/2, and {origin} does not speak HTTP/2 {how}: {e}"
            )
        };
        let (stream, alpn) = timeout(settings.timeout, origin.connect(tls_config))
            .await
            .map_err(|_| format!("cannot connect to {origin}: timed out"))??;
        if tls && alpn.as_deref() != Some(b"h2") {
            let chose = alpn.map_or("no protocol".to_string(), |p| {
                format!("`{}`", String::from_utf8_lossy(&p))
            });
            return Err(not_h2(format!("it chose {chose} when offered only h2")));
        }
        let (send, mut conn) = timeout(settings.timeout, h2::client::handshake(stream))
            .await
            .map_err(|_| not_h2("the handshake timed out".into()))?
            .map_err(|e| not_h2(e.to_string()))?;
        let ping = conn
            .ping_pong()
            .ok_or_else(|| "the HTTP/2 connection offers no PING handle".to_string())?;
        let mut h2 = H2 {
            origin: origin.clone(),
            send,
            conn,
            ping,
            raced: false,
        };
        // The server's SETTINGS come before its PING ack, so after the round trip the
        // stream limit is the server's.
        round_trip(&mut h2, settings).await.map_err(not_h2)?;
        let allowed = h2.conn.max_concurrent_send_streams();
        if allowed < writers {
            return Err(format!(
                "sync = \"single-packet\" sends the {writers} writes of a round as concurrent \
                 streams on one connection, but {origin} allows {allowed}; use at most \
                 {allowed} writers"
            ));
        }
        *slot = Some(h2);
    }
    slot.as_mut()
        .ok_or_else(|| format!("cannot connect to {origin}"))
}

/// The request's head as HTTP/2 sees it: absolute URI, no connection-specific headers,
/// `content-length` for a body.
fn head(p: &Prepared) -> Result<http::Request<()>, String> {
    let mut request = http::Request::builder()
        .method(p.method.clone())
        .uri(p.url.as_str())
        .version(http::Version::HTTP_2)
        .body(())
        .map_err(|e| format!("cannot make an HTTP/2 request of {}: {e}", p.url))?;
    let headers = request.headers_mut();
    for (name, value) in &p.headers {
        if !CONNECTION_SPECIFIC.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Some(body) = &p.body {
        headers.insert(http::header::CONTENT_LENGTH, body.len().into());
    }
    Ok(request)
}

/// What a stream's error says, with the status that came before it (if any).
fn stream_incident(e: &h2::Error, status: Option<u16>) -> Incident {
    let cause = h2_cause(e, status.is_some());
    match status {
        Some(status) => Incident::new(
            cause,
            format!("status {status}, then the HTTP/2 stream failed: {e}"),
        ),
        None => Incident::new(cause, format!("HTTP/2 stream failed: {e}")),
    }
}

/// Waits for a stream's answer and reads its body up to the limit, until `deadline`: what
/// came of it, status kept when only the body broke or was slow.
async fn receive(answer: Answer, start: Instant, deadline: tokio::time::Instant) -> Exchange {
    let mut status = None;
    let mut headers = reqwest::header::HeaderMap::new();
    let mut body = BodyBuf::default();
    let read = read_stream(answer, &mut status, &mut headers, &mut body);
    let incident = match tokio::time::timeout_at(deadline, read).await {
        Ok(incident) => incident,
        Err(_) => Some(match status {
            Some(status) => Incident::new(
                Cause::BodyTimeout,
                format!("status {status}, then the body timed out"),
            ),
            None => Incident::new(Cause::Timeout, "timed out"),
        }),
    };
    Exchange {
        status,
        headers,
        body: body.text(),
        incident,
        start,
        end: Instant::now(),
        arrival_ns: None,
    }
}

/// A stream's answer: still to come, or come already (its head at least).
enum Answer {
    Coming(ResponseFuture),
    Came(http::Response<h2::RecvStream>),
}

/// Reads a stream's answer into `status`, `headers` and `body` as it comes; the incident
/// says why it is not whole.
async fn read_stream(
    answer: Answer,
    status: &mut Option<u16>,
    headers: &mut reqwest::header::HeaderMap,
    body: &mut BodyBuf,
) -> Option<Incident> {
    let response = match answer {
        Answer::Came(response) => response,
        Answer::Coming(future) => match future.await {
            Ok(r) => r,
            Err(e) => return Some(stream_incident(&e, None)),
        },
    };
    *status = Some(response.status().as_u16());
    *headers = response.headers().clone();
    let mut recv = response.into_body();
    while let Some(chunk) = recv.data().await {
        match chunk {
            Ok(chunk) => {
                let _ = recv.flow_control().release_capacity(chunk.len());
                if !body.push(&chunk) {
                    // Dropping the body cancels the stream (RST_STREAM CANCEL).
                    return Some(Incident::cut());
                }
            }
            Err(e) => return Some(stream_incident(&e, *status)),
        }
    }
    None
}

/// A stream answered before its final frame was sent (`why` the final frame could not
/// be sent, if it could not): its answer if a whole one came (an early answer), else
/// `not_sent`, since the server never had its end.
async fn receive_early(
    answer: Answer,
    start: Instant,
    why: String,
    deadline: tokio::time::Instant,
) -> Exchange {
    let mut answer = receive(answer, start, deadline).await;
    if answer.answered().is_some() && answer.incident.is_none() {
        answer.incident = Some(Incident::new(
            Cause::Early,
            format!("answered before the request's final frame ({why})"),
        ));
        answer
    } else {
        failed(start, Incident::new(Cause::Unsent, why))
    }
}

/// Every exchange failed with the same reason.
fn all_failed(n: usize, start: Instant, cause: Cause, message: &str) -> Vec<Exchange> {
    (0..n)
        .map(|_| failed(start, Incident::new(cause, message)))
        .collect()
}

/// A request of the round after sending: waiting for its answer, or already ended.
enum Wait {
    /// Sent in full at the instant given; its answer is awaited.
    Pending(ResponseFuture, Instant),
    /// Answered before its final frame, or its final frame could not be sent (why): an
    /// early answer may be waiting.
    Early(Answer, Instant, String),
    /// Failed before it could be sent in full.
    Done(Exchange),
}

/// A stream at the release.
enum Queued {
    /// Its final frame is queued.
    Sent(ResponseFuture),
    /// Answered before its final frame, or its final frame was refused (why): the
    /// stream was already closed.
    Refused(Answer, String),
    /// It was never staged.
    Failed(Exchange),
}

/// A stream whose final frame is withheld.
struct Staged {
    response: ResponseFuture,
    stream: SendStream<Bytes>,
    last: Bytes,
}

impl SinglePacket {
    /// Reads the answers of `waits` while driving the connection, each stream until the
    /// deadline. When the connection fails, the streams still say what they had seen;
    /// those that cannot fail as `indeterminate`.
    async fn answers(&self, slot: &mut Option<H2>, waits: Vec<Wait>) -> Vec<Exchange> {
        let Some(h2) = slot.as_mut() else {
            return waits
                .into_iter()
                .map(|w| match w {
                    Wait::Pending(_, start) | Wait::Early(_, start, _) => {
                        failed(start, Incident::new(Cause::Reset, "connection lost"))
                    }
                    Wait::Done(exchange) => exchange,
                })
                .collect();
        };
        let starts: Vec<Option<Instant>> = waits
            .iter()
            .map(|w| match w {
                Wait::Pending(_, start) | Wait::Early(_, start, _) => Some(*start),
                Wait::Done(_) => None,
            })
            .collect();
        let deadline = tokio::time::Instant::now() + self.settings.timeout;
        let reads = waits.into_iter().map(|w| async move {
            match w {
                Wait::Pending(response, start) => {
                    receive(Answer::Coming(response), start, deadline).await
                }
                Wait::Early(answer, start, why) => {
                    receive_early(answer, start, why, deadline).await
                }
                Wait::Done(exchange) => exchange,
            }
        });
        let mut all = pin!(futures::future::join_all(reads));
        // Each stream stops at the deadline; the grace is for the connection.
        let grace = deadline + AFTER_CONNECTION;
        match tokio::time::timeout_at(grace, drive(&mut h2.conn, all.as_mut())).await {
            Ok(Ok(answers)) => answers,
            Ok(Err(incident)) => {
                *slot = None;
                match timeout(AFTER_CONNECTION, all.as_mut()).await {
                    Ok(answers) => answers,
                    Err(_) => fail_waiting(&starts, &incident),
                }
            }
            Err(_) => {
                *slot = None;
                fail_waiting(&starts, &Incident::new(Cause::Timeout, "timed out"))
            }
        }
    }
}

/// Exchanges for streams that were waiting when the connection failed.
fn fail_waiting(starts: &[Option<Instant>], incident: &Incident) -> Vec<Exchange> {
    let now = Instant::now();
    starts
        .iter()
        .map(|s| match s {
            Some(start) => failed(*start, incident.clone()),
            None => failed(now, Incident::new(Cause::Unsent, incident.message.clone())),
        })
        .collect()
}

impl Race for SinglePacket {
    fn ready<'a>(&'a self, url: &'a url::Url) -> BoxFuture<'a, Result<(), String>> {
        async move {
            let origin = Origin::of(url, SyncMode::SinglePacket)?;
            let mut slot = self.h2.lock().await;
            let h2 = open(&mut slot, &origin, self.writers, &self.settings, &self.tls).await?;
            // Some servers speak HTTP/2 framing but serve only gRPC over it (etcd): one
            // GET, whatever its status, proves HTTP requests are answered.
            let probe = Prepared {
                method: reqwest::Method::GET,
                url: url.clone(),
                headers: reqwest::header::HeaderMap::new(),
                body: None,
            };
            let (response, _) = head(&probe).and_then(|head| {
                h2.send
                    .send_request(head, true)
                    .map_err(|e| format!("HTTP/2 request refused: {e}"))
            })?;
            let answer = self
                .answers(&mut slot, vec![Wait::Pending(response, Instant::now())])
                .await;
            match answer
                .first()
                .and_then(|a| a.incident.as_ref().filter(|_| a.status.is_none()))
            {
                None => Ok(()),
                Some(incident) => Err(format!(
                    "sync = \"single-packet\" needs HTTP/2, and {origin} speaks it but did not \
                     answer GET {url} over it ({}); it may serve only gRPC over HTTP/2",
                    incident.message
                )),
            }
        }
        .boxed()
    }

    /// Warms a connection of the round's own: one on which a round was already raced is
    /// replaced, so every round's streams (its warm-ups and its writes) stay far below a
    /// server's per-connection request limit (nginx closes a connection after 1,000).
    fn each(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        async move {
            let start = Instant::now();
            let Some(first) = requests.first() else {
                return Vec::new();
            };
            let mut slot = self.h2.lock().await;
            if slot.as_ref().is_some_and(|h| h.raced) {
                *slot = None;
            }
            let opened = match Origin::of(&first.url, SyncMode::SinglePacket) {
                Ok(origin) => {
                    open(&mut slot, &origin, self.writers, &self.settings, &self.tls).await
                }
                Err(e) => Err(e),
            };
            let h2 = match opened {
                Ok(h2) => h2,
                Err(e) => return all_failed(requests.len(), start, Cause::Connect, &e),
            };
            let mut waits = Vec::with_capacity(requests.len());
            for p in &requests {
                let sent = head(p).and_then(|head| {
                    let (response, mut stream) = h2
                        .send
                        .send_request(head, p.body.is_none())
                        .map_err(|e| format!("HTTP/2 request refused: {e}"))?;
                    if let Some(body) = &p.body {
                        stream
                            .send_data(Bytes::copy_from_slice(body), true)
                            .map_err(|e| format!("HTTP/2 body refused: {e}"))?;
                    }
                    Ok(response)
                });
                waits.push(match sent {
                    Ok(response) => Wait::Pending(response, Instant::now()),
                    Err(e) => Wait::Done(failed(start, Incident::new(Cause::Unsent, e))),
                });
            }
            let refused = waits.iter().any(|w| matches!(w, Wait::Done(_)));
            let answers = self.answers(&mut slot, waits).await;
            if refused {
                // The connection would not take a stream: open a new one next time.
                *slot = None;
            }
            answers
        }
        .boxed()
    }

    fn race(&self, requests: Vec<Prepared>) -> BoxFuture<'_, Vec<Exchange>> {
        async move {
            let start = Instant::now();
            let Some(first) = requests.first() else {
                return Vec::new();
            };
            let mut slot = self.h2.lock().await;
            let opened = match Origin::of(&first.url, SyncMode::SinglePacket) {
                Ok(origin) => {
                    open(&mut slot, &origin, self.writers, &self.settings, &self.tls).await
                }
                Err(e) => Err(e),
            };
            let h2 = match opened {
                Ok(h2) => h2,
                Err(e) => return all_failed(requests.len(), start, Cause::Connect, &e),
            };

            h2.raced = true;
            // Stage: every stream's headers and all of its body but the last byte.
            let mut staged: Vec<Result<Staged, Exchange>> = Vec::with_capacity(requests.len());
            for p in &requests {
                let body = p.body.clone().unwrap_or_default();
                let split = body.len().saturating_sub(1);
                let sent = head(p).and_then(|head| {
                    let (response, mut stream) = h2
                        .send
                        .send_request(head, false)
                        .map_err(|e| format!("HTTP/2 request refused: {e}"))?;
                    if split > 0 {
                        stream
                            .send_data(Bytes::copy_from_slice(&body[..split]), false)
                            .map_err(|e| format!("HTTP/2 body refused: {e}"))?;
                    }
                    Ok(Staged {
                        response,
                        stream,
                        last: Bytes::copy_from_slice(&body[split..]),
                    })
                });
                staged.push(sent.map_err(|e| failed(start, Incident::new(Cause::Unsent, e))));
            }
            // The PING goes out after the staged frames; its answer proves the server has
            // read them all.
            let settled = match round_trip(h2, &self.settings).await {
                Ok(()) => drive(&mut h2.conn, tokio::time::sleep(SETTLE))
                    .await
                    .map_err(|i| i.message),
                Err(e) => Err(e),
            };
            if let Err(e) = settled {
                *slot = None;
                let message = format!("staging the round failed: {e}");
                return all_failed(requests.len(), start, Cause::Unsent, &message);
            }

            // Release: queue every final frame, then write them all with one poll of the
            // connection. A stream the server already answered and reset refuses its
            // final frame: its answer is awaited as an early one.
            let mut queued = Vec::with_capacity(staged.len());
            for s in staged {
                queued.push(match s {
                    Ok(mut s) => {
                        // An answer already here came before the request's end.
                        let early =
                            poll_fn(|cx| Poll::Ready(Pin::new(&mut s.response).poll(cx))).await;
                        let sent = s.stream.send_data(s.last, true);
                        match (early, sent) {
                            (Poll::Ready(Ok(response)), _) => Queued::Refused(
                                Answer::Came(response),
                                "its answer came before the final frame".to_string(),
                            ),
                            (Poll::Ready(Err(e)), _) => Queued::Failed(failed(
                                start,
                                Incident::new(
                                    Cause::Unsent,
                                    format!("the server reset the stream before its end: {e}"),
                                ),
                            )),
                            (Poll::Pending, Ok(())) => Queued::Sent(s.response),
                            (Poll::Pending, Err(e)) => Queued::Refused(
                                Answer::Coming(s.response),
                                format!("HTTP/2 final frame refused: {e}"),
                            ),
                        }
                    }
                    Err(exchange) => Queued::Failed(exchange),
                });
            }
            let flush = poll_fn(|cx| Poll::Ready(Pin::new(&mut h2.conn).poll(cx)));
            if let Poll::Ready(Err(e)) = flush.await {
                *slot = None;
                let message = format!("the HTTP/2 connection failed at the release: {e}");
                return all_failed(requests.len(), start, h2_cause(&e, false), &message);
            }
            let released = Instant::now();
            let waits = queued
                .into_iter()
                .map(|q| match q {
                    Queued::Sent(response) => Wait::Pending(response, released),
                    Queued::Refused(answer, why) => Wait::Early(answer, released, why),
                    Queued::Failed(exchange) => Wait::Done(exchange),
                })
                .collect::<Vec<_>>();
            let refused = waits
                .iter()
                .any(|w| matches!(w, Wait::Done(_) | Wait::Early(..)));
            let answers = self.answers(&mut slot, waits).await;
            if refused {
                // The connection would not take a stream: open a new one next time.
                *slot = None;
            }
            answers
        }
        .boxed()
    }

    fn reconnect(&mut self) -> Result<(), String> {
        *self.h2.get_mut() = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// An h2c server that answers every request 200 once its body has ended, and closes
    /// each connection gracefully (GOAWAY) after `limit` requests, as nginx does after
    /// `keepalive_requests`.
    async fn limited_server(limit: usize) -> url::Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(socket).await else {
                        return;
                    };
                    let mut served = 0;
                    while let Some(Ok((request, mut respond))) = conn.accept().await {
                        served += 1;
                        if served == limit {
                            conn.graceful_shutdown();
                        }
                        tokio::spawn(async move {
                            let mut body = request.into_body();
                            while let Some(Ok(chunk)) = body.data().await {
                                let _ = body.flow_control().release_capacity(chunk.len());
                            }
                            let response = http::Response::new(());
                            if let Ok(mut stream) = respond.send_response(response, false) {
                                let _ = stream.send_data(Bytes::from_static(b"ok"), true);
                            }
                        });
                    }
                });
            }
        });
        url::Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap()
    }

    fn request(method: reqwest::Method, url: &url::Url, body: Option<&str>) -> Prepared {
        Prepared {
            method,
            url: url.clone(),
            headers: reqwest::header::HeaderMap::new(),
            body: body.map(|b| b.as_bytes().to_vec()),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_round_is_answered_when_the_server_closes_connections_after_a_few_requests() {
        let url = limited_server(20).await;
        let settings = ClientSettings {
            sync: SyncMode::SinglePacket,
            ..ClientSettings::new(Duration::from_secs(5))
        };
        let mode = SinglePacket::new(8, &settings).unwrap();
        mode.ready(&url).await.unwrap();
        for round in 0..5 {
            let reads = (0..8)
                .map(|_| request(reqwest::Method::GET, &url, None))
                .collect();
            let writes = (0..8)
                .map(|_| request(reqwest::Method::PUT, &url, Some("{\"a\":1}")))
                .collect();
            for phase in [mode.each(reads).await, mode.race(writes).await] {
                assert_eq!(phase.len(), 8);
                for exchange in phase {
                    assert_eq!(
                        (exchange.status, exchange.body.as_str()),
                        (Some(200), "ok"),
                        "round {round}: {:?}",
                        exchange.incident
                    );
                }
            }
        }
    }
}
