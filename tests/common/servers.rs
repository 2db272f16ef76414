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
