//! The `transition` workload: every round, a fresh resource in its start state (made by
//! `[resource].create`), and every writer asks for a transition to its target (writer
//! `w` gets `targets[w % targets.len()]`). Exactly one may succeed.
//!
//! The state is read before the race and after it (`state` in [resource]); the records
//! carry it, and each write carries the state its target leads to.

use crate::history::Phase;
use crate::scenario::template::Vars;
use crate::scenario::TransitionTarget;

use super::client::Writers;
use super::{round, Meta, Session};

pub(super) async fn run(s: &mut Session<'_>, targets: &[TransitionTarget]) -> Result<(), String> {
    let Some(state_at) = s.scenario.resource.state.clone() else {
        return Err("a transition scenario needs `state` in [resource]".to_string());
    };
    if targets.is_empty() {
        return Err("a transition scenario needs at least one target".to_string());
    }
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
            round: Some(n),
            ..Vars::default()
        };
        base.id = Some(s.create(meta.clone(), &base).await?);

        let before = round::read(s, Phase::Read, meta.clone(), &base, false).await?;
        base.version = round::version_in(s, &before)?;
        let from = round::text_in(&state_at, &before, "state")?;
        note_state(s, from);

        let entries = round::entries(s, n, &base, |w, vars, meta| {
            let target = &targets[w as usize % targets.len()];
            vars.target = Some(target.send.clone());
            meta.state = Some(target.state.clone());
        });
        round::race(s, &writers, n, &base, entries).await?;

        let after = round::read(s, Phase::Verify, meta, &base, false).await?;
        let to = round::text_in(&state_at, &after, "state")?;
        note_state(s, to);
        s.ctx.progress.step(&s.records[first..]);
    }
    Ok(())
}

/// Sets the last record's state (what a read found).
fn note_state(s: &mut Session<'_>, state: String) {
    if let Some(last) = s.records.last_mut() {
        last.state = Some(state);
    }
}
