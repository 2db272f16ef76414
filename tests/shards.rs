//! Sharded runs on one machine: N `contend run --shard I/N` processes against one
//! `contend serve`, then `contend merge` of their folders, against one process running
//! the whole suite.
//!
//! The suite has every placement: a sustained scenario split over the shards (its hot
//! resources created by shard 1 at ids made from the run key), rounds spread over the
//! shards (transition and unique-create: each round has its own resource), and whole
//! scenarios on one shard each (stale-write and counter: their rounds share one). With
//! the correct server everything passes, sharded or not; with `toctou` (a 50 ms window,
//! while writes are released within a millisecond) the stale-write, counter and
//! sustained scenarios fail, sharded or not. A lost update that only the shards' writes
//! together show is caught by the merge: in a real run (one connection per shard, so no
//! shard races itself) and in hand-built shard folders whose increments are only
//! missing when summed. Merged percentiles are those of the concatenated histories,
//! exactly, and a missing shard, or one stopped before the end of its part, makes the
//! merge INCONCLUSIVE.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, SystemTime};

use common::binary::{command, contend, text};
use common::files::{scenario, write_scenario};
use common::multiprocess::MultiProcessServer;
use common::reports::{read_json, summary_by_scenario};
use contend::history::{self, Outcome, Phase, RequestRecord};
use contend::latency::Latency;
use contend::scenario::WorkloadId;

/// The sustained scenario split over the shards: 6 connections on 2 hot texts at ids made
/// with `{unique}` (the same on every shard, from the run key), 120 attempts.
const HOT: &str = r#"name = "hot-texts"
target = "http://127.0.0.1:1"

[workload]
kind = "sustained"
connections = 6
resources = 2
requests = 120

[resource]
id = "/texts/hot-{unique}"
create = { method = "PUT", path = "{id}", body = "COUNT:0", expect = [201] }
read = { path = "{id}" }
version = "header:ETag"
value = "regex:COUNT:(\\d+)"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
body = "COUNT:{next}"

[expect]
winner = [200]
conflict = [412]
"#;

/// A folder holding the suite: the sustained scenario and four shipped ones.
fn suite(dir: &Path) -> PathBuf {
    let suite = dir.join("suite");
    std::fs::create_dir_all(&suite).unwrap();
    write_scenario(&suite, "hot-texts.toml", HOT);
    for name in [
        "notes-etag-stale-write.toml",
        "notes-etag-counter.toml",
        "orders-transition.toml",
        "users-unique-create.toml",
    ] {
        std::fs::copy(scenario(name), suite.join(name)).unwrap();
    }
    suite
}

/// What every run of the suite is given: the server, and small sizes.
fn sized(suite: &Path, target: &str) -> Vec<String> {
    [
        "run",
        &suite.to_string_lossy(),
        "--target",
        target,
        "--writers",
        "6",
        "--rounds",
        "4",
        "--no-progress",
    ]
    .map(String::from)
    .to_vec()
}

/// An RFC 3339 time `seconds` from now, for `--start-at`.
fn start_in(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(seconds)).to_string()
}

/// Starts shard `i` of `n` of `args` into `out`, its shard given as `how` says.
fn spawn_shard(args: &[String], i: u32, n: u32, how: Shard, start_at: &str, out: &Path) -> Child {
    let mut c = command();
    c.args(args)
        .args(["--start-at", start_at, "--out"])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match how {
        Shard::Flag => {
            c.args(["--shard", &format!("{i}/{n}")]);
        }
        Shard::Kubernetes => {
            c.env("JOB_COMPLETION_INDEX", (i - 1).to_string())
                .env("CONTEND_SHARDS", n.to_string());
        }
        Shard::GitLab => {
            c.env("CI_NODE_INDEX", i.to_string())
                .env("CI_NODE_TOTAL", n.to_string());
        }
    }
    c.spawn().expect("contend run starts")
}

/// How a shard is told which it is.
#[derive(Clone, Copy)]
enum Shard {
    Flag,
    Kubernetes,
    GitLab,
}

/// Runs `n` shards of `args` together, each told its shard by `how(i)`, into
/// `dir/<name>-<i>`, and returns their folders once all have exited 0.
fn run_shards(
    dir: &Path,
    name: &str,
    args: &[String],
    n: u32,
    how: impl Fn(u32) -> Shard,
) -> Vec<PathBuf> {
    let start_at = start_in(3);
    let outs: Vec<PathBuf> = (1..=n).map(|i| dir.join(format!("{name}-{i}"))).collect();
    let children: Vec<Child> = (1..=n)
        .map(|i| spawn_shard(args, i, n, how(i), &start_at, &outs[i as usize - 1]))
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("the shard ends");
        // A shard's exit code says it ran its part; the verdict is the merge's.
        assert_eq!(
            out.status.code(),
            Some(0),
            "shard {}: {}",
            i + 1,
            text(&out)
        );
        assert!(text(&out).contains("contend merge"), "{}", text(&out));
    }
    outs
}

/// `contend merge` of `folders` into `out`, with `extra` arguments.
fn merge(folders: &[PathBuf], out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["merge".into()];
    args.extend(folders.iter().map(|f| f.to_string_lossy().into_owned()));
    args.extend(["--out".to_string(), out.to_string_lossy().into_owned()]);
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    contend(&args, Path::new("."))
}

/// Each scenario's verdict in a report folder.
fn verdicts(dir: &Path) -> HashMap<String, String> {
    summary_by_scenario(&dir.join("summary.csv"))
        .into_iter()
        .map(|(name, row)| (name, row["verdict"].clone()))
        .collect()
}

/// Runs the suite in one process and in 2 and 3 shards against one server carrying
/// `bug`, and checks that the merges give the one process's verdicts; returns them.
fn one_process_and_shards_agree(bug: &[&str]) -> HashMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let server = MultiProcessServer::serve(bug);
    let target = format!("http://{}", server.addr);
    let suite = suite(dir.path());
    let args = sized(&suite, &target);

    let mut one = args.clone();
    one.extend([
        "--out".into(),
        dir.path().join("one").to_string_lossy().into_owned(),
    ]);
    let one: Vec<&str> = one.iter().map(String::as_str).collect();
    let whole = contend(&one, dir.path());
    assert!(
        matches!(whole.status.code(), Some(0 | 1)),
        "{}",
        text(&whole)
    );
    let expected = verdicts(&dir.path().join("one"));
    assert_eq!(expected.len(), 5, "{expected:?}");

    // Two shards told by Kubernetes' and GitLab's variables, three by --shard.
    let two = run_shards(dir.path(), "two", &args, 2, |i| match i {
        1 => Shard::Kubernetes,
        _ => Shard::GitLab,
    });
    let three = run_shards(dir.path(), "three", &args, 3, |_| Shard::Flag);
    for (n, folders) in [(2, two), (3, three)] {
        for (i, folder) in folders.iter().enumerate() {
            let manifest = read_json(&folder.join("shard.json"));
            assert_eq!(manifest["shard"], i + 1);
            assert_eq!(manifest["shards"], n);
        }
        let out = dir.path().join(format!("merged-{n}"));
        let merged = merge(&folders, &out, &["--target", &target]);
        assert_eq!(
            verdicts(&out),
            expected,
            "{n} shards merged: {}",
            text(&merged)
        );
        let code = if expected.values().any(|v| v == "FAIL") {
            1
        } else {
            0
        };
        assert_eq!(merged.status.code(), Some(code), "{}", text(&merged));
        // The split scenario ran its 120 attempts once, over all the shards.
        let summary = read_json(&out.join("summary.json"));
        let hot = summary["scenarios"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "hot-texts"))
            .expect("hot-texts in summary.json")
            .clone();
        assert_eq!(hot["sustained"]["attempts"], 120, "{hot}");
        assert_eq!(hot["sustained"]["connections"], 6, "{hot}");
    }
    server.stop();
    expected
}

#[test]
fn shards_against_the_correct_server_merge_to_the_one_process_verdicts_all_pass() {
    let verdicts = one_process_and_shards_agree(&[]);
    assert!(verdicts.values().all(|v| v == "PASS"), "{verdicts:?}");
}

#[test]
fn shards_against_toctou_merge_to_the_one_process_verdicts_with_the_races_failed() {
    let verdicts = one_process_and_shards_agree(&["--bug", "toctou", "--window", "50ms"]);
    for failed in ["hot-texts", "notes-etag-stale-write", "notes-etag-counter"] {
        assert_eq!(verdicts[failed], "FAIL", "{verdicts:?}");
    }
}

/// One connection per shard for two seconds: no shard races itself, so only the two
/// shards' writes together hold a version won twice.
const ONE_EACH: &str = r#"name = "one-each"
target = "http://127.0.0.1:1"

[workload]
kind = "sustained"
connections = 2
duration = "2s"

[resource]
id = "/texts/one-each-{unique}"
create = { method = "PUT", path = "{id}", body = "COUNT:0", expect = [201] }
read = { path = "{id}" }
version = "header:ETag"
value = "regex:COUNT:(\\d+)"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
body = "COUNT:{next}"

[expect]
winner = [200]
conflict = [412]
"#;

#[test]
fn a_lost_update_that_only_both_shards_writes_show_is_caught_by_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    let server = MultiProcessServer::serve(&["--bug", "toctou", "--window", "50ms"]);
    let target = format!("http://{}", server.addr);
    let file = write_scenario(dir.path(), "one-each.toml", ONE_EACH);
    let args: Vec<String> = [
        "run",
        &file.to_string_lossy(),
        "--target",
        &target,
        "--no-progress",
    ]
    .map(String::from)
    .to_vec();
    let folders = run_shards(dir.path(), "shard", &args, 2, |_| Shard::Flag);
    for folder in &folders {
        let own = &summary_by_scenario(&folder.join("summary.csv"))["one-each"];
        // One connection: every version it wrote, it wrote once.
        assert_eq!(own["verdict"], "INCONCLUSIVE", "{own:?}");
        assert_eq!(own["lost_updates"], "0", "{own:?}");
    }
    let out = dir.path().join("merged");
    let merged = merge(&folders, &out, &["--target", &target]);
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged));
    let row = &summary_by_scenario(&out.join("summary.csv"))["one-each"];
    assert_eq!(row["verdict"], "FAIL", "{row:?}");
    assert_ne!(row["lost_updates"], "0", "{row:?}");
    // The witness: a version won by both shards' connections (w0 on shard 1, w1 on 2).
    let said = text(&merged);
    assert!(
        said.contains("w0 200, w1 200") || said.contains("w1 200, w0 200"),
        "{said}"
    );
    server.stop();
}

/// A hand-built record of the hot resource's history.
fn hot_record(phase: Phase, writer: Option<u32>, round: u32, version: u32) -> RequestRecord {
    let mut r = common::records::record("sustained", phase, round, writer);
    r.scenario = "summed".into();
    r.workload = WorkloadId::Sustained;
    r.resource = Some(0);
    r.version_sent = Some(format!("\"{version}\"").into());
    r.start_ns = u64::from(round) * 1_000_000 + u64::from(writer.unwrap_or(0)) * 100;
    r.end_ns = r.start_ns + 50_000 + u64::from(version) * 10;
    r.latency_ns = r.end_ns - r.start_ns;
    r
}

/// One hand-built shard's history: its set-up read (value 0) and 50 acknowledged writes
/// by connection `writer`, on versions of its own (`first`, `first + 2`, ...).
fn history_of(writer: u32, first: u32) -> Vec<RequestRecord> {
    let mut setup = hot_record(Phase::Setup, None, 0, 0);
    setup.value = Some(0);
    setup.outcome = Outcome::Ok;
    let mut records = vec![setup];
    for k in 0..50 {
        let version = first + 2 * k;
        let mut read = hot_record(Phase::Read, Some(writer), k, version);
        read.outcome = Outcome::Ok;
        let mut write = hot_record(Phase::Write, Some(writer), k, version);
        write.outcome = Outcome::Winner;
        write.status = Some(200);
        write.promised = "412".into();
        records.extend([read, write]);
    }
    records
}

/// The scenario the hand-built shards ran: one hot text at a fixed id.
fn summed_scenario(target: &str) -> String {
    ONE_EACH
        .replace("one-each", "summed")
        .replace("/texts/summed-{unique}", "/texts/summed")
        .replace("http://127.0.0.1:1", target)
}

/// Writes a hand-built shard folder: its history, the histograms and manifest a shard
/// writes, through the library's own writers.
fn hand_built_shard(dir: &Path, i: u32, records: &[RequestRecord], file: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    history::write_csv(&dir.join("requests.csv"), records).unwrap();
    let scenario = contend::scenario::load_file(file).expect("scenario");
    let refs: Vec<&RequestRecord> = records.iter().collect();
    let result = contend::run::scenario_result(
        "summed",
        WorkloadId::Sustained,
        &refs,
        contend::run::Spooled::No,
        &[],
        contend::run::RunFacts {
            complete: true,
            ..Default::default()
        },
    )
    .unwrap();
    let placements = contend::shard::plan(std::slice::from_ref(&scenario), 2);
    let mut entries = contend::shard::entries(std::slice::from_ref(&scenario), &placements);
    entries[0].here = Some(contend::shard::PartRun {
        writers: vec![i - 1],
        complete: true,
        target: "hand-built".into(),
        ..Default::default()
    });
    let manifest = contend::shard::Manifest {
        format: contend::shard::FORMAT,
        contend: "test".into(),
        shard: i,
        shards: 2,
        run_key: "hand-built".into(),
        seed: 7,
        start_at: None,
        origin_unix_ns: 1_000_000_000,
        started_at: "2030-01-01T00:00:00Z".into(),
        finished_at: "2030-01-01T00:00:01Z".into(),
        complete: true,
        scenarios: entries,
    };
    contend::shard::write_folder(dir, manifest, &[scenario], &[result]).unwrap();
}

#[test]
fn hand_built_shards_whose_increments_are_only_lost_when_summed_fail_the_merge() {
    let dir = tempfile::tempdir().unwrap();
    // The hot text ends at 60: each shard's 50 fit in it, their 100 do not.
    let server = MultiProcessServer::serve(&[]);
    let target = format!("http://{}", server.addr);
    let created = server
        .connect()
        .request("PUT", "/texts/summed", &[], "COUNT:60");
    assert_eq!(created.status, 201, "{created:?}");
    let file = write_scenario(dir.path(), "summed.toml", &summed_scenario(&target));
    let (a, b) = (history_of(0, 1), history_of(1, 2));
    for (i, records) in [(1, &a), (2, &b)] {
        hand_built_shard(&dir.path().join(format!("s{i}")), i, records, &file);
        // Alone, with the final value read after it: nothing acknowledged is missing.
        let mut alone = records.clone();
        let mut last = hot_record(Phase::Final, None, 0, 0);
        last.value = Some(60);
        last.outcome = Outcome::Ok;
        alone.push(last);
        let refs: Vec<&RequestRecord> = alone.iter().collect();
        let verdict = contend::check::check("summed", WorkloadId::Sustained, &refs);
        assert_eq!(
            verdict.lost_updates, 0,
            "shard {i}: {:?}",
            verdict.violations
        );
    }
    let folders = [dir.path().join("s1"), dir.path().join("s2")];
    let out = dir.path().join("merged");
    let merged = merge(&folders, &out, &["--target", &target]);
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged));
    let row = &summary_by_scenario(&out.join("summary.csv"))["summed"];
    assert_eq!(row["verdict"], "FAIL", "{row:?}");
    assert_eq!(row["lost_updates"], "40", "{row:?}");
    assert!(
        text(&merged).contains("100 increments acknowledged but the value went from 0 to 60"),
        "{}",
        text(&merged)
    );

    // Without --target the final value is not read: not judged, never PASS.
    let blind = dir.path().join("blind");
    let unjudged = merge(&folders, &blind, &[]);
    assert_eq!(unjudged.status.code(), Some(3), "{}", text(&unjudged));
    assert!(
        text(&unjudged).contains("--target URL"),
        "{}",
        text(&unjudged)
    );
    server.stop();
}

#[test]
fn a_shard_stopped_before_the_end_of_its_part_makes_the_merge_inconclusive_never_pass() {
    let dir = tempfile::tempdir().unwrap();
    // The hot text ends at 100: both shards' 50 acknowledged increments are in it.
    let server = MultiProcessServer::serve(&[]);
    let target = format!("http://{}", server.addr);
    let created = server
        .connect()
        .request("PUT", "/texts/summed", &[], "COUNT:100");
    assert_eq!(created.status, 201, "{created:?}");
    let file = write_scenario(dir.path(), "summed.toml", &summed_scenario(&target));
    for (i, records) in [(1, history_of(0, 1)), (2, history_of(1, 2))] {
        hand_built_shard(&dir.path().join(format!("s{i}")), i, &records, &file);
    }
    let folders = [dir.path().join("s1"), dir.path().join("s2")];
    let finished = merge(
        &folders,
        &dir.path().join("finished"),
        &["--target", &target],
    );
    assert_eq!(finished.status.code(), Some(0), "{}", text(&finished));
    assert_eq!(verdicts(&dir.path().join("finished"))["summed"], "PASS");

    // Shard 2 was stopped part-way (its pod evicted, say), and its manifest says so.
    let manifest_path = dir.path().join("s2/shard.json");
    let mut manifest = read_json(&manifest_path);
    manifest["complete"] = false.into();
    manifest["scenarios"][0]["here"]["complete"] = false.into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let out = dir.path().join("stopped");
    let stopped = merge(&folders, &out, &["--target", &target]);
    assert_eq!(stopped.status.code(), Some(3), "{}", text(&stopped));
    assert_eq!(verdicts(&out)["summed"], "INCONCLUSIVE");
    assert!(
        text(&stopped).contains("shard 2 was stopped before the end of its part"),
        "{}",
        text(&stopped)
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn merged_percentiles_are_exactly_those_of_the_concatenated_histories() {
    let dir = tempfile::tempdir().unwrap();
    let server = MultiProcessServer::serve(&[]);
    let target = format!("http://{}", server.addr);
    let suite = suite(dir.path());
    let args = sized(&suite, &target);
    let folders = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || run_shards(&dir, "shard", &args, 2, |_| Shard::Flag)
    })
    .await
    .unwrap();
    let report = contend::merge::merge(contend::merge::MergeOptions {
        dirs: folders.clone(),
        target: Some(target),
        out: Some(dir.path().join("merged")),
        thresholds: Vec::new(),
        inconclusive_above: None,
        tls: contend::run::RunOptions::new(Vec::new()),
    })
    .await
    .expect("merged");
    let all: Vec<RequestRecord> = folders
        .iter()
        .flat_map(|f| history::read_saved(&f.join("requests.csv")).expect("a history"))
        .collect();
    assert_eq!(report.results.len(), 5);
    for result in &report.results {
        let name = &result.verdict.scenario;
        let together = Latency::from_records(all.iter().filter(|r| &r.scenario == name));
        for outcome in Outcome::TIMED {
            assert_eq!(
                result.latency.histogram(outcome),
                together.histogram(outcome),
                "{name} {outcome:?}"
            );
            assert_eq!(
                result.latency.percentiles(outcome),
                together.percentiles(outcome),
                "{name} {outcome:?}"
            );
        }
        assert!(
            result.latency.percentiles(Outcome::Winner).count > 0,
            "{name}"
        );
    }
    server.stop();
}

#[test]
fn a_missing_shard_makes_the_merged_verdict_inconclusive_never_pass() {
    let dir = tempfile::tempdir().unwrap();
    let server = MultiProcessServer::serve(&[]);
    let target = format!("http://{}", server.addr);
    let suite = suite(dir.path());
    let args = sized(&suite, &target);
    let folders = run_shards(dir.path(), "shard", &args, 3, |_| Shard::Flag);
    let out = dir.path().join("merged");
    // Shard 2 of 3 is lost (its pod was evicted, say): its folder was never written.
    let lost = dir.path().join("shard-2-never-written");
    let given = [folders[0].clone(), lost, folders[2].clone()];
    let merged = merge(&given, &out, &["--target", &target]);
    assert!(text(&merged).contains("left out"), "{}", text(&merged));
    assert_eq!(merged.status.code(), Some(3), "{}", text(&merged));
    assert!(
        text(&merged).contains("missing: shard 2"),
        "{}",
        text(&merged)
    );
    let manifest = read_json(&folders[0].join("shard.json"));
    for entry in manifest["scenarios"].as_array().expect("scenarios") {
        let name = entry["name"].as_str().unwrap_or_default();
        let verdict = &verdicts(&out)[name];
        match (entry["placement"].as_str(), entry["shard"].as_u64()) {
            // Whole on a shard that is there: its own verdict.
            (Some("whole"), Some(shard)) if shard != 2 => assert_eq!(verdict, "PASS", "{name}"),
            // Any part on the missing shard: not judged.
            _ => assert_eq!(verdict, "INCONCLUSIVE", "{name}"),
        }
    }
    server.stop();
}

#[test]
fn folders_of_different_runs_are_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_scenario(
        dir.path(),
        "summed.toml",
        &summed_scenario("http://127.0.0.1:1"),
    );
    let records = history_of(0, 1);
    hand_built_shard(&dir.path().join("a"), 1, &records, &file);
    hand_built_shard(&dir.path().join("b"), 1, &records, &file);
    let same = merge(
        &[dir.path().join("a"), dir.path().join("b")],
        &dir.path().join("m"),
        &[],
    );
    assert_eq!(same.status.code(), Some(2), "{}", text(&same));
    assert!(
        text(&same).contains("are the same shard"),
        "{}",
        text(&same)
    );
    let mut manifest = read_json(&dir.path().join("b/shard.json"));
    manifest["shard"] = 2.into();
    manifest["run_key"] = "another run".into();
    std::fs::write(dir.path().join("b/shard.json"), manifest.to_string()).unwrap();
    let other = merge(
        &[dir.path().join("a"), dir.path().join("b")],
        &dir.path().join("m"),
        &[],
    );
    assert_eq!(other.status.code(), Some(2), "{}", text(&other));
    assert!(text(&other).contains("run keys differ"), "{}", text(&other));
    let none = merge(&[dir.path().to_path_buf()], &dir.path().join("m"), &[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none).contains("shard.json"), "{}", text(&none));
}

#[test]
fn a_split_that_cannot_share_its_resources_is_refused_before_any_traffic() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped sustained scenario has its notes made by the server (POST /notes).
    let shipped = scenario("notes-etag-sustained.toml");
    let shipped = shipped.to_string_lossy();
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut c = command();
        c.args(["run", &shipped, "--no-progress", "--out"])
            .arg(dir.path().join("out"))
            .args(extra);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("contend runs")
    };
    let builtin = run(&["--shard", "1/2", "--run-key", "k"], &[]);
    assert_eq!(builtin.status.code(), Some(2), "{}", text(&builtin));
    assert!(
        text(&builtin).contains("--target URL"),
        "{}",
        text(&builtin)
    );
    let made = run(
        &[
            "--shard",
            "1/2",
            "--run-key",
            "k",
            "--target",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(made.status.code(), Some(2), "{}", text(&made));
    assert!(text(&made).contains("server-made ids"), "{}", text(&made));
    let keyless = run(&["--shard", "1/2", "--target", "http://127.0.0.1:1"], &[]);
    assert!(text(&keyless).contains("--run-key"), "{}", text(&keyless));
    let k8s = run(&[], &[("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(k8s.status.code(), Some(2), "{}", text(&k8s));
    assert!(text(&k8s).contains("CONTEND_SHARDS"), "{}", text(&k8s));
    assert!(!dir.path().join("out").exists(), "nothing ran");
}

#[test]
fn the_kubernetes_configmap_holds_the_scenario_files_byte_for_byte() {
    let repo = common::files::repo();
    let configmap = std::fs::read_to_string(repo.join("deploy/kubernetes/configmap.yaml"))
        .expect("the ConfigMap");
    for (key, file) in [
        (
            "hot-texts.toml",
            repo.join("deploy/scenarios/hot-texts.toml"),
        ),
        (
            "notes-etag-stale-write.toml",
            scenario("notes-etag-stale-write.toml"),
        ),
        ("orders-transition.toml", scenario("orders-transition.toml")),
    ] {
        let text = std::fs::read_to_string(&file).expect("the scenario file");
        let block: Vec<String> = text
            .lines()
            .map(|l| match l {
                "" => String::new(),
                l => format!("    {l}"),
            })
            .collect();
        let expected = format!("  {key}: |\n{}\n", block.join("\n"));
        assert!(
            configmap.contains(&expected),
            "{key} differs from {}",
            file.display()
        );
    }
    let valid = contend(
        &["validate", &repo.join("deploy/scenarios").to_string_lossy()],
        &repo,
    );
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));
}

#[test]
#[cfg(unix)]
fn a_configmap_volume_loads_each_scenario_once() {
    // A ConfigMap volume: the files in a timestamped folder, `..data` linking to it, and
    // a link per file through `..data`.
    let dir = tempfile::tempdir().unwrap();
    let stamped = dir.path().join("..2030_01_01_00_00_00.000000001");
    std::fs::create_dir(&stamped).unwrap();
    std::fs::copy(
        scenario("notes-etag-stale-write.toml"),
        stamped.join("s.toml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&stamped, dir.path().join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/s.toml", dir.path().join("s.toml")).unwrap();
    let valid = contend(&["validate", &dir.path().to_string_lossy()], dir.path());
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));
    assert!(
        text(&valid).contains("1 scenario file(s) valid"),
        "{}",
        text(&valid)
    );
}
