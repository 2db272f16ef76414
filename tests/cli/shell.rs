//! `contend completions SHELL` and `contend man`: a script for every shell and a man page
//! per command, each naming every command the binary has.

use crate::common::binary::{contend, text};

/// The commands `contend --help` lists (without clap's own `help`).
fn subcommands() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(&["--help"], dir.path());
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|name| name != "help")
        .collect();
    assert!(names.len() >= 8, "{help}");
    names
}

#[test]
fn every_shell_completion_script_completes_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let commands = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = contend(&["completions", shell], dir.path());
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", text(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        for command in &commands {
            assert!(
                script.contains(command.as_str()),
                "the {shell} script completes `contend {command}`"
            );
        }
        assert!(
            script.contains("threshold") && script.contains("jsonl"),
            "the {shell} script completes flags"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error_naming_the_shells() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(&["completions", "tcsh"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("zsh"), "{}", text(&o));
}

#[test]
fn the_man_page_is_roff_naming_every_command_and_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(&["man"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.starts_with(".ie") || page.contains("\n.TH contend 1"),
        "{page}"
    );
    assert!(page.contains(".SH SYNOPSIS"), "{page}");
    for command in subcommands() {
        assert!(
            page.contains(&format!("contend\\-{command}(1)")),
            "contend(1) names `contend {command}`: {page}"
        );
    }
    assert!(page.contains("Exit codes"), "{page}");
}

#[test]
fn man_with_a_folder_writes_one_page_per_command_with_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(&["man", "--dir", "share/man/man1"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let folder = dir.path().join("share/man/man1");
    assert!(folder.join("contend.1").is_file());
    for command in subcommands() {
        let page = folder.join(format!("contend-{command}.1"));
        assert!(page.is_file(), "{} missing", page.display());
    }
    let run = std::fs::read_to_string(folder.join("contend-run.1")).unwrap();
    for flag in ["target", "threshold", "jsonl", "timeout"] {
        assert!(
            run.contains(&format!("\\-\\-{flag}")),
            "contend-run(1) has --{flag}"
        );
    }
}
