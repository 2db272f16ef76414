//! What the round-based workloads share (unique-create, transition, stock, idempotency,
//! precondition-required): reads with the scenario's `read`, warming every writer's
//! connection, releasing one write per writer together, and finding counts and states
//! in responses.

use serde_json::Value;

use crate::history::{Outcome, Phase};
use crate::scenario::template::{value_text, Vars};
use crate::scenario::Locator;

use super::client::{Exchange, Writers};
use super::{classify, excerpt, locate, locator_text, marker, Meta, Session};

/// One writer's write in a round: its placeholder values and its record's labels.
pub(super) struct Entry {
    pub vars: Vars,
    pub meta: Meta,
}

/// The entries of a round in which writer `w` gets its index, its marker and whatever
/// `each` adds, on top of `base`.
pub(super) fn entries(
    s: &Session<'_>,
    round: u32,
    base: &Vars,
    mut each: impl FnMut(u32, &mut Vars, &mut Meta),
) -> Vec<Entry> {
    (0..s.scenario.workload.writers)
        .map(|w| {
            let mark = marker(s.ctx.seed, round, Some(w));
            let mut vars = Vars {
                writer: Some(w),
                marker: Some(mark.clone()),
                ..base.clone()
            };
            let mut meta = Meta {
                round,
                writer: Some(w),
                marker: Some(mark),
                version_sent: base.version.as_ref().map(value_text),
                ..Meta::default()
            };
            each(w, &mut vars, &mut meta);
            Entry { vars, meta }
        })
        .collect()
}

/// Opens the writers' connections in the scenario's sync mode (or stops with why it cannot
/// be used), warms each with the scenario's read (rendered with `warm`), then releases
/// one write per writer together and records every exchange. Returns the
/// writes' outcomes in writer order.
pub(super) async fn race(
    s: &mut Session<'_>,
    writers: &Writers,
    round: u32,
    warm: &Vars,
    entries: Vec<Entry>,
) -> Result<Vec<Outcome>, String> {
    let read = &s.scenario.resource.read;
    let warmups = (0..writers.len())
        .map(|_| s.builder.prepare(read, warm))
        .collect::<Result<Vec<_>, _>>()?;
    // Stops the scenario with the reason when the sync mode cannot be used with the
    // target; cheap once the connections are open.
    if let Some(first) = warmups.first() {
        writers.ready(&first.url).await?;
    }
    let answers = writers.each(warmups.clone()).await;
    for (w, (prepared, exchange)) in warmups.iter().zip(&answers).enumerate() {
        // Any answer warms the connection; a 404 for a key not created yet is expected.
        let outcome = match (&exchange.failure, exchange.status) {
            (Some(f), None) => f.outcome,
            _ => Outcome::Ok,
        };
        let meta = Meta {
            round,
            writer: Some(w as u32),
            ..Meta::default()
        };
        let record = s
            .recorder
            .record(Phase::Warmup, meta, prepared, exchange, outcome);
        s.records.push(record);
    }

    let writes = entries
        .iter()
        .map(|e| s.builder.prepare(&s.scenario.write, &e.vars))
        .collect::<Result<Vec<_>, _>>()?;
    let answers = writers.race(writes.clone()).await;
    let mut outcomes = Vec::with_capacity(answers.len());
    for ((entry, prepared), exchange) in entries.into_iter().zip(&writes).zip(&answers) {
        let outcome = classify(&s.scenario.expect, exchange);
        outcomes.push(outcome);
        let record = s
            .recorder
            .record(Phase::Write, entry.meta, prepared, exchange, outcome);
        s.records.push(record);
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
