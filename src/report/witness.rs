//! The files that show a violation rather than count it, beside the other reports:
//!
//! - `witnesses/<scenario>-r<round>-<kind>.json`: a violation's minimal witness
//!   ([`crate::check::witness`]), each request and response as they went (method, URL,
//!   headers and body with secrets as `***`, status, timings), with what it shows;
//! - `witnesses/<scenario>-r<round>-<kind>.sh`: the same as plain `curl` commands, the
//!   set-up first, for reading (or running) without contend; curl sends them one after
//!   another, so it cannot race them, and the file says so;
//! - `timelines/<scenario>-r<round>.svg`: the timeline of each of the first violating
//!   rounds ([`super::timeline`]), the same picture `report.html` shows;
//! - `exchanges.jsonl`: the wire exchanges the engine kept for these witnesses
//!   ([`crate::history::wire`]);
//! - `replay.json`: what `contend replay` needs to fire a witness's writes again (the
//!   scenario file, the target, the sync mode, each witness's writers in their release
//!   order).
//!
//! A witness of a round past those the engine kept (or of a history checked again
//! without its `exchanges.jsonl`) is told from its records: method, URL, status, body
//! and times, without the request's headers and body, and its file says so.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{timeline, write_atomically, ScenarioResult};
use crate::check::witness::Step;
use crate::check::Witness;
use crate::history::wire::{write_wire, WireExchange, WireKey, EXCHANGES_FILE};
use crate::history::RequestRecord;
use crate::scenario::secrets::MASK;

/// The folder of the witness files, in a report folder.
pub const WITNESS_DIR: &str = "witnesses";
/// The folder of the timelines, in a report folder.
pub const TIMELINE_DIR: &str = "timelines";
/// What `contend replay` reads in a report folder.
pub const REPLAY_FILE: &str = "replay.json";

/// A scenario's name as a file name: anything but letters, digits, `.`, `_` and `-`
/// becomes `-`.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn stem(scenario: &str, w: &Witness) -> String {
    match w.round {
        Some(round) => format!("{WITNESS_DIR}/{}-r{round}-{}", slug(scenario), w.kind),
        None => format!("{WITNESS_DIR}/{}-{}", slug(scenario), w.kind),
    }
}

/// Where a witness's JSON file is, relative to the report folder.
pub fn witness_file(scenario: &str, w: &Witness) -> String {
    format!("{}.json", stem(scenario, w))
}

/// Where a witness's curl form is, relative to the report folder.
pub fn curl_file(scenario: &str, w: &Witness) -> String {
    format!("{}.sh", stem(scenario, w))
}

/// Where a round's timeline is, relative to the report folder.
pub fn timeline_file(scenario: &str, round: u32) -> String {
    format!("{TIMELINE_DIR}/{}-r{round}.svg", slug(scenario))
}

/// What `contend replay` needs about a run as a whole (`replay.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayManifest {
    /// The contend that wrote it.
    pub contend: String,
    pub seed: u64,
    /// How the built-in server behaved, when a scenario ran against it.
    #[serde(default)]
    pub builtin: Option<ReplayBuiltin>,
    pub scenarios: Vec<ReplayScenario>,
}

/// The built-in server of a run: its bug (by name) and the bug's window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayBuiltin {
    pub bug: Option<String>,
    pub window_ms: u64,
}

/// One scenario of a run, as `contend replay` needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayScenario {
    pub name: String,
    /// The scenario file, as an absolute path.
    pub file: PathBuf,
    pub workload: String,
    /// `builtin` or the base URL (a password in it as `***`).
    pub target: String,
    pub sync: Option<String>,
    pub writer_connections: Option<String>,
    pub timeout_ms: u64,
    pub writers: u32,
    pub rounds: u32,
    /// Its witnesses, filled in when the files are written.
    #[serde(default)]
    pub witnesses: Vec<ReplayWitness>,
}

/// One witness, as `contend replay` fires it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayWitness {
    pub violation: String,
    pub round: Option<u32>,
    /// Its writes' writers, in the order they were released.
    pub writers: Vec<u32>,
    pub file: String,
}

/// Writes the witness files, the timelines, `exchanges.jsonl` and (for a run, given
/// `manifest`) `replay.json` into `dir`; removes the witness and timeline folders an
/// earlier run left there first. Returns the paths written.
pub fn write_all(
    dir: &Path,
    results: &[ScenarioResult],
    exchanges: &[WireExchange],
    manifest: Option<ReplayManifest>,
) -> io::Result<Vec<PathBuf>> {
    for folder in [WITNESS_DIR, TIMELINE_DIR] {
        match std::fs::remove_dir_all(dir.join(folder)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    let mut written = Vec::new();
    // Only the exchanges of scenarios with a witness: a passing run has no file.
    let witnessed = |name: &str| {
        results
            .iter()
            .any(|r| r.verdict.scenario == name && !r.witness.witnesses.is_empty())
    };
    let exchanges: Vec<WireExchange> = exchanges
        .iter()
        .filter(|e| witnessed(&e.scenario))
        .cloned()
        .collect();
    let exchanges = exchanges.as_slice();
    let exchanges_path = dir.join(EXCHANGES_FILE);
    if exchanges.is_empty() {
        let _ = std::fs::remove_file(&exchanges_path);
    } else {
        write_atomically(&exchanges_path, |p| write_wire(p, exchanges))?;
        written.push(exchanges_path);
    }
    let wires: HashMap<WireKey, &WireExchange> = exchanges.iter().map(|e| (e.key(), e)).collect();
    for r in results {
        let scenario = &r.verdict.scenario;
        for w in &r.witness.witnesses {
            for (file, text) in [
                (witness_file(scenario, w), witness_text(dir, r, w, &wires)),
                (curl_file(scenario, w), curl(r, w, &wires)),
            ] {
                let path = dir.join(&file);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                write_atomically(&path, |p| std::fs::write(p, &text))?;
                written.push(path);
            }
        }
        for trace in &r.witness.rounds {
            let path = dir.join(timeline_file(scenario, trace.round));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            write_atomically(&path, |p| {
                std::fs::write(p, timeline::round(scenario, trace))
            })?;
            written.push(path);
        }
    }
    if let Some(mut manifest) = manifest {
        for s in &mut manifest.scenarios {
            let Some(r) = results.iter().find(|r| r.verdict.scenario == s.name) else {
                continue;
            };
            s.witnesses = r
                .witness
                .witnesses
                .iter()
                .map(|w| ReplayWitness {
                    violation: w.kind.name().to_string(),
                    round: w.round,
                    writers: w.writers(),
                    file: witness_file(&s.name, w),
                })
                .collect();
        }
        let path = dir.join(REPLAY_FILE);
        write_atomically(&path, |p| {
            let text = serde_json::to_string_pretty(&manifest).map_err(io::Error::other)?;
            std::fs::write(p, text + "\n")
        })?;
        written.push(path);
    }
    Ok(written)
}

/// A witness file: the violation, what its exchanges show, and the exchanges.
#[derive(Serialize)]
struct WitnessFile<'a> {
    contend: &'static str,
    scenario: &'a str,
    workload: &'static str,
    violation: &'static str,
    round: Option<u32>,
    version: Option<&'a str>,
    shows: &'a str,
    evidence: &'a str,
    target: &'a str,
    sync: Option<&'static str>,
    writer_connections: Option<&'static str>,
    writers_in_release_order: Vec<u32>,
    times: &'static str,
    setup: Vec<ExchangeEntry<'a>>,
    exchanges: Vec<ExchangeEntry<'a>>,
    curl: String,
    replay: String,
}

/// One exchange of a witness file.
#[derive(Serialize)]
struct ExchangeEntry<'a> {
    role: &'static str,
    phase: crate::history::Phase,
    #[serde(skip_serializing_if = "Option::is_none")]
    writer: Option<u32>,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'static str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_sent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_returned: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<&'a str>,
    sent_ms: f64,
    answered_ms: f64,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    arrival_offset_us: Option<f64>,
    request: RequestEntry<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<ResponseEntry<'a>>,
}

#[derive(Serialize)]
struct RequestEntry<'a> {
    method: &'a str,
    url: &'a str,
    /// `name: value`, as they were set; `None` when they were not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    body_cut: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
}

#[derive(Serialize)]
struct ResponseEntry<'a> {
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Vec<String>>,
    body: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    body_cut: bool,
}

/// What a request of a witness says when its wire exchange was not kept.
const NOT_KEPT: &str = "its headers and body were not kept: only the set-up's and those of the witnesses of the first violating rounds are (exchanges.jsonl)";

/// A witness as JSON text (see the module doc).
fn witness_text<'a>(
    dir: &Path,
    r: &'a ScenarioResult,
    w: &'a Witness,
    wires: &HashMap<WireKey, &'a WireExchange>,
) -> String {
    let t0 = w.steps.iter().map(|s| s.record.start_ns).min().unwrap_or(0);
    let first_arrival = w.steps.iter().filter_map(|s| s.record.arrival_ns).min();
    let entry = |role: &'static str, record: &'a RequestRecord| {
        exchange_entry(
            role,
            record,
            wires.get(&WireKey::of(record)).copied(),
            t0,
            first_arrival,
        )
    };
    let scenario = &r.verdict.scenario;
    let file = WitnessFile {
        contend: env!("CARGO_PKG_VERSION"),
        scenario,
        workload: r.verdict.workload.name(),
        violation: w.kind.name(),
        round: w.round,
        version: w.version.as_deref(),
        shows: &w.shows,
        evidence: &w.evidence,
        target: &r.target,
        sync: r.sync.map(|m| m.mode.name()),
        writer_connections: r.writer_connections.map(|p| p.name()),
        writers_in_release_order: w.writers(),
        times: "sent_ms and answered_ms: since the witness's first request; arrival_offset_us: since the first of its writes reached the server (server clock)",
        setup: w.setup.iter().map(|rec| entry("setup", rec)).collect(),
        exchanges: w
            .steps
            .iter()
            .map(|s: &Step| entry(s.role.name(), &s.record))
            .collect(),
        curl: curl_file(scenario, w),
        replay: format!("contend replay {}", dir.join(witness_file(scenario, w)).display()),
    };
    serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
}

/// One exchange of a witness: its record's facts, and the request and response as they
/// went when its wire exchange was kept.
fn exchange_entry<'a>(
    role: &'static str,
    r: &'a RequestRecord,
    wire: Option<&'a WireExchange>,
    t0: u64,
    first_arrival: Option<u64>,
) -> ExchangeEntry<'a> {
    let ms = |ns: u64| (ns as f64 / 1e4).round() / 100.0;
    let lines = |headers: &[(String, String)]| {
        headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect::<Vec<_>>()
    };
    let request = match wire {
        Some(wire) => RequestEntry {
            method: &wire.request.method,
            url: &wire.request.url,
            headers: Some(lines(&wire.request.headers)),
            body: wire.request.body.as_deref(),
            body_cut: wire.request.body_cut,
            note: None,
        },
        None => RequestEntry {
            method: &r.method,
            url: &r.url,
            headers: None,
            body: None,
            body_cut: false,
            note: Some(NOT_KEPT),
        },
    };
    let response = match (wire.and_then(|w| w.response.as_ref()), r.status) {
        (Some(resp), _) => Some(ResponseEntry {
            status: resp.status,
            headers: Some(lines(&resp.headers)),
            body: &resp.body,
            body_cut: resp.body_cut,
        }),
        (None, Some(status)) => Some(ResponseEntry {
            status,
            headers: None,
            body: &r.body,
            body_cut: false,
        }),
        (None, None) => None,
    };
    ExchangeEntry {
        role,
        phase: r.phase,
        writer: r.writer,
        outcome: r.outcome.name(),
        cause: r.cause.map(|c| c.name()),
        error: &r.error,
        version_sent: r.version_sent.as_deref(),
        version_returned: r.version_returned.as_deref(),
        state: r.state.as_deref(),
        value: r.value,
        marker: r.marker.as_deref(),
        sent_ms: ms(r.start_ns.saturating_sub(t0)),
        answered_ms: ms(r.end_ns.saturating_sub(t0)),
        latency_ms: ms(r.latency_ns),
        arrival_offset_us: match (r.arrival_ns, first_arrival) {
            (Some(a), Some(first)) => Some((a.saturating_sub(first) as f64 / 10.0).round() / 100.0),
            _ => None,
        },
        request,
        response,
    }
}

/// `'text'`, quoted for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The scheme, host and port of a URL (`http://127.0.0.1:8080`), if it has them.
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

/// A witness as shell commands (see the module doc).
fn curl(r: &ScenarioResult, w: &Witness, wires: &HashMap<WireKey, &WireExchange>) -> String {
    let scenario = &r.verdict.scenario;
    let all: Vec<(&str, &RequestRecord)> = w
        .setup
        .iter()
        .map(|s| ("setup", s))
        .chain(w.steps.iter().map(|s| (s.role.name(), &s.record)))
        .collect();
    let base = all.first().and_then(|(_, rec)| origin(&rec.url));
    let mut out = String::from("#!/bin/sh\n");
    let at = w.round.map_or(String::new(), |n| format!(", round {n}"));
    let _ = writeln!(out, "# contend witness: {scenario}{at}: {}", w.kind);
    let _ = writeln!(out, "# {}", w.shows.replace('\n', " "));
    out.push_str(
        "#\n# The set-up and the requests of the witness as contend sent them, as plain curl\n\
         # commands. curl sends them one after another: it cannot release the writes\n\
         # together, so run this way they will most likely not race, and a server with the\n\
         # bug may well answer them correctly. `contend replay REPORT_DIR` fires them\n\
         # together again, in the run's sync mode and release order, on a fresh resource.\n",
    );
    let hidden = all.iter().any(|(_, rec)| {
        let text = match wires.get(&WireKey::of(rec)) {
            Some(e) => serde_json::to_string(e).unwrap_or_default(),
            None => rec.url.to_string(),
        };
        text.contains(MASK)
    });
    if hidden {
        out.push_str(
            "# *** stands for a secret contend hid; put the real value there to run them.\n",
        );
    }
    out.push_str("set -eu\n");
    if let Some(base) = &base {
        let _ = writeln!(out, "BASE=${{BASE:-{}}}", quote(base));
    }
    for (role, rec) in all {
        let wire = wires.get(&WireKey::of(rec)).copied();
        let who = match rec.writer {
            Some(n) if rec.phase == crate::history::Phase::Write => format!("w{n}"),
            _ => role.replace('_', " "),
        };
        let carried = rec
            .version_sent
            .as_deref()
            .map(|v| format!(" with {v}"))
            .unwrap_or_default();
        let answered = match (rec.status, rec.outcome) {
            (Some(s), crate::history::Outcome::Ok) => format!("answered {s}"),
            (Some(s), o) => format!("answered {s} ({})", o.name()),
            (None, o) => format!("no answer ({}: {})", o.name(), rec.error),
        };
        let got = rec
            .version_returned
            .as_deref()
            .map(|v| format!(", version {v}"))
            .unwrap_or_default();
        let _ = writeln!(out, "\n# {who}: {}{carried}, {answered}{got}", rec.method);
        let url = match &base {
            Some(base) if rec.url.starts_with(base.as_str()) => {
                format!("\"$BASE\"{}", quote(&rec.url[base.len()..]))
            }
            _ => quote(&rec.url),
        };
        let mut command = String::from("curl -sS -i");
        match rec.method.as_str() {
            "GET" => {}
            "HEAD" => command.push_str(" -I"),
            other => {
                let _ = write!(command, " -X {}", quote(other));
            }
        }
        let _ = write!(command, " {url}");
        match wire {
            Some(wire) => {
                for (name, value) in &wire.request.headers {
                    let _ = write!(command, " \\\n    -H {}", quote(&format!("{name}: {value}")));
                }
                if let Some(body) = &wire.request.body {
                    let _ = write!(command, " \\\n    --data-binary {}", quote(body));
                    if wire.request.body_cut {
                        out.push_str("# (its body is cut at the wire limit here)\n");
                    }
                }
            }
            None => out.push_str(
                "# (its headers and body were not kept: only the set-up and the witnesses of the first violating rounds are)\n",
            ),
        }
        out.push_str(&command);
        out.push_str("\necho\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_name_becomes_a_file_name() {
        assert_eq!(slug("notes etag/v2"), "notes-etag-v2");
        assert_eq!(slug("a.b_c-d"), "a.b_c-d");
    }

    #[test]
    fn shell_quoting_survives_a_single_quote() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(
            origin("http://127.0.0.1:8080/notes/1?x=1").as_deref(),
            Some("http://127.0.0.1:8080")
        );
    }
}
