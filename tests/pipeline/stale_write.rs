//! Stale writes in every dialect (ETag, version field, `_rev`): each injected bug fails
//! with the violation that names it.

use contend::check::ViolationKind;
use contend::server::Bug;

use crate::common::files::scenario;
use crate::{assert_fails_with, run_with, DIALECTS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toctou_is_caught_as_multiple_winners_in_every_dialect() {
    let (results, _dir) = run_with(DIALECTS.map(scenario).to_vec(), Some(Bug::Toctou), 8, 3).await;
    assert_fails_with(&results, ViolationKind::MultipleWinners);
    assert!(results.iter().all(|r| r.verdict.lost_updates > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_precondition_is_caught_as_multiple_winners_in_every_dialect() {
    let (results, _dir) = run_with(
        DIALECTS.map(scenario).to_vec(),
        Some(Bug::IgnorePrecondition),
        4,
        3,
    )
    .await;
    assert_fails_with(&results, ViolationKind::MultipleWinners);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_token_is_caught_as_version_not_advanced_in_every_dialect() {
    let (results, _dir) =
        run_with(DIALECTS.map(scenario).to_vec(), Some(Bug::StaleToken), 4, 3).await;
    assert_fails_with(&results, ViolationKind::VersionNotAdvanced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_loser_is_caught_as_loser_write_applied_in_every_dialect() {
    let (results, _dir) = run_with(
        DIALECTS.map(scenario).to_vec(),
        Some(Bug::LoserApplied),
        4,
        3,
    )
    .await;
    assert_fails_with(&results, ViolationKind::LoserWriteApplied);
}
