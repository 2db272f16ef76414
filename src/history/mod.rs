//! The history: one [`RequestRecord`] per HTTP exchange, in the order they completed.
//!
//! The engine appends records; the checker and the reporters read nothing else. Every
//! reader and writer of the history is here: the CSV form (`requests.csv`, [`write_csv`],
//! [`read_csv`], [`read_csv_iter`]) round-trips, so a saved run can be checked and
//! reported again without sending traffic (`contend check`), and a [`Spool`] streams a
//! history too long for memory to a file while the engine makes it. The JSON Lines form
//! ([`JsonlStream`], [`read_jsonl`]) is written while the run goes on, for a reader that
//! follows it; [`read_saved`] and [`read_saved_iter`] read either form back. Every
//! reader caps a line at [`MAX_LINE`], so a file that is no history ends with an error,
//! not with memory full. Beside the history, [`wire`] keeps the few exchanges a
//! violation's witness shows as they went (request headers and bodies included).

mod csv;
mod jsonl;
mod rows;
mod spool;
mod text;
pub mod wire;

pub use self::csv::{CsvReader, CsvWriter, COLUMNS};
pub use jsonl::{is_jsonl, read_jsonl, read_jsonl_iter, JsonlError, JsonlStream};
pub use spool::{Spool, SpoolError, SpoolWriter};
pub use text::Text;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::outcome::{Cause, Outcome};

/// Which step of a workload a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Creating the resource, and the first read of it.
    Setup,
    /// Reading the version before a round (or before an increment).
    Read,
    /// A read on a writer's own connection before the round, so no connection is set up
    /// inside the race window.
    Warmup,
    /// The contended write.
    Write,
    /// Reading the resource back after a round.
    Verify,
    /// One more write with the round's old token, sent when the token did not change.
    Probe,
    /// The read after the whole workload (counter: the final value).
    Final,
}

/// One HTTP exchange. Times are nanoseconds since the run started (monotonic clock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub scenario: Text,
    /// Workload kind (`stale-write`, `counter`).
    pub workload: crate::scenario::WorkloadId,
    pub phase: Phase,
    /// Stale-write: the round. Counter: the writer's increment number.
    pub round: u32,
    /// The writer (connection) that sent it; empty for reads outside the race.
    pub writer: Option<u32>,
    /// Counter: the attempt within one increment, from 1. Otherwise 1.
    pub attempt: u32,
    pub method: Text,
    pub url: Text,
    /// The version token the request carried.
    pub version_sent: Option<Text>,
    /// The marker unique to this writer and round, if the write carried one.
    pub marker: Option<String>,
    /// Counter: the value read, or the value this write tried to store.
    pub value: Option<i64>,
    pub status: Option<u16>,
    pub outcome: Outcome,
    pub start_ns: u64,
    pub end_ns: u64,
    pub latency_ns: u64,
    /// The version token found in the response, if any.
    pub version_returned: Option<Text>,
    /// The response body, up to the body limit (`engine::exchange::BODY_LIMIT`).
    pub body: String,
    /// What went wrong when there was no response (timeout, reset, refused).
    pub error: String,
    /// The response's `Content-Type`, empty when it had none.
    #[serde(default)]
    pub content_type: Text,
    /// Transition: the state a write asked for, or the state a read found.
    #[serde(default)]
    pub state: Option<Text>,
    /// Counter: the client strategy that sent it (`backoff`, `immediate`, `give-up`).
    #[serde(default)]
    pub strategy: Option<Text>,
    /// Writes: the conflict statuses the scenario promises, space-separated (`412`).
    #[serde(default)]
    pub promised: Text,
    /// A conflict answer that lacks what the scenario requires of one, prefixed with how
    /// it counts: `violation: header:ETag content-type (text/plain)`; empty otherwise.
    #[serde(default)]
    pub conflict_missing: String,
    /// The built-in server (or `--arrivals`): when the request's last byte arrived, in ns on the server's
    /// clock. Only differences between arrivals mean anything (the arrival spread).
    #[serde(default)]
    pub arrival_ns: Option<u64>,
    /// Sustained: the hot resource (from 0) the request went to.
    #[serde(default)]
    pub resource: Option<u32>,
    /// Sustained, open model: when the attempt was due on the timetable, in ns since the
    /// run started; latency measured from here is corrected for coordinated omission.
    #[serde(default)]
    pub scheduled_ns: Option<u64>,
    /// Why the answer was not whole (a timeout, a reset in the body, garbage...), or
    /// what is worth knowing about a whole one (its body was cut at the limit, it came
    /// before the request's end); empty for a whole answer. `error` has the details.
    #[serde(default)]
    pub cause: Option<crate::outcome::Cause>,
}

/// Writes records to a CSV file (`requests.csv`), header first (an empty history is an
/// empty file).
pub fn write_csv(path: &Path, records: &[RequestRecord]) -> Result<(), ::csv::Error> {
    let mut w = CsvWriter::new(std::fs::File::create(path)?);
    for r in records {
        w.write(r)?;
    }
    w.flush()?;
    Ok(())
}

/// Reads records written by [`write_csv`] one at a time, so a long history need not fit
/// in memory. A row longer than [`MAX_LINE`] is an error (a row of this history is a
/// few kilobytes, its body at most the body limit): reading `/dev/zero` or a binary file
/// ends there instead of filling memory. A file whose first line is no `requests.csv`
/// header fails here; an empty file is a history of no record.
pub fn read_csv_iter(
    path: &Path,
) -> Result<impl Iterator<Item = Result<RequestRecord, ::csv::Error>>, ::csv::Error> {
    CsvReader::new(std::fs::File::open(path)?)
}

/// Reads records written by [`write_csv`], with the row cap of [`read_csv_iter`].
pub fn read_csv(path: &Path) -> Result<Vec<RequestRecord>, ::csv::Error> {
    read_csv_iter(path)?.collect()
}

/// The longest row (a JSON Lines history: line) a history file may have.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// A file read with a cap on the bytes between two newlines.
struct LineCap {
    file: std::io::BufReader<std::fs::File>,
    since_newline: usize,
}

impl LineCap {
    fn open(path: &Path) -> std::io::Result<LineCap> {
        Ok(LineCap {
            file: std::io::BufReader::new(std::fs::File::open(path)?),
            since_newline: 0,
        })
    }
}

impl std::io::Read for LineCap {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
            }
        }
        if self.since_newline > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line is over {} MiB, so this is not a history written by contend",
                    MAX_LINE / (1024 * 1024)
                ),
            ));
        }
        Ok(n)
    }
}

/// A saved history that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Csv(#[from] ::csv::Error),
    #[error(transparent)]
    Jsonl(#[from] JsonlError),
}

/// Reads a saved history in either form: JSON Lines (`contend run --jsonl`) when its
/// first character opens a JSON object, else CSV (`requests.csv`).
pub fn read_saved(path: &Path) -> Result<Vec<RequestRecord>, ReadError> {
    read_saved_iter(path)?.collect()
}

/// Reads a saved history in either form (as [`read_saved`] tells them apart) one record
/// at a time, with the line cap of [`read_csv_iter`], so a history of any length is read
/// in bounded memory.
pub fn read_saved_iter(
    path: &Path,
) -> Result<Box<dyn Iterator<Item = Result<RequestRecord, ReadError>>>, ReadError> {
    read_saved_bodies(path, |_| true)
}

/// [`read_saved_iter`], with the bodies of only the records `wanted` says yes to: the
/// others come with an empty body (a CSV history's are then never unescaped; see
/// [`CsvReader::bodies`]).
pub fn read_saved_bodies(
    path: &Path,
    wanted: fn(&RequestRecord) -> bool,
) -> Result<Box<dyn Iterator<Item = Result<RequestRecord, ReadError>>>, ReadError> {
    if is_jsonl(path).map_err(JsonlError::Io)? {
        Ok(Box::new(read_jsonl_iter(path)?.map(move |r| {
            let mut r = r?;
            if !wanted(&r) {
                r.body = String::new();
            }
            Ok(r)
        })))
    } else {
        let csv = CsvReader::new(std::fs::File::open(path).map_err(::csv::Error::from)?)?;
        Ok(Box::new(
            csv.bodies(wanted).map(|r| r.map_err(ReadError::from)),
        ))
    }
}

/// [`read_saved_bodies`] as a visit: `each` takes every record in turn, until the
/// first error. A CSV history's records come straight from the reader
/// ([`CsvReader::each`]), with no iterator to move each through.
pub fn each_saved(
    path: &Path,
    wanted: fn(&RequestRecord) -> bool,
    mut each: impl FnMut(RequestRecord),
) -> Result<(), ReadError> {
    if is_jsonl(path).map_err(JsonlError::Io)? {
        for r in read_saved_bodies(path, wanted)? {
            each(r?);
        }
        return Ok(());
    }
    let file = std::fs::File::open(path).map_err(::csv::Error::from)?;
    Ok(CsvReader::new(file)?.bodies(wanted).each(each)?)
}

/// One scenario's records, from a history that may hold several (a saved run).
#[derive(Debug)]
pub struct ScenarioRecords<'a> {
    pub scenario: &'a str,
    pub workload: crate::scenario::WorkloadId,
    pub records: Vec<&'a RequestRecord>,
}

impl ScenarioRecords<'_> {
    /// The records' own span: from the first request's start to the last one's end.
    pub fn span(&self) -> std::time::Duration {
        let first = self.records.iter().map(|r| r.start_ns).min().unwrap_or(0);
        let last = self.records.iter().map(|r| r.end_ns).max().unwrap_or(0);
        std::time::Duration::from_nanos(last.saturating_sub(first))
    }
}

/// Splits a history by scenario, in the order it first names each.
pub fn by_scenario(records: &[RequestRecord]) -> Vec<ScenarioRecords<'_>> {
    let mut out: Vec<ScenarioRecords<'_>> = Vec::new();
    for r in records {
        match out.iter_mut().find(|s| s.scenario == r.scenario) {
            Some(s) => s.records.push(r),
            None => out.push(ScenarioRecords {
                scenario: &r.scenario,
                workload: r.workload,
                records: vec![r],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write record with every field set.
    pub(super) fn record() -> RequestRecord {
        RequestRecord {
            scenario: "s".into(),
            workload: crate::scenario::WorkloadId::StaleWrite,
            phase: Phase::Write,
            round: 3,
            writer: Some(1),
            attempt: 1,
            method: "PUT".into(),
            url: "http://127.0.0.1:1/notes/1".into(),
            version_sent: Some("\"4\"".into()),
            marker: Some("m".into()),
            value: None,
            status: Some(412),
            outcome: Outcome::Conflict,
            start_ns: 10,
            end_ns: 30,
            latency_ns: 20,
            version_returned: None,
            body: "{\"a\":\"b,c\"}\nline".into(),
            error: String::new(),
            arrival_ns: Some(1_234),
            resource: None,
            scheduled_ns: None,
            cause: Some(Cause::Cut),
            content_type: "application/problem+json".into(),
            state: Some("shipped".into()),
            strategy: Some("give-up".into()),
            promised: "409 412".into(),
            conflict_missing: "warning: header:ETag".into(),
        }
    }

    #[test]
    fn csv_round_trips_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        let mut indeterminate = record();
        indeterminate.status = None;
        indeterminate.outcome = Outcome::Indeterminate;
        indeterminate.error = "timed out".into();
        indeterminate.cause = Some(Cause::Timeout);
        let records = vec![record(), indeterminate];
        write_csv(&path, &records).unwrap();
        assert_eq!(read_csv(&path).unwrap(), records);
    }

    #[test]
    fn a_history_saved_before_the_newer_columns_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        write_csv(&path, &[record()]).unwrap();
        // Drop the last five columns, as an older contend wrote them.
        let text = std::fs::read_to_string(&path).unwrap();
        let old: Vec<String> = ::csv::Reader::from_reader(text.as_bytes())
            .headers()
            .unwrap()
            .iter()
            .take(19)
            .map(String::from)
            .collect();
        assert_eq!(old.last().map(String::as_str), Some("error"));
        let mut w = ::csv::Writer::from_path(&path).unwrap();
        w.write_record(&old).unwrap();
        let mut r = ::csv::Reader::from_reader(text.as_bytes());
        for row in r.records() {
            let row = row.unwrap();
            w.write_record(row.iter().take(19)).unwrap();
        }
        w.flush().unwrap();
        let loaded = read_csv(&path).unwrap();
        assert_eq!(loaded[0].status, Some(412));
        assert_eq!(loaded[0].content_type, "");
        assert_eq!(loaded[0].state, None);
    }

    #[test]
    #[cfg(unix)]
    fn an_endless_line_is_an_error_not_a_memory_leak() {
        let err = read_csv(Path::new("/dev/zero")).expect_err("not a history");
        assert!(err.to_string().contains("not a requests.csv"), "{err}");
    }

    #[test]
    fn a_history_splits_by_scenario_in_the_order_it_names_them() {
        let named = |scenario: &str, start_ns, end_ns| RequestRecord {
            scenario: scenario.into(),
            start_ns,
            end_ns,
            ..record()
        };
        let history = [named("b", 5, 9), named("a", 1, 2), named("b", 3, 20)];
        let split = by_scenario(&history);
        let names: Vec<&str> = split.iter().map(|s| s.scenario).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(split[0].records.len(), 2);
        assert_eq!(split[0].span(), std::time::Duration::from_nanos(17));
    }
}
