//! The timeline of one round, as a standalone SVG: Jepsen's `timeline.html` for a race.
//! One lane per writer, each write a bar from its send (its release, in the last-byte
//! and single-packet modes) to its answer, coloured by outcome (winner, conflict,
//! unexpected, indeterminate, not sent); the read before the race and the read back
//! after it on lanes of their own; beside each lane the version the request carried
//! and the status and version it got back. A reader sees at a glance that two writes
//! carrying one version overlapped and both won.
//!
//! Where the server stamped arrivals (the built-in server, `--arrivals`), each write has
//! a tick where its last byte reached the server. Arrivals are on the server's clock,
//! so only their spacing is measured: the timeline places them as early as the sends
//! allow, so that none comes before its own request's send (on loopback, within tens of
//! microseconds of where they were).
//!
//! [`svg`] takes a round's records and returns the SVG text, with its own style, so the
//! same string is a file (`timelines/<scenario>-r<round>.svg`) and part of a page. A
//! round of more than [`MAX_LANES`] writers draws the winners and the other definite
//! outcomes first, and says how many it left out.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use super::chart::outcome_colour;
use crate::check::witness::RoundTrace;
use crate::history::{Outcome, Phase, RequestRecord};

/// The most writer lanes a timeline draws.
pub const MAX_LANES: usize = 48;

const WIDTH: f64 = 1000.0;
const LABELS: f64 = 190.0;
const ANSWERS: f64 = 190.0;
const LANE: f64 = 20.0;
const BAR: f64 = 12.0;
const TOP: f64 = 58.0;
const BOTTOM: f64 = 72.0;

/// One lane: a request, or a writer's write.
struct Lane<'a> {
    label: String,
    answer: String,
    record: &'a RequestRecord,
}

/// A round's timeline, titled with the scenario, the round, the version its writes
/// carried and what it broke.
pub fn round(scenario: &str, trace: &RoundTrace) -> String {
    let broke = trace
        .violations
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ");
    let version = trace
        .records
        .iter()
        .find(|r| r.phase == Phase::Write)
        .and_then(|r| r.version_sent.as_deref())
        .map(|v| format!(", version {v}"))
        .unwrap_or_default();
    svg(
        &format!("{scenario}, round {}{version}: {broke}", trace.round),
        &trace.records,
    )
}

/// The SVG timeline of one round: `title` on top (the round and what it broke), from
/// the round's records (warm-ups are left out).
pub fn svg(title: &str, records: &[RequestRecord]) -> String {
    let mut writes: Vec<&RequestRecord> =
        records.iter().filter(|r| r.phase == Phase::Write).collect();
    writes.sort_by_key(|w| (w.writer, w.start_ns));
    let total = writes.len();
    let left_out = total.saturating_sub(MAX_LANES);
    if left_out > 0 {
        // The winners and the other definite answers tell the story; conflicts fill up.
        let rank = |w: &RequestRecord| match w.outcome {
            Outcome::Winner => 0,
            Outcome::Unexpected | Outcome::Indeterminate => 1,
            Outcome::NotSent => 2,
            Outcome::Conflict | Outcome::Ok => 3,
        };
        writes.sort_by_key(|w| (rank(w), w.start_ns));
        writes.truncate(MAX_LANES);
        writes.sort_by_key(|w| (w.writer, w.start_ns));
    }
    let reads = |phases: &[Phase]| -> Vec<&RequestRecord> {
        records
            .iter()
            .filter(|r| phases.contains(&r.phase))
            .collect()
    };
    let mut lanes: Vec<Lane<'_>> = Vec::new();
    for r in reads(&[Phase::Setup]) {
        lanes.push(Lane {
            label: format!("set-up {}", r.method),
            answer: answer(r),
            record: r,
        });
    }
    for r in reads(&[Phase::Read]) {
        lanes.push(Lane {
            label: format!("read before {}", r.method),
            answer: answer(r),
            record: r,
        });
    }
    for w in &writes {
        let who = w.writer.map_or("?".to_string(), |n| format!("w{n}"));
        let carried = w
            .version_sent
            .as_deref()
            .or(w.state.as_deref())
            .map(|v| format!(" {}", short(v)))
            .unwrap_or_default();
        lanes.push(Lane {
            label: format!("{who} {}{carried}", w.method),
            answer: answer(w),
            record: w,
        });
    }
    for r in reads(&[Phase::Verify, Phase::Probe]) {
        let what = if r.phase == Phase::Probe {
            format!(
                "probe {} {}",
                r.method,
                r.version_sent.as_deref().map(short).unwrap_or_default()
            )
        } else {
            format!("read back {}", r.method)
        };
        lanes.push(Lane {
            label: what,
            answer: answer(r),
            record: r,
        });
    }

    let height = TOP + lanes.len().max(1) as f64 * LANE + BOTTOM;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}" role="img" aria-label="{t}"><style>{STYLE}</style><rect width="100%" height="100%" fill="#ffffff"/><text x="12" y="20" class="tl-title">{t}</text><text x="12" y="38" class="tl-sub">{sub}</text>"##,
        t = escape(title),
        sub = escape(subtitle(total, left_out, &writes)),
    );
    if lanes.is_empty() {
        out.push_str(
            r#"<text x="12" y="80" class="tl-sub">no requests in this round</text></svg>"#,
        );
        return out;
    }
    let t0 = lanes.iter().map(|l| l.record.start_ns).min().unwrap_or(0);
    let t1 = lanes
        .iter()
        .map(|l| l.record.end_ns.max(l.record.start_ns))
        .max()
        .unwrap_or(t0)
        .max(t0 + 1);
    let plot = WIDTH - LABELS - ANSWERS;
    let x = |ns: u64| LABELS + (ns.saturating_sub(t0)) as f64 / (t1 - t0) as f64 * plot;
    let bottom = TOP + lanes.len() as f64 * LANE;
    axis(&mut out, t1 - t0, bottom, &x, t0);
    let offset = arrival_offset(&writes);
    for (i, lane) in lanes.iter().enumerate() {
        let r = lane.record;
        let y = TOP + i as f64 * LANE;
        if i % 2 == 1 {
            let _ = write!(
                out,
                r##"<rect x="0" y="{y:.1}" width="{WIDTH}" height="{LANE}" fill="#f6f8fb"/>"##
            );
        }
        let mid = y + LANE / 2.0;
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" class="tl-lane" text-anchor="end">{}</text>"##,
            LABELS - 8.0,
            mid + 4.0,
            escape(&lane.label)
        );
        let (x0, x1) = (x(r.start_ns), x(r.end_ns.max(r.start_ns)));
        let w = (x1 - x0).max(2.0);
        let colour = outcome_colour(r.outcome);
        let fill = if r.outcome == Outcome::NotSent {
            r##"fill="none" stroke-dasharray="3 2""##.to_string()
        } else {
            format!(r##"fill="{colour}""##)
        };
        let _ = write!(
            out,
            r##"<rect x="{x0:.1}" y="{:.1}" width="{w:.1}" height="{BAR}" rx="2" {fill} stroke="{colour}"><title>{}</title></rect>"##,
            mid - BAR / 2.0,
            escape(tooltip(r, &lane.label, t0))
        );
        if let (Some(arrival), Some(offset)) = (r.arrival_ns, offset) {
            let at = x(arrival
                .saturating_add_signed(offset)
                .clamp(r.start_ns, r.end_ns.max(r.start_ns)));
            let _ = write!(
                out,
                r##"<path d="M{at:.1} {:.1} l-4 -6 h8 z" fill="#111827"/><line x1="{at:.1}" y1="{:.1}" x2="{at:.1}" y2="{:.1}" stroke="#111827" stroke-width="1.5"/>"##,
                mid - BAR / 2.0 - 1.0,
                mid - BAR / 2.0,
                mid + BAR / 2.0
            );
        }
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" class="tl-answer" fill="{}">{}</text>"##,
            WIDTH - ANSWERS + 8.0,
            mid + 4.0,
            if r.outcome == Outcome::Ok {
                "#394353"
            } else {
                colour
            },
            escape(&lane.answer)
        );
    }
    legend(&mut out, bottom + 50.0, offset.is_some());
    out.push_str("</svg>");
    out
}

/// The subtitle: how many writes and how they ended.
fn subtitle(total: usize, left_out: usize, drawn: &[&RequestRecord]) -> String {
    let mut counts: Vec<(Outcome, usize)> = Vec::new();
    for w in drawn {
        match counts.iter_mut().find(|(o, _)| *o == w.outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((w.outcome, 1)),
        }
    }
    counts.sort();
    let tally = counts
        .iter()
        .map(|(o, n)| {
            let name = o.name().replace('_', " ");
            // "2 winners", "1 conflict", "3 not sent": only the nouns take an s.
            let plural = *n != 1 && matches!(o, Outcome::Winner | Outcome::Conflict);
            format!("{n} {name}{}", if plural { "s" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(", ");
    let more = if left_out > 0 {
        format!("; {left_out} more writers not drawn (requests.csv has them all)")
    } else {
        String::new()
    };
    format!("{total} writes, each from its send to its answer: {tally}{more}")
}

/// `200 → "2"`: the status and what came back (version, state, count), or the error.
fn answer(r: &RequestRecord) -> String {
    let status = match (r.status, r.error.is_empty()) {
        (Some(s), _) => s.to_string(),
        (None, false) => short(&r.error),
        (None, true) => r.outcome.name().replace('_', " "),
    };
    let got = r
        .version_returned
        .as_deref()
        .map(short)
        .or_else(|| {
            (r.phase != Phase::Write)
                .then(|| r.state.as_deref().map(short))
                .flatten()
        })
        .or_else(|| r.value.map(|v| v.to_string()));
    let outcome = match r.outcome {
        Outcome::Ok => String::new(),
        o => format!(" {}", o.name().replace('_', " ")),
    };
    match got {
        Some(got) => format!("{status}{outcome} → {got}"),
        None => format!("{status}{outcome}"),
    }
}

/// A text cut to fit a label.
fn short(text: &str) -> String {
    const MOST: usize = 18;
    if text.chars().count() <= MOST {
        return text.to_string();
    }
    let cut: String = text.chars().take(MOST - 1).collect();
    format!("{cut}…")
}

/// What a bar's tooltip says: the request in full and its times.
fn tooltip(r: &RequestRecord, label: &str, t0: u64) -> String {
    let ms = |ns: u64| format!("{:.3} ms", ns as f64 / 1e6);
    let mut text = format!(
        "{label}: {} {}\nsent at {}, answered at {} ({})\n{}",
        r.method,
        r.url,
        ms(r.start_ns.saturating_sub(t0)),
        ms(r.end_ns.saturating_sub(t0)),
        ms(r.end_ns.saturating_sub(r.start_ns)),
        answer(r)
    );
    if let Some(v) = &r.version_sent {
        let _ = write!(text, "\ncarried {v}");
    }
    if !r.error.is_empty() {
        let _ = write!(text, "\n{}", r.error);
    }
    text
}

/// What to add to a write's arrival stamp (server clock) to place it on contend's: the
/// least that puts no arrival before its own send. `None` without stamps.
fn arrival_offset(writes: &[&RequestRecord]) -> Option<i64> {
    writes
        .iter()
        .filter_map(|w| {
            let arrival = i64::try_from(w.arrival_ns?).ok()?;
            let start = i64::try_from(w.start_ns).ok()?;
            Some(start - arrival)
        })
        .max()
}

/// The time axis: ticks at round steps from the round's first send.
fn axis(out: &mut String, span: u64, bottom: f64, x: &dyn Fn(u64) -> f64, t0: u64) {
    let step = tick_step(span);
    let mut t = 0;
    while t <= span {
        let at = x(t0 + t);
        let _ = write!(
            out,
            r##"<line x1="{at:.1}" y1="{TOP}" x2="{at:.1}" y2="{bottom:.1}" stroke="#e3e7ee"/><text x="{at:.1}" y="{:.1}" class="tl-tick" text-anchor="middle">{}</text>"##,
            bottom + 14.0,
            time_label(t, step)
        );
        t += step;
    }
    let _ = write!(
        out,
        r##"<line x1="{LABELS}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#b9c2cf"/><text x="{:.1}" y="{:.1}" class="tl-tick" text-anchor="end">since the round's first request</text>"##,
        WIDTH - ANSWERS,
        WIDTH - ANSWERS,
        bottom + 28.0
    );
}

/// A round step for about six ticks over `span` ns: 1, 2 or 5 times a power of ten.
fn tick_step(span: u64) -> u64 {
    let raw = (span / 6).max(1);
    let mut magnitude = 1u64;
    while magnitude.saturating_mul(10) <= raw {
        magnitude *= 10;
    }
    [1, 2, 5, 10]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10 * magnitude)
}

/// `0`, `250 µs`, `1.5 ms`: a tick's time, in the unit its step needs.
fn time_label(ns: u64, step: u64) -> String {
    if ns == 0 {
        return "0".into();
    }
    if step >= 1_000_000 {
        let ms = ns as f64 / 1e6;
        if step % 1_000_000 == 0 {
            format!("{ms:.0} ms")
        } else {
            format!("{ms:.1} ms")
        }
    } else if step >= 1_000 {
        format!("{:.0} µs", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

/// The outcome colours, and the arrival tick when there are arrivals.
fn legend(out: &mut String, y: f64, arrivals: bool) {
    let mut x = LABELS;
    for outcome in [
        Outcome::Winner,
        Outcome::Conflict,
        Outcome::Unexpected,
        Outcome::Indeterminate,
        Outcome::NotSent,
        Outcome::Ok,
    ] {
        let name = match outcome {
            Outcome::Ok => "read".to_string(),
            o => o.name().replace('_', " "),
        };
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{:.1}" width="14" height="10" rx="2" fill="{}"/><text x="{:.1}" y="{y:.1}" class="tl-tick">{name}</text>"##,
            y - 9.0,
            outcome_colour(outcome),
            x + 18.0
        );
        x += 28.0 + name.chars().count() as f64 * 6.2;
    }
    if arrivals {
        let _ = write!(
            out,
            r##"<path d="M{:.1} {:.1} l-4 -6 h8 z" fill="#111827"/><text x="{:.1}" y="{y:.1}" class="tl-tick">arrival of the last byte at the server</text>"##,
            x + 6.0,
            y - 2.0,
            x + 14.0
        );
    }
}

const STYLE: &str = "svg.timeline{max-width:100%;height:auto}.timeline text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}.timeline .tl-title{font-size:14px;font-weight:650;fill:#1c2430}.tl-sub{font-size:12px;fill:#6b7380}.tl-lane{font-size:11.5px;fill:#263041;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}.tl-answer{font-size:11.5px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}.tl-tick{font-size:10.5px;fill:#6b7380}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::WorkloadId;

    fn rec(
        phase: Phase,
        writer: Option<u32>,
        outcome: Outcome,
        start: u64,
        end: u64,
    ) -> RequestRecord {
        RequestRecord {
            scenario: "s".into(),
            workload: WorkloadId::StaleWrite,
            phase,
            round: 0,
            writer,
            attempt: 1,
            method: if phase == Phase::Write { "PUT" } else { "GET" }.into(),
            url: "http://127.0.0.1:1/notes/1".into(),
            version_sent: (phase == Phase::Write).then(|| "\"1\"".into()),
            marker: None,
            value: None,
            status: Some(if outcome == Outcome::Conflict {
                412
            } else {
                200
            }),
            outcome,
            start_ns: start,
            end_ns: end,
            latency_ns: end - start,
            version_returned: Some("\"2\"".into()),
            body: String::new(),
            error: String::new(),
            content_type: "".into(),
            state: None,
            strategy: None,
            promised: "".into(),
            conflict_missing: String::new(),
            arrival_ns: (phase == Phase::Write).then_some(5_000 + start),
            resource: None,
            scheduled_ns: None,
            cause: None,
        }
    }

    #[test]
    fn a_timeline_draws_a_lane_per_writer_coloured_by_outcome_with_both_reads() {
        let records = vec![
            rec(Phase::Read, None, Outcome::Ok, 0, 100_000),
            rec(Phase::Write, Some(0), Outcome::Winner, 200_000, 20_000_000),
            rec(Phase::Write, Some(1), Outcome::Winner, 210_000, 20_100_000),
            rec(Phase::Write, Some(2), Outcome::Conflict, 220_000, 400_000),
            rec(Phase::Verify, None, Outcome::Ok, 20_200_000, 20_300_000),
        ];
        let svg = svg("round 0: multiple_winners", &records);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains("xmlns=\"http://www.w3.org/2000/svg\""),
            "standalone"
        );
        assert_eq!(
            svg.matches("fill=\"#1f9d55\" stroke").count(),
            2,
            "two winner bars"
        );
        assert_eq!(
            svg.matches("fill=\"#2f6fd6\" stroke").count(),
            1,
            "one conflict bar"
        );
        for label in [
            "read before GET",
            "w0 PUT &quot;1&quot;",
            "read back GET",
            "200 winner → &quot;2&quot;",
            "3 writes, each from its send to its answer: 2 winners, 1 conflict",
        ] {
            assert!(svg.contains(label), "{label} in {svg}");
        }
        assert_eq!(
            svg.matches("l-4 -6 h8 z").count(),
            3 + 1,
            "an arrival tick per write, and the legend's"
        );
    }

    #[test]
    fn a_round_of_many_writers_draws_the_winners_and_says_how_many_it_left_out() {
        let mut records = Vec::new();
        for w in 0..100u32 {
            let outcome = if w == 77 || w == 99 {
                Outcome::Winner
            } else {
                Outcome::Conflict
            };
            records.push(rec(
                Phase::Write,
                Some(w),
                outcome,
                u64::from(w) * 10,
                1_000_000,
            ));
        }
        let svg = svg("round 3", &records);
        assert!(
            svg.contains("w77 PUT") && svg.contains("w99 PUT"),
            "the winners are drawn"
        );
        assert!(svg.contains("52 more writers not drawn"), "{svg}");
        assert_eq!(svg.matches("class=\"tl-lane\"").count(), MAX_LANES);
    }

    #[test]
    fn arrivals_are_placed_so_that_none_precedes_its_send() {
        let a = rec(Phase::Write, Some(0), Outcome::Winner, 1_000, 9_000);
        let mut b = rec(Phase::Write, Some(1), Outcome::Winner, 1_500, 9_000);
        b.arrival_ns = Some(a.arrival_ns.unwrap() + 100);
        let offset = arrival_offset(&[&a, &b]).unwrap();
        for w in [&a, &b] {
            assert!(w.arrival_ns.unwrap().saturating_add_signed(offset) >= w.start_ns);
        }
        assert_eq!(
            arrival_offset(&[&rec(Phase::Read, None, Outcome::Ok, 0, 1)]),
            None
        );
    }

    #[test]
    fn ticks_fall_on_round_steps() {
        assert_eq!(tick_step(20_000_000), 5_000_000);
        assert_eq!(tick_step(600), 100);
        assert_eq!(time_label(5_000_000, 5_000_000), "5 ms");
        assert_eq!(time_label(250_000, 50_000), "250 µs");
    }
}
