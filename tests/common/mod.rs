//! Helpers shared by the test files that run the `contend` binary.
#![allow(dead_code)] // each test file uses its own subset

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
