//! Latency of contended writes, one HdrHistogram per outcome.
//!
//! Values are recorded in nanoseconds with three significant digits, from 1 µs to one
//! hour; the reports print microseconds. A scenario's histograms travel between
//! processes in HdrHistogram's V2 serialisation ([`Latency::to_v2`], [`Latency::add_v2`]),
//! which keeps every count: the shards of a sharded run write theirs, and `contend merge`
//! adds them up into exactly the histograms one process would have recorded.

use hdrhistogram::Histogram;

use crate::history::{Outcome, Phase, RequestRecord};

/// A scenario's write latencies, one histogram per [`Outcome::TIMED`] outcome.
#[derive(Debug, Clone)]
pub struct Latency {
    histograms: Vec<(Outcome, Histogram<u64>)>,
}

/// The figures the summary shows for one histogram, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    /// The summary of one histogram, in its own unit; all zero when it is empty. Every
    /// percentile the reports show comes from here.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

const HIGHEST_NS: u64 = 3_600_000_000_000;

impl Latency {
    /// Collects the latency of every contended write (not reads, warm-ups or probes).
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a RequestRecord>) -> Latency {
        Latency::from_values(
            records
                .into_iter()
                .filter(|r| r.phase == Phase::Write)
                .map(|r| (r.outcome, r.latency_ns)),
        )
    }

    /// Collects latencies measured some other way (a sustained attempt, from its
    /// scheduled start), each with the outcome it ended with, in nanoseconds.
    pub fn from_values(values: impl IntoIterator<Item = (Outcome, u64)>) -> Latency {
        let mut latency = Latency::empty();
        for (outcome, ns) in values {
            latency.record(outcome, ns);
        }
        latency
    }

    /// No latency yet; [`Latency::record`] adds one, in bounded memory.
    pub fn empty() -> Latency {
        Latency {
            histograms: Outcome::TIMED
                .iter()
                .filter_map(|o| {
                    Histogram::new_with_bounds(1_000, HIGHEST_NS, 3)
                        .ok()
                        .map(|h| (*o, h))
                })
                .collect(),
        }
    }

    /// Adds one latency in nanoseconds to its outcome's histogram (reads' `ok` and
    /// `not_sent` have none).
    pub fn record(&mut self, outcome: Outcome, ns: u64) {
        if let Some((_, h)) = self.histograms.iter_mut().find(|(o, _)| *o == outcome) {
            h.saturating_record(ns.clamp(1_000, HIGHEST_NS));
        }
    }

    /// Adds another scenario part's histograms to these, outcome by outcome, exactly.
    pub fn add(&mut self, other: &Latency) {
        for (outcome, h) in &other.histograms {
            if let Some((_, mine)) = self.histograms.iter_mut().find(|(o, _)| o == outcome) {
                // Every histogram has the same bounds, so adding cannot fail.
                let _ = mine.add(h);
            }
        }
    }

    /// Each outcome's histogram that holds a value, in HdrHistogram's V2 serialisation
    /// (uncompressed: every count, in the format every HdrHistogram library reads).
    pub fn to_v2(&self) -> Vec<(Outcome, Vec<u8>)> {
        use hdrhistogram::serialization::Serializer;
        let mut serializer = hdrhistogram::serialization::V2Serializer::new();
        self.histograms
            .iter()
            .filter(|(_, h)| !h.is_empty())
            .filter_map(|(outcome, h)| {
                let mut bytes = Vec::new();
                serializer.serialize(h, &mut bytes).ok()?;
                Some((*outcome, bytes))
            })
            .collect()
    }

    /// Adds one outcome's histogram, given in the V2 serialisation ([`Latency::to_v2`]);
    /// an error when the bytes are not one, or hold values outside these bounds.
    pub fn add_v2(&mut self, outcome: Outcome, bytes: &[u8]) -> Result<(), String> {
        let h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| format!("not an HdrHistogram in the V2 serialisation: {e:?}"))?;
        let Some((_, mine)) = self.histograms.iter_mut().find(|(o, _)| *o == outcome) else {
            return Err(format!("{} writes have no latency", outcome.name()));
        };
        mine.add(&h)
            .map_err(|e| format!("a histogram outside the bounds of contend's: {e:?}"))
    }

    /// The histogram of one outcome (empty if nothing ended that way).
    pub fn histogram(&self, outcome: Outcome) -> Option<&Histogram<u64>> {
        self.histograms
            .iter()
            .find(|(o, _)| *o == outcome)
            .map(|(_, h)| h)
    }

    /// Every contended write's latency in one histogram, whatever its outcome.
    pub fn combined(&self) -> Option<Histogram<u64>> {
        let mut parts = self.histograms.iter().map(|(_, h)| h);
        let mut all = parts.next()?.clone();
        for h in parts {
            // Every histogram has the same bounds, so adding cannot fail.
            let _ = all.add(h);
        }
        Some(all)
    }

    /// Summary percentiles of one outcome.
    pub fn percentiles(&self, outcome: Outcome) -> Percentiles {
        self.histogram(outcome)
            .map(Percentiles::of)
            .unwrap_or_default()
    }

    /// The HdrHistogram percentile table of one outcome: (value ns, percentile, count
    /// at or below), five steps per halving of the distance to 100%.
    pub fn distribution(&self, outcome: Outcome) -> Vec<(u64, f64, u64)> {
        self.histogram(outcome)
            .map(percentile_table)
            .unwrap_or_default()
    }
}

/// A histogram's percentile table as HdrHistogram prints it: (value, percentile, count
/// at or below), five steps per halving of the distance to 100%; empty for no data.
pub fn percentile_table(h: &Histogram<u64>) -> Vec<(u64, f64, u64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut total = 0;
    h.iter_quantiles(5)
        .map(|v| {
            total += v.count_since_last_iteration();
            (
                h.highest_equivalent(v.value_iterated_to()),
                v.quantile_iterated_to() * 100.0,
                total,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(outcome: Outcome, latency_us: u64) -> RequestRecord {
        RequestRecord {
            scenario: "s".into(),
            workload: crate::scenario::WorkloadId::StaleWrite,
            phase: Phase::Write,
            round: 0,
            writer: Some(0),
            attempt: 1,
            method: "PUT".into(),
            url: String::new(),
            version_sent: None,
            marker: None,
            value: None,
            status: Some(200),
            outcome,
            start_ns: 0,
            end_ns: latency_us * 1000,
            latency_ns: latency_us * 1000,
            version_returned: None,
            body: String::new(),
            error: String::new(),
            arrival_ns: None,
            resource: None,
            scheduled_ns: None,
            cause: None,
            content_type: String::new(),
            state: None,
            strategy: None,
            promised: String::new(),
            conflict_missing: String::new(),
        }
    }

    #[test]
    fn histograms_added_from_their_v2_form_equal_those_of_the_records_together() {
        let first: Vec<RequestRecord> = (1..=500).map(|i| write(Outcome::Winner, i * 7)).collect();
        let second: Vec<RequestRecord> = (1..=300)
            .map(|i| write(Outcome::Conflict, i * 13))
            .chain((1..=200).map(|i| write(Outcome::Winner, 5_000 + i)))
            .collect();
        let mut merged = Latency::empty();
        for part in [&first, &second] {
            for (outcome, bytes) in Latency::from_records(part.iter()).to_v2() {
                merged.add_v2(outcome, &bytes).unwrap();
            }
        }
        let together = Latency::from_records(first.iter().chain(&second));
        for outcome in Outcome::TIMED {
            assert_eq!(merged.histogram(outcome), together.histogram(outcome));
            assert_eq!(merged.distribution(outcome), together.distribution(outcome));
        }
        assert!(merged.add_v2(Outcome::Winner, b"not a histogram").is_err());
    }

    #[test]
    fn percentiles_are_per_outcome_and_reads_are_left_out() {
        let mut records: Vec<RequestRecord> =
            (1..=100).map(|i| write(Outcome::Winner, i * 10)).collect();
        records.push(write(Outcome::Conflict, 5_000));
        let mut read = write(Outcome::Ok, 1);
        read.phase = Phase::Read;
        records.push(read);
        let latency = Latency::from_records(&records);
        let winner = latency.percentiles(Outcome::Winner);
        assert_eq!(winner.count, 100);
        assert!((495_000..=505_000).contains(&winner.p50), "{winner:?}");
        assert!((995_000..=1_001_000).contains(&winner.max), "{winner:?}");
        assert_eq!(latency.percentiles(Outcome::Conflict).count, 1);
        assert_eq!(
            latency.percentiles(Outcome::Indeterminate),
            Percentiles::default()
        );
        let table = latency.distribution(Outcome::Winner);
        assert_eq!(table.last().map(|row| row.2), Some(100));
        assert!(table.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
