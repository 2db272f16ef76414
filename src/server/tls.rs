//! The reference server over TLS: HTTP/1.1 and HTTP/2 (chosen by ALPN), with a fresh
//! self-signed certificate for `localhost` and `127.0.0.1`, so the https paths of every
//! sync mode can be exercised on loopback. A client trusts it with `--ca-cert` and the
//! certificate's PEM. With a client CA ([`start_tls_with`], `contend serve --client-ca`)
//! it requires mutual TLS: a client must present a certificate that CA signed, or the
//! handshake fails.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use super::{router, RunningServer, ServerConfig};

/// A self-signed certificate and its key.
pub struct SelfSigned {
    /// The certificate in PEM, for clients to trust.
    pub cert_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl SelfSigned {
    /// A fresh certificate for `localhost` and `127.0.0.1`.
    pub fn generate() -> Result<SelfSigned, String> {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
        Ok(SelfSigned {
            cert_pem: certified.cert.pem(),
            cert_der: certified.cert.der().to_vec(),
            key_der: certified.key_pair.serialize_der(),
        })
    }
}

/// Binds and serves the reference server over TLS in a background task, like
/// [`super::start`] does in plain text.
pub async fn start_tls(
    config: ServerConfig,
    addr: SocketAddr,
    identity: &SelfSigned,
) -> std::io::Result<RunningServer> {
    start_tls_with(config, addr, identity, None).await
}

/// [`start_tls`], requiring client certificates signed by a CA in `client_ca` (PEM)
/// when it is given.
pub async fn start_tls_with(
    config: ServerConfig,
    addr: SocketAddr,
    identity: &SelfSigned,
    client_ca: Option<&[u8]>,
) -> std::io::Result<RunningServer> {
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone()));
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| {
                    std::io::Error::other(format!("the client CA is not PEM certificates: {e}"))
                })?;
                roots.add(cert).map_err(std::io::Error::other)?;
            }
            if roots.is_empty() {
                return Err(std::io::Error::other(
                    "the client CA file holds no PEM certificate",
                ));
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(std::io::Error::other)?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut tls = builder
        .with_single_cert(vec![CertificateDer::from(identity.cert_der.clone())], key)
        .map_err(std::io::Error::other)?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(tls));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown, shutdown_requested) = oneshot::channel::<()>();
    let task = tokio::spawn(super::connection::accept(
        listener,
        router(config),
        true,
        Some(acceptor),
        shutdown_requested,
    ));
    Ok(RunningServer {
        addr,
        shutdown,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_tls_server_answers_http2_and_http1_to_a_client_trusting_its_certificate() {
        let identity = SelfSigned::generate().expect("certificate");
        let server = start_tls(Default::default(), ([127, 0, 0, 1], 0).into(), &identity)
            .await
            .expect("bind");
        let url = format!("https://127.0.0.1:{}/_contend/health", server.addr().port());
        let cert = reqwest::Certificate::from_pem(identity.cert_pem.as_bytes()).expect("pem");
        for (h2, version) in [
            (true, reqwest::Version::HTTP_2),
            (false, reqwest::Version::HTTP_11),
        ] {
            let mut builder = reqwest::Client::builder().add_root_certificate(cert.clone());
            builder = if h2 {
                builder.http2_prior_knowledge()
            } else {
                builder.http1_only()
            };
            let response = builder
                .build()
                .expect("client")
                .get(&url)
                .send()
                .await
                .expect("https request");
            assert_eq!(response.status(), 200);
            assert_eq!(response.version(), version);
        }
        server.stop().await;
    }

    // A client that opens a connection and never starts its handshake cannot hold a
    // stop up past the grace, as on the plain server.
    #[tokio::test]
    async fn a_stop_closes_a_connection_that_never_finishes_its_handshake() {
        let identity = SelfSigned::generate().expect("certificate");
        let server = start_tls(
            ServerConfig::default(),
            ([127, 0, 0, 1], 0).into(),
            &identity,
        )
        .await
        .expect("server");
        let mut tcp = tokio::net::TcpStream::connect(server.addr())
            .await
            .expect("connect");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        tokio::time::timeout(
            super::super::connection::GRACE + std::time::Duration::from_secs(10),
            server.stop(),
        )
        .await
        .expect("the stop waited past its grace");
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio::io::AsyncReadExt::read(&mut tcp, &mut buf),
        )
        .await
        .expect("the connection is still open");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
}
