//! The CSV form of the history (`requests.csv`), written and read by hand.
//!
//! A long run writes millions of rows and `contend check` reads them back, so both
//! directions skip the generic machinery: [`CsvWriter`] writes each field straight into
//! a buffer (quoted only where CSV needs it, numbers by `itoa`), and [`CsvReader`] finds
//! each field with `memchr`, converts it in place, and hands out one [`Text`] per
//! distinct value of a repeating column rather than one per row. The file is the one
//! serde and the `csv` crate write and read ([`COLUMNS`] in the record's field order,
//! the enums by their snake_case names, an absent value as an empty cell, a field with a
//! comma, a quote or a line break quoted with its quotes doubled, `\n` after each row):
//! a file of either reads in the other, and so does a history saved by an older
//! contend, which lacks the newer columns (each then reads as absent or empty).
//!
//! The reader caps a row at [`super::MAX_LINE`] bytes, so a file that is no history
//! ends with an error, not with memory full. Its errors are `csv::Error`s, as the
//! `csv` crate's reader gave, each naming the line and the column.

use std::io::{self, Read, Write};

use super::{Cause, Outcome, Phase, RequestRecord, Text};
use crate::scenario::WorkloadId;

/// The columns of `requests.csv`, in order: the fields of [`RequestRecord`].
pub const COLUMNS: [&str; 28] = [
    "scenario",
    "workload",
    "phase",
    "round",
    "writer",
    "attempt",
    "method",
    "url",
    "version_sent",
    "marker",
    "value",
    "status",
    "outcome",
    "start_ns",
    "end_ns",
    "latency_ns",
    "version_returned",
    "body",
    "error",
    "content_type",
    "state",
    "strategy",
    "promised",
    "conflict_missing",
    "arrival_ns",
    "resource",
    "scheduled_ns",
    "cause",
];

/// The columns a history saved by any contend has; the others are newer and may be
/// missing from an older file.
const REQUIRED: [Column; 13] = [
    Column::Scenario,
    Column::Workload,
    Column::Phase,
    Column::Round,
    Column::Attempt,
    Column::Method,
    Column::Url,
    Column::Outcome,
    Column::StartNs,
    Column::EndNs,
    Column::LatencyNs,
    Column::Body,
    Column::Error,
];

/// One column, by its index in [`COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum Column {
    Scenario,
    Workload,
    Phase,
    Round,
    Writer,
    Attempt,
    Method,
    Url,
    VersionSent,
    Marker,
    Value,
    Status,
    Outcome,
    StartNs,
    EndNs,
    LatencyNs,
    VersionReturned,
    Body,
    Error,
    ContentType,
    State,
    Strategy,
    Promised,
    ConflictMissing,
    ArrivalNs,
    Resource,
    ScheduledNs,
    Cause,
}

/// How much a writer gathers before it writes to its output.
const WRITE_AT: usize = 64 * 1024;

/// Writes records as `requests.csv` rows into `out`, buffered: call
/// [`CsvWriter::flush`] when done. The header line goes before the first record (a
/// history of no record is an empty file, as the `csv` crate wrote it), unless the
/// writer appends to a history that has one ([`CsvWriter::appending`]).
pub struct CsvWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    header_due: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer of a new history.
    pub fn new(out: W) -> CsvWriter<W> {
        CsvWriter {
            out,
            buf: Vec::with_capacity(WRITE_AT + 8 * 1024),
            header_due: true,
        }
    }

    /// A writer that appends rows to a history whose header is already written.
    pub fn appending(out: W) -> CsvWriter<W> {
        CsvWriter {
            header_due: false,
            ..CsvWriter::new(out)
        }
    }

    /// Appends one record (and the header first, if it is due).
    pub fn write(&mut self, r: &RequestRecord) -> io::Result<()> {
        if self.header_due {
            self.header_due = false;
            self.buf.extend_from_slice(COLUMNS.join(",").as_bytes());
            self.buf.push(b'\n');
        }
        encode(r, &mut self.buf);
        if self.buf.len() >= WRITE_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes out what is buffered and flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }

    /// The output, flushed.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.out)
    }
}

/// Appends one row.
fn encode(r: &RequestRecord, out: &mut Vec<u8>) {
    text(out, &r.scenario);
    comma(out);
    out.extend_from_slice(r.workload.name().as_bytes());
    comma(out);
    out.extend_from_slice(phase_name(r.phase).as_bytes());
    comma(out);
    number(out, r.round);
    comma(out);
    optional(out, r.writer);
    comma(out);
    number(out, r.attempt);
    comma(out);
    text(out, &r.method);
    comma(out);
    text(out, &r.url);
    comma(out);
    text(out, r.version_sent.as_deref().unwrap_or(""));
    comma(out);
    text(out, r.marker.as_deref().unwrap_or(""));
    comma(out);
    optional(out, r.value);
    comma(out);
    optional(out, r.status);
    comma(out);
    out.extend_from_slice(r.outcome.name().as_bytes());
    comma(out);
    number(out, r.start_ns);
    comma(out);
    number(out, r.end_ns);
    comma(out);
    number(out, r.latency_ns);
    comma(out);
    text(out, r.version_returned.as_deref().unwrap_or(""));
    comma(out);
    text(out, &r.body);
    comma(out);
    text(out, &r.error);
    comma(out);
    text(out, &r.content_type);
    comma(out);
    text(out, r.state.as_deref().unwrap_or(""));
    comma(out);
    text(out, r.strategy.as_deref().unwrap_or(""));
    comma(out);
    text(out, &r.promised);
    comma(out);
    text(out, &r.conflict_missing);
    comma(out);
    optional(out, r.arrival_ns);
    comma(out);
    optional(out, r.resource);
    comma(out);
    optional(out, r.scheduled_ns);
    comma(out);
    if let Some(cause) = r.cause {
        out.extend_from_slice(cause.name().as_bytes());
    }
    out.push(b'\n');
}

fn comma(out: &mut Vec<u8>) {
    out.push(b',');
}

fn number(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn optional(out: &mut Vec<u8>, n: Option<impl itoa::Integer>) {
    if let Some(n) = n {
        number(out, n);
    }
}

/// A text field: as it is, or quoted with its quotes doubled when it holds a comma, a
/// quote or a line break (what the `csv` crate's writer does by default).
fn text(out: &mut Vec<u8>, field: &str) {
    let bytes = field.as_bytes();
    if !bytes
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    let mut rest = bytes;
    while let Some(i) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.push(b'"');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// The name of a phase in `requests.csv`.
pub(super) fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Setup => "setup",
        Phase::Read => "read",
        Phase::Warmup => "warmup",
        Phase::Write => "write",
        Phase::Verify => "verify",
        Phase::Probe => "probe",
        Phase::Final => "final",
    }
}

fn phase_named(name: &str) -> Option<Phase> {
    Some(match name {
        "setup" => Phase::Setup,
        "read" => Phase::Read,
        "warmup" => Phase::Warmup,
        "write" => Phase::Write,
        "verify" => Phase::Verify,
        "probe" => Phase::Probe,
        "final" => Phase::Final,
        _ => return None,
    })
}

fn outcome_named(name: &str) -> Option<Outcome> {
    Some(match name {
        "winner" => Outcome::Winner,
        "conflict" => Outcome::Conflict,
        "unexpected" => Outcome::Unexpected,
        "indeterminate" => Outcome::Indeterminate,
        "not_sent" => Outcome::NotSent,
        "ok" => Outcome::Ok,
        _ => return None,
    })
}

/// How much the reader asks its input for at a time (and its first buffer's size).
const READ_AT: usize = 256 * 1024;
/// No column is at this index: a column the file does not have.
const ABSENT: usize = usize::MAX;

/// Where one field of the current row is: in the input buffer as it is, or unquoted
/// into the reader's scratch buffer (a quoted field whose quotes were doubled).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    unescaped: bool,
}

/// Reads `requests.csv` rows from `input`, one record at a time (see the module doc).
pub struct CsvReader<R: Read> {
    input: R,
    /// Bytes read and not yet parsed are `buf[at..end]`.
    buf: Vec<u8>,
    at: usize,
    end: usize,
    eof: bool,
    /// The line the next row starts on, from 1.
    line: u64,
    /// The current row's fields.
    spans: Vec<Span>,
    scratch: Vec<u8>,
    /// Where each of [`COLUMNS`] is in a row ([`ABSENT`] when the file lacks it), and
    /// how many fields a row has.
    index: [usize; COLUMNS.len()],
    width: usize,
    /// The last value of each repeating column, handed out again while it repeats, and
    /// the last few new values of any of them (the URLs of a few resources alternate).
    last: [Text; COLUMNS.len()],
    recent: [Text; 8],
    next_recent: usize,
    /// The last workload read, by name.
    workload: Option<WorkloadId>,
    /// The last few version tokens of either version column: a write sends the one its
    /// read returned.
    versions: [Text; 4],
    next_version: usize,
    /// Set after an error: the iterator ends.
    failed: bool,
}

impl<R: Read> CsvReader<R> {
    /// A reader of the history in `input`; reads its header line now, so a file whose
    /// first line lacks a column every history has is an error here. An empty input is
    /// a history of no record.
    pub fn new(input: R) -> Result<CsvReader<R>, csv::Error> {
        let mut reader = CsvReader {
            input,
            buf: vec![0; READ_AT],
            at: 0,
            end: 0,
            eof: false,
            line: 1,
            spans: Vec::with_capacity(COLUMNS.len()),
            scratch: Vec::new(),
            index: [ABSENT; COLUMNS.len()],
            width: 0,
            last: Default::default(),
            recent: Default::default(),
            next_recent: 0,
            workload: None,
            versions: Default::default(),
            next_version: 0,
            failed: false,
        };
        if !reader.row()? {
            // An empty file is a history of no record (as the `csv` crate wrote it).
            reader.failed = true;
            return Ok(reader);
        }
        reader.width = reader.spans.len();
        for i in 0..reader.width {
            let name = reader.field(i);
            if let Some(c) = COLUMNS.iter().position(|c| c.as_bytes() == name) {
                reader.index[c] = i;
            }
        }
        if let Some(missing) = REQUIRED
            .iter()
            .find(|c| reader.index[**c as usize] == ABSENT)
        {
            return Err(invalid(format!(
                "line 1: the header has no `{}` column, so this is not a requests.csv written by contend",
                COLUMNS[*missing as usize]
            )));
        }
        Ok(reader)
    }

    /// Field `i` of the current row.
    fn field(&self, i: usize) -> &[u8] {
        let span = self.spans[i];
        if span.unescaped {
            &self.scratch[span.start..span.end]
        } else {
            &self.buf[span.start..span.end]
        }
    }

    /// Moves `buf[at..end]` to the front and reads more after it, growing the buffer when
    /// it is full (up to a row of [`super::MAX_LINE`]); false at the end of the input.
    fn fill(&mut self) -> Result<bool, csv::Error> {
        if self.eof {
            return Ok(false);
        }
        self.buf.copy_within(self.at..self.end, 0);
        self.end -= self.at;
        self.at = 0;
        if self.end == self.buf.len() {
            if self.buf.len() > super::MAX_LINE {
                return Err(invalid(format!(
                    "line {}: a row is over {} MiB, so this is not a requests.csv written by contend",
                    self.line,
                    super::MAX_LINE / (1024 * 1024)
                )));
            }
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Parses the next row into `spans`; false at the end of the input. Blank lines are
    /// skipped.
    fn row(&mut self) -> Result<bool, csv::Error> {
        loop {
            while self.at < self.end && matches!(self.buf[self.at], b'\n' | b'\r') {
                if self.buf[self.at] == b'\n' {
                    self.line += 1;
                }
                self.at += 1;
            }
            if self.at == self.end && !self.fill()? {
                return Ok(false);
            }
            if self.at < self.end && matches!(self.buf[self.at], b'\n' | b'\r') {
                continue;
            }
            if let Some(next) = self.split_row() {
                self.at = next;
                return Ok(true);
            }
            // The row runs past what is read: read more, then split it again.
            if !self.fill()? {
                // The last row, without a line break after it.
                self.buf.truncate(self.end);
                self.buf.push(b'\n');
                self.end += 1;
                let next = self.split_row();
                self.buf.pop();
                self.end -= 1;
                self.at = next.map_or(self.end, |n| n.min(self.end));
                return Ok(true);
            }
        }
    }

    /// Splits the row at `buf[at..]` into fields; returns where the next row starts, or
    /// `None` when the row does not end within `buf[..end]`. Most fields are a few bytes,
    /// so an unquoted one is scanned byte by byte; a quoted one (a body, a version token)
    /// is searched for its quotes with `memchr`.
    fn split_row(&mut self) -> Option<usize> {
        let CsvReader {
            buf,
            at,
            end,
            spans,
            scratch,
            line,
            ..
        } = self;
        spans.clear();
        scratch.clear();
        let window = &buf[*at..*end];
        let mut lines = 0;
        let mut i = 0;
        loop {
            let start = i;
            let mut quoted = None;
            if window.get(i) == Some(&b'"') {
                // The closing quote: the first one not doubled.
                let mut j = i + 1;
                let mut doubled = false;
                let close = loop {
                    let q = j + memchr::memchr(b'"', window.get(j..)?)?;
                    match window.get(q + 1) {
                        None => return None,
                        Some(b'"') => {
                            doubled = true;
                            j = q + 2;
                        }
                        Some(_) => break q,
                    }
                };
                lines += memchr::memchr_iter(b'\n', &window[i + 1..close]).count();
                quoted = Some((close, doubled));
                i = close + 1;
            }
            // The field ends at the next comma or line break.
            while let Some(&b) = window.get(i) {
                if b == b',' || b == b'\n' {
                    break;
                }
                i += 1;
            }
            let &delimiter = window.get(i)?;
            let mut field_end = i;
            if delimiter == b'\n' && field_end > start && window[field_end - 1] == b'\r' {
                field_end -= 1;
            }
            let base = *at;
            spans.push(match quoted {
                None => Span {
                    start: base + start,
                    end: base + field_end,
                    unescaped: false,
                },
                Some((close, false)) if close + 1 >= field_end => Span {
                    start: base + start + 1,
                    end: base + close,
                    unescaped: false,
                },
                Some((close, _)) => {
                    // Doubled quotes, or text after the closing quote (kept, as the
                    // `csv` crate does).
                    let from = scratch.len();
                    let mut rest = &window[start + 1..close];
                    while let Some(q) = memchr::memchr(b'"', rest) {
                        scratch.extend_from_slice(&rest[..=q]);
                        rest = &rest[q + 2..];
                    }
                    scratch.extend_from_slice(rest);
                    scratch.extend_from_slice(&window[(close + 1).min(field_end)..field_end]);
                    Span {
                        start: from,
                        end: scratch.len(),
                        unescaped: true,
                    }
                }
            });
            i += 1;
            if delimiter == b'\n' {
                *line += lines as u64 + 1;
                return Some(*at + i);
            }
        }
    }

    /// The record in the current row, whose first line is `line`.
    fn record(&mut self, line: u64) -> Result<RequestRecord, csv::Error> {
        if self.spans.len() != self.width {
            return Err(invalid(format!(
                "line {line}: the row has {} fields and the header {}",
                self.spans.len(),
                self.width
            )));
        }
        let mut cell = Cell { reader: self, line };
        Ok(RequestRecord {
            scenario: cell.shared(Column::Scenario)?,
            workload: cell.workload()?,
            phase: cell.parse(Column::Phase, phase_named)?,
            round: cell.number(Column::Round)?,
            writer: cell.optional(Column::Writer)?,
            attempt: cell.number(Column::Attempt)?,
            method: cell.shared(Column::Method)?,
            url: cell.shared(Column::Url)?,
            version_sent: cell.version(Column::VersionSent)?,
            marker: cell.optional_string(Column::Marker)?,
            value: cell.signed(Column::Value)?,
            status: cell.optional(Column::Status)?,
            outcome: cell.parse(Column::Outcome, outcome_named)?,
            start_ns: cell.number(Column::StartNs)?,
            end_ns: cell.number(Column::EndNs)?,
            latency_ns: cell.number(Column::LatencyNs)?,
            version_returned: cell.version(Column::VersionReturned)?,
            body: cell.string(Column::Body)?,
            error: cell.string(Column::Error)?,
            content_type: cell.shared(Column::ContentType)?,
            state: Text::non_empty(cell.shared(Column::State)?),
            strategy: Text::non_empty(cell.shared(Column::Strategy)?),
            promised: cell.shared(Column::Promised)?,
            conflict_missing: cell.string(Column::ConflictMissing)?,
            arrival_ns: cell.optional(Column::ArrivalNs)?,
            resource: cell.optional(Column::Resource)?,
            scheduled_ns: cell.optional(Column::ScheduledNs)?,
            cause: match cell.raw(Column::Cause) {
                b"" => None,
                _ => Some(cell.parse(Column::Cause, |name| {
                    Cause::ALL.into_iter().find(|c| c.name() == name)
                })?),
            },
        })
    }
}

/// A decimal number, as `str::parse` reads one (an optional `+`, then digits).
fn unsigned(raw: &[u8]) -> Option<u64> {
    let digits = raw.strip_prefix(b"+").unwrap_or(raw);
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// The current row's cells, read by column.
struct Cell<'a, R: Read> {
    reader: &'a mut CsvReader<R>,
    line: u64,
}

impl<R: Read> Cell<'_, R> {
    fn raw(&self, column: Column) -> &[u8] {
        match self.reader.index[column as usize] {
            ABSENT => b"",
            i => self.reader.field(i),
        }
    }

    fn text(&self, column: Column) -> Result<&str, csv::Error> {
        utf8(self.raw(column), column, self.line)
    }

    fn bad(&self, column: Column) -> csv::Error {
        let value: String = String::from_utf8_lossy(self.raw(column))
            .chars()
            .take(40)
            .collect();
        invalid(format!(
            "line {}: column `{}`: {value:?} is not a valid value",
            self.line, COLUMNS[column as usize]
        ))
    }

    fn parse<T>(&self, column: Column, parse: impl Fn(&str) -> Option<T>) -> Result<T, csv::Error> {
        let text = self.text(column)?;
        parse(text).ok_or_else(|| self.bad(column))
    }

    fn workload(&mut self) -> Result<WorkloadId, csv::Error> {
        let raw = self.raw(Column::Workload);
        match self.reader.workload {
            Some(id) if id.name().as_bytes() == raw => Ok(id),
            _ => {
                let id = self.parse(Column::Workload, |s| s.parse::<WorkloadId>().ok())?;
                self.reader.workload = Some(id);
                Ok(id)
            }
        }
    }

    fn number<T: TryFrom<u64>>(&self, column: Column) -> Result<T, csv::Error> {
        unsigned(self.raw(column))
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| self.bad(column))
    }

    fn optional<T: TryFrom<u64>>(&self, column: Column) -> Result<Option<T>, csv::Error> {
        match self.raw(column) {
            b"" => Ok(None),
            _ => self.number(column).map(Some),
        }
    }

    fn signed(&self, column: Column) -> Result<Option<i64>, csv::Error> {
        let raw = self.raw(column);
        if raw.is_empty() {
            return Ok(None);
        }
        let value = match raw.strip_prefix(b"-") {
            Some(digits) => unsigned(digits)
                .filter(|_| !digits.starts_with(b"+"))
                .and_then(|n| 0i64.checked_sub_unsigned(n)),
            None => unsigned(raw).and_then(|n| i64::try_from(n).ok()),
        };
        value.map(Some).ok_or_else(|| self.bad(column))
    }

    fn string(&self, column: Column) -> Result<String, csv::Error> {
        self.text(column).map(str::to_string)
    }

    fn optional_string(&self, column: Column) -> Result<Option<String>, csv::Error> {
        let text = self.text(column)?;
        Ok((!text.is_empty()).then(|| text.to_string()))
    }

    /// A repeating column's value: the `Text` of the row before while it repeats.
    fn shared(&mut self, column: Column) -> Result<Text, csv::Error> {
        let c = column as usize;
        let raw = self.raw(column);
        if self.reader.last[c].as_bytes() == raw {
            return Ok(self.reader.last[c].clone());
        }
        let text = match self.reader.recent.iter().find(|t| t.as_bytes() == raw) {
            Some(known) => known.clone(),
            None => {
                let text = Text::from(utf8(raw, column, self.line)?);
                let reader = &mut *self.reader;
                reader.recent[reader.next_recent] = text.clone();
                reader.next_recent = (reader.next_recent + 1) % reader.recent.len();
                text
            }
        };
        self.reader.last[c] = text.clone();
        Ok(text)
    }

    /// A version column's token, shared with the same token among the last few read
    /// in either version column (a write sends the token its read returned).
    fn version(&mut self, column: Column) -> Result<Option<Text>, csv::Error> {
        let raw = self.raw(column);
        if raw.is_empty() {
            return Ok(None);
        }
        if let Some(known) = self.reader.versions.iter().find(|v| v.as_bytes() == raw) {
            return Ok(Some(known.clone()));
        }
        let text = Text::from(utf8(raw, column, self.line)?);
        let reader = &mut *self.reader;
        reader.versions[reader.next_version] = text.clone();
        reader.next_version = (reader.next_version + 1) % reader.versions.len();
        Ok(Some(text))
    }
}

fn utf8(raw: &[u8], column: Column, line: u64) -> Result<&str, csv::Error> {
    std::str::from_utf8(raw).map_err(|_| {
        invalid(format!(
            "line {line}: column `{}` is not UTF-8",
            COLUMNS[column as usize]
        ))
    })
}

fn invalid(message: String) -> csv::Error {
    csv::Error::from(io::Error::new(io::ErrorKind::InvalidData, message))
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = Result<RequestRecord, csv::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let line = self.line;
        let result = match self.row() {
            Ok(false) => return None,
            Ok(true) => self.record(line),
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::record;

    /// Records whose texts need every kind of CSV care.
    fn awkward() -> Vec<RequestRecord> {
        let mut plain = record();
        plain.body = String::new();
        plain.version_sent = None;
        plain.cause = None;
        plain.arrival_ns = None;
        let mut quoted = record();
        quoted.url = "http://h/a,b".into();
        quoted.body = "\"x\"\r\n\"\"y, z\n".into();
        quoted.error = "timed out, \"twice\"".into();
        quoted.marker = Some("m\"1".into());
        quoted.value = Some(-42);
        quoted.version_returned = Some("W/\"9\"".into());
        quoted.content_type = "text/plain; charset=utf-8".into();
        quoted.resource = Some(3);
        quoted.scheduled_ns = Some(u64::MAX);
        let mut unicode = record();
        unicode.body = "é,漢字 \u{1F600}".into();
        unicode.state = None;
        unicode.strategy = None;
        unicode.writer = None;
        unicode.status = None;
        unicode.outcome = Outcome::Indeterminate;
        unicode.cause = Some(Cause::BodyTimeout);
        unicode.phase = Phase::Final;
        vec![plain, quoted, unicode]
    }

    fn serde_csv(records: &[RequestRecord]) -> Vec<u8> {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        for r in records {
            w.serialize(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn written(records: &[RequestRecord]) -> Vec<u8> {
        let mut w = CsvWriter::new(Vec::new());
        for r in records {
            w.write(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn read(bytes: &[u8]) -> Result<Vec<RequestRecord>, ::csv::Error> {
        CsvReader::new(bytes)?.collect()
    }

    #[test]
    fn the_writer_writes_what_the_csv_crate_writes_byte_for_byte() {
        let records = awkward();
        assert_eq!(
            String::from_utf8(written(&records)).unwrap(),
            String::from_utf8(serde_csv(&records)).unwrap()
        );
        assert!(written(&[]).is_empty(), "no record, no header");
    }

    #[test]
    fn the_reader_reads_back_every_field_of_its_own_rows_and_the_csv_crates() {
        let records = awkward();
        assert_eq!(read(&written(&records)).unwrap(), records);
        assert_eq!(read(&serde_csv(&records)).unwrap(), records);
        let again: Vec<RequestRecord> = ::csv::Reader::from_reader(&written(&records)[..])
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(again, records, "the csv crate reads the writer's rows");
    }

    #[test]
    fn repeating_values_are_shared_between_the_records_read() {
        let mut read_then_write = vec![record(), record()];
        read_then_write[0].version_returned = Some("\"8\"".into());
        read_then_write[1].version_sent = Some("\"8\"".into());
        let back = read(&written(&read_then_write)).unwrap();
        assert!(std::ptr::eq(back[0].url.as_ptr(), back[1].url.as_ptr()));
        let (returned, sent) = (
            back[0].version_returned.as_deref().unwrap(),
            back[1].version_sent.as_deref().unwrap(),
        );
        assert!(std::ptr::eq(returned.as_ptr(), sent.as_ptr()));
    }

    #[test]
    fn crlf_line_ends_blank_lines_and_a_missing_last_line_end_are_read() {
        let one = RequestRecord {
            body: "one line, \"quoted\"".into(),
            ..record()
        };
        let text = String::from_utf8(written(&[one.clone(), one.clone()])).unwrap();
        let crlf = text.replace('\n', "\r\n");
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        lines.insert(1, "\n");
        let blank = lines.concat();
        let unended = text.trim_end_matches('\n').to_string();
        for variant in [crlf, blank, unended] {
            assert_eq!(
                read(variant.as_bytes()).unwrap(),
                [one.clone(), one.clone()]
            );
        }
    }

    #[test]
    fn a_history_of_an_older_contend_without_the_newer_columns_reads() {
        let header = COLUMNS[..19].join(",");
        let row = "s,stale-write,write,3,1,1,PUT,http://h/n/1,\"\"\"4\"\"\",m,,412,conflict,10,30,20,,body,";
        let back = read(format!("{header}\n{row}\n").as_bytes()).unwrap();
        assert_eq!(back.len(), 1);
        let r = &back[0];
        assert_eq!((r.status, r.outcome), (Some(412), Outcome::Conflict));
        assert_eq!(r.version_sent.as_deref(), Some("\"4\""));
        assert_eq!((r.content_type.as_str(), r.cause), ("", None));
        assert_eq!((r.state.clone(), r.promised.as_str()), (None, ""));
    }

    #[test]
    fn a_bad_cell_names_its_line_and_column() {
        let text = String::from_utf8(written(&[record(), record()])).unwrap();
        let bad = text
            .replacen(",412,", ",4x2,", 2)
            .replacen(",4x2,", ",412,", 1);
        let e = read(bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("`status`"), "{e}");
        let short = format!("{}\ns,counter\n", COLUMNS.join(","));
        let e = read(short.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("fields"), "{e}");
        let e = read(b"scenario,phase\n")
            .expect_err("no workload column")
            .to_string();
        assert!(e.contains("`workload`"), "{e}");
        assert!(
            read(b"").unwrap().is_empty(),
            "an empty file holds no record"
        );
    }
}
