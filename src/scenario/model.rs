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
    /// Values that came from `${ENV}` interpolation, redacted from anything we print.
    pub secrets: Vec<String>,
    /// Release-gate conditions on the scenario's figures (`thresholds` in the file).
    pub thresholds: Vec<crate::gate::Threshold>,
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
}

/// The workload kinds. New kinds are new variants, with their own engine and checker.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadKind {
    /// Every round, all writers send the same version; exactly one may win.
    StaleWrite,
    /// Each writer does `rounds` read-modify-write increments, retrying on conflict.
    Counter { retry: RetryPolicy },
}

impl WorkloadKind {
    /// The name used in scenario files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            WorkloadKind::StaleWrite => "stale-write",
            WorkloadKind::Counter { .. } => "counter",
        }
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
    /// Where the version token is in a read (or write) response.
    pub version: Locator,
    /// Counter workloads: where the integer value is in a read response.
    pub value: Option<Locator>,
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

/// Statuses the API promises for the race's outcomes.
#[derive(Debug, Clone)]
pub struct Expect {
    pub winner: Vec<u16>,
    pub conflict: Vec<u16>,
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
}

impl Var {
    /// All placeholders, with their names as written in templates.
    pub const ALL: [(Var, &'static str); 7] = [
        (Var::Id, "id"),
        (Var::Version, "version"),
        (Var::Writer, "writer"),
        (Var::Round, "round"),
        (Var::Marker, "marker"),
        (Var::Value, "value"),
        (Var::Next, "next"),
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
