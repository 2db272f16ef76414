//! The answers themselves, for every workload: server errors and broken promises under
//! contention, conflicts a client cannot act on, and answers that leak internals or
//! misstate their status.

use contend::check::{ViolationKind, WarningKind};
use contend::history::Outcome;

use crate::unique_create::create_round;
use crate::{kinds, verdict, LOSE, WIN};

#[test]
fn server_errors_under_contention_are_counted_with_sample_bodies_apart_from_broken_promises() {
    let mut history = create_round(
        &[
            WIN,
            (Outcome::Unexpected, Some(500)),
            (Outcome::Unexpected, Some(503)),
            (Outcome::Unexpected, Some(412)),
        ],
        Some(1),
        &[0],
    );
    history[1].body = "deadlock detected".into();
    history[2].body = "upstream timed out".into();
    let v = verdict(&history);
    assert_eq!(kinds(&v), [ViolationKind::UnexpectedStatus]);
    assert_eq!(
        v.violations[0].evidence,
        "3 write(s) got a status that is neither a winner nor the promised conflict: answered 412 where 409 was promised (w3 412); 2 answered with a server error under contention (w1 500, w2 503); sample bodies: \"deadlock detected\", \"upstream timed out\""
    );
}

#[test]
fn an_unactionable_conflict_is_a_violation_or_a_warning_as_the_record_says() {
    let mut history = create_round(&[WIN, LOSE, LOSE], Some(1), &[0]);
    history[1].conflict_missing = "violation: json:/existing content-type (text/plain)".into();
    history[1].body = "conflict".into();
    let v = verdict(&history);
    assert_eq!(kinds(&v), [ViolationKind::ConflictNotActionable]);
    assert_eq!(
        v.violations[0].evidence,
        "1 of 2 conflict answer(s) lack what a client needs to recover: w1 409 lacks json:/existing content-type (text/plain); sample body: \"conflict\""
    );

    history[1].conflict_missing = "warning: json:/existing".into();
    let v = verdict(&history);
    assert!(v.passed());
    assert_eq!(v.warned(WarningKind::ConflictNotActionable), 1);
    assert_eq!(v.rounds[0].warnings, [WarningKind::ConflictNotActionable]);
}

#[test]
fn losing_answers_that_leak_internals_are_a_warning_not_a_failure() {
    let mut history = create_round(&[WIN, LOSE], Some(1), &[0]);
    history[1].body =
        r#"{"error":"conflict","detail":"ERROR: duplicate key value violates unique constraint \"users_email_key\""}"#.into();
    let v = verdict(&history);
    assert!(v.passed());
    assert_eq!(v.warned(WarningKind::LeaksInternals), 1);
    assert!(v.warnings[0]
        .evidence
        .contains("w1 409 shows SQL (`duplicate key value violates`)"));
}

#[test]
fn problem_details_whose_status_member_lies_are_a_warning() {
    let mut history = create_round(&[WIN, LOSE], Some(1), &[0]);
    history[1].content_type = "application/problem+json; charset=utf-8".into();
    history[1].body = r#"{"title":"Conflict","status":500}"#.into();
    let v = verdict(&history);
    assert!(v.passed());
    assert_eq!(v.warned(WarningKind::ProblemStatusMismatch), 1);
    assert!(v.warnings[0]
        .evidence
        .ends_with("w1 409 says \"status\": 500"));
}
