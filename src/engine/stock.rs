//! The `stock` workload: every round, a fresh resource with `units` units (made by
//! `[resource].create`, which may send `{units}`), and more writers than units, each
//! claiming one. Exactly `units` claims may succeed.
//!
//! On the shared round ([`super::round`]), the units left are read before the race and
//! after it, from `remaining` in [resource], or as `units` minus `claimed`; each read
//! records them in `value`.

use crate::history::{Outcome, Phase};
use crate::scenario::template::Vars;
use crate::scenario::StockLocator;

use super::exchange::Exchange;
use super::round::{self, Round, RoundWorkload};
use super::Session;

pub(super) async fn run(s: &mut Session<'_>, units: u32) -> Result<(), String> {
    let Some(at) = s.scenario.resource.stock.clone() else {
        return Err("a stock scenario needs `remaining` or `claimed` in [resource]".to_string());
    };
    round::run(s, &Stock { at, units }).await
}

/// The stock round: where the units are counted, and how many each resource starts with.
struct Stock {
    at: StockLocator,
    units: u32,
}

impl Stock {
    /// The units left in a read: `remaining` as read, or `units − claimed`.
    fn remaining(&self, exchange: &Exchange) -> Result<i64, String> {
        match &self.at {
            StockLocator::Remaining(l) => round::count_in(l, exchange, "remaining"),
            StockLocator::Claimed(l) => round::count_in(l, exchange, "claimed")
                .map(|taken| i64::from(self.units).saturating_sub(taken)),
        }
    }
}

impl RoundWorkload for Stock {
    fn vars(&self, vars: &mut Vars) {
        vars.units = Some(self.units);
    }

    /// Reads the fresh resource and stops when it does not hold `units` units.
    async fn before(&self, s: &mut Session<'_>, round: &mut Round) -> Result<(), String> {
        let before = round::read(s, Phase::Read, round.meta(), &round.vars, false).await?;
        round.vars.version = round::version_in(s, &before)?;
        let left = self.remaining(&before)?;
        round::note_value(s, Some(left));
        let (n, units) = (round.n, self.units);
        if left != i64::from(units) {
            return Err(format!(
                "the resource created for round {n} has {left} unit(s) left, but the scenario \
                 says units = {units}; make [resource].create set them, e.g. json = {{ stock = \
                 \"{{units}}\" }}"
            ));
        }
        Ok(())
    }

    async fn after(&self, s: &mut Session<'_>, round: &Round, _: &[Outcome]) -> Result<(), String> {
        let after = round::read(s, Phase::Verify, round.meta(), &round.vars, false).await?;
        let left = self.remaining(&after)?;
        round::note_value(s, Some(left));
        Ok(())
    }
}
