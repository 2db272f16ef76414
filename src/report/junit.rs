//! `--junit FILE`: the run as JUnit XML, so CI systems (Jenkins, GitLab, Azure DevOps,
//! GitHub test-report actions) list every check of every scenario by name.
//!
//! One `<testsuite>` per scenario (for `compare`, per target and scenario), and in it
//! one `<testcase>` per check, each with at most one outcome element, because most CI
//! pages show only the first failure of a test case:
//!
//! - `runs to the end`: an `<error>` when the scenario could not run (ERROR) or was
//!   interrupted (`type="incomplete"`); it carries the scenario's duration.
//! - one per violation kind the workload's checker looks for
//!   ([`crate::scenario::WorkloadRules::checks`], and any other kind found): a
//!   `<failure>` of that type with every witness (up to [`WITNESSES_SHOWN`]), else a
//!   pass.
//! - one per warning kind it looks for (`… (warning)`): a warning never fails a
//!   scenario, so it passes, with its witnesses in `<system-out>` when it was seen.
//!   Skipped would say the check did not run, which is not so.
//! - one per threshold (`threshold EXPR`): a `<failure>` when it failed, `<skipped>`
//!   when there was no data for it.
//! - `conclusive`: an `<error type="inconclusive">` with the reason when too little was
//!   judged (INCONCLUSIVE, exit 3).
//!
//! A check that found nothing in a scenario that is ERROR or INCONCLUSIVE is
//! `<skipped>`, since passing it would claim what was not seen. A scenario never
//! started is a suite whose one case is skipped. The document validates against the
//! Jenkins xUnit plugin's JUnit schema (`junit-10.xsd`), which `.ci/run` checks.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{by_kind, KindGroup, RunInfo, RunStatus, ScenarioResult};
use crate::check::{Violation, ViolationKind, Warning, WarningKind};
use crate::gate::Status;

/// Witnesses written into one violation kind's failure before the rest are counted.
pub const WITNESSES_SHOWN: usize = 100;

/// The test case that says whether a scenario ran to the end.
pub const RUNS_TO_THE_END: &str = "runs to the end";
/// The test case that says whether enough was judged for a verdict.
pub const CONCLUSIVE: &str = "conclusive";

/// Renders the JUnit document for a run.
pub fn render(
    info: &RunInfo,
    results: &[ScenarioResult],
    report_dir: Option<&str>,
) -> std::io::Result<String> {
    let mut report = Report::new("contend");
    let started = timestamp(info);
    let mut time = Duration::ZERO;
    for r in results {
        time += r.duration;
        let mut suite = suite(r, info, report_dir);
        suite.set_timestamp(started);
        report.add_test_suite(suite);
    }
    for name in &info.not_run {
        let mut suite = TestSuite::new(name.as_str());
        suite.set_timestamp(started);
        suite.add_property(Property::new("complete", "false"));
        let mut case = TestCase::new(
            RUNS_TO_THE_END,
            skipped("not run: the run was interrupted before this scenario"),
        );
        case.set_classname(classname(name));
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    report.set_time(time);
    let xml = report.to_string().map_err(std::io::Error::other)?;
    without_root_skipped(&xml)
}

/// The start of the run, as JUnit timestamps carry it (UTC).
fn timestamp(info: &RunInfo) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::<chrono::Utc>::from(info.started_at).fixed_offset()
}

/// `contend.SCENARIO`: Jenkins shows `contend` as the package and the scenario as the
/// class, so its page reads `contend.SCENARIO.multiple_winners`.
fn classname(scenario: &str) -> String {
    format!("contend.{scenario}")
}

/// One scenario's suite: its properties, a case per check, its figures as output.
fn suite(r: &ScenarioResult, info: &RunInfo, report_dir: Option<&str>) -> TestSuite {
    let v = &r.verdict;
    let status = r.run_status();
    let mut suite = TestSuite::new(v.scenario.as_str());
    suite.set_time(r.duration);
    let mut properties = vec![
        ("verdict", status.name().to_string()),
        ("workload", v.workload.name().to_string()),
        ("target", r.target.clone()),
        ("complete", r.complete.to_string()),
        ("contend_version", env!("CARGO_PKG_VERSION").to_string()),
    ];
    if let Some(mode) = r.sync {
        properties.push(("sync", mode.mode.name().to_string()));
        properties.push(("sync_requested", mode.asked().name().to_string()));
    }
    for passed in &r.sync_passed_over {
        properties.push(("sync_passed_over", passed.to_string()));
    }
    if let Some(policy) = r.writer_connections {
        properties.push(("writer_connections", policy.name().to_string()));
    }
    if let Some(seed) = info.seed {
        properties.push(("seed", seed.to_string()));
    }
    if let Some(dir) = report_dir {
        properties.push(("reports", dir.to_string()));
    }
    for (name, value) in properties {
        suite.add_property(Property::new(name, value));
    }
    suite.set_system_out(figures(r));
    let class = classname(&v.scenario);
    // A check that saw nothing in a scenario that could not run, or judged too little,
    // is not a pass.
    let unjudged = match status {
        RunStatus::Error => Some("not judged: the scenario could not run to the end"),
        RunStatus::Inconclusive => Some("not judged: the scenario is INCONCLUSIVE"),
        RunStatus::Pass | RunStatus::Fail => None,
    };
    let mut cases = vec![ran(r)];
    let rounds = v.rounds.len();
    let violations = by_kind(&v.violations);
    for kind in listed(v.workload.rules().checks, &violations) {
        let found = violations.iter().find(|g| g.kind == kind);
        let status = match (found, unjudged) {
            (Some(group), _) => violation_failure(group, rounds),
            (None, Some(why)) => skipped(why),
            (None, None) => TestCaseStatus::success(),
        };
        cases.push(TestCase::new(kind.name(), status));
    }
    let warnings = by_kind(&v.warnings);
    for kind in listed(v.workload.rules().warns, &warnings) {
        let found = warnings.iter().find(|g| g.kind == kind);
        let name = format!("{kind} (warning)");
        let mut case = match (found, unjudged) {
            (None, Some(why)) => TestCase::new(name, skipped(why)),
            _ => TestCase::new(name, TestCaseStatus::success()),
        };
        if let Some(group) = found {
            case.set_system_out(warning_witnesses(group, rounds));
        }
        cases.push(case);
    }
    for t in &r.thresholds {
        let status = match t.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => non_success(
                NonSuccessKind::Failure,
                "threshold",
                format!("threshold failed: {}", t.describe()),
                None,
            ),
            Status::NoData => skipped(&t.describe()),
        };
        cases.push(TestCase::new(format!("threshold {}", t.threshold), status));
    }
    cases.push(TestCase::new(CONCLUSIVE, conclusive(r)));
    for mut case in cases {
        case.set_classname(class.as_str());
        suite.add_test_case(case);
    }
    suite
}

/// The kinds a workload looks for, then any other kind found, in report order.
fn listed<F: super::Finding>(looked_for: &[F::Kind], found: &[KindGroup<'_, F>]) -> Vec<F::Kind> {
    F::KINDS
        .iter()
        .copied()
        .filter(|k| looked_for.contains(k) || found.iter().any(|g| g.kind == *k))
        .collect()
}

/// `runs to the end`: an error when the scenario could not run or was interrupted.
fn ran(r: &ScenarioResult) -> TestCase {
    let status = match &r.error {
        Some(e) => non_success(
            NonSuccessKind::Error,
            "error",
            format!("could not run to the end: {e}"),
            Some(e.clone()),
        ),
        None if !r.complete => non_success(
            NonSuccessKind::Error,
            "incomplete",
            "incomplete: the run was interrupted; the figures cover only what was measured"
                .to_string(),
            None,
        ),
        None => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(RUNS_TO_THE_END, status);
    case.set_time(r.duration);
    case
}

/// `conclusive`: an error with the reason when the scenario is INCONCLUSIVE; skipped
/// when it could not run (that error is `runs to the end`'s).
fn conclusive(r: &ScenarioResult) -> TestCaseStatus {
    if r.error.is_some() {
        return skipped("not judged: the scenario could not run to the end");
    }
    match r.inconclusive() {
        Some(why) => non_success(
            NonSuccessKind::Error,
            "inconclusive",
            format!("INCONCLUSIVE: {why}"),
            Some(why),
        ),
        None => TestCaseStatus::success(),
    }
}

/// One violation kind's failure: the first witness in the message (what a CI page
/// shows), every witness in the body.
fn violation_failure(group: &KindGroup<'_, Violation>, rounds: usize) -> TestCaseStatus {
    let kind: ViolationKind = group.kind;
    let lines = witnesses(&group.found, |x| {
        at(x.round, x.version.as_deref()) + &x.evidence
    });
    let first = lines.first().cloned().unwrap_or_default();
    non_success(
        NonSuccessKind::Failure,
        kind.name(),
        format!("{kind}{}: {first}", group.in_rounds(rounds)),
        Some(lines.join("\n")),
    )
}

/// A warning kind's witnesses, for its case's output.
fn warning_witnesses(group: &KindGroup<'_, Warning>, rounds: usize) -> String {
    let kind: WarningKind = group.kind;
    let lines = witnesses(&group.found, |x| at(x.round, None) + &x.evidence);
    format!("{kind}{}:\n{}", group.in_rounds(rounds), lines.join("\n"))
}

/// Up to [`WITNESSES_SHOWN`] lines, then one that counts the rest.
fn witnesses<T>(found: &[&T], line: impl Fn(&T) -> String) -> Vec<String> {
    let mut lines: Vec<String> = found
        .iter()
        .take(WITNESSES_SHOWN)
        .map(|x| line(x))
        .collect();
    if found.len() > WITNESSES_SHOWN {
        lines.push(format!(
            "… {} more of this kind; see rounds.csv",
            found.len() - WITNESSES_SHOWN
        ));
    }
    lines
}

/// `round 3, version "7": ` before a witness that belongs to a round.
fn at(round: Option<u32>, version: Option<&str>) -> String {
    match (round, version) {
        (Some(round), Some(version)) => format!("round {round}, version {version}: "),
        (Some(round), None) => format!("round {round}: "),
        _ => String::new(),
    }
}

fn non_success(
    kind: NonSuccessKind,
    ty: &str,
    message: String,
    description: Option<String>,
) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_type(ty).set_message(message);
    if let Some(description) = description {
        status.set_description(description);
    }
    status
}

fn skipped(message: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_message(message);
    status
}

/// The figures a reader of the CI page wants next to the checks.
fn figures(r: &ScenarioResult) -> String {
    let v = &r.verdict;
    let c = &v.counts;
    let mut out = format!(
        "target {}\nverdict {}; {} {}, writes {} = winners {} + conflicts {} + unexpected {} + indeterminate {} + not sent {}; lost updates {}",
        r.target,
        r.status(),
        v.judged.total,
        if v.judged.unit.is_empty() { "rounds" } else { v.judged.unit },
        c.writes,
        c.winners,
        c.conflicts,
        c.unexpected,
        c.indeterminate,
        c.not_sent,
        v.lost_updates
    );
    for (outcome, what) in [
        (crate::history::Outcome::Indeterminate, "indeterminate"),
        (crate::history::Outcome::NotSent, "not sent"),
    ] {
        let causes = super::causes_text(&c.causes_of(outcome));
        if !causes.is_empty() {
            out.push_str(&format!("\n{what}: {causes}"));
        }
    }
    for t in &r.thresholds {
        out.push_str(&format!(
            "\nthreshold {}: {}",
            t.status.name(),
            t.describe()
        ));
    }
    out
}

/// quick-junit writes a `skipped` count on `<testsuites>`, which the Jenkins xUnit
/// plugin's schema does not allow there (it rejects such a file); each `<testsuite>`
/// keeps its own. Rewrites the root's start tag without it, event by event.
fn without_root_skipped(xml: &str) -> std::io::Result<String> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    let mut root_done = false;
    loop {
        let event = reader.read_event().map_err(std::io::Error::other)?;
        match event {
            Event::Eof => break,
            Event::Start(start) if !root_done && start.name().as_ref() == b"testsuites" => {
                root_done = true;
                let mut root = BytesStart::new("testsuites");
                for a in start.attributes() {
                    let a = a.map_err(std::io::Error::other)?;
                    if a.key.as_ref() != b"skipped" {
                        root.push_attribute(a);
                    }
                }
                writer.write_event(Event::Start(root))
            }
            other => writer.write_event(other),
        }
        .map_err(std::io::Error::other)?;
    }
    String::from_utf8(writer.into_inner()).map_err(std::io::Error::other)
}
