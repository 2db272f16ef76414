//! How things end, by name: how one request ended ([`Outcome`]), and how a contract
//! broke ([`ViolationKind`]) or looked doubtful ([`WarningKind`]).
//!
//! These are the words every stage shares: the history records an [`Outcome`] per
//! request, the checker finds violations and warnings of these kinds, the metric
//! catalogue names a figure after each (`latency.winner.p99`, `violations.lost_update`),
//! and the reports use the same names as columns. They sit at the bottom of the
//! pipeline, importing nothing, so that the scenario parser can validate a threshold on
//! `violations.oversell` without depending on the checker. [`crate::history`] re-exports
//! [`Outcome`] and [`crate::check`] the finding kinds, where their users look for them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How one request ended, in Jepsen's sense: `winner`/`ok` and `conflict`/`unexpected`
/// are definite; `indeterminate` may or may not have taken effect; `not_sent` never left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A write answered with a winner status: the API says it was applied.
    Winner,
    /// A write answered with the promised conflict status: the API says it was not applied.
    Conflict,
    /// Any other status (5xx, a conflict status the API did not promise, 4xx...).
    Unexpected,
    /// A timeout or a connection reset after the request left: it may have been applied.
    Indeterminate,
    /// The request could not be sent (connection refused): it was not applied.
    NotSent,
    /// A read or set-up request that succeeded.
    Ok,
}

impl Outcome {
    /// The outcomes a write's latency is kept for, in report order: one histogram each,
    /// and the `latency.<outcome>.*` metrics. A write `not_sent` has no latency, and
    /// reads (`ok`) are not contended writes.
    pub const TIMED: [Outcome; 4] = [
        Outcome::Winner,
        Outcome::Conflict,
        Outcome::Unexpected,
        Outcome::Indeterminate,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Winner => "winner",
            Outcome::Conflict => "conflict",
            Outcome::Unexpected => "unexpected",
            Outcome::Indeterminate => "indeterminate",
            Outcome::NotSent => "not_sent",
            Outcome::Ok => "ok",
        }
    }
}

/// The ways a conflict-detection contract breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViolationKind {
    /// More than one write won with the same version: all but one update was lost.
    MultipleWinners,
    /// Every writer was rejected although the version was current.
    NoWinner,
    /// A write got a status that is neither a winner nor the promised conflict (5xx...).
    UnexpectedStatus,
    /// The final state carries a rejected writer's write.
    LoserWriteApplied,
    /// An acknowledged write is not in the final state.
    WinnerNotVisible,
    /// A write won but the version token did not change, and the old token still wins.
    VersionNotAdvanced,
    /// Counter: acknowledged increments are missing from the final value.
    LostUpdate,
    /// Unique-create: more than one create with the same key succeeded, or the read
    /// found more than one resource with it.
    DuplicateCreate,
    /// Transition: more than one transition from the same state succeeded, or the final
    /// state is not the winner's target.
    InvalidTransition,
    /// Stock: more claims succeeded than there were units, the count went below zero,
    /// or the units left do not match the acknowledged claims.
    Oversell,
    /// Idempotency: one key made more than one effect, or its answers differ.
    IdempotencyViolation,
    /// Precondition-required: a write without a precondition was accepted.
    PreconditionNotRequired,
    /// A conflict answer lacks what the scenario says a client needs to recover (the
    /// current version, a JSON type); a violation or a warning, as the scenario says.
    ConflictNotActionable,
}

impl ViolationKind {
    /// Every kind, in report column order.
    pub const ALL: [ViolationKind; 13] = [
        ViolationKind::MultipleWinners,
        ViolationKind::NoWinner,
        ViolationKind::UnexpectedStatus,
        ViolationKind::LoserWriteApplied,
        ViolationKind::WinnerNotVisible,
        ViolationKind::VersionNotAdvanced,
        ViolationKind::LostUpdate,
        ViolationKind::DuplicateCreate,
        ViolationKind::InvalidTransition,
        ViolationKind::Oversell,
        ViolationKind::IdempotencyViolation,
        ViolationKind::PreconditionNotRequired,
        ViolationKind::ConflictNotActionable,
    ];

    /// The name used in reports and documentation.
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::MultipleWinners => "multiple_winners",
            ViolationKind::NoWinner => "no_winner",
            ViolationKind::UnexpectedStatus => "unexpected_status",
            ViolationKind::LoserWriteApplied => "loser_write_applied",
            ViolationKind::WinnerNotVisible => "winner_not_visible",
            ViolationKind::VersionNotAdvanced => "version_not_advanced",
            ViolationKind::LostUpdate => "lost_update",
            ViolationKind::DuplicateCreate => "duplicate_create",
            ViolationKind::InvalidTransition => "invalid_transition",
            ViolationKind::Oversell => "oversell",
            ViolationKind::IdempotencyViolation => "idempotency_violation",
            ViolationKind::PreconditionNotRequired => "precondition_not_required",
            ViolationKind::ConflictNotActionable => "conflict_not_actionable",
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Findings that do not fail a scenario but that a user should see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarningKind {
    /// A conflict answer lacks what the scenario requires, and the scenario says that is
    /// only a warning.
    ConflictNotActionable,
    /// A losing answer shows internals: a stack trace, an SQL fragment or an SQLSTATE.
    LeaksInternals,
    /// An `application/problem+json` answer whose `status` member is not its status.
    ProblemStatusMismatch,
}

impl WarningKind {
    /// Every kind, in report column order.
    pub const ALL: [WarningKind; 3] = [
        WarningKind::ConflictNotActionable,
        WarningKind::LeaksInternals,
        WarningKind::ProblemStatusMismatch,
    ];

    /// The name used in reports and documentation.
    pub fn name(self) -> &'static str {
        match self {
            WarningKind::ConflictNotActionable => "conflict_not_actionable",
            WarningKind::LeaksInternals => "leaks_internals",
            WarningKind::ProblemStatusMismatch => "problem_status_mismatch",
        }
    }
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
