//! A small HTTP/1.1 client connection over a tokio TCP socket (or TLS over one), for the
//! last-byte mode, which must decide exactly when each byte of a request leaves.
//!
//! [`encode`] renders a [`Prepared`] request to bytes (RFC 9112: request line, `Host`,
//! the request's headers, `Content-Length`, body). [`H1Conn::read_response`] reads one
//! response with `httparse`, framing its body by `Transfer-Encoding: chunked`,
//! `Content-Length` or the end of the connection (RFC 9112 §6.3), and skipping interim
//! 1xx responses. Nothing here trusts the server: every malformed or oversized answer is
//! an error, never a panic.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_rustls::rustls::ClientConfig;

use super::{Origin, Stream};
use crate::engine::exchange::{
    failed, io_cause, BodyBuf, Exchange, Incident, Prepared, BODY_LIMIT,
};
use crate::history::Cause;
use crate::scenario::SyncMode;

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most response header fields parsed.
const MAX_HEADERS: usize = 128;
/// Header fields parsed at first: an answer with more is parsed again, with room for
/// [`MAX_HEADERS`].
const FEW_HEADERS: usize = 24;

/// Headers the HTTP/1.1 framing sets itself; the request's own values are not copied.
const FRAMING: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// What has come of one response so far: filled in as it is read, so that a response
/// whose body broke, or timed out, still has its status and headers.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// The final (non-1xx) status, once its head was read.
    pub status: Option<u16>,
    /// Every header field the server sent that HTTP can carry.
    pub headers: HeaderMap,
    /// The body so far, de-chunked, up to the body limit.
    pub body: BodyBuf,
}

/// How a whole response ended, for the connection it came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The connection can carry the next request.
    KeepAlive,
    /// The server closes the connection after this response.
    Close,
    /// The body went past the limit; the rest was not read, so the connection is done.
    Cut,
}

/// A kept-alive HTTP/1.1 connection to one origin.
pub(super) struct H1Conn {
    /// Where it is connected.
    pub origin: Origin,
    stream: Stream,
    /// Bytes read from the socket and not yet consumed.
    buf: BytesMut,
    /// The header names this server sent, as it spelt them: a server sends the same few
    /// with every response, and looking one up here costs less than parsing it again.
    names: Vec<(Box<[u8]>, HeaderName)>,
}

/// Header names an [`H1Conn`] remembers.
const NAMES_KEPT: usize = 16;

/// Why reading more of a response stopped.
enum Fill {
    /// The server closed the connection.
    Closed,
    /// Reading failed.
    Failed(std::io::Error),
}

impl H1Conn {
    /// Opens a connection to `origin` (`TCP_NODELAY` on; TLS for https).
    pub async fn connect(origin: &Origin, tls: &Arc<ClientConfig>) -> Result<H1Conn, String> {
        let (stream, _) = origin.connect(tls).await?;
        Ok(H1Conn {
            origin: origin.clone(),
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
            names: Vec::new(),
        })
    }

    /// Writes `bytes` and returns once the kernel has them (TLS: encrypted and sent).
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads more bytes into the buffer.
    async fn fill(&mut self) -> Result<(), Fill> {
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(Fill::Closed),
            Ok(_) => Ok(()),
            Err(e) => Err(Fill::Failed(e)),
        }
    }

    /// Reads more of a body; a close or an error says why the body broke.
    async fn fill_body(&mut self, what: &str) -> Result<(), Incident> {
        self.fill().await.map_err(|f| match f {
            Fill::Closed => Incident::new(
                Cause::ShortBody,
                format!("the server closed the connection {what}"),
            ),
            Fill::Failed(e) => Incident::new(
                io_cause(e.kind(), true),
                format!("reading the body failed {what}: {e}"),
            ),
        })
    }

    /// Reads one response to a request with `method` into `seen`, as far as it comes.
    pub async fn read_response(
        &mut self,
        method: &reqwest::Method,
        seen: &mut Seen,
    ) -> Result<Ending, Incident> {
        let (status, headers, keep_alive) = loop {
            let head = self.read_head().await?;
            // Interim responses (100 Continue, 103 Early Hints) precede the real one.
            if !(100..200).contains(&head.0) || head.0 == 101 {
                break head;
            }
        };
        let no_body = method == reqwest::Method::HEAD || status == 204 || status == 304;
        let chunked = headers
            .get_all(reqwest::header::TRANSFER_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = match headers.get(reqwest::header::CONTENT_LENGTH) {
            None => None,
            Some(v) => match v.to_str().ok().and_then(|t| t.trim().parse::<usize>().ok()) {
                Some(n) => Some(n),
                None => {
                    return Err(Incident::new(
                        Cause::Garbage,
                        format!("the response has an invalid Content-Length {v:?}"),
                    ))
                }
            },
        };
        seen.status = Some(status);
        seen.headers = headers;
        if no_body {
            return Ok(if keep_alive {
                Ending::KeepAlive
            } else {
                Ending::Close
            });
        }
        let whole = if chunked {
            self.read_chunked(&mut seen.body).await?
        } else if let Some(n) = length {
            self.read_exact_body(n, &mut seen.body).await?
        } else {
            return self.read_to_close(&mut seen.body).await;
        };
        Ok(match (whole, keep_alive) {
            (false, _) => Ending::Cut,
            (true, true) => Ending::KeepAlive,
            (true, false) => Ending::Close,
        })
    }

    /// Reads and parses a response head: status, headers, and whether the connection
    /// stays open.
    async fn read_head(&mut self) -> Result<(u16, HeaderMap, bool), Incident> {
        loop {
            if let Some(head) = self.parse_head()? {
                return Ok(head);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Incident::new(
                    Cause::Garbage,
                    format!("the response head is over {MAX_HEAD} bytes"),
                ));
            }
            self.fill().await.map_err(|f| match f {
                Fill::Closed => Incident::new(
                    Cause::Reset,
                    "the server closed the connection before answering",
                ),
                Fill::Failed(e) => Incident::new(
                    io_cause(e.kind(), false),
                    format!("reading the response failed: {e}"),
                ),
            })?;
        }
    }

    /// Parses the response head at the start of the buffer and consumes it; `None` while
    /// it is not all there. (Not async: the parser's field array, some kilobytes, stays
    /// on the stack rather than in the future of every request.)
    fn parse_head(&mut self) -> Result<Option<(u16, HeaderMap, bool)>, Incident> {
        // Most answers have a few fields: room for those first, for all only if needed.
        let mut few = [httparse::EMPTY_HEADER; FEW_HEADERS];
        let mut all;
        let mut response = httparse::Response::new(&mut few);
        let mut parsed = response.parse(&self.buf);
        if parsed == Err(httparse::Error::TooManyHeaders) {
            all = [httparse::EMPTY_HEADER; MAX_HEADERS];
            response = httparse::Response::new(&mut all);
            parsed = response.parse(&self.buf);
        }
        match parsed {
            Ok(httparse::Status::Complete(used)) => {
                let status = response.code.unwrap_or(0);
                let mut headers = HeaderMap::with_capacity(response.headers.len());
                let mut closes = false;
                for field in response.headers.iter() {
                    let raw = field.name.as_bytes();
                    let name = match self.names.iter().find(|(known, _)| **known == *raw) {
                        Some((_, name)) => name.clone(),
                        None => match HeaderName::from_bytes(raw) {
                            Ok(name) => {
                                if self.names.len() < NAMES_KEPT {
                                    self.names.push((raw.into(), name.clone()));
                                }
                                name
                            }
                            Err(_) => continue,
                        },
                    };
                    if name == reqwest::header::CONNECTION {
                        closes |= std::str::from_utf8(field.value)
                            .is_ok_and(|v| v.to_ascii_lowercase().contains("close"));
                    }
                    if let Ok(value) = HeaderValue::from_bytes(field.value) {
                        headers.append(name, value);
                    }
                }
                let keep_alive = response.version == Some(1) && !closes;
                self.buf.advance(used);
                Ok(Some((status, headers, keep_alive)))
            }
            Ok(httparse::Status::Partial) => Ok(None),
            Err(e) => Err(Incident::new(
                Cause::Garbage,
                format!("the response is not valid HTTP/1.1: {e}"),
            )),
        }
    }

    /// Reads a body of `n` bytes; false when it went past the limit (the rest unread).
    async fn read_exact_body(&mut self, n: usize, body: &mut BodyBuf) -> Result<bool, Incident> {
        let wanted = n.min(BODY_LIMIT.saturating_add(1));
        while self.buf.len() < wanted {
            self.fill_body("in the middle of the response body").await?;
        }
        let whole = body.push(&self.buf[..wanted]);
        self.buf.advance(wanted);
        Ok(whole)
    }

    /// Reads a chunked body; false when it went past the limit (the rest unread).
    async fn read_chunked(&mut self, body: &mut BodyBuf) -> Result<bool, Incident> {
        loop {
            match httparse::parse_chunk_size(&self.buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.buf.advance(used);
                    let size = usize::try_from(size).unwrap_or(usize::MAX);
                    if size == 0 {
                        return self.skip_trailers().await.map(|()| true);
                    }
                    let wanted =
                        size.min(BODY_LIMIT.saturating_add(1) - body.len().min(BODY_LIMIT));
                    while self.buf.len() < wanted {
                        self.fill_body("in the middle of a chunk").await?;
                    }
                    if !body.push(&self.buf[..wanted]) || wanted < size {
                        return Ok(false);
                    }
                    self.buf.advance(wanted);
                    while self.buf.len() < 2 {
                        self.fill_body("in the middle of a chunk").await?;
                    }
                    if &self.buf[..2] != b"\r\n" {
                        return Err(Incident::new(
                            Cause::BadFraming,
                            "a chunk of the response body is longer than its size says",
                        ));
                    }
                    self.buf.advance(2);
                }
                Ok(httparse::Status::Partial) => self.fill_body("before the last chunk").await?,
                Err(_) => {
                    return Err(Incident::new(
                        Cause::BadFraming,
                        "the response has an invalid chunk size",
                    ))
                }
            }
        }
    }

    /// Skips the trailer section after the last chunk, up to its empty line.
    async fn skip_trailers(&mut self) -> Result<(), Incident> {
        loop {
            match self.buf.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.buf.advance(2);
                    return Ok(());
                }
                Some(end) => self.buf.advance(end + 2),
                None if self.buf.len() > MAX_HEAD => {
                    return Err(Incident::new(
                        Cause::BadFraming,
                        format!("the response's trailers are over {MAX_HEAD} bytes"),
                    ))
                }
                None => self.fill_body("in the trailers").await?,
            }
        }
    }

    /// Reads a body delimited by the end of the connection (RFC 9112 §6.3).
    async fn read_to_close(&mut self, body: &mut BodyBuf) -> Result<Ending, Incident> {
        loop {
            if !body.push(&self.buf) {
                return Ok(Ending::Cut);
            }
            self.buf.clear();
            match self.fill().await {
                Ok(()) => {}
                Err(Fill::Closed) => return Ok(Ending::Close),
                Err(Fill::Failed(e)) => {
                    return Err(Incident::new(
                        io_cause(e.kind(), true),
                        format!("reading the body failed: {e}"),
                    ))
                }
            }
        }
    }
}

/// One writer's kept-alive raw connection, opened on first use and again after it broke,
/// was closed by the server, or is needed at another origin. Every wait is bounded by
/// the request timeout; a failed connection is dropped, never reused.
pub(crate) struct H1Client {
    timeout: Duration,
    tls: Arc<ClientConfig>,
    conn: Option<H1Conn>,
}

impl H1Client {
    /// No connection yet; `tls` is used for https origins.
    pub fn new(timeout: Duration, tls: Arc<ClientConfig>) -> H1Client {
        H1Client {
            timeout,
            tls,
            conn: None,
        }
    }

    /// Closes the connection, if there is one; the next request opens another.
    pub(super) fn close(&mut self) {
        self.conn = None;
    }

    /// The connection to `origin`, opening it if there is none (or one elsewhere).
    pub(super) async fn open(&mut self, origin: &Origin) -> Result<&mut H1Conn, String> {
        if self.conn.as_ref().is_some_and(|c| c.origin != *origin) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let conn = timeout(self.timeout, H1Conn::connect(origin, &self.tls))
                .await
                .map_err(|_| format!("cannot connect to {origin}: timed out"))??;
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| format!("cannot connect to {origin}"))
    }

    /// Writes `bytes` on the connection to `origin`, opening it first if need be; the
    /// incident says whether the connection could not be made or the write failed.
    pub(super) async fn write(&mut self, origin: &Origin, bytes: &[u8]) -> Result<(), Incident> {
        self.open(origin)
            .await
            .map_err(|e| Incident::new(Cause::Connect, e))?;
        self.write_open(bytes).await
    }

    /// Writes `bytes` on the open connection.
    async fn write_open(&mut self, bytes: &[u8]) -> Result<(), Incident> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(Incident::new(Cause::Connect, "the connection was lost"));
        };
        let written = match timeout(self.timeout, conn.write(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Incident::new(
                Cause::Unsent,
                format!("writing the request failed: {e}"),
            )),
            Err(_) => Err(Incident::new(
                Cause::Unsent,
                "timed out writing the request",
            )),
        };
        if written.is_err() {
            self.conn = None;
        }
        written
    }

    /// The final bytes of a staged request as the socket must carry them (their TLS
    /// record over https), for a release that only writes ([`super::release`]).
    pub(super) fn seal(&mut self, last: &[u8]) -> Result<Vec<u8>, Incident> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(Incident::new(
                Cause::Unsent,
                "the connection was lost before the release",
            ));
        };
        conn.stream.seal(last).map_err(|e| {
            self.conn = None;
            Incident::new(
                Cause::Unsent,
                format!("preparing the last byte failed: {e}"),
            )
        })
    }

    /// The open connection's TCP socket.
    pub(super) fn socket(&self) -> Option<&tokio::net::TcpStream> {
        self.conn.as_ref().map(|c| c.stream.socket())
    }

    /// Writes what the socket did not take of sealed final bytes, straight to it, and
    /// returns when it has them. On failure the connection is kept for
    /// [`H1Client::receive_early`]: the server may have answered before the end.
    pub(super) async fn finish_release(&mut self, rest: &[u8]) -> Result<Instant, String> {
        let Some(conn) = self.conn.as_mut() else {
            return Err("the connection was lost before the release".into());
        };
        match timeout(self.timeout, conn.stream.socket_mut().write_all(rest)).await {
            Ok(Ok(())) => Ok(Instant::now()),
            Ok(Err(e)) => Err(format!("writing the last byte failed: {e}")),
            Err(_) => Err("timed out writing the last byte".into()),
        }
    }

    /// After a release that failed (`why`): the server's answer if it sent a whole one
    /// before the request's end (an early answer, RFC 9112 §9.6 allows it), else `not
    /// sent`, since the server never had all of the request.
    pub async fn receive_early(
        &mut self,
        method: &reqwest::Method,
        start: Instant,
        why: String,
    ) -> Exchange {
        let mut answer = self.receive(method, start).await;
        self.conn = None;
        if answer.answered().is_some() && answer.incident.is_none() {
            answer.incident = Some(Incident::new(
                Cause::Early,
                format!("answered before the request's end ({why})"),
            ));
            answer
        } else {
            failed(start, Incident::new(Cause::Unsent, why))
        }
    }

    /// Reads the response to a request with `method` sent at `start`: what came of it,
    /// status kept when only the body broke or was slow.
    pub async fn receive(&mut self, method: &reqwest::Method, start: Instant) -> Exchange {
        let Some(conn) = self.conn.as_mut() else {
            return failed(
                start,
                Incident::new(Cause::Reset, "the connection was lost"),
            );
        };
        let mut seen = Seen::default();
        let read = timeout(self.timeout, conn.read_response(method, &mut seen)).await;
        let incident = match read {
            Ok(Ok(Ending::KeepAlive)) => None,
            Ok(Ok(Ending::Close)) => {
                self.conn = None;
                None
            }
            Ok(Ok(Ending::Cut)) => {
                self.conn = None;
                Some(Incident::cut())
            }
            Ok(Err(incident)) => {
                self.conn = None;
                Some(incident)
            }
            Err(_) => {
                self.conn = None;
                Some(match seen.status {
                    Some(_) => Incident::new(Cause::BodyTimeout, "the body timed out"),
                    None => Incident::new(Cause::Timeout, "timed out"),
                })
            }
        };
        // A status that came before the body broke is kept, and said.
        let incident = match (incident, seen.status) {
            (Some(i), Some(status)) if !i.cause.keeps_answer() => Some(Incident::new(
                i.cause,
                format!("status {status}, then {}", i.message),
            )),
            (i, _) => i,
        };
        Exchange {
            status: seen.status,
            headers: seen.headers,
            body: seen.body.text(),
            incident,
            start,
            end: Instant::now(),
            arrival_ns: None,
        }
    }

    /// Sends one whole request and reads its response. A request that could not be
    /// connected or written to its end is `not_sent`; once it was sent, a failure is
    /// `indeterminate`.
    pub async fn send(&mut self, prepared: &Prepared) -> Exchange {
        let start = Instant::now();
        if !self
            .conn
            .as_ref()
            .is_some_and(|c| c.origin.serves(&prepared.url))
        {
            let opened = match Origin::of(&prepared.url, SyncMode::LastByte) {
                Ok(origin) => self.open(&origin).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = opened {
                return failed(start, Incident::new(Cause::Connect, e));
            }
        }
        match self.write_open(&encode(prepared)).await {
            Ok(()) => self.receive(&prepared.method, start).await,
            Err(incident) => failed(start, incident),
        }
    }
}

/// The request as HTTP/1.1 bytes: request line, `Host`, the request's own headers
/// (framing headers excepted), `Content-Length`, then the body.
pub(super) fn encode(p: &Prepared) -> Vec<u8> {
    let mut out = Vec::with_capacity(512 + p.body.as_ref().map_or(0, Vec::len));
    out.extend_from_slice(p.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(p.url.path().as_bytes());
    if let Some(query) = p.url.query() {
        out.push(b'?');
        out.extend_from_slice(query.as_bytes());
    }
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    if let Some(host) = p.url.host_str() {
        out.extend_from_slice(host.as_bytes());
        if let Some(port) = p.url.port() {
            // Writing into a Vec cannot fail.
            let _ = write!(out, ":{port}");
        }
    }
    out.extend_from_slice(b"\r\n");
    for (name, value) in &p.headers {
        if FRAMING.contains(&name.as_str()) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !p.headers.contains_key("accept") {
        out.extend_from_slice(b"accept: */*\r\n");
    }
    let bodyless = matches!(
        p.method.as_str(),
        "GET" | "HEAD" | "DELETE" | "OPTIONS" | "TRACE"
    );
    match &p.body {
        Some(body) => {
            let _ = write!(out, "content-length: {}\r\n\r\n", body.len());
            out.extend_from_slice(body);
        }
        None if bodyless => out.extend_from_slice(b"\r\n"),
        None => out.extend_from_slice(b"content-length: 0\r\n\r\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn prepared(method: &str, url: &str, body: Option<&str>) -> Prepared {
        let mut headers = HeaderMap::new();
        headers.insert("if-match", HeaderValue::from_static("\"3\""));
        headers.insert("content-length", HeaderValue::from_static("999"));
        Prepared {
            method: reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            url: url::Url::parse(url).unwrap(),
            headers,
            body: body.map(|b| b.as_bytes().to_vec()),
        }
    }

    #[test]
    fn encode_writes_request_line_host_headers_and_its_own_content_length() {
        let bytes = encode(&prepared(
            "PUT",
            "http://127.0.0.1:8080/notes/1?x=1",
            Some("{\"a\":1}"),
        ));
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            "PUT /notes/1?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nif-match: \"3\"\r\n\
             accept: */*\r\ncontent-length: 7\r\n\r\n{\"a\":1}"
        );
    }

    #[test]
    fn encode_sends_a_zero_length_for_a_bodiless_put_and_none_for_a_get() {
        let put = String::from_utf8(encode(&prepared("PUT", "http://h/x", None))).unwrap();
        assert!(put.ends_with("content-length: 0\r\n\r\n"), "{put}");
        let get = String::from_utf8(encode(&prepared("GET", "http://h/x", None))).unwrap();
        assert!(get.starts_with("GET /x HTTP/1.1\r\nhost: h\r\n"), "{get}");
        assert!(!get.contains("content-length"), "{get}");
    }

    /// Serves `replies` (raw bytes) one per request read, on one connection.
    async fn raw_server(replies: Vec<&'static [u8]>) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut scratch = [0u8; 4096];
            for reply in replies {
                let _ = socket.read(&mut scratch).await;
                let _ = socket.write_all(reply).await;
            }
        });
        Origin {
            scheme: "http".into(),
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[tokio::test]
    async fn an_answer_with_more_fields_than_the_first_parse_has_room_for_keeps_them_all() {
        // 40 fields, more than FEW_HEADERS: parsed again with room for every field.
        let mut head = String::from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n");
        for i in 0..39 {
            head.push_str(&format!("x-field-{i}: {i}\r\n"));
        }
        head.push_str("\r\nok");
        let reply: &'static [u8] = Box::leak(head.into_bytes().into_boxed_slice());
        let origin = raw_server(vec![reply]).await;
        let mut conn = connect(&origin).await;
        let (seen, ending) = get(&mut conn).await;
        assert_eq!((seen.status, ending), (Some(200), Ok(Ending::KeepAlive)));
        assert_eq!(seen.headers.len(), 40);
        assert_eq!(seen.headers["x-field-38"], "38");
        assert_eq!(seen.body.text(), "ok");
    }

    async fn connect(origin: &Origin) -> H1Conn {
        let tls = super::super::tls_config(
            &crate::engine::exchange::ClientSettings::new(std::time::Duration::from_secs(2)),
            b"http/1.1",
        )
        .unwrap();
        H1Conn::connect(origin, &tls).await.unwrap()
    }

    /// Reads one response on `conn` after writing a GET.
    async fn get(conn: &mut H1Conn) -> (Seen, Result<Ending, Incident>) {
        conn.write(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut seen = Seen::default();
        let ending = conn.read_response(&reqwest::Method::GET, &mut seen).await;
        (seen, ending)
    }

    #[tokio::test]
    async fn reads_chunked_and_length_framed_responses_on_one_connection() {
        let origin = raw_server(vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\netag: \"2\"\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\nx-trailer: 1\r\n\r\n",
            b"HTTP/1.1 412 Precondition Failed\r\ncontent-length: 5\r\n\r\nstale",
        ])
        .await;
        let mut conn = connect(&origin).await;
        let (first, ending) = get(&mut conn).await;
        assert_eq!(first.status, Some(200));
        assert_eq!(first.body.text(), "abcdefg");
        assert_eq!(first.headers["etag"], "\"2\"");
        assert_eq!(ending, Ok(Ending::KeepAlive));
        let (second, _) = get(&mut conn).await;
        assert_eq!(
            (second.status, second.body.text().as_str()),
            (Some(412), "stale")
        );
    }

    #[tokio::test]
    async fn a_response_without_length_is_read_to_the_close_and_ends_keep_alive() {
        let origin = raw_server(vec![
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it",
        ])
        .await;
        let mut conn = connect(&origin).await;
        // The test server drops the socket after its last reply, closing the stream.
        let (seen, ending) = get(&mut conn).await;
        assert_eq!(seen.body.text(), "all of it");
        assert_eq!(ending, Ok(Ending::Close));
    }

    #[tokio::test]
    async fn a_client_opens_a_new_connection_after_the_server_closes_one() {
        // Two connections, one answer each; the first answer closes its connection.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for reply in [
                &b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 5\r\n\r\nfirst"[..],
                &b"HTTP/1.1 412 Precondition Failed\r\ncontent-length: 6\r\n\r\nsecond"[..],
            ] {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut scratch = [0u8; 4096];
                let _ = socket.read(&mut scratch).await;
                let _ = socket.write_all(reply).await;
            }
        });
        let mut client = client();
        let url = format!("http://127.0.0.1:{port}/notes/1");
        let first = client.send(&prepared("GET", &url, None)).await;
        assert_eq!((first.status, first.body.as_str()), (Some(200), "first"));
        let second = client.send(&prepared("PUT", &url, Some("{}"))).await;
        assert_eq!((second.status, second.body.as_str()), (Some(412), "second"));
    }

    fn client() -> H1Client {
        let settings =
            crate::engine::exchange::ClientSettings::new(std::time::Duration::from_secs(2));
        let tls = super::super::tls_config(&settings, b"http/1.1").unwrap();
        H1Client::new(settings.timeout, tls)
    }

    #[tokio::test]
    async fn a_client_that_cannot_connect_has_not_sent_and_a_body_cut_short_keeps_its_status() {
        let mut client = client();
        let refused = client
            .send(&prepared("PUT", "http://127.0.0.1:1/x", None))
            .await;
        assert_eq!(refused.cause(), Some(Cause::Connect));

        let origin = raw_server(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"]).await;
        let cut_off = client
            .send(&prepared("PUT", &format!("{origin}/x"), Some("{}")))
            .await;
        assert_eq!(cut_off.status, Some(200), "the status that came is kept");
        assert_eq!(cut_off.answered(), None, "but the answer is not whole");
        assert_eq!(cut_off.cause(), Some(Cause::ShortBody));
    }

    #[tokio::test]
    async fn garbage_and_broken_chunks_are_incidents_not_panics() {
        let origin = raw_server(vec![b"SMTP ready\r\n\r\n"]).await;
        let mut conn = connect(&origin).await;
        let (seen, ending) = get(&mut conn).await;
        assert_eq!(seen.status, None);
        assert_eq!(ending.map_err(|i| i.cause), Err(Cause::Garbage));

        let origin = raw_server(vec![
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        ])
        .await;
        let mut conn = connect(&origin).await;
        let (seen, ending) = get(&mut conn).await;
        assert_eq!(seen.status, Some(200));
        assert_eq!(ending.map_err(|i| i.cause), Err(Cause::BadFraming));
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_cut_and_its_start_kept() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut scratch = [0u8; 4096];
            let _ = socket.read(&mut scratch).await;
            let huge = 100 * BODY_LIMIT;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {huge}\r\n\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..100 {
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        });
        let mut client = client();
        let answer = client
            .send(&prepared(
                "GET",
                &format!("http://127.0.0.1:{port}/x"),
                None,
            ))
            .await;
        assert_eq!(answer.answered(), Some(200));
        assert_eq!(answer.cause(), Some(Cause::Cut));
        assert_eq!(answer.body.len(), BODY_LIMIT);
    }
}
