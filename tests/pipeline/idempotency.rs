//! Idempotency keys: `idem-double` is caught as an idempotency violation.

use contend::check::ViolationKind;
use contend::server::Bug;

use crate::{assert_reports_fail_with, files, run_with, PAYMENTS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idem_double_is_caught_as_idempotency_violation() {
    let (results, dir) = run_with(files(&[PAYMENTS]), Some(Bug::IdemDouble), 4, 3).await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::IdempotencyViolation);
    let evidence = &results[0].verdict.violations[0].evidence;
    assert!(evidence.starts_with("one key made 4 effects"), "{evidence}");
    assert!(
        evidence.contains("the acknowledged answers differ"),
        "{evidence}"
    );
}
