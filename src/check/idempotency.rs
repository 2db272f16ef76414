//! The `idempotency` checker: per round, the requests that shared one idempotency key
//! made exactly one effect; every 2xx answer (the race's and the replay after it) is the
//! same response; the others got the promised conflict while the first was in flight.

use crate::history::{Outcome, RequestRecord};

use super::round::{rounds, RoundCheck};
use super::{witnesses, Verdict, ViolationKind};

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    for round in rounds(records) {
        let writes = &round.writes;
        let mut c = RoundCheck::new(round.round, writes);
        let mut answers: Vec<&RequestRecord> = writes.clone();
        answers.extend(round.probe);
        let effects = round.verify.and_then(|v| v.value);
        let acknowledged: Vec<&RequestRecord> = answers
            .iter()
            .copied()
            .filter(|w| w.outcome == Outcome::Winner)
            .collect();

        let mut facts = Vec::new();
        if let Some(n) = effects.filter(|n| *n > 1) {
            facts.push(format!(
                "one key made {n} effects ({} acknowledged: {})",
                acknowledged.len(),
                witnesses(&acknowledged, |_| true)
            ));
        }
        // Distinct answers: a replay repeats the original's status and body.
        let mut bodies: Vec<(&RequestRecord, &str)> = Vec::new();
        for w in &acknowledged {
            if !bodies
                .iter()
                .any(|(a, b)| a.status == w.status && *b == w.body.trim())
            {
                bodies.push((w, w.body.trim()));
            }
        }
        if let [(a, body_a), (b, body_b), ..] = bodies.as_slice() {
            facts.push(format!(
                "the acknowledged answers differ ({} {} vs {} {}{}): a replay must repeat the original response",
                witnesses(&[*a], |_| true),
                short(body_a),
                witnesses(&[*b], |_| true),
                short(body_b),
                if bodies.len() > 2 {
                    format!(", {} different answers in all", bodies.len())
                } else {
                    String::new()
                }
            ));
        }
        let race_won = writes.iter().any(|w| w.outcome == Outcome::Winner);
        if let Some(probe) = round
            .probe
            .filter(|p| p.outcome == Outcome::Conflict && race_won)
        {
            facts.push(format!(
                "the same request sent after the original completed got {} instead of a replay",
                probe.status.map_or("?".into(), |s| s.to_string())
            ));
        }
        if !facts.is_empty() {
            c.violation(ViolationKind::IdempotencyViolation, facts.join("; "));
        }

        let undecided = c.report.indeterminate > 0;
        if effects == Some(0) && !acknowledged.is_empty() {
            c.violation(
                ViolationKind::WinnerNotVisible,
                format!(
                    "the request was acknowledged ({}) but the read finds no effect of the key",
                    witnesses(&acknowledged, |_| true)
                ),
            );
        } else if !race_won && !undecided && c.report.not_sent < c.report.writers {
            c.violation(
                ViolationKind::NoWinner,
                format!(
                    "every request with the key was refused ({}) although none had been processed",
                    witnesses(writes, |_| true)
                ),
            );
        }
        c.answers(&answers);
        c.finish(verdict);
    }
}

fn short(body: &str) -> String {
    let cut: String = body.chars().take(120).collect();
    format!("{cut:?}")
}
