//! Starting servers for a test: the reference server on https with a certificate to
//! trust.

use std::path::{Path, PathBuf};

/// The reference server on https with a fresh self-signed certificate, and the
/// certificate written as PEM into `dir` (for `RunOptions::ca_cert` or `--ca-cert`).
pub async fn start_trusted_tls(
    config: contend::server::ServerConfig,
    dir: &Path,
) -> (contend::server::RunningServer, PathBuf) {
    let identity = contend::server::SelfSigned::generate().expect("certificate");
    let server = contend::server::start_tls(config, ([127, 0, 0, 1], 0).into(), &identity)
        .await
        .expect("bind");
    let cert = dir.join("cert.pem");
    std::fs::write(&cert, &identity.cert_pem).expect("certificate written");
    (server, cert)
}

/// The reference server's routes served over HTTP/1.1 only, without the h2c it speaks
/// itself (as gunicorn, uvicorn or Puma serve): a target where `sync = "auto"` must
/// choose last-byte. Returns its base URL; it serves until the test's runtime ends.
pub async fn start_http1_only(config: contend::server::ServerConfig) -> String {
    serve_one_protocol(config, false).await
}

/// The reference server's routes served over h2c only (HTTP/2 with prior knowledge, no
/// HTTP/1.1): a target where contend's own HTTP/1.1 client cannot go. Returns its base
/// URL; it serves until the test's runtime ends.
pub async fn start_http2_only(config: contend::server::ServerConfig) -> String {
    serve_one_protocol(config, true).await
}

/// The reference server's routes over one protocol only: h2c, or HTTP/1.1.
async fn serve_one_protocol(config: contend::server::ServerConfig, http2: bool) -> String {
    use hyper::server::conn::{http1, http2 as h2};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let router = contend::server::router(config);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            let io = TokioIo::new(stream);
            tokio::spawn(async move {
                let _ = if http2 {
                    h2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await
                } else {
                    http1::Builder::new().serve_connection(io, service).await
                };
            });
        }
    });
    format!("http://{addr}")
}
