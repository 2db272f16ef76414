//! The binary's extras as a user meets them: shell completions and man pages, the
//! JSON Lines history a script follows while a run goes on, proxies ignored by every
//! client, and the messages that say exactly what is wrong with a flag or a file.

mod common;
use common::*;

use std::path::Path;

use contend::history::RequestRecord;

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

#[test]
fn validate_states_a_sustained_workload_in_connections_resources_limit_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_sustained(dir.path(), "/notes", "requests = 40\nrate = 500");
    let o = contend(&["validate", file.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(
            "(sustained, 4 connections, 2 resources, 40 requests, open model at 500 attempts/s)"
        ),
        "{}",
        text(&o)
    );
    let shipped = shipped().join("notes-etag-sustained.toml");
    let o = contend(&["validate", shipped.to_str().unwrap()], dir.path());
    assert!(
        text(&o).contains("(sustained, 8 connections, 4 resources, 3s, closed model)"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("rounds"), "{}", text(&o));
}

#[test]
fn a_sustained_scenario_that_fails_at_set_up_shows_its_real_settings() {
    let dir = tempfile::tempdir().unwrap();
    // The built-in server has nothing at /nowhere: the first create gets 404.
    let file = write_sustained(dir.path(), "/nowhere", "requests = 40\nrate = 500");
    let o = contend(&["run", file.to_str().unwrap(), "--out", "r"], dir.path());
    assert_eq!(o.status.code(), Some(2), "an ERROR: {}", text(&o));
    let t = text(&o);
    assert!(t.contains("answered 404"), "{t}");
    assert!(
        t.contains("open model at 500 attempts/s, 4 connections, 2 resources: 0 attempts"),
        "the file's settings, not what no attempt showed: {t}"
    );
}

#[test]
fn a_target_with_a_port_out_of_range_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--target",
            "http://127.0.0.1:99999",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .contains("--target \"http://127.0.0.1:99999\" has a port out of range (1 to 65535)"),
        "{}",
        text(&o)
    );
    let o = contend(
        &["run", file.to_str().unwrap(), "--target", "localhost:8080"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("http://localhost:8080?"), "{}", text(&o));
}

#[test]
fn a_zero_timeout_is_refused_like_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("notes-etag-stale-write.toml");
    for command in ["run", "compare"] {
        let mut args = vec![command, file.to_str().unwrap(), "--timeout", "0s"];
        if command == "compare" {
            args.extend(["--target", "builtin", "--target", "builtin:toctou"]);
        }
        let o = contend(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{command}: {}", text(&o));
        assert!(
            text(&o).contains("the timeout must be greater than zero"),
            "{command}: {}",
            text(&o)
        );
    }
}

#[test]
fn check_of_an_empty_history_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    let o = contend(&["check", "empty.csv"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("holds no records"), "{}", text(&o));
}

#[test]
fn the_jsonl_history_holds_every_record_the_run_saved_and_checks_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let sustained = write_sustained(dir.path(), "/notes", "requests = 300");
    let stale_write = shipped().join("notes-etag-stale-write.toml");
    let counter = shipped().join("notes-etag-counter.toml");
    let o = contend(
        &[
            "run",
            stale_write.to_str().unwrap(),
            counter.to_str().unwrap(),
            sustained.to_str().unwrap(),
            "--writers",
            "4",
            "--rounds",
            "3",
            "--out",
            "r",
            "--jsonl",
            "live/history.jsonl",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let streamed = contend::history::read_jsonl(&dir.path().join("live/history.jsonl")).unwrap();
    let saved = contend::history::read_csv(&dir.path().join("r/requests.csv")).unwrap();
    assert_eq!(
        canonical(&streamed),
        canonical(&saved),
        "the stream has each record of requests.csv, once, with the same fields"
    );
    let spooled = streamed
        .iter()
        .filter(|r| r.scenario == "short-sustained" && r.phase == contend::history::Phase::Write)
        .count();
    assert_eq!(spooled, 300, "a sustained run's attempts are streamed too");
    assert!(
        text(&o).contains(&format!(
            "JSON Lines: live/history.jsonl ({} records)",
            saved.len()
        )),
        "{}",
        text(&o)
    );

    let o = contend(&["check", "live/history.jsonl"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "a JSON Lines history re-checks: {}",
        text(&o)
    );
    assert_eq!(text(&o).matches("PASS").count(), 3, "{}", text(&o));
}

#[test]
fn jsonl_to_stdout_leaves_stdout_to_the_records_and_the_summary_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = shipped().join("docs-version-stale-write.toml");
    let o = contend(
        &[
            "run",
            file.to_str().unwrap(),
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "r",
            "--jsonl",
            "-",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let records: Vec<RequestRecord> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is a record"))
        .collect();
    let saved = contend::history::read_csv(&dir.path().join("r/requests.csv")).unwrap();
    assert_eq!(canonical(&records), canonical(&saved));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("docs-version-stale-write") && stderr.contains("PASS"),
        "{stderr}"
    );
}

#[test]
fn a_follower_of_the_jsonl_history_sees_records_before_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    // Two attempts a second for a minute: far longer than the test waits.
    let file = write_sustained(dir.path(), "/notes", "duration = \"60s\"\nrate = 2");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_contend"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            "r",
            "--jsonl",
            "history.jsonl",
        ])
        .current_dir(dir.path())
        .env("CI", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("contend starts");
    let stream = dir.path().join("history.jsonl");
    let writes_so_far = || {
        std::fs::read_to_string(&stream)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<RequestRecord>(l).ok())
            .filter(|r| r.phase == contend::history::Phase::Write)
            .count()
    };
    let mut seen = 0;
    for _ in 0..300 {
        seen = writes_so_far();
        if seen >= 2 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(
        seen >= 2,
        "the attempts' writes were in the file while the run went on"
    );
    assert_eq!(
        status.code(),
        Some(130),
        "stopped by the interrupt, not done"
    );
    let streamed = contend::history::read_jsonl(&stream).unwrap();
    let saved = contend::history::read_csv(&dir.path().join("r/requests.csv")).unwrap();
    assert_eq!(
        canonical(&streamed),
        canonical(&saved),
        "and the rest at the end"
    );
}

#[test]
fn proxy_variables_are_ignored_by_every_client_and_the_run_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // A proxy that refuses every connection: a request sent through it fails.
    let dead = "http://127.0.0.1:1";
    let env = [
        ("HTTP_PROXY", dead),
        ("https_proxy", dead),
        ("ALL_PROXY", dead),
    ];
    let sustained = write_sustained(dir.path(), "/notes", "requests = 40");
    let core = core_scenarios(dir.path());
    for sync in ["barrier", "last-byte", "single-packet"] {
        let o = contend_with_env(
            &[
                "run",
                &core,
                sustained.to_str().unwrap(),
                "--sync",
                sync,
                "--writers",
                "3",
                "--rounds",
                "2",
                "--out",
                sync,
            ],
            dir.path(),
            &env,
        );
        assert_eq!(o.status.code(), Some(0), "sync {sync}: {}", text(&o));
        assert_eq!(text(&o).matches("PASS").count(), 5, "{}", text(&o));
        assert!(
            text(&o).contains("HTTP_PROXY, https_proxy, ALL_PROXY ignored: every request goes straight to the target"),
            "{}",
            text(&o)
        );
    }
}

/// A sustained scenario against the built-in server's notes, 4 connections over 2 hot
/// notes, created at `create_path`, limited by `limit` (`[workload]` lines).
fn write_sustained(dir: &Path, create_path: &str, limit: &str) -> std::path::PathBuf {
    let file = dir.join("sustained.toml");
    std::fs::write(
        &file,
        format!(
            r#"name = "short-sustained"
target = "builtin"

[workload]
kind = "sustained"
connections = 4
resources = 2
{limit}

[resource]
create = {{ method = "POST", path = "{create_path}", json = {{ count = 0 }}, expect = [201], id = "header:Location" }}
read = {{ method = "GET", path = "{{id}}" }}
version = "header:ETag"
value = "json:/count"

[write]
method = "PUT"
path = "{{id}}"
headers = {{ "If-Match" = "{{version}}" }}
json = {{ count = "{{next}}", by = "{{marker}}" }}

[expect]
winner = [200, 204]
conflict = [412]
"#
        ),
    )
    .unwrap();
    file
}

/// Every record of a requests.csv, in a canonical order (as JSON text, sorted).
fn canonical(records: &[RequestRecord]) -> Vec<String> {
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    lines.sort();
    lines
}
