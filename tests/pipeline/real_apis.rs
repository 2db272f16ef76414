//! Scenarios shaped like real third-party APIs, against the reference server: a login
//! whose bearer token expires during the run and is refreshed, a session cookie with its
//! CSRF token, a bucket made in set-up before the object raced on, a counter inside a
//! text body read with a regex, rounds paced for a server whose versions change once a
//! second, a fresh resource every round, writers of `PUT`, `PATCH` and `DELETE` racing
//! one version, mutual TLS, `--insecure`, and `compare` over https with `--ca-cert`,
//! `--sync`, `--arrivals` and `--junit`.
//!
//! Every verdict is certain, not likely: a correct server checks and commits under one
//! lock; a `toctou` window of 30 ms is far wider than the millisecond in which a round's
//! writes arrive; `/dav` serves its tag weak for the whole tick of its mtime after a
//! change (a second; a minute where a test must be sure its unpaced rounds fall within
//! one), and a round starts right after the last one unless it is paced past the tick
//! (unpaced, every round races only a weak token: INCONCLUSIVE, `weak_version_token`).

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use contend::check::{ViolationKind, WarningKind};
use contend::history::{self, Outcome, Phase, RequestRecord};
use contend::report::ScenarioResult;
use contend::run::{run, RunOptions};
use contend::scenario::SyncMode;
use contend::server::{Bug, ServerConfig};

/// A scenario file written into a fresh folder, run against the built-in server.
struct Ran {
    result: ScenarioResult,
    records: Vec<RequestRecord>,
    _dir: tempfile::TempDir,
}

impl Ran {
    /// The contended writes of the run.
    fn writes(&self) -> Vec<&RequestRecord> {
        self.records
            .iter()
            .filter(|r| r.phase == Phase::Write)
            .collect()
    }
}

/// Runs `toml` with `config` for the built-in server, and `tune` for anything else.
async fn run_with(toml: &str, config: ServerConfig, tune: impl FnOnce(&mut RunOptions)) -> Ran {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenario.toml");
    std::fs::write(&file, toml).expect("scenario written");
    let mut opts = RunOptions::new(vec![file]);
    opts.out = Some(dir.path().join("out"));
    opts.server = config;
    tune(&mut opts);
    let mut report = run(opts).await.expect("the run starts");
    assert_eq!(report.results.len(), 1);
    let records = history::read_csv(&dir.path().join("out/requests.csv")).expect("requests.csv");
    Ran {
        result: report.results.remove(0),
        records,
        _dir: dir,
    }
}

async fn run_on(toml: &str, config: ServerConfig) -> Ran {
    run_with(toml, config, |_| {}).await
}

fn correct() -> ServerConfig {
    ServerConfig::default()
}

/// `config` with `/dav`'s mtime ticking once a minute instead of once a second, so that a
/// few unpaced rounds are certain to fall within one tick however slow the machine.
fn coarse_clock(config: ServerConfig) -> ServerConfig {
    ServerConfig {
        mtime_granularity: Duration::from_secs(60),
        ..config
    }
}

fn bugged(bug: Bug) -> ServerConfig {
    ServerConfig {
        bug: Some(bug),
        window: Duration::from_millis(30),
        ..ServerConfig::default()
    }
}

/// The verdict's violation kinds, for messages.
fn kinds(result: &ScenarioResult) -> Vec<ViolationKind> {
    result.verdict.violations.iter().map(|v| v.kind).collect()
}

/// PASS with exactly one winner in every round and every other writer the conflict.
fn assert_one_winner_per_round(ran: &Ran, rounds: usize) {
    let verdict = &ran.result.verdict;
    assert!(
        ran.result.passed() && ran.result.error.is_none(),
        "expected PASS: {:?} {:?}",
        kinds(&ran.result),
        ran.result.error
    );
    assert_eq!(verdict.rounds.len(), rounds);
    for round in &verdict.rounds {
        assert_eq!(round.winners, 1, "round {}: {round:?}", round.round);
        assert_eq!(round.conflicts + round.winners, round.writers);
    }
}

const LOGIN: &str = r#"
name = "secure-notes-login"
target = "builtin"

[[setup]]
name = "login"
path = "/auth/token"
json = { username = "contend", password = "contend-secret" }
capture = { token = "json:/access_token" }

[auth]
bearer = "{token}"
refresh = { every = "400ms" }

[workload]
kind = "stale-write"
writers = 4
rounds = 6
pace = "300ms"

[resource]
create = { path = "/secure/notes", json = { text = "seed" }, expect = [201], id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}" }

[expect]
winner = [200]
conflict = [412]
"#;

/// Tokens that last one second, against a run of six rounds 300 ms apart (1.5 s at
/// least).
fn short_tokens() -> ServerConfig {
    ServerConfig {
        token_lifetime: Duration::from_secs(1),
        ..ServerConfig::default()
    }
}

fn logins(ran: &Ran) -> Vec<&RequestRecord> {
    ran.records
        .iter()
        .filter(|r| r.url.ends_with("/auth/token"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_refreshed_before_its_token_expires_carries_a_run_longer_than_the_token() {
    let ran = run_on(LOGIN, short_tokens()).await;
    assert_one_winner_per_round(&ran, 6);
    let logins = logins(&ran);
    assert!(
        logins.len() >= 3,
        "1.5 s of rounds with a login every 400 ms: {} logins",
        logins.len()
    );
    for login in &logins {
        assert_eq!((login.phase, login.outcome), (Phase::Setup, Outcome::Ok));
        assert!(
            login.body.contains(r#""access_token":"***""#),
            "the captured token is redacted from the history: {}",
            login.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_refresh_a_run_longer_than_its_token_stops_at_the_first_401() {
    let text = LOGIN.replace("refresh = { every = \"400ms\" }\n", "");
    let ran = run_on(&text, short_tokens()).await;
    let error = ran.result.error.clone().expect("the run stops");
    assert!(error.contains("answered 401"), "{error}");
    assert!(error.contains("the bearer token expired"), "{error}");
    assert_eq!(logins(&ran).len(), 1, "logged in once, never again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_refused_with_401_logs_in_again_and_is_sent_once_more() {
    // No `every`: only the refused reads trigger a login. The rounds are paced past the
    // token's lifetime, so every round's first read is refused, and the race right
    // after carries the fresh token.
    let text = LOGIN
        .replace(
            "refresh = { every = \"400ms\" }",
            "refresh = { on = [401] }",
        )
        .replace(
            "rounds = 6\npace = \"300ms\"",
            "rounds = 3\npace = \"1100ms\"",
        );
    let ran = run_on(&text, short_tokens()).await;
    assert_one_winner_per_round(&ran, 3);
    let refused: Vec<&RequestRecord> = ran
        .records
        .iter()
        .filter(|r| r.status == Some(401))
        .collect();
    assert_eq!(refused.len(), 3, "one refused read per round");
    assert!(refused.iter().all(|r| r.phase == Phase::Read));
    assert_eq!(logins(&ran).len(), 4, "the first login and one per round");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raced_write_refused_for_its_credentials_is_unexpected_and_says_why() {
    let text = LOGIN.replace(
        "headers = { \"If-Match\" = \"{version}\" }",
        "headers = { \"If-Match\" = \"{version}\", Authorization = \"Bearer forged-token\" }",
    );
    let ran = run_on(&text, correct()).await;
    assert!(!ran.result.passed());
    let evidence: Vec<&str> = ran
        .result
        .verdict
        .violations
        .iter()
        .filter(|v| v.kind == ViolationKind::UnexpectedStatus)
        .map(|v| v.evidence.as_str())
        .collect();
    assert_eq!(evidence.len(), 6, "every round: {:?}", kinds(&ran.result));
    assert!(
        evidence[0].contains("the server refused the credentials during the race"),
        "{}",
        evidence[0]
    );
    assert!(ran.writes().iter().all(|w| w.status == Some(401)));
}

const SESSION: &str = r#"
name = "secure-notes-session"
target = "builtin"
headers = { "X-CSRF-Token" = "{csrf}" }

[[setup]]
name = "login"
path = "/auth/session"
json = { username = "contend", password = "contend-secret" }
capture = { csrf = "cookie:csrf_token" }

[auth]
cookies = true

[workload]
kind = "stale-write"
writers = 6
rounds = 5

[resource]
create = { path = "/secure/notes", json = { text = "seed" }, expect = [201], id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}" }

[expect]
winner = [200]
conflict = [412]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_and_its_csrf_token_go_with_every_write_in_every_sync_mode() {
    for mode in SyncMode::ALL {
        let ran = run_with(SESSION, correct(), |o| o.sync = Some(mode.into())).await;
        assert_one_winner_per_round(&ran, 5);
        let login = &ran.records[0];
        assert!(
            login.url.ends_with("/auth/session"),
            "{mode}: {}",
            login.url
        );
        assert!(
            login.body.contains(r#""csrf_token":"***""#),
            "{mode}: a cookie is a secret: {}",
            login.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_csrf_header_the_session_cannot_create_and_without_cookies_it_is_unknown() {
    let text = SESSION.replace("headers = { \"X-CSRF-Token\" = \"{csrf}\" }\n", "");
    let ran = run_on(&text, correct()).await;
    let error = ran.result.error.clone().expect("the run stops");
    assert!(error.contains("answered 403"), "{error}");
    assert!(error.contains("CSRF token"), "{error}");

    let text = SESSION.replace("[auth]\ncookies = true\n", "");
    let ran = run_on(&text, correct()).await;
    let error = ran.result.error.clone().expect("the run stops");
    assert!(error.contains("answered 401"), "{error}");
}

#[test]
fn basic_auth_is_encoded_by_contend_and_neither_password_nor_encoding_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("basic.toml");
    std::fs::write(
        &file,
        LOGIN
            .replace(
                "[[setup]]\nname = \"login\"\npath = \"/auth/token\"\njson = { username = \"contend\", password = \"contend-secret\" }\ncapture = { token = \"json:/access_token\" }\n",
                "",
            )
            .replace(
                "bearer = \"{token}\"\nrefresh = { every = \"400ms\" }",
                "basic = { user = \"${API_USER}\", password = \"${API_PASSWORD}\" }",
            )
            .replace("pace = \"300ms\"", "")
            // The password in the body, so a report would show it unless redacted.
            .replace("json = { text = \"{marker}\" }", "json = { text = \"{marker}\", note = \"${API_PASSWORD}\" }"),
    )
    .expect("scenario written");
    let out = dir.path().join("out");
    let output = common::binary::contend_with_env(
        &[
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--seed",
            "3",
        ],
        dir.path(),
        &[("API_USER", "contend"), ("API_PASSWORD", "contend-secret")],
    );
    let text = common::binary::text(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("secure-notes-login"), "{text}");
    for path in crate::common::files::every_file(&out) {
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        for secret in ["contend-secret", "Y29udGVuZDpjb250ZW5kLXNlY3JldA=="] {
            assert!(
                !written.contains(secret),
                "{} shows {secret}",
                path.display()
            );
        }
    }
    assert!(!text.contains("contend-secret"));
}

const BUCKET: &str = r#"
name = "bucket-object"
target = "builtin"

[[setup]]
name = "bucket"
method = "PUT"
path = "/buckets/b-{unique}"
expect = [201]
capture = { bucket = "header:Location" }

[workload]
kind = "stale-write"
writers = 6
rounds = 10

[resource]
id = "{bucket}/objects/note.txt"
create = { method = "PUT", path = "{id}", headers = { "If-None-Match" = "*" }, body = "seed", expect = [201] }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}", "Content-Type" = "text/plain" }
body = "{marker}"

[expect]
winner = [200]
conflict = [412]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_raced_on_lives_in_a_bucket_made_by_a_set_up_step_first() {
    let ran = run_on(BUCKET, correct()).await;
    assert_one_winner_per_round(&ran, 10);
    let bucket = &ran.records[0];
    assert_eq!((bucket.method.as_str(), bucket.status), ("PUT", Some(201)));
    assert!(bucket.url.contains("/buckets/b-u"), "{}", bucket.url);
    let object = &ran.records[1];
    assert!(
        object.url.starts_with(bucket.url.as_str()) && object.url.ends_with("/objects/note.txt"),
        "the object's path starts with the captured bucket: {}",
        object.url
    );

    let ran = run_on(BUCKET, bugged(Bug::Toctou)).await;
    assert_eq!(
        ran.result.verdict.count(ViolationKind::MultipleWinners),
        10,
        "{:?}",
        kinds(&ran.result)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_bucket_the_object_cannot_be_created_and_the_run_says_so() {
    let text = BUCKET
        .replace(
            "path = \"/buckets/b-{unique}\"",
            "path = \"/buckets/b-{unique}-other\"",
        )
        .replace(
            "id = \"{bucket}/objects/note.txt\"",
            "id = \"/buckets/missing/objects/note.txt\"",
        );
    let ran = run_on(&text, correct()).await;
    let error = ran.result.error.clone().expect("the run stops");
    assert!(error.contains("creating the resource failed"), "{error}");
    assert!(error.contains("answered 404"), "{error}");
}

const TEXT_COUNTER: &str = r#"
name = "text-counter"
target = "builtin"

[workload]
kind = "counter"
writers = 4
increments = 5

[resource]
id = "/texts/counter-{unique}.ics"
create = { method = "PUT", path = "{id}", headers = { "If-None-Match" = "*", "Content-Type" = "text/calendar" }, body = "BEGIN:VEVENT\r\nSUMMARY:count 0\r\nEND:VEVENT\r\n", expect = [201] }
read = { path = "{id}" }
version = "header:ETag"
value = 'regex:SUMMARY:count (\d+)'

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}", "Content-Type" = "text/calendar" }
body = "BEGIN:VEVENT\r\nSUMMARY:count {next}\r\nEND:VEVENT\r\n"

[expect]
winner = [200]
conflict = [412]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_inside_a_text_body_is_read_with_a_regex_and_loses_nothing() {
    let ran = run_on(TEXT_COUNTER, correct()).await;
    assert!(ran.result.passed(), "{:?}", kinds(&ran.result));
    let counter = ran.result.verdict.counter.clone().expect("counter figures");
    assert_eq!((counter.initial, counter.final_value), (Some(0), Some(20)));
    assert_eq!(counter.acknowledged, 20);

    let ran = run_on(TEXT_COUNTER, bugged(Bug::Toctou)).await;
    assert_eq!(
        kinds(&ran.result),
        [ViolationKind::LostUpdate],
        "four writers released together all read the first value"
    );
}

const DAV: &str = r#"
name = "dav-stale-write"
target = "builtin"

[workload]
kind = "stale-write"
writers = 6
rounds = 4

[resource]
id = "/dav/note-{unique}.txt"
# As long as a marker (32 characters), so every write keeps the text's length.
create = { method = "PUT", path = "{id}", headers = { "If-None-Match" = "*" }, body = "seed-seed-seed-seed-seed-seed-se", expect = [201] }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
body = "{marker}"

[expect]
winner = [204]
conflict = [412]
"#;

fn paced(rounds: u32) -> String {
    DAV.replace(
        "rounds = 4",
        &format!("rounds = {rounds}\npace = \"1100ms\""),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaced_rounds_on_a_one_second_mtime_etag_race_only_weak_tokens_and_are_inconclusive_and_paced_ones_pass(
) {
    // Every unpaced round reads the tag within the second after the last change, while
    // it is weak, and a weak tag never satisfies If-Match (RFC 9110 §13.1.1): every
    // refusal is right, so no round raced anything and nothing is judged. That is no
    // `no_winner` (the server did nothing wrong) and no PASS (nothing was tested). The
    // tick is a minute here, so every round is certain to fall within it.
    let ran = run_on(DAV, coarse_clock(correct())).await;
    assert!(ran.writes().iter().all(|w| w.outcome == Outcome::Conflict));
    assert!(ran.writes().iter().all(|w| w
        .version_sent
        .as_deref()
        .is_some_and(|v| v.starts_with("W/"))));
    let verdict = &ran.result.verdict;
    assert_eq!(
        kinds(&ran.result),
        [],
        "no violation: the refusals were right"
    );
    assert_eq!(verdict.warned(WarningKind::WeakVersionToken), 4);
    let weak = &verdict.warnings[0].evidence;
    assert!(weak.contains("RFC 9110 §13.1.1"), "{weak}");
    assert!(
        weak.contains("so pace the rounds past it ([workload] pace = \"1s\")"),
        "the evidence says how to race this server: {weak}"
    );
    assert_eq!(ran.result.status(), "INCONCLUSIVE");
    assert!(
        ran.result
            .inconclusive()
            .unwrap_or_default()
            .contains("4 raced only a weak version token"),
        "{:?}",
        ran.result.inconclusive()
    );

    // 1.1 s after the last change the tag is strong, and exactly one writer wins.
    let ran = run_on(&paced(2), correct()).await;
    assert_one_winner_per_round(&ran, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mtime_etag_bug_is_caught_unpaced_and_hidden_by_a_pace() {
    // Unpaced, two same-length writes within one second share one strong tag, so every
    // writer of a round matches it (a round whose writes straddle a tick can have one
    // winner; with a one-minute tick, at most one of the four rounds can).
    let ran = run_on(DAV, coarse_clock(bugged(Bug::MtimeEtag))).await;
    assert!(
        ran.result.verdict.count(ViolationKind::MultipleWinners) >= 1,
        "{:?}",
        kinds(&ran.result)
    );
    // Paced a second apart, each winner's tag is of a new second: nothing to see.
    let ran = run_on(&paced(2), bugged(Bug::MtimeEtag)).await;
    assert_one_winner_per_round(&ran, 2);
}

const FRESH_EACH_ROUND: &str = r#"
name = "notes-fresh-each-round"
target = "builtin"

[workload]
kind = "stale-write"
writers = 6
rounds = 5

[resource]
create = { path = "/notes", json = { text = "seed" }, expect = [201], id = "header:Location", each = "round" }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}" }

[expect]
winner = [200]
conflict = [412]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_round_races_a_resource_created_for_it() {
    let ran = run_on(FRESH_EACH_ROUND, correct()).await;
    assert_one_winner_per_round(&ran, 5);
    let creates = ran
        .records
        .iter()
        .filter(|r| r.phase == Phase::Setup)
        .count();
    assert_eq!(creates, 5, "one create per round");
    let mut raced: Vec<&str> = ran.writes().iter().map(|w| w.url.as_str()).collect();
    raced.sort_unstable();
    raced.dedup();
    assert_eq!(
        raced.len(),
        5,
        "each round's writers race their own note: {raced:?}"
    );
    for round in &ran.result.verdict.rounds {
        assert_eq!(
            round.version_sent.as_deref(),
            Some("\"1\""),
            "a fresh note every round"
        );
    }

    let ran = run_on(FRESH_EACH_ROUND, bugged(Bug::Toctou)).await;
    assert_eq!(ran.result.verdict.count(ViolationKind::MultipleWinners), 5);
}

const MIXED: &str = r#"
name = "notes-put-patch-delete"
target = "builtin"

[workload]
kind = "stale-write"
writers = 6
rounds = 12

[resource]
create = { path = "/notes", json = { text = "seed" }, expect = [201], id = "header:Location", each = "round" }
read = { path = "{id}" }
version = "header:ETag"

[[write]]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}" }

[[write]]
method = "PATCH"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}" }

[[write]]
method = "DELETE"
path = "{id}"
headers = { "If-Match" = "{version}" }

[expect]
winner = [200, 204]
# A write that reaches a note already deleted finds nothing: 404 before any precondition.
conflict = [404, 412]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_put_patch_and_delete_race_one_version_and_exactly_one_wins() {
    let ran = run_on(MIXED, correct()).await;
    assert_one_winner_per_round(&ran, 12);
    for w in ran.writes() {
        let wanted = ["PUT", "PATCH", "DELETE"][w.writer.unwrap_or(0) as usize % 3];
        assert_eq!(w.method, wanted, "each writer's record says what it sent");
    }
    for round in &ran.result.verdict.rounds {
        let winner = ran
            .writes()
            .into_iter()
            .find(|w| w.round == round.round && w.outcome == Outcome::Winner)
            .expect("a winner");
        let verify = ran
            .records
            .iter()
            .find(|r| r.round == round.round && r.phase == Phase::Verify)
            .expect("a read back");
        let gone = verify.status == Some(404);
        assert_eq!(gone, winner.method == "DELETE", "round {}", round.round);
    }

    let ran = run_on(MIXED, bugged(Bug::Toctou)).await;
    assert_eq!(
        ran.result.verdict.count(ViolationKind::MultipleWinners),
        12,
        "{:?}",
        kinds(&ran.result)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_kept_by_the_server_is_caught_whatever_its_method() {
    let text = MIXED.replace("[[write]]\nmethod = \"DELETE\"\npath = \"{id}\"\nheaders = { \"If-Match\" = \"{version}\" }\n", "");
    let ran = run_on(&text, bugged(Bug::LoserApplied)).await;
    assert!(
        ran.result.verdict.count(ViolationKind::LoserWriteApplied) >= 10,
        "{:?}",
        kinds(&ran.result)
    );
}

const DB_REV: &str = r#"
name = "db-rev-two-locators"
target = "builtin"

[workload]
kind = "stale-write"
writers = 4
rounds = 5

[resource]
create = { path = "/db", json = { text = "seed" }, expect = [201], id = "header:Location" }
read = { path = "{id}" }
version = { read = "json:/_rev", write = "json:/rev" }

[write]
method = "PUT"
path = "{id}"
json = { _rev = "{version}", text = "{marker}" }

[expect]
winner = [201]
conflict = [409]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_couchdb_style_rev_is_read_as_rev_in_reads_and_rev_in_write_answers() {
    let ran = run_on(DB_REV, correct()).await;
    assert_one_winner_per_round(&ran, 5);
    let winners: Vec<&RequestRecord> = ran
        .writes()
        .into_iter()
        .filter(|w| w.outcome == Outcome::Winner)
        .collect();
    for (round, winner) in ran.result.verdict.rounds.iter().zip(&winners) {
        assert!(
            winner.version_returned.is_some(),
            "the winner's new rev is located"
        );
        assert_eq!(
            winner.version_returned.as_deref(),
            round.final_version.as_deref(),
            "the rev the winner was given is the one read back"
        );
    }
    let one_place = DB_REV.replace(
        "version = { read = \"json:/_rev\", write = \"json:/rev\" }",
        "version = \"json:/_rev\"",
    );
    let ran = run_on(&one_place, correct()).await;
    assert!(
        ran.writes().iter().all(|w| w.version_returned.is_none()),
        "a write's answer has no _rev"
    );
}

/// A CA, a client certificate it signed, and the client's key, written into `dir`.
fn client_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "contend test client CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let client_key = KeyPair::generate().expect("client key");
    let mut client_params =
        CertificateParams::new(vec!["contend-client".to_string()]).expect("client params");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params
        .signed_by(&client_key, &ca, &ca_key)
        .expect("client certificate");
    let paths = (
        dir.join("client-ca.pem"),
        dir.join("client.pem"),
        dir.join("client-key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).expect("written");
    std::fs::write(&paths.1, client.pem()).expect("written");
    std::fs::write(&paths.2, client_key.serialize_pem()).expect("written");
    paths
}

const EXISTING_NOTE: &str = r#"
name = "mtls-notes"

[workload]
kind = "stale-write"
writers = 4
rounds = 4

[resource]
create = { path = "/notes", json = { text = "seed" }, expect = [201], id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}" }

[expect]
winner = [200]
conflict = [412]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_a_client_certificate_refuses_without_one_and_passes_with_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, cert, key) = client_pki(dir.path());
    let identity = contend::server::SelfSigned::generate().expect("server certificate");
    let server_cert = dir.path().join("server.pem");
    std::fs::write(&server_cert, &identity.cert_pem).expect("written");
    let ca_pem = std::fs::read(&ca).expect("CA");
    let server = contend::server::start_tls_with(
        correct(),
        ([127, 0, 0, 1], 0).into(),
        &identity,
        Some(&ca_pem),
    )
    .await
    .expect("bind");
    let target = format!("https://127.0.0.1:{}", server.addr().port());
    for mode in SyncMode::ALL {
        let refused = run_with(EXISTING_NOTE, correct(), |o| {
            o.target = Some(target.clone());
            o.ca_cert = Some(server_cert.clone());
            o.sync = Some(mode.into());
        })
        .await;
        let error = refused
            .result
            .error
            .clone()
            .expect("refused in the handshake");
        assert!(
            error.contains("client certificate") && error.contains("--client-cert"),
            "{mode}: the message names the problem and the flag: {error}"
        );
        assert!(!error.contains("is the server running"), "{mode}: {error}");

        let passed = run_with(EXISTING_NOTE, correct(), |o| {
            o.target = Some(target.clone());
            o.ca_cert = Some(server_cert.clone());
            o.client_cert = Some(cert.clone());
            o.client_key = Some(key.clone());
            o.sync = Some(mode.into());
        })
        .await;
        assert_one_winner_per_round(&passed, 4);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_trusts_a_self_signed_server_and_warns_and_without_it_the_flag_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let identity = contend::server::SelfSigned::generate().expect("certificate");
    let server = contend::server::start_tls(correct(), ([127, 0, 0, 1], 0).into(), &identity)
        .await
        .expect("bind");
    let target = format!("https://127.0.0.1:{}", server.addr().port());
    let file = dir.path().join("note.toml");
    std::fs::write(&file, EXISTING_NOTE).expect("written");
    let cwd = dir.path().to_path_buf();
    let (untrusted, insecure) = tokio::task::spawn_blocking(move || {
        let run = |extra: &[&str]| {
            let mut args = vec!["run", file.to_str().unwrap(), "--target", &target];
            args.extend_from_slice(extra);
            // The messages whole, on one line each.
            args.extend_from_slice(&["--out", "out", "--wide"]);
            common::binary::contend(&args, &cwd)
        };
        (run(&[]), run(&["--insecure", "--sync", "last-byte"]))
    })
    .await
    .expect("the binary runs");
    let text = common::binary::text(&untrusted);
    assert_eq!(untrusted.status.code(), Some(2), "{text}");
    assert!(
        text.contains(
            "TLS: the server's certificate is signed by an authority contend does not trust"
        ) && text.contains("--ca-cert"),
        "{text}"
    );
    let text = common::binary::text(&insecure);
    assert_eq!(insecure.status.code(), Some(0), "{text}");
    assert!(text.contains("warning: --insecure"), "{text}");
    assert!(text.contains("PASS"), "{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_reaches_https_targets_with_their_certificate_in_a_raw_sync_mode_and_writes_junit()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let (good, cert) = common::servers::start_trusted_tls(correct(), dir.path()).await;
    // The bugged one has its own certificate: both go in one PEM file.
    let identity = contend::server::SelfSigned::generate().expect("certificate");
    let bad =
        contend::server::start_tls(bugged(Bug::Toctou), ([127, 0, 0, 1], 0).into(), &identity)
            .await
            .expect("bind");
    let both = dir.path().join("both.pem");
    let mut pem = std::fs::read_to_string(&cert).expect("pem");
    pem.push_str(&identity.cert_pem);
    std::fs::write(&both, pem).expect("written");
    let file = dir.path().join("note.toml");
    std::fs::write(&file, EXISTING_NOTE).expect("written");
    let good_target = format!("good=https://127.0.0.1:{}", good.addr().port());
    let bad_target = format!("bad=https://127.0.0.1:{}", bad.addr().port());
    let cwd = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        common::binary::contend(
            &[
                "compare",
                file.to_str().unwrap(),
                "--target",
                &good_target,
                "--target",
                &bad_target,
                "--ca-cert",
                both.to_str().unwrap(),
                "--sync",
                "last-byte",
                "--arrivals",
                "--junit",
                "junit.xml",
                "--out",
                "out",
            ],
            &cwd,
        )
    })
    .await
    .expect("the binary runs");
    let text = common::binary::text(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the bugged target fails: {text}"
    );
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("name=\"good / mtls-notes\""), "{junit}");
    assert!(junit.contains("name=\"bad / mtls-notes\""), "{junit}");
    assert!(junit.contains("type=\"multiple_winners\""), "{junit}");
    let rounds = std::fs::read_to_string(dir.path().join("out/good/rounds.csv")).expect("rounds");
    let header: Vec<&str> = rounds
        .lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .collect();
    let spread = header
        .iter()
        .position(|h| *h == "arrival_spread_us")
        .expect("an arrival column");
    let first = rounds.lines().nth(1).expect("a round");
    assert!(
        !first.split(',').nth(spread).unwrap_or_default().is_empty(),
        "--arrivals fetched the stamps: {first}"
    );
    assert!(
        std::fs::read_to_string(dir.path().join("out/good/summary.csv"))
            .expect("summary")
            .contains("last-byte"),
        "--sync reached the runs"
    );
    good.stop().await;
    bad.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counters_and_a_sustained_workloads_own_connections_carry_the_session_too() {
    let counter = SESSION
        .replace(
            "kind = \"stale-write\"\nwriters = 6\nrounds = 5",
            "kind = \"counter\"\nwriters = 4\nincrements = 5",
        )
        .replace("json = { text = \"seed\" }", "json = { count = 0 }")
        .replace(
            "version = \"header:ETag\"",
            "version = \"header:ETag\"\nvalue = \"json:/count\"",
        )
        .replace(
            "json = { text = \"{marker}\" }",
            "json = { count = \"{next}\" }",
        );
    let ran = run_on(&counter, correct()).await;
    assert!(
        ran.result.passed(),
        "{:?} {:?}",
        kinds(&ran.result),
        ran.result.error
    );
    let figures = ran.result.verdict.counter.clone().expect("counter figures");
    assert_eq!((figures.initial, figures.final_value), (Some(0), Some(20)));

    let sustained = counter.replace(
        "kind = \"counter\"\nwriters = 4\nincrements = 5",
        "kind = \"sustained\"\nconnections = 3\nrequests = 60",
    );
    let ran = run_on(&sustained, correct()).await;
    assert!(
        ran.result.passed(),
        "{:?} {:?}",
        kinds(&ran.result),
        ran.result.error
    );
    assert_eq!(ran.result.verdict.counts.writes, 60);
    assert_eq!(
        ran.result.verdict.counts.unexpected, 0,
        "no write was refused its session"
    );
}
