//! The CSV form of the history (`requests.csv`), written with the `simd_csv` crate and
//! read with [`super::rows`], a splitter that classifies 64 bytes at a time.
//!
//! A long run writes millions of rows and `contend check` reads them back, so both
//! directions skip serde: [`CsvWriter`] hands each row to `simd_csv::Writer` as one
//! array of byte fields (numbers by `itoa`), and [`CsvReader`] reads each row in place
//! (the cells as they are in the file), unescapes only the quoted cells it needs as
//! text, and hands out one [`Text`] per distinct value of a repeating column rather
//! than one per row. The file is the one serde and the `csv` crate write and read
//! ([`COLUMNS`] in the record's field order, the enums by their snake_case names, an
//! absent value as an empty cell, a field quoted when it holds a delimiter, a quote or a
//! line break): columns are found by name, so a history saved by an older contend, which
//! lacks the newer columns, reads too (each then reads as absent or empty).
//!
//! The reader caps a row at [`super::MAX_LINE`] bytes, so a file that is no history
//! ends with an error, not with memory full. Its errors are `csv::Error`s, each naming
//! the line (and the column, for a bad cell).

use std::borrow::Cow;
use std::io::{self, Read, Write};

use super::rows::{Row, RowError, Rows};
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

/// The buffer of a writer: what it gathers before it writes to its output.
const BUFFER: usize = 64 * 1024;

/// Writes records as `requests.csv` rows into `out`, buffered: call
/// [`CsvWriter::flush`] when done. The header line goes before the first record (a
/// history of no record is an empty file, as serde and the `csv` crate write it).
pub struct CsvWriter<W: Write> {
    out: simd_csv::Writer<W>,
    header_due: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer of a new history.
    pub fn new(out: W) -> CsvWriter<W> {
        CsvWriter {
            out: simd_csv::WriterBuilder::new()
                .buffer_capacity(BUFFER)
                .flexible(true)
                .from_writer(out),
            header_due: true,
        }
    }

    /// Appends one record (and the header first, if it is due).
    pub fn write(&mut self, r: &RequestRecord) -> io::Result<()> {
        if self.header_due {
            self.header_due = false;
            self.out.write_record(COLUMNS).map_err(io_error)?;
        }
        self.encode(r).map_err(io_error)
    }

    /// Hands the row's fields to the `simd_csv` writer in one call, numbers formatted
    /// by `itoa` on the stack; the writer quotes what needs it (a delimiter, a quote or
    /// a line break in the field), as the `csv` crate does.
    fn encode(&mut self, r: &RequestRecord) -> simd_csv::Result<()> {
        let mut numbers = [itoa::Buffer::new(); 11];
        let [round, writer, attempt, value, status, start, end, latency, arrival, resource, scheduled] =
            &mut numbers;
        fn number(buffer: &mut itoa::Buffer, n: Option<u64>) -> &[u8] {
            n.map_or(b"", |n| buffer.format(n).as_bytes())
        }
        fn text(t: &Option<Text>) -> &[u8] {
            t.as_deref().unwrap_or("").as_bytes()
        }
        let row: [&[u8]; COLUMNS.len()] = [
            r.scenario.as_bytes(),
            r.workload.name().as_bytes(),
            phase_name(r.phase).as_bytes(),
            number(round, Some(r.round.into())),
            number(writer, r.writer.map(u64::from)),
            number(attempt, Some(r.attempt.into())),
            r.method.as_bytes(),
            r.url.as_bytes(),
            text(&r.version_sent),
            r.marker.as_deref().unwrap_or("").as_bytes(),
            r.value.map_or(b"", |v| value.format(v).as_bytes()),
            number(status, r.status.map(u64::from)),
            r.outcome.name().as_bytes(),
            number(start, Some(r.start_ns)),
            number(end, Some(r.end_ns)),
            number(latency, Some(r.latency_ns)),
            text(&r.version_returned),
            r.body.as_bytes(),
            r.error.as_bytes(),
            r.content_type.as_bytes(),
            text(&r.state),
            text(&r.strategy),
            r.promised.as_bytes(),
            r.conflict_missing.as_bytes(),
            number(arrival, r.arrival_ns),
            number(resource, r.resource.map(u64::from)),
            number(scheduled, r.scheduled_ns),
            r.cause.map_or("", Cause::name).as_bytes(),
        ];
        self.out.write_record(row)
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

/// A `simd_csv` error as the I/O error it wraps (any other as invalid data).
fn io_error(e: simd_csv::Error) -> io::Error {
    match e.into_kind() {
        simd_csv::ErrorKind::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")),
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

/// Reads `requests.csv` rows from `input`, one record at a time (see the module doc).
pub struct CsvReader<R: Read> {
    rows: Rows<R>,
    reading: Reading,
    /// Set after an error or at the end: the iterator ends.
    done: bool,
}

/// What turns a row into a record: the header's columns, the texts read so far, and
/// which bodies are kept.
struct Reading {
    /// Which of [`COLUMNS`] each field of a row is ([`ABSENT`] for a column contend
    /// does not know); a row has as many fields.
    columns: Vec<usize>,
    shared: Shared,
    /// Whether a record's body is unescaped and kept (see [`CsvReader::bodies`]).
    bodies: fn(&RequestRecord) -> bool,
}

/// A text read before, with the cell it was read from as it is in the file (quotes
/// and all): a cell of the same bytes is the same text, with nothing to unescape.
#[derive(Default)]
struct Seen {
    /// The cell's length and last eight bytes ([`key`]): compared before the cell.
    key: (usize, u64),
    cell: Vec<u8>,
    text: Text,
}

/// A cell's length and its last (up to) eight bytes in one word: two cells of a column
/// that differ tend to differ there (the id in a URL, the number in a version token).
fn key(cell: &[u8]) -> (usize, u64) {
    let n = cell.len();
    let word = match cell.get(n.wrapping_sub(8)..).map(<[u8; 8]>::try_from) {
        Some(Ok(last)) => u64::from_le_bytes(last),
        _ => cell.iter().fold(0u64, |w, &b| (w << 8) | u64::from(b)),
    };
    (n, word)
}

/// The last few texts of a column, and which of them the last row had: the row
/// before's value is tried first, then the others.
#[derive(Default)]
struct Recent {
    seen: [Seen; 8],
    last: usize,
    next: usize,
}

impl Recent {
    /// The text read before from a cell of these bytes, if it is among the last few.
    fn find(&mut self, cell: &[u8]) -> Option<Text> {
        let key = key(cell);
        // A key is the whole of a cell of up to eight bytes.
        let is = |s: &Seen| s.key == key && (cell.len() <= 8 || same(&s.cell, cell));
        let last = &self.seen[self.last];
        if is(last) {
            return Some(last.text.clone());
        }
        let i = self.seen.iter().position(is)?;
        self.last = i;
        Some(self.seen[i].text.clone())
    }

    /// Keeps `text`, read from `cell`, in place of the oldest one kept.
    fn add(&mut self, cell: &[u8], text: &Text) {
        let seen = &mut self.seen[self.next];
        seen.key = key(cell);
        seen.cell.clear();
        seen.cell.extend_from_slice(cell);
        seen.text = text.clone();
        self.last = self.next;
        self.next = (self.next + 1) % self.seen.len();
    }
}

/// The version tokens read lately, in sets by a hash of their cell: a write sends the
/// token its read returned some rows before, and the rows of the other connections in
/// between bring tokens of their own, more than [`Recent`] keeps. A token is looked for
/// among the [`Versions::WAYS`] of its set only, and a new one takes the place of the
/// oldest there.
struct Versions {
    seen: Box<[Seen]>,
    /// The way of each set that the next token kept there takes.
    next: Box<[u8]>,
}

impl Default for Versions {
    fn default() -> Versions {
        Versions {
            seen: (0..Versions::SETS * Versions::WAYS)
                .map(|_| Seen::default())
                .collect(),
            next: vec![0; Versions::SETS].into_boxed_slice(),
        }
    }
}

impl Versions {
    const SETS: usize = 64;
    const WAYS: usize = 4;

    /// The set of a cell of this [`key`]: the top six bits of a multiplicative hash.
    fn set(key: (usize, u64)) -> usize {
        ((key.0 as u64 ^ key.1).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize
    }

    /// The text read before from a cell of these bytes (not empty), if it is still kept.
    fn find(&self, cell: &[u8]) -> Option<Text> {
        let key = key(cell);
        let first = Versions::set(key) * Versions::WAYS;
        // A key is the whole of a cell of up to eight bytes; an unused way's is that of
        // the empty cell, which is never looked for.
        self.seen[first..first + Versions::WAYS]
            .iter()
            .find(|s| s.key == key && (cell.len() <= 8 || same(&s.cell, cell)))
            .map(|s| s.text.clone())
    }

    /// Keeps `text`, read from `cell`, in place of the oldest of its set.
    fn add(&mut self, cell: &[u8], text: &Text) {
        let key = key(cell);
        let set = Versions::set(key);
        let way = usize::from(self.next[set]);
        self.next[set] = ((way + 1) % Versions::WAYS) as u8;
        let seen = &mut self.seen[set * Versions::WAYS + way];
        seen.key = key;
        seen.cell.clear();
        seen.cell.extend_from_slice(cell);
        seen.text = text.clone();
    }
}

/// The texts a reader hands out again.
#[derive(Default)]
struct Shared {
    /// The last few values of each repeating column (the URLs of a few resources
    /// alternate).
    columns: [Recent; COLUMNS.len()],
    /// The last workload read, by name.
    workload: Option<WorkloadId>,
    /// The version tokens of either version column read lately: a write sends the one
    /// its read returned.
    versions: Versions,
}

impl<R: Read> CsvReader<R> {
    /// A reader of the history in `input`; reads its header line now, so a file whose
    /// first line lacks a column every history has is an error here. An empty input is
    /// a history of no record.
    pub fn new(input: R) -> Result<CsvReader<R>, csv::Error> {
        let mut reader = CsvReader {
            rows: Rows::new(input),
            reading: Reading {
                columns: Vec::new(),
                shared: Shared::default(),
                bodies: |_| true,
            },
            done: false,
        };
        let header: Vec<Vec<u8>> = match reader.rows.next_row() {
            Ok(Some(row)) => (0..row.len())
                .map(|i| unquoted(row.get(i).unwrap_or_default()).to_vec())
                .collect(),
            Ok(None) => {
                // An empty file is a history of no record (as the `csv` crate wrote it).
                reader.done = true;
                return Ok(reader);
            }
            Err(e) => return Err(failed(e)),
        };
        let mut index = [ABSENT; COLUMNS.len()];
        for (i, name) in header.iter().enumerate() {
            let column = COLUMNS.iter().position(|c| c.as_bytes() == name.as_slice());
            if let Some(c) = column {
                index[c] = i;
            }
            reader.reading.columns.push(column.unwrap_or(ABSENT));
        }
        if let Some(missing) = REQUIRED.iter().find(|c| index[**c as usize] == ABSENT) {
            return Err(invalid(format!(
                "line 1: the header has no `{}` column, so this is not a requests.csv written by contend",
                COLUMNS[*missing as usize]
            )));
        }
        Ok(reader)
    }

    /// Keeps the bodies of the records `wanted` says yes to, and leaves the others'
    /// empty: a reader that reads few bodies (the sustained checker) is spared
    /// unescaping the rest. Every body is still checked as UTF-8, so the file reads
    /// to the same records or the same error either way.
    pub fn bodies(mut self, wanted: fn(&RequestRecord) -> bool) -> CsvReader<R> {
        self.reading.bodies = wanted;
        self
    }
}

/// The error of reading a row: the row cap's own, or the input's.
fn failed(e: RowError) -> csv::Error {
    match e {
        RowError::TooLong(line) => invalid(format!(
            "line {line}: a row is over {} MiB, so this is not a requests.csv written by contend",
            super::MAX_LINE / (1024 * 1024)
        )),
        RowError::Io(e) => csv::Error::from(e),
    }
}

/// A cell without its quotes, if it has them.
fn unquoted(cell: &[u8]) -> &[u8] {
    match cell {
        [b'"', inner @ .., b'"'] => inner,
        _ => cell,
    }
}

/// The record in `row`, or what is wrong with it (the line is added by the caller).
fn record(row: &Row<'_>, reading: &mut Reading) -> Result<RequestRecord, String> {
    let width = reading.columns.len();
    if row.len() != width {
        return Err(format!(
            "the row has {} fields and the header {width}",
            row.len()
        ));
    }
    // Each cell by its column, found in one pass over the row; a column the file lacks
    // is empty.
    let mut cells: [&[u8]; COLUMNS.len()] = [b""; COLUMNS.len()];
    for (bytes, &column) in row.cells().zip(&reading.columns) {
        if let Some(cell) = cells.get_mut(column) {
            *cell = bytes;
        }
    }
    let mut cell = Cell {
        row,
        cells: &cells,
        shared: &mut reading.shared,
    };
    let mut record = RequestRecord {
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
        body: {
            // Quotes are ASCII: the cell as it is is UTF-8 exactly when its text is.
            let body = cell.cell(Column::Body);
            cell.utf8(body).map_err(|_| cell.not_utf8(Column::Body))?;
            String::new()
        },
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
    };
    if (reading.bodies)(&record) {
        record.body = cell.string(Column::Body)?;
    }
    Ok(record)
}

/// A decimal number, as `str::parse` reads one (an optional `+`, then digits).
fn unsigned(raw: &[u8]) -> Option<u64> {
    let digits = match raw {
        [b'+', rest @ ..] => rest,
        _ => raw,
    };
    // At most 19 digits cannot overflow a u64: no check per digit, and eight digits at
    // a time.
    let (n, rest) = match digits.len() {
        0 => return None,
        1..=7 => (0, digits),
        8..=15 => {
            let (eight, rest) = digits.split_at(8);
            (eight_digits(eight)?, rest)
        }
        16..=19 => {
            let (sixteen, rest) = digits.split_at(16);
            let (high, low) = sixteen.split_at(8);
            (eight_digits(high)? * 100_000_000 + eight_digits(low)?, rest)
        }
        _ => {
            return digits.iter().try_fold(0u64, |n, &b| {
                let d = b.wrapping_sub(b'0');
                (d <= 9).then_some(())?;
                n.checked_mul(10)?.checked_add(u64::from(d))
            })
        }
    };
    rest.iter().try_fold(n, |n, &b| {
        let d = b.wrapping_sub(b'0');
        (d <= 9).then(|| n * 10 + u64::from(d))
    })
}

/// The number that eight decimal digits write, read in one word (none if one of the
/// bytes is not a digit): each byte's digit, then pairs, fours and the eight combined
/// by multiplications.
fn eight_digits(chunk: &[u8]) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?);
    // Every byte is in 0x30..=0x39: its high half is 3, and still 3 with 6 added.
    let high = 0xF0 * ONES;
    if word & high != 0x30 * ONES || word.wrapping_add(0x06 * ONES) & high != 0x30 * ONES {
        return None;
    }
    let d = word - 0x30 * ONES;
    let pairs = (d * 10).wrapping_add(d >> 8);
    let low = 0x0000_00FF_0000_00FF;
    Some(
        (pairs & low)
            .wrapping_mul(100 + (1_000_000 << 32))
            .wrapping_add(((pairs >> 16) & low).wrapping_mul(1 + (10_000 << 32)))
            >> 32,
    )
}

/// The current row's cells, read by column.
struct Cell<'a, 'r> {
    row: &'a Row<'r>,
    cells: &'a [&'r [u8]; COLUMNS.len()],
    shared: &'a mut Shared,
}

impl<'a> Cell<'a, '_> {
    /// A column's cell as it is in the file: quoted or not, not unescaped.
    fn cell(&self, column: Column) -> &'a [u8] {
        self.cells[column as usize]
    }

    /// A column's cell without its quotes (for the columns of numbers and names, whose
    /// values never have a quote in them).
    fn raw(&self, column: Column) -> &'a [u8] {
        unquoted(self.cell(column))
    }

    /// A column's text, unescaped. Only the cells read as text are checked as UTF-8
    /// (a number is checked as digits, a name against the names), each once: a doubled
    /// quote made one leaves UTF-8 what was UTF-8, and not what was not.
    fn not_utf8(&self, column: Column) -> String {
        format!("column `{}` is not UTF-8", COLUMNS[column as usize])
    }

    /// Part of the row as text: checked as UTF-8 unless the row is all ASCII.
    fn utf8(&self, bytes: &'a [u8]) -> Result<&'a str, std::str::Utf8Error> {
        if self.row.ascii() {
            // SAFETY: `bytes` is part of the row (a cell, or a cell without its quotes),
            // every byte of which is below 0x80, and ASCII is UTF-8.
            Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
        } else {
            std::str::from_utf8(bytes)
        }
    }

    fn text(&self, column: Column) -> Result<Cow<'a, str>, String> {
        let not_utf8 = |_| self.not_utf8(column);
        let cell = self.cell(column);
        let inner = match cell {
            [b'"', inner @ .., b'"'] => inner,
            _ => return self.utf8(cell).map(Cow::Borrowed).map_err(not_utf8),
        };
        if memchr::memchr(b'"', inner).is_none() {
            return self.utf8(inner).map(Cow::Borrowed).map_err(not_utf8);
        }
        // Each doubled quote made one, in one pass over a copy (`str::replace` searches
        // for the pair with a general substring search, several times slower; a
        // `memchr` per quote costs more than this on JSON bodies, a quote every few
        // bytes).
        let mut bytes = inner.to_vec();
        let mut open = false;
        bytes.retain(|&b| {
            open = b == b'"' && !open;
            b != b'"' || open
        });
        if self.row.ascii() {
            // SAFETY: the bytes are those of a cell of the row with quotes taken out,
            // and every byte of the row is ASCII.
            return Ok(Cow::Owned(unsafe { String::from_utf8_unchecked(bytes) }));
        }
        String::from_utf8(bytes)
            .map(Cow::Owned)
            .map_err(|e| not_utf8(e.utf8_error()))
    }

    fn bad(&self, column: Column) -> String {
        let value: String = String::from_utf8_lossy(self.raw(column))
            .chars()
            .take(40)
            .collect();
        format!(
            "column `{}`: {value:?} is not a valid value",
            COLUMNS[column as usize]
        )
    }

    fn parse<T>(&self, column: Column, parse: impl Fn(&[u8]) -> Option<T>) -> Result<T, String> {
        parse(self.raw(column)).ok_or_else(|| self.bad(column))
    }

    fn workload(&mut self) -> Result<WorkloadId, String> {
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

    fn number<T: TryFrom<u64>>(&self, column: Column) -> Result<T, String> {
        unsigned(self.raw(column))
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| self.bad(column))
    }

    fn optional<T: TryFrom<u64>>(&self, column: Column) -> Result<Option<T>, String> {
        match self.raw(column) {
            b"" => Ok(None),
            raw => unsigned(raw)
                .and_then(|n| T::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.bad(column)),
        }
    }

    fn signed(&self, column: Column) -> Result<Option<i64>, String> {
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

    fn string(&self, column: Column) -> Result<String, String> {
        self.text(column).map(Cow::into_owned)
    }

    fn optional_string(&self, column: Column) -> Result<Option<String>, String> {
        let text = self.text(column)?;
        Ok((!text.is_empty()).then(|| text.into_owned()))
    }

    /// A repeating column's value: the `Text` read before from a cell of the same bytes
    /// while it is among the column's last few.
    fn shared(&mut self, column: Column) -> Result<Text, String> {
        let cell = self.cell(column);
        if cell.is_empty() {
            return Ok(Text::empty());
        }
        if let Some(text) = self.shared.columns[column as usize].find(cell) {
            return Ok(text);
        }
        let text = self.text(column)?;
        let text = known(text.as_bytes()).unwrap_or_else(|| Text::from(&*text));
        self.shared.columns[column as usize].add(cell, &text);
        Ok(text)
    }

    /// A version column's token, shared with the same token read lately in either
    /// version column (a write sends the token its read returned).
    fn version(&mut self, column: Column) -> Result<Option<Text>, String> {
        let cell = self.cell(column);
        if cell.is_empty() {
            return Ok(None);
        }
        if let Some(text) = self.shared.versions.find(cell) {
            return Ok(Some(text));
        }
        let text = Text::from(&*self.text(column)?);
        self.shared.versions.add(cell, &text);
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
/// token: the call to `memcmp` that `==` makes cost more than the comparison). The
/// last eight bytes go first: the values of a column tend to differ at their end (the
/// id in a URL, the number in a version token).
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |bytes: &[u8], at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|chunk| <[u8; 8]>::try_from(chunk).ok())
            .map_or(0, u64::from_le_bytes)
    };
    if n < 8 {
        let rest = |bytes: &[u8]| bytes.iter().fold(0u64, |w, &b| (w << 8) | u64::from(b));
        return rest(a) == rest(b);
    }
    word(a, n - 8) == word(b, n - 8) && (0..n - 8).step_by(8).all(|at| word(a, at) == word(b, at))
}

fn invalid(message: String) -> csv::Error {
    csv::Error::from(io::Error::new(io::ErrorKind::InvalidData, message))
}

/// What is wrong with a row's record, on the row's line.
fn at_line(row: &Row<'_>, message: String) -> csv::Error {
    invalid(format!("line {}: {message}", row.line()))
}

impl<R: Read> CsvReader<R> {
    /// Hands every record left to `each`, in order, until the first error. The same
    /// records as the iterator, with no iterator between the reader and `each`: a
    /// record is a few hundred bytes, and every layer that returns one moves it.
    pub fn each(mut self, mut each: impl FnMut(RequestRecord)) -> Result<(), csv::Error> {
        if self.done {
            return Ok(());
        }
        while let Some(row) = self.rows.next_row().map_err(failed)? {
            match record(&row, &mut self.reading) {
                Ok(record) => each(record),
                Err(message) => return Err(at_line(&row, message)),
            }
        }
        Ok(())
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = Result<RequestRecord, csv::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let row = match self.rows.next_row() {
            Ok(Some(row)) => row,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(failed(e)));
            }
        };
        match record(&row, &mut self.reading) {
            Ok(record) => Some(Ok(record)),
            Err(message) => {
                self.done = true;
                Some(Err(at_line(&row, message)))
            }
        }
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
        // Every ASCII byte in a text field, and cells that are one byte the quoting rule
        // names: a delimiter, a quote, a carriage return, a line feed.
        let mut every = record();
        every.body = (0u8..128).map(char::from).collect();
        every.error = "\r".into();
        every.marker = Some(",".into());
        every.conflict_missing = "\"".into();
        every.url = "\n".into();
        every.scenario = " s ".into();
        vec![plain, quoted, unicode, every]
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

    /// `n` records from `seed` whose texts are random strings of the bytes quoting is
    /// about (and some it is not).
    fn random_records(n: usize, seed: u64) -> Vec<RequestRecord> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let pieces = ["a", ",", "\"", "\n", "\r", " ", "é", "\"\"", "xyz", "\t"];
        // Never empty: an empty cell reads back as an absent value.
        let text = |rng: &mut rand::rngs::StdRng| -> String {
            let len = rng.gen_range(1..24);
            (0..len)
                .map(|_| pieces[rng.gen_range(0..pieces.len())])
                .collect()
        };
        (0..n)
            .map(|_| {
                let mut r = record();
                r.body = text(&mut rng);
                r.error = text(&mut rng);
                r.url = text(&mut rng).into();
                r.marker = Some(text(&mut rng));
                r.version_returned = Some(text(&mut rng).into());
                r.content_type = text(&mut rng).into();
                r.value = Some(rng.gen());
                r.start_ns = rng.gen();
                r
            })
            .collect()
    }

    #[test]
    fn random_texts_are_written_as_the_csv_crate_writes_them_and_read_back() {
        for seed in 0..20 {
            let records = random_records(200, seed);
            let bytes = written(&records);
            assert_eq!(
                String::from_utf8(bytes.clone()).unwrap(),
                String::from_utf8(serde_csv(&records)).unwrap(),
                "seed {seed}"
            );
            let back = read(&bytes).unwrap();
            assert_eq!(back.len(), records.len(), "seed {seed}");
            for (i, (back, r)) in back.iter().zip(&records).enumerate() {
                assert_eq!(back, r, "seed {seed}, record {i}");
            }
        }
    }

    #[test]
    fn a_writer_dropped_without_a_flush_keeps_every_row_it_took() {
        // An error path drops the spool's writer unflushed: its rows must not be lost.
        let mut records = random_records(3000, 99);
        for r in &mut records {
            r.body = "b,".repeat(40);
        }
        let whole = serde_csv(&records);
        assert!(whole.len() > 3 * BUFFER, "{} bytes", whole.len());
        let mut out = Vec::new();
        let mut w = CsvWriter::new(&mut out);
        for r in &records {
            w.write(r).unwrap();
        }
        drop(w);
        assert_eq!(out, whole);
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
    fn a_version_read_with_many_others_after_it_is_still_shared() {
        // Other connections' reads return 40 other tokens before the write sends the
        // first one.
        let mut records: Vec<RequestRecord> = (0..41)
            .map(|i| RequestRecord {
                version_returned: Some(format!("\"{i}\"").into()),
                ..record()
            })
            .collect();
        records.push(RequestRecord {
            version_sent: Some("\"0\"".into()),
            ..record()
        });
        let back = read(&written(&records)).unwrap();
        let (returned, sent) = (
            back[0].version_returned.as_deref().unwrap(),
            back[41].version_sent.as_deref().unwrap(),
        );
        assert_eq!(sent, "\"0\"");
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
        // A quoted last cell before a CRLF, and at the end of the input.
        let header = COLUMNS[..19].join(",");
        let row =
            "s,stale-write,write,3,1,1,PUT,http://h/n/1,,m,,412,conflict,10,30,20,,body,\"a, b\"";
        for end in ["\r\n", "\n", ""] {
            let back = read(format!("{header}\r\n{row}\r\n{row}{end}").as_bytes()).unwrap();
            let errors: Vec<&str> = back.iter().map(|r| r.error.as_str()).collect();
            assert_eq!(errors, ["a, b", "a, b"], "{end:?}");
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
    fn numbers_read_as_str_parse_reads_them() {
        let mut cases: Vec<String> = ["0", "+7", "12345678", "99999999", "18446744073709551615"]
            .map(String::from)
            .to_vec();
        cases.extend(["18446744073709551616", "", "+", "-1", "1 2", "+-1"].map(String::from));
        for len in 1..=20 {
            let digits: String = (0..len)
                .map(|i| char::from(b'1' + (i * 7 % 9) as u8))
                .collect();
            for at in 0..len {
                // Every byte next to the digits' range, at every place.
                for bad in [b'/', b':', b' ', 0x80, 0xB9] {
                    let mut bytes = digits.clone().into_bytes();
                    bytes[at] = bad;
                    assert_eq!(unsigned(&bytes), None, "{bytes:?}");
                }
            }
            cases.push(digits);
        }
        for case in cases {
            assert_eq!(
                unsigned(case.as_bytes()),
                case.parse::<u64>().ok(),
                "{case:?}"
            );
        }
    }

    #[test]
    fn the_texts_kept_are_found_by_every_byte_of_their_cell() {
        let cells: [&[u8]; 8] = [
            b"\0a",
            b"a",
            b"a\0",
            b"abcdefgh",
            b"abcdefgi",
            b"xbcdefgh",
            b"0abcdefgh",
            b"1abcdefgh",
        ];
        let mut recent = Recent::default();
        for cell in cells {
            assert!(recent.find(cell).is_none(), "{cell:?} was not kept yet");
            recent.add(cell, &Text::from(String::from_utf8_lossy(cell).as_ref()));
        }
        for cell in cells {
            let found = recent.find(cell).expect("kept");
            assert_eq!(found.as_bytes(), cell);
        }
        assert!(recent.find(b"").is_none() && recent.find(b"abcdefgj").is_none());
        let mut versions = Versions::default();
        for cell in cells {
            assert!(versions.find(cell).is_none(), "{cell:?} was not kept yet");
            versions.add(cell, &Text::from(String::from_utf8_lossy(cell).as_ref()));
        }
        for cell in cells {
            if let Some(found) = versions.find(cell) {
                assert_eq!(found.as_bytes(), cell);
            }
        }
        assert!(versions.find(b"abcdefgj").is_none());
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
        // A body left out is checked all the same.
        let skipped = CsvReader::new(&split[..])
            .unwrap()
            .bodies(|_| false)
            .collect::<Result<Vec<_>, _>>();
        assert_eq!(skipped.unwrap_err().to_string(), e);
    }

    #[test]
    fn bodies_left_out_read_empty_and_every_other_field_as_it_was() {
        let records = awkward();
        let bytes = written(&records);
        let keep = |r: &RequestRecord| r.phase == Phase::Write;
        let read: Vec<RequestRecord> = CsvReader::new(&bytes[..])
            .unwrap()
            .bodies(keep)
            .map(Result::unwrap)
            .collect();
        assert_eq!(read.len(), records.len());
        assert!(records.iter().any(|r| !keep(r) && !r.body.is_empty()));
        assert!(records.iter().any(|r| keep(r) && !r.body.is_empty()));
        for (a, b) in read.iter().zip(&records) {
            let body = if keep(b) {
                b.body.clone()
            } else {
                String::new()
            };
            assert_eq!(*a, RequestRecord { body, ..b.clone() });
        }
    }

    #[test]
    fn a_bad_cell_after_blank_lines_crlf_and_a_row_longer_than_the_buffer_names_its_line() {
        // A body of many lines, longer than the reader's buffer, so its row spans chunks.
        let long = RequestRecord {
            body: "x\n".repeat(super::super::rows::CHUNK),
            ..record()
        };
        let text = String::from_utf8(written(&[long.clone(), record(), record()])).unwrap();
        let bad = {
            let at = text.rfind(",412,").unwrap();
            format!("{},4x2,{}", &text[..at], &text[at + 5..])
        };
        // header 1; the long row 2..=CHUNK+2; the next rows two lines each.
        let third = super::super::rows::CHUNK + 3 + 2;
        let e = read(bad.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains(&format!("line {third}:")) && e.contains("`status`"),
            "{e}"
        );
        let crlf = bad.replace('\n', "\r\n");
        let e = read(crlf.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(&format!("line {third}:")), "{e}");
        let (header, rows) = bad.split_once('\n').unwrap();
        let blank = format!("{header}\n\n\r\n{rows}");
        let e = read(blank.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(&format!("line {}:", third + 2)), "{e}");
        assert_eq!(
            read(text.as_bytes()).unwrap()[0],
            long,
            "the long row reads whole"
        );
    }

    #[test]
    fn quoted_cells_are_unescaped_in_every_kind_of_column() {
        let header = COLUMNS.join(",");
        let row = "\"s\",\"stale-write\",\"write\",\"3\",\"1\",\"1\",\"PUT\",\"http://h/n,1\",\"\"\"4\"\"\",\"m\",\"-2\",\"412\",\"conflict\",\"10\",\"30\",\"20\",\"W/\"\"5\"\"\",\"a \"\"b\"\"\",\"\",\"text/plain\",\"\",\"\",\"412\",\"\",\"7\",\"\",\"\",\"cut\"";
        let back = read(format!("{header}\n{row}\n").as_bytes()).unwrap();
        let r = &back[0];
        assert_eq!((r.scenario.as_str(), r.url.as_str()), ("s", "http://h/n,1"));
        assert_eq!((r.round, r.value, r.status), (3, Some(-2), Some(412)));
        assert_eq!(r.version_sent.as_deref(), Some("\"4\""));
        assert_eq!(r.version_returned.as_deref(), Some("W/\"5\""));
        assert_eq!((r.body.as_str(), r.error.as_str()), ("a \"b\"", ""));
        assert_eq!(
            (r.arrival_ns, r.resource, r.cause),
            (Some(7), None, Some(Cause::Cut))
        );
        assert_eq!((r.state.clone(), r.writer), (None, Some(1)));
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
