//! Helpers shared by the test files: running the `contend` binary, the reference
//! server on https with a certificate to trust, and the multi-process reference server
//! (`multiprocess`).
#![allow(dead_code)] // each test file uses its own subset

pub mod multiprocess;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the binary in `cwd` as CI would (no progress bar, no inherited target).
pub fn contend(args: &[&str], cwd: &Path) -> Output {
    contend_with_env(args, cwd, &[])
}

/// Runs the binary with extra environment variables.
pub fn contend_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contend"));
    command
        .args(args)
        .current_dir(cwd)
        .env("CI", "true")
        .env_remove("CONTEND_TARGET");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("contend runs")
}

/// Everything the binary printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The shipped `scenarios/` folder.
pub fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// A folder in `dir` holding the four core scenarios (three stale-write dialects and the
/// counter), so the figures a test expects do not change as scenarios are added.
pub fn core_scenarios(dir: &Path) -> String {
    let core = dir.join("core-scenarios");
    std::fs::create_dir_all(&core).unwrap();
    for name in [
        "notes-etag-stale-write.toml",
        "docs-version-stale-write.toml",
        "db-rev-stale-write.toml",
        "notes-etag-counter.toml",
    ] {
        std::fs::copy(shipped().join(name), core.join(name)).unwrap();
    }
    core.to_string_lossy().into_owned()
}

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
