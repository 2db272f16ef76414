//! The `stale-write` checker: per round, one winner, promised conflicts for the rest, and
//! a final state that carries the winner's write with an advanced version; no two
//! acknowledgements with the same new version (phantoms). A round whose writers all sent
//! a weak token was refused rightly (RFC 9110 §13.1.1): it is a `weak_version_token`
//! warning and judges nothing.
//!
//! Writers may send different requests (`[[write]]`); each record says its method. A
//! `DELETE` carries no marker: its win shows as the resource gone (the read back answered
//! 404), and a resource gone although every `DELETE` was refused is a loser's write
//! applied.

use std::collections::BTreeMap;

use crate::history::{Outcome, Phase, RequestRecord};

use super::ReadBack;
use super::{
    answers, phantoms, tally, weak, witnesses, RoundReport, Verdict, Violation, ViolationKind,
    Warning, WarningKind,
};

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    let mut by_round: BTreeMap<u32, Vec<&RequestRecord>> = BTreeMap::new();
    for r in records {
        if matches!(r.phase, Phase::Write | Phase::Verify | Phase::Probe) {
            by_round.entry(r.round).or_default().push(r);
        }
    }
    for (round, rs) in by_round {
        let writes: Vec<&RequestRecord> = rs
            .iter()
            .copied()
            .filter(|r| r.phase == Phase::Write)
            .collect();
        if writes.is_empty() {
            continue;
        }
        let verify = rs
            .iter()
            .find(|r| r.phase == Phase::Verify && r.outcome == Outcome::Ok);
        let probe = rs.iter().find(|r| r.phase == Phase::Probe);
        let mut report = tally(round, &writes);
        report.final_version = verify.and_then(|v| v.version_returned.clone());
        let mut found = Vec::new();
        let mut add = |kind: ViolationKind, evidence: String, report: &mut RoundReport| {
            report.violations.push(kind);
            found.push(Violation {
                kind,
                round: Some(round),
                version: report.version_sent.clone(),
                evidence,
            });
        };

        if report.winners > 1 {
            verdict.lost_updates += u64::from(report.winners - 1);
            let e = format!(
                "{} writers won with the same version ({}); {} acknowledged update(s) lost",
                report.winners,
                witnesses(&writes, |w| w.outcome == Outcome::Winner),
                report.winners - 1
            );
            add(ViolationKind::MultipleWinners, e, &mut report);
        }
        if let Some(e) = phantoms(&writes) {
            add(ViolationKind::PhantomSuccess, e, &mut report);
        }
        let mut answers = answers::check(&writes);
        for (kind, evidence) in std::mem::take(&mut answers.violations) {
            add(kind, evidence, &mut report);
        }
        let unchanged = verify.is_some_and(|v| v.version_returned == report.version_sent);
        let weak_token = report.version_sent.as_deref().is_some_and(weak);
        if report.winners == 0 && weak_token {
            // If-Match uses the strong comparison: a weak tag never matches, so every
            // refusal was right, and the race tested nothing.
            report.judged = false;
            answers.warnings.push((
                WarningKind::WeakVersionToken,
                format!(
                    "every writer sent the weak version token {} ({}); a weak entity-tag never \
                     matches If-Match (RFC 9110 §13.1.1), so the refusals were correct and \
                     the round raced nothing: the server handed out a weak ETag where a \
                     strong one is required; a server that makes its tag from a one-second \
                     modification time serves it weak for a second after a change, so pace \
                     the rounds past it ([workload] pace = \"1s\")",
                    report.version_sent.as_deref().unwrap_or("?"),
                    witnesses(&writes, |_| true)
                ),
            ));
        } else if report.winners == 0
            && report.indeterminate == 0
            && report.not_sent < report.writers
            && unchanged
        {
            let e = format!(
                "all {} writers were rejected ({}) although version {} was current and still is",
                report.writers,
                witnesses(&writes, |_| true),
                report.version_sent.as_deref().unwrap_or("?")
            );
            add(ViolationKind::NoWinner, e, &mut report);
        }
        let deleted = |w: &&RequestRecord| w.method == "DELETE";
        let gone = verify.is_some_and(|v| v.status == Some(404));
        if gone {
            let deleting_winners: Vec<&RequestRecord> = writes
                .iter()
                .copied()
                .filter(|w| deleted(w) && w.outcome == Outcome::Winner)
                .collect();
            let refused_deletes: Vec<&RequestRecord> = writes
                .iter()
                .copied()
                .filter(|w| {
                    deleted(w) && matches!(w.outcome, Outcome::Conflict | Outcome::Unexpected)
                })
                .collect();
            report.applied = deleting_winners
                .iter()
                .map(|w| w.writer.map_or("probe".into(), |n| format!("w{n}")))
                .collect::<Vec<_>>()
                .join(" ");
            if deleting_winners.is_empty() && !refused_deletes.is_empty() {
                let e = format!(
                    "the resource is gone (the read back answered 404) although every DELETE \
                     was rejected ({})",
                    witnesses(&refused_deletes, |_| true)
                );
                add(ViolationKind::LoserWriteApplied, e, &mut report);
            } else if deleting_winners.is_empty() && report.winners > 0 {
                let e = format!(
                    "the resource is gone (the read back answered 404), but no DELETE won; \
                     the acknowledged writes ({}) are lost",
                    witnesses(&writes, |w| w.outcome == Outcome::Winner)
                );
                add(ViolationKind::WinnerNotVisible, e, &mut report);
            }
        }
        if let Some(verify) = verify.filter(|_| !gone) {
            let state = ReadBack::of(&verify.body);
            let carried: Vec<&&RequestRecord> = writes
                .iter()
                .filter(|w| w.marker.as_deref().is_some_and(|m| state.carries(m)))
                .collect();
            report.applied = carried
                .iter()
                .map(|w| w.writer.map_or("probe".into(), |n| format!("w{n}")))
                .collect::<Vec<_>>()
                .join(" ");
            let losers: Vec<&&RequestRecord> = carried
                .iter()
                .copied()
                .filter(|w| matches!(w.outcome, Outcome::Conflict | Outcome::Unexpected))
                .collect();
            if !losers.is_empty() {
                let e = format!(
                    "the state read back carries the write of {} although it was rejected",
                    witnesses(&losers.iter().map(|w| **w).collect::<Vec<_>>(), |_| true)
                );
                add(ViolationKind::LoserWriteApplied, e, &mut report);
            } else if writes
                .iter()
                .any(|w| deleted(w) && w.outcome == Outcome::Winner)
            {
                let e = format!(
                    "a DELETE won ({}), but the resource read back is still there (version {})",
                    witnesses(&writes, |w| deleted(&w) && w.outcome == Outcome::Winner),
                    report.final_version.as_deref().unwrap_or("?")
                );
                add(ViolationKind::WinnerNotVisible, e, &mut report);
            } else if report.winners > 0 && carried.is_empty() {
                let e = format!(
                    "the state read back (version {}) carries none of the acknowledged writes ({})",
                    report.final_version.as_deref().unwrap_or("?"),
                    witnesses(&writes, |w| w.outcome == Outcome::Winner)
                );
                add(ViolationKind::WinnerNotVisible, e, &mut report);
            }
        }
        if let Some(probe) = probe.filter(|p| p.outcome == Outcome::Winner) {
            let e = format!(
                "a write won with version {v} but the token read back is still {v}, and one more write with {v} was accepted ({})",
                probe.status.map_or("?".into(), |s| s.to_string()),
                v = report.version_sent.as_deref().unwrap_or("?")
            );
            add(ViolationKind::VersionNotAdvanced, e, &mut report);
        }
        verdict.violations.extend(found);
        for (kind, evidence) in answers.warnings {
            report.warnings.push(kind);
            verdict.warnings.push(Warning {
                kind,
                round: Some(round),
                evidence,
            });
        }
        verdict.rounds.push(report);
    }
}
