//! The `counter` checker: acknowledged increments against the value's growth, with the
//! versions that had more than one winner as the witness.
//!
//! Each client strategy ran on its own resource, so each is checked on its own (its
//! records carry its name); the scenario's figures are the sums.

use std::collections::BTreeMap;

use crate::history::{Outcome, Phase, RequestRecord};

use super::sustained::{count_first, stood_for, VersionValues};
use super::{
    answers, definite, phantoms, tally, witnesses, CounterReport, Judged, Verdict, Violation,
    ViolationKind, Warning,
};

pub(super) fn check(records: &[&RequestRecord], verdict: &mut Verdict) {
    let mut strategies: Vec<Option<&str>> = Vec::new();
    // A `[[setup]]` step (a login) belongs to no strategy: it is not a strategy of its own.
    let step = |r: &RequestRecord| r.phase == Phase::Setup && r.strategy.is_none();
    for r in records.iter().filter(|r| !step(r)) {
        if !strategies.contains(&r.strategy.as_deref()) {
            strategies.push(r.strategy.as_deref());
        }
    }
    let several = strategies.len() > 1;
    let mut total = CounterReport::default();
    for strategy in strategies {
        let mine: Vec<&RequestRecord> = records
            .iter()
            .copied()
            .filter(|r| r.strategy.as_deref() == strategy)
            .collect();
        let label = match strategy {
            Some(name) if several => format!("strategy {name}: "),
            _ => String::new(),
        };
        let c = check_strategy(&mine, &label, verdict);
        total.increments += c.increments;
        total.acknowledged += c.acknowledged;
        total.indeterminate += c.indeterminate;
        total.gave_up += c.gave_up;
        total.judged += c.judged;
        total.lost_updates += c.lost_updates;
        total.attempts += c.attempts;
        total.conflicts += c.conflicts;
        for (attempts, increments) in &c.attempts_per_increment {
            *total.attempts_per_increment.entry(*attempts).or_insert(0) += increments;
        }
        // One value from start to end only when one strategy ran on one counter.
        if !several {
            total.initial = c.initial;
            total.final_value = c.final_value;
        }
    }
    verdict.lost_updates = total.lost_updates;
    verdict.judged = Judged {
        unit: "increments",
        total: total.increments,
        judged: total.judged,
    };
    verdict.counter = Some(total);
}

/// Checks one counter's records (one strategy's, or one sustained resource's); `label`
/// prefixes its evidence when there are several.
pub(super) fn check_strategy(
    records: &[&RequestRecord],
    label: &str,
    verdict: &mut Verdict,
) -> CounterReport {
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

    // Each (writer, increment) ended acknowledged, indeterminate or abandoned, and
    // whether any of its writes got a definite answer.
    let mut increments: BTreeMap<(Option<u32>, u32), (Outcome, bool)> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| matches!(r.phase, Phase::Read | Phase::Write))
    {
        let (end, answered) = increments
            .entry((r.writer, r.round))
            .or_insert((Outcome::NotSent, false));
        if r.phase == Phase::Write
            && (r.outcome == Outcome::Winner
                || (r.outcome == Outcome::Indeterminate && *end != Outcome::Winner))
        {
            *end = r.outcome;
        }
        *answered |= r.phase == Phase::Write && definite(r.outcome);
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
    for (end, answered) in increments.values() {
        match end {
            Outcome::Winner => c.acknowledged += 1,
            Outcome::Indeterminate => c.indeterminate += 1,
            _ => c.gave_up += 1,
        }
        if *end == Outcome::Winner || (*end != Outcome::Indeterminate && *answered) {
            c.judged += 1;
        }
    }

    // Per version and value stored: who sent it and how it ended; two winners on one is
    // the witness. (The value keeps apart the states a reused version stood for.)
    type Stored<'a> = (&'a str, Option<i64>);
    let mut versions: Vec<(Stored, Vec<&RequestRecord>)> = Vec::new();
    for w in &writes {
        let v = (w.version_sent.as_deref().unwrap_or_default(), w.value);
        match versions.iter_mut().find(|(k, _)| *k == v) {
            Some((_, list)) => list.push(w),
            None => versions.push((v, vec![w])),
        }
    }
    let reused = reused_versions(records);
    let mut doubled = Vec::new();
    let mut phantom = Vec::new();
    let first_round = verdict.rounds.len() as u32;
    for (i, (_, ws)) in versions.iter().enumerate() {
        let mut report = tally(first_round + i as u32, ws);
        if let Some(e) = phantoms(ws) {
            report.violations.push(ViolationKind::PhantomSuccess);
            phantom.push(format!(
                "version {}: {e}",
                report.version_sent.as_deref().unwrap_or("?")
            ));
        }
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

    let mut violation = |kind: ViolationKind, evidence: String| {
        verdict.violations.push(Violation {
            kind,
            round: None,
            version: None,
            evidence: format!("{label}{evidence}"),
        });
    };
    if let (Some(initial), Some(final_value)) = (initial, final_value) {
        let (lost, found) = growth(
            initial,
            final_value,
            c.acknowledged,
            c.indeterminate,
            &doubled,
            doubled.len(),
        );
        c.lost_updates = lost;
        for (kind, evidence) in found {
            violation(kind, evidence);
        }
    }
    if let Some((first, n)) = reused {
        let more = match n {
            1 => String::new(),
            n => format!(" ({n} reads and answers in all showed a reused version)"),
        };
        violation(ViolationKind::VersionReused, format!("{first}{more}"));
    }
    if let Some(first) = phantom.first() {
        let more = match phantom.len() {
            1 => String::new(),
            n => format!(" ({n} versions in all)"),
        };
        violation(ViolationKind::PhantomSuccess, format!("{first}{more}"));
    }
    let found = answers::check(&writes);
    for (kind, evidence) in found.violations {
        violation(kind, evidence);
    }
    for (kind, evidence) in found.warnings {
        verdict.warnings.push(Warning {
            kind,
            round: None,
            evidence: format!("{label}{evidence}"),
        });
    }
    c
}

/// The first evidence of a version that stood for two values (in reads, or in winners'
/// answers), and how many reads and answers showed one.
fn reused_versions(records: &[&RequestRecord]) -> Option<(String, usize)> {
    let mut values = VersionValues::default();
    let mut found = None;
    for (version, value, at) in records.iter().filter_map(|r| stood_for(r)) {
        count_first(&mut found, values.saw(version, value, at));
    }
    found
}

/// The lost-update arithmetic of one counter, shared with the sustained checker: the
/// value must have grown by at least the acknowledged increments (`lost_update`
/// otherwise, with `doubled`, the versions that had more than one winner, as the
/// witness; `versions_doubled` counts them all when only some are listed) and by at most
/// the acknowledged and indeterminate ones (`loser_write_applied` otherwise). Returns
/// the lost updates and the violations.
pub(super) fn growth(
    initial: i64,
    final_value: i64,
    acknowledged: u64,
    indeterminate: u64,
    doubled: &[String],
    versions_doubled: usize,
) -> (u64, Vec<(ViolationKind, String)>) {
    let mut found = Vec::new();
    let mut lost = 0;
    let advanced = final_value.saturating_sub(initial);
    let acked = i64::try_from(acknowledged).unwrap_or(i64::MAX);
    if advanced < acked {
        lost = (acked - advanced) as u64;
        let shown: Vec<String> = doubled.iter().take(3).cloned().collect();
        let more = if versions_doubled > shown.len() {
            format!(" and {} more versions", versions_doubled - shown.len())
        } else {
            String::new()
        };
        found.push((
            ViolationKind::LostUpdate,
            format!(
                "{acknowledged} increments acknowledged but the value went from {initial} to {final_value} (+{advanced}): {lost} acknowledged increment(s) lost{}",
                if shown.is_empty() {
                    String::new()
                } else {
                    format!("; writes that won with the same version: {}{more}", shown.join("; "))
                }
            ),
        ));
    }
    let most = acked.saturating_add(i64::try_from(indeterminate).unwrap_or(i64::MAX));
    if advanced > most {
        found.push((
            ViolationKind::LoserWriteApplied,
            format!(
                "the value went from {initial} to {final_value} (+{advanced}) but only {acknowledged} increments were acknowledged and {indeterminate} indeterminate: rejected writes were applied"
            ),
        ));
    }
    (lost, found)
}
