//! One exchange: a rendered request ([`Prepared`]), what came back ([`Exchange`]) and,
//! when it was not a whole answer, why ([`Incident`]); the one rule that turns what came
//! back into an outcome ([`write_outcome`], [`read_outcome`]); the one body limit
//! ([`BODY_LIMIT`], read through `BodyBuf`); and the settings every connection of a
//! scenario shares.
//!
//! | what the client saw | outcome | cause |
//! |---|---|---|
//! | status, headers and the whole body | by status (and `winner_when`) | — |
//! | a body past the limit, cut by contend | by status | `cut` |
//! | HTTP/2: a whole answer before the request's final frame | by status | `early` |
//! | status, then a reset, a close, a stall or broken framing in the body | indeterminate, status kept | `body_reset`, `short_body`, `body_timeout`, `bad_framing` |
//! | no answer in time, a reset, or no HTTP at all after the request left | indeterminate | `timeout`, `reset`, `garbage` |
//! | no connection, or the request not sent to its end | not_sent | `connect`, `unsent` |
//!
//! Everything that sends speaks these types: the reader connection and the counter's
//! writers through [`send`] on a reqwest [`connection`], the sync modes in
//! the `race` module, and [`super::client::Writers`], the façade the workloads race
//! through. They live here, below all of them, so that the client and the race modules
//! import this one and never each other in a circle.
//!
//! Each reqwest connection comes from a client whose pool holds one idle connection, so
//! no two writers share a connection and no pool limit or lock sits between them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::history::{Cause, Outcome};
use crate::scenario::{BodyMatch, Expect, SyncMode};

/// The body limit, one for every client: a response body is read up to this many bytes
/// and kept in the record; past it, the client stops reading (the connection is dropped,
/// never reused) and the record's cause is [`Cause::Cut`]. So no answer, however large,
/// costs more than this much memory per writer.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A request ready to send: templates rendered, URL joined.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
}

/// What came back from one request, as the client saw it: the status and headers if
/// they came, the body as far as it came, and, when the answer was not whole, why
/// ([`Incident`]). [`write_outcome`] and [`read_outcome`] turn it into an outcome.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The final status, when a status line (HTTP/2: a `:status`) arrived.
    pub status: Option<u16>,
    /// The response's headers, when they arrived.
    pub headers: HeaderMap,
    /// The body as far as it was read, at most [`BODY_LIMIT`] bytes.
    pub body: String,
    /// Set when the answer was not whole, or to note something about a whole one (cut
    /// at the limit, early).
    pub incident: Option<Incident>,
    /// When the request was sent. For a raced write, its release: when the send began
    /// (barrier), or when its final bytes were written (last-byte, single-packet).
    pub start: Instant,
    /// When the whole response had been read (or the request failed).
    pub end: Instant,
    /// Built-in server only: when the request's last byte reached the server, in ns on
    /// the server's clock (comparable only with other arrivals).
    pub arrival_ns: Option<u64>,
}

/// Why an answer was not whole, or what is worth knowing about a whole one: a typed
/// cause (kept in the record's `cause` column) and the client's own words (its `error`).
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub cause: Cause,
    pub message: String,
}

impl Incident {
    /// An incident of `cause`, in `message`'s words.
    pub fn new(cause: Cause, message: impl Into<String>) -> Incident {
        Incident {
            cause,
            message: message.into(),
        }
    }

    /// The body went past [`BODY_LIMIT`] and the client stopped reading it.
    pub fn cut() -> Incident {
        Incident::new(
            Cause::Cut,
            format!(
                "the body is over {BODY_LIMIT} bytes: kept the first {BODY_LIMIT}, stopped reading"
            ),
        )
    }
}

impl Exchange {
    /// The status of an answer whole enough to be judged: one that came in full, or
    /// whose only incident leaves it whole ([`Cause::keeps_answer`]: cut by contend at
    /// the limit, early). `None` when no status came or the body broke.
    pub fn answered(&self) -> Option<u16> {
        match (self.status, &self.incident) {
            (Some(status), None) => Some(status),
            (Some(status), Some(i)) if i.cause.keeps_answer() => Some(status),
            _ => None,
        }
    }

    /// The outcome of a request without a judgeable answer: its cause's
    /// ([`Cause::outcome_without_answer`]).
    fn unanswered(&self) -> Outcome {
        self.incident
            .as_ref()
            .map_or(Outcome::Indeterminate, |i| i.cause.outcome_without_answer())
    }

    /// The incident's cause, if any.
    pub fn cause(&self) -> Option<Cause> {
        self.incident.as_ref().map(|i| i.cause)
    }
}

/// The one rule for a contended write's outcome, whatever the client: an answer that
/// came whole ([`Exchange::answered`]) is a winner, a conflict or unexpected by the
/// statuses the scenario promises and, when the scenario says the body decides
/// (`winner_when`), by its JSON body; an answer that did not come whole is
/// `indeterminate` (it may have been applied) or `not_sent` (the server cannot have had
/// all of it), as its cause says. So a status followed by a broken body is
/// indeterminate in every mode, its status kept in the record.
pub fn write_outcome(expect: &Expect, exchange: &Exchange) -> Outcome {
    let Some(status) = exchange.answered() else {
        return exchange.unanswered();
    };
    if let Some(when) = &expect.winner_when {
        if expect.winner.contains(&status) {
            return match body_matches(when, &exchange.body) {
                Some(true) => Outcome::Winner,
                Some(false) if expect.conflict.contains(&status) => Outcome::Conflict,
                Some(false) => Outcome::Unexpected,
                // The status promised a body that says who won, and that body was cut.
                None if exchange.incident.is_some() => Outcome::Indeterminate,
                // A body that is not JSON cannot say either.
                None => Outcome::Unexpected,
            };
        }
    }
    if expect.winner.contains(&status) {
        Outcome::Winner
    } else if expect.conflict.contains(&status) {
        Outcome::Conflict
    } else {
        Outcome::Unexpected
    }
}

/// The same rule for a read (set-up, warm-up, a read before or after the race): `ok`
/// when its whole answer has a status `accepts` takes, `unexpected` for any other whole
/// answer, and otherwise as its cause says.
pub fn read_outcome(exchange: &Exchange, accepts: impl Fn(u16) -> bool) -> Outcome {
    match exchange.answered() {
        Some(status) if accepts(status) => Outcome::Ok,
        Some(_) => Outcome::Unexpected,
        None => exchange.unanswered(),
    }
}

/// Whether a JSON body has the value `when` asks for; `None` when the body is not JSON.
fn body_matches(when: &BodyMatch, body: &str) -> Option<bool> {
    let body: Value = serde_json::from_str(body).ok()?;
    Some(body.pointer(&when.pointer) == Some(&when.equals))
}

/// A response body being read, kept up to [`BODY_LIMIT`]: every client reads through
/// one, so the limit is the same everywhere.
#[derive(Debug, Default)]
pub(super) struct BodyBuf {
    bytes: Vec<u8>,
}

impl BodyBuf {
    /// Adds a chunk as it came. Returns false once the body has gone past the limit:
    /// the reader then stops reading and the answer is [`Incident::cut`].
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        let room = BODY_LIMIT - self.bytes.len();
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
        chunk.len() <= room
    }

    /// The bytes kept so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Settings shared by every connection of a scenario.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Per request; a slower answer is indeterminate.
    pub timeout: Duration,
    /// How [`super::client::Writers::race`] releases a round's writes.
    pub sync: SyncMode,
    /// Where to fetch the server's arrival stamps after each race (the reference
    /// server's [`crate::protocol::ARRIVALS_PATH`]), if the target has them.
    pub arrivals: Option<url::Url>,
    /// Extra root certificates (DER) trusted for https, besides the web's (`--ca-cert`).
    pub ca_certs: Arc<Vec<Vec<u8>>>,
}

impl ClientSettings {
    /// Barrier mode, no arrival stamps.
    pub fn new(timeout: Duration) -> Self {
        ClientSettings {
            timeout,
            sync: SyncMode::Barrier,
            arrivals: None,
            ca_certs: Arc::default(),
        }
    }
}

/// Builds a client that keeps at most one idle connection: one writer's connection.
///
/// In single-packet mode the target must speak HTTP/2 with prior knowledge (h2c), and may
/// speak nothing else (nginx's `listen … http2` without TLS), so every other request of
/// the scenario uses it too.
pub fn connection(settings: &ClientSettings) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    if settings.sync == SyncMode::SinglePacket {
        // Over https, it offers only h2 by ALPN.
        builder = builder.http2_prior_knowledge();
    }
    for der in settings.ca_certs.iter() {
        let cert = reqwest::Certificate::from_der(der)
            .map_err(|e| format!("a --ca-cert certificate cannot be used: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// The reqwest request for a prepared one, built on `client`.
pub(super) fn to_request(
    client: &reqwest::Client,
    p: Prepared,
) -> Result<reqwest::Request, reqwest::Error> {
    let mut b = client.request(p.method, p.url).headers(p.headers);
    if let Some(body) = p.body {
        b = b.body(body);
    }
    b.build()
}

/// Sends one request and reads its whole response.
pub async fn send(client: &reqwest::Client, prepared: Prepared) -> Exchange {
    let start = Instant::now();
    match to_request(client, prepared) {
        Ok(request) => execute(client, request, start).await,
        Err(e) => failed(start, Incident::new(Cause::Unsent, describe(&e))),
    }
}

/// Sends a built request (sent at `start`) and reads its response, the body up to
/// [`BODY_LIMIT`]; says what it saw, as every client does.
pub(super) async fn execute(
    client: &reqwest::Client,
    request: reqwest::Request,
    start: Instant,
) -> Exchange {
    let mut response = match client.execute(request).await {
        Ok(response) => response,
        Err(e) => return failed(start, Incident::new(cause_of(&e, false), describe(&e))),
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = BodyBuf::default();
    let incident = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if !body.push(&chunk) {
                    // Dropping the response closes its connection mid-body.
                    break Some(Incident::cut());
                }
            }
            Ok(None) => break None,
            Err(e) => {
                break Some(Incident::new(
                    cause_of(&e, true),
                    format!("status {status}, then reading the body: {}", describe(&e)),
                ))
            }
        }
    };
    Exchange {
        status: Some(status),
        headers,
        body: body.text(),
        incident,
        start,
        end: Instant::now(),
        arrival_ns: None,
    }
}

/// An exchange that got no answer, ending now.
pub(super) fn failed(start: Instant, incident: Incident) -> Exchange {
    Exchange {
        status: None,
        headers: HeaderMap::new(),
        body: String::new(),
        incident: Some(incident),
        start,
        end: Instant::now(),
        arrival_ns: None,
    }
}

/// What a reqwest error says about the answer, as a [`Cause`]; `answered` when the
/// status and headers had come (the error is then in the body).
fn cause_of(e: &reqwest::Error, answered: bool) -> Cause {
    let either = |body: Cause, head: Cause| if answered { body } else { head };
    if e.is_timeout() {
        return either(Cause::BodyTimeout, Cause::Timeout);
    }
    if e.is_connect() {
        return Cause::Connect;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut parse = false;
    while let Some(err) = source {
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            return h2_cause(h2, answered);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io_cause(io.kind(), answered);
        }
        if let Some(hyper) = err.downcast_ref::<hyper::Error>() {
            parse |= hyper.is_parse();
        }
        source = err.source();
    }
    if parse {
        return either(Cause::BadFraming, Cause::Garbage);
    }
    either(Cause::BodyReset, Cause::Reset)
}

/// What an I/O error while reading an answer says about it.
pub(super) fn io_cause(kind: std::io::ErrorKind, answered: bool) -> Cause {
    use std::io::ErrorKind;
    match (kind, answered) {
        (ErrorKind::TimedOut, true) => Cause::BodyTimeout,
        (ErrorKind::TimedOut, false) => Cause::Timeout,
        (ErrorKind::UnexpectedEof, true) => Cause::ShortBody,
        (ErrorKind::InvalidData | ErrorKind::InvalidInput, true) => Cause::BadFraming,
        (ErrorKind::InvalidData | ErrorKind::InvalidInput, false) => Cause::Garbage,
        (_, true) => Cause::BodyReset,
        (_, false) => Cause::Reset,
    }
}

/// What an HTTP/2 stream or connection error says about the answer: a stream the server
/// refused unprocessed (`REFUSED_STREAM`) was not sent; a protocol error is broken
/// framing in the body, or something that is not HTTP/2 before it; anything else is a
/// reset.
pub(super) fn h2_cause(e: &h2::Error, answered: bool) -> Cause {
    match (e.reason(), answered) {
        (Some(h2::Reason::REFUSED_STREAM), false) => Cause::Unsent,
        (Some(h2::Reason::PROTOCOL_ERROR), true) => Cause::BadFraming,
        (Some(h2::Reason::PROTOCOL_ERROR), false) => Cause::Garbage,
        _ if e.is_io() => io_cause(
            e.get_io().map_or(std::io::ErrorKind::Other, |io| io.kind()),
            answered,
        ),
        (_, true) => Cause::BodyReset,
        (_, false) => Cause::Reset,
    }
}

/// A short account of a failed request: what failed and the innermost cause
/// ("cannot connect: Connection refused (os error 111)").
pub(super) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let mut root: &dyn std::error::Error = e;
    while let Some(source) = root.source() {
        root = source;
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    format!("{what}: {root}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Exchange {
        let now = Instant::now();
        Exchange {
            status: Some(status),
            headers: HeaderMap::new(),
            body: body.to_string(),
            incident: None,
            start: now,
            end: now,
            arrival_ns: None,
        }
    }

    fn with(mut exchange: Exchange, cause: Cause) -> Exchange {
        exchange.incident = Some(Incident::new(cause, cause.describe()));
        exchange
    }

    fn etag_expect() -> Expect {
        Expect {
            winner: vec![200, 204],
            conflict: vec![412],
            actionable: None,
            winner_when: None,
        }
    }

    fn etcd_expect() -> Expect {
        Expect {
            winner: vec![200],
            conflict: vec![200],
            actionable: None,
            winner_when: Some(BodyMatch {
                pointer: "/succeeded".into(),
                equals: Value::Bool(true),
            }),
        }
    }

    #[test]
    fn without_a_body_condition_the_status_of_a_whole_answer_decides() {
        let expect = etag_expect();
        assert_eq!(write_outcome(&expect, &answer(204, "")), Outcome::Winner);
        assert_eq!(write_outcome(&expect, &answer(412, "")), Outcome::Conflict);
        assert_eq!(
            write_outcome(&expect, &answer(409, "")),
            Outcome::Unexpected
        );
    }

    #[test]
    fn a_status_followed_by_a_broken_body_is_indeterminate_whatever_broke() {
        let expect = etag_expect();
        for cause in [
            Cause::BodyReset,
            Cause::BodyTimeout,
            Cause::ShortBody,
            Cause::BadFraming,
        ] {
            let broken = with(answer(200, "{\"te"), cause);
            assert_eq!(
                write_outcome(&expect, &broken),
                Outcome::Indeterminate,
                "{cause}"
            );
            assert_eq!(broken.status, Some(200), "the status is kept");
            assert_eq!(read_outcome(&broken, |_| true), Outcome::Indeterminate);
        }
    }

    #[test]
    fn a_body_cut_at_the_limit_or_an_early_answer_is_judged_by_its_status() {
        let expect = etag_expect();
        assert_eq!(
            write_outcome(&expect, &with(answer(200, "{"), Cause::Cut)),
            Outcome::Winner
        );
        assert_eq!(
            write_outcome(&expect, &with(answer(412, ""), Cause::Early)),
            Outcome::Conflict
        );
        let cut = with(answer(200, "{\"succeeded\": tr"), Cause::Cut);
        assert_eq!(
            write_outcome(&etcd_expect(), &cut),
            Outcome::Indeterminate,
            "the body that says who won was cut"
        );
    }

    #[test]
    fn no_answer_is_not_sent_before_the_request_left_and_indeterminate_after() {
        let now = Instant::now();
        for (cause, outcome) in [
            (Cause::Connect, Outcome::NotSent),
            (Cause::Unsent, Outcome::NotSent),
            (Cause::Reset, Outcome::Indeterminate),
            (Cause::Timeout, Outcome::Indeterminate),
            (Cause::Garbage, Outcome::Indeterminate),
            (Cause::Interrupted, Outcome::Indeterminate),
        ] {
            let none = failed(now, Incident::new(cause, "x"));
            assert_eq!(write_outcome(&etag_expect(), &none), outcome, "{cause}");
        }
    }

    #[test]
    fn a_body_condition_tells_a_winner_from_a_conflict_with_the_same_status() {
        let expect = etcd_expect();
        let won = answer(200, r#"{"header":{"revision":"3"},"succeeded":true}"#);
        let lost = answer(200, r#"{"header":{"revision":"3"}}"#);
        assert_eq!(write_outcome(&expect, &won), Outcome::Winner);
        assert_eq!(write_outcome(&expect, &lost), Outcome::Conflict);
        assert_eq!(
            write_outcome(&expect, &answer(200, r#"{"succeeded":"true"}"#)),
            Outcome::Conflict,
            "the value must equal exactly, type included"
        );
    }

    #[test]
    fn a_body_condition_never_turns_an_unpromised_answer_into_an_outcome() {
        let expect = etcd_expect();
        assert_eq!(
            write_outcome(&expect, &answer(500, r#"{"succeeded":true}"#)),
            Outcome::Unexpected
        );
        assert_eq!(
            write_outcome(&expect, &answer(200, "<html>proxy error</html>")),
            Outcome::Unexpected,
            "a body that is not JSON says neither"
        );
        let only_winner = Expect {
            conflict: vec![409],
            ..etcd_expect()
        };
        assert_eq!(
            write_outcome(&only_winner, &answer(200, "{}")),
            Outcome::Unexpected,
            "a 200 whose body does not say it won is no promised answer"
        );
        assert_eq!(
            write_outcome(&only_winner, &answer(409, "{}")),
            Outcome::Conflict
        );
        let cut = with(answer(200, ""), Cause::BodyReset);
        assert_eq!(
            write_outcome(&expect, &cut),
            Outcome::Indeterminate,
            "a lost body leaves the outcome unknown"
        );
    }

    #[test]
    fn the_body_limit_keeps_the_first_part_and_says_when_it_was_passed() {
        let mut body = BodyBuf::default();
        assert!(body.push(&vec![b'a'; BODY_LIMIT - 1]));
        assert!(body.push(b"b"));
        assert!(!body.push(b"c"));
        assert_eq!(body.len(), BODY_LIMIT);
    }

    /// A small JSON `PUT /x` to `base`.
    fn put_x(base: &str) -> Prepared {
        Prepared {
            method: reqwest::Method::PUT,
            url: url::Url::parse(base).unwrap().join("/x").unwrap(),
            headers: HeaderMap::new(),
            body: Some(br#"{"text":"m1"}"#.to_vec()),
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_not_sent_and_never_indeterminate() {
        let client = connection(&ClientSettings::new(Duration::from_secs(2))).unwrap();
        let exchange = send(&client, put_x("http://127.0.0.1:1/")).await;
        assert_eq!(exchange.status, None);
        assert_eq!(exchange.cause(), Some(Cause::Connect));
        assert_eq!(read_outcome(&exchange, |_| true), Outcome::NotSent);
    }

    #[tokio::test]
    async fn a_timeout_after_sending_is_indeterminate() {
        // A listener that accepts and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (_socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let client = connection(&ClientSettings::new(Duration::from_millis(200))).unwrap();
        let exchange = send(&client, put_x(&format!("http://{addr}/"))).await;
        hold.abort();
        let incident = exchange.incident.clone().unwrap();
        assert_eq!(incident.cause, Cause::Timeout);
        assert_eq!(read_outcome(&exchange, |_| true), Outcome::Indeterminate);
        assert!(
            incident.message.contains("timed out"),
            "{}",
            incident.message
        );
    }
}
