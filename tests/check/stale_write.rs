//! The stale-write checker: one winner per version, its write visible, the losers'
//! writes not, and the version advanced; plus each round's release, response and
//! arrival spreads.

use contend::check::{check_all, ViolationKind};
use contend::history::{Outcome, Phase, RequestRecord};

use crate::common::records::record;
use crate::{kinds, TIMEOUT};

/// A stale-write record: a `PUT` (a `GET` for reads) of `/notes/1`, released at 0, with
/// no marker and no content type.
pub fn rec(
    phase: Phase,
    round: u32,
    writer: Option<u32>,
    outcome: Outcome,
    status: Option<u16>,
) -> RequestRecord {
    let mut r = record("stale-write", phase, round, writer);
    r.method = if phase == Phase::Write || phase == Phase::Probe {
        "PUT"
    } else {
        "GET"
    }
    .into();
    r.url = "http://127.0.0.1:9/notes/1".into();
    r.marker = None;
    r.status = status;
    r.outcome = outcome;
    r.start_ns = 0;
    r.content_type = String::new().into();
    r
}

fn marker(round: u32, writer: u32) -> String {
    format!("m-r{round:04}-w{writer:04}")
}

/// A stale-write round on version `"v"`: one write per given outcome, then a read-back
/// that returns `final_version` and carries the markers of `applied` writers.
fn round(
    round: u32,
    outcomes: &[(Outcome, Option<u16>)],
    final_version: &str,
    applied: &[u32],
) -> Vec<RequestRecord> {
    let mut out = Vec::new();
    for (w, (outcome, status)) in outcomes.iter().enumerate() {
        let mut r = rec(Phase::Write, round, Some(w as u32), *outcome, *status);
        r.version_sent = Some(format!("\"{round}\"").into());
        r.marker = Some(marker(round, w as u32));
        r.start_ns = w as u64 * 1_000;
        if *outcome == Outcome::Indeterminate {
            r.error = "timed out".into();
        }
        out.push(r);
    }
    let mut verify = rec(Phase::Verify, round, None, Outcome::Ok, Some(200));
    verify.version_returned = Some(final_version.to_string().into());
    let texts: Vec<String> = applied.iter().map(|w| marker(round, *w)).collect();
    verify.body = format!("{{\"text\":\"{}\"}}", texts.join(","));
    out.push(verify);
    out
}

pub const WIN: (Outcome, Option<u16>) = (Outcome::Winner, Some(200));
const LOSE: (Outcome, Option<u16>) = (Outcome::Conflict, Some(412));
const ERR500: (Outcome, Option<u16>) = (Outcome::Unexpected, Some(500));

#[test]
fn one_winner_whose_write_is_visible_passes() {
    let history = round(0, &[WIN, LOSE, LOSE, LOSE], "\"1\"", &[0]);
    let verdict = &check_all(&history)[0];
    assert!(verdict.passed(), "{:?}", verdict.violations);
    assert_eq!(verdict.rounds[0].winning_writers, vec![0]);
    assert_eq!(verdict.rounds[0].applied, "w0");
    assert_eq!(verdict.rounds[0].send_spread_ns, 3_000);
    assert_eq!(verdict.counts.conflicts, 3);
}

#[test]
fn two_winners_on_one_version_are_multiple_winners_and_one_lost_update() {
    let history = round(4, &[WIN, LOSE, WIN, LOSE], "\"5\"", &[2]);
    let verdict = &check_all(&history)[0];
    assert_eq!(kinds(&history), vec![ViolationKind::MultipleWinners]);
    assert_eq!(verdict.lost_updates, 1);
    let v = &verdict.violations[0];
    assert_eq!(v.round, Some(4));
    assert_eq!(v.version.as_deref(), Some("\"4\""));
    assert!(v.evidence.contains("w0 200, w2 200"), "{}", v.evidence);
}

#[test]
fn all_rejected_on_a_current_version_is_no_winner() {
    let history = round(0, &[LOSE, LOSE, LOSE], "\"0\"", &[]);
    assert_eq!(kinds(&history), vec![ViolationKind::NoWinner]);
}

#[test]
fn all_rejected_but_one_indeterminate_is_not_a_violation() {
    // The timed-out write may have won: never count an indeterminate write as lost.
    let history = round(0, &[LOSE, TIMEOUT, LOSE], "\"1\"", &[1]);
    let verdict = &check_all(&history)[0];
    assert!(verdict.passed(), "{:?}", verdict.violations);
    assert_eq!(verdict.counts.indeterminate, 1);
    assert_eq!(verdict.lost_updates, 0);
}

#[test]
fn a_500_under_contention_is_unexpected_status_with_a_sample_body() {
    let mut history = round(0, &[WIN, ERR500, LOSE], "\"1\"", &[0]);
    history[1].body = "upstream database error".into();
    let verdict = &check_all(&history)[0];
    assert_eq!(kinds(&history), vec![ViolationKind::UnexpectedStatus]);
    assert!(verdict.violations[0].evidence.contains("w1 500"));
    assert!(verdict.violations[0]
        .evidence
        .contains("upstream database error"));
}

#[test]
fn a_rejected_write_in_the_final_state_is_loser_write_applied() {
    let history = round(0, &[WIN, LOSE, LOSE], "\"1\"", &[2]);
    assert_eq!(kinds(&history), vec![ViolationKind::LoserWriteApplied]);
}

#[test]
fn an_acknowledged_write_missing_from_the_final_state_is_winner_not_visible() {
    let history = round(0, &[WIN, LOSE, LOSE], "\"1\"", &[]);
    assert_eq!(kinds(&history), vec![ViolationKind::WinnerNotVisible]);
}

#[test]
fn an_indeterminate_write_in_the_final_state_is_not_a_violation() {
    let history = round(0, &[TIMEOUT, LOSE, LOSE], "\"1\"", &[0]);
    assert!(check_all(&history)[0].passed());
}

#[test]
fn an_accepted_probe_on_an_unchanged_token_is_version_not_advanced() {
    let mut history = round(0, &[WIN, LOSE], "\"0\"", &[0]);
    let mut probe = rec(Phase::Probe, 0, None, Outcome::Winner, Some(200));
    probe.version_sent = Some("\"0\"".into());
    history.push(probe.clone());
    assert_eq!(kinds(&history), vec![ViolationKind::VersionNotAdvanced]);

    // The same unchanged token, but the probe was rejected: the version did advance.
    let last = history.len() - 1;
    history[last].outcome = Outcome::Conflict;
    history[last].status = Some(412);
    assert!(check_all(&history)[0].passed());
}

#[test]
fn violations_are_counted_per_round() {
    let mut history = round(0, &[WIN, WIN], "\"1\"", &[1]);
    history.extend(round(1, &[WIN, LOSE], "\"2\"", &[0]));
    history.extend(round(2, &[WIN, WIN, WIN], "\"3\"", &[0]));
    let verdict = &check_all(&history)[0];
    assert_eq!(verdict.count(ViolationKind::MultipleWinners), 2);
    assert_eq!(verdict.lost_updates, 3);
    assert_eq!(verdict.rounds.len(), 3);
    assert!(verdict.rounds[1].violations.is_empty());
}

#[test]
fn a_round_reports_release_response_and_arrival_spreads_from_its_writes() {
    let mut records = round(0, &[WIN, LOSE, LOSE, TIMEOUT], "\"1\"", &[0]);
    // Releases at 0, 1, 2 and 3 µs; answers at 50, 80 and 20 µs, the timeout never.
    for (w, end_us) in [(0, 50), (1, 80), (2, 20), (3, 900)] {
        records[w].end_ns = end_us * 1_000;
    }
    // The server's clock: arrivals at 5_000, 5_004, 5_010 µs, the timed-out write none.
    for (w, arrival_us) in [(0, 5_000), (1, 5_004), (2, 5_010)] {
        records[w].arrival_ns = Some(arrival_us * 1_000);
    }
    let verdicts = check_all(&records);
    let r = &verdicts[0].rounds[0];
    assert_eq!(r.send_spread_ns, 3_000, "first to last release");
    assert_eq!(r.response_spread_ns, 60_000, "answered writes only");
    assert_eq!(r.arrival_spread_ns, Some(10_000));
    assert_eq!(r.arrival_p50_ns, Some(4_000), "offsets 0, 4, 10 µs");
    assert_eq!(r.arrival_p99_ns, Some(10_000));
}

#[test]
fn a_round_without_server_stamps_has_no_arrival_spread() {
    let verdicts = check_all(&round(0, &[WIN, LOSE], "\"1\"", &[0]));
    let r = &verdicts[0].rounds[0];
    assert_eq!(
        (r.arrival_p50_ns, r.arrival_p99_ns, r.arrival_spread_ns),
        (None, None, None)
    );
}
/// etcd's gateway sends stored values base64-encoded: a write that sent
/// `{marker|base64}` comes back as base64 of the marker inside a JSON string.
fn etcd_read_back(history: &mut [RequestRecord], round: u32, writer: u32) {
    use contend::scenario::Filter;
    let verify = history
        .iter_mut()
        .find(|r| r.phase == Phase::Verify)
        .expect("a verify record");
    verify.body = format!(
        r#"{{"kvs":[{{"key":"{}","mod_revision":"8","value":"{}"}}]}}"#,
        Filter::Base64.encode("/contend/stale-write"),
        Filter::Base64.encode(&marker(round, writer))
    );
}

#[test]
fn a_winner_whose_write_comes_back_base64_encoded_is_visible() {
    let mut history = round(3, &[LOSE, WIN, LOSE], "\"4\"", &[]);
    etcd_read_back(&mut history, 3, 1);
    let verdict = &check_all(&history)[0];
    assert!(verdict.passed(), "{:?}", verdict.violations);
    assert_eq!(verdict.rounds[0].applied, "w1");
}

#[test]
fn a_rejected_write_that_comes_back_base64_encoded_is_loser_write_applied() {
    let mut history = round(3, &[LOSE, WIN, LOSE], "\"4\"", &[]);
    etcd_read_back(&mut history, 3, 2);
    assert_eq!(kinds(&history), vec![ViolationKind::LoserWriteApplied]);
}
