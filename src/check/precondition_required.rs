//! The `precondition-required` checker: per round, every write sent without a
//! precondition is refused with the promised status (428), and none is applied; an
//! accepted one that the state read back does not carry was never stored (a phantom).

use crate::history::{Outcome, RequestRecord};

use super::round::{carried, rejected, rounds, who, RoundCheck};
use super::{witnesses, Verdict, ViolationKind};

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    for round in rounds(records) {
        let writes = &round.writes;
        let mut c = RoundCheck::new(round.round, writes);
        let before = round.before.and_then(|r| r.version_returned.clone());
        let after = round.verify.and_then(|r| r.version_returned.clone());
        c.report.version_sent = before.clone();
        c.report.final_version = after.clone();
        if c.report.winners > 0 {
            let promised = writes
                .first()
                .map(|w| {
                    w.promised
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" or ")
                })
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "428".into());
            c.violation(
                ViolationKind::PreconditionNotRequired,
                format!(
                    "{} of {} writes without a precondition were accepted ({}) where {promised} was promised",
                    c.report.winners,
                    c.report.writers,
                    witnesses(writes, |w| w.outcome == Outcome::Winner)
                ),
            );
        }
        if let Some(verify) = round.verify {
            let applied = carried(writes, &verify.body);
            c.report.applied = who(&applied);
            let losers = rejected(&applied);
            let accepted_shown = applied.iter().any(|w| w.outcome == Outcome::Winner);
            if c.report.winners > 0 && !accepted_shown {
                c.violation(
                    ViolationKind::PhantomSuccess,
                    format!(
                        "{} write(s) without a precondition were acknowledged ({}) but the state read back carries none of them: the server acknowledged writes it did not store",
                        c.report.winners,
                        witnesses(writes, |w| w.outcome == Outcome::Winner)
                    ),
                );
            }
            if !losers.is_empty() {
                c.violation(
                    ViolationKind::LoserWriteApplied,
                    format!(
                        "the state read back carries the write of {} although it was refused",
                        witnesses(&losers, |_| true)
                    ),
                );
            } else if c.report.winners == 0
                && c.report.indeterminate == 0
                && before.is_some()
                && after.is_some()
                && before != after
            {
                c.violation(
                    ViolationKind::LoserWriteApplied,
                    format!(
                        "every write was refused but the version went from {} to {}",
                        before.as_deref().unwrap_or("?"),
                        after.as_deref().unwrap_or("?")
                    ),
                );
            }
        }
        c.answers(writes);
        c.finish(verdict);
    }
}
