//! The `counter` workload: every writer increments one value `rounds` times by
//! read-modify-write, sending the version it read and retrying on conflict.
//!
//! How a writer retries is its client strategy: `backoff` (exponential backoff with
//! full jitter), `immediate` (no wait) or `give-up` (no wait, small budget), each up to
//! its budget of attempts. The scenario's strategies run one after another, each on its
//! own resource, and every record carries its strategy. An increment whose write ends
//! `indeterminate` is not retried: retrying a write that may have been applied could
//! apply it twice.
//!
//! Reading the value back is every attempt's cost, so the JSON pointer reader that
//! [`super::locate`] uses lives here too: it builds the one value a pointer names and
//! only visits the rest of the body.

use std::sync::Arc;
use std::time::Duration;

use std::borrow::Cow;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::Value;

use crate::history::{Outcome, Phase, RequestRecord, Text};
use crate::scenario::template::Vars;
use crate::scenario::{Locator, RetryPolicy, Scenario, Strategy};

use super::client::RequestBuilder;
use super::exchange::{self, read_outcome, write_outcome, Exchange, Prepared};
use super::{locate, marker, Meta, Recorder, RunContext, Session};

pub(super) async fn run(s: &mut Session<'_>, strategies: &[Strategy]) -> Result<(), String> {
    for strategy in strategies {
        if s.ctx.stopped() {
            break;
        }
        run_strategy(s, strategy).await?;
    }
    Ok(())
}

/// All writers' increments with one strategy, on a resource of its own.
async fn run_strategy(s: &mut Session<'_>, strategy: &Strategy) -> Result<(), String> {
    let label = Meta {
        strategy: Some(Text::from_static(strategy.kind.name())),
        ..Meta::default()
    };
    let first_record = s.records.len();
    let id = s.set_up().await?;
    let value_at = value_locator(s.scenario)?;
    let (_, first) = s.read_version(Phase::Setup, label.clone(), &id).await?;
    let initial = read_value(&value_at, &first)?;
    if let Some(last) = s.records.last_mut() {
        last.value = Some(initial);
    }
    // The set-up is complete (the writers label their own records): stream it now, before
    // the writers stream theirs.
    for r in &mut s.records[first_record..] {
        r.strategy = label.strategy.clone();
    }
    s.publish().await;

    let scenario = Arc::new(s.scenario.clone());
    let writers = s.scenario.workload.writers;
    let start = Arc::new(tokio::sync::Barrier::new(writers as usize));
    let login = (s.steps.clone(), s.reader()?);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let writer = CounterWriter {
            scenario: scenario.clone(),
            login: login.clone(),
            builder: s.builder.clone(),
            recorder: s.recorder.clone(),
            client: exchange::connection(&s.settings)?,
            ctx: s.ctx.clone(),
            strategy: strategy.clone(),
            value_at: value_at.clone(),
            id: id.clone(),
            writer: w,
        };
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            writer.run().await
        }));
    }
    for task in tasks {
        match task.await {
            Ok(records) => {
                s.records.extend(records);
                s.published = s.records.len(); // the writer streamed them
            }
            Err(e) => return Err(format!("a writer task failed: {e}")),
        }
    }
    s.take_step_records();
    s.records[first_record..].sort_by_key(|r| r.end_ns);

    let (_, last) = s.read_version(Phase::Final, label, &id).await?;
    let final_value = read_value(&value_at, &last)?;
    if let Some(last) = s.records.last_mut() {
        last.value = Some(final_value);
    }
    Ok(())
}

fn value_locator(scenario: &Scenario) -> Result<Locator, String> {
    scenario
        .resource
        .value
        .clone()
        .ok_or_else(|| "a counter scenario needs `value` in [resource]".to_string())
}

/// The counter value in a read response: a JSON integer, or text holding one.
pub(super) fn read_value(at: &Locator, exchange: &Exchange) -> Result<i64, String> {
    let found = locate(at, exchange);
    let parsed = match &found {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| match found {
        None => format!(
            "the read response has no counter value there (body {})",
            super::excerpt(&exchange.body)
        ),
        Some(v) => format!("the counter value {v} is not an integer"),
    })
}

/// The value `pointer` names in the JSON document `body`, as
/// `serde_json::from_str::<Value>(body)?.pointer(pointer)` finds it; `None` when the body
/// is not JSON or the pointer names nothing in it.
///
/// serde_json parses and checks the whole body as it would for a `Value` (syntax,
/// nesting depth, number range; of keys met twice, the last counts), but only the value
/// named is built: the rest is visited and dropped.
pub(super) fn json_value_at(body: &str, pointer: &str) -> Option<Value> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return None;
    }
    let mut json = serde_json::Deserializer::from_str(body);
    let found = At(pointer).deserialize(&mut json).ok()?;
    json.end().ok()?;
    found
}

/// Walks a document down the rest of a JSON pointer (empty, or starting with `/`).
struct At<'p>(&'p str);

impl<'p> At<'p> {
    /// The next reference token, unescaped (`~1` is `/`, `~0` is `~`), and the pointer
    /// after it.
    fn next(&self) -> (Cow<'p, str>, At<'p>) {
        let path = self.0.strip_prefix('/').unwrap_or(self.0);
        let (token, rest) = match path.bytes().position(|b| b == b'/') {
            Some(end) => path.split_at(end),
            None => (path, ""),
        };
        let token = if token.bytes().any(|b| b == b'~') {
            Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(token)
        };
        (token, At(rest))
    }
}

impl<'de> DeserializeSeed<'de> for At<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, json: D) -> Result<Option<Value>, D::Error> {
        if self.0.is_empty() {
            Value::deserialize(json).map(Some)
        } else {
            json.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for At<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        let (token, rest) = self.next();
        let mut found = None;
        while let Some(named) = map.next_key_seed(KeyIs(&token))? {
            if named {
                found = map.next_value_seed(At(rest.0))?;
            } else {
                map.next_value_seed(Skip)?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        let (token, rest) = self.next();
        // As serde_json reads an index: digits, no sign, no leading zero.
        let index = match token.as_bytes() {
            [b'+', ..] | [b'0', _, ..] => None,
            _ => token.parse::<usize>().ok(),
        };
        let mut found = None;
        for at in 0.. {
            if Some(at) == index {
                match seq.next_element_seed(At(rest.0))? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element_seed(Skip)?.is_none() {
                break;
            }
        }
        Ok(found)
    }

    // A pointer goes no further into a scalar.
    fn visit_bool<E>(self, _: bool) -> Result<Option<Value>, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Option<Value>, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Option<Value>, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Option<Value>, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Option<Value>, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        Ok(None)
    }
}

/// Reads an object's key and says whether it is this one.
struct KeyIs<'t>(&'t str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, json: D) -> Result<bool, D::Error> {
        json.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// Parses a value and keeps nothing of it. Unlike `IgnoredAny` it goes through
/// `deserialize_any`, so serde_json checks it as it checks a `Value` (its nesting depth,
/// its strings and numbers).
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, json: D) -> Result<(), D::Error> {
        json.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Records the read of a read-modify-write and returns the version and value it found;
/// `None` unless both were in a 2xx answer (the record then says what went wrong).
pub(super) fn record_read(
    scenario: &Scenario,
    value_at: &Locator,
    recorder: &Recorder,
    meta: &Meta,
    read: &Prepared,
    exchange: &mut Exchange,
    records: &mut Vec<RequestRecord>,
) -> Option<(Value, i64)> {
    let version = scenario
        .resource
        .version
        .as_ref()
        .and_then(|l| locate(l, exchange));
    let value = read_value(value_at, exchange).ok();
    let outcome = match read_outcome(exchange, |s| (200..300).contains(&s)) {
        Outcome::Ok if version.is_none() || value.is_none() => Outcome::Unexpected,
        outcome => outcome,
    };
    records.push(recorder.record_taking(
        Phase::Read,
        Meta {
            value,
            ..meta.clone()
        },
        read,
        exchange,
        outcome,
    ));
    match (version, value, outcome) {
        (Some(version), Some(value), Outcome::Ok) => Some((version, value)),
        _ => None,
    }
}

/// One writer's connection and everything it needs, owned so it can run in its own task.
struct CounterWriter {
    scenario: Arc<Scenario>,
    /// Runs the login step again when due, on the scenario's reader connection.
    login: (Arc<super::setup::Steps>, reqwest::Client),
    builder: RequestBuilder,
    recorder: Recorder,
    client: reqwest::Client,
    ctx: RunContext,
    strategy: Strategy,
    value_at: Locator,
    id: String,
    writer: u32,
}

impl CounterWriter {
    async fn run(self) -> Vec<RequestRecord> {
        let seed = self.ctx.seed ^ (u64::from(self.writer) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut records = Vec::new();
        for increment in 0..self.scenario.workload.rounds {
            if self.ctx.stopped() {
                break;
            }
            let first = records.len();
            self.increment(increment, &mut rng, &mut records).await;
            self.ctx.progress.step(&records[first..]);
            self.ctx.publish(&records[first..]).await;
        }
        records
    }

    /// One increment: read, write value+1 with the version read, retry on conflict.
    async fn increment(&self, round: u32, rng: &mut StdRng, records: &mut Vec<RequestRecord>) {
        let retry = &self.strategy.retry;
        for attempt in 1..=retry.budget {
            let meta = Meta {
                round,
                writer: Some(self.writer),
                attempt,
                strategy: Some(Text::from_static(self.strategy.kind.name())),
                ..Meta::default()
            };
            let outcome = self.attempt(meta, records).await;
            match outcome {
                Outcome::Winner | Outcome::Indeterminate => return,
                _ if attempt == retry.budget => return,
                _ if self.strategy.kind.waits() => {
                    tokio::time::sleep(backoff(retry, attempt, rng)).await
                }
                // Retry at once, but let the other writers' tasks run first.
                _ => tokio::task::yield_now().await,
            }
        }
    }

    /// One read-then-write attempt; returns how the write ended (or the read failed).
    async fn attempt(&self, meta: Meta, records: &mut Vec<RequestRecord>) -> Outcome {
        let (steps, reader) = &self.login;
        if steps.refresh_if_due(reader).await.is_err() {
            // The login's own record says what went wrong; this attempt is not made.
            return Outcome::NotSent;
        }
        let id_vars = Vars {
            id: Some(self.id.clone()),
            ..Vars::default()
        };
        let conn = super::cookies::Conn::Writer(self.writer);
        let read = match self
            .builder
            .prepare_on(conn, &self.scenario.resource.read, &id_vars)
        {
            Ok(p) => p,
            Err(_) => return Outcome::NotSent,
        };
        let mut exchange = self
            .ctx
            .unless_aborted(
                std::time::Instant::now(),
                exchange::send(&self.client, read.clone()),
            )
            .await;
        self.builder.remember(conn, &read, &exchange);
        if steps.refreshes_on(exchange.answered()) {
            // Refused for an expired login: log in again; the next attempt carries it.
            let _ = steps.refresh_after(reader, exchange.start).await;
        }
        let Some((version, value)) = record_read(
            &self.scenario,
            &self.value_at,
            &self.recorder,
            &meta,
            &read,
            &mut exchange,
            records,
        ) else {
            return Outcome::NotSent;
        };
        // The version as the read's record has it, shared with the write's.
        let version_sent = records.last().and_then(|r| r.version_returned.clone());

        let mark = marker(self.ctx.seed, meta.round, Some(self.writer));
        let vars = Vars {
            id: Some(self.id.clone()),
            version: Some(version.clone()),
            writer: Some(self.writer),
            round: Some(meta.round),
            marker: Some(mark.clone()),
            value: Some(value),
            ..Vars::default()
        };
        let write = match self
            .builder
            .prepare_on(conn, self.scenario.write_for(self.writer), &vars)
        {
            Ok(p) => p,
            Err(_) => return Outcome::NotSent,
        };
        let mut exchange = self
            .ctx
            .unless_aborted(
                std::time::Instant::now(),
                exchange::send(&self.client, write.clone()),
            )
            .await;
        self.builder.remember(conn, &write, &exchange);
        let outcome = write_outcome(&self.scenario.expect, &exchange);
        let meta = Meta {
            version_sent,
            marker: Some(mark),
            value: Some(value + 1),
            ..meta
        };
        records.push(self.recorder.record_taking(
            Phase::Write,
            meta,
            &write,
            &mut exchange,
            outcome,
        ));
        outcome
    }
}

/// Full-jitter exponential backoff: a random wait up to `base · 2^(attempt-1)`, capped.
fn backoff(retry: &RetryPolicy, attempt: u32, rng: &mut StdRng) -> Duration {
    let ceiling = retry
        .base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(retry.max);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.gen_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `locate` found before: the whole body parsed into a `Value`, then the pointer.
    fn pointer_into_value(body: &str, pointer: &str) -> Option<Value> {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.pointer(pointer).cloned())
    }

    #[test]
    fn a_json_pointer_finds_what_it_finds_in_the_parsed_body() {
        let deep_array = format!("{}1{}", "[".repeat(130), "]".repeat(130));
        let deep_beside = format!(r#"{{"deep": {deep_array}, "count": 1}}"#);
        let deep_object = format!(
            "{{\"a\":[{}]}}",
            "{\"b\":[".repeat(64) + "1" + &"]}".repeat(64)
        );
        let bodies = [
            r#"{"count": 41, "by": "w1-r2", "nested": {"list": [1, {"x": null}, "s"]}}"#,
            r#"{"count": "41", "version": 3, "etag": "\"W/x\""}"#,
            r#"{"a": 1, "a": {"b": 2}}"#,
            r#"{"a": {"b": 2}, "a": 1}"#,
            r#"{"a/b": 1, "m~n": 2, "~1": 3, "": {"": 4}, "\u0061": 5, "é": 6}"#,
            r#"[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]"#,
            r#"{"big": 1e400}"#,
            r#"{"skipped": 1e400, "count": 1}"#,
            r#"{"count": 1} trailing"#,
            r#"{"count": 1}   "#,
            r#"{"count": 1,}"#,
            r#"{"bad": "\x", "count": 1}"#,
            r#"{"count": -7, "f": 2.5, "t": true, "n": null}"#,
            "42",
            r#""text""#,
            "null",
            "",
            "not json",
            &deep_array,
            &deep_object,
            &deep_beside,
        ];
        let pointers = [
            "",
            "/",
            "/count",
            "/by",
            "/nested/list/1/x",
            "/nested/list/2",
            "/nested/list/3",
            "/nested/list/01",
            "/nested/list/+1",
            "/nested/list/-1",
            "/a",
            "/a/b",
            "/a~1b",
            "/m~0n",
            "/~01",
            "/~1",
            "//",
            "/a",
            "/é",
            "/0",
            "/10",
            "/11",
            "/00",
            "/big",
            "/count/x",
            "/t",
            "/n",
            "/f",
            "count",
            "/0/0/0",
        ];
        for body in &bodies {
            for pointer in pointers {
                assert_eq!(
                    json_value_at(body, pointer),
                    pointer_into_value(body, pointer),
                    "{pointer} in {body}"
                );
            }
        }
        // A body nested past serde_json's limit is refused, even beside the value named.
        assert_eq!(json_value_at(&deep_beside, "/count"), None);
        assert_eq!(
            json_value_at(r#"{"a": 1, "a": {"b": 2}}"#, "/a/b"),
            Some(Value::from(2)),
            "of keys met twice, the last counts"
        );
    }

    #[test]
    fn backoff_stays_under_an_exponential_ceiling_capped_at_max() {
        let retry = RetryPolicy {
            budget: 10,
            base: Duration::from_millis(2),
            max: Duration::from_millis(10),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for attempt in 1..=10 {
            let ceiling = Duration::from_millis(2 << (attempt - 1)).min(Duration::from_millis(10));
            for _ in 0..50 {
                assert!(backoff(&retry, attempt, &mut rng) <= ceiling);
            }
        }
    }
}
