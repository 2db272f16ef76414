//! The minimal witness of a violation: the fewest exchanges of its round that show it,
//! the way Elle and Knossos hand back the smallest set of operations with an anomaly.
//! For two writers that won with one version, that is the read that gave the version,
//! the two winning writes and the read back that can keep only one of them; for a
//! duplicate create, the two creates and the lookup. [`minimal`] defines it for every
//! [`ViolationKind`] (the match is exhaustive, so a new kind must say its witness), from
//! the records alone, so a saved history gives the same witness as the run.
//!
//! [`witnesses`] picks a bounded set for the reports ([`WitnessSet`]): the first
//! violation of each kind, then the others of the first [`ROUNDS_DRAWN`] violating
//! rounds, at most [`WITNESSES_KEPT`] in all; and the records of those first violating
//! rounds, for their timelines. [`needed`] says which records of one round its
//! witnesses need, so the engine can keep those exchanges as they went.

use std::collections::BTreeMap;

use crate::history::{Outcome, Phase, RequestRecord};

use super::round::{carried, rejected, rounds, RoundRecords};
use super::{check, Verdict, Violation, ViolationKind};

/// The most witnesses kept per scenario.
pub const WITNESSES_KEPT: usize = 20;

/// The violating rounds whose records are kept for a timeline each; the rest are in
/// `rounds.csv`.
pub const ROUNDS_DRAWN: usize = 5;

/// The most writes of a stock witness: the units plus one, as far as this.
const MOST_CLAIMS: usize = 8;

/// What a request of a witness is there for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The read before the race: the version (state, units) the writes carried.
    Read,
    /// A contended write.
    Write,
    /// The read after the race: the state the writes left.
    ReadBack,
    /// One more write with the round's token after the race.
    Probe,
    /// A counter's read after all increments: the final value.
    Final,
}

impl Role {
    /// Its name in witness files: `read`, `write`, `read_back`, `probe`, `final`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::ReadBack => "read_back",
            Role::Probe => "probe",
            Role::Final => "final",
        }
    }

    fn of(phase: Phase) -> Role {
        match phase {
            Phase::Write => Role::Write,
            Phase::Verify => Role::ReadBack,
            Phase::Probe => Role::Probe,
            Phase::Final => Role::Final,
            Phase::Setup | Phase::Read | Phase::Warmup => Role::Read,
        }
    }
}

/// One request of a witness.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub role: Role,
    pub record: RequestRecord,
}

/// The fewest exchanges that show one violation.
#[derive(Debug, Clone, PartialEq)]
pub struct Witness {
    pub kind: ViolationKind,
    pub round: Option<u32>,
    /// The version the writers sent, as the violation names it.
    pub version: Option<String>,
    /// The violation's evidence, as the checker said it.
    pub evidence: String,
    /// What the steps show, in one sentence.
    pub shows: String,
    /// What made the round's resource, when the round made one (`create` each round).
    pub setup: Vec<RequestRecord>,
    /// The requests, in the order they were sent (writes in their release order).
    pub steps: Vec<Step>,
}

impl Witness {
    /// The writers of its writes, in their release order.
    pub fn writers(&self) -> Vec<u32> {
        self.steps
            .iter()
            .filter(|s| s.role == Role::Write)
            .filter_map(|s| s.record.writer)
            .collect()
    }
}

/// One violating round's records, for its timeline: its reads, writes and probe (no
/// warm-ups), bodies left out.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundTrace {
    pub round: u32,
    /// The kinds of violation it showed, in the checker's order.
    pub violations: Vec<ViolationKind>,
    pub records: Vec<RequestRecord>,
}

/// The witnesses and timelines of one scenario, bounded (see the module doc).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WitnessSet {
    pub witnesses: Vec<Witness>,
    /// The first [`ROUNDS_DRAWN`] violating rounds.
    pub rounds: Vec<RoundTrace>,
    /// How many rounds showed a violation in all.
    pub violating_rounds: usize,
}

impl WitnessSet {
    /// The first witness of `kind`, if one was kept.
    pub fn first_of(&self, kind: ViolationKind) -> Option<&Witness> {
        self.witnesses.iter().find(|w| w.kind == kind)
    }
}

/// The witnesses of a verdict's violations and the records of its first violating
/// rounds, from the scenario's records.
pub fn witnesses(verdict: &Verdict, records: &[&RequestRecord]) -> WitnessSet {
    let mut set = WitnessSet::default();
    if verdict.violations.is_empty() {
        return set;
    }
    let by_round: BTreeMap<u32, RoundRecords<'_>> =
        rounds(records).into_iter().map(|r| (r.round, r)).collect();
    let mut violating: Vec<u32> = verdict.violations.iter().filter_map(|v| v.round).collect();
    violating.sort_unstable();
    violating.dedup();
    set.violating_rounds = violating.len();
    let drawn: Vec<u32> = violating.iter().copied().take(ROUNDS_DRAWN).collect();
    let whole = Scope::whole(records);
    for v in &verdict.violations {
        let first_of_kind = set.first_of(v.kind).is_none();
        let early = v.round.is_some_and(|r| drawn.contains(&r));
        let room = early && set.witnesses.len() < WITNESSES_KEPT;
        if !(first_of_kind || room) {
            continue;
        }
        let scope = match v.round {
            Some(n) => match by_round.get(&n) {
                Some(round) => Scope::round(round, records),
                None => continue,
            },
            None => whole.clone(),
        };
        if let Some(w) = witness(v, &scope) {
            set.witnesses.push(w);
        }
    }
    for n in drawn {
        let kinds: Vec<ViolationKind> = verdict
            .violations
            .iter()
            .filter(|v| v.round == Some(n))
            .map(|v| v.kind)
            .collect();
        let own = own_create(records, n);
        let kept: Vec<RequestRecord> = records
            .iter()
            .filter(|r| r.round == n && in_rounds(r))
            .filter(|r| match r.phase {
                Phase::Warmup => false,
                Phase::Setup => own.is_some_and(|own| std::ptr::eq(own, **r)),
                _ => true,
            })
            .map(|r| RequestRecord {
                body: String::new(),
                ..(*r).clone()
            })
            .collect();
        set.rounds.push(RoundTrace {
            round: n,
            violations: kinds,
            records: kept,
        });
    }
    set
}

/// Whether a record belongs to a round (a counter's reads and writes number their
/// increments in `round`, and its final read has none of its own).
fn in_rounds(r: &RequestRecord) -> bool {
    r.phase != Phase::Final
}

/// Checks one round on its own (the records one round made, in order) and says which
/// of them its violations' witnesses need, as indices into `records`, with the round's
/// own set-up (a resource created for it). Nothing when the round broke no contract.
pub fn needed(records: &[RequestRecord]) -> (Vec<ViolationKind>, Vec<usize>) {
    let Some(first) = records.first() else {
        return (Vec::new(), Vec::new());
    };
    let refs: Vec<&RequestRecord> = records.iter().collect();
    let verdict = check(&first.scenario, first.workload, &refs);
    let mut kinds: Vec<ViolationKind> = Vec::new();
    let mut wanted: Vec<usize> = Vec::new();
    let index = |r: &RequestRecord| records.iter().position(|x| std::ptr::eq(x, r));
    let by_round: BTreeMap<u32, RoundRecords<'_>> =
        rounds(&refs).into_iter().map(|r| (r.round, r)).collect();
    for v in &verdict.violations {
        if !kinds.contains(&v.kind) {
            kinds.push(v.kind);
        }
        let scope = match v.round.and_then(|n| by_round.get(&n)) {
            Some(round) => Scope::round(round, &refs),
            None => Scope::whole(&refs),
        };
        if let Some(steps) = minimal(v.kind, &scope) {
            wanted.extend(steps.iter().filter_map(|(_, r)| index(r)));
            wanted.extend(scope.setup.iter().filter_map(|r| index(r)));
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    (kinds, wanted)
}

/// The records a witness is chosen from: one round's, or a whole counter run's.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    /// What made the round's resource (`create` each round).
    pub setup: Vec<&'a RequestRecord>,
    /// The read before the race (a counter's: its first read).
    pub before: Option<&'a RequestRecord>,
    /// The contended writes, in their release order.
    pub writes: Vec<&'a RequestRecord>,
    pub probe: Option<&'a RequestRecord>,
    /// The read after the race (a counter's: its final read).
    pub verify: Option<&'a RequestRecord>,
}

impl<'a> Scope<'a> {
    fn round(round: &RoundRecords<'a>, records: &[&'a RequestRecord]) -> Scope<'a> {
        let mut writes = round.writes.clone();
        writes.sort_by_key(|w| (w.start_ns, w.writer));
        Scope {
            setup: setup_of(records, round.round),
            before: round.before,
            writes,
            probe: round.probe,
            verify: round.verify,
        }
    }

    /// A run whose writes are not grouped in rounds (a counter's): every write, its
    /// first read and its final read.
    fn whole(records: &[&'a RequestRecord]) -> Scope<'a> {
        let mut writes: Vec<&RequestRecord> = records
            .iter()
            .copied()
            .filter(|r| r.phase == Phase::Write)
            .collect();
        writes.sort_by_key(|w| (w.start_ns, w.writer));
        Scope {
            setup: Vec::new(),
            before: records
                .iter()
                .copied()
                .find(|r| matches!(r.phase, Phase::Read | Phase::Setup) && r.value.is_some()),
            writes,
            probe: None,
            verify: records
                .iter()
                .copied()
                .rfind(|r| r.phase == Phase::Final && r.outcome == Outcome::Ok),
        }
    }

    fn winners(&self, n: usize) -> Vec<&'a RequestRecord> {
        self.writes
            .iter()
            .copied()
            .filter(|w| w.outcome == Outcome::Winner)
            .take(n)
            .collect()
    }
}

/// What made the resource a round raced on: the scenario's set-up (its `[[setup]]`
/// steps and the shared create, sent before anything else) and, where each round
/// creates its own resource, that round's create (the last set-up request before the
/// round's first read).
fn setup_of<'a>(records: &[&'a RequestRecord], round: u32) -> Vec<&'a RequestRecord> {
    let setup = |r: &RequestRecord| r.phase == Phase::Setup;
    let creates = |r: &RequestRecord| setup(r) && !r.method.eq_ignore_ascii_case("GET");
    let first_of = |keep: &dyn Fn(&RequestRecord) -> bool| {
        records
            .iter()
            .filter(|r| !setup(r) && keep(r))
            .map(|r| r.start_ns)
            .min()
    };
    let mut before: Vec<&RequestRecord> = match first_of(&|_| true) {
        Some(start) => records
            .iter()
            .copied()
            .filter(|r| setup(r) && r.start_ns < start)
            .collect(),
        None => records.iter().copied().filter(|r| setup(r)).collect(),
    };
    before.sort_by_key(|r| r.start_ns);
    let Some(own) = own_create(records, round) else {
        return before;
    };
    // Round 0's own create is the last request before the first round.
    if before.last().is_some_and(|r| creates(r)) {
        before.pop();
    }
    before.push(own);
    before
}

/// Where each round creates its own resource: the create of `round` (the last set-up
/// request before the round's first read). `None` where the resource is shared.
fn own_create<'a>(records: &[&'a RequestRecord], round: u32) -> Option<&'a RequestRecord> {
    let creates =
        |r: &RequestRecord| r.phase == Phase::Setup && !r.method.eq_ignore_ascii_case("GET");
    if !records.iter().any(|r| creates(r) && r.round > 0) {
        return None;
    }
    let start = records
        .iter()
        .filter(|r| r.phase != Phase::Setup && r.round == round)
        .map(|r| r.start_ns)
        .min()?;
    records
        .iter()
        .copied()
        .filter(|r| creates(r) && r.round == round && r.start_ns < start)
        .max_by_key(|r| r.start_ns)
}

/// The witness of one violation in `scope`; `None` when its records are not there (a
/// history cut short).
fn witness(v: &Violation, scope: &Scope<'_>) -> Option<Witness> {
    let steps = minimal(v.kind, scope)?;
    let shows = shows(v.kind, &steps, scope);
    Some(Witness {
        kind: v.kind,
        round: v.round,
        version: v.version.clone(),
        evidence: v.evidence.clone(),
        shows,
        setup: scope.setup.iter().map(|r| (*r).clone()).collect(),
        steps: steps
            .into_iter()
            .map(|(role, r)| Step {
                role,
                record: r.clone(),
            })
            .collect(),
    })
}

/// The fewest requests of `scope` that show a violation of `kind`, in the order they
/// were sent; `None` when the records that would show it are missing.
pub fn minimal<'a>(
    kind: ViolationKind,
    scope: &Scope<'a>,
) -> Option<Vec<(Role, &'a RequestRecord)>> {
    let winners = |n| scope.winners(n);
    let first = |keep: &dyn Fn(&RequestRecord) -> bool| -> Vec<&'a RequestRecord> {
        scope
            .writes
            .iter()
            .copied()
            .chain(scope.probe)
            .find(|w| keep(w))
            .into_iter()
            .collect()
    };
    let (writes, read_back, probe): (Vec<&RequestRecord>, bool, bool) = match kind {
        // Two writes that carried one version and both won, and the read back that can
        // keep only one of them.
        ViolationKind::MultipleWinners => (kept_and_lost(scope), true, false),
        ViolationKind::InvalidTransition | ViolationKind::DuplicateCreate => {
            (winners(2), true, false)
        }
        // Two acknowledgements of one new version; or (precondition-required) an
        // acknowledged write the read back does not carry.
        ViolationKind::PhantomSuccess => {
            let pair = phantom_pair(&scope.writes);
            if pair.is_empty() {
                (winners(1), true, false)
            } else {
                (pair, true, false)
            }
        }
        // Two increments that won with one version, and the final value.
        ViolationKind::LostUpdate => {
            let pair = same_version_winners(&scope.writes);
            if pair.is_empty() {
                (winners(2), true, false)
            } else {
                (pair, true, false)
            }
        }
        // One more winning claim than there were units, and the count left.
        ViolationKind::Oversell => {
            let units = scope
                .before
                .and_then(|r| r.value)
                .and_then(|u| usize::try_from(u).ok());
            let n = units.map_or(MOST_CLAIMS, |u| (u + 1).min(MOST_CLAIMS));
            (winners(n), true, false)
        }
        // A write with the current version refused, and the version unchanged after.
        ViolationKind::NoWinner => (
            first(&|w| matches!(w.outcome, Outcome::Conflict | Outcome::Unexpected)),
            true,
            false,
        ),
        // The answer that was neither a winner nor the promised conflict.
        ViolationKind::UnexpectedStatus => {
            (first(&|w| w.outcome == Outcome::Unexpected), false, false)
        }
        // A refused write, and the read back that carries it.
        ViolationKind::LoserWriteApplied => {
            let shown = scope
                .verify
                .map(|v| rejected(&carried(&scope.writes, &v.body)))
                .unwrap_or_default();
            match shown.first() {
                Some(loser) => (vec![*loser], true, false),
                None => (
                    first(&|w| matches!(w.outcome, Outcome::Conflict | Outcome::Unexpected)),
                    true,
                    false,
                ),
            }
        }
        // An acknowledged write, and the read back without it.
        ViolationKind::WinnerNotVisible | ViolationKind::PreconditionNotRequired => {
            (winners(1), true, false)
        }
        // A winning write, the unchanged token read back, and the old token winning again.
        ViolationKind::VersionNotAdvanced => (winners(1), true, true),
        // A write that won with a version, and the state read back under it.
        ViolationKind::VersionReused => (winners(1), true, false),
        // Two acknowledgements of one key (the race's or the replay's), and the effects.
        ViolationKind::IdempotencyViolation => {
            let mut acked: Vec<&RequestRecord> = scope
                .writes
                .iter()
                .copied()
                .chain(scope.probe)
                .filter(|w| w.outcome == Outcome::Winner)
                .take(2)
                .collect();
            let probe_shown = acked.iter().any(|w| w.phase == Phase::Probe);
            if acked.len() < 2 && !probe_shown {
                acked.truncate(1);
                (acked, true, scope.probe.is_some())
            } else {
                (acked, true, false)
            }
        }
        // The conflict answer without what a client needs to recover.
        ViolationKind::ConflictNotActionable => (
            first(&|w| {
                w.outcome == Outcome::Conflict && w.conflict_missing.starts_with("violation")
            }),
            false,
            false,
        ),
    };
    if writes.is_empty() {
        return None;
    }
    let mut steps: Vec<(Role, &RequestRecord)> = Vec::new();
    if let Some(before) = scope.before {
        steps.push((Role::of(before.phase), before));
    }
    let mut writes = writes;
    writes.sort_by_key(|w| (w.phase == Phase::Probe, w.start_ns, w.writer));
    steps.extend(writes.into_iter().map(|w| (Role::of(w.phase), w)));
    if read_back {
        if let Some(verify) = scope.verify {
            steps.push((Role::of(verify.phase), verify));
        }
    }
    if probe {
        if let Some(p) = scope
            .probe
            .filter(|p| !steps.iter().any(|(_, s)| std::ptr::eq(*s, *p)))
        {
            steps.push((Role::Probe, p));
        }
    }
    Some(steps)
}

/// Two winners: one whose write the read back carries and one whose write it lost, when
/// the read back tells; else the first two.
fn kept_and_lost<'a>(scope: &Scope<'a>) -> Vec<&'a RequestRecord> {
    let won = scope.winners(usize::MAX);
    let kept = scope
        .verify
        .map(|v| carried(&won, &v.body))
        .unwrap_or_default();
    let lost = won
        .iter()
        .copied()
        .find(|w| !kept.iter().any(|k| std::ptr::eq(*k, *w)));
    match (kept.first(), lost) {
        (Some(kept), Some(lost)) => vec![*kept, lost],
        _ => scope.winners(2),
    }
}

/// Two winners with the same new version returned and different writes.
fn phantom_pair<'a>(writes: &[&'a RequestRecord]) -> Vec<&'a RequestRecord> {
    let won: Vec<&RequestRecord> = writes
        .iter()
        .copied()
        .filter(|w| w.outcome == Outcome::Winner)
        .filter(|w| w.version_returned.is_some() && w.version_returned != w.version_sent)
        .collect();
    for (i, a) in won.iter().enumerate() {
        if let Some(b) = won[i + 1..]
            .iter()
            .find(|b| b.version_returned == a.version_returned && b.marker != a.marker)
        {
            return vec![*a, *b];
        }
    }
    Vec::new()
}

/// Two winners that sent the same version.
fn same_version_winners<'a>(writes: &[&'a RequestRecord]) -> Vec<&'a RequestRecord> {
    let won: Vec<&RequestRecord> = writes
        .iter()
        .copied()
        .filter(|w| w.outcome == Outcome::Winner)
        .collect();
    for (i, a) in won.iter().enumerate() {
        if let Some(b) = won[i + 1..]
            .iter()
            .find(|b| b.version_sent == a.version_sent)
        {
            return vec![*a, *b];
        }
    }
    Vec::new()
}

/// `w3`, or `the probe`.
fn who(r: &RequestRecord) -> String {
    match (r.phase, r.writer) {
        (Phase::Probe, _) | (_, None) => "the probe".into(),
        (_, Some(w)) => format!("w{w}"),
    }
}

/// How a request ended, briefly: `200`, `412`, or its error.
fn answer(r: &RequestRecord) -> String {
    match (r.status, r.error.is_empty()) {
        (Some(s), _) => s.to_string(),
        (None, false) => r.error.clone(),
        (None, true) => r.outcome.name().to_string(),
    }
}

/// What a read found: the version, state or count it gave.
fn found(r: &RequestRecord) -> String {
    if let Some(v) = &r.version_returned {
        format!("version {v}")
    } else if let Some(s) = &r.state {
        format!("state {s}")
    } else if let Some(n) = r.value {
        n.to_string()
    } else {
        format!("status {}", answer(r))
    }
}

/// The sentence that says what a witness's steps show.
fn shows(kind: ViolationKind, steps: &[(Role, &RequestRecord)], scope: &Scope<'_>) -> String {
    let writes: Vec<&RequestRecord> = steps
        .iter()
        .filter(|(role, _)| matches!(role, Role::Write | Role::Probe))
        .map(|(_, r)| *r)
        .collect();
    let names = writes.iter().map(|w| who(w)).collect::<Vec<_>>();
    let both = match names.as_slice() {
        [a, b] => format!("{a} and {b}"),
        _ => names.join(", "),
    };
    let answers = writes
        .iter()
        .map(|w| format!("{} {}", who(w), answer(w)))
        .collect::<Vec<_>>()
        .join(", ");
    let sent = writes
        .first()
        .and_then(|w| w.version_sent.as_deref().map(str::to_string))
        .or_else(|| scope.before.map(found))
        .unwrap_or_else(|| "?".into());
    let after = scope.verify.map(found);
    let after_text = after.clone().unwrap_or_else(|| "nothing".into());
    let kept = scope
        .verify
        .map(|v| carried(&writes, &v.body))
        .unwrap_or_default();
    let lost: Vec<String> = writes
        .iter()
        .filter(|w| !kept.iter().any(|k| std::ptr::eq(*k, **w)))
        .map(|w| who(w))
        .collect();
    let kept_text = match (kept.as_slice(), lost.as_slice()) {
        ([], _) => "none of them, so their acknowledged updates are lost".to_string(),
        ([one], [other]) => format!(
            "{} only, so {other}'s acknowledged update is lost",
            who(one)
        ),
        _ => format!(
            "{}, so an acknowledged update is lost",
            kept.iter()
                .map(|w| who(w))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    let w = names.first().cloned().unwrap_or_else(|| "a write".into());
    let count = |r: Option<&RequestRecord>| {
        r.map_or("nothing".to_string(), |r| {
            r.value.map_or_else(|| found(r), |v| v.to_string())
        })
    };
    let state = |r: Option<&RequestRecord>, or: &str| {
        r.and_then(|r| r.state.as_deref().map(str::to_string))
            .unwrap_or_else(|| or.to_string())
    };
    match kind {
        ViolationKind::MultipleWinners => format!(
            "{both} both sent {sent} and both won ({answers}); the state read back ({after_text}) carries {kept_text}"
        ),
        ViolationKind::InvalidTransition => format!(
            "{both} both asked to leave {} and both were accepted ({answers}); the resource read back is {}",
            state(scope.before, &sent),
            state(scope.verify, &after_text)
        ),
        ViolationKind::DuplicateCreate => format!(
            "{both} created the same key and both succeeded ({answers}); the lookup found {}",
            count(scope.verify)
        ),
        ViolationKind::PhantomSuccess if writes.len() >= 2 => format!(
            "{both} were both acknowledged with the same new version {} ({answers}); one version cannot hold two different writes",
            writes[0].version_returned.as_deref().unwrap_or("?")
        ),
        ViolationKind::PhantomSuccess => format!(
            "{w} was acknowledged ({answers}) but the state read back ({after_text}) does not carry it"
        ),
        ViolationKind::LostUpdate => format!(
            "{both} both sent {sent} and both won ({answers}); the final value is {} (from {}), which cannot count both",
            count(scope.verify),
            count(scope.before)
        ),
        ViolationKind::Oversell => format!(
            "{} claims won ({answers}) with {} unit(s) read before; {} left after",
            writes.len(),
            count(scope.before),
            count(scope.verify)
        ),
        ViolationKind::NoWinner => format!(
            "{w} sent {sent}, which was current, and was refused ({answers}); no write won, and the read back still has {after_text}"
        ),
        ViolationKind::UnexpectedStatus => format!(
            "{w} got {}, neither a winner status nor the promised conflict ({})",
            writes.first().map_or("?".into(), |r| answer(r)),
            writes
                .first()
                .map(|r| r.promised.clone())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "none promised".into())
        ),
        ViolationKind::LoserWriteApplied => format!(
            "{w} was refused ({answers}), yet the state read back ({after_text}) carries its write"
        ),
        ViolationKind::WinnerNotVisible => format!(
            "{w} was acknowledged ({answers}), yet the state read back ({after_text}) does not carry it"
        ),
        ViolationKind::PreconditionNotRequired => format!(
            "{w} sent no precondition and was accepted ({answers}) where the precondition was required"
        ),
        ViolationKind::VersionNotAdvanced => format!(
            "{w} won with {sent} ({answers}), but the token read back is still {after_text}"
        ),
        ViolationKind::VersionReused => format!(
            "{w} won with {sent} ({answers}), and the state read back ({after_text}) carries that version for a different value"
        ),
        ViolationKind::IdempotencyViolation => format!(
            "the same key was answered {answers}; the read finds {} effect(s)",
            count(scope.verify)
        ),
        ViolationKind::ConflictNotActionable => format!(
            "{w} got the conflict {} without what a client needs to recover ({})",
            writes.first().map_or("?".into(), |r| answer(r)),
            writes
                .first()
                .map(|r| r.conflict_missing.trim_start_matches("violation: ").to_string())
                .unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::WorkloadId;

    fn rec(phase: Phase, writer: Option<u32>, outcome: Outcome, start_ns: u64) -> RequestRecord {
        RequestRecord {
            scenario: "s".into(),
            workload: WorkloadId::StaleWrite,
            phase,
            round: 0,
            writer,
            attempt: 1,
            method: if phase == Phase::Write { "PUT" } else { "GET" }.into(),
            url: "http://127.0.0.1:1/notes/1".into(),
            version_sent: (phase == Phase::Write).then(|| "\"1\"".into()),
            marker: writer.map(|w| format!("m{w}")),
            value: None,
            status: Some(match outcome {
                Outcome::Winner | Outcome::Ok => 200,
                Outcome::Conflict => 412,
                _ => 500,
            }),
            outcome,
            start_ns,
            end_ns: start_ns + 10,
            latency_ns: 10,
            version_returned: None,
            body: String::new(),
            error: String::new(),
            content_type: "".into(),
            state: None,
            strategy: None,
            promised: "412".into(),
            conflict_missing: String::new(),
            arrival_ns: None,
            resource: None,
            scheduled_ns: None,
            cause: None,
        }
    }

    /// A round of four writers in which w2 and w0 (released in that order) won.
    fn two_winners() -> Vec<RequestRecord> {
        let mut read = rec(Phase::Read, None, Outcome::Ok, 1);
        read.version_returned = Some("\"1\"".into());
        let mut verify = rec(Phase::Verify, None, Outcome::Ok, 100);
        verify.version_returned = Some("\"3\"".into());
        verify.body = "{\"text\":\"m0\"}".into();
        vec![
            read,
            rec(Phase::Warmup, Some(0), Outcome::Ok, 2),
            rec(Phase::Write, Some(0), Outcome::Winner, 12),
            rec(Phase::Write, Some(1), Outcome::Conflict, 11),
            rec(Phase::Write, Some(2), Outcome::Winner, 10),
            rec(Phase::Write, Some(3), Outcome::Conflict, 13),
            verify,
        ]
    }

    #[test]
    fn two_winners_are_witnessed_by_the_read_both_winning_writes_in_release_order_and_the_read_back(
    ) {
        let records = two_winners();
        let refs: Vec<&RequestRecord> = records.iter().collect();
        let verdict = check("s", WorkloadId::StaleWrite, &refs);
        let set = witnesses(&verdict, &refs);
        let w = set
            .first_of(ViolationKind::MultipleWinners)
            .expect("a witness of multiple_winners");
        let roles: Vec<Role> = w.steps.iter().map(|s| s.role).collect();
        assert_eq!(
            roles,
            [Role::Read, Role::Write, Role::Write, Role::ReadBack]
        );
        assert_eq!(w.writers(), [2, 0], "release order, not writer order");
        assert!(w.shows.contains("w2 and w0 both sent \"1\""), "{}", w.shows);
        assert!(
            w.shows
                .contains("carries w0 only, so w2's acknowledged update is lost"),
            "{}",
            w.shows
        );
        assert_eq!(set.rounds.len(), 1);
        assert!(
            set.rounds[0]
                .records
                .iter()
                .all(|r| r.phase != Phase::Warmup),
            "no warm-ups on a timeline"
        );
    }

    #[test]
    fn a_round_judged_on_its_own_names_the_records_its_witness_needs() {
        let records = two_winners();
        let (kinds, wanted) = needed(&records);
        assert_eq!(kinds, [ViolationKind::MultipleWinners]);
        assert_eq!(wanted, [0, 2, 4, 6], "the read, w0, w2 and the read back");
        let mut fine = two_winners();
        fine[2].outcome = Outcome::Conflict;
        fine[2].status = Some(412);
        fine[6].body = "{\"text\":\"m2\"}".into();
        assert_eq!(needed(&fine), (Vec::new(), Vec::new()));
    }

    #[test]
    fn every_kind_has_a_witness_when_its_records_are_there() {
        let records = two_winners();
        let refs: Vec<&RequestRecord> = records.iter().collect();
        let round = rounds(&refs).remove(0);
        let mut scope = Scope::round(&round, &refs);
        let mut probe = rec(Phase::Probe, None, Outcome::Winner, 200);
        probe.marker = Some("p".into());
        let mut unexpected = rec(Phase::Write, Some(4), Outcome::Unexpected, 14);
        unexpected.conflict_missing = String::new();
        let mut unactionable = rec(Phase::Write, Some(5), Outcome::Conflict, 15);
        unactionable.conflict_missing = "violation: header:ETag".into();
        let mut phantom = rec(Phase::Write, Some(6), Outcome::Winner, 16);
        phantom.version_returned = Some("\"2\"".into());
        let mut phantom2 = rec(Phase::Write, Some(7), Outcome::Winner, 17);
        phantom2.version_returned = Some("\"2\"".into());
        scope
            .writes
            .extend([&unexpected, &unactionable, &phantom, &phantom2]);
        scope.probe = Some(&probe);
        for kind in ViolationKind::ALL {
            let steps = minimal(kind, &scope).unwrap_or_else(|| panic!("{kind} has a witness"));
            assert!(
                steps
                    .iter()
                    .any(|(role, _)| matches!(role, Role::Write | Role::Probe)),
                "{kind}: a witness shows a write"
            );
            assert!(!shows(kind, &steps, &scope).is_empty());
        }
        let phantom_steps = minimal(ViolationKind::PhantomSuccess, &scope).unwrap();
        let writers: Vec<Option<u32>> = phantom_steps
            .iter()
            .filter(|(r, _)| *r == Role::Write)
            .map(|(_, w)| w.writer)
            .collect();
        assert_eq!(writers, [Some(6), Some(7)], "the two with one new version");
        let advanced = minimal(ViolationKind::VersionNotAdvanced, &scope).unwrap();
        assert_eq!(advanced.last().map(|(r, _)| *r), Some(Role::Probe));
    }
}
