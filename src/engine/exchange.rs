//! One exchange: a rendered request ([`Prepared`]), what came back ([`Exchange`]) or why
//! nothing did ([`Failure`]), and the settings every connection of a scenario shares.
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

use crate::history::Outcome;
use crate::scenario::SyncMode;

/// Longest response body kept in a record.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A request ready to send: templates rendered, URL joined.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
}

/// What came back from one request, or why nothing did.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: Option<u16>,
    pub headers: HeaderMap,
    pub body: String,
    /// Set when the request failed without a complete response.
    pub failure: Option<Failure>,
    /// When the request was sent. For a raced write, its release: when the send began
    /// (barrier), or when its final bytes were written (last-byte, single-packet).
    pub start: Instant,
    /// When the whole response had been read (or the request failed).
    pub end: Instant,
    /// Built-in server only: when the request's last byte reached the server, in ns on
    /// the server's clock (comparable only with other arrivals).
    pub arrival_ns: Option<u64>,
}

/// A request that got no (complete) response.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `NotSent` when the connection could not be made; `Indeterminate` otherwise.
    pub outcome: Outcome,
    pub message: String,
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
        }
    }
}

/// A client certificate chain and its private key (`--client-cert`, `--client-key`), in
/// the forms both kinds of client take: PEM for reqwest, DER for the raw modes' rustls.
pub struct ClientIdentity {
    /// The certificates then the key, PEM.
    pub pem: Vec<u8>,
    /// The certificate chain, leaf first, DER.
    pub certs: Vec<Vec<u8>>,
    /// The private key.
    pub key: tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientIdentity {
    /// Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certs", &self.certs.len())
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
            .map(|c| c.map(|c| c.to_vec()))
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
        let mut pem = cert_pem.to_vec();
        if !pem.ends_with(b"\n") {
            pem.push(b'\n');
        }
        pem.extend_from_slice(key_pem);
        reqwest::Identity::from_pem(&pem)
            .map_err(|e| format!("--client-cert and --client-key cannot be used together: {e}"))?;
        Ok(ClientIdentity { pem, certs, key })
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
    if let Some(identity) = &settings.client_identity {
        let identity = reqwest::Identity::from_pem(&identity.pem)
            .map_err(|e| format!("the client certificate cannot be used: {e}"))?;
        builder = builder.identity(identity);
    }
    if settings.insecure {
        builder = builder.danger_accept_invalid_certs(true);
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
        Err(e) => failed(start, Outcome::NotSent, describe(&e)),
    }
}

/// Sends a built request (sent at `start`) and reads its whole response, the body cut
/// at [`BODY_LIMIT`].
pub(super) async fn execute(
    client: &reqwest::Client,
    request: reqwest::Request,
    start: Instant,
) -> Exchange {
    match client.execute(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let (body, failure) = match response.bytes().await {
                Ok(bytes) => (cut(&bytes), None),
                // The status already says how the write ended; keep it, note the error.
                Err(e) => (
                    String::new(),
                    Some(Failure {
                        outcome: Outcome::Indeterminate,
                        message: format!("reading the body: {}", describe(&e)),
                    }),
                ),
            };
            Exchange {
                status: Some(status),
                headers,
                body,
                failure,
                start,
                end: Instant::now(),
                arrival_ns: None,
            }
        }
        Err(e) => {
            let outcome = if e.is_connect() {
                Outcome::NotSent
            } else {
                Outcome::Indeterminate
            };
            failed(start, outcome, describe(&e))
        }
    }
}

/// An exchange that got no response, ending now.
pub(super) fn failed(start: Instant, outcome: Outcome, message: String) -> Exchange {
    Exchange {
        status: None,
        headers: HeaderMap::new(),
        body: String::new(),
        failure: Some(Failure { outcome, message }),
        start,
        end: Instant::now(),
        arrival_ns: None,
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

/// Whether a failure's message is a TLS one (made by [`tls_advice`]).
pub fn is_tls_failure(message: &str) -> bool {
    message.starts_with(TLS_PREFIX)
}

/// What a TLS error in a failure's chain means, and the flag that fixes it; `None`
/// when `error` is not a TLS error.
pub fn tls_advice(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use tokio_rustls::rustls::{AlertDescription, CertificateError, Error as Tls};
    let tls = error.downcast_ref::<Tls>().or_else(|| {
        error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<Tls>())
    })?;
    let ca = "pass the certificate of its CA (PEM) with --ca-cert FILE (or, for a throw-away \
              host, --insecure)";
    let (problem, fix) = match tls {
        Tls::InvalidCertificate(CertificateError::UnknownIssuer) => (
            "the server's certificate is signed by an authority contend does not trust (a \
             self-signed or private CA)"
                .to_string(),
            ca.to_string(),
        ),
        Tls::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => (
            "the server's certificate has expired".to_string(),
            "renew it on the server (or, for a throw-away host, pass --insecure)".to_string(),
        ),
        Tls::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => (
            "the server's certificate is not valid for the target's host name".to_string(),
            "use a target URL with a name the certificate covers (or, for a throw-away host, \
             pass --insecure)"
                .to_string(),
        ),
        Tls::InvalidCertificate(other) => (
            format!("the server's certificate is not accepted ({other:?})"),
            ca.to_string(),
        ),
        Tls::AlertReceived(AlertDescription::CertificateRequired) => (
            "the server requires a client certificate".to_string(),
            "pass --client-cert FILE and --client-key FILE (mutual TLS)".to_string(),
        ),
        Tls::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate,
        ) => (
            "the server refused the client certificate".to_string(),
            "pass a --client-cert (and its --client-key) that the server's CA signed"
                .to_string(),
        ),
        Tls::AlertReceived(AlertDescription::HandshakeFailure) => (
            "the server ended the handshake (it may require a client certificate)".to_string(),
            "for mutual TLS pass --client-cert FILE and --client-key FILE".to_string(),
        ),
        Tls::NoApplicationProtocol => (
            "the server speaks none of the protocols offered by ALPN".to_string(),
            "use --sync barrier (reqwest offers both HTTP/1.1 and HTTP/2)".to_string(),
        ),
        other => (format!("the handshake failed ({other})"), ca.to_string()),
    };
    Some(format!("{TLS_PREFIX}{problem}: {fix}"))
}

/// A response body as text, cut at [`BODY_LIMIT`] on a character boundary.
pub(super) fn cut(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_LIMIT)]);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(exchange.failure.map(|f| f.outcome), Some(Outcome::NotSent));
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
        let failure = exchange.failure.unwrap();
        assert_eq!(failure.outcome, Outcome::Indeterminate);
        assert!(failure.message.contains("timed out"), "{}", failure.message);
    }
}
