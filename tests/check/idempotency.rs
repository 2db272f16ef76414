//! The idempotency checker: one key makes one effect, and a replay repeats the
//! original answer.

use contend::check::ViolationKind;
use contend::history::{Outcome, Phase, RequestRecord};

use crate::common::records::record;
use crate::{kinds, verdict, write, LOSE, WIN};

/// An idempotency round: writes answered with `bodies` (empty for conflicts), a replay
/// probe, and a read that counted `effects`.
fn payment_round(
    writes: &[((Outcome, Option<u16>), &str)],
    probe: ((Outcome, Option<u16>), &str),
    effects: i64,
) -> Vec<RequestRecord> {
    let mut out = Vec::new();
    for (w, ((o, s), body)) in writes.iter().enumerate() {
        let mut r = write("idempotency", 0, w as u32, *o, *s, "409");
        r.body = (*body).into();
        r.marker = None;
        out.push(r);
    }
    let mut p = write("idempotency", 0, 0, probe.0 .0, probe.0 .1, "409");
    p.phase = Phase::Probe;
    p.writer = None;
    p.marker = None;
    p.body = probe.1.into();
    out.push(p);
    let mut verify = record("idempotency", Phase::Verify, 0, None);
    verify.value = Some(effects);
    out.push(verify);
    out
}

const PAID: &str = r#"{"id":"1","amount":100}"#;

#[test]
fn one_effect_with_in_flight_conflicts_and_a_faithful_replay_passes() {
    let v = verdict(&payment_round(
        &[(WIN, PAID), (LOSE, ""), (LOSE, "")],
        (WIN, PAID),
        1,
    ));
    assert!(v.passed(), "{:?}", v.violations);
    // Replays of the same answer while the first is still in flight pass too.
    let v = verdict(&payment_round(&[(WIN, PAID), (WIN, PAID)], (WIN, PAID), 1));
    assert!(v.passed(), "{:?}", v.violations);
}

#[test]
fn two_effects_of_one_key_are_an_idempotency_violation() {
    let other = r#"{"id":"2","amount":100}"#;
    let v = verdict(&payment_round(&[(WIN, PAID), (WIN, other)], (WIN, PAID), 2));
    assert_eq!(kinds(&v), [ViolationKind::IdempotencyViolation]);
    let e = &v.violations[0].evidence;
    assert!(
        e.starts_with("one key made 2 effects (3 acknowledged: w0 201, w1 201, probe 201)"),
        "{e}"
    );
    assert!(e.contains("the acknowledged answers differ"), "{e}");
}

#[test]
fn a_replay_that_differs_or_is_refused_after_completion_is_an_idempotency_violation() {
    let other = r#"{"id":"1","amount":100,"replayed":false}"#;
    let v = verdict(&payment_round(&[(WIN, PAID), (LOSE, "")], (WIN, other), 1));
    assert_eq!(kinds(&v), [ViolationKind::IdempotencyViolation]);
    let replayed_as_200 = verdict(&payment_round(
        &[(WIN, PAID), (LOSE, "")],
        ((Outcome::Winner, Some(200)), PAID),
        1,
    ));
    assert_eq!(
        kinds(&replayed_as_200),
        [ViolationKind::IdempotencyViolation],
        "a replay repeats the original status too"
    );
    let v = verdict(&payment_round(&[(WIN, PAID), (LOSE, "")], (LOSE, ""), 1));
    assert_eq!(kinds(&v), [ViolationKind::IdempotencyViolation]);
    assert!(v.violations[0].evidence.contains(
        "the same request sent after the original completed got 409 instead of a replay"
    ));
}

#[test]
fn every_request_refused_though_none_was_processed_is_no_winner() {
    let v = verdict(&payment_round(&[(LOSE, ""), (LOSE, "")], (WIN, PAID), 1));
    assert_eq!(kinds(&v), [ViolationKind::NoWinner]);
}
