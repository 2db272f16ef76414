//! Witnesses and timelines from whole runs: every violation an injected bug causes, in
//! every workload, has a minimal witness that shows a write, with its JSON and curl
//! files; the engine keeps the wire exchanges of the first flagged rounds only (and
//! each witness's requests among them), and draws the first violating rounds.

use std::collections::BTreeSet;

use contend::check::witness::{Role, ROUNDS_DRAWN};
use contend::engine::capture::ROUNDS_KEPT;
use contend::history::wire::{read_wire, EXCHANGES_FILE};
use contend::history::Phase;
use contend::report::by_kind;
use contend::report::witness::{curl_file, timeline_file, witness_file};
use contend::server::Bug;

use crate::common::files::scenario;
use crate::{
    files, run_with, DIALECTS, FILES, ITEMS, ORDERS, PAYMENTS, PRECONDITION, SLOTS, USERS,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_violation_of_every_injected_bug_has_a_witness_that_shows_a_write() {
    let mut paths = files(&[USERS, FILES, ORDERS, ITEMS, SLOTS, PAYMENTS, PRECONDITION]);
    paths.extend(DIALECTS.map(scenario));
    paths.push(scenario("notes-etag-counter.toml"));
    let mut witnessed = BTreeSet::new();
    // `/dav`'s bug needs a `/dav` scenario; the others break these endpoints.
    for bug in Bug::ALL.into_iter().filter(|b| *b != Bug::MtimeEtag) {
        let (results, dir) = run_with(paths.clone(), Some(bug), 4, 1).await;
        for r in &results {
            let name = &r.verdict.scenario;
            for group in by_kind(&r.verdict.violations) {
                let w = r
                    .witness
                    .first_of(group.kind)
                    .unwrap_or_else(|| panic!("{bug}: {name}: no witness of {}", group.kind));
                assert!(
                    w.steps
                        .iter()
                        .any(|s| matches!(s.role, Role::Write | Role::Probe)),
                    "{bug}: {name}: the witness of {} shows a write: {:?}",
                    group.kind,
                    w.steps
                );
                assert!(!w.shows.is_empty());
                for file in [witness_file(name, w), curl_file(name, w)] {
                    assert!(dir.path().join(&file).is_file(), "{bug}: {file}");
                }
                witnessed.insert(group.kind);
            }
        }
    }
    assert!(
        witnessed.len() >= 10,
        "the bugs show most kinds of violation: {witnessed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_keeps_the_exchanges_of_the_first_flagged_rounds_and_draws_them() {
    let rounds = 8;
    let (results, dir) = run_with(
        vec![scenario("notes-etag-stale-write.toml")],
        Some(Bug::Toctou),
        4,
        rounds,
    )
    .await;
    let r = &results[0];
    assert_eq!(
        r.verdict.violations.len(),
        rounds as usize,
        "every round broke"
    );
    let exchanges = read_wire(&dir.path().join(EXCHANGES_FILE)).expect("exchanges.jsonl");
    let kept_rounds: BTreeSet<u32> = exchanges
        .iter()
        .filter(|e| e.phase == Phase::Write)
        .map(|e| e.round)
        .collect();
    assert_eq!(
        kept_rounds,
        (0..ROUNDS_KEPT as u32).collect(),
        "the first flagged rounds, no more"
    );
    for round in &kept_rounds {
        let writes = exchanges
            .iter()
            .filter(|e| e.phase == Phase::Write && e.round == *round)
            .count();
        assert_eq!(writes, 2, "round {round}: only its witness's two writes");
    }
    assert!(
        exchanges
            .iter()
            .any(|e| e.phase == Phase::Setup && e.request.method == "POST"),
        "the set-up is kept"
    );
    assert!(exchanges
        .iter()
        .all(|e| e.phase != Phase::Warmup && e.response.is_some()));

    let drawn: Vec<u32> = r.witness.rounds.iter().map(|t| t.round).collect();
    assert_eq!(drawn, (0..ROUNDS_DRAWN as u32).collect::<Vec<_>>());
    for round in 0..rounds {
        let svg = dir.path().join(timeline_file(&r.verdict.scenario, round));
        assert_eq!(
            svg.is_file(),
            round < ROUNDS_DRAWN as u32,
            "{}",
            svg.display()
        );
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        html.contains(&format!(
            "{} more violating round(s) are not drawn",
            rounds as usize - ROUNDS_DRAWN
        )),
        "the rest are linked from rounds.csv"
    );
    assert!(html.contains(r#"<a href="rounds.csv">rounds.csv</a>"#));
}
