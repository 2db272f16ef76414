//! The CSV form of the history (`requests.csv`), written and read with the `csv` crate.
//!
//! A long run writes millions of rows and `contend check` reads them back, so both
//! directions skip serde: [`CsvWriter`] hands each field to `csv::Writer` as bytes
//! (numbers by `itoa`), and [`CsvReader`] reads each row into one reused
//! `csv::ByteRecord`, converts its fields in place, and hands out one [`Text`] per
//! distinct value of a repeating column rather than one per row. The file is the one
//! serde and the `csv` crate write and read ([`COLUMNS`] in the record's field order,
//! the enums by their snake_case names, an absent value as an empty cell): columns are
//! found by name, so a history saved by an older contend, which lacks the newer columns,
//! reads too (each then reads as absent or empty).
//!
//! The reader caps a row at [`super::MAX_LINE`] bytes, so a file that is no history
//! ends with an error, not with memory full. Its errors are `csv::Error`s, each naming
//! the line (and the column, for a bad cell).

use std::io::{self, Read, Write};

use csv::ByteRecord;

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

/// The buffer of a writer (what it gathers before it writes to its output) and of a
/// reader (what it asks its input for at a time).
const BUFFER: usize = 64 * 1024;

/// Writes records as `requests.csv` rows into `out`, buffered: call
/// [`CsvWriter::flush`] when done. The header line goes before the first record (a
/// history of no record is an empty file, as serde and the `csv` crate write it).
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
    header_due: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer of a new history.
    pub fn new(out: W) -> CsvWriter<W> {
        CsvWriter {
            out: csv::WriterBuilder::new()
                .buffer_capacity(BUFFER)
                .from_writer(out),
            header_due: true,
        }
    }

    /// Appends one record (and the header first, if it is due).
    pub fn write(&mut self, r: &RequestRecord) -> io::Result<()> {
        if self.header_due {
            self.header_due = false;
            self.out.write_record(COLUMNS)?;
        }
        self.encode(r).map_err(io::Error::from)
    }

    /// Hands the fields of one row to the `csv` writer, which quotes what needs it.
    fn encode(&mut self, r: &RequestRecord) -> csv::Result<()> {
        let w = &mut self.out;
        let mut n = itoa::Buffer::new();
        let mut optional = |w: &mut csv::Writer<W>, v: Option<u64>| match v {
            Some(v) => w.write_field(n.format(v)),
            None => w.write_field(b""),
        };
        w.write_field(r.scenario.as_bytes())?;
        w.write_field(r.workload.name())?;
        w.write_field(phase_name(r.phase))?;
        optional(w, Some(r.round.into()))?;
        optional(w, r.writer.map(u64::from))?;
        optional(w, Some(r.attempt.into()))?;
        w.write_field(r.method.as_bytes())?;
        w.write_field(r.url.as_bytes())?;
        w.write_field(r.version_sent.as_deref().unwrap_or(""))?;
        w.write_field(r.marker.as_deref().unwrap_or(""))?;
        match r.value {
            Some(v) => w.write_field(itoa::Buffer::new().format(v))?,
            None => w.write_field(b"")?,
        }
        optional(w, r.status.map(u64::from))?;
        w.write_field(r.outcome.name())?;
        optional(w, Some(r.start_ns))?;
        optional(w, Some(r.end_ns))?;
        optional(w, Some(r.latency_ns))?;
        w.write_field(r.version_returned.as_deref().unwrap_or(""))?;
        w.write_field(&r.body)?;
        w.write_field(&r.error)?;
        w.write_field(r.content_type.as_bytes())?;
        w.write_field(r.state.as_deref().unwrap_or(""))?;
        w.write_field(r.strategy.as_deref().unwrap_or(""))?;
        w.write_field(r.promised.as_bytes())?;
        w.write_field(&r.conflict_missing)?;
        optional(w, r.arrival_ns)?;
        optional(w, r.resource.map(u64::from))?;
        optional(w, r.scheduled_ns)?;
        w.write_field(r.cause.map_or("", Cause::name))?;
        w.write_record(None::<&[u8]>)
    }

    /// Writes out what is buffered and flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The output, flushed.
    pub fn into_inner(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
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

fn phase_named(name: &[u8]) -> Option<Phase> {
    Some(match name {
        b"setup" => Phase::Setup,
        b"read" => Phase::Read,
        b"warmup" => Phase::Warmup,
        b"write" => Phase::Write,
        b"verify" => Phase::Verify,
        b"probe" => Phase::Probe,
        b"final" => Phase::Final,
        _ => return None,
    })
}

fn outcome_named(name: &[u8]) -> Option<Outcome> {
    Some(match name {
        b"winner" => Outcome::Winner,
        b"conflict" => Outcome::Conflict,
        b"unexpected" => Outcome::Unexpected,
        b"indeterminate" => Outcome::Indeterminate,
        b"not_sent" => Outcome::NotSent,
        b"ok" => Outcome::Ok,
        _ => return None,
    })
}

/// No column is at this index: a column the file does not have.
const ABSENT: usize = usize::MAX;

/// The reader's input, which refuses to hand out more than a row of
/// [`super::MAX_LINE`] (and the `csv` reader's buffer) between two rows.
struct Capped<R> {
    input: R,
    since_row: usize,
    over: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since_row > super::MAX_LINE + 2 * BUFFER {
            self.over = true;
            return Err(io::Error::new(io::ErrorKind::InvalidData, "row too long"));
        }
        let n = self.input.read(buf)?;
        self.since_row += n;
        Ok(n)
    }
}

/// Reads `requests.csv` rows from `input`, one record at a time (see the module doc).
pub struct CsvReader<R: Read> {
    csv: csv::Reader<Capped<R>>,
    row: ByteRecord,
    /// Where each of [`COLUMNS`] is in a row ([`ABSENT`] when the file lacks it), and
    /// how many fields a row has.
    index: [usize; COLUMNS.len()],
    width: usize,
    shared: Shared,
    /// Set after an error or at an empty input: the iterator ends.
    done: bool,
}

/// The texts a reader hands out again.
#[derive(Default)]
struct Shared {
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
}

impl<R: Read> CsvReader<R> {
    /// A reader of the history in `input`; reads its header line now, so a file whose
    /// first line lacks a column every history has is an error here. An empty input is
    /// a history of no record.
    pub fn new(input: R) -> Result<CsvReader<R>, csv::Error> {
        let csv = csv::ReaderBuilder::new()
            .flexible(true)
            .buffer_capacity(BUFFER)
            .from_reader(Capped {
                input,
                since_row: 0,
                over: false,
            });
        let mut reader = CsvReader {
            csv,
            row: ByteRecord::new(),
            index: [ABSENT; COLUMNS.len()],
            width: 0,
            shared: Shared::default(),
            done: false,
        };
        let header = match reader.csv.byte_headers() {
            Ok(header) => header.clone(),
            Err(e) => return Err(reader.failed(e, 1)),
        };
        reader.csv.get_mut().since_row = 0;
        if header.is_empty() {
            // An empty file is a history of no record (as the `csv` crate wrote it).
            reader.done = true;
            return Ok(reader);
        }
        reader.width = header.len();
        for (i, name) in header.iter().enumerate() {
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

    /// The error of a row that starts on `line`: the row cap's own, or the `csv` crate's.
    fn failed(&self, e: csv::Error, line: u64) -> csv::Error {
        if self.csv.get_ref().over {
            invalid(format!(
                "line {line}: a row is over {} MiB, so this is not a requests.csv written by contend",
                super::MAX_LINE / (1024 * 1024)
            ))
        } else {
            e
        }
    }

    /// The record in the current row.
    fn record(&mut self) -> Result<RequestRecord, csv::Error> {
        let line = self.row.position().map_or(0, csv::Position::line);
        if self.row.len() != self.width {
            return Err(invalid(format!(
                "line {line}: the row has {} fields and the header {}",
                self.row.len(),
                self.width
            )));
        }
        let mut cell = Cell {
            row: &self.row,
            // The row's text checked once, rather than cell by cell.
            whole: std::str::from_utf8(self.row.as_slice()).ok(),
            index: &self.index,
            shared: &mut self.shared,
            line,
        };
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
                name => Some(cell.parse(Column::Cause, |_| {
                    Cause::ALL.into_iter().find(|c| c.name().as_bytes() == name)
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
    if digits.len() <= 19 {
        // At most 19 digits cannot overflow a u64: no check per digit.
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = n * 10 + u64::from(d);
        }
        return Some(n);
    }
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
struct Cell<'a> {
    row: &'a ByteRecord,
    /// All the row's cells, one after another, when they are UTF-8 together.
    whole: Option<&'a str>,
    index: &'a [usize; COLUMNS.len()],
    shared: &'a mut Shared,
    line: u64,
}

impl<'a> Cell<'a> {
    fn raw(&self, column: Column) -> &'a [u8] {
        match self.index[column as usize] {
            ABSENT => b"",
            i => self.row.get(i).unwrap_or(b""),
        }
    }

    fn text(&self, column: Column) -> Result<&'a str, csv::Error> {
        let i = self.index[column as usize];
        if let (Some(whole), Some(range)) = (self.whole, self.row.range(i)) {
            // A cell of a UTF-8 row is UTF-8 unless it starts or ends inside a character.
            if let Some(text) = whole.get(range) {
                return Ok(text);
            }
        }
        std::str::from_utf8(self.raw(column)).map_err(|_| {
            invalid(format!(
                "line {}: column `{}` is not UTF-8",
                self.line, COLUMNS[column as usize]
            ))
        })
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

    fn parse<T>(
        &self,
        column: Column,
        parse: impl Fn(&[u8]) -> Option<T>,
    ) -> Result<T, csv::Error> {
        parse(self.raw(column)).ok_or_else(|| self.bad(column))
    }

    fn workload(&mut self) -> Result<WorkloadId, csv::Error> {
        let raw = self.raw(Column::Workload);
        match self.shared.workload {
            Some(id) if same(id.name().as_bytes(), raw) => Ok(id),
            _ => {
                let id = self.text(Column::Workload)?.parse::<WorkloadId>().ok();
                let id = id.ok_or_else(|| self.bad(Column::Workload))?;
                self.shared.workload = Some(id);
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
        if same(self.shared.last[c].as_bytes(), raw) {
            return Ok(self.shared.last[c].clone());
        }
        let text = match self.shared.recent.iter().find(|t| same(t.as_bytes(), raw)) {
            Some(known) => known.clone(),
            None if raw.is_empty() => Text::empty(),
            None => {
                let text = match known(raw) {
                    Some(text) => text,
                    None => Text::from(self.text(column)?),
                };
                let shared = &mut *self.shared;
                shared.recent[shared.next_recent] = text.clone();
                shared.next_recent = (shared.next_recent + 1) % shared.recent.len();
                text
            }
        };
        self.shared.last[c] = text.clone();
        Ok(text)
    }

    /// A version column's token, shared with the same token among the last few read
    /// in either version column (a write sends the token its read returned).
    fn version(&mut self, column: Column) -> Result<Option<Text>, csv::Error> {
        let raw = self.raw(column);
        if raw.is_empty() {
            return Ok(None);
        }
        if let Some(known) = self
            .shared
            .versions
            .iter()
            .find(|v| same(v.as_bytes(), raw))
        {
            return Ok(Some(known.clone()));
        }
        let text = Text::from(self.text(column)?);
        let shared = &mut *self.shared;
        shared.versions[shared.next_version] = text.clone();
        shared.next_version = (shared.next_version + 1) % shared.versions.len();
        Ok(Some(text))
    }
}

/// The values of the repeating columns that most rows carry, held by the program: a
/// `Text` of one is cloned and dropped without touching a reference count.
fn known(raw: &[u8]) -> Option<Text> {
    const KNOWN: [&str; 13] = [
        "GET",
        "PUT",
        "POST",
        "PATCH",
        "DELETE",
        "HEAD",
        "application/json",
        "application/problem+json",
        "text/plain; charset=utf-8",
        "412",
        "409",
        "409 412",
        "428",
    ];
    KNOWN
        .into_iter()
        .find(|k| same(k.as_bytes(), raw))
        .map(Text::from_static)
}

/// Whether two short byte strings are equal, compared eight bytes at a time in place
/// (the cells compared with the texts read before are a URL, a method, a version
/// token: the call to `memcmp` that `==` makes cost more than the comparison).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // A chunk of `chunks_exact(8)` is eight bytes: one load.
    let word = |chunk: &[u8]| <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
    let rest = |bytes: &[u8]| bytes.iter().fold(0u64, |w, &b| (w << 8) | u64::from(b));
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    (&mut x).zip(&mut y).all(|(p, q)| word(p) == word(q))
        && rest(x.remainder()) == rest(y.remainder())
}

fn invalid(message: String) -> csv::Error {
    csv::Error::from(io::Error::new(io::ErrorKind::InvalidData, message))
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = Result<RequestRecord, csv::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let line = self.csv.position().line();
        let result = match self.csv.read_byte_record(&mut self.row) {
            Ok(false) => return None,
            Ok(true) => {
                self.csv.get_mut().since_row = 0;
                self.record()
            }
            Err(e) => Err(self.failed(e, line)),
        };
        if result.is_err() {
            self.done = true;
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
    fn same_compares_every_byte_of_strings_of_any_length() {
        let url = b"http://127.0.0.1:18093/notes/12";
        assert!(same(url, url) && same(b"", b""));
        for i in 0..url.len() {
            let mut other = *url;
            other[i] ^= 1;
            assert!(!same(url, &other), "differs at {i}");
            assert!(same(&url[..i], &other[..i]));
        }
        assert!(!same(b"GET", b"GE") && !same(b"a\0", b"\0a"));
    }

    #[test]
    fn a_character_split_between_two_cells_is_not_utf8() {
        let one = RequestRecord {
            body: "BODY".into(),
            error: "ERROR".into(),
            ..record()
        };
        let split = String::from_utf8(written(&[one]))
            .unwrap()
            .into_bytes()
            .split(|b| *b == b'\n')
            .map(|line| {
                let line = String::from_utf8_lossy(line).into_owned();
                line.replace("BODY", "\u{1}").replace("ERROR", "\u{2}")
            })
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
            .into_iter()
            .map(|b| match b {
                1 => 0xC3,
                2 => 0xA9,
                b => b,
            })
            .collect::<Vec<u8>>();
        assert!(
            std::str::from_utf8(&[0xC3, 0xA9]).is_ok(),
            "the two cells are UTF-8 together"
        );
        let e = read(&split).unwrap_err().to_string();
        assert!(e.contains("`body`") && e.contains("not UTF-8"), "{e}");
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
