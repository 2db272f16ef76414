//! The JUnit file as a CI page reads it: a test suite per scenario, a test case per
//! check (each violation kind, each warning kind, each threshold, `runs to the end`,
//! `conclusive`), at most one failure or error per case, from `run`, `compare` and
//! `merge` alike, and every file valid against the Jenkins xUnit plugin's JUnit schema.
//!
//! Verdicts here are certain: the toctou bug's 50 ms window is far wider than the
//! spread of writers released together, a `< 1ns` threshold cannot hold, `no-answer`
//! with a 200 ms timeout leaves every write indeterminate, and port 1 refuses.

use std::path::{Path, PathBuf};
use std::process::Command;

use contend::scenario::WorkloadId;

use crate::common::binary::{contend, text};
use crate::common::files::{core_scenarios, repo, scenario_arg};
use crate::{attr, xml_elements};

type Element = (String, Vec<(String, String)>);

/// Each test case of a JUnit file with the outcome elements inside it.
fn cases(path: &Path) -> Vec<(Element, Vec<Element>)> {
    let mut cases: Vec<(Element, Vec<Element>)> = Vec::new();
    for e in xml_elements(path) {
        match e.0.as_str() {
            "testcase" => cases.push((e, Vec::new())),
            "failure" | "error" | "skipped" => {
                cases.last_mut().expect("inside a test case").1.push(e)
            }
            _ => {}
        }
    }
    cases
}

/// The case named `name` of the suite whose class is `contend.SCENARIO`.
fn case<'a>(
    all: &'a [(Element, Vec<Element>)],
    scenario: &str,
    name: &str,
) -> &'a (Element, Vec<Element>) {
    all.iter()
        .find(|(c, _)| {
            attr(c, "name") == name && attr(c, "classname") == format!("contend.{scenario}")
        })
        .unwrap_or_else(|| panic!("no test case {name:?} for {scenario}: {all:?}"))
}

/// The outcome of a case: `pass`, or the element inside it.
fn outcome(case: &(Element, Vec<Element>)) -> &str {
    assert!(
        case.1.len() <= 1,
        "a CI page shows only a case's first outcome, so each has at most one: {case:?}"
    );
    case.1.first().map_or("pass", |e| e.0.as_str())
}

/// A run of the stale-write and counter scenarios against the toctou bug, with a
/// threshold that fails and one that has no data for stale-write.
fn failing_run(dir: &Path) -> PathBuf {
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-stale-write.toml"),
            &scenario_arg("notes-etag-counter.toml"),
            "--bug",
            "toctou",
            "--window",
            "50ms",
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "r",
            "--threshold",
            "latency.winner.p99 < 1ns",
            "--threshold",
            "conflicts_per_success < 1000",
            "--junit",
            "fail.xml",
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    dir.join("fail.xml")
}

#[test]
fn every_check_of_every_scenario_is_a_test_case_of_its_own_with_one_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let path = failing_run(dir.path());
    let elements = xml_elements(&path);
    let suites: Vec<&Element> = elements.iter().filter(|e| e.0 == "testsuite").collect();
    let names: Vec<&str> = suites.iter().map(|s| attr(s, "name")).collect();
    assert_eq!(names, ["notes-etag-stale-write", "notes-etag-counter"]);
    let all = cases(&path);
    for (scenario, workload) in [
        ("notes-etag-stale-write", WorkloadId::StaleWrite),
        ("notes-etag-counter", WorkloadId::Counter),
    ] {
        for kind in workload.rules().checks {
            case(&all, scenario, kind.name());
        }
        for kind in workload.rules().warns {
            let warning = case(&all, scenario, &format!("{kind} (warning)"));
            assert_eq!(outcome(warning), "pass", "a warning never fails");
        }
        assert_eq!(outcome(case(&all, scenario, "runs to the end")), "pass");
        assert_eq!(outcome(case(&all, scenario, "conclusive")), "pass");
        let threshold = case(&all, scenario, "threshold latency.winner.p99 < 1ns");
        assert_eq!(outcome(threshold), "failure");
        assert_eq!(attr(&threshold.1[0], "type"), "threshold");
    }
    let stale = |name: &str| outcome(case(&all, "notes-etag-stale-write", name)).to_string();
    assert_eq!(stale("multiple_winners"), "failure");
    assert_eq!(stale("no_winner"), "pass");
    assert_eq!(
        stale("threshold conflicts_per_success < 1000"),
        "skipped",
        "stale-write measures no conflicts per success"
    );
    let counter = |name: &str| outcome(case(&all, "notes-etag-counter", name)).to_string();
    assert_eq!(counter("lost_update"), "failure");
    assert_eq!(counter("threshold conflicts_per_success < 1000"), "pass");
    assert_eq!(attr(suites[0], "failures"), "2");
    assert_eq!(attr(suites[0], "skipped"), "1");
    let root = elements.iter().find(|e| e.0 == "testsuites").unwrap();
    assert_eq!(attr(root, "failures"), "4");
    assert_eq!(
        attr(root, "skipped"),
        "",
        "the root carries no skipped count: the Jenkins xUnit schema refuses it there"
    );
}

#[test]
fn a_scenario_that_could_not_run_is_an_error_and_its_checks_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-stale-write.toml"),
            "--target",
            "http://127.0.0.1:1",
            "--out",
            "r",
            "--junit",
            "error.xml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let all = cases(&dir.path().join("error.xml"));
    let scenario = "notes-etag-stale-write";
    let ran = case(&all, scenario, "runs to the end");
    assert_eq!(outcome(ran), "error");
    assert!(
        attr(&ran.1[0], "message").starts_with("could not run to the end: "),
        "{ran:?}"
    );
    for kind in WorkloadId::StaleWrite.rules().checks {
        assert_eq!(
            outcome(case(&all, scenario, kind.name())),
            "skipped",
            "{kind} saw nothing, which is no pass"
        );
    }
    assert_eq!(outcome(case(&all, scenario, "conclusive")), "skipped");
}

#[test]
fn an_inconclusive_scenario_is_an_error_of_its_conclusive_case_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-stale-write.toml"),
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
            "inconclusive.xml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let all = cases(&dir.path().join("inconclusive.xml"));
    let scenario = "notes-etag-stale-write";
    let conclusive = case(&all, scenario, "conclusive");
    assert_eq!(outcome(conclusive), "error");
    assert_eq!(attr(&conclusive.1[0], "type"), "inconclusive");
    assert!(
        attr(&conclusive.1[0], "message").starts_with("INCONCLUSIVE: nothing was judged"),
        "{conclusive:?}"
    );
    assert_eq!(outcome(case(&all, scenario, "runs to the end")), "pass");
    assert_eq!(outcome(case(&all, scenario, "multiple_winners")), "skipped");
}

#[test]
fn compare_writes_a_suite_per_target_and_scenario_with_the_same_cases() {
    let dir = tempfile::tempdir().unwrap();
    let o = contend(
        &[
            "compare",
            &scenario_arg("notes-etag-stale-write.toml"),
            "--target",
            "builtin",
            "--target",
            "bugged=builtin:toctou",
            "--window",
            "50ms",
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "cmp",
            "--junit",
            "compare.xml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let path = dir.path().join("compare.xml");
    let suites: Vec<String> = xml_elements(&path)
        .iter()
        .filter(|e| e.0 == "testsuite")
        .map(|e| attr(e, "name").to_string())
        .collect();
    assert_eq!(
        suites,
        [
            "builtin / notes-etag-stale-write",
            "bugged / notes-etag-stale-write"
        ]
    );
    let all = cases(&path);
    assert_eq!(
        outcome(case(
            &all,
            "builtin / notes-etag-stale-write",
            "multiple_winners"
        )),
        "pass"
    );
    assert_eq!(
        outcome(case(
            &all,
            "bugged / notes-etag-stale-write",
            "multiple_winners"
        )),
        "failure"
    );
}

/// Shard `i` of 2 of the stale-write and counter scenarios against the toctou bug (each
/// scenario whole on one shard, on a built-in server of its own), into `shard-<i>`.
pub(crate) fn toctou_shard(dir: &Path, i: u32) -> PathBuf {
    let out = format!("shard-{i}");
    let o = contend(
        &[
            "run",
            &scenario_arg("notes-etag-stale-write.toml"),
            &scenario_arg("notes-etag-counter.toml"),
            "--bug",
            "toctou",
            "--window",
            "50ms",
            "--writers",
            "3",
            "--rounds",
            "2",
            "--shard",
            &format!("{i}/2"),
            "--run-key",
            "junit",
            "--seed",
            "1",
            "--no-progress",
            "--out",
            &out,
        ],
        dir,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    dir.join(out)
}

#[test]
fn merge_writes_a_test_case_per_check_and_a_missing_shard_fails_the_conclusive_case() {
    let dir = tempfile::tempdir().unwrap();
    let shards = [toctou_shard(dir.path(), 1), toctou_shard(dir.path(), 2)];
    let (one, two) = (shards[0].to_str().unwrap(), shards[1].to_str().unwrap());
    let o = contend(
        &[
            "merge",
            one,
            two,
            "--out",
            "merged",
            "--junit",
            "merged.xml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let all = cases(&dir.path().join("merged.xml"));
    for (scenario, workload, broken) in [
        (
            "notes-etag-stale-write",
            WorkloadId::StaleWrite,
            "multiple_winners",
        ),
        ("notes-etag-counter", WorkloadId::Counter, "lost_update"),
    ] {
        for kind in workload.rules().checks {
            let expected = if kind.name() == broken {
                "failure"
            } else {
                "pass"
            };
            assert_eq!(
                outcome(case(&all, scenario, kind.name())),
                expected,
                "{scenario}: {kind}"
            );
        }
        assert_eq!(outcome(case(&all, scenario, "conclusive")), "pass");
    }

    // Without shard 2, its scenario is not judged: an error of its conclusive case.
    let o = contend(
        &["merge", one, "--out", "half", "--junit", "half.xml"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let manifest = crate::common::reports::read_json(&shards[0].join("shard.json"));
    let on_two = manifest["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|s| s["shard"].as_u64() == Some(2))
        .and_then(|s| s["name"].as_str())
        .expect("a scenario on shard 2")
        .to_string();
    let all = cases(&dir.path().join("half.xml"));
    let conclusive = case(&all, &on_two, "conclusive");
    assert_eq!(outcome(conclusive), "error");
    assert!(
        attr(&conclusive.1[0], "message").starts_with("INCONCLUSIVE: not judged: "),
        "{conclusive:?}"
    );
}

/// Validates `files` with `scripts/junit-schema.sh` (against both versions of the
/// Jenkins xUnit plugin's `junit-10.xsd`), failing with what the validator said.
fn assert_valid_junit(files: &[PathBuf]) {
    let o = Command::new("bash")
        .arg(repo().join("scripts/junit-schema.sh"))
        .arg("validate")
        .args(files)
        .output()
        .expect("bash runs the validator script");
    assert!(
        o.status.success(),
        "invalid JUnit: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
#[ignore = "needs python3 and PyPI (xmlschema, the schema); .ci/run runs it with --ignored"]
fn junit_files_of_every_verdict_validate_against_the_jenkins_junit_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![failing_run(dir.path())];
    let run = |args: &[&str], file: &str, code: i32| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--junit", file]);
        let o = contend(&all, dir.path());
        assert_eq!(o.status.code(), Some(code), "{}", text(&o));
        dir.path().join(file)
    };
    let core = core_scenarios(dir.path());
    files.push(run(
        &[
            "run",
            &core,
            "--writers",
            "2",
            "--rounds",
            "2",
            "--out",
            "p",
        ],
        "pass.xml",
        0,
    ));
    files.push(run(
        &["run", &core, "--target", "http://127.0.0.1:1", "--out", "e"],
        "error.xml",
        2,
    ));
    let stale = scenario_arg("notes-etag-stale-write.toml");
    files.push(run(
        &[
            "run",
            &stale,
            "--fault",
            "no-answer",
            "--timeout",
            "200ms",
            "--writers",
            "2",
            "--rounds",
            "2",
            "--out",
            "i",
        ],
        "inconclusive.xml",
        3,
    ));
    files.push(run(
        &[
            "compare",
            &stale,
            "--target",
            "builtin",
            "--target",
            "builtin:toctou",
            "--window",
            "50ms",
            "--writers",
            "3",
            "--rounds",
            "2",
            "--out",
            "c",
        ],
        "compare.xml",
        1,
    ));
    let history = dir.path().join("r/requests.csv");
    files.push(run(
        &[
            "check",
            history.to_str().unwrap(),
            "--threshold",
            "latency.winner.p99 < 1ns",
        ],
        "check.xml",
        1,
    ));
    let shard = toctou_shard(dir.path(), 1);
    files.push(run(
        &["merge", shard.to_str().unwrap(), "--out", "m"],
        "merge.xml",
        1,
    ));
    assert_valid_junit(&files);
}
