//! Stock and single-slot bookings: `oversell` is caught, and a race with no more
//! writers than units is refused.

use contend::check::ViolationKind;
use contend::run::{run, RunOptions};
use contend::server::Bug;

use crate::{assert_reports_fail_with, files, run_with, ITEMS, SLOTS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversell_is_caught_for_stock_and_for_a_single_slot() {
    let (results, dir) = run_with(files(&[ITEMS, SLOTS]), Some(Bug::Oversell), 4, 3).await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::Oversell);
    let items = &results[0].verdict;
    assert_eq!(items.scenario, "items-stock");
    assert!(items.violations[0]
        .evidence
        .contains("4 claims succeeded but only 3 unit(s) existed"));
    assert!(items.violations[0]
        .evidence
        .contains("the count went below zero: -1 left"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_writers_than_units_is_a_usage_error_not_a_silent_pass() {
    let mut opts = RunOptions::new(files(&[ITEMS]));
    opts.writers = Some(3);
    match run(opts).await {
        Err(contend::run::RunError::Usage(message)) => assert_eq!(
            message,
            "items-stock: a stock race needs more writers than its 3 unit(s) (got 3); raise --writers"
        ),
        Err(other) => panic!("expected a usage error, got {other}"),
        Ok(_) => panic!("expected a usage error, the run started"),
    }
}
