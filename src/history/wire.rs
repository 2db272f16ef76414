//! The wire side record: a few exchanges as they went, request headers and body
//! included, which the history's [`RequestRecord`](super::RequestRecord) leaves out to
//! stay cheap. The engine keeps them for the witnesses of violations only (a scenario's
//! set-up and the exchanges each flagged round's witness needs, a bounded number of
//! rounds), redacted, and the run writes them to `exchanges.jsonl`, one per line, beside
//! `requests.csv`. A witness file or its curl form is told from them; a record without
//! its wire exchange (a round past the bound, a history checked again without the file)
//! is told from the record alone.
//!
//! A wire exchange is matched to its record by [`WireKey`]: the scenario, the phase, the
//! round, the writer and the instant it was sent, which no two requests of a scenario
//! share.

use std::io::{BufRead, Read as _, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Phase, RequestRecord, MAX_LINE};
use crate::scenario::Secrets;

/// The most of a request or response body a wire exchange keeps; past it, the body is
/// cut and `body_cut` says so. A witness needs to show the body, not every byte of it.
pub const WIRE_BODY_LIMIT: usize = 16 * 1024;

/// The name of the file a run writes its wire exchanges to, in its report folder.
pub const EXCHANGES_FILE: &str = "exchanges.jsonl";

/// One HTTP exchange as it went: the request contend sent and the response it got,
/// headers and bodies included, secrets replaced by `***`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireExchange {
    pub scenario: String,
    pub phase: Phase,
    pub round: u32,
    pub writer: Option<u32>,
    /// When it was sent and when its answer ended, as in its record (ns since the run
    /// started).
    pub start_ns: u64,
    pub end_ns: u64,
    pub request: WireRequest,
    /// `None` when no status came back.
    pub response: Option<WireResponse>,
    /// What went wrong, when the answer was not whole (the record's `error`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// A request as contend sent it: the headers it set (the client adds `Host` and
/// `Content-Length`), and the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRequest {
    pub method: String,
    pub url: String,
    /// Name and value, in the order they were set.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8), up to [`WIRE_BODY_LIMIT`] bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_cut: bool,
}

/// A response's status, headers and body (up to [`WIRE_BODY_LIMIT`] bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_cut: bool,
}

/// What matches a wire exchange to its record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WireKey {
    pub scenario: String,
    pub phase: Phase,
    pub round: u32,
    pub writer: Option<u32>,
    pub start_ns: u64,
}

impl WireKey {
    /// The key of a record.
    pub fn of(record: &RequestRecord) -> WireKey {
        WireKey {
            scenario: record.scenario.clone(),
            phase: record.phase,
            round: record.round,
            writer: record.writer,
            start_ns: record.start_ns,
        }
    }
}

impl WireExchange {
    /// Its key, the same as its record's.
    pub fn key(&self) -> WireKey {
        WireKey {
            scenario: self.scenario.clone(),
            phase: self.phase,
            round: self.round,
            writer: self.writer,
            start_ns: self.start_ns,
        }
    }

    /// Replaces every form of every secret with `***` in everything it holds (secrets
    /// learned after it was made are hidden too).
    pub fn redact(&mut self, secrets: &Secrets) {
        let hide = |text: &mut String| secrets.hide(text);
        hide(&mut self.request.url);
        hide(&mut self.error);
        for (_, value) in &mut self.request.headers {
            hide(value);
        }
        if let Some(body) = &mut self.request.body {
            hide(body);
        }
        if let Some(response) = &mut self.response {
            for (_, value) in &mut response.headers {
                hide(value);
            }
            hide(&mut response.body);
        }
    }
}

/// `bytes` as text, cut at [`WIRE_BODY_LIMIT`] (on a character boundary); true when cut.
pub fn wire_text(bytes: &[u8]) -> (String, bool) {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(WIRE_BODY_LIMIT)]).into_owned();
    (text, bytes.len() > WIRE_BODY_LIMIT)
}

/// `text` cut at [`WIRE_BODY_LIMIT`] bytes, on a character boundary; true when cut.
pub fn wire_cut(text: &str) -> (String, bool) {
    if text.len() <= WIRE_BODY_LIMIT {
        return (text.to_string(), false);
    }
    let mut end = WIRE_BODY_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

/// Writes wire exchanges as JSON Lines, one per line.
pub fn write_wire(path: &Path, exchanges: &[WireExchange]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for e in exchanges {
        serde_json::to_writer(&mut out, e).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Reads a file written by [`write_wire`]; a line longer than [`MAX_LINE`] or one that
/// is no wire exchange is an error naming the line.
pub fn read_wire(path: &Path) -> Result<Vec<WireExchange>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut out = Vec::new();
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if read == 0 {
            break;
        }
        if line.len() > MAX_LINE {
            return Err(format!(
                "{} line {n}: over {} MiB, so this is not an {EXCHANGES_FILE} written by contend",
                path.display(),
                MAX_LINE / (1024 * 1024)
            ));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let exchange = serde_json::from_slice(&line)
            .map_err(|e| format!("{} line {n}: {e}", path.display()))?;
        out.push(exchange);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange() -> WireExchange {
        WireExchange {
            scenario: "s".into(),
            phase: Phase::Write,
            round: 2,
            writer: Some(3),
            start_ns: 10,
            end_ns: 20,
            request: WireRequest {
                method: "PUT".into(),
                url: "http://127.0.0.1:1/notes/1?token=tok-123".into(),
                headers: vec![
                    ("if-match".into(), "\"1\"".into()),
                    ("authorization".into(), "Bearer tok-123".into()),
                ],
                body: Some("{\"text\":\"m\"}".into()),
                body_cut: false,
            },
            response: Some(WireResponse {
                status: 200,
                headers: vec![("etag".into(), "\"2\"".into())],
                body: "{\"echo\":\"tok-123\"}".into(),
                body_cut: false,
            }),
            error: String::new(),
        }
    }

    #[test]
    fn wire_exchanges_round_trip_through_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EXCHANGES_FILE);
        let mut unanswered = exchange();
        unanswered.response = None;
        unanswered.error = "timed out".into();
        write_wire(&path, &[exchange(), unanswered.clone()]).unwrap();
        assert_eq!(read_wire(&path).unwrap(), vec![exchange(), unanswered]);
    }

    #[test]
    fn redaction_reaches_the_url_every_header_and_both_bodies() {
        let mut e = exchange();
        e.redact(&Secrets::of(["tok-123"]));
        let text = serde_json::to_string(&e).unwrap();
        assert!(!text.contains("tok-123"), "{text}");
        assert_eq!(e.request.headers[1].1, "Bearer ***");
    }

    #[test]
    fn a_wire_exchange_has_the_key_of_its_record() {
        let e = exchange();
        let record = RequestRecord {
            phase: Phase::Write,
            round: 2,
            writer: Some(3),
            start_ns: 10,
            ..crate::history::tests::record()
        };
        assert_eq!(e.key(), WireKey::of(&record));
    }

    #[test]
    fn a_long_body_is_cut_on_a_character_boundary() {
        let long = "é".repeat(WIRE_BODY_LIMIT);
        let (cut, was) = wire_cut(&long);
        assert!(was && cut.len() <= WIRE_BODY_LIMIT && cut.chars().all(|c| c == 'é'));
        assert_eq!(wire_cut("short"), ("short".to_string(), false));
        assert!(wire_text(&vec![b'a'; WIRE_BODY_LIMIT + 1]).1);
    }

    #[test]
    #[cfg(unix)]
    fn an_endless_line_is_an_error() {
        let err = read_wire(Path::new("/dev/zero")).unwrap_err();
        assert!(err.contains("not an exchanges.jsonl"), "{err}");
    }
}
