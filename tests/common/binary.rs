//! Running the `contend` binary as CI would, and reading what it printed.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary in `cwd` as CI would (no progress bar, no inherited target).
pub fn contend(args: &[&str], cwd: &Path) -> Output {
    contend_with_env(args, cwd, &[])
}

/// The binary as CI would run it, to be given its arguments (for a test that spawns it,
/// signals it, or sets more of its environment).
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contend"));
    command.env("CI", "true").env_remove("CONTEND_TARGET");
    command
}

/// Runs the binary with extra environment variables.
pub fn contend_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = command();
    command.args(args).current_dir(cwd);
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
