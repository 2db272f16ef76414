//! The checkers of the newer workloads as a specification: hand-built histories in,
//! named verdicts and warnings out.

use contend::check::{check_all, Verdict, ViolationKind, WarningKind};
use contend::history::{Outcome, Phase, RequestRecord};

fn rec(workload: &str, phase: Phase, round: u32, writer: Option<u32>) -> RequestRecord {
    RequestRecord {
        scenario: "s".into(),
        workload: workload.parse().expect("a workload name"),
        phase,
        round,
        writer,
        attempt: 1,
        method: "POST".into(),
        url: "http://127.0.0.1:9/x".into(),
        version_sent: None,
        marker: writer.map(|w| format!("m-r{round:04}-w{w:04}")),
        value: None,
        status: Some(200),
        outcome: Outcome::Ok,
        start_ns: u64::from(writer.unwrap_or(0)) * 1_000,
        end_ns: 1_000_000,
        latency_ns: 1_000_000,
        version_returned: None,
        body: String::new(),
        error: String::new(),
        content_type: "application/json".into(),
        state: None,
        strategy: None,
        promised: String::new(),
        conflict_missing: String::new(),
        arrival_ns: None,
        resource: None,
        scheduled_ns: None,
        cause: None,
    }
}

/// A write answered `status`, classified as `outcome`, with `promised` conflict statuses.
fn write(
    workload: &str,
    round: u32,
    writer: u32,
    outcome: Outcome,
    status: Option<u16>,
    promised: &str,
) -> RequestRecord {
    let mut r = rec(workload, Phase::Write, round, Some(writer));
    r.outcome = outcome;
    r.status = status;
    r.promised = promised.into();
    if status.is_none() {
        r.error = "timed out".into();
    }
    r
}

fn verdict(records: &[RequestRecord]) -> Verdict {
    let verdicts = check_all(records);
    assert_eq!(verdicts.len(), 1);
    verdicts.into_iter().next().expect("one verdict")
}

fn kinds(v: &Verdict) -> Vec<ViolationKind> {
    v.violations.iter().map(|x| x.kind).collect()
}

const WIN: (Outcome, Option<u16>) = (Outcome::Winner, Some(201));
const LOSE: (Outcome, Option<u16>) = (Outcome::Conflict, Some(409));
const TIMEOUT: (Outcome, Option<u16>) = (Outcome::Indeterminate, None);

// ---- unique-create ------------------------------------------------------------------

/// A unique-create round: writes, then a read that found `found` (None: a 2xx without a
/// count) carrying the markers of `shown` writers.
fn create_round(
    outcomes: &[(Outcome, Option<u16>)],
    found: Option<i64>,
    shown: &[u32],
) -> Vec<RequestRecord> {
    let mut out: Vec<RequestRecord> = outcomes
        .iter()
        .enumerate()
        .map(|(w, (o, s))| write("unique-create", 0, w as u32, *o, *s, "409"))
        .collect();
    let mut verify = rec("unique-create", Phase::Verify, 0, None);
    verify.value = found;
    verify.body = shown
        .iter()
        .map(|w| format!("m-r0000-w{w:04}"))
        .collect::<Vec<_>>()
        .join(",");
    out.push(verify);
    out
}

#[test]
fn one_create_and_one_resource_with_the_key_passes() {
    let v = verdict(&create_round(&[WIN, LOSE, LOSE], Some(1), &[0]));
    assert!(v.passed(), "{:?}", v.violations);
    assert_eq!(v.rounds[0].applied, "w0");
}

#[test]
fn two_creates_with_one_key_are_a_duplicate_create() {
    let v = verdict(&create_round(&[WIN, WIN, LOSE], Some(2), &[0, 1]));
    assert_eq!(kinds(&v), [ViolationKind::DuplicateCreate]);
    assert_eq!(
        v.violations[0].evidence,
        "2 creates with the same key succeeded (w0 201, w1 201) and the read found 2 resources with the key; the key must be unique"
    );
    assert_eq!(v.rounds[0].violations, [ViolationKind::DuplicateCreate]);
}

#[test]
fn one_acknowledged_create_but_two_resources_is_a_duplicate_create_too() {
    // One writer was told 409, but its create was stored as well.
    let v = verdict(&create_round(&[WIN, LOSE, LOSE], Some(2), &[0]));
    assert_eq!(kinds(&v), [ViolationKind::DuplicateCreate]);
}

#[test]
fn an_acknowledged_create_the_read_cannot_find_is_winner_not_visible() {
    let v = verdict(&create_round(&[WIN, LOSE], Some(0), &[]));
    assert_eq!(kinds(&v), [ViolationKind::WinnerNotVisible]);
}

#[test]
fn every_create_refused_for_a_free_key_is_no_winner_unless_one_timed_out() {
    let v = verdict(&create_round(&[LOSE, LOSE], Some(0), &[]));
    assert_eq!(kinds(&v), [ViolationKind::NoWinner]);
    let v = verdict(&create_round(&[LOSE, TIMEOUT], Some(1), &[1]));
    assert!(
        v.passed(),
        "a timed-out create may have made it: {:?}",
        v.violations
    );
}

#[test]
fn a_refused_create_whose_write_is_stored_is_loser_write_applied() {
    // Without `count`: the read says the key exists and shows the refused writer's body.
    let v = verdict(&create_round(&[LOSE, LOSE], None, &[1]));
    assert_eq!(kinds(&v), [ViolationKind::LoserWriteApplied]);
    let v = verdict(&create_round(&[WIN, LOSE], None, &[1]));
    assert_eq!(kinds(&v), [ViolationKind::LoserWriteApplied]);
}

// ---- transition ---------------------------------------------------------------------

/// A transition round from `pending`: writer w asks for `targets[w]`, the read after it
/// finds `end`.
fn transition_round(
    outcomes: &[(Outcome, Option<u16>)],
    targets: &[&str],
    end: &str,
) -> Vec<RequestRecord> {
    let mut before = rec("transition", Phase::Read, 0, None);
    before.state = Some("pending".into());
    let mut out = vec![before];
    for (w, (o, s)) in outcomes.iter().enumerate() {
        let mut r = write(
            "transition",
            0,
            w as u32,
            *o,
            s.map(|s| if s == 201 { 200 } else { s }),
            "409",
        );
        r.state = Some(targets[w].into());
        out.push(r);
    }
    let mut verify = rec("transition", Phase::Verify, 0, None);
    verify.state = Some(end.into());
    out.push(verify);
    out
}

#[test]
fn one_transition_ending_in_its_target_passes() {
    let v = verdict(&transition_round(
        &[LOSE, WIN, LOSE],
        &["cancelled", "shipped", "cancelled"],
        "shipped",
    ));
    assert!(v.passed(), "{:?}", v.violations);
    assert_eq!(v.rounds[0].version_sent.as_deref(), Some("pending"));
    assert_eq!(v.rounds[0].final_version.as_deref(), Some("shipped"));
    assert_eq!(v.rounds[0].applied, "w1");
}

#[test]
fn two_accepted_transitions_from_one_state_are_an_invalid_transition() {
    let v = verdict(&transition_round(
        &[WIN, WIN],
        &["cancelled", "shipped"],
        "shipped",
    ));
    assert_eq!(kinds(&v), [ViolationKind::InvalidTransition]);
    assert_eq!(
        v.violations[0].evidence,
        "2 transitions from pending were accepted (w0 200 → cancelled, w1 200 → shipped); only one may be; the resource ended shipped"
    );
}

#[test]
fn a_final_state_other_than_the_winners_target_is_an_invalid_transition() {
    let v = verdict(&transition_round(
        &[WIN, LOSE],
        &["cancelled", "shipped"],
        "shipped",
    ));
    assert_eq!(kinds(&v), [ViolationKind::InvalidTransition]);
    assert!(v.violations[0].evidence.ends_with(
        "was told its transition from pending to cancelled won, but the resource ended shipped"
    ));
}

#[test]
fn every_transition_refused_is_no_winner_or_a_refused_one_applied() {
    let v = verdict(&transition_round(
        &[LOSE, LOSE],
        &["cancelled", "shipped"],
        "pending",
    ));
    assert_eq!(kinds(&v), [ViolationKind::NoWinner]);
    let v = verdict(&transition_round(
        &[LOSE, LOSE],
        &["cancelled", "shipped"],
        "cancelled",
    ));
    assert_eq!(kinds(&v), [ViolationKind::LoserWriteApplied]);
}

// ---- stock --------------------------------------------------------------------------

/// A stock round with `units` read before and `left` read after.
fn stock_round(units: i64, outcomes: &[(Outcome, Option<u16>)], left: i64) -> Vec<RequestRecord> {
    let mut before = rec("stock", Phase::Read, 0, None);
    before.value = Some(units);
    let mut out = vec![before];
    for (w, (o, s)) in outcomes.iter().enumerate() {
        out.push(write("stock", 0, w as u32, *o, *s, "409"));
    }
    let mut verify = rec("stock", Phase::Verify, 0, None);
    verify.value = Some(left);
    out.push(verify);
    out
}

#[test]
fn exactly_units_claims_and_none_left_passes() {
    let v = verdict(&stock_round(3, &[WIN, LOSE, WIN, WIN, LOSE], 0));
    assert!(v.passed(), "{:?}", v.violations);
    assert_eq!(v.rounds[0].version_sent.as_deref(), Some("3"));
    assert_eq!(v.rounds[0].final_version.as_deref(), Some("0"));
}

#[test]
fn more_claims_than_units_is_an_oversell() {
    let v = verdict(&stock_round(1, &[WIN, WIN, LOSE], -1));
    assert_eq!(kinds(&v), [ViolationKind::Oversell]);
    assert_eq!(
        v.violations[0].evidence,
        "2 claims succeeded but only 1 unit(s) existed (w0 201, w1 201); the count went below zero: -1 left"
    );
}

#[test]
fn units_gone_to_refused_claims_or_kept_by_acknowledged_ones_are_an_oversell() {
    let v = verdict(&stock_round(3, &[WIN, WIN, LOSE, LOSE], 0));
    assert_eq!(kinds(&v), [ViolationKind::Oversell]);
    assert!(v.violations[0]
        .evidence
        .contains("1 unit(s) went to claims that were refused"));
    let v = verdict(&stock_round(3, &[WIN, WIN, WIN, LOSE], 1));
    assert_eq!(kinds(&v), [ViolationKind::Oversell]);
    assert!(v.violations[0]
        .evidence
        .contains("their units can be sold again"));
}

#[test]
fn an_indeterminate_claim_may_or_may_not_have_taken_a_unit() {
    assert!(verdict(&stock_round(3, &[WIN, WIN, TIMEOUT, LOSE], 0)).passed());
    assert!(verdict(&stock_round(3, &[WIN, WIN, TIMEOUT, LOSE], 1)).passed());
}

#[test]
fn claims_refused_while_units_are_left_are_no_winner() {
    let v = verdict(&stock_round(3, &[WIN, LOSE, LOSE, LOSE], 2));
    assert_eq!(kinds(&v), [ViolationKind::NoWinner]);
    assert_eq!(
        v.violations[0].evidence,
        "3 claim(s) were refused (w1 409, w2 409, w3 409) while 2 unit(s) were left"
    );
}

// ---- idempotency --------------------------------------------------------------------

/// An idempotency round: writes answered with `bodies` (empty for conflicts), a replay
/// probe, and a read that counted `effects`.
fn payment_round(
    writes: &[((Outcome, Option<u16>), &str)],
    probe: ((Outcome, Option<u16>), &str),
    effects: i64,
) -> Vec<RequestRecord> {
    let mut out = Vec::new();
    for (w, ((o, s), body)) in writes.iter().enumerate() {
        let mut r = write("idempotency", 0, w as u32, *o, *s, "409");
        r.body = (*body).into();
        r.marker = None;
        out.push(r);
    }
    let mut p = write("idempotency", 0, 0, probe.0 .0, probe.0 .1, "409");
    p.phase = Phase::Probe;
    p.writer = None;
    p.marker = None;
    p.body = probe.1.into();
    out.push(p);
    let mut verify = rec("idempotency", Phase::Verify, 0, None);
    verify.value = Some(effects);
    out.push(verify);
    out
}

const PAID: &str = r#"{"id":"1","amount":100}"#;

#[test]
fn one_effect_with_in_flight_conflicts_and_a_faithful_replay_passes() {
    let v = verdict(&payment_round(
        &[(WIN, PAID), (LOSE, ""), (LOSE, "")],
        (WIN, PAID),
        1,
    ));
    assert!(v.passed(), "{:?}", v.violations);
    // Replays of the same answer while the first is still in flight pass too.
    let v = verdict(&payment_round(&[(WIN, PAID), (WIN, PAID)], (WIN, PAID), 1));
    assert!(v.passed(), "{:?}", v.violations);
}

#[test]
fn two_effects_of_one_key_are_an_idempotency_violation() {
    let other = r#"{"id":"2","amount":100}"#;
    let v = verdict(&payment_round(&[(WIN, PAID), (WIN, other)], (WIN, PAID), 2));
    assert_eq!(kinds(&v), [ViolationKind::IdempotencyViolation]);
    let e = &v.violations[0].evidence;
    assert!(
        e.starts_with("one key made 2 effects (3 acknowledged: w0 201, w1 201, probe 201)"),
        "{e}"
    );
    assert!(e.contains("the acknowledged answers differ"), "{e}");
}

#[test]
fn a_replay_that_differs_or_is_refused_after_completion_is_an_idempotency_violation() {
    let other = r#"{"id":"1","amount":100,"replayed":false}"#;
    let v = verdict(&payment_round(&[(WIN, PAID), (LOSE, "")], (WIN, other), 1));
    assert_eq!(kinds(&v), [ViolationKind::IdempotencyViolation]);
    let replayed_as_200 = verdict(&payment_round(
        &[(WIN, PAID), (LOSE, "")],
        ((Outcome::Winner, Some(200)), PAID),
        1,
    ));
    assert_eq!(
        kinds(&replayed_as_200),
        [ViolationKind::IdempotencyViolation],
        "a replay repeats the original status too"
    );
    let v = verdict(&payment_round(&[(WIN, PAID), (LOSE, "")], (LOSE, ""), 1));
    assert_eq!(kinds(&v), [ViolationKind::IdempotencyViolation]);
    assert!(v.violations[0].evidence.contains(
        "the same request sent after the original completed got 409 instead of a replay"
    ));
}

#[test]
fn every_request_refused_though_none_was_processed_is_no_winner() {
    let v = verdict(&payment_round(&[(LOSE, ""), (LOSE, "")], (WIN, PAID), 1));
    assert_eq!(kinds(&v), [ViolationKind::NoWinner]);
}

// ---- precondition-required ----------------------------------------------------------

fn unconditional_round(outcomes: &[(Outcome, Option<u16>)]) -> Vec<RequestRecord> {
    let mut before = rec("precondition-required", Phase::Read, 0, None);
    before.version_returned = Some("\"1\"".into());
    let mut out = vec![before];
    for (w, (o, s)) in outcomes.iter().enumerate() {
        out.push(write("precondition-required", 0, w as u32, *o, *s, "428"));
    }
    let mut verify = rec("precondition-required", Phase::Verify, 0, None);
    verify.version_returned = Some("\"1\"".into());
    out.push(verify);
    out
}

const REQUIRED: (Outcome, Option<u16>) = (Outcome::Conflict, Some(428));

#[test]
fn every_unconditional_write_refused_with_428_passes() {
    assert!(verdict(&unconditional_round(&[REQUIRED, REQUIRED])).passed());
}

#[test]
fn an_accepted_unconditional_write_is_precondition_not_required() {
    let v = verdict(&unconditional_round(&[
        REQUIRED,
        (Outcome::Winner, Some(200)),
    ]));
    // The state read back does not carry the accepted write either: a phantom.
    assert_eq!(
        kinds(&v),
        [
            ViolationKind::PreconditionNotRequired,
            ViolationKind::PhantomSuccess
        ]
    );
    assert_eq!(
        v.violations[0].evidence,
        "1 of 2 writes without a precondition were accepted (w1 200) where 428 was promised"
    );
}

#[test]
fn a_412_for_a_missing_precondition_reads_as_a_broken_promise() {
    let v = verdict(&unconditional_round(&[
        REQUIRED,
        (Outcome::Unexpected, Some(412)),
    ]));
    assert_eq!(kinds(&v), [ViolationKind::UnexpectedStatus]);
    assert_eq!(
        v.violations[0].evidence,
        "1 write(s) got a status that is neither a winner nor the promised conflict: answered 412 where 428 was promised (w1 412)"
    );
}

// ---- the answers themselves, for every workload -------------------------------------

#[test]
fn server_errors_under_contention_are_counted_with_sample_bodies_apart_from_broken_promises() {
    let mut history = create_round(
        &[
            WIN,
            (Outcome::Unexpected, Some(500)),
            (Outcome::Unexpected, Some(503)),
            (Outcome::Unexpected, Some(412)),
        ],
        Some(1),
        &[0],
    );
    history[1].body = "deadlock detected".into();
    history[2].body = "upstream timed out".into();
    let v = verdict(&history);
    assert_eq!(kinds(&v), [ViolationKind::UnexpectedStatus]);
    assert_eq!(
        v.violations[0].evidence,
        "3 write(s) got a status that is neither a winner nor the promised conflict: answered 412 where 409 was promised (w3 412); 2 answered with a server error under contention (w1 500, w2 503); sample bodies: \"deadlock detected\", \"upstream timed out\""
    );
}

#[test]
fn an_unactionable_conflict_is_a_violation_or_a_warning_as_the_record_says() {
    let mut history = create_round(&[WIN, LOSE, LOSE], Some(1), &[0]);
    history[1].conflict_missing = "violation: json:/existing content-type (text/plain)".into();
    history[1].body = "conflict".into();
    let v = verdict(&history);
    assert_eq!(kinds(&v), [ViolationKind::ConflictNotActionable]);
    assert_eq!(
        v.violations[0].evidence,
        "1 of 2 conflict answer(s) lack what a client needs to recover: w1 409 lacks json:/existing content-type (text/plain); sample body: \"conflict\""
    );

    history[1].conflict_missing = "warning: json:/existing".into();
    let v = verdict(&history);
    assert!(v.passed());
    assert_eq!(v.warned(WarningKind::ConflictNotActionable), 1);
    assert_eq!(v.rounds[0].warnings, [WarningKind::ConflictNotActionable]);
}

#[test]
fn losing_answers_that_leak_internals_are_a_warning_not_a_failure() {
    let mut history = create_round(&[WIN, LOSE], Some(1), &[0]);
    history[1].body =
        r#"{"error":"conflict","detail":"ERROR: duplicate key value violates unique constraint \"users_email_key\""}"#.into();
    let v = verdict(&history);
    assert!(v.passed());
    assert_eq!(v.warned(WarningKind::LeaksInternals), 1);
    assert!(v.warnings[0]
        .evidence
        .contains("w1 409 shows SQL (`duplicate key value violates`)"));
}

#[test]
fn problem_details_whose_status_member_lies_are_a_warning() {
    let mut history = create_round(&[WIN, LOSE], Some(1), &[0]);
    history[1].content_type = "application/problem+json; charset=utf-8".into();
    history[1].body = r#"{"title":"Conflict","status":500}"#.into();
    let v = verdict(&history);
    assert!(v.passed());
    assert_eq!(v.warned(WarningKind::ProblemStatusMismatch), 1);
    assert!(v.warnings[0]
        .evidence
        .ends_with("w1 409 says \"status\": 500"));
}

// ---- counter strategies -------------------------------------------------------------

/// One strategy's counter: `acked` increments that each won at once, from 0 to `end`.
fn strategy_run(strategy: &str, acked: u32, end: i64) -> Vec<RequestRecord> {
    let mut setup = rec("counter", Phase::Setup, 0, None);
    setup.value = Some(0);
    let mut out = vec![setup];
    for i in 0..acked {
        let mut w = write("counter", i, 0, Outcome::Winner, Some(200), "412");
        w.version_sent = Some(format!("\"{i}\""));
        out.push(w);
    }
    let mut fin = rec("counter", Phase::Final, 0, None);
    fin.value = Some(end);
    out.push(fin);
    for r in &mut out {
        r.strategy = Some(strategy.into());
    }
    out
}

#[test]
fn each_strategy_is_checked_on_its_own_counter_and_named_in_the_evidence() {
    let mut history = strategy_run("backoff", 5, 5);
    history.extend(strategy_run("immediate", 5, 3));
    let v = verdict(&history);
    assert_eq!(kinds(&v), [ViolationKind::LostUpdate]);
    assert!(
        v.violations[0].evidence.starts_with(
            "strategy immediate: 5 increments acknowledged but the value went from 0 to 3"
        ),
        "{}",
        v.violations[0].evidence
    );
    let c = v.counter.as_ref().expect("counter figures");
    assert_eq!((c.acknowledged, c.lost_updates), (10, 2));
    assert_eq!(
        (c.initial, c.final_value),
        (None, None),
        "no one value across two counters"
    );
    assert_eq!(v.lost_updates, 2);
}
