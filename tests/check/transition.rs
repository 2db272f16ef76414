//! The transition checker: one accepted transition from a state, and the resource ends
//! in the winner's target.

use contend::check::ViolationKind;
use contend::history::{Outcome, Phase, RequestRecord};

use crate::common::records::record;
use crate::{kinds, verdict, write, LOSE, WIN};

/// A transition round from `pending`: writer w asks for `targets[w]`, the read after it
/// finds `end`.
fn transition_round(
    outcomes: &[(Outcome, Option<u16>)],
    targets: &[&str],
    end: &str,
) -> Vec<RequestRecord> {
    let mut before = record("transition", Phase::Read, 0, None);
    before.state = Some("pending".into());
    let mut out = vec![before];
    for (w, (o, s)) in outcomes.iter().enumerate() {
        let mut r = write(
            "transition",
            0,
            w as u32,
            *o,
            s.map(|s| if s == 201 { 200 } else { s }),
            "409",
        );
        r.state = Some(targets[w].into());
        out.push(r);
    }
    let mut verify = record("transition", Phase::Verify, 0, None);
    verify.state = Some(end.into());
    out.push(verify);
    out
}

#[test]
fn one_transition_ending_in_its_target_passes() {
    let v = verdict(&transition_round(
        &[LOSE, WIN, LOSE],
        &["cancelled", "shipped", "cancelled"],
        "shipped",
    ));
    assert!(v.passed(), "{:?}", v.violations);
    assert_eq!(v.rounds[0].version_sent.as_deref(), Some("pending"));
    assert_eq!(v.rounds[0].final_version.as_deref(), Some("shipped"));
    assert_eq!(v.rounds[0].applied, "w1");
}

#[test]
fn two_accepted_transitions_from_one_state_are_an_invalid_transition() {
    let v = verdict(&transition_round(
        &[WIN, WIN],
        &["cancelled", "shipped"],
        "shipped",
    ));
    assert_eq!(kinds(&v), [ViolationKind::InvalidTransition]);
    assert_eq!(
        v.violations[0].evidence,
        "2 transitions from pending were accepted (w0 200 → cancelled, w1 200 → shipped); only one may be; the resource ended shipped"
    );
}

#[test]
fn a_final_state_other_than_the_winners_target_is_an_invalid_transition() {
    let v = verdict(&transition_round(
        &[WIN, LOSE],
        &["cancelled", "shipped"],
        "shipped",
    ));
    assert_eq!(kinds(&v), [ViolationKind::InvalidTransition]);
    assert!(v.violations[0].evidence.ends_with(
        "was told its transition from pending to cancelled won, but the resource ended shipped"
    ));
}

#[test]
fn every_transition_refused_is_no_winner_or_a_refused_one_applied() {
    let v = verdict(&transition_round(
        &[LOSE, LOSE],
        &["cancelled", "shipped"],
        "pending",
    ));
    assert_eq!(kinds(&v), [ViolationKind::NoWinner]);
    let v = verdict(&transition_round(
        &[LOSE, LOSE],
        &["cancelled", "shipped"],
        "cancelled",
    ));
    assert_eq!(kinds(&v), [ViolationKind::LoserWriteApplied]);
}
