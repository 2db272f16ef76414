//! The conflict answers themselves, across workloads: opaque conflicts where actionable
//! ones are promised (a violation or only a warning), server errors under contention
//! with their bodies and leaks, and a status that breaks the promise.

use contend::check::{ViolationKind, WarningKind};
use contend::server::Bug;

use crate::common::files::scenario;
use crate::{
    assert_reports_fail_with, files, run_with, summary_value, FILES, ITEMS, ORDERS, PAYMENTS,
    SLOTS, USERS,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opaque_conflicts_are_caught_where_the_scenario_requires_actionable_ones() {
    let (results, dir) = run_with(
        files(&[USERS, FILES, ORDERS, ITEMS]),
        Some(Bug::OpaqueConflict),
        4,
        3,
    )
    .await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::ConflictNotActionable);
    let create_only = &results[1].verdict;
    assert_eq!(create_only.scenario, "files-create-only");
    assert!(create_only.violations[0]
        .evidence
        .contains("412 lacks header:ETag"));
    let orders = &results[2].verdict;
    assert!(orders.violations[0]
        .evidence
        .contains("409 lacks json:/current_state content-type (text/plain)"));
    // The same answers pass where the scenario promises nothing about them.
    let (results, _dir) =
        run_with(files(&[SLOTS, PAYMENTS]), Some(Bug::OpaqueConflict), 4, 3).await;
    assert!(results.iter().all(|r| r.status() == "PASS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unactionable_conflicts_are_only_a_warning_when_the_scenario_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(scenario(USERS))
        .expect("scenario")
        .replace(
            "content_type = [\"application/problem+json\"] }",
            "content_type = [\"application/problem+json\"], level = \"warning\" }",
        );
    assert!(text.contains("level = \"warning\""));
    let file = dir.path().join("users-warn.toml");
    std::fs::write(&file, text).expect("write");
    let (results, out) = run_with(vec![file], Some(Bug::OpaqueConflict), 4, 3).await;
    let r = &results[0];
    assert_eq!(r.status(), "PASS", "{:?}", r.verdict.violations);
    assert_eq!(r.verdict.warned(WarningKind::ConflictNotActionable), 3);
    assert_eq!(
        summary_value(
            out.path(),
            "users-unique-create",
            "warn_conflict_not_actionable"
        ),
        "3"
    );
    assert_eq!(
        summary_value(out.path(), "users-unique-create", "warnings"),
        "3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_500_is_unexpected_status_with_counts_and_bodies_and_a_leak_warning() {
    let (results, dir) = run_with(
        files(&[
            USERS,
            ORDERS,
            ITEMS,
            PAYMENTS,
            "notes-etag-stale-write.toml",
        ]),
        Some(Bug::Conflict500),
        4,
        3,
    )
    .await;
    assert_reports_fail_with(&results, dir.path(), ViolationKind::UnexpectedStatus);
    for r in &results {
        let v = &r.verdict;
        let evidence = &v.violations[0].evidence;
        assert!(
            evidence.contains("answered with a server error under contention (w")
                && evidence.contains("SQLSTATE 23505"),
            "{}: {evidence}",
            v.scenario
        );
        assert!(
            v.warned(WarningKind::LeaksInternals) > 0,
            "{}: {:?}",
            v.scenario,
            v.warnings
        );
        assert!(v.warnings[0]
            .evidence
            .contains("a stack trace (`at db.Pool.query (pool.js:42)`) and SQL (`SQLSTATE`)"));
        assert_ne!(
            summary_value(dir.path(), &v.scenario, "warn_leaks_internals"),
            "0"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_412_where_409_was_promised_reads_as_a_broken_promise_not_a_server_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(scenario(FILES))
        .expect("scenario")
        .replace("conflict = [412]", "conflict = [409]");
    let file = dir.path().join("files-409.toml");
    std::fs::write(&file, text).expect("write");
    let (results, out) = run_with(vec![file], None, 4, 3).await;
    assert_reports_fail_with(&results, out.path(), ViolationKind::UnexpectedStatus);
    let evidence = &results[0].verdict.violations[0].evidence;
    assert!(
        evidence.contains("answered 412 where 409 was promised (w"),
        "{evidence}"
    );
    assert!(!evidence.contains("server error"), "{evidence}");
}
