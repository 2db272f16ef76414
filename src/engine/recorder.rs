//! The recorder: turns one exchange into one [`RequestRecord`], redacting every text the
//! exchange brought back.
//!
//! A run makes hundreds of thousands of records a minute, so a record costs as few
//! allocations as its values allow: the fields that repeat from record to record (the
//! scenario's name, the method, the URL, the content type, the promised statuses) are
//! [`Text`]s shared with the records before, taken from the scenario once or from a
//! small cache of the values this recorder saw last; a write's `version_sent` is the
//! very `Text` its read returned; and an exchange the caller is done with gives up its
//! body rather than having it copied ([`Recorder::record_taking`]). What is labelled
//! before the request is sent travels in a [`Meta`].

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::history::{Outcome, Phase, RequestRecord, Text};
use crate::scenario::template::value_text;
use crate::scenario::{Actionable, Locator, Secrets, WorkloadId};

use super::exchange::{Exchange, Prepared};
use super::locate;

/// Labels of a record that the engine knows before it sends.
#[derive(Debug, Clone, Default)]
pub(super) struct Meta {
    pub round: u32,
    pub writer: Option<u32>,
    pub attempt: u32,
    /// The version token the request carries, as recorded (the recorder redacts it).
    pub version_sent: Option<Text>,
    pub marker: Option<String>,
    pub value: Option<i64>,
    /// Transition: the state a write asks for.
    pub state: Option<Text>,
    /// Counter: the client strategy.
    pub strategy: Option<Text>,
    /// Sustained: the hot resource.
    pub resource: Option<u32>,
    /// Sustained, open model: when the attempt was due.
    pub scheduled: Option<Instant>,
}

/// Turns exchanges into records; cheap to clone into writer tasks (a clone starts with
/// an empty cache of its own, so tasks never wait on each other for it).
pub(super) struct Recorder {
    pub scenario: Text,
    pub workload: WorkloadId,
    pub version: Option<Locator>,
    /// Where a write's answer has the version, when not where a read has it.
    pub write_version: Option<Locator>,
    /// Redacted, in every form, from every record, learned secrets included.
    pub secrets: Secrets,
    pub origin: Instant,
    /// The promised conflict statuses, as recorded on writes (`409 412`).
    pub promised: Text,
    /// What a conflict answer must carry, if the scenario says.
    pub actionable: Option<Actionable>,
    recent: Mutex<Recent>,
}

/// The URLs and content types this recorder recorded last, to share with the next
/// records that carry the same.
#[derive(Default)]
struct Recent {
    /// (the URL as sent, as recorded: redacted).
    urls: Vec<(String, Text)>,
    content_types: Vec<Text>,
}

/// How many URLs and content types a recorder remembers: a sustained connection's
/// resource read and write, a round's few.
const RECENT_URLS: usize = 8;
const RECENT_CONTENT_TYPES: usize = 4;

impl Clone for Recorder {
    fn clone(&self) -> Recorder {
        Recorder {
            scenario: self.scenario.clone(),
            workload: self.workload,
            version: self.version.clone(),
            write_version: self.write_version.clone(),
            secrets: self.secrets.clone(),
            origin: self.origin,
            promised: self.promised.clone(),
            actionable: self.actionable.clone(),
            recent: Mutex::default(),
        }
    }
}

/// The method as a `Text`, without an allocation for the standard ones.
fn method_text(method: &reqwest::Method) -> Text {
    const STANDARD: [&str; 9] = [
        "GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    match STANDARD.iter().find(|m| **m == method.as_str()) {
        Some(m) => Text::from_static(m),
        None => Text::from(method.as_str()),
    }
}

/// The text at `locator` in an answer (as [`locate`] finds it), read straight from the
/// header when it is one.
fn located_text(locator: &Locator, exchange: &Exchange) -> Option<Text> {
    match locator {
        Locator::Header(field) => field
            .name()
            .and_then(|name| exchange.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(Text::from),
        _ => locate(locator, exchange).map(|v| Text::from(value_text(&v))),
    }
}

impl Recorder {
    /// A recorder for one scenario's records.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &str,
        workload: WorkloadId,
        version: Option<Locator>,
        write_version: Option<Locator>,
        secrets: Secrets,
        origin: Instant,
        promised: &[u16],
        actionable: Option<Actionable>,
    ) -> Recorder {
        let promised: Vec<String> = promised.iter().map(u16::to_string).collect();
        Recorder {
            scenario: Text::from(scenario),
            workload,
            version,
            write_version,
            secrets,
            origin,
            promised: Text::from(promised.join(" ")),
            actionable,
            recent: Mutex::default(),
        }
    }

    pub fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Builds a record from an exchange; `outcome` is the engine's classification
    /// ([`super::exchange::write_outcome`] or [`super::exchange::read_outcome`]). Every
    /// text from the exchange is redacted.
    pub fn record(
        &self,
        phase: Phase,
        meta: Meta,
        prepared: &Prepared,
        exchange: &Exchange,
        outcome: Outcome,
    ) -> RequestRecord {
        let mut record = self.record_without_body(phase, meta, prepared, exchange, outcome);
        record.body = self.redacted(&exchange.body);
        record
    }

    /// [`Recorder::record`] for an exchange the caller is done with: its body moves into
    /// the record (redacted) instead of being copied, and is left empty.
    pub fn record_taking(
        &self,
        phase: Phase,
        meta: Meta,
        prepared: &Prepared,
        exchange: &mut Exchange,
        outcome: Outcome,
    ) -> RequestRecord {
        let mut record = self.record_without_body(phase, meta, prepared, exchange, outcome);
        let body = std::mem::take(&mut exchange.body);
        record.body = if self.secrets.found_in(&body) {
            self.secrets.redact(&body)
        } else {
            body
        };
        record
    }

    /// `text` redacted, copied.
    fn redacted(&self, text: &str) -> String {
        if text.is_empty() {
            return String::new();
        }
        self.secrets.redact(text)
    }

    /// `text` redacted; the same `Text` when it holds no secret.
    fn redacted_text(&self, text: Text) -> Text {
        if self.secrets.found_in(&text) {
            Text::from(self.secrets.redact(&text))
        } else {
            text
        }
    }

    /// The URL as recorded (redacted), shared with the last records that had it.
    fn url(&self, recent: &mut Recent, url: &str) -> Text {
        if let Some(i) = recent.urls.iter().position(|(sent, _)| sent == url) {
            let known = &recent.urls[i].1;
            // A secret learned since then may be in it: redact again if so.
            if !self.secrets.found_in(known) {
                return known.clone();
            }
            recent.urls.remove(i);
        }
        let text = Text::from(self.secrets.redact(url));
        if recent.urls.len() >= RECENT_URLS {
            recent.urls.remove(0);
        }
        recent.urls.push((url.to_string(), text.clone()));
        text
    }

    /// The content type as recorded, shared with the last records that had it.
    fn content_type(&self, recent: &mut Recent, content_type: &str) -> Text {
        if content_type.is_empty() {
            return Text::empty();
        }
        if let Some(known) = recent.content_types.iter().find(|t| *t == content_type) {
            return known.clone();
        }
        let text = Text::from(content_type);
        if recent.content_types.len() >= RECENT_CONTENT_TYPES {
            recent.content_types.remove(0);
        }
        recent.content_types.push(text.clone());
        text
    }

    fn record_without_body(
        &self,
        phase: Phase,
        meta: Meta,
        prepared: &Prepared,
        exchange: &Exchange,
        outcome: Outcome,
    ) -> RequestRecord {
        let contended = matches!(phase, Phase::Write | Phase::Probe);
        let version_at = match (contended, &self.write_version) {
            (true, Some(at)) => Some(at),
            _ => self.version.as_ref(),
        };
        let content_type = exchange
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let conflict_missing = match &self.actionable {
            Some(actionable) if contended && outcome == Outcome::Conflict => {
                let missing = actionable.missing(content_type, |l| {
                    locate(l, exchange).is_some_and(|v| !value_text(&v).trim().is_empty())
                });
                if missing.is_empty() {
                    String::new()
                } else {
                    format!("{}: {}", actionable.level.name(), missing.join(" "))
                }
            }
            _ => String::new(),
        };
        let (url, content_type) = {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            (
                self.url(&mut recent, prepared.url.as_str()),
                self.content_type(&mut recent, content_type),
            )
        };
        RequestRecord {
            scenario: self.scenario.clone(),
            workload: self.workload,
            phase,
            round: meta.round,
            writer: meta.writer,
            attempt: meta.attempt.max(1),
            method: method_text(&prepared.method),
            url,
            version_sent: meta
                .version_sent
                .filter(|v| !v.is_empty())
                .map(|v| self.redacted_text(v)),
            marker: meta.marker.filter(|m| !m.is_empty()),
            value: meta.value,
            status: exchange.status,
            outcome,
            start_ns: self.nanos(exchange.start),
            end_ns: self.nanos(exchange.end),
            latency_ns: u64::try_from(
                exchange
                    .end
                    .saturating_duration_since(exchange.start)
                    .as_nanos(),
            )
            .unwrap_or(u64::MAX),
            version_returned: version_at
                .and_then(|l| located_text(l, exchange))
                .filter(|v| !v.is_empty())
                .map(|v| self.redacted_text(v)),
            body: String::new(),
            error: exchange
                .incident
                .as_ref()
                .map(|i| self.redacted(&i.message))
                .unwrap_or_default(),
            cause: exchange.cause(),
            arrival_ns: exchange.arrival_ns,
            resource: meta.resource,
            scheduled_ns: meta.scheduled.map(|at| self.nanos(at)),
            content_type,
            state: meta.state.filter(|s| !s.is_empty()),
            strategy: meta.strategy.filter(|s| !s.is_empty()),
            promised: if contended {
                self.promised.clone()
            } else {
                Text::empty()
            },
            conflict_missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(secrets: Secrets) -> Recorder {
        Recorder::new(
            "s",
            WorkloadId::Sustained,
            Some(Locator::Header("etag".into())),
            None,
            secrets,
            Instant::now(),
            &[409, 412],
            None,
        )
    }

    fn exchange(body: &str) -> Exchange {
        let now = Instant::now();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("etag", "\"7\"".parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        Exchange {
            status: Some(200),
            headers,
            body: body.to_string(),
            incident: None,
            start: now,
            end: now,
            arrival_ns: None,
        }
    }

    fn prepared(url: &str) -> Prepared {
        Prepared {
            method: reqwest::Method::PUT,
            url: url::Url::parse(url).unwrap(),
            headers: reqwest::header::HeaderMap::new(),
            body: None,
        }
    }

    #[test]
    fn records_with_the_same_url_and_content_type_share_them() {
        let r = recorder(Secrets::new());
        let p = prepared("http://127.0.0.1:1/notes/1");
        let a = r.record(
            Phase::Write,
            Meta::default(),
            &p,
            &exchange("{}"),
            Outcome::Winner,
        );
        let b = r.record(
            Phase::Write,
            Meta::default(),
            &p,
            &exchange("{}"),
            Outcome::Winner,
        );
        assert_eq!(a.url, "http://127.0.0.1:1/notes/1");
        assert!(
            std::ptr::eq(a.url.as_ptr(), b.url.as_ptr()),
            "one URL, shared"
        );
        assert!(std::ptr::eq(
            a.content_type.as_ptr(),
            b.content_type.as_ptr()
        ));
        assert_eq!(a.promised, "409 412");
        assert_eq!(a.version_returned.as_deref(), Some("\"7\""));
        assert_eq!(a.method, "PUT");
    }

    #[test]
    fn a_secret_learned_after_a_url_was_cached_is_still_redacted() {
        let secrets = Secrets::new();
        let r = recorder(secrets.clone());
        let p = prepared("http://127.0.0.1:1/notes/tok3n-value");
        let before = r.record(Phase::Read, Meta::default(), &p, &exchange(""), Outcome::Ok);
        assert!(before.url.contains("tok3n-value"));
        secrets.add("tok3n-value");
        let mut answer = exchange("the tok3n-value again");
        let after = r.record_taking(Phase::Read, Meta::default(), &p, &mut answer, Outcome::Ok);
        assert!(!after.url.contains("tok3n-value"), "{}", after.url);
        assert!(!after.body.contains("tok3n-value"), "{}", after.body);
        assert!(answer.body.is_empty(), "the body moved into the record");
    }

    #[test]
    fn empty_optional_texts_are_recorded_as_absent() {
        let r = recorder(Secrets::new());
        let meta = Meta {
            version_sent: Some(Text::empty()),
            marker: Some(String::new()),
            state: Some(Text::empty()),
            ..Meta::default()
        };
        let p = prepared("http://127.0.0.1:1/x");
        let rec = r.record(Phase::Write, meta, &p, &exchange(""), Outcome::Winner);
        assert_eq!(
            (rec.version_sent, rec.marker, rec.state),
            (None, None, None)
        );
    }
}
