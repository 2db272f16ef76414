//! The wire capture: the few exchanges a violation's witness shows, kept as they went
//! (request headers and body, response headers), beside the history that leaves them
//! out ([`crate::history::wire`]).
//!
//! Only round-based workloads capture, and only when the run gives the engine a
//! [`RoundJudge`] (the checker, judging each round as it ends). During a round the
//! engine notes what it sent and the response headers of every request but the
//! warm-ups (a clone of each request, which the race holds anyway); when the round
//! ends, the judge says which of its records the witnesses of its violations need, and
//! only those become wire exchanges, redacted. So a round that broke nothing costs the
//! clones and one check of its records, and memory holds at most the witnesses of
//! [`ROUNDS_KEPT`] flagged rounds, plus one round for each kind of violation first seen
//! after them. The set-up (the `[[setup]]` steps and the resource's create) is kept
//! whole: a witness's curl form starts with it. Counter and sustained runs, whose
//! writers run free, capture their set-up only.

use std::sync::Arc;

use reqwest::header::HeaderMap;

use crate::history::wire::{wire_cut, wire_text, WireExchange, WireRequest, WireResponse};
use crate::history::RequestRecord;
use crate::outcome::ViolationKind;
use crate::scenario::Secrets;

use super::exchange::Prepared;

/// The flagged rounds whose witness exchanges are kept; a round past them is kept only
/// when it shows a kind of violation none of the kept rounds showed.
pub const ROUNDS_KEPT: usize = 5;

/// Judges one finished round from its records (the checker does, in `run`): the engine
/// keeps the wire exchanges of the records it names.
pub trait RoundJudge: Send + Sync {
    /// The round's violations and the records (indices into `records`) their witnesses
    /// need; nothing when the round broke no contract.
    fn judge(&self, records: &[RequestRecord]) -> Flagged;
}

/// What a [`RoundJudge`] found in a round.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flagged {
    /// The kinds of violation the round showed.
    pub kinds: Vec<ViolationKind>,
    /// The records the witnesses need, as indices into the round's records.
    pub records: Vec<usize>,
}

/// A request noted during a round, not yet judged.
struct Pending {
    /// Its record's index in the session's records.
    record: usize,
    request: Prepared,
    headers: HeaderMap,
}

/// One scenario's capture while it runs.
pub(super) struct Capture {
    judge: Arc<dyn RoundJudge>,
    /// Whether requests are noted now (the set-up and rounds of a round-based workload).
    on: bool,
    pending: Vec<Pending>,
    kept: Vec<WireExchange>,
    rounds_kept: usize,
    kinds_kept: Vec<ViolationKind>,
}

impl Capture {
    pub fn new(judge: Arc<dyn RoundJudge>) -> Capture {
        Capture {
            judge,
            on: false,
            pending: Vec::new(),
            kept: Vec::new(),
            rounds_kept: 0,
            kinds_kept: Vec::new(),
        }
    }

    /// Starts noting requests (a round-based workload's set-up and rounds).
    pub fn start(&mut self) {
        self.on = true;
    }

    /// Notes a request whose record is `record` in the session's records.
    pub fn note(&mut self, record: usize, request: &Prepared, headers: &HeaderMap) {
        if self.on {
            self.pending.push(Pending {
                record,
                request: request.clone(),
                headers: headers.clone(),
            });
        }
    }

    /// Keeps every request noted so far: the set-up's.
    pub fn keep_pending(&mut self, records: &[RequestRecord], secrets: &Secrets) {
        for p in std::mem::take(&mut self.pending) {
            if let Some(record) = records.get(p.record) {
                self.kept
                    .push(wire(record, &p.request, &p.headers, secrets));
            }
        }
    }

    /// A round ended; its records start at `first`. Judges it, keeps the exchanges its
    /// witnesses need if it is within the bound, and forgets the rest.
    pub fn finish_round(&mut self, records: &[RequestRecord], first: usize, secrets: &Secrets) {
        let pending = std::mem::take(&mut self.pending);
        let round = records.get(first..).unwrap_or_default();
        let flagged = self.judge.judge(round);
        if flagged.kinds.is_empty() {
            return;
        }
        let new_kind = flagged.kinds.iter().any(|k| !self.kinds_kept.contains(k));
        if self.rounds_kept >= ROUNDS_KEPT && !new_kind {
            return;
        }
        self.rounds_kept += 1;
        for kind in flagged.kinds {
            if !self.kinds_kept.contains(&kind) {
                self.kinds_kept.push(kind);
            }
        }
        for p in pending {
            let wanted = p
                .record
                .checked_sub(first)
                .is_some_and(|i| flagged.records.contains(&i));
            if let (true, Some(record)) = (wanted, records.get(p.record)) {
                self.kept
                    .push(wire(record, &p.request, &p.headers, secrets));
            }
        }
    }

    /// Everything kept.
    pub fn take(&mut self) -> Vec<WireExchange> {
        std::mem::take(&mut self.kept)
    }
}

/// The wire exchange of a request sent as `request` whose answer had `headers`, with
/// its record (already redacted) for the rest; redacted.
pub(super) fn wire(
    record: &RequestRecord,
    request: &Prepared,
    headers: &HeaderMap,
    secrets: &Secrets,
) -> WireExchange {
    let pairs = |headers: &HeaderMap| -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect()
    };
    let (body, body_cut) = match &request.body {
        Some(bytes) => {
            let (text, cut) = wire_text(bytes);
            (Some(text), cut)
        }
        None => (None, false),
    };
    let response = record.status.map(|status| {
        let (body, body_cut) = wire_cut(&record.body);
        WireResponse {
            status,
            headers: pairs(headers),
            body,
            body_cut,
        }
    });
    let mut exchange = WireExchange {
        scenario: record.scenario.clone(),
        phase: record.phase,
        round: record.round,
        writer: record.writer,
        start_ns: record.start_ns,
        end_ns: record.end_ns,
        request: WireRequest {
            method: request.method.to_string(),
            url: record.url.clone(),
            headers: pairs(&request.headers),
            body,
            body_cut,
        },
        response,
        error: record.error.clone(),
    };
    exchange.redact(secrets);
    exchange
}
