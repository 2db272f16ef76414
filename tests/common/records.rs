//! Hand-built history records, for histories that go straight into the checker.

use contend::history::{Outcome, Phase, RequestRecord};

/// A record of scenario `s` in `workload` (its name, as a history file spells it): a
/// 200 `POST` answered with JSON after 1 ms, `Ok`, marked with its writer's marker and
/// released 1 µs after the writer before it. Tests set what their case needs.
pub fn record(workload: &str, phase: Phase, round: u32, writer: Option<u32>) -> RequestRecord {
    RequestRecord {
        scenario: "s".into(),
        workload: workload.parse().expect("a workload name"),
        phase,
        round,
        writer,
        attempt: 1,
        method: "POST".into(),
        url: "http://127.0.0.1:9/x".into(),
        version_sent: None,
        marker: writer.map(|w| format!("m-r{round:04}-w{w:04}")),
        value: None,
        status: Some(200),
        outcome: Outcome::Ok,
        start_ns: u64::from(writer.unwrap_or(0)) * 1_000,
        end_ns: 1_000_000,
        latency_ns: 1_000_000,
        version_returned: None,
        body: String::new(),
        error: String::new(),
        content_type: "application/json".into(),
        state: None,
        strategy: None,
        promised: String::new(),
        conflict_missing: String::new(),
        arrival_ns: None,
        resource: None,
        scheduled_ns: None,
        cause: None,
    }
}
