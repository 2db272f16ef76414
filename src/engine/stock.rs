//! The `stock` workload: every round, a fresh resource with `units` units (made by
//! `[resource].create`, which may send `{units}`), and more writers than units, each
//! claiming one. Exactly `units` claims may succeed.
//!
//! The units left are read before the race and after it, from `remaining` in
//! [resource], or as `units` minus `claimed`; each read records them in `value`.

use crate::history::Phase;
use crate::scenario::template::Vars;
use crate::scenario::StockLocator;

use super::client::{Exchange, Writers};
use super::{round, Meta, Session};

pub(super) async fn run(s: &mut Session<'_>, units: u32) -> Result<(), String> {
    let Some(at) = s.scenario.resource.stock.clone() else {
        return Err("a stock scenario needs `remaining` or `claimed` in [resource]".to_string());
    };
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
        let mut base = Vars {
            unique: Some(s.unique(Some(n))),
            units: Some(units),
            round: Some(n),
            ..Vars::default()
        };
        base.id = Some(s.create(meta.clone(), &base).await?);

        let before = round::read(s, Phase::Read, meta.clone(), &base, false).await?;
        base.version = round::version_in(s, &before)?;
        let left = remaining(&at, units, &before)?;
        round::note_value(s, Some(left));
        if left != i64::from(units) {
            return Err(format!(
                "the resource created for round {n} has {left} unit(s) left, but the scenario \
                 says units = {units}; make [resource].create set them, e.g. json = {{ stock = \
                 \"{{units}}\" }}"
            ));
        }

        let entries = round::entries(s, n, &base, |_, _, _| {});
        round::race(s, &writers, n, &base, entries).await?;

        let after = round::read(s, Phase::Verify, meta, &base, false).await?;
        let left = remaining(&at, units, &after)?;
        round::note_value(s, Some(left));
        s.ctx.progress.step(&s.records[first..]);
    }
    Ok(())
}

/// The units left in a read: `remaining` as read, or `units − claimed`.
fn remaining(at: &StockLocator, units: u32, exchange: &Exchange) -> Result<i64, String> {
    match at {
        StockLocator::Remaining(l) => round::count_in(l, exchange, "remaining"),
        StockLocator::Claimed(l) => round::count_in(l, exchange, "claimed")
            .map(|taken| i64::from(units).saturating_sub(taken)),
    }
}
