//! What a shell needs from contend beside the binary: completion scripts (`contend
//! completions SHELL`) and man pages (`contend man`).
//!
//! Both are generated from the clap definition in `cli.rs` (clap_complete, clap_mangen),
//! so they list exactly the commands and flags of the binary that prints them: after
//! an upgrade, generating them again brings them up to date. Each is rendered into memory
//! first and then written out, so a closed pipe (`contend man | head`) is an ordinary
//! error, not a panic inside a generator.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// The completion script for `shell`, completing the `contend` command.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "contend", &mut script);
    script
}

/// The man page `contend(1)`: the synopsis, the options, every command with what it
/// does, and the exit codes.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    // As in the folder of pages: no `contend-help(1)`, which would be a page of nothing.
    clap_mangen::Man::new(Cli::command().disable_help_subcommand(true)).render(&mut page)?;
    Ok(page)
}

/// Writes `contend.1` and a page per command (`contend-run.1`, ...) into `dir`, which is
/// created if missing, as `git` and `cargo` ship theirs; returns the files written.
pub fn write_man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut written = Vec::new();
    write_pages(command, dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    command: clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let subcommands: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .cloned()
        .collect();
    written.push(clap_mangen::Man::new(command).generate_to(dir)?);
    for subcommand in subcommands {
        write_pages(subcommand, dir, written)?;
    }
    Ok(())
}

/// Writes generated text to stdout; returns the exit code (2 when it cannot be written).
pub fn print(bytes: &[u8]) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_binary() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = String::from_utf8(completion_script(shell)).unwrap();
            assert!(script.contains("contend"), "{shell}: {script}");
        }
    }

    #[test]
    fn the_pages_are_one_per_command_named_as_man_expects() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_man_pages(&dir.path().join("man1")).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[0], "contend.1");
        assert!(names.contains(&"contend-run.1".to_string()), "{names:?}");
        assert_eq!(
            names.len(),
            1 + Cli::command().get_subcommands().count(),
            "{names:?}"
        );
    }
}
