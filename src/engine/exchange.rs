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
