//! The `transition` checker: per round, one transition from the start state may
//! succeed, the others get the promised conflict, and the state read afterwards is the
//! winner's target.

use crate::history::{Outcome, RequestRecord};

use super::round::{rounds, RoundCheck};
use super::{witnesses, Verdict, ViolationKind};

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    for round in rounds(records) {
        let writes = &round.writes;
        let mut c = RoundCheck::new(round.round, writes);
        let from = round
            .before
            .and_then(|r| r.state.as_deref().map(str::to_owned));
        let to = round
            .verify
            .and_then(|r| r.state.as_deref().map(str::to_owned));
        let from_text = from.as_deref().unwrap_or("?");
        c.report.version_sent = from.clone();
        c.report.final_version = to.clone();
        let winners: Vec<&RequestRecord> = writes
            .iter()
            .copied()
            .filter(|w| w.outcome == Outcome::Winner)
            .collect();
        if let Some(to) = &to {
            let applied: Vec<&RequestRecord> = writes
                .iter()
                .copied()
                .filter(|w| w.state.as_deref() == Some(to.as_str()) && Some(to) != from.as_ref())
                .collect();
            c.report.applied = super::round::who(&applied);
        }
        let ended = to
            .as_deref()
            .map_or(String::new(), |s| format!("; the resource ended {s}"));

        if winners.len() > 1 {
            c.violation(
                ViolationKind::InvalidTransition,
                format!(
                    "{} transitions from {from_text} were accepted ({}); only one may be{ended}",
                    winners.len(),
                    targets(&winners)
                ),
            );
        } else if let (Some(winner), Some(to)) = (winners.first(), &to) {
            let wanted = winner.state.as_deref().unwrap_or("?");
            if to != wanted && Some(to) != from.as_ref() {
                c.violation(
                    ViolationKind::InvalidTransition,
                    format!(
                        "{} was told its transition from {from_text} to {wanted} won, but the resource ended {to}",
                        targets(&winners)
                    ),
                );
            } else if Some(to) == from.as_ref() && to != wanted {
                c.violation(
                    ViolationKind::WinnerNotVisible,
                    format!(
                        "{} was told its transition to {wanted} won, but the resource is still {to}",
                        targets(&winners)
                    ),
                );
            }
        }
        let undecided = c.report.indeterminate > 0;
        if winners.is_empty() && !undecided && c.report.not_sent < c.report.writers {
            match (&to, &from) {
                (Some(to), Some(from)) if to == from => c.violation(
                    ViolationKind::NoWinner,
                    format!(
                        "every transition from {from} was refused ({}) and the resource is still {to}",
                        witnesses(writes, |_| true)
                    ),
                ),
                (Some(to), _) => c.violation(
                    ViolationKind::LoserWriteApplied,
                    format!(
                        "every transition was refused ({}) but the resource went from {from_text} to {to}",
                        witnesses(writes, |_| true)
                    ),
                ),
                _ => {}
            }
        }
        c.answers(writes);
        c.finish(verdict);
    }
}

/// "w0 200 → cancelled, w1 200 → shipped".
fn targets(writes: &[&RequestRecord]) -> String {
    writes
        .iter()
        .map(|w| {
            format!(
                "{} → {}",
                witnesses(&[*w], |_| true),
                w.state.as_deref().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
