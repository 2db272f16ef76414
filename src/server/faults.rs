//! Fault injection (`--fault NAME`): the reference server, correct in what it decides,
//! breaks its answers to writes in one precise way, the way a slow or failing network
//! path, proxy or server does. This is how the tests prove that every client of the
//! engine (reqwest, contend's own HTTP/1.1 client, its HTTP/2 one) classifies the same
//! broken answer the same way.
//!
//! hyper writes only well-formed HTTP, so a faulty server needs its own front: this one
//! speaks HTTP/1.1 with its own small parser and HTTP/2 (h2c, by the client's preface)
//! with the `h2` crate, hands every request whole to the reference server's router (so
//! the decision is the router's, and a write is applied exactly as without a fault),
//! and then writes the router's answer as the fault says. Only writes are touched: a
//! `PUT`, `PATCH` or `DELETE`, or a `POST` below a resource (`/orders/1/transitions`);
//! a `POST` to a collection (a create), every read and `/_contend/*` are answered as
//! they are. Over HTTP/2 there is no chunking and no connection to close per request, so
//! a fault that breaks framing resets the stream instead (`RST_STREAM`).
//!
//! | fault | HTTP/1.1 | HTTP/2 |
//! |---|---|---|
//! | `reset-mid-body` | status, headers and half the body, then a TCP reset | half the body, then `RST_STREAM(INTERNAL_ERROR)` |
//! | `slow-body` | half the body, then nothing until the client gives up | the same |
//! | `short-length` | a `Content-Length` 16 bytes longer than the body, then a close | the same, with `END_STREAM` |
//! | `bad-chunking` | a valid chunk, then an invalid chunk size, then a close | half the body, then `RST_STREAM(PROTOCOL_ERROR)` |
//! | `garbage` | bytes that are not HTTP, then a close | `RST_STREAM(PROTOCOL_ERROR)` before any headers |
//! | `early-answer` | 412 (with the current `ETag`) as soon as the head arrives, before the body; nothing applied | the same, then `RST_STREAM(NO_ERROR)` before the request's end (RFC 9113 §8.1) |
//! | `huge-body` | the real answer padded with 64 MiB of trailing spaces (still JSON) | the same |
//! | `no-answer` | the write is applied, then no answer at all | the same |

use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// One way of breaking the answers to writes. [`Fault::ALL`] lists them and
/// [`Fault::name`] gives each its command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The status line, headers and half the body, then the connection is reset.
    ResetMidBody,
    /// The status line, headers and half the body, then nothing: the body never ends.
    SlowBody,
    /// A `Content-Length` longer than the body, which then ends.
    ShortLength,
    /// A chunked body whose second chunk has an invalid size.
    BadChunking,
    /// Bytes that are not HTTP.
    Garbage,
    /// A 412 sent before the request's body has arrived, nothing applied.
    EarlyAnswer,
    /// The real answer with 64 MiB of whitespace after its JSON body.
    HugeBody,
    /// The write is applied and never answered.
    NoAnswer,
}

impl Fault {
    /// Every fault, in documentation order.
    pub const ALL: [Fault; 8] = [
        Fault::ResetMidBody,
        Fault::SlowBody,
        Fault::ShortLength,
        Fault::BadChunking,
        Fault::Garbage,
        Fault::EarlyAnswer,
        Fault::HugeBody,
        Fault::NoAnswer,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::ResetMidBody => "reset-mid-body",
            Fault::SlowBody => "slow-body",
            Fault::ShortLength => "short-length",
            Fault::BadChunking => "bad-chunking",
            Fault::Garbage => "garbage",
            Fault::EarlyAnswer => "early-answer",
            Fault::HugeBody => "huge-body",
            Fault::NoAnswer => "no-answer",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    /// Parses a command-line name; the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown fault {:?}; valid names: {}",
                    s.trim(),
                    names.join(", ")
                )
            })
    }
}

/// How much whitespace `huge-body` adds after the real body.
const HUGE: usize = 64 * 1024 * 1024;
/// How long a fault that withholds an answer waits for the client to give up.
const HOLD: Duration = Duration::from_secs(120);
/// How long a reset waits after the partial answer, so the client has read it first.
const BEFORE_RESET: Duration = Duration::from_millis(20);
/// The HTTP/2 client preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Largest request head read.
const MAX_HEAD: usize = 64 * 1024;

/// Whether a request is a write whose answer the fault breaks (see the module doc).
fn faulted(method: &Method, path: &str) -> bool {
    if path.starts_with("/_contend") {
        return false;
    }
    match *method {
        Method::PUT | Method::PATCH | Method::DELETE => true,
        Method::POST => path.trim_matches('/').split('/').count() > 1,
        _ => false,
    }
}

/// Serves `router` on `listener` with `fault`, until `shutdown`; then every connection
/// is dropped at once (a fault may hold answers that would never come).
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    fault: Fault,
    mut shutdown: oneshot::Receiver<()>,
) -> io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                connections.spawn(connection(stream, router.clone(), fault));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
    Ok(())
}

/// One connection: HTTP/2 if it starts with the preface, HTTP/1.1 otherwise.
async fn connection(mut stream: TcpStream, router: Router, fault: Fault) {
    let mut buf = BytesMut::with_capacity(8 * 1024);
    while buf.len() < PREFACE.len() && PREFACE.starts_with(&buf) {
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
    if buf.starts_with(PREFACE) {
        http2(Rewind { head: buf, stream }, router, fault).await;
    } else {
        http1(stream, buf, router, fault).await;
    }
}

/// Calls the router with a whole request; its answer with the body collected.
async fn call(router: &Router, request: Request<Body>) -> (http::response::Parts, Bytes) {
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    (parts, body)
}

/// The early answer: 412 with the resource's current `ETag` (read through the router),
/// as a server that checks `If-Match` on the head alone sends it.
async fn early_answer(router: &Router, path_and_query: &str) -> (http::response::Parts, Bytes) {
    let read = Request::builder()
        .method(Method::GET)
        .uri(path_and_query)
        .body(Body::empty())
        .unwrap_or_default();
    let (current, _) = call(router, read).await;
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Precondition Failed",
        "status": 412,
        "detail": "answered before the request's end (fault early-answer)",
    })
    .to_string();
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::PRECONDITION_FAILED;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(etag) = current.headers.get(http::header::ETAG) {
        headers.insert(http::header::ETAG, etag.clone());
    }
    (response.into_parts().0, Bytes::from(body))
}

/// A request head parsed from HTTP/1.1.
struct Head {
    method: Method,
    target: String,
    headers: HeaderMap,
    length: usize,
}

/// Reads one request head from `stream` into `buf`; `None` at the end of the
/// connection or on anything unreadable (the connection is then closed).
async fn read_head(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<Head> {
    loop {
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut fields);
        match request.parse(buf) {
            Ok(httparse::Status::Complete(used)) => {
                let method = Method::from_bytes(request.method?.as_bytes()).ok()?;
                let target = request.path?.to_string();
                let mut headers = HeaderMap::new();
                for f in request.headers.iter() {
                    if let (Ok(name), Ok(value)) = (
                        http::HeaderName::from_bytes(f.name.as_bytes()),
                        HeaderValue::from_bytes(f.value),
                    ) {
                        headers.append(name, value);
                    }
                }
                let length = headers
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                buf.advance(used);
                return Some(Head {
                    method,
                    target,
                    headers,
                    length,
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {
                match stream.read_buf(buf).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
            }
            _ => return None,
        }
    }
}

/// Reads a body of `length` bytes from `buf` and `stream`.
async fn read_body(stream: &mut TcpStream, buf: &mut BytesMut, length: usize) -> Option<Bytes> {
    while buf.len() < length {
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
    Some(buf.split_to(length).freeze())
}

/// Waits until the client closes the connection (or [`HOLD`] passes).
async fn until_closed(stream: &mut TcpStream) {
    let mut scratch = [0u8; 4096];
    let _ = tokio::time::timeout(HOLD, async {
        loop {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

/// An HTTP/1.1 response head, with `framing` as its last header line(s).
fn h1_head(parts: &http::response::Parts, framing: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in &parts.headers {
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(framing.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// Serves HTTP/1.1 requests on one connection until it ends or a fault ends it.
async fn http1(mut stream: TcpStream, mut buf: BytesMut, router: Router, fault: Fault) {
    while let Some(head) = read_head(&mut stream, &mut buf).await {
        let path = head.target.split('?').next().unwrap_or("").to_string();
        let faulty = faulted(&head.method, &path);
        if faulty && fault == Fault::EarlyAnswer {
            let (parts, body) = early_answer(&router, &head.target).await;
            let mut out = h1_head(&parts, &format!("content-length: {}\r\n", body.len()));
            out.extend_from_slice(&body);
            if stream.write_all(&out).await.is_err() {
                return;
            }
            // The rest of the request is read and dropped, so the connection stays usable.
            if read_body(&mut stream, &mut buf, head.length)
                .await
                .is_none()
            {
                return;
            }
            continue;
        }
        let Some(body) = read_body(&mut stream, &mut buf, head.length).await else {
            return;
        };
        let mut request = Request::builder()
            .method(head.method.clone())
            .uri(head.target.as_str())
            .body(Body::from(body))
            .unwrap_or_default();
        *request.headers_mut() = head.headers;
        let (parts, body) = call(&router, request).await;
        if !faulty {
            let mut out = h1_head(&parts, &format!("content-length: {}\r\n", body.len()));
            out.extend_from_slice(&body);
            if stream.write_all(&out).await.is_err() {
                return;
            }
            continue;
        }
        let half = body.len() / 2;
        match fault {
            Fault::ResetMidBody => {
                let mut out = h1_head(&parts, &format!("content-length: {}\r\n", body.len()));
                out.extend_from_slice(&body[..half]);
                let _ = stream.write_all(&out).await;
                tokio::time::sleep(BEFORE_RESET).await;
                // A zero linger makes the close a reset (RST), not an orderly FIN. (It
                // is deprecated because a non-zero linger blocks the thread on drop; a
                // zero one never does.)
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
                return;
            }
            Fault::SlowBody => {
                let mut out = h1_head(&parts, &format!("content-length: {}\r\n", body.len()));
                out.extend_from_slice(&body[..half]);
                let _ = stream.write_all(&out).await;
                until_closed(&mut stream).await;
                return;
            }
            Fault::ShortLength => {
                let claimed = body.len() + 16;
                let mut out = h1_head(&parts, &format!("content-length: {claimed}\r\n"));
                out.extend_from_slice(&body);
                let _ = stream.write_all(&out).await;
                let _ = stream.shutdown().await;
                return;
            }
            Fault::BadChunking => {
                let mut out = h1_head(&parts, "transfer-encoding: chunked\r\n");
                out.extend_from_slice(format!("{half:x}\r\n").as_bytes());
                out.extend_from_slice(&body[..half]);
                out.extend_from_slice(b"\r\nzz\r\n");
                let _ = stream.write_all(&out).await;
                let _ = stream.shutdown().await;
                return;
            }
            Fault::Garbage => {
                let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2 not HTTP\r\n").await;
                let _ = stream.shutdown().await;
                return;
            }
            Fault::HugeBody => {
                let length = body.len() + HUGE;
                let mut out = h1_head(&parts, &format!("content-length: {length}\r\n"));
                out.extend_from_slice(&body);
                if stream.write_all(&out).await.is_err() {
                    return;
                }
                let spaces = vec![b' '; 64 * 1024];
                for _ in 0..HUGE / spaces.len() {
                    if stream.write_all(&spaces).await.is_err() {
                        return;
                    }
                }
            }
            Fault::NoAnswer => {
                until_closed(&mut stream).await;
                return;
            }
            Fault::EarlyAnswer => {}
        }
    }
}

/// Serves HTTP/2 streams on one connection, each in a task of its own, so a round's
/// writes are decided side by side as on the real server.
async fn http2(io: Rewind, router: Router, fault: Fault) {
    let Ok(mut conn) = h2::server::handshake(io).await else {
        return;
    };
    let mut streams = JoinSet::new();
    while let Some(Ok((request, respond))) = conn.accept().await {
        let early = fault == Fault::EarlyAnswer && faulted(request.method(), request.uri().path());
        if early {
            // Answered here, before the connection is read again: the answer is queued
            // before anything that comes after the request's head (a PING, its final
            // frame) is even read, as a server that answers on the head alone does.
            stream(request, respond, router.clone(), fault).await;
        } else {
            streams.spawn(stream(request, respond, router.clone(), fault));
        }
    }
}

/// One HTTP/2 stream.
async fn stream(
    request: Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    router: Router,
    fault: Fault,
) {
    let (head, mut recv) = request.into_parts();
    let path_and_query = head
        .uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    let faulty = faulted(&head.method, head.uri.path());
    if faulty && fault == Fault::EarlyAnswer {
        let (parts, body) = early_answer(&router, &path_and_query).await;
        let response = Response::from_parts(parts, ());
        if let Ok(mut send) = respond.send_response(response, false) {
            let _ = send.send_data(body, true);
        }
        // Dropping the request's body unread, after the whole answer, makes h2 reset the
        // stream with NO_ERROR once the answer is out (RFC 9113 §8.1); an explicit reset
        // would drop the answer still queued.
        drop(recv);
        return;
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = recv.data().await {
        let Ok(chunk) = chunk else { return };
        let _ = recv.flow_control().release_capacity(chunk.len());
        body.extend_from_slice(&chunk);
    }
    let mut request = Request::from_parts(head, Body::from(body.freeze()));
    *request.uri_mut() = path_and_query.parse().unwrap_or_default();
    let (mut parts, body) = call(&router, request).await;
    let half = body.len() / 2;
    let length = match (faulty, fault) {
        (true, Fault::ShortLength) => body.len() + 16,
        (true, Fault::HugeBody) => body.len() + HUGE,
        _ => body.len(),
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
    if faulty && fault == Fault::NoAnswer {
        let _ = tokio::time::timeout(HOLD, std::future::poll_fn(|cx| respond.poll_reset(cx))).await;
        return;
    }
    if faulty && fault == Fault::Garbage {
        // No headers at all, then a protocol error: what a broken frame ends in.
        respond.send_reset(h2::Reason::PROTOCOL_ERROR);
        return;
    }
    let Ok(mut send) = respond.send_response(Response::from_parts(parts, ()), false) else {
        return;
    };
    if !faulty {
        let _ = send_all(&mut send, body, true).await;
        return;
    }
    match fault {
        Fault::ResetMidBody => {
            let _ = send_all(&mut send, body.slice(..half), false).await;
            tokio::time::sleep(BEFORE_RESET).await;
            send.send_reset(h2::Reason::INTERNAL_ERROR);
        }
        Fault::BadChunking => {
            let _ = send_all(&mut send, body.slice(..half), false).await;
            tokio::time::sleep(BEFORE_RESET).await;
            send.send_reset(h2::Reason::PROTOCOL_ERROR);
        }
        Fault::SlowBody => {
            let _ = send_all(&mut send, body.slice(..half), false).await;
            let _ =
                tokio::time::timeout(HOLD, std::future::poll_fn(|cx| send.poll_reset(cx))).await;
        }
        Fault::ShortLength => {
            let _ = send_all(&mut send, body, true).await;
        }
        Fault::HugeBody => {
            if send_all(&mut send, body, false).await.is_err() {
                return;
            }
            let spaces = Bytes::from(vec![b' '; 64 * 1024]);
            for i in 0..HUGE / spaces.len() {
                let last = i + 1 == HUGE / spaces.len();
                if send_all(&mut send, spaces.clone(), last).await.is_err() {
                    return;
                }
            }
        }
        Fault::Garbage | Fault::EarlyAnswer | Fault::NoAnswer => {}
    }
}

/// Sends `data` on a stream as flow control allows (never buffering more than the
/// peer's window), ending the stream with the last frame when `end`.
async fn send_all(
    send: &mut h2::SendStream<Bytes>,
    mut data: Bytes,
    end: bool,
) -> Result<(), h2::Error> {
    if data.is_empty() {
        return send.send_data(data, end);
    }
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let granted = match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
            Some(Ok(n)) => n,
            Some(Err(e)) => return Err(e),
            None => return Err(h2::Error::from(h2::Reason::CANCEL)),
        };
        if granted == 0 {
            continue;
        }
        let chunk = data.split_to(granted.min(data.len()));
        send.send_data(chunk, end && data.is_empty())?;
    }
    Ok(())
}

/// A stream whose first bytes were already read (to look for the HTTP/2 preface): they
/// are read again first.
struct Rewind {
    head: BytesMut,
    stream: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.remaining());
            let head = self.head.split_to(n);
            buf.put_slice(&head);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_that_are_not_creates_are_faulted() {
        assert!(faulted(&Method::PUT, "/notes/1"));
        assert!(faulted(&Method::POST, "/orders/1/transitions"));
        assert!(!faulted(&Method::POST, "/notes"));
        assert!(!faulted(&Method::GET, "/notes/1"));
        assert!(!faulted(&Method::PUT, "/_contend/arrivals"));
    }

    #[test]
    fn fault_names_round_trip_and_an_unknown_one_lists_them() {
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
        }
        let err = "reset".parse::<Fault>().unwrap_err();
        assert!(err.contains("reset-mid-body, slow-body"), "{err}");
    }
}
