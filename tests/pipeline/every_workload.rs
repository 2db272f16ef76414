//! Every workload on one run: the correct server passes each, `phantom-success` shows in
//! each as its own violation, and a saved history re-checks to the same verdicts.

use contend::check::ViolationKind;
use contend::server::Bug;

use crate::common::files::scenario;
use crate::common::reports::read_table;
use crate::{
    assert_reports_fail_with, files, kinds, run_with, summary_value, DIALECTS, FILES, ITEMS,
    ORDERS, PAYMENTS, PRECONDITION, SLOTS, STRATEGIES, USERS,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_server_passes_every_dialect_and_the_counter() {
    let mut files = DIALECTS.map(scenario).to_vec();
    files.push(scenario("notes-etag-counter.toml"));
    let (results, _dir) = run_with(files, None, 8, 5).await;
    assert_eq!(results.len(), 4);
    for r in &results {
        assert_eq!(
            r.status(),
            "PASS",
            "{}: {:?} {:?}",
            r.verdict.scenario,
            r.verdict.violations,
            r.error
        );
        assert!(r.complete);
        assert_eq!(r.verdict.counts.unexpected, 0);
        assert_eq!(r.verdict.lost_updates, 0);
        if r.verdict.workload == contend::scenario::WorkloadId::StaleWrite {
            assert_eq!(r.verdict.rounds.len(), 5);
            assert!(r
                .verdict
                .rounds
                .iter()
                .all(|round| round.winners == 1 && round.conflicts == 7));
        } else {
            let c = r.verdict.counter.as_ref().expect("counter figures");
            assert_eq!(c.acknowledged, 8 * 5);
            assert_eq!(c.final_value, Some(40));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_server_passes_every_new_workload() {
    let (results, dir) = run_with(
        files(&[
            USERS,
            FILES,
            ORDERS,
            ITEMS,
            SLOTS,
            PAYMENTS,
            PRECONDITION,
            STRATEGIES,
        ]),
        None,
        4,
        3,
    )
    .await;
    assert_eq!(results.len(), 8);
    for r in &results {
        let v = &r.verdict;
        assert_eq!(
            r.status(),
            "PASS",
            "{}: {:?} {:?}",
            v.scenario,
            v.violations,
            r.error
        );
        assert!(v.warnings.is_empty(), "{}: {:?}", v.scenario, v.warnings);
        assert_eq!(v.counts.unexpected, 0, "{}", v.scenario);
        if v.workload == contend::scenario::WorkloadId::Counter {
            continue;
        }
        assert_eq!(v.rounds.len(), 3, "{}", v.scenario);
        let winners: Vec<u32> = v.rounds.iter().map(|round| round.winners).collect();
        if v.scenario == "payments-idempotency" {
            // A duplicate that arrives after the first completed is replayed (201, same
            // body) rather than refused; either way exactly one charge is made.
            assert!(winners.iter().all(|w| *w >= 1), "{winners:?}");
            continue;
        }
        let expected = match v.scenario.as_str() {
            "items-stock" => 3,
            "notes-precondition-required" => 0,
            _ => 1,
        };
        assert_eq!(winners, [expected; 3], "{} winners per round", v.scenario);
    }
    // Transitions end in the winner's target state.
    let orders = results
        .iter()
        .find(|r| r.verdict.scenario == "orders-transition")
        .expect("orders");
    for round in &orders.verdict.rounds {
        assert_eq!(round.version_sent.as_deref(), Some("pending"));
        let end = round.final_version.as_deref().expect("state read back");
        assert!(end == "cancelled" || end == "shipped", "{end}");
        assert!(!round.applied.is_empty(), "the winner's target is applied");
    }
    // Stock ends at zero; the three client strategies each converged on a counter.
    assert_eq!(summary_value(dir.path(), "items-stock", "oversell"), "0");
    let strategies = results
        .iter()
        .find(|r| r.verdict.scenario == "notes-etag-counter-strategies")
        .expect("strategies");
    let names: Vec<&str> = strategies
        .convergence
        .strategies
        .iter()
        .map(|s| s.strategy.as_str())
        .collect();
    assert_eq!(names, ["backoff", "immediate", "give-up"]);
    for s in &strategies.convergence.strategies {
        assert_eq!(s.increments, 4 * 3, "{}", s.strategy);
        assert_eq!(s.acknowledged + s.gave_up, s.increments, "{}", s.strategy);
    }
    let (header, rows) = read_table(&dir.path().join("strategies.csv"));
    assert_eq!(header[..3], ["scenario", "strategy", "increments"]);
    assert_eq!(rows.len(), 3, "one row per strategy of the one counter");
    let (header, rows) = read_table(&dir.path().join("convergence.csv"));
    assert_eq!(
        header,
        [
            "scenario",
            "strategy",
            "metric",
            "value",
            "percentile",
            "total_count"
        ]
    );
    for metric in ["attempts", "conflicts", "converge_us"] {
        assert!(
            rows.iter()
                .any(|row| row[1] == "give-up" && row[2] == metric),
            "convergence.csv lacks give-up {metric}"
        );
    }
}

/// `phantom-success` answers a loser 2xx but drops its write, so the API acknowledges
/// more writes than it keeps: a stale write shows it as more than one winner per
/// version, a counter as lost increments, a transition as two accepted transitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phantom_success_shows_as_multiple_winners_lost_updates_and_invalid_transitions() {
    let (results, dir) = run_with(
        files(&["notes-etag-stale-write.toml"]),
        Some(Bug::PhantomSuccess),
        4,
        3,
    )
    .await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::MultipleWinners);
    assert!(results[0].verdict.lost_updates > 0);
    let (results, _dir) = run_with(
        files(&["notes-etag-counter.toml"]),
        Some(Bug::PhantomSuccess),
        4,
        3,
    )
    .await;
    // Its losers are all answered with the same new version: phantoms, named as such.
    assert_eq!(
        kinds(&results[0]),
        [ViolationKind::LostUpdate, ViolationKind::PhantomSuccess]
    );
    let (results, dir) = run_with(files(&[ORDERS]), Some(Bug::PhantomSuccess), 4, 3).await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::InvalidTransition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_history_of_every_new_workload_rechecks_to_the_same_verdicts() {
    let (results, dir) = run_with(
        files(&[USERS, ORDERS, ITEMS, PAYMENTS, PRECONDITION, STRATEGIES]),
        Some(Bug::Conflict500),
        4,
        3,
    )
    .await;
    let history = contend::history::read_csv(&dir.path().join("requests.csv")).expect("history");
    let again = contend::check::check_all(&history);
    assert_eq!(again.len(), results.len());
    for (a, r) in again.iter().zip(&results) {
        assert_eq!(a, &r.verdict, "{}", r.verdict.scenario);
    }
}
