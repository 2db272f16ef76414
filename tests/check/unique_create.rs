//! The unique-create checker: one create per key succeeds and the read finds exactly
//! one resource with it.

use contend::check::ViolationKind;
use contend::history::{Outcome, Phase, RequestRecord};

use crate::common::records::record;
use crate::{kinds, verdict, write, LOSE, TIMEOUT, WIN};

/// A unique-create round: writes, then a read that found `found` (None: a 2xx without a
/// count) carrying the markers of `shown` writers.
pub fn create_round(
    outcomes: &[(Outcome, Option<u16>)],
    found: Option<i64>,
    shown: &[u32],
) -> Vec<RequestRecord> {
    let mut out: Vec<RequestRecord> = outcomes
        .iter()
        .enumerate()
        .map(|(w, (o, s))| write("unique-create", 0, w as u32, *o, *s, "409"))
        .collect();
    let mut verify = record("unique-create", Phase::Verify, 0, None);
    verify.value = found;
    verify.body = shown
        .iter()
        .map(|w| format!("m-r0000-w{w:04}"))
        .collect::<Vec<_>>()
        .join(",");
    out.push(verify);
    out
}

#[test]
fn one_create_and_one_resource_with_the_key_passes() {
    let v = verdict(&create_round(&[WIN, LOSE, LOSE], Some(1), &[0]));
    assert!(v.passed(), "{:?}", v.violations);
    assert_eq!(v.rounds[0].applied, "w0");
}

#[test]
fn two_creates_with_one_key_are_a_duplicate_create() {
    let v = verdict(&create_round(&[WIN, WIN, LOSE], Some(2), &[0, 1]));
    assert_eq!(kinds(&v), [ViolationKind::DuplicateCreate]);
    assert_eq!(
        v.violations[0].evidence,
        "2 creates with the same key succeeded (w0 201, w1 201) and the read found 2 resources with the key; the key must be unique"
    );
    assert_eq!(v.rounds[0].violations, [ViolationKind::DuplicateCreate]);
}

#[test]
fn one_acknowledged_create_but_two_resources_is_a_duplicate_create_too() {
    // One writer was told 409, but its create was stored as well.
    let v = verdict(&create_round(&[WIN, LOSE, LOSE], Some(2), &[0]));
    assert_eq!(kinds(&v), [ViolationKind::DuplicateCreate]);
}

#[test]
fn an_acknowledged_create_the_read_cannot_find_is_winner_not_visible() {
    let v = verdict(&create_round(&[WIN, LOSE], Some(0), &[]));
    assert_eq!(kinds(&v), [ViolationKind::WinnerNotVisible]);
}

#[test]
fn every_create_refused_for_a_free_key_is_no_winner_unless_one_timed_out() {
    let v = verdict(&create_round(&[LOSE, LOSE], Some(0), &[]));
    assert_eq!(kinds(&v), [ViolationKind::NoWinner]);
    let v = verdict(&create_round(&[LOSE, TIMEOUT], Some(1), &[1]));
    assert!(
        v.passed(),
        "a timed-out create may have made it: {:?}",
        v.violations
    );
}

#[test]
fn a_refused_create_whose_write_is_stored_is_loser_write_applied() {
    // Without `count`: the read says the key exists and shows the refused writer's body.
    let v = verdict(&create_round(&[LOSE, LOSE], None, &[1]));
    assert_eq!(kinds(&v), [ViolationKind::LoserWriteApplied]);
    let v = verdict(&create_round(&[WIN, LOSE], None, &[1]));
    assert_eq!(kinds(&v), [ViolationKind::LoserWriteApplied]);
}
