//! The `precondition-required` workload: every round, all writers send the scenario's
//! write without any precondition (no `If-Match`, no version) at once. Every one must be
//! refused with the promised status (428 Precondition Required, RFC 6585 §3), and none
//! applied: on the shared round ([`super::round`]), the resource is read before and
//! after the race.

use crate::history::{Outcome, Phase};

use super::round::{self, Round, RoundWorkload};
use super::Session;

pub(super) async fn run(s: &mut Session<'_>) -> Result<(), String> {
    round::run(s, &PreconditionRequired).await
}

/// The precondition-required round: a read before the race and one after.
struct PreconditionRequired;

impl RoundWorkload for PreconditionRequired {
    async fn before(&self, s: &mut Session<'_>, round: &mut Round) -> Result<(), String> {
        round::read(s, Phase::Read, round.meta(), &round.vars, false).await?;
        Ok(())
    }

    async fn after(&self, s: &mut Session<'_>, round: &Round, _: &[Outcome]) -> Result<(), String> {
        round::read(s, Phase::Verify, round.meta(), &round.vars, false).await?;
        Ok(())
    }
}
