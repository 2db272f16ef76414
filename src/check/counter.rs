//! The `counter` checker: acknowledged increments against the value's growth, with the
//! versions that had more than one winner as the witness.

use std::collections::BTreeMap;

use crate::history::{Outcome, Phase, RequestRecord};

use super::{sample_body, tally, witnesses, CounterReport, Verdict, Violation, ViolationKind};

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    let initial = records
        .iter()
        .find(|r| r.phase == Phase::Setup && r.value.is_some())
        .and_then(|r| r.value);
    let final_value = records
        .iter()
        .rev()
        .find(|r| r.phase == Phase::Final)
        .and_then(|r| r.value);
    let writes: Vec<&RequestRecord> = records
        .iter()
        .copied()
        .filter(|r| r.phase == Phase::Write)
        .collect();

    // Each (writer, increment) ended acknowledged, indeterminate or abandoned.
    let mut increments: BTreeMap<(Option<u32>, u32), Outcome> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| matches!(r.phase, Phase::Read | Phase::Write))
    {
        let end = increments
            .entry((r.writer, r.round))
            .or_insert(Outcome::NotSent);
        if r.phase == Phase::Write
            && (r.outcome == Outcome::Winner
                || (r.outcome == Outcome::Indeterminate && *end != Outcome::Winner))
        {
            *end = r.outcome;
        }
    }
    let mut c = CounterReport {
        increments: increments.len() as u64,
        initial,
        final_value,
        attempts: writes.len() as u64,
        conflicts: writes
            .iter()
            .filter(|w| w.outcome == Outcome::Conflict)
            .count() as u64,
        ..CounterReport::default()
    };
    let mut tries: BTreeMap<(Option<u32>, u32), u32> = BTreeMap::new();
    for w in &writes {
        *tries.entry((w.writer, w.round)).or_insert(0) += 1;
    }
    for n in tries.values() {
        *c.attempts_per_increment.entry(*n).or_insert(0) += 1;
    }
    for end in increments.values() {
        match end {
            Outcome::Winner => c.acknowledged += 1,
            Outcome::Indeterminate => c.indeterminate += 1,
            _ => c.gave_up += 1,
        }
    }

    // Per version: who sent it and how it ended; two winners on one version is the witness.
    let mut versions: Vec<(String, Vec<&RequestRecord>)> = Vec::new();
    for w in &writes {
        let v = w.version_sent.clone().unwrap_or_default();
        match versions.iter_mut().find(|(k, _)| *k == v) {
            Some((_, list)) => list.push(w),
            None => versions.push((v, vec![w])),
        }
    }
    let mut doubled = Vec::new();
    for (i, (_, ws)) in versions.iter().enumerate() {
        let mut report = tally(i as u32, ws);
        if report.winners > 1 {
            report.violations.push(ViolationKind::LostUpdate);
            doubled.push(format!(
                "version {}: {}",
                report.version_sent.as_deref().unwrap_or("?"),
                witnesses(ws, |w| w.outcome == Outcome::Winner)
            ));
        }
        if report.unexpected > 0 {
            report.violations.push(ViolationKind::UnexpectedStatus);
        }
        verdict.rounds.push(report);
    }

    if let (Some(initial), Some(final_value)) = (initial, final_value) {
        let advanced = final_value.saturating_sub(initial);
        let acked = i64::try_from(c.acknowledged).unwrap_or(i64::MAX);
        if advanced < acked {
            c.lost_updates = (acked - advanced) as u64;
            let shown: Vec<String> = doubled.iter().take(3).cloned().collect();
            let more = if doubled.len() > 3 {
                format!(" and {} more versions", doubled.len() - 3)
            } else {
                String::new()
            };
            let e = format!(
                "{} increments acknowledged but the value went from {initial} to {final_value} (+{advanced}): {} acknowledged increment(s) lost{}",
                c.acknowledged,
                c.lost_updates,
                if shown.is_empty() {
                    String::new()
                } else {
                    format!("; writes that won with the same version: {}{more}", shown.join("; "))
                }
            );
            verdict.violations.push(Violation {
                kind: ViolationKind::LostUpdate,
                round: None,
                version: None,
                evidence: e,
            });
        }
        let most = acked.saturating_add(i64::try_from(c.indeterminate).unwrap_or(i64::MAX));
        if advanced > most {
            let e = format!(
                "the value went from {initial} to {final_value} (+{advanced}) but only {} increments were acknowledged and {} indeterminate: rejected writes were applied",
                c.acknowledged, c.indeterminate
            );
            verdict.violations.push(Violation {
                kind: ViolationKind::LoserWriteApplied,
                round: None,
                version: None,
                evidence: e,
            });
        }
    }
    let unexpected: Vec<&RequestRecord> = writes
        .iter()
        .copied()
        .filter(|w| w.outcome == Outcome::Unexpected)
        .collect();
    if !unexpected.is_empty() {
        let e = format!(
            "{} write(s) got a status that is neither a winner nor the promised conflict ({}){}",
            unexpected.len(),
            witnesses(&unexpected, |_| true),
            sample_body(&unexpected, Outcome::Unexpected)
        );
        verdict.violations.push(Violation {
            kind: ViolationKind::UnexpectedStatus,
            round: None,
            version: None,
            evidence: e,
        });
    }
    verdict.lost_updates = c.lost_updates;
    verdict.counter = Some(c);
}
