//! The `precondition-required` workload: every round, all writers send the scenario's
//! write without any precondition (no `If-Match`, no version) at once. Every one must be
//! refused with the promised status (428 Precondition Required, RFC 6585 §3), and none
//! applied: the resource is read before and after the round.

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
        let meta = Meta {
            round: n,
            ..Meta::default()
        };
        let base = Vars {
            id: Some(id.clone()),
            unique: Some(s.unique(Some(n))),
            round: Some(n),
            ..Vars::default()
        };
        round::read(s, Phase::Read, meta.clone(), &base, false).await?;
        let entries = round::entries(s, n, &base, |_, _, _| {});
        round::race(s, &writers, n, &base, entries).await?;
        round::read(s, Phase::Verify, meta, &base, false).await?;
        s.ctx.progress.step(&s.records[first..]);
    }
    Ok(())
}
