//! The round driver: the loop every round-based workload shares (stale-write,
//! unique-create, transition, stock, idempotency, precondition-required), written once.
//! Each workload's own file says only what differs, as a [`RoundWorkload`].
//!
//! A round is:
//! 1. its placeholders: `{round}`, `{unique}` (new every round) and `{id}`: the resource
//!    set up once for the scenario or, where the registry says the workload
//!    [creates one per round](crate::scenario::WorkloadRules::creates_per_round), a
//!    fresh one made by `[resource].create` for this round; plus what the workload adds
//!    ([`RoundWorkload::vars`], stock's `{units}`);
//! 2. the workload's reads before the race ([`RoundWorkload::before`]), which may set
//!    the round's `{version}`;
//! 3. the warm-ups: every writer sends the scenario's read, rendered with the round's
//!    placeholders, on its own connection, so the race opens no connection; with
//!    `writer_connections = "fresh"` ([`ConnectionPolicy::Fresh`]) the last round's
//!    connections were closed at the start of this one, so each warm-up opens a new
//!    connection, and a server of several worker processes places every round's
//!    writers again;
//! 4. the race: one write per writer, each with its index, its marker and what the
//!    workload gives it ([`RoundWorkload::entry`]), released together in the scenario's
//!    sync mode;
//! 5. the workload's reads and probes after the race ([`RoundWorkload::after`]).
//!
//! In a sharded run, a scenario whose rounds each have a resource of their own (made by
//! `create` before every round, or none at all) may be given a [`super::Slice`]: it then
//! runs only the rounds its shard takes, under their own numbers. (One whose rounds share
//! a resource runs whole on one shard, without a slice.)
//!
//! Before each round, the driver waits out the scenario's `pace` (from the end of the
//! requests before it: the set-up, or the last round) and runs the login step again if
//! `[auth] refresh` says it is due. It stops before a round once the run is stopped
//! (Ctrl-C, SIGTERM), and tells the progress bar after each round; a run stopped at once
//! (a second signal) cancels the requests in flight. Writer `w` sends the `w mod n`-th
//! of the scenario's writes, on its own connection, with its own cookies.
//!
//! The warm-up rule, the same for every workload: the sync mode is checked against the
//! target once ([`Writers::ready`]), on the first round's read URL before its warm-ups,
//! so a mode the target cannot take stops the scenario with its reason before any write;
//! every round's warm-ups then reopen whatever connection the last round's answers
//! closed. A warm-up is recorded by the rule the workload's own reads follow: `ok` for a
//! 2xx, and for a 404 where the workload looks up a key that only the race creates
//! ([`RoundWorkload::ABSENT_OK`]: unique-create, idempotency); `unexpected` for any
//! other status; a warm-up that got no answer keeps its failure's outcome. A warm-up
//! never stops the round: it is there for its connection.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::history::{Outcome, Phase};
use crate::scenario::template::{value_text, Vars};
use crate::scenario::{ConnectionPolicy, Locator};

use super::client::Writers;
use super::cookies::Conn;
use super::exchange::{self, Exchange};
use super::exchange::{read_outcome, write_outcome};
use super::{excerpt, locate, locator_text, marker, Meta, Session};

/// One round while it runs: its number and its placeholders.
pub(super) struct Round {
    /// The round's number, from 0.
    pub n: u32,
    /// The round's placeholders, shared by its reads, warm-ups and writes.
    pub vars: Vars,
}

impl Round {
    /// The labels of the round's reads (and of anything else outside the race).
    pub fn meta(&self) -> Meta {
        Meta {
            round: self.n,
            ..Meta::default()
        }
    }
}

/// What one round-based workload adds to the shared round (see the module doc).
pub(super) trait RoundWorkload {
    /// Whether the workload's reads may find nothing (a 404): they look up a key that only
    /// the race creates.
    const ABSENT_OK: bool = false;

    /// Adds the workload's own placeholders to a round's, before its resource is created.
    fn vars(&self, _vars: &mut Vars) {}

    /// The reads before the race; may set the round's `{version}`.
    async fn before(&self, _s: &mut Session<'_>, _round: &mut Round) -> Result<(), String> {
        Ok(())
    }

    /// What writer `w`'s write gets beyond its index and marker.
    fn entry(&self, _w: u32, _vars: &mut Vars, _meta: &mut Meta) {}

    /// The reads and probes after the race, given the writes' outcomes in writer order.
    async fn after(
        &self,
        s: &mut Session<'_>,
        round: &Round,
        outcomes: &[Outcome],
    ) -> Result<(), String>;
}

/// Runs the scenario's rounds of `workload`.
pub(super) async fn run<W: RoundWorkload>(s: &mut Session<'_>, workload: &W) -> Result<(), String> {
    if let Some(capture) = &mut s.capture {
        capture.start();
    }
    let shared_id = if s.scenario.resource.create_each_round {
        None
    } else {
        Some(s.set_up().await?)
    };
    if let Some(capture) = &mut s.capture {
        capture.keep_pending(&s.records, &s.secrets);
    }
    let mut writers = Writers::new(s.scenario.workload.writers, &s.settings)?;
    let mut ready = false;
    let mut last_end = Instant::now();
    // A sharded run spreads only rounds that have resources of their own.
    let slice = s.ctx.slice;
    for n in 0..s.scenario.workload.rounds {
        if slice.is_some_and(|slice| !slice.takes(u64::from(n))) {
            continue;
        }
        if let Some(pace) = s.scenario.workload.pace {
            wait_until(s, last_end + pace).await;
        }
        if s.ctx.stopped() {
            break;
        }
        // Closed first, so the server has taken the last round's connections down
        // long before this round's race.
        if n > 0 && s.scenario.writer_connections == ConnectionPolicy::Fresh {
            writers.reconnect()?;
        }
        let first = s.records.len();
        s.refresh_if_due().await?;
        let mut round = Round {
            n,
            vars: Vars {
                id: shared_id.clone(),
                unique: Some(s.unique(Some(n))),
                round: Some(n),
                ..Vars::default()
            },
        };
        workload.vars(&mut round.vars);
        if shared_id.is_none() {
            round.vars.id = Some(s.create(round.meta(), &round.vars).await?);
        }
        workload.before(s, &mut round).await?;
        warm(s, &writers, &round, W::ABSENT_OK, &mut ready).await?;
        let outcomes = race(s, &writers, &round, |w, vars, meta| {
            workload.entry(w, vars, meta)
        })
        .await?;
        workload.after(s, &round, &outcomes).await?;
        if let Some(capture) = &mut s.capture {
            capture.finish_round(&s.records, first, &s.secrets);
        }
        s.ctx.progress.step(&s.records[first..]);
        s.publish().await;
        last_end = Instant::now();
    }
    Ok(())
}

/// Sleeps until `deadline`, waking early when the run is stopped (Ctrl-C, SIGTERM).
async fn wait_until(s: &Session<'_>, deadline: Instant) {
    const TICK: Duration = Duration::from_millis(50);
    loop {
        let now = Instant::now();
        if now >= deadline || s.ctx.stopped() {
            return;
        }
        tokio::time::sleep((deadline - now).min(TICK)).await;
    }
}

/// Warms every writer's connection with the round's read, recording each warm-up by the
/// rule in the module doc; checks the sync mode first, on the first round.
async fn warm(
    s: &mut Session<'_>,
    writers: &Writers,
    round: &Round,
    absent_ok: bool,
    ready: &mut bool,
) -> Result<(), String> {
    let read = &s.scenario.resource.read;
    let warmups = (0..writers.len() as u32)
        .map(|lane| s.builder.prepare_for(lane, read, &round.vars))
        .collect::<Result<Vec<_>, _>>()?;
    if !*ready {
        if let Some(first) = warmups.first() {
            writers.ready(&first.url).await?;
        }
        *ready = true;
    }
    let answers = s
        .ctx
        .all_unless_aborted(warmups.len(), writers.each(warmups.clone()))
        .await;
    for (w, (prepared, exchange)) in warmups.iter().zip(&answers).enumerate() {
        s.builder
            .remember(Conn::Writer(w as u32), prepared, exchange);
        let outcome = read_outcome(exchange, |status| read_accepts(status, absent_ok));
        let meta = Meta {
            writer: Some(s.ctx.writer_of(w as u32)),
            ..round.meta()
        };
        let record = s
            .recorder
            .record(Phase::Warmup, meta, prepared, exchange, outcome);
        s.records.push(record);
    }
    Ok(())
}

/// Whether a read answered `status` found what it looked for (or, with `absent_ok`,
/// found that it does not exist).
fn read_accepts(status: u16, absent_ok: bool) -> bool {
    (200..300).contains(&status) || (absent_ok && status == 404)
}

/// Renders one write per writer (its index and marker, the round's version, and what
/// `each` adds), releases them together and records every answer. Returns the writes'
/// outcomes in writer order. A replay's lanes send the writes of the writers it names,
/// in its order ([`super::RunContext::writer_order`]); each lane keeps its own connection
/// and cookies.
async fn race(
    s: &mut Session<'_>,
    writers: &Writers,
    round: &Round,
    mut each: impl FnMut(u32, &mut Vars, &mut Meta),
) -> Result<Vec<Outcome>, String> {
    let mut metas = Vec::with_capacity(writers.len());
    let mut writes = Vec::with_capacity(writers.len());
    for lane in 0..s.scenario.workload.writers {
        let w = s.ctx.writer_of(lane);
        let mark = marker(s.ctx.seed, round.n, Some(w));
        let mut vars = Vars {
            writer: Some(w),
            marker: Some(mark.clone()),
            ..round.vars.clone()
        };
        let mut meta = Meta {
            writer: Some(w),
            marker: Some(mark),
            version_sent: round.vars.version.as_ref().map(value_text),
            ..round.meta()
        };
        each(w, &mut vars, &mut meta);
        writes.push(
            s.builder
                .prepare_for(lane, s.scenario.write_for(w), &vars)?,
        );
        metas.push(meta);
    }
    let answers = s
        .ctx
        .all_unless_aborted(writes.len(), writers.race(writes.clone()))
        .await;
    let mut outcomes = Vec::with_capacity(answers.len());
    for (lane, ((meta, prepared), exchange)) in
        metas.into_iter().zip(&writes).zip(&answers).enumerate()
    {
        s.builder
            .remember(Conn::Writer(lane as u32), prepared, exchange);
        let outcome = write_outcome(&s.scenario.expect, exchange);
        outcomes.push(outcome);
        let record = s
            .recorder
            .record(Phase::Write, meta, prepared, exchange, outcome);
        s.records.push(record);
        s.note_wire(prepared, exchange);
    }
    Ok(outcomes)
}

/// Sends the scenario's read with `vars` on the reader connection and records it. With
/// `absent_ok`, a 404 is an answer too (the key does not exist); otherwise only a 2xx.
pub(super) async fn read(
    s: &mut Session<'_>,
    phase: Phase,
    meta: Meta,
    vars: &Vars,
    absent_ok: bool,
) -> Result<Exchange, String> {
    let expect: Vec<u16> = if absent_ok {
        (200..300).chain([404]).collect()
    } else {
        Vec::new()
    };
    let read = s.scenario.resource.read.clone();
    s.read_like(phase, meta, &read, vars, &expect).await
}

/// Sends the scenario's (first) write once more with `vars`, on its own on the reader
/// connection after the race, and records it as a probe labelled `meta`.
pub(super) async fn probe(s: &mut Session<'_>, meta: Meta, vars: &Vars) -> Result<(), String> {
    let prepared = s.builder.prepare(s.scenario.write_for(0), vars)?;
    let reader = s.reader()?;
    let exchange = s
        .ctx
        .unless_aborted(
            std::time::Instant::now(),
            exchange::send(&reader, prepared.clone()),
        )
        .await;
    let outcome = write_outcome(&s.scenario.expect, &exchange);
    let record = s
        .recorder
        .record(Phase::Probe, meta, &prepared, &exchange, outcome);
    s.records.push(record);
    s.note_wire(&prepared, &exchange);
    Ok(())
}

/// The version token in a read, when the scenario names where it is.
pub(super) fn version_in(s: &Session<'_>, exchange: &Exchange) -> Result<Option<Value>, String> {
    let Some(at) = &s.scenario.resource.version else {
        return Ok(None);
    };
    locate(at, exchange).map(Some).ok_or_else(|| {
        format!(
            "the read response has no version token at {}; check `version` in [resource] (body {})",
            locator_text(at),
            excerpt(&exchange.body)
        )
    })
}

/// A count in a response: a JSON integer, the length of a JSON array, or text holding
/// an integer. `what` names the scenario key in the error.
pub(super) fn count_in(at: &Locator, exchange: &Exchange, what: &str) -> Result<i64, String> {
    let found = locate(at, exchange);
    let count = match &found {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::Array(items)) => i64::try_from(items.len()).ok(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    count.ok_or_else(|| match found {
        None => format!(
            "the read response has nothing at {}; check `{what}` in [resource] (status {}, body {})",
            locator_text(at),
            exchange.status.unwrap_or(0),
            excerpt(&exchange.body)
        ),
        Some(v) => format!(
            "`{what}` in [resource] points at {v}, which is neither an integer nor a list (at {})",
            locator_text(at)
        ),
    })
}

/// A text value in a response (a state name), as text.
pub(super) fn text_in(at: &Locator, exchange: &Exchange, what: &str) -> Result<String, String> {
    locate(at, exchange).map(|v| value_text(&v)).ok_or_else(|| {
        format!(
            "the read response has no {what} at {}; check `{what}` in [resource] (body {})",
            locator_text(at),
            excerpt(&exchange.body)
        )
    })
}

/// Sets the last record's counted value (what a read found).
pub(super) fn note_value(s: &mut Session<'_>, value: Option<i64>) {
    if let Some(last) = s.records.last_mut() {
        last.value = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warm_up_is_ok_for_a_2xx_and_for_a_404_only_where_the_race_creates_the_key() {
        assert!(read_accepts(200, false) && read_accepts(204, true));
        assert!(read_accepts(404, true));
        assert!(!read_accepts(404, false));
        assert!(!read_accepts(500, true) && !read_accepts(304, false));
    }
}
