//! A spool: a history too long to hold in memory, streamed to a file of its own while the
//! engine makes it (the `sustained` workload's attempts; a run checks them as they are
//! written, a merge reads its spool back once), then appended to the run's
//! `requests.csv`.
//!
//! [`Spool::create`] makes the file and hands back the [`Spool`] (the file: read it back,
//! append it to a history) and a [`SpoolWriter`] (append records, then finish), so that
//! the writer can move to a thread of its own while the spool stays with the run. The
//! file is in the system's temporary directory, named after the process, the run and
//! the scenario, and is removed when the `Spool` is dropped, whatever happened.

use std::fs::File;
use std::io::{BufRead, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{CsvReader, RequestRecord};

/// A spool file, removed when this is dropped. It derefs to the file's path.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
}

/// Appends records to a spool, in the CSV form of [`super::write_csv`].
pub struct SpoolWriter {
    out: super::CsvWriter<File>,
    path: PathBuf,
}

/// A spool that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the history to {}: {source}", path.display())]
pub struct SpoolError {
    path: PathBuf,
    source: csv::Error,
}

impl Spool {
    /// Creates an empty spool file for `scenario` in run `nonce`: one of this process's
    /// own, however many scenarios and runs it holds.
    pub fn create(scenario: &str, nonce: u64) -> Result<(Spool, SpoolWriter), SpoolError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name: String = scenario
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(40)
            .collect();
        let path = std::env::temp_dir().join(format!(
            "contend-{}-{nonce:x}-{n}-{name}.csv",
            std::process::id()
        ));
        let out = File::create(&path)
            .map(super::CsvWriter::new)
            .map_err(|source| SpoolError {
                path: path.clone(),
                source: source.into(),
            })?;
        let writer = SpoolWriter {
            out,
            path: path.clone(),
        };
        Ok((Spool { path }, writer))
    }

    /// The spool file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the spooled records back one at a time, so they need not fit in memory
    /// (with every body; [`CsvReader::bodies`] keeps fewer).
    pub fn records(&self) -> Result<CsvReader<File>, csv::Error> {
        CsvReader::new(File::open(&self.path)?)
    }

    /// Appends the spooled rows to the history at `requests` (a `requests.csv`), with the
    /// header only if that history is empty or missing, and syncs it to disk. The rows
    /// are the spool's bytes as they are, copied file to file (by the kernel where it
    /// can: `copy_file_range`), not read back as records.
    pub fn append_to(&self, requests: &Path) -> std::io::Result<()> {
        let empty = std::fs::metadata(requests).map_or(true, |m| m.len() == 0);
        let mut spool = File::open(&self.path)?;
        let header = header_len(&mut spool)?;
        if header == 0 {
            return Ok(()); // nothing was spooled: the run stopped before its first attempt
        }
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(requests)?;
        spool.seek(SeekFrom::Start(if empty { 0 } else { header }))?;
        std::io::copy(&mut spool, &mut out)?;
        out.sync_all()
    }
}

/// The length of the header line at the start of `file`, its line break included (0
/// for an empty file).
fn header_len(file: &mut File) -> std::io::Result<u64> {
    let mut lines = std::io::BufReader::new(file);
    let mut header = Vec::new();
    lines.read_until(b'\n', &mut header)?;
    Ok(header.len() as u64)
}

impl std::ops::Deref for Spool {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Spool {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl SpoolWriter {
    /// Appends records to the spool.
    pub fn append(&mut self, records: &[RequestRecord]) -> Result<(), SpoolError> {
        for r in records {
            self.out.write(r).map_err(|e| self.failed(e.into()))?;
        }
        Ok(())
    }

    /// Writes out what is buffered; the spool is then complete.
    pub fn finish(mut self) -> Result<(), SpoolError> {
        self.out.flush().map_err(|e| self.failed(e.into()))
    }

    fn failed(&self, source: csv::Error) -> SpoolError {
        SpoolError {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{read_csv, tests::record, write_csv};

    #[test]
    fn a_spool_reads_back_appends_after_a_history_and_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let requests = dir.path().join("requests.csv");
        let mut setup = record();
        setup.round = 0;
        write_csv(&requests, &[setup.clone()]).unwrap();

        let (spool, mut writer) = Spool::create("a spool/test", 7).unwrap();
        let spooled = vec![record(), record()];
        writer.append(&spooled[..1]).unwrap();
        writer.append(&spooled[1..]).unwrap();
        writer.finish().unwrap();
        let back: Vec<RequestRecord> = spool.records().unwrap().map(Result::unwrap).collect();
        assert_eq!(back, spooled);

        spool.append_to(&requests).unwrap();
        let all = read_csv(&requests).unwrap();
        assert_eq!(
            all,
            [vec![setup], spooled].concat(),
            "one header, then every row"
        );

        let path = spool.path().to_path_buf();
        assert!(path.exists());
        drop(spool);
        assert!(!path.exists(), "the spool file is removed with the spool");
    }

    #[test]
    fn a_spool_appended_to_a_missing_history_brings_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let requests = dir.path().join("requests.csv");
        let (spool, mut writer) = Spool::create("s", 1).unwrap();
        writer.append(&[record()]).unwrap();
        writer.finish().unwrap();
        spool.append_to(&requests).unwrap();
        assert_eq!(read_csv(&requests).unwrap(), [record()]);
    }

    #[test]
    fn an_empty_spool_appends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let requests = dir.path().join("requests.csv");
        let (spool, writer) = Spool::create("s", 2).unwrap();
        writer.finish().unwrap();
        assert_eq!(
            spool.records().unwrap().count(),
            0,
            "it reads back as no record"
        );
        spool.append_to(&requests).unwrap();
        assert!(!requests.exists());
    }
}
