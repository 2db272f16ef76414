//! Running the `contend` binary as CI would, and reading what it printed.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary in `cwd` as CI would (no progress bar, no inherited target).
pub fn contend(args: &[&str], cwd: &Path) -> Output {
    contend_with_env(args, cwd, &[])
}

/// The binary as CI would run it, to be given its arguments (for a test that spawns it,
/// signals it, or sets more of its environment): no target, and no shard of a sharded
/// run, from the environment the tests run in (a GitLab `parallel:` job sets
/// `CI_NODE_INDEX`).
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contend"));
    command.env("CI", "true");
    for name in [
        "CONTEND_TARGET",
        "CONTEND_SHARD",
        "CONTEND_SHARDS",
        "CONTEND_RUN_KEY",
        "CONTEND_START_AT",
        "JOB_COMPLETION_INDEX",
        "CI_NODE_INDEX",
        "CI_NODE_TOTAL",
    ] {
        command.env_remove(name);
    }
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
