//! The `stale-write` workload: every round, all writers send the version just read.
//!
//! A round is: read the version; warm every writer's connection with a read on it;
//! render every write; release them together; read the resource back; and, when a
//! write won but the token did not change, probe with one more write on the old token.

use crate::history::{Outcome, Phase};
use crate::scenario::template::{value_text, Vars};

use super::client::Writers;
use super::{classify, marker, Meta, Session};

pub(super) async fn run(s: &mut Session<'_>) -> Result<(), String> {
    let id = s.set_up().await?;
    let writers = Writers::new(s.scenario.workload.writers, &s.settings)?;
    let vars = Vars {
        id: Some(id.clone()),
        ..Vars::default()
    };
    let origin = s.builder.prepare(&s.scenario.resource.read, &vars)?.url;
    writers.ready(&origin).await?;
    for round in 0..s.scenario.workload.rounds {
        if s.ctx.stopped() {
            break;
        }
        let first = s.records.len();
        race_round(s, &writers, &id, round).await?;
        s.ctx.progress.step(&s.records[first..]);
    }
    Ok(())
}

async fn race_round(
    s: &mut Session<'_>,
    writers: &Writers,
    id: &str,
    round: u32,
) -> Result<(), String> {
    let round_meta = Meta {
        round,
        ..Meta::default()
    };
    let (version, _) = s.read_version(Phase::Read, round_meta.clone(), id).await?;
    let version_text = value_text(&version);
    let base_vars = Vars {
        id: Some(id.to_string()),
        version: Some(version.clone()),
        round: Some(round),
        ..Vars::default()
    };

    // Warm-up: each writer reads on its own connection, so the race opens nothing.
    let read = &s.scenario.resource.read;
    let warmups = (0..writers.len())
        .map(|_| s.builder.prepare(read, &base_vars))
        .collect::<Result<Vec<_>, _>>()?;
    let answers = writers.each(warmups.clone()).await;
    for (w, (prepared, exchange)) in warmups.iter().zip(&answers).enumerate() {
        let outcome = match (&exchange.failure, exchange.status) {
            (Some(f), None) => f.outcome,
            (_, Some(st)) if (200..300).contains(&st) => Outcome::Ok,
            _ => Outcome::Unexpected,
        };
        let meta = Meta {
            writer: Some(w as u32),
            ..round_meta.clone()
        };
        let record = s
            .recorder
            .record(Phase::Warmup, meta, prepared, exchange, outcome);
        s.records.push(record);
    }

    // The race.
    let mut metas = Vec::with_capacity(writers.len());
    let mut writes = Vec::with_capacity(writers.len());
    for w in 0..writers.len() as u32 {
        let mark = marker(s.ctx.seed, round, Some(w));
        let vars = Vars {
            writer: Some(w),
            marker: Some(mark.clone()),
            ..base_vars.clone()
        };
        writes.push(s.builder.prepare(&s.scenario.write, &vars)?);
        metas.push(Meta {
            writer: Some(w),
            version_sent: Some(version_text.clone()),
            marker: Some(mark),
            ..round_meta.clone()
        });
    }
    let answers = writers.race(writes.clone()).await;
    let mut winners = 0;
    for ((meta, prepared), exchange) in metas.into_iter().zip(&writes).zip(&answers) {
        let outcome = classify(&s.scenario.expect, exchange);
        winners += usize::from(outcome == Outcome::Winner);
        let record = s
            .recorder
            .record(Phase::Write, meta, prepared, exchange, outcome);
        s.records.push(record);
    }

    // Read back; the checker compares the final state with the writers' markers.
    let (after, _) = s
        .read_version(Phase::Verify, round_meta.clone(), id)
        .await?;
    if winners > 0 && value_text(&after) == version_text {
        probe(s, &base_vars, round_meta, &version_text).await?;
    }
    Ok(())
}

/// One more write with the round's token, after a win left the token unchanged: a
/// correct server must reject it, or the version did not really advance.
async fn probe(
    s: &mut Session<'_>,
    base_vars: &Vars,
    round_meta: Meta,
    version_text: &str,
) -> Result<(), String> {
    let mark = marker(s.ctx.seed, round_meta.round, None);
    let vars = Vars {
        marker: Some(mark.clone()),
        ..base_vars.clone()
    };
    let prepared = s.builder.prepare(&s.scenario.write, &vars)?;
    let reader = s.reader()?;
    let exchange = super::client::send(&reader, prepared.clone()).await;
    let outcome = classify(&s.scenario.expect, &exchange);
    let meta = Meta {
        version_sent: Some(version_text.to_string()),
        marker: Some(mark),
        ..round_meta
    };
    let record = s
        .recorder
        .record(Phase::Probe, meta, &prepared, &exchange, outcome);
    s.records.push(record);
    Ok(())
}
