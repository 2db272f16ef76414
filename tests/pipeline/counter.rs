//! The counter: `toctou` loses acknowledged increments.

use contend::check::ViolationKind;
use contend::server::Bug;

use crate::common::files::scenario;
use crate::{assert_fails_with, run_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toctou_under_the_counter_is_caught_as_lost_updates() {
    let (results, _dir) = run_with(
        vec![scenario("notes-etag-counter.toml")],
        Some(Bug::Toctou),
        8,
        3,
    )
    .await;
    assert_fails_with(&results, ViolationKind::LostUpdate);
    let c = results[0]
        .verdict
        .counter
        .as_ref()
        .expect("counter figures");
    assert!(c.final_value.unwrap_or(0) < c.acknowledged as i64);
}
