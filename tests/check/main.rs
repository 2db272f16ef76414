//! The checker as a specification: hand-built histories in, named verdicts and warnings
//! out, one module per workload (and one for the answers every workload gets).

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod counter;
mod idempotency;
mod precondition_required;
mod stale_write;
mod stock;
mod transition;
mod unique_create;

use contend::check::{check_all, Verdict, ViolationKind};
use contend::history::{Outcome, Phase, RequestRecord};

use common::records::record;

/// A write answered `status`, classified as `outcome`, with `promised` conflict statuses.
fn write(
    workload: &str,
    round: u32,
    writer: u32,
    outcome: Outcome,
    status: Option<u16>,
    promised: &str,
) -> RequestRecord {
    let mut r = record(workload, Phase::Write, round, Some(writer));
    r.outcome = outcome;
    r.status = status;
    r.promised = promised.into();
    if status.is_none() {
        r.error = "timed out".into();
    }
    r
}

/// The one verdict of a history.
fn verdict(records: &[RequestRecord]) -> Verdict {
    let verdicts = check_all(records);
    assert_eq!(verdicts.len(), 1);
    verdicts.into_iter().next().expect("one verdict")
}

/// What [`kinds`] reads violations from: a verdict, or a history (checked first, to
/// exactly one verdict).
trait Violations {
    fn violation_kinds(&self) -> Vec<ViolationKind>;
}

impl Violations for Verdict {
    fn violation_kinds(&self) -> Vec<ViolationKind> {
        self.violations.iter().map(|x| x.kind).collect()
    }
}

impl Violations for Vec<RequestRecord> {
    fn violation_kinds(&self) -> Vec<ViolationKind> {
        verdict(self).violation_kinds()
    }
}

/// The kinds of the violations found, in order.
fn kinds(checked: &impl Violations) -> Vec<ViolationKind> {
    checked.violation_kinds()
}

/// A created resource, a conflict and a time-out, as the newer workloads answer.
const WIN: (Outcome, Option<u16>) = (Outcome::Winner, Some(201));
const LOSE: (Outcome, Option<u16>) = (Outcome::Conflict, Some(409));
const TIMEOUT: (Outcome, Option<u16>) = (Outcome::Indeterminate, None);
