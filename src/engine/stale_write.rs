//! The `stale-write` workload: every round, all writers send the version just read.
//!
//! On the shared round ([`super::round`]): before the race, read the version; every
//! writer's write carries it; after the race, read the resource back and, when a write
//! won but the token did not change, probe with one more write on the old token. When
//! a writer sends a `DELETE`, the read back may find nothing (404): the checker then
//! looks for the `DELETE` that won.

use crate::history::{Outcome, Phase};
use crate::scenario::template::{value_text, Vars};

use super::round::{self, Round, RoundWorkload};
use super::{marker, Meta, Session};

pub(super) async fn run(s: &mut Session<'_>) -> Result<(), String> {
    round::run(s, &StaleWrite).await
}

/// The stale-write round: the version read before, the read-back and probe after.
struct StaleWrite;

impl RoundWorkload for StaleWrite {
    async fn before(&self, s: &mut Session<'_>, round: &mut Round) -> Result<(), String> {
        let id = round.vars.id.clone().unwrap_or_default();
        let (version, _) = s.read_version(Phase::Read, round.meta(), &id).await?;
        round.vars.version = Some(version);
        Ok(())
    }

    /// Reads back (the checker compares the final state with the writers' markers), and
    /// probes when a win left the token unchanged.
    async fn after(
        &self,
        s: &mut Session<'_>,
        round: &Round,
        outcomes: &[Outcome],
    ) -> Result<(), String> {
        let id = round.vars.id.clone().unwrap_or_default();
        let sent = round
            .vars
            .version
            .as_ref()
            .map(value_text)
            .unwrap_or_default();
        let deletes = s.scenario.writes.iter().any(|w| w.method == "DELETE");
        let after = if deletes {
            let read = round::read(s, Phase::Verify, round.meta(), &round.vars, true).await?;
            if read.status == Some(404) {
                // Gone: a DELETE won (or a refused one was applied); nothing to probe.
                return Ok(());
            }
            round::version_in(s, &read)?.unwrap_or_default()
        } else {
            s.read_version(Phase::Verify, round.meta(), &id).await?.0
        };
        if outcomes.contains(&Outcome::Winner) && value_text(&after) == sent {
            probe(s, round, sent).await?;
        }
        Ok(())
    }
}

/// One more write with the round's token, after a win left the token unchanged: a
/// correct server must reject it, or the version did not really advance.
async fn probe(s: &mut Session<'_>, round: &Round, version_text: String) -> Result<(), String> {
    let mark = marker(s.ctx.seed, round.n, None);
    let vars = Vars {
        marker: Some(mark.clone()),
        ..round.vars.clone()
    };
    let meta = Meta {
        version_sent: Some(version_text),
        marker: Some(mark),
        ..round.meta()
    };
    round::probe(s, meta, &vars).await
}
