//! Unique creates, of emails and of create-only files: `dup-create` is caught as a
//! duplicate create.

use contend::check::ViolationKind;
use contend::server::Bug;

use crate::{assert_reports_fail_with, files, run_with, FILES, USERS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dup_create_is_caught_as_duplicate_create_for_emails_and_create_only_files() {
    let (results, dir) = run_with(files(&[USERS, FILES]), Some(Bug::DupCreate), 4, 3).await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::DuplicateCreate);
    for r in &results {
        let evidence = &r.verdict.violations[0].evidence;
        assert!(
            evidence.contains("4 creates with the same key succeeded")
                && evidence.contains("the read found 4 resources with the key"),
            "{evidence}"
        );
    }
}
