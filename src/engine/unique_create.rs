//! The `unique-create` workload: every round, all writers create a resource with the
//! same unique key (`{unique}`, new each round); exactly one may succeed.
//!
//! On the shared round ([`super::round`]): nothing is read before the race (the key does
//! not exist yet, so the warm-ups may be answered 404). After the race, the scenario's
//! read looks the key up: `count` in [resource] says how many resources it found (a
//! number, or a list whose length is the count); without `count`, a 2xx says one exists
//! and a 404 that none does.

use crate::history::{Outcome, Phase};

use super::round::{self, Round, RoundWorkload};
use super::Session;

pub(super) async fn run(s: &mut Session<'_>) -> Result<(), String> {
    round::run(s, &UniqueCreate).await
}

/// The unique-create round: the count read after the race.
struct UniqueCreate;

impl RoundWorkload for UniqueCreate {
    const ABSENT_OK: bool = true;

    async fn after(&self, s: &mut Session<'_>, round: &Round, _: &[Outcome]) -> Result<(), String> {
        verify_count(s, round).await
    }
}

/// Reads the round's key back and records in the read's `value` how many resources it
/// found: 0 for a 404, the `count` when the scenario has one, else nothing (a 2xx then
/// only says that at least one exists).
pub(super) async fn verify_count(s: &mut Session<'_>, round: &Round) -> Result<(), String> {
    let exchange = round::read(s, Phase::Verify, round.meta(), &round.vars, true).await?;
    let found = match (&s.scenario.resource.count, exchange.status) {
        (_, Some(404)) => Some(0),
        (Some(at), _) => Some(round::count_in(at, &exchange, "count")?),
        (None, _) => None,
    };
    round::note_value(s, found);
    Ok(())
}
