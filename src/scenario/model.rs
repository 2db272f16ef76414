//! The scenario model: what one scenario file says, after parsing and validation.
//!
//! Every later stage reads these types; nothing here does I/O. Templates keep their
//! placeholders parsed, so rendering a request on the engine's side cannot fail on syntax.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

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
    /// Headers sent with every request (an `Authorization` from the environment, say).
    pub headers: Vec<(String, Template)>,
    pub workload: Workload,
    pub resource: Resource,
    /// The contended write.
    pub write: RequestTemplate,
    pub expect: Expect,
    /// Per-request timeout; a request that exceeds it is `indeterminate`.
    pub timeout: Duration,
    /// How a round's writes are released together: one mode, or `auto`.
    pub sync: SyncChoice,
    /// How long the writers' connections live: kept for the scenario or fresh every
    /// round. Read only by workloads whose writes are released together.
    pub writer_connections: ConnectionPolicy,
    /// Values that came from `${ENV}` interpolation, redacted from anything we print.
    pub secrets: Vec<String>,
    /// Release-gate conditions on the scenario's figures (`thresholds` in the file).
    pub thresholds: Vec<crate::metrics::Threshold>,
}

/// Where a scenario sends its traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The embedded reference server, started in-process on a loopback port.
    Builtin,
    /// A base URL; request paths are joined onto it.
    Url(url::Url),
}

/// How a round's writes are released so that they reach the server together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// One warmed connection per writer; every writer's task waits at a barrier and the
    /// last one to arrive releases all the sends.
    Barrier,
    /// HTTP/1.1: one warmed connection per writer; every request is written except its
    /// last byte, then all last bytes are written back to back from one task.
    LastByte,
    /// HTTP/2: every write of the round on one connection, each stream's final DATA frame
    /// withheld, then all final frames flushed in one write.
    SinglePacket,
}

impl SyncMode {
    /// Every mode, in documentation order.
    pub const ALL: [SyncMode; 3] = [
        SyncMode::Barrier,
        SyncMode::LastByte,
        SyncMode::SinglePacket,
    ];

    /// The name used in scenario files, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::Barrier => "barrier",
            SyncMode::LastByte => "last-byte",
            SyncMode::SinglePacket => "single-packet",
        }
    }
}

impl std::fmt::Display for SyncMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SyncMode {
    type Err = String;

    /// Parses a mode's name; the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SyncMode::ALL
            .into_iter()
            .find(|m| m.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown sync mode `{}`; the modes are barrier, last-byte and single-packet",
                    s.trim()
                )
            })
    }
}

/// The `sync` a scenario asks for: one mode, or `auto`, the strongest mode the target
/// takes, chosen when the scenario starts by the check each mode makes of a target
/// (single-packet where HTTP/2 is spoken with a stream per writer, else last-byte where
/// HTTP/1.1 is, else barrier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncChoice {
    /// The strongest mode the target takes (see [`SyncChoice::CANDIDATES`]).
    #[default]
    Auto,
    /// This mode, or the scenario stops with the reason it cannot be used.
    Fixed(SyncMode),
}

impl SyncChoice {
    /// The modes `auto` tries, strongest first; barrier always works.
    pub const CANDIDATES: [SyncMode; 3] = [
        SyncMode::SinglePacket,
        SyncMode::LastByte,
        SyncMode::Barrier,
    ];

    /// `auto`, then every mode: each name a scenario file or `--sync` takes.
    pub const ALL: [SyncChoice; 4] = [
        SyncChoice::Auto,
        SyncChoice::Fixed(SyncMode::Barrier),
        SyncChoice::Fixed(SyncMode::LastByte),
        SyncChoice::Fixed(SyncMode::SinglePacket),
    ];

    /// The name used in scenario files, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SyncChoice::Auto => "auto",
            SyncChoice::Fixed(mode) => mode.name(),
        }
    }

    /// The modes to try, strongest first, given the writers' connection policy: `auto`
    /// leaves out single-packet when the connections are to be kept, which it cannot do.
    pub fn candidates(self, connections: ConnectionPolicy) -> Vec<SyncMode> {
        match self {
            SyncChoice::Fixed(mode) => vec![mode],
            SyncChoice::Auto => SyncChoice::CANDIDATES
                .into_iter()
                .filter(|m| connections.refused_in(SyncChoice::Fixed(*m)).is_none())
                .collect(),
        }
    }
}

impl From<SyncMode> for SyncChoice {
    fn from(mode: SyncMode) -> Self {
        SyncChoice::Fixed(mode)
    }
}

impl std::fmt::Display for SyncChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SyncChoice {
    type Err = String;

    /// Parses `auto` or a mode's name; the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SyncChoice::ALL
            .into_iter()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown sync mode `{}`; the modes are auto (the default), barrier, \
                     last-byte and single-packet",
                    s.trim()
                )
            })
    }
}

/// The mode a scenario's writes were released in, and whether `auto` chose it: what the
/// reports name (`auto → single-packet`), so a user knows which mode ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRan {
    pub mode: SyncMode,
    /// Chosen by `sync = "auto"`, not named by the scenario or `--sync`.
    pub auto: bool,
}

impl SyncRan {
    /// What the scenario asked for: `auto`, or the mode itself.
    pub fn asked(self) -> SyncChoice {
        if self.auto {
            SyncChoice::Auto
        } else {
            SyncChoice::Fixed(self.mode)
        }
    }
}

impl std::fmt::Display for SyncRan {
    /// `auto → single-packet`, or just the mode when the scenario named it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.auto {
            write!(f, "auto → {}", self.mode)
        } else {
            f.write_str(self.mode.name())
        }
    }
}

/// How long the writers' connections live (`writer_connections`): what decides which
/// worker processes of a multi-process server a round's writes reach.
///
/// A server that runs several worker processes on one port (gunicorn, uvicorn, Puma,
/// Node's cluster) hands each new connection to one of them. Connections kept for the
/// whole scenario sit where the kernel put them at its start, so if they all landed in
/// one worker, a bug that needs two processes to race is never seen; fresh connections
/// are placed again every round. Either way a round's connections are opened and warmed
/// before its race, so connection set-up never falls inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionPolicy {
    /// One connection per writer, opened at the first round and kept for the scenario
    /// (reopened only after the server closed it).
    Kept,
    /// New connections for every round: the last round's are closed, and each writer
    /// opens and warms a new one before the race. `single-packet` always works this way.
    #[default]
    Fresh,
}

impl ConnectionPolicy {
    /// Every policy, in documentation order.
    pub const ALL: [ConnectionPolicy; 2] = [ConnectionPolicy::Fresh, ConnectionPolicy::Kept];

    /// The name used in scenario files, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionPolicy::Kept => "kept",
            ConnectionPolicy::Fresh => "fresh",
        }
    }

    /// Why this policy cannot be used with `sync`, if it cannot: `single-packet` puts a
    /// round's writes on one HTTP/2 connection of its own, new every round (`auto` then
    /// chooses among the other modes).
    pub fn refused_in(self, sync: SyncChoice) -> Option<String> {
        match (self, sync) {
            (ConnectionPolicy::Kept, SyncChoice::Fixed(SyncMode::SinglePacket)) => Some(
                "sync = \"single-packet\" opens one HTTP/2 connection for every round (all of \
                 the round's writes on it), so its connections cannot be kept"
                    .to_string(),
            ),
            (ConnectionPolicy::Kept | ConnectionPolicy::Fresh, _) => None,
        }
    }
}

impl std::fmt::Display for ConnectionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ConnectionPolicy {
    type Err = String;

    /// Parses a policy's name; the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConnectionPolicy::ALL
            .into_iter()
            .find(|p| p.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown connection policy `{}`; the policies are fresh (new connections \
                     every round) and kept (kept for the scenario)",
                    s.trim()
                )
            })
    }
}

/// How many writers race and for how long.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// Concurrent writers (one connection each).
    pub writers: u32,
    /// Stale-write: rounds (one version each). Counter: increments per writer.
    pub rounds: u32,
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
    /// Reads the current state; `{id}` is available.
    pub read: RequestTemplate,
    /// Where the version token is in a read (or write) response. Required for
    /// stale-write and counter; optional for the other kinds.
    pub version: Option<Locator>,
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
    /// `{id}` available, and `id` is the resource's `{id}` from then on.
    CreateAt {
        request: RequestTemplate,
        expect: Vec<u16>,
        id: String,
    },
    /// Use an existing resource (a path or URL, `{id}` in templates).
    Existing { id: String },
    /// No resource to set up (unique-create and idempotency without a parent): there
    /// is no `{id}`.
    Nothing,
}

/// Where a value lives in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// A response header, by name (`header:ETag`).
    Header(String),
    /// A JSON pointer into the response body (`json:/version`).
    Json(String),
    /// Another locator's value, decoded (`json:/kvs/0/value|base64`: etcd's values).
    Decoded(Box<Locator>, Filter),
}

impl std::fmt::Display for Locator {
    /// As written in scenario files: `header:ETag`, `json:/version`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Locator::Header(name) => write!(f, "header:{name}"),
            Locator::Json(pointer) => write!(f, "json:{pointer}"),
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
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let wanted = wanted.trim().to_ascii_lowercase();
    if wanted == "json" {
        essence == "application/json" || essence.ends_with("+json")
    } else {
        essence == wanted
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
    Json(Value),
    /// Raw text.
    Text(Template),
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
