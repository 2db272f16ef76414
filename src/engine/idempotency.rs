//! The `idempotency` workload: every round, all writers send the same request with the
//! same idempotency key (`{unique}`, new each round).
//!
//! After the race, one more request with the same key and payload is sent on its own
//! (recorded as phase `probe`): the first request has completed by then, so it must be
//! answered with a replay of the original response. Then the scenario's read counts the
//! effects made with the key (`count` in [resource]); there must be exactly one.

use crate::history::Phase;
use crate::scenario::template::Vars;

use super::client::{self, Writers};
use super::unique_create::verify_count;
use super::{classify, round, Meta, Session};

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
        replay(s, n, &base).await?;
        verify_count(s, n, &base).await?;
        s.ctx.progress.step(&s.records[first..]);
    }
    Ok(())
}

/// The same request once more, after the race: it must replay the original answer.
async fn replay(s: &mut Session<'_>, n: u32, vars: &Vars) -> Result<(), String> {
    let prepared = s.builder.prepare(&s.scenario.write, vars)?;
    let reader = s.reader()?;
    let exchange = client::send(&reader, prepared.clone()).await;
    let outcome = classify(&s.scenario.expect, &exchange);
    let meta = Meta {
        round: n,
        ..Meta::default()
    };
    let record = s
        .recorder
        .record(Phase::Probe, meta, &prepared, &exchange, outcome);
    s.records.push(record);
    Ok(())
}
