//! The JSON Lines form of the history: one [`RequestRecord`] per line, a JSON object
//! with the fields and names of `requests.csv`, written while the run makes them
//! (`contend run --jsonl FILE`), so that a script or a dashboard can follow a long run
//! live (`tail -f`, `jq`), as with `vegeta encode` or k6's `--out json`.
//!
//! The engine hands a [`JsonlStream`] each batch of records once they are complete (a
//! round, an increment, a sustained connection's latest attempts, a scenario's set-up
//! and final reads). A thread of its own encodes them and writes them out, flushing
//! whenever it has written every batch it was given: a reader sees each batch as soon
//! as the disk has it, and under load the batches that queued up go out in one write.
//! The queue is bounded, so a writer that cannot keep up (a full disk, a stalled pipe)
//! slows the run rather than filling memory. [`read_jsonl_iter`] reads the file back, so
//! `contend check` takes it as it takes a `requests.csv`.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Mutex;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::RequestRecord;

/// Batches waiting for the writer's thread; the engine waits when it falls behind.
const QUEUE: usize = 64;
/// Encoded bytes gathered from queued batches before one write and flush.
const WRITE_AT: usize = 1 << 20;

/// Streams records as JSON Lines to a file or stdout while the run goes on.
pub struct JsonlStream {
    /// `None` once [`JsonlStream::finish`] has closed the stream.
    sender: Mutex<Option<mpsc::Sender<Vec<RequestRecord>>>>,
    writer: Mutex<Option<JoinHandle<std::io::Result<u64>>>>,
}

/// A JSON Lines history that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {source}")]
    Record {
        line: usize,
        source: serde_json::Error,
    },
}

impl JsonlStream {
    /// A stream into the file at `path`, created (or emptied) now.
    pub fn create(path: &Path) -> std::io::Result<JsonlStream> {
        Ok(Self::new(std::fs::File::create(path)?))
    }

    /// A stream to standard output.
    pub fn stdout() -> JsonlStream {
        Self::new(std::io::stdout())
    }

    /// A stream into `out`, written on a thread of its own.
    pub fn new(out: impl Write + Send + 'static) -> JsonlStream {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let writer = std::thread::spawn(move || write_batches(receiver, out));
        JsonlStream {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        }
    }

    /// Queues complete records to be written; waits only while the queue is full. After
    /// a write failed, or once the stream is finished, records are dropped:
    /// [`JsonlStream::finish`] reports the failure.
    pub async fn publish(&self, records: &[RequestRecord]) {
        if records.is_empty() {
            return;
        }
        let sender = self.sender.lock().ok().and_then(|s| s.clone());
        if let Some(sender) = sender {
            let _ = sender.send(records.to_vec()).await;
        }
    }

    /// Closes the stream, waits until everything queued is written and flushed, and
    /// returns how many records were written, or why writing stopped.
    pub fn finish(&self) -> std::io::Result<u64> {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        match writer.map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the JSON Lines writer stopped")),
            None => Err(std::io::Error::other(
                "the JSON Lines stream was already finished",
            )),
        }
    }
}

/// The writer's thread: encodes each batch, gathers what else is queued, writes it in
/// one go and flushes; until every sender is gone or a write fails.
fn write_batches(
    mut receiver: mpsc::Receiver<Vec<RequestRecord>>,
    mut out: impl Write,
) -> std::io::Result<u64> {
    let mut written = 0u64;
    let mut bytes = Vec::new();
    while let Some(batch) = receiver.blocking_recv() {
        bytes.clear();
        written += encode(&batch, &mut bytes)?;
        while bytes.len() < WRITE_AT {
            match receiver.try_recv() {
                Ok(batch) => written += encode(&batch, &mut bytes)?,
                Err(_) => break,
            }
        }
        out.write_all(&bytes)?;
        out.flush()?;
    }
    Ok(written)
}

/// Appends each record as one line of JSON; returns how many.
fn encode(records: &[RequestRecord], bytes: &mut Vec<u8>) -> std::io::Result<u64> {
    for r in records {
        serde_json::to_writer(&mut *bytes, r)?;
        bytes.push(b'\n');
    }
    Ok(records.len() as u64)
}

/// Whether the history at `path` is JSON Lines rather than CSV: its first character
/// that is not white space opens a JSON object (a `requests.csv` starts with its header).
pub fn is_jsonl(path: &Path) -> std::io::Result<bool> {
    let mut lines = std::io::BufReader::new(std::fs::File::open(path)?);
    loop {
        let buffer = lines.fill_buf()?;
        let Some(&first) = buffer.first() else {
            return Ok(false);
        };
        if !first.is_ascii_whitespace() {
            return Ok(first == b'{');
        }
        lines.consume(1);
    }
}

/// Reads a history written by a [`JsonlStream`]; blank lines are skipped.
pub fn read_jsonl(path: &Path) -> Result<Vec<RequestRecord>, JsonlError> {
    read_jsonl_iter(path)?.collect()
}

/// Reads a history written by a [`JsonlStream`] one record at a time, so a long history
/// need not fit in memory; blank lines are skipped, and a line longer than
/// [`super::MAX_LINE`] is an error, as in a `requests.csv`.
pub fn read_jsonl_iter(
    path: &Path,
) -> Result<impl Iterator<Item = Result<RequestRecord, JsonlError>>, JsonlError> {
    let lines = std::io::BufReader::new(super::LineCap::open(path)?).lines();
    Ok(lines.enumerate().filter_map(|(n, line)| match line {
        Err(e) => Some(Err(JsonlError::Io(e))),
        Ok(line) if line.trim().is_empty() => None,
        Ok(line) => Some(
            serde_json::from_str(&line).map_err(|source| JsonlError::Record {
                line: n + 1,
                source,
            }),
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::record;

    #[tokio::test]
    async fn a_stream_writes_one_line_per_record_that_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let stream = JsonlStream::create(&path).unwrap();
        let mut cut = record();
        cut.status = None;
        cut.error = "timed out".into();
        stream.publish(&[record(), cut.clone()]).await;
        stream.publish(&[]).await;
        stream.publish(&[record()]).await;
        assert_eq!(stream.finish().unwrap(), 3);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.lines().all(|l| l.starts_with("{\"scenario\":\"s\"")));
        assert_eq!(read_jsonl(&path).unwrap(), [record(), cut, record()]);
        assert!(is_jsonl(&path).unwrap());
    }

    #[tokio::test]
    async fn a_batch_reaches_the_file_while_the_stream_is_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let stream = JsonlStream::create(&path).unwrap();
        stream.publish(&[record()]).await;
        // A follower sees the first batch while the run is still going.
        let mut lines = 0;
        for _ in 0..500 {
            lines = std::fs::read_to_string(&path).unwrap().lines().count();
            if lines == 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(
            lines, 1,
            "the batch was flushed without waiting for the end"
        );
        stream.finish().unwrap();
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let good = serde_json::to_string(&record()).unwrap();
        std::fs::write(&path, format!("{good}\n\n{{\"scenario\":1}}\n")).unwrap();
        let e = read_jsonl(&path).unwrap_err().to_string();
        assert!(e.starts_with("line 3: "), "{e}");
    }

    #[test]
    fn a_csv_history_is_not_taken_for_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        crate::history::write_csv(&path, &[record()]).unwrap();
        assert!(!is_jsonl(&path).unwrap());
        std::fs::write(&path, "").unwrap();
        assert!(!is_jsonl(&path).unwrap());
    }
}
