//! How things end, by name: how one request ended ([`Outcome`]) and why an answer was
//! not whole ([`Cause`]), and how a contract broke ([`ViolationKind`]) or looked
//! doubtful ([`WarningKind`]).
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

/// Why an answer was not whole, or what is worth knowing about a whole one: the cause a
/// record keeps beside its outcome (the `cause` column of `requests.csv`), so reports
/// can group them ("24 reset after sending, 3 timed out").
///
/// Every client (reqwest, contend's own HTTP/1.1 client, the HTTP/2 one) reports what
/// it saw as one of these, and one rule (`engine::exchange`) turns it into an outcome:
/// [`Cause::outcome_without_answer`] when no usable answer came, the status otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// No connection could be made (refused, unreachable, no file descriptor left, TLS
    /// handshake failed): nothing was sent.
    Connect,
    /// Connected, but the request could not be written to its end: the server never had
    /// all of it.
    Unsent,
    /// The whole request was sent, then the connection was closed or reset before any
    /// answer.
    Reset,
    /// The whole request was sent and no answer came within the timeout.
    Timeout,
    /// What came back was not HTTP (garbage, a malformed status line or head, an HTTP/2
    /// protocol error before the headers).
    Garbage,
    /// A status and headers came, then the connection broke in the body.
    BodyReset,
    /// A status and headers came, and the body was slower than the timeout.
    BodyTimeout,
    /// The body ended before its `Content-Length`.
    ShortBody,
    /// The body's framing was broken (an invalid chunk, an HTTP/2 stream error).
    BadFraming,
    /// The run was stopped at once (a second Ctrl-C or SIGTERM) while the request was in
    /// flight.
    Interrupted,
    /// The body went past the body limit and contend stopped reading it: the answer is
    /// classified by its status; the body kept is its first part.
    Cut,
    /// HTTP/2: a whole answer came before the request's final frame could be sent (RFC
    /// 9113 §8.1); it is the request's answer.
    Early,
}

impl Cause {
    /// Every cause, in report order.
    pub const ALL: [Cause; 12] = [
        Cause::Connect,
        Cause::Unsent,
        Cause::Reset,
        Cause::Timeout,
        Cause::Garbage,
        Cause::BodyReset,
        Cause::BodyTimeout,
        Cause::ShortBody,
        Cause::BadFraming,
        Cause::Interrupted,
        Cause::Cut,
        Cause::Early,
    ];

    /// The name in `requests.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Cause::Connect => "connect",
            Cause::Unsent => "unsent",
            Cause::Reset => "reset",
            Cause::Timeout => "timeout",
            Cause::Garbage => "garbage",
            Cause::BodyReset => "body_reset",
            Cause::BodyTimeout => "body_timeout",
            Cause::ShortBody => "short_body",
            Cause::BadFraming => "bad_framing",
            Cause::Interrupted => "interrupted",
            Cause::Cut => "cut",
            Cause::Early => "early",
        }
    }

    /// How the terminal groups it: "24 reset after sending, 3 timed out".
    pub fn describe(self) -> &'static str {
        match self {
            Cause::Connect => "could not connect",
            Cause::Unsent => "not fully sent",
            Cause::Reset => "reset after sending",
            Cause::Timeout => "timed out",
            Cause::Garbage => "answered with something that is not HTTP",
            Cause::BodyReset => "reset in the body",
            Cause::BodyTimeout => "timed out in the body",
            Cause::ShortBody => "body shorter than its Content-Length",
            Cause::BadFraming => "broken body framing",
            Cause::Interrupted => "interrupted",
            Cause::Cut => "body cut at the limit",
            Cause::Early => "answered before the request's end",
        }
    }

    /// Whether the answer is still whole enough to be judged by its status and body:
    /// a body cut by contend itself, or an early HTTP/2 answer.
    pub fn keeps_answer(self) -> bool {
        matches!(self, Cause::Cut | Cause::Early)
    }

    /// The outcome of a request that got no usable answer for this cause: `not_sent`
    /// when the server cannot have had the whole request, `indeterminate` when it may
    /// have acted on it.
    pub fn outcome_without_answer(self) -> Outcome {
        match self {
            Cause::Connect | Cause::Unsent => Outcome::NotSent,
            _ => Outcome::Indeterminate,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    /// Acknowledgements that are phantoms: two or more writes of one race answered as
    /// winners with the same returned version, or an accepted write absent from the
    /// state read back (precondition-required).
    PhantomSuccess,
    /// One version stood for two different states: reads (or winners' answers) gave it
    /// with two different values. A strong validator is unique across all versions of a resource over time
    /// (RFC 9110 §8.8.1); a client still holding it passes `If-Match` against the later
    /// state, so its stale write wins (ABA).
    VersionReused,
}

impl ViolationKind {
    /// Every kind, in report column order.
    pub const ALL: [ViolationKind; 15] = [
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
        ViolationKind::PhantomSuccess,
        ViolationKind::VersionReused,
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
            ViolationKind::PhantomSuccess => "phantom_success",
            ViolationKind::VersionReused => "version_reused",
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
    /// Every writer sent a weak version token (`W/"…"`) where a strong one is required:
    /// it can never match `If-Match` (RFC 9110 §13.1.1), so every refusal was correct and
    /// the round raced nothing.
    WeakVersionToken,
}

impl WarningKind {
    /// Every kind, in report column order.
    pub const ALL: [WarningKind; 4] = [
        WarningKind::ConflictNotActionable,
        WarningKind::LeaksInternals,
        WarningKind::ProblemStatusMismatch,
        WarningKind::WeakVersionToken,
    ];

    /// The name used in reports and documentation.
    pub fn name(self) -> &'static str {
        match self {
            WarningKind::ConflictNotActionable => "conflict_not_actionable",
            WarningKind::LeaksInternals => "leaks_internals",
            WarningKind::ProblemStatusMismatch => "problem_status_mismatch",
            WarningKind::WeakVersionToken => "weak_version_token",
        }
    }
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
