//! `--junit FILE`: the run as JUnit XML, so CI systems (GitHub Actions reporters,
//! GitLab, Jenkins) show it natively.
//!
//! One `<testcase>` per scenario. Each violation and each failed threshold is a
//! `<failure>` with its evidence (at most [`FAILURES_PER_KIND`] per violation kind, then
//! one that counts the rest). A scenario that could not run is an `<error>`; one that
//! judged too little is an `<error type="inconclusive">`; one that was interrupted is an
//! `<error type="incomplete">`; one never started is `<skipped>`.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use super::{by_kind, RunInfo, ScenarioResult};

/// Failures written per violation kind before the rest are summed up in one.
pub const FAILURES_PER_KIND: usize = 100;

/// Renders the JUnit document for a run.
pub fn render(info: &RunInfo, results: &[ScenarioResult], report_dir: Option<&str>) -> String {
    let failures = results.iter().filter(|r| !r.passed()).count();
    let errors = results
        .iter()
        .filter(|r| r.passed() && (r.error.is_some() || !r.complete || r.inconclusive().is_some()))
        .count();
    let skipped = info.not_run.len();
    let tests = results.len() + skipped;
    let time: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"contend\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"contend\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\" timestamp=\"{}\">",
        escape(info.started().trim_end_matches('Z'))
    );
    x.push_str("    <properties>\n");
    let complete = info.complete(results);
    let mut properties = vec![
        ("complete", complete.to_string()),
        ("contend_version", env!("CARGO_PKG_VERSION").to_string()),
    ];
    if let Some(seed) = info.seed {
        properties.push(("seed", seed.to_string()));
    }
    if let Some(dir) = report_dir {
        properties.push(("reports", dir.to_string()));
    }
    for (name, value) in properties {
        let _ = writeln!(
            x,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(&value)
        );
    }
    x.push_str("    </properties>\n");
    for r in results {
        testcase(&mut x, r);
    }
    for name in &info.not_run {
        let _ = writeln!(
            x,
            "    <testcase name=\"{}\" classname=\"contend\" time=\"0\">\n      <skipped message=\"not run: the run was interrupted before this scenario\"/>\n    </testcase>",
            escape(name)
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn testcase(x: &mut String, r: &ScenarioResult) {
    let v = &r.verdict;
    let _ = writeln!(
        x,
        "    <testcase name=\"{}\" classname=\"contend.{}\" time=\"{:.3}\">",
        escape(&v.scenario),
        escape(v.workload.name()),
        r.duration.as_secs_f64()
    );
    for group in by_kind(&v.violations) {
        let (kind, found) = (group.kind, &group.found);
        for violation in found.iter().take(FAILURES_PER_KIND) {
            let at = match (&violation.round, &violation.version) {
                (Some(round), Some(version)) => format!("round {round}, version {version}: "),
                (Some(round), None) => format!("round {round}: "),
                _ => String::new(),
            };
            let message = format!("{kind}: {at}{}", violation.evidence);
            failure(x, kind.name(), &message, &message);
        }
        if found.len() > FAILURES_PER_KIND {
            let rest = found.len() - FAILURES_PER_KIND;
            let message = format!("{kind}: {rest} more violation(s) of this kind; see rounds.csv");
            failure(x, kind.name(), &message, &message);
        }
    }
    for t in r.failed_thresholds() {
        let message = format!("threshold failed: {}", t.describe());
        failure(x, "threshold", &message, &message);
    }
    if let Some(e) = &r.error {
        let _ = writeln!(
            x,
            "      <error type=\"error\" message=\"{}\">{}</error>",
            escape(format!("could not run to the end: {e}")),
            escape(e)
        );
    } else if let Some(why) = r.inconclusive() {
        let _ = writeln!(
            x,
            "      <error type=\"inconclusive\" message=\"{}\">{}</error>",
            escape(format!("INCONCLUSIVE: {why}")),
            escape(&why)
        );
    } else if !r.complete {
        let message =
            "incomplete: the run was interrupted; the figures cover only what was measured";
        let _ = writeln!(
            x,
            "      <error type=\"incomplete\" message=\"{message}\">{message}</error>"
        );
    }
    let _ = writeln!(
        x,
        "      <system-out>{}</system-out>",
        escape(system_out(r))
    );
    x.push_str("    </testcase>\n");
}

fn failure(x: &mut String, kind: &str, message: &str, body: &str) {
    let _ = writeln!(
        x,
        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
        escape(kind),
        escape(message),
        escape(body)
    );
}

/// The figures a reader of the CI page wants next to the verdict.
fn system_out(r: &ScenarioResult) -> String {
    let v = &r.verdict;
    let c = &v.counts;
    let mut out = format!(
        "target {}\nverdict {}; rounds {}, writes {}, winners {}, conflicts {}, unexpected {}, indeterminate {}, not sent {}, lost updates {}",
        r.target,
        r.status(),
        v.rounds.len(),
        c.writes,
        c.winners,
        c.conflicts,
        c.unexpected,
        c.indeterminate,
        c.not_sent,
        v.lost_updates
    );
    for t in &r.thresholds {
        let _ = write!(out, "\nthreshold {}: {}", t.status.name(), t.describe());
    }
    out
}
