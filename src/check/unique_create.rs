//! The `unique-create` checker: per round, one create may succeed with a key, every
//! other writer gets the promised conflict, and the read afterwards finds exactly one
//! resource with the key.

use crate::history::{Outcome, RequestRecord};

use super::round::{carried, rejected, rounds, who, RoundCheck};
use super::{witnesses, Verdict, ViolationKind};

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    for round in rounds(records) {
        let writes = &round.writes;
        let mut c = RoundCheck::new(round.round, writes);
        // The read answers 404 (counted as 0) or 2xx; without a `count` a 2xx only says
        // that at least one exists.
        let found = round.verify.map(|v| match v.value {
            Some(n) => Found::Exactly(n),
            None => Found::AtLeastOne,
        });
        let winners = c.report.winners;
        let duplicated = matches!(found, Some(Found::Exactly(n)) if n > 1);
        if winners > 1 || duplicated {
            let mut facts = Vec::new();
            if winners > 1 {
                facts.push(format!(
                    "{winners} creates with the same key succeeded ({})",
                    witnesses(writes, |w| w.outcome == Outcome::Winner)
                ));
            }
            if let Some(Found::Exactly(n)) = found.filter(|_| duplicated) {
                facts.push(format!("the read found {n} resources with the key"));
            }
            c.violation(
                ViolationKind::DuplicateCreate,
                format!("{}; the key must be unique", facts.join(" and ")),
            );
        }
        let undecided = c.report.indeterminate > 0;
        let sent = c.report.not_sent < c.report.writers;
        match found {
            Some(Found::Exactly(0)) if winners > 0 => c.violation(
                ViolationKind::WinnerNotVisible,
                format!(
                    "the create was acknowledged ({}) but the read finds no resource with the key",
                    witnesses(writes, |w| w.outcome == Outcome::Winner)
                ),
            ),
            Some(Found::Exactly(0)) if !undecided && sent => c.violation(
                ViolationKind::NoWinner,
                format!(
                    "all {} creates were refused ({}) although the key was free, and the read finds none",
                    c.report.writers,
                    witnesses(writes, |_| true)
                ),
            ),
            Some(_) if winners == 0 && !undecided && sent => c.violation(
                ViolationKind::LoserWriteApplied,
                format!(
                    "every create was refused ({}) but the read finds a resource with the key",
                    witnesses(writes, |_| true)
                ),
            ),
            _ => {}
        }
        if let Some(verify) = round.verify {
            let applied = carried(writes, &verify.body);
            c.report.applied = who(&applied);
            let losers = rejected(&applied);
            let said = c
                .report
                .violations
                .contains(&ViolationKind::LoserWriteApplied);
            if !losers.is_empty() && winners <= 1 && !said {
                c.violation(
                    ViolationKind::LoserWriteApplied,
                    format!(
                        "the read shows the write of {} although it was refused",
                        witnesses(&losers, |_| true)
                    ),
                );
            }
        }
        c.answers(writes);
        c.finish(verdict);
    }
}

/// What the read after a round found.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Found {
    Exactly(i64),
    /// A 2xx without a `count`: one or more.
    AtLeastOne,
}
