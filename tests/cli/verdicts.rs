//! The binary as CI meets it: INCONCLUSIVE exits 3, SIGTERM is handled like Ctrl-C
//! (reports written, marked incomplete, the spool removed), a second signal stops at
//! once and still writes what was recorded, `--writers` past the file-descriptor limit
//! is refused with the fix, endless or huge input ends with a short clear error, and no
//! form of a secret reaches anything contend writes.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use contend::scenario::Secrets;

use crate::common::binary::{command as contend, text};
use crate::common::files::scenario as shipped;
use crate::common::reports::read_table;

/// A `summary.csv` column of its first row.
fn summary(dir: &Path, name: &str) -> String {
    let (header, rows) = read_table(&dir.join("summary.csv"));
    rows[0][header.iter().position(|h| h == name).expect(name)].clone()
}

/// Starts `contend run ARGS` in `cwd`, waits for it to say it is running (its signal
/// handlers are in place), and returns it with its stderr.
fn start(
    args: &[&str],
    cwd: &Path,
    env: &[(&str, &Path)],
) -> (Child, std::io::BufReader<std::process::ChildStderr>) {
    let mut command = contend();
    command
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("contend starts");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("Ctrl-C") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).expect("stderr readable") > 0,
            "contend exited early"
        );
    }
    (child, stderr)
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
}

/// Waits for `child` to exit, at most `bound` (a hang fails the test instead of
/// blocking it).
fn wait_at_most(mut child: Child, bound: Duration) -> Output {
    let until = Instant::now() + bound;
    while Instant::now() < until {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("contend did not stop within {bound:?}");
}

#[test]
fn a_run_that_judged_nothing_exits_3_and_says_inconclusive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = contend()
        .args([
            "run",
            shipped("notes-etag-stale-write.toml").to_str().unwrap(),
            "--fault",
            "no-answer",
            "--timeout",
            "200ms",
            "--writers",
            "2",
            "--rounds",
            "2",
            "--out",
            "r",
            "--junit",
            "junit.xml",
        ])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("INCONCLUSIVE"), "{}", text(&o));
    assert!(
        text(&o).contains("4 of 4 writes indeterminate (4 timed out)"),
        "{}",
        text(&o)
    );
    assert_eq!(summary(&dir.path().join("r"), "verdict"), "INCONCLUSIVE");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit");
    assert!(junit.contains(r#"type="inconclusive""#), "{junit}");
}

#[test]
fn sigterm_stops_after_the_round_writes_the_reports_and_removes_the_spool() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let file = shipped("notes-etag-sustained.toml");
    let scenario = std::fs::read_to_string(file)
        .expect("scenario")
        .replace("duration = \"3s\"", "duration = \"120s\"");
    std::fs::write(dir.path().join("long.toml"), scenario).expect("written");
    let (child, mut stderr) = start(
        &["run", "long.toml", "--out", "r", "--junit", "junit.xml"],
        dir.path(),
        &[("TMPDIR", &tmp)],
    );
    // Once the attempts stream to their spool in TMPDIR, the run is well under way.
    let until = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&tmp).expect("tmp").next().is_none() {
        assert!(
            Instant::now() < until,
            "the run spools its attempts to TMPDIR"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "TERM");
    let o = wait_at_most(child, Duration::from_secs(60));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    assert_eq!(o.status.code(), Some(130), "{}{rest}", text(&o));
    assert!(rest.contains("SIGTERM: interrupted"), "{rest}");
    let out = dir.path().join("r");
    assert_eq!(summary(&out, "complete"), "false");
    assert_eq!(summary(&out, "verdict"), "PASS");
    assert!(summary(&out, "writes").parse::<u64>().expect("count") > 0);
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit");
    assert!(junit.contains(r#"type="incomplete""#), "{junit}");
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
    assert!(left.is_empty(), "the spool is removed: {left:?}");
}

#[test]
fn a_second_signal_stops_at_once_against_a_server_that_never_answers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = shipped("notes-etag-stale-write.toml");
    let (child, mut stderr) = start(
        &[
            "run",
            file.to_str().unwrap(),
            "--fault",
            "no-answer",
            "--timeout",
            "300s",
            "--writers",
            "2",
            "--rounds",
            "1",
            "--out",
            "r",
        ],
        dir.path(),
        &[],
    );
    // The writes are in flight, and would wait for 300 s.
    std::thread::sleep(Duration::from_millis(2000));
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "TERM");
    let o = wait_at_most(child, Duration::from_secs(60));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    assert!(rest.contains("SIGTERM again: stopping at once"), "{rest}");
    // Nothing was judged: the cancelled writes are indeterminate.
    assert_eq!(o.status.code(), Some(3), "{}{rest}", text(&o));
    let out = dir.path().join("r");
    assert_eq!(summary(&out, "complete"), "false");
    let history = contend::history::read_csv(&out.join("requests.csv")).expect("history");
    let writes: Vec<_> = history
        .iter()
        .filter(|r| r.phase == contend::history::Phase::Write)
        .collect();
    assert_eq!(writes.len(), 2, "what was recorded is written");
    for w in writes {
        assert_eq!(w.cause, Some(contend::history::Cause::Interrupted), "{w:?}");
        assert_eq!(w.outcome, contend::history::Outcome::Indeterminate);
    }
}

/// `contend run` of the shipped ETag scenario with `args`, under `ulimit -n 256`, its
/// reports in a folder of `dir` named after the arguments.
fn run_with_256_descriptors(dir: &tempfile::TempDir, args: &[&str]) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" run \"$@\"")
        .arg(env!("CARGO_BIN_EXE_contend"))
        .arg(shipped("notes-etag-stale-write.toml"))
        .args(args)
        .arg("--out")
        .arg(dir.path().join(args.join("-")))
        .env("CI", "true")
        .output()
        .expect("sh runs")
}

#[test]
fn writers_beyond_the_file_descriptor_limit_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sh =
        |writers: &str| run_with_256_descriptors(&dir, &["--writers", writers, "--rounds", "1"]);
    let refused = sh("200");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let message = text(&refused);
    assert!(message.contains("--writers 200 needs about"), "{message}");
    assert!(
        message.contains("for the built-in server in this process"),
        "{message}"
    );
    assert!(message.contains("`ulimit -n"), "{message}");
    // The shell's limit is a hard one too: past it, the fix is the environment's.
    assert!(
        message.contains("past the hard limit, 256, only as root"),
        "{message}"
    );
    assert!(message.contains("`LimitNOFILE="), "{message}");
    let fits = sh("20");
    assert_eq!(fits.status.code(), Some(0), "{}", text(&fits));
}

#[test]
fn barrier_writers_threads_count_against_the_file_descriptor_limit() {
    // Each `barrier` writer's thread has a runtime holding four more descriptors: 60
    // writers fit in 256 as connections alone (2 × 60 + 64) but not with their threads.
    let dir = tempfile::tempdir().expect("temp dir");
    let sh = |writers: &str| {
        run_with_256_descriptors(
            &dir,
            &["--sync", "barrier", "--writers", writers, "--rounds", "2"],
        )
    };
    let refused = sh("60");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let message = text(&refused);
    assert!(message.contains("--writers 60 needs about"), "{message}");
    assert!(
        message.contains("for the writers' threads in `barrier` mode"),
        "{message}"
    );
    let fits = sh("20");
    assert_eq!(fits.status.code(), Some(0), "{}", text(&fits));
}

#[test]
fn validate_shows_a_scenarios_inconclusive_limit_and_refuses_a_bad_one_where_it_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = std::fs::read_to_string(shipped("notes-etag-stale-write.toml"))
        .expect("scenario")
        .replacen(
            "[workload]",
            "inconclusive_above = \"25%\"\n\n[workload]",
            1,
        );
    std::fs::write(dir.path().join("a.toml"), &scenario).expect("written");
    let o = contend()
        .args(["validate", "a.toml"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(", inconclusive above 25.0%)"),
        "{}",
        text(&o)
    );
    std::fs::write(
        dir.path().join("a.toml"),
        scenario.replace("\"25%\"", "\"lots\""),
    )
    .expect("written");
    let o = contend()
        .args(["validate", "a.toml"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("a.toml:6:22: inconclusive_above: `lots` is not a number"),
        "{}",
        text(&o)
    );
}

#[test]
fn validate_of_an_endless_file_ends_with_a_clear_error() {
    let o = contend()
        .args(["validate", "/dev/zero"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("/dev/zero: the file is larger than 32 MiB"),
        "{}",
        text(&o)
    );
}

#[test]
fn check_of_an_endless_file_ends_with_a_clear_error() {
    let o = contend()
        .args(["check", "/dev/zero"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("not a requests.csv written by contend"),
        "{}",
        text(&o)
    );
}

#[test]
fn an_error_about_a_huge_value_is_shown_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = std::fs::read_to_string(shipped("notes-etag-stale-write.toml"))
        .expect("scenario")
        .replacen(
            "[workload]",
            &format!(
                "timeout = \"{}\"\n\n[workload]",
                "x".repeat(16 * 1024 * 1024)
            ),
            1,
        );
    std::fs::write(dir.path().join("big.toml"), scenario).expect("written");
    let o = contend()
        .args(["validate", "big.toml"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let shown = text(&o);
    assert!(shown.len() < 8 * 1024, "{} bytes", shown.len());
    assert!(shown.contains("more bytes not shown"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_form_of_a_secret_reaches_any_report_or_the_terminal() {
    let server = contend::server::start(Default::default(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("server");
    let port = server.addr().port();
    let dir = tempfile::tempdir().expect("temp dir");
    // The token travels raw in a header, form-encoded in a query and JSON-escaped in the
    // body the server echoes back; the password percent-encoded in every URL.
    let token = r#"s3cr3t XYZ/+=&"\"#;
    let password = "p@ss w0rd/+";
    std::fs::write(
        dir.path().join("secret.toml"),
        r#"name = "secret"
headers = { Authorization = "Bearer ${API_TOKEN}" }
[workload]
kind = "stale-write"
writers = 2
rounds = 2
[resource]
create = { method = "POST", path = "/notes", json = { text = "seed" }, expect = [201], id = "header:Location" }
read = { path = "{id}", query = { t = "${API_TOKEN}" } }
version = "header:ETag"
[write]
method = "PUT"
path = "{id}"
query = { t = "${API_TOKEN}" }
headers = { "If-Match" = "{version}" }
json = { text = "{marker}", echo = "${API_TOKEN}" }
[expect]
winner = [200]
conflict = [412]
"#,
    )
    .expect("written");
    let target = format!("http://ann:{}@127.0.0.1:{port}", "p%40ss%20w0rd%2F%2B");
    let dir_path = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || {
        contend()
            .args([
                "run",
                "secret.toml",
                "--target",
                &target,
                "--out",
                "r",
                "--junit",
                "junit.xml",
            ])
            .env("API_TOKEN", token)
            .current_dir(&dir_path)
            .output()
            .expect("runs")
    })
    .await
    .expect("joined");
    server.stop().await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let secrets = Secrets::of([token, password, &format!("ann:{password}")]);
    let mut written = vec![("terminal".to_string(), text(&o))];
    for path in crate::common::files::every_file(&dir.path().join("r")) {
        written.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).expect("text"),
        ));
    }
    written.push((
        "junit.xml".into(),
        std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit"),
    ));
    for (name, text) in &written {
        assert!(!secrets.found_in(text), "{name} holds a secret:\n{text}");
        assert!(!text.contains("w0rd"), "{name}");
        assert!(!text.contains("XYZ"), "{name}");
    }
    let history = std::fs::read_to_string(dir.path().join("r/requests.csv")).expect("history");
    assert!(history.contains("http://ann:***@127.0.0.1"), "{history}");
    assert!(history.contains("?t=***"), "{history}");
    assert!(history.contains(r#"""echo"":""***"""#), "{history}");
}
