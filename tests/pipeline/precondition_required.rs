//! Writes without a precondition: `no-428` is caught as a precondition not required.

use contend::check::ViolationKind;
use contend::server::Bug;

use crate::{assert_reports_fail_with, files, run_with, PRECONDITION};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_428_is_caught_as_precondition_not_required() {
    let (results, dir) = run_with(files(&[PRECONDITION]), Some(Bug::No428), 4, 3).await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::PreconditionNotRequired);
    let evidence = &results[0].verdict.violations[0].evidence;
    assert!(
        evidence.contains("4 of 4 writes without a precondition were accepted")
            && evidence.ends_with("where 428 was promised"),
        "{evidence}"
    );
}
