//! Transitions: `double-transition` is caught as an invalid transition.

use contend::check::ViolationKind;
use contend::server::Bug;

use crate::{assert_reports_fail_with, files, run_with, ORDERS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_transition_is_caught_as_invalid_transition() {
    let (results, dir) = run_with(files(&[ORDERS]), Some(Bug::DoubleTransition), 4, 3).await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::InvalidTransition);
    let evidence = &results[0].verdict.violations[0].evidence;
    assert!(
        evidence.starts_with(
            "4 transitions from pending were accepted (w0 200 → cancelled, w1 200 → shipped"
        ),
        "{evidence}"
    );
}
