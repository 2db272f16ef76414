//! The witness lines of the terminal summary: a violation's minimal witness before its
//! evidence (what it shows, its exchanges, its files), and the line under the reports
//! that says where the witnesses and timelines are and how to fire them again. Like
//! every other line of prose in the summary, they wrap at the layout's width.

use std::path::Path;

use super::layout::Out;
use crate::check::witness::Role;
use crate::check::Witness;
use crate::history::Phase;
use crate::report::{witness as files, ScenarioResult};

/// A violation's minimal witness: what it shows, its exchanges in order, and its files
/// (in the report folder, when there is one).
pub(super) fn witness_lines(out: &mut Out, r: &ScenarioResult, w: &Witness, dir: Option<&Path>) {
    let at = w.round.map_or(String::new(), |n| format!(", round {n}"));
    out.para(4, 6, &format!("witness{at}: {}", w.shows));
    let steps: Vec<String> = w.steps.iter().map(step).collect();
    out.para(6, 8, &steps.join("; "));
    if let Some(dir) = dir {
        let scenario = &r.verdict.scenario;
        let timeline = w
            .round
            .filter(|n| r.witness.rounds.iter().any(|t| t.round == *n))
            .map(|n| {
                format!(
                    ", timeline {}",
                    dir.join(files::timeline_file(scenario, n)).display()
                )
            })
            .unwrap_or_default();
        out.para(
            6,
            8,
            &format!(
                "{} (curl: {}){timeline}",
                dir.join(files::witness_file(scenario, w)).display(),
                dir.join(files::curl_file(scenario, w)).display(),
            ),
        );
    }
}

/// "w0 PUT "1" → 200 "2"", "read back GET → 200 "2" (value 3)": one exchange of a
/// witness, who sent it, the version it carried, the answer and what came back.
fn step(s: &crate::check::witness::Step) -> String {
    let rec = &s.record;
    let who = match (s.role, rec.writer) {
        (Role::Write, Some(n)) => format!("w{n}"),
        (role, _) => role.name().replace('_', " "),
    };
    let sent = rec
        .version_sent
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let status = rec
        .status
        .map_or_else(|| rec.outcome.name().to_string(), |s| s.to_string());
    let got = rec
        .version_returned
        .clone()
        .or_else(|| rec.state.clone().filter(|_| rec.phase != Phase::Write))
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    // A counter's or a stock's count, beside the version it came with.
    let count = rec
        .value
        .filter(|_| rec.phase != Phase::Write)
        .map(|v| format!(" (value {v})"))
        .unwrap_or_default();
    format!("{who} {}{sent} → {status}{got}{count}", rec.method)
}

/// Where the witnesses and the timelines are, and the command that fires them again
/// (only when the run left a replay file: a history checked again was not run from
/// here). Nothing when no scenario has a witness.
pub(super) fn files_line(out: &mut Out, results: &[ScenarioResult], dir: &Path) {
    if results.iter().all(|r| r.witness.witnesses.is_empty()) {
        return;
    }
    let replay = if dir.join(files::REPLAY_FILE).is_file() {
        format!("; fire them again with: contend replay {}", dir.display())
    } else {
        String::new()
    };
    out.para(
        0,
        4,
        &format!(
            "Witnesses: {}/{}/ (JSON and curl), timelines: {}/{}/{replay}",
            dir.display(),
            files::WITNESS_DIR,
            dir.display(),
            files::TIMELINE_DIR,
        ),
    );
}
