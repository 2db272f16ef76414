//! The counter checker: every acknowledged increment counted, indeterminate ones
//! allowed either way, and each client strategy checked on its own counter.

use contend::check::{check_all, ViolationKind};
use contend::history::{Outcome, Phase, RequestRecord};

use crate::common::records::record;
use crate::stale_write::{rec, WIN};
use crate::{kinds, verdict, write, TIMEOUT};

/// A counter history: `acked` winning increments, `indeterminate` timed-out ones,
/// value read as `initial` before and `final_value` after.
fn counter(acked: u32, indeterminate: u32, initial: i64, final_value: i64) -> Vec<RequestRecord> {
    let mut out = Vec::new();
    let mut setup = rec(Phase::Setup, 0, None, Outcome::Ok, Some(200));
    setup.value = Some(initial);
    out.push(setup);
    for i in 0..acked + indeterminate {
        let (outcome, status) = if i < acked { WIN } else { TIMEOUT };
        // A conflict first, then the final attempt.
        let mut first = rec(Phase::Write, i, Some(i % 4), Outcome::Conflict, Some(412));
        first.version_sent = Some(format!("\"{i}\"").into());
        let mut last = rec(Phase::Write, i, Some(i % 4), outcome, status);
        last.attempt = 2;
        last.version_sent = Some(format!("\"{}\"", i + 1).into());
        out.extend([first, last]);
    }
    let mut fin = rec(Phase::Final, 0, None, Outcome::Ok, Some(200));
    fin.value = Some(final_value);
    out.push(fin);
    for r in &mut out {
        r.workload = contend::scenario::WorkloadId::Counter;
    }
    out
}

#[test]
fn counter_with_every_increment_counted_passes_with_attempt_figures() {
    let verdict = &check_all(&counter(10, 0, 5, 15))[0];
    assert!(verdict.passed(), "{:?}", verdict.violations);
    let c = verdict.counter.as_ref().unwrap();
    assert_eq!((c.acknowledged, c.attempts, c.conflicts), (10, 20, 10));
    assert_eq!(c.attempts_per_success(), Some(2.0));
    assert_eq!(c.conflicts_per_success(), Some(1.0));
}

#[test]
fn counter_missing_acknowledged_increments_is_lost_update() {
    let history = counter(10, 0, 0, 7);
    let verdict = &check_all(&history)[0];
    assert_eq!(kinds(&history), vec![ViolationKind::LostUpdate]);
    assert_eq!(verdict.lost_updates, 3);
    assert!(verdict.violations[0].evidence.contains("went from 0 to 7"));
}

#[test]
fn counter_indeterminate_increments_may_or_may_not_count() {
    assert!(check_all(&counter(10, 2, 0, 10))[0].passed());
    assert!(check_all(&counter(10, 2, 0, 12))[0].passed());
    assert_eq!(
        kinds(&counter(10, 2, 0, 13)),
        vec![ViolationKind::LoserWriteApplied]
    );
}

#[test]
fn counter_two_winners_on_one_version_are_the_lost_update_witness() {
    let mut history = counter(2, 0, 0, 1);
    for r in history.iter_mut().filter(|r| r.outcome == Outcome::Winner) {
        r.version_sent = Some("\"9\"".into());
    }
    let verdict = &check_all(&history)[0];
    assert_eq!(kinds(&history), vec![ViolationKind::LostUpdate]);
    assert!(
        verdict.violations[0].evidence.contains("version \"9\""),
        "{}",
        verdict.violations[0].evidence
    );
}

/// One strategy's counter: `acked` increments that each won at once, from 0 to `end`.
fn strategy_run(strategy: &str, acked: u32, end: i64) -> Vec<RequestRecord> {
    let mut setup = record("counter", Phase::Setup, 0, None);
    setup.value = Some(0);
    let mut out = vec![setup];
    for i in 0..acked {
        let mut w = write("counter", i, 0, Outcome::Winner, Some(200), "412");
        w.version_sent = Some(format!("\"{i}\"").into());
        out.push(w);
    }
    let mut fin = record("counter", Phase::Final, 0, None);
    fin.value = Some(end);
    out.push(fin);
    for r in &mut out {
        r.strategy = Some(strategy.into());
    }
    out
}

#[test]
fn each_strategy_is_checked_on_its_own_counter_and_named_in_the_evidence() {
    let mut history = strategy_run("backoff", 5, 5);
    history.extend(strategy_run("immediate", 5, 3));
    let v = verdict(&history);
    assert_eq!(kinds(&v), [ViolationKind::LostUpdate]);
    assert!(
        v.violations[0].evidence.starts_with(
            "strategy immediate: 5 increments acknowledged but the value went from 0 to 3"
        ),
        "{}",
        v.violations[0].evidence
    );
    let c = v.counter.as_ref().expect("counter figures");
    assert_eq!((c.acknowledged, c.lost_updates), (10, 2));
    assert_eq!(
        (c.initial, c.final_value),
        (None, None),
        "no one value across two counters"
    );
    assert_eq!(v.lost_updates, 2);
}

#[test]
fn counter_a_version_that_stood_for_two_values_is_version_reused_not_a_phantom() {
    // Increments 0 and 5 sent one version and were answered with one new version, but
    // at different states (values 1 and 6), as lighttpd's recurring ETag does: the
    // version was reused, and every increment counted.
    let mut history = counter(10, 0, 0, 10);
    let winners = history.iter_mut().filter(|r| r.outcome == Outcome::Winner);
    for (n, r) in winners.enumerate() {
        r.value = Some(n as i64 + 1);
        r.marker = Some(format!("m{n}"));
        let reused = n == 0 || n == 5;
        r.version_returned = Some(if reused {
            "\"r\"".into()
        } else {
            format!("\"n{n}\"").into()
        });
        if reused {
            r.version_sent = Some("\"9\"".into());
        }
    }
    let verdict = &check_all(&history)[0];
    assert_eq!(kinds(&history), vec![ViolationKind::VersionReused]);
    assert!(
        verdict.violations[0]
            .evidence
            .starts_with("version \"r\" stood for value 1 and,"),
        "{}",
        verdict.violations[0].evidence
    );
    assert!(verdict.violations[0].evidence.contains("for value 6"));
    assert_eq!(verdict.lost_updates, 0);
}
