//! What the round-based checkers share: a round's records grouped by step, and a
//! collector that files each finding into the round's report and the verdict.

use std::collections::BTreeMap;

use crate::history::{Outcome, Phase, RequestRecord};

use super::{
    answers, tally, ReadBack, RoundReport, Verdict, Violation, ViolationKind, Warning, WarningKind,
};

/// One round's records, by step.
pub(super) struct RoundRecords<'a> {
    pub round: u32,
    /// The read before the race, if the workload makes one.
    pub before: Option<&'a RequestRecord>,
    /// The contended writes, in writer order.
    pub writes: Vec<&'a RequestRecord>,
    /// A request sent on its own after the race (idempotency's replay).
    pub probe: Option<&'a RequestRecord>,
    /// The read after the race.
    pub verify: Option<&'a RequestRecord>,
}

/// The rounds of a history that have writes, in round order.
pub(super) fn rounds<'a>(records: &[&'a RequestRecord]) -> Vec<RoundRecords<'a>> {
    let mut by_round: BTreeMap<u32, RoundRecords<'a>> = BTreeMap::new();
    for r in records {
        let entry = by_round.entry(r.round).or_insert_with(|| RoundRecords {
            round: r.round,
            before: None,
            writes: Vec::new(),
            probe: None,
            verify: None,
        });
        let answered = r.outcome == Outcome::Ok;
        match r.phase {
            Phase::Read if answered => entry.before = Some(r),
            Phase::Write => entry.writes.push(r),
            Phase::Probe => entry.probe = Some(r),
            Phase::Verify if answered => entry.verify = Some(r),
            _ => {}
        }
    }
    by_round
        .into_values()
        .filter(|r| !r.writes.is_empty())
        .collect()
}

/// Collects one round's findings, then files them into the verdict.
pub(super) struct RoundCheck {
    pub report: RoundReport,
    violations: Vec<Violation>,
    warnings: Vec<Warning>,
}

impl RoundCheck {
    /// Tallies a round's writes.
    pub fn new(round: u32, writes: &[&RequestRecord]) -> Self {
        RoundCheck {
            report: tally(round, writes),
            violations: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records a violation of this round.
    pub fn violation(&mut self, kind: ViolationKind, evidence: String) {
        self.report.violations.push(kind);
        self.violations.push(Violation {
            kind,
            round: Some(self.report.round),
            version: self.report.version_sent.clone(),
            evidence,
        });
    }

    /// Records a warning of this round.
    pub fn warning(&mut self, kind: WarningKind, evidence: String) {
        self.report.warnings.push(kind);
        self.warnings.push(Warning {
            kind,
            round: Some(self.report.round),
            evidence,
        });
    }

    /// Runs the checks on the answers themselves (phantom acknowledgements, unexpected
    /// statuses, unactionable conflicts, leaks) over `answers`.
    pub fn answers(&mut self, answers: &[&RequestRecord]) {
        if let Some(evidence) = super::phantoms(answers) {
            self.violation(ViolationKind::PhantomSuccess, evidence);
        }
        let found = answers::check(answers);
        for (kind, evidence) in found.violations {
            self.violation(kind, evidence);
        }
        for (kind, evidence) in found.warnings {
            self.warning(kind, evidence);
        }
    }

    /// Files the round's report and findings into the verdict.
    pub fn finish(self, verdict: &mut Verdict) {
        verdict.violations.extend(self.violations);
        verdict.warnings.extend(self.warnings);
        verdict.rounds.push(self.report);
    }
}

/// The writes whose marker the body carries (as text, or base64-encoded inside it).
pub(super) fn carried<'a>(writes: &[&'a RequestRecord], body: &str) -> Vec<&'a RequestRecord> {
    let state = ReadBack::of(body);
    writes
        .iter()
        .copied()
        .filter(|w| w.marker.as_deref().is_some_and(|m| state.carries(m)))
        .collect()
}

/// "w0 w3": writers as the `applied` column shows them.
pub(super) fn who(writes: &[&RequestRecord]) -> String {
    writes
        .iter()
        .map(|w| w.writer.map_or("probe".into(), |n| format!("w{n}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The writes that a rejected-write check must look at: definite losers.
pub(super) fn rejected<'a>(writes: &[&'a RequestRecord]) -> Vec<&'a RequestRecord> {
    writes
        .iter()
        .copied()
        .filter(|w| matches!(w.outcome, Outcome::Conflict | Outcome::Unexpected))
        .collect()
}
