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
    let app = router(config);
    let (shutdown, mut shutdown_requested) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                _ = &mut shutdown_requested => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // A failed accept (out of descriptors, say) ends only that connection.
                    Err(_) => continue,
                },
            };
            // Best effort: without it responses are merely slower, never wrong.
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                super::connection::serve(stream, app, true, None).await;
            });
        }
    });
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
}
