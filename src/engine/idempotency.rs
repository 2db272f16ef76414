//! The `idempotency` workload: every round, all writers send the same request with the
//! same idempotency key (`{unique}`, new each round).
//!
//! On the shared round ([`super::round`]), after the race, one more request with the same
//! key and payload is sent on its own (recorded as phase `probe`): the first request has
//! completed by then, so it must be answered with a replay of the original response.
//! Then the scenario's read counts the effects made with the key (`count` in
//! [resource]); there must be exactly one.

use crate::history::Outcome;

use super::round::{self, Round, RoundWorkload};
use super::unique_create::verify_count;
use super::Session;

pub(super) async fn run(s: &mut Session<'_>) -> Result<(), String> {
    round::run(s, &Idempotency).await
}

/// The idempotency round: the replay and the count after the race.
struct Idempotency;

impl RoundWorkload for Idempotency {
    const ABSENT_OK: bool = true;

    /// The same request once more (it must replay the original answer), then the count.
    async fn after(&self, s: &mut Session<'_>, round: &Round, _: &[Outcome]) -> Result<(), String> {
        round::probe(s, round.meta(), &round.vars).await?;
        verify_count(s, round).await
    }
}
