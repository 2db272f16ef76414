//! The `[[setup]]` steps at run time: sending them, keeping what they capture, and
//! running the login step again when `[auth] refresh` says so.
//!
//! What a scenario learns while it runs lives here, shared by every connection:
//! [`Captures`] (the placeholders the steps add; the request builder renders them into
//! every later request) and the scenario's one [`Secrets`] set, to which every captured
//! credential and kept cookie is added ([`Secrets::learn`]), so each is redacted, in
//! every form, from every record, message and report the moment it is known. `Steps` sends the steps on the
//! scenario's reader connection, records each exchange (after its captures are
//! registered as secrets, so a token in a login's answer never reaches the history
//! unredacted), and is the one place a login is repeated: before a round or attempt
//! once `every` has passed (a counter's writers and a sustained workload's connections
//! call it from their own tasks; one of them logs in, the others wait and go on with the
//! new token), and when a request outside the race was refused with a status in `on`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use serde_json::Value;

use crate::history::wire::WireExchange;
use crate::history::{Outcome, Phase, RequestRecord};
use crate::scenario::template::{value_text, Vars};
use crate::scenario::{Refresh, Secrets, SetupStep};

use super::client::RequestBuilder;
use super::exchange;
use super::{describe_failure, excerpt, locate, Meta, Recorder, RunContext};

/// The values the set-up steps captured, by name; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Captures {
    inner: Arc<RwLock<Arc<BTreeMap<String, Value>>>>,
}

impl Captures {
    /// Every capture made so far.
    pub fn snapshot(&self) -> Arc<BTreeMap<String, Value>> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sets (or replaces, on a refresh) one capture.
    fn set(&self, name: &str, value: Value) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = (**inner).clone();
        next.insert(name.to_string(), value);
        *inner = Arc::new(next);
    }
}

/// Sends the set-up steps and repeats the login; shared by the session and the tasks.
pub(super) struct Steps {
    builder: RequestBuilder,
    recorder: Recorder,
    captures: Captures,
    secrets: Secrets,
    /// The step to re-run and when, from `[auth] refresh`.
    refresh: Option<(SetupStep, Refresh)>,
    /// When the login step last ran (or the steps, at the start).
    last_login: Mutex<Instant>,
    /// One login at a time: callers that wait find it done.
    gate: tokio::sync::Mutex<()>,
    /// Records of refreshes made from tasks, for the session to take.
    records: Mutex<Vec<RequestRecord>>,
    /// The steps' exchanges as they went, for witnesses (see `capture.rs`), when asked.
    wire: Mutex<Vec<WireExchange>>,
    /// The scenario's `{unique}` for its set-up steps.
    unique: String,
    /// The run's context: a step is cancelled when the run is stopped at once.
    ctx: RunContext,
}

impl Steps {
    /// Steps sent with `builder` (which renders the captures), recorded by `recorder`;
    /// `refresh` is the login step to repeat and when, `unique` the scenario's
    /// `{unique}`, `ctx` the run's (for stopping at once).
    pub fn new(
        builder: RequestBuilder,
        recorder: Recorder,
        captures: Captures,
        secrets: Secrets,
        refresh: Option<(SetupStep, Refresh)>,
        unique: String,
        ctx: RunContext,
    ) -> Steps {
        Steps {
            builder,
            recorder,
            captures,
            secrets,
            refresh,
            last_login: Mutex::new(Instant::now()),
            gate: tokio::sync::Mutex::new(()),
            records: Mutex::default(),
            wire: Mutex::default(),
            unique,
            ctx,
        }
    }

    /// Runs every step in order on `client`; the first that fails stops the scenario.
    /// With `capture`, each step's exchange is kept as it went ([`Steps::take_wire`]).
    pub async fn run_all(
        &self,
        client: &reqwest::Client,
        steps: &[SetupStep],
        capture: bool,
    ) -> Result<(), String> {
        for step in steps {
            self.run(client, step, capture).await?;
        }
        *self
            .last_login
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// Sends one step, checks its status, keeps its captures (credentials among them
    /// registered as secrets first) and records it; with `capture`, keeps its exchange
    /// as it went too.
    async fn run(
        &self,
        client: &reqwest::Client,
        step: &SetupStep,
        capture: bool,
    ) -> Result<(), String> {
        let vars = Vars {
            unique: Some(self.unique.clone()),
            ..Vars::default()
        };
        let prepared = self.builder.prepare(&step.request, &vars)?;
        let exchange = self
            .ctx
            .unless_aborted(Instant::now(), exchange::send(client, prepared.clone()))
            .await;
        self.builder
            .remember(super::cookies::Conn::Reader, &prepared, &exchange);
        let answer = exchange::read_outcome(&exchange, |s| {
            if step.expect.is_empty() {
                (200..300).contains(&s)
            } else {
                step.expect.contains(&s)
            }
        });
        let ok = answer == Outcome::Ok;
        let mut missing = None;
        if ok {
            for capture in &step.captures {
                match locate(&capture.from, &exchange) {
                    Some(value) => {
                        if capture.secret {
                            self.secrets.learn(&value_text(&value));
                        }
                        self.captures.set(&capture.name, value);
                    }
                    None => {
                        missing.get_or_insert(capture);
                    }
                }
            }
        }
        // A whole answer without what the step captures is unexpected.
        let outcome = match answer {
            Outcome::Ok if missing.is_some() => Outcome::Unexpected,
            other => other,
        };
        let record =
            self.recorder
                .record(Phase::Setup, Meta::default(), &prepared, &exchange, outcome);
        if capture {
            let wire = super::capture::wire(&record, &prepared, &exchange.headers, &self.secrets);
            self.wire
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(wire);
        }
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
        if !ok {
            return Err(format!(
                "the [[setup]] step `{}` failed: {}",
                step.name,
                describe_failure(&prepared, &exchange, &step.expect)
            ));
        }
        if let Some(capture) = missing {
            return Err(format!(
                "the [[setup]] step `{}` answered {}, but its answer has nothing at {} for \
                 `{{{}}}`; check `capture` in that step (body {})",
                step.name,
                exchange.status.unwrap_or(0),
                capture.from,
                capture.name,
                excerpt(&exchange.body)
            ));
        }
        Ok(())
    }

    /// Runs the login step again when `every` has passed since it last ran.
    pub async fn refresh_if_due(&self, client: &reqwest::Client) -> Result<(), String> {
        let Some((step, refresh)) = &self.refresh else {
            return Ok(());
        };
        let Some(every) = refresh.every else {
            return Ok(());
        };
        let _one = self.gate.lock().await;
        let last = *self
            .last_login
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.elapsed() < every {
            return Ok(());
        }
        self.login(client, step).await
    }

    /// Whether a request answered `status` should be sent again after a login.
    pub fn refreshes_on(&self, status: Option<u16>) -> bool {
        match (&self.refresh, status) {
            (Some((_, refresh)), Some(status)) => refresh.on.contains(&status),
            _ => false,
        }
    }

    /// Runs the login step again because a request sent at `sent` was refused, unless a
    /// login has happened since (another caller was refused too, and already did it).
    pub async fn refresh_after(
        &self,
        client: &reqwest::Client,
        sent: Instant,
    ) -> Result<(), String> {
        let Some((step, _)) = &self.refresh else {
            return Ok(());
        };
        let _one = self.gate.lock().await;
        let last = *self
            .last_login
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last > sent {
            return Ok(());
        }
        self.login(client, step).await
    }

    async fn login(&self, client: &reqwest::Client, step: &SetupStep) -> Result<(), String> {
        self.run(client, step, false)
            .await
            .map_err(|e| format!("logging in again: {e}"))?;
        *self
            .last_login
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// The exchanges kept as they went (the steps run with `capture`), not yet taken.
    pub fn take_wire(&self) -> Vec<WireExchange> {
        std::mem::take(&mut *self.wire.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The records of every step sent so far and not yet taken.
    pub fn take_records(&self) -> Vec<RequestRecord> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
