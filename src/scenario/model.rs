//! The scenario model: what one scenario file says, after parsing and validation.
//!
//! Every later stage reads these types; nothing here does I/O. Templates keep their
//! placeholders parsed, so rendering a request on the engine's side cannot fail on syntax.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

pub use super::sync::{ConnectionPolicy, PassedOver, SyncChoice, SyncMode, SyncRan};

/// One validated scenario file: an API resource and the workload to run against it.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from (for messages and reports).
    pub path: PathBuf,
    /// Unique name, used in reports.
    pub name: String,
    pub description: String,
    /// Where to send traffic unless `--target` overrides it.
    pub target: Target,
    /// Headers sent with every request (an `Authorization` from the environment, say). A
    /// header that uses a capture is sent once the capture has a value.
    pub headers: Vec<(String, Template)>,
    /// Query parameters sent with every request (a shared-access signature), after the
    /// request's own.
    pub query: Option<SharedQuery>,
    /// The set-up steps (`[[setup]]`), run in order before the resource is set up; their
    /// captures are placeholders in every later request.
    pub setup: Vec<SetupStep>,
    /// How every request authenticates (`[auth]`).
    pub auth: Auth,
    pub workload: Workload,
    pub resource: Resource,
    /// The contended writes (`[write]`, or `[[write]]` for writers that send different
    /// requests): writer `w` sends `writes[w % writes.len()]`. Never empty.
    pub writes: Vec<RequestTemplate>,
    pub expect: Expect,
    /// Per-request timeout; a request that exceeds it is `indeterminate`.
    pub timeout: Duration,
    /// How a round's writes are released together: one mode, or `auto`.
    pub sync: SyncChoice,
    /// How long the writers' connections live: kept for the scenario or fresh every
    /// round. Read only by workloads whose writes are released together.
    pub writer_connections: ConnectionPolicy,
    /// Values that came from `${ENV}` interpolation, a target's password and `[auth]`'s
    /// Basic credentials, redacted in every form from anything contend writes; shared, so
    /// the secrets learned during the run (captured tokens, cookies) join it.
    pub secrets: super::Secrets,
    /// Release-gate conditions on the scenario's figures (`thresholds` in the file).
    pub thresholds: Vec<crate::metrics::Threshold>,
    /// The share of writes that may end indeterminate or not sent before the verdict is
    /// INCONCLUSIVE (`inconclusive_above` in the file); `None` for the default,
    /// [`DEFAULT_INCONCLUSIVE_ABOVE`].
    pub inconclusive_above: Option<f64>,
}

/// The default `inconclusive_above`: a scenario in which more than one write in ten was
/// indeterminate or not sent is INCONCLUSIVE, whatever the rest showed (unless it
/// showed a violation).
pub const DEFAULT_INCONCLUSIVE_ABOVE: f64 = 0.1;

impl Scenario {
    /// The write writer `w` sends: the `[[write]]` tables taken in turn.
    pub fn write_for(&self, writer: u32) -> &RequestTemplate {
        &self.writes[writer as usize % self.writes.len()]
    }
}

/// Query parameters sent with every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedQuery {
    /// Name and value pairs, each value percent-encoded as a query value.
    Pairs(Vec<(String, Template)>),
    /// A query string sent exactly as written (`sv=2021-08-06&sig=abc%2F...`), for
    /// signatures that must arrive byte for byte as they were made.
    Raw(String),
}

/// One `[[setup]]` step: a request, the statuses it must get, and what it captures.
#[derive(Debug, Clone)]
pub struct SetupStep {
    /// Unique among the steps; `[auth] refresh` names the step it re-runs.
    pub name: String,
    pub request: RequestTemplate,
    /// The statuses the step must get; empty: any 2xx.
    pub expect: Vec<u16>,
    /// Values taken from the answer, each a placeholder `{name}` from then on.
    pub captures: Vec<Capture>,
}

/// A value taken from a set-up step's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The placeholder's name (`{token}`).
    pub name: String,
    /// Where the value is in the answer.
    pub from: Locator,
    /// Whether the value is a credential, redacted (`***`) from everything written: a
    /// cookie, a value `[auth]` sends, or one the step marks `secret`.
    pub secret: bool,
}

/// How every request of a scenario authenticates (`[auth]`).
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// The `Authorization` header every request carries, if any.
    pub credentials: Option<Credentials>,
    /// When to re-run the login step.
    pub refresh: Option<Refresh>,
    /// Keep cookies: those set by the set-up steps go with every request of every
    /// connection; those set on a connection afterwards go with its later requests.
    pub cookies: bool,
}

/// The credentials of [`Auth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Basic base64(user:password)` (RFC 7617).
    Basic { user: String, password: String },
    /// `Authorization: Bearer <token>` (RFC 6750); the token may be a capture.
    Bearer(Template),
}

/// When the login step is run again during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refresh {
    /// The index in [`Scenario::setup`] of the step to re-run.
    pub step: usize,
    /// Before a round (or a counter's or sustained workload's attempt) once this long has
    /// passed since the last login.
    pub every: Option<Duration>,
    /// When a request outside the race (a read or verify) gets one of these statuses:
    /// log in again, and send a round's read once more (a counter's or sustained
    /// workload's next attempt carries the new login). A raced write is never re-sent.
    pub on: Vec<u16>,
}

/// Where a scenario sends its traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The embedded reference server, started in-process on a loopback port.
    Builtin,
    /// A base URL; request paths are joined onto it.
    Url(url::Url),
}

/// How many writers race and for how long.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// Concurrent writers (one connection each).
    pub writers: u32,
    /// Stale-write: rounds (one version each). Counter: increments per writer.
    pub rounds: u32,
    /// Round-based workloads: how long each round waits after the requests before it (the
    /// set-up, or the last round), for servers whose versions change once per second.
    pub pace: Option<Duration>,
}

/// The workload kinds. New kinds are new variants, with their own engine and checker.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadKind {
    /// Every round, all writers send the same version; exactly one may win.
    StaleWrite,
    /// Each writer does `rounds` read-modify-write increments, retrying on conflict.
    /// `retry` is the `backoff` policy; `strategies` are the client strategies to run,
    /// one after another, each on its own resource (just `backoff` unless the file says).
    Counter {
        retry: RetryPolicy,
        strategies: Vec<Strategy>,
    },
    /// Every round, all writers create a resource with the same unique key (`{unique}`);
    /// exactly one may succeed, and a read must then find exactly one.
    UniqueCreate,
    /// Every round, a fresh resource in its start state; each writer asks for a
    /// transition to its target; exactly one may succeed, and the state is its target.
    Transition { targets: Vec<TransitionTarget> },
    /// Every round, a fresh resource with `units` units and more writers than units,
    /// each claiming one; exactly `units` may succeed and the count never goes below zero.
    Stock { units: u32 },
    /// Every round, all writers send the same request with the same idempotency key
    /// (`{unique}`); exactly one effect, and every answer a replay of it or a conflict.
    Idempotency,
    /// Every round, all writers send a write without its precondition; every one must be
    /// refused (428) and none applied.
    PreconditionRequired,
    /// For a duration or a request count, `writers` connections run read-then-conditional
    /// -write (`{next}` = value read + 1) against `resources` hot resources, as fast as
    /// they can (closed model) or on a fixed timetable at `rate` requests per second
    /// (open model). Every acknowledged write must show in its resource's counter.
    Sustained {
        resources: u32,
        limit: SustainedLimit,
        /// Open model: write attempts per second over all connections; `None`: closed.
        rate: Option<u32>,
    },
}

/// When a `sustained` workload stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SustainedLimit {
    /// After this long (no new attempt starts later).
    Duration(Duration),
    /// After this many read-then-write attempts in all.
    Requests(u64),
}

impl WorkloadKind {
    /// Which workload this is, without its settings.
    pub fn id(&self) -> super::WorkloadId {
        use super::WorkloadId as Id;
        match self {
            WorkloadKind::StaleWrite => Id::StaleWrite,
            WorkloadKind::Counter { .. } => Id::Counter,
            WorkloadKind::UniqueCreate => Id::UniqueCreate,
            WorkloadKind::Transition { .. } => Id::Transition,
            WorkloadKind::Stock { .. } => Id::Stock,
            WorkloadKind::Idempotency => Id::Idempotency,
            WorkloadKind::PreconditionRequired => Id::PreconditionRequired,
            WorkloadKind::Sustained { .. } => Id::Sustained,
        }
    }

    /// This workload's rules (see [`super::workload`]).
    pub fn rules(&self) -> &'static super::WorkloadRules {
        self.id().rules()
    }

    /// The name used in scenario files and reports.
    pub fn name(&self) -> &'static str {
        self.id().name()
    }
}

/// One writer's transition target in a `transition` workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionTarget {
    /// What `{target}` renders to in the write (`cancel`, or `cancelled`).
    pub send: String,
    /// The state the resource must be in when this transition wins (`cancelled`).
    pub state: String,
}

/// A counter client strategy: how a writer reacts to a conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    pub kind: StrategyKind,
    /// Attempts per increment (the first included), backoff base and ceiling.
    pub retry: RetryPolicy,
}

/// The client strategies the 409 guides recommend, as a counter workload runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyKind {
    /// Re-read, wait a random time up to an exponentially growing ceiling, retry.
    Backoff,
    /// Re-read and retry at once, without waiting.
    Immediate,
    /// Re-read and retry at once, but give the increment up after a small budget.
    GiveUp,
}

impl StrategyKind {
    /// Every strategy, with its name in scenario files and reports.
    pub const ALL: [(StrategyKind, &'static str); 3] = [
        (StrategyKind::Backoff, "backoff"),
        (StrategyKind::Immediate, "immediate"),
        (StrategyKind::GiveUp, "give-up"),
    ];

    /// The name used in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Backoff => "backoff",
            StrategyKind::Immediate => "immediate",
            StrategyKind::GiveUp => "give-up",
        }
    }

    /// Whether the writer waits (backoff with jitter) between attempts.
    pub fn waits(self) -> bool {
        self == StrategyKind::Backoff
    }
}

/// Retry on conflict: exponential backoff with full jitter, up to a budget of attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per increment, the first included.
    pub budget: u32,
    /// First backoff ceiling.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            budget: 50,
            base: Duration::from_millis(1),
            max: Duration::from_millis(100),
        }
    }
}

/// The contended resource: how to get one, read it, and find its version (and value).
#[derive(Debug, Clone)]
pub struct Resource {
    pub setup: Setup,
    /// Whether `create` runs before every round, so each round races a fresh resource:
    /// always for the workloads that use their resource up, and where the file says
    /// `each = "round"`.
    pub create_each_round: bool,
    /// Reads the current state; `{id}` is available.
    pub read: RequestTemplate,
    /// Where the version token is in a read response. Required for stale-write and
    /// counter; optional for the other kinds.
    pub version: Option<Locator>,
    /// Where the version token is in a write's answer, when it is not where a read has it
    /// (CouchDB: `_rev` in a read, `rev` in a write's answer); `None`: as `version`.
    pub write_version: Option<Locator>,
    /// Counter workloads: where the integer value is in a read response.
    pub value: Option<Locator>,
    /// Transition: where the resource's state is in a read.
    pub state: Option<Locator>,
    /// Unique-create and idempotency: how many resources (effects) the read found: an
    /// integer, or a JSON array whose length is the count.
    pub count: Option<Locator>,
    /// Stock: where the units left (or claimed) are in a read.
    pub stock: Option<StockLocator>,
}

/// Where a stock workload reads its units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockLocator {
    /// The units left (`json:/stock`).
    Remaining(Locator),
    /// The units claimed so far (`json:/booked`, or an array of bookings); left =
    /// units − claimed.
    Claimed(Locator),
}

/// How the scenario obtains the resource it contends on.
#[derive(Debug, Clone)]
pub enum Setup {
    /// Create one per scenario run; `id` says where its id or location is in the response.
    Create {
        request: RequestTemplate,
        expect: Vec<u16>,
        id: Locator,
    },
    /// Create (or reset) the resource at a known id, for APIs whose create answer does
    /// not say where it is (a WebDAV `PUT`, an etcd put): `request` runs once, with
    /// `{id}` available, and `id` is the resource's `{id}` from then on. The id may use
    /// the set-up steps' captures (`{bucket}/objects/a`).
    CreateAt {
        request: RequestTemplate,
        expect: Vec<u16>,
        id: Template,
    },
    /// Use an existing resource (a path or URL, `{id}` in templates; it may use the set-up
    /// steps' captures).
    Existing { id: Template },
    /// No resource to set up (unique-create and idempotency without a parent): there
    /// is no `{id}`.
    Nothing,
}

/// Where a value lives in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// A response header, by name (`header:ETag`).
    Header(HeaderField),
    /// A JSON pointer into the response body (`json:/version`).
    Json(String),
    /// The first capture group (or the whole match) of a regular expression over the body
    /// as text (`regex:SUMMARY:count (\\d+)`): a counter in an iCalendar event, XML, a
    /// plain number.
    Regex(Pattern),
    /// The value of a cookie the response sets (`cookie:csrf_token`).
    Cookie(String),
    /// Another locator's value, decoded (`json:/kvs/0/value|base64`: etcd's values).
    Decoded(Box<Locator>, Filter),
}

/// A header's name as the scenario spells it (`ETag`), parsed once for the lookups in
/// every answer (`None`: not a valid header name, so no answer has it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    spelt: String,
    name: Option<http::HeaderName>,
}

impl HeaderField {
    /// The name as parsed for lookups, if it is a valid header name.
    pub fn name(&self) -> Option<&http::HeaderName> {
        self.name.as_ref()
    }

    /// The name as the scenario spells it.
    pub fn as_str(&self) -> &str {
        &self.spelt
    }
}

impl From<&str> for HeaderField {
    fn from(spelt: &str) -> HeaderField {
        HeaderField {
            spelt: spelt.to_string(),
            name: http::HeaderName::from_bytes(spelt.as_bytes()).ok(),
        }
    }
}

impl std::fmt::Display for HeaderField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spelt)
    }
}

/// A compiled regular expression, compared by its text.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

impl std::fmt::Display for Locator {
    /// As written in scenario files: `header:ETag`, `json:/version`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locator::Header(name) => write!(f, "header:{name}"),
            Locator::Json(pointer) => write!(f, "json:{pointer}"),
            Locator::Regex(pattern) => write!(f, "regex:{}", pattern.0.as_str()),
            Locator::Cookie(name) => write!(f, "cookie:{name}"),
            Locator::Decoded(inner, filter) => write!(f, "{inner}|{}", filter.name()),
        }
    }
}

/// Statuses the API promises for the race's outcomes.
#[derive(Debug, Clone)]
pub struct Expect {
    pub winner: Vec<u16>,
    pub conflict: Vec<u16>,
    /// What every conflict answer must carry so a client can recover, if the scenario
    /// says.
    pub actionable: Option<Actionable>,
    /// When set, an answer with a winner status wins only if its JSON body says so
    /// (etcd answers 200 either way, with `"succeeded": true` for the winner only); an
    /// answer whose body says otherwise is a conflict if its status is a conflict status.
    pub winner_when: Option<BodyMatch>,
}

/// A condition on a JSON response body: the value at `pointer` equals `equals`.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyMatch {
    /// A JSON pointer (`/succeeded`).
    pub pointer: String,
    /// The value it must have; a missing value never matches.
    pub equals: Value,
}

/// What a conflict answer must carry: the current version or state, a JSON type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actionable {
    /// Values that must be present in every conflict answer (`header:ETag`,
    /// `json:/current_version`).
    pub carries: Vec<Locator>,
    /// Media types a conflict answer may have; `json` stands for `application/json` and
    /// every `+json` type. Empty: any.
    pub content_types: Vec<String>,
    /// Whether a conflict answer lacking them fails the scenario or only warns.
    pub level: Level,
}

impl Actionable {
    /// What `answer` lacks of what is required, in locator notation (`header:ETag`,
    /// `content-type text/plain`); empty when it is actionable.
    pub fn missing(&self, content_type: &str, present: impl Fn(&Locator) -> bool) -> Vec<String> {
        let mut missing: Vec<String> = self
            .carries
            .iter()
            .filter(|l| !present(l))
            .map(Locator::to_string)
            .collect();
        if !self.content_types.is_empty()
            && !self
                .content_types
                .iter()
                .any(|t| media_type_matches(t, content_type))
        {
            let shown = if content_type.trim().is_empty() {
                "none"
            } else {
                content_type.trim()
            };
            missing.push(format!("content-type ({shown})"));
        }
        missing
    }
}

/// Whether a `Content-Type` header value is of the wanted media type (`json` matches
/// `application/json` and any `+json` type; parameters such as `charset` are ignored).
pub fn media_type_matches(wanted: &str, content_type: &str) -> bool {
    // Header values are bytes: the essence ends at the first `;` and is trimmed of the
    // whitespace HTTP allows around it (a `str` search and Unicode trim cost several
    // times more, and this runs for every write a history holds).
    let value = content_type.as_bytes();
    let essence = match memchr::memchr(b';', value) {
        Some(end) => &value[..end],
        None => value,
    }
    .trim_ascii();
    let wanted = wanted.as_bytes().trim_ascii();
    if wanted.eq_ignore_ascii_case(b"json") {
        essence.eq_ignore_ascii_case(b"application/json")
            || (essence.len() >= 5 && essence[essence.len() - 5..].eq_ignore_ascii_case(b"+json"))
    } else {
        essence.eq_ignore_ascii_case(wanted)
    }
}

/// Whether a finding fails the scenario or is reported as a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The scenario fails.
    Violation,
    /// The scenario passes, with a warning.
    Warning,
}

impl Level {
    /// The name used in scenario files and in `requests.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Violation => "violation",
            Level::Warning => "warning",
        }
    }
}

/// An HTTP request with placeholders, rendered per writer and round.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// Upper-case method name (`PUT`).
    pub method: String,
    /// A path joined onto the target, or an absolute URL; usually `{id}` or `/notes/{id}`.
    pub path: Template,
    pub query: Vec<(String, Template)>,
    pub headers: Vec<(String, Template)>,
    pub body: Body,
}

/// A request body template.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    /// JSON; string leaves are templates. A leaf that is exactly one placeholder is
    /// replaced by the placeholder's typed value (a numeric version stays a number).
    Json(JsonTemplate),
    /// Raw text.
    Text(Template),
}

/// A JSON body template, parsed once when the scenario is loaded: the JSON as written,
/// and the pieces a request's body is rendered from, the JSON text between the string
/// leaves that have placeholders already serialized (see `scenario::template`).
#[derive(Debug, Clone)]
pub struct JsonTemplate {
    /// The JSON as written.
    pub source: Value,
    pub(crate) pieces: Vec<JsonPiece>,
}

/// One piece of a [`JsonTemplate`]: serialized JSON, or a string leaf with placeholders.
#[derive(Debug, Clone)]
pub(crate) enum JsonPiece {
    Json(String),
    Leaf(Template),
}

/// A string with `{placeholder}` parts; `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Var(Var),
    /// A placeholder whose text is encoded before it is sent (`{marker|base64}`).
    Filtered(Var, Filter),
    /// A value captured by a set-up step (`{token}`), optionally encoded.
    Captured(String, Option<Filter>),
}

/// An encoding applied to a placeholder's text (`{next|base64}`), or, after a locator,
/// the decoding applied to the value found (`json:/kvs/0/value|base64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Standard base64 with padding (RFC 4648 §4), as etcd's JSON gateway wants bytes.
    Base64,
}

impl Filter {
    /// All filters, with their names as written after `|`.
    pub const ALL: [(Filter, &'static str); 1] = [(Filter::Base64, "base64")];

    /// The filter's name as written after `|`.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Base64 => "base64",
        }
    }

    /// Looks a filter up by name.
    pub fn from_name(name: &str) -> Option<Filter> {
        Filter::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(f, _)| *f)
    }
}

/// The placeholders a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Var {
    /// The resource id or location from set-up.
    Id,
    /// The version token read before the write.
    Version,
    /// The writer's index, from 0.
    Writer,
    /// The round (stale-write) or increment (counter), from 0.
    Round,
    /// A marker unique per writer and round, so the final state tells who won.
    Marker,
    /// Counter: the value read.
    Value,
    /// Counter: the value read plus one.
    Next,
    /// A value unique to this run, scenario and round, for keys that must not collide
    /// with other rounds or runs (an email, a slug, an idempotency key).
    Unique,
    /// Transition: this writer's target.
    Target,
    /// Stock: the units each round's resource starts with.
    Units,
}

impl Var {
    /// All placeholders, with their names as written in templates.
    pub const ALL: [(Var, &'static str); 10] = [
        (Var::Id, "id"),
        (Var::Version, "version"),
        (Var::Writer, "writer"),
        (Var::Round, "round"),
        (Var::Marker, "marker"),
        (Var::Value, "value"),
        (Var::Next, "next"),
        (Var::Unique, "unique"),
        (Var::Target, "target"),
        (Var::Units, "units"),
    ];

    /// The placeholder's name as written in templates.
    pub fn name(self) -> &'static str {
        Var::ALL
            .iter()
            .find(|(v, _)| *v == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// Looks a placeholder up by name.
    pub fn from_name(name: &str) -> Option<Var> {
        Var::ALL.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
    }
}
