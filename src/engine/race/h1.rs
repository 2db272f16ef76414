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
use crate::engine::exchange::{cut, failed, Exchange, Prepared};
use crate::history::Outcome;
use crate::scenario::SyncMode;

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest response body read; a bigger one fails the request (and the connection).
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Most response header fields parsed.
const MAX_HEADERS: usize = 128;

/// Headers the HTTP/1.1 framing sets itself; the request's own values are not copied.
const FRAMING: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// One response, read whole.
#[derive(Debug)]
pub(super) struct Response {
    /// The final (non-1xx) status.
    pub status: u16,
    /// Every header field the server sent that HTTP can carry.
    pub headers: HeaderMap,
    /// The whole body, de-chunked.
    pub body: Vec<u8>,
    /// False when the server will close the connection after this response.
    pub keep_alive: bool,
}

/// A kept-alive HTTP/1.1 connection to one origin.
pub(super) struct H1Conn {
    /// Where it is connected.
    pub origin: Origin,
    stream: Stream,
    /// Bytes read from the socket and not yet consumed.
    buf: BytesMut,
}

impl H1Conn {
    /// Opens a connection to `origin` (`TCP_NODELAY` on; TLS for https).
    pub async fn connect(origin: &Origin, tls: &Arc<ClientConfig>) -> Result<H1Conn, String> {
        let (stream, _) = origin.connect(tls).await?;
        Ok(H1Conn {
            origin: origin.clone(),
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
        })
    }

    /// Writes `bytes` and returns once the kernel has them (TLS: encrypted and sent).
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads more bytes into the buffer; an error at the end of the stream.
    async fn fill(&mut self, what: &str) -> Result<(), String> {
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(format!("the server closed the connection {what}")),
            Ok(_) => Ok(()),
            Err(e) => Err(format!("reading the response failed: {e}")),
        }
    }

    /// Reads one whole response to a request with `method`.
    pub async fn read_response(&mut self, method: &reqwest::Method) -> Result<Response, String> {
        let (status, headers, keep_alive) = loop {
            let head = self.read_head().await?;
            // Interim responses (100 Continue, 103 Early Hints) precede the real one.
            if !(100..200).contains(&head.0) || head.0 == 101 {
                break head;
            }
        };
        let no_body = method == reqwest::Method::HEAD || status == 204 || status == 304;
        let chunked = headers
            .get_all("transfer-encoding")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = headers
            .get("content-length")
            .map(|v| {
                v.to_str()
                    .ok()
                    .and_then(|t| t.trim().parse::<usize>().ok())
                    .ok_or_else(|| format!("the response has an invalid Content-Length {v:?}"))
            })
            .transpose()?;
        let (body, keep_alive) = if no_body {
            (Vec::new(), keep_alive)
        } else if chunked {
            (self.read_chunked().await?, keep_alive)
        } else if let Some(n) = length {
            (self.read_exact_body(n).await?, keep_alive)
        } else {
            (self.read_to_close().await?, false)
        };
        Ok(Response {
            status,
            headers,
            body,
            keep_alive,
        })
    }

    /// Reads and parses a response head: status, headers, and whether the connection
    /// stays open.
    async fn read_head(&mut self) -> Result<(u16, HeaderMap, bool), String> {
        loop {
            let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut fields);
            match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(used)) => {
                    let status = response.code.unwrap_or(0);
                    let mut headers = HeaderMap::new();
                    for field in response.headers.iter() {
                        if let (Ok(name), Ok(value)) = (
                            HeaderName::from_bytes(field.name.as_bytes()),
                            HeaderValue::from_bytes(field.value),
                        ) {
                            headers.append(name, value);
                        }
                    }
                    let closes = headers
                        .get_all("connection")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .any(|v| v.to_ascii_lowercase().contains("close"));
                    let keep_alive = response.version == Some(1) && !closes;
                    self.buf.advance(used);
                    return Ok((status, headers, keep_alive));
                }
                Ok(httparse::Status::Partial) => {
                    if self.buf.len() > MAX_HEAD {
                        return Err(format!("the response head is over {MAX_HEAD} bytes"));
                    }
                    self.fill("before answering").await?;
                }
                Err(e) => return Err(format!("the response is not valid HTTP/1.1: {e}")),
            }
        }
    }

    async fn read_exact_body(&mut self, n: usize) -> Result<Vec<u8>, String> {
        if n > MAX_BODY {
            return Err(format!("the response body is {n} bytes, over {MAX_BODY}"));
        }
        while self.buf.len() < n {
            self.fill("in the middle of the response body").await?;
        }
        Ok(self.buf.split_to(n).to_vec())
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            match httparse::parse_chunk_size(&self.buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.buf.advance(used);
                    let size = usize::try_from(size)
                        .ok()
                        .filter(|s| body.len().saturating_add(*s) <= MAX_BODY)
                        .ok_or_else(|| format!("the response body is over {MAX_BODY} bytes"))?;
                    if size == 0 {
                        return self.skip_trailers().await.map(|()| body);
                    }
                    while self.buf.len() < size + 2 {
                        self.fill("in the middle of a chunk").await?;
                    }
                    body.extend_from_slice(&self.buf[..size]);
                    self.buf.advance(size + 2);
                }
                Ok(httparse::Status::Partial) => self.fill("before the last chunk").await?,
                Err(_) => return Err("the response has an invalid chunk size".to_string()),
            }
        }
    }

    /// Skips the trailer section after the last chunk, up to its empty line.
    async fn skip_trailers(&mut self) -> Result<(), String> {
        loop {
            match self.buf.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.buf.advance(2);
                    return Ok(());
                }
                Some(end) => self.buf.advance(end + 2),
                None => self.fill("in the trailers").await?,
            }
        }
    }

    async fn read_to_close(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if self.buf.len() > MAX_BODY {
                return Err(format!("the response body is over {MAX_BODY} bytes"));
            }
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Ok(self.buf.split().to_vec()),
                Ok(_) => {}
                Err(e) => return Err(format!("reading the response failed: {e}")),
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

    /// Writes `bytes` on the connection to `origin`, opening it first if need be.
    pub(super) async fn write(&mut self, origin: &Origin, bytes: &[u8]) -> Result<(), String> {
        self.open(origin).await?;
        self.write_open(bytes).await
    }

    /// Writes `bytes` on the open connection.
    async fn write_open(&mut self, bytes: &[u8]) -> Result<(), String> {
        let Some(conn) = self.conn.as_mut() else {
            return Err("the connection was lost".into());
        };
        let written = match timeout(self.timeout, conn.write(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("writing the request failed: {e}")),
            Err(_) => Err("timed out writing the request".to_string()),
        };
        if written.is_err() {
            self.conn = None;
        }
        written
    }

    /// The final bytes of a staged request as the socket must carry them (their TLS
    /// record over https), for a release that only writes ([`super::release`]).
    pub(super) fn seal(&mut self, last: &[u8]) -> Result<Vec<u8>, String> {
        let Some(conn) = self.conn.as_mut() else {
            return Err("the connection was lost before the release".into());
        };
        conn.stream.seal(last).map_err(|e| {
            self.conn = None;
            format!("preparing the last byte failed: {e}")
        })
    }

    /// The open connection's TCP socket.
    pub(super) fn socket(&self) -> Option<&tokio::net::TcpStream> {
        self.conn.as_ref().map(|c| c.stream.socket())
    }

    /// Writes what the socket did not take of sealed final bytes, straight to it, and
    /// returns when it has them.
    pub(super) async fn finish_release(&mut self, rest: &[u8]) -> Result<Instant, String> {
        let Some(conn) = self.conn.as_mut() else {
            return Err("the connection was lost before the release".into());
        };
        match timeout(self.timeout, conn.stream.socket_mut().write_all(rest)).await {
            Ok(Ok(())) => Ok(Instant::now()),
            Ok(Err(e)) => {
                self.conn = None;
                Err(format!("writing the last byte failed: {e}"))
            }
            Err(_) => {
                self.conn = None;
                Err("timed out writing the last byte".into())
            }
        }
    }

    /// Forgets the connection: it cannot be trusted after a failed release.
    pub(super) fn drop_connection(&mut self) {
        self.conn = None;
    }

    /// Reads the response to a request with `method` sent at `start`.
    pub async fn receive(&mut self, method: &reqwest::Method, start: Instant) -> Exchange {
        let Some(conn) = self.conn.as_mut() else {
            return failed(
                start,
                Outcome::Indeterminate,
                "the connection was lost".into(),
            );
        };
        match timeout(self.timeout, conn.read_response(method)).await {
            Ok(Ok(response)) => {
                if !response.keep_alive {
                    self.conn = None;
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
            Ok(Err(e)) => {
                self.conn = None;
                failed(start, Outcome::Indeterminate, e)
            }
            Err(_) => {
                self.conn = None;
                failed(start, Outcome::Indeterminate, "timed out".into())
            }
        }
    }

    /// Sends one whole request and reads its response. A request that could not be
    /// connected is `not_sent`; once writing began, a failure is `indeterminate`.
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
                return failed(start, Outcome::NotSent, e);
            }
        }
        match self.write_open(&encode(prepared)).await {
            Ok(()) => self.receive(&prepared.method, start).await,
            Err(e) => failed(start, Outcome::Indeterminate, e),
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

    async fn connect(origin: &Origin) -> H1Conn {
        let tls = super::super::tls_config(
            &crate::engine::exchange::ClientSettings::new(std::time::Duration::from_secs(2)),
            b"http/1.1",
        )
        .unwrap();
        H1Conn::connect(origin, &tls).await.unwrap()
    }

    #[tokio::test]
    async fn reads_chunked_and_length_framed_responses_on_one_connection() {
        let origin = raw_server(vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\netag: \"2\"\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\nx-trailer: 1\r\n\r\n",
            b"HTTP/1.1 412 Precondition Failed\r\ncontent-length: 5\r\n\r\nstale",
        ])
        .await;
        let mut conn = connect(&origin).await;
        let get = reqwest::Method::GET;
        conn.write(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let first = conn.read_response(&get).await.unwrap();
        assert_eq!(first.status, 200);
        assert_eq!(first.body, b"abcdefg");
        assert_eq!(first.headers["etag"], "\"2\"");
        assert!(first.keep_alive);
        conn.write(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let second = conn.read_response(&get).await.unwrap();
        assert_eq!(
            (second.status, second.body.as_slice()),
            (412, &b"stale"[..])
        );
    }

    #[tokio::test]
    async fn a_response_without_length_is_read_to_the_close_and_ends_keep_alive() {
        let origin = raw_server(vec![
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it",
        ])
        .await;
        let mut conn = connect(&origin).await;
        conn.write(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        // The test server drops the socket after its last reply, closing the stream.
        let response = conn.read_response(&reqwest::Method::GET).await.unwrap();
        assert_eq!(response.body, b"all of it");
        assert!(!response.keep_alive);
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
        let settings =
            crate::engine::exchange::ClientSettings::new(std::time::Duration::from_secs(2));
        let tls = super::super::tls_config(&settings, b"http/1.1").unwrap();
        let mut client = H1Client::new(settings.timeout, tls);
        let url = format!("http://127.0.0.1:{port}/notes/1");
        let first = client.send(&prepared("GET", &url, None)).await;
        assert_eq!((first.status, first.body.as_str()), (Some(200), "first"));
        let second = client.send(&prepared("PUT", &url, Some("{}"))).await;
        assert_eq!((second.status, second.body.as_str()), (Some(412), "second"));
    }

    #[tokio::test]
    async fn a_client_that_cannot_connect_has_not_sent_and_one_cut_off_is_indeterminate() {
        let settings =
            crate::engine::exchange::ClientSettings::new(std::time::Duration::from_secs(2));
        let tls = super::super::tls_config(&settings, b"http/1.1").unwrap();
        let mut client = H1Client::new(settings.timeout, tls);
        let refused = client
            .send(&prepared("PUT", "http://127.0.0.1:1/x", None))
            .await;
        assert_eq!(refused.failure.map(|f| f.outcome), Some(Outcome::NotSent));

        let origin = raw_server(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"]).await;
        let cut_off = client
            .send(&prepared("PUT", &format!("{origin}/x"), Some("{}")))
            .await;
        assert_eq!(cut_off.status, None);
        assert_eq!(
            cut_off.failure.map(|f| f.outcome),
            Some(Outcome::Indeterminate)
        );
    }

    #[tokio::test]
    async fn garbage_and_early_close_are_errors_not_panics() {
        let origin = raw_server(vec![b"SMTP ready\r\n\r\n"]).await;
        let mut conn = connect(&origin).await;
        conn.write(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let err = conn.read_response(&reqwest::Method::GET).await.unwrap_err();
        assert!(err.contains("not valid HTTP/1.1"), "{err}");

        let origin = raw_server(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"]).await;
        let mut conn = connect(&origin).await;
        conn.write(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let err = conn.read_response(&reqwest::Method::GET).await.unwrap_err();
        assert!(err.contains("closed the connection"), "{err}");
    }
}
