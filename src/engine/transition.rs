//! The `transition` workload: every round, a fresh resource in its start state (made by
//! `[resource].create`), and every writer asks for a transition to its target (writer
//! `w` gets `targets[w % targets.len()]`). Exactly one may succeed.
//!
//! On the shared round ([`super::round`]), the state is read before the race and after
//! it (`state` in [resource]); the records carry it, and each write carries the state its
//! target leads to.

use crate::history::{Outcome, Phase, Text};
use crate::scenario::template::Vars;
use crate::scenario::{Locator, TransitionTarget};

use super::round::{self, Round, RoundWorkload};
use super::{Meta, Session};

pub(super) async fn run(s: &mut Session<'_>, targets: &[TransitionTarget]) -> Result<(), String> {
    let Some(state_at) = s.scenario.resource.state.clone() else {
        return Err("a transition scenario needs `state` in [resource]".to_string());
    };
    if targets.is_empty() {
        return Err("a transition scenario needs at least one target".to_string());
    }
    round::run(s, &Transition { state_at, targets }).await
}

/// The transition round: where the state is, and the writers' targets.
struct Transition<'a> {
    state_at: Locator,
    targets: &'a [TransitionTarget],
}

impl RoundWorkload for Transition<'_> {
    async fn before(&self, s: &mut Session<'_>, round: &mut Round) -> Result<(), String> {
        let before = round::read(s, Phase::Read, round.meta(), &round.vars, false).await?;
        round.vars.version = round::version_in(s, &before)?;
        let from = round::text_in(&self.state_at, &before, "state")?;
        note_state(s, from);
        Ok(())
    }

    fn entry(&self, w: u32, vars: &mut Vars, meta: &mut Meta) {
        let target = &self.targets[w as usize % self.targets.len()];
        vars.target = Some(target.send.clone());
        meta.state = Some(Text::from(&target.state));
    }

    async fn after(&self, s: &mut Session<'_>, round: &Round, _: &[Outcome]) -> Result<(), String> {
        let after = round::read(s, Phase::Verify, round.meta(), &round.vars, false).await?;
        let to = round::text_in(&self.state_at, &after, "state")?;
        note_state(s, to);
        Ok(())
    }
}

/// Sets the last record's state (what a read found).
fn note_state(s: &mut Session<'_>, state: String) {
    if let Some(last) = s.records.last_mut() {
        last.state = Some(Text::from(state));
    }
}
