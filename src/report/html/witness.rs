//! What `report.html` shows of the witnesses and timelines ([`crate::check::witness`],
//! [`super::super::timeline`]): a violation's minimal witness as a table of its
//! exchanges with its files (`witness.html`, shown first in the violation), and the
//! first violating rounds' timelines with links to their SVG files (the slot of
//! `scenario.html`). Every text is escaped by the template; only the timelines' SVG,
//! drawn (and escaped) by `report::timeline`, goes in as it is.

use crate::check::witness::Role;
use crate::check::Witness;
use crate::report::{chart, timeline, witness as files, ScenarioResult};

/// One exchange of a witness, as its table row shows it.
pub(super) struct WitnessRow {
    pub(super) who: String,
    /// `PUT /notes/1`: the method and the URL's path (the whole URL when it has no
    /// origin).
    pub(super) request: String,
    pub(super) carried: String,
    pub(super) colour: &'static str,
    pub(super) answer: String,
    pub(super) got: String,
    pub(super) sent: String,
    pub(super) answered: String,
}

/// A violation's minimal witness (`witness.html`).
pub(super) struct WitnessView {
    /// ", round 3", or nothing.
    pub(super) at: String,
    pub(super) shows: String,
    pub(super) rows: Vec<WitnessRow>,
    /// The witness file and its curl form, relative to the report folder.
    pub(super) json: String,
    pub(super) sh: String,
}

impl WitnessView {
    pub(super) fn of(r: &ScenarioResult, w: &Witness) -> WitnessView {
        let scenario = &r.verdict.scenario;
        let t0 = w.steps.iter().map(|s| s.record.start_ns).min().unwrap_or(0);
        let ms = |ns: u64| format!("{:.2} ms", ns.saturating_sub(t0) as f64 / 1e6);
        let rows = w
            .steps
            .iter()
            .map(|step| {
                let rec = &step.record;
                let who = match (step.role, rec.writer) {
                    (Role::Write, Some(n)) => format!("w{n}"),
                    (role, _) => role.name().replace('_', " "),
                };
                let path = url::Url::parse(&rec.url)
                    .ok()
                    .filter(|u| u.has_host())
                    .map_or_else(
                        || rec.url.to_string(),
                        |u| {
                            let query = u.query().map(|q| format!("?{q}")).unwrap_or_default();
                            format!("{}{query}", u.path())
                        },
                    );
                let answer = match rec.status {
                    Some(s) => format!("{s} {}", rec.outcome.name()),
                    None => format!("{} ({})", rec.outcome.name(), rec.error),
                };
                WitnessRow {
                    who,
                    request: format!("{} {path}", rec.method),
                    carried: rec.version_sent.as_deref().unwrap_or_default().to_string(),
                    colour: chart::outcome_colour(rec.outcome),
                    answer,
                    got: rec
                        .version_returned
                        .as_deref()
                        .or(rec.state.as_deref())
                        .map(str::to_string)
                        .or_else(|| rec.value.map(|v| v.to_string()))
                        .unwrap_or_default(),
                    sent: ms(rec.start_ns),
                    answered: ms(rec.end_ns),
                }
            })
            .collect();
        WitnessView {
            at: w.round.map_or(String::new(), |n| format!(", round {n}")),
            shows: w.shows.clone(),
            rows,
            json: files::witness_file(scenario, w),
            sh: files::curl_file(scenario, w),
        }
    }
}

/// One violating round's timeline: the SVG and the file it is also written to.
pub(super) struct TimelineView {
    pub(super) round: u32,
    /// A complete `<svg>` element, its texts escaped where it was drawn.
    pub(super) svg: String,
    pub(super) file: String,
}

/// The timelines of a scenario's first violating rounds (the first shown, the others
/// folded), and how many violating rounds were not drawn.
pub(super) struct TimelinesView {
    pub(super) first: Vec<TimelineView>,
    pub(super) folded: Vec<TimelineView>,
    /// "3, 4": the folded rounds.
    pub(super) folded_rounds: String,
    pub(super) not_drawn: usize,
}

impl TimelinesView {
    /// `None` when no round broke the contract (or none was kept to draw).
    pub(super) fn of(r: &ScenarioResult) -> Option<TimelinesView> {
        let set = &r.witness;
        if set.rounds.is_empty() {
            return None;
        }
        let scenario = &r.verdict.scenario;
        let mut all: Vec<TimelineView> = set
            .rounds
            .iter()
            .map(|trace| TimelineView {
                round: trace.round,
                svg: timeline::round(scenario, trace),
                file: files::timeline_file(scenario, trace.round),
            })
            .collect();
        let folded = all.split_off(1);
        Some(TimelinesView {
            folded_rounds: folded
                .iter()
                .map(|t| t.round.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            first: all,
            folded,
            not_drawn: set.violating_rounds.saturating_sub(set.rounds.len()),
        })
    }
}
