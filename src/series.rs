//! Throughput and latency over time: the view k6's dashboard and Gatling show first,
//! for workloads whose writers run free (counter, sustained).
//!
//! Requests are counted in the time slot in which they completed, from the first
//! request's start: requests per second (every request but the set-up and the final
//! reads), winners and conflicts per second (writes), and the writes' latency, p50 and
//! p99 per slot (an HdrHistogram of two significant digits each).
//!
//! It is built in one pass over records in any order and in bounded memory, whatever
//! the run's length: slots start 1 ms wide, and whenever the records span more than
//! [`TimeSeries::MOST_SLOTS`] of them, neighbours merge two by two (their width
//! doubles). A sustained run's records stream from its spool through
//! [`TimeSeries::record`] while they are checked, so its history is read once.

use std::collections::VecDeque;

use hdrhistogram::Histogram;

use crate::history::{Outcome, Phase, RequestRecord};

/// The narrowest slot, in nanoseconds.
const FIRST_SLOT_NS: u64 = 1_000_000;
const LOWEST_NS: u64 = 1_000;
const HIGHEST_NS: u64 = 3_600_000_000_000;

/// What completed in one slot.
#[derive(Debug, Clone)]
struct Slot {
    requests: u64,
    winners: u64,
    conflicts: u64,
    /// The writes' latency, in nanoseconds.
    latency: Option<Histogram<u32>>,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            requests: 0,
            winners: 0,
            conflicts: 0,
            latency: None,
        }
    }

    fn merge(&mut self, other: Slot) {
        self.requests += other.requests;
        self.winners += other.winners;
        self.conflicts += other.conflicts;
        match (&mut self.latency, other.latency) {
            (Some(mine), Some(theirs)) => {
                // Every histogram has the same bounds, so adding cannot fail.
                let _ = mine.add(theirs);
            }
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }
}

/// One slot of the series, as the reports draw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The slot's start, in seconds from the first request's start.
    pub at_s: f64,
    /// Requests (reads and writes) completed per second.
    pub requests_per_s: f64,
    /// Writes answered as winners per second.
    pub winners_per_s: f64,
    /// Writes answered with the promised conflict per second.
    pub conflicts_per_s: f64,
    /// The median write latency of the slot, in nanoseconds (`None` without a write).
    pub p50_ns: Option<u64>,
    /// The 99th percentile write latency of the slot, in nanoseconds.
    pub p99_ns: Option<u64>,
}

/// A scenario's throughput and write latency over time.
#[derive(Debug, Clone)]
pub struct TimeSeries {
    slot_ns: u64,
    /// Every slot from the first index (completion time / `slot_ns`) a record fell in,
    /// `base`, to the last: a record finds its slot by a subtraction, where a map's
    /// search cost more than the rest of the counting.
    slots: VecDeque<Slot>,
    base: u64,
    /// The earliest start of the requests counted: the series' time zero.
    first_ns: Option<u64>,
}

impl Default for TimeSeries {
    fn default() -> Self {
        TimeSeries::empty()
    }
}

impl TimeSeries {
    /// At most this many slots are kept (and drawn).
    pub const MOST_SLOTS: usize = 60;

    /// A series with nothing in it yet.
    pub fn empty() -> TimeSeries {
        TimeSeries {
            slot_ns: FIRST_SLOT_NS,
            slots: VecDeque::new(),
            base: 0,
            first_ns: None,
        }
    }

    /// The series of these records.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a RequestRecord>) -> TimeSeries {
        let mut series = TimeSeries::empty();
        for r in records {
            series.record(r);
        }
        series
    }

    /// Counts one record: set-up and final reads are not traffic and are left out.
    pub fn record(&mut self, r: &RequestRecord) {
        if matches!(r.phase, Phase::Setup | Phase::Final) {
            return;
        }
        self.first_ns = Some(self.first_ns.map_or(r.start_ns, |f| f.min(r.start_ns)));
        let at = self.slot_of(r.end_ns);
        let slot = &mut self.slots[at];
        slot.requests += 1;
        if r.phase == Phase::Write {
            match r.outcome {
                Outcome::Winner => slot.winners += 1,
                Outcome::Conflict => slot.conflicts += 1,
                _ => {}
            }
            if r.outcome != Outcome::NotSent {
                if slot.latency.is_none() {
                    slot.latency = Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, 2).ok();
                }
                if let Some(h) = &mut slot.latency {
                    h.saturating_record(r.latency_ns.clamp(LOWEST_NS, HIGHEST_NS));
                }
            }
        }
    }

    /// Where in `slots` a request that completed at `end_ns` is counted: the slots are
    /// widened first until they span it within [`Self::MOST_SLOTS`], then grown to it.
    fn slot_of(&mut self, end_ns: u64) -> usize {
        loop {
            let index = end_ns / self.slot_ns;
            if self.slots.is_empty() {
                self.base = index;
                self.slots.push_back(Slot::new());
                return 0;
            }
            let last = self.base + self.slots.len() as u64 - 1;
            let (lo, hi) = (index.min(self.base), index.max(last));
            if hi - lo >= Self::MOST_SLOTS as u64 {
                self.widen();
                continue;
            }
            for _ in index..self.base {
                self.slots.push_front(Slot::new());
            }
            self.base = lo;
            let at = (index - self.base) as usize;
            if at >= self.slots.len() {
                self.slots.resize_with(at + 1, Slot::new);
            }
            return at;
        }
    }

    /// Doubles the slots' width: neighbours merge two by two.
    fn widen(&mut self) {
        self.slot_ns *= 2;
        let old = std::mem::take(&mut self.slots);
        let base = self.base;
        self.base = base / 2;
        for (i, slot) in old.into_iter().enumerate() {
            let at = ((base + i as u64) / 2 - self.base) as usize;
            if at == self.slots.len() {
                self.slots.push_back(slot);
            } else {
                self.slots[at].merge(slot);
            }
        }
    }

    /// How wide each slot is, in seconds.
    pub fn slot_seconds(&self) -> f64 {
        self.slot_ns as f64 / 1e9
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every slot from the first to the last, empty ones included (a stall shows as a
    /// gap in throughput). Rates are over the whole slot, as k6 and Gatling count them,
    /// so the first and last slots, which the run covers only in part, read lower.
    pub fn points(&self) -> Vec<Point> {
        let Some(first_ns) = self.first_ns else {
            return Vec::new();
        };
        (self.base..)
            .zip(&self.slots)
            .map(|(index, slot)| {
                let start = index * self.slot_ns;
                let seconds = self.slot_seconds();
                let quantile = |q: f64| {
                    slot.latency
                        .as_ref()
                        .filter(|h| !h.is_empty())
                        .map(|h| h.value_at_quantile(q))
                };
                Point {
                    at_s: start.saturating_sub(first_ns) as f64 / 1e9,
                    requests_per_s: slot.requests as f64 / seconds,
                    winners_per_s: slot.winners as f64 / seconds,
                    conflicts_per_s: slot.conflicts as f64 / seconds,
                    p50_ns: quantile(0.5),
                    p99_ns: quantile(0.99),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(phase: Phase, outcome: Outcome, start_ms: u64, latency_ms: u64) -> RequestRecord {
        RequestRecord {
            scenario: "s".into(),
            workload: crate::scenario::WorkloadId::Sustained,
            phase,
            round: 0,
            writer: Some(0),
            attempt: 1,
            method: "PUT".into(),
            url: "".into(),
            version_sent: None,
            marker: None,
            value: None,
            status: Some(200),
            outcome,
            start_ns: start_ms * 1_000_000,
            end_ns: (start_ms + latency_ms) * 1_000_000,
            latency_ns: latency_ms * 1_000_000,
            version_returned: None,
            body: String::new(),
            error: String::new(),
            arrival_ns: None,
            resource: Some(0),
            scheduled_ns: None,
            cause: None,
            content_type: "".into(),
            state: None,
            strategy: None,
            promised: "".into(),
            conflict_missing: String::new(),
        }
    }

    #[test]
    fn a_ten_second_run_fits_in_at_most_60_slots_and_counts_every_request() {
        let mut records = Vec::new();
        // One read and one write every 10 ms for 10 s; the writes alternate winner and
        // conflict, 2 ms each; a set-up read at 0 is left out.
        records.push(record(Phase::Setup, Outcome::Ok, 0, 1));
        for i in 0..1000 {
            records.push(record(Phase::Read, Outcome::Ok, i * 10, 1));
            let outcome = if i % 2 == 0 {
                Outcome::Winner
            } else {
                Outcome::Conflict
            };
            records.push(record(Phase::Write, outcome, i * 10 + 1, 2));
        }
        // Reversed, to show the order does not matter.
        records.reverse();
        let series = TimeSeries::from_records(&records);
        let points = series.points();
        assert!(points.len() <= TimeSeries::MOST_SLOTS, "{}", points.len());
        assert!(
            points.len() >= TimeSeries::MOST_SLOTS / 2,
            "{}",
            points.len()
        );
        let seconds = series.slot_seconds();
        let requests: f64 = points.iter().map(|p| p.requests_per_s * seconds).sum();
        assert!(
            (requests - 2000.0).abs() < 60.0,
            "every read and write: {requests}"
        );
        let middle = points[points.len() / 2];
        // A slot holds a whole number of the 10 ms steps, give or take one.
        assert!((middle.requests_per_s - 200.0).abs() < 10.0, "{middle:?}");
        assert!((middle.winners_per_s - 50.0).abs() < 3.0, "{middle:?}");
        assert!((middle.conflicts_per_s - 50.0).abs() < 3.0, "{middle:?}");
        let p50 = middle.p50_ns.expect("writes in the slot");
        assert!((1_990_000..=2_010_000).contains(&p50), "{p50}");
    }

    #[test]
    fn records_in_any_order_or_years_apart_give_one_series_in_at_most_60_slots() {
        let run: Vec<RequestRecord> = (0..1000)
            .map(|i| {
                record(
                    Phase::Write,
                    Outcome::Winner,
                    (i * 7919) % 10_000,
                    1 + i % 5,
                )
            })
            .collect();
        let mut sorted = run.clone();
        sorted.sort_by_key(|r| r.end_ns);
        let mut reversed = sorted.clone();
        reversed.reverse();
        let points = TimeSeries::from_records(&sorted).points();
        assert_eq!(TimeSeries::from_records(&run).points(), points);
        assert_eq!(TimeSeries::from_records(&reversed).points(), points);
        // Thirty years between two requests: the slots widen to span them, rather than
        // grow to hold every millisecond in between.
        let apart = [
            record(Phase::Write, Outcome::Winner, 1_000_000_000_000, 1),
            record(Phase::Write, Outcome::Conflict, 0, 1),
        ];
        let series = TimeSeries::from_records(&apart);
        let points = series.points();
        assert!(points.len() <= TimeSeries::MOST_SLOTS, "{}", points.len());
        let seconds = series.slot_seconds();
        let winners: f64 = points.iter().map(|p| p.winners_per_s * seconds).sum();
        let conflicts: f64 = points.iter().map(|p| p.conflicts_per_s * seconds).sum();
        assert_eq!((winners.round(), conflicts.round()), (1.0, 1.0));
    }

    #[test]
    fn a_stall_is_a_slot_with_no_throughput() {
        let mut records: Vec<RequestRecord> = (0..50)
            .map(|i| record(Phase::Write, Outcome::Winner, i * 10, 1))
            .collect();
        records.extend((0..50).map(|i| record(Phase::Write, Outcome::Winner, 1000 + i * 10, 1)));
        let points = TimeSeries::from_records(&records).points();
        let stalled = points
            .iter()
            .filter(|p| p.at_s > 0.6 && p.at_s < 0.9)
            .collect::<Vec<_>>();
        assert!(!stalled.is_empty());
        assert!(stalled
            .iter()
            .all(|p| p.requests_per_s == 0.0 && p.p50_ns.is_none()));
    }

    #[test]
    fn no_traffic_is_an_empty_series() {
        let series = TimeSeries::from_records(&[record(Phase::Setup, Outcome::Ok, 0, 1)]);
        assert!(series.is_empty());
        assert!(series.points().is_empty());
    }
}
