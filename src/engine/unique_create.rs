//! The `unique-create` workload: every round, all writers create a resource with the
//! same unique key (`{unique}`, new each round); exactly one may succeed.
//!
//! After the race, the scenario's read looks the key up: `count` in [resource] says how
//! many resources it found (a number, or a list whose length is the count); without
//! `count`, a 2xx says one exists and a 404 that none does.

use crate::history::Phase;
use crate::scenario::template::Vars;

use super::client::Writers;
use super::{round, Meta, Session};

pub(super) async fn run(s: &mut Session<'_>) -> Result<(), String> {
    let id = s.set_up().await?;
    let writers = Writers::new(s.scenario.workload.writers, &s.settings)?;
    for n in 0..s.scenario.workload.rounds {
        if s.ctx.stopped() {
            break;
        }
        let first = s.records.len();
        let base = Vars {
            id: Some(id.clone()),
            unique: Some(s.unique(Some(n))),
            round: Some(n),
            ..Vars::default()
        };
        let entries = round::entries(s, n, &base, |_, _, _| {});
        round::race(s, &writers, n, &base, entries).await?;
        verify_count(s, n, &base).await?;
        s.ctx.progress.step(&s.records[first..]);
    }
    Ok(())
}

/// Reads the round's key back and records in the read's `value` how many resources it
/// found: 0 for a 404, the `count` when the scenario has one, else nothing (a 2xx then
/// only says that at least one exists).
pub(super) async fn verify_count(s: &mut Session<'_>, n: u32, vars: &Vars) -> Result<(), String> {
    let meta = Meta {
        round: n,
        ..Meta::default()
    };
    let exchange = round::read(s, Phase::Verify, meta, vars, true).await?;
    let found = match (&s.scenario.resource.count, exchange.status) {
        (_, Some(404)) => Some(0),
        (Some(at), _) => Some(round::count_in(at, &exchange, "count")?),
        (None, _) => None,
    };
    round::note_value(s, found);
    Ok(())
}
