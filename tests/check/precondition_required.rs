//! The precondition-required checker: every unconditional write is refused with the
//! promised 428.

use contend::check::ViolationKind;
use contend::history::{Outcome, Phase, RequestRecord};

use crate::common::records::record;
use crate::{kinds, verdict, write};

fn unconditional_round(outcomes: &[(Outcome, Option<u16>)]) -> Vec<RequestRecord> {
    let mut before = record("precondition-required", Phase::Read, 0, None);
    before.version_returned = Some("\"1\"".into());
    let mut out = vec![before];
    for (w, (o, s)) in outcomes.iter().enumerate() {
        out.push(write("precondition-required", 0, w as u32, *o, *s, "428"));
    }
    let mut verify = record("precondition-required", Phase::Verify, 0, None);
    verify.version_returned = Some("\"1\"".into());
    out.push(verify);
    out
}

const REQUIRED: (Outcome, Option<u16>) = (Outcome::Conflict, Some(428));

#[test]
fn every_unconditional_write_refused_with_428_passes() {
    assert!(verdict(&unconditional_round(&[REQUIRED, REQUIRED])).passed());
}

#[test]
fn an_accepted_unconditional_write_is_precondition_not_required() {
    let v = verdict(&unconditional_round(&[
        REQUIRED,
        (Outcome::Winner, Some(200)),
    ]));
    // The state read back does not carry the accepted write either: a phantom.
    assert_eq!(
        kinds(&v),
        [
            ViolationKind::PreconditionNotRequired,
            ViolationKind::PhantomSuccess
        ]
    );
    assert_eq!(
        v.violations[0].evidence,
        "1 of 2 writes without a precondition were accepted (w1 200) where 428 was promised"
    );
}

#[test]
fn a_412_for_a_missing_precondition_reads_as_a_broken_promise() {
    let v = verdict(&unconditional_round(&[
        REQUIRED,
        (Outcome::Unexpected, Some(412)),
    ]));
    assert_eq!(kinds(&v), [ViolationKind::UnexpectedStatus]);
    assert_eq!(
        v.violations[0].evidence,
        "1 write(s) got a status that is neither a winner nor the promised conflict: answered 412 where 428 was promised (w1 412)"
    );
}
