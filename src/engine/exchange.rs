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
//!
//! No client goes through a proxy: reqwest's are built with `no_proxy`, and the engine's
//! own HTTP/1.1 and HTTP/2 clients connect to the target themselves. A proxy between
//! contend and the API would buffer, reorder and re-send the writes on connections of
//! its own, so the race the server sees would not be the one contend made. The proxy
//! variables ([`PROXY_VARIABLES`]) are therefore ignored, the same way by every client.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_rustls::rustls;

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

    /// The body as text (lossy UTF-8): its own bytes, not a copy, when they are UTF-8.
    pub fn text(self) -> String {
        String::from_utf8(self.bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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
    /// The certificate and key offered when a server asks for one (mutual TLS).
    pub client_identity: Option<Arc<ClientIdentity>>,
    /// Accept any server certificate (`--insecure`).
    pub insecure: bool,
    /// Set when a server asked for a client certificate during a handshake (shared by
    /// every connection of the scenario): with TLS 1.3 a server that requires one
    /// refuses it only after the handshake, often by closing the connection, so this is
    /// how a failure can still be explained.
    pub asked_for_client_cert: Arc<AtomicBool>,
}

impl ClientSettings {
    /// Barrier mode, no arrival stamps.
    pub fn new(timeout: Duration) -> Self {
        ClientSettings {
            timeout,
            sync: SyncMode::Barrier,
            arrivals: None,
            ca_certs: Arc::default(),
            client_identity: None,
            insecure: false,
            asked_for_client_cert: Arc::default(),
        }
    }

    /// What to add to a failure's message when a server asked for a client certificate
    /// and none was given; `None` otherwise.
    pub fn client_cert_advice(&self) -> Option<String> {
        (self.client_identity.is_none() && self.asked_for_client_cert.load(Ordering::Relaxed)).then(
            || {
                format!(
                    "{TLS_PREFIX}the server asked for a client certificate and none was given: \
                     pass --client-cert FILE and --client-key FILE (mutual TLS)"
                )
            },
        )
    }
}

/// A client certificate chain and its private key (`--client-cert`, `--client-key`),
/// ready for every client's TLS configuration.
pub struct ClientIdentity {
    key: Arc<rustls::sign::CertifiedKey>,
}

impl std::fmt::Debug for ClientIdentity {
    /// Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certs", &self.key.cert.len())
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// Reads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1); the
    /// error names what is wrong with which.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ClientIdentity, String> {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--client-cert is not a PEM certificate file: {e}"))?;
        if certs.is_empty() {
            return Err(
                "--client-cert has no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
            );
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
            format!("--client-key has no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {e}")
        })?;
        let provider = rustls::crypto::ring::default_provider();
        let key = rustls::sign::CertifiedKey::from_der(certs, key, &provider)
            .map_err(|e| format!("--client-cert and --client-key cannot be used together: {e}"))?;
        Ok(ClientIdentity { key: Arc::new(key) })
    }
}

/// Offers the client certificate, if there is one, whenever a server asks, and notes
/// that it asked.
#[derive(Debug)]
struct ClientCert {
    identity: Option<Arc<rustls::sign::CertifiedKey>>,
    asked: Arc<AtomicBool>,
}

impl rustls::client::ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _acceptable_issuers: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

/// The TLS client configuration every client of a scenario uses, reqwest's and the raw
/// modes': the web's root certificates plus the run's extra ones (`--ca-cert`), the
/// client certificate when a server asks (`--client-cert`), every server certificate
/// accepted with `--insecure`, offering `alpn`.
pub(super) fn tls_client_config(
    settings: &ClientSettings,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in settings.ca_certs.iter() {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| format!("a --ca-cert certificate cannot be used: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let builder = if settings.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        builder.with_root_certificates(roots)
    };
    let mut config = builder.with_client_cert_resolver(Arc::new(ClientCert {
        identity: settings.client_identity.as_ref().map(|i| i.key.clone()),
        asked: settings.asked_for_client_cert.clone(),
    }));
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// `--insecure`: a verifier that accepts every server certificate (but still checks the
/// handshake's signatures, so the session is at least with the key the server showed).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The proxy variables other HTTP clients read (curl, reqwest); contend ignores them all.
pub const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The [`PROXY_VARIABLES`] set (and not empty) in this process's environment.
pub fn proxy_variables_set() -> Vec<&'static str> {
    PROXY_VARIABLES
        .into_iter()
        .filter(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
        .collect()
}

/// Builds a client that keeps at most one idle connection: one writer's connection,
/// straight to the target (never through a proxy; see the module doc).
///
/// In single-packet mode the target must speak HTTP/2 with prior knowledge (h2c), and may
/// speak nothing else (nginx's `listen … http2` without TLS), so every other request of
/// the scenario uses it too.
pub fn connection(settings: &ClientSettings) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    let alpn: &[&[u8]] = if settings.sync == SyncMode::SinglePacket {
        // Over https, it offers only h2 by ALPN.
        builder = builder.http2_prior_knowledge();
        &[b"h2"]
    } else {
        &[b"h2", b"http/1.1"]
    };
    let tls = tls_client_config(settings, alpn)?;
    builder = builder.use_preconfigured_tls((*tls).clone());
    builder
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
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
/// ("cannot connect: Connection refused (os error 111)"); for a TLS failure, what is
/// wrong with which certificate and the flag that fixes it.
pub(super) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let mut root: &dyn std::error::Error = e;
    while let Some(source) = root.source() {
        if let Some(advice) = tls_advice(root) {
            return advice;
        }
        root = source;
    }
    if let Some(advice) = tls_advice(root) {
        return advice;
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

/// The prefix of every TLS failure's message, so callers can tell one from a refused
/// connection (which asks whether the server runs; a TLS failure never needs to).
const TLS_PREFIX: &str = "TLS: ";

/// Whether a failure's message is (or holds) a TLS one (made by [`tls_advice`], or a
/// raw mode's failed handshake).
pub fn is_tls_failure(message: &str) -> bool {
    message.contains(TLS_PREFIX) || message.contains("TLS handshake with")
}

/// A [`tls_advice`] without its `TLS: ` prefix, for a message that says TLS already.
pub fn without_tls_prefix(advice: &str) -> &str {
    advice.strip_prefix(TLS_PREFIX).unwrap_or(advice)
}

/// What a TLS error in a failure's chain means, and the flag that fixes it; `None`
/// when `error` is not a TLS error.
pub fn tls_advice(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use tokio_rustls::rustls::Error as Tls;
    // An I/O error hides what it wraps from `source()`: look inside, however deep.
    let mut tls = error.downcast_ref::<Tls>();
    let mut io = error.downcast_ref::<std::io::Error>();
    let mut innermost: &(dyn std::error::Error + 'static) = error;
    while let (None, Some(outer)) = (tls, io) {
        let Some(inner) = outer.get_ref() else { break };
        innermost = inner;
        tls = inner.downcast_ref::<Tls>();
        io = inner.downcast_ref::<std::io::Error>();
    }
    // After the handshake, an alert reaches the reader as text only.
    let text = match tls {
        Some(tls) => tls.to_string(),
        None => innermost.to_string(),
    };
    let (problem, fix) = tls_problem(&text)?;
    Some(format!("{TLS_PREFIX}{problem}: {fix}"))
}

/// A TLS error's text (rustls's own words) as what is wrong and how to fix it.
fn tls_problem(text: &str) -> Option<(String, String)> {
    let ca = "pass the certificate of its CA (PEM) with --ca-cert FILE (or, for a throw-away \
              host, --insecure)";
    let client = "pass --client-cert FILE and --client-key FILE (mutual TLS)";
    if let Some(why) = text.strip_prefix("invalid peer certificate: ") {
        let problem = if why.starts_with("UnknownIssuer") {
            "the server's certificate is signed by an authority contend does not trust (a \
             self-signed or private CA)"
                .to_string()
        } else if why.starts_with("Expired") {
            return Some((
                "the server's certificate has expired".to_string(),
                "renew it on the server (or, for a throw-away host, pass --insecure)".to_string(),
            ));
        } else if why.starts_with("NotValidForName") {
            return Some((
                "the server's certificate is not valid for the target's host name".to_string(),
                "use a target URL with a name the certificate covers (or, for a throw-away \
                 host, pass --insecure)"
                    .to_string(),
            ));
        } else {
            format!("the server's certificate is not accepted ({why})")
        };
        return Some((problem, ca.to_string()));
    }
    if let Some(alert) = text.strip_prefix("received fatal alert: ") {
        let (problem, fix) = match alert.trim() {
            "CertificateRequired" => ("the server requires a client certificate", client),
            "BadCertificate"
            | "UnknownCA"
            | "CertificateUnknown"
            | "UnsupportedCertificate"
            | "CertificateRevoked"
            | "CertificateExpired" => (
                "the server refused the client certificate",
                "pass a --client-cert (and its --client-key) that the server's CA signed",
            ),
            "HandshakeFailure" => (
                "the server ended the handshake (it may require a client certificate)",
                "for mutual TLS pass --client-cert FILE and --client-key FILE",
            ),
            other => {
                return Some((
                    format!("the server ended the handshake with the alert {other}"),
                    ca.to_string(),
                ))
            }
        };
        return Some((problem.to_string(), fix.to_string()));
    }
    if text.contains("peer doesn't support any known protocol")
        || text.contains("NoApplicationProtocol")
    {
        return Some((
            "the server speaks none of the protocols offered by ALPN".to_string(),
            "use --sync barrier (reqwest offers both HTTP/1.1 and HTTP/2)".to_string(),
        ));
    }
    if text.contains("peer is incompatible") || text.contains("InvalidMessage") {
        return Some((format!("the handshake failed ({text})"), ca.to_string()));
    }
    None
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
