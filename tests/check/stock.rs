//! The stock checker: no more claims succeed than there are units, and every unit
//! goes to an acknowledged claim.

use contend::check::ViolationKind;
use contend::history::{Outcome, Phase, RequestRecord};

use crate::common::records::record;
use crate::{kinds, verdict, write, LOSE, TIMEOUT, WIN};

/// A stock round with `units` read before and `left` read after.
fn stock_round(units: i64, outcomes: &[(Outcome, Option<u16>)], left: i64) -> Vec<RequestRecord> {
    let mut before = record("stock", Phase::Read, 0, None);
    before.value = Some(units);
    let mut out = vec![before];
    for (w, (o, s)) in outcomes.iter().enumerate() {
        out.push(write("stock", 0, w as u32, *o, *s, "409"));
    }
    let mut verify = record("stock", Phase::Verify, 0, None);
    verify.value = Some(left);
    out.push(verify);
    out
}

#[test]
fn exactly_units_claims_and_none_left_passes() {
    let v = verdict(&stock_round(3, &[WIN, LOSE, WIN, WIN, LOSE], 0));
    assert!(v.passed(), "{:?}", v.violations);
    assert_eq!(v.rounds[0].version_sent.as_deref(), Some("3"));
    assert_eq!(v.rounds[0].final_version.as_deref(), Some("0"));
}

#[test]
fn more_claims_than_units_is_an_oversell() {
    let v = verdict(&stock_round(1, &[WIN, WIN, LOSE], -1));
    assert_eq!(kinds(&v), [ViolationKind::Oversell]);
    assert_eq!(
        v.violations[0].evidence,
        "2 claims succeeded but only 1 unit(s) existed (w0 201, w1 201); the count went below zero: -1 left"
    );
}

#[test]
fn units_gone_to_refused_claims_or_kept_by_acknowledged_ones_are_an_oversell() {
    let v = verdict(&stock_round(3, &[WIN, WIN, LOSE, LOSE], 0));
    assert_eq!(kinds(&v), [ViolationKind::Oversell]);
    assert!(v.violations[0]
        .evidence
        .contains("1 unit(s) went to claims that were refused"));
    let v = verdict(&stock_round(3, &[WIN, WIN, WIN, LOSE], 1));
    assert_eq!(kinds(&v), [ViolationKind::Oversell]);
    assert!(v.violations[0]
        .evidence
        .contains("their units can be sold again"));
}

#[test]
fn an_indeterminate_claim_may_or_may_not_have_taken_a_unit() {
    assert!(verdict(&stock_round(3, &[WIN, WIN, TIMEOUT, LOSE], 0)).passed());
    assert!(verdict(&stock_round(3, &[WIN, WIN, TIMEOUT, LOSE], 1)).passed());
}

#[test]
fn claims_refused_while_units_are_left_are_no_winner() {
    let v = verdict(&stock_round(3, &[WIN, LOSE, LOSE, LOSE], 2));
    assert_eq!(kinds(&v), [ViolationKind::NoWinner]);
    assert_eq!(
        v.violations[0].evidence,
        "3 claim(s) were refused (w1 409, w2 409, w3 409) while 2 unit(s) were left"
    );
}
