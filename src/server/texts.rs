//! `/texts/{name}` and `/dav/{name}`: plain-text resources whose state lives in the text
//! itself (a counter as a `COUNT:41` line, an iCalendar `SUMMARY:count 41`...), for
//! scenarios that read a value out of a text body with a regex, and for rounds that must
//! be paced because a version only changes once per second.
//!
//! Both families store any UTF-8 text under a client-chosen name, with the request's
//! `Content-Type` (default `text/plain; charset=utf-8`), and take the same `PUT`:
//! `If-None-Match: *` creates only (412 if the text exists), `If-Match` replaces only
//! the version it names (412 otherwise, and for a text that does not exist), a `PUT`
//! without either creates a missing text (201) but gets 428 for an existing one (applied
//! under `no-428`). The check and the write are one lock hold, so of N simultaneous
//! conditional writers exactly one wins; `toctou` opens a window in `If-Match` writes and
//! `dup-create` in creations, and the conflict bugs rewrite their 412s. A 412 carries the
//! current `ETag`, as a header and as `current_etag`.
//!
//! They differ in their `ETag`:
//! - `/texts`: the version, strong (`"3"`); `PUT` answers 201/200 with the text stored.
//! - `/dav`: made the way static-file and WebDAV servers make it (nginx's format), from
//!   the one-second modification time and the length, `"{mtime secs:x}-{len:x}"`;
//!   `PUT` answers 201/204 without a body, as WebDAV servers do. Two writes of the same
//!   length within one second get the same tag, so the tag cannot tell them apart. The
//!   correct server therefore serves the tag weak (`W/"…"`) until a second has passed
//!   since the last change (Apache httpd's rule), and a weak tag never satisfies
//!   `If-Match` (strong comparison, RFC 9110 §8.8.3.2): a conditional write sent less
//!   than a second after the last change gets 412, and only rounds paced at least a
//!   second apart can have a winner. That is also when the race bugs show: under
//!   `toctou` unpaced rounds are all 412 and paced rounds have several winners. The
//!   `mtime-etag` bug serves the tag strong at once: two same-length writes within one
//!   second share one strong tag, so a stale `If-Match` matches and every writer of an
//!   unpaced round wins; rounds paced a second apart hide it (each winner's tag is of a
//!   new second), so a pace is no cure for it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::conditional::{Failed, Preconditions, Tag};
use super::problem::{bad_request, Problem};
use super::store::lock;
use super::{AppState, Bug, SharedState};

/// The content type of a text stored without one.
const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// How `/dav` makes its tag: the mtime's granularity ([`ServerConfig::mtime_granularity`],
/// one second unless a test asks for a coarser clock, so that rounds are certain to
/// fall within one tick), and whether the `mtime-etag` bug serves it strong at once.
///
/// [`ServerConfig::mtime_granularity`]: super::ServerConfig::mtime_granularity
#[derive(Debug, Clone, Copy)]
struct DavClock {
    granularity: Duration,
    strong_at_once: bool,
}

impl DavClock {
    fn of(state: &AppState) -> DavClock {
        DavClock {
            granularity: state.config.mtime_granularity.max(Duration::from_millis(1)),
            strong_at_once: state.policy.has(Bug::MtimeEtag),
        }
    }
}

/// The `/texts` and `/dav` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/texts/{name}",
            get(
                |State(state): State<SharedState>, Path(name): Path<String>| async move {
                    read(&state, Family::Texts, &name)
                },
            )
            .put(
                |State(state): State<SharedState>,
                 Path(name): Path<String>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    put(&state, Family::Texts, name, &headers, &body).await
                },
            ),
        )
        .route(
            "/dav/{name}",
            get(
                |State(state): State<SharedState>, Path(name): Path<String>| async move {
                    read(&state, Family::Dav, &name)
                },
            )
            .put(
                |State(state): State<SharedState>,
                 Path(name): Path<String>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    put(&state, Family::Dav, name, &headers, &body).await
                },
            ),
        )
}

/// Every text of one family by name, behind one lock (a create checks the whole table).
#[derive(Debug, Default)]
pub(super) struct Texts {
    table: Mutex<BTreeMap<String, StoredText>>,
}

/// Which of the two families: they differ only in how they make their `ETag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `/texts`: the version.
    Texts,
    /// `/dav`: the one-second mtime and the length.
    Dav,
}

impl Family {
    /// The family's table.
    fn table(self, state: &AppState) -> &Texts {
        match self {
            Family::Texts => &state.texts,
            Family::Dav => &state.dav,
        }
    }

    /// Where a text of this family lives.
    fn location(self, name: &str) -> String {
        let collection = match self {
            Family::Texts => "texts",
            Family::Dav => "dav",
        };
        let mut url = url::Url::parse("http://localhost/").expect("literal URL");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().push(collection).push(name);
        }
        url.path().to_owned()
    }
}

/// One text: its content, its content type, its version and when it last changed.
#[derive(Debug, Clone)]
struct StoredText {
    content: String,
    content_type: String,
    /// 1 when created, one more for every write since.
    version: u64,
    /// The wall-clock time of the last change: the mtime `/dav`'s tag is made of.
    modified: SystemTime,
    /// The same instant on the monotonic clock, to tell when a second has passed.
    changed_at: Instant,
}

impl StoredText {
    /// A text just written at version 1.
    fn new(content: String, content_type: String) -> StoredText {
        StoredText {
            content,
            content_type,
            version: 1,
            modified: SystemTime::now(),
            changed_at: Instant::now(),
        }
    }

    /// Replaces the content and moves to the next version, modified now.
    fn replace(&mut self, content: String, content_type: String) {
        self.content = content;
        self.content_type = content_type;
        self.version += 1;
        self.modified = SystemTime::now();
        self.changed_at = Instant::now();
    }

    /// The text's current `ETag` in `family`; under the `mtime-etag` bug `/dav`'s tag is
    /// strong even within the tick of a change.
    fn tag(&self, family: Family, clock: DavClock) -> Tag {
        match family {
            Family::Texts => Tag::strong(self.version),
            Family::Dav => {
                let ticks = self
                    .modified
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |since| since.as_nanos() / clock.granularity.as_nanos());
                let tag = Tag::strong(format!("{ticks:x}-{:x}", self.content.len()));
                Tag {
                    weak: !clock.strong_at_once && self.changed_at.elapsed() < clock.granularity,
                    ..tag
                }
            }
        }
    }
}

/// Why a `PUT` was refused.
enum Refused {
    /// The text exists and the request had no precondition: 428.
    PreconditionRequired,
    /// A precondition failed against the current tag (`None`: no text): 412.
    Failed(Failed, Option<Tag>),
}

/// `GET /texts/{name}`, `GET /dav/{name}`: the text as stored, with its `ETag`.
fn read(state: &AppState, family: Family, name: &str) -> Response {
    let clock = DavClock::of(state);
    let text = lock(&family.table(state).table).get(name).cloned();
    match text {
        Some(text) => {
            let tag = text.tag(family, clock);
            (
                StatusCode::OK,
                [
                    (header::ETAG, tag.header()),
                    (header::CONTENT_TYPE, text.content_type),
                ],
                text.content,
            )
                .into_response()
        }
        None => Problem::new(
            StatusCode::NOT_FOUND,
            format!("there is no text named {name:?}"),
        )
        .into_response(),
    }
}

/// `PUT /texts/{name}`, `PUT /dav/{name}`: creates or replaces under the request's
/// preconditions (see the module documentation).
async fn put(
    state: &AppState,
    family: Family,
    name: String,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Ok(content) = String::from_utf8(body.to_vec()) else {
        return bad_request("the request body must be UTF-8 text");
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or(DEFAULT_CONTENT_TYPE)
        .to_owned();
    let preconditions = Preconditions::from_headers(headers);
    let racy_under = if preconditions.if_match.is_some() {
        Bug::Toctou
    } else {
        Bug::DupCreate
    };
    let clock = DavClock::of(state);
    let requires_precondition = state.policy.requires_precondition();
    let outcome = state
        .policy
        .check_then_commit(
            racy_under,
            &family.table(state).table,
            |texts| {
                let current = texts.get(&name).map(|text| text.tag(family, clock));
                if current.is_some() && preconditions.is_empty() && requires_precondition {
                    return Err(Refused::PreconditionRequired);
                }
                match preconditions.evaluate(current.as_ref()) {
                    Ok(()) => Ok(current.is_some()),
                    Err(failed) => Err(Refused::Failed(failed, current)),
                }
            },
            |texts, existed| {
                let (status, text) = match texts.get_mut(&name) {
                    Some(text) => {
                        text.replace(content, content_type);
                        // Absent when checked, created since (a racy create): a second
                        // creation, answered as one.
                        let status = if existed {
                            StatusCode::OK
                        } else {
                            StatusCode::CREATED
                        };
                        (status, text.clone())
                    }
                    None => {
                        let text = StoredText::new(content, content_type);
                        texts.insert(name.clone(), text.clone());
                        (StatusCode::CREATED, text)
                    }
                };
                let tag = text.tag(family, clock);
                (status, tag, text)
            },
        )
        .await;
    match outcome {
        Ok((status, tag, text)) => written(family, &name, status, &tag, text),
        Err(refused) => refusal(family, &name, &preconditions, refused),
    }
}

/// The answer to a write that was applied.
fn written(
    family: Family,
    name: &str,
    status: StatusCode,
    tag: &Tag,
    text: StoredText,
) -> Response {
    let mut response = match family {
        Family::Texts => (
            status,
            [
                (header::ETAG, tag.header()),
                (header::CONTENT_TYPE, text.content_type),
            ],
            text.content,
        )
            .into_response(),
        Family::Dav => {
            let status = if status == StatusCode::OK {
                StatusCode::NO_CONTENT
            } else {
                status
            };
            (status, [(header::ETAG, tag.header())]).into_response()
        }
    };
    if status == StatusCode::CREATED {
        if let Ok(location) = family.location(name).parse() {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

/// The answer to a write that was refused: 428, or 412 with the current `ETag`.
fn refusal(
    family: Family,
    name: &str,
    preconditions: &Preconditions,
    refused: Refused,
) -> Response {
    let (failed, current) = match refused {
        Refused::PreconditionRequired => {
            return Problem::new(
                StatusCode::PRECONDITION_REQUIRED,
                format!(
                    "the text {name:?} exists and this API requires conditional writes: send \
                     If-Match with the ETag you read"
                ),
            )
            .into_response()
        }
        Refused::Failed(failed, current) => (failed, current),
    };
    let sent = preconditions.failed_header(&failed);
    let mut detail = match (&failed, &current) {
        (Failed::NothingToMatch, _) | (_, None) => {
            format!("there is no text named {name:?} for {sent} to match")
        }
        (Failed::Mismatch, Some(current)) => format!(
            "{sent} does not match the current ETag {}",
            current.header()
        ),
        (Failed::Exists, Some(current)) if preconditions.create_only() => format!(
            "a text named {name:?} already exists (ETag {})",
            current.header()
        ),
        (Failed::Exists, Some(current)) => {
            format!("{sent} matches the current ETag {}", current.header())
        }
    };
    if family == Family::Dav && current.as_ref().is_some_and(|tag| tag.weak) {
        detail.push_str(
            "; the ETag is weak because the text changed less than a second ago, and a \
             weak ETag never satisfies If-Match: read it again a second after the change",
        );
    }
    let problem = Problem::new(StatusCode::PRECONDITION_FAILED, detail);
    match current {
        Some(current) => problem
            .with_member("current_etag", current.header())
            .with_etag(current.header())
            .into_response(),
        None => problem.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use reqwest::Client;

    use super::Family;
    use crate::server::testing::{send, statuses, Reply, TestServer};
    use crate::server::Bug;

    /// `PUT path` with a text body and these headers.
    async fn put_text(
        server: &TestServer,
        path: &str,
        headers: &[(&str, &str)],
        text: &str,
    ) -> Reply {
        let mut put = Client::new().put(server.url(path)).body(text.to_owned());
        for (name, value) in headers {
            put = put.header(*name, *value);
        }
        send(put).await
    }

    /// Fires `writers` simultaneous `If-Match: token` writes of `path`; writer `i`
    /// writes `COUNT:{count}` and `WRITER:{i}` (the same length for every `i` below 10).
    async fn race(
        server: &TestServer,
        path: &str,
        token: &str,
        count: u64,
        writers: usize,
    ) -> Vec<Reply> {
        let url = server.url(path);
        server
            .burst(writers, |client, i| {
                client
                    .put(&url)
                    .header("if-match", token)
                    .body(format!("COUNT:{count}\nWRITER:{i}\n"))
            })
            .await
    }

    /// What a race's writes are created with: as long as each writer's text, so that
    /// only the mtime can tell `/dav`'s versions apart.
    const SEED: &str = "COUNT:41\nWRITER:c\n";

    /// Sleeps until just after the wall clock's next whole second, so what follows
    /// within the next 900 ms shares one mtime second.
    async fn start_of_a_second() {
        let into = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .subsec_nanos();
        let left = Duration::from_secs(1) - Duration::from_nanos(u64::from(into));
        tokio::time::sleep(left + Duration::from_millis(10)).await;
    }

    const CREATE_ONLY: [(&str, &str); 1] = [("if-none-match", "*")];

    #[test]
    fn a_location_percent_encodes_the_name() {
        assert_eq!(Family::Texts.location("a b/c"), "/texts/a%20b%2Fc");
        assert_eq!(Family::Dav.location("count.txt"), "/dav/count.txt");
    }

    #[tokio::test]
    async fn a_create_only_put_stores_the_text_and_answers_201_with_its_version_etag() {
        let server = TestServer::correct().await;
        let created = put_text(&server, "/texts/count", &CREATE_ONLY, "COUNT:41\n").await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("etag"), Some("\"1\""));
        assert_eq!(created.header("location"), Some("/texts/count"));
        assert_eq!(created.text, "COUNT:41\n");
        let read = server.get("/texts/count").await;
        assert_eq!(read.status, 200);
        assert_eq!(read.header("etag"), Some("\"1\""));
        assert_eq!(
            read.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(read.text, "COUNT:41\n");
        server.stop().await;
    }

    #[tokio::test]
    async fn a_text_keeps_the_content_type_it_was_written_with() {
        let server = TestServer::correct().await;
        let event = "BEGIN:VEVENT\r\nSUMMARY:count 41\r\nEND:VEVENT\r\n";
        let headers = [("content-type", "text/calendar"), ("if-none-match", "*")];
        put_text(&server, "/texts/event.ics", &headers, event).await;
        let read = server.get("/texts/event.ics").await;
        assert_eq!(read.header("content-type"), Some("text/calendar"));
        assert_eq!(read.text, event);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_put_with_the_current_etag_replaces_the_counter_line_and_advances_the_etag() {
        let server = TestServer::correct().await;
        put_text(&server, "/texts/count", &CREATE_ONLY, "COUNT:41\n").await;
        let replaced = put_text(
            &server,
            "/texts/count",
            &[("if-match", "\"1\"")],
            "COUNT:42\n",
        )
        .await;
        assert_eq!(replaced.status, 200);
        assert_eq!(replaced.header("etag"), Some("\"2\""));
        assert_eq!(replaced.header("location"), None);
        assert_eq!(server.get("/texts/count").await.text, "COUNT:42\n");
        server.stop().await;
    }

    #[tokio::test]
    async fn a_stale_if_match_gets_412_naming_the_current_etag_and_changes_nothing() {
        let server = TestServer::correct().await;
        put_text(&server, "/texts/count", &CREATE_ONLY, "COUNT:41\n").await;
        put_text(
            &server,
            "/texts/count",
            &[("if-match", "\"1\"")],
            "COUNT:42\n",
        )
        .await;
        let stale = put_text(
            &server,
            "/texts/count",
            &[("if-match", "\"1\"")],
            "COUNT:42\n",
        )
        .await;
        assert_eq!(stale.status, 412);
        assert_eq!(stale.header("etag"), Some("\"2\""));
        assert_eq!(
            stale.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(stale.body["current_etag"], "\"2\"");
        assert_eq!(
            stale.body["detail"],
            "If-Match \"1\" does not match the current ETag \"2\""
        );
        let read = server.get("/texts/count").await;
        assert_eq!(
            (read.text.as_str(), read.header("etag")),
            ("COUNT:42\n", Some("\"2\""))
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn create_only_of_an_existing_text_and_if_match_of_a_missing_one_get_412() {
        let server = TestServer::correct().await;
        put_text(&server, "/texts/a", &CREATE_ONLY, "one").await;
        let again = put_text(&server, "/texts/a", &CREATE_ONLY, "two").await;
        assert_eq!(again.status, 412);
        assert_eq!(
            again.body["detail"],
            "a text named \"a\" already exists (ETag \"1\")"
        );
        let missing = put_text(&server, "/texts/b", &[("if-match", "\"1\"")], "x").await;
        assert_eq!(missing.status, 412);
        assert_eq!(
            missing.body["detail"],
            "there is no text named \"b\" for If-Match \"1\" to match"
        );
        assert_eq!(missing.header("etag"), None);
        assert_eq!(server.get("/texts/a").await.text, "one");
        assert_eq!(server.get("/texts/b").await.status, 404);
        server.stop().await;
    }

    #[tokio::test]
    async fn an_unconditional_put_creates_a_missing_text_but_gets_428_for_an_existing_one() {
        let server = TestServer::correct().await;
        let created = put_text(&server, "/texts/a", &[], "one").await;
        assert_eq!(created.status, 201);
        let blind = put_text(&server, "/texts/a", &[], "two").await;
        assert_eq!(blind.status, 428);
        assert_eq!(blind.body["status"], 428);
        assert_eq!(server.get("/texts/a").await.text, "one");
        server.stop().await;
    }

    #[tokio::test]
    async fn no_428_lets_an_unconditional_put_replace_a_text() {
        let server = TestServer::with_bug(Bug::No428, Duration::ZERO).await;
        put_text(&server, "/texts/a", &[], "one").await;
        let blind = put_text(&server, "/texts/a", &[], "two").await;
        assert_eq!(blind.status, 200);
        assert_eq!(blind.header("etag"), Some("\"2\""));
        server.stop().await;
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_400_and_a_missing_text_a_404() {
        let server = TestServer::correct().await;
        let put = Client::new()
            .put(server.url("/texts/a"))
            .body(vec![0xff_u8, 0xfe]);
        let binary = send(put).await;
        assert_eq!(binary.status, 400);
        assert_eq!(binary.body["detail"], "the request body must be UTF-8 text");
        let missing = server.get("/texts/a").await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.body["detail"], "there is no text named \"a\"");
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_16_simultaneous_if_match_writers_exactly_one_wins_and_its_text_is_stored() {
        let server = TestServer::correct().await;
        put_text(&server, "/texts/count", &CREATE_ONLY, "COUNT:41\n").await;
        let replies = race(&server, "/texts/count", "\"1\"", 42, 16).await;
        assert_eq!(statuses(&replies), [(200, 1), (412, 15)].into());
        let winner = replies
            .iter()
            .find(|reply| reply.status == 200)
            .expect("one winner");
        let read = server.get("/texts/count").await;
        assert_eq!(read.text, winner.text);
        assert_eq!(read.header("etag"), Some("\"2\""));
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn toctou_lets_several_simultaneous_if_match_writers_of_a_text_win() {
        let server = TestServer::with_bug(Bug::Toctou, Duration::from_millis(200)).await;
        put_text(&server, "/texts/count", &CREATE_ONLY, "COUNT:41\n").await;
        let replies = race(&server, "/texts/count", "\"1\"", 42, 8).await;
        let winners = replies.iter().filter(|reply| reply.is_success()).count();
        assert!(winners > 1, "{replies:?}");
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dup_create_lets_several_simultaneous_create_only_puts_of_a_text_create() {
        let server = TestServer::with_bug(Bug::DupCreate, Duration::from_millis(150)).await;
        let url = server.url("/texts/new");
        let replies = server
            .burst(8, |client, i| {
                client
                    .put(&url)
                    .header("if-none-match", "*")
                    .body(format!("WRITER:{i}"))
            })
            .await;
        let created = replies.iter().filter(|reply| reply.status == 201).count();
        assert!(created > 1, "{replies:?}");
        server.stop().await;
    }

    #[tokio::test]
    async fn conflict_500_rewrites_a_texts_412() {
        let server = TestServer::with_bug(Bug::Conflict500, Duration::ZERO).await;
        put_text(&server, "/texts/a", &CREATE_ONLY, "one").await;
        let again = put_text(&server, "/texts/a", &CREATE_ONLY, "two").await;
        assert_eq!(again.status, 500);
        assert_eq!(again.body["error"], "internal error");
        server.stop().await;
    }

    #[tokio::test]
    async fn dav_answers_a_write_201_or_204_without_a_body_and_a_weak_mtime_size_etag() {
        let server = TestServer::correct().await;
        let created = put_text(&server, "/dav/count.txt", &CREATE_ONLY, "COUNT:41\n").await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/dav/count.txt"));
        assert_eq!(created.text, "");
        let etag = created.header("etag").expect("an ETag").to_owned();
        let opaque = etag
            .strip_prefix("W/\"")
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_else(|| panic!("weak right after the change: {etag}"));
        let (secs, len) = opaque.split_once('-').expect("mtime-length");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
        let secs = u64::from_str_radix(secs, 16).expect("hex seconds");
        assert!(now.as_secs().abs_diff(secs) <= 1, "{etag}: mtime is now");
        assert_eq!(len, "9", "the length, in hex");
        let read = server.get("/dav/count.txt").await;
        assert_eq!(read.text, "COUNT:41\n");
        assert_eq!(read.header("etag"), Some(etag.as_str()));

        let star = put_text(
            &server,
            "/dav/count.txt",
            &[("if-match", "*")],
            "COUNT:42\n",
        )
        .await;
        assert_eq!(star.status, 204);
        assert_eq!(star.text, "");
        server.stop().await;
    }

    #[tokio::test]
    async fn dav_refuses_if_match_within_a_second_of_a_change_and_accepts_it_after() {
        let server = TestServer::correct().await;
        let created = put_text(&server, "/dav/count.txt", &CREATE_ONLY, "COUNT:41\n").await;
        let weak = created.header("etag").expect("an ETag").to_owned();
        let strong = weak.trim_start_matches("W/").to_owned();
        for sent in [&weak, &strong] {
            let early = put_text(
                &server,
                "/dav/count.txt",
                &[("if-match", sent)],
                "COUNT:42\n",
            )
            .await;
            assert_eq!(early.status, 412, "If-Match {sent}: {early:?}");
            assert_eq!(early.header("etag"), Some(weak.as_str()));
            let detail = early.body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("the ETag is weak"), "{detail}");
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let read = server.get("/dav/count.txt").await;
        assert_eq!(
            read.header("etag"),
            Some(strong.as_str()),
            "strong after a second"
        );
        let paced = put_text(
            &server,
            "/dav/count.txt",
            &[("if-match", &strong)],
            "COUNT:42\n",
        )
        .await;
        assert_eq!(paced.status, 204);
        assert_eq!(server.get("/dav/count.txt").await.text, "COUNT:42\n");
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dav_has_no_winner_in_an_unpaced_round_and_exactly_one_in_a_paced_one() {
        let server = TestServer::correct().await;
        let created = put_text(&server, "/dav/count.txt", &CREATE_ONLY, SEED).await;
        let weak = created.header("etag").expect("an ETag").to_owned();
        let unpaced = race(&server, "/dav/count.txt", &weak, 42, 8).await;
        assert_eq!(statuses(&unpaced), [(412, 8)].into());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let strong = server.get("/dav/count.txt").await;
        let token = strong.header("etag").expect("an ETag");
        let paced = race(&server, "/dav/count.txt", token, 42, 8).await;
        assert_eq!(statuses(&paced), [(204, 1), (412, 7)].into());
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn toctou_on_dav_only_shows_in_paced_rounds() {
        let server = TestServer::with_bug(Bug::Toctou, Duration::from_millis(200)).await;
        let created = put_text(&server, "/dav/count.txt", &CREATE_ONLY, SEED).await;
        let weak = created.header("etag").expect("an ETag").to_owned();
        let unpaced = race(&server, "/dav/count.txt", &weak, 42, 8).await;
        assert_eq!(statuses(&unpaced), [(412, 8)].into(), "weak: nobody wins");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let strong = server.get("/dav/count.txt").await;
        let token = strong.header("etag").expect("an ETag");
        let paced = race(&server, "/dav/count.txt", token, 42, 8).await;
        let winners = paced.iter().filter(|reply| reply.is_success()).count();
        assert!(winners > 1, "{paced:?}");
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mtime_etag_gives_two_writes_in_one_second_one_strong_etag_so_every_writer_wins() {
        let server = TestServer::with_bug(Bug::MtimeEtag, Duration::ZERO).await;
        start_of_a_second().await;
        let created = put_text(&server, "/dav/count.txt", &CREATE_ONLY, SEED).await;
        let token = created.header("etag").expect("an ETag").to_owned();
        assert!(!token.starts_with("W/"), "served strong at once: {token}");
        let replies = race(&server, "/dav/count.txt", &token, 42, 8).await;
        assert_eq!(statuses(&replies), [(204, 8)].into());
        let read = server.get("/dav/count.txt").await;
        assert_eq!(
            read.header("etag"),
            Some(token.as_str()),
            "the tag did not move"
        );
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mtime_etag_is_hidden_by_rounds_paced_a_second_apart() {
        let server = TestServer::with_bug(Bug::MtimeEtag, Duration::ZERO).await;
        put_text(&server, "/dav/count.txt", &CREATE_ONLY, SEED).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let read = server.get("/dav/count.txt").await;
        let token = read.header("etag").expect("an ETag");
        let paced = race(&server, "/dav/count.txt", token, 42, 8).await;
        assert_eq!(statuses(&paced), [(204, 1), (412, 7)].into());
        server.stop().await;
    }
}
